"""What a user reads when a notebook test fails: the cell's source, numbered, and the kernel's
traceback without ANSI colours; never the notebook's JSON."""

from __future__ import annotations

import re
from typing import Any, Mapping

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
MAX_SOURCE_LINES = 30
MAX_TRACEBACK_LINES = 60


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def numbered(source: str, limit: int = MAX_SOURCE_LINES) -> str:
    lines = source.splitlines() or [""]
    width = len(str(len(lines)))
    shown = lines if len(lines) <= limit else lines[: limit - 1]
    out = [f"  {str(i).rjust(width)} | {line}" for i, line in enumerate(shown, start=1)]
    if len(shown) < len(lines):
        out.append(f"  {''.rjust(width)} | ... ({len(lines) - len(shown)} more lines)")
    return "\n".join(out)


def traceback_text(traceback: list[str] | None) -> str:
    text = strip_ansi("\n".join(traceback or [])).rstrip()
    lines = text.splitlines()
    if len(lines) > MAX_TRACEBACK_LINES:
        cut = len(lines) - MAX_TRACEBACK_LINES
        lines = lines[:10] + [f"... ({cut} lines) ..."] + lines[-(MAX_TRACEBACK_LINES - 10):]
    return "\n".join(lines)


def _section(title: str) -> str:
    return f"{'-' * 8} {title} {'-' * max(4, 60 - len(title))}"


def format_cell_failure(error: Any, cell: Mapping[str, Any] | None, hint: str = "") -> str:
    """The report of a failed notebook cell (CellExecutionFailed, timeout, kernel death...)."""
    nb = getattr(error, "notebook", None) or "notebook"
    where = error.where() if hasattr(error, "where") else ""
    head = f"{nb}: {where}" if where else nb
    ename = getattr(error, "ename", type(error).__name__)
    parts = []
    from mlnb.execute._errors import CellExecutionFailed

    if isinstance(error, CellExecutionFailed):
        parts.append(f"{head} raised {ename}")
    else:
        parts.append(f"{head}\n{str(error).splitlines()[-1]}")
    if cell is not None:
        parts.append(_section("cell source"))
        parts.append(numbered(str(cell.get("source", ""))))
    tb = getattr(error, "traceback", None)
    if tb:
        parts.append(_section("traceback"))
        parts.append(traceback_text(tb))
    elif isinstance(error, CellExecutionFailed):
        parts.append(f"{ename}: {error.evalue}")
    if hint:
        parts.append(hint)
    return "\n".join(parts)


def format_kernel_error(error: Any) -> str:
    """str() of a NotebookRuntimeError: what was run, and the kernel's traceback."""
    what = getattr(error, "what", None)
    if what is None and getattr(error, "cell_index", None) is not None:
        what = f"{error.where()} of {error.notebook}"
    what = what or "code in the notebook's kernel"
    parts = [f"{error.ename}: {error.evalue}", f"(raised by {what})"]
    code = getattr(error, "code", None)
    if code:
        parts.append(_section("code"))
        parts.append(numbered(code))
    if error.traceback:
        parts.append(_section("traceback"))
        parts.append(traceback_text(error.traceback))
    return "\n".join(parts)
