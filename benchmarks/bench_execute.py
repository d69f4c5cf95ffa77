"""Headless execution, mlnb vs papermill, side by side in one run on this machine.

1. one 200-cell notebook of trivial cells: wall time and per-cell overhead
   (papermill with its defaults, i.e. saving after every cell);
2. twenty small notebooks end to end: mlnb with its warm kernel pool vs papermill one after
   another.

    python benchmarks/bench_execute.py [--quick] [--repeat N] [--json]

Benchmarks are not tests: this prints numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def make_notebook(path: Path, n_cells: int, with_params: bool = True) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    cells = []
    if with_params:
        p = new_code_cell("x = 1")
        p.metadata["tags"] = ["parameters"]
        cells.append(p)
    cells += [new_code_cell(f"y{i} = x + {i}") for i in range(n_cells - len(cells))]
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    nbformat.write(nb, path)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bench(repeat: int, n_cells: int, n_notebooks: int) -> dict:
    import papermill
    from mlnb.execute import execute_notebook, execute_notebooks

    work = Path(tempfile.mkdtemp(prefix="mlnb-bench-exec-"))
    os.environ["MLNB_PROJECT"] = str(work)
    big, one = work / "big.ipynb", work / "one.ipynb"
    make_notebook(big, n_cells)
    make_notebook(one, 2)
    small = []
    for i in range(n_notebooks):
        p = work / f"small{i:02}.ipynb"
        make_notebook(p, 5)
        small.append(p)

    def pm(src: Path, dst: Path) -> None:
        papermill.execute_notebook(str(src), str(dst), parameters={"x": 2}, progress_bar=False,
                                   kernel_name="python3", log_output=False)

    def ml(src: Path, dst: Path) -> None:
        r = execute_notebook(src, dst, parameters={"x": 2}, progress=False, track=False)
        r.raise_for_error()

    res: dict[str, list[float]] = {k: [] for k in (
        "pm_big", "pm_one", "ml_big", "ml_one", "pm_many", "ml_many", "ml_many_tracked")}
    for _ in range(repeat):
        res["pm_big"].append(timed(lambda: pm(big, work / "out-pm.ipynb")))
        res["pm_one"].append(timed(lambda: pm(one, work / "out-pm1.ipynb")))
        res["ml_big"].append(timed(lambda: ml(big, work / "out-ml.ipynb")))
        res["ml_one"].append(timed(lambda: ml(one, work / "out-ml1.ipynb")))
        res["pm_many"].append(timed(lambda: [pm(p, p.with_suffix(".pm.ipynb")) for p in small]))

        def many(track: bool) -> None:
            items = [{"input_path": p, "output_path": p.with_suffix(".ml.ipynb"),
                      "parameters": {"x": 2}} for p in small]
            for r in execute_notebooks(items, jobs=2, progress=False, track=track):
                r.raise_for_error()

        res["ml_many"].append(timed(lambda: many(False)))
        res["ml_many_tracked"].append(timed(lambda: many(True)))
    med = {k: statistics.median(v) for k, v in res.items()}
    per_cell = {
        "papermill": (med["pm_big"] - med["pm_one"]) / (n_cells - 2),
        "mlnb": (med["ml_big"] - med["ml_one"]) / (n_cells - 2),
    }
    return {"n_cells": n_cells, "n_notebooks": n_notebooks, "repeat": repeat, "median_s": med,
            "per_cell_overhead_s": per_cell,
            "ratio_big": med["pm_big"] / med["ml_big"],
            "ratio_per_cell": per_cell["papermill"] / per_cell["mlnb"],
            "ratio_many": med["pm_many"] / med["ml_many"],
            "ratio_many_tracked": med["pm_many"] / med["ml_many_tracked"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller sizes, one repetition")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    n_cells, n_nb, rep = (50, 5, 1) if a.quick else (200, 20, a.repeat)
    r = bench(rep, n_cells, n_nb)
    if a.json:
        print(json.dumps(r, indent=2))
        return
    m = r["median_s"]
    print(f"Headless execution, median of {rep} (python {sys.version.split()[0]}, {os.cpu_count()} cpus)")
    print(f"{'case':44} {'papermill':>10} {'mlnb':>10} {'ratio':>7}")
    print(f"{f'{n_cells}-cell trivial notebook, wall':44} {m['pm_big']:9.2f}s {m['ml_big']:9.2f}s "
          f"{r['ratio_big']:6.1f}x")
    pc = r["per_cell_overhead_s"]
    print(f"{'  per-cell overhead':44} {pc['papermill']*1e3:8.1f}ms {pc['mlnb']*1e3:8.1f}ms "
          f"{r['ratio_per_cell']:6.1f}x")
    print(f"{f'{n_nb} small notebooks (papermill serial, mlnb pool -j2)':44} {m['pm_many']:9.2f}s "
          f"{m['ml_many']:9.2f}s {r['ratio_many']:6.1f}x")
    print(f"{'  same, mlnb tracking every run':44} {'':10} {m['ml_many_tracked']:9.2f}s "
          f"{r['ratio_many_tracked']:6.1f}x")
    print("targets: 200-cell notebook >= 5x; 20 notebooks >= 2.5x")


if __name__ == "__main__":
    main()
