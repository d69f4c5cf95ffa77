"""Notebook tests: `pytest --mlnb` vs `pytest --nbmake` on the same 20 small notebooks, in one run.

Both are timed wall-clock from spawning pytest to its exit (what CI pays), alternating tools per
repetition, median reported. Each tool runs with the other's plugin disabled (`-p no:nbmake` /
`-p no:mlnb`), as a user of only one of them would. nbmake starts a fresh kernel per notebook
and imports nbformat when its plugin loads; mlnb hands out warm kernels from a pool (still one
fresh kernel per notebook) started while pytest collects.

    python benchmarks/bench_testing.py [--notebooks 20] [--reps 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CELLS = [
    "import json, math",
    "values = [math.sqrt(i) for i in range(2000)]",
    "total = sum(values)\nassert total > 0",
    "print(json.dumps({'n': len(values), 'total': round(total, 3)}))",
]


def notebook(i: int) -> dict:
    cells = [{"cell_type": "markdown", "id": "md", "metadata": {}, "source": f"# Notebook {i}"}]
    cells += [{"cell_type": "code", "id": f"c{j}", "metadata": {}, "source": s, "outputs": [],
               "execution_count": None} for j, s in enumerate(CELLS)]
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}}


def build(root: Path, n: int) -> None:
    root.mkdir(parents=True)
    for i in range(n):
        (root / f"nb{i:02d}.ipynb").write_text(json.dumps(notebook(i)))
    # an empty ini so neither run picks up this repository's pytest settings
    (root / "pytest.ini").write_text("[pytest]\n")


COMMANDS = {
    "pytest --mlnb": ["--mlnb", "-p", "no:nbmake"],
    "pytest --nbmake": ["--nbmake", "-p", "no:mlnb"],
}


def run_once(root: Path, args: list[str], n: int) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLNB_")}
    env["MLNB_PROJECT"] = str(root)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, str(root)]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0 or f"{n} passed" not in proc.stdout:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"{' '.join(cmd)} failed (exit {proc.returncode})")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--notebooks", type=int, default=20)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    try:
        import nbmake  # noqa: F401
    except ImportError:
        raise SystemExit("nbmake is not installed: pip install -e '.[bench]' (or pip install nbmake)")

    work = Path(tempfile.mkdtemp(prefix="mlnb-bench-testing-"))
    try:
        root = work / "nbs"
        build(root, args.notebooks)
        load0 = os.getloadavg()[0]
        times: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for name, extra in COMMANDS.items():  # untimed warm-up: .pyc files, OS caches
            run_once(root, extra, args.notebooks)
        for rep in range(args.reps):
            order = list(COMMANDS) if rep % 2 == 0 else list(reversed(COMMANDS))
            for name in order:
                t = run_once(root, COMMANDS[name], args.notebooks)
                times[name].append(t)
                print(f"rep {rep + 1}: {name}: {t:.2f} s", file=sys.stderr)
        load1 = os.getloadavg()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = {name: statistics.median(ts) for name, ts in times.items()}
    ratio = med["pytest --nbmake"] / med["pytest --mlnb"]
    result = {
        "notebooks": args.notebooks, "reps": args.reps, "cpus": os.cpu_count(),
        "load_avg_start": round(load0, 2), "load_avg_end": round(load1, 2),
        "median_s": {k: round(v, 2) for k, v in med.items()},
        "all_s": {k: [round(t, 2) for t in ts] for k, ts in times.items()},
        "speedup": round(ratio, 2),
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.notebooks} notebooks of {len(CELLS)} code cells, {args.reps} reps, "
          f"{os.cpu_count()} CPUs, load {load0:.1f} -> {load1:.1f}")
    print(f"| command | median wall time | per notebook |\n|---|---|---|")
    for name, t in med.items():
        print(f"| `{name}` | {t:.2f} s | {t / args.notebooks * 1000:.0f} ms |")
    print(f"\nmlnb is {ratio:.2f}x faster than nbmake (target >= 2x)")


if __name__ == "__main__":
    main()
