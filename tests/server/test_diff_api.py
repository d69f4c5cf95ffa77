"""The diff, notebook-parameters and notebook-execution REST API, and paired .py files saved
through the contents API, against a real server (auth on, non-root base_url)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.server.conftest import nb_json, write_nb

pytestmark = pytest.mark.server


@pytest.fixture
def git_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "test.gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for k, v in (("GIT_AUTHOR_NAME", "t"), ("GIT_AUTHOR_EMAIL", "t@e"),
                 ("GIT_COMMITTER_NAME", "t"), ("GIT_COMMITTER_EMAIL", "t@e")):
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("GIT_DIR", raising=False)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def repo(project_dir: Path, git_env) -> Path:
    """The project is a git repository with nb.ipynb committed, then edited in the work tree."""
    git(project_dir, "init", "-q", "-b", "main")
    write_nb(project_dir / "nb.ipynb", ["lr = 0.1", "print('same')"])
    git(project_dir, "add", "nb.ipynb")
    git(project_dir, "commit", "-q", "-m", "first")
    write_nb(project_dir / "nb.ipynb", ["lr = 0.2", "print('same')", "extra = 1"])
    return project_dir


# --- diff --------------------------------------------------------------------------------------

async def test_diff_against_head_shows_the_changed_cell_with_lines(api, repo: Path):
    reply = await api("diff", params={"path": "nb.ipynb", "ref": "HEAD"})
    assert reply.code == 200, reply
    body = reply.body
    assert body["counts"]["modified"] == 1 and body["counts"]["added"] == 1, body["counts"]
    changed = [c for c in body["cells"] if c["status"] == "modified"]
    assert changed[0]["id"] == "c0" and changed[0]["lines"] == [["-", "lr = 0.1"], ["+", "lr = 0.2"]]
    assert body["base"]["cells"][0]["source"] == "lr = 0.1"
    assert body["remote"]["cells"][0]["source"] == "lr = 0.2"
    assert body["labels"]["a"].startswith("HEAD:nb.ipynb") and body["labels"]["b"] == "nb.ipynb"
    assert body["runs"] is None and isinstance(body["diff"], list)


async def test_diff_of_unsaved_content_and_of_a_new_notebook(api, repo: Path):
    content = nb_json(["lr = 0.3"])
    reply = await api("diff", method="POST", body={"path": "nb.ipynb", "ref": "HEAD", "content": content})
    assert reply.code == 200, reply
    lines = [c["lines"] for c in reply.body["cells"] if c["status"] == "modified"][0]
    assert lines == [["-", "lr = 0.1"], ["+", "lr = 0.3"]]
    assert reply.body["labels"]["b"] == "nb.ipynb (unsaved)"
    # what Lab adds by itself (trusted, execution timings) is no change; a new tag is
    content = nb_json(["lr = 0.1", "print('same')"])
    content["cells"][0]["metadata"] = {"trusted": True, "execution": {"iopub.status.busy": "x"}}
    content["cells"][1]["metadata"] = {"tags": ["keep"]}
    reply = await api("diff", method="POST", body={"path": "nb.ipynb", "ref": "HEAD", "content": content})
    assert reply.code == 200, reply
    cells = reply.body["cells"]
    assert [c["status"] for c in cells] == ["unchanged", "modified"], cells
    assert [m["key"] for m in cells[1]["metadata"]] == ["tags"] and "source" not in cells[1]
    write_nb(repo / "new.ipynb", ["x = 1"])  # not in HEAD: every cell is added
    reply = await api("diff", params={"path": "new.ipynb"})
    assert reply.code == 200 and reply.body["counts"]["added"] == 1, reply


async def test_diff_against_the_last_checkpoint(api, project_dir: Path):
    write_nb(project_dir / "nb.ipynb", ["a = 1"])
    assert (await api("diff", params={"path": "nb.ipynb", "ref": "checkpoint"})).code == 400
    cp = await api("contents", "nb.ipynb", "checkpoints", method="POST", prefix=("api",))
    assert cp.code == 201, cp
    write_nb(project_dir / "nb.ipynb", ["a = 2"])
    reply = await api("diff", params={"path": "nb.ipynb", "ref": "checkpoint"})
    assert reply.code == 200, reply
    assert [c["lines"] for c in reply.body["cells"]] == [[["-", "a = 1"], ["+", "a = 2"]]]
    assert reply.body["labels"]["a"].startswith("checkpoint")


async def test_diff_refuses_bad_input(api, repo: Path, tmp_path: Path):
    outside = tmp_path / "outside.ipynb"
    write_nb(outside, ["secret = 1"])
    for params, code, fragment in [
        ({"path": "../outside.ipynb"}, 403, None),
        ({"path": str(outside)}, 403, None),
        ({"path": "nb.ipynb", "ref": "no-such-branch"}, 400, "not a revision"),
        ({"path": "nb.ipynb", "ref": "--output=/tmp/x"}, 400, "not a git revision"),
        ({"path": "nb.ipynb", "ref": "HEAD:nb.ipynb"}, 400, "not a git revision"),
        ({"path": "missing.ipynb"}, 400, "no such file"),
        ({"path": "notes.txt"}, 400, "not a notebook"),
        ({}, 400, "'path'"),
        ({"run_a": "abc"}, 400, "run_b"),
    ]:
        reply = await api("diff", params=params)
        assert reply.code == code, (params, reply)
        if fragment:
            assert fragment in reply.body["message"], (params, reply)
        assert "secret" not in json.dumps(reply.body)
    (repo / "broken.ipynb").write_text("{not json")
    reply = await api("diff", params={"path": "broken.ipynb"})
    assert reply.code == 400 and "not valid JSON" in reply.body["message"], reply
    reply = await api("diff", method="POST", body={"path": "nb.ipynb", "content": "text"})
    assert reply.code == 400 and "'content'" in reply.body["message"], reply
    reply = await api("diff", method="POST", body={"path": "../outside.ipynb"})
    assert reply.code == 403, reply


async def test_diff_outside_a_git_repository_is_a_clear_400(api, project_dir: Path, git_env):
    write_nb(project_dir / "nb.ipynb", ["a = 1"])
    reply = await api("diff", params={"path": "nb.ipynb", "ref": "HEAD"})
    assert reply.code == 400 and "not inside a git repository" in reply.body["message"], reply


async def test_compare_with_run_has_the_run_diff_header(api, repo: Path):
    import mlnb

    ids = []
    for lr, acc in ((0.1, 0.91), (0.2, 0.93)):
        with mlnb.start_run(name=f"lr{lr}", params={"lr": lr}, notebook="nb.ipynb") as run:
            mlnb.log_metric("accuracy", acc, step=0)
        ids.append(run.id)
    mlnb.flush()
    reply = await api("diff", params={"path": "nb.ipynb", "ref": f"run:{ids[0]}"})
    assert reply.code == 200, reply
    runs = reply.body["runs"]
    assert [r["id"] for r in runs["runs"]] == ids
    assert {"key": "lr", "a": 0.1, "b": 0.2, "changed": True} in runs["params"]
    assert {"key": "accuracy", "a": 0.91, "b": 0.93, "changed": True} in runs["metrics"]
    reply = await api("diff", params={"run_a": ids[0], "run_b": ids[1]})
    assert reply.code == 200 and reply.body["runs"]["runs"][1]["id"] == ids[1], reply
    assert (await api("diff", params={"run_a": "nope", "run_b": ids[1]})).code == 404
    # a run logged from a kernel or the API keeps no executed notebook
    reply = await api("notebook", "executed", params={"run_id": ids[0]})
    assert reply.code == 404 and "no executed notebook" in reply.body["message"], reply


# --- parameters and executions ---------------------------------------------------------------

@pytest.fixture
def train(project_dir: Path) -> Path:
    write_nb(project_dir / "train.ipynb",
             ["import time\nprint('lr is', lr, 'epochs', epochs)",
              "open('result.txt', 'w').write(f'{lr} {epochs} {name}')"],
             parameters="lr: float = 0.1  # learning rate\nepochs = 2\nname = 'base'")
    return project_dir / "train.ipynb"


async def test_parameters_of_a_notebook(api, train: Path, project_dir: Path):
    reply = await api("notebook", "parameters", params={"path": "train.ipynb"})
    assert reply.code == 200, reply
    params = {p["name"]: p for p in reply.body["parameters"]}
    assert list(params) == ["lr", "epochs", "name"]
    assert params["lr"]["type"] == "float" and params["lr"]["value"] == 0.1
    assert params["lr"]["comment"] == "learning rate" and params["epochs"]["value"] == 2
    assert params["name"]["default"] == "'base'" and params["name"]["value"] == "base"
    assert reply.body["cell"]["cell_id"] == "params"
    write_nb(project_dir / "plain.ipynb", ["x = 1"])
    reply = await api("notebook", "parameters", params={"path": "plain.ipynb"})
    assert reply.code == 200 and reply.body["cell"] is None and reply.body["parameters"] == []
    assert (await api("notebook", "parameters", params={"path": "../x.ipynb"})).code == 403
    assert (await api("notebook", "parameters", params={"path": "nope.ipynb"})).code == 400


async def wait_exec(api, job_id: str, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        reply = await api("notebook", "execute", job_id)
        assert reply.code == 200, reply
        if reply.body["returncode"] is not None:
            return reply.body
        assert time.monotonic() < deadline, reply.body
        await asyncio.sleep(0.1)


async def test_execute_with_parameters_tracks_a_run(api, train: Path, project_dir: Path):
    reply = await api("notebook", "execute", method="POST",
                      body={"path": "train.ipynb", "parameters": {"lr": "0.5", "epochs": 3}})
    assert reply.code == 202, reply
    body = await wait_exec(api, reply.body["id"])
    assert body["status"] == "finished", body
    assert (project_dir / "result.txt").read_text() == "0.5 3 base"
    assert "lr is 0.5 epochs 3" in body["log"] and body["run_id"]
    assert body["cells_done"] == body["cells_total"] == 4  # with the injected parameters cell
    again = await api("notebook", "execute", reply.body["id"], params={"offset": body["next_offset"]})
    assert again.body["log"] == ""
    run = await api("runs", body["run_id"])
    assert run.code == 200 and run.body["params"]["lr"] == 0.5, run
    listing = await api("notebook", "execute")
    assert [e["id"] for e in listing.body["executions"]] == [reply.body["id"]]
    executed = await api("notebook", "executed", params={"run_id": body["run_id"]})
    assert executed.code == 200, executed
    outputs = [o for c in executed.body["notebook"]["cells"] for o in c.get("outputs", [])]
    assert any("lr is 0.5" in "".join(o.get("text", "")) for o in outputs), outputs
    assert executed.body["notebook_path"] == "train.ipynb"


async def test_execute_refuses_bad_parameters_before_any_kernel(api, train: Path, project_dir: Path):
    for body, fragment in [
        ({"path": "train.ipynb", "parameters": {"lr": "fast"}}, "lr must be float"),
        ({"path": "train.ipynb", "parameters": {"lrr": "0.1"}}, "unknown parameter 'lrr'"),
        ({"path": "train.ipynb", "parameters": {"epochs": [1]}}, "epochs must be"),
        ({"path": "train.ipynb", "parameters": "lr=1"}, "'parameters'"),
        ({"path": "../train.ipynb"}, None),
        ({"parameters": {}}, "'path'"),
    ]:
        reply = await api("notebook", "execute", method="POST", body=body)
        assert reply.code in (400, 403), (body, reply)
        if fragment:
            assert fragment in reply.body["message"], (body, reply)
    assert not (project_dir / ".mlnb" / "exec").exists()
    assert (await api("notebook", "execute", "0123abcd")).code == 404
    assert (await api("notebook", "executed", params={"run_id": "nope"})).code == 404
    assert (await api("notebook", "executed")).code == 400
    assert (await api("notebook", "execute", "..", "cancel", method="POST")).code == 404


async def test_cancel_an_execution(api, project_dir: Path):
    write_nb(project_dir / "slow.ipynb", [
        "import os, time\nopen('slow.started', 'w').close()",
        "while not os.path.exists('go'): time.sleep(0.05)",
    ])
    reply = await api("notebook", "execute", method="POST", body={"path": "slow.ipynb"})
    assert reply.code == 202, reply
    job_id = reply.body["id"]
    deadline = time.monotonic() + 60
    while not (project_dir / "slow.started").exists():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)
    cancel = await api("notebook", "execute", job_id, "cancel", method="POST")
    assert cancel.code == 202 and cancel.body["cancel_requested"] is True
    body = await wait_exec(api, job_id)
    assert body["status"] == "killed" and body["returncode"] == 130, body


@pytest.mark.parametrize("authorization", ["", "token not-the-token"], ids=["none", "wrong"])
async def test_new_routes_need_the_token(api, train: Path, project_dir: Path, authorization):
    headers = {"Authorization": authorization}
    for method, parts, params in [
        ("GET", ("diff",), {"path": "train.ipynb"}),
        ("POST", ("diff",), None),
        ("GET", ("notebook", "parameters"), {"path": "train.ipynb"}),
        ("GET", ("notebook", "execute"), None),
        ("POST", ("notebook", "execute"), None),
        ("GET", ("notebook", "execute", "abc"), None),
        ("POST", ("notebook", "execute", "abc", "cancel"), None),
        ("GET", ("notebook", "executed"), {"run_id": "abc"}),
    ]:
        body = {"path": "train.ipynb"} if method == "POST" else None
        reply = await api(*parts, method=method, params=params, headers=headers, body=body)
        assert reply.code in (401, 403), (method, parts, reply)
        assert "lr" not in json.dumps(reply.body)
    assert not (project_dir / ".mlnb" / "exec").exists()  # nothing was started


# --- paired .py through the contents API -----------------------------------------------------

async def test_saving_a_paired_notebook_writes_both_files_and_the_sync_record(api, project_dir: Path):
    from mlnb.sync import pair

    write_nb(project_dir / "p.ipynb", ["x = 1"])
    pair(project_dir / "p.ipynb")
    assert "x = 1" in (project_dir / "p.py").read_text()
    model = nb_json(["x = 2", "y = 3"], jupytext={"formats": "ipynb,py:percent"})
    reply = await api("contents", "p.ipynb", method="PUT", prefix=("api",),
                      body={"type": "notebook", "format": "json", "content": model})
    assert reply.code == 200, reply
    text = (project_dir / "p.py").read_text()
    assert "x = 2" in text and "y = 3" in text and "x = 1" not in text
    record = json.loads((project_dir / ".mlnb" / "sync.json").read_text())["pairs"]["p.ipynb"]
    assert [c["source"] for c in record["base"] if c["cell_type"] == "code"] == ["x = 2", "y = 3"]
    # `mlnb sync` finds the pair in step: nothing to do
    from mlnb.sync import sync_pair

    assert not sync_pair(project_dir / "p.ipynb").changed


async def test_opening_a_paired_notebook_reads_the_py_edits(api, project_dir: Path):
    from mlnb.sync import pair

    write_nb(project_dir / "q.ipynb", ["x = 1"])
    pair(project_dir / "q.ipynb")
    py = project_dir / "q.py"
    py.write_text(py.read_text().replace("x = 1", "x = 42"))
    reply = await api("contents", "q.ipynb", prefix=("api",))
    assert reply.code == 200, reply
    sources = [c["source"] for c in reply.body["content"]["cells"]]
    assert "x = 42" in sources, sources
