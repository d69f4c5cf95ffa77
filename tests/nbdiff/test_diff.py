"""Cell alignment and the diff itself: ids, no ids, inserts, deletes, moves, filters, JSON."""

from __future__ import annotations

import copy

import pytest

from mlnb.nbdiff import DiffOptions, compute_diff, diff_notebooks, loads, render_html, render_terminal
from mlnb.nbdiff._align import align_cells
from tests.nbdiff.conftest import code, md, nb, result, stream


def norm(n: dict) -> dict:
    import json

    return loads(json.dumps(n))


def statuses(d) -> list[tuple[str, int | None, int | None]]:
    return [(c["status"], c["a_index"], c["b_index"]) for c in d.cells]


def test_identical_notebooks_have_no_changes() -> None:
    a = norm(nb(code("x = 1", [stream("1\n")], id="a"), md("# t", id="b")))
    d = compute_diff(a, copy.deepcopy(a))
    assert not d.changed and d.nbdime == []
    assert "(no changes)" in render_terminal(d)


def test_execution_counts_ignored_by_default_and_shown_on_request() -> None:
    a = norm(nb(code("x", [result({"text/plain": "1"}, ec=1)], id="a", ec=1)))
    b = norm(nb(code("x", [result({"text/plain": "1"}, ec=7)], id="a", ec=7)))
    assert not compute_diff(a, b).changed
    d = compute_diff(a, b, DiffOptions(execution_count=True))
    assert d.cells[0]["execution_count"] == {"a": 1, "b": 7}


def test_run_timing_metadata_ignored_like_execution_counts() -> None:
    a = norm(nb(code("x", [], id="a")))
    b = copy.deepcopy(a)
    b["cells"][0]["metadata"]["execution"] = {"iopub.status.busy": "2026-11-27T10:00:00Z"}
    b["cells"][0]["metadata"]["papermill"] = {"duration": 0.1, "status": "completed"}
    assert not compute_diff(a, b).changed
    assert compute_diff(a, b, DiffOptions(execution_count=True)).changed
    b["cells"][0]["metadata"]["tags"] = ["parameters"]  # real metadata still counts
    assert compute_diff(a, b).changed


def test_ids_align_even_when_every_source_changed() -> None:
    a = norm(nb(code("a = 1", id="x"), code("b = 2", id="y")))
    b = norm(nb(code("completely different", id="x"), code("also new", id="y")))
    assert align_cells(a["cells"], b["cells"]) == [(0, 0), (1, 1)]


def test_without_ids_cells_align_by_content_then_fuzzily() -> None:
    a = norm(nb(code("import numpy as np"), code("x = load('data.csv')\nx.head()"),
                code("plot(x)")))
    b = norm(nb(md("# New intro"), code("import numpy as np"),
                code("x = load('data2.csv')\nx.head()"), code("plot(x)")))
    for c in a["cells"] + b["cells"]:
        c.pop("id", None)
    d = compute_diff(a, b)
    assert statuses(d) == [("added", None, 0), ("unchanged", 0, 1), ("modified", 1, 2),
                           ("unchanged", 2, 3)]


def test_inserted_deleted_and_moved_cells() -> None:
    a = norm(nb(code("one", id="1"), code("two", id="2"), code("three", id="3"),
                code("four", id="4")))
    b = norm(nb(code("four", id="4"), code("one", id="1"), code("three", id="3"),
                code("five", id="5")))
    d = compute_diff(a, b)
    moved = [c for c in d.cells if c.get("moved")]
    assert {c["id"] for c in moved} == {"4"}
    assert [c["id"] for c in d.cells if c["status"] == "deleted" and not c.get("moved")] == ["2"]
    assert [c["id"] for c in d.cells if c["status"] == "added" and not c.get("moved")] == ["5"]
    assert d.counts()["moved"] == 1
    assert "moved" in render_terminal(d)


@pytest.mark.parametrize("changes", [
    [("source", 1)], [("outputs", 2)], [("insert", 0), ("delete", 3)], [("move", 0)],
])
def test_json_diff_is_nbdime_compatible(changes: list) -> None:
    from nbdime import patch
    from nbdime.diff_format import validate_diff
    from nbdime.diff_utils import to_diffentry_dicts

    a = norm(nb(*[code(f"x{i} = {i}\nprint(x{i})", [stream(f"{i}\n")], id=f"c{i}")
                  for i in range(5)], kernelspec={"name": "python3"}))
    b = copy.deepcopy(a)
    for kind, k in changes:
        if kind == "source":
            b["cells"][k]["source"] += "\n# edited"
        elif kind == "outputs":
            b["cells"][k]["outputs"] = [stream("changed\n"), stream("more\n")]
        elif kind == "insert":
            b["cells"].insert(k, norm(nb(code("new", id="n")))["cells"][0])
        elif kind == "delete":
            del b["cells"][k]
        elif kind == "move":
            b["cells"].append(b["cells"].pop(k))
    b["metadata"]["kernelspec"] = {"name": "other"}
    diff = diff_notebooks(a, b, execution_count=True)["diff"]
    entries = to_diffentry_dicts(diff)
    validate_diff(entries, deep=True)
    assert patch(copy.deepcopy(a), entries) == b


def test_filters_show_only_what_they_name_and_skip_the_rest(monkeypatch) -> None:
    a = norm(nb(code("x", [stream("1\n")], id="a", tag="t1")))
    b = norm(nb(code("y", [stream("2\n")], id="a", tag="t2")))
    called = []
    import mlnb.nbdiff._diff as diffmod

    real = diffmod.compare_outputs
    monkeypatch.setattr(diffmod, "compare_outputs", lambda *a, **k: called.append(1) or real(*a, **k))
    d = compute_diff(a, b, DiffOptions.only(sources=True))
    assert d.cells[0].get("source") and "outputs" not in d.cells[0] and "metadata" not in d.cells[0]
    assert called == []  # outputs were never compared
    d = compute_diff(a, b, DiffOptions.only(outputs=True))
    assert "outputs" in d.cells[0] and "source" not in d.cells[0]
    d = compute_diff(a, b, DiffOptions.only(metadata=True))
    assert d.cells[0]["metadata"] and "source" not in d.cells[0]


def test_terminal_shows_changed_cells_with_context_and_colors() -> None:
    src = "\n".join(f"line{i}" for i in range(20))
    cells_a = [code(f"c{i}", id=f"i{i}") for i in range(10)] + [code(src, id="big")]
    a = norm(nb(*cells_a))
    b = copy.deepcopy(a)
    b["cells"][10]["source"] = src.replace("line10", "LINE10")
    out = render_terminal(compute_diff(a, b), context=2)
    assert "... 10 unchanged cells" in out
    assert "-line10" in out and "+LINE10" in out and " line8" in out and "line5" not in out
    colored = render_terminal(compute_diff(a, b), color=True)
    assert "\x1b[32m+LINE10" in colored


def test_terminal_neutralises_escape_sequences_from_notebooks() -> None:
    a = norm(nb(code("x", id="a")))
    b = norm(nb(code("print('\x1b[2J')", id="a")))
    out = render_terminal(compute_diff(a, b))
    assert "\x1b" not in out and "\\x1b" in out


def test_html_escapes_notebook_text() -> None:
    a = norm(nb(code("x", [stream("<b>1</b>\n")], id="a")))
    b = norm(nb(code("<script>alert(1)</script>", [stream("<img src=x onerror=y>\n")], id="a")))
    page = render_html(compute_diff(a, b), names=("<a>", "b"))
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "<img src=x" not in page and "&lt;a&gt;" in page


def test_large_rerun_diff_never_needs_fuzzy_matching() -> None:
    # 2000 cells, every output changed: must stay far from quadratic (no timing assert, but
    # the alignment must come from ids alone, never from the fuzzy pass)
    import mlnb.nbdiff._align as align

    a = norm(nb(*[code(f"x = {i}", [stream(f"{i}\n")], id=f"c{i}") for i in range(2000)]))
    b = copy.deepcopy(a)
    for c in b["cells"]:
        c["outputs"] = [stream("rerun\n")]
    calls = []
    orig = align._fuzzy
    align._fuzzy = lambda *x: calls.append(1) or orig(*x)
    try:
        d = compute_diff(a, b)
    finally:
        align._fuzzy = orig
    assert d.counts()["modified"] == 2000
    assert calls == [] and d.nbdime[0]['key'] == 'cells'  # ids aligned every cell
