"""Read capture: files opened for reading inside the project during a cell, via audit hooks.

``install(shell, tracker)`` (call it after the CellTracker's events are registered) adds one
process-wide ``sys.addaudithook`` (hooks cannot be removed; it does nothing between cells) and
pre/post_run_cell handlers. Python's ``open``/``os.open`` (pandas, numpy, most readers) raise the
``open`` audit event; pyarrow's C++ readers do not, so its entry points are wrapped as well.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

__all__ = ["install", "recorder"]

_installed = False
_active: Any = None  # the ReadRecorder while a cell runs, else None
_guard = threading.local()
_recorder: Any = None
_O_ACC = os.O_ACCMODE
_O_WR = os.O_WRONLY


def recorder():
    return _recorder


def _note(path: Any) -> None:
    rec = _active
    if rec is None or getattr(_guard, "busy", False):
        return
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    elif not isinstance(path, str):
        path = os.fspath(path) if hasattr(path, "__fspath__") else None
        if not isinstance(path, str):
            return
    if not os.path.isabs(path):
        path = os.path.join(os.getcwd(), path)
    path = os.path.normpath(path)
    rel = rec.relevant(path)
    if rel is None:
        return
    _guard.busy = True
    try:
        rec.saw(rel)
    except Exception:  # noqa: BLE001 - capture must never break the user's read
        pass
    finally:
        _guard.busy = False


def _hook(event: str, args: tuple) -> None:
    if event != "open" or _active is None:
        return
    path, mode, flags = args
    if isinstance(mode, str):
        if "r" not in mode:
            return
    elif flags is not None and (flags & _O_ACC) == _O_WR:
        return
    if isinstance(path, int):
        return
    _note(path)


def _wrap(module: Any, name: str) -> None:
    fn = getattr(module, name, None)
    if fn is None or getattr(fn, "_mlnb_wrapped", False):
        return

    def wrapper(source: Any = None, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, (str, bytes, os.PathLike)):
            _note(source)
        elif isinstance(source, (list, tuple)):
            for s in source:
                if isinstance(s, (str, bytes, os.PathLike)):
                    _note(s)
        return fn(source, *args, **kwargs)

    wrapper._mlnb_wrapped = True  # type: ignore[attr-defined]
    wrapper.__wrapped__ = fn  # type: ignore[attr-defined]
    wrapper.__doc__ = fn.__doc__
    wrapper.__name__ = getattr(fn, "__name__", name)
    setattr(module, name, wrapper)


def _wrap_pyarrow() -> None:
    """pyarrow reads through C++ (no audit event): wrap its public readers once imported."""
    targets = {
        "pyarrow.parquet": ("read_table", "read_pandas", "read_metadata", "read_schema"),
        "pyarrow.feather": ("read_table", "read_feather"),
        "pyarrow.csv": ("read_csv", "open_csv"),
        "pyarrow.json": ("read_json",),
        "pyarrow.orc": ("read_table",),
        "pyarrow.dataset": ("dataset",),
    }
    for mod_name, names in targets.items():
        mod = sys.modules.get(mod_name)
        if mod is None:
            continue
        for n in names:
            _wrap(mod, n)
    pq = sys.modules.get("pyarrow.parquet")
    if pq is not None and not getattr(pq.ParquetFile.__init__, "_mlnb_wrapped", False):
        init = pq.ParquetFile.__init__

        def __init__(self: Any, source: Any, *args: Any, **kwargs: Any) -> None:
            if isinstance(source, (str, bytes, os.PathLike)):
                _note(source)
            init(self, source, *args, **kwargs)

        __init__._mlnb_wrapped = True  # type: ignore[attr-defined]
        pq.ParquetFile.__init__ = __init__


_ARROW_MODULES = ("pyarrow.parquet", "pyarrow.feather", "pyarrow.csv", "pyarrow.json",
                  "pyarrow.orc", "pyarrow.dataset")


class _ArrowFinder:
    """Wraps pyarrow's readers as soon as a cell imports them (the cell may read right away)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in _ARROW_MODULES:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                loader = spec.loader
                if loader is not None and hasattr(loader, "exec_module"):
                    real = loader.exec_module

                    def exec_module(module: Any, _real: Any = real) -> None:
                        _real(module)
                        try:
                            _wrap_pyarrow()
                        except Exception:  # noqa: BLE001
                            pass

                    loader.exec_module = exec_module  # type: ignore[method-assign]
                return spec
        return None


def install(shell: Any, tracker: Any) -> Any:
    """Start capturing reads for ``tracker``'s project and notebook; returns the recorder."""
    global _installed, _recorder
    from mlnb.data._reads import ReadRecorder

    rec = ReadRecorder(tracker.project, getattr(tracker, "notebook_abs", None))
    rec.session_reads = {}
    _recorder = rec
    state: dict[str, Any] = {}

    def pre_run_cell(info: Any) -> None:
        global _active
        from mlnb import tracking

        if getattr(info, "silent", False):
            return
        _wrap_pyarrow()
        rec.stream = sys.stderr  # the kernel's stream for this cell
        _guard.busy = True
        try:
            rec.begin()
        finally:
            _guard.busy = False
        run = tracking.active_run()
        state["run"] = run.id if run is not None else None
        state["cell"] = tracking.current_cell_id()
        _active = rec

    def post_run_cell(result: Any) -> None:
        global _active
        if _active is None:
            return
        _active = None
        _guard.busy = True
        try:
            reads = rec.end(state.get("run"), state.get("cell"))
            for r in reads:
                rec.session_reads[r.path] = r
        except Exception as e:  # noqa: BLE001 - never break the user's cell
            print(f"mlnb: could not record the files this cell read: {e}", file=sys.stderr)
        finally:
            _guard.busy = False

    if not _installed:
        sys.addaudithook(_hook)
        sys.meta_path.insert(0, _ArrowFinder())
        _installed = True
    shell.events.register("pre_run_cell", pre_run_cell)
    shell.events.register("post_run_cell", post_run_cell)
    rec._handlers = (pre_run_cell, post_run_cell)  # for uninstall
    return rec


def uninstall(shell: Any) -> None:
    global _active, _recorder
    _active = None
    rec = _recorder
    if rec is None:
        return
    for name, cb in zip(("pre_run_cell", "post_run_cell"), rec._handlers):
        try:
            shell.events.unregister(name, cb)
        except ValueError:
            pass
    rec.close()
    _recorder = None


# -- %mlnb pin / %mlnb data (the magic methods in _magics.py delegate here) ------------------

PIN_MIME = "application/vnd.mlnb.data-pins+json"


def magic_pin(tracker: Any, args: list[str]) -> None:
    """``%mlnb pin PATH... [--note TEXT] [--write-notebook]``.

    Pins go to ``mlnb.lock`` at once. The notebook's ``metadata.mlnb.data`` is owned by the open
    document, so the kernel publishes the pins as ``application/vnd.mlnb.data-pins+json`` for the
    frontend to merge into the open model (no "file changed on disk" conflict); with
    ``--write-notebook`` (headless use) the notebook file is updated directly.
    """
    from IPython.display import publish_display_data

    from mlnb.data import pin

    note, paths, write_nb = None, [], False
    it = iter(args)
    for a in it:
        if a == "--note":
            note = next(it, None)
        elif a.startswith("--note="):
            note = a.split("=", 1)[1]
        elif a == "--write-notebook":
            write_nb = True
        else:
            paths.append(os.path.abspath(a))
    if not paths:
        from mlnb.errors import UsageError

        raise UsageError("%mlnb pin needs one or more paths, e.g. %mlnb pin data/train.csv")
    nb = getattr(tracker, "notebook_abs", None)
    _guard.busy = True
    try:
        pins = pin(paths, project=tracker.project, note=note,
                   notebook=nb if (write_nb and nb) else None)
    finally:
        _guard.busy = False
    lines = [f"pinned {p.path}  {p.hash[:12]}  ({p.nfiles} file(s), {p.size} bytes)" for p in pins]
    publish_display_data({
        "text/plain": "\n".join(lines),
        PIN_MIME: {"notebook": getattr(tracker, "notebook", None),
                   "pins": {p.path: p.to_record() for p in pins}},
    }, metadata={PIN_MIME: {"written_to_file": bool(write_nb and nb)}})


def magic_data(tracker: Any, args: list[str]) -> None:
    """``%mlnb data status`` | ``%mlnb data reads``: pins of this notebook (and mlnb.lock) with
    their state; the files read in this kernel so far (latest read of each), pinned or not."""
    from mlnb.data._ops import _status_one
    from mlnb.data._objects import ObjectStore
    from mlnb.data._statcache import StatCache
    from mlnb.errors import UsageError

    sub = args[0] if args else "status"
    if sub == "reads":
        rec = _recorder
        reads = getattr(rec, "session_reads", None) if rec else None
        if not reads:
            print("No reads captured yet in this kernel.")
            return
        for _, r in sorted(reads.items()):
            print(f"{r.state:10} {r.path}  {(r.hash or '-')[:12]}"
                  + (f"   (pin it: %mlnb pin {r.path})" if r.state == "unpinned" else ""))
        return
    if sub != "status":
        raise UsageError("%mlnb data: use `status` or `reads`.")
    rec = _recorder
    project = tracker.project
    if rec is not None:
        rec._load_pins()
        pins = rec.pins
    else:
        from mlnb.data._pins import read_lock_pins

        pins = read_lock_pins(project)
    if not pins:
        print("No pins. Pin data with %mlnb pin PATH.")
        return
    store = ObjectStore(project)
    cache = StatCache.for_project(project)
    _guard.busy = True
    try:
        for _, p in sorted(pins.items()):
            st = _status_one(project, store, cache, p)
            extra = ""
            if st.added or st.removed or st.modified:
                extra = f"  (+{len(st.added)} -{len(st.removed)} ~{len(st.modified)})"
            print(f"{st.state:9} {p.path}  {p.hash[:12]}{extra}")
    finally:
        _guard.busy = False
