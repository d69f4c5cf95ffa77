"""Handlers for "Run this notebook with parameters…" under ``{base_url}mlnb/api/notebook/``: the
parameters a notebook declares (its cell tagged ``parameters``), and headless executions of it.

An execution is a separate ``mlnb exec`` process (the same code path as the terminal), so its
kernel never shares the server's process and a cancel is a Ctrl-C. Parameters are validated in
the server first, so a wrong type or an unknown name is a 400 before any kernel starts. The
process's output (one line a cell) goes to ``.mlnb/exec/jobs/<id>.log``; clients poll it by byte
offset like the pipeline's events.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from mlnb.errors import UsageError

from ._jobs import CommandJob, JobHandler, read_lines, spawn_mlnb

__all__ = ["ParametersHandler", "ExecutionsHandler", "ExecutionHandler", "ExecutionCancelHandler",
           "ExecutedNotebookHandler"]

MAX_RUNNING = 4
MAX_LOG_CHUNK = 256 * 1024
_RUN_RE = re.compile(rb"^Run: ([0-9A-Za-z_-]+)\s*$", re.M)
_CELL_RE = re.compile(rb"^cell (\d+)/(\d+) (?!started)", re.M)
_START_RE = re.compile(rb"^executing .* \((\d+) code cells\)\s*$", re.M)


class ExecJob(CommandJob):
    """One ``mlnb exec`` started by this server."""

    def __init__(self, id: str, proc: subprocess.Popen[bytes], log_path: Path, path: str,
                 parameters: dict[str, Any]) -> None:
        super().__init__(id, proc)
        self.log_path = log_path
        self.path = path
        self.parameters = parameters

    def read_log(self, offset: int) -> tuple[str, int]:
        """Complete lines from byte ``offset`` (all of it once the process ended); next offset."""
        done = self.returncode() is not None
        data, next_offset = read_lines(self.log_path, offset, MAX_LOG_CHUNK, through_end=done)
        return data.decode("utf-8", "replace"), next_offset

    def summary(self) -> dict[str, Any]:
        code = self.returncode()
        try:
            head = self.log_path.read_bytes()[-(1 << 20):]
        except OSError:
            head = b""
        run = _RUN_RE.findall(head)
        cells = _CELL_RE.findall(head)
        start = _START_RE.findall(head)
        total = int(cells[-1][1]) if cells else (int(start[-1]) if start else None)
        status = "running" if code is None else {0: "finished", 130: "killed"}.get(code, "failed")
        return {
            **self.base_summary(),
            "path": self.path,
            "parameters": self.parameters,
            "status": status,
            "run_id": run[-1].decode() if run else None,
            "cells_done": int(cells[-1][0]) if cells else 0,
            "cells_total": total,
        }


class _ExecuteHandler(JobHandler[ExecJob]):
    jobs_key = "mlnb_execute_jobs"
    job_noun = "notebook execution"

    def notebook_path(self, path: Any) -> tuple[str, str]:
        """(real path, path relative to the server root) of a notebook inside the root."""
        if not isinstance(path, str) or not path.strip():
            raise UsageError("'path' must be the notebook's path relative to the server root.")
        os_path = self.context.resolve_in_root(path.strip())
        if not os_path.endswith(".ipynb"):
            raise UsageError(f"{path} is not a notebook (.ipynb).")
        if not os.path.isfile(os_path):
            raise UsageError(f"{path}: no such notebook.")
        return os_path, os.path.relpath(os_path, self.context.root_dir).replace(os.sep, "/")


def _json_default(value: Any) -> Any:
    """A parameter default as JSON (literal values only; None when not representable)."""
    try:
        json.dumps(value, allow_nan=False)
        return value
    except (TypeError, ValueError):
        return None


def parameters_view(os_path: str, rel: str) -> dict[str, Any]:
    from mlnb.execute import notebook_parameters

    cell = notebook_parameters(os_path)
    if cell is None:
        return {"path": rel, "cell": None, "syntax_error": None, "parameters": []}
    params = []
    for p in cell.parameters:
        d = p.to_dict()
        d["value"] = _json_default(p.default) if p.has_literal_default else None
        params.append(d)
    return {"path": rel, "cell": {"index": cell.index, "cell_id": cell.cell_id},
            "syntax_error": cell.syntax_error, "parameters": params}


def _raw(value: Any) -> str:
    """A parameter value as ``mlnb exec -p NAME VALUE`` reads it (YAML): strings as typed."""
    return value if isinstance(value, str) else json.dumps(value)


class ParametersHandler(_ExecuteHandler):
    """``GET notebook/parameters?path=NB``: ``{path, cell, syntax_error, parameters: [{name, type,
    default (as written), value (JSON default or null), required, comment}]}``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        path = self.required_argument("path")
        os_path, rel = await self.in_thread(self.notebook_path, path)
        await self.respond(lambda: parameters_view(os_path, rel))


class ExecutionsHandler(_ExecuteHandler):
    """``POST notebook/execute`` ``{"path", "parameters": {name: value}}``: validate (400 with the
    problems) and start ``mlnb exec``; 202 with the execution's summary (its ``id`` to poll).
    ``GET notebook/execute``: the executions this server started, newest first."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        jobs = sorted(self.jobs.jobs.values(), key=lambda j: j.started, reverse=True)
        await self.respond(lambda: {"executions": [j.summary() for j in jobs]})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.get_json_body()
        if not isinstance(body, dict):
            raise UsageError('The request body must be a JSON object {"path", "parameters"}.')
        given = body.get("parameters") or {}
        if not isinstance(given, dict):
            raise UsageError("'parameters' must be an object of name: value.")
        context = self.context
        registry = self.jobs

        def start() -> ExecJob:
            from mlnb.execute import notebook_parameters
            from mlnb.execute._parameters import RawValue, resolve_parameters

            os_path, rel = self.notebook_path(body.get("path"))
            values = {k: RawValue(v) if isinstance(v, str) else v for k, v in given.items()}
            resolve_parameters(notebook_parameters(os_path), values, rel)  # ParameterError: 400
            project = context.project()
            with registry.lock:
                if len(registry.running()) >= MAX_RUNNING:
                    raise web.HTTPError(409, f"{MAX_RUNNING} notebook executions are running; "
                                             "wait for one or cancel it.")
                job_id = uuid.uuid4().hex[:16]
                folder = project.mlnb_dir / "exec" / "jobs"
                folder.mkdir(parents=True, exist_ok=True)
                log = folder / f"{job_id}.log"
                args = ["exec", os_path, "--progress", "lines", "--log-output"]
                for name, value in given.items():
                    args += ["-p", str(name), _raw(value)]
                with open(log, "wb") as out:
                    proc = spawn_mlnb(args, project.root, os.path.dirname(os_path), out,
                                      subprocess.STDOUT)
                job = ExecJob(job_id, proc, log, rel, dict(given))
                registry.jobs[job_id] = job
                return job

        job = await self.in_thread(start)
        self.set_status(202)
        await self.respond(job.summary)


class ExecutionHandler(_ExecuteHandler):
    """``GET notebook/execute/{id}?offset=N``: summary plus ``log`` (text from byte N) and
    ``next_offset``; poll again with ``offset=next_offset``."""

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        job = self.job(job_id)
        offset = self.int_argument("offset", 0, minimum=0, maximum=2**53 - 1)

        def build() -> dict[str, Any]:
            summary = job.summary()  # first: a final status means the whole log is there
            log, next_offset = job.read_log(offset)
            return {**summary, "log": log, "offset": offset, "next_offset": next_offset}

        await self.respond(build)


class ExecutionCancelHandler(_ExecuteHandler):
    """``POST notebook/execute/{id}/cancel``: Ctrl-C for the execution (again: kill its kernel)."""

    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        await self.cancel_job(job_id)


def executed_notebook(context: Any, run_id: str) -> dict[str, Any]:
    """The executed notebook a run kept as its artifact (tag ``mlnb.executed_notebook``)."""
    from mlnb.nbdiff import read_notebook

    store = context.store()
    run = store.get_run(run_id)
    name = (run.tags or {}).get("mlnb.executed_notebook")
    base = getattr(store, "artifacts_dir", None)
    if not name or not base:
        raise web.HTTPError(404, f"Run {run.id} kept no executed notebook.")
    root = os.path.realpath(os.path.join(base, run.id))
    path = os.path.realpath(os.path.join(root, name))
    if os.path.commonpath([root, path]) != root or not os.path.isfile(path):
        raise web.HTTPError(404, f"The executed notebook of run {run.id} is missing.")
    return {"run_id": run.id, "name": name, "notebook_path": run.notebook,
            "notebook": read_notebook(path)}


class ExecutedNotebookHandler(_ExecuteHandler):
    """``GET notebook/executed?run_id=ID``: ``{run_id, name, notebook_path, notebook}``, the
    notebook as a run executed it (outputs included), for a read-only view."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        run_id = self.required_argument("run_id")
        context = self.context
        await self.respond(lambda: executed_notebook(context, run_id))
