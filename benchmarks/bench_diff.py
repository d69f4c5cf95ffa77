"""mlnb diff/merge vs nbdime on generated 500-cell notebooks (text, HTML table and image outputs).

    python benchmarks/bench_diff.py [--cells 500] [--repeat 1] [--no-nbdime]

Cases: diff of a small edit, diff of a full re-run, three-way merge with both sides re-run, and
the paired-sync overhead vs jupytext (write + read of a paired notebook). Prints seconds and ratios.
Benchmarks are not tests: they print numbers only.
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import os
import random
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path


def _png(width: int, height: int, seed: int) -> str:
    """A small valid RGB PNG whose pixels depend on ``seed`` (no Pillow needed)."""
    rnd = random.Random(seed)
    rows = []
    for _y in range(height):
        row = bytearray([0])
        for _x in range(width):
            row += bytes((rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
        rows.append(bytes(row))
    raw = zlib.compress(b"".join(rows))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", raw) + chunk(b"IEND", b"")
    return base64.b64encode(png).decode()


def _table(rnd: random.Random, rows: int = 8) -> str:
    body = "".join(
        f"<tr><th>{i}</th><td>{rnd.random():.6f}</td><td>{rnd.randrange(1000)}</td></tr>"
        for i in range(rows)
    )
    return ('<table border="1" class="dataframe"><thead><tr><th></th><th>a</th><th>b</th></tr>'
            f"</thead><tbody>{body}</tbody></table>")


def make_notebook(cells: int = 500, run_seed: int = 0, edit: int | None = None) -> dict:
    """A notebook of ``cells`` code/markdown cells; ``run_seed`` changes every output and
    execution count (a full re-run); ``edit`` changes the source of that one cell."""
    rnd = random.Random(run_seed)
    nb_cells = []
    count = 0
    for i in range(cells):
        cid = f"cell-{i:04d}"
        if i % 10 == 0:
            nb_cells.append({"cell_type": "markdown", "id": cid, "metadata": {},
                             "source": f"## Section {i // 10}\n\nSome prose about step {i}.\n"})
            continue
        count += 1
        src = f"x_{i} = compute({i}, lr=0.{i % 7})\nprint(x_{i})\n"
        if edit == i:
            src = src.replace("compute", "compute_v2")
        kind = i % 5
        if kind in (1, 2):
            outputs = [{"output_type": "stream", "name": "stdout",
                        "text": f"loss {rnd.random():.6f} acc {rnd.random():.4f}\n" * 3}]
        elif kind == 3:
            outputs = [{"output_type": "execute_result", "execution_count": count, "metadata": {},
                        "data": {"text/html": _table(rnd), "text/plain": "<DataFrame>"}}]
        elif kind == 4 and i % 20 == 4:
            outputs = [{"output_type": "display_data", "metadata": {},
                        "data": {"image/png": _png(24, 16, rnd.randrange(1 << 30)),
                                 "text/plain": "<Figure>"}}]
        else:
            outputs = []
        nb_cells.append({"cell_type": "code", "id": cid, "metadata": {}, "source": src,
                         "execution_count": count + run_seed * 1000, "outputs": outputs})
    return {"nbformat": 4, "nbformat_minor": 5, "cells": nb_cells,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                        "language": "python"}}}


def _timed(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-nbdime", action="store_true", help="mlnb numbers only (nbdime is slow)")
    args = ap.parse_args(argv)
    from mlnb.nbdiff import compute_diff, loads, merge_notebooks

    n = args.cells
    raw = {k: json.dumps(v) for k, v in {
        "base": make_notebook(n, 0), "edit": make_notebook(n, 0, edit=n // 3),
        "local": make_notebook(n, 1), "remote": make_notebook(n, 2)}.items()}
    nbs = {k: loads(v) for k, v in raw.items()}
    rows: list[tuple[str, float, float | None]] = []
    cases = [
        ("diff, small edit", lambda: compute_diff(nbs["base"], nbs["edit"])),
        ("diff, full re-run", lambda: compute_diff(nbs["base"], nbs["local"])),
        ("merge, both re-run", lambda: merge_notebooks(nbs["base"], nbs["local"], nbs["remote"])),
    ]
    nbd = None
    if not args.no_nbdime:
        import logging

        import nbformat
        import nbdime
        from nbdime.merging import merge_notebooks as nbdime_merge

        logging.disable(logging.CRITICAL)
        nbd = {k: nbformat.reads(v, as_version=4) for k, v in raw.items()}
        nbdime_cases = [
            lambda: nbdime.diff_notebooks(nbd["base"], nbd["edit"]),
            lambda: nbdime.diff_notebooks(nbd["base"], nbd["local"]),
            lambda: nbdime_merge(nbd["base"], nbd["local"], nbd["remote"]),
        ]
    for k, (name, fn) in enumerate(cases):
        ours = _timed(fn, args.repeat)
        theirs = _timed(nbdime_cases[k], args.repeat) if nbd is not None else None
        rows.append((name, ours, theirs))
    merged = merge_notebooks(nbs["base"], nbs["local"], nbs["remote"])
    print(f"# {n}-cell notebook, Python {sys.version.split()[0]}, best of {args.repeat}")
    print(f"{'case':24} {'mlnb s':>10} {'nbdime s':>10} {'ratio':>8}")
    for name, ours, theirs in rows:
        ratio = f"{theirs / ours:7.0f}x" if theirs else "-"
        print(f"{name:24} {ours:10.4f} {theirs if theirs is not None else float('nan'):10.3f} {ratio:>8}")
    print(f"mlnb merge conflicts after both re-ran: {len(merged.conflicts)}")
    if nbd is not None:
        _m, decisions = nbdime_merge(nbd["base"], nbd["local"], nbd["remote"])
        print(f"nbdime merge conflicts after both re-ran: {sum(1 for d in decisions if d.conflict)}")
    _bench_sync(n, args.repeat)
    return 0


def _bench_sync(n: int, repeat: int) -> None:
    """Paired sync after an edit of the .py: mlnb sync vs jupytext --sync (same files)."""
    import jupytext
    from jupytext.cli import jupytext as jupytext_cli

    from mlnb.project import Project
    from mlnb.sync import pair, sync_pair

    with tempfile.TemporaryDirectory() as d:
        root = Path(d)
        (root / ".mlnb").mkdir()
        project = Project(root)
        nb_path = root / "nb.ipynb"
        nb_path.write_text(json.dumps(make_notebook(n, 0)))
        pair(nb_path, project=project)
        py = root / "nb.py"

        def edit_and(fn, k=[0]):  # noqa: B006 - a counter across calls
            k[0] += 1
            py.write_text(py.read_text().replace("compute(", f"compute{k[0]}(", 1))
            os.utime(py, (time.time() + k[0], time.time() + k[0]))
            fn()

        ours = _timed(lambda: edit_and(lambda: sync_pair(nb_path, project)), repeat)
        theirs = _timed(lambda: edit_and(
            lambda: jupytext_cli(["--sync", "--quiet", str(py)])), repeat)
        print(f"{'sync after .py edit':24} {ours:10.4f} {theirs:10.3f} "
              f"{theirs / ours:7.2f}x  (vs jupytext --sync, {jupytext.__version__})")


if __name__ == "__main__":
    sys.exit(main())
