"""Notebook tests, side by side in one run:

1. `pytest --mlnb` vs `pytest --nbmake` on the same 20 small notebooks;
2. 20 hand-written tests that each open a notebook and call a function in it:
   `@mlnb.testing.notebook(...)` vs `@testbook(...)` (both function-scoped, untracked).

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


FUNCS = [
    "import math",
    "def hypot(a, b):\n    return math.sqrt(a * a + b * b)",
]


def build_fixture_tests(root: Path, n: int) -> None:
    root.mkdir(parents=True)
    nb = notebook(0)
    nb["cells"][1:] = [{"cell_type": "code", "id": f"f{j}", "metadata": {}, "source": s, "outputs": [],
                        "execution_count": None} for j, s in enumerate(FUNCS)]
    (root / "funcs.ipynb").write_text(json.dumps(nb))
    (root / "pytest.ini").write_text("[pytest]\n")
    mlnb_tests = ["from mlnb.testing import notebook\n"]
    tb_tests = ["from testbook import testbook\n"]
    for i in range(n):
        mlnb_tests.append(
            f"\n@notebook('funcs.ipynb', track=False)\ndef test_{i}(nb):\n"
            f"    assert nb.ref('hypot')(3, {i}) == (9 + {i} * {i}) ** 0.5\n"
        )
        tb_tests.append(
            f"\n@testbook('funcs.ipynb', execute=True)\ndef test_{i}(tb):\n"
            f"    assert tb.ref('hypot')(3, {i}) == (9 + {i} * {i}) ** 0.5\n"
        )
    (root / "mlnb_tests.py").write_text("".join(mlnb_tests))
    (root / "tb_tests.py").write_text("".join(tb_tests))


COMMANDS = {
    "pytest --mlnb": ("nbs", ["--mlnb", "-p", "no:nbmake"]),
    "pytest --nbmake": ("nbs", ["--nbmake", "-p", "no:mlnb"]),
    "@notebook tests": ("fixtures", ["-p", "no:nbmake", "mlnb_tests.py"]),
    "@testbook tests": ("fixtures", ["-p", "no:nbmake", "-p", "no:mlnb", "tb_tests.py"]),
}
PAIRS = [("pytest --mlnb", "pytest --nbmake"), ("@notebook tests", "@testbook tests")]


def run_once(root: Path, args: list[str], n: int) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLNB_")}
    env["MLNB_PROJECT"] = str(root)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
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
        import testbook  # noqa: F401
    except ImportError:
        raise SystemExit("nbmake/testbook are not installed: pip install -e '.[bench]' (or pip install nbmake testbook)")

    work = Path(tempfile.mkdtemp(prefix="mlnb-bench-testing-"))
    try:
        build(work / "nbs", args.notebooks)
        build_fixture_tests(work / "fixtures", args.notebooks)
        load0 = os.getloadavg()[0]
        times: dict[str, list[float]] = {name: [] for name in COMMANDS}
        for name, (folder, extra) in COMMANDS.items():  # untimed warm-up: .pyc files, OS caches
            run_once(work / folder, extra, args.notebooks)
        for rep in range(args.reps):
            order = list(COMMANDS) if rep % 2 == 0 else list(reversed(COMMANDS))
            for name in order:
                folder, extra = COMMANDS[name]
                t = run_once(work / folder, extra, args.notebooks)
                times[name].append(t)
                print(f"rep {rep + 1}: {name}: {t:.2f} s", file=sys.stderr)
        load1 = os.getloadavg()[0]
    finally:
        shutil.rmtree(work, ignore_errors=True)

    med = {name: statistics.median(ts) for name, ts in times.items()}
    ratios = {f"{a} vs {b}": round(med[b] / med[a], 2) for a, b in PAIRS}
    result = {
        "notebooks": args.notebooks, "reps": args.reps, "cpus": os.cpu_count(),
        "load_avg_start": round(load0, 2), "load_avg_end": round(load1, 2),
        "median_s": {k: round(v, 2) for k, v in med.items()},
        "all_s": {k: [round(t, 2) for t in ts] for k, ts in times.items()},
        "speedup": ratios,
    }
    if args.json:
        print(json.dumps(result))
        return
    print(f"{args.notebooks} notebooks of {len(CELLS)} code cells / {args.notebooks} tests calling a "
          f"notebook function; {args.reps} reps, {os.cpu_count()} CPUs, load {load0:.1f} -> {load1:.1f}")
    print("| run | median wall time | per notebook or test |\n|---|---|---|")
    for name, t in med.items():
        print(f"| {name} | {t:.2f} s | {t / args.notebooks * 1000:.0f} ms |")
    print()
    for pair, ratio in ratios.items():
        print(f"{pair}: {ratio:.2f}x" + ("  (target >= 2x)" if "nbmake" in pair else ""))


if __name__ == "__main__":
    main()
