"""mlnb tracking vs MLflow (SQLite backend), side by side, in one run on this machine.

    python benchmarks/bench_tracking.py            # default sizes, a few minutes on 2 cores
    python benchmarks/bench_tracking.py --quick    # small sizes, a smoke check (~1 min)
    python benchmarks/bench_tracking.py --json     # the same numbers as JSON on stdout

What is measured (every measurement runs in its own fresh Python process, in a fresh temporary
folder, so neither tool's imports, threads or garbage pay for the other's):

1. per-call latency of ``log_metric`` (time.perf_counter_ns around each call): median, p95, p99;
2. points/s COMMITTED: mlnb logs N points then ``mlnb.flush()``; MLflow's ``log_metric``
   (commits per call), ``log_metric(synchronous=False)`` + ``flush_async_logging()``, and
   ``MlflowClient().log_batch`` with batches of 1000. Every count is checked in the SQLite file;
3. wall-clock from spawning ``python -c "...log one metric..."`` to its exit, on a new store and
   on an existing one (median of several);
4. ``import`` time and ``--help`` time of the CLIs (median of several), next to ``python -c pass``.

Benchmarks print numbers; they assert nothing about timings. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PY = sys.executable

# Targets from the brief / ARCHITECTURE.md §5.
TARGET_LATENCY_RATIO = 1_000.0      # mlnb log_metric median at least this many times faster
TARGET_COMMITTED_RATE = 100_000.0   # mlnb points/s committed (log N, then flush)
TARGET_FIRST_POINT_S = 0.5          # mlnb: new process -> first stored point on a new store

SIZES = {
    # name: (default, quick)
    "mlnb_latency_n": (200_000, 20_000),
    "mlnb_throughput_n": (500_000, 50_000),
    "mlflow_latency_n": (2_000, 200),
    "mlflow_async_n": (2_000, 300),
    "mlflow_batch_n": (50_000, 10_000),
    "mlnb_throughput_reps": (3, 1),
    "reps": (5, 3),
}
BATCH = 1000


# =========================================================================================
# Workers: each runs in its own process (``--worker NAME``) and prints one JSON object.
# =========================================================================================
def _stats_ns(lat: list[int]) -> dict[str, float]:
    s = sorted(lat)
    n = len(s)

    def pct(p: float) -> float:  # nearest rank
        return float(s[min(n - 1, max(0, int(round(p / 100.0 * n + 0.5)) - 1))])

    return {
        "median_ns": float(statistics.median(s)),
        "p95_ns": pct(95),
        "p99_ns": pct(99),
        "max_ns": float(s[-1]),
        "mean_ns": sum(s) / n,
    }


def _timer_overhead_ns(n: int = 100_000) -> float:
    pc = time.perf_counter_ns
    lat = [0] * n
    for i in range(n):
        a = pc()
        lat[i] = pc() - a
    return float(statistics.median(lat))


def _count(db: str, sql: str) -> int:
    con = sqlite3.connect(db)
    try:
        return int(con.execute(sql).fetchone()[0])
    finally:
        con.close()


def _mlnb_db(folder: str) -> str:
    return os.path.join(folder, ".mlnb", "mlnb.db")


def w_mlnb_latency(n: int, folder: str) -> dict[str, Any]:
    import mlnb
    from mlnb.tracking import open_store

    mlnb.start_run(name="bench-latency")
    mlnb.log_metric("warmup", 0.0)
    mlnb.flush()
    writer = open_store().writer
    log = mlnb.log_metric
    pc = time.perf_counter_ns
    lat = [0] * n
    t0 = pc()
    for i in range(n):
        v = i * 0.001
        a = pc()
        log("loss", v, i)
        lat[i] = pc() - a
    t_loop = pc() - t0
    pending = writer.pending  # not yet committed when the loop ended
    mlnb.flush()
    t_total = pc() - t0
    stored = _count(_mlnb_db(folder), "SELECT COUNT(*) FROM metrics WHERE key = 'loss'")
    return {"n": n, **_stats_ns(lat), "loop_s": t_loop / 1e9, "total_s": t_total / 1e9,
            "pending_at_loop_end": pending, "stored": stored,
            "timer_overhead_ns": _timer_overhead_ns()}


def w_mlnb_throughput(n: int, folder: str) -> dict[str, Any]:
    import mlnb
    from mlnb.tracking import open_store

    mlnb.start_run(name="bench-throughput")
    mlnb.log_metric("warmup", 0.0)
    mlnb.flush()
    writer = open_store().writer
    log = mlnb.log_metric
    pc = time.perf_counter_ns
    t0 = pc()
    for i in range(n):
        log("loss", i * 0.001, i)
    t_loop = pc() - t0
    pending = writer.pending
    mlnb.flush()
    t_total = pc() - t0
    stored = _count(_mlnb_db(folder), "SELECT COUNT(*) FROM metrics WHERE key = 'loss'")
    return {"n": n, "loop_s": t_loop / 1e9, "total_s": t_total / 1e9,
            "flush_wait_s": (t_total - t_loop) / 1e9, "points_per_s": n / (t_total / 1e9),
            "pending_at_loop_end": pending, "stored": stored}


def _mlflow_setup(folder: str):
    import mlflow

    db = os.path.join(folder, "mlflow.db")
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    run = mlflow.start_run(run_name="bench")  # creates the store; not timed
    mlflow.log_metric("warmup", 0.0)
    return mlflow, run, db


def w_mlflow_latency(n: int, folder: str) -> dict[str, Any]:
    mlflow, run, db = _mlflow_setup(folder)
    log = mlflow.log_metric
    pc = time.perf_counter_ns
    lat = [0] * n
    t0 = pc()
    for i in range(n):
        v = i * 0.001
        a = pc()
        log("loss", v, step=i)
        lat[i] = pc() - a
    t_total = pc() - t0  # every call has committed when it returns
    mlflow.end_run()
    stored = _count(db, "SELECT COUNT(*) FROM metrics WHERE key = 'loss'")
    return {"n": n, **_stats_ns(lat), "loop_s": t_total / 1e9, "total_s": t_total / 1e9,
            "points_per_s": n / (t_total / 1e9), "stored": stored,
            "timer_overhead_ns": _timer_overhead_ns()}


def w_mlflow_async(n: int, folder: str) -> dict[str, Any]:
    mlflow, run, db = _mlflow_setup(folder)
    log = mlflow.log_metric
    pc = time.perf_counter_ns
    lat = [0] * n
    t0 = pc()
    for i in range(n):
        v = i * 0.001
        a = pc()
        log("loss", v, step=i, synchronous=False)
        lat[i] = pc() - a
    t_loop = pc() - t0
    mlflow.flush_async_logging()
    t_total = pc() - t0
    mlflow.end_run()
    stored = _count(db, "SELECT COUNT(*) FROM metrics WHERE key = 'loss'")
    return {"n": n, **_stats_ns(lat), "loop_s": t_loop / 1e9, "total_s": t_total / 1e9,
            "points_per_s": n / (t_total / 1e9), "stored": stored}


def w_mlflow_batch(n: int, folder: str) -> dict[str, Any]:
    mlflow, run, db = _mlflow_setup(folder)
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    run_id = run.info.run_id
    pc = time.perf_counter_ns
    t0 = pc()
    for start in range(0, n, BATCH):
        ts = int(time.time() * 1000)  # building the batch is part of what a user pays
        batch = [Metric("loss", i * 0.001, ts, i) for i in range(start, min(n, start + BATCH))]
        client.log_batch(run_id, metrics=batch)
    t_total = pc() - t0
    mlflow.end_run()
    stored = _count(db, "SELECT COUNT(*) FROM metrics WHERE key = 'loss'")
    return {"n": n, "batch": BATCH, "total_s": t_total / 1e9,
            "points_per_s": n / (t_total / 1e9), "stored": stored}


WORKERS = {
    "mlnb_latency": w_mlnb_latency,
    "mlnb_throughput": w_mlnb_throughput,
    "mlflow_latency": w_mlflow_latency,
    "mlflow_async": w_mlflow_async,
    "mlflow_batch": w_mlflow_batch,
}


# =========================================================================================
# The driver.
# =========================================================================================
def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _env(folder: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MLNB_", "MLFLOW_", "JPY_"))}
    # MLflow 3 sends usage telemetry by default; this sandbox has no route to it, and a user
    # comparing storage speed does not pay for it either. Documented in docs/benchmarks.md.
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    env["PYTHONWARNINGS"] = "ignore"
    if folder is not None:
        env["MLNB_PROJECT"] = folder
    return env


def run_worker(name: str, n: int, tmp: str) -> dict[str, Any]:
    folder = tempfile.mkdtemp(prefix=f"{name}-", dir=tmp)
    _log(f"  {name} (n={n:,}) ...")
    t = time.perf_counter()
    proc = subprocess.run([PY, str(Path(__file__).resolve()), "--worker", name, "--n", str(n),
                           "--dir", folder], cwd=folder, env=_env(folder),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"worker {name} failed:\n{proc.stderr[-4000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    _log(f"    done in {time.perf_counter() - t:.1f} s")
    return out


def time_spawn(code: str | list[str], reps: int, tmp: str, *, fresh: bool, label: str,
               check_db: str | None = None, warmup: bool = True) -> dict[str, Any]:
    """Median wall-clock from spawning ``python -c code`` (or ``python *code``) to its exit.

    fresh=True: every repetition gets a new empty folder (a new store). Otherwise all share one
    folder whose store an untimed first run created. ``{dir}`` in ``code`` names the folder.
    check_db names a SQLite file (relative to the folder) whose metrics table must gain a row.
    """
    _log(f"  {label} ({reps} reps) ...")
    shared = tempfile.mkdtemp(prefix="spawn-", dir=tmp)

    def once(folder: str) -> float:
        args = ["-c", code] if isinstance(code, str) else code
        cmd = [PY, *(a.replace("{dir}", folder) for a in args)]
        t = time.perf_counter()
        proc = subprocess.run(cmd, cwd=folder, env=_env(folder), capture_output=True, text=True)
        dt = time.perf_counter() - t
        if proc.returncode != 0:
            raise SystemExit(f"{label} failed:\n{proc.stderr[-4000:]}")
        return dt

    if warmup or not fresh:
        once(shared)  # warms the OS cache and .pyc files; creates the shared store
    times = []
    for _ in range(reps):
        folder = tempfile.mkdtemp(prefix="spawn-", dir=tmp) if fresh else shared
        times.append(once(folder))
        if check_db:
            got = _count(os.path.join(folder, check_db), "SELECT COUNT(*) FROM metrics")
            if got < 1:
                raise SystemExit(f"{label}: no metric stored in {check_db}")
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times),
            "reps": reps, "all_s": times}


def versions() -> dict[str, str]:
    out = {}
    for mod in ("mlnb", "mlflow"):
        code = f"import {mod}; print({mod}.__version__)"
        p = subprocess.run([PY, "-c", code], capture_output=True, text=True, env=_env())
        out[mod] = p.stdout.strip() if p.returncode == 0 else "not installed"
    out["sqlite"] = sqlite3.sqlite_version
    out["python"] = platform.python_version()
    return out


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {"cores": os.cpu_count(), "cpu": cpu, "platform": platform.platform(),
            "python": platform.python_version()}
    if hasattr(os, "getloadavg"):
        info["loadavg_at_start"] = [round(x, 2) for x in os.getloadavg()]
    return info


def bench(quick: bool, reps: int | None) -> dict[str, Any]:
    idx = 1 if quick else 0
    size = {k: v[idx] for k, v in SIZES.items()}
    if reps is not None:
        size["reps"] = reps
    r = size["reps"]
    res: dict[str, Any] = {"mode": "quick" if quick else "default", "sizes": size,
                           "machine": machine(), "versions": versions()}
    if res["versions"]["mlflow"] == "not installed":
        raise SystemExit("MLflow is not installed: pip install 'mlnb[bench]' (or pip install mlflow)")
    tmp = tempfile.mkdtemp(prefix="mlnb-bench-")
    t_start = time.perf_counter()
    try:
        _log("1. per-call latency of log_metric")
        res["latency"] = {
            "mlnb": run_worker("mlnb_latency", size["mlnb_latency_n"], tmp),
            "mlflow": run_worker("mlflow_latency", size["mlflow_latency_n"], tmp),
            "mlflow_async": run_worker("mlflow_async", size["mlflow_async_n"], tmp),
        }
        _log("2. points/s committed")
        tries = [run_worker("mlnb_throughput", size["mlnb_throughput_n"], tmp)
                 for _ in range(size["mlnb_throughput_reps"])]
        best = sorted(tries, key=lambda d: d["points_per_s"])[len(tries) // 2]  # the median one
        res["throughput"] = {
            "mlnb": {**best, "reps": len(tries),
                     "all_points_per_s": [d["points_per_s"] for d in tries]},
            "mlflow_batch": run_worker("mlflow_batch", size["mlflow_batch_n"], tmp),
        }
        _log("3. new process -> first stored point")
        mlnb_code = "import mlnb; mlnb.log_metric('x', 1); mlnb.flush()"
        mlflow_code = ("import mlflow; mlflow.set_tracking_uri('sqlite:///{dir}/mlflow.db'); "
                       "mlflow.log_metric('x', 1)")
        res["first_point"] = {
            "mlnb_new_store": time_spawn(mlnb_code, r, tmp, fresh=True, label="mlnb, new store",
                                         check_db=".mlnb/mlnb.db"),
            "mlflow_new_store": time_spawn(mlflow_code, r, tmp, fresh=True,
                                           label="mlflow, new store", check_db="mlflow.db"),
            "mlnb_existing_store": time_spawn(mlnb_code, r, tmp, fresh=False,
                                              label="mlnb, existing store"),
            "mlflow_existing_store": time_spawn(mlflow_code, r, tmp, fresh=False,
                                                label="mlflow, existing store"),
        }
        _log("4. import and CLI start-up")
        startup = {
            "python_pass": time_spawn("pass", r, tmp, fresh=True, label="python -c pass"),
            "import_mlnb": time_spawn("import mlnb", r, tmp, fresh=True, label="import mlnb"),
            "import_mlnb_tracking": time_spawn("import mlnb.tracking", r, tmp, fresh=True,
                                               label="import mlnb.tracking"),
            "import_mlflow": time_spawn("import mlflow", r, tmp, fresh=True,
                                        label="import mlflow"),
        }
        if (REPO / "mlnb" / "cli" / "__main__.py").exists():
            startup["mlnb_cli_help"] = time_spawn(["-m", "mlnb.cli", "--help"], r, tmp,
                                                  fresh=True, label="python -m mlnb.cli --help")
        startup["mlflow_cli_help"] = time_spawn(["-m", "mlflow", "--help"], r, tmp, fresh=True,
                                                label="python -m mlflow --help")
        res["startup"] = startup
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    res["elapsed_s"] = time.perf_counter() - t_start
    if hasattr(os, "getloadavg"):
        res["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    res["summary"] = summarize(res)
    return res


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def summarize(res: dict[str, Any]) -> dict[str, Any]:
    lat, thr, fp = res["latency"], res["throughput"], res["first_point"]
    ratio_median = _ratio(lat["mlflow"]["median_ns"], lat["mlnb"]["median_ns"])
    ratio_p95 = _ratio(lat["mlflow"]["p95_ns"], lat["mlnb"]["p95_ns"])
    rate = thr["mlnb"]["points_per_s"]
    first = fp["mlnb_new_store"]["median_s"]
    counts_ok = all(
        d["stored"] == d["n"]
        for d in (lat["mlnb"], lat["mlflow"], lat["mlflow_async"], thr["mlnb"], thr["mlflow_batch"])
    )
    return {
        "latency_ratio_median": ratio_median,
        "latency_ratio_p95": ratio_p95,
        "mlnb_committed_points_per_s": rate,
        "mlnb_first_point_new_store_s": first,
        "all_counts_verified": counts_ok,
        "targets": {
            "latency_ratio_median>=1000": ratio_median >= TARGET_LATENCY_RATIO,
            "committed_points_per_s>=100000": rate >= TARGET_COMMITTED_RATE,
            "first_point_new_store<0.5s": first < TARGET_FIRST_POINT_S,
        },
    }


# -- printing ------------------------------------------------------------------------------
def _us(ns: float) -> str:
    us = ns / 1000.0
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.2f} µs"


def _rate(x: float) -> str:
    return f"{x:,.0f}/s"


def _s(x: float) -> str:
    return f"{x * 1000:.0f} ms" if x < 10 else f"{x:.1f} s"


def _x(x: float) -> str:
    return f"{x:,.0f}×" if x >= 10 else f"{x:.2f}×"


def _table(rows: list[tuple[str, ...]], head: tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in (head, *rows)) for i in range(len(head))]
    line = lambda r: "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)  # noqa: E731
                               for i, (c, w) in enumerate(zip(r, widths)))
    out = [line(head), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in rows]
    return "\n".join(out)


def render(res: dict[str, Any]) -> str:
    lat, thr, fp, st = res["latency"], res["throughput"], res["first_point"], res["startup"]
    m, v, s = res["machine"], res["versions"], res["summary"]
    a, f, fa = lat["mlnb"], lat["mlflow"], lat["mlflow_async"]
    out = [
        f"mlnb {v['mlnb']} vs MLflow {v['mlflow']} (sqlite backend)  |  Python {v['python']}, "
        f"SQLite {v['sqlite']}, {m['cores']} cores ({m['cpu']}), load at start "
        f"{m.get('loadavg_at_start')}, at end {m.get('loadavg_at_end')}  |  mode: {res['mode']}, "
        f"{res['elapsed_s']:.0f} s",
        "",
        "1. log_metric per-call latency (perf_counter_ns around each call; timer overhead "
        f"~{a['timer_overhead_ns']:.0f} ns included)",
        _table([
            ("median", _us(a["median_ns"]), _us(f["median_ns"]), _x(f["median_ns"] / a["median_ns"]),
             _us(fa["median_ns"]), _x(fa["median_ns"] / a["median_ns"])),
            ("p95", _us(a["p95_ns"]), _us(f["p95_ns"]), _x(f["p95_ns"] / a["p95_ns"]),
             _us(fa["p95_ns"]), _x(fa["p95_ns"] / a["p95_ns"])),
            ("p99", _us(a["p99_ns"]), _us(f["p99_ns"]), _x(f["p99_ns"] / a["p99_ns"]),
             _us(fa["p99_ns"]), _x(fa["p99_ns"] / a["p99_ns"])),
            ("max", _us(a["max_ns"]), _us(f["max_ns"]), _x(f["max_ns"] / a["max_ns"]),
             _us(fa["max_ns"]), _x(fa["max_ns"] / a["max_ns"])),
            ("calls", f"{a['n']:,}", f"{f['n']:,}", "", f"{fa['n']:,}", ""),
        ], ("", "mlnb", "mlflow", "mlflow/mlnb", "mlflow async", "async/mlnb")),
        "",
        "2. points/s committed (log N points, then wait until all are committed; counts checked "
        "in the SQLite file)",
        _table([
            ("mlnb log_metric + flush()", f"{thr['mlnb']['n']:,}", _s(thr["mlnb"]["total_s"]),
             _rate(thr["mlnb"]["points_per_s"]), "1.00×", f"{thr['mlnb']['stored']:,}"),
            ("mlnb (latency run) + flush()", f"{a['n']:,}", _s(a["total_s"]),
             _rate(a["n"] / a["total_s"]), "", f"{a['stored']:,}"),
            ("mlflow log_metric (commit per call)", f"{f['n']:,}", _s(f["total_s"]),
             _rate(f["points_per_s"]), _x(thr["mlnb"]["points_per_s"] / f["points_per_s"]),
             f"{f['stored']:,}"),
            ("mlflow log_metric(synchronous=False) + flush", f"{fa['n']:,}", _s(fa["total_s"]),
             _rate(fa["points_per_s"]), _x(thr["mlnb"]["points_per_s"] / fa["points_per_s"]),
             f"{fa['stored']:,}"),
            (f"mlflow MlflowClient.log_batch({BATCH})", f"{thr['mlflow_batch']['n']:,}",
             _s(thr["mlflow_batch"]["total_s"]), _rate(thr["mlflow_batch"]["points_per_s"]),
             _x(thr["mlnb"]["points_per_s"] / thr["mlflow_batch"]["points_per_s"]),
             f"{thr['mlflow_batch']['stored']:,}"),
        ], ("", "points", "time", "committed", "mlnb is", "stored")),
        f"  mlnb runs: {', '.join(_rate(x) for x in thr['mlnb']['all_points_per_s'])} (median shown);"
        f" logging loop {_s(thr['mlnb']['loop_s'])}, then flush() waited "
        f"{_s(thr['mlnb']['flush_wait_s'])}: {thr['mlnb']['pending_at_loop_end']:,} of "
        f"{thr['mlnb']['n']:,} points were not yet committed when the loop ended.",
        "",
        "3. new process -> first stored point (spawn to exit, median of "
        f"{fp['mlnb_new_store']['reps']})",
        _table([
            ("new store", _s(fp["mlnb_new_store"]["median_s"]),
             _s(fp["mlflow_new_store"]["median_s"]),
             _x(fp["mlflow_new_store"]["median_s"] / fp["mlnb_new_store"]["median_s"])),
            ("existing store", _s(fp["mlnb_existing_store"]["median_s"]),
             _s(fp["mlflow_existing_store"]["median_s"]),
             _x(fp["mlflow_existing_store"]["median_s"] / fp["mlnb_existing_store"]["median_s"])),
        ], ("", "mlnb", "mlflow", "mlflow/mlnb")),
        "",
        "4. start-up (spawn to exit, median; `python -c pass` is the floor)",
    ]
    rows = [
        ("python -c pass", _s(st["python_pass"]["median_s"]), "", ""),
        ("import", _s(st["import_mlnb"]["median_s"]), _s(st["import_mlflow"]["median_s"]),
         _x(st["import_mlflow"]["median_s"] / st["import_mlnb"]["median_s"])),
        ("import mlnb.tracking", _s(st["import_mlnb_tracking"]["median_s"]), "", ""),
    ]
    if "mlnb_cli_help" in st:
        rows.append(("python -m <cli> --help", _s(st["mlnb_cli_help"]["median_s"]),
                     _s(st["mlflow_cli_help"]["median_s"]),
                     _x(st["mlflow_cli_help"]["median_s"] / st["mlnb_cli_help"]["median_s"])))
    out.append(_table(rows, ("", "mlnb", "mlflow", "mlflow/mlnb")))
    t = s["targets"]
    ok = lambda b: "MET" if b else "MISSED"  # noqa: E731
    out += [
        "",
        "Targets",
        f"  log_metric median ≥ 1,000× faster than MLflow: {_x(s['latency_ratio_median'])}"
        f"  -> {ok(t['latency_ratio_median>=1000'])}",
        f"  mlnb ≥ 100,000 points/s committed:           {_rate(s['mlnb_committed_points_per_s'])}"
        f"  -> {ok(t['committed_points_per_s>=100000'])}",
        f"  mlnb first point (new store) < 0.5 s:         {_s(s['mlnb_first_point_new_store_s'])}"
        f"  -> {ok(t['first_point_new_store<0.5s'])}",
        f"  all stored counts verified: {'yes' if s['all_counts_verified'] else 'NO'}",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke check")
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    ap.add_argument("--reps", type=int, default=None, help="repetitions of process spawns")
    ap.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(WORKERS[args.worker](args.n, args.dir)))
        return 0
    res = bench(args.quick, args.reps)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print(render(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
