"""The pipeline REST API against a real server (auth on, non-root base_url) and real `mlnb run`s."""

from __future__ import annotations

import asyncio
import textwrap
import time
from pathlib import Path

import pytest

from tests.server.conftest import write_nb

pytestmark = pytest.mark.server


@pytest.fixture
def pipeline(project_dir: Path) -> Path:
    write_nb(project_dir / "prep.ipynb", ["open('data.txt', 'w').write('x' * n)"], parameters="n = 3")
    write_nb(project_dir / "slow.ipynb", [
        "import os, time\nopen('slow.started', 'w').close()",
        "while not os.path.exists('go'): time.sleep(0.05)",
        "open('slow.txt', 'w').write('done')",
    ])
    (project_dir / "mlnb.yaml").write_text(textwrap.dedent("""
        stages:
          prep:
            notebook: prep.ipynb
            params: {n: 3}
            outs: [data.txt]
          slow:
            notebook: slow.ipynb
            deps: [data.txt]
            outs: [slow.txt]
    """))
    return project_dir


async def wait_for(api, job_id: str, done, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        reply = await api("pipeline", "runs", job_id)
        assert reply.code == 200, reply
        if done(reply.body):
            return reply.body
        assert time.monotonic() < deadline, reply.body
        await asyncio.sleep(0.1)


async def test_no_pipeline_and_malformed_pipeline(api, project_dir: Path):
    reply = await api("pipeline")
    assert reply.code == 200 and reply.body["spec"] is None and reply.body["stages"] == []
    (project_dir / "mlnb.yaml").write_text("stages:\n  a:\n    notebook: a.ipynb\n    deps: 3\n")
    reply = await api("pipeline")
    assert reply.code == 200
    err = reply.body["error"]
    assert err["reason"] == "PipelineSpecError" and err["line"] == 4
    assert "deps must be a list of paths" in err["problems"][0]["message"]
    reply = await api("pipeline", "runs", method="POST", body={})
    assert reply.code == 400 and reply.body["reason"] == "PipelineSpecError"


async def test_stages_with_reasons_and_bad_requests(api, pipeline):
    reply = await api("pipeline")
    assert reply.code == 200, reply
    stages = {s["name"]: s for s in reply.body["stages"]}
    assert stages["prep"]["status"] == "stale" and stages["prep"]["reasons"] == ["never run"]
    assert stages["slow"]["upstream"] == ["prep"] and reply.body["edges"] == [["prep", "slow"]]
    assert reply.body["running"] is None
    for body, fragment in [({"stages": ["nope"]}, "No stage 'nope'"), ({"stages": "prep"}, "list of stage names"),
                           ({"jobs": 0}, "'jobs'"), ({"force": "yes"}, "'force'")]:
        bad = await api("pipeline", "runs", method="POST", body=body)
        assert bad.code == 400 and fragment in bad.body["message"], (body, bad)
    assert (await api("pipeline", "runs", "0123abcd")).code == 404
    assert (await api("pipeline", "runs", "../etc", "cancel", method="POST", body={})).code == 404


async def test_run_one_stage_poll_progress_then_fresh(api, pipeline):
    reply = await api("pipeline", "runs", method="POST", body={"stage": "prep"})
    assert reply.code == 202, reply
    job_id = reply.body["id"]
    body = await wait_for(api, job_id, lambda b: b["returncode"] is not None)
    assert body["status"] == "finished", body
    assert body["stages"]["prep"]["state"] == "finished" and "slow" not in body["stages"]
    assert body["run_id"] and body["stages"]["prep"]["run_id"]
    kinds = [e["event"] for e in body["events"]]
    assert kinds[0] == "plan" and "stage-start" in kinds and kinds[-1] == "pipeline-end"
    # polling from next_offset gives only what is new (nothing, now)
    again = await api("pipeline", "runs", job_id, params={"offset": body["next_offset"]})
    assert again.body["events"] == []
    stages = {s["name"]: s for s in (await api("pipeline")).body["stages"]}
    assert stages["prep"]["status"] == "fresh" and stages["prep"]["run_id"] == body["stages"]["prep"]["run_id"]
    listing = await api("pipeline", "runs")
    assert [r["id"] for r in listing.body["runs"]] == [job_id]


async def test_cancel_a_running_stage_and_refuse_a_second_run(api, pipeline):
    reply = await api("pipeline", "runs", method="POST", body={"stages": ["slow"]})
    assert reply.code == 202, reply
    job_id = reply.body["id"]
    await wait_for(api, job_id, lambda b: b["stages"].get("slow", {}).get("state") == "running"
                   and (pipeline / "slow.started").exists())
    running = (await api("pipeline")).body["running"]
    assert running["id"] == job_id
    second = await api("pipeline", "runs", method="POST", body={})
    assert second.code == 409 and job_id in second.body["message"]
    cancel = await api("pipeline", "runs", job_id, "cancel", method="POST", body={})
    assert cancel.code == 202 and cancel.body["cancel_requested"] is True
    body = await wait_for(api, job_id, lambda b: b["returncode"] is not None)
    assert body["status"] == "killed" and body["returncode"] == 130
    assert body["stages"]["slow"]["state"] == "killed" and body["stages"]["prep"]["state"] == "finished"
    lock = (pipeline / "mlnb.lock").read_text()
    assert "prep:" in lock and "slow:" not in lock


@pytest.mark.parametrize("authorization", ["", "token not-the-token"], ids=["none", "wrong"])
async def test_pipeline_routes_need_the_token(api, pipeline, authorization):
    headers = {"Authorization": authorization}
    for method, parts in [("GET", ("pipeline",)), ("GET", ("pipeline", "runs")),
                          ("POST", ("pipeline", "runs")), ("GET", ("pipeline", "runs", "abc")),
                          ("POST", ("pipeline", "runs", "abc", "cancel"))]:
        reply = await api(*parts, method=method, headers=headers, body={} if method == "POST" else None)
        assert reply.code in (401, 403), (method, parts, reply)
    assert not (pipeline / ".mlnb" / "pipeline").exists()  # nothing was started
