"""Formatting and rendering for the CLI.

Plain formatters (durations, ages, numbers, CSV/JSON) need nothing; the ``print_*`` functions
import rich inside, so importing this module stays cheap. Text from the store (run names,
params, notebook paths, cell sources) is always rendered as literal text, never as rich markup.
"""

from __future__ import annotations

import csv
import json
import math
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

NONE = "—"
DIFF_MARK = "≠"
SPARK_CHARS = "▁▂▃▄▅▆▇█"
STATUS_STYLES = {
    "running": "cyan",
    "finished": "green",
    "ok": "green",
    "failed": "red",
    "error": "red",
    "killed": "yellow",
}
#: columns of ``Run.to_dict()`` that are dicts and get flattened (``params.lr``) in CSV.
FLAT_PREFIXES = ("params", "metrics", "tags")


# -- plain formatters -----------------------------------------------------------------------


def short_id(run_id: str | None, n: int = 8) -> str:
    return (run_id or "")[:n]


def fmt_duration(seconds: float | None) -> str:
    """``0.42s``, ``12.3s``, ``3m 05s``, ``1h 02m``, ``2d 03h``."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return NONE
    s = max(0.0, float(seconds))
    if s < 10:
        return f"{s:.2f}s"
    if s < 60:
        return f"{s:.1f}s"
    m, sec = divmod(int(round(s)), 60)
    if m < 60:
        return f"{m}m {sec:02d}s"
    h, m = divmod(m, 60)
    if h < 24:
        return f"{h}h {m:02d}m"
    d, h = divmod(h, 24)
    return f"{d}d {h:02d}h"


def fmt_age(ts: float | None, now: float | None = None) -> str:
    """How long ago ``ts`` was: ``just now``, ``45s ago``, ``12m ago``, ``3h ago``, ``5d ago``."""
    if ts is None:
        return NONE
    delta = (time.time() if now is None else now) - float(ts)
    if delta < 0:
        return "in the future"
    if delta < 5:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if delta >= size:
            return f"{int(delta // size)}{unit} ago"
    return f"{int(delta)}s ago"


def fmt_time(ts: float | None, seconds: bool = False) -> str:
    """Local wall-clock time of an epoch timestamp."""
    if ts is None:
        return NONE
    return time.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M", time.localtime(ts))


def fmt_started(ts: float | None, now: float | None = None) -> str:
    """Compact local start time plus age: ``14:03 (3h ago)`` today, ``11-25 14:03 (2d ago)`` this
    year, ``2024-11-25 14:03 (400d ago)`` before."""
    if ts is None:
        return NONE
    now = time.time() if now is None else now
    then, today = time.localtime(ts), time.localtime(now)
    if then[:3] == today[:3]:
        fmt = "%H:%M"
    elif then.tm_year == today.tm_year:
        fmt = "%m-%d %H:%M"
    else:
        fmt = "%Y-%m-%d %H:%M"
    return f"{time.strftime(fmt, then)} ({fmt_age(ts, now)})"


def fmt_number(value: Any) -> str:
    """Metric values: 6 significant digits, ints without a decimal point."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.6g}"
    return fmt_value(value)


def fmt_value(value: Any) -> str:
    """Param and tag values: strings as they are, everything else as JSON."""
    if value is None:
        return NONE
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)  # exact: two params that differ must not print the same
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return str(value)


def fmt_size(n: int | None) -> str:
    if n is None:
        return NONE
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{int(size)} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"  # pragma: no cover


def _short_hash(digest: str | None) -> str:
    """``blake3:f2f21c...`` -> ``f2f21c7a9b01``; the algorithm prefix carries no information here."""
    if not digest:
        return NONE
    return digest.rpartition(":")[2][:12]


def first_line(source: str | None, limit: int = 60) -> str:
    """First non-blank line of a cell's source, shortened to ``limit`` characters."""
    for line in (source or "").splitlines():
        if line.strip():
            line = line.rstrip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def sparkline(values: Sequence[float], width: int = 60) -> str:
    """A one-line unicode chart; longer series are averaged into ``width`` buckets."""
    vals = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not vals:
        return ""
    if len(vals) > width:
        buckets = []
        for i in range(width):
            lo, hi = i * len(vals) // width, (i + 1) * len(vals) // width
            chunk = vals[lo : max(hi, lo + 1)]
            buckets.append(sum(chunk) / len(chunk))
        vals = buckets
    lo, hi = min(vals), max(vals)
    if hi == lo:
        return SPARK_CHARS[len(SPARK_CHARS) // 2 - 1] * len(vals)
    top = len(SPARK_CHARS) - 1
    return "".join(SPARK_CHARS[round((v - lo) / (hi - lo) * top)] for v in vals)


def common_metric_keys(runs: Iterable[Any], n: int = 4) -> list[str]:
    """The ``n`` metric keys present in most runs (ties broken alphabetically)."""
    counts: Counter[str] = Counter()
    for run in runs:
        counts.update((run.metrics or {}).keys())
    return [k for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


# -- machine formats ------------------------------------------------------------------------


def _json_safe(obj: Any) -> Any:
    """Replace NaN/inf with None so the output is strict JSON (``jq`` and browsers reject NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, Mapping):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def dump_json(obj: Any, file: IO[str] | None = None) -> None:
    out = file or sys.stdout
    json.dump(_json_safe(obj), out, indent=2, default=str, allow_nan=False)
    out.write("\n")


def flatten_run(d: Mapping[str, Any]) -> dict[str, Any]:
    """One CSV row: scalar fields as they are, ``params``/``metrics``/``tags`` as ``params.lr``..."""
    row: dict[str, Any] = {}
    for key, value in d.items():
        if key in FLAT_PREFIXES and isinstance(value, Mapping):
            for sub, v in value.items():
                row[f"{key}.{sub}"] = v
        elif key == "packages":
            continue
        else:
            row[key] = value
    return row


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def write_csv(run_dicts: Sequence[Mapping[str, Any]], file: IO[str] | None = None) -> None:
    """CSV of runs: the scalar fields in the store's order, then sorted ``params.*``, ``metrics.*``,
    ``tags.*`` columns over all runs (empty where a run lacks the key)."""
    rows = [flatten_run(d) for d in run_dicts]
    scalar: dict[str, None] = {}  # ordered set
    flat: dict[str, set[str]] = {p: set() for p in FLAT_PREFIXES}
    for d, row in zip(run_dicts, rows):
        for key in row:
            if key in d:
                scalar.setdefault(key)
            else:
                flat[key.split(".", 1)[0]].add(key)
    header = list(scalar) + [k for p in FLAT_PREFIXES for k in sorted(flat[p])]
    writer = csv.writer(file or sys.stdout, lineterminator="\n")
    writer.writerow(header or ["id", "name", "status"])
    for row in rows:
        writer.writerow([_csv_cell(row.get(k)) for k in header])


# -- rich rendering -------------------------------------------------------------------------


class _RstripLines:
    """File wrapper that drops the trailing blanks rich pads table lines with."""

    def __init__(self, file: IO[str]) -> None:
        self._file = file
        self._partial = ""

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        if lines:
            self._file.write("".join(line.rstrip(" ") + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        if self._partial:
            self._file.write(self._partial)
            self._partial = ""
        self._file.flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


def make_console(file: IO[str] | None = None) -> Console:
    """A console for ``file`` (stdout by default). Not a terminal: no colour, no wrapping and no
    trailing blanks, so piped output stays plain and greppable; a terminal keeps rich's colours
    and fits the tables to its width."""
    from rich.console import Console

    out = file or sys.stdout
    console = Console(file=out, highlight=False, markup=False, emoji=False)
    if not console.is_terminal:
        console = Console(
            file=_RstripLines(out),  # type: ignore[arg-type]
            highlight=False,
            markup=False,
            emoji=False,
            width=10_000,
            color_system=None,
        )
    return console


def _table(*, title: str | None = None) -> Table:
    from rich import box
    from rich.table import Table

    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        header_style="bold",
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,
    )


def _status(status: str | None) -> Text:
    from rich.text import Text

    return Text(status or NONE, style=STATUS_STYLES.get(status or "", ""))


def _text(value: Any, style: str = "") -> Text:
    from rich.text import Text

    return Text(value if isinstance(value, str) else fmt_value(value), style=style)


def _run_duration(run: Any, now: float) -> Text:
    from rich.text import Text

    if run.duration is not None:
        return Text(fmt_duration(run.duration))
    if run.status == "running" and run.start_time is not None:
        return Text(fmt_duration(now - run.start_time) + "…", style="dim")
    return Text(NONE)


def print_runs_table(
    runs: Sequence[Any],
    metric_keys: Sequence[str],
    console: Console | None = None,
    now: float | None = None,
) -> None:
    """The ``mlnb runs list`` table: one row per run, chosen metric columns at the right."""
    console = console or make_console()
    now = time.time() if now is None else now
    table = _table()
    table.add_column("ID", no_wrap=True, style="dim")
    table.add_column("NAME", overflow="fold", min_width=6)
    table.add_column("STATUS", no_wrap=True)
    table.add_column("NOTEBOOK", overflow="ellipsis", min_width=8)
    table.add_column("STARTED", no_wrap=True)
    table.add_column("DURATION", no_wrap=True, justify="right")
    for key in metric_keys:
        table.add_column(key, justify="right", no_wrap=True)
    for run in runs:
        metrics = run.metrics or {}
        table.add_row(
            short_id(run.id),
            _text(run.name or ""),
            _status(run.status),
            _text(run.notebook or NONE),
            fmt_started(run.start_time, now),
            _run_duration(run, now),
            *[fmt_number(metrics.get(k)) for k in metric_keys],
        )
    console.print(table)


def _section(console: Console, title: str, table: Table | None, empty: str = "none") -> None:
    from rich.text import Text

    console.print()
    if table is None or table.row_count == 0:
        console.print(Text.assemble((title, "bold"), ": ", (empty, "dim")))
    else:
        console.print(Text(title, style="bold"))
        console.print(table)


def _full_time_and_age(ts: float | None, now: float) -> str:
    return NONE if ts is None else f"{fmt_time(ts, seconds=True)} ({fmt_age(ts, now)})"


def _short_cell_id(cell_id: str | None) -> str:
    """Readable cell ids (``train``, nbformat's 8 hex digits) whole; long uuids cut to 8."""
    if not cell_id:
        return NONE
    return cell_id if len(cell_id) <= 12 else cell_id[:8] + "…"


def print_run_detail(detail: Mapping[str, Any], console: Console | None = None) -> None:
    """The ``mlnb runs show`` page: header, params, tags, metrics summary, cells, artifacts."""
    from rich.table import Table
    from rich.text import Text

    console = console or make_console()
    now = time.time()

    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold", no_wrap=True)
    head.add_column()
    git = detail.get("git_commit")
    git_text = NONE if not git else f"{git[:12]}{' (dirty)' if detail.get('git_dirty') else ''}"
    user, host = detail.get("user"), detail.get("host")
    who = "@".join(x for x in (user, host) if x) or NONE
    duration = detail.get("duration")
    if duration is None and detail.get("status") == "running" and detail.get("start_time"):
        dur_text = fmt_duration(now - detail["start_time"]) + "… (running)"
    else:
        dur_text = fmt_duration(duration)
    fields: list[tuple[str, Any]] = [
        ("id", detail.get("id")),
        ("name", detail.get("name") or NONE),
        ("status", _status(detail.get("status"))),
        ("experiment", detail.get("experiment") or NONE),
        ("notebook", detail.get("notebook") or NONE),
        ("started", _full_time_and_age(detail.get("start_time"), now)),
        ("ended", fmt_time(detail.get("end_time"), seconds=True)),
        ("duration", dur_text),
        ("git", git_text),
        ("user", who),
        ("python", detail.get("python") or NONE),
    ]
    if detail.get("parent_id"):
        fields.append(("parent", detail["parent_id"]))
    packages = detail.get("packages") or {}
    if packages:
        fields.append(("packages", f"{len(packages)} recorded (see --format json)"))
    for label, value in fields:
        head.add_row(label, value if isinstance(value, Text) else _text(value))
    console.print(head)

    params = _table()
    params.add_column("KEY", style="bold")
    params.add_column("VALUE", overflow="fold")
    for key, value in sorted((detail.get("params") or {}).items()):
        params.add_row(_text(key), _text(value))
    _section(console, "Params", params)

    tags = _table()
    tags.add_column("KEY", style="bold")
    tags.add_column("VALUE", overflow="fold")
    for key, value in sorted((detail.get("tags") or {}).items()):
        tags.add_row(_text(key), _text(value))
    _section(console, "Tags", tags)

    summary = detail.get("metrics_summary") or {}
    if not summary and detail.get("metrics"):
        summary = {k: {"last": v} for k, v in detail["metrics"].items()}
    metrics = _table()
    metrics.add_column("KEY", style="bold")
    for col in ("LAST", "MIN", "MAX", "COUNT", "STEP"):
        metrics.add_column(col, justify="right", no_wrap=True)
    for key, s in sorted(summary.items()):
        metrics.add_row(
            _text(key),
            fmt_number(s.get("last")),
            fmt_number(s.get("min")),
            fmt_number(s.get("max")),
            fmt_number(s.get("count")),
            fmt_number(s.get("step")),
        )
    _section(console, "Metrics", metrics)

    cells = detail.get("cell_executions") or []
    ctable = _table()
    ctable.add_column("#", justify="right", no_wrap=True)
    ctable.add_column("CELL", no_wrap=True, style="dim")
    ctable.add_column("STATUS", no_wrap=True)
    ctable.add_column("SOURCE", overflow="ellipsis")
    ctable.add_column("DURATION", justify="right", no_wrap=True)
    ctable.add_column("LOGGED", overflow="fold")
    for cell in cells:
        status = _status(cell.get("status"))
        if cell.get("status") == "error" and cell.get("error_name"):
            status.append(f" {cell['error_name']}", style="red")
        logged = ", ".join(
            [f"{k}={fmt_number(v)}" for k, v in sorted((cell.get("metrics") or {}).items())]
            + [f"{k}={fmt_value(v)}" for k, v in sorted((cell.get("params") or {}).items())]
        )
        count = cell.get("execution_count")
        ctable.add_row(
            str(count) if count is not None else NONE,
            _short_cell_id(cell.get("cell_id")),
            status,
            _text(first_line(cell.get("source"))),
            fmt_duration(cell.get("duration")),
            _text(logged),
        )
    _section(console, f"Cell executions ({len(cells)})", ctable)

    artifacts = detail.get("artifacts") or []
    atable = _table()
    atable.add_column("PATH", overflow="fold")
    atable.add_column("SIZE", justify="right", no_wrap=True)
    atable.add_column("HASH", no_wrap=True, style="dim")
    for art in artifacts:
        atable.add_row(
            _text(art.get("path") or NONE),
            fmt_size(art.get("size")),
            _short_hash(art.get("hash")),
        )
    _section(console, f"Artifacts ({len(artifacts)})", atable)


def compare_rows(
    comparison: Mapping[str, Any], only_diff: bool = False
) -> list[tuple[str, str, bool, list[Any]]]:
    """Rows of a comparison as ``(section, key, differs, values)``, params first, then metrics."""
    rows = []
    for section in ("params", "metrics"):
        for key, entry in sorted((comparison.get(section) or {}).items()):
            differs = bool(entry.get("differs"))
            if only_diff and not differs:
                continue
            rows.append((section, key, differs, list(entry.get("values") or [])))
    return rows


def print_compare(
    comparison: Mapping[str, Any], only_diff: bool = False, console: Console | None = None
) -> None:
    """Params and final metrics side by side; differing rows marked ``≠`` and highlighted."""
    from rich.text import Text

    console = console or make_console()
    runs = comparison.get("runs") or []
    table = _table()
    table.add_column(DIFF_MARK, no_wrap=True, justify="center", header_style="bold yellow")
    table.add_column("KEY", overflow="fold")
    for run in runs:
        header = Text(short_id(run.get("id")), style="bold")
        if run.get("name"):
            header.append("\n" + str(run["name"]), style="")
        table.add_column(header, overflow="fold", justify="left")
    rows = compare_rows(comparison, only_diff)
    last_section = None
    for section, key, differs, values in rows:
        if last_section is not None and section != last_section:
            table.add_section()
        last_section = section
        style = "bold yellow" if differs else ""
        texts = [(fmt_number if section == "metrics" else fmt_value)(v) for v in values]
        if differs and len(set(texts)) < len({repr(v) for v in values}):
            texts = [NONE if v is None else repr(v) for v in values]  # rounding hid the difference
        cells = [Text(t, style=style) for t in texts]
        cells += [Text(NONE, style="dim")] * (len(runs) - len(cells))
        table.add_row(
            Text(DIFF_MARK if differs else "", style="bold yellow"),
            Text(f"{section}.{key}", style=style),
            *cells,
        )
    if not rows:
        what = "No differences" if only_diff else "Nothing to compare"
        console.print(Text(f"{what} in params or metrics across {len(runs)} runs.", style="dim"))
        return
    console.print(table)
    n_diff = sum(1 for r in rows if r[2])
    console.print(
        Text(f"{n_diff} of {len(rows)} rows differ ({DIFF_MARK}).", style="dim"),
    )


def print_metric_history(
    run: Any,
    key: str,
    points: Sequence[Any],
    limit: int = 20,
    console: Console | None = None,
) -> None:
    """A metric's history: a sparkline with min/max/last, then the last ``limit`` points."""
    from rich.text import Text

    console = console or make_console()
    values = [p.value for p in points]
    title = Text.assemble((key, "bold"), f"  run {short_id(run.id)}")
    if run.name:
        title.append(f" ({run.name})")
    console.print(title)
    if not points:
        console.print(Text("no points logged", style="dim"))
        return
    finite = [v for v in values if v is not None and math.isfinite(v)]
    stats = f"last {fmt_number(values[-1])}"
    if finite:
        stats += f"  min {fmt_number(min(finite))}  max {fmt_number(max(finite))}"
    stats += f"  {len(points)} point{'s' if len(points) != 1 else ''}"
    console.print(Text(sparkline(values), style="cyan"))
    console.print(Text(stats, style="dim"))
    shown = points if limit <= 0 else points[-limit:]
    table = _table()
    table.add_column("STEP", justify="right", no_wrap=True)
    table.add_column("VALUE", justify="right", no_wrap=True)
    table.add_column("TIME", no_wrap=True)
    for p in shown:
        table.add_row(fmt_number(p.step), fmt_number(p.value), fmt_time(p.timestamp, seconds=True))
    console.print()
    console.print(table)
    if len(shown) < len(points):
        console.print(
            Text(f"… {len(points) - len(shown)} earlier points (use --limit 0 for all)", style="dim")
        )
