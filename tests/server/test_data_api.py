"""The Data panel's REST API (``{base_url}mlnb/api/data``) against a real server, auth on."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

pytestmark = pytest.mark.server


def write_nb(path: Path, pins: dict | None = None) -> None:
    meta = {"mlnb": {"data": pins}} if pins else {}
    path.write_text(json.dumps({"cells": [], "metadata": meta, "nbformat": 4,
                                "nbformat_minor": 5}))


def replace(path: Path, text: str) -> None:
    """Write a new file (a pinned file may be a read-only hardlink into the cache)."""
    os.unlink(path)
    path.write_text(text)


@pytest.fixture
def pinned(project_dir: Path) -> Path:
    """nb.ipynb pins a.csv (since modified) and the folder imgs/ (one file added since);
    the notebook's last run read a.csv and the unpinned b.csv."""
    import mlnb
    from mlnb.data import pin
    from mlnb.data._reads import ReadRecorder
    from mlnb.project import Project

    project = Project(project_dir)
    (project_dir / "a.csv").write_text("a")
    (project_dir / "b.csv").write_text("b")
    (project_dir / "imgs").mkdir()
    (project_dir / "imgs" / "1.png").write_text("1")
    write_nb(project_dir / "nb.ipynb")
    pin(["a.csv", "imgs"], project=project, notebook=project_dir / "nb.ipynb")
    replace(project_dir / "a.csv", "changed")
    (project_dir / "imgs" / "2.png").write_text("2")
    with mlnb.start_run(name="r", notebook="nb.ipynb") as run:
        rec = ReadRecorder(project)
        rec.begin()
        rec.saw("a.csv")
        rec.saw("b.csv")
        rec.end(run_id=run.id)
        rec.close()
    mlnb.flush()
    return project_dir


async def test_get_lists_pins_with_state_and_unpinned_reads(api, pinned: Path):
    reply = await api("data", params={"notebook": "nb.ipynb"})
    assert reply.code == 200, reply
    pins = {p["path"]: p for p in reply.body["pins"]}
    assert pins["a.csv"]["state"] == "modified"
    assert pins["a.csv"]["server_path"] == "a.csv"
    assert pins["imgs"]["state"] == "modified"
    assert pins["imgs"]["added"] == ["2.png"]
    assert [r["path"] for r in reply.body["unpinned_reads"]] == ["b.csv"]
    assert reply.body["run_id"]


async def test_post_answers_from_the_open_models_pins(api, pinned: Path):
    from mlnb.data import read_pins

    record = read_pins("imgs", project=None)["imgs"].to_record()
    reply = await api("data", method="POST", body={"notebook": "nb.ipynb",
                                                   "pins": {"imgs": record}})
    assert reply.code == 200, reply
    assert [p["path"] for p in reply.body["pins"]] == ["imgs"]


async def test_pin_writes_the_lock_not_the_notebook(api, pinned: Path):
    before = (pinned / "nb.ipynb").read_bytes()
    reply = await api("data", "pin", method="POST",
                      body={"paths": ["b.csv"], "notebook": "nb.ipynb", "note": "v1"})
    assert reply.code == 200, reply
    assert reply.body["notebook"] == "nb.ipynb"
    assert reply.body["pins"]["b.csv"]["note"] == "v1"
    assert (pinned / "nb.ipynb").read_bytes() == before
    assert "b.csv" in (pinned / "mlnb.lock").read_text()
    # b.csv is now pinned (in mlnb.lock): no longer an unpinned input
    reply = await api("data", params={"notebook": "nb.ipynb"})
    assert reply.body["unpinned_reads"] == []


async def test_checkout_restores_and_diff_names_changed_files(api, pinned: Path):
    reply = await api("data", "diff", params={"path": "imgs"})
    assert reply.code == 200, reply
    assert reply.body["added"] == ["2.png"] and reply.body["kind"] == "dir"
    # unpinned local changes are refused without force
    reply = await api("data", "checkout", method="POST", body={"path": "a.csv"})
    assert reply.code == 409 and "force" in reply.body["message"]
    assert (pinned / "a.csv").read_text() == "changed"
    reply = await api("data", "checkout", method="POST", body={"path": "a.csv", "force": True})
    assert reply.code == 200, reply
    assert (pinned / "a.csv").read_text() == "a"
    reply = await api("data", params={"notebook": "nb.ipynb"})
    assert {p["path"]: p["state"] for p in reply.body["pins"]}["a.csv"] == "ok"


async def test_bad_input_is_a_400(api, pinned: Path):
    assert (await api("data")).code == 400
    assert (await api("data", params={"notebook": "a.csv"})).code == 400
    assert (await api("data", "pin", method="POST", body={"paths": []})).code == 400
    assert (await api("data", "checkout", method="POST",
                      body={"path": "a.csv", "force": "yes"})).code == 400


@pytest.mark.parametrize("path", ["../outside.csv", "/etc/passwd", "link/secret.csv"])
async def test_paths_outside_the_root_are_refused(api, pinned: Path, tmp_path: Path, path: str):
    (tmp_path / "outside.csv").write_text("x")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.csv").write_text("s")
    (pinned / "link").symlink_to(outside)
    calls = [
        ("GET", ("data",), {"notebook": path.replace(".csv", ".ipynb")}, None),
        ("GET", ("data", "diff"), {"path": path}, None),
        ("POST", ("data", "pin"), None, {"paths": [path]}),
        ("POST", ("data", "pin"), None, {"paths": ["b.csv"], "notebook": "../x.ipynb"}),
        ("POST", ("data", "checkout"), None, {"path": path, "force": True}),
    ]
    for method, parts, params, body in calls:
        reply = await api(*parts, method=method, params=params, body=body)
        assert reply.code == 403, (method, parts, reply)
        assert reply.body["reason"] == "PathOutsideRootError"
    assert not (pinned / "mlnb.lock").read_text().count("secret")


async def test_every_data_route_refuses_requests_without_the_token(api, pinned: Path):
    calls = [
        ("GET", ("data",), {"notebook": "nb.ipynb"}, None),
        ("POST", ("data",), None, {"notebook": "nb.ipynb", "pins": {}}),
        ("POST", ("data", "pin"), None, {"paths": ["b.csv"]}),
        ("POST", ("data", "checkout"), None, {"path": "a.csv", "force": True}),
        ("GET", ("data", "diff"), {"path": "imgs"}, None),
    ]
    for method, parts, params, body in calls:
        reply = await api(*parts, method=method, params=params, body=body,
                          headers={"Authorization": ""})
        assert reply.code in (401, 403), (method, parts, reply)
    assert (pinned / "a.csv").read_text() == "changed"  # the refused checkout did nothing
    assert "b.csv" not in (pinned / "mlnb.lock").read_text()
