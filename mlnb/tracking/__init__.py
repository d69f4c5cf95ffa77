"""Experiment tracking: the store, the background writer, the Run API and the filter language.

The public names load on first use, so a module that needs only the schema
(``mlnb.tracking._db``, e.g. the data stat cache) does not pay for the whole Run API.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mlnb._lazy import lazy_getattr

_FROM: dict[str, str] = {
    "compile_filter": "_filter", "compile_order_by": "_filter",
    "MetricPoint": "_models", "Run": "_models", "RunList": "_models",
    "Store": "_store",
    **{name: "_fluent" for name in (
        "ActiveRun", "active_run", "adopt_run", "begin_cell", "current_cell_id", "end_cell",
        "end_run", "flush", "get_run", "log_artifact", "log_metric", "log_metrics", "log_param",
        "log_params", "metric_history", "open_store", "runs", "set_tag", "set_tags",
        "source_hash", "start_run", "tracking_enabled", "_reset_for_tests",
    )},
}
_SUBMODULES = ("_db", "_filter", "_fluent", "_html", "_models", "_store", "_writer")

__all__ = [
    "ActiveRun", "MetricPoint", "Run", "RunList", "Store",
    "active_run", "adopt_run", "begin_cell", "compile_filter", "compile_order_by",
    "current_cell_id", "end_cell", "end_run", "flush", "get_run", "log_artifact", "log_metric",
    "log_metrics", "log_param", "log_params", "metric_history", "open_store", "runs", "set_tag",
    "set_tags", "source_hash", "start_run", "tracking_enabled",
]

if TYPE_CHECKING:  # pragma: no cover
    from mlnb.tracking._filter import compile_filter, compile_order_by
    from mlnb.tracking._fluent import (
        ActiveRun, _reset_for_tests, active_run,  # noqa: F401 - _reset_for_tests: tests adopt_run, begin_cell, current_cell_id, end_cell,
        end_run, flush, get_run, log_artifact, log_metric, log_metrics, log_param, log_params,
        metric_history, open_store, runs, set_tag, set_tags, source_hash, start_run,
        tracking_enabled,
    )
    from mlnb.tracking._models import MetricPoint, Run, RunList
    from mlnb.tracking._store import Store


_exports = lazy_getattr(__name__, {k: f"{__name__}.{v}" for k, v in _FROM.items()}, globals())


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:  # e.g. ``tracking._fluent`` before anything imported it
        return importlib.import_module(f"{__name__}.{name}")
    return _exports(name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_FROM) | set(_SUBMODULES))
