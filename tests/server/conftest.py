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
    """Call ``{base_url}mlnb/api/<parts>`` with the test token; never raises on an HTTP error."""

    async def call(*parts: str, method: str = "GET", params: dict | None = None,
                   headers: dict | None = None) -> Reply:
        response = await jp_fetch(
            "mlnb", "api", *parts, method=method, params=params, headers=headers, raise_error=False
        )
        raw = response.body or b""
        body = json.loads(raw) if raw else None
        return Reply(response.code, body)

    return call


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
