"""``--mlnb-compare-outputs``: fresh outputs against the stored ones, robustly.

Ignored by default: execution counts, output metadata, timestamps, memory addresses (``0x7f...``),
figure bytes (only "an image/png was shown" is compared), widget model ids, and tracebacks (the
error's name and message are compared). Numbers in text match within a relative tolerance.
Cells tagged ``mlnb-ignore-output`` (or nbval's ``nbval-ignore-output``) are not compared, nor are
cells the stored notebook never ran.
"""

from __future__ import annotations

import difflib
import math
import re
from typing import Any, Mapping, Sequence

__all__ = ["normalize_outputs", "compare_cell", "IGNORE_TAGS"]

IGNORE_TAGS = ("mlnb-ignore-output", "nbval-ignore-output")
_BINARY = ("image/", "application/pdf", "video/", "audio/")
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{4,}\b")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"
)
_TIME = re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b")
_NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|\bnan\b|\binf\b")


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _mask(text: str) -> str:
    text = _ADDRESS.sub("0x<address>", text)
    text = _DATETIME.sub("<timestamp>", text)
    return _TIME.sub("<time>", text)


def normalize_outputs(outputs: Sequence[Mapping[str, Any]]) -> list[str]:
    """One readable line-block per output, with the volatile parts masked."""
    blocks: list[str] = []
    last_stream: str | None = None
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            name = str(out.get("name", "stdout"))
            text = _mask(_text(out.get("text", "")))
            if last_stream == name and blocks:  # Jupyter splits streams arbitrarily: join them
                blocks[-1] += text
            else:
                blocks.append(f"[{name}]\n{text}")
            last_stream = name
            continue
        last_stream = None
        if kind == "error":
            blocks.append(f"[error]\n{out.get('ename')}: {_mask(str(out.get('evalue', '')))}")
        elif kind in ("execute_result", "display_data"):
            data = out.get("data") or {}
            mimes = sorted(data)
            shown = [m for m in mimes if m.startswith(_BINARY)]
            text_mime = "text/plain" if "text/plain" in data else next(
                (m for m in mimes if m.startswith("text/")), None
            )
            body = _mask(_text(data[text_mime])) if text_mime else ""
            label = "result" if kind == "execute_result" else "display"
            extra = "".join(f" <{m}>" for m in shown)
            if "application/vnd.jupyter.widget-view+json" in data:
                extra += " <widget>"
            blocks.append(f"[{label}{extra}]\n{body}")
        else:
            blocks.append(f"[{kind}]")
    return [b if b.endswith("\n") else b + "\n" for b in blocks]


def _numbers_close(a: str, b: str, rel: float, abs_: float) -> bool:
    try:
        x, y = float(a), float(b)
    except ValueError:
        return a == b
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    return math.isclose(x, y, rel_tol=rel, abs_tol=abs_)


def texts_match(expected: str, actual: str, rel: float, abs_: float = 1e-12) -> bool:
    """Equal, except that numbers may differ within the tolerance."""
    if expected == actual:
        return True
    e_nums, a_nums = _NUMBER.findall(expected), _NUMBER.findall(actual)
    if len(e_nums) != len(a_nums) or _NUMBER.sub("#", expected) != _NUMBER.sub("#", actual):
        return False
    return all(_numbers_close(x, y, rel, abs_) for x, y in zip(e_nums, a_nums))


def compare_cell(stored: Sequence[Mapping[str, Any]], fresh: Sequence[Mapping[str, Any]],
                 rel: float = 1e-5) -> str | None:
    """None when the outputs match; else a unified diff (stored → fresh) of the normalized outputs."""
    expected, actual = normalize_outputs(stored), normalize_outputs(fresh)
    if len(expected) == len(actual) and all(texts_match(e, a, rel) for e, a in zip(expected, actual)):
        return None
    diff = difflib.unified_diff(
        "".join(expected).splitlines(True), "".join(actual).splitlines(True),
        fromfile="stored outputs", tofile="fresh outputs", n=2,
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in diff).rstrip("\n")


def should_compare(cell: Mapping[str, Any], stored: Sequence[Any], stored_count: Any) -> bool:
    tags = (cell.get("metadata") or {}).get("tags") or []
    if any(t in IGNORE_TAGS for t in tags):
        return False
    return bool(stored) or stored_count is not None
