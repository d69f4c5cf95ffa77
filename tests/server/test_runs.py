"""The runs API against a real store filled through the core API: list, detail, history,
compare, delete and the per-cell badges."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest


def strict_json(raw: bytes):
    """Parse as browsers do: NaN and Infinity are not JSON."""

    def refuse(token: str):
        raise ValueError(f"non-JSON constant {token}")

    return json.loads(raw, parse_constant=refuse)


async def test_a_folder_without_runs_answers_empty_and_stays_untouched(api, project_dir: Path):
    (project_dir / ".mlnb").rmdir()  # JupyterLab started in a folder that never used mlnb
    reply = await api("runs")
    assert reply.code == 200, reply
    assert reply.body == {"runs": [], "total": 0, "offset": 0, "limit": 50, "metric_keys": []}
    assert (await api("cells", params={"notebook": "nb.ipynb"})).body["cells"] == {}
    assert (await api("runs", "abc")).code == 404
    assert (await api("compare", params={"ids": "abc,def"})).code == 404
    assert (await api("runs", "abc", "metrics", "acc")).code == 404
    assert (await api("runs", "abc", method="DELETE")).code == 404
    bad = await api("runs", params={"filter": "metrics.acc >"})
    assert bad.code == 400 and bad.body["reason"] == "FilterSyntaxError"
    bad_order = await api("runs", params={"order_by": "metrics.acc SIDEWAYS"})
    assert bad_order.code == 400 and bad_order.body["reason"] == "FilterSyntaxError"
    assert not (project_dir / ".mlnb").exists()


async def test_runs_logged_after_the_server_started_show_up(api, seed_run):
    assert (await api("runs")).body["total"] == 0
    run_id = seed_run("later", metrics={"acc": 0.5})
    reply = await api("runs")
    assert [r["id"] for r in reply.body["runs"]] == [run_id]
    assert reply.body["metric_keys"] == ["acc"]


async def test_list_filters_orders_and_pages(api, seed_run):
    ids = [
        seed_run(f"r{i}", params={"lr": i / 10}, metrics={"acc": 0.5 + i / 10},
                 tags={"stage": "train" if i % 2 == 0 else "eval"})
        for i in range(5)
    ]

    everything = await api("runs")
    assert everything.code == 200, everything
    assert everything.body["total"] == 5
    assert [r["id"] for r in everything.body["runs"]] == ids[::-1]  # newest first by default
    assert everything.body["metric_keys"] == ["acc"]
    first = everything.body["runs"][-1]
    assert first["name"] == "r0" and first["status"] == "finished"
    assert first["params"] == {"lr": 0.0} and first["tags"] == {"stage": "train"}
    assert first["metrics"] == {"acc": 0.5}
    assert first["duration"] is not None and first["duration"] >= 0

    page = await api("runs", params={"filter": "metrics.acc > 0.55", "order_by": "metrics.acc DESC",
                                     "limit": "2", "offset": "1"})
    assert page.code == 200, page
    assert [r["name"] for r in page.body["runs"]] == ["r3", "r2"]
    assert (page.body["total"], page.body["offset"], page.body["limit"]) == (4, 1, 2)

    tagged = await api("runs", params={"filter": "tags.stage = 'train'", "order_by": "name"})
    assert [r["name"] for r in tagged.body["runs"]] == ["r0", "r2", "r4"]
    assert tagged.body["total"] == 3

    past_the_end = await api("runs", params={"offset": "10"})
    assert past_the_end.body["runs"] == [] and past_the_end.body["total"] == 5


async def test_malformed_filter_is_400_with_the_caret_line(api, seed_run):
    seed_run("r", metrics={"acc": 1.0})
    reply = await api("runs", params={"filter": "metrics.acc >> 0.5"})
    assert reply.code == 400, reply
    body = reply.body
    assert body["reason"] == "FilterSyntaxError"
    assert body["filter"] == "metrics.acc >> 0.5"
    lines = body["message"].splitlines()
    assert "  metrics.acc >> 0.5" in lines
    caret = next(line for line in lines if line.strip() == "^")
    assert caret.index("^") - 2 == body["position"]

    bad_order = await api("runs", params={"order_by": "metrics.acc SIDEWAYS"})
    assert bad_order.code == 400, bad_order
    assert bad_order.body["reason"] == "FilterSyntaxError"


async def test_unknown_run_is_404_everywhere(api, seed_run):
    known = seed_run("known")
    for method, parts, params in [
        ("GET", ("runs", "feedfacefeedface"), None),
        ("DELETE", ("runs", "feedfacefeedface"), None),
        ("GET", ("runs", "feedfacefeedface", "metrics", "acc"), None),
        ("GET", ("compare",), {"ids": f"{known},feedfacefeedface"}),
    ]:
        reply = await api(*parts, method=method, params=params)
        assert reply.code == 404, (method, parts, reply)
        assert reply.body["reason"] == "RunNotFoundError"
        assert reply.body["run_id"] == "feedfacefeedface"
        assert "feedfacefeedface" in reply.body["message"]


async def test_ambiguous_prefix_is_400(api, seed_run):
    ids = [seed_run(f"r{i}") for i in range(17)]  # 17 ids, 16 hex digits: two share a first one
    prefix, _ = Counter(i[0] for i in ids).most_common(1)[0]
    reply = await api("runs", prefix)
    assert reply.code == 400, reply
    assert reply.body["reason"] == "AmbiguousRunIdError"
    assert reply.body["prefix"] == prefix
    assert set(reply.body["candidates"]) == {i for i in ids if i.startswith(prefix)}


async def test_run_detail_by_unique_prefix(api, tracking, project_dir: Path):
    (project_dir / "model.txt").write_text("weights")
    with tracking.start_run(name="detail", params={"lr": 0.1}, tags={"stage": "train"},
                            notebook="nb.ipynb") as run:
        tracking.begin_cell("cell-a", "acc = 0.5", execution_count=1, notebook="nb.ipynb")
        tracking.log_metric("acc", 0.5, step=1)
        tracking.log_metric("acc", 0.75, step=2)
        tracking.log_param("epochs", 3)
        tracking.end_cell("ok", execution_count=1)
        tracking.begin_cell("cell-b", "1/0", execution_count=2, notebook="nb.ipynb")
        tracking.log_artifact(project_dir / "model.txt")
        tracking.end_cell("error", error_name="ZeroDivisionError",
                          error_message="division by zero", execution_count=2)
    tracking.flush()

    reply = await api("runs", run.id[:8])
    assert reply.code == 200, reply
    d = reply.body
    assert d["id"] == run.id and d["name"] == "detail" and d["status"] == "finished"
    assert d["params"] == {"lr": 0.1, "epochs": 3} and d["tags"] == {"stage": "train"}
    assert d["notebook"] == "nb.ipynb"
    assert isinstance(d["packages"], dict)
    acc = d["metrics_summary"]["acc"]
    assert (acc["last"], acc["min"], acc["max"], acc["count"], acc["step"]) == (0.75, 0.5, 0.75, 2, 2)
    assert isinstance(acc["timestamp"], float)
    cells = d["cell_executions"]
    assert [c["cell_id"] for c in cells] == ["cell-a", "cell-b"]
    assert cells[0]["status"] == "ok" and cells[0]["metrics"] == {"acc": 0.75}
    assert cells[0]["params"] == {"epochs": 3} and cells[0]["source"] == "acc = 0.5"
    assert cells[1]["status"] == "error" and cells[1]["error_name"] == "ZeroDivisionError"
    assert [(a["path"], a["size"], a["cell_execution_id"]) for a in d["artifacts"]] == [
        ("model.txt", 7, cells[1]["id"])
    ]


async def test_metric_history_is_in_step_order(api, tracking, http_server_client,
                                               jp_auth_header, jp_base_url):
    with tracking.start_run(name="hist") as run:
        for step, value in [(3, 0.3), (1, 0.1), (2, 0.2)]:
            tracking.log_metric("val/loss", value, step=step)
        tracking.log_metric("acc", 1.0, step=0)
    tracking.flush()

    reply = await api("runs", run.id[:10], "metrics", "val/loss")
    assert reply.code == 200, reply
    assert reply.body["run_id"] == run.id and reply.body["key"] == "val/loss"
    points = reply.body["points"]
    assert [(p["step"], p["value"]) for p in points] == [(1, 0.1), (2, 0.2), (3, 0.3)]
    assert all(isinstance(p["timestamp"], float) for p in points)

    # a client that percent-encodes the slash (encodeURIComponent) reaches the same metric
    encoded = await http_server_client.fetch(
        f"{jp_base_url}mlnb/api/runs/{run.id}/metrics/val%2Floss", headers=jp_auth_header,
        raise_error=False,
    )
    assert encoded.code == 200
    assert json.loads(encoded.body)["points"] == points

    unknown = await api("runs", run.id, "metrics", "nope")
    assert unknown.code == 200 and unknown.body["points"] == []


async def test_non_finite_metrics_are_sent_as_null(api, jp_fetch, tracking):
    with tracking.start_run(name="diverged") as run:
        tracking.log_metric("loss", float("inf"), step=0)
        tracking.log_metric("gap", float("-inf"), step=0)
        tracking.log_metric("nan", float("nan"), step=0)
    tracking.flush()
    for parts in (("runs",), ("runs", run.id), ("runs", run.id, "metrics", "loss")):
        response = await jp_fetch("mlnb", "api", *parts)
        body = strict_json(response.body)  # raises on NaN / Infinity tokens
        assert body
    listed = strict_json((await jp_fetch("mlnb", "api", "runs")).body)["runs"][0]
    assert listed["metrics"] == {"gap": None, "loss": None, "nan": None}


async def test_compare_marks_what_differs(api, seed_run):
    a = seed_run("a", params={"lr": 0.1, "seed": 1}, metrics={"acc": 0.8, "loss": 0.2})
    b = seed_run("b", params={"lr": 0.2, "seed": 1}, metrics={"acc": 0.9, "loss": 0.2})
    c = seed_run("c", params={"seed": 1, "extra": True})

    reply = await api("compare", params={"ids": f"{b[:8]}, {a},{c}"})
    assert reply.code == 200, reply
    body = reply.body
    assert [r["id"] for r in body["runs"]] == [b, a, c]
    assert body["params"]["lr"] == {"values": [0.2, 0.1, None], "differs": True}
    assert body["params"]["seed"] == {"values": [1, 1, 1], "differs": False}
    assert body["params"]["extra"] == {"values": [None, None, True], "differs": True}
    assert body["metrics"]["acc"]["differs"] is True
    assert body["metrics"]["loss"] == {"values": [0.2, 0.2, None], "differs": True}

    two = await api("compare", params={"ids": f"{a},{b}"})
    assert two.body["metrics"]["loss"] == {"values": [0.2, 0.2], "differs": False}


async def test_delete_needs_the_full_id_then_the_run_is_gone(api, seed_run, project_dir: Path):
    keep = seed_run("keep")
    doomed = seed_run("doomed", metrics={"acc": 0.1})

    by_prefix = await api("runs", doomed[:6], method="DELETE")
    assert by_prefix.code == 400, by_prefix
    assert (await api("runs", doomed)).code == 200

    deleted = await api("runs", doomed, method="DELETE")
    assert deleted.code == 204 and deleted.body is None

    gone = await api("runs", doomed)
    assert gone.code == 404 and gone.body["reason"] == "RunNotFoundError"
    assert (await api("runs", doomed, "metrics", "acc")).code == 404
    listed = await api("runs")
    assert [r["id"] for r in listed.body["runs"]] == [keep] and listed.body["total"] == 1
    again = await api("runs", doomed, method="DELETE")
    assert again.code == 404


def _execute(tracking, notebook: str, cell_id: str, count: int, status: str = "ok",
             metrics: dict | None = None) -> str:
    exec_id = tracking.begin_cell(cell_id, f"# {cell_id}", execution_count=count, notebook=notebook)
    for key, value in (metrics or {}).items():
        tracking.log_metric(key, value)
    tracking.end_cell(status, execution_count=count,
                      error_name="ValueError" if status == "error" else None)
    return exec_id


async def test_cells_gives_the_last_execution_of_each_cell(api, tracking):
    with tracking.start_run(name="first", notebook="nb.ipynb") as first:
        _execute(tracking, "nb.ipynb", "c1", 1, metrics={"acc": 0.1})
        c2 = _execute(tracking, "nb.ipynb", "c2", 2, metrics={"loss": 2.0})
        _execute(tracking, "other.ipynb", "c1", 1, metrics={"acc": 0.99})
    with tracking.start_run(name="second", notebook="nb.ipynb") as second:
        c1 = _execute(tracking, "nb.ipynb", "c1", 3, status="error", metrics={"acc": 0.3})
    tracking.flush()

    reply = await api("cells", params={"notebook": "nb.ipynb"})
    assert reply.code == 200, reply
    assert reply.body["notebook"] == "nb.ipynb"
    cells = reply.body["cells"]
    assert set(cells) == {"c1", "c2"}
    assert cells["c1"]["run_id"] == second.id and cells["c1"]["cell_execution_id"] == c1
    assert (cells["c1"]["execution_count"], cells["c1"]["status"]) == (3, "error")
    assert cells["c1"]["metrics"] == {"acc": 0.3}
    assert cells["c2"]["run_id"] == first.id and cells["c2"]["cell_execution_id"] == c2
    assert (cells["c2"]["execution_count"], cells["c2"]["status"]) == (2, "ok")
    assert cells["c2"]["metrics"] == {"loss": 2.0}
    assert cells["c2"]["duration"] >= 0 and cells["c2"]["start_time"] > 0

    same = await api("cells", params={"notebook": "./sub/../nb.ipynb"})
    assert same.body == reply.body
    never_run = await api("cells", params={"notebook": "new.ipynb"})
    assert never_run.body == {"notebook": "new.ipynb", "cells": {}}


class TestServerRootAboveTheProject:
    """JupyterLab started one folder up: its paths carry the project folder's name."""

    @pytest.fixture
    def jp_root_dir(self, project_dir: Path) -> Path:
        return project_dir.parent

    async def test_cells_maps_server_paths_to_project_paths(self, api, tracking, project_dir):
        (project_dir / "sub").mkdir()
        with tracking.start_run(name="r", notebook="sub/nb.ipynb") as run:
            _execute(tracking, "sub/nb.ipynb", "c1", 1)
        tracking.flush()
        reply = await api("cells", params={"notebook": f"{project_dir.name}/sub/nb.ipynb"})
        assert reply.code == 200, reply
        assert reply.body["notebook"] == "sub/nb.ipynb"
        assert reply.body["cells"]["c1"]["run_id"] == run.id

        status = await api("status")
        assert status.body["project_root"] == str(project_dir.resolve())
        assert status.body["server_root"] == str(project_dir.parent.resolve())


async def test_a_corrupt_store_is_a_500_that_says_what_to_do(api, project_dir: Path):
    (project_dir / ".mlnb" / "mlnb.db").write_bytes(b"this is not a database" * 100)
    reply = await api("runs")
    assert reply.code == 500, reply
    assert reply.body["reason"] == "StoreError"
    assert "mlnb.db" in reply.body["message"]
    # the server itself is fine
    assert (await api("status")).code == 200


async def test_concurrent_requests_are_answered_consistently(api, seed_run):
    ids = [seed_run(f"r{i}", metrics={"acc": i / 10}) for i in range(3)]
    replies = await asyncio.gather(
        *[api("runs", params={"limit": "2"}) for _ in range(12)],
        *[api("runs", run_id) for run_id in ids * 4],
    )
    assert all(r.code == 200 for r in replies), [r for r in replies if r.code != 200]
    assert {r.body["total"] for r in replies[:12]} == {3}
    assert [r.body["id"] for r in replies[12:]] == ids * 4
