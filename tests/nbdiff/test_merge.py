"""Three-way merge: source conflicts inline, outputs never conflict, metadata conflicts."""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

import pytest

from mlnb.errors import UsageError
from mlnb.nbdiff import loads, merge_notebooks
from mlnb.nbdiff._merge import merge_lines
from tests.nbdiff.conftest import code, md, nb, stream

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"


def norm(n: dict) -> dict:
    return loads(json.dumps(n))


def base_nb() -> dict:
    return norm(nb(md("# Train", id="m"),
                   code("lr = 0.1\nbatch = 32\nepochs = 3", [stream("ok\n")], id="p", ec=1),
                   code("fit(lr, epochs)", [stream("acc 0.9\n")], id="f", ec=2),
                   kernelspec={"name": "python3"}))


def test_merge_lines() -> None:
    assert merge_lines("a\nb\nc\n", "A\nb\nc\n", "a\nb\nC\n") == ("A\nb\nC\n", False)
    text, conflict = merge_lines("a\nb\n", "a\nL\n", "a\nR\n")
    assert conflict and text == "a\n<<<<<<< local\nL\n=======\nR\n>>>>>>> remote\n"


def test_non_overlapping_edits_merge_cleanly_and_keep_fitting_outputs() -> None:
    base = base_nb()
    local, remote = copy.deepcopy(base), copy.deepcopy(base)
    local["cells"][1]["source"] = "lr = 0.2\nbatch = 32\nepochs = 3"
    local["cells"][1]["outputs"] = [stream("local ran\n")]
    remote["cells"][1]["source"] = "lr = 0.1\nbatch = 32\nepochs = 5"
    remote["cells"].append(norm(nb(code("plot()", [stream("fig\n")], id="new")))["cells"][0])
    r = merge_notebooks(base, local, remote)
    assert r.ok
    cells = r.notebook["cells"]
    assert cells[1]["source"] == "lr = 0.2\nbatch = 32\nepochs = 5"
    # merged source is neither side's: outputs cleared and marked stale
    assert cells[1]["outputs"] == [] and cells[1]["metadata"]["mlnb"]["stale_outputs"] is True
    assert r.stale_cells == [1]
    assert cells[3]["id"] == "new" and cells[3]["outputs"] == [stream("fig\n")]


def test_source_conflict_marked_inline() -> None:
    base = base_nb()
    local, remote = copy.deepcopy(base), copy.deepcopy(base)
    local["cells"][2]["source"] = "fit(lr, epochs, seed=1)"
    remote["cells"][2]["source"] = "fit(lr, epochs, seed=2)"
    r = merge_notebooks(base, local, remote)
    assert [c.kind for c in r.conflicts] == ["source"]
    src = r.notebook["cells"][2]["source"]
    assert "<<<<<<< local\nfit(lr, epochs, seed=1)\n=======\nfit(lr, epochs, seed=2)\n>>>>>>> remote" in src


def test_both_sides_rerun_is_never_an_output_conflict() -> None:
    sys.path.insert(0, str(BENCH))
    from bench_diff import make_notebook

    base, local, remote = (norm(make_notebook(60, s)) for s in (0, 1, 2))
    r = merge_notebooks(base, local, remote)
    assert r.ok and not r.stale_cells
    assert [c.get("outputs") for c in r.notebook["cells"]] == \
        [c.get("outputs") for c in local["cells"]]  # local's run wins, whole
    r = merge_notebooks(base, local, remote, outputs="remote")
    assert r.notebook["cells"][1]["outputs"] == remote["cells"][1]["outputs"]
    r = merge_notebooks(base, local, remote, outputs="keep-base")
    assert r.notebook["cells"][1]["outputs"] == base["cells"][1]["outputs"]
    # only remote re-ran: its outputs are taken
    r = merge_notebooks(base, copy.deepcopy(base), remote)
    assert r.notebook["cells"][1]["outputs"] == remote["cells"][1]["outputs"]


def test_nbdime_clear_all_case_merges_without_crash() -> None:
    """Both sides changed outputs (and one side a source): the case nbdime's
    ``--output-strategy clear-all`` is reported to crash on; mlnb must merge it."""
    base = base_nb()
    local, remote = copy.deepcopy(base), copy.deepcopy(base)
    for side, tag in ((local, "L"), (remote, "R")):
        for c in side["cells"][1:]:
            c["outputs"] = [stream(f"{tag}\n"), stream(f"{tag}2\n")]
            c["execution_count"] = 9
    remote["cells"][2]["source"] = "fit(lr, epochs, verbose=True)"
    del local["cells"][0]
    r = merge_notebooks(base, local, remote, outputs="clear")
    assert r.ok
    assert [c["id"] for c in r.notebook["cells"]] == ["p", "f"]
    assert r.notebook["cells"][1]["outputs"] == [stream("R\n"), stream("R2\n")]
    try:  # record what nbdime does on the same input, for the report; never fails the test
        import nbformat
        from nbdime.merging import merge_notebooks as nbdime_merge

        args = argparse.Namespace(merge_strategy="inline", input_strategy=None,
                                  output_strategy="clear-all", ignore_transients=True,
                                  log_level="CRITICAL")
        nbdime_merge(*(nbformat.from_dict(copy.deepcopy(x)) for x in (base, local, remote)), args)
    except Exception:
        pass


def test_metadata_conflict_recorded_and_volatile_metadata_ignored() -> None:
    base = base_nb()
    local, remote = copy.deepcopy(base), copy.deepcopy(base)
    local["cells"][1]["metadata"] = {"tags": ["parameters"], "execution": {"t": 1}}
    remote["cells"][1]["metadata"] = {"tags": ["setup"], "execution": {"t": 2}}
    local["metadata"]["kernelspec"] = {"name": "py-local"}
    remote["metadata"]["kernelspec"] = {"name": "py-remote"}
    local["metadata"]["language_info"] = {"version": "3.11.1"}
    remote["metadata"]["language_info"] = {"version": "3.11.2"}
    r = merge_notebooks(base, local, remote)
    kinds = sorted((c.kind, c.key) for c in r.conflicts)
    assert kinds == [("metadata", "tags"), ("notebook-metadata", "kernelspec.name")]
    cell_md = r.notebook["cells"][1]["metadata"]
    assert cell_md["tags"] == ["parameters"]
    assert cell_md["mlnb"]["merge_conflicts"][0]["remote"] == ["setup"]


def test_delete_vs_edit_keeps_the_edit_marked() -> None:
    base = base_nb()
    local, remote = copy.deepcopy(base), copy.deepcopy(base)
    del local["cells"][2]
    remote["cells"][2]["source"] = "fit(lr, epochs, verbose=True)"
    r = merge_notebooks(base, local, remote)
    assert [c.kind for c in r.conflicts] == ["delete-modify"]
    assert "local (deleted)" in r.notebook["cells"][2]["source"]
    # deleted on one side, untouched on the other: just gone
    r = merge_notebooks(base, local, copy.deepcopy(base))
    assert r.ok and [c["id"] for c in r.notebook["cells"]] == ["m", "p"]


def test_moves_inserts_and_same_insert_on_both_sides() -> None:
    base = base_nb()
    local, remote = copy.deepcopy(base), copy.deepcopy(base)
    local["cells"].append(local["cells"].pop(0))  # move the markdown cell to the end
    remote["cells"][2]["source"] = "fit(lr, epochs)  # remote"
    new = norm(nb(code("extra()", id="x")))["cells"][0]
    local["cells"].insert(1, copy.deepcopy(new))
    remote["cells"].insert(2, copy.deepcopy(new))
    r = merge_notebooks(base, local, remote)
    assert r.ok
    ids = [c["id"] for c in r.notebook["cells"]]
    assert ids.count("m") == 1 and ids[-1] == "m" and ids.count("x") == 1
    assert r.notebook["cells"][ids.index("f")]["source"].endswith("# remote")


def test_bad_strategy_and_bad_notebooks() -> None:
    with pytest.raises(UsageError):
        merge_notebooks(base_nb(), base_nb(), base_nb(), outputs="union")
    from mlnb.nbdiff import NotebookReadError

    for bad in ("{", "[]", '{"worksheets": []}', '{"cells": [1]}', '{"cells": {}}'):
        with pytest.raises(NotebookReadError):
            loads(bad, "bad.ipynb")
