"""``mlnb run``: execute what is stale, in dependency order, up to ``jobs`` stages at once.

Each stage waits for the stages it reads from, then checks its fingerprint *at that moment*
(so a re-run upstream stage whose outs came out identical leaves it fresh: content-based early
cut-off), then either restores its outs from the run cache or executes its notebook as a tracked
run (a child of one pipeline run), then records its entry in ``mlnb.lock`` right away. An
interrupted run therefore leaves every finished stage recorded and no unfinished one.

One ``mlnb run`` per project at a time: an exclusive flock on ``.mlnb/pipeline.run.lock``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from mlnb.errors import MlnbError, UsageError
from mlnb.pipeline._dag import Dag
from mlnb.pipeline._errors import PipelineBusyError
from mlnb.pipeline._lockfile import read_lock, update_lock
from mlnb.pipeline._runcache import RunCache
from mlnb.pipeline._spec import Stage
from mlnb.pipeline._state import StageState, out_digests, stage_state
from mlnb.pipeline._status import load_pipeline, pipeline_status

if TYPE_CHECKING:
    from mlnb.project import Project

__all__ = ["StageResult", "PipelineResult", "run_pipeline", "run_pipeline_async", "run_lock"]

Emit = Callable[[dict[str, Any]], None]
_HASH_LOCK = threading.Lock()  # the stat cache is shared: hash one stage's files at a time


@dataclass
class StageResult:
    """``action``: ``fresh`` (nothing to do), ``ran``, ``restored`` (from the run cache),
    ``failed``, ``killed`` (interrupted), ``not-run`` (an upstream stage failed), ``would-run``
    / ``would-check`` (dry run)."""

    name: str
    action: str
    reasons: list[str] = field(default_factory=list)
    run_id: str | None = None
    duration: float | None = None
    error: str | None = None
    outs_changed: bool | None = None
    output_path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class PipelineResult:
    run_id: str | None
    status: str  # finished | failed | killed | dry-run
    stages: list[StageResult]
    duration: float

    @property
    def ok(self) -> bool:
        return self.status in ("finished", "dry-run")

    def by_name(self) -> dict[str, StageResult]:
        return {s.name: s for s in self.stages}

    def count(self, action: str) -> int:
        return sum(1 for s in self.stages if s.action == action)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "duration": self.duration,
            "stages": [s.to_dict() for s in self.stages],
        }


def _now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


# ----------------------------------------------------------------------------------------------
# One `mlnb run` per project
# ----------------------------------------------------------------------------------------------


@contextlib.contextmanager
def run_lock(project: Project, wait: bool = False) -> Iterator[None]:
    """Hold the project's run lock; :class:`PipelineBusyError` if taken (unless ``wait``)."""
    import fcntl

    project.ensure()
    path = project.mlnb_dir / "pipeline.run.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            if not wait:
                raise PipelineBusyError(holder) from None
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {_now_iso()}".encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, 0)
        os.close(fd)


@contextlib.contextmanager
def _project_env(project: Project) -> Iterator[None]:
    """Runs created by mlnb.execute land in this project's store, wherever the caller stands."""
    old = os.environ.get("MLNB_PROJECT")
    os.environ["MLNB_PROJECT"] = str(project.root)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MLNB_PROJECT", None)
        else:
            os.environ["MLNB_PROJECT"] = old


# ----------------------------------------------------------------------------------------------
# Executors: where a stage's notebook runs
# ----------------------------------------------------------------------------------------------


def stage_outcome(result: Any) -> dict[str, Any]:
    """What the pipeline keeps of a stage's ExecutionResult (plain data: it crosses to Dask)."""
    return {
        "status": result.status,
        "run_id": result.run_id,
        "error": str(result.error) if result.error is not None else None,
        "duration": result.duration,
        "output_path": result.output_path,
    }


class LocalExecutor:
    """Runs notebooks in this machine's kernels via :mod:`mlnb.execute`, warm pool for ``jobs``."""

    def __init__(self, jobs: int, log_output: bool) -> None:
        self.jobs = jobs
        self.log_output = log_output
        self._pool: Any = None
        self._pool_size = 0

    def want_pool(self, candidates: int) -> None:
        self._pool_size = min(self.jobs, candidates) if candidates >= 2 else 0

    async def _get_pool(self) -> Any:
        if self._pool is None and self._pool_size:
            from mlnb.execute import KernelPool

            self._pool = KernelPool(size=self._pool_size)
            self._pool.fill()
        return self._pool

    async def execute(self, run: _PipelineRun, stage: Stage, state: StageState, parent_id: str | None,
                      emit: Emit) -> dict[str, Any]:
        from mlnb.execute import execute_notebook_async

        pool = await self._get_pool()
        kwargs = run.execute_kwargs(stage, state, parent_id)
        result = await execute_notebook_async(
            **kwargs, pool=pool, progress=_StageReporter(stage.name, emit, self.log_output),
            log_output=self.log_output,
        )
        return stage_outcome(result)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await asyncio.shield(pool.close())


def _stage_reporter_base() -> type:
    from mlnb.execute import Reporter

    return Reporter


class _StageReporter:
    """Turns mlnb.execute's per-cell progress into pipeline events (built on its Reporter)."""

    def __new__(cls, stage: str, emit: Emit, log_output: bool) -> Any:
        base = _stage_reporter_base()

        class R(base):  # type: ignore[misc, valid-type]
            def cell_end(self, number: int, total: int, cell: Any, status: str, duration: float,
                         error: str | None = None) -> None:
                emit({"event": "cell", "stage": stage, "number": number, "total": total,
                      "status": status, "duration": round(duration, 4), "error": error})

            def write(self, text: str, stream: Any) -> None:
                emit({"event": "output", "stage": stage, "text": text})

            def message(self, text: str) -> None:
                emit({"event": "message", "stage": stage, "text": text})

        r = R()
        r.log_output = log_output
        return r


# ----------------------------------------------------------------------------------------------
# The run
# ----------------------------------------------------------------------------------------------


class _PipelineRun:
    def __init__(self, project: Project, dag: Dag, names: list[str], *, jobs: int, force: bool,
                 run_cache: bool, track: bool, emit: Emit, executor: Any) -> None:
        self.project = project
        self.dag = dag
        self.names = names
        self.jobs = jobs
        self.force = force
        self.use_run_cache = run_cache
        self.track = track
        self.emit = emit
        self.executor = executor
        self.cache = RunCache(project)
        self.results: dict[str, StageResult] = {}
        self.done: dict[str, asyncio.Event] = {}
        self.sem = asyncio.Semaphore(jobs)
        self.failed = False
        self.parent: Any = None
        self._parent_lock = asyncio.Lock()
        locked = read_lock(project).get("stages") or {}
        self.locked: dict[str, Any] = locked if isinstance(locked, dict) else {}

    # -- helpers -----------------------------------------------------------------------------
    def execute_kwargs(self, stage: Stage, state: StageState, parent_id: str | None) -> dict[str, Any]:
        root = self.project.root
        output = None
        if not self.track:
            out_dir = self.project.mlnb_dir / "pipeline" / "notebooks"
            out_dir.mkdir(parents=True, exist_ok=True)
            output = str(out_dir / f"{stage.name}.ipynb")
        return dict(
            input_path=str(root / stage.notebook),
            output_path=output,
            parameters=dict(stage.params),
            cwd=str(root / stage.cwd),
            kernel_name=state.current["kernel"],
            timeout=stage.timeout,
            track=self.track,
            parent_run_id=parent_id,
            run_name=stage.name,
            tags={"mlnb.source": "pipeline", "mlnb.stage": stage.name,
                  "mlnb.fingerprint": state.fingerprint or ""},
        )

    async def parent_id(self) -> str | None:
        """The pipeline's own run, created when the first stage needs executing."""
        if not self.track:
            return None
        async with self._parent_lock:
            if self.parent is None:
                self.parent = await asyncio.to_thread(self._create_parent)
                self.emit({"event": "pipeline-run", "run_id": self.parent.id})
            return self.parent.id

    def _create_parent(self) -> Any:
        from mlnb.execute._tracking import create_run

        run = create_run(
            name="pipeline", notebook="mlnb.yaml", params={},
            tags={"mlnb.source": "pipeline", "mlnb.stages": ",".join(self.names)[:1000]},
        )
        run.flush()
        return run

    def _state(self, stage: Stage) -> StageState:
        with _HASH_LOCK:
            return stage_state(stage, self.project, self.locked.get(stage.name), hash_outs=True)

    def _record(self, stage: Stage, state: StageState, outs: dict[str, Any], metrics: dict[str, Any],
                run_id: str | None, duration: float | None) -> dict[str, Any]:
        entry = record_stage(self.project, list(self.dag.spec.stages), stage, state, outs, metrics,
                             run_id, duration)
        self.locked[stage.name] = entry
        return entry

    # -- one stage ---------------------------------------------------------------------------
    async def stage(self, name: str) -> None:
        stage = self.dag.spec.stages[name]
        try:
            for up in self.dag.upstream[name]:
                if up in self.done:
                    await self.done[up].wait()
            ups = [self.results.get(u) for u in self.dag.upstream[name] if u in self.done]
            if self.failed or any(r is not None and r.action in ("failed", "not-run", "killed") for r in ups):
                bad = [u for u, r in zip(self.dag.upstream[name], ups) if r is not None and r.action != "fresh"]
                self.results[name] = StageResult(name, "not-run",
                                                 [f"upstream {', '.join(bad) or 'stage'} failed" if bad else "an earlier stage failed"])
                self.emit({"event": "stage-not-run", "stage": name, "reasons": self.results[name].reasons})
                return
            await self._stage(stage)
        finally:
            self.done[name].set()

    async def _stage(self, stage: Stage) -> None:
        name = stage.name
        state = await asyncio.to_thread(self._state, stage)
        if state.fresh and not self.force:
            self.results[name] = StageResult(name, "fresh")
            self.emit({"event": "stage-fresh", "stage": name})
            return
        reasons = list(state.reasons) if not state.fresh else ["--force"]
        missing = [d for d in state.missing_deps]
        if missing:
            msg = f"dep {', '.join(missing)} does not exist and no stage that ran before it produced it"
            self._fail(name, reasons, msg, None)
            return
        prev_outs = (self.locked.get(name) or {}).get("outs")

        # -- the run cache -------------------------------------------------------------------
        if self.use_run_cache and not self.force and state.fingerprint:
            entry = self.cache.lookup(state.fingerprint)
            if entry is not None and await asyncio.to_thread(self._restore, stage, state, entry):
                res = self.results[name] = StageResult(
                    name, "restored", reasons, run_id=entry.get("run_id"), duration=0.0,
                    outs_changed=_outs_changed(prev_outs, entry.get("outs")),
                )
                self.emit({"event": "stage-restored", "stage": name, "reasons": reasons,
                           "run_id": res.run_id, "outs_changed": res.outs_changed})
                return

        # -- execute -------------------------------------------------------------------------
        async with self.sem:
            if self.failed:
                self.results[name] = StageResult(name, "not-run", ["an earlier stage failed"])
                self.emit({"event": "stage-not-run", "stage": name, "reasons": self.results[name].reasons})
                return
            parent = await self.parent_id()
            self.emit({"event": "stage-start", "stage": name, "reasons": reasons, "notebook": stage.notebook})
            t0 = time.monotonic()
            try:
                out = await self.executor.execute(self, stage, state, parent, self.emit)
            except asyncio.CancelledError:
                self.results[name] = StageResult(name, "killed", reasons, duration=time.monotonic() - t0)
                self.emit({"event": "stage-killed", "stage": name})
                raise
            except MlnbError as e:  # bad input, an unreachable cluster...
                self._fail(name, reasons, str(e), None)
                return
        duration = out.get("duration") or (time.monotonic() - t0)
        if out["status"] != "finished":
            self._fail(name, reasons, out.get("error") or out["status"], out.get("run_id"), duration,
                       action="killed" if out["status"] == "killed" else "failed")
            return
        outs, metrics, missing_outs = await asyncio.to_thread(self._digests, stage)
        if missing_outs:
            self._fail(name, reasons, f"the notebook finished but did not write {', '.join(missing_outs)} "
                       "(declared in outs/metrics)", out.get("run_id"), duration)
            return
        await asyncio.to_thread(self._record, stage, state, outs, metrics, out.get("run_id"), duration)
        if self.use_run_cache and state.fingerprint:
            try:
                await asyncio.to_thread(self.cache.save, state.fingerprint,
                                        {"outs": outs, "metrics": metrics, "run_id": out.get("run_id")})
            except (OSError, MlnbError) as e:
                self.emit({"event": "message", "stage": name, "text": f"could not save to the run cache: {e}"})
        changed = _outs_changed(prev_outs, outs)
        self.results[name] = StageResult(name, "ran", reasons, run_id=out.get("run_id"), duration=duration,
                                         outs_changed=changed, output_path=out.get("output_path"))
        self.emit({"event": "stage-end", "stage": name, "status": "finished", "run_id": out.get("run_id"),
                   "duration": round(duration, 3), "outs_changed": changed,
                   "downstream": self.dag.downstream[name]})

    def _digests(self, stage: Stage) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
        with _HASH_LOCK:
            return out_digests(stage, self.project)

    def _restore(self, stage: Stage, state: StageState, entry: dict[str, Any]) -> bool:
        try:
            self.cache.restore(entry)
        except (OSError, MlnbError):  # a missing or corrupt object: execute instead
            return False
        outs, metrics, missing = self._digests(stage)
        want = {**(entry.get("outs") or {}), **(entry.get("metrics") or {})}
        have = {**outs, **metrics}
        if missing or any((have.get(p) or {}).get("hash") != (d or {}).get("hash") for p, d in want.items()):
            return False  # a corrupt or stale cache object: execute instead
        self._record(stage, state, outs, metrics, entry.get("run_id"), 0.0)
        return True

    def _fail(self, name: str, reasons: list[str], error: str, run_id: str | None,
              duration: float | None = None, action: str = "failed") -> None:
        self.failed = True
        self.results[name] = StageResult(name, action, reasons, run_id=run_id, duration=duration, error=error)
        self.emit({"event": "stage-failed" if action == "failed" else "stage-killed", "stage": name,
                   "error": error, "run_id": run_id})

    # -- all stages --------------------------------------------------------------------------
    async def run(self) -> str:
        self.done = {n: asyncio.Event() for n in self.names}
        tasks = [asyncio.ensure_future(self.stage(n)) for n in self.names]
        status = "finished"
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            status = "killed"
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            for n in self.names:
                if n not in self.results:
                    self.results[n] = StageResult(n, "killed" if status == "killed" else "not-run")
            if status != "killed" and any(r.action == "killed" for r in self.results.values()):
                status = "killed"  # Ctrl-C interrupted the running stages (mlnb.execute's handler)
            elif status != "killed" and any(r.action == "failed" for r in self.results.values()):
                status = "failed"
            with contextlib.suppress(Exception):
                await self.executor.close()
            if self.parent is not None:
                parent = self.parent
                await asyncio.shield(asyncio.to_thread(parent.end, status))
        return status


def record_stage(project: Project, order: list[str], stage: Stage, state: StageState,
                 outs: dict[str, Any], metrics: dict[str, Any], run_id: str | None,
                 duration: float | None) -> dict[str, Any]:
    """Write ``stage``'s entry into ``mlnb.lock`` (``order``: the defined stages, in file order;
    entries of stages no longer defined are dropped)."""
    entry = {k: v for k, v in state.current.items() if k not in ("outs", "metrics", "fingerprint")}
    entry = {
        "fingerprint": state.fingerprint,
        **entry,
        "outs": outs,
        "metrics": metrics,
        "run_id": run_id,
        "time": _now_iso(),
        "duration": round(duration, 3) if duration is not None else None,
    }

    def change(section: Any) -> dict[str, Any]:
        current = dict(section) if isinstance(section, dict) else {}
        current[stage.name] = entry
        # only defined stages, in mlnb.yaml's order: a stable, reviewable diff
        return {n: current[n] for n in order if n in current}

    update_lock(project, "stages", change)
    return entry


def _outs_changed(before: Any, after: Any) -> bool | None:
    if not isinstance(before, dict) or not isinstance(after, dict):
        return None
    return {p: (d or {}).get("hash") for p, d in before.items()} != {p: (d or {}).get("hash") for p, d in after.items()}


def _plan(project: Project, dag: Dag, names: list[str], force: bool) -> list[StageResult]:
    statuses = pipeline_status(project, None, dag=dag)
    by = {s.name: s for s in statuses}
    out = []
    for n in names:
        s = by[n]
        if force:
            out.append(StageResult(n, "would-run", ["--force"]))
        elif s.status in ("stale", "error"):
            out.append(StageResult(n, "would-run", s.reasons))
        elif s.status == "upstream":
            out.append(StageResult(n, "would-check", s.reasons))
        else:
            out.append(StageResult(n, "fresh"))
    return out


async def run_pipeline_async(
    project: Project,
    targets: Iterable[str] | None = None,
    *,
    jobs: int = 1,
    force: bool = False,
    dry_run: bool = False,
    run_cache: bool = True,
    track: bool = True,
    wait: bool = False,
    executor: str = "local",
    scheduler: str | None = None,
    log_output: bool = False,
    on_event: Emit | None = None,
) -> PipelineResult:
    """Run the stale stages among ``targets`` (and what they depend on); see :func:`run_pipeline`."""
    if jobs < 1:
        raise UsageError("-j/--jobs must be at least 1.")
    if executor not in ("local", "dask"):
        raise UsageError(f"Unknown executor {executor!r}; use 'local' or 'dask'.")
    if executor == "dask" and not scheduler:
        raise UsageError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786).")
    emit = on_event or (lambda e: None)
    t0 = time.monotonic()
    dag = load_pipeline(project)
    names = dag.select(targets)
    if dry_run:
        plan = await asyncio.to_thread(_plan, project, dag, names, force)
        return PipelineResult(None, "dry-run", plan, time.monotonic() - t0)

    with run_lock(project, wait=wait), _project_env(project):
        # re-read after the lock: a run we waited for may have changed mlnb.lock
        plan = await asyncio.to_thread(_plan, project, dag, names, force)
        candidates = sum(1 for p in plan if p.action != "fresh")
        emit({"event": "plan", "stages": [p.to_dict() for p in plan]})
        if executor == "dask":
            from mlnb.pipeline._dask import DaskExecutor

            ex: Any = await DaskExecutor.connect(scheduler or "", log_output=log_output)
        else:
            ex = LocalExecutor(jobs, log_output)
            ex.want_pool(candidates)
        run = _PipelineRun(project, dag, names, jobs=jobs, force=force, run_cache=run_cache,
                           track=track, emit=emit, executor=ex)
        status = await run.run()
        result = PipelineResult(run.parent.id if run.parent is not None else None, status,
                                [run.results[n] for n in names], time.monotonic() - t0)
        emit({"event": "pipeline-end", "status": status, "run_id": result.run_id,
              "duration": round(result.duration, 3)})
        return result


def run_pipeline(project: Project | str | os.PathLike[str] | None = None,
                 targets: Iterable[str] | None = None, **kwargs: Any) -> PipelineResult:
    """Run the pipeline of ``project`` (default: discovered) and return what each stage did.

    ``jobs``: stages at once; ``force``: re-run even fresh stages; ``dry_run``: only say what
    would run; ``run_cache``: restore outs of a fingerprint seen before; ``track``: record
    runs (a pipeline run with a child run per executed stage); ``wait``: queue behind another
    ``mlnb run`` instead of refusing; ``executor``/``scheduler``: ``"dask"`` and a scheduler
    address to run stages on a Dask cluster; ``on_event``: called with each progress event.
    """
    from mlnb.project import Project

    if project is None:
        project = Project.discover()
    elif not isinstance(project, Project):
        project = Project(project)
    from mlnb.execute._runner import _run_sync  # also works inside a running loop (a notebook)

    return _run_sync(run_pipeline_async(project, targets, **kwargs))
