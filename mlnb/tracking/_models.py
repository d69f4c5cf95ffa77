"""Read-side value objects: Run, RunList, MetricPoint."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Run", "RunList", "MetricPoint"]


@dataclass(frozen=True)
class MetricPoint:
    key: str
    value: float | None
    step: int
    timestamp: float
    cell_execution_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "value": self.value, "timestamp": self.timestamp}


@dataclass(frozen=True)
class Run:
    """A stored run, with its params, tags and the latest value of each metric."""

    id: str
    name: str | None
    experiment: str
    status: str
    notebook: str | None
    git_commit: str | None
    git_dirty: bool | None
    user: str | None
    host: str | None
    python: str | None
    packages: dict[str, str]
    start_time: float
    end_time: float | None
    parent_id: str | None
    source: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)

    @property
    def duration(self) -> float | None:
        if self.end_time is None:
            return None
        return self.end_time - self.start_time

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "experiment": self.experiment,
            "status": self.status,
            "notebook": self.notebook,
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "user": self.user,
            "host": self.host,
            "python": self.python,
            "start_time": self.start_time,
            "end_time": self.end_time,
            "duration": self.duration,
            "parent_id": self.parent_id,
            "source": self.source,
            "params": dict(self.params),
            "tags": dict(self.tags),
            "metrics": dict(self.metrics),
        }

    @staticmethod
    def _from_row(row: tuple, params: dict, tags: dict, metrics: dict) -> Run:
        (rid, experiment, name, status, notebook, git_commit, git_dirty, user, host, _pid, python,
         packages, start, end, parent, source) = row
        try:
            pk = json.loads(packages) if packages else {}
        except ValueError:
            pk = {}
        return Run(
            id=rid, name=name, experiment=experiment, status=status, notebook=notebook,
            git_commit=git_commit, git_dirty=None if git_dirty is None else bool(git_dirty),
            user=user, host=host, python=python, packages=pk, start_time=start, end_time=end,
            parent_id=parent, source=source, params=params, tags=tags, metrics=metrics,
        )


class RunList(list):
    """A list of :class:`Run` that converts to dicts or a pandas DataFrame."""

    def to_dicts(self) -> list[dict[str, Any]]:
        return [r.to_dict() for r in self]

    def to_pandas(self):
        """One row per run; params, metrics and tags flattened to ``params.x`` columns."""
        try:
            import pandas as pd
        except ModuleNotFoundError as e:  # pragma: no cover - depends on install
            from mlnb.errors import UsageError

            raise UsageError("to_pandas() needs pandas: pip install pandas") from e
        rows = []
        for r in self:
            d = r.to_dict()
            flat = {k: v for k, v in d.items() if k not in ("params", "tags", "metrics")}
            for group in ("params", "metrics", "tags"):
                for k, v in d[group].items():
                    flat[f"{group}.{k}"] = v
            rows.append(flat)
        df = pd.DataFrame(rows)
        if not df.empty:
            for col in ("start_time", "end_time"):
                df[col] = pd.to_datetime(df[col], unit="s", utc=True)
        return df

    def _repr_html_(self) -> str:
        from mlnb.tracking._html import runs_table_html

        return runs_table_html(self)
