"""What a command needs from the invocation: the project (``--project`` or discovery) and its store."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from mlnb.project import Project
    from mlnb.tracking import Store


def current_project() -> Project:
    """The project for this invocation: ``mlnb --project DIR`` if given, else discovery
    (``$MLNB_PROJECT``, else the nearest folder upward with ``.mlnb/``, else the current folder)."""
    from mlnb.project import Project

    ctx = click.get_current_context(silent=True)
    root = None
    if ctx is not None:
        obj = ctx.find_root().obj
        if isinstance(obj, dict):
            root = obj.get("project_root")
    return Project(root) if root else Project.discover()


def _looks_like_project(project: Project) -> bool:
    root = project.root
    if project.mlnb_dir.is_dir() or (root / "mlnb.yaml").exists():
        return True
    try:
        return "[tool.mlnb]" in (root / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return False


def project_store() -> Store:
    """The tracking store of :func:`current_project`.

    Refuses (instead of quietly creating ``.mlnb/`` wherever the user happens to stand) when the
    folder is no mlnb project and the store is the default embedded one.
    """
    from mlnb.errors import ProjectError
    from mlnb.tracking import open_store

    project = current_project()
    default_url = f"sqlite:///{project.mlnb_dir / 'mlnb.db'}"
    if project.store_url == default_url and not _looks_like_project(project):
        raise ProjectError(
            f"{project.root} is not inside an mlnb project (no .mlnb/ here or above). "
            "Run `mlnb init`, cd into a project, or pass --project DIR / set MLNB_PROJECT."
        )
    return open_store(project)
