"""Pipelines of notebooks: ``mlnb.yaml`` stages, their DAG, fingerprints in ``mlnb.lock``, and a
scheduler that runs only what is stale (locally with warm kernels, or on Dask).

    from mlnb.pipeline import pipeline_status, run_pipeline
    for s in pipeline_status(project):
        print(s.name, s.status, s.reasons)
    result = run_pipeline(project, jobs=2)

Names load lazily: ``mlnb status`` pays for yaml and hashing only (no nbformat, nbclient, dask).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlnb._lazy import lazy_getattr

if TYPE_CHECKING:
    from mlnb.pipeline._dag import Dag, build_dag
    from mlnb.pipeline._errors import (
        PipelineBusyError, PipelineError, PipelineGraphError, PipelineSpecError, StageFailedError,
        StageNotFoundError,
    )
    from mlnb.pipeline._lockfile import read_lock, update_lock
    from mlnb.pipeline._runner import PipelineResult, StageResult, run_pipeline, run_pipeline_async
    from mlnb.pipeline._spec import PipelineSpec, Stage, load_spec, parse_spec
    from mlnb.pipeline._status import StageStatus, load_pipeline, pipeline_status

__all__ = [
    "Dag", "PipelineBusyError", "PipelineError", "PipelineGraphError", "PipelineResult",
    "PipelineSpec", "PipelineSpecError", "Stage", "StageFailedError", "StageNotFoundError",
    "StageResult", "StageStatus", "build_dag", "load_pipeline", "load_spec", "parse_spec",
    "pipeline_status", "read_lock", "run_pipeline", "run_pipeline_async", "update_lock",
]

_LAZY = {
    "Dag": "_dag", "build_dag": "_dag",
    "PipelineBusyError": "_errors", "PipelineError": "_errors", "PipelineGraphError": "_errors",
    "PipelineSpecError": "_errors", "StageFailedError": "_errors", "StageNotFoundError": "_errors",
    "read_lock": "_lockfile", "update_lock": "_lockfile",
    "PipelineResult": "_runner", "StageResult": "_runner", "run_pipeline": "_runner",
    "run_pipeline_async": "_runner",
    "PipelineSpec": "_spec", "Stage": "_spec", "load_spec": "_spec", "parse_spec": "_spec",
    "StageStatus": "_status", "load_pipeline": "_status", "pipeline_status": "_status",
}


__getattr__ = lazy_getattr(__name__, {k: f"mlnb.pipeline.{v}" for k, v in _LAZY.items()}, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
