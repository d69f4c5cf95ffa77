"""Parameters without a kernel: reading the cell, types, YAML scalars, validation, injection."""

from __future__ import annotations

import json
import math

import pytest

from mlnb.errors import UsageError
from mlnb.execute import ParameterError, RawValue
from mlnb.execute._notebook import dumps_notebook, inject_parameters, parse_notebook, read_notebook
from mlnb.execute._parameters import (
    find_parameters,
    format_parameters_table,
    injection_source,
    parse_parameters_source,
    resolve_parameters,
)

PARAMS = """\
# the knobs
lr = 0.1  # learning rate
epochs = 10
use_gpu = False
name = "baseline"  # run name
layers = [64, 32]
opts = {"momentum": 0.9}
seed = None
shape = (3, 4)
neg = -1e-3
"""


def by_name(source: str):
    params, err = parse_parameters_source(source)
    assert err is None
    return {p.name: p for p in params}


def test_types_come_from_the_defaults():
    p = by_name(PARAMS)
    assert [str(p[n].type) for n in ("lr", "epochs", "use_gpu", "name", "layers", "opts", "seed", "shape", "neg")] == [
        "float", "int", "bool", "str", "list", "dict", "any", "tuple", "float",
    ]
    assert p["lr"].default == 0.1 and p["layers"].default == [64, 32] and p["seed"].default is None
    assert p["lr"].comment == "learning rate" and p["name"].comment == "run name"
    assert p["epochs"].comment == ""


def test_annotations_win_over_defaults_and_mean_what_python_means():
    p = by_name(
        "import typing\n"
        "from typing import Optional, Literal, List\n"
        "lr: float = 1\n"
        "steps: int\n"
        "tag: Optional[str] = None\n"
        "mode: Literal['adam', 'sgd'] = 'adam'\n"
        "sizes: list[int] = [1]\n"
        "weights: dict[str, float] = {}\n"
        "maybe: int | None = None\n"
        "frame: pd.DataFrame = None\n"
        "ids: List[int] = []\n"
        "x: 'float' = 2.0\n"
    )
    assert str(p["lr"].type) == "float" and p["lr"].annotation == "float"
    assert p["steps"].required and str(p["steps"].type) == "int"
    assert str(p["tag"].type) == "str | None"
    assert str(p["maybe"].type) == "int | None"
    assert str(p["frame"].type) == "pd.DataFrame"  # unknown: accepts anything, shown as written
    checks = {
        "lr": [(3, True, 3.0), (True, False, None), ("3", False, None)],
        "tag": [(None, True, None), ("a", True, "a"), (1, False, None)],
        "mode": [("sgd", True, "sgd"), ("rmsprop", False, None)],
        "sizes": [([1, 2], True, [1, 2]), ([1, "a"], False, None), ((1, 2), True, [1, 2])],
        "weights": [({"a": 1}, True, {"a": 1.0}), ({"a": "x"}, False, None)],
        "maybe": [(None, True, None), (5, True, 5), (5.5, False, None)],
        "frame": [(object, True, object)],
        "ids": [([3], True, [3])],
        "x": [(1, True, 1.0)],
    }
    for name, cases in checks.items():
        for value, ok, converted in cases:
            got_ok, got = p[name].type.check(value)
            assert got_ok is ok, (name, value)
            if ok:
                assert got == converted and type(got) is type(converted), (name, value, got)


def test_magics_and_statements_do_not_break_parsing():
    p = by_name("%matplotlib inline\n!echo hi\nimport os\nif True:\n    hidden = 1\na, b = 1, 'x'\nc = d = 2\ne = os.getcwd()\n")
    assert set(p) == {"a", "b", "c", "d", "e"}
    assert str(p["e"].type) == "any" and p["e"].default_source == "os.getcwd()"
    assert not p["e"].has_literal_default


def test_comment_above_is_used_when_there_is_no_inline_comment():
    p = by_name("# learning rate\n# (per step)\nlr = 0.1\n\nx = 1  # inline\n")
    assert p["lr"].comment == "learning rate (per step)" and p["x"].comment == "inline"


def nb_with(*cells):
    return parse_notebook(json.dumps({"nbformat": 4, "nbformat_minor": 4, "metadata": {}, "cells": list(cells)}))


def code(src, tags=None):
    return {"cell_type": "code", "source": src, "metadata": {"tags": tags} if tags else {}, "outputs": [], "execution_count": None}


def cell_for(source=PARAMS):
    return find_parameters(nb_with(code("import os"), code(source, ["parameters"])))


@pytest.mark.parametrize(
    "raw, name, expected",
    [
        ("3", "epochs", 3),
        ("0.5", "lr", 0.5),
        ("1", "lr", 1.0),
        ("1e-3", "lr", 0.001),  # YAML 1.1 reads this as a string; the float default decides
        ("true", "use_gpu", True),
        ("False", "use_gpu", False),
        ("2024", "name", "2024"),  # a str parameter keeps the text
        ("yes", "name", "yes"),
        ("hello world", "name", "hello world"),
        ("[1, 2, 3]", "layers", [1, 2, 3]),
        ("{momentum: 0.5, nesterov: true}", "opts", {"momentum": 0.5, "nesterov": True}),
        ("null", "seed", None),
        ("42", "seed", 42),
        ("abc", "seed", "abc"),
        ("[1, 2]", "shape", (1, 2)),
        ("None", "seed", None),
    ],
)
def test_command_line_values_read_like_yaml_scalars(raw, name, expected):
    got = resolve_parameters(cell_for(), {name: RawValue(raw)}).injected[name]
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize(
    "given, fragment",
    [
        ({"epochs": RawValue("abc")}, "epochs must be int, got str 'abc'"),
        ({"epochs": RawValue("1.5")}, "epochs must be int, got float 1.5"),
        ({"epochs": True}, "epochs must be int, got bool True"),
        ({"use_gpu": RawValue("1")}, "use_gpu must be bool, got int 1"),
        ({"lr": "0.1"}, "lr must be float, got str '0.1'"),  # Python values are not parsed
        ({"layers": RawValue("{a: 1}")}, "layers must be list"),
        ({"lrr": 0.1}, "unknown parameter 'lrr' (did you mean 'lr'?)"),
        ({"zzz": 1}, "unknown parameter 'zzz'"),
    ],
)
def test_bad_values_fail_with_the_list_of_valid_parameters(given, fragment):
    with pytest.raises(ParameterError) as exc:
        resolve_parameters(cell_for(), given, notebook="train.ipynb")
    msg = str(exc.value)
    assert isinstance(exc.value, UsageError)
    assert fragment in msg and "train.ipynb" in msg
    assert "Valid parameters (name, type):" in msg
    table = [line.split() for line in msg.split("Valid parameters (name, type):\n")[1].splitlines()]
    assert table[:4] == [["lr", "float"], ["epochs", "int"], ["use_gpu", "bool"], ["name", "str"]]


def test_every_problem_is_reported_at_once_and_required_parameters_are_enforced():
    cell = cell_for("steps: int\nlr = 0.1\n")
    with pytest.raises(ParameterError) as exc:
        resolve_parameters(cell, {"lr": RawValue("x"), "bogus": 1})
    assert len(exc.value.problems) == 3
    assert "missing required parameter 'steps' (int, no default)" in str(exc.value)
    assert resolve_parameters(cell, {"steps": 5}).effective == {"steps": 5, "lr": 0.1}


def test_effective_parameters_are_defaults_plus_injected_literals():
    r = resolve_parameters(cell_for("a = 1\nb = 'x'\nc = some_call()\n"), {"b": "y"})
    assert r.injected == {"b": "y"} and r.effective == {"a": 1, "b": "y"}


def test_values_that_cannot_be_written_as_python_are_refused():
    with pytest.raises(ParameterError, match="cannot inject a value of type object"):
        resolve_parameters(cell_for("x = None\n"), {"x": object()})


def test_without_a_parameters_cell_values_are_injected_unchecked_and_we_say_so():
    r = resolve_parameters(None, {"anything": RawValue("[1, 2]")})
    assert r.injected == {"anything": [1, 2]}
    assert "no cell tagged 'parameters'" in r.warnings[0] and "cannot be validated" in r.warnings[0]
    with pytest.raises(ParameterError, match="not a valid Python name"):
        resolve_parameters(None, {"not-a-name": 1})


def test_a_parameters_cell_that_does_not_parse_is_reported_when_parameters_are_given():
    cell = cell_for("lr = = 1\n")
    assert cell.syntax_error
    with pytest.raises(ParameterError, match="does not parse"):
        resolve_parameters(cell, {"lr": 1})
    assert resolve_parameters(cell, {}).injected == {}


def test_injected_source_round_trips_every_type():
    values = {
        "i": 1, "f": 0.25, "b": True, "s": "it's \"q\"\n", "n": None, "l": [1, [2, "x"]],
        "d": {"a": {"b": None}}, "t": (1,), "nan": float("nan"), "inf": float("-inf"),
    }
    src = injection_source(values)
    assert src.startswith("# Parameters\n")
    ns: dict = {}
    exec(src, ns)  # noqa: S102 - our own generated literal source
    for k, v in values.items():
        if k == "nan":
            assert math.isnan(ns[k])
        else:
            assert ns[k] == v and type(ns[k]) is type(v)


def test_injection_goes_after_the_parameters_cell_and_replaces_an_old_injected_cell():
    nb = nb_with(code("import os"), code("a = 1", ["parameters"]), code("print(a)"))
    i = inject_parameters(nb, {"a": 2})
    assert i == 2 and nb["cells"][2]["metadata"]["tags"] == ["injected-parameters"]
    assert nb["cells"][2]["source"] == "# Parameters\na = 2\n"
    old_id = nb["cells"][2]["id"]
    # run the output again: the old injected cell is replaced in place, not duplicated
    i2 = inject_parameters(nb, {"a": 3})
    assert i2 == 2 and len(nb["cells"]) == 4
    assert nb["cells"][2]["source"] == "# Parameters\na = 3\n" and nb["cells"][2]["id"] != old_id
    assert sum("injected-parameters" in c["metadata"].get("tags", []) for c in nb["cells"]) == 1


def test_without_a_parameters_cell_injection_goes_to_the_top():
    nb = nb_with(code("print(a)"))
    assert inject_parameters(nb, {"a": 1}) == 0
    assert nb["cells"][0]["source"].endswith("a = 1\n")


def test_help_table_lists_name_type_default_and_comment():
    text = format_parameters_table(cell_for(), "train.ipynb")
    lines = text.splitlines()
    assert lines[0] == "Parameters of train.ipynb (cell 2, tagged 'parameters'):"
    assert lines[1].split() == ["NAME", "TYPE", "DEFAULT", "DESCRIPTION"]
    lr = next(line for line in lines if line.strip().startswith("lr "))
    assert lr.split() == ["lr", "float", "0.1", "learning", "rate"]
    assert "no cell is tagged 'parameters'" in format_parameters_table(None, "x.ipynb")
    req = format_parameters_table(cell_for("steps: int  # how many\n"))
    assert "(required)" in req and "how many" in req


# -- notebook files ---------------------------------------------------------------------------


def test_reading_gives_every_cell_an_id_and_rejoins_lines(tmp_path):
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps({
        "nbformat": 4, "nbformat_minor": 2, "metadata": {},
        "cells": [
            {"cell_type": "code", "source": ["a = 1\n", "b = 2"], "metadata": {}, "outputs": [
                {"output_type": "stream", "name": "stdout", "text": ["x\n", "y"]}], "execution_count": 1},
            {"cell_type": "markdown", "source": "# t", "metadata": {}, "id": "dup"},
            {"cell_type": "markdown", "source": "# u", "metadata": {}, "id": "dup"},
        ],
    }))
    nb = read_notebook(path)
    ids = [c["id"] for c in nb["cells"]]
    assert len(set(ids)) == 3 and ids[1] == "dup" and nb["nbformat_minor"] == 5
    assert nb["cells"][0]["source"] == "a = 1\nb = 2"
    assert nb["cells"][0]["outputs"][0]["text"] == "x\ny"


def test_written_notebooks_match_nbformat_layout_and_validate(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("a = 1\nprint(a)", outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="1\n2\n"),
            nbformat.v4.new_output("execute_result", data={"text/plain": "x\ny", "application/json": {"a": [1]}}, execution_count=1),
        ]),
        nbformat.v4.new_markdown_cell("# title\ntext"),
    ])
    assert dumps_notebook(nb) == nbformat.writes(nb) + "\n"
    nbformat.validate(nbformat.reads(dumps_notebook(nb), as_version=4))


@pytest.mark.parametrize(
    "content, fragment",
    [
        (None, "no such file"),
        ("{not json", "not valid JSON"),
        ('{"cells": []}', "not a Jupyter notebook"),
        ('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"source": ""}]}', "'cells' must be a list"),
        ('{"nbformat": 9, "cells": []}', "nbformat 9 is not supported"),
    ],
)
def test_unreadable_notebooks_are_usage_errors(tmp_path, content, fragment):
    from mlnb.execute import NotebookReadError

    path = tmp_path / "bad.ipynb"
    if content is not None:
        path.write_text(content)
    with pytest.raises(NotebookReadError, match=fragment) as exc:
        read_notebook(path)
    assert isinstance(exc.value, UsageError) and "bad.ipynb" in str(exc.value)
