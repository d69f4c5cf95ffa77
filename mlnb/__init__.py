"""mlnb: notebook-driven ML engineering for Jupyter.

``import mlnb`` is cheap: the public functions are loaded on first use.

>>> import mlnb
>>> with mlnb.start_run(name="baseline", params={"lr": 0.1}):
...     mlnb.log_metric("acc", 0.91)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlnb._lazy import lazy_getattr

try:
    from mlnb._version import __version__
except ImportError:  # running from a source tree without a build
    __version__ = "0.1.0"

_LAZY = {
    # tracking
    "start_run": "mlnb.tracking",
    "end_run": "mlnb.tracking",
    "active_run": "mlnb.tracking",
    "log_param": "mlnb.tracking",
    "log_params": "mlnb.tracking",
    "log_metric": "mlnb.tracking",
    "log_metrics": "mlnb.tracking",
    "set_tag": "mlnb.tracking",
    "set_tags": "mlnb.tracking",
    "log_artifact": "mlnb.tracking",
    "runs": "mlnb.tracking",
    "get_run": "mlnb.tracking",
    "metric_history": "mlnb.tracking",
    "flush": "mlnb.tracking",
    # execution
    "execute_notebook": "mlnb.execute",
    # project
    "Project": "mlnb.project",
}

__all__ = ["__version__", *sorted(_LAZY)]

if TYPE_CHECKING:  # pragma: no cover
    from mlnb.execute import execute_notebook
    from mlnb.project import Project
    from mlnb.tracking import (
        active_run, end_run, flush, get_run, log_artifact, log_metric, log_metrics, log_param,
        log_params, metric_history, runs, set_tag, set_tags, start_run,
    )


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


# -- Jupyter hooks -------------------------------------------------------------------------
def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "mlnb"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "mlnb.server"}]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext mlnb``: track this kernel's cell executions and register the %mlnb magics."""
    from mlnb.kernel import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from mlnb.kernel import unload_ipython_extension as _unload

    _unload(ipython)
