"""The Run API: start/end semantics, params, metrics, tags, artifacts, readers."""

from __future__ import annotations

import json
import os
import sqlite3

import pytest

import mlnb
from mlnb import tracking
from mlnb.errors import AmbiguousRunIdError, ParamConflictError, RunNotFoundError, StoreError, UsageError
from mlnb.tracking import open_store


def test_store_is_sqlite_wal_under_project(project_dir):
    with mlnb.start_run(name="x"):
        mlnb.log_metric("m", 1.0)
    db = project_dir / ".mlnb" / "mlnb.db"
    assert db.is_file()
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    from mlnb.tracking._db import SCHEMA_VERSION

    assert con.execute("SELECT value FROM mlnb_meta WHERE key='schema_version'").fetchone()[0] == str(
        SCHEMA_VERSION
    )
    assert con.execute("SELECT COUNT(*) FROM metrics").fetchone()[0] == 1


def test_context_manager_records_everything(project_dir):
    with mlnb.start_run(name="train", params={"lr": 0.1, "layers": [64, 32]}, tags={"team": "a"}) as run:
        for i in range(5):
            mlnb.log_metric("loss", 1.0 / (i + 1))
        mlnb.log_metrics({"acc": 0.9, "f1": 0.8}, step=7)
        mlnb.set_tag("team", "b")  # tags are mutable
        assert mlnb.active_run() is run
    assert mlnb.active_run() is None
    r = mlnb.get_run(run.id)
    assert r.status == "finished" and r.end_time >= r.start_time
    assert r.params == {"lr": 0.1, "layers": [64, 32]}
    assert r.tags == {"team": "b"}
    assert r.metrics == {"loss": pytest.approx(0.2), "acc": 0.9, "f1": 0.8}
    hist = mlnb.metric_history(run.id, "loss")
    assert [p.step for p in hist] == [0, 1, 2, 3, 4]
    assert [round(p.value, 3) for p in hist] == [1.0, 0.5, 0.333, 0.25, 0.2]
    assert r.user and r.host and r.python


def test_exception_in_block_marks_failed(project_dir):
    with pytest.raises(RuntimeError):
        with mlnb.start_run(name="boom") as run:
            raise RuntimeError("x")
    assert mlnb.get_run(run.id).status == "failed"


def test_start_run_twice_never_gets_stuck(project_dir):
    a = mlnb.start_run(name="a")
    b = mlnb.start_run(name="b")  # finishes a, no "already active" error
    assert mlnb.active_run() is b
    assert mlnb.get_run(a.id).status == "finished"
    c = mlnb.start_run(name="c", nested=True)
    assert mlnb.get_run(c.id).parent_id == b.id
    mlnb.end_run()
    assert mlnb.active_run() is b
    mlnb.end_run()
    mlnb.end_run()  # nothing active: a no-op, not an error
    assert mlnb.active_run() is None


def test_logging_without_run_opens_one(project_dir):
    mlnb.log_metric("x", 1)
    run = mlnb.active_run()
    assert run is not None and run.auto
    assert mlnb.get_run(run.id).metrics == {"x": 1.0}


def test_params_are_immutable(project_dir):
    with mlnb.start_run() as run:
        mlnb.log_param("lr", 0.1)
        mlnb.log_param("lr", 0.1)  # same value: fine
        with pytest.raises(ParamConflictError) as info:
            mlnb.log_param("lr", 0.2)
        assert "start a new run" in str(info.value).lower()
    assert mlnb.get_run(run.id).params == {"lr": 0.1}


@pytest.mark.parametrize("bad", ["0.5", None, object(), [1]])
def test_metric_must_be_a_number(project_dir, bad):
    with mlnb.start_run():
        with pytest.raises(UsageError, match="must be a number"):
            mlnb.log_metric("m", bad)


def test_bad_keys_and_status(project_dir):
    with mlnb.start_run():
        with pytest.raises(UsageError):
            mlnb.log_param("", 1)
        with pytest.raises(UsageError):
            mlnb.set_tag(None, 1)
        with pytest.raises(UsageError):
            mlnb.end_run(status="done")


def test_numpy_values(project_dir):
    np = pytest.importorskip("numpy")
    with mlnb.start_run() as run:
        mlnb.log_param("n", np.int64(3))
        mlnb.log_metric("m", np.float32(0.5))
    r = mlnb.get_run(run.id)
    assert r.params == {"n": 3} and r.metrics == {"m": 0.5}


def test_artifacts_are_copied_with_hash(project_dir):
    (project_dir / "model.txt").write_text("weights")
    d = project_dir / "plots"
    d.mkdir()
    (d / "a.png").write_bytes(b"\x89PNG")
    with mlnb.start_run() as run:
        mlnb.log_artifact(project_dir / "model.txt")
        mlnb.log_artifact(d)
        with pytest.raises(UsageError, match="no such file"):
            mlnb.log_artifact(project_dir / "missing.bin")
    stored = project_dir / ".mlnb" / "artifacts" / run.id / "model.txt"
    assert stored.read_text() == "weights"
    detail = open_store().run_detail(run.id)
    arts = {a["path"]: a for a in detail["artifacts"]}
    assert set(arts) == {"model.txt", "plots/a.png"}
    assert arts["model.txt"]["size"] == 7 and arts["model.txt"]["hash"].split(":")[0] in ("blake3", "sha256")
    (project_dir / "model.txt").write_text("changed")  # the copy is independent of the source
    assert stored.read_text() == "weights"


def test_run_id_prefix_and_errors(project_dir):
    runs = [mlnb.start_run(name=f"r{i}") for i in range(3)]
    mlnb.end_run()
    store = open_store()
    store.flush()
    r = runs[0]
    assert store.get_run(r.id[:10]).id == r.id
    with pytest.raises(RunNotFoundError):
        store.get_run("zzzz")
    with pytest.raises(AmbiguousRunIdError):
        store.get_run("")  if False else store.resolve_run_id("%")  # wildcards are not patterns
    # a one-character prefix shared by runs is ambiguous or unique, never a crash
    try:
        store.get_run(r.id[0])
    except AmbiguousRunIdError as e:
        assert r.id in e.candidates or len(e.candidates) >= 2


def test_compare_and_delete(project_dir):
    with mlnb.start_run(name="a", params={"lr": 0.1, "bs": 32}) as a:
        mlnb.log_metric("acc", 0.9)
    with mlnb.start_run(name="b", params={"lr": 0.2, "bs": 32}) as b:
        mlnb.log_metric("acc", 0.93)
    store = open_store()
    store.flush()
    cmp = store.compare([a.id, b.id])
    assert cmp["params"]["lr"] == {"values": [0.1, 0.2], "differs": True}
    assert cmp["params"]["bs"] == {"values": [32, 32], "differs": False}
    assert cmp["metrics"]["acc"]["differs"] is True
    with pytest.raises(UsageError):
        store.compare([a.id])
    (project_dir / "f.txt").write_text("x")
    with mlnb.start_run(name="c") as c:
        mlnb.log_artifact(project_dir / "f.txt")
    store.delete_run(c.id)
    with pytest.raises(RunNotFoundError):
        store.get_run(c.id)
    assert not (project_dir / ".mlnb" / "artifacts" / c.id).exists()


def test_to_pandas(project_dir):
    pytest.importorskip("pandas")
    with mlnb.start_run(name="a", params={"lr": 0.1}):
        mlnb.log_metric("acc", 0.5)
    df = mlnb.runs().to_pandas()
    assert list(df["name"]) == ["a"]
    assert df.loc[0, "params.lr"] == 0.1 and df.loc[0, "metrics.acc"] == 0.5


def test_html_table_escapes_untrusted_text(project_dir):
    with mlnb.start_run(name="<script>alert(1)</script>"):
        mlnb.log_metric("<b>m</b>", 1)
    html = mlnb.runs()._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;m&lt;/b&gt;" in html


def test_reopen_is_idempotent_and_fast_migration(project_dir):
    from mlnb.tracking._db import SCHEMA_VERSION, Connection, migrate

    url = f"sqlite:///{project_dir / '.mlnb' / 'other.db'}"
    conn = Connection(url)
    assert migrate(conn) == 0
    assert migrate(conn) == SCHEMA_VERSION  # already current: nothing to do


def test_corrupt_store_gives_clear_error(project_dir):
    db = project_dir / ".mlnb" / "mlnb.db"
    db.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="move it aside|SQLite"):
        open_store()


def test_newer_schema_is_refused(project_dir):
    with mlnb.start_run():
        pass
    tracking._reset_for_tests()
    con = sqlite3.connect(project_dir / ".mlnb" / "mlnb.db")
    con.execute("UPDATE mlnb_meta SET value='99' WHERE key='schema_version'")
    con.commit()
    con.close()
    with pytest.raises(StoreError, match="upgrade mlnb"):
        open_store()


def test_store_url_from_config(project_dir, tmp_path):
    other = tmp_path / "elsewhere.db"
    (project_dir / ".mlnb" / "config.toml").write_text(f'[store]\nurl = "sqlite:///{other}"\n')
    with mlnb.start_run(name="cfg"):
        pass
    assert other.is_file()
    con = sqlite3.connect(other)
    assert con.execute("SELECT name FROM runs").fetchall() == [("cfg",)]


def test_bad_store_url(project_dir, monkeypatch):
    monkeypatch.setenv("MLNB_STORE_URL", "mysql://x")
    with pytest.raises(StoreError, match="Unsupported store URL"):
        open_store()


def test_packages_and_git_recorded(project_dir):
    import subprocess

    subprocess.run(["git", "init", "-q"], cwd=project_dir, check=True)
    (project_dir / "a.py").write_text("x=1\n")
    subprocess.run(["git", "add", "a.py"], cwd=project_dir, check=True)
    subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "x"],
                   cwd=project_dir, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=project_dir, capture_output=True,
                          text=True).stdout.strip()
    (project_dir / "a.py").write_text("x=2\n")
    run = mlnb.start_run(name="g")
    run._env_thread.join(timeout=30)  # git and package versions are read off the caller's thread
    mlnb.end_run()
    r = mlnb.get_run(run.id)
    assert r.git_commit == head and r.git_dirty is True
    assert "mlnb" in r.packages


def test_detached_runs_leave_the_active_run_alone(project_dir):
    outer = mlnb.start_run(name="outer")
    a = mlnb.start_run(name="a", detached=True)
    b = mlnb.start_run(name="b", detached=True)
    assert mlnb.active_run() is outer
    a.log_metric("m", 1)
    b.end(status="failed")
    assert mlnb.active_run() is outer and not outer.ended
    mlnb.end_run(run=a, status="killed")
    mlnb.end_run()
    runs = {r.name: r for r in mlnb.runs()}
    assert runs["a"].status == "killed" and runs["a"].parent_id == outer.id
    assert runs["b"].status == "failed" and runs["outer"].status == "finished"


def test_killed_run_closes_its_open_cell(project_dir):
    from mlnb import tracking

    run = mlnb.start_run(name="k", detached=True)
    tracking.adopt_run  # the kernel adopts runs; here this process records a cell directly
    store = open_store()
    store.writer.submit("cell", ("c1", run.id, "nb.ipynb", "cell-1", 1, "h", "x", 0.0, None,
                                 "running", None, None))
    mlnb.end_run(run=run, status="killed")
    cells = store.cell_executions(run.id)
    assert cells[0]["status"] == "error" and cells[0]["error_name"] == "Killed"


def test_tracking_off_records_nothing(project_dir, monkeypatch):
    monkeypatch.setenv("MLNB_TRACKING", "off")
    with mlnb.start_run(name="x", params={"a": 1}) as run:
        mlnb.log_metric("m", 1.0)
        mlnb.log_param("a", 2)  # no conflict either: nothing is kept
        mlnb.set_tag("t", "v")
    mlnb.log_metric("auto", 1.0)  # no automatic run
    assert run.id == "untracked" and mlnb.active_run() is None
    monkeypatch.delenv("MLNB_TRACKING")
    assert list(mlnb.runs()) == []
