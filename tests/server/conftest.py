"""Server-test fixtures: a real jupyter server with mlnb enabled, rooted in a fresh project folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config


@pytest.fixture
def jp_server_config() -> Config:
    return Config({"ServerApp": {"jpserver_extensions": {"mlnb": True}}})


@pytest.fixture
def jp_root_dir(project_dir: Path) -> Path:
    """The server root is the project folder, as when `jupyter lab` is started inside a project."""
    return project_dir


class Reply:
    """An HTTP answer: status ``code`` and the decoded JSON ``body`` (None when empty)."""

    def __init__(self, code: int, body: Any) -> None:
        self.code = code
        self.body = body

    def __repr__(self) -> str:
        return f"Reply({self.code}, {self.body!r})"


@pytest.fixture
def api(jp_fetch):
    """Call ``{base_url}<prefix>/<parts>`` (default prefix ``mlnb/api``) with the test token; a
    POST or PUT sends ``body`` as JSON (``{}`` when None); never raises on an HTTP error. The
    answer's body is its JSON, or its text when it is not JSON (e.g. tornado's own 404 page)."""

    async def call(*parts: str, method: str = "GET", params: dict | None = None,
                   headers: dict | None = None, body: Any = None,
                   prefix: tuple[str, ...] = ("mlnb", "api")) -> Reply:
        kwargs = {"body": json.dumps(body if body is not None else {})} \
            if method in ("POST", "PUT") else {}
        response = await jp_fetch(*prefix, *parts, method=method, params=params,
                                  headers=headers, raise_error=False, **kwargs)
        raw = response.body or b""
        try:
            return Reply(response.code, json.loads(raw) if raw else None)
        except ValueError:
            return Reply(response.code, raw.decode("utf-8", "replace"))

    return call


def nb_json(cells: list[str], parameters: str | None = None, **metadata: Any) -> dict:
    """A small unexecuted notebook: an optional ``parameters`` cell (id "params"), then cells
    with ids c0, c1, ..."""
    out = []
    if parameters is not None:
        out.append({"cell_type": "code", "id": "params", "metadata": {"tags": ["parameters"]},
                    "source": parameters, "outputs": [], "execution_count": None})
    out += [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": src, "outputs": [],
             "execution_count": None} for i, src in enumerate(cells)]
    return {"cells": out, "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"},
        **metadata}}


def write_nb(path: Path, cells: list[str], parameters: str | None = None, **metadata: Any) -> None:
    path.write_text(json.dumps(nb_json(cells, parameters, **metadata)))


@pytest.fixture
def tracking(project_dir: Path):
    """The tracking core, logging into the same project (and store) the server reads."""
    from mlnb import tracking as core

    return core


@pytest.fixture
def seed_run(tracking):
    """Log one finished run through the real core API; returns its id."""

    import mlnb

    def make(name: str, params: dict | None = None, metrics: dict | None = None,
             tags: dict | None = None) -> str:
        with mlnb.start_run(name=name, params=params, tags=tags) as run:
            for key, value in (metrics or {}).items():
                mlnb.log_metric(key, value, step=0)
        mlnb.flush()
        return run.id

    return make
