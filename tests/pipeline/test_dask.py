"""`mlnb run --executor dask` on a LocalCluster of separate worker processes (one short pipeline)."""

from __future__ import annotations

import os

import pytest

from mlnb.pipeline import read_lock, run_pipeline

distributed = pytest.importorskip("distributed")
pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def test_stages_run_on_dask_workers(proj):
    proj.nb("w.ipynb", ["import os\nopen(f'out-{k}.txt', 'w').write(str(os.getppid()))"], parameters="k = 'a'")
    proj.nb("join.ipynb", ["open('joined.txt', 'w').write(open('out-a.txt').read() + ',' + open('out-b.txt').read())"])
    proj.yaml("""
        stages:
          w:
            foreach: [a, b]
            notebook: w.ipynb
            params: {k: "${item}"}
            outs: ["out-${item}.txt"]
          join:
            notebook: join.ipynb
            deps: [out-a.txt, out-b.txt]
            outs: [joined.txt]
    """)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        worker_pids = {w.pid for w in cluster.workers.values()}
        result = run_pipeline(proj.project(), executor="dask", scheduler=cluster.scheduler_address)
    assert result.ok, [(s.name, s.action, s.error) for s in result.stages]
    assert {s.name: s.action for s in result.stages} == {"w@a": "ran", "w@b": "ran", "join": "ran"}
    # each notebook's kernel was started by a worker process, not by this one
    parents = {int(p) for p in (proj.root / "joined.txt").read_text().split(",")}
    assert parents <= worker_pids and os.getpid() not in parents
    lock = read_lock(proj.project())["stages"]
    assert list(lock) == ["w@a", "w@b", "join"]
    # the stage runs are tracked as children of the pipeline run (written from the workers)
    from mlnb.tracking import open_store

    children = open_store(proj.project()).search_runs(filter=f"parent_id = '{result.run_id}'")
    assert sorted(c.name for c in children) == ["join", "w@a", "w@b"]
    # and a second run is a no-op that never contacts a cluster
    again = run_pipeline(proj.project(), executor="dask", scheduler="tcp://127.0.0.1:1")
    assert {s.action for s in again.stages} == {"fresh"}
