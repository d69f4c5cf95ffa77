"""``mlnb status``: every stage compared with ``mlnb.lock``, stale ones explained in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from mlnb.errors import UsageError
from mlnb.pipeline._dag import Dag, build_dag
from mlnb.pipeline._lockfile import read_lock
from mlnb.pipeline._spec import load_spec
from mlnb.pipeline._state import StageState, stage_state

if TYPE_CHECKING:
    from mlnb.project import Project

__all__ = ["StageStatus", "pipeline_status", "load_pipeline"]


@dataclass
class StageStatus:
    """``status``: ``fresh``; ``stale`` (reasons say why); ``upstream`` (itself unchanged, but a
    stage it reads from is stale, so it re-runs if that stage's outs change); ``error`` (cannot
    be checked, e.g. its notebook is missing)."""

    name: str
    status: str
    reasons: list[str] = field(default_factory=list)
    notebook: str = ""
    group: str | None = None
    upstream: list[str] = field(default_factory=list)
    downstream: list[str] = field(default_factory=list)
    deps: list[str] = field(default_factory=list)
    outs: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    run_id: str | None = None
    last_run: str | None = None
    duration: float | None = None
    fingerprint: str | None = None
    state: StageState | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "reasons": self.reasons,
            "notebook": self.notebook,
            "group": self.group,
            "upstream": self.upstream,
            "downstream": self.downstream,
            "deps": self.deps,
            "outs": self.outs,
            "metrics": self.metrics,
            "params": self.params,
            "run_id": self.run_id,
            "last_run": self.last_run,
            "duration": self.duration,
            "fingerprint": self.fingerprint,
        }


def load_pipeline(project: Project) -> Dag:
    return build_dag(load_spec(project.root))


def pipeline_status(project: Project, targets: Iterable[str] | None = None,
                    dag: Dag | None = None) -> list[StageStatus]:
    """The status of the selected stages (default all), in topological order."""
    dag = dag or load_pipeline(project)
    names = dag.select(targets)
    locked = (read_lock(project).get("stages") or {})
    if not isinstance(locked, dict):
        locked = {}
    out: dict[str, StageStatus] = {}
    for name in names:
        stage = dag.spec.stages[name]
        entry = locked.get(name) if isinstance(locked.get(name), dict) else None
        s = StageStatus(
            name=name, status="fresh", notebook=stage.notebook, group=stage.group,
            upstream=list(dag.upstream[name]), downstream=list(dag.downstream[name]),
            deps=list(stage.deps), outs=list(stage.outs), metrics=list(stage.metrics),
            params=dict(stage.params),
            run_id=(entry or {}).get("run_id"), last_run=(entry or {}).get("time"),
            duration=(entry or {}).get("duration"),
        )
        try:
            st = stage_state(stage, project, entry)
        except UsageError as e:
            s.status, s.reasons = "error", [str(e)]
            out[name] = s
            continue
        s.state = st
        s.fingerprint = st.fingerprint
        # a dep that an upstream stage will (re)create is not "missing": it waits for it
        waiting = [u for u in dag.upstream[name] if out.get(u) and out[u].status != "fresh"]
        reasons = list(st.reasons)
        if waiting:
            produced = [d for d in st.missing_deps if dag.producer_of(d) in waiting]
            reasons = [r for r in reasons if not any(r == f"dep {d} is missing" for d in produced)]
        if reasons:
            s.status, s.reasons = "stale", reasons
        elif waiting:
            s.status = "upstream"
            s.reasons = [
                f"upstream {u} is {out[u].status if out[u].status != 'upstream' else 'waiting'}; "
                "re-runs only if its outs change"
                for u in waiting
            ]
        out[name] = s
    return [out[n] for n in names]
