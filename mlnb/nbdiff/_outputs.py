"""Output comparison that understands content: images by pixels, text with a float tolerance,
HTML tables (pandas DataFrames) cell by cell. Each comparison returns ``None`` when equal or a
JSON-able change record ``{"kind", "summary", ...}``.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
from html.parser import HTMLParser
from typing import Any

__all__ = ["compare_outputs", "compare_text", "compare_image", "compare_html_tables",
           "parse_html_tables", "pillow_available", "TRANSIENT_OUTPUT_KEYS"]

#: Output fields that change on every run without meaning anything.
TRANSIENT_OUTPUT_KEYS = ("execution_count", "transient")

_NUM = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)\b")

_pillow: bool | None = None


def pillow_available() -> bool:
    global _pillow
    if _pillow is None:
        try:
            import PIL.Image  # noqa: F401

            _pillow = True
        except ImportError:
            _pillow = False
    return _pillow


def _close(x: str, y: str, tol: float) -> bool:
    try:
        fx, fy = float(x), float(y)
    except ValueError:
        return x == y
    if math.isnan(fx) and math.isnan(fy):
        return True
    return math.isclose(fx, fy, rel_tol=tol, abs_tol=tol)


def text_equal(a: str, b: str, tol: float = 0.0) -> bool:
    """Equal, or equal up to numbers that differ by at most ``tol`` (absolute or relative)."""
    if a == b:
        return True
    if tol <= 0:
        return False
    if _NUM.sub("#", a) != _NUM.sub("#", b):
        return False
    na, nb = _NUM.findall(a), _NUM.findall(b)
    return len(na) == len(nb) and all(_close(x, y, tol) for x, y in zip(na, nb))


def compare_text(a: str, b: str, tol: float = 0.0) -> dict[str, Any] | None:
    if text_equal(a, b, tol):
        return None
    la, lb = a.splitlines(), b.splitlines()
    changed = sum(1 for x, y in zip(la, lb) if not text_equal(x, y, tol)) + abs(len(la) - len(lb))
    return {"kind": "text", "summary": f"{changed} of {max(len(la), len(lb))} lines changed",
            "a": a, "b": b}


def _decode_image(data: str) -> Any:
    from PIL import Image

    raw = base64.b64decode(data.replace("\n", ""), validate=False)
    img = Image.open(io.BytesIO(raw))
    img.load()
    return img.convert("RGBA")


def compare_image(mime: str, a: str, b: str) -> dict[str, Any] | None:
    """Changed-pixel share of two base64 images (same bytes → equal without decoding)."""
    if a.replace("\n", "") == b.replace("\n", ""):
        return None
    if mime == "image/svg+xml":
        return {"kind": "image", "summary": "SVG changed", "mime": mime}
    if not pillow_available():
        return {"kind": "image", "mime": mime, "share": None,
                "summary": "image bytes differ (install Pillow to compare pixels)"}
    try:
        ia, ib = _decode_image(a), _decode_image(b)
    except (OSError, ValueError, binascii.Error, SyntaxError) as e:
        return {"kind": "image", "mime": mime, "share": None,
                "summary": f"image bytes differ (cannot decode: {e})"}
    if ia.size != ib.size:
        return {"kind": "image", "mime": mime, "share": 1.0, "size_a": list(ia.size),
                "size_b": list(ib.size),
                "summary": f"size {ia.size[0]}x{ia.size[1]} → {ib.size[0]}x{ib.size[1]}"}
    from PIL import ImageChops

    diff = ImageChops.difference(ia, ib)
    total = ia.size[0] * ia.size[1]
    # a pixel changed when any channel differs: count nonzero pixels of the per-pixel max
    bands = diff.split()
    mx = bands[0]
    for band in bands[1:]:
        mx = ImageChops.lighter(mx, band)
    changed = total - mx.histogram()[0]
    if changed == 0:
        return None  # same pixels, different encoding
    share = changed / total if total else 0.0
    return {"kind": "image", "mime": mime, "share": share, "size_a": list(ia.size),
            "size_b": list(ib.size), "summary": f"{share:.1%} of pixels changed "
            f"({ia.size[0]}x{ia.size[1]})"}


class _TableParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._depth = 0
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag == "table":
            self._depth += 1
            if self._depth == 1:
                self.tables.append([])
        elif self._depth == 1 and tag == "tr":
            self._row = []
        elif self._depth == 1 and tag in ("td", "th") and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._depth = max(0, self._depth - 1)
        elif self._depth == 1 and tag in ("td", "th") and self._cell is not None:
            assert self._row is not None
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif self._depth == 1 and tag == "tr" and self._row is not None:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parse_html_tables(html: str) -> list[list[list[str]]]:
    """Tables of an HTML fragment as rows of cell texts (nested tables flattened into text)."""
    if "<table" not in html:
        return []
    p = _TableParser()
    try:
        p.feed(html)
        p.close()
    except Exception:  # HTMLParser is lenient; anything odd means "not a table we understand"
        return []
    return p.tables


def compare_html_tables(a: str, b: str, tol: float = 0.0) -> dict[str, Any] | None:
    """Compare HTML outputs holding tables cell by cell; ``None`` when the tables are equal
    (and the HTML around them too)."""
    ta, tb = parse_html_tables(a), parse_html_tables(b)
    if not ta or not tb:
        return None if text_equal(a, b, tol) else {"kind": "html", "summary": "HTML changed"}
    if len(ta) != len(tb):
        return {"kind": "table", "summary": f"{len(ta)} tables → {len(tb)} tables", "cells": []}
    changes: list[dict[str, Any]] = []
    shapes = []
    for t, (x, y) in enumerate(zip(ta, tb)):
        shape_x = (len(x), max((len(r) for r in x), default=0))
        shape_y = (len(y), max((len(r) for r in y), default=0))
        if shape_x != shape_y:
            shapes.append(f"shape {shape_x[0]}x{shape_x[1]} → {shape_y[0]}x{shape_y[1]}")
        for r in range(max(len(x), len(y))):
            rx = x[r] if r < len(x) else []
            ry = y[r] if r < len(y) else []
            for c in range(max(len(rx), len(ry))):
                vx = rx[c] if c < len(rx) else None
                vy = ry[c] if c < len(ry) else None
                if vx is None or vy is None or not text_equal(vx, vy, tol):
                    changes.append({"table": t, "row": r, "col": c, "a": vx, "b": vy})
    if not changes and not shapes:
        return None
    total = sum(len(r) for tbl in tb for r in tbl) or 1
    summary = "; ".join(shapes + [f"{len(changes)} of {total} table cells changed"])
    return {"kind": "table", "summary": summary, "cells": changes[:200]}


def _output_text(out: dict[str, Any]) -> str:
    if out.get("output_type") == "stream":
        return str(out.get("text", ""))
    if out.get("output_type") == "error":
        return f"{out.get('ename')}: {out.get('evalue')}"
    return ""


def compare_output(a: dict[str, Any], b: dict[str, Any], tol: float = 0.0) -> dict[str, Any] | None:
    """One output against another; ``None`` when equal in content."""
    ta, tb = a.get("output_type"), b.get("output_type")
    if ta != tb:
        return {"kind": "type", "summary": f"{ta} → {tb}"}
    if ta == "stream":
        if a.get("name") != b.get("name"):
            return {"kind": "type", "summary": f"{a.get('name')} → {b.get('name')}"}
        return compare_text(str(a.get("text", "")), str(b.get("text", "")), tol)
    if ta == "error":
        ea, eb = _output_text(a), _output_text(b)
        return None if ea == eb else {"kind": "error", "summary": f"{ea} → {eb}", "a": ea, "b": eb}
    da, db = a.get("data") or {}, b.get("data") or {}
    if not isinstance(da, dict) or not isinstance(db, dict):
        return None if da == db else {"kind": "data", "summary": "output data changed"}
    if set(da) != set(db):
        return {"kind": "mime", "summary": f"types {sorted(da)} → {sorted(db)}",
                "mimes_a": sorted(da), "mimes_b": sorted(db)}
    # the richest representation decides; text/plain is a fallback when a richer one exists
    for mime in sorted(da, key=_mime_rank):
        va, vb = da[mime], db[mime]
        if mime.startswith("image/"):
            ch = compare_image(mime, str(va), str(vb))
        elif mime == "text/html":
            ch = compare_html_tables(str(va), str(vb), tol)
        elif isinstance(va, str) and isinstance(vb, str):
            ch = compare_text(va, vb, tol)
        else:
            ch = None if va == vb else {"kind": "data", "summary": f"{mime} changed"}
        if ch is not None:
            ch["mime"] = mime
            return ch
        if mime != "text/plain":
            return None  # the rich representation is equal: ignore the plain-text repr
    if a.get("metadata") != b.get("metadata"):
        return {"kind": "metadata", "summary": "output metadata changed"}
    return None


def _mime_rank(mime: str) -> tuple[int, str]:
    if mime.startswith("image/"):
        return (0, mime)
    if mime == "text/html":
        return (1, mime)
    if mime == "text/plain":
        return (9, mime)
    return (5, mime)


def compare_outputs(a: list[dict[str, Any]], b: list[dict[str, Any]],
                    tol: float = 0.0) -> list[dict[str, Any]]:
    """Per-output changes by position: ``[{"index", "op": "changed"|"added"|"removed", ...}]``."""
    out: list[dict[str, Any]] = []
    for k in range(max(len(a), len(b))):
        if k >= len(a):
            out.append({"index": k, "op": "added", "kind": b[k].get("output_type"),
                        "summary": f"new {b[k].get('output_type')} output"})
        elif k >= len(b):
            out.append({"index": k, "op": "removed", "kind": a[k].get("output_type"),
                        "summary": f"{a[k].get('output_type')} output removed"})
        else:
            ch = compare_output(a[k], b[k], tol)
            if ch is not None:
                ch.update(index=k, op="changed")
                out.append(ch)
    return out
