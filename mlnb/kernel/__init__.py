"""The kernel face: ``%load_ext mlnb`` records cell executions and registers ``%mlnb``."""

from __future__ import annotations

from typing import Any

__all__ = ["load_ipython_extension", "unload_ipython_extension", "tracker"]

_tracker = None


def tracker():
    """The CellTracker of this kernel, or None when the extension is not loaded."""
    return _tracker


def load_ipython_extension(ipython: Any) -> None:
    global _tracker
    if _tracker is not None:
        return
    from mlnb.kernel._magics import MlnbMagics
    from mlnb.kernel._tracker import CellTracker

    t = CellTracker(ipython)
    ipython.register_magics(MlnbMagics(ipython, t))
    ipython.events.register("pre_run_cell", t.pre_run_cell)
    ipython.events.register("post_run_cell", t.post_run_cell)
    # After the tracker's handlers, so reads link to the cell execution the tracker opened.
    from mlnb import tracking
    from mlnb.kernel import _reads

    if tracking.tracking_enabled():
        _reads.install(ipython, t)
    _tracker = t
    # Open (or adopt) the run now so it exists even before the next cell runs.
    t.ensure_run()


def unload_ipython_extension(ipython: Any) -> None:
    global _tracker
    t = _tracker
    if t is None:
        return
    from mlnb import tracking

    for name, cb in (("pre_run_cell", t.pre_run_cell), ("post_run_cell", t.post_run_cell)):
        try:
            ipython.events.unregister(name, cb)
        except ValueError:
            pass
    from mlnb.kernel import _reads

    _reads.uninstall(ipython)
    tracking.end_cell()
    for run in reversed(list(tracking._fluent.iter_stack())):
        if run.session:
            tracking.end_run(run=run)
    _tracker = None
