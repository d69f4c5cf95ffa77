"""A papermill engine on mlnb's runner: ``papermill --engine mlnb in.ipynb out.ipynb -p lr 0.1``.

Registered through the ``papermill.engine`` entry point ``mlnb``. Compared with papermill's default
engine it validates the parameters against the ``parameters`` cell (unknown names and wrong types
fail before the kernel starts), saves the output notebook at most every second instead of after
every cell, sends cell ids to the kernel and records the execution as an mlnb run (pass
``track=False`` to ``papermill.execute_notebook`` to skip that).

Papermill keeps its own duties: parameter injection, the per-cell ``metadata.papermill`` fields,
the progress bar and the error banner it adds when it raises ``PapermillExecutionError``.
"""

from __future__ import annotations

import os
from typing import Any

from papermill.engines import Engine, NotebookExecutionManager
from papermill.log import logger

from mlnb.execute._progress import Reporter
from mlnb.execute._runner import _run_sync, prepare, run_prepared

__all__ = ["MlnbEngine"]


class _PapermillReporter(Reporter):
    """Keeps papermill's per-cell metadata and progress bar up to date, without saving per cell."""

    def __init__(
        self, nb_man: NotebookExecutionManager, log_output: bool, stdout_file: Any = None, stderr_file: Any = None
    ) -> None:
        self.nb_man = nb_man
        self.log_cells = log_output
        self.stdout_file, self.stderr_file = stdout_file, stderr_file
        self.log_output = bool(log_output or stdout_file or stderr_file)

    def cell_start(self, number: int, total: int, cell: Any) -> None:
        pm = cell.get("metadata", {}).get("papermill")
        if pm is not None:
            pm["start_time"] = self.nb_man.now().isoformat()
            pm["status"] = self.nb_man.RUNNING
            pm["exception"] = False
        if self.log_cells:
            logger.info(f"Executing Cell {number:-<40}")

    def cell_end(
        self, number: int, total: int, cell: Any, status: str, duration: float, error: str | None = None
    ) -> None:
        pm = cell.get("metadata", {}).get("papermill")
        if status != "ok":
            self.nb_man.cell_exception(cell)
        if pm is not None:
            pm["end_time"] = self.nb_man.now().isoformat()
            pm["duration"] = duration
            if pm.get("status") != self.nb_man.FAILED:
                pm["status"] = self.nb_man.COMPLETED
        if self.nb_man.pbar:
            self.nb_man.pbar.update(1)

    def output(self, output: Any) -> None:
        # papermill's routing: stdout -> logger.info and --stdout-file, stderr -> logger.warning
        # and --stderr-file, text results -> logger.info
        if output.get("output_type") == "stream":
            text = "".join(output.get("text", ""))
            err = output.get("name") == "stderr"
            if self.log_cells:
                (logger.warning if err else logger.info)(text)
            f = self.stderr_file if err else self.stdout_file
            if f is not None:
                f.write(text)
                f.flush()
        elif self.log_cells and "text/plain" in (output.get("data") or {}):
            logger.info("".join(output["data"]["text/plain"]))

    def message(self, text: str) -> None:
        logger.warning(text)


class MlnbEngine(Engine):
    """papermill engine running notebooks with :mod:`mlnb.execute`."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: NotebookExecutionManager,
        kernel_name: str | None,
        log_output: bool = False,
        stdout_file: Any = None,
        stderr_file: Any = None,
        start_timeout: float = 60,
        execution_timeout: float | None = None,
        input_path: str | None = None,
        track: bool = True,
        parent_run_id: str | None = None,
        **kwargs: Any,
    ) -> Any:
        nb = nb_man.nb
        papermill_md = nb.metadata.get("papermill", {})
        source = input_path or papermill_md.get("input_path") or "notebook.ipynb"
        # papermill already injected the parameters; validate them against the defaults
        prep = prepare(
            source,
            parameters=dict(papermill_md.get("parameters") or {}),
            cwd=os.getcwd(),  # papermill chdir()s into its --cwd around the engine
            kernel_name=kernel_name,
            nb=nb,
            inject=False,
        )
        timeout = execution_timeout if execution_timeout else kwargs.get("timeout")
        result = _run_sync(
            run_prepared(
                prep,
                timeout=timeout,
                start_timeout=start_timeout,
                reporter=_PapermillReporter(nb_man, log_output, stdout_file, stderr_file),
                track=track,
                parent_run_id=parent_run_id,
                write=lambda _nb: nb_man.save(),
                papermill_metadata=False,
                error_markers=False,  # papermill adds its own when it raises
            )
        )
        if result.run_id:
            logger.info(f"mlnb run: {result.run_id}")
        nb_man.nb = result.notebook
        return result.notebook
