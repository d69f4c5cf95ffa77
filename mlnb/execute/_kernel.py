"""Kernels for headless runs: start one, hand it a notebook's environment, and a pool of warm ones.

Two things here that plain nbclient does not do:

* **Cell ids reach the kernel.** ``jupyter_client``'s ``execute()`` (which nbclient calls) sends no
  message metadata, so ipykernel sees ``cell_id=None``. JupyterLab sends the cell's nbformat id
  as ``metadata.cellId`` of the ``execute_request``; ipykernel (>= 6.x) passes it to IPython's
  ``run_cell(cell_id=...)`` and IPython exposes it as ``ExecutionInfo.cell_id`` to
  ``pre_run_cell`` listeners (the mlnb kernel adapter). :class:`CellIdKernelClient` does the same.
* **A warm kernel is generic.** A pooled kernel started before we knew which notebook it would run,
  so the run's environment (``MLNB_RUN_ID``, ``MLNB_NOTEBOOK``...) and working directory are set
  inside it by a silent "prelude" execute before the first cell (:func:`prepare_kernel`).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager

from mlnb.execute._errors import KernelStartError

__all__ = ["CellIdKernelClient", "Kernel", "KernelPool", "start_kernel", "prepare_kernel"]

DEFAULT_KERNEL = "python3"
#: Environment variables a run sets in its kernel; scrubbed from warm kernels and untracked runs.
RUN_ENV_KEYS = ("MLNB_RUN_ID", "MLNB_NOTEBOOK", "MLNB_PARENT_RUN_ID", "MLNB_TRACKING")
# An untracked execution turns tracking off in its kernel: the notebook's own `%load_ext mlnb`
# or `mlnb.log_metric` then records nothing.
UNTRACKED_ENV = {"MLNB_TRACKING": "off"}


class CellIdKernelClient(AsyncKernelClient):
    """An async kernel client whose ``execute`` sends ``metadata.cellId`` like JupyterLab does.

    Set :attr:`cell_id` before each execute (the runner does, per cell).
    """

    cell_id: str | None = None

    def execute(  # type: ignore[override]
        self,
        code: str,
        silent: bool = False,
        store_history: bool = True,
        user_expressions: dict[str, Any] | None = None,
        allow_stdin: bool | None = None,
        stop_on_error: bool = True,
    ) -> str:
        content = {
            "code": code,
            "silent": silent,
            "store_history": store_history,
            "user_expressions": user_expressions or {},
            "allow_stdin": self.allow_stdin if allow_stdin is None else allow_stdin,
            "stop_on_error": stop_on_error,
        }
        metadata = {"cellId": self.cell_id} if self.cell_id and not silent else {}
        msg = self.session.msg("execute_request", content, metadata=metadata)
        self.shell_channel.send(msg)
        return msg["header"]["msg_id"]


@dataclass
class Kernel:
    """A started kernel: its manager, a connected client, and where it came from."""

    km: AsyncKernelManager
    kc: CellIdKernelClient
    kernel_name: str
    pooled: bool = False
    started: float = field(default_factory=time.monotonic)

    async def is_alive(self) -> bool:
        try:
            return bool(await self.km.is_alive())
        except Exception:  # noqa: BLE001
            return False

    async def shutdown(self, now: bool = False) -> None:
        """Stop the kernel. Gracefully by default, so its atexit handlers (the tracking writer's
        final flush) run; ``now`` kills it (a busy or dead kernel)."""
        try:
            self.kc.stop_channels()
        except Exception:  # noqa: BLE001
            pass
        try:
            if await self.km.is_alive():
                await self.km.shutdown_kernel(now=now)
            else:
                await self.km.cleanup_resources()
        except Exception:  # noqa: BLE001 - a kernel that is already gone is fine
            try:
                await self.km.cleanup_resources()
            except Exception:  # noqa: BLE001
                pass


def kernel_env(overrides: dict[str, str] | None = None, scrub: tuple[str, ...] = RUN_ENV_KEYS) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in scrub}
    if overrides:
        env.update(overrides)
    return env


def launch(kernel_name: str) -> AsyncKernelManager:
    """A manager for ``kernel_name`` (not started yet); KernelStartError for an unknown name.

    ipykernel kernels talk over IPC sockets (POSIX): no TCP ports to allocate, and no
    "running over TCP without encryption" warning from ipykernel 7 on every start.
    """
    from jupyter_client.kernelspec import NoSuchKernel

    km = AsyncKernelManager(kernel_name=kernel_name, client_class="mlnb.execute._kernel.CellIdKernelClient")
    try:
        spec = km.kernel_spec
    except NoSuchKernel:
        try:
            names = sorted(km.kernel_spec_manager.find_kernel_specs())
        except Exception:  # noqa: BLE001
            names = []
        raise KernelStartError(
            kernel_name, "no such kernel" + (f" (installed: {', '.join(names)})" if names else "")
        ) from None
    if os.name == "posix" and spec is not None and any("ipykernel" in a for a in spec.argv):
        _use_ipc(km)
    return km


def _use_ipc(km: AsyncKernelManager) -> None:
    """IPC sockets with a unique name in the Jupyter runtime dir. (jupyter_client's default name
    for a standalone manager is ``kernel-ipc`` in the current directory, with socket numbers
    picked by looking at which files exist: kernels starting together would collide.)"""
    import uuid

    from jupyter_core.paths import jupyter_runtime_dir

    runtime = jupyter_runtime_dir()
    base = os.path.join(runtime, f"mlnb-{uuid.uuid4().hex[:12]}")
    if len(base) + len("-ipc-99") > 100:  # unix socket paths are limited to ~107 bytes
        return
    os.makedirs(runtime, exist_ok=True)
    km.transport = "ipc"
    km.connection_file = base + ".json"
    km.ip = base + "-ipc"


async def start_process(km: AsyncKernelManager, cwd: str | None, env: dict[str, str]) -> None:
    # Like nbclient: IPython's history in memory. The default SQLite file costs a write per cell
    # (milliseconds each) and is shared by every kernel running at the same time.
    extra = ["--HistoryManager.hist_file=:memory:"] if km.ipykernel else []
    try:
        await km.start_kernel(cwd=cwd, env=env, extra_arguments=extra)
    except Exception as e:  # noqa: BLE001
        raise KernelStartError(km.kernel_name, f"{type(e).__name__}: {e}") from e


async def connect(km: AsyncKernelManager, start_timeout: float, pooled: bool = False) -> Kernel:
    """Open channels and wait until the kernel answers; KernelStartError if it does not in time."""
    kc: CellIdKernelClient = km.client()  # type: ignore[assignment]
    kc.start_channels()
    try:
        await kc.wait_for_ready(timeout=start_timeout)
    except (RuntimeError, asyncio.TimeoutError) as e:
        kc.stop_channels()
        alive = False
        try:
            alive = await km.is_alive()
            await km.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001
            pass
        reason = str(e) if not alive else f"no answer within {start_timeout:g} s"
        if "didn't respond" in reason:
            reason = f"no answer within {start_timeout:g} s"
        raise KernelStartError(km.kernel_name, reason) from None
    kc.allow_stdin = False
    return Kernel(km=km, kc=kc, kernel_name=km.kernel_name, pooled=pooled)


async def start_kernel(
    kernel_name: str = DEFAULT_KERNEL,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    start_timeout: float = 60,
) -> Kernel:
    """Start a fresh kernel and wait until it is ready."""
    env = env if env is not None else kernel_env()
    km = launch(kernel_name)
    await start_process(km, cwd, env)
    return await connect(km, start_timeout)


_PRELUDE = """\
def __mlnb_prelude(env, drop, cwd):
    import os
    for k in drop:
        os.environ.pop(k, None)
    os.environ.update(env)
    if cwd:
        os.chdir(cwd)  # '' is on the kernel's sys.path, so local imports follow
__mlnb_prelude({env!r}, {drop!r}, {cwd!r})
del __mlnb_prelude
"""

# Called directly rather than through %load_ext, so the notebook's own `%load_ext mlnb` (which
# is idempotent) does not print IPython's "already loaded" notice into the executed notebook.
_LOAD_EXT = "import mlnb as __mlnb; __mlnb.load_ipython_extension(get_ipython()); del __mlnb"


async def _silent(kernel: Kernel, code: str, timeout: float) -> dict[str, Any]:
    """Run ``code`` silently (no output, no history, no execution count) and return the reply."""
    kc = kernel.kc
    kc.cell_id = None
    msg_id = kc.execute(code, silent=True, store_history=False)
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise asyncio.TimeoutError
        try:
            reply = await kc.get_shell_msg(timeout=min(remaining, 1.0))
        except Exception:  # queue.Empty
            if not await kernel.is_alive():
                raise RuntimeError("the kernel died") from None
            continue
        if reply.get("parent_header", {}).get("msg_id") == msg_id:
            return reply["content"]


async def prepare_kernel(
    kernel: Kernel,
    *,
    env: dict[str, str],
    drop: tuple[str, ...] = RUN_ENV_KEYS,
    cwd: str | None = None,
    load_ext: bool = False,
    timeout: float = 60,
) -> str | None:
    """Give a started kernel the run's environment and working directory, then (when tracking)
    ``%load_ext mlnb`` silently. Returns a warning when the extension could not be loaded."""
    if kernel.pooled or env or drop:
        code = _PRELUDE.format(env=dict(env), drop=tuple(k for k in drop if k not in env), cwd=cwd if kernel.pooled else None)
        content = await _silent(kernel, code, timeout)
        if content.get("status") != "ok":
            raise KernelStartError(
                kernel.kernel_name,
                f"setting up the run environment failed ({content.get('ename')}: {content.get('evalue')})",
            )
    if load_ext:
        content = await _silent(kernel, _LOAD_EXT, timeout)
        if content.get("status") != "ok":
            return (
                f"the mlnb kernel extension did not load in kernel {kernel.kernel_name!r} "
                f"({content.get('ename')}: {content.get('evalue')}); the run is recorded without "
                "cell executions. Install mlnb in the kernel's environment."
            )
    return None


class KernelPool:
    """Warm kernels started ahead of need, so many notebooks do not each wait for a kernel start.

    Every notebook still gets a fresh kernel: :meth:`acquire` hands one out and at once starts its
    replacement in the background. Use it inside one event loop::

        async with KernelPool(size=2) as pool:
            results = await asyncio.gather(*(execute_notebook_async(p, pool=pool) for p in paths))

    (:func:`mlnb.execute.execute_notebooks` does this for you.) Kernels for another kernel name
    than the pool's are started on demand.
    """

    def __init__(
        self,
        size: int = 2,
        kernel_name: str = DEFAULT_KERNEL,
        start_timeout: float = 60,
        cwd: str | None = None,
        limit: int | None = None,
    ) -> None:
        if size < 1:
            raise ValueError("KernelPool size must be at least 1")
        self.size = size
        self.kernel_name = kernel_name
        self.start_timeout = start_timeout
        self.cwd = cwd
        self.limit = limit  # start at most this many kernels in all (None: no limit)
        self._pending: deque[asyncio.Task[Kernel]] = deque()
        self._closed = False
        self._scheduled = 0
        self.started = 0  # kernels started by this pool (for tests and stats)

    async def __aenter__(self) -> KernelPool:
        self.fill()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()

    def fill(self) -> None:
        """Start kernels until ``size`` are ready or starting."""
        if self._closed:
            raise RuntimeError("KernelPool is closed")
        while len(self._pending) < self.size and (self.limit is None or self._scheduled < self.limit):
            self._scheduled += 1
            self._pending.append(asyncio.ensure_future(self._start_one()))

    async def _start_one(self) -> Kernel:
        env = kernel_env()
        km = launch(self.kernel_name)
        await start_process(km, self.cwd, env)
        self.started += 1
        return await connect(km, self.start_timeout, pooled=True)

    async def acquire(self, kernel_name: str | None = None, start_timeout: float | None = None) -> Kernel:
        """A ready kernel (the oldest warm one); a replacement starts in the background."""
        if kernel_name is not None and kernel_name != self.kernel_name:
            return await start_kernel(kernel_name, start_timeout=start_timeout or self.start_timeout)
        for _attempt in range(3):
            if not self._pending:
                if self.limit is not None:
                    self.limit += 1  # more demand than announced: start one anyway
                self.fill()
            task = self._pending.popleft()
            self.fill()
            kernel = await task
            if await kernel.is_alive():
                return kernel
            await kernel.shutdown(now=True)
        raise KernelStartError(self.kernel_name, "warm kernels kept dying right after start")

    async def close(self) -> None:
        """Shut down the warm kernels that were not handed out."""
        self._closed = True
        pending, self._pending = list(self._pending), deque()
        for task in pending:
            try:
                kernel = await task
            except BaseException:  # noqa: BLE001 - failed or cancelled starts have nothing to stop
                continue
            await kernel.shutdown(now=True)

    @property
    def warm(self) -> int:
        """Kernels started and ready to hand out right now."""
        return sum(1 for t in self._pending if t.done() and not t.cancelled() and t.exception() is None)

