"""The one table of mlnb REST routes; every path lives under ``{base_url}mlnb/api/``."""

from __future__ import annotations

from jupyter_server.utils import url_path_join
from tornado.web import RequestHandler

from . import data, diff, execute, pipeline, runs

API_PREFIX = "mlnb/api"

# (pattern relative to {base_url}mlnb/api/, handler). Groups are named: tornado passes them as kwargs.
# A metric key may contain "/" (``val/loss``), so it takes the rest of the path.
ROUTES: list[tuple[str, type[RequestHandler]]] = [
    (r"runs", runs.RunsHandler),
    (r"runs/(?P<run_id>[^/]+)", runs.RunHandler),
    (r"runs/(?P<run_id>[^/]+)/metrics/(?P<key>.+)", runs.MetricHistoryHandler),
    (r"compare", runs.CompareHandler),
    (r"cells", runs.CellsHandler),
    (r"status", runs.StatusHandler),
    (r"pipeline", pipeline.PipelineHandler),
    (r"pipeline/runs", pipeline.PipelineRunsHandler),
    (r"pipeline/runs/(?P<job_id>[^/]+)", pipeline.PipelineRunHandler),
    (r"pipeline/runs/(?P<job_id>[^/]+)/cancel", pipeline.PipelineCancelHandler),
    (r"diff", diff.DiffHandler),
    (r"notebook/parameters", execute.ParametersHandler),
    (r"notebook/execute", execute.ExecutionsHandler),
    (r"notebook/execute/(?P<job_id>[^/]+)", execute.ExecutionHandler),
    (r"notebook/execute/(?P<job_id>[^/]+)/cancel", execute.ExecutionCancelHandler),
    (r"notebook/executed", execute.ExecutedNotebookHandler),
    (r"data", data.DataHandler),
    (r"data/pin", data.DataPinHandler),
    (r"data/checkout", data.DataCheckoutHandler),
    (r"data/diff", data.DataDiffHandler),
]


def route_table(base_url: str) -> list[tuple[str, type[RequestHandler]]]:
    """The routes with ``base_url`` applied, ready for ``web_app.add_handlers``."""
    return [(url_path_join(base_url, API_PREFIX, pattern), handler) for pattern, handler in ROUTES]
