"""Several processes writing one store at once; a process killed mid-run loses no finished work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import mlnb
from mlnb.tracking import open_store

WRITER = textwrap.dedent(
    """
    import sys, mlnb
    worker, runs, points = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    sys.stdin.readline()  # start together
    for r in range(runs):
        with mlnb.start_run(name=f"w{worker}-r{r}", params={"worker": worker, "r": r}):
            for i in range(points):
                mlnb.log_metric("m", i)
                if i % 997 == 0:
                    mlnb.flush()   # many small commits interleave with the other writers
            mlnb.set_tag("done", "yes")
    print("ok", flush=True)
    """
)


def test_many_processes_one_store_no_lock_errors_no_lost_points(project_dir):
    procs = []
    n_proc, runs, points = 4, 3, 3000
    for w in range(n_proc):
        procs.append(subprocess.Popen(
            [sys.executable, "-c", WRITER, str(w), str(runs), str(points)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip() == "ok"
        assert "locked" not in err and "could not store" not in err
    all_runs = mlnb.runs()
    assert len(all_runs) == n_proc * runs
    assert all(r.status == "finished" and r.tags == {"done": "yes"} for r in all_runs)
    store = open_store()
    for r in all_runs:
        hist = store.metric_history(r.id, "m")
        assert [p.value for p in hist] == [float(i) for i in range(points)]


KILLED = textwrap.dedent(
    """
    import sys
    import IPython
    from IPython.testing.globalipapp import start_ipython
    ip = start_ipython()
    ip.run_line_magic("load_ext", "mlnb")
    for n in range(3):   # three finished cells
        ip.run_cell(f"import mlnb\\nfor i in range(100): mlnb.log_metric('c{n}', i)", store_history=True)
    from mlnb import tracking
    print(tracking.active_run().id, flush=True)
    # a fourth cell that hangs mid-way, after logging a little
    ip.run_cell("import sys, mlnb\\nmlnb.log_metric('partial', 1)\\nmlnb.flush()\\nsys.stdout.write('hanging\\\\n'); sys.stdout.flush()\\nsys.stdin.readline()")
    """
)


def test_killed_process_keeps_finished_cells_and_is_marked_killed(project_dir):
    p = subprocess.Popen([sys.executable, "-c", KILLED], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run_id = p.stdout.readline().strip()
    assert p.stdout.readline().strip() == "hanging"
    os.kill(p.pid, signal.SIGKILL)
    p.wait(timeout=30)
    store = open_store()
    store.reap_dead_runs(force=True)
    run = store.get_run(run_id)
    assert run.status == "killed"
    for n in range(3):
        assert len(store.metric_history(run_id, f"c{n}")) == 100
    cells = store.cell_executions(run_id)
    assert [c["status"] for c in cells[:3]] == ["ok", "ok", "ok"]
    assert cells[-1]["status"] == "error" and cells[-1]["error_name"] == "KernelDied"
    assert [p.value for p in store.metric_history(run_id, "partial")] == [1.0]
