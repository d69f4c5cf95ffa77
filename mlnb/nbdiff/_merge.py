"""Three-way notebook merge.

Cells are aligned base→local and base→remote (ids, hashes, fuzzy; see :mod:`._align`) and
merged as a diff3 over cell sequences; each cell present on several sides is merged field by
field: source lines by diff3 with inline conflict markers (as nbdime does), metadata key by key.
Outputs and execution counts are never conflicts: they follow ``outputs=`` (default ``clear``:
keep the outputs of a side whose source equals the merged source, otherwise clear them and mark
the cell stale in ``metadata.mlnb.stale_outputs``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any, Hashable, Sequence

from mlnb.errors import UsageError
from mlnb.nbdiff._align import align_cells, cell_key

__all__ = ["MergeResult", "Conflict", "merge_notebooks", "merge_lines", "diff3",
           "OUTPUT_STRATEGIES"]

OUTPUT_STRATEGIES = ("clear", "local", "remote", "keep-base")
#: metadata keys that change by themselves (timings, UI state, interpreter patch version):
#: never conflicts, local wins.
VOLATILE_METADATA = frozenset({"execution", "collapsed", "scrolled", "jupyter", "language_info",
                               "widgets", "papermill", "ExecuteTime", "mlnb"})


@dataclass
class Conflict:
    kind: str            # 'source' | 'metadata' | 'cell_type' | 'delete-modify' | 'notebook-metadata'
    cell: int | None     # index in the merged notebook, None for notebook metadata
    cell_id: str | None = None
    key: str | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "cell": self.cell, "cell_id": self.cell_id, "key": self.key,
                "detail": self.detail}

    def __str__(self) -> str:
        where = "notebook" if self.cell is None else f"cell {self.cell}"
        if self.cell_id:
            where += f" (id {self.cell_id})"
        key = f" {self.key}" if self.key else ""
        return f"{where}: {self.kind}{key} conflict{': ' + self.detail if self.detail else ''}"


@dataclass
class MergeResult:
    notebook: dict[str, Any]
    conflicts: list[Conflict] = field(default_factory=list)
    stale_cells: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.conflicts


# -- diff3 over sequences ------------------------------------------------------------------
def _matches(base: Sequence[Hashable], other: Sequence[Hashable]) -> dict[int, int]:
    sm = SequenceMatcher(None, base, other, autojunk=False)
    out: dict[int, int] = {}
    for i, j, n in sm.get_matching_blocks():
        for k in range(n):
            out[i + k] = j + k
    return out


def diff3(n_base: int, n_a: int, n_b: int, ma: dict[int, int], mb: dict[int, int]
          ) -> list[tuple[str, tuple[int, int], tuple[int, int], tuple[int, int]]]:
    """Chunks ``(kind, base_range, a_range, b_range)`` with kind 'stable' (one element matched
    on all sides) or 'changed'. ``ma``/``mb`` map base index → matched index (monotonic)."""
    chunks = []
    i = a = b = 0
    both = sorted(k for k in ma if k in mb)
    pos = 0
    while True:
        while pos < len(both) and (both[pos] < i or ma[both[pos]] < a or mb[both[pos]] < b):
            pos += 1
        if pos < len(both):
            ni, na, nb = both[pos], ma[both[pos]], mb[both[pos]]
        else:
            ni, na, nb = n_base, n_a, n_b
        if (ni, na, nb) != (i, a, b):
            chunks.append(("changed", (i, ni), (a, na), (b, nb)))
        if pos >= len(both):
            break
        chunks.append(("stable", (ni, ni + 1), (na, na + 1), (nb, nb + 1)))
        i, a, b = ni + 1, na + 1, nb + 1
        pos += 1
    return chunks


def merge_lines(base: str, local: str, remote: str, marker: int = 7,
                labels: tuple[str, str] = ("local", "remote")) -> tuple[str, bool]:
    """diff3 of texts by lines; conflicts marked inline. Returns (text, had_conflict)."""
    if local == remote or remote == base:
        return local, False
    if local == base:
        return remote, False
    lb, ll, lr = base.splitlines(True), local.splitlines(True), remote.splitlines(True)
    out: list[str] = []
    conflict = False
    for kind, (b0, b1), (l0, l1), (r0, r1) in diff3(len(lb), len(ll), len(lr),
                                                    _matches(lb, ll), _matches(lb, lr)):
        cb, cl, cr = lb[b0:b1], ll[l0:l1], lr[r0:r1]
        if kind == "stable" or cl == cr:
            out += cl
        elif cl == cb:
            out += cr
        elif cr == cb:
            out += cl
        else:
            conflict = True
            out.append("<" * marker + f" {labels[0]}\n")
            out += _nl(cl)
            out.append("=" * marker + "\n")
            out += _nl(cr)
            out.append(">" * marker + f" {labels[1]}\n")
    text = "".join(out)
    if conflict and not (local.endswith("\n") or remote.endswith("\n")):
        text = text[:-1]
    return text, conflict


def _nl(lines: list[str]) -> list[str]:
    if lines and not lines[-1].endswith("\n"):
        return lines[:-1] + [lines[-1] + "\n"]
    return lines


# -- dict merge ----------------------------------------------------------------------------
_MISSING = object()


def _merge_dict(base: dict, local: dict, remote: dict, volatile: frozenset[str] = frozenset(),
                prefix: str = "") -> tuple[dict, list[tuple[str, Any, Any, Any]]]:
    out: dict = {}
    conflicts: list[tuple[str, Any, Any, Any]] = []
    for key in list(dict.fromkeys([*local, *remote, *base])):
        bv, lv, rv = base.get(key, _MISSING), local.get(key, _MISSING), remote.get(key, _MISSING)
        if lv == rv or rv == bv:
            v = lv
        elif lv == bv:
            v = rv
        elif key in volatile:
            v = lv if lv is not _MISSING else rv
        elif all(isinstance(x, dict) for x in (lv, rv)) and (bv is _MISSING or isinstance(bv, dict)):
            v, sub = _merge_dict(bv if isinstance(bv, dict) else {}, lv, rv,
                                 prefix=f"{prefix}{key}.")
            conflicts += sub
        else:
            conflicts.append((prefix + key, bv, lv, rv))
            v = lv if lv is not _MISSING else rv
        if v is not _MISSING:
            out[key] = v
    return out, conflicts


def _j(v: Any) -> Any:
    return None if v is _MISSING else v


# -- cells -----------------------------------------------------------------------------------
def _mark_stale(cell: dict[str, Any]) -> None:
    cell["outputs"] = []
    cell["execution_count"] = None
    md = cell.setdefault("metadata", {})
    mlnb_md = md.get("mlnb") if isinstance(md.get("mlnb"), dict) else {}
    md["mlnb"] = {**mlnb_md, "stale_outputs": True}


class _Merger:
    def __init__(self, base: dict, local: dict, remote: dict, outputs: str, marker: int) -> None:
        if outputs not in OUTPUT_STRATEGIES:
            raise UsageError(f"Unknown outputs strategy {outputs!r}; use one of "
                             f"{', '.join(OUTPUT_STRATEGIES)}.")
        self.base, self.local, self.remote = base, local, remote
        self.strategy, self.marker = outputs, marker
        self.cells: list[dict[str, Any]] = []
        self.conflicts: list[Conflict] = []
        self.stale: list[int] = []

    def _outputs(self, merged: dict, b: dict | None, l: dict | None, r: dict | None) -> None:
        if merged.get("cell_type") != "code":
            merged.pop("outputs", None)
            merged.pop("execution_count", None)
            return
        src = merged.get("source")
        pick: dict | None = None
        s = self.strategy
        if s == "local":
            pick = l if l is not None else r
        elif s == "remote":
            pick = r if r is not None else l
        elif s == "keep-base":
            pick = b
        else:  # clear: outputs of a side whose source is the merged source
            fits = [c for c in (l, r) if c is not None and c.get("cell_type") == "code"
                    and c.get("source") == src]
            if len(fits) == 2 and b is not None and fits[0].get("outputs") == b.get("outputs"):
                pick = fits[1]  # only remote re-ran
            elif fits:
                pick = fits[0]
            else:
                pick = None
                if b is not None or (l or r or {}).get("outputs"):
                    merged["outputs"] = []
                    _mark_stale(merged)
                    self.stale.append(len(self.cells))
                    return
        if pick is not None and pick.get("cell_type") == "code":
            merged["outputs"] = copy.deepcopy(pick.get("outputs") or [])
            merged["execution_count"] = pick.get("execution_count")
        else:
            merged["outputs"] = []
            merged["execution_count"] = None

    def merge_cell(self, b: dict | None, l: dict | None, r: dict | None) -> None:
        """Merge one cell present on some sides (b None: inserted; l/r None: deleted there)."""
        index = len(self.cells)
        if l is not None and r is not None:
            merged = copy.deepcopy(l)
            bb = b if b is not None else {"cell_type": l.get("cell_type"), "source": "",
                                          "metadata": {}}
            cid = l.get("id") or r.get("id")
            lt, rt, bt = l.get("cell_type"), r.get("cell_type"), bb.get("cell_type")
            if lt != rt:
                if lt == bt:
                    merged["cell_type"] = rt
                elif rt != bt:
                    self.conflicts.append(Conflict("cell_type", index, cid, "cell_type",
                                                   f"local {lt}, remote {rt}"))
            text, conflict = merge_lines(str(bb.get("source", "")), str(l.get("source", "")),
                                         str(r.get("source", "")), self.marker)
            merged["source"] = text
            if conflict:
                self.conflicts.append(Conflict("source", index, cid))
            md, md_conf = _merge_dict(bb.get("metadata") or {}, l.get("metadata") or {},
                                      r.get("metadata") or {}, VOLATILE_METADATA)
            for key, bv, lv, rv in md_conf:
                self.conflicts.append(Conflict("metadata", index, cid, key,
                                               f"local {_j(lv)!r}, remote {_j(rv)!r}"))
            if md_conf:
                md.setdefault("mlnb", {})
                if isinstance(md["mlnb"], dict):
                    md["mlnb"] = {**md["mlnb"], "merge_conflicts": [
                        {"key": k, "base": _j(bv), "local": _j(lv), "remote": _j(rv)}
                        for k, bv, lv, rv in md_conf]}
            merged["metadata"] = md
            la, ra, ba = l.get("attachments"), r.get("attachments"), bb.get("attachments")
            if la != ra:
                if la == ba:
                    merged["attachments"] = ra
                elif ra != ba:
                    self.conflicts.append(Conflict("metadata", index, cid, "attachments"))
            if merged.get("attachments") is None:
                merged.pop("attachments", None)
            self._outputs(merged, b, l, r)
        else:
            side = l if l is not None else r
            assert side is not None
            if b is not None and side.get("source") != b.get("source"):
                # deleted on one side, edited on the other: keep the edit, marked
                deleted_local = l is None
                m = self.marker
                body = str(side.get("source", ""))
                body = body if body.endswith("\n") or not body else body + "\n"
                merged = copy.deepcopy(side)
                if deleted_local:
                    merged["source"] = f"{'<' * m} local (deleted)\n{'=' * m}\n{body}{'>' * m} remote\n"
                else:
                    merged["source"] = f"{'<' * m} local\n{body}{'=' * m}\n{'>' * m} remote (deleted)\n"
                self.conflicts.append(Conflict(
                    "delete-modify", index, side.get("id"),
                    detail=f"deleted {'locally' if deleted_local else 'remotely'}, "
                           f"edited {'remotely' if deleted_local else 'locally'}"))
                self._outputs(merged, b, l, r)
            elif b is not None:
                return  # deleted on one side, unchanged on the other
            else:
                merged = copy.deepcopy(side)  # inserted on one side: its own outputs
                if self.strategy == "keep-base" and merged.get("cell_type") == "code":
                    merged["outputs"], merged["execution_count"] = [], None
        self.cells.append(merged)


def merge_notebooks(base: dict[str, Any], local: dict[str, Any], remote: dict[str, Any],
                    outputs: str = "clear", marker_size: int = 7) -> MergeResult:
    """Three-way merge of notebooks (plain dicts). Never raises on conflicting content: the
    result carries inline markers and :class:`Conflict` records instead."""
    m = _Merger(base, local, remote, outputs, marker_size)
    cb, cl, cr = base.get("cells", []), local.get("cells", []), remote.get("cells", [])
    pl, pr = align_cells(cb, cl), align_cells(cb, cr)
    ml = {i: j for i, j in pl if i is not None and j is not None}
    mr = {i: j for i, j in pr if i is not None and j is not None}
    l_of = {j: i for i, j in ml.items()}
    r_of = {j: i for i, j in mr.items()}
    # cells moved on one side: their id is a base cell's, but alignment saw delete + insert
    base_ids = {c.get("id"): k for k, c in enumerate(cb) if c.get("id")}
    moved_l = {j: base_ids[c["id"]] for j, c in enumerate(cl)
               if j not in l_of and c.get("id") in base_ids and base_ids[c["id"]] not in ml}
    moved_r = {j: base_ids[c["id"]] for j, c in enumerate(cr)
               if j not in r_of and c.get("id") in base_ids and base_ids[c["id"]] not in mr}
    moved_base_l = {k: j for j, k in moved_l.items()}
    moved_base_r = {k: j for j, k in moved_r.items()}
    done: set[int] = set()

    def remote_version(k: int) -> dict | None:
        if k in mr:
            return cr[mr[k]]
        if k in moved_base_r:
            return cr[moved_base_r[k]]
        return None

    def local_version(k: int) -> dict | None:
        if k in ml:
            return cl[ml[k]]
        if k in moved_base_l:
            return cl[moved_base_l[k]]
        return None

    def emit_base(k: int, lv: dict | None, rv: dict | None) -> None:
        if k in done:
            return
        done.add(k)
        m.merge_cell(cb[k], lv, rv)

    for kind, (b0, b1), (l0, l1), (r0, r1) in diff3(len(cb), len(cl), len(cr), ml, mr):
        if kind == "stable":
            emit_base(b0, cl[l0], cr[r0])
            continue
        seen_keys: set[str] = set()
        for j in range(l0, l1):
            if j in l_of:
                k = l_of[j]
                if k in moved_base_r:
                    continue  # remote moved it: placed where remote put it
                emit_base(k, cl[j], remote_version(k))
            elif j in moved_l:
                k = moved_l[j]
                emit_base(k, cl[j], remote_version(k))
            else:
                seen_keys.add(cell_key(cl[j]))
                m.merge_cell(None, cl[j], None)
        for j in range(r0, r1):
            if j in r_of:
                k = r_of[j]
                if k in moved_base_l:
                    continue
                emit_base(k, local_version(k), cr[j])
            elif j in moved_r:
                k = moved_r[j]
                emit_base(k, local_version(k), cr[j])
            elif cell_key(cr[j]) not in seen_keys:
                m.merge_cell(None, None, cr[j])
        for k in range(b0, b1):  # base cells deleted on both sides, or on one side only
            if k not in done and k not in moved_base_l and k not in moved_base_r:
                lv, rv = local_version(k), remote_version(k)
                if lv is None and rv is None:
                    done.add(k)
                else:
                    emit_base(k, lv, rv)
    # cells moved on one side to a chunk we already passed are emitted where the other side is
    nb = copy.deepcopy({k: v for k, v in local.items() if k != "cells"})
    md, md_conf = _merge_dict(base.get("metadata") or {}, local.get("metadata") or {},
                              remote.get("metadata") or {}, VOLATILE_METADATA)
    for key, bv, lv, rv in md_conf:
        m.conflicts.append(Conflict("notebook-metadata", None, None, key,
                                    f"local {_j(lv)!r}, remote {_j(rv)!r}"))
    if md_conf:
        md["mlnb"] = {**(md.get("mlnb") if isinstance(md.get("mlnb"), dict) else {}),
                      "merge_conflicts": [{"key": k, "base": _j(bv), "local": _j(lv),
                                           "remote": _j(rv)} for k, bv, lv, rv in md_conf]}
    nb["metadata"] = md
    nb["nbformat"] = max(int(local.get("nbformat", 4)), int(remote.get("nbformat", 4)))
    nb["nbformat_minor"] = max(int(local.get("nbformat_minor", 0) or 0),
                               int(remote.get("nbformat_minor", 0) or 0))
    nb["cells"] = m.cells
    _dedupe_ids(nb["cells"])
    return MergeResult(nb, m.conflicts, m.stale)


def _dedupe_ids(cells: list[dict[str, Any]]) -> None:
    """Both sides may insert cells with the same id; ids must stay unique in a notebook."""
    seen: set[str] = set()
    for c in cells:
        cid = c.get("id")
        if not isinstance(cid, str):
            continue
        if cid in seen:
            n = 1
            while f"{cid}-{n}" in seen:
                n += 1
            c["id"] = f"{cid}-{n}"
        seen.add(c["id"])
