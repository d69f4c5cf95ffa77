"""The headless runner: prepare a notebook (parameters, ids), run its cells on nbclient in a fresh
kernel, save progress now and then, and record the execution as a tracked run.

Speed notes: the per-cell cost is nbclient's own message handling
plus the kernel's; we add no save per cell (a save at most every ``save_interval`` seconds, on
error and at the end) and never validate the notebook against its JSON schema. The ~1 s import of
nbformat (which nbclient needs) overlaps with the kernel's start-up instead of preceding it.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from mlnb.errors import UsageError
from mlnb.execute._errors import (
    CellExecutionFailed,
    CellTimeoutError,
    ExecutionError,
    ExecutionInterrupted,
    KernelDiedError,
    KernelStartError,
)
from mlnb.execute._interrupt import watch_sigint
from mlnb.execute._kernel import DEFAULT_KERNEL, RUN_ENV_KEYS, Kernel, KernelPool, kernel_env, prepare_kernel
from mlnb.execute._notebook import (
    add_error_markers,
    clear_outputs,
    inject_parameters,
    read_notebook,
    remove_error_markers,
    write_notebook,
)
from mlnb.execute._parameters import find_parameters, resolve_parameters
from mlnb.execute._progress import Reporter, first_line, make_reporter

if TYPE_CHECKING:
    from mlnb.execute._tracking import TrackedRun

__all__ = [
    "CellTiming",
    "ExecutionResult",
    "execute_notebook",
    "execute_notebook_async",
    "execute_notebooks",
    "execute_notebooks_async",
]

SKIP_TAG = "skip-execution"


@dataclass(frozen=True)
class CellTiming:
    """How one code cell went: its position in the executed notebook, id, duration and status
    (``ok``, ``error``, ``timeout``, ``died``, ``interrupted``)."""

    index: int
    cell_id: str | None
    execution_count: int | None
    duration: float
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "cell_id": self.cell_id,
            "execution_count": self.execution_count,
            "duration": self.duration,
            "status": self.status,
        }


@dataclass
class ExecutionResult:
    """The outcome of one notebook execution. ``error`` is None when every cell ran."""

    input_path: str
    output_path: str | None
    run_id: str | None
    status: str  # finished | failed | killed
    duration: float
    cell_timings: list[CellTiming] = field(default_factory=list)
    error: ExecutionError | None = None
    parameters: dict[str, Any] = field(default_factory=dict)  # what was injected
    warnings: list[str] = field(default_factory=list)
    notebook: Any = None  # the executed notebook (nbformat NotebookNode)
    saves: int = 0  # how many times the output notebook was written

    @property
    def ok(self) -> bool:
        return self.error is None

    def raise_for_error(self) -> ExecutionResult:
        """Raise :attr:`error` if the run failed; return self otherwise (for chaining)."""
        if self.error is not None:
            raise self.error
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_path": self.input_path,
            "output_path": self.output_path,
            "run_id": self.run_id,
            "status": self.status,
            "duration": self.duration,
            "cells": [t.to_dict() for t in self.cell_timings],
            "error": self.error.to_dict() if self.error else None,
            "parameters": self.parameters,
            "warnings": self.warnings,
        }


# --------------------------------------------------------------------------------------------
# Preparation (no kernel): read, validate parameters, inject
# --------------------------------------------------------------------------------------------


@dataclass
class Prepared:
    nb: Any
    input_path: Path
    output_path: Path | None
    cwd: Path
    kernel_name: str
    injected: dict[str, Any]
    effective: dict[str, Any]
    warnings: list[str]
    display_name: str


def load_params_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.safe_load(f)
    except FileNotFoundError:
        raise UsageError(f"Parameters file {os.fspath(path)!r} does not exist.") from None
    except (OSError, yaml.YAMLError) as e:
        raise UsageError(f"Cannot read parameters file {os.fspath(path)!r}: {e}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UsageError(
            f"Parameters file {os.fspath(path)!r} must hold a mapping of name: value, "
            f"not a {type(data).__name__}."
        )
    return data


def _kernel_language(nb: Mapping[str, Any]) -> str:
    md = nb.get("metadata") or {}
    return str(
        (md.get("kernelspec") or {}).get("language") or (md.get("language_info") or {}).get("name") or "python"
    ).lower()


def prepare(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    params_file: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    kernel_name: str | None = None,
    nb: Any = None,
    inject: bool = True,
) -> Prepared:
    """Everything that can go wrong before a kernel starts goes wrong here (UsageError)."""
    src = Path(os.path.abspath(input_path))
    if nb is None:
        nb = read_notebook(src)
    out = Path(os.path.abspath(output_path)) if output_path is not None else None
    if out is not None:
        if out == src or (out.exists() and src.exists() and os.path.samefile(out, src)):
            raise UsageError(
                f"The output notebook {os.fspath(output_path)!r} is the input notebook; mlnb never "
                "overwrites the source. Pass another -o path."
            )
        if out.is_dir():
            raise UsageError(f"The output path {os.fspath(output_path)!r} is a directory; give a file name.")
        parent = out.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise UsageError(f"Cannot write the output notebook {os.fspath(output_path)!r}: {parent} is not writable.")
    work = Path(os.path.abspath(cwd)) if cwd is not None else src.parent
    if not work.is_dir():
        raise UsageError(f"Working directory {os.fspath(work)!r} does not exist.")

    given: dict[str, Any] = {}
    if params_file is not None:
        given.update(load_params_file(params_file))
    if parameters:
        given.update(parameters)
    display = src.name
    cell = find_parameters(nb)
    resolved = resolve_parameters(cell, given, notebook=display)
    effective = resolved.effective
    if not inject:
        # the caller (papermill) wrote the values as given: record those, not our conversions
        effective = {**effective, **{k: v for k, v in given.items() if k in resolved.injected}}
    if inject and resolved.injected:
        lang = _kernel_language(nb)
        if lang != "python":
            raise UsageError(
                f"{display} runs a {lang!r} kernel; mlnb injects parameters into Python notebooks only."
            )
        inject_parameters(nb, resolved.injected)
    remove_error_markers(nb)
    kname = kernel_name or ((nb.get("metadata") or {}).get("kernelspec") or {}).get("name") or DEFAULT_KERNEL
    return Prepared(
        nb=nb,
        input_path=src,
        output_path=out,
        cwd=work,
        kernel_name=kname,
        injected=resolved.injected,
        effective=effective,
        warnings=resolved.warnings,
        display_name=display,
    )


# --------------------------------------------------------------------------------------------
# Saving, throttled
# --------------------------------------------------------------------------------------------


class Saver:
    """Writes the notebook at most every ``interval`` seconds (plus on demand at the end).

    A save that takes more than a quarter of the interval doubles the interval (a huge notebook
    must not spend its run writing itself), like papermill's autosave back-off.
    """

    def __init__(self, write: Callable[[Any], None] | None, interval: float = 1.0) -> None:
        self._write = write
        self.interval = interval
        self.count = 0
        self.failed: OSError | None = None
        self._last = time.monotonic()

    def maybe(self, nb: Any) -> None:
        if self._write is not None and time.monotonic() - self._last >= self.interval:
            try:
                self.save(nb)
            except OSError as e:  # a full disk must not stop the run: try again at the end
                self.failed = e
                self._last = time.monotonic()

    def save(self, nb: Any) -> None:
        if self._write is None:
            return
        t0 = time.monotonic()
        self._write(nb)
        self.count += 1
        now = time.monotonic()
        if now - t0 > self.interval / 4:
            self.interval *= 2
        self._last = now


# --------------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------------


def _now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat()


def _make_client(nb: Any, kernel: Kernel, timeout: float | None, on_message: Callable[[Any], None] | None) -> Any:
    """An nbclient NotebookClient bound to our started kernel (nbclient is imported here)."""
    from nbclient import NotebookClient

    class _Client(NotebookClient):  # type: ignore[misc]
        def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
            out = super().process_message(msg, cell, cell_index)
            if on_message is not None:
                on_message(out)
            return out

    client = _Client(
        nb,
        km=kernel.km,
        kernel_name=kernel.kernel_name,
        timeout_func=(lambda cell: timeout) if timeout else None,
        interrupt_on_timeout=False,
        allow_errors=False,
        record_timing=True,
    )
    client.kc = kernel.kc
    return client


def _cell_error(exc: BaseException, cell: Any, index: int, notebook: str) -> ExecutionError:
    from nbclient.exceptions import CellExecutionError, CellTimeoutError as NbTimeout, DeadKernelError

    where = dict(
        cell_index=index,
        cell_id=cell.get("id"),
        execution_count=cell.get("execution_count"),
        source_line=first_line(cell.get("source", ""), 80),
        notebook=notebook,
    )
    if isinstance(exc, CellExecutionError):
        tb: list[str] = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                tb = list(out.get("traceback") or [])
                break
        return CellExecutionFailed(exc.ename, exc.evalue, tb, **where)
    if isinstance(exc, NbTimeout):
        return CellTimeoutError(0.0, **where)
    if isinstance(exc, DeadKernelError):
        return KernelDiedError(**where)
    raise exc


_CELL_STATUS = {CellTimeoutError: "timeout", KernelDiedError: "died", ExecutionInterrupted: "interrupted"}


def _one_line(error: ExecutionError) -> str:
    if isinstance(error, ExecutionInterrupted):
        return f"KeyboardInterrupt ({error.by})"
    if isinstance(error, CellExecutionFailed):
        return f"{error.ename}: {error.evalue}"
    return f"{error.ename}: {str(error).splitlines()[-1]}"


def _append_error_output(cell: Any, error: ExecutionError) -> None:
    """Timeouts and kernel deaths leave no error output: add one so the cell itself shows it."""
    from nbformat.notebooknode import from_dict

    cell.setdefault("outputs", []).append(
        from_dict({"output_type": "error", "ename": error.ename, "evalue": str(error).splitlines()[-1], "traceback": [str(error)]})
    )


async def _acquire_kernel(
    prep: Prepared, pool: KernelPool | None, start_timeout: float, env: dict[str, str]
) -> Kernel:
    """A ready kernel; meanwhile (while it boots) nbclient/nbformat get imported."""
    from mlnb.execute import _kernel

    if pool is not None and prep.kernel_name == pool.kernel_name:
        task = asyncio.ensure_future(pool.acquire(start_timeout=start_timeout))
        _import_nbclient()
        return await task
    km = _kernel.launch(prep.kernel_name)
    await _kernel.start_process(km, str(prep.cwd), env)
    _import_nbclient()  # ~1 s of imports on this core while the kernel boots on another
    return await _kernel.connect(km, start_timeout)


def _import_nbclient() -> None:
    import nbclient  # noqa: F401
    import nbformat  # noqa: F401


async def run_prepared(
    prep: Prepared,
    *,
    timeout: float | None = None,
    start_timeout: float = 60,
    reporter: Reporter | None = None,
    track: bool = True,
    parent_run_id: str | None = None,
    pool: KernelPool | None = None,
    save_interval: float = 1.0,
    run_name: str | None = None,
    tags: Mapping[str, Any] | None = None,
    write: Callable[[Any], None] | None | bool = True,
    papermill_metadata: bool = True,
    error_markers: bool = True,
) -> ExecutionResult:
    """Run a prepared notebook. ``write``: True = write to ``prep.output_path`` (or the run's
    artifact when there is none); a callable = use it to save; None/False = never save."""
    reporter = reporter or Reporter()
    t_start = time.monotonic()
    started_at = _now_iso()
    run: TrackedRun | None = None
    artifact_name = prep.input_path.name
    warnings = list(prep.warnings)
    for w in warnings:
        reporter.message(w)

    # -- the run (in this process) ------------------------------------------------------------
    from mlnb.execute._kernel import UNTRACKED_ENV
    from mlnb.tracking import tracking_enabled

    track = track and tracking_enabled()  # MLNB_TRACKING=off wins over the default
    env_overrides: dict[str, str] = dict(UNTRACKED_ENV)
    if track:
        run = _start_run(prep, run_name, tags, parent_run_id)
        env_overrides = {
            "MLNB_RUN_ID": run.id,
            "MLNB_NOTEBOOK": run.project.relpath(prep.input_path),
            "MLNB_PROJECT": str(run.project.root),
        }

    # -- where the executed notebook goes --------------------------------------------------------
    save_path: Path | None = None
    writer: Callable[[Any], None] | None
    if callable(write):
        writer = write
    elif write:
        save_path = prep.output_path
        if save_path is None and run is not None:
            save_path = run.artifact_path(artifact_name)
        writer = (lambda nb, _p=save_path: write_notebook(nb, _p)) if save_path is not None else None
    else:
        writer = None
    saver = Saver(writer, save_interval)

    # -- the notebook's metadata -----------------------------------------------------------------
    nb = prep.nb
    clear_outputs(nb)
    meta = {
        "run_id": run.id if run else None,
        "input_path": str(prep.input_path),
        "parameters": prep.injected,
        "kernel_name": prep.kernel_name,
        "status": "running",
        "start_time": started_at,
        "end_time": None,
        "duration": None,
        "error": None,
    }
    nb.setdefault("metadata", {})["mlnb"] = meta
    if papermill_metadata:
        nb["metadata"]["papermill"] = {
            "parameters": prep.injected,
            "input_path": str(prep.input_path),
            "output_path": str(save_path) if save_path else None,
            "start_time": started_at,
            "end_time": None,
            "duration": None,
            "exception": None,
        }

    timings: list[CellTiming] = []
    error: ExecutionError | None = None
    kernel: Kernel | None = None
    kill_kernel = False
    reraise: BaseException | None = None
    code_cells = [
        i
        for i, c in enumerate(nb["cells"])
        if c.get("cell_type") == "code"
        and str(c.get("source", "")).strip()
        and SKIP_TAG not in ((c.get("metadata") or {}).get("tags") or [])
    ]
    total = len(code_cells)
    reporter.start(prep.display_name, total)
    node = nb
    current: tuple[int, Any] | None = None

    def where(index: int, cell: Any) -> dict[str, Any]:
        return dict(
            cell_index=index,
            cell_id=cell.get("id"),
            execution_count=cell.get("execution_count"),
            source_line=first_line(cell.get("source", ""), 80),
            notebook=prep.display_name,
        )

    with watch_sigint() as interrupt:
        try:
            env = kernel_env(env_overrides, scrub=RUN_ENV_KEYS)
            kernel = await _acquire_kernel(prep, pool, start_timeout, env)
            interrupt.kernel = kernel
            drop = tuple(k for k in RUN_ENV_KEYS if k not in env_overrides)
            ext_warning = await prepare_kernel(
                kernel,
                env=env_overrides if kernel.pooled else {},
                drop=drop if kernel.pooled else (),
                cwd=str(prep.cwd),
                load_ext=track,
                timeout=start_timeout,
            )
            if ext_warning:
                warnings.append(ext_warning)
                reporter.message(ext_warning)

            from nbformat import NotebookNode, from_dict

            node = nb if isinstance(nb, NotebookNode) else from_dict(nb)
            prep.nb = node

            def on_message(out: Any) -> None:
                if out is not None and reporter.log_output:
                    reporter.output(out)
                saver.maybe(node)

            client = _make_client(node, kernel, timeout, on_message)
            # language_info, as nbclient's execute() records it
            info = await client.async_wait_for_reply(kernel.kc.kernel_info())
            if info is not None and "language_info" in info.get("content", {}):
                node.metadata["language_info"] = info["content"]["language_info"]

            for number, index in enumerate(code_cells, start=1):
                cell = node.cells[index]
                if interrupt.requested:  # Ctrl-C between two cells
                    error = ExecutionInterrupted(by=interrupt.by, **where(index, cell))
                    break
                current = (index, cell)
                kernel.kc.cell_id = cell.get("id")
                reporter.cell_start(number, total, cell)
                t0 = time.perf_counter()
                try:
                    await client.async_execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                except Exception as exc:  # noqa: BLE001 - nbclient's cell errors, mapped below
                    duration = time.perf_counter() - t0
                    error = _cell_error(exc, cell, index, prep.display_name)
                    if isinstance(error, CellTimeoutError):
                        error.timeout = float(timeout or 0)
                    if interrupt.requested:
                        # KeyboardInterrupt in the cell, or the kernel we killed on a 2nd Ctrl-C
                        kill_kernel = not isinstance(error, CellExecutionFailed)
                        error = ExecutionInterrupted(by=interrupt.by, **where(index, cell))
                    elif (
                        isinstance(error, CellExecutionFailed)
                        and error.ename == "SystemExit"
                        and error.evalue in ("", "0", "None")
                    ):
                        # papermill's rule: sys.exit(0) stops the notebook without failing it
                        timings.append(CellTiming(index, cell.get("id"), cell.get("execution_count"), duration, "ok"))
                        reporter.cell_end(number, total, cell, "ok", duration)
                        note = f"stopped at cell {index + 1} by SystemExit({error.evalue}); later cells did not run"
                        warnings.append(note)
                        reporter.message(note)
                        error = None
                        break
                    elif not isinstance(error, CellExecutionFailed):
                        kill_kernel = True  # timed out (still busy) or dead
                    if not any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                        _append_error_output(cell, error)
                    cell_status = _CELL_STATUS.get(type(error), "error")
                    timings.append(CellTiming(index, cell.get("id"), cell.get("execution_count"), duration, cell_status))
                    reporter.cell_end(number, total, cell, cell_status, duration, _one_line(error))
                    break
                duration = time.perf_counter() - t0
                current = None
                timings.append(CellTiming(index, cell.get("id"), cell.get("execution_count"), duration, "ok"))
                reporter.cell_end(number, total, cell, "ok", duration)
                saver.maybe(node)
            client.set_widgets_metadata()
        except KernelStartError as e:
            error = e
        except Exception as e:  # noqa: BLE001 - a bug or an nbclient surprise: record, then raise
            kill_kernel = True
            error = ExecutionError(
                f"{type(e).__name__}: {e}", **(where(*current) if current else {"notebook": prep.display_name})
            )
            error.ename = type(e).__name__
            reraise = e
        except (asyncio.CancelledError, KeyboardInterrupt) as e:
            kill_kernel = True
            error = ExecutionInterrupted(
                started=kernel is not None,
                by=interrupt.by,
                **(where(*current) if current else {"notebook": prep.display_name}),
            )
            if not interrupt.cancelled_by_us:
                reraise = e  # someone else cancelled us: clean up, then let it through
            else:
                task = asyncio.current_task()
                if task is not None and hasattr(task, "uncancel"):
                    task.uncancel()
        finally:
            interrupt.stopped = True
            if kernel is not None:
                await _shutdown(kernel, now=kill_kernel)
    status = error.status if error is not None else "finished"

    duration = time.monotonic() - t_start
    ended_at = _now_iso()
    meta.update(status=status, end_time=ended_at, duration=duration, error=error.to_dict() if error else None)
    node = prep.nb
    node["metadata"]["mlnb"] = meta
    if papermill_metadata:
        node["metadata"]["papermill"].update(end_time=ended_at, duration=duration, exception=error is not None)
    if error is not None and error_markers:
        add_error_markers(node, error)
    try:
        saver.save(node)
    except OSError as e:
        reraise = reraise or UsageError(f"Cannot write the executed notebook to {save_path}: {e}")
    if run is not None:
        try:
            source = save_path
            if source is None or not source.exists():
                # saved elsewhere (papermill engine) or not at all: keep a copy with the run
                source = run.artifact_path(artifact_name)
                if source is not None:
                    write_notebook(node, source)
            if source is not None:
                run.log_artifact(source, artifact_name)
                run.set_tags({"mlnb.executed_notebook": artifact_name})
        finally:
            run.end(status)
    reporter.finish(status, duration)
    result = ExecutionResult(
        input_path=str(prep.input_path),
        output_path=str(save_path) if save_path is not None else None,
        run_id=run.id if run else None,
        status=status,
        duration=duration,
        cell_timings=timings,
        error=error,
        parameters=prep.injected,
        warnings=warnings,
        notebook=node,
        saves=saver.count,
    )
    if reraise is not None:
        raise reraise
    return result


def _start_run(
    prep: Prepared, run_name: str | None, tags: Mapping[str, Any] | None, parent_run_id: str | None
) -> TrackedRun:
    from mlnb.execute._tracking import create_run
    from mlnb.project import Project

    project = Project.discover()
    run = create_run(
        name=run_name or prep.display_name,
        notebook=project.relpath(prep.input_path),
        params=prep.effective,
        tags={"mlnb.source": "exec", "mlnb.kernel": prep.kernel_name, **(tags or {})},
        parent_id=parent_run_id,
    )
    run.flush()  # the kernel adopts the run from the store: it must be committed first
    return run


async def _shutdown(kernel: Kernel, now: bool) -> None:
    try:
        await asyncio.shield(kernel.shutdown(now=now))
    except asyncio.CancelledError:
        pass


# --------------------------------------------------------------------------------------------
# Public entry points
# --------------------------------------------------------------------------------------------


async def execute_notebook_async(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    params_file: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    kernel_name: str | None = None,
    timeout: float | None = None,
    start_timeout: float = 60,
    log_output: bool = False,
    track: bool = True,
    progress: Any = None,
    parent_run_id: str | None = None,
    *,
    pool: KernelPool | None = None,
    save_interval: float = 1.0,
    run_name: str | None = None,
    tags: Mapping[str, Any] | None = None,
) -> ExecutionResult:
    """The coroutine behind :func:`execute_notebook`; pass ``pool`` to take a warm kernel."""
    prep = prepare(input_path, output_path, parameters, params_file, cwd, kernel_name)
    return await run_prepared(
        prep,
        timeout=timeout,
        start_timeout=start_timeout,
        reporter=make_reporter(progress, log_output),
        track=track,
        parent_run_id=parent_run_id,
        pool=pool,
        save_interval=save_interval,
        run_name=run_name,
        tags=tags,
    )


def _run_sync(coro: Any) -> Any:
    """Run a coroutine to completion from sync code, even inside a running loop (a notebook)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="mlnb-exec") as ex:
        return ex.submit(asyncio.run, coro).result()


def execute_notebook(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    params_file: str | os.PathLike[str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    kernel_name: str | None = None,
    timeout: float | None = None,
    start_timeout: float = 60,
    log_output: bool = False,
    track: bool = True,
    progress: Any = None,
    parent_run_id: str | None = None,
    **kwargs: Any,
) -> ExecutionResult:
    """Execute a notebook headlessly in a fresh kernel and return how it went.

    - ``parameters`` (and ``params_file``, YAML; ``parameters`` win) are checked against the cell
      tagged ``parameters`` before any kernel starts (:class:`ParameterError`) and injected in a
      cell tagged ``injected-parameters`` right after it, as papermill does.
    - ``output_path``: where the executed notebook is written (progress at most every second, and
      at the end). Without it, a tracked run keeps it as the run's artifact; an untracked run
      writes nothing (the executed notebook is still in ``result.notebook``). Never the input.
    - ``cwd``: the kernel's working directory (default: the notebook's folder, as in JupyterLab).
    - ``timeout``: seconds per cell (None: no limit); ``start_timeout``: seconds for the kernel.
    - ``track``: record a run (params, cell executions via ``%load_ext mlnb``, the executed
      notebook as an artifact); a child of ``parent_run_id`` or of the caller's active run.
    - ``progress``: None (quiet), True/"auto", "bar", "lines" or a Reporter; ``log_output``
      streams the cells' outputs as they arrive.

    A failing cell does not raise: ``result.error`` says which cell and why
    (``result.raise_for_error()`` raises it). Bad input raises a :class:`mlnb.errors.UsageError`.
    """
    return _run_sync(
        execute_notebook_async(
            input_path,
            output_path,
            parameters,
            params_file,
            cwd,
            kernel_name,
            timeout,
            start_timeout,
            log_output,
            track,
            progress,
            parent_run_id,
            **kwargs,
        )
    )


async def execute_notebooks_async(
    items: Iterable[str | os.PathLike[str] | Mapping[str, Any]],
    jobs: int = 2,
    kernel_name: str = DEFAULT_KERNEL,
    start_timeout: float = 60,
    **common: Any,
) -> list[ExecutionResult]:
    """Run many notebooks, ``jobs`` at a time, on a :class:`KernelPool` of ``jobs`` warm kernels.

    Each item is a path or a mapping of :func:`execute_notebook` arguments (``input_path`` plus
    e.g. ``parameters``, ``output_path``); ``common`` arguments apply to all. Results come back in
    the order of ``items``. All notebooks are prepared (and their parameters validated) before
    any kernel starts, so a typo in the last one fails fast.
    """
    specs: list[dict[str, Any]] = []
    for item in items:
        spec = dict(common)
        if isinstance(item, Mapping):
            spec.update(item)
        else:
            spec["input_path"] = item
        specs.append(spec)
    if jobs < 1:
        raise UsageError("jobs must be at least 1.")
    for spec in specs:
        unknown = sorted(set(spec) - _JOB_KEYS)
        if unknown:
            raise UsageError(
                f"Unknown execute_notebooks argument(s) {', '.join(map(repr, unknown))}; "
                f"use {', '.join(sorted(_JOB_KEYS))}."
            )
        if "input_path" not in spec:
            raise UsageError("Every notebook mapping needs an 'input_path'.")
    prepared = []
    for spec in specs:
        prepared.append(
            prepare(
                spec.pop("input_path"),
                spec.pop("output_path", None),
                spec.pop("parameters", None),
                spec.pop("params_file", None),
                spec.pop("cwd", None),
                spec.pop("kernel_name", None) or kernel_name,
            )
        )
    if not prepared:
        return []
    sem = asyncio.Semaphore(jobs)
    size = min(jobs, len(prepared))
    pool, server = await _batch_pool(kernel_name, start_timeout, size=size, limit=len(prepared))
    try:
        return await _run_batch(prepared, specs, pool, sem, start_timeout)
    finally:
        if server is not None:
            await server.stop()


async def _batch_pool(kernel_name: str, start_timeout: float, **kw: Any) -> tuple[KernelPool, Any]:
    """The kernel pool for a batch: kernels forked from a server that imported ipykernel once
    (each notebook still gets a fresh process; ~50 ms instead of ~0.4 s of CPU a kernel), or
    ordinary kernels where forking is not possible or ``MLNB_FORK=0``."""
    if os.environ.get("MLNB_FORK", "1") != "0":
        from mlnb.execute._forkpool import ForkPool, ForkServer, forkable

        if forkable(kernel_name):
            server = ForkServer()
            try:
                await server.start(start_timeout)
            except Exception:  # noqa: BLE001 - ordinary kernels then
                await server.stop()
            else:
                return ForkPool(server, kernel_name=kernel_name, start_timeout=start_timeout,
                                **kw), server
    return KernelPool(kernel_name=kernel_name, start_timeout=start_timeout, **kw), None


async def _run_batch(prepared: list[Prepared], specs: list[dict[str, Any]], pool: KernelPool,
                     sem: asyncio.Semaphore, start_timeout: float) -> list[ExecutionResult]:
    with watch_sigint(kill_kernels=False) as batch:
        async with pool:

            async def one(prep: Prepared, spec: dict[str, Any]) -> ExecutionResult:
                async with sem:
                    if batch.requested:  # Ctrl-C: what has not started does not start
                        return _not_started(prep, batch.by)
                    progress = spec.pop("progress", None)
                    log_output = spec.pop("log_output", False)
                    return await run_prepared(
                        prep,
                        pool=pool,
                        start_timeout=spec.pop("start_timeout", start_timeout),
                        reporter=make_reporter(progress, log_output),
                        **spec,
                    )

            return list(await asyncio.gather(*(one(p, s) for p, s in zip(prepared, specs))))


_JOB_KEYS = {
    "input_path", "output_path", "parameters", "params_file", "cwd", "kernel_name", "timeout",
    "start_timeout", "log_output", "track", "progress", "parent_run_id", "save_interval",
    "run_name", "tags",
}


def _not_started(prep: Prepared, by: str) -> ExecutionResult:
    return ExecutionResult(
        input_path=str(prep.input_path),
        output_path=None,
        run_id=None,
        status="killed",
        duration=0.0,
        error=ExecutionInterrupted(started=False, by=by, notebook=prep.display_name),
        parameters=prep.injected,
        warnings=list(prep.warnings),
        notebook=prep.nb,
    )


def execute_notebooks(
    items: Iterable[str | os.PathLike[str] | Mapping[str, Any]],
    jobs: int = 2,
    kernel_name: str = DEFAULT_KERNEL,
    start_timeout: float = 60,
    **common: Any,
) -> list[ExecutionResult]:
    """Sync wrapper of :func:`execute_notebooks_async`."""
    return _run_sync(execute_notebooks_async(items, jobs, kernel_name, start_timeout, **common))

