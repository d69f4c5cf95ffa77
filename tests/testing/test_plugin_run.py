"""Running notebooks as tests: results, tags, timeouts, the failure report, output comparison."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.kernel


def test_pass_fail_tags_and_the_failure_report(inner, write_nb):
    write_nb("ok.ipynb", [
        ("n = 1", ["parameters"]),
        ("raise RuntimeError('never runs')", ["skip-test"]),
        "# mlnb: skip\nraise RuntimeError('never runs either')",
        ("1 / 0", ["raises-exception"]),
        "assert n == 2, n",
    ], metadata={"params": [{"n": 2}]})
    write_nb("bad.ipynb", ["import math\nx = 1", "def f(v):\n    return math.sqrt(v)\n\ny = f(-x)", "z = 3"])
    write_nb("quiet.ipynb", [("x = 1  # expected to raise", ["raises-exception"])])
    write_nb("skipped.ipynb", ["raise SystemExit(3)"], metadata={"skip": "needs a GPU"})
    result = inner("--mlnb", "-rs")
    result.assert_outcomes(passed=1, failed=2, skipped=1)
    out = result.stdout.str()
    # what a user sees: the cell, numbered, and the kernel's traceback without colours or JSON
    result.stdout.fnmatch_lines([
        "bad.ipynb: cell 2 (id 'c1', In [[]2]): def f(v): raised ValueError",
        "*-- cell source --*",
        "  1 | def f(v):",
        "  2 |     return math.sqrt(v)",
        "  4 | y = f(-x)",
        "*-- traceback --*",
        "*----> 4 y = f(-x)*",
        "ValueError: math domain error",
    ])
    assert "\x1b[" not in out and '"cell_type"' not in out and '"outputs"' not in out
    result.stdout.fnmatch_lines(["quiet.ipynb: cell 1 (id 'c0', In [[]1]): x = 1  # expected to raise",
                                  "The cell is tagged raises-exception*but raised nothing*"])
    result.stdout.fnmatch_lines(["SKIPPED*needs a GPU*"])


def test_a_cell_over_the_timeout_fails_and_says_how_to_raise_it(inner, write_nb):
    write_nb("slow.ipynb", ["import time", "time.sleep(30)", "after = 1"])
    result = inner("--mlnb", "--mlnb-timeout", "1")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*slow.ipynb: cell 2 (id 'c1'*): time.sleep(30)",
        "*longer than the timeout of 1 s per cell*",
        "*--mlnb-timeout SECONDS*",
    ])
    assert result.duration < 25


def test_cells_mode_runs_cells_in_order_in_one_kernel(inner, write_nb):
    write_nb("nb.ipynb", [("k = 1", ["parameters"]), "k += 1", "assert k == 3, k", "k += 10"],
             metadata={"params": [{"k": 2}]})
    write_nb("stops.ipynb", ["a = 1", "b = a / 0", "c = 3"])
    result = inner("--mlnb", "--mlnb-cells", "-v", "-rs")
    # k=2 injected; cell 2 is the injected one: k -> 3 after cell 3, so cell 4 passes
    result.assert_outcomes(passed=6, failed=1, skipped=1)
    result.stdout.fnmatch_lines([
        "*nb.ipynb[[]k=2[]]::cell_4 PASSED*",
        "*stops.ipynb::stops.ipynb::cell_2 FAILED*",
        "*stops.ipynb::stops.ipynb::cell_3 SKIPPED*",
    ])
    result.stdout.fnmatch_lines(["SKIPPED*an earlier cell failed (cell 2)*"])


def _stored(text: str) -> list[dict]:
    return [{"output_type": "stream", "name": "stdout", "text": text}]


def test_compare_outputs_passes_on_volatile_details_and_shows_a_diff_otherwise(inner, write_nb, pytester):
    write_nb("same.ipynb", [
        ("import datetime\nprint(object.__repr__(object()))", [],
         _stored("<object object at 0x7f0123456789>\n")),
        ("print(datetime.datetime.now().isoformat())", [], _stored("2020-01-01T10:00:00.123456\n")),
        ("print(round(1/3, 9))", [], _stored("0.333333334\n")),
        ("print('anything')", ["mlnb-ignore-output"], _stored("something else\n")),
        "print('never ran before: not compared')",
    ])
    write_nb("changed.ipynb", [
        ("print('accuracy', 0.91)\nprint('done')", [], _stored("accuracy 0.95\ndone\n")),
    ])
    result = inner("--mlnb", "--mlnb-compare-outputs", "--mlnb-track")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*changed.ipynb: outputs differ from the stored ones in 1 cell(s)*",
        "cell 1 (id 'c0'):",
        "*--- stored outputs",
        "*+++ fresh outputs",
        "-accuracy 0.95",
        "+accuracy 0.91",
    ])
    assert "same.ipynb" not in "\n".join(result.stdout.lines[-3:])
    # --mlnb-track: each notebook test is a run; a notebook whose cells all ran is 'finished'
    from mlnb.tracking import open_store

    store = open_store(pytester.path)
    runs = {r.notebook: r for r in store.search_runs("tags.`mlnb.source` = 'pytest'")}
    assert sorted(runs) == ["changed.ipynb", "same.ipynb"]
    assert runs["same.ipynb"].status == "finished"
    assert runs["same.ipynb"].tags["mlnb.test"] == "same.ipynb::same.ipynb"


def test_compare_outputs_unit():
    from mlnb.testing._compare import compare_cell

    png = {"output_type": "display_data", "data": {"image/png": "AAAA", "text/plain": "<Figure at 0x1234abcd>"}}
    png2 = {"output_type": "display_data", "data": {"image/png": "BBBB", "text/plain": "<Figure at 0x9999ffff>"}}
    assert compare_cell([png], [png2]) is None
    err = {"output_type": "error", "ename": "KeyError", "evalue": "'a'", "traceback": ["x"]}
    assert compare_cell([err], [dict(err, traceback=["y"])]) is None
    split = [{"output_type": "stream", "name": "stdout", "text": "a"}, {"output_type": "stream", "name": "stdout", "text": "b\n"}]
    assert compare_cell(split, _stored("ab\n")) is None
    assert compare_cell(_stored("1.0000001\n"), _stored("1.0\n")) is None
    assert compare_cell(_stored("1.1\n"), _stored("1.0\n"), rel=1e-5) is not None
    assert compare_cell(_stored("x = 1\n"), _stored("y = 1\n")) is not None
    assert json.dumps(compare_cell([], _stored("new\n")))  # an output where there was none
