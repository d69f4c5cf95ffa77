"""The stage graph: an edge A → B when B reads (a path inside) what A writes.

Two stages writing one out (or one writing inside another's out folder) and cycles are refused
with the stages named; the order is topological and, among independent stages, the file's order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from mlnb.pipeline._errors import PipelineGraphError, StageNotFoundError
from mlnb.pipeline._spec import PipelineSpec

__all__ = ["Dag", "build_dag"]


def _overlaps(a: str, b: str) -> bool:
    """Whether one path is the other or inside it (posix, normalised)."""
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


@dataclass
class Dag:
    spec: PipelineSpec
    upstream: dict[str, list[str]]  # stage -> stages it depends on (file order)
    downstream: dict[str, list[str]]
    order: list[str]  # topological
    producers: dict[str, str]  # out path -> stage

    def producer_of(self, path: str) -> str | None:
        for out, stage in self.producers.items():
            if _overlaps(out, path):
                return stage
        return None

    def select(self, targets: Iterable[str] | None, with_upstream: bool = True) -> list[str]:
        """The stages to consider for ``targets`` (names or foreach/matrix group names), with
        everything upstream of them, in topological order. None/empty: all."""
        targets = list(targets or [])
        if not targets:
            return list(self.order)
        groups = self.spec.groups()
        wanted: set[str] = set()
        for t in targets:
            if t in self.spec.stages:
                wanted.add(t)
            elif t in groups:
                wanted.update(groups[t])
            else:
                raise StageNotFoundError(t, list(groups) + [n for n in self.spec.stages if n not in groups])
        if with_upstream:
            todo = list(wanted)
            while todo:
                for up in self.upstream[todo.pop()]:
                    if up not in wanted:
                        wanted.add(up)
                        todo.append(up)
        return [s for s in self.order if s in wanted]

    def to_dict(self) -> dict[str, Any]:
        return {
            "stages": [
                {**self.spec.stages[n].to_dict(), "upstream": self.upstream[n], "downstream": self.downstream[n]}
                for n in self.order
            ],
            "edges": [[u, n] for n in self.order for u in self.upstream[n]],
        }


def build_dag(spec: PipelineSpec) -> Dag:
    stages = spec.stages
    names = list(stages)
    producers: dict[str, str] = {}
    for name in names:
        for out in stages[name].all_outs:
            for other_out, other in producers.items():
                if _overlaps(out, other_out):
                    if other == name:
                        continue
                    same = "the same out" if out == other_out else f"overlapping outs ({other_out!r} and {out!r})"
                    raise PipelineGraphError(
                        f"Stages {other!r} and {name!r} both write {out!r} ({same}); an out must have "
                        "exactly one producing stage. Give one of them another path.",
                        [other, name],
                    )
            producers[out] = name
    upstream: dict[str, list[str]] = {n: [] for n in names}
    downstream: dict[str, list[str]] = {n: [] for n in names}
    for name in names:
        for dep in stages[name].deps:
            for out, producer in producers.items():
                if producer != name and _overlaps(out, dep) and producer not in upstream[name]:
                    upstream[name].append(producer)
                    downstream[producer].append(name)
    # sort edges by file order for stable output
    index = {n: i for i, n in enumerate(names)}
    for d in (upstream, downstream):
        for n in d:
            d[n].sort(key=index.__getitem__)
    order = _toposort(names, upstream)
    return Dag(spec=spec, upstream=upstream, downstream=downstream, order=order, producers=producers)


def _toposort(names: list[str], upstream: dict[str, list[str]]) -> list[str]:
    state: dict[str, int] = {}  # 1 visiting, 2 done
    order: list[str] = []
    for start in names:
        if state.get(start):
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = []
        while stack:
            node, i = stack.pop()
            if i == 0:
                if state.get(node) == 2:
                    continue
                state[node] = 1
                path.append(node)
            ups = upstream[node]
            if i < len(ups):
                stack.append((node, i + 1))
                nxt = ups[i]
                st = state.get(nxt)
                if st == 1:
                    cycle = path[path.index(nxt):] + [nxt]
                    cycle.reverse()  # in data-flow direction
                    raise PipelineGraphError(
                        "The stages form a cycle: " + " → ".join(cycle)
                        + ". A stage cannot (indirectly) read its own outs; break the loop.",
                        cycle[:-1],
                    )
                if st != 2:
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                path.pop()
                order.append(node)
    return order
