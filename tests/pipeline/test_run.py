"""`mlnb run` against real kernels: tiny notebooks, few kernel starts (each costs ~1 s here)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from mlnb.pipeline import PipelineBusyError, pipeline_status, read_lock, run_pipeline
from mlnb.pipeline._runner import run_lock

pytestmark = pytest.mark.kernel


@pytest.fixture
def chain(proj):
    """prep → train → report; prep's out depends only on n // 10 (so edits can keep it identical)."""
    proj.nb("prep.ipynb", ["open('data.txt', 'w').write('x' * (n // 10))"], parameters="n = 30")
    proj.nb("train.ipynb", ["d = open('data.txt').read()",
                            "import json; json.dump({'acc': len(d) * lr}, open('metrics.json', 'w'))",
                            "open('model.txt', 'w').write(d + str(lr))"], parameters="lr = 0.1")
    proj.nb("report.ipynb", ["open('report.txt', 'w').write(open('model.txt').read().upper())"])
    proj.yaml("""
        stages:
          prep:
            notebook: prep.ipynb
            params: {n: 30}
            outs: [data.txt]
          train:
            notebook: train.ipynb
            params: {lr: 0.1}
            deps: [data.txt]
            outs: [model.txt]
            metrics: [metrics.json]
          report:
            notebook: report.ipynb
            deps: [model.txt]
            outs: [report.txt]
    """)
    return proj


def edit_yaml(proj, old: str, new: str) -> None:
    p = proj.root / "mlnb.yaml"
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new))


def actions(result) -> dict[str, str]:
    return {s.name: s.action for s in result.stages}


def test_full_run_noop_early_cutoff_and_run_cache(chain):
    project = chain.project()
    src_before = (chain.root / "train.ipynb").read_bytes()

    # 1. a full run, tracked: a pipeline run with one child run per stage
    r = run_pipeline(project)
    assert r.ok and actions(r) == {"prep": "ran", "train": "ran", "report": "ran"}
    assert (chain.root / "report.txt").read_text() == "XXX0.1"
    assert (chain.root / "train.ipynb").read_bytes() == src_before  # never written over
    from mlnb.tracking import open_store

    store = open_store(project)
    store.flush() if hasattr(store, "flush") else None
    parent = store.get_run(r.run_id)
    assert parent.tags.get("mlnb.source") == "pipeline" and parent.status == "finished"
    children = store.search_runs(filter=f"parent_id = '{r.run_id}'")
    assert sorted(c.name for c in children) == ["prep", "report", "train"]
    train_run = next(c for c in children if c.name == "train")
    assert train_run.params == {"lr": 0.1} and train_run.tags["mlnb.stage"] == "train"
    detail = store.run_detail(train_run.id)
    assert any(a["path"].endswith("train.ipynb") for a in detail["artifacts"])
    lock = read_lock(project)["stages"]
    assert lock["train"]["run_id"] == train_run.id
    assert lock["train"]["metrics"]["metrics.json"]["kind"] == "file"

    # 2. nothing changed: nothing runs, no kernel, no run
    r = run_pipeline(project)
    assert actions(r) == {"prep": "fresh", "train": "fresh", "report": "fresh"}
    assert r.run_id is None  # no tracked run, so no kernel was started

    # 3. early cut-off: prep re-runs (param changed) but writes the same data.txt
    edit_yaml(chain, "n: 30", "n: 35")
    r = run_pipeline(project)
    assert actions(r) == {"prep": "ran", "train": "fresh", "report": "fresh"}
    assert r.by_name()["prep"].outs_changed is False

    # 4. a real change flows down; then reverting it restores from the run cache, no kernel
    edit_yaml(chain, "lr: 0.1", "lr: 0.2")
    r = run_pipeline(project)
    assert actions(r) == {"prep": "fresh", "train": "ran", "report": "ran"}
    assert (chain.root / "report.txt").read_text() == "XXX0.2"
    edit_yaml(chain, "lr: 0.2", "lr: 0.1")
    r = run_pipeline(project)
    assert actions(r) == {"prep": "fresh", "train": "restored", "report": "restored"}
    assert r.run_id is None  # nothing executed
    assert (chain.root / "report.txt").read_text() == "XXX0.1"
    assert json.loads((chain.root / "metrics.json").read_text()) == {"acc": pytest.approx(0.3)}
    assert all(s.status == "fresh" for s in pipeline_status(project))


def test_failure_stops_downstream_and_is_not_recorded(chain):
    project = chain.project()
    chain.nb("train.ipynb", ["raise ValueError('bad data')"], parameters="lr = 0.1")
    r = run_pipeline(project, track=False)
    assert not r.ok and r.status == "failed"
    assert actions(r) == {"prep": "ran", "train": "failed", "report": "not-run"}
    assert "ValueError" in r.by_name()["train"].error and "bad data" in r.by_name()["train"].error
    lock = read_lock(project)["stages"]
    assert list(lock) == ["prep"]  # the finished stage is recorded, the failed one is not
    # the executed notebook (untracked) is kept under .mlnb, with the error, not over the source
    out = project.mlnb_dir / "pipeline" / "notebooks" / "train.ipynb"
    assert "bad data" in out.read_text()


def test_stage_that_does_not_write_its_out_fails(proj):
    proj.nb("a.ipynb", ["x = 1"])
    proj.yaml("stages:\n  a: {notebook: a.ipynb, outs: [never.txt]}\n")
    r = run_pipeline(proj.project(), track=False)
    assert r.stages[0].action == "failed"
    assert "did not write never.txt" in r.stages[0].error


def test_parallel_foreach_with_jobs(proj):
    """Two matrix stages run at once with -j 2 (each waits until it sees the other started)."""
    proj.nb("w.ipynb", [
        "import os, time\nopen(f'started-{k}', 'w').close()\n"
        "other = 'started-' + ('b' if k == 'a' else 'a')\n"
        "t = time.time()\nwhile not os.path.exists(other) and time.time() - t < 20: time.sleep(0.02)\n"
        "open(f'out-{k}.txt', 'w').write(str(os.path.exists(other)))"
    ], parameters="k = 'a'")
    proj.yaml("""
        stages:
          w:
            foreach: [a, b]
            notebook: w.ipynb
            params: {k: "${item}"}
            outs: ["out-${item}.txt"]
    """)
    r = run_pipeline(proj.project(), ["w"], jobs=2, track=False)
    assert actions(r) == {"w@a": "ran", "w@b": "ran"}
    assert (proj.root / "out-a.txt").read_text() == "True" == (proj.root / "out-b.txt").read_text()


def test_second_run_refuses_clearly_or_waits(chain):
    project = chain.project()
    with run_lock(project):
        with pytest.raises(PipelineBusyError) as info:
            run_pipeline(project)
        assert f"pid {os.getpid()}" in str(info.value) and "--wait" in str(info.value)
        # --dry-run reads only: allowed while a run is going on
        assert run_pipeline(project, dry_run=True).status == "dry-run"
    from click.testing import CliRunner

    from mlnb.cli import cli

    with run_lock(project):
        res = CliRunner().invoke(cli, ["run"])
    assert res.exit_code == 1 and "Another `mlnb run` is running in this project" in res.output


def test_dry_run_cli(chain):
    from click.testing import CliRunner

    from mlnb.cli import cli

    res = CliRunner().invoke(cli, ["run", "--dry-run", "train"])
    assert res.exit_code == 0
    assert "▶ prep: would run (never run)" in res.output and "▶ train: would run" in res.output
    assert "report" not in res.output
    assert not (chain.root / "mlnb.lock").exists()


def test_interrupt_stops_kernel_keeps_lock_consistent_then_resumes(chain):
    """SIGINT while train runs: prep stays recorded, train not, its kernel is gone; a new run resumes."""
    chain.nb("train.ipynb", [
        "import os, time\nopen('kernel.pid', 'w').write(str(os.getpid()))",
        "while not os.path.exists('go'): time.sleep(0.05)",
        "open('model.txt', 'w').write('m')",
        "open('metrics.json', 'w').write('{}')",
    ], parameters="lr = 0.1")
    env = {**os.environ, "MLNB_PROJECT": str(chain.root)}
    proc = subprocess.Popen([sys.executable, "-m", "mlnb.cli", "run", "--no-track", "--format", "jsonl"],
                            cwd=chain.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pidfile = chain.root / "kernel.pid"
    deadline = time.time() + 60
    while not (pidfile.exists() and pidfile.read_text()):
        assert proc.poll() is None, proc.communicate()
        assert time.time() < deadline
        time.sleep(0.05)
    kernel_pid = int(pidfile.read_text())
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, (out, err)
    assert "Interrupted" in err
    events = [json.loads(line) for line in out.splitlines()]
    assert any(e.get("event") == "stage-killed" and e.get("stage") == "train" for e in events)
    with pytest.raises(ProcessLookupError):
        for _ in range(100):
            os.kill(kernel_pid, 0)
            time.sleep(0.05)
    lock = yaml.safe_load((chain.root / "mlnb.lock").read_text())
    assert list(lock["stages"]) == ["prep"]
    # the next run picks up from there: prep is fresh, train and report run
    (chain.root / "go").touch()
    r = run_pipeline(chain.project(), track=False)
    assert actions(r) == {"prep": "fresh", "train": "ran", "report": "ran"}
