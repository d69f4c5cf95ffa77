"""Notebook diff: aligned cells, per-cell changes under filters, nbdime-compatible JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from mlnb.nbdiff._align import align_cells
from mlnb.nbdiff._outputs import compare_outputs

__all__ = ["DiffOptions", "NotebookDiff", "compute_diff", "json_diff", "string_diff"]


@dataclass(frozen=True)
class DiffOptions:
    """What to compare. Parts that are off are not computed at all."""

    sources: bool = True
    outputs: bool = True
    metadata: bool = True
    execution_count: bool = False  # ignored by default: it changes on every run
    tolerance: float = 0.0         # float tolerance for text and table outputs
    fuzzy: bool = True

    @classmethod
    def only(cls, sources: bool = False, outputs: bool = False, metadata: bool = False,
             **kw: Any) -> DiffOptions:
        """nbdime's convention: naming some parts shows only those; naming none shows all."""
        if not (sources or outputs or metadata):
            sources = outputs = metadata = True
        return cls(sources=sources, outputs=outputs, metadata=metadata, **kw)


@dataclass
class NotebookDiff:
    a: dict[str, Any]
    b: dict[str, Any]
    options: DiffOptions
    cells: list[dict[str, Any]] = field(default_factory=list)
    metadata: list[dict[str, Any]] = field(default_factory=list)
    nbdime: list[dict[str, Any]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.metadata) or any(c["status"] != "unchanged" for c in self.cells)

    def counts(self) -> dict[str, int]:
        out = {"added": 0, "deleted": 0, "modified": 0, "moved": 0, "unchanged": 0}
        for c in self.cells:
            key = "moved" if c.get("moved") and c["status"] == "added" else c["status"]
            if c.get("moved") and c["status"] == "deleted":
                continue
            out[key] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: what a frontend needs (nbdime's ``{base, diff}`` plus mlnb's cell view)."""
        return {"base": self.a, "diff": self.nbdime, "cells": self.cells,
                "metadata": self.metadata, "counts": self.counts()}


# -- generic JSON diff in nbdime's format --------------------------------------------------
def string_diff(a: str, b: str) -> list[dict[str, Any]]:
    """Line-based diff of two strings (nbdime's format for multi-line strings)."""
    la, lb = a.splitlines(True), b.splitlines(True)
    ops: list[dict[str, Any]] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, la, lb, autojunk=False).get_opcodes():
        if tag in ("replace", "insert"):
            ops.append({"op": "addrange", "key": i1, "valuelist": lb[j1:j2]})
        if tag in ("replace", "delete"):
            ops.append({"op": "removerange", "key": i1, "length": i2 - i1})
    return ops


def json_diff(a: Any, b: Any, skip: tuple[str, ...] = ()) -> list[dict[str, Any]] | None:
    """nbdime diff of two JSON values; ``None`` when only a whole replace describes it."""
    if isinstance(a, dict) and isinstance(b, dict):
        ops: list[dict[str, Any]] = []
        for key in sorted(set(a) | set(b)):
            if key in skip:
                continue
            if key not in b:
                ops.append({"op": "remove", "key": key})
            elif key not in a:
                ops.append({"op": "add", "key": key, "value": b[key]})
            elif a[key] != b[key]:
                sub = json_diff(a[key], b[key])
                if sub is None:
                    ops.append({"op": "replace", "key": key, "value": b[key]})
                else:
                    ops.append({"op": "patch", "key": key, "diff": sub})
        return ops
    if isinstance(a, str) and isinstance(b, str) and ("\n" in a or "\n" in b):
        return string_diff(a, b)
    return None


# Cell metadata written by running a cell (Jupyter's timing record, papermill's per-cell
# status and durations): like execution counts, it changes on every run.
_RUN_METADATA = ("execution", "papermill")


def _stable_metadata(md: dict[str, Any], opt: DiffOptions) -> dict[str, Any]:
    if opt.execution_count or not any(k in md for k in _RUN_METADATA):
        return md
    return {k: v for k, v in md.items() if k not in _RUN_METADATA}


def _cell_changes(ca: dict[str, Any], cb: dict[str, Any], opt: DiffOptions
                  ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(mlnb's change record, nbdime diff entries) for a matched pair of cells."""
    rec: dict[str, Any] = {}
    ops: list[dict[str, Any]] = []
    if ca.get("cell_type") != cb.get("cell_type"):
        rec["cell_type_change"] = {"a": ca.get("cell_type"), "b": cb.get("cell_type")}
        ops.append({"op": "replace", "key": "cell_type", "value": cb.get("cell_type")})
    if opt.execution_count and ca.get("execution_count") != cb.get("execution_count"):
        rec["execution_count"] = {"a": ca.get("execution_count"), "b": cb.get("execution_count")}
        ops.append({"op": "replace", "key": "execution_count", "value": cb.get("execution_count")})
    if opt.metadata:
        md = json_diff(_stable_metadata(ca.get("metadata") or {}, opt),
                       _stable_metadata(cb.get("metadata") or {}, opt)) or []
        if md:
            rec["metadata"] = md
            ops.append({"op": "patch", "key": "metadata", "diff": md})
        if ca.get("attachments") != cb.get("attachments"):
            rec["attachments"] = True
            ops.append({"op": "replace", "key": "attachments", "value": cb.get("attachments")})
    if opt.outputs and (ca.get("outputs") or cb.get("outputs")):
        oa, ob = ca.get("outputs") or [], cb.get("outputs") or []
        if oa != ob:
            changes = compare_outputs(oa, ob, opt.tolerance)
            if changes:
                rec["outputs"] = changes
                skip = () if opt.execution_count else ("execution_count",)
                sub: list[dict[str, Any]] = []
                added = [c["index"] for c in changes if c["op"] == "added"]
                removed = [c["index"] for c in changes if c["op"] == "removed"]
                for c in changes:
                    if c["op"] == "changed":
                        k = c["index"]
                        d = json_diff(oa[k], ob[k], skip)
                        if d:
                            sub.append({"op": "patch", "key": k, "diff": d})
                        elif d is None:
                            sub.append({"op": "addrange", "key": k, "valuelist": [ob[k]]})
                            sub.append({"op": "removerange", "key": k, "length": 1})
                if added:
                    sub.append({"op": "addrange", "key": len(oa), "valuelist": ob[added[0]:]})
                if removed:
                    sub.append({"op": "removerange", "key": removed[0], "length": len(removed)})
                if sub:
                    ops.append({"op": "patch", "key": "outputs", "diff": sub})
    if opt.sources and ca.get("source") != cb.get("source"):
        rec["source"] = True
        ops.append({"op": "patch", "key": "source",
                    "diff": string_diff(str(ca.get("source", "")), str(cb.get("source", "")))})
    ops.sort(key=lambda e: e["key"])
    return rec, ops


def compute_diff(a: dict[str, Any], b: dict[str, Any], options: DiffOptions | None = None
                 ) -> NotebookDiff:
    """Diff two notebooks (plain dicts as read by :func:`mlnb.nbdiff.read_notebook`)."""
    opt = options or DiffOptions()
    cells_a, cells_b = a.get("cells", []), b.get("cells", [])
    pairs = align_cells(cells_a, cells_b, fuzzy=opt.fuzzy)
    result = NotebookDiff(a, b, opt)
    cell_ops: list[dict[str, Any]] = []
    # a-index before which an insert lands: the next matched-or-deleted a index
    next_a = [len(cells_a)] * (len(pairs) + 1)
    for k in range(len(pairs) - 1, -1, -1):
        i = pairs[k][0]
        next_a[k] = i if i is not None else next_a[k + 1]
    deleted_ids = {cells_a[i].get("id") for i, j in pairs if j is None and cells_a[i].get("id")}
    added_ids = {cells_b[j].get("id") for i, j in pairs if i is None and cells_b[j].get("id")}
    moved = deleted_ids & added_ids
    for k, (i, j) in enumerate(pairs):
        if i is not None and j is not None:
            ca, cb = cells_a[i], cells_b[j]
            rec, ops = _cell_changes(ca, cb, opt)
            status = "modified" if rec else "unchanged"
            result.cells.append({"status": status, "a_index": i, "b_index": j,
                                 "id": cb.get("id"), "cell_type": cb.get("cell_type"), **rec})
            if ops:
                cell_ops.append({"op": "patch", "key": i, "diff": ops})
        elif j is None:
            ca = cells_a[i]
            rec = {"status": "deleted", "a_index": i, "b_index": None, "id": ca.get("id"),
                   "cell_type": ca.get("cell_type")}
            if ca.get("id") in moved:
                rec["moved"] = True
            result.cells.append(rec)
            last = cell_ops[-1] if cell_ops else None
            if last and last["op"] == "removerange" and last["key"] + last["length"] == i:
                last["length"] += 1
            else:
                cell_ops.append({"op": "removerange", "key": i, "length": 1})
        else:
            cb = cells_b[j]
            rec = {"status": "added", "a_index": None, "b_index": j, "id": cb.get("id"),
                   "cell_type": cb.get("cell_type")}
            if cb.get("id") in moved:
                rec["moved"] = True
            result.cells.append(rec)
            key = next_a[k]
            last = cell_ops[-1] if cell_ops else None
            if last and last["op"] == "addrange" and last["key"] == key:
                last["valuelist"].append(cb)
            else:
                cell_ops.append({"op": "addrange", "key": key, "valuelist": [cb]})
    # nbdime orders entries by key, addrange before removerange/patch at the same key
    rank = {"addrange": 0, "removerange": 1, "patch": 1}
    cell_ops.sort(key=lambda e: (e["key"], rank[e["op"]]))
    top: list[dict[str, Any]] = []
    if cell_ops:
        top.append({"op": "patch", "key": "cells", "diff": cell_ops})
    if opt.metadata:
        md = json_diff(a.get("metadata") or {}, b.get("metadata") or {}) or []
        if md:
            result.metadata = md
            top.append({"op": "patch", "key": "metadata", "diff": md})
    result.nbdime = top
    return result
