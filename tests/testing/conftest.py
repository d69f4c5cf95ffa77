"""Fixtures for the pytest plugin's tests: tiny notebooks written on the fly, inner pytest runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jupyter_core.paths import jupyter_runtime_dir

# pytester points HOME at a temporary folder: keep kernels' IPC sockets in the usual (short) place
RUNTIME_DIR = jupyter_runtime_dir()

pytest_plugins = ("pytester",)

# Inner runs: no cache files, no nbmake (its plugin imports nbformat at start-up, ~1-2 s a run).
INNER = ("-p", "no:cacheprovider", "-p", "no:nbmake", "-p", "no:randomly")


def make_notebook(cells: list[Any], metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """A v4.5 notebook; a cell is source text, or (source, tags), or (source, tags, outputs)."""
    out = []
    for i, cell in enumerate(cells):
        source, tags, outputs = (cell, [], []) if isinstance(cell, str) else (tuple(cell) + ([],))[:3]
        if source.startswith("# md\n"):
            out.append({"cell_type": "markdown", "id": f"m{i}", "metadata": {}, "source": source[5:]})
            continue
        out.append({
            "cell_type": "code", "id": f"c{i}", "metadata": {"tags": list(tags)} if tags else {},
            "source": source, "outputs": outputs, "execution_count": 1 if outputs else None,
        })
    md: dict[str, Any] = {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}
    if metadata:
        md["mlnb"] = {"test": metadata}
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": md, "cells": out}


@pytest.fixture
def write_nb(pytester: pytest.Pytester):
    def write(name: str, cells: list[Any], metadata: dict[str, Any] | None = None) -> Path:
        path = pytester.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(make_notebook(cells, metadata)), encoding="utf-8")
        return path

    return write


@pytest.fixture
def inner(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """Run pytest inside this process on pytester's folder (an mlnb project of its own)."""
    (pytester.path / ".mlnb").mkdir(exist_ok=True)
    monkeypatch.setenv("MLNB_PROJECT", str(pytester.path))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", RUNTIME_DIR)
    for key in ("MLNB_STORE_URL", "MLNB_RUN_ID", "MLNB_NOTEBOOK", "MLNB_PARENT_RUN_ID"):
        monkeypatch.delenv(key, raising=False)

    def run(*args: str) -> pytest.RunResult:
        return pytester.runpytest(*INNER, *args)

    yield run
    import sys

    tracking = sys.modules.get("mlnb.tracking")
    if tracking is not None:
        tracking._reset_for_tests()
