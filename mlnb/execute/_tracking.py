"""The runner's side of a tracked headless run: create the run (with its params) in this process,
hand its id to the kernel, log the executed notebook as an artifact, and end it.

Runs made here are *detached*: they never sit on the process's active-run stack, so several
notebooks can execute concurrently in one process (a pipeline) without ending each other, and a
run the caller has open stays open.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from mlnb.project import Project
    from mlnb.tracking import ActiveRun

__all__ = ["TrackedRun", "create_run"]


class TrackedRun:
    """A run created for one notebook execution."""

    def __init__(self, run: ActiveRun, project: Project) -> None:
        self._run = run
        self.project = project
        self.id: str = run.id

    @property
    def store(self) -> Any:
        return self._run.store

    def artifact_path(self, name: str) -> Path | None:
        """Where an artifact called ``name`` of this run lives (None if the store has no folder)."""
        base = getattr(self.store, "artifacts_dir", None)
        return Path(base) / self.id / name if base else None

    def flush(self) -> None:
        """Commit what this process logged, so the kernel (another process) can adopt the run."""
        self.store.flush()

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        self._run.set_tags(tags)

    def log_artifact(self, path: str | os.PathLike[str], name: str) -> str:
        return self._run.log_artifact(path, name)

    def end(self, status: str) -> None:
        from mlnb import tracking

        if not self._run.ended:
            tracking.end_run(status=status, run=self._run)  # detached: ends just this run


def create_run(
    *,
    name: str,
    notebook: str,
    params: Mapping[str, Any],
    tags: Mapping[str, Any],
    parent_id: str | None = None,
    experiment: str | None = None,
) -> TrackedRun:
    """Create a detached run in the discovered project's store, params and tags included.

    Its parent is ``parent_id``, else the caller's active run (a notebook executed from inside a
    run is its child), else none.
    """
    from mlnb import tracking

    # Detached: the caller's active runs stay as they are, and its active run is the parent.
    run = tracking.start_run(
        name=name, notebook=notebook, parent_id=parent_id, experiment=experiment, detached=True
    )
    store = run.store
    tracked = TrackedRun(run, getattr(store, "project", None) or _project())
    if params:
        run.log_params(dict(params))
    if tags:
        run.set_tags(dict(tags))
    return tracked


def _project() -> Project:
    from mlnb.project import Project

    return Project.discover()
