"""The process-level Run API: ``start_run``, ``log_metric`` & co, and the cell context.

Semantics (documented in docs/tracking.md):

* Runs form a stack. ``start_run()`` never fails because a run is active: without ``nested`` it
  first finishes the runs the user started (everything above the notebook's session run, if any)
  and opens a new one, a child of the session run when there is one. ``nested=True`` opens a child
  of the innermost active run.
* ``with start_run(...) as run:`` ends that run on exit (``failed`` if the block raised).
* Logging with no active run opens one automatically (named after the script or notebook).
* Params are immutable within a run: the same value again is a no-op, another value is a
  ``ParamConflictError`` that says to start a new run.
* Everything logged while a notebook cell runs links to that cell execution.
* ``MLNB_TRACKING=off`` turns all of it into no-ops (untracked headless runs and tests set it,
  so a notebook's own ``%load_ext mlnb`` or ``mlnb.log_metric`` records nothing).
"""

from __future__ import annotations

import atexit
import getpass
import hashlib
import os
import platform
import shutil
import socket
import sys
import threading
import time
import uuid
from typing import Any, Iterator, Mapping

from mlnb.errors import NoActiveRunError, ParamConflictError, UsageError
from mlnb.tracking._models import MetricPoint, Run, RunList
from mlnb.tracking._store import Store, encode_param

_PACKAGES = ("mlnb", "numpy", "pandas", "scikit-learn", "torch", "tensorflow", "jax", "xgboost",
             "lightgbm", "polars", "ipykernel")


def tracking_enabled() -> bool:
    """False when ``MLNB_TRACKING`` is off/0/false/no: logging then records nothing."""
    return os.environ.get("MLNB_TRACKING", "on").strip().lower() not in ("off", "0", "false", "no")


def _new_id() -> str:
    return uuid.uuid4().hex[:16]


# -- stores -------------------------------------------------------------------------------
_stores: dict[str, Store] = {}
_stores_lock = threading.Lock()


def open_store(project: Any = None) -> Store:
    """The store of ``project`` (default: the discovered project), opened once per process."""
    from mlnb.project import Project

    if project is None:
        project = Project.discover()
    elif isinstance(project, (str, os.PathLike)):
        project = Project(project)
    url = project.store_url
    with _stores_lock:
        store = _stores.get(url)
        if store is None:
            if url.startswith("sqlite:///"):
                project.ensure()
            store = Store(url, artifacts_dir=project.artifacts_dir)
            store.project = project  # type: ignore[attr-defined]
            _stores[url] = store
        return store


# -- the active runs ------------------------------------------------------------------------
class _Cell:
    __slots__ = ("id", "run_id", "start", "perf")

    def __init__(self, id: str, run_id: str, start: float, perf: float) -> None:
        self.id, self.run_id, self.start, self.perf = id, run_id, start, perf


class _State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.stack: list[ActiveRun] = []
        self.cell: _Cell | None = None


_state = _State()


def _cell_id() -> str | None:
    c = _state.cell
    return c.id if c is not None else None


class ActiveRun:
    """A run this process is logging to. Also a context manager that ends the run on exit."""

    def __init__(self, store: Store, id: str, name: str | None, *, session: bool = False,
                 adopted: bool = False, auto: bool = False, parent_id: str | None = None,
                 experiment: str = "default", notebook: str | None = None) -> None:
        self.store = store
        self.id = id
        self.name = name
        self.session = session
        self.adopted = adopted
        self.auto = auto
        self.parent_id = parent_id
        self.experiment = experiment
        self.notebook = notebook
        self.ended = False
        self.status = "running"
        self._params: dict[str, Any] = {}
        self._steps: dict[str, int] = {}
        self._submit = store.writer.submit
        self._env_thread: threading.Thread | None = None
        self._pkg_seen: tuple[str, ...] = _loaded_packages()

    def __repr__(self) -> str:
        return f"<ActiveRun {self.id} name={self.name!r} status={self.status}>"

    # -- logging ------------------------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        _check_key(key, "param")
        raw, text, num = encode_param(value)
        if key in self._params:
            if self._params[key] == raw:
                return
            import json

            raise ParamConflictError(key, json.loads(self._params[key]), value, self.id)
        self._params[key] = raw
        self._submit("param", (self.id, key, raw, text, num, _cell_id()))

    def log_params(self, params: Mapping[str, Any]) -> None:
        for k, v in params.items():
            self.log_param(k, v)

    def log_metric(self, key: str, value: float, step: int | None = None,
                   timestamp: float | None = None) -> None:
        if type(key) is not str or not key:
            _check_key(key, "metric")
        if isinstance(value, (str, bytes)) or value is None:
            raise UsageError(f"Metric {key!r} must be a number, not {type(value).__name__} {value!r}.")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise UsageError(
                f"Metric {key!r} must be a number, not {type(value).__name__}."
            ) from None
        steps = self._steps
        if step is None:
            step = steps.get(key, -1) + 1
            steps[key] = step
        else:
            step = int(step)
            if step > steps.get(key, -1):
                steps[key] = step
        c = _state.cell
        self._submit("metric", (self.id, key, v, step, timestamp or time.time(),
                                c.id if c is not None else None))

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        for k, v in metrics.items():
            self.log_metric(k, v, step)

    def set_tag(self, key: str, value: Any) -> None:
        _check_key(key, "tag")
        self._submit("tag", (self.id, key, str(value), _cell_id()))

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        for k, v in tags.items():
            self.set_tag(k, v)

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> str:
        """Copy a file or folder into the run's artifacts; return the stored relative path."""
        src = os.fspath(path)
        if not os.path.exists(src):
            raise UsageError(f"Cannot log artifact {src!r}: no such file or folder.")
        base = self.store.artifacts_dir
        if base is None:
            raise UsageError("This store has no artifact folder configured.")
        name = name or os.path.basename(os.path.normpath(src))
        if os.path.isabs(name) or ".." in name.replace("\\", "/").split("/"):
            raise UsageError(f"Artifact name {name!r} must be a relative path inside the run.")
        dest_root = os.path.join(base, self.id)
        files: list[tuple[str, str]] = []
        if os.path.isdir(src):
            for dirpath, _dirs, fnames in os.walk(src):
                for f in fnames:
                    full = os.path.join(dirpath, f)
                    rel = os.path.join(name, os.path.relpath(full, src))
                    files.append((full, rel))
        else:
            files.append((src, name))
        ts = time.time()
        for full, rel in files:
            dest = os.path.join(dest_root, rel)
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            tmp = dest + ".mlnb-tmp"
            shutil.copyfile(full, tmp)
            os.replace(tmp, dest)
            digest = _hash_file(dest)
            self._submit("artifact", (self.id, rel.replace(os.sep, "/"), digest,
                                      os.path.getsize(dest), ts, _cell_id()))
        return name.replace(os.sep, "/")

    # -- lifecycle ----------------------------------------------------------------------
    def end(self, status: str = "finished") -> None:
        end_run(status=status, run=self)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.ended:
            end_run(status="failed" if exc_type is not None and exc_type is not KeyboardInterrupt
                    else ("killed" if exc_type is KeyboardInterrupt else "finished"), run=self)

    @property
    def info(self) -> Run:
        """The run as stored now (flushes pending writes first)."""
        self.store.flush()
        return self.store.get_run(self.id)


def _check_key(key: Any, what: str) -> None:
    if not isinstance(key, str) or not key.strip():
        raise UsageError(f"A {what} key must be a non-empty string, not {key!r}.")
    if len(key) > 250:
        raise UsageError(f"A {what} key must be at most 250 characters; {key[:40]!r}... is longer.")


def _hash_file(path: str) -> str:
    try:
        import blake3  # type: ignore[import-not-found]

        h = blake3.blake3()
        algo = "blake3"
    except ModuleNotFoundError:
        h = hashlib.sha256()
        algo = "sha256"
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return f"{algo}:{h.hexdigest()}"


def _environment(root: str, run_id: str, store: Store) -> None:
    """Fill in git commit/dirty and package versions off the caller's thread."""
    import json
    import subprocess

    commit = dirty = None
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True,
                             text=True, timeout=5)
        if out.returncode == 0:
            commit = out.stdout.strip()
            st = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                capture_output=True, text=True, timeout=10)
            dirty = 1 if st.stdout.strip() else 0
    except (OSError, subprocess.SubprocessError):
        pass
    packages = _package_versions()
    try:
        store.writer.submit("run_env", (commit, dirty, json.dumps(packages), run_id))
    except Exception:  # noqa: BLE001 - the store may be closing
        pass


def _loaded_packages() -> tuple[str, ...]:
    mods = sys.modules
    return tuple(n for n in _PACKAGES
                 if (n == "scikit-learn" and "sklearn" in mods) or n.replace("-", "_") in mods)


def _package_versions() -> dict[str, str]:
    import mlnb
    from importlib import metadata

    packages = {"mlnb": mlnb.__version__}
    for name in _loaded_packages():
        if name == "mlnb":
            continue
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return packages


def _refresh_packages(run: ActiveRun) -> None:
    """After a cell: record versions of ML packages imported since the run started."""
    loaded = _loaded_packages()
    if loaded == run._pkg_seen or run.adopted:
        return
    run._pkg_seen = loaded

    def work() -> None:
        import json

        try:
            run.store.writer.submit("run_packages", (json.dumps(_package_versions()), run.id))
        except Exception:  # noqa: BLE001 - the store may be closing
            pass

    threading.Thread(target=work, name="mlnb-environment", daemon=True).start()


def _default_name() -> str:
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if argv0 and argv0 not in ("-c", "-m") and not argv0.endswith("ipykernel_launcher.py"):
        return os.path.basename(argv0)
    return "run"


def start_run(name: str | None = None, params: Mapping[str, Any] | None = None,
              tags: Mapping[str, Any] | None = None, nested: bool = False, *,
              experiment: str | None = None, notebook: str | None = None,
              parent_id: str | None = None, detached: bool = False, _session: bool = False,
              _auto: bool = False) -> ActiveRun:
    """Open a run and make it the active one (see the module docstring for the rules).

    ``detached=True`` opens a run that is *not* made active: nothing on the stack is ended, and
    the run is ended only by ``run.end()`` / ``end_run(run=run)`` (headless runners use this to
    drive several runs at once). Its parent defaults to the active run.
    """
    if not tracking_enabled():
        return _NullRun(name)
    store = open_store()
    with _state.lock:
        stack = _state.stack
        if detached:
            parent = parent_id or (stack[-1].id if stack else None)
        elif nested and stack:
            parent = parent_id or stack[-1].id
        else:
            while stack and not (stack[-1].session or stack[-1].adopted):
                _end(stack[-1], "finished")
            if _session:
                while stack:
                    _end(stack[-1], "finished")
            parent = parent_id or (stack[-1].id if stack else None)
        experiment = experiment or os.environ.get("MLNB_EXPERIMENT") or "default"
        run = ActiveRun(store, _new_id(), name or _default_name(), session=_session, auto=_auto,
                        parent_id=parent, experiment=experiment, notebook=notebook)
        now = time.time()
        w = store.writer
        w.submit("experiment", (experiment, now))
        w.submit("run", (run.id, experiment, run.name, "running", notebook, None, None,
                         _user(), socket.gethostname(), os.getpid(),
                         platform.python_version(), None, now, None, parent,
                         "kernel" if _session else "api"))
        if not detached:
            stack.append(run)
    root = str(getattr(store, "project").root) if hasattr(store, "project") else os.getcwd()
    run._env_thread = threading.Thread(target=_environment, args=(root, run.id, store),
                                       name="mlnb-environment", daemon=True)
    run._env_thread.start()
    if params:
        run.log_params(params)
    if tags:
        run.set_tags(tags)
    return run


def _user() -> str | None:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001
        return None


def adopt_run(run_id: str) -> ActiveRun:
    """Log into a run that another process created (e.g. a headless runner); never end it."""
    store = open_store()
    run_info = store.get_run(run_id)
    with _state.lock:
        run = ActiveRun(store, run_info.id, run_info.name, adopted=True,
                        parent_id=run_info.parent_id, experiment=run_info.experiment,
                        notebook=run_info.notebook)
        for k, v in run_info.params.items():
            run._params[k] = encode_param(v)[0]
        _state.stack.append(run)
    return run


def _finish(run: ActiveRun, status: str) -> None:
    run.ended = True
    run.status = status
    if not run.adopted:
        w = run.store.writer
        if status == "killed":  # its process is gone: a cell still marked running never finished
            w.submit("cells_close", ("Killed", "the run was killed during this cell", run.id))
        w.submit("run_end", (status, time.time(), run.id))
    run.store.flush()


def _end(run: ActiveRun, status: str) -> None:
    """End ``run`` and every run above it on the stack (a detached run: just it).

    Caller holds the lock."""
    stack = _state.stack
    if run not in stack:
        if not run.ended:
            _finish(run, status)
        return
    while run in stack:
        top = stack.pop()
        if not top.ended:
            _finish(top, status if top is run else "finished")


def end_run(status: str = "finished", run: ActiveRun | None = None) -> None:
    """End the innermost active run (or ``run``). With no active run this does nothing."""
    if status not in ("finished", "failed", "killed"):
        raise UsageError(f"status must be 'finished', 'failed' or 'killed', not {status!r}.")
    if isinstance(run, _NullRun):
        run.end(status)
        return
    with _state.lock:
        if run is None:
            if not _state.stack:
                return
            run = _state.stack[-1]
        _end(run, status)


def active_run() -> ActiveRun | None:
    """The innermost active run, or None."""
    stack = _state.stack
    return stack[-1] if stack else None


def _run_for_logging() -> ActiveRun:
    stack = _state.stack
    if stack:
        return stack[-1]
    if not tracking_enabled():
        return _NULL_RUN
    return start_run(_auto=True)


class _NullRun:
    """What the Run API hands out while tracking is off: accepts everything, records nothing."""

    id = "untracked"
    ended = False
    status = "running"
    adopted = session = auto = False
    parent_id = None
    experiment = "default"
    notebook = None

    def __init__(self, name: str | None = None) -> None:
        self.name = name
        self._params: dict[str, Any] = {}

    def __repr__(self) -> str:
        return "<untracked run (MLNB_TRACKING is off)>"

    def _ignore(self, *args: Any, **kwargs: Any) -> None:
        return None

    log_param = log_params = log_metric = log_metrics = set_tag = set_tags = _ignore

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> str:
        return name or os.path.basename(os.fspath(path))

    def end(self, status: str = "finished") -> None:
        self.ended = True

    def __enter__(self) -> _NullRun:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.ended = True


_NULL_RUN = _NullRun()


def log_param(key: str, value: Any) -> None:
    _run_for_logging().log_param(key, value)


def log_params(params: Mapping[str, Any]) -> None:
    _run_for_logging().log_params(params)


def log_metric(key: str, value: float, step: int | None = None) -> None:
    stack = _state.stack
    (stack[-1] if stack else _run_for_logging()).log_metric(key, value, step)  # type: ignore[union-attr]


def log_metrics(metrics: Mapping[str, float], step: int | None = None) -> None:
    _run_for_logging().log_metrics(metrics, step)


def set_tag(key: str, value: Any) -> None:
    _run_for_logging().set_tag(key, value)


def set_tags(tags: Mapping[str, Any]) -> None:
    _run_for_logging().set_tags(tags)


def log_artifact(path: str | os.PathLike[str], name: str | None = None) -> str:
    return _run_for_logging().log_artifact(path, name)


def flush() -> None:
    """Commit everything logged so far in this process."""
    for store in list(_stores.values()):
        store.flush()


def runs(filter: str | None = None, order_by: str | list[str] | None = None,
         limit: int | None = None, offset: int = 0) -> RunList:
    """Runs of the current project matching ``filter`` (see the filter language)."""
    store = open_store()
    store.flush()
    return store.search_runs(filter=filter, order_by=order_by, limit=limit, offset=offset)


def get_run(run_id: str) -> Run:
    store = open_store()
    store.flush()
    return store.get_run(run_id)


def metric_history(run_id: str, key: str) -> list[MetricPoint]:
    store = open_store()
    store.flush()
    return store.metric_history(run_id, key)


# -- cells (used by the kernel adapter) -------------------------------------------------------
def source_hash(source: str) -> str:
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def begin_cell(cell_id: str | None, source: str, execution_count: int | None = None,
               notebook: str | None = None) -> str:
    """Record that a cell started in the active run; everything logged until end_cell links to it."""
    run = active_run()
    if run is None:
        raise NoActiveRunError("record a cell execution")
    ce = _Cell(_new_id(), run.id, time.time(), time.perf_counter())
    run.store.writer.submit("cell", (ce.id, run.id, notebook or run.notebook, cell_id,
                                     execution_count, source_hash(source), source, ce.start,
                                     None, "running", None, None))
    _state.cell = ce
    return ce.id


def end_cell(status: str = "ok", error_name: str | None = None, error_message: str | None = None,
             execution_count: int | None = None, flush: bool = True) -> None:
    ce = _state.cell
    if ce is None:
        return
    _state.cell = None
    duration = time.perf_counter() - ce.perf
    run = active_run()
    if run is not None:
        _refresh_packages(run)
    store = open_store()
    store.writer.submit("cell_end", (duration, status, error_name,
                                     (error_message or "")[:2000] or None, execution_count, ce.id))
    if flush:
        store.flush()


def current_cell_id() -> str | None:
    return _cell_id()


# -- process lifetime ------------------------------------------------------------------------
def _at_exit() -> None:
    # A script that dies of an exception leaves sys.last_value; a notebook's session run is not
    # failed by one failing cell.
    failed = getattr(sys, "last_value", None) is not None
    with _state.lock:
        while _state.stack:
            bottom = _state.stack[0]
            _end(bottom, "failed" if failed and not bottom.session else "finished")
    for store in list(_stores.values()):
        try:
            store.close()
        except Exception as e:  # noqa: BLE001
            print(f"mlnb: {e}", file=sys.stderr)


atexit.register(_at_exit)


def _after_fork_in_child() -> None:
    # Threads do not survive fork: a child starts with no writer, no stores and no runs.
    global _state
    _state = _State()
    _stores.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _reset_for_tests() -> None:
    with _state.lock:
        while _state.stack:
            _end(_state.stack[0], "finished")
        _state.cell = None
    with _stores_lock:
        for store in _stores.values():
            try:
                store.close()
            except Exception:  # noqa: BLE001
                pass
        _stores.clear()


def iter_stack() -> Iterator[ActiveRun]:
    return iter(list(_state.stack))
