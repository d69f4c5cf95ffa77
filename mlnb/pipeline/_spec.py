"""``mlnb.yaml``: parse, validate (every problem with its line), expand foreach/matrix, resolve params.

The file is composed to YAML nodes first so each value keeps its line; the checks then report
``mlnb.yaml:12: stage 'train': deps must be a list of paths`` instead of a bare KeyError.
Nothing heavy is imported here (no nbformat): ``mlnb status`` goes through this module.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlnb.pipeline._errors import PipelineSpecError

__all__ = ["Stage", "PipelineSpec", "load_spec", "parse_spec", "SPEC_NAME"]

SPEC_NAME = "mlnb.yaml"
DEFAULT_PARAMS_FILE = "params.yaml"

_STAGE_KEYS = {
    "notebook", "params", "deps", "outs", "metrics", "foreach", "matrix", "timeout", "kernel",
    "resources", "cwd", "desc",
}
_TOP_KEYS = {"stages", "params", "vars"}
_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\Z")
_VAR_RE = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_-]+)*)\s*\}")


@dataclass
class Stage:
    """One executable stage (after foreach/matrix expansion). Paths are posix, relative to the root."""

    name: str
    notebook: str
    params: dict[str, Any] = field(default_factory=dict)
    param_sources: dict[str, str] = field(default_factory=dict)  # name -> "inline" | "file:key"
    deps: list[str] = field(default_factory=list)
    outs: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    timeout: float | None = None
    kernel: str | None = None
    resources: dict[str, float] = field(default_factory=dict)
    cwd: str = "."
    desc: str | None = None
    group: str | None = None  # the stage name before expansion (foreach/matrix), else None
    line: int = 0

    @property
    def base(self) -> str:
        return self.group or self.name

    @property
    def all_outs(self) -> list[str]:
        return self.outs + self.metrics

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "group": self.group,
            "notebook": self.notebook,
            "params": self.params,
            "deps": self.deps,
            "outs": self.outs,
            "metrics": self.metrics,
            "timeout": self.timeout,
            "kernel": self.kernel,
            "resources": self.resources,
            "cwd": self.cwd,
            "desc": self.desc,
            "line": self.line,
        }


@dataclass
class PipelineSpec:
    path: Path
    root: Path
    stages: dict[str, Stage]  # in file order

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for s in self.stages.values():
            out.setdefault(s.base, []).append(s.name)
        return out


# ----------------------------------------------------------------------------------------------
# Reading the file with its lines
# ----------------------------------------------------------------------------------------------


class _Doc:
    """The constructed document plus the line of every value, keyed by its path of keys/indexes."""

    def __init__(self, data: Any, lines: dict[tuple[Any, ...], int]) -> None:
        self.data = data
        self.lines = lines

    def line(self, *path: Any) -> int:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), 0)


def _compose(text: str, display: str) -> _Doc:
    import yaml

    loader_cls = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_cls(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return _Doc(None, {})
        problems: list[tuple[int, str]] = []
        lines: dict[tuple[Any, ...], int] = {}
        _walk_marks(node, (), lines, problems)
        if problems:
            raise PipelineSpecError(display, problems)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark is not None else 0
        msg = " ".join(str(x) for x in (e.context, e.problem) if x) or str(e)
        raise PipelineSpecError(display, [(line, f"YAML syntax error: {msg}")]) from None
    except yaml.YAMLError as e:
        raise PipelineSpecError(display, [(0, f"YAML error: {e}")]) from None
    finally:
        loader.dispose()
    return _Doc(data, lines)


def _walk_marks(node: Any, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int],
                problems: list[tuple[int, str]]) -> None:
    import yaml

    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for k, v in node.value:
            key = k.value if isinstance(k, yaml.ScalarNode) else None
            if key in seen:
                problems.append((k.start_mark.line + 1,
                                 f"duplicate key {key!r} (first at line {seen[key]})"))
            seen[key] = k.start_mark.line + 1
            _walk_marks(v, path + (key,), lines, problems)
            lines[path + (key,)] = k.start_mark.line + 1 if v.start_mark.line != k.start_mark.line else v.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _walk_marks(v, path + (i,), lines, problems)


# ----------------------------------------------------------------------------------------------
# Validation and expansion
# ----------------------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


class _Checker:
    def __init__(self, doc: _Doc, root: Path, display: str) -> None:
        self.doc = doc
        self.root = root
        self.display = display
        self.problems: list[tuple[int, str]] = []
        self._params_files: dict[str, dict[str, Any] | None] = {}

    def err(self, path: tuple[Any, ...], msg: str) -> None:
        self.problems.append((self.doc.line(*path), msg))

    # -- paths --------------------------------------------------------------------------
    def norm_path(self, value: Any, where: tuple[Any, ...], what: str, stage: str) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.err(where, f"stage {stage!r}: each of {what} must be a path (a string), not {_type_name(value)}")
            return None
        raw = value.strip()
        if os.path.isabs(raw):
            self.err(where, f"stage {stage!r}: {what} path {raw!r} must be relative to the project root")
            return None
        norm = os.path.normpath(raw).replace(os.sep, "/")
        if norm == ".." or norm.startswith("../"):
            self.err(where, f"stage {stage!r}: {what} path {raw!r} leaves the project root")
            return None
        if norm == ".":
            self.err(where, f"stage {stage!r}: {what} path {raw!r} is the whole project; name a file or folder")
            return None
        return norm

    def path_list(self, body: dict[str, Any], key: str, where: tuple[Any, ...], stage: str) -> list[str]:
        value = body.get(key)
        if value is None:
            return []
        if isinstance(value, str):
            value = [value]
            items = [(where + (key,), value[0])]
        elif isinstance(value, list):
            items = [(where + (key, i), v) for i, v in enumerate(value)]
        else:
            self.err(where + (key,), f"stage {stage!r}: {key} must be a list of paths, not {_type_name(value)}")
            return []
        out: list[str] = []
        for w, v in items:
            p = self.norm_path(v, w, key, stage)
            if p is not None:
                if p in out:
                    self.err(w, f"stage {stage!r}: {key} lists {p!r} twice")
                else:
                    out.append(p)
        return out

    # -- params -------------------------------------------------------------------------
    def params_file(self, name: str) -> dict[str, Any] | None:
        if name not in self._params_files:
            import yaml

            path = self.root / name
            try:
                text = path.read_text(encoding="utf-8")
            except FileNotFoundError:
                self._params_files[name] = None
                return None
            try:
                data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            except yaml.YAMLError as e:
                raise PipelineSpecError(name, [(getattr(getattr(e, "problem_mark", None), "line", -1) + 1,
                                                f"YAML syntax error: {e}")]) from None
            self._params_files[name] = data if isinstance(data, dict) else {}
        return self._params_files[name]

    def lookup_param(self, file: str, key: str, where: tuple[Any, ...], stage: str) -> tuple[bool, Any]:
        data = self.params_file(file)
        if data is None:
            self.err(where, f"stage {stage!r}: params file {file!r} does not exist")
            return False, None
        cur: Any = data
        for part in key.split("."):
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            else:
                self.err(where, f"stage {stage!r}: params key {key!r} is not in {file}")
                return False, None
        return True, cur

    def params(self, value: Any, where: tuple[Any, ...], stage: str, default_file: str
               ) -> tuple[dict[str, Any], dict[str, str]]:
        params: dict[str, Any] = {}
        sources: dict[str, str] = {}

        def add(name: str, val: Any, source: str, w: tuple[Any, ...]) -> None:
            if name in params:
                self.err(w, f"stage {stage!r}: parameter {name!r} is given twice ({sources[name]} and {source})")
                return
            params[name] = val
            sources[name] = source

        if value is None:
            return params, sources
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str) or not k.isidentifier():
                    self.err(where + (k,), f"stage {stage!r}: parameter name {k!r} is not a Python identifier")
                    continue
                add(k, v, "inline", where + (k,))
            return params, sources
        if not isinstance(value, list):
            self.err(where, f"stage {stage!r}: params must be a mapping of name: value, or a list of "
                            f"keys from {default_file}, not {_type_name(value)}")
            return params, sources
        for i, item in enumerate(value):
            w = where + (i,)
            refs: list[tuple[str, str]] = []
            if isinstance(item, str):
                file, sep, key = item.rpartition(":")
                refs.append((file if sep else default_file, key))
            elif isinstance(item, dict) and len(item) == 1 and str(next(iter(item))).endswith(
                (".yaml", ".yml", ".json")
            ):
                ((file, keys),) = item.items()
                if isinstance(keys, str):
                    keys = [keys]
                if not isinstance(file, str) or not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                    self.err(w, f"stage {stage!r}: write params file references as {{file.yaml: [key, ...]}}")
                    continue
                refs.extend((file, k) for k in keys)
            elif isinstance(item, dict):
                for k, v in item.items():  # inline values inside the list form
                    if not isinstance(k, str) or not k.isidentifier():
                        self.err(w, f"stage {stage!r}: parameter name {k!r} is not a Python identifier")
                    else:
                        add(k, v, "inline", w)
                continue
            else:
                self.err(w, f"stage {stage!r}: params entries are keys (lr, train.lr, file.yaml:lr) "
                            f"or {{file.yaml: [keys]}}, not {_type_name(item)}")
                continue
            for file, key in refs:
                if not key:
                    self.err(w, f"stage {stage!r}: empty params key")
                    continue
                found, val = self.lookup_param(file, key, w, stage)
                if found:
                    name = key.rsplit(".", 1)[-1]
                    if not name.isidentifier():
                        self.err(w, f"stage {stage!r}: params key {key!r} does not end in a Python identifier")
                        continue
                    add(name, val, f"{file}:{key}", w)
        return params, sources


def _interpolate(value: Any, env: dict[str, Any], err: Any) -> Any:
    """Replace ``${item}``, ``${item.x}``, ``${key}`` in strings; a string that is exactly one
    ``${...}`` takes the value itself (a number stays a number)."""
    if isinstance(value, str):
        m = _VAR_RE.fullmatch(value.strip())
        if m:
            return _resolve_var(m.group(1), env, err)
        return _VAR_RE.sub(lambda mm: str(_resolve_var(mm.group(1), env, err)), value)
    if isinstance(value, list):
        return [_interpolate(v, env, err) for v in value]
    if isinstance(value, dict):
        return {k: _interpolate(v, env, err) for k, v in value.items()}
    return value


def _resolve_var(name: str, env: dict[str, Any], err: Any) -> Any:
    parts = name.split(".")
    if parts[0] not in env:
        err(f"unknown variable ${{{name}}} (known here: {', '.join('${' + k + '}' for k in env) or 'none'})")
        return ""
    cur = env[parts[0]]
    for p in parts[1:]:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            err(f"${{{name}}}: {p!r} not found")
            return ""
    return cur


def _label(value: Any) -> str:
    text = str(value) if not isinstance(value, (dict, list)) else "-".join(str(v) for v in (value.values() if isinstance(value, dict) else value))
    text = re.sub(r"[^A-Za-z0-9_.=-]+", "_", text)
    return text or "_"


def _expansions(chk: _Checker, name: str, body: dict[str, Any], where: tuple[Any, ...]
                ) -> list[tuple[str | None, dict[str, Any], dict[str, Any]]] | None:
    """``[(suffix or None, interpolation env, params merged in)]``; None on error."""
    has_fe, has_mx = "foreach" in body, "matrix" in body
    if has_fe and has_mx:
        chk.err(where + ("matrix",), f"stage {name!r}: use foreach or matrix, not both")
        return None
    if has_fe:
        fe = body["foreach"]
        w = where + ("foreach",)
        if isinstance(fe, list) and fe:
            out = []
            for i, item in enumerate(fe):
                suffix = _label(item) if not isinstance(item, (dict, list)) else str(i)
                merged = dict(item) if isinstance(item, dict) else {}
                out.append((suffix, {"item": item, "key": i}, merged))
            return out
        if isinstance(fe, dict) and fe:
            return [(_label(k), {"item": v, "key": k}, dict(v) if isinstance(v, dict) else {})
                    for k, v in fe.items()]
        chk.err(w, f"stage {name!r}: foreach must be a non-empty list or mapping, not {_type_name(fe)}")
        return None
    if has_mx:
        mx = body["matrix"]
        w = where + ("matrix",)
        if not isinstance(mx, dict) or not mx:
            chk.err(w, f"stage {name!r}: matrix must be a mapping of name: [values], not {_type_name(mx)}")
            return None
        for k, v in mx.items():
            if not isinstance(v, list) or not v:
                chk.err(w + (k,), f"stage {name!r}: matrix {k!r} must be a non-empty list of values")
                return None
        keys = list(mx)
        out = []
        for combo in itertools.product(*(mx[k] for k in keys)):
            item = dict(zip(keys, combo))
            out.append(("-".join(_label(v) for v in combo), {"item": item}, item))
        return out
    return [(None, {}, {})]


def parse_spec(text: str, root: str | os.PathLike[str], display: str = SPEC_NAME) -> PipelineSpec:
    """Parse and validate ``mlnb.yaml`` text; raise :class:`PipelineSpecError` listing every problem."""
    root = Path(root)
    doc = _compose(text, display)
    chk = _Checker(doc, root, display)
    data = doc.data
    if data is None:
        raise PipelineSpecError(display, [(0, "the file is empty; declare `stages:`")])
    if not isinstance(data, dict):
        raise PipelineSpecError(display, [(doc.line(), f"the top level must be a mapping with `stages:`, not {_type_name(data)}")])
    for k in data:
        if k not in _TOP_KEYS:
            chk.err((k,), f"unknown top-level key {k!r} (expected: {', '.join(sorted(_TOP_KEYS))})")
    default_file = data.get("params", DEFAULT_PARAMS_FILE)
    if not isinstance(default_file, str):
        chk.err(("params",), "top-level params must be the name of the default params file")
        default_file = DEFAULT_PARAMS_FILE
    gvars = data.get("vars") or {}
    if not isinstance(gvars, dict):
        chk.err(("vars",), "vars must be a mapping of name: value")
        gvars = {}
    raw_stages = data.get("stages")
    if raw_stages is None:
        chk.err((), "missing `stages:` (a mapping of stage name to its definition)")
        raw_stages = {}
    elif not isinstance(raw_stages, dict):
        chk.err(("stages",), f"stages must be a mapping of stage name to its definition, not {_type_name(raw_stages)}")
        raw_stages = {}

    stages: dict[str, Stage] = {}
    for name, body in raw_stages.items():
        where = ("stages", name)
        if not isinstance(name, str) or not _NAME_RE.match(name):
            chk.err(where, f"stage name {name!r} must be letters, digits, '_', '-', '.' (no '@', no spaces)")
            continue
        if not isinstance(body, dict):
            chk.err(where, f"stage {name!r} must be a mapping with at least `notebook:`, not {_type_name(body)}")
            continue
        for k in body:
            if k not in _STAGE_KEYS:
                chk.err(where + (k,), f"stage {name!r}: unknown key {k!r} (expected: {', '.join(sorted(_STAGE_KEYS))})")
        expansions = _expansions(chk, name, body, where)
        if expansions is None:
            continue
        for suffix, env, merged in expansions:
            full = f"{name}@{suffix}" if suffix is not None else name
            n_before = len(chk.problems)

            def verr(msg: str, _w: tuple[Any, ...] = where, _n: str = full) -> None:
                chk.err(_w, f"stage {_n!r}: {msg}")

            env = {**gvars, **env}
            b = {k: v for k, v in body.items() if k not in ("foreach", "matrix")}
            b = _interpolate(b, env, verr) if env else b
            if len(chk.problems) > n_before:
                break  # one report per stage for interpolation problems, not one per item
            stage = _stage(chk, full, b, where, default_file, merged)
            if stage is None:
                continue
            stage.group = name if suffix is not None else None
            if full in stages:
                chk.err(where, f"stage {full!r} is defined twice (foreach/matrix labels collide)")
                continue
            stages[full] = stage
    if chk.problems:
        raise PipelineSpecError(display, chk.problems)
    return PipelineSpec(path=root / SPEC_NAME, root=root, stages=stages)


def _stage(chk: _Checker, name: str, b: dict[str, Any], where: tuple[Any, ...], default_file: str,
           merged: dict[str, Any]) -> Stage | None:
    ok = True
    nb = b.get("notebook")
    notebook = None
    if nb is None:
        chk.err(where, f"stage {name!r}: `notebook:` is required (the .ipynb to execute)")
        ok = False
    else:
        notebook = chk.norm_path(nb, where + ("notebook",), "notebook", name)
        if notebook is not None and not notebook.endswith(".ipynb"):
            chk.err(where + ("notebook",), f"stage {name!r}: notebook {notebook!r} must be a .ipynb file")
            ok = False
        ok = ok and notebook is not None
    params, sources = chk.params(b.get("params"), where + ("params",), name, default_file)
    for k, v in merged.items():
        if isinstance(k, str) and k.isidentifier() and k not in params:
            params[k] = v
            sources[k] = "foreach" if "matrix" not in b else "matrix"
    deps = chk.path_list(b, "deps", where, name)
    outs = chk.path_list(b, "outs", where, name)
    metrics = chk.path_list(b, "metrics", where, name)
    for m in metrics:
        if not m.endswith((".json", ".yaml", ".yml")):
            chk.err(where + ("metrics",), f"stage {name!r}: metrics file {m!r} must be .json, .yaml or .yml")
    both = set(outs) & set(metrics)
    for p in sorted(both):
        chk.err(where + ("metrics",), f"stage {name!r}: {p!r} is both an out and a metrics file")
    for p in sorted(set(deps) & set(outs + metrics)):
        chk.err(where + ("deps",), f"stage {name!r}: {p!r} is both a dep and an out of the same stage")
    timeout = b.get("timeout")
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0):
        chk.err(where + ("timeout",), f"stage {name!r}: timeout must be a positive number of seconds per cell, not {_type_name(timeout)}")
        timeout = None
    kernel = b.get("kernel")
    if kernel is not None and (not isinstance(kernel, str) or not kernel.strip()):
        chk.err(where + ("kernel",), f"stage {name!r}: kernel must be a kernel name such as python3")
        kernel = None
    resources = b.get("resources") or {}
    if not isinstance(resources, dict) or not all(
        isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool) for k, v in resources.items()
    ):
        chk.err(where + ("resources",), f"stage {name!r}: resources must map a resource name to a number (GPU: 1)")
        resources = {}
    cwd = b.get("cwd", ".")
    cwd_n = "."
    if cwd not in (None, ".", ""):
        cwd_n = chk.norm_path(cwd, where + ("cwd",), "cwd", name) or "."
    desc = b.get("desc")
    if desc is not None and not isinstance(desc, str):
        chk.err(where + ("desc",), f"stage {name!r}: desc must be text")
        desc = None
    if not ok or notebook is None:
        return None
    return Stage(
        name=name, notebook=notebook, params=params, param_sources=sources, deps=deps, outs=outs,
        metrics=metrics, timeout=float(timeout) if timeout is not None else None,
        kernel=kernel.strip() if kernel else None, resources={k: float(v) for k, v in resources.items()},
        cwd=cwd_n, desc=desc, line=chk.doc.line(*where),
    )


def load_spec(root: str | os.PathLike[str]) -> PipelineSpec:
    """Read ``<root>/mlnb.yaml``."""
    path = Path(root) / SPEC_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PipelineSpecError(
            SPEC_NAME, [(0, f"no {SPEC_NAME} in {root}; declare the pipeline's stages there (see docs/pipelines.md)")]
        ) from None
    except OSError as e:
        raise PipelineSpecError(SPEC_NAME, [(0, f"cannot read it: {e.strerror}")]) from None
    return parse_spec(text, root, SPEC_NAME)
