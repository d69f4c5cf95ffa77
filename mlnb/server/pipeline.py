"""Handlers for the pipeline under ``{base_url}mlnb/api/pipeline``: stages with their status and
staleness reasons, starting a run of one stage or all, its progress and log, and cancelling it.

A run is a separate ``mlnb run --format jsonl`` process (the same code path as the terminal, the
project's run lock included), so a stage's kernels never share the server's process and a cancel
is a Ctrl-C (SIGINT: the first interrupts the running cells, a second one kills the kernels). Its
events are appended to ``.mlnb/pipeline/jobs/<id>.jsonl``; clients poll them by byte offset.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from mlnb.errors import UsageError

from ._jobs import CommandJob, JobHandler, read_lines, spawn_mlnb

__all__ = ["PipelineHandler", "PipelineRunsHandler", "PipelineRunHandler", "PipelineCancelHandler"]

MAX_EVENTS = 2000  # per poll


class Job(CommandJob):
    """One ``mlnb run`` started by this server."""

    def __init__(self, id: str, proc: subprocess.Popen[bytes], events_path: Path, log_path: Path,
                 stages: list[str], force: bool, jobs: int) -> None:
        super().__init__(id, proc)
        self.events_path = events_path
        self.log_path = log_path
        self.stages = stages
        self.force = force
        self.jobs = jobs

    def read_events(self, offset: int) -> tuple[list[dict[str, Any]], int]:
        """Complete JSON lines from byte ``offset``; the offset to ask for next."""
        data, _ = read_lines(self.events_path, offset, 4 << 20)
        lines = data.splitlines()
        end = len(data)
        if len(lines) > MAX_EVENTS:  # the rest next time
            lines = lines[:MAX_EVENTS]
            end = sum(len(line) + 1 for line in lines)
        events = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events, offset + end

    def summary(self) -> dict[str, Any]:
        """Status from the events (authoritative) or the exit code; per-stage state; run id."""
        code = self.returncode()
        events, _ = self.read_events(0)
        stages: dict[str, dict[str, Any]] = {}
        run_id = None
        status = "running"
        for e in events:
            kind = e.get("event")
            if kind == "plan":
                for s in e.get("stages") or []:
                    stages[s["name"]] = {"state": "fresh" if s.get("action") == "fresh" else "queued",
                                         "reasons": s.get("reasons") or []}
            elif kind == "pipeline-run":
                run_id = e.get("run_id")
            elif kind == "pipeline-end":
                status = e.get("status") or status
                run_id = e.get("run_id") or run_id
            elif kind and kind.startswith("stage-") and e.get("stage"):
                state = {"stage-start": "running", "stage-end": "finished", "stage-fresh": "fresh",
                         "stage-restored": "restored", "stage-failed": "failed",
                         "stage-killed": "killed", "stage-not-run": "not-run"}.get(kind)
                if state:
                    entry = stages.setdefault(e["stage"], {"reasons": []})
                    entry["state"] = state
                    for k in ("run_id", "error", "duration", "outs_changed"):
                        if e.get(k) is not None:
                            entry[k] = e[k]
        if code is not None and status == "running":
            status = {0: "finished", 130: "killed"}.get(code, "failed")
        return {
            **self.base_summary(),
            "status": status,
            "run_id": run_id,
            "stages_requested": self.stages,
            "force": self.force,
            "jobs": self.jobs,
            "stages": stages,
            "log_tail": self.log_tail() if code not in (None, 0) else "",
        }

    def log_tail(self, limit: int = 4000) -> str:
        try:
            with open(self.log_path, "rb") as f:
                f.seek(max(0, os.path.getsize(self.log_path) - limit))
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""


class _PipelineHandler(JobHandler[Job]):
    jobs_key = "mlnb_pipeline_jobs"
    job_noun = "pipeline run"


def _pipeline_view(project: Any) -> dict[str, Any]:
    """The stages with status and reasons, or the error that keeps mlnb.yaml from loading."""
    from mlnb.pipeline import PipelineGraphError, PipelineSpecError, pipeline_status
    from mlnb.pipeline._spec import SPEC_NAME
    from mlnb.pipeline._status import load_pipeline

    base: dict[str, Any] = {"project_root": str(project.root), "spec": SPEC_NAME,
                            "stages": [], "edges": [], "error": None}
    if not (project.root / SPEC_NAME).is_file():
        base["spec"] = None
        return base
    try:
        dag = load_pipeline(project)
        statuses = pipeline_status(project, dag=dag)
    except PipelineSpecError as e:
        base["error"] = {"message": str(e), "reason": "PipelineSpecError", "line": e.line,
                         "problems": [{"line": ln, "message": m} for ln, m in e.problems]}
        return base
    except PipelineGraphError as e:
        base["error"] = {"message": str(e), "reason": "PipelineGraphError", "stages": e.stages}
        return base
    base["stages"] = [s.to_dict() for s in statuses]
    base["edges"] = [[u, n] for n in dag.order for u in dag.upstream[n]]
    return base


class PipelineHandler(_PipelineHandler):
    """``GET pipeline``: every stage with ``status`` (fresh/stale/upstream/error) and ``reasons``,
    the edges, the running job if any; ``spec`` is null when the project has no mlnb.yaml."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        context = self.context
        registry = self.jobs

        def build() -> dict[str, Any]:
            view = _pipeline_view(context.project())
            running = registry.running()
            view["running"] = running[0].summary() if running else None
            return view

        await self.respond(build)


class PipelineRunsHandler(_PipelineHandler):
    """``GET pipeline/runs``: the runs this server started (newest first).
    ``POST pipeline/runs`` ``{"stages": [names] (default all), "force": false, "jobs": 1}``:
    start one; 202 with its id; 409 while another is running."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        jobs = sorted(self.jobs.jobs.values(), key=lambda j: j.started, reverse=True)
        await self.respond(lambda: {"runs": [j.summary() for j in jobs]})

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.get_json_body() or {}
        if not isinstance(body, dict):
            raise UsageError("The request body must be a JSON object such as {\"stages\": [\"train\"]}.")
        stages = body.get("stages")
        if body.get("stage") is not None:
            stages = [body["stage"]]
        if stages is None:
            stages = []
        if not isinstance(stages, list) or not all(isinstance(s, str) and s.strip() for s in stages):
            raise UsageError("'stages' must be a list of stage names (empty or absent: all).")
        force = body.get("force", False)
        if not isinstance(force, bool):
            raise UsageError("'force' must be true or false.")
        jobs = body.get("jobs", 1)
        if isinstance(jobs, bool) or not isinstance(jobs, int) or not 1 <= jobs <= 64:
            raise UsageError("'jobs' must be an integer from 1 to 64.")
        context = self.context
        registry = self.jobs

        def start() -> Job:
            from mlnb.pipeline._status import load_pipeline

            project = context.project()
            load_pipeline(project).select(stages)  # unknown stages / bad mlnb.yaml: 400 now
            with registry.lock:
                running = registry.running()
                if running:
                    raise web.HTTPError(
                        409, f"Pipeline run {running[0].id} is still running; cancel it or wait.")
                job_id = uuid.uuid4().hex[:16]
                folder = project.mlnb_dir / "pipeline" / "jobs"
                folder.mkdir(parents=True, exist_ok=True)
                events, log = folder / f"{job_id}.jsonl", folder / f"{job_id}.log"
                args = ["run", "--format", "jsonl", "-j", str(jobs)]
                if force:
                    args.append("--force")
                args += ["--", *stages]
                with open(events, "wb") as out, open(log, "wb") as err:
                    proc = spawn_mlnb(args, project.root, project.root, out, err)
                job = Job(job_id, proc, events, log, stages, force, jobs)
                registry.jobs[job_id] = job
                return job

        job = await self.in_thread(start)
        self.set_status(202)
        await self.respond(job.summary)


class PipelineRunHandler(_PipelineHandler):
    """``GET pipeline/runs/{id}?offset=N``: the run's summary plus its events from byte offset N
    (``events``, ``next_offset``): stage starts/ends, cells, outputs, the pipeline run id."""

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        job = self.job(job_id)
        offset = self.int_argument("offset", 0, minimum=0, maximum=2**53 - 1)

        def build() -> dict[str, Any]:
            events, next_offset = job.read_events(offset)
            return {**job.summary(), "events": events, "offset": offset, "next_offset": next_offset}

        await self.respond(build)


class PipelineCancelHandler(_PipelineHandler):
    """``POST pipeline/runs/{id}/cancel``: Ctrl-C for the run (again: kill its kernels)."""

    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        await self.cancel_job(job_id)
