"""Cell events: turn IPython's pre/post_run_cell into cell executions of the active run."""

from __future__ import annotations

import ast
import json
import numbers
import os
from typing import Any

from mlnb import tracking
from mlnb.project import Project


def _notebook_path(project: Project, user_ns: dict[str, Any]) -> tuple[str | None, str | None]:
    """(project-relative notebook path, absolute path) of the kernel's notebook, if known."""
    raw = os.environ.get("MLNB_NOTEBOOK") or os.environ.get("JPY_SESSION_NAME") or user_ns.get(
        "__session__"
    )
    if not raw or not isinstance(raw, str):
        return None, None
    if raw.startswith("<"):
        return raw, None
    absolute = raw if os.path.isabs(raw) else os.path.join(project.root, raw)
    return project.relpath(absolute), absolute


class _CellIndex:
    """Finds a cell's nbformat id from its source when the frontend did not send one."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._mtime: float | None = None
        self._by_source: dict[str, list[str]] = {}

    def lookup(self, source: str) -> str | None:
        if not self.path:
            return None
        try:
            mtime = os.stat(self.path).st_mtime
        except OSError:
            return None
        if mtime != self._mtime:
            self._mtime = mtime
            self._by_source = {}
            try:
                with open(self.path, encoding="utf-8") as f:
                    nb = json.load(f)
                for cell in nb.get("cells", []):
                    if cell.get("cell_type") != "code" or "id" not in cell:
                        continue
                    src = cell.get("source", "")
                    src = "".join(src) if isinstance(src, list) else src
                    self._by_source.setdefault(src.strip(), []).append(cell["id"])
            except (OSError, ValueError, AttributeError):
                return None
        ids = self._by_source.get(source.strip())
        return ids[0] if ids and len(ids) == 1 else None


def _assigned_names(source: str) -> list[str]:
    """Names assigned at the top level of ``source`` (like papermill's parameters cell)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        for t in targets:
            for n in ast.walk(t):
                if isinstance(n, ast.Name) and n.id not in names and not n.id.startswith("_"):
                    names.append(n.id)
    return names


def _starts_run(source: str) -> bool:
    first = source.lstrip().split("\n", 1)[0].split()
    return first[:3] == ["%mlnb", "run", "start"]


def _is_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, numbers.Real):
        return True
    # numpy scalars / 0-d arrays
    shape = getattr(v, "shape", None)
    return shape == () and hasattr(v, "item") and isinstance(v.item(), numbers.Real) and not isinstance(
        v.item(), bool
    )


class CellTracker:
    """Records every (non-silent) cell execution in the active run."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.project = Project.discover()
        self.notebook, self.notebook_abs = _notebook_path(self.project, shell.user_ns)
        self.index = _CellIndex(self.notebook_abs)
        self.auto = True
        self.watched: dict[str, Any] = {}
        self._active = False
        self._source = ""
        self._adopt = os.environ.get("MLNB_RUN_ID")
        self._parent = os.environ.get("MLNB_PARENT_RUN_ID")

    # -- runs ---------------------------------------------------------------------------
    def session_name(self) -> str:
        if self.notebook and not self.notebook.startswith("<"):
            return os.path.basename(self.notebook)
        return "notebook"

    def ensure_run(self) -> tracking.ActiveRun | None:
        if not tracking.tracking_enabled():
            return None
        run = tracking.active_run()
        if run is not None:
            return run
        if self._adopt:
            run_id, self._adopt = self._adopt, None
            return tracking.adopt_run(run_id)
        if not self.auto:
            return None
        return tracking.start_run(name=self.session_name(), notebook=self.notebook,
                                  parent_id=self._parent, _session=True)

    def start_session_run(self, name: str | None = None) -> tracking.ActiveRun:
        return tracking.start_run(name=name or self.session_name(), notebook=self.notebook,
                                  parent_id=self._parent, _session=True)

    # -- events -------------------------------------------------------------------------
    def pre_run_cell(self, info: Any) -> None:
        self._active = False
        if getattr(info, "silent", False):
            return
        source = info.raw_cell or ""
        if tracking.active_run() is None and _starts_run(source):
            return  # the cell opens its own run: do not open an empty one just before it
        run = self.ensure_run()
        if run is None:
            return
        cell_id = getattr(info, "cell_id", None) or self.index.lookup(source)
        tracking.begin_cell(cell_id, source, execution_count=self.shell.execution_count,
                            notebook=self.notebook)
        self._source = source
        self._active = True

    def post_run_cell(self, result: Any) -> None:
        if not self._active:
            return
        self._active = False
        err = result.error_in_exec or result.error_before_exec
        try:
            if err is None:
                self._log_injected_parameters()
                self._log_watched()
        finally:
            tracking.end_cell(
                status="ok" if err is None else "error",
                error_name=type(err).__name__ if err is not None else None,
                error_message=str(err) if err is not None else None,
                execution_count=result.execution_count,
            )

    def _log_injected_parameters(self) -> None:
        # papermill's injected cell starts with the line "# Parameters" (exactly: a defaults cell
        # whose comment begins "# Parameters: ..." is not it); log its values as run params.
        if self._source.lstrip().split("\n", 1)[0].strip() != "# Parameters":
            return
        run = tracking.active_run()
        if run is None:
            return
        for name in _assigned_names(self._source):
            if name in self.shell.user_ns:
                try:
                    run.log_param(name, self.shell.user_ns[name])
                except Exception as e:  # noqa: BLE001 - never break the user's cell
                    print(f"mlnb: {e}")

    def _log_watched(self) -> None:
        if not self.watched:
            return
        run = tracking.active_run()
        if run is None:
            return
        ns = self.shell.user_ns
        for name, last in list(self.watched.items()):
            if name not in ns:
                continue
            value = ns[name]
            if not _is_number(value):
                continue
            value = float(value)
            if last is None or value != last:
                run.log_metric(name, value)
                self.watched[name] = value
