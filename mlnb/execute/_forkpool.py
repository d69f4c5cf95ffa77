"""A :class:`~mlnb.execute.KernelPool` whose kernels are forked by :mod:`._forkserver`."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from typing import Any

from jupyter_client.manager import AsyncKernelManager

from mlnb.execute._kernel import Kernel, KernelPool, _use_ipc, connect, kernel_env, start_process

__all__ = ["ForkServer", "ForkPool"]

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_forkserver.py")


class ForkKernelManager(AsyncKernelManager):
    """Launches the fork client instead of ``python -m ipykernel_launcher``."""

    fork_socket: str = ""

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd = super().format_kernel_cmd(extra_arguments)
        i = cmd.index("ipykernel_launcher")
        return [sys.executable, SCRIPT, "kernel", self.fork_socket, "--", *cmd[i + 1:]]


def forkable(kernel_name: str) -> bool:
    """An ipykernel kernel of this very Python (the server can only fork itself)."""
    if os.name != "posix" or not hasattr(os, "fork"):
        return False
    try:
        spec = AsyncKernelManager(kernel_name=kernel_name).kernel_spec
    except Exception:  # noqa: BLE001
        return False
    if spec is None or len(spec.argv) < 3 or spec.argv[1:3] != ["-m", "ipykernel_launcher"]:
        return False
    exe = spec.argv[0]
    if os.path.basename(exe) in ("python", "python3") and not os.path.isabs(exe):
        exe = shutil.which(exe) or exe
    try:
        return os.path.samefile(exe, sys.executable)
    except OSError:
        return False


class ForkServer:
    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="mlnb-k-")
        self.path = os.path.join(self.dir, "s")
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, timeout: float = 60) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, SCRIPT, "serve", self.path, stdout=asyncio.subprocess.PIPE,
            stdin=asyncio.subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if line.strip() != b"ready":
            await self.stop()
            raise RuntimeError("the kernel fork server did not start")

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            try:
                proc.terminate()
                await asyncio.wait_for(proc.wait(), 10)
            except Exception:  # noqa: BLE001
                try:
                    proc.kill()
                except ProcessLookupError:
                    pass
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


class ForkPool(KernelPool):
    """Warm kernels, each forked from the server: a fresh process with a clean namespace."""

    def __init__(self, server: ForkServer, **kw: Any) -> None:
        super().__init__(**kw)
        self.server = server

    async def _start_one(self) -> Kernel:
        km = ForkKernelManager(kernel_name=self.kernel_name, client_class="mlnb.execute._kernel.CellIdKernelClient")
        km.fork_socket = self.server.path
        _use_ipc(km)
        await start_process(km, self.cwd, kernel_env())
        self.started += 1
        return await connect(km, self.start_timeout, pooled=True)
