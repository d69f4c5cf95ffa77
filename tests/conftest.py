"""Shared fixtures: every test gets its own project folder and store; nothing touches the user's."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ("pytest_jupyter.jupyter_server",)


@pytest.fixture
def project_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh, empty mlnb project folder, made current and exported as MLNB_PROJECT."""
    root = tmp_path / "proj"
    root.mkdir()
    (root / ".mlnb").mkdir()
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLNB_PROJECT", str(root))
    monkeypatch.delenv("MLNB_STORE_URL", raising=False)
    monkeypatch.delenv("MLNB_RUN_ID", raising=False)
    monkeypatch.delenv("MLNB_NOTEBOOK", raising=False)
    monkeypatch.delenv("MLNB_PARENT_RUN_ID", raising=False)
    monkeypatch.delenv("MLNB_DEFAULT_PROJECT", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    yield root
    # Close process-global tracking state so the next test starts clean.
    import sys

    tracking = sys.modules.get("mlnb.tracking")
    if tracking is not None and hasattr(tracking, "_reset_for_tests"):
        tracking._reset_for_tests()
