"""`mlnb diff` / `mlnb merge` on files, bad input, and run diffs from the tracking store."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from mlnb.cli import cli
from tests.nbdiff.conftest import code, git, nb, stream, write


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_diff_files_formats(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.ipynb", nb(code("x = 1", [stream("1\n")], id="c")))
    write(tmp_path / "b.ipynb", nb(code("x = 2", [stream("2\n")], id="c")))
    r = invoke("diff", "a.ipynb", "b.ipynb", "--color=never", "--no-runs")
    assert r.exit_code == 0 and "+x = 2" in r.output and "output 0" in r.output
    r = invoke("diff", "a.ipynb", "b.ipynb", "-s", "--no-runs")
    assert "output 0" not in r.output
    r = invoke("diff", "a.ipynb", "b.ipynb", "--json")
    assert json.loads(r.output)[0]["op"] == "patch"
    r = invoke("diff", "a.ipynb", "b.ipynb", "--html", "--no-runs")
    assert r.output.startswith("<!DOCTYPE html>")


def test_diff_bad_input(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.ipynb", nb(code("x", id="c")))
    (tmp_path / "broken.ipynb").write_text("{not json")
    r = invoke("diff", "a.ipynb", "missing.ipynb")
    assert r.exit_code == 2 and "missing.ipynb: no such file" in r.output
    r = invoke("diff", "a.ipynb", "broken.ipynb")
    assert r.exit_code == 2 and "not valid JSON" in r.output
    r = invoke("diff", "a.ipynb", "a.ipynb", "--json", "--html")
    assert r.exit_code == 2


def test_merge_cli_exit_codes_and_outputs(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "base.ipynb", nb(code("a = 1", [stream("1\n")], id="c")))
    write(tmp_path / "l.ipynb", nb(code("a = 1", [stream("L\n")], id="c", ec=3)))
    write(tmp_path / "r.ipynb", nb(code("a = 1", [stream("R\n")], id="c", ec=4)))
    r = invoke("merge", "base.ipynb", "l.ipynb", "r.ipynb", "-o", "out.ipynb", "--outputs", "remote")
    assert r.exit_code == 0
    out = json.loads((tmp_path / "out.ipynb").read_text())
    assert out["cells"][0]["outputs"][0]["text"] == ["R\n"] and out["cells"][0]["execution_count"] == 4
    write(tmp_path / "r.ipynb", nb(code("a = 2", id="c")))
    write(tmp_path / "l.ipynb", nb(code("a = 3", id="c")))
    r = invoke("merge", "base.ipynb", "l.ipynb", "r.ipynb", "-o", "out.ipynb", "--json")
    assert r.exit_code == 1 and json.loads(r.output)["conflicts"][0]["kind"] == "source"
    r = invoke("merge", "base.ipynb", "l.ipynb", "nope.ipynb", "-o", "out.ipynb")
    assert r.exit_code == 2 and "no such file" in r.output


def test_run_diff_and_runs_beside_the_code_diff(project_dir: Path, monkeypatch) -> None:
    import mlnb.tracking as tracking

    for k, v in (("GIT_AUTHOR_NAME", "t"), ("GIT_AUTHOR_EMAIL", "t@e"),
                 ("GIT_COMMITTER_NAME", "t"), ("GIT_COMMITTER_EMAIL", "t@e")):
        monkeypatch.setenv(k, v)
    git(project_dir, "init", "-q", "-b", "main")
    ids = []
    for lr, acc in ((0.1, 0.91), (0.2, 0.93)):
        write(project_dir / "train.ipynb", nb(code(f"lr = {lr}", id="p")))
        git(project_dir, "add", "train.ipynb")
        git(project_dir, "commit", "-qm", f"lr {lr}")
        with tracking.start_run(name=f"lr{lr}", params={"lr": lr, "epochs": 3},
                                notebook="train.ipynb") as run:
            run.log_metric("accuracy", acc)
            ids.append(run.id)
        if run._env_thread is not None:  # git commit is recorded off-thread
            run._env_thread.join(10)
    tracking.flush()
    r = invoke("diff", "--runs", ids[0][:8], ids[1][:8])
    assert r.exit_code == 0
    assert "lr 0.1 → 0.2" in r.output and "accuracy 0.91 → 0.93" in r.output
    assert "params: 1 unchanged" in r.output
    rj = json.loads(invoke("diff", "--runs", ids[0], ids[1], "--json").output)
    assert {p["key"]: p["changed"] for p in rj["params"]} == {"epochs": False, "lr": True}
    r = invoke("diff", "HEAD~1", "HEAD", "train.ipynb", "--color=never")
    assert "lr 0.1 → 0.2" in r.output and "+lr = 0.2" in r.output
    r = invoke("diff", "--runs", "nosuchrun", ids[0])
    assert r.exit_code == 1 and "No run" in r.output
