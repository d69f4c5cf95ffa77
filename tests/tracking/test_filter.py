"""The filter language: what parses, what it selects, and how errors point at the problem."""

from __future__ import annotations

import pytest

import mlnb
from mlnb.errors import FilterSyntaxError
from mlnb.tracking import compile_filter


@pytest.fixture
def seeded(project_dir):
    specs = [
        ("cv-1", {"lr": 0.1, "opt": "adam"}, {"acc": 0.91, "loss": 0.3}, {"stage": "train"}),
        ("cv-2", {"lr": 0.2, "opt": "sgd"}, {"acc": 0.85, "loss": 0.5}, {"stage": "train"}),
        ("eval", {"lr": 0.1, "opt": "sgd"}, {"acc": 0.95}, {"stage": "eval"}),
        ("CV-upper", {"lr": 0.3}, {"val/loss": 0.2}, {}),
    ]
    for name, params, metrics, tags in specs:
        with mlnb.start_run(name=name, params=params, tags=tags):
            mlnb.log_metrics(metrics)
    with mlnb.start_run(name="broken"):
        pass
    mlnb.end_run()
    r = mlnb.start_run(name="failed-one")
    mlnb.end_run(status="failed")
    mlnb.flush()
    return r


def names(filter_text, **kw):
    return sorted(r.name for r in mlnb.runs(filter=filter_text, **kw))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("metrics.acc > 0.9", ["cv-1", "eval"]),
        ("metrics.acc > 0.9 and params.lr = '0.1'", ["cv-1", "eval"]),
        ("metrics.acc >= 0.91 and params.opt = 'adam'", ["cv-1"]),
        ("params.lr = 0.1", ["cv-1", "eval"]),
        ("params.lr > 0.15", ["CV-upper", "cv-2"]),
        ("tags.stage = 'train'", ["cv-1", "cv-2"]),
        ("status = 'failed'", ["failed-one"]),
        ("name LIKE 'cv-%'", ["cv-1", "cv-2"]),
        ("name ILIKE 'cv-%'", ["CV-upper", "cv-1", "cv-2"]),
        ("name NOT LIKE 'cv-%' and metrics.acc > 0", ["eval"]),
        ("tags.stage = 'eval' or metrics.loss > 0.4", ["cv-2", "eval"]),
        ("(tags.stage = 'eval' or metrics.loss > 0.4) and params.opt = 'sgd'", ["cv-2", "eval"]),
        ("not tags.stage = 'train' and metrics.acc > 0", ["eval"]),
        ("params.opt in ('adam', 'sgd') and params.lr in (0.2)", ["cv-2"]),
        ("params.opt not in ('adam') and params.opt is not null", ["cv-2", "eval"]),
        ("name in ('eval', 'broken')", ["broken", "eval"]),
        ("metrics.`val/loss` < 0.3", ["CV-upper"]),
        ("params.opt is null and status = 'finished'", ["CV-upper", "broken"]),
        ("metrics.acc != 0.85", ["cv-1", "eval"]),
        ("METRICS.acc > 0.9 AND PARAMS.lr = '0.1'", ["cv-1", "eval"]),
    ],
)
def test_filter_selects(seeded, text, expected):
    assert names(text) == expected


def test_order_by_and_limit(seeded):
    ordered = [r.name for r in mlnb.runs("metrics.acc > 0", order_by="metrics.acc DESC")]
    assert ordered == ["eval", "cv-1", "cv-2"]
    ordered = [r.name for r in mlnb.runs("metrics.acc > 0", order_by="params.lr, name DESC")]
    assert ordered == ["eval", "cv-1", "cv-2"]
    assert len(mlnb.runs(limit=2)) == 2
    newest_first = [r.name for r in mlnb.runs()]
    assert newest_first[0] == "failed-one"
    assert [r.name for r in mlnb.runs(limit=2, offset=1)] == newest_first[1:3]


@pytest.mark.parametrize(
    "text, position, fragment",
    [
        ("metrics.acc >> 0.9", 13, "Expected a value"),
        ("foo = 1", 0, "Unknown attribute 'foo'"),
        ("name = 'unterminated", 7, "Unterminated string"),
        ("metrics.acc > 0.9 and", 21, "Expected a key"),
        ("(status = 'x'", 13, "Expected ')'"),
        ("params.lr = adam", 12, "quote strings"),
        ("metrics.acc > 'high'", 14, "compare it with a number"),
        ("status = 'x' status = 'y'", 13, "Expected 'and', 'or'"),
        ("bogus.key = 1", 0, "Unknown key prefix"),
        ("name in 'x'", 8, "Expected '('"),
        ("status = 'a' and ; drop table runs", 17, "Unexpected character ';'"),
        ("   ", 0, "Empty filter"),
    ],
)
def test_malformed_filter_points_at_token(text, position, fragment):
    if not text.strip():
        # an empty filter means "no filter" for search, but compile() of only spaces is allowed
        assert compile_filter(text) == ("1=1", [])
        return
    with pytest.raises(FilterSyntaxError) as info:
        compile_filter(text)
    err = info.value
    assert fragment in err.message
    assert err.position == position
    lines = str(err).splitlines()
    assert lines[1].strip() == text.strip()
    assert lines[2].index("^") - 2 == position


def test_values_are_bound_not_interpolated(seeded):
    # A quote inside a string literal must not break out of the SQL.
    assert names("name = 'x'' or ''1''=''1'") == []
    assert names("name = \"it's\"") == []
