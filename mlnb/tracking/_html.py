"""An HTML table of runs for notebooks; every value is escaped (run data is untrusted text)."""

from __future__ import annotations

import html
import time
from typing import Iterable

from mlnb.tracking._models import Run


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else str(v)


def runs_table_html(runs: Iterable[Run], max_metrics: int = 6) -> str:
    runs = list(runs)
    if not runs:
        return "<p><em>No runs match.</em></p>"
    keys: dict[str, int] = {}
    for r in runs:
        for k in r.metrics:
            keys[k] = keys.get(k, 0) + 1
    metric_cols = sorted(keys, key=lambda k: (-keys[k], k))[:max_metrics]
    e = html.escape
    head = ["id", "name", "status", "notebook", "started", "duration"] + [e(k) for k in metric_cols]
    out = ['<table class="mlnb-runs"><thead><tr>']
    out += [f"<th>{h}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for r in runs:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.start_time))
        dur = f"{r.duration:.1f}s" if r.duration is not None else ""
        cells = [r.id[:8], r.name, r.status, r.notebook, started, dur]
        cells += [r.metrics.get(k) for k in metric_cols]
        out.append("<tr>" + "".join(f"<td>{e(_fmt(c))}</td>" for c in cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)
