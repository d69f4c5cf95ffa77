"""Collection by the pytest plugin: which notebooks become tests, under which ids (no kernels)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def test_notebooks_are_not_collected_without_the_flag(inner, write_nb):
    write_nb("a.ipynb", ["x = 1"])
    result = inner("--co", "-q")
    assert "a.ipynb" not in result.stdout.str()
    assert result.ret == 5  # no tests collected


def test_one_test_per_notebook_and_parameter_set_from_metadata(inner, write_nb):
    write_nb("plain.ipynb", ["x = 1"])
    write_nb(
        "train.ipynb",
        [("lr = 0.5\nepochs = 1", ["parameters"]), "print(lr)"],
        metadata={"params": [{"lr": 0.1, "epochs": 1}, {"lr": 0.01, "epochs": 1}]},
    )
    write_nb(".ipynb_checkpoints/plain-checkpoint.ipynb", ["x = 1"])
    result = inner("--mlnb", "--co", "-q")
    lines = [line for line in result.stdout.lines if "::" in line]
    # only the key that varies names the test
    assert lines == [
        "plain.ipynb::plain.ipynb",
        "train.ipynb::train.ipynb[lr=0.1]",
        "train.ipynb::train.ipynb[lr=0.01]",
    ]


def test_parameter_sets_from_the_stages_of_mlnb_yaml(inner, write_nb, pytester):
    pytester.path.joinpath("mlnb.yaml").write_text(textwrap.dedent("""\
        stages:
          prepare:
            notebook: nbs/prepare.ipynb
            params: {seed: 0}
            outs: [data.txt]
          sweep:
            matrix: {C: [0.1, 1.0]}
            notebook: nbs/sweep.ipynb
            deps: [data.txt]
    """))
    write_nb("nbs/sweep.ipynb", [("C = 1.0", ["parameters"]), "print(C)"])
    write_nb("nbs/prepare.ipynb", [("seed = 1", ["parameters"]), "open('data.txt', 'w').write('x')"])
    result = inner("--mlnb", "--co", "-q")
    lines = [line for line in result.stdout.lines if "::" in line]
    # producers first: sweep reads what prepare writes
    assert lines == [
        "nbs/prepare.ipynb::prepare.ipynb[seed=0]",
        "nbs/sweep.ipynb::sweep.ipynb[C=0.1]",
        "nbs/sweep.ipynb::sweep.ipynb[C=1.0]",
    ]


def test_cells_mode_gives_one_test_per_code_cell(inner, write_nb):
    write_nb("nb.ipynb", ["x = 1", "# md\n# Title", ("y = 2", ["skip-test"]), "   "])
    result = inner("--mlnb", "--mlnb-cells", "--co", "-q")
    lines = [line for line in result.stdout.lines if "::" in line]
    assert lines == ["nb.ipynb::nb.ipynb::cell_1", "nb.ipynb::nb.ipynb::cell_3"]


def test_bad_metadata_params_is_a_collection_error_that_says_what_to_write(inner, write_nb):
    write_nb("nb.ipynb", ["x = 1"], metadata={"params": {"lr": 0.1}})
    result = inner("--mlnb", "--co", "-q")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*metadata.mlnb.test.params must be a list of mappings*"])


def test_unreadable_notebooks_and_specs_are_one_line_collection_errors(inner, write_nb, pytester):
    pytester.path.joinpath("broken.ipynb").write_text('{"cells": [', encoding="utf-8")
    (pytester.path / "sub").mkdir()
    pytester.path.joinpath("sub", "mlnb.yaml").write_text("stages:\n  a: {}\n")
    write_nb("sub/nb.ipynb", ["x = 1"])
    result = inner("--mlnb", "--co", "-q")
    result.stdout.fnmatch_lines(["Cannot read notebook *broken.ipynb: not valid JSON*"])
    result.stdout.fnmatch_lines(["*mlnb.yaml*stage 'a'*notebook:*is required*"])
    assert "Traceback" not in result.stdout.str() and "_collect.py" not in result.stdout.str()


def test_wrong_parameters_fail_before_any_kernel_starts(inner, write_nb):
    write_nb("nb.ipynb", [("lr = 0.1", ["parameters"]), "x = 1"], metadata={"params": [{"lrr": 0.5}]})
    result = inner("--mlnb")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*nb.ipynb[[]lrr=0.5[]] (notebook)*",
        "Invalid parameters for nb.ipynb: unknown parameter 'lrr' (did you mean 'lr'?)",
        "  lr  float",
    ])
    assert "Traceback" not in result.stdout.str()


def test_the_plugin_imports_nothing_heavy():
    code = (
        "import sys, mlnb.testing.plugin, mlnb.testing\n"
        "heavy = [m for m in ('nbclient', 'nbformat', 'jupyter_client', 'zmq', 'mlnb.testing._engine')"
        " if m in sys.modules]\n"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
