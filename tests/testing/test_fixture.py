"""The fixture API (@notebook, mlnb_notebook), driven through inner pytest runs: values by JSON
and pickle, refs, patch, inject, execute_cell, the tracked run, module scope."""

from __future__ import annotations

import textwrap

import pytest

pytestmark = pytest.mark.kernel

CELLS = [
    ("factor = 2", ["parameters"]),
    textwrap.dedent("""\
        import mlnb, json, os
        import numpy as np
        import pandas as pd
        mlnb.log_metric("score", 0.75)
        arr = np.arange(6).reshape(2, 3)
        df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
        pair = (1, "one")
        gen = (i for i in range(3))
        class Local:
            pass
        local = Local()
        counter = 0"""),
    (textwrap.dedent("""\
        def scale(values, by=None):
            return [v * (by or factor) for v in values]

        def fetch():
            return json.dumps({"from": "network"})

        def load():
            return json.loads(fetch())["from"]"""), ["helpers"]),
    ("print('late cell', factor)", ["late"]),
]

TESTS = textwrap.dedent('''\
    import fractions
    import pytest
    from mlnb.testing import NotebookRuntimeError, ValueTransferError, notebook


    @notebook("nb.ipynb", params={"factor": 3}, execute=[0, 1, 2, 3], scope="module")
    def test_values_cross_as_json_or_pickle(nb):
        assert nb.value("factor") == 3
        assert nb.value("arr").tolist() == [[0, 1, 2], [3, 4, 5]]
        assert nb.value("df")["b"].tolist() == ["x", "y"]
        assert nb.value("pair") == (1, "one")          # a tuple stays a tuple (pickle, not JSON)
        assert nb.value("{'k': [1.5, None]}") == {"k": [1.5, None]}


    @notebook("nb.ipynb", params={"factor": 3}, execute=[0, 1, 2, 3], scope="module")
    def test_objects_that_cannot_cross_say_why(nb):
        with pytest.raises(ValueTransferError, match="it is a generator.*does not pickle"):
            nb.value("gen")
        with pytest.raises(ValueTransferError, match="it is a Local.*defined in the notebook"):
            nb.value("local")
        with pytest.raises(NameError):                 # a kernel NameError is a NameError here
            nb.value("undefined_name")


    @notebook("nb.ipynb", params={"factor": 3}, execute=[0, 1, 2, 3], scope="module")
    def test_refs_call_into_the_kernel(nb):
        assert nb.ref("scale")([1, 2]) == [3, 6]
        assert nb.ref("scale")([1], by=fractions.Fraction(1, 2)) == [fractions.Fraction(1, 2)]
        assert nb.ref("df").shape == (2, 2)
        assert nb.ref("df")["a"].sum() == 3
        assert nb["factor"].resolve() == 3                # testbook spellings
        assert nb.cell_execute_result("helpers") == []
        with pytest.raises(NotebookRuntimeError) as info:
            nb.ref("scale")(None)
        assert isinstance(info.value, TypeError)
        assert "NoneType' object is not iterable" in str(info.value)
        assert "return [v * (by or factor) for v in values]" in str(info.value)


    @notebook("nb.ipynb", params={"factor": 3}, execute=[0, 1, 2, 3], scope="module")
    def test_patch_replaces_a_function_inside_the_kernel(nb):
        with nb.patch("__main__.fetch", return_value='{"from": "mock"}') as mock:
            assert nb.ref("load")() == "mock"
            mock.assert_called_once_with()
            assert mock.call_count == 1
        assert nb.ref("load")() == "network"


    @notebook("nb.ipynb", params={"factor": 3}, execute=[0, 1, 2, 3], scope="module")
    def test_module_scope_shares_one_kernel_a(nb):
        nb.inject("counter += 1")


    @notebook("nb.ipynb", params={"factor": 3}, execute=[0, 1, 2, 3], scope="module")
    def test_module_scope_shares_one_kernel_b(nb):
        assert nb.value("counter") == 1


    @notebook("nb.ipynb", execute=["helpers"], track=False)
    def test_execute_selected_cells_then_more(nb):
        # only the cells tagged helpers (and not the parameters cell) ran: factor is undefined
        with pytest.raises(NameError):
            nb.ref("scale")([1])
        nb.execute_cell(0)
        assert nb.ref("scale")([1]) == [2]
        cell = nb.execute_cell("late")
        assert nb.cell_output_text("late") == "late cell 2\\n"
        assert cell.execution_count == 3  # helpers, cell 0, late
        out = nb.inject("print(factor * 10)")
        assert out.outputs[0]["text"] == "20\\n"
        with pytest.raises(ZeroDivisionError):
            nb.inject("1 / 0")


    @notebook("nb.ipynb", params={"factor": 3}, execute=[0, 1, 2, 3], scope="module")
    def test_patch_dict(nb):
        with nb.patch_dict("os.environ", {"MLNB_T": "on"}):
            assert nb.value("os.environ['MLNB_T']") == "on"
        assert nb.value("os.environ.get('MLNB_T')") is None


    @pytest.fixture(scope="module")
    def shared():
        with notebook("nb.ipynb", execute=False, track=False) as nb:
            yield nb


    def test_context_manager_in_a_fixture(shared):
        shared.execute_cell(0)
        assert shared.value("factor") == 2
        assert shared.run_id is None


    def test_tracked_run_and_the_factory(mlnb_notebook):
        nb = mlnb_notebook("nb.ipynb", params={"factor": 5})
        run = nb.run
        assert run.id == nb.run_id
        assert run.metrics["score"] == 0.75
        assert run.params["factor"] == 5
        assert run.tags["mlnb.source"] == "pytest"


    def test_a_failing_notebook_fails_the_test_with_the_cell(mlnb_notebook):
        mlnb_notebook("broken.ipynb")
''')


def test_fixture_api(inner, write_nb, pytester):
    write_nb("nb.ipynb", CELLS)
    write_nb("broken.ipynb", ["x = 1", "y = {}['missing']"])
    pytester.makepyfile(test_nb=TESTS)
    result = inner("-p", "no:randomly")
    result.assert_outcomes(passed=10, failed=1)
    result.stdout.fnmatch_lines([
        "E * KeyError: 'missing'",
        "E *(raised by cell 2 (id 'c1', In [[]2]): y = {}[[]'missing'] of broken.ipynb)",
        "E *-- code --*",
        "E *1 | y = {}[[]'missing']",
    ])
    # one kernel for the six module-scoped tests, one per function-scoped notebook
    from mlnb.testing import _engine

    assert _engine._kernels.pool is None  # closed at the end of the inner session
