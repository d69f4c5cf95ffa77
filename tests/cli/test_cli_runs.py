"""`mlnb runs ...` against runs seeded through the real core API."""

from __future__ import annotations

import csv
import io
import json

import pytest

from mlnb.cli import runs_cmd


def _names(result) -> list[str]:
    assert result.exit_code == 0, result.output
    return [r["name"] for r in json.loads(result.stdout)]


def _table_rows(stdout: str) -> list[list[str]]:
    """Rows of a plain table (header and rule dropped), split on runs of 2+ spaces."""
    import re

    lines = [ln for ln in stdout.splitlines() if ln.strip() and not set(ln.strip()) <= {"─"}]
    return [re.split(r"\s{2,}", ln.strip()) for ln in lines]


# -- list -----------------------------------------------------------------------------------


def test_list_table_shows_runs_and_common_metrics(cli_invoke, seeded):
    result = cli_invoke("runs", "list")
    assert result.exit_code == 0, result.output
    rows = _table_rows(result.stdout)
    header = rows[0]
    assert header[:6] == ["ID", "NAME", "STATUS", "NOTEBOOK", "STARTED", "DURATION"]
    assert header[6:] == ["acc", "loss"]  # acc in 3 runs, loss in 1
    by_id = {r[0]: r for r in rows[1:]}
    assert set(by_id) == {seeded[n][:8] for n in "abc"}
    row_a = by_id[seeded["a"][:8]]
    assert row_a[1:3] == ["a", "finished"]
    assert row_a[6] == "0.9"  # the latest acc of run a
    assert "\x1b[" not in result.stdout  # not a terminal: no colour codes


def test_list_chosen_metric_columns(cli_invoke, seeded):
    result = cli_invoke("runs", "list", "--metric", "loss", "-m", "nope")
    header = _table_rows(result.stdout)[0]
    assert header[6:] == ["loss", "nope"]


def test_list_json_has_run_fields(cli_invoke, seeded):
    result = cli_invoke("runs", "list", "--format", "json")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)
    assert len(runs) == 3
    for field in ("id", "name", "status", "notebook", "start_time", "end_time", "duration",
                  "params", "metrics", "tags"):
        assert field in runs[0]
    by_name = {r["name"]: r for r in runs}
    assert by_name["a"]["params"] == {"lr": 0.1, "epochs": 3}
    assert by_name["b"]["metrics"] == {"acc": 0.7, "loss": 0.25}
    assert by_name["c"]["id"] == seeded["c"]


def test_list_csv_flattens(cli_invoke, seeded):
    result = cli_invoke("runs", "list", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    header = result.stdout.splitlines()[0].split(",")
    assert header[:2] == ["id", "name"]
    for col in ("params.lr", "params.epochs", "params.optimizer", "metrics.acc", "metrics.loss"):
        assert col in header
    by_name = {r["name"]: r for r in rows}
    assert by_name["c"]["params.optimizer"] == "adam"
    assert by_name["a"]["params.optimizer"] == ""
    assert float(by_name["b"]["metrics.loss"]) == 0.25


def test_list_filter_narrows(cli_invoke, seeded):
    assert sorted(_names(cli_invoke("runs", "list", "-f", "metrics.acc > 0.8", "--format", "json"))) == ["a", "c"]
    assert _names(cli_invoke("runs", "list", "--filter", "params.lr = 0.2", "--format", "json")) == ["b"]
    assert _names(cli_invoke("runs", "list", "-f", "metrics.loss IS NOT NULL", "--format", "json")) == ["b"]
    table = cli_invoke("runs", "list", "-f", "name = 'b'")
    assert [r[1] for r in _table_rows(table.stdout)[1:]] == ["b"]


def test_list_no_match_says_so(cli_invoke, seeded):
    result = cli_invoke("runs", "list", "-f", "metrics.acc > 5")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "No runs match" in result.stderr
    assert json.loads(cli_invoke("runs", "list", "-f", "metrics.acc > 5", "--format", "json").stdout) == []


def test_list_empty_project(cli_invoke, project_dir):
    result = cli_invoke("runs", "list")
    assert result.exit_code == 0
    assert "No runs yet" in result.stderr


def test_list_malformed_filter_shows_caret_and_exits_2(cli_invoke, seeded):
    result = cli_invoke("runs", "list", "--filter", "metrics.acc >> 0.9")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: ")
    assert "  metrics.acc >> 0.9" in lines
    caret = [ln for ln in lines if ln.strip() == "^"]
    assert len(caret) == 1
    assert "Traceback" not in result.stderr


def test_list_bad_order_by_is_a_usage_error(cli_invoke, seeded):
    result = cli_invoke("runs", "list", "--order-by", "metrics.acc SIDEWAYS")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ")


def test_list_order_by(cli_invoke, seeded):
    assert _names(cli_invoke("runs", "list", "--format", "json")) == ["c", "b", "a"]  # newest first
    assert _names(cli_invoke("runs", "list", "-o", "metrics.acc DESC", "--format", "json")) == ["c", "a", "b"]
    assert _names(cli_invoke("runs", "list", "-o", "metrics.acc", "--format", "json")) == ["b", "a", "c"]
    assert _names(cli_invoke("runs", "list", "-o", "name DESC", "--format", "json")) == ["c", "b", "a"]


def test_list_limit_and_offset(cli_invoke, seeded):
    assert _names(cli_invoke("runs", "list", "-n", "1", "--format", "json")) == ["c"]
    assert _names(cli_invoke("runs", "list", "-n", "1", "--offset", "1", "--format", "json")) == ["b"]
    assert _names(cli_invoke("runs", "list", "-n", "0", "--format", "json")) == ["c", "b", "a"]
    table = cli_invoke("runs", "list", "--limit", "2")
    assert len(_table_rows(table.stdout)) == 1 + 2
    assert "1–2 of 3" in table.stderr and "--offset 2" in table.stderr
    assert cli_invoke("runs", "list", "--limit", "-1").exit_code == 2


def test_global_project_option_reads_another_project(cli_invoke, seeded, tmp_path):
    other = tmp_path / "other"
    (other / ".mlnb").mkdir(parents=True)
    result = cli_invoke("--project", str(other), "runs", "list", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    result = cli_invoke("-P", str(tmp_path / "missing"), "runs", "list")
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_outside_a_project_read_commands_say_so_and_create_nothing(cli_invoke, tmp_path, monkeypatch):
    bare = tmp_path / "bare"
    bare.mkdir()
    monkeypatch.delenv("MLNB_PROJECT", raising=False)
    monkeypatch.delenv("MLNB_DEFAULT_PROJECT", raising=False)
    monkeypatch.chdir(bare)
    result = cli_invoke("runs", "list")
    assert result.exit_code == 1
    assert "not inside an mlnb project" in result.stderr and "mlnb init" in result.stderr
    assert not (bare / ".mlnb").exists()
    assert cli_invoke("init").exit_code == 0
    after = cli_invoke("runs", "list")
    assert after.exit_code == 0 and "No runs yet" in after.stderr


# -- show -----------------------------------------------------------------------------------


def test_show_by_prefix(cli_invoke, seeded):
    result = cli_invoke("runs", "show", seeded["a"][:6])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert seeded["a"] in out
    assert "finished" in out
    rows = _table_rows(out)
    assert ["lr", "0.1"] in rows and ["epochs", "3"] in rows
    assert ["acc", "0.9", "0.5", "0.9", "3", "3"] in rows  # last, min, max, count, step


def test_show_json_is_run_detail(cli_invoke, seeded):
    result = cli_invoke("runs", "show", seeded["b"], "--format", "json")
    assert result.exit_code == 0, result.output
    detail = json.loads(result.stdout)
    assert detail["id"] == seeded["b"]
    assert detail["metrics_summary"]["acc"]["count"] == 2
    assert detail["metrics_summary"]["acc"]["min"] == 0.6
    for key in ("packages", "cell_executions", "artifacts", "params", "tags"):
        assert key in detail


def test_show_unknown_id_exits_1(cli_invoke, seeded):
    result = cli_invoke("runs", "show", "zzzzzzzz")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "No run with id 'zzzzzzzz'" in result.stderr
    assert "Traceback" not in result.stderr


def _two_runs_sharing_a_prefix() -> str:
    """Open runs until two ids share their first character (at most 17 by pigeonhole)."""
    import mlnb

    seen: set[str] = set()
    for _ in range(17):
        with mlnb.start_run(name="p") as run:
            pass
        if run.id[0] in seen:
            mlnb.flush()
            return run.id[0]
        seen.add(run.id[0])
    raise AssertionError("ids are not hex?")  # pragma: no cover


def test_show_ambiguous_prefix_exits_2(cli_invoke, project_dir):
    prefix = _two_runs_sharing_a_prefix()
    result = cli_invoke("runs", "show", prefix)
    assert result.exit_code == 2
    assert f"prefix {prefix!r} matches" in result.stderr
    assert "Traceback" not in result.stderr


# -- compare --------------------------------------------------------------------------------


def test_compare_marks_differing_rows(cli_invoke, seeded):
    result = cli_invoke("runs", "compare", seeded["a"][:8], seeded["b"][:8], seeded["c"][:8])
    assert result.exit_code == 0, result.output
    rows = {r[1] if r[0] == "≠" else r[0]: r for r in _table_rows(result.stdout)}
    assert rows["params.lr"][0] == "≠" and rows["params.lr"][2:] == ["0.1", "0.2", "0.1"]
    assert rows["params.optimizer"][0] == "≠"
    assert rows["params.epochs"] == ["params.epochs", "3", "3", "3"]  # same: no mark
    assert rows["metrics.acc"][0] == "≠"
    assert "\x1b[" not in result.stdout


def test_compare_only_diff(cli_invoke, seeded):
    result = cli_invoke("runs", "compare", seeded["a"], seeded["c"], "--only-diff")
    assert result.exit_code == 0, result.output
    assert "params.epochs" not in result.stdout and "params.lr" not in result.stdout
    assert "params.optimizer" in result.stdout and "metrics.acc" in result.stdout


def test_compare_json(cli_invoke, seeded):
    result = cli_invoke("runs", "compare", seeded["a"], seeded["b"], "--format", "json")
    data = json.loads(result.stdout)
    assert [r["id"] for r in data["runs"]] == [seeded["a"], seeded["b"]]
    assert data["params"]["lr"] == {"values": [0.1, 0.2], "differs": True}
    assert data["params"]["epochs"]["differs"] is False
    assert data["metrics"]["loss"]["values"] == [None, 0.25]


def test_compare_needs_two_runs(cli_invoke, seeded):
    result = cli_invoke("runs", "compare", seeded["a"], seeded["a"][:6])
    assert result.exit_code == 2
    assert "at least two" in result.stderr


def test_compare_unknown_run_exits_1(cli_invoke, seeded):
    result = cli_invoke("runs", "compare", seeded["a"], "zzzzzz")
    assert result.exit_code == 1
    assert "zzzzzz" in result.stderr


# -- delete ---------------------------------------------------------------------------------


def _ids(cli_invoke) -> set[str]:
    return {r["id"] for r in json.loads(cli_invoke("runs", "list", "--format", "json").stdout)}


def test_delete_with_yes(cli_invoke, seeded):
    result = cli_invoke("runs", "delete", seeded["a"][:8], seeded["b"], "--yes")
    assert result.exit_code == 0, result.output
    assert f"Deleted run {seeded['a']}" in result.stdout
    assert _ids(cli_invoke) == {seeded["c"]}
    assert cli_invoke("runs", "show", seeded["a"]).exit_code == 1


def test_delete_without_yes_when_not_interactive_refuses(cli_invoke, seeded):
    result = cli_invoke("runs", "delete", seeded["a"])
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert seeded["a"] in _ids(cli_invoke)


def test_delete_asks_on_a_terminal(cli_invoke, seeded, monkeypatch):
    monkeypatch.setattr(runs_cmd, "_stdin_is_interactive", lambda: True)
    no = cli_invoke("runs", "delete", seeded["a"], input="n\n")
    assert no.exit_code == 1
    assert "Delete 1 run?" in no.stdout
    assert seeded["a"] in _ids(cli_invoke)
    yes = cli_invoke("runs", "delete", seeded["a"], input="y\n")
    assert yes.exit_code == 0, yes.output
    assert seeded["a"] not in _ids(cli_invoke)


def test_delete_resolves_all_before_deleting_any(cli_invoke, seeded):
    result = cli_invoke("runs", "delete", seeded["a"], "zzzzzz", "--yes")
    assert result.exit_code == 1
    assert _ids(cli_invoke) == set(seeded.values())


# -- metric ---------------------------------------------------------------------------------


def test_metric_history(cli_invoke, seeded):
    result = cli_invoke("runs", "metric", seeded["a"], "acc")
    assert result.exit_code == 0, result.output
    assert "▁" in result.stdout and "█" in result.stdout
    values = [r[1] for r in _table_rows(result.stdout) if r[0] in ("1", "2", "3")]
    assert values == ["0.5", "0.7", "0.9"]
    data = json.loads(cli_invoke("runs", "metric", seeded["a"], "acc", "--format", "json").stdout)
    assert [p["value"] for p in data["points"]] == [0.5, 0.7, 0.9]
    csv_out = cli_invoke("runs", "metric", seeded["a"], "acc", "--format", "csv").stdout
    assert csv_out.splitlines()[0] == "step,value,timestamp"


def test_metric_unknown_key(cli_invoke, seeded):
    result = cli_invoke("runs", "metric", seeded["a"], "nope")
    assert result.exit_code == 2
    assert "no metric 'nope'" in result.stderr and "acc" in result.stderr


# -- real processes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["runs", "list", "--filter", "metrics.acc > > 1"], 2, "^"),
        (["runs", "show", "zzzzzzzz"], 1, "No run with id"),
    ],
)
def test_subprocess_errors_are_short(run_mlnb, seeded, project_dir, args, code, needle):
    proc = run_mlnb(*args, cwd=project_dir)
    assert proc.returncode == code, proc.stderr
    assert needle in proc.stderr
    assert proc.stderr.startswith("Error: ")
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_subprocess_list_json(run_mlnb, seeded, project_dir):
    proc = run_mlnb("runs", "list", "--format", "json", cwd=project_dir)
    assert proc.returncode == 0, proc.stderr
    assert {r["name"] for r in json.loads(proc.stdout)} == {"a", "b", "c"}


def test_show_lists_cell_executions_and_artifacts(cli_invoke, project_dir):
    import mlnb
    from mlnb import tracking

    (project_dir / "model.txt").write_text("weights")
    with mlnb.start_run(name="cells", notebook="train.ipynb") as run:
        tracking.begin_cell("cell-one", "\n# load data\nimport json\n", execution_count=1)
        mlnb.log_metric("loss", 0.5, step=1)
        tracking.end_cell("ok", execution_count=1)
        tracking.begin_cell("cell-two", "1 / 0", execution_count=2)
        tracking.end_cell("error", "ZeroDivisionError", "division by zero", execution_count=2)
        mlnb.log_artifact(project_dir / "model.txt")
    mlnb.flush()

    result = cli_invoke("runs", "show", run.id)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Cell executions (2)" in out
    rows = _table_rows(out)
    first = next(r for r in rows if "# load data" in r)
    assert first[0] == "1" and "ok" in first and "loss=0.5" in first
    second = next(r for r in rows if "1 / 0" in r)
    assert "error ZeroDivisionError" in second
    assert "Artifacts (1)" in out and "model.txt" in out
    assert "train.ipynb" in out
