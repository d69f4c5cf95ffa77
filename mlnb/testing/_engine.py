"""The kernels behind mlnb's pytest plugin: one event loop thread per process, a warm
:class:`~mlnb.execute.KernelPool` per pytest session, and :class:`NotebookSession`, which executes
a notebook's cells on mlnb's runner pieces and keeps the kernel for reaching in afterwards.

Every kernel call goes through :func:`run`, which hands a coroutine to the loop thread: tests stay
plain sync functions, and kernels (whose sockets belong to one loop) outlive a single call.
Each pytest-xdist worker is its own process, so it gets its own loop, pool and kernels; kernels
talk over uniquely named IPC sockets (see ``mlnb.execute._kernel.launch``), so no port races.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from mlnb.execute._errors import (
    CellExecutionFailed,
    CellTimeoutError,
    ExecutionError,
    KernelDiedError,
)
from mlnb.execute._kernel import (
    DEFAULT_KERNEL,
    RUN_ENV_KEYS,
    Kernel,
    KernelPool,
    kernel_env,
    prepare_kernel,
    start_kernel,
)
from mlnb.execute._progress import first_line

__all__ = ["NotebookSession", "CellDidNotRaise", "run", "configure_pool", "shutdown_all"]

SKIP_TAGS = ("skip-test", "skip-execution")
RAISES_TAG = "raises-exception"
_DIRECTIVE = re.compile(r"^\s*#\s*mlnb:\s*([A-Za-z-]+)\s*$", re.M)


class CellDidNotRaise(ExecutionError):
    """A cell tagged ``raises-exception`` (or marked ``# mlnb: raises``) ran without raising."""

    ename = "CellDidNotRaise"

    def __init__(self, **where: Any) -> None:
        super().__init__("the cell was expected to raise an exception but did not", **where)

    def __str__(self) -> str:
        nb = f" of {self.notebook}" if self.notebook else ""
        return (
            f"Execution{nb} stopped at {self.where()}\n"
            "The cell is tagged raises-exception (or marked '# mlnb: raises') but raised nothing; "
            "remove the tag or fix the cell."
        )


# --------------------------------------------------------------------------------------------
# The loop thread
# --------------------------------------------------------------------------------------------


class _LoopThread:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="mlnb-testing", daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float | None = None) -> Any:
        fut = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return fut.result(timeout)
        except (KeyboardInterrupt, concurrent.futures.TimeoutError):
            fut.cancel()
            raise


_thread: _LoopThread | None = None
_thread_lock = threading.Lock()


def _loop() -> _LoopThread:
    global _thread
    with _thread_lock:
        if _thread is None or not _thread.thread.is_alive():
            _thread = _LoopThread()
        return _thread


def run(coro: Any, timeout: float | None = None) -> Any:
    """Run ``coro`` on the kernels' loop thread and return its result (from any sync code)."""
    if _thread is not None and threading.current_thread() is _thread.thread:
        raise RuntimeError("mlnb.testing: run() called from the kernel loop itself")
    return _loop().run(coro, timeout)


# --------------------------------------------------------------------------------------------
# Kernels: a warm pool (when the plugin configured one), shutdowns in the background
# --------------------------------------------------------------------------------------------


@dataclass
class _Kernels:
    size: int = 0  # 0: no pool, every session starts its own kernel
    limit: int | None = None  # kernels the pool starts in all (None: no limit)
    fork: bool = True  # fork kernels from a server that imported ipykernel once
    server: Any = None  # the running ForkServer
    start_timeout: float = 60
    pool: KernelPool | None = None
    closing: set[asyncio.Future[Any]] = field(default_factory=set)
    live: dict[int, Kernel] = field(default_factory=dict)


_kernels = _Kernels()


def configure_pool(size: int, start_timeout: float = 60, fork: bool = True) -> None:
    """Hand out warm kernels from a pool of ``size`` (the plugin calls this per pytest session);
    ``fork``: fork them from a server process (much less CPU per kernel)."""
    _kernels.size = max(0, int(size))
    _kernels.fork = fork
    _kernels.start_timeout = start_timeout


async def _warm() -> None:
    if _kernels.size and _kernels.pool is None:
        size = _kernels.size if _kernels.limit is None else max(1, min(_kernels.size, _kernels.limit))
        kw = dict(size=size, kernel_name=DEFAULT_KERNEL, start_timeout=_kernels.start_timeout, limit=_kernels.limit)
        pool: KernelPool | None = None
        if _kernels.fork and os.environ.get("MLNB_TESTING_FORK", "1") != "0":
            from mlnb.execute._forkpool import ForkPool, ForkServer, forkable

            if forkable(DEFAULT_KERNEL):
                server = ForkServer()
                try:
                    await server.start(_kernels.start_timeout)
                except Exception:  # noqa: BLE001 - ordinary kernels then
                    await server.stop()
                else:
                    _kernels.server = server
                    pool = ForkPool(server, **kw)
        _kernels.pool = pool or KernelPool(**kw)
        _kernels.pool.fill()


def warm_up(expected: int | None = None) -> None:
    """Start the pool's kernels now (in the background), e.g. once notebooks were collected;
    ``expected``: how many kernels the session will ask for (so none is started in vain)."""
    if _kernels.size and _kernels.pool is None:
        _kernels.limit = expected
        run(_warm())


async def _acquire(kernel_name: str, cwd: str, env: dict[str, str], start_timeout: float) -> Kernel:
    if _kernels.size and kernel_name == DEFAULT_KERNEL:
        await _warm()
        assert _kernels.pool is not None
        kernel = await _kernels.pool.acquire(start_timeout=start_timeout)
    else:
        kernel = await start_kernel(kernel_name, cwd=cwd, env=env, start_timeout=start_timeout)
    _kernels.live[id(kernel)] = kernel
    return kernel


def _release(kernel: Kernel, now: bool) -> None:
    """Shut a kernel down in the background: the test does not wait for the process to exit."""
    _kernels.live.pop(id(kernel), None)
    task = asyncio.ensure_future(kernel.shutdown(now=now))
    _kernels.closing.add(task)
    task.add_done_callback(_kernels.closing.discard)


async def _shutdown_all() -> None:
    for kernel in list(_kernels.live.values()):
        _release(kernel, now=True)
    if _kernels.pool is not None:
        pool, _kernels.pool = _kernels.pool, None
        await _close_pool(pool)
    if _kernels.closing:
        await asyncio.gather(*list(_kernels.closing), return_exceptions=True)
    if _kernels.server is not None:
        server, _kernels.server = _kernels.server, None
        await server.stop()


async def _close_pool(pool: KernelPool) -> None:
    """Like ``KernelPool.close()``, but the spare kernels are killed all at once, not in turn."""
    pending = getattr(pool, "_pending", None)
    if pending is None:
        await pool.close()
        return
    tasks = list(pending)
    pending.clear()

    async def kill(task: Any) -> None:
        try:
            kernel = await task
        except BaseException:  # noqa: BLE001 - a failed start has nothing to stop
            return
        await kernel.shutdown(now=True)

    await asyncio.gather(*(kill(t) for t in tasks), return_exceptions=True)
    await pool.close()


def shutdown_all() -> None:
    """Stop every kernel this process started for tests (end of the pytest session)."""
    if _thread is None:
        return
    try:
        run(_shutdown_all(), timeout=30)
    except Exception:  # noqa: BLE001 - best effort at exit
        pass
    _kernels.size = 0
    _kernels.limit = None


atexit.register(shutdown_all)


# --------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------


def cell_tags(cell: Mapping[str, Any]) -> list[str]:
    tags = (cell.get("metadata") or {}).get("tags") or []
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def cell_directives(cell: Mapping[str, Any]) -> set[str]:
    """``# mlnb: skip`` / ``# mlnb: raises`` comment lines of a code cell."""
    return {m.lower() for m in _DIRECTIVE.findall(str(cell.get("source", "")))}


def is_skipped(cell: Mapping[str, Any]) -> bool:
    return any(t in SKIP_TAGS for t in cell_tags(cell)) or "skip" in cell_directives(cell)


def expects_error(cell: Mapping[str, Any]) -> bool:
    return RAISES_TAG in cell_tags(cell) or "raises" in cell_directives(cell)


def is_code(cell: Mapping[str, Any]) -> bool:
    return cell.get("cell_type") == "code" and bool(str(cell.get("source", "")).strip())


# --------------------------------------------------------------------------------------------
# A notebook under test
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def _project_env(start: Path) -> Iterator[None]:
    """Track into the notebook's project (nearest mlnb project above the notebook), unless the
    caller chose one with ``MLNB_PROJECT``."""
    if os.environ.get("MLNB_PROJECT"):
        yield
        return
    from mlnb.project import Project

    root = Project.discover(start=start).root
    os.environ["MLNB_PROJECT"] = str(root)
    try:
        yield
    finally:
        os.environ.pop("MLNB_PROJECT", None)


class NotebookSession:
    """One notebook, prepared (parameters validated and injected) and, once started, a kernel
    that runs its cells one at a time and stays up until :meth:`close`.

    ``track``: create a tracked run (params, cell executions, metrics) the kernel logs into.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        parameters: Mapping[str, Any] | None = None,
        *,
        cwd: str | os.PathLike[str] | None = None,
        timeout: float | None = None,
        start_timeout: float = 60,
        track: bool = False,
        kernel_name: str | None = None,
        run_name: str | None = None,
        tags: Mapping[str, Any] | None = None,
        display: str | None = None,
    ) -> None:
        from mlnb.execute._runner import prepare

        self.prep = prepare(path, None, dict(parameters or {}), None, cwd, kernel_name)
        self.path = self.prep.input_path
        self.display = display or self.prep.display_name
        self.prep.display_name = self.display
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.track = track
        self.run_name = run_name
        self.tags = dict(tags or {})
        self.cells: list[dict[str, Any]] = self.prep.nb["cells"]
        # stored outputs, by cell id, before the run clears them (for output comparison)
        self.stored: dict[str, tuple[list[Any], Any]] = {
            c["id"]: (list(c.get("outputs") or []), c.get("execution_count"))
            for c in self.cells
            if c.get("cell_type") == "code"
        }
        for c in self.cells:
            if c.get("cell_type") == "code":
                c["outputs"] = []
                c["execution_count"] = None
                if "raises" in cell_directives(c) and RAISES_TAG not in cell_tags(c):
                    c.setdefault("metadata", {}).setdefault("tags", []).append(RAISES_TAG)
        self.kernel: Kernel | None = None
        self.client: Any = None
        self.tracked: Any = None  # mlnb.execute._tracking.TrackedRun
        self.warnings: list[str] = list(self.prep.warnings)
        self.executed: set[int] = set()
        self.error: ExecutionError | None = None
        self.dead = False
        self.closed = False
        self._helpers = False
        self._run_ended = False
        self._counter = 0

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def run_id(self) -> str | None:
        return self.tracked.id if self.tracked is not None else None

    @property
    def code_cells(self) -> list[int]:
        """Indices of the code cells that a full run executes (skip tags honoured)."""
        return [i for i, c in enumerate(self.cells) if is_code(c) and not is_skipped(c)]

    def start(self) -> None:
        if self.kernel is not None:
            return
        if self.closed:
            raise RuntimeError(f"{self.display}: the notebook session is closed")
        from mlnb.execute._kernel import UNTRACKED_ENV

        env_overrides: dict[str, str] = dict(UNTRACKED_ENV)
        if self.track:
            from mlnb.execute._runner import _start_run

            with _project_env(self.path.parent):
                self.tracked = _start_run(
                    self.prep, self.run_name, {"mlnb.source": "pytest", **self.tags}, None
                )
            env_overrides = {
                "MLNB_RUN_ID": self.tracked.id,
                "MLNB_NOTEBOOK": self.tracked.project.relpath(self.path),
                "MLNB_PROJECT": str(self.tracked.project.root),
            }
        try:
            self.warnings += run(self._start(env_overrides)) or []
        except BaseException:
            self._end_run("failed")
            raise

    async def _start(self, env_overrides: dict[str, str]) -> list[str]:
        from nbformat import from_dict

        prep = self.prep
        env = kernel_env(env_overrides, scrub=RUN_ENV_KEYS)
        kernel = await _acquire(prep.kernel_name, str(prep.cwd), env, self.start_timeout)
        self.kernel = kernel
        drop = tuple(k for k in RUN_ENV_KEYS if k not in env_overrides)
        warning = await prepare_kernel(
            kernel,
            env=env_overrides if kernel.pooled else {},
            drop=drop if kernel.pooled else (),
            cwd=str(prep.cwd),
            load_ext=self.track,
            timeout=self.start_timeout,
        )
        from mlnb.execute._runner import _make_client

        node = from_dict(prep.nb)
        prep.nb = node
        self.cells = node["cells"]
        self.client = _make_client(node, kernel, self.timeout, None)
        return [warning] if warning else []

    def close(self) -> None:
        """End the tracked run (finished, or failed after an error) and stop the kernel."""
        if self.closed:
            return
        self.closed = True
        kernel, self.kernel = self.kernel, None
        if kernel is not None:
            try:
                run(self._close(kernel))
            except Exception:  # noqa: BLE001 - the loop may be gone at interpreter exit
                pass
        self._end_run("failed" if self.error is not None else "finished")

    async def _close(self, kernel: Kernel) -> None:
        if self.tracked is not None and not self.dead:
            await self._flush_tracking(kernel)
        _release(kernel, now=self.dead)

    def _end_run(self, status: str) -> None:
        tracked = self.tracked
        if tracked is not None and not self._run_ended:
            self._run_ended = True
            try:
                tracked.end(status)
                tracked.flush()
            except Exception:  # noqa: BLE001
                pass

    # -- executing cells -----------------------------------------------------------------------
    def where(self, index: int) -> dict[str, Any]:
        cell = self.cells[index]
        return dict(
            cell_index=index,
            cell_id=cell.get("id"),
            execution_count=cell.get("execution_count"),
            source_line=first_line(str(cell.get("source", "")), 80),
            notebook=self.display,
        )

    def execute_cells(self, indices: Sequence[int]) -> None:
        """Run the given cells in order; raise the first failure (an ``ExecutionError``)."""
        self.start()
        run(self._execute_cells(list(indices)))

    async def _execute_cells(self, indices: list[int]) -> None:
        for index in indices:
            await self._execute_one(index)

    async def _execute_one(self, index: int) -> None:
        from mlnb.execute._runner import _append_error_output, _cell_error

        if self.dead:
            raise KernelDiedError(**self.where(index))
        assert self.kernel is not None and self.client is not None
        cell = self.cells[index]
        if not is_code(cell):
            self.executed.add(index)
            return
        self.kernel.kc.cell_id = cell.get("id")
        try:
            await self.client.async_execute_cell(
                cell, index, execution_count=self.client.code_cells_executed + 1
            )
        except Exception as exc:  # noqa: BLE001 - nbclient's cell errors, mapped
            error = _cell_error(exc, cell, index, self.display)
            if isinstance(error, CellTimeoutError):
                error.timeout = float(self.timeout or 0)
            if not isinstance(error, CellExecutionFailed):
                self.dead = True  # timed out (still busy) or died: never reuse this kernel
                if not any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                    _append_error_output(cell, error)
            self.executed.add(index)
            self.error = error
            raise error from None
        self.executed.add(index)
        if expects_error(cell) and not any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            self.error = CellDidNotRaise(**self.where(index))
            raise self.error

    # -- talking to the kernel outside of cells -------------------------------------------------
    async def request(
        self, code: str, user_expressions: dict[str, str] | None = None, timeout: float | None = None
    ) -> dict[str, Any]:
        """Run ``code`` silently (no output, no history, not tracked as a cell) and return the
        ``execute_reply`` content, ``user_expressions`` included."""
        import time

        if self.dead:
            raise KernelDiedError(notebook=self.display)
        assert self.kernel is not None
        kernel = self.kernel
        kc = kernel.kc
        kc.cell_id = None
        msg_id = kc.execute(code, silent=True, store_history=False, user_expressions=user_expressions or {})
        limit = timeout if timeout is not None else self.timeout
        deadline = time.monotonic() + limit if limit else None
        while True:
            wait = 1.0 if deadline is None else min(1.0, deadline - time.monotonic())
            if wait <= 0:
                self.dead = True
                raise CellTimeoutError(float(limit or 0), notebook=self.display)
            try:
                reply = await kc.get_shell_msg(timeout=wait)
            except Exception:  # queue.Empty
                if not await kernel.is_alive():
                    self.dead = True
                    raise KernelDiedError(notebook=self.display) from None
                continue
            if reply.get("parent_header", {}).get("msg_id") == msg_id:
                return reply["content"]

    async def _flush_tracking(self, kernel: Kernel) -> None:
        code = "import sys as _s\n_t = _s.modules.get('mlnb.tracking')\nif _t: _t.flush()\ndel _s, _t"
        try:
            await asyncio.wait_for(self.request(code), 30)
        except Exception:  # noqa: BLE001 - a run read without the last flush is still a run
            pass

    def flush_tracking(self) -> None:
        if self.kernel is not None and not self.dead:
            run(self._flush_tracking(self.kernel))

    def next_id(self) -> int:
        self._counter += 1
        return self._counter
