"""Render a :class:`NotebookDiff` for a terminal (ANSI colors, changed cells only, with context)
or as a self-contained HTML page (every notebook text escaped)."""

from __future__ import annotations

import difflib
import html
import re
from typing import Any

from mlnb.nbdiff._diff import NotebookDiff

__all__ = ["render_terminal", "render_html", "render_run_diff_text"]

_COLORS = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "magenta": "35",
           "cyan": "36", "bold": "1", "dim": "2"}
_B64 = re.compile(r"^[A-Za-z0-9+/=\s]*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _clean(s: str) -> str:
    """Notebook text on a terminal: no escape sequences from outputs (they would restyle it)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", s)


class _Out:
    def __init__(self, color: bool) -> None:
        self.color = color
        self.lines: list[str] = []

    def add(self, text: str, *styles: str) -> None:
        if self.color and styles:
            codes = ";".join(_COLORS[s] for s in styles)
            text = f"\x1b[{codes}m{text}\x1b[0m"
        self.lines.append(text)


def _source_lines(a: str, b: str, context: int) -> list[tuple[str, str]]:
    """Unified-diff lines (style, text) of a cell source, hunks with ``context`` lines."""
    out = []
    la, lb = a.splitlines(), b.splitlines()
    for line in difflib.unified_diff(la, lb, lineterm="", n=context):
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            out.append(("cyan", line))
        elif line.startswith("+"):
            out.append(("green", line))
        elif line.startswith("-"):
            out.append(("red", line))
        else:
            out.append(("", line))
    return out


def _cell_title(c: dict[str, Any]) -> str:
    idx = c["b_index"] if c["b_index"] is not None else c["a_index"]
    cid = f" id={c['id']}" if c.get("id") else ""
    status = "moved" if c.get("moved") else c["status"]
    where = f"cell {idx}" if c["status"] != "modified" or c["a_index"] == c["b_index"] else \
        f"cell {c['a_index']} → {c['b_index']}"
    return f"## {status} {c.get('cell_type')} {where}{cid}"


def _output_lines(changes: list[dict[str, Any]], context: int) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for ch in changes:
        mime = f" {ch['mime']}" if ch.get("mime") else ""
        out.append(("yellow", f"  output {ch['index']}{mime}: {ch['summary']}"))
        if ch.get("kind") == "text" and "a" in ch:
            for style, line in _source_lines(ch["a"], ch["b"], min(context, 1)):
                out.append((style, "    " + line))
        elif ch.get("kind") == "table":
            for cell in ch.get("cells", [])[:10]:
                out.append(("", f"    [{cell['row']},{cell['col']}] {cell['a']} → {cell['b']}"))
            if len(ch.get("cells", [])) > 10:
                out.append(("dim", f"    ... {len(ch['cells']) - 10} more"))
    return out


def render_terminal(d: NotebookDiff, color: bool = False, context: int = 3,
                    names: tuple[str, str] = ("a", "b"), header: list[str] | None = None) -> str:
    """Changed cells only, with ``context`` source lines around edits; unchanged runs of cells
    collapse to one line."""
    o = _Out(color)
    o.add(f"--- {names[0]}", "bold")
    o.add(f"+++ {names[1]}", "bold")
    for line in header or []:
        o.add(line, "magenta")
    if not d.changed:
        o.add("(no changes)", "dim")
        return "\n".join(o.lines) + "\n"
    for entry in d.metadata:
        o.add(f"## notebook metadata: {entry['op']} {entry['key']}", "blue")
    cells_a, cells_b = d.a.get("cells", []), d.b.get("cells", [])
    skipped = 0
    for c in d.cells:
        if c["status"] == "unchanged":
            skipped += 1
            continue
        if skipped:
            o.add(f"   ... {skipped} unchanged cell{'s' if skipped > 1 else ''}", "dim")
            skipped = 0
        o.add(_cell_title(c), "bold", "blue")
        if c["status"] == "added":
            for line in str(cells_b[c["b_index"]].get("source", "")).splitlines():
                o.add(_clean("+" + line), "green")
            continue
        if c["status"] == "deleted":
            for line in str(cells_a[c["a_index"]].get("source", "")).splitlines():
                o.add(_clean("-" + line), "red")
            continue
        if "cell_type_change" in c:
            o.add(f"  cell type {c['cell_type_change']['a']} → {c['cell_type_change']['b']}", "yellow")
        if c.get("source"):
            sa = str(cells_a[c["a_index"]].get("source", ""))
            sb = str(cells_b[c["b_index"]].get("source", ""))
            for style, line in _source_lines(sa, sb, context):
                o.add(_clean(line), *((style,) if style else ()))
        if "execution_count" in c:
            ec = c["execution_count"]
            o.add(f"  execution count {ec['a']} → {ec['b']}", "dim")
        for entry in c.get("metadata", []):
            o.add(f"  metadata: {entry['op']} {entry['key']}", "yellow")
        if c.get("attachments"):
            o.add("  attachments changed", "yellow")
        for style, line in _output_lines(c.get("outputs", []), context):
            o.add(_clean(line), *((style,) if style else ()))
    if skipped:
        o.add(f"   ... {skipped} unchanged cell{'s' if skipped > 1 else ''}", "dim")
    n = d.counts()
    o.add(f"{n['modified']} modified, {n['added']} added, {n['deleted']} deleted, "
          f"{n['moved']} moved, {n['unchanged']} unchanged", "dim")
    return "\n".join(o.lines) + "\n"


def render_run_diff_text(rd: dict[str, Any]) -> list[str]:
    """``lr 0.1 → 0.2`` lines for the params and final metrics that changed between two runs."""
    a, b = rd["runs"][0], rd["runs"][1]
    lines = [f"runs {a['id'][:8]} ({a.get('name') or '-'}) → {b['id'][:8]} ({b.get('name') or '-'})"]
    for title, rows in (("params", rd["params"]), ("metrics", rd["metrics"])):
        changed = [r for r in rows if r["changed"]]
        if changed:
            lines.append(f"{title}: " + ", ".join(
                f"{r['key']} {_fmt(r['a'])} → {_fmt(r['b'])}" for r in changed))
        same = len(rows) - len(changed)
        if same:
            lines.append(f"{title}: {same} unchanged")
    return lines


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.2em}.cell{border:1px solid #ccc;border-radius:4px;margin:1em 0}
.cell h2{font-size:1em;margin:0;padding:.4em .6em;background:#f3f3f3}
pre{margin:0;padding:.2em .6em;white-space:pre-wrap}.add{background:#e6ffed}.del{background:#ffeef0}
.hunk{color:#0550ae}.out{padding:.3em .6em;color:#6f4e00}.skip{color:#888;margin:.3em 0}
.runs{background:#f6f0ff;padding:.5em .8em;border-radius:4px}
img{max-width:45%;border:1px solid #ddd;margin:.3em}
"""


def _img(cell: dict[str, Any] | None, index: int, mime: str) -> str:
    if cell is None:
        return ""
    outs = cell.get("outputs") or []
    if index >= len(outs):
        return ""
    data = (outs[index].get("data") or {}).get(mime)
    if not isinstance(data, str) or mime not in ("image/png", "image/jpeg", "image/gif") \
            or not _B64.match(data):
        return ""
    return f'<img alt="output {index}" src="data:{mime};base64,{data.replace(chr(10), "")}">'


def render_html(d: NotebookDiff, names: tuple[str, str] = ("a", "b"),
                header: list[str] | None = None) -> str:
    """A standalone HTML page; notebook text is escaped, images only as validated data URIs."""
    e = html.escape
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>mlnb diff</title>"
             f"<style>{_CSS}</style></head><body><h1>{e(names[0])} → {e(names[1])}</h1>"]
    if header:
        parts.append("<div class='runs'>" + "<br>".join(e(h) for h in header) + "</div>")
    cells_a, cells_b = d.a.get("cells", []), d.b.get("cells", [])
    if not d.changed:
        parts.append("<p>No changes.</p>")
    for entry in d.metadata:
        parts.append(f"<div class='out'>notebook metadata: {e(entry['op'])} {e(str(entry['key']))}</div>")
    skipped = 0
    for c in d.cells:
        if c["status"] == "unchanged":
            skipped += 1
            continue
        if skipped:
            parts.append(f"<div class='skip'>… {skipped} unchanged cells</div>")
            skipped = 0
        parts.append(f"<div class='cell'><h2>{e(_cell_title(c)[3:])}</h2>")
        ca = cells_a[c["a_index"]] if c["a_index"] is not None else None
        cb = cells_b[c["b_index"]] if c["b_index"] is not None else None
        if c["status"] == "added" and cb is not None:
            parts.append(f"<pre class='add'>{e(str(cb.get('source', '')))}</pre>")
        elif c["status"] == "deleted" and ca is not None:
            parts.append(f"<pre class='del'>{e(str(ca.get('source', '')))}</pre>")
        else:
            if c.get("source") and ca is not None and cb is not None:
                for style, line in _source_lines(str(ca.get("source", "")),
                                                 str(cb.get("source", "")), 3):
                    cls = {"green": "add", "red": "del", "cyan": "hunk"}.get(style, "")
                    parts.append(f"<pre class='{cls}'>{e(line)}</pre>")
            for entry in c.get("metadata", []):
                parts.append(f"<div class='out'>metadata: {e(entry['op'])} {e(str(entry['key']))}</div>")
            for ch in c.get("outputs", []):
                mime = ch.get("mime") or ""
                parts.append(f"<div class='out'>output {ch['index']} {e(mime)}: {e(ch['summary'])}</div>")
                if ch.get("kind") == "image":
                    parts.append(_img(ca, ch["index"], mime) + _img(cb, ch["index"], mime))
                elif ch.get("kind") == "text" and "a" in ch:
                    for style, line in _source_lines(ch["a"], ch["b"], 1):
                        cls = {"green": "add", "red": "del", "cyan": "hunk"}.get(style, "")
                        parts.append(f"<pre class='{cls}'>{e(line)}</pre>")
                elif ch.get("kind") == "table":
                    rows = "".join(f"<tr><td>{x['row']}</td><td>{x['col']}</td><td class='del'>"
                                   f"{e(str(x['a']))}</td><td class='add'>{e(str(x['b']))}</td></tr>"
                                   for x in ch.get("cells", [])[:50])
                    parts.append(f"<table><tr><th>row</th><th>col</th><th>before</th><th>after</th>"
                                 f"</tr>{rows}</table>")
        parts.append("</div>")
    if skipped:
        parts.append(f"<div class='skip'>… {skipped} unchanged cells</div>")
    parts.append("</body></html>")
    return "\n".join(parts)
