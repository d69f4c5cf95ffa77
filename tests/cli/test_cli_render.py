"""Plain formatters behind the tables and the machine formats."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

from mlnb.cli import _render as r


def test_durations():
    assert r.fmt_duration(None) == "—"
    assert r.fmt_duration(0.4219) == "0.42s"
    assert r.fmt_duration(12.34) == "12.3s"
    assert r.fmt_duration(185) == "3m 05s"
    assert r.fmt_duration(3720) == "1h 02m"
    assert r.fmt_duration(2 * 86400 + 3 * 3600) == "2d 03h"


def test_ages():
    now = 1_000_000.0
    assert r.fmt_age(now - 1, now) == "just now"
    assert r.fmt_age(now - 45, now) == "45s ago"
    assert r.fmt_age(now - 12 * 60, now) == "12m ago"
    assert r.fmt_age(now - 3 * 3600 - 5, now) == "3h ago"
    assert r.fmt_age(now - 5 * 86400, now) == "5d ago"
    assert r.fmt_age(None) == "—"


def test_numbers_and_values():
    assert r.fmt_number(0.912345678) == "0.912346"
    assert r.fmt_number(3) == "3"
    assert r.fmt_number(float("nan")) == "nan"
    assert r.fmt_number(None) == "—"
    assert r.fmt_value("adam") == "adam"
    assert r.fmt_value(0.1) == "0.1"
    assert r.fmt_value(0.123456789) == "0.123456789"  # params print exactly
    assert r.fmt_value(True) == "true"
    assert r.fmt_value({"b": 1, "a": [1, 2]}) == '{"a": [1, 2], "b": 1}'


def test_sparkline():
    assert r.sparkline([]) == ""
    assert r.sparkline([1, 2, 3, 4, 5, 6, 7, 8]) == "▁▂▃▄▅▆▇█"
    assert len(set(r.sparkline([2.0, 2.0, 2.0]))) == 1
    assert len(r.sparkline(list(range(1000)), width=40)) == 40
    assert r.sparkline([1.0, float("nan"), 2.0]) == "▁█"


def test_common_metric_keys_prefers_frequent_then_alphabetical():
    runs = [
        SimpleNamespace(metrics={"acc": 1, "loss": 1, "z": 1}),
        SimpleNamespace(metrics={"acc": 1, "f1": 1}),
        SimpleNamespace(metrics={"acc": 1, "loss": 1}),
    ]
    assert r.common_metric_keys(runs, 3) == ["acc", "loss", "f1"]


def test_json_output_is_strict():
    out = io.StringIO()
    r.dump_json({"metrics": {"loss": float("nan"), "acc": 0.5}, "x": [float("inf")]}, out)
    data = json.loads(out.getvalue())
    assert data == {"metrics": {"loss": None, "acc": 0.5}, "x": [None]}


def test_csv_flattens_params_metrics_tags():
    rows = [
        {"id": "1", "name": "a", "params": {"lr": 0.1}, "metrics": {"acc": 0.9}, "tags": {},
         "packages": {"numpy": "2"}},
        {"id": "2", "name": None, "params": {"lr": 0.2, "opt": {"k": 1}}, "metrics": {},
         "tags": {"stage": "train"}},
    ]
    out = io.StringIO()
    r.write_csv(rows, out)
    lines = out.getvalue().splitlines()
    assert lines[0] == "id,name,params.lr,params.opt,metrics.acc,tags.stage"
    assert lines[1] == "1,a,0.1,,0.9,"
    assert lines[2] == '2,,0.2,"{""k"": 1}",,train'


def test_compare_rows_only_diff():
    cmp = {
        "runs": [{"id": "a"}, {"id": "b"}],
        "params": {"lr": {"values": [0.1, 0.2], "differs": True},
                   "epochs": {"values": [3, 3], "differs": False}},
        "metrics": {"acc": {"values": [0.9, None], "differs": True}},
    }
    assert [k for _, k, _, _ in r.compare_rows(cmp)] == ["epochs", "lr", "acc"]
    assert [k for _, k, _, _ in r.compare_rows(cmp, only_diff=True)] == ["lr", "acc"]


def test_first_line():
    assert r.first_line("\n\n  import numpy as np\nx = 1") == "  import numpy as np"
    assert r.first_line("x" * 100, limit=10) == "x" * 9 + "…"
    assert r.first_line(None) == ""

