"""Fixtures for the CLI tests: a CliRunner that keeps stderr apart, and seeded runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result


@pytest.fixture
def cli_invoke(project_dir: Path):
    """``cli_invoke("runs", "list", input=None)`` -> click Result, run in the test's project."""
    from mlnb.cli import cli

    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


def _run_mlnb(*args: str, cwd: Path, env: dict[str, str] | None = None, code: str | None = None):
    full_env = dict(os.environ)
    full_env.pop("MLNB_DEBUG", None)
    full_env.update(env or {})
    cmd = [sys.executable, "-c", code] if code else [sys.executable, "-m", "mlnb.cli", *args]
    return subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def run_mlnb():
    """``run_mlnb(*args, cwd=..., env=None, code=None)``: ``python -m mlnb.cli ARGS`` (or
    ``python -c CODE``) in a real subprocess -> CompletedProcess with text stdout/stderr."""
    return _run_mlnb


@pytest.fixture
def seeded(project_dir: Path) -> dict[str, str]:
    """Three finished runs through the real core API; returns {name: run id}.

    a: lr=0.1, acc 0.5 -> 0.9;  b: lr=0.2, acc 0.6 -> 0.7, loss;  c: lr=0.1, optimizer=adam, acc 0.95.
    All share epochs=3.
    """
    import mlnb

    ids: dict[str, str] = {}
    with mlnb.start_run(name="a", params={"lr": 0.1, "epochs": 3}) as run:
        for step, acc in enumerate([0.5, 0.7, 0.9], start=1):
            mlnb.log_metric("acc", acc, step=step)
        ids["a"] = run.id
    with mlnb.start_run(name="b", params={"lr": 0.2, "epochs": 3}) as run:
        mlnb.log_metric("acc", 0.6, step=1)
        mlnb.log_metric("acc", 0.7, step=2)
        mlnb.log_metric("loss", 0.25, step=2)
        ids["b"] = run.id
    with mlnb.start_run(name="c", params={"lr": 0.1, "epochs": 3, "optimizer": "adam"}) as run:
        mlnb.log_metric("acc", 0.95, step=1)
        ids["c"] = run.id
    mlnb.flush()
    return ids
