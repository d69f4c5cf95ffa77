"""Experiment tracking: the store, the background writer, the Run API and the filter language."""

from __future__ import annotations

from mlnb.tracking._filter import compile_filter, compile_order_by
from mlnb.tracking._fluent import (
    ActiveRun,
    active_run,
    adopt_run,
    begin_cell,
    current_cell_id,
    end_cell,
    end_run,
    flush,
    get_run,
    log_artifact,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    metric_history,
    open_store,
    runs,
    set_tag,
    set_tags,
    source_hash,
    start_run,
    tracking_enabled,
    _reset_for_tests,
)
from mlnb.tracking._models import MetricPoint, Run, RunList
from mlnb.tracking._store import Store

__all__ = [
    "ActiveRun", "MetricPoint", "Run", "RunList", "Store",
    "active_run", "adopt_run", "begin_cell", "compile_filter", "compile_order_by",
    "current_cell_id", "end_cell", "end_run", "flush", "get_run", "log_artifact", "log_metric",
    "log_metrics", "log_param", "log_params", "metric_history", "open_store", "runs", "set_tag",
    "set_tags", "source_hash", "start_run", "tracking_enabled",
]
