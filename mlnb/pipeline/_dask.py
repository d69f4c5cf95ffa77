"""``mlnb run --executor dask --scheduler ADDRESS``: stages execute on a Dask distributed cluster.

The client (this process) keeps the scheduling, the fingerprints, ``mlnb.lock`` and the run cache;
a worker only executes one stage's notebook with :func:`mlnb.execute.execute_notebook` and
returns how it went. So workers need mlnb installed, the project at the same path (a shared file
system) and a store they can write (the same SQLite file on one machine, PostgreSQL across many).
A stage's ``resources:`` become Dask worker resources (``GPU: 1`` runs only on workers started
with ``--resources GPU=1``). Cancelling sets a Dask ``Event`` the worker watches; it then stops
the stage's kernel the same way Ctrl-C does locally.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from typing import TYPE_CHECKING, Any

from mlnb.pipeline._errors import PipelineError

if TYPE_CHECKING:
    from mlnb.pipeline._runner import Emit, _PipelineRun
    from mlnb.pipeline._spec import Stage
    from mlnb.pipeline._state import StageState

__all__ = ["DaskExecutor", "run_stage_remote"]


def run_stage_remote(project_root: str, kwargs: dict[str, Any], cancel_event: str) -> dict[str, Any]:
    """Runs on a Dask worker: execute one stage notebook, stop early if ``cancel_event`` is set."""
    os.environ["MLNB_PROJECT"] = project_root
    from distributed import Event

    from mlnb.execute import execute_notebook_async

    event = Event(cancel_event)

    async def main() -> dict[str, Any]:
        task = asyncio.ensure_future(execute_notebook_async(**kwargs))
        while not task.done():
            await asyncio.wait({task}, timeout=1.0)
            if not task.done() and await asyncio.to_thread(event.is_set):
                task.cancel()
        try:
            result = task.result()
        except asyncio.CancelledError:
            return {"status": "killed", "run_id": None, "error": "cancelled", "duration": None,
                    "output_path": None}
        from mlnb.pipeline._runner import stage_outcome

        return stage_outcome(result)

    try:
        return asyncio.run(main())
    finally:
        from mlnb import tracking

        tracking.flush()


class DaskExecutor:
    """Connects to the scheduler when the first stage needs executing (a no-op run never does)."""

    def __init__(self, address: str, log_output: bool = False) -> None:
        self.address = address
        self.log_output = log_output
        self.client: Any = None
        self._lock = asyncio.Lock()

    @classmethod
    async def connect(cls, address: str, log_output: bool = False) -> DaskExecutor:
        try:
            import distributed  # noqa: F401
        except ImportError:
            raise PipelineError(
                "--executor dask needs Dask distributed: pip install 'mlnb[dask]'."
            ) from None
        return cls(address, log_output)

    async def _client(self) -> Any:
        async with self._lock:
            if self.client is None:
                from distributed import Client

                try:
                    self.client = await Client(self.address, asynchronous=True, timeout=30)
                except (OSError, asyncio.TimeoutError) as e:
                    raise PipelineError(f"Cannot reach the Dask scheduler at {self.address}: {e}.") from None
            return self.client

    async def execute(self, run: _PipelineRun, stage: Stage, state: StageState, parent_id: str | None,
                      emit: Emit) -> dict[str, Any]:
        from distributed import Event

        client = await self._client()
        kwargs = run.execute_kwargs(stage, state, parent_id)
        token = uuid.uuid4().hex[:12]
        event_name = f"mlnb-cancel-{token}"
        future = client.submit(
            run_stage_remote, str(run.project.root), kwargs, event_name,
            key=f"mlnb-stage-{stage.name}-{token}", pure=False,
            resources=stage.resources or None,
        )
        emit({"event": "message", "stage": stage.name, "text": f"submitted to Dask as {future.key}"})
        try:
            return await future
        except asyncio.CancelledError:
            try:
                await asyncio.shield(Event(event_name, client=client).set())
                await asyncio.shield(asyncio.wait_for(future, timeout=60))
            except BaseException:  # noqa: BLE001 - best effort; the run is being torn down
                pass
            raise

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()
