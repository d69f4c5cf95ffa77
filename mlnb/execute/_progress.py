"""Live progress of a headless run: a rich bar on a terminal, plain lines in CI logs, or nothing.

With ``log_output`` the cells' outputs are streamed as they arrive: stdout text to stdout,
stderr text and tracebacks to stderr, text results (``execute_result``/``display_data``
``text/plain``) to stdout.
"""

from __future__ import annotations

import sys
from typing import IO, Any

__all__ = ["Reporter", "LineReporter", "RichReporter", "make_reporter"]


def first_line(source: str, width: int = 60) -> str:
    for line in source.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= width else line[: width - 3] + "..."
    return ""


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


class Reporter:
    """Receives the run's events. The base class shows nothing (``progress=None``)."""

    log_output = False

    def start(self, notebook: str, total: int) -> None:
        pass

    def cell_start(self, number: int, total: int, cell: Any) -> None:
        pass

    def cell_end(
        self, number: int, total: int, cell: Any, status: str, duration: float, error: str | None = None
    ) -> None:
        pass

    def output(self, output: Any) -> None:
        """One output of the running cell (only when ``log_output``)."""
        if output.get("output_type") == "stream":
            stream = sys.stderr if output.get("name") == "stderr" else sys.stdout
            self.write(_text(output.get("text", "")), stream)
        elif output.get("output_type") in ("execute_result", "display_data"):
            data = output.get("data") or {}
            if "text/plain" in data:
                self.write(_text(data["text/plain"]) + "\n", sys.stdout)
        elif output.get("output_type") == "error":
            self.write("\n".join(output.get("traceback") or []) + "\n", sys.stderr)

    def write(self, text: str, stream: IO[str]) -> None:
        stream.write(text)
        stream.flush()

    def message(self, text: str) -> None:
        """A note or warning for the user (e.g. parameters that could not be validated)."""

    def finish(self, status: str, duration: float) -> None:
        pass


class LineReporter(Reporter):
    """One line a cell, for logs: ``cell 3/20 ok 0.01s``."""

    def __init__(self, stream: IO[str] | None = None, log_output: bool = False) -> None:
        self._stream = stream
        self.log_output = log_output

    @property
    def stream(self) -> IO[str]:
        return self._stream or sys.stderr

    def _line(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def start(self, notebook: str, total: int) -> None:
        self._line(f"executing {notebook} ({total} code cells)")

    def cell_start(self, number: int, total: int, cell: Any) -> None:
        if self.log_output:
            self._line(f"cell {number}/{total} started: {first_line(cell.get('source', ''))}")

    def cell_end(
        self, number: int, total: int, cell: Any, status: str, duration: float, error: str | None = None
    ) -> None:
        text = f"cell {number}/{total} {status} {duration:.2f}s"
        if error:
            text += f" {error}"
        self._line(text)

    def message(self, text: str) -> None:
        self._line(f"mlnb: {text}")

    def finish(self, status: str, duration: float) -> None:
        self._line(f"{status} in {duration:.2f}s")


class RichReporter(Reporter):
    """A progress bar on a terminal (rich, imported only when used)."""

    def __init__(self, log_output: bool = False) -> None:
        self.log_output = log_output
        self._progress: Any = None
        self._task: Any = None

    def start(self, notebook: str, total: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self._console = Console(stderr=True)
        self._progress = Progress(
            TextColumn("[bold]{task.fields[nb]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=self._console,
            transient=False,
        )
        self._progress.start()
        self._task = self._progress.add_task("", total=total, nb=notebook)

    def cell_start(self, number: int, total: int, cell: Any) -> None:
        if self._progress is not None:
            self._progress.update(self._task, description=first_line(cell.get("source", ""), 40))

    def cell_end(
        self, number: int, total: int, cell: Any, status: str, duration: float, error: str | None = None
    ) -> None:
        if self._progress is None:
            return
        self._progress.update(self._task, completed=number)
        if status != "ok":
            from rich.text import Text

            self._progress.console.print(
                Text(f"cell {number}/{total} {status} {duration:.2f}s {error or ''}".rstrip(), style="red")
            )

    def write(self, text: str, stream: IO[str]) -> None:
        if self._progress is not None:
            from rich.text import Text

            # print above the bar; keep the cell's own line breaks
            self._progress.console.print(Text(text.rstrip("\n")), highlight=False, markup=False)
        else:
            super().write(text, stream)

    def message(self, text: str) -> None:
        if self._progress is not None:
            from rich.text import Text

            self._progress.console.print(Text(f"mlnb: {text}", style="yellow"))
        else:
            sys.stderr.write(f"mlnb: {text}\n")

    def finish(self, status: str, duration: float) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def make_reporter(progress: Any, log_output: bool = False) -> Reporter:
    """``None``/``False``: silent (outputs still streamed if ``log_output``); ``True``/``"auto"``:
    a bar on a terminal, lines otherwise; ``"bar"``, ``"lines"``; or a :class:`Reporter`."""
    if isinstance(progress, Reporter):
        if log_output:
            progress.log_output = True
        return progress
    if progress in (None, False):
        r = Reporter()
        r.log_output = log_output
        return r
    if progress in (True, "auto"):
        progress = "bar" if _isatty(sys.stderr) else "lines"
    if progress == "bar":
        return RichReporter(log_output=log_output)
    if progress == "lines":
        return LineReporter(log_output=log_output)
    raise ValueError(f"progress must be None, True, 'auto', 'bar', 'lines' or a Reporter, not {progress!r}")


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
