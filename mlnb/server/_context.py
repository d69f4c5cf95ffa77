"""What the handlers share: the server root, the project and its store, opened on first use.

Everything here blocks (file system, SQLite) and runs in worker threads, never on the event loop.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from mlnb.errors import PathOutsideRootError, RunNotFoundError, UsageError

if TYPE_CHECKING:
    from mlnb.project import Project

__all__ = ["SETTINGS_KEY", "ServerContext"]

SETTINGS_KEY = "mlnb_context"


def _sqlite_file(url: str) -> str | None:
    """The database file of a ``sqlite:///path`` store URL; None for other stores."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        return path if path and path != ":memory:" else None
    return None


class _EmptyStore:
    """Stands in for a SQLite store whose file does not exist yet: reads answer "nothing".

    Opening the real store would create ``.mlnb/`` in whatever folder JupyterLab was started
    in, and a new ``.mlnb/`` changes project discovery for every folder below it. Filters are
    still checked, so a typo gets the same 400 before and after the first run is logged.
    """

    def search_runs(self, filter: str | None = None, order_by: str | None = None,
                    limit: int | None = None, offset: int = 0) -> Any:
        from mlnb.tracking import RunList, compile_filter, compile_order_by

        compile_filter(filter)
        compile_order_by(order_by)
        return RunList()

    def count_runs(self, filter: str | None = None) -> int:
        from mlnb.tracking import compile_filter

        compile_filter(filter)
        return 0

    def metric_keys(self, filter: str | None = None) -> list[str]:
        return []

    def get_run(self, run_id: str) -> Any:
        raise RunNotFoundError(run_id)

    def run_detail(self, run_id: str) -> Any:
        raise RunNotFoundError(run_id)

    def metric_history(self, run_id: str, key: str) -> Any:
        raise RunNotFoundError(run_id)

    def compare(self, run_ids: list[str]) -> Any:
        raise RunNotFoundError(run_ids[0])

    def notebook_cells(self, notebook_relpath: str) -> dict[str, Any]:
        return {"notebook": notebook_relpath, "cells": {}}

    def delete_run(self, run_id: str) -> None:
        raise RunNotFoundError(run_id)


_EMPTY = _EmptyStore()


class ServerContext:
    """The server root, and the project and store behind it, opened lazily and then kept.

    Opening lazily lets a server in a folder without any runs start at once; the lock makes
    the first open safe when several worker threads ask at the same moment.
    """

    def __init__(self, root_dir: str) -> None:
        self.root_dir = os.path.realpath(root_dir)
        self._lock = threading.Lock()
        self._project: Project | None = None
        self._store: Any = None

    def project(self) -> Project:
        with self._lock:
            if self._project is None:
                from mlnb.project import Project

                self._project = Project.discover(self.root_dir)
            return self._project

    def store(self) -> Any:
        """The project's store; an empty stand-in while its SQLite file does not exist."""
        project = self.project()
        with self._lock:
            if self._store is None:
                db_file = _sqlite_file(str(project.store_url))
                if db_file is not None and not os.path.exists(db_file):
                    return _EMPTY  # checked again on the next request: one stat() call
                from mlnb.tracking import open_store

                self._store = open_store(project)
            return self._store

    def resolve_in_root(self, path: str) -> str:
        """The real absolute path of ``path`` (relative to the server root), refused outside it.

        ``..``, absolute paths elsewhere and symlinks pointing out of the root all raise
        :class:`PathOutsideRootError`; jupyter_server's ``to_os_path`` alone lets ``..`` through.
        """
        if "\0" in path:
            raise UsageError(f"Path {path!r} contains a NUL character; give a notebook path.")
        candidate = os.path.realpath(os.path.join(self.root_dir, path))
        try:
            inside = os.path.commonpath([self.root_dir, candidate]) == self.root_dir
        except ValueError:  # different drives on Windows
            inside = False
        if not inside:
            raise PathOutsideRootError(path, self.root_dir)
        return candidate
