"""Errors of headless execution: bad input (``UsageError``) and failed runs (``ExecutionError``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlnb.errors import MlnbError, UsageError

if TYPE_CHECKING:
    from mlnb.execute._parameters import Parameter

__all__ = [
    "NotebookReadError",
    "ParameterError",
    "ExecutionError",
    "CellExecutionFailed",
    "CellTimeoutError",
    "KernelDiedError",
    "KernelStartError",
    "ExecutionInterrupted",
]


class NotebookReadError(UsageError):
    """The notebook file is missing or is not a notebook mlnb can read."""

    def __init__(self, path: str, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"Cannot read notebook {path}: {reason}")


def _params_table(parameters: list[Parameter]) -> str:
    if not parameters:
        return "  (none: the cell tagged 'parameters' defines no names)"
    width = max(len(p.name) for p in parameters)
    return "\n".join(f"  {p.name.ljust(width)}  {p.type}" for p in parameters)


class ParameterError(UsageError):
    """A parameter the caller passed is unknown, has the wrong type, or a required one is missing.

    Raised before any kernel starts. ``problems`` lists one sentence per bad parameter;
    ``parameters`` are the notebook's declared parameters (for the table in the message).
    """

    def __init__(
        self,
        problems: list[str],
        parameters: list[Parameter] | None = None,
        notebook: str | None = None,
    ) -> None:
        self.problems = problems
        self.parameters = parameters or []
        self.notebook = notebook
        where = f" for {notebook}" if notebook else ""
        head = "; ".join(problems)
        msg = f"Invalid parameters{where}: {head}"
        if parameters is not None:
            msg += "\nValid parameters (name, type):\n" + _params_table(self.parameters)
        super().__init__(msg)


class ExecutionError(MlnbError):
    """The notebook ran but did not finish: a cell failed, timed out, or the kernel died.

    Carries where it happened (``cell_index`` in the executed notebook, ``cell_id``,
    ``execution_count``, ``source_line``: the cell's first non-blank source line).
    """

    status = "failed"
    ename = "ExecutionError"

    def __init__(
        self,
        message: str,
        *,
        cell_index: int | None = None,
        cell_id: str | None = None,
        execution_count: int | None = None,
        source_line: str = "",
        notebook: str | None = None,
    ) -> None:
        self.cell_index = cell_index
        self.cell_id = cell_id
        self.execution_count = execution_count
        self.source_line = source_line
        self.notebook = notebook
        self.evalue = message
        super().__init__(message)

    def where(self) -> str:
        """``cell 4 (id 'a1b2', In [3]): x = 1 / 0`` – how a user finds the cell."""
        if self.cell_index is None:
            return "before the first cell"
        bits = [f"id {self.cell_id!r}"] if self.cell_id else []
        if self.execution_count is not None:
            bits.append(f"In [{self.execution_count}]")
        text = f"cell {self.cell_index + 1}" + (f" ({', '.join(bits)})" if bits else "")
        if self.source_line:
            text += f": {self.source_line}"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": type(self).__name__,
            "ename": self.ename,
            "evalue": self.evalue,
            "message": str(self),
            "cell_index": self.cell_index,
            "cell_id": self.cell_id,
            "execution_count": self.execution_count,
        }


class CellExecutionFailed(ExecutionError):
    """A cell raised an exception (``ename``, ``evalue``, ``traceback`` as the kernel sent them)."""

    def __init__(
        self,
        ename: str,
        evalue: str,
        traceback: list[str] | None = None,
        **where: Any,
    ) -> None:
        super().__init__(evalue, **where)
        self.ename = ename
        self.evalue = evalue
        self.traceback = list(traceback or [])
        self.args = (self._message(),)

    def _message(self) -> str:
        nb = f" of {self.notebook}" if self.notebook else ""
        return f"Execution{nb} stopped at {self.where()}\n{self.ename}: {self.evalue}"

    def __str__(self) -> str:
        return self._message()


class CellTimeoutError(ExecutionError):
    """A cell ran longer than the per-cell timeout; the kernel was interrupted and shut down."""

    ename = "CellTimeoutError"

    def __init__(self, timeout: float, **where: Any) -> None:
        self.timeout = timeout
        super().__init__(f"timed out after {timeout:g} s", **where)

    def __str__(self) -> str:
        nb = f" of {self.notebook}" if self.notebook else ""
        return (
            f"Execution{nb} stopped at {self.where()}\n"
            f"The cell ran longer than the timeout of {self.timeout:g} s per cell; "
            "raise it with --timeout SECONDS (0 or none: no limit)."
        )


class KernelDiedError(ExecutionError):
    """The kernel process exited while a cell was running (crash, ``os._exit``, out of memory)."""

    status = "killed"
    ename = "KernelDied"

    def __init__(self, **where: Any) -> None:
        super().__init__("the kernel died", **where)

    def __str__(self) -> str:
        nb = f" of {self.notebook}" if self.notebook else ""
        return (
            f"Execution{nb} stopped at {self.where()}\n"
            "The kernel died while running this cell (it crashed, exited, or ran out of memory)."
        )


class KernelStartError(ExecutionError):
    """The kernel could not be started or did not answer within the start timeout."""

    ename = "KernelStartError"

    def __init__(self, kernel_name: str, reason: str, **where: Any) -> None:
        self.kernel_name = kernel_name
        self.reason = reason
        super().__init__(f"kernel {kernel_name!r} did not start: {reason}", **where)

    def __str__(self) -> str:
        return (
            f"Kernel {self.kernel_name!r} did not start: {self.reason}. "
            "Check `jupyter kernelspec list`, or raise --start-timeout."
        )


class ExecutionInterrupted(ExecutionError):
    """The user pressed Ctrl-C: the running cell was interrupted (or, on a second Ctrl-C, its
    kernel killed), the notebook saved as far as it got, and the run marked ``killed``."""

    status = "killed"
    ename = "KeyboardInterrupt"

    def __init__(self, started: bool = True, by: str = "Ctrl-C", **where: Any) -> None:
        self.started = started
        self.by = by  # "Ctrl-C" or "SIGTERM"
        super().__init__("interrupted", **where)

    def __str__(self) -> str:
        nb = f" of {self.notebook}" if self.notebook else ""
        if not self.started:
            return f"Execution{nb} did not start: interrupted ({self.by}) before its turn."
        return f"Execution{nb} was interrupted ({self.by}) at {self.where()}"
