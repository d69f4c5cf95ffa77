"""Staleness, each reason in words, and the lock file (no kernels: runs are simulated by writing
the outs and recording the stage as `mlnb run` would)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest
import yaml

from mlnb.pipeline import load_pipeline, pipeline_status, read_lock, update_lock
from mlnb.pipeline._runner import record_stage
from mlnb.pipeline._state import out_digests, stage_state


@pytest.fixture
def pipe(proj):
    proj.nb("prep.ipynb", ["open('data.txt', 'w').write('x' * n)"], parameters="n = 3")
    proj.nb("train.ipynb", ["d = open('data.txt').read()", "open('model.txt', 'w').write(d + str(lr))"],
            parameters="lr = 0.1")
    proj.nb("report.ipynb", ["print(open('model.txt').read())"])
    (proj.root / "raw.csv").write_text("a,b\n1,2\n")
    proj.yaml("""
        stages:
          prep:
            notebook: prep.ipynb
            params: {n: 3}
            deps: [raw.csv]
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
    """)
    return proj


def simulate(proj, name: str, writes: dict[str, str] | None = None) -> None:
    """Do what a run of ``name`` would: write its outs, record its entry in mlnb.lock."""
    project = proj.project()
    dag = load_pipeline(project)
    stage = dag.spec.stages[name]
    for path, text in (writes or {}).items():
        (proj.root / path).write_text(text)
    locked = (read_lock(project).get("stages") or {}).get(name)
    state = stage_state(stage, project, locked)
    outs, metrics, missing = out_digests(stage, project)
    assert not missing, missing
    record_stage(project, list(dag.spec.stages), stage, state, outs, metrics, "run-" + name, 0.1)


def run_all(proj) -> None:
    simulate(proj, "prep", {"data.txt": "xxx"})
    simulate(proj, "train", {"model.txt": "xxx0.1", "metrics.json": '{"acc": 0.5}'})
    simulate(proj, "report")


def reasons(proj) -> dict[str, tuple[str, list[str]]]:
    return {s.name: (s.status, s.reasons) for s in pipeline_status(proj.project())}


def test_never_run_then_fresh(pipe):
    r = reasons(pipe)
    assert r["prep"] == ("stale", ["never run"])
    # deps produced upstream are not reported missing: they wait for their producer
    assert r["train"] == ("stale", ["never run"])
    run_all(pipe)
    assert all(s == "fresh" for s, _ in reasons(pipe).values())


def test_params_change_in_words_and_downstream_waits(pipe):
    run_all(pipe)
    text = (pipe.root / "mlnb.yaml").read_text().replace("lr: 0.1", "lr: 0.2")
    (pipe.root / "mlnb.yaml").write_text(text)
    r = reasons(pipe)
    assert r["prep"] == ("fresh", [])
    assert r["train"] == ("stale", ["params.lr changed 0.1 → 0.2"])
    assert r["report"][0] == "upstream"
    assert "train" in r["report"][1][0] and "re-runs only if its outs change" in r["report"][1][0]


def test_params_added_and_removed(pipe):
    run_all(pipe)
    text = (pipe.root / "mlnb.yaml").read_text().replace("params: {n: 3}", "params: {m: 4}")
    (pipe.root / "mlnb.yaml").write_text(text)
    assert reasons(pipe)["prep"][1] == ["params.m added = 4", "params.n removed (was 3)"]


def test_params_from_params_file_change(pipe):
    (pipe.root / "params.yaml").write_text("train:\n  lr: 0.1\n")
    text = (pipe.root / "mlnb.yaml").read_text().replace("params: {lr: 0.1}", "params: [train.lr]")
    (pipe.root / "mlnb.yaml").write_text(text)
    run_all(pipe)
    assert reasons(pipe)["train"][0] == "fresh"
    (pipe.root / "params.yaml").write_text("train:\n  lr: 0.5\n")
    assert reasons(pipe)["train"][1] == ["params.lr changed 0.1 → 0.5"]


def test_code_change_counts_but_outputs_and_metadata_do_not(pipe):
    run_all(pipe)
    path = pipe.root / "train.ipynb"
    nb = json.loads(path.read_text())
    nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi"}]
    nb["cells"][1]["execution_count"] = 7
    nb["cells"][1]["metadata"]["collapsed"] = True
    nb["metadata"]["language_info"] = {"name": "python"}
    nb["cells"].append({"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# notes"})
    path.write_text(json.dumps(nb))
    assert reasons(pipe)["train"][0] == "fresh"
    nb["cells"][1]["source"] = "d = open('data.txt').read()  # edited"
    path.write_text(json.dumps(nb))
    assert reasons(pipe)["train"] == ("stale", ["notebook train.ipynb code changed"])


def test_dep_content_change_not_mtime(pipe):
    run_all(pipe)
    raw = pipe.root / "raw.csv"
    os.utime(raw, (time.time() + 5, time.time() + 5))
    assert reasons(pipe)["prep"][0] == "fresh"
    raw.write_text("a,b\n1,3\n")
    r = reasons(pipe)
    assert r["prep"] == ("stale", ["dep raw.csv changed"])
    assert r["train"][0] == "upstream"


def test_dep_missing_added_removed(pipe):
    run_all(pipe)
    (pipe.root / "raw.csv").unlink()
    assert reasons(pipe)["prep"][1] == ["dep raw.csv is missing"]
    (pipe.root / "raw.csv").write_text("a,b\n1,2\n")
    (pipe.root / "extra.txt").write_text("e")
    text = (pipe.root / "mlnb.yaml").read_text().replace("deps: [raw.csv]", "deps: [extra.txt]")
    (pipe.root / "mlnb.yaml").write_text(text)
    assert reasons(pipe)["prep"][1] == ["dep extra.txt added", "dep raw.csv removed"]


def test_kernel_change(pipe):
    run_all(pipe)
    text = (pipe.root / "mlnb.yaml").read_text().replace("notebook: report.ipynb",
                                                         "notebook: report.ipynb\n    kernel: other")
    (pipe.root / "mlnb.yaml").write_text(text)
    assert reasons(pipe)["report"] == ("stale", ["kernel changed python3 → other"])


def test_out_missing_or_modified_and_outs_declaration(pipe):
    run_all(pipe)
    (pipe.root / "model.txt").unlink()
    assert reasons(pipe)["train"][1] == ["out model.txt is missing"]
    (pipe.root / "model.txt").write_text("tampered")
    assert reasons(pipe)["train"][1] == ["out model.txt was modified since the last run"]
    (pipe.root / "metrics.json").unlink()
    (pipe.root / "model.txt").write_text("xxx0.1")
    assert reasons(pipe)["train"][1] == ["metrics file metrics.json is missing"]
    (pipe.root / "metrics.json").write_text('{"acc": 0.5}')
    text = (pipe.root / "mlnb.yaml").read_text().replace("outs: [model.txt]", "outs: [model.txt, extra.bin]")
    (pipe.root / "mlnb.yaml").write_text(text)
    assert reasons(pipe)["train"][1] == ["outs changed in mlnb.yaml (+extra.bin)", "out extra.bin is missing"]


def test_missing_notebook_is_an_error_status(pipe):
    run_all(pipe)
    (pipe.root / "report.ipynb").unlink()
    status, why = reasons(pipe)["report"]
    assert status == "error" and "does not exist" in why[0]


def test_lock_file_is_yaml_sorted_by_stage_and_keeps_other_sections(pipe):
    update_lock(pipe.project(), "data", lambda _: {"raw.csv": {"hash": "abc"}})
    run_all(pipe)
    lock = yaml.safe_load((pipe.root / "mlnb.lock").read_text())
    assert list(lock["stages"]) == ["prep", "train", "report"]
    assert lock["data"] == {"raw.csv": {"hash": "abc"}}
    assert lock["stages"]["train"]["params"] == {"lr": 0.1}
    assert lock["stages"]["train"]["outs"]["model.txt"]["size"] == 6
    assert lock["stages"]["train"]["run_id"] == "run-train"
    # the data owner's update keeps ours
    update_lock(pipe.project(), "data", lambda d: {**d, "more": {"hash": "def"}})
    assert read_lock(pipe.project())["stages"] == lock["stages"]


def test_update_lock_is_atomic_under_concurrent_writers(pipe):
    """Many threads and a second process update different keys: none is lost, the file always parses."""
    project = pipe.project()
    script = (
        "import sys; from mlnb.pipeline import update_lock\n"
        "for i in range(30):\n"
        "    update_lock(sys.argv[1], 'data', lambda d, i=i: {**(d or {}), f'p{i}': i})\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script, str(project.root)])

    def writer(t: int) -> None:
        for i in range(30):
            update_lock(project, "stages", lambda s, t=t, i=i: {**(s or {}), f"s{t}-{i}": i})
            read_lock(project)  # never sees a torn file

    threads = [threading.Thread(target=writer, args=(t,)) for t in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert proc.wait(timeout=60) == 0
    lock = read_lock(project)
    assert len(lock["stages"]) == 90 and len(lock["data"]) == 30
    assert not [p for p in os.listdir(project.root) if p.endswith(".tmp")]


def test_status_cli_words_and_check_exit_code(pipe):
    from click.testing import CliRunner

    from mlnb.cli import cli

    run_all(pipe)
    runner = CliRunner()
    res = runner.invoke(cli, ["status"])
    assert res.exit_code == 0 and "Pipeline is up to date." in res.output
    text = (pipe.root / "mlnb.yaml").read_text().replace("lr: 0.1", "lr: 0.2")
    (pipe.root / "mlnb.yaml").write_text(text)
    res = runner.invoke(cli, ["status", "--check"])
    assert res.exit_code == 1
    assert "train: params.lr changed 0.1 → 0.2" in res.output
    assert "report: upstream train is stale; re-runs only if its outs change" in res.output
    res = runner.invoke(cli, ["status", "--format", "json"])
    data = json.loads(res.output)
    assert [s["status"] for s in data["stages"]] == ["fresh", "stale", "upstream"]


def test_dag_cli_formats(pipe):
    from click.testing import CliRunner

    from mlnb.cli import cli

    runner = CliRunner()
    out = runner.invoke(cli, ["dag"]).output.splitlines()
    assert out[1].startswith("train") and out[1].endswith("← prep")
    dot = runner.invoke(cli, ["dag", "--format", "dot"]).output
    assert '"prep" -> "train";' in dot and '"train" -> "report";' in dot
    data = json.loads(runner.invoke(cli, ["dag", "--format", "json", "train"]).output)
    assert [s["name"] for s in data["stages"]] == ["prep", "train"] and data["edges"] == [["prep", "train"]]


def test_malformed_yaml_via_cli_names_the_line(proj):
    from click.testing import CliRunner

    from mlnb.cli import cli

    proj.yaml("stages:\n  a:\n    notebook: a.ipynb\n    outs: 3\n")
    res = CliRunner().invoke(cli, ["status"])
    assert res.exit_code == 2
    assert "mlnb.yaml:4: stage 'a': outs must be a list of paths" in res.output


def test_status_imports_nothing_heavy(pipe):
    """A clean pipeline's `mlnb status` in a fresh interpreter loads no nbformat/nbclient/dask.

    Its speed is measured in benchmarks/bench_pipeline.py, never asserted here."""
    run_all(pipe)
    code = (
        "import sys\n"
        "from mlnb.cli import main\n"
        "try:\n    main(['status'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('nbformat', 'nbclient', 'dask', 'distributed', 'jupyter_client') if m in sys.modules]\n"
        "print('RESULT', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=pipe.root, capture_output=True, text=True,
                         check=True).stdout
    line = [ln for ln in out.splitlines() if ln.startswith("RESULT")][0]
    assert "Pipeline is up to date." in out
    assert line == "RESULT []"
