"""Notebook builders and a real temporary git repository for the diff/merge tests."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest


def code(src: str, outputs: list | None = None, id: str | None = None, ec: int | None = 1,
         **md: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"cell_type": "code", "metadata": dict(md), "source": src,
                         "execution_count": ec, "outputs": outputs or []}
    if id is not None:
        c["id"] = id
    return c


def md(src: str, id: str | None = None) -> dict[str, Any]:
    c: dict[str, Any] = {"cell_type": "markdown", "metadata": {}, "source": src}
    if id is not None:
        c["id"] = id
    return c


def stream(text: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": text}


def result(data: dict[str, Any], ec: int = 1) -> dict[str, Any]:
    return {"output_type": "execute_result", "execution_count": ec, "metadata": {}, "data": data}


def png(color: tuple[int, int, int], size: tuple[int, int] = (10, 10),
        changed: int = 0) -> str:
    """A base64 PNG of one color with the first ``changed`` pixels white."""
    from PIL import Image

    img = Image.new("RGB", size, color)
    for k in range(changed):
        img.putpixel((k % size[0], k // size[0]), (255, 255, 255))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode()


def nb(*cells: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {"cells": list(cells), "metadata": dict(metadata), "nbformat": 4, "nbformat_minor": 5}


def write(path: Path, notebook: dict[str, Any]) -> Path:
    path.write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    return path


@pytest.fixture
def git_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty git repository (own global config, so nothing of the user's leaks in)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for k, v in (("GIT_AUTHOR_NAME", "t"), ("GIT_AUTHOR_EMAIL", "t@e"),
                 ("GIT_COMMITTER_NAME", "t"), ("GIT_COMMITTER_EMAIL", "t@e")):
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("GIT_DIR", raising=False)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    return repo


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_PAGER": "cat", "PAGER": "cat"}
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=check,
                          env=env)
