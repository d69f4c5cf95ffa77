"""Data pinning benchmarks: mlnb vs. md5 / DVC on the same machine, in one run.

    python benchmarks/bench_data.py                 # all scenarios, DVC too when `dvc` is on PATH
    python benchmarks/bench_data.py --small 20000   # fewer small files (quicker)
    DVC=/path/to/dvc python benchmarks/bench_data.py

Scenarios: (0) raw hash throughput, BLAKE3 vs MD5; (1) pin a 1 GiB file (warm page cache);
(2) status with nothing changed on N files of 1 KiB; (3) pin N small files; (4) a corrupted cache
object at checkout; (5) the cost of kernel read capture (audit hook) per open(). Prints a table.
Benchmarks are not tests: they print numbers.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MLNB = [sys.executable, "-m", "mlnb.cli"] if not shutil.which("mlnb") else [shutil.which("mlnb")]


def _t(fn, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _sh(cmd: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLNB_PROJECT": str(cwd), "DVC_NO_ANALYTICS": "1"}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=check)


def _project(base: Path, name: str, dvc: str | None) -> Path:
    root = base / name
    root.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    _sh(MLNB + ["init"], root)
    if dvc:
        _sh([dvc, "init", "-q"], root)
        _sh([dvc, "config", "core.analytics", "false"], root)
    return root


def _small_files(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    per_dir = 1000
    for i in range(n):
        d = folder / f"d{i // per_dir:04}"
        if i % per_dir == 0:
            d.mkdir()
        (d / f"f{i:06}.bin").write_bytes(os.urandom(1024))
    # Age the files: a status "with nothing changed" is about data that is not being written now.
    past = time.time() - 60
    for dirpath, _, files in os.walk(folder):
        for f in files:
            os.utime(os.path.join(dirpath, f), (past, past))


def bench_hash(big: Path) -> dict[str, float]:
    from blake3 import blake3

    size = big.stat().st_size
    big.read_bytes()  # warm the page cache

    def md5() -> None:
        h = hashlib.md5()
        with open(big, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)

    def b3_one() -> None:
        h = blake3()
        with open(big, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)

    def b3_mt() -> None:
        from mlnb.data import hash_file

        hash_file(big)

    gb = size / 1e9
    return {"md5 GB/s": gb / _t(md5, 2), "blake3 1 thread GB/s": gb / _t(b3_one, 2),
            "blake3 all cores (mlnb) GB/s": gb / _t(b3_mt, 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--big-mb", type=int, default=1024)
    ap.add_argument("--small", type=int, default=100_000)
    ap.add_argument("--dvc", default=os.environ.get("DVC") or shutil.which("dvc"))
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    dvc = args.dvc
    base = Path(tempfile.mkdtemp(prefix="mlnb-bench-data-"))
    rows: list[tuple[str, float | None, float | None]] = []
    try:
        print(f"# machine: {os.cpu_count()} cores, python {sys.version.split()[0]}, "
              f"dvc: {_sh([dvc, '--version'], base).stdout.strip() if dvc else 'not available'}")
        # (0) + (1): one big file
        m = _project(base, "big_mlnb", None)
        d = _project(base, "big_dvc", dvc) if dvc else None
        data = os.urandom(1 << 20)
        with open(m / "big.bin", "wb") as f:
            for _ in range(args.big_mb):
                f.write(data[:512 << 10] + os.urandom(512 << 10))
        for k, v in bench_hash(m / "big.bin").items():
            print(f"  {k:32} {v:6.2f}")
        if d:
            shutil.copy(m / "big.bin", d / "big.bin")
            (d / "big.bin").read_bytes()
        (m / "big.bin").read_bytes()
        t_m = _t(lambda: _sh(MLNB + ["data", "pin", "big.bin"], m))
        t_d = _t(lambda: _sh([dvc, "add", "-q", "big.bin"], d)) if d else None
        rows.append((f"pin a {args.big_mb} MiB file", t_m, t_d))

        # (2) + (3): many small files
        m = _project(base, "small_mlnb", None)
        _small_files(m / "ds", args.small)
        d = None
        if dvc:
            d = _project(base, "small_dvc", dvc)
            shutil.copytree(m / "ds", d / "ds")  # copytree keeps the aged mtimes
        t_m = _t(lambda: _sh(MLNB + ["data", "pin", "ds"], m))
        t_d = _t(lambda: _sh([dvc, "add", "-q", "ds"], d)) if d else None
        rows.append((f"pin {args.small} files of 1 KiB", t_m, t_d))
        t_m = _t(lambda: _sh(MLNB + ["data", "status", "--check"], m), repeat=3)
        t_d = _t(lambda: _sh([dvc, "status", "-q"], d, check=False), repeat=3) if d else None
        rows.append((f"status, nothing changed, {args.small} files", t_m, t_d))

        # (4) corruption: flip the cache object, delete the workspace file, check out.
        m = _project(base, "corrupt_mlnb", None)
        (m / "x.csv").write_text("a,b\n1,2\n")
        _sh(MLNB + ["data", "pin", "x.csv"], m)
        from blake3 import blake3

        h = blake3(b"a,b\n1,2\n").hexdigest()
        obj = m / ".mlnb" / "objects" / h[:2] / h[2:]
        os.chmod(obj, 0o644)
        obj.unlink()
        obj.write_text("a,b\n6,6\n")
        (m / "x.csv").unlink()
        r = _sh(MLNB + ["data", "checkout"], m, check=False)
        mlnb_corrupt = "REFUSED (exit %d): %s" % (r.returncode, r.stderr.strip().splitlines()[-1][:90]) \
            if r.returncode else f"checked out silently: {(m / 'x.csv').read_text()!r}"
        dvc_corrupt = "n/a"
        if dvc:
            d = _project(base, "corrupt_dvc", dvc)
            (d / "x.csv").write_text("a,b\n1,2\n")
            _sh([dvc, "add", "-q", "x.csv"], d)
            md5 = hashlib.md5(b"a,b\n1,2\n").hexdigest()
            obj = next(p for p in (d / ".dvc" / "cache").rglob("*") if p.is_file() and md5[2:] in p.name)
            os.chmod(obj, 0o644)
            obj.write_text("a,b\n6,6\n")
            (d / "x.csv").unlink()
            r = _sh([dvc, "checkout"], d, check=False)
            got = (d / "x.csv").read_text() if (d / "x.csv").exists() else None
            dvc_corrupt = (f"checked out silently: {got!r} (exit {r.returncode})" if got is not None
                           else f"refused (exit {r.returncode})")

        # (5) read capture cost
        capture = bench_capture(base)

        print()
        print(f"| scenario | mlnb (s) | DVC (s) | ratio |")
        print(f"|---|---:|---:|---:|")
        for name, a, b in rows:
            ratio = f"{b / a:.1f}x" if (a and b) else "-"
            print(f"| {name} | {a:.2f} | {b:.2f} | {ratio} |" if b else f"| {name} | {a:.2f} | - | - |")
        print(f"| corrupted cache object at checkout | {mlnb_corrupt} | {dvc_corrupt} | |")
        print()
        for k, v in capture.items():
            print(f"  read capture: {k:40} {v}")
    finally:
        if not args.keep:
            subprocess.run(["chmod", "-R", "u+w", str(base)], check=False)
            shutil.rmtree(base, ignore_errors=True)


def bench_capture(base: Path) -> dict[str, str]:
    """Cost of the audit hook: per open() of an unrelated file, and per read inside the project."""
    code = r'''
import os, sys, time, types
from mlnb.project import Project
from mlnb.kernel import _reads
root = sys.argv[1]
os.makedirs(os.path.join(root, "d"), exist_ok=True)
p = os.path.join(root, "d", "f.csv"); open(p, "w").write("x\n")
out = os.path.join(os.path.dirname(root), "outside.txt"); open(out, "w").write("x")
N = 20000
def best(fn):
    return min(fn() for _ in range(5))
def _loop(path):
    t = time.perf_counter()
    for _ in range(N // 4):
        with open(path) as f: f.read()
    return (time.perf_counter() - t) / (N // 4) * 1e6
def _loop_noio():
    t = time.perf_counter()
    for _ in range(N * 10):
        sys._getframe()  # an audited event other than open
    return (time.perf_counter() - t) / (N * 10) * 1e6
loop = lambda path: best(lambda: _loop(path))
loop_noio = lambda: best(_loop_noio)
base_out, base_in, base_cpu = loop(out), loop(p), loop_noio()
class Ev:
    def register(self, *a): pass
tr = types.SimpleNamespace(project=Project(root), notebook_abs=None)
rec = _reads.install(types.SimpleNamespace(events=Ev()), tr)
rec.begin(); _reads._active = rec
hook_out, hook_in, hook_cpu = loop(out), loop(p), loop_noio()
t = time.perf_counter(); reads = rec.end(None, None); t_first = (time.perf_counter() - t) * 1e3
rec.begin(); _reads._active = rec; loop(p); _reads._active = None
t = time.perf_counter(); reads = rec.end("bench-run", None); t_end = (time.perf_counter() - t) * 1e3
rec.begin(); _reads._active = rec; loop(p); _reads._active = None
t = time.perf_counter(); reads = rec.end("bench-run", None); t_end = (time.perf_counter() - t) * 1e3
print(f"{base_out:.2f} {hook_out:.2f} {base_in:.2f} {hook_in:.2f} {base_cpu:.3f} {hook_cpu:.3f} {t_end:.2f}")
'''
    root = base / "capture" / "proj"
    (root / ".mlnb").mkdir(parents=True)
    out = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True,
                         check=True).stdout.split()
    b_out, h_out, b_in, h_in, b_cpu, h_cpu, t_end = map(float, out)
    return {
        "open+read outside the project (us)": f"{b_out:.2f} -> {h_out:.2f} with capture",
        "open+read of a project file (us)": f"{b_in:.2f} -> {h_in:.2f} with capture",
        "sys._getframe() (another audited event) (us)": f"{b_cpu:.3f} -> {h_cpu:.3f} with capture",
        "end of a cell that read 1 file: hash (stat cache) + record in the store (ms)": f"{t_end:.2f}",
    }


if __name__ == "__main__":
    main()
