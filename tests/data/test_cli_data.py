"""`mlnb data ...` as a user types it."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner

from mlnb.cli import cli


def _run(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return r.exit_code, r.output


def test_pin_status_check_checkout_cycle(project_dir: Path, tmp_path: Path) -> None:
    (project_dir / "data").mkdir()
    (project_dir / "data" / "a.csv").write_text("1\n")
    code, out = _run("data", "pin", "data/a.csv", "--note", "first")
    assert code == 0 and "pinned data/a.csv" in out
    assert _run("data", "status", "--check")[0] == 0
    f = project_dir / "data" / "a.csv"
    os.chmod(f, 0o644)
    f.unlink()
    f.write_text("2\n")
    code, out = _run("data", "status", "--check")
    assert code == 1 and "modified" in out
    code, out = _run("data", "checkout")
    assert code == 1 and "not pinned" in out  # refuses to lose the edit
    code, out = _run("data", "checkout", "--force")
    assert code == 0 and f.read_text() == "1\n"
    code, out = _run("data", "remote", "add", "origin", str(tmp_path / "remote"))
    assert code == 0
    assert "origin" in _run("data", "remote", "list")[1]
    code, out = _run("data", "push")
    assert code == 0 and "pushed 1 object(s)" in out
    code, out = _run("data", "verify")
    assert code == 0 and "0 corrupt" in out
    code, out = _run("data", "gc", "--dry-run")
    assert code == 0 and "would remove 0" in out
    code, out = _run("data", "diff", "data/a.csv")
    assert code == 0 and "unchanged" in out


def test_bad_input_messages(project_dir: Path) -> None:
    code, out = _run("data", "pin", "../outside")
    assert code == 2 and "outside the root" in out
    code, out = _run("data", "status", "nope.csv")
    assert code == 2 and "not pinned" in out
    code, out = _run("data", "push")
    assert code == 1 and "mlnb data remote add" in out


def test_help_lists_data(project_dir: Path) -> None:
    code, out = _run("--help")
    assert "data" in out
    code, out = _run("data", "--help")
    for sub in ("pin", "status", "checkout", "diff", "push", "pull", "gc", "verify", "remote"):
        assert sub in out
