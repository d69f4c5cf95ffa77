"""The same schema and API on a real PostgreSQL server (a throwaway cluster per test session)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile

import pytest

import mlnb
from mlnb.tracking import open_store

PG_BIN = "/usr/lib/postgresql/15/bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def pg_url():
    pytest.importorskip("psycopg")
    initdb = shutil.which("initdb") or os.path.join(PG_BIN, "initdb")
    pg_ctl = shutil.which("pg_ctl") or os.path.join(PG_BIN, "pg_ctl")
    if not (os.path.exists(initdb) and os.path.exists(pg_ctl)):
        pytest.skip("PostgreSQL server binaries are not installed (apt-get install postgresql)")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_user = ["runuser", "-u", "postgres", "--"]
    base = tempfile.mkdtemp(prefix="mlnb-pg-")
    os.chmod(base, 0o777)
    data = os.path.join(base, "data")
    port = _free_port()
    subprocess.run(as_user + [initdb, "-D", data, "-U", "mlnb", "--auth=trust", "-E", "UTF8"],
                   check=True, capture_output=True)
    subprocess.run(as_user + [pg_ctl, "-D", data, "-w", "-t", "60", "-l", os.path.join(base, "log"),
                              "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True)
    try:
        import psycopg

        with psycopg.connect(f"postgresql://mlnb@127.0.0.1:{port}/postgres", autocommit=True) as c:
            c.execute("CREATE DATABASE mlnb_test")
        yield f"postgresql://mlnb@127.0.0.1:{port}/mlnb_test"
    finally:
        subprocess.run(as_user + [pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_postgres_store_end_to_end(project_dir, monkeypatch, pg_url):
    monkeypatch.setenv("MLNB_STORE_URL", pg_url)
    with mlnb.start_run(name="pg-a", params={"lr": 0.1, "opt": "adam"}, tags={"stage": "train"}) as a:
        for i in range(2500):  # more than one writer batch
            mlnb.log_metric("loss", 1 / (i + 1))
        mlnb.log_metric("acc", 0.9)
    with mlnb.start_run(name="pg-b", params={"lr": 0.2}):
        mlnb.log_metric("acc", 0.8)
    assert [r.name for r in mlnb.runs("metrics.acc > 0.85 and params.lr = '0.1'")] == ["pg-a"]
    assert [r.name for r in mlnb.runs(order_by="metrics.acc DESC")] == ["pg-a", "pg-b"]
    assert [r.name for r in mlnb.runs("name LIKE 'pg-%' and tags.stage in ('train')")] == ["pg-a"]
    store = open_store()
    assert len(store.metric_history(a.id, "loss")) == 2500
    assert store.get_run(a.id[:8]).params == {"lr": 0.1, "opt": "adam"}
    assert store.run_detail(a.id)["metrics_summary"]["loss"]["count"] == 2500
    assert store.compare([a.id, store.search_runs("name = 'pg-b'")[0].id])["params"]["lr"]["differs"]
    store.delete_run(a.id)
    assert [r.name for r in mlnb.runs()] == ["pg-b"]
    assert (project_dir / ".mlnb" / "mlnb.db").exists() is False  # nothing went to SQLite
