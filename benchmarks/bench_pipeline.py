"""Pipeline benchmark: a 20-stage chain of tiny notebooks.

1. full run (`mlnb run`, -j 1: it is a chain) — wall time;
2. no-op `mlnb run` right after — wall time of the whole command in a fresh interpreter
   (target < 0.5 s), plus `mlnb status`;
3. edit one stage's code without changing its outs, then `mlnb run` — how many stages
   executed (target: 1, thanks to content-based early cut-off).

With ``--compare`` and `dvc` / `ploomber` on PATH (or in $BENCH_BIN), the same chain is built for
`dvc repro` (stages call `mlnb exec`, untracked) and `ploomber build` (notebook tasks) and their
no-op time and re-executions after the same edit are printed too.

    python benchmarks/bench_pipeline.py [--stages 20] [--compare]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def nb(cells: list[str], parameters: str | None = None) -> dict:
    out = []
    if parameters is not None:
        out.append({"cell_type": "code", "id": "params", "metadata": {"tags": ["parameters"]},
                    "source": parameters, "outputs": [], "execution_count": None})
    out += [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": s, "outputs": [],
             "execution_count": None} for i, s in enumerate(cells)]
    return {"cells": out, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"}}}


def stage_cells(i: int) -> list[str]:
    src = "None" if i == 0 else f"'data/s{i - 1}.txt'"
    return [f"src = {src}\nprev = open(src).read() if src else ''",
            f"import os\nos.makedirs('data', exist_ok=True)\nopen('data/s{i}.txt', 'w').write(prev + 'x')"]


def build(root: Path, n: int) -> None:
    (root / "nbs").mkdir(parents=True)
    (root / ".mlnb").mkdir()
    stages = {}
    for i in range(n):
        (root / "nbs" / f"s{i}.ipynb").write_text(json.dumps(nb(stage_cells(i))))
        st: dict = {"notebook": f"nbs/s{i}.ipynb", "outs": [f"data/s{i}.txt"]}
        if i:
            st["deps"] = [f"data/s{i - 1}.txt"]
        stages[f"s{i}"] = st
    import yaml

    (root / "mlnb.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))


def edit_without_changing_outs(root: Path, i: int) -> None:
    p = root / "nbs" / f"s{i}.ipynb"
    data = json.loads(p.read_text())
    data["cells"][0]["source"] += "\n# a comment: the code changed, the out will not"
    p.write_text(json.dumps(data))


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, str]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return dt, proc.stdout + proc.stderr


def mlnb_bench(n: int) -> dict:
    mlnb = [sys.executable, "-m", "mlnb.cli"]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        root.mkdir()
        build(root, n)
        env = {**os.environ, "MLNB_PROJECT": str(root)}
        full, _ = timed(mlnb + ["run", "--no-track"], root, env)
        noop, out = timed(mlnb + ["run"], root, env)
        assert "up to date" in out, out
        status, _ = timed(mlnb + ["status"], root, env)
        edit_without_changing_outs(root, n // 2)
        edit_t, out = timed(mlnb + ["run", "--no-track", "--format", "jsonl"], root, env)
        executed = sum(1 for line in out.splitlines() if line.startswith("{")
                       and json.loads(line).get("event") == "stage-end")
        return {"full_run_s": full, "noop_run_s": noop, "status_s": status,
                "after_edit_s": edit_t, "after_edit_executed": executed}


def _bin(name: str) -> str | None:
    extra = os.environ.get("BENCH_BIN")
    if extra and (Path(extra) / name).exists():
        return str(Path(extra) / name)
    return shutil.which(name)


def dvc_bench(n: int, dvc: str) -> dict:
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        root.mkdir()
        build(root, n)
        (root / "mlnb.yaml").unlink()
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        subprocess.run([dvc, "init", "-q"], cwd=root, check=True)
        mlnb_exec = f"{sys.executable} -m mlnb.cli exec --no-track --progress none --cwd ."
        stages = {}
        for i in range(n):
            st = {"cmd": f"{mlnb_exec} nbs/s{i}.ipynb", "deps": [f"nbs/s{i}.ipynb"], "outs": [f"data/s{i}.txt"]}
            if i:
                st["deps"].append(f"data/s{i - 1}.txt")
            stages[f"s{i}"] = st
        (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))
        env = {**os.environ, "MLNB_PROJECT": str(root)}
        full, _ = timed([dvc, "repro", "-q"], root, env)
        noop, _ = timed([dvc, "repro"], root, env)
        edit_without_changing_outs(root, n // 2)
        edit_t, out = timed([dvc, "repro"], root, env)
        executed = out.count("Running stage")
        return {"full_run_s": full, "noop_run_s": noop, "after_edit_s": edit_t, "after_edit_executed": executed}


def ploomber_bench(n: int, ploomber: str) -> dict:
    import yaml

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "p"
        root.mkdir()
        build(root, n)
        tasks = []
        for i in range(n):
            p = root / "nbs" / f"s{i}.ipynb"
            data = json.loads(p.read_text())
            up = "None" if i == 0 else f"['s{i - 1}']"
            data["cells"].insert(0, {"cell_type": "code", "id": "params", "metadata": {"tags": ["parameters"]},
                                     "source": f"upstream = {up}\nproduct = None", "outputs": [],
                                     "execution_count": None})
            p.write_text(json.dumps(data))
            tasks.append({"source": f"nbs/s{i}.ipynb", "name": f"s{i}",
                          "product": {"nb": f"products/s{i}.ipynb", "data": f"data/s{i}.txt"}})
        (root / "pipeline.yaml").write_text(yaml.safe_dump({"tasks": tasks}, sort_keys=False))
        full, _ = timed([ploomber, "build"], root)
        noop, _ = timed([ploomber, "build"], root)
        edit_without_changing_outs(root, n // 2)
        edit_t, out = timed([ploomber, "build"], root)
        executed = sum(1 for line in out.splitlines() if " True " in line or line.rstrip().endswith("True"))
        return {"full_run_s": full, "noop_run_s": noop, "after_edit_s": edit_t, "after_edit_executed": executed}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stages", type=int, default=20)
    ap.add_argument("--compare", action="store_true", help="also run dvc repro / ploomber build if installed")
    args = ap.parse_args()
    rows = {"mlnb": mlnb_bench(args.stages)}
    if args.compare:
        for name, fn in (("dvc", dvc_bench), ("ploomber", ploomber_bench)):
            exe = _bin(name)
            if exe is None:
                print(f"{name}: not installed, skipped")
                continue
            try:
                rows[name] = fn(args.stages, exe)
            except SystemExit as e:
                print(f"{name}: failed: {e}")
    print(f"{args.stages}-stage chain of tiny notebooks")
    print(f"{'tool':10} {'full run':>9} {'no-op':>8} {'after edit':>11} {'re-executed':>12}")
    for name, r in rows.items():
        print(f"{name:10} {r['full_run_s']:8.2f}s {r['noop_run_s']:7.3f}s {r['after_edit_s']:10.2f}s "
              f"{r['after_edit_executed']:>12}")
    m = rows["mlnb"]
    print(f"mlnb status (clean): {m['status_s']:.3f}s")
    for name, r in rows.items():
        if name != "mlnb":
            print(f"no-op ratio {name}/mlnb: {r['noop_run_s'] / m['noop_run_s']:.1f}x")


if __name__ == "__main__":
    main()
