"""``mlnb runs``: list, show, compare, delete tracked runs and print a metric's history.

Thin on purpose: parse options, call the tracking store (see docs/design/contracts.md), hand the
result to :mod:`mlnb.cli._render`. The store and rich are imported inside the commands.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from mlnb.tracking import Store

FORMATS = click.Choice(["table", "json", "csv"], case_sensitive=False)
DETAIL_FORMATS = click.Choice(["table", "json"], case_sensitive=False)
DEFAULT_LIMIT = 50


def _store() -> Store:
    from mlnb.cli._context import project_store

    return project_store()


def _stdin_is_interactive() -> bool:
    """Whether we may ask the user a question (patched in tests)."""
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def _unique(items: tuple[str, ...]) -> list[str]:
    return list(dict.fromkeys(items))


@click.group("runs")
def runs() -> None:
    """List, show, compare and delete tracked runs.

    RUN arguments take a full run id or any unique prefix of one.
    """


@runs.command("list")
@click.option(
    "-f",
    "--filter",
    "filter_",
    metavar="FILTER",
    help="Filter, e.g. \"metrics.acc > 0.9 and params.lr = '0.1'\", \"status = 'failed'\".",
)
@click.option(
    "-o",
    "--order-by",
    metavar="KEYS",
    help="Comma-separated KEY [ASC|DESC], e.g. 'metrics.acc DESC, start_time'. "
    "Default: start_time DESC.",
)
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=0),
    metavar="N",
    default=DEFAULT_LIMIT,
    show_default=True,
    help="At most this many runs, in every format; 0 for all.",
)
@click.option(
    "--offset", type=click.IntRange(min=0), metavar="N", default=0, help="Skip this many runs first."
)
@click.option(
    "-m",
    "--metric",
    "metrics",
    multiple=True,
    metavar="KEY",
    help="Metric column to show (repeat, or comma-separate). Default: the 4 most common keys.",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True,
              help="table for people; json (list of runs) or csv for scripts.")
def list_cmd(
    filter_: str | None,
    order_by: str | None,
    limit: int,
    offset: int,
    metrics: tuple[str, ...],
    fmt: str,
) -> None:
    """List runs, newest first.

    \b
    Examples:
      mlnb runs list -f "metrics.acc > 0.9" -o "metrics.acc DESC" -n 10
      mlnb runs list --format json | jq '.[].id'
      mlnb runs list --format csv > runs.csv
    """
    from mlnb.cli import _render

    store = _store()
    found = store.search_runs(
        filter=filter_ or None, order_by=order_by or None, limit=limit or None, offset=offset
    )
    fmt = fmt.lower()
    if fmt == "json":
        _render.dump_json(found.to_dicts())
        return
    if fmt == "csv":
        _render.write_csv(found.to_dicts())
        return

    if not found:
        if offset:
            click.echo(f"No runs after offset {offset}.", err=True)
        else:
            click.echo("No runs" + (" match the filter." if filter_ else " yet."), err=True)
        return
    keys = [k.strip() for m in metrics for k in m.split(",") if k.strip()]
    if not keys:
        keys = _render.common_metric_keys(found)
    _render.print_runs_table(found, keys)
    if offset or (limit and len(found) == limit):
        total = store.count_runs(filter=filter_ or None)
        if offset or total > len(found):
            last = offset + len(found)
            hint = f"; next page: --offset {last}" if last < total else ""
            click.echo(f"Runs {offset + 1}–{last} of {total}{hint}.", err=True)


@runs.command("show", short_help="Show one run in detail.")
@click.argument("run")
@click.option("--format", "fmt", type=DETAIL_FORMATS, default="table", show_default=True)
def show_cmd(run: str, fmt: str) -> None:
    """Show one run: params, tags, metrics, cell executions and artifacts."""
    from mlnb.cli import _render

    store = _store()
    detail = store.run_detail(store.get_run(run).id)
    if fmt.lower() == "json":
        _render.dump_json(detail)
    else:
        _render.print_run_detail(detail)


@runs.command("compare", short_help="Compare runs side by side.")
@click.argument("run_ids", metavar="RUN RUN...", nargs=-1, required=True)
@click.option("--only-diff", is_flag=True, help="Show only params and metrics that differ.")
@click.option("--format", "fmt", type=DETAIL_FORMATS, default="table", show_default=True)
def compare_cmd(run_ids: tuple[str, ...], only_diff: bool, fmt: str) -> None:
    """Compare params and final metrics of two or more runs side by side.

    Rows that differ are marked ≠ (and highlighted on a terminal).
    """
    from mlnb.cli import _render

    store = _store()
    full_ids = _unique(tuple(store.get_run(r).id for r in _unique(run_ids)))
    if len(full_ids) < 2:
        raise click.UsageError("Give at least two different runs to compare.")
    comparison = store.compare(full_ids)
    if fmt.lower() == "json":
        if only_diff:
            comparison = _only_differences(comparison)
        _render.dump_json(comparison)
    else:
        _render.print_compare(comparison, only_diff=only_diff)


def _only_differences(comparison: dict[str, Any]) -> dict[str, Any]:
    out = dict(comparison)
    for section in ("params", "metrics"):
        out[section] = {k: v for k, v in (comparison.get(section) or {}).items() if v.get("differs")}
    return out


@runs.command("delete", short_help="Delete runs (asks first).")
@click.argument("run_ids", metavar="RUN...", nargs=-1, required=True)
@click.option("-y", "--yes", is_flag=True, help="Delete without asking.")
def delete_cmd(run_ids: tuple[str, ...], yes: bool) -> None:
    """Delete runs: their params, metrics, cell executions and artifacts. Cannot be undone.

    Asks first; without a terminal to ask on, --yes is required.
    """
    from mlnb.cli import _render
    from mlnb.errors import UsageError

    store = _store()
    # Resolve every id first, so a typo in the last one deletes nothing.
    targets = list({r.id: r for r in (store.get_run(x) for x in _unique(run_ids))}.values())
    what = f"{len(targets)} run{'s' if len(targets) != 1 else ''}"
    if not yes:
        if not _stdin_is_interactive():
            raise UsageError(
                f"Refusing to delete {what} without confirmation: stdin is not a terminal, "
                "so mlnb cannot ask. Pass --yes to delete."
            )
        for r in targets:
            running = "  (still running)" if r.status == "running" else ""
            click.echo(f"  {_render.short_id(r.id)}  {r.name or ''}{running}")
        if not click.confirm(f"Delete {what}? This cannot be undone", default=False):
            raise click.Abort()
    for r in targets:
        store.delete_run(r.id)
        label = f" ({r.name})" if r.name else ""
        click.echo(f"Deleted run {r.id}{label}.")


@runs.command("metric", short_help="Print a metric's history with a sparkline.")
@click.argument("run")
@click.argument("key")
@click.option(
    "-n",
    "--limit",
    type=click.IntRange(min=0),
    metavar="N",
    default=20,
    show_default=True,
    help="Table shows the last N points; 0 for all.",
)
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
def metric_cmd(run: str, key: str, limit: int, fmt: str) -> None:
    """Print the history of metric KEY of RUN, with a sparkline."""
    from mlnb.cli import _render
    from mlnb.errors import UsageError

    store = _store()
    found = store.get_run(run)
    points = store.metric_history(found.id, key)
    if not points and key not in (found.metrics or {}):
        known = ", ".join(sorted(found.metrics or {})) or "none"
        raise UsageError(f"Run {found.id} has no metric {key!r}; its metrics: {known}.")
    fmt = fmt.lower()
    if fmt == "json":
        _render.dump_json(
            {"run_id": found.id, "key": key, "points": [p.to_dict() for p in points]}
        )
    elif fmt == "csv":
        import csv

        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["step", "value", "timestamp"])
        for p in points:
            writer.writerow([p.step, "" if p.value is None else p.value, p.timestamp])
    else:
        _render.print_metric_history(found, key, points, limit=limit)
