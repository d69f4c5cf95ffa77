"""Cell alignment: by cell id first, then by content hash, fuzzy matching only for the rest.

Typical diffs (same ids, a few edits) cost O(n log n): a dict lookup per cell and a longest
increasing subsequence over the id matches. Hash matching runs only inside the gaps the ids
leave, and the quadratic fuzzy pass only inside the gaps the hashes leave, bounded in size.
"""

from __future__ import annotations

import bisect
import hashlib
from difflib import SequenceMatcher
from typing import Any, Sequence

__all__ = ["align_cells", "cell_key", "FUZZY_THRESHOLD", "FUZZY_MAX_WORK"]

#: Two cells of a gap are "the same cell, edited" when their sources are at least this similar.
FUZZY_THRESHOLD = 0.6
#: Gaps larger than this (cells_a * cells_b) skip fuzzy matching: shown as deletes + inserts.
FUZZY_MAX_WORK = 40_000

Pair = tuple[int | None, int | None]


def cell_key(cell: dict[str, Any]) -> str:
    """Content hash of a cell's input (type and source)."""
    h = hashlib.blake2b(digest_size=12)
    h.update(str(cell.get("cell_type")).encode())
    h.update(b"\0")
    h.update(str(cell.get("source", "")).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _lis(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest subsequence of ``pairs`` (sorted by a-index) increasing in b-index."""
    tails: list[int] = []  # b-index of the smallest tail of each length
    tail_at: list[int] = []  # index into pairs of that tail
    prev = [-1] * len(pairs)
    for k, (_i, j) in enumerate(pairs):
        pos = bisect.bisect_left(tails, j)
        if pos == len(tails):
            tails.append(j)
            tail_at.append(k)
        else:
            tails[pos] = j
            tail_at[pos] = k
        prev[k] = tail_at[pos - 1] if pos else -1
    out = []
    k = tail_at[-1] if tail_at else -1
    while k >= 0:
        out.append(pairs[k])
        k = prev[k]
    return out[::-1]


def _similar(a: dict[str, Any], b: dict[str, Any]) -> float:
    if a.get("cell_type") != b.get("cell_type"):
        return 0.0
    sa, sb = str(a.get("source", "")), str(b.get("source", ""))
    if not sa and not sb:
        return 1.0
    if len(sa) + len(sb) > 4000:  # long cells: compare lines, characters would be slow
        sm = SequenceMatcher(None, sa.splitlines(), sb.splitlines(), autojunk=False)
    else:
        sm = SequenceMatcher(None, sa, sb, autojunk=False)
    if sm.real_quick_ratio() < FUZZY_THRESHOLD or sm.quick_ratio() < FUZZY_THRESHOLD:
        return 0.0
    return sm.ratio()


def _fuzzy(a: Sequence[dict], b: Sequence[dict], ai: list[int], bj: list[int]) -> list[Pair]:
    """Align two small gaps: an LCS whose 'equal' is 'similar enough', best similarity wins."""
    n, m = len(ai), len(bj)
    if n == 0 or m == 0 or n * m > FUZZY_MAX_WORK:
        return [(i, None) for i in ai] + [(None, j) for j in bj]
    sim = [[_similar(a[ai[x]], b[bj[y]]) for y in range(m)] for x in range(n)]
    # score[x][y]: best total similarity aligning ai[x:] with bj[y:]
    score = [[0.0] * (m + 1) for _ in range(n + 1)]
    for x in range(n - 1, -1, -1):
        for y in range(m - 1, -1, -1):
            best = max(score[x + 1][y], score[x][y + 1])
            s = sim[x][y]
            if s >= FUZZY_THRESHOLD:
                best = max(best, s + score[x + 1][y + 1])
            score[x][y] = best
    out: list[Pair] = []
    x = y = 0
    while x < n and y < m:
        s = sim[x][y]
        if s >= FUZZY_THRESHOLD and score[x][y] == s + score[x + 1][y + 1]:
            out.append((ai[x], bj[y]))
            x += 1
            y += 1
        elif score[x + 1][y] >= score[x][y + 1]:
            out.append((ai[x], None))
            x += 1
        else:
            out.append((None, bj[y]))
            y += 1
    out += [(ai[k], None) for k in range(x, n)] + [(None, bj[k]) for k in range(y, m)]
    return out


def _by_hash(a: Sequence[dict], b: Sequence[dict], ai: list[int], bj: list[int],
             keys_a: list[str], keys_b: list[str], fuzzy: bool) -> list[Pair]:
    if not ai or not bj:
        return [(i, None) for i in ai] + [(None, j) for j in bj]
    ka = [keys_a[i] for i in ai]
    kb = [keys_b[j] for j in bj]
    sm = SequenceMatcher(None, ka, kb, autojunk=False)
    out: list[Pair] = []
    x = y = 0
    for bx, by, size in sm.get_matching_blocks():
        gap_a, gap_b = ai[x:bx], bj[y:by]
        if fuzzy:
            out += _fuzzy(a, b, gap_a, gap_b)
        else:
            out += [(i, None) for i in gap_a] + [(None, j) for j in gap_b]
        out += [(ai[bx + k], bj[by + k]) for k in range(size)]
        x, y = bx + size, by + size
    return out


def align_cells(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]],
                fuzzy: bool = True) -> list[Pair]:
    """Pairs ``(i, j)`` in notebook order: matched cells, ``(i, None)`` deleted from ``a``,
    ``(None, j)`` inserted in ``b``. Every index appears exactly once.

    A cell that moved (same id, out of order) comes out as a delete plus an insert; callers that
    care can spot it by id."""
    keys_a = [cell_key(c) for c in a]
    keys_b = [cell_key(c) for c in b]
    # 1. ids present once on each side
    ids_b: dict[str, int] = {}
    dup: set[str] = set()
    for j, c in enumerate(b):
        cid = c.get("id")
        if isinstance(cid, str) and cid:
            if cid in ids_b:
                dup.add(cid)
            ids_b[cid] = j
    seen_a: set[str] = set()
    id_pairs: list[tuple[int, int]] = []
    for i, c in enumerate(a):
        cid = c.get("id")
        if isinstance(cid, str) and cid and cid not in dup:
            if cid in seen_a:
                dup.add(cid)
                continue
            seen_a.add(cid)
            j = ids_b.get(cid)
            if j is not None:
                id_pairs.append((i, j))
    id_pairs = [p for p in id_pairs if a[p[0]].get("id") not in dup]
    anchors = _lis(id_pairs)
    # 2. + 3. inside each gap between anchors: hashes, then fuzzy
    out: list[Pair] = []
    pi = pj = 0
    for i, j in [*anchors, (len(a), len(b))]:
        out += _by_hash(a, b, list(range(pi, i)), list(range(pj, j)), keys_a, keys_b, fuzzy)
        if i < len(a):
            out.append((i, j))
        pi, pj = i + 1, j + 1
    return out
