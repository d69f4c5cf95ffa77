"""Ctrl-C during headless runs, the way Jupyter's stop button works.

The first Ctrl-C interrupts the running cell in every running kernel (the cell fails with
``KeyboardInterrupt``, the notebook is saved as far as it got, the run is marked ``killed``); the
second kills those kernels (a cell stuck in C code ignores interrupts); the third cancels outright.
SIGTERM (a CI job's timeout, ``kill``) acts like the second: kernels killed, notebook saved, run
ended ``killed`` - instead of dying with kernels and a run left behind.
Only the main thread can handle signals: elsewhere (a runner inside a notebook's thread) the
watch is a no-op and Ctrl-C behaves as usual.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator

__all__ = ["Interrupt", "watch_sigint"]

_targets: list[Interrupt] = []
_installed: asyncio.AbstractEventLoop | None = None


async def _quiet(coro: Any) -> None:
    try:
        await coro
    except Exception:  # noqa: BLE001 - the kernel may be gone already
        pass


class Interrupt:
    """How many times Ctrl-C was pressed during one run, and what to stop."""

    def __init__(self, kill_kernels: bool = True) -> None:
        self.count = 0
        self.kernel: Any = None  # set once the run has its kernel
        self.task = asyncio.current_task()
        self.kill_kernels = kill_kernels
        self.cancelled_by_us = False
        self.stopped = False  # the run is past its cells: stop interrupting
        self.by = "Ctrl-C"  # or "SIGTERM"

    @property
    def requested(self) -> bool:
        return self.count > 0

    def press(self) -> None:
        self.count += 1
        kernel = self.kernel
        if not self.kill_kernels:  # a batch: only remember, and cancel on the third press
            if self.count >= 3:
                self._cancel()
            return
        if kernel is None or self.count >= 3:
            self._cancel()
        elif self.count == 1:
            asyncio.ensure_future(self._interrupt(kernel))
        else:
            asyncio.ensure_future(_quiet(kernel.km.signal_kernel(signal.SIGKILL)))

    async def _interrupt(self, kernel: Any, tries: int = 5) -> None:
        # A SIGINT that reaches the kernel just before it starts the next cell is lost (ipykernel
        # ignores it while idle), as with Jupyter's stop button: repeat while the run goes on.
        for _ in range(tries):
            if self.stopped or self.kernel is not kernel:
                return
            await _quiet(kernel.km.interrupt_kernel())
            await asyncio.sleep(1.0)

    def terminate(self) -> None:
        """SIGTERM (a CI timeout, ``kill``): stop at once, still saving and ending the run."""
        self.by = "SIGTERM"
        if not self.kill_kernels:
            self.count = max(self.count, 1)
            return
        self.count = max(self.count, 1)
        self.press()  # the second press: kill the kernel (or cancel if there is none yet)

    def _cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.cancelled_by_us = True
            self.task.cancel()


def _on_sigint() -> None:
    for target in list(_targets):
        target.press()


def _on_sigterm() -> None:
    for target in list(_targets):
        target.terminate()


@contextmanager
def watch_sigint(kill_kernels: bool = True) -> Iterator[Interrupt]:
    """Route Ctrl-C to an :class:`Interrupt` for as long as the block runs."""
    global _installed
    it = Interrupt(kill_kernels)
    active = threading.current_thread() is threading.main_thread() and os.name == "posix"
    if active:
        loop = asyncio.get_running_loop()
        if _installed is not loop:
            try:
                loop.add_signal_handler(signal.SIGINT, _on_sigint)
                loop.add_signal_handler(signal.SIGTERM, _on_sigterm)
                _installed = loop
            except (NotImplementedError, RuntimeError, ValueError):
                active = False
    if active:
        _targets.append(it)
    try:
        yield it
    finally:
        if it in _targets:
            _targets.remove(it)
        if active and not _targets and _installed is not None:
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    _installed.remove_signal_handler(sig)
                except (RuntimeError, ValueError):
                    pass
            _installed = None
