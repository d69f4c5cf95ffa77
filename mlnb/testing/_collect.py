"""Notebooks as pytest items (``pytest --mlnb``): one item per notebook and parameter set, or,
with ``--mlnb-cells``, one item per code cell sharing the notebook's kernel.

Parameter sets come from the notebook's metadata (``metadata.mlnb.test.params: [{...}, ...]``)
and from the stages of ``mlnb.yaml`` that execute this notebook (a foreach/matrix stage gives one
set per expansion, run in the stage's working directory); each is one test id such as
``train.ipynb[lr=0.1]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import pytest

from mlnb.errors import UsageError
from mlnb.testing._engine import NotebookSession, is_code, is_skipped
from mlnb.testing._report import format_cell_failure

__all__ = ["NotebookFile", "NotebookItem", "NotebookCells", "CellItem", "order_items"]


@dataclass
class ParamSet:
    params: dict[str, Any]
    cwd: Path | None = None
    timeout: float | None = None  # a stage's per-cell timeout
    stage: Any = None  # mlnb.pipeline Stage
    root: Path | None = None  # the pipeline's root
    label: str = ""


class OutputMismatch(Exception):
    """Fresh outputs differ from the stored ones (``--mlnb-compare-outputs``)."""


# --------------------------------------------------------------------------------------------
# Parameter sets
# --------------------------------------------------------------------------------------------

_specs: dict[Path, Any] = {}


def _find_spec_root(start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        if (folder / "mlnb.yaml").is_file():
            return folder
        if (folder / ".git").exists():
            return None
    return None


def _stage_sets(path: Path) -> list[ParamSet]:
    root = _find_spec_root(path.parent)
    if root is None:
        return []
    if root not in _specs:
        from mlnb.pipeline import load_spec

        _specs[root] = load_spec(root)  # PipelineSpecError: reported as this file's collection error
    spec = _specs[root]
    out = []
    for stage in spec.stages.values():
        if (root / stage.notebook).resolve() == path.resolve():
            out.append(ParamSet(dict(stage.params), cwd=root / stage.cwd, timeout=stage.timeout,
                                stage=stage, root=root))
    return out


def _format_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return repr(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _label(params: dict[str, Any], keys: Iterable[str]) -> str:
    return ",".join(f"{k}={_format_value(params[k])}" for k in keys if k in params)


def param_sets(path: Path, nb: dict[str, Any]) -> list[ParamSet]:
    """The notebook's parameter sets, each with its test-id label (``""``: just the file name)."""
    test_meta = ((nb.get("metadata") or {}).get("mlnb") or {}).get("test") or {}
    sets: list[ParamSet] = []
    declared = test_meta.get("params")
    stage_sets = _stage_sets(path)
    cwd = stage_sets[0].cwd if stage_sets else None
    if declared is not None:
        if not isinstance(declared, list) or not all(isinstance(d, dict) for d in declared):
            raise UsageError(
                f"{path.name}: metadata.mlnb.test.params must be a list of mappings "
                "(one parameter set per test), e.g. [{\"lr\": 0.1}, {\"lr\": 0.01}]"
            )
        sets += [ParamSet(dict(d), cwd=cwd) for d in declared]
    sets += stage_sets
    if not sets:
        return [ParamSet({})]
    unique: list[ParamSet] = []
    seen: set[str] = set()
    for s in sets:
        key = json.dumps([s.params, str(s.cwd)], sort_keys=True, default=str)
        if key not in seen:
            seen.add(key)
            unique.append(s)
    if len(unique) == 1:
        keys: list[str] = list(unique[0].params)
    else:
        all_keys: list[str] = []
        for s in unique:
            all_keys += [k for k in s.params if k not in all_keys]
        keys = [k for k in all_keys if len({json.dumps(s.params.get(k, "<unset>"), sort_keys=True, default=str) for s in unique}) > 1]
    labels: dict[str, int] = {}
    for s in unique:
        s.label = _label(s.params, keys)
        if not s.label and s.stage is not None and len(unique) > 1:
            s.label = s.stage.name
        n = labels.get(s.label, 0)
        labels[s.label] = n + 1
        if n:
            s.label = f"{s.label}-{n}" if s.label else str(n)
    return unique


# --------------------------------------------------------------------------------------------
# Collectors and items
# --------------------------------------------------------------------------------------------


class _Options:
    def __init__(self, config: pytest.Config) -> None:
        self.cells = bool(config.getoption("mlnb_cells"))
        self.timeout = config.getoption("mlnb_timeout")
        self.compare = bool(config.getoption("mlnb_compare_outputs"))
        self.tolerance = float(config.getoption("mlnb_float_tolerance"))
        self.track = bool(config.getoption("mlnb_track"))


def _options(config: pytest.Config) -> _Options:
    opts = getattr(config, "_mlnb_options", None)
    if opts is None:
        opts = _Options(config)
        config._mlnb_options = opts  # type: ignore[attr-defined]
    return opts


class NotebookFile(pytest.File):
    """A ``.ipynb`` file: one item per parameter set (a collector of cells with --mlnb-cells)."""

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        from mlnb.errors import MlnbError

        if isinstance(excinfo.value, MlnbError):  # unreadable notebook, bad mlnb.yaml, bad metadata
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def collect(self) -> Iterable[pytest.Item | pytest.Collector]:
        from mlnb.execute._notebook import read_notebook

        nb = read_notebook(self.path)
        test_meta = ((nb.get("metadata") or {}).get("mlnb") or {}).get("test") or {}
        skip = test_meta.get("skip")
        timeout = test_meta.get("timeout")
        opts = _options(self.config)
        for ps in param_sets(Path(self.path), nb):
            name = f"{self.path.name}[{ps.label}]" if ps.label else self.path.name
            if opts.cells:
                node: Any = NotebookCells.from_parent(self, name=name, pset=ps, nb_timeout=timeout)
            else:
                node = NotebookItem.from_parent(self, name=name, pset=ps, nb_timeout=timeout)
            if skip:
                node.add_marker(pytest.mark.skip(reason=skip if isinstance(skip, str) else "metadata mlnb.test.skip"))
            yield node


class _NotebookNode:
    """What notebook items and cell collectors share: the parameter set and a session factory."""

    pset: ParamSet
    nb_timeout: Any
    name: str
    path: Path
    config: pytest.Config

    def _timeout(self) -> float | None:
        opts = _options(self.config)
        for t in (self.nb_timeout, opts.timeout, self.pset.timeout):
            if t is not None and float(t) > 0:
                return float(t)
        return None

    def new_session(self) -> NotebookSession:
        opts = _options(self.config)
        return NotebookSession(
            self.path, self.pset.params, cwd=self.pset.cwd, timeout=self._timeout(), track=opts.track,
            display=self.display, run_name=self.name,
            tags={"mlnb.test": self.nodeid} if opts.track else None,  # type: ignore[attr-defined]
        )

    @property
    def display(self) -> str:
        rel = self.nodeid.split("::")[0]  # type: ignore[attr-defined]
        return f"{rel}[{self.pset.label}]" if self.pset.label else rel


def _failure_text(item: pytest.Item, excinfo: pytest.ExceptionInfo[BaseException], session: NotebookSession | None) -> str | None:
    from mlnb.execute._errors import CellTimeoutError, ExecutionError

    err = excinfo.value
    if isinstance(err, ExecutionError):
        cell = None
        if session is not None and err.cell_index is not None and err.cell_index < len(session.cells):
            cell = session.cells[err.cell_index]
        hint = ""
        if isinstance(err, CellTimeoutError):
            hint = "(per-cell timeout: --mlnb-timeout SECONDS, or metadata mlnb.test.timeout)"
        return format_cell_failure(err, cell, hint)
    if isinstance(err, (UsageError, OutputMismatch)):
        return str(err)
    return None


def _compare(session: NotebookSession, indices: Iterable[int], rel: float) -> None:
    from mlnb.testing._compare import compare_cell, should_compare
    from mlnb.testing._report import numbered

    problems = []
    for i in indices:
        cell = session.cells[i]
        stored, count = session.stored.get(cell.get("id"), ([], None))
        if not should_compare(cell, stored, count):
            continue
        diff = compare_cell(stored, cell.get("outputs", []), rel)
        if diff is not None:
            problems.append(
                f"cell {i + 1} (id {cell.get('id')!r}):\n{numbered(str(cell.get('source', '')), 8)}\n{diff}"
            )
    if problems:
        raise OutputMismatch(
            f"{session.display}: outputs differ from the stored ones in {len(problems)} cell(s) "
            "(--mlnb-compare-outputs; tag a cell mlnb-ignore-output to skip it)\n\n" + "\n\n".join(problems)
        )


class NotebookItem(_NotebookNode, pytest.Item):
    """Run a whole notebook (one parameter set) in a fresh kernel from the warm pool."""

    def __init__(self, *, pset: ParamSet, nb_timeout: Any = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.pset = pset
        self.nb_timeout = nb_timeout
        self.nb_session: NotebookSession | None = None

    def runtest(self) -> None:
        opts = _options(self.config)
        session = self.nb_session = self.new_session()
        try:
            session.execute_cells(session.code_cells)
            if opts.compare:
                _compare(session, session.code_cells, opts.tolerance)
        finally:
            session.close()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        text = _failure_text(self, excinfo, self.nb_session)
        return text if text is not None else super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, 0, f"{self.display} (notebook)"


class NotebookCells(_NotebookNode, pytest.Collector):
    """A notebook (one parameter set) whose code cells are items, run in order in one kernel."""

    def __init__(self, *, pset: ParamSet, nb_timeout: Any = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.pset = pset
        self.nb_timeout = nb_timeout
        self._session: NotebookSession | None = None
        self.failed: str | None = None

    def nb_session(self) -> NotebookSession:
        if self._session is None or self._session.closed:
            self._session = self.new_session()
        return self._session

    def collect(self) -> Iterable[pytest.Item]:
        session = self.nb_session()  # prepared (parameters checked and injected), no kernel yet
        for i, cell in enumerate(session.cells):
            if not is_code(cell):
                continue
            item = CellItem.from_parent(self, name=f"cell_{i + 1}", index=i)
            if is_skipped(cell):
                item.add_marker(pytest.mark.skip(reason="cell tagged skip-test"))
            yield item

    def teardown(self) -> None:
        if self._session is not None:
            self._session.close()


class CellItem(pytest.Item):
    """One code cell; earlier cells not yet run in this process run first, as its setup."""

    def __init__(self, *, index: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.index = index

    @property
    def notebook(self) -> NotebookCells:
        return self.parent  # type: ignore[return-value]

    def runtest(self) -> None:
        from mlnb.execute._errors import ExecutionError

        nb = self.notebook
        if nb.failed is not None:
            pytest.skip(f"an earlier cell failed ({nb.failed})")
        session = nb.nb_session()
        pending = [i for i in session.code_cells if i < self.index and i not in session.executed]
        try:
            session.execute_cells([*pending, self.index])
        except ExecutionError as e:
            nb.failed = f"cell {e.cell_index + 1}" if e.cell_index is not None else "start-up"
            raise
        opts = _options(self.config)
        if opts.compare:
            _compare(session, [self.index], opts.tolerance)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        text = _failure_text(self, excinfo, self.notebook._session)
        return text if text is not None else super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        session = self.notebook._session
        first = ""
        if session is not None:
            from mlnb.execute._progress import first_line

            first = first_line(str(session.cells[self.index].get("source", "")), 60)
        return self.path, 0, f"{self.notebook.display} {self.name}: {first}"


# --------------------------------------------------------------------------------------------
# Order: a pipeline's producers before its consumers
# --------------------------------------------------------------------------------------------


def _stage_of(item: pytest.Item) -> tuple[Path | None, Any]:
    node: Any = item
    while node is not None and not hasattr(node, "pset"):
        node = node.parent
    if node is None:
        return None, None
    return node.pset.root, node.pset.stage


def order_items(items: list[pytest.Item]) -> None:
    """Within each ``mlnb.yaml`` pipeline, items of a stage run after those of the stages whose
    outs it depends on (``pipeline/prepare.ipynb`` before ``pipeline/evaluate.ipynb``)."""
    positions: dict[Path, list[int]] = {}
    for i, item in enumerate(items):
        root, stage = _stage_of(item)
        if stage is not None and root is not None:
            positions.setdefault(root, []).append(i)
    for root in list(positions):
        idxs = [i for i, item in enumerate(items) if _stage_of(item)[0] == root and _stage_of(item)[1] is not None]
        if len(idxs) < 2:
            continue
        spec = _specs.get(root)
        if spec is None:
            continue
        producers = {out: s.name for s in spec.stages.values() for out in s.all_outs}
        depth: dict[str, int] = {}

        def level(name: str, trail: tuple[str, ...] = ()) -> int:
            if name in depth:
                return depth[name]
            if name in trail:  # a cycle is mlnb.yaml's problem, reported by mlnb status/run
                return 0
            deps = [producers[d] for d in spec.stages[name].deps if d in producers]
            depth[name] = 1 + max((level(d, trail + (name,)) for d in deps), default=-1)
            return depth[name]

        chosen = [items[i] for i in idxs]
        ranked = [item for _, item in sorted(
            enumerate(chosen), key=lambda p: (level(_stage_of(p[1])[1].name), p[0])
        )]
        if ranked == chosen:
            continue
        # the pipeline's items as one block where its first item was, producers first
        first = idxs[0]
        taken = set(idxs)
        rest = [item for i, item in enumerate(items) if i not in taken]
        items[:] = rest[:first] + ranked + rest[first:]


# --------------------------------------------------------------------------------------------
# xdist: a pipeline's notebooks on one worker
# --------------------------------------------------------------------------------------------


def pipeline_group(rootdir: Path, nodeid: str) -> str | None:
    """``pipeline:<root>`` for a test of a notebook some stage of an mlnb.yaml executes."""
    file = nodeid.split("::", 1)[0]
    if not file.endswith(".ipynb"):
        return None
    path = (rootdir / file).resolve()
    try:
        sets = _stage_sets(path)
    except Exception:  # noqa: BLE001 - a broken mlnb.yaml is reported by collection
        return None
    return f"pipeline:{sets[0].root}" if sets else None


def make_scheduler(config: pytest.Config, log: Any) -> Any:
    """xdist's scope scheduling where a scope is a pipeline, or else a single test."""
    from xdist.scheduler import LoadScopeScheduling

    rootdir = Path(str(config.rootpath))
    groups: dict[str, str] = {}

    class PipelineScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            if nodeid not in groups:
                groups[nodeid] = pipeline_group(rootdir, nodeid) or nodeid
            return groups[nodeid]

    return PipelineScheduling(config, log)
