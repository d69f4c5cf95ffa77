"""`mlnb init`: creates .mlnb/ and says what it created; a second run creates nothing."""

from __future__ import annotations

from pathlib import Path


def test_init_creates_and_is_idempotent(cli_invoke, project_dir: Path):
    first = cli_invoke("init")
    assert first.exit_code == 0, first.output
    assert str(project_dir) in first.stdout
    assert "created .mlnb/artifacts/" in first.stdout
    assert (project_dir / ".mlnb" / "artifacts").is_dir()

    second = cli_invoke("init")
    assert second.exit_code == 0
    assert "already initialized" in second.stdout
    assert "created" not in second.stdout


def test_init_path_creates_a_new_project_there(cli_invoke, project_dir: Path):
    target = project_dir / "elsewhere" / "deep"
    result = cli_invoke("init", str(target))
    assert result.exit_code == 0, result.output
    assert (target / ".mlnb").is_dir()
    assert "created .mlnb/" in result.stdout
    assert str(target.resolve()) in result.stdout
    again = cli_invoke("init", str(target))
    assert "already initialized" in again.stdout


def test_init_without_path_uses_cwd_when_no_project_is_set(cli_invoke, tmp_path, monkeypatch):
    here = tmp_path / "fresh"
    here.mkdir()
    monkeypatch.delenv("MLNB_PROJECT", raising=False)
    monkeypatch.delenv("MLNB_DEFAULT_PROJECT", raising=False)
    monkeypatch.chdir(here)
    result = cli_invoke("init")
    assert result.exit_code == 0, result.output
    assert (here / ".mlnb").is_dir()


def test_global_project_option_selects_the_root(cli_invoke, tmp_path, monkeypatch):
    other = tmp_path / "other"
    other.mkdir()
    result = cli_invoke("--project", str(other), "init")
    assert result.exit_code == 0, result.output
    assert (other / ".mlnb").is_dir()


def test_init_on_a_file_is_a_usage_error(cli_invoke, project_dir: Path):
    (project_dir / "afile").write_text("x")
    result = cli_invoke("init", "afile")
    assert result.exit_code == 2
    assert "is a file" in result.stderr
