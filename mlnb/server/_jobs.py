"""Background ``mlnb`` commands started by the server: pipeline runs, notebook executions.

A job is a separate ``python -m mlnb.cli ...`` process (the same code path as the terminal), so
kernels never share the server's process; its output goes to files that clients poll by byte
offset, and cancelling it is a Ctrl-C (SIGINT: the first interrupts the running cells, a second
one kills the kernels).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from tornado import web

from ._base import MlnbHandler

_ID_CHARS = frozenset("0123456789abcdef")
_SCRUBBED_ENV = ("MLNB_RUN_ID", "MLNB_NOTEBOOK", "MLNB_PARENT_RUN_ID")


class CommandJob:
    """One ``mlnb`` command this server started."""

    def __init__(self, id: str, proc: subprocess.Popen[bytes]) -> None:
        self.id = id
        self.proc = proc
        self.started = time.time()
        self.ended: float | None = None
        self.cancel_requested = 0

    def returncode(self) -> int | None:
        code = self.proc.poll()
        if code is not None and self.ended is None:
            self.ended = time.time()
        return code

    def cancel(self) -> None:
        """Ctrl-C for the command (again: its kernels are killed)."""
        if self.returncode() is None:
            self.cancel_requested += 1
            try:
                self.proc.send_signal(signal.SIGINT)
            except ProcessLookupError:
                pass

    def base_summary(self) -> dict[str, Any]:
        return {"id": self.id, "returncode": self.returncode(), "started": self.started,
                "ended": self.ended, "cancel_requested": self.cancel_requested > 0}


def read_lines(path: Path, offset: int, max_bytes: int, *, through_end: bool = False
               ) -> tuple[bytes, int]:
    """Complete lines of ``path`` from byte ``offset`` (everything when ``through_end``, for a
    finished command); the offset to ask for next."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read(max_bytes)
    except FileNotFoundError:
        return b"", offset
    end = len(data) if through_end and len(data) < max_bytes else data.rfind(b"\n") + 1
    return data[:end], offset + end


def spawn_mlnb(args: list[str], project_root: Path, cwd: str | os.PathLike[str],
               stdout: IO[bytes], stderr: IO[bytes] | int) -> subprocess.Popen[bytes]:
    """Start ``mlnb --project ROOT ARGS...`` in its own session, with the run variables of the
    server's environment removed (the command opens its own runs)."""
    cmd = [sys.executable, "-m", "mlnb.cli", "--project", str(project_root), *args]
    env = {**os.environ, "MLNB_PROJECT": str(project_root), "PYTHONUNBUFFERED": "1"}
    for key in _SCRUBBED_ENV:
        env.pop(key, None)
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                            stderr=stderr, start_new_session=True)


J = TypeVar("J", bound=CommandJob)


class JobRegistry(Generic[J]):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.jobs: dict[str, J] = {}

    def running(self) -> list[J]:
        return [j for j in self.jobs.values() if j.returncode() is None]


class JobHandler(MlnbHandler, Generic[J]):
    """Base for handlers of one kind of job: its registry (kept in the app settings), lookup by
    id (404 for an id this server did not start), and cancelling."""

    jobs_key = "mlnb_jobs"
    job_noun = "job"

    @property
    def jobs(self) -> JobRegistry[J]:
        registry = self.settings.get(self.jobs_key)
        if registry is None:
            registry = self.settings[self.jobs_key] = JobRegistry()
        return registry

    def job(self, job_id: str) -> J:
        job = self.jobs.jobs.get(job_id) if set(job_id) <= _ID_CHARS else None
        if job is None:
            raise web.HTTPError(404, f"No {self.job_noun} {job_id!r} was started by this server.")
        return job

    async def cancel_job(self, job_id: str) -> None:
        job = self.job(job_id)
        job.cancel()
        self.set_status(202)
        await self.respond(job.summary)
