"""Project discovery and path rules."""

from __future__ import annotations

import pytest

from mlnb.errors import PathOutsideRootError, ProjectError
from mlnb.project import Project


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv("MLNB_PROJECT", raising=False)
    monkeypatch.delenv("MLNB_DEFAULT_PROJECT", raising=False)
    monkeypatch.delenv("MLNB_STORE_URL", raising=False)


@pytest.mark.parametrize("marker", [".mlnb", "mlnb.yaml", "pyproject.toml"])
def test_nearest_marker_upward(tmp_path, clean_env, marker):
    root = tmp_path / "p"
    (root / "a" / "b").mkdir(parents=True)
    if marker == ".mlnb":
        (root / ".mlnb").mkdir()
    elif marker == "mlnb.yaml":
        (root / "mlnb.yaml").write_text("stages: {}\n")
    else:
        (root / "pyproject.toml").write_text("[tool.mlnb]\n")
    assert Project.discover(root / "a" / "b").root == root.resolve()


def test_pyproject_without_table_is_not_a_marker(tmp_path, clean_env):
    (tmp_path / "pyproject.toml").write_text("[tool.black]\n")
    (tmp_path / "x").mkdir()
    assert Project.discover(tmp_path / "x").root == (tmp_path / "x").resolve()


def test_env_override_and_default(tmp_path, clean_env, monkeypatch):
    inside = tmp_path / "proj"
    (inside / ".mlnb").mkdir(parents=True)
    loose = tmp_path / "loose"
    loose.mkdir()
    monkeypatch.setenv("MLNB_DEFAULT_PROJECT", str(tmp_path))
    assert Project.discover(inside).root == inside.resolve()  # a real project wins over the default
    assert Project.discover(loose).root == tmp_path.resolve()  # no marker: the server's project
    monkeypatch.setenv("MLNB_PROJECT", str(loose))
    assert Project.discover(inside).root == loose.resolve()


def test_paths(tmp_path, clean_env):
    p = Project(tmp_path)
    assert p.store_url == f"sqlite:///{tmp_path.resolve() / '.mlnb' / 'mlnb.db'}"
    assert p.relpath(tmp_path / "nbs" / "a.ipynb") == "nbs/a.ipynb"
    assert p.relpath("/elsewhere/x.ipynb") == "/elsewhere/x.ipynb"
    assert p.resolve_inside("nbs/../a.txt") == tmp_path.resolve() / "a.txt"
    with pytest.raises(PathOutsideRootError):
        p.resolve_inside("../outside.txt")
    created = p.ensure()
    assert p.mlnb_dir.is_dir() and p.artifacts_dir.is_dir() and created
    assert p.ensure() == []


def test_bad_config_is_a_clear_error(tmp_path, clean_env):
    p = Project(tmp_path)
    p.ensure()
    p.config_path.write_text("[store\nurl=")
    with pytest.raises(ProjectError, match="Fix the TOML"):
        p.store_url
