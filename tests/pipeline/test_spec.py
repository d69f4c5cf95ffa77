"""mlnb.yaml parsing, validation with line numbers, expansion, and the DAG (no kernels)."""

from __future__ import annotations

import textwrap

import pytest

from mlnb.pipeline import PipelineGraphError, PipelineSpecError, StageNotFoundError, build_dag, parse_spec


def spec(text: str, root=None):
    return parse_spec(textwrap.dedent(text), root or ".")


def problem_lines(text: str, root=None) -> list[int]:
    with pytest.raises(PipelineSpecError) as info:
        spec(text, root)
    return [line for line, _ in info.value.problems]


def test_minimal_stage_and_defaults():
    s = spec("""
        stages:
          train:
            notebook: nb/train.ipynb
            deps: data/x.csv
            outs: [./model//m.pkl]
    """)
    st = s.stages["train"]
    assert st.notebook == "nb/train.ipynb"
    assert st.deps == ["data/x.csv"] and st.outs == ["model/m.pkl"]
    assert st.cwd == "." and st.kernel is None and st.params == {}
    assert st.line == 3


def test_yaml_syntax_error_points_at_line():
    with pytest.raises(PipelineSpecError) as info:
        spec("stages:\n  a:\n    notebook: a.ipynb\n    deps: [x, y\n  b: 1\n")
    assert info.value.line in (4, 5)
    assert "mlnb.yaml:" in str(info.value) and "YAML syntax error" in str(info.value)


def test_every_schema_problem_reported_with_its_line():
    text = """\
stages:
  train:
    notebook: train.py
    deps: {a: 1}
    timeout: -3
    colour: blue
  evaluate:
    outs: [../outside.txt]
  "bad name":
    notebook: x.ipynb
"""
    with pytest.raises(PipelineSpecError) as info:
        spec(text)
    msg = str(info.value)
    by_line = dict(info.value.problems)
    assert "must be a .ipynb file" in by_line[3]
    assert "deps must be a list of paths" in by_line[4]
    assert "timeout must be a positive number" in by_line[5]
    assert "unknown key 'colour'" in by_line[6]
    assert "`notebook:` is required" in by_line[7]
    assert "leaves the project root" in by_line[8]
    assert "stage name 'bad name'" in by_line[9]
    assert "mlnb.yaml:6:" in msg


def test_duplicate_stage_name_is_an_error_not_last_wins():
    lines = problem_lines("""\
stages:
  a:
    notebook: a.ipynb
  a:
    notebook: b.ipynb
""")
    assert lines == [4]


def test_top_level_problems():
    assert problem_lines("stages: [a, b]\n") == [1]
    with pytest.raises(PipelineSpecError, match="empty"):
        spec("")
    assert problem_lines("stagez:\n  a: {notebook: a.ipynb}\n") == [1, 1]


def test_params_inline_and_from_params_file(tmp_path):
    (tmp_path / "params.yaml").write_text("train:\n  lr: 0.1\n  epochs: 3\nseed: 7\n")
    (tmp_path / "other.yaml").write_text("depth: 4\n")
    s = spec("""
        stages:
          a:
            notebook: a.ipynb
            params: [train.lr, seed, "other.yaml:depth", {params.yaml: [train.epochs]}, {batch: 32}]
    """, tmp_path)
    a = s.stages["a"]
    assert a.params == {"lr": 0.1, "seed": 7, "depth": 4, "epochs": 3, "batch": 32}
    assert a.param_sources["lr"] == "params.yaml:train.lr"
    assert a.param_sources["batch"] == "inline"


def test_params_problems(tmp_path):
    (tmp_path / "params.yaml").write_text("lr: 0.1\n")
    with pytest.raises(PipelineSpecError) as info:
        spec("""\
stages:
  a:
    notebook: a.ipynb
    params: [lr, nope, "missing.yaml:x"]
  b:
    notebook: b.ipynb
    params: {1bad: 2}
""", tmp_path)
    msg = str(info.value)
    assert "mlnb.yaml:4: stage 'a': params key 'nope' is not in params.yaml" in msg
    assert "params file 'missing.yaml' does not exist" in msg
    assert "mlnb.yaml:7:" in msg and "not a Python identifier" in msg


def test_foreach_list_dict_and_matrix_expansion():
    s = spec("""
        stages:
          fe:
            foreach: [small, large]
            notebook: a.ipynb
            params: {size: "${item}"}
            outs: ["out/${item}.txt"]
          fd:
            foreach:
              us: {region: us, n: 1}
              eu: {region: eu, n: 2}
            notebook: b.ipynb
            outs: ["out/${key}-${item.n}.txt"]
          mx:
            matrix: {lr: [0.1, 0.01], depth: [2, 3]}
            notebook: c.ipynb
            outs: ["models/${item.lr}-${item.depth}.pkl"]
    """)
    assert list(s.groups()["fe"]) == ["fe@small", "fe@large"]
    assert s.stages["fe@large"].params == {"size": "large"}
    assert s.stages["fe@large"].outs == ["out/large.txt"]
    assert s.stages["fd@eu"].params == {"region": "eu", "n": 2}
    assert s.stages["fd@eu"].outs == ["out/eu-2.txt"]
    mx = s.groups()["mx"]
    assert mx == ["mx@0.1-2", "mx@0.1-3", "mx@0.01-2", "mx@0.01-3"]
    assert s.stages["mx@0.01-3"].params == {"lr": 0.01, "depth": 3}
    assert s.stages["mx@0.01-3"].outs == ["models/0.01-3.pkl"]
    assert s.stages["mx@0.01-3"].group == "mx"
    # a group name selects all its expansions
    dag = build_dag(s)
    assert dag.select(["mx"]) == mx


def test_foreach_problems():
    with pytest.raises(PipelineSpecError) as info:
        spec("""\
stages:
  a:
    foreach: []
    notebook: a.ipynb
  b:
    matrix: {lr: 0.1}
    notebook: b.ipynb
  c:
    foreach: [1, 2]
    notebook: c.ipynb
    outs: ["${itme}.txt"]
""")
    msg = str(info.value)
    assert "mlnb.yaml:3: stage 'a': foreach must be a non-empty list" in msg
    assert "mlnb.yaml:6: stage 'b': matrix 'lr' must be a non-empty list" in msg
    assert "unknown variable ${itme}" in msg


def _dag(text: str):
    return build_dag(spec(text))


def test_dag_order_edges_and_folder_outs():
    dag = _dag("""
        stages:
          report: {notebook: r.ipynb, deps: [metrics.json, data/clean]}
          train: {notebook: t.ipynb, deps: [data/clean/part1.csv], outs: [model.pkl], metrics: [metrics.json]}
          prep: {notebook: p.ipynb, deps: [raw.csv], outs: [data/clean]}
    """)
    assert dag.order == ["prep", "train", "report"]
    assert dag.upstream["report"] == ["train", "prep"]
    assert dag.downstream["prep"] == ["report", "train"]
    assert dag.select(["train"]) == ["prep", "train"]
    with pytest.raises(StageNotFoundError, match="No stage 'nope'"):
        dag.select(["nope"])


def test_cycle_is_named():
    with pytest.raises(PipelineGraphError) as info:
        _dag("""
            stages:
              a: {notebook: a.ipynb, deps: [c.txt], outs: [a.txt]}
              b: {notebook: b.ipynb, deps: [a.txt], outs: [b.txt]}
              c: {notebook: c.ipynb, deps: [b.txt], outs: [c.txt]}
              d: {notebook: d.ipynb, deps: [c.txt]}
        """)
    assert "cycle" in str(info.value)
    assert "a → b → c → a" in str(info.value)
    assert sorted(info.value.stages) == ["a", "b", "c"]


def test_two_stages_writing_one_out():
    with pytest.raises(PipelineGraphError) as info:
        _dag("""
            stages:
              a: {notebook: a.ipynb, outs: [model.pkl]}
              b: {notebook: b.ipynb, outs: [model.pkl]}
        """)
    assert info.value.stages == ["a", "b"]
    assert "'a' and 'b' both write 'model.pkl'" in str(info.value)
    with pytest.raises(PipelineGraphError, match="overlapping"):
        _dag("""
            stages:
              a: {notebook: a.ipynb, outs: [data]}
              b: {notebook: b.ipynb, metrics: [data/m.json]}
        """)


def test_stage_reading_its_own_out_is_refused():
    with pytest.raises(PipelineSpecError, match="both a dep and an out"):
        spec("stages:\n  a: {notebook: a.ipynb, deps: [x], outs: [x]}\n")
