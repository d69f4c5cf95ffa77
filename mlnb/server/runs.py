"""Handlers for runs, metric histories, run comparison, notebook cell badges and server status.

Each handler parses its arguments, calls the tracking store in a worker thread and renders the
store's answer (see docs/design/contracts.md, "REST"); errors are mapped in ``_base``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from jupyter_server.auth.decorator import authorized
from tornado import web

from mlnb.errors import UsageError

from ._base import MlnbHandler

__all__ = [
    "CellsHandler",
    "CompareHandler",
    "MetricHistoryHandler",
    "RunHandler",
    "RunsHandler",
    "StatusHandler",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_OFFSET = 2**53 - 1  # the largest integer a JavaScript client can send exactly
MAX_COMPARE = 100
_SECRET_QUERY_KEYS = {"password", "passwd", "pwd", "secret", "token", "sslpassword"}


class RunsHandler(MlnbHandler):
    """``GET runs?filter=&order_by=&limit=&offset=``: one page of runs, the total, the metric keys."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        filter_ = self.str_argument("filter")
        order_by = self.str_argument("order_by")
        limit = self.int_argument("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
        offset = self.int_argument("offset", 0, minimum=0, maximum=MAX_OFFSET)
        context = self.context

        def build() -> dict[str, Any]:
            store = context.store()
            runs = store.search_runs(filter=filter_, order_by=order_by, limit=limit, offset=offset)
            return {
                "runs": runs.to_dicts(),
                "total": store.count_runs(filter=filter_),
                "offset": offset,
                "limit": limit,
                "metric_keys": store.metric_keys(filter=filter_),
            }

        await self.respond(build)


class RunHandler(MlnbHandler):
    """``GET runs/{id}`` (a unique prefix will do) and ``DELETE runs/{id}`` (the full id only)."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        context = self.context
        await self.respond(lambda: context.store().run_detail(run_id))

    @web.authenticated
    @authorized
    async def delete(self, run_id: str) -> None:
        context = self.context

        def delete() -> None:
            store = context.store()
            run = store.get_run(run_id)
            if run.id != run_id:
                # A prefix is fine to look at, not to destroy: it may mean another run tomorrow.
                raise UsageError(
                    f"Deleting needs the full run id; {run_id!r} is only a prefix of {run.id!r}."
                )
            store.delete_run(run.id)

        await self.in_thread(delete)
        self.set_status(204)
        self.finish()


class MetricHistoryHandler(MlnbHandler):
    """``GET runs/{id}/metrics/{key}``: every logged point of one metric, by step then time."""

    @web.authenticated
    @authorized
    async def get(self, run_id: str, key: str) -> None:
        context = self.context

        def build() -> dict[str, Any]:
            store = context.store()
            run = store.get_run(run_id)
            points = store.metric_history(run.id, key)
            return {
                "run_id": run.id,
                "key": key,
                "points": [
                    {"step": p.step, "value": p.value, "timestamp": p.timestamp} for p in points
                ],
            }

        await self.respond(build)


class CompareHandler(MlnbHandler):
    """``GET compare?ids=a,b,c``: params and metrics of runs side by side, with ``differs``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        raw = self.required_argument("ids")
        requested = list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))
        if len(requested) < 2:
            raise UsageError("Query argument 'ids' needs at least two run ids, e.g. ?ids=ab12,cd34.")
        if len(requested) > MAX_COMPARE:
            raise UsageError(
                f"Compare at most {MAX_COMPARE} runs at once; {len(requested)} ids were given."
            )
        context = self.context
        await self.respond(lambda: context.store().compare(requested))


class CellsHandler(MlnbHandler):
    """``GET cells?notebook=PATH``: the last execution of each cell of a notebook, over all runs.

    PATH is relative to the server root, as JupyterLab names documents; the store knows notebooks
    by their path relative to the project root, which may differ from the server root.
    """

    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.required_argument("notebook")
        context = self.context

        def build() -> dict[str, Any]:
            abs_path = context.resolve_in_root(notebook)
            relpath = context.project().relpath(abs_path)
            return context.store().notebook_cells(relpath)

        await self.respond(build)


class StatusHandler(MlnbHandler):
    """``GET status``: mlnb version, project root and store URL (never its password).

    Also ``server_root``, the real absolute server root: JupyterLab's ``serverRoot`` page option
    abbreviates the home folder to ``~``, so it cannot be compared with ``project_root`` to map
    a run's notebook (project-relative) to a document path (server-relative).
    """

    @web.authenticated
    @authorized
    async def get(self) -> None:
        context = self.context

        def build() -> dict[str, Any]:
            project = context.project()
            return {
                "version": _version(),
                "project_root": str(project.root),
                "server_root": context.root_dir,
                "store_url": redact_url(str(project.store_url)),
            }

        await self.respond(build)


def _version() -> str:
    import mlnb

    version = getattr(mlnb, "__version__", None)
    if version:
        return str(version)
    try:
        from importlib.metadata import version as dist_version

        return dist_version("mlnb")
    except Exception:  # not installed as a distribution (e.g. a source checkout on sys.path)
        return "unknown"


def redact_url(url: str) -> str:
    """``url`` with any password (in the netloc or a query argument) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    secret_in_query = any(
        k.lower() in _SECRET_QUERY_KEYS for k, _ in parse_qsl(parts.query, keep_blank_values=True)
    )
    if password is None and not secret_in_query:
        return url  # rebuilding would change e.g. sqlite:////abs/path into sqlite://abs/path
    netloc = parts.netloc
    if password is not None:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostinfo}"
    query = parts.query
    if secret_in_query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, "***" if k.lower() in _SECRET_QUERY_KEYS else v) for k, v in pairs], safe="*/"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
