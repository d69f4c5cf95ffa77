"""Fingerprints and staleness: what a stage would record in ``mlnb.lock`` now, and why that differs
from what it recorded last time, in words.

A stage's fingerprint covers its notebook's code (code-cell sources only: outputs, metadata and
markdown do not count), its params, its deps' content hashes, the kernel name and its declared
outs. An out that is missing or was changed by hand also makes it stale. This path must stay
light: notebooks are read as plain JSON (no nbformat), hashing goes through :mod:`mlnb.data`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlnb.errors import MlnbError, UsageError
from mlnb.pipeline._spec import Stage

if TYPE_CHECKING:
    from mlnb.project import Project

__all__ = ["StageState", "stage_state", "notebook_code", "digest", "fingerprint", "describe_value"]

DEFAULT_KERNEL = "python3"
_INJECTED_TAG = "injected-parameters"


def _hash_path(path: Path, project: Project) -> Any:
    """The one hashing implementation of the core (``mlnb.data.hash_path``)."""
    try:
        from mlnb.data import hash_path
    except ImportError:  # mlnb.data without its public surface yet
        from mlnb.data._hashing import hash_path
    return hash_path(path, project=project)


def digest(path: Path, project: Project) -> dict[str, Any] | None:
    """``{hash, size, nfiles, kind}`` of a file or folder, None when it does not exist."""
    if not os.path.lexists(path):
        return None
    try:
        d = _hash_path(path, project)
    except FileNotFoundError:
        return None
    except MlnbError:
        if not os.path.exists(path):
            return None
        raise
    return {"hash": d.hash, "size": d.size, "nfiles": d.nfiles, "kind": d.kind}


def notebook_code(path: Path) -> tuple[str, str | None]:
    """(hash of the code cells' sources, the notebook's kernelspec name) — plain JSON, no nbformat.

    The ``injected-parameters`` cell is left out: it is a product of execution, not code.
    """
    try:
        with open(path, "rb") as f:
            nb = json.load(f)
    except FileNotFoundError:
        raise UsageError(f"Stage notebook {path} does not exist.") from None
    except (OSError, ValueError) as e:
        raise UsageError(f"Stage notebook {path} is not a readable notebook ({e}).") from None
    h = hashlib.blake2b(digest_size=16)
    for cell in nb.get("cells") or []:
        if cell.get("cell_type") != "code":
            continue
        tags = (cell.get("metadata") or {}).get("tags") or []
        if _INJECTED_TAG in tags:
            continue
        src = cell.get("source", "")
        if isinstance(src, list):
            src = "".join(src)
        h.update(src.encode("utf-8", "surrogatepass"))
        h.update(b"\0\x1e")
    kernel = ((nb.get("metadata") or {}).get("kernelspec") or {}).get("name")
    return h.hexdigest(), kernel


def fingerprint(entry: dict[str, Any]) -> str:
    """The hash of what determines a stage's outs (everything in ``entry`` but outs' hashes)."""
    payload = {
        "notebook": entry["notebook"],
        "code": entry["code"],
        "kernel": entry["kernel"],
        "cwd": entry.get("cwd", "."),
        "params": entry["params"],
        "deps": {p: (d or {}).get("hash") for p, d in sorted(entry["deps"].items())},
        "outs": sorted(entry["outs"]),
        "metrics": sorted(entry.get("metrics") or {}),
    }
    text = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def describe_value(value: Any, width: int = 40) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass
class StageState:
    """A stage now, compared with its ``mlnb.lock`` entry."""

    name: str
    fresh: bool
    reasons: list[str] = field(default_factory=list)
    current: dict[str, Any] = field(default_factory=dict)  # the would-be lock entry (no outs yet)
    locked: dict[str, Any] | None = None
    missing_deps: list[str] = field(default_factory=list)

    @property
    def fingerprint(self) -> str | None:
        return self.current.get("fingerprint")


def stage_state(stage: Stage, project: Project, locked: dict[str, Any] | None,
                hash_outs: bool = True) -> StageState:
    """Compare ``stage`` as it is now with its ``locked`` entry; reasons in words."""
    root = project.root
    code, nb_kernel = notebook_code(root / stage.notebook)
    kernel = stage.kernel or nb_kernel or DEFAULT_KERNEL
    deps: dict[str, Any] = {}
    missing: list[str] = []
    for dep in stage.deps:
        d = digest(root / dep, project)
        deps[dep] = d
        if d is None:
            missing.append(dep)
    current: dict[str, Any] = {
        "notebook": stage.notebook,
        "code": code,
        "kernel": kernel,
        "cwd": stage.cwd,
        "params": stage.params,
        "deps": deps,
        "outs": {o: None for o in stage.outs},
        "metrics": {m: None for m in stage.metrics},
    }
    current["fingerprint"] = fingerprint(current)
    st = StageState(name=stage.name, fresh=False, current=current, locked=locked, missing_deps=missing)
    reasons = st.reasons
    for dep in missing:
        reasons.append(f"dep {dep} is missing")
    if not locked:
        reasons.insert(0, "never run")
        return st
    if locked.get("notebook") != stage.notebook:
        reasons.append(f"notebook changed {locked.get('notebook')} → {stage.notebook}")
    elif locked.get("code") != code:
        reasons.append(f"notebook {stage.notebook} code changed")
    if locked.get("kernel") != kernel:
        reasons.append(f"kernel changed {locked.get('kernel')} → {kernel}")
    if locked.get("cwd", ".") != stage.cwd:
        reasons.append(f"cwd changed {locked.get('cwd', '.')} → {stage.cwd}")
    old_params = locked.get("params") or {}
    for k in sorted(set(old_params) | set(stage.params)):
        if k not in stage.params:
            reasons.append(f"params.{k} removed (was {describe_value(old_params[k])})")
        elif k not in old_params:
            reasons.append(f"params.{k} added = {describe_value(stage.params[k])}")
        elif _canon(old_params[k]) != _canon(stage.params[k]):
            reasons.append(
                f"params.{k} changed {describe_value(old_params[k])} → {describe_value(stage.params[k])}"
            )
    old_deps = locked.get("deps") or {}
    for dep in stage.deps:
        if dep in missing:
            continue
        if dep not in old_deps:
            reasons.append(f"dep {dep} added")
        elif (old_deps[dep] or {}).get("hash") != deps[dep]["hash"]:
            reasons.append(f"dep {dep} changed")
    for dep in old_deps:
        if dep not in deps:
            reasons.append(f"dep {dep} removed")
    for kind in ("outs", "metrics"):
        old = locked.get(kind) or {}
        declared = stage.outs if kind == "outs" else stage.metrics
        label = "out" if kind == "outs" else "metrics file"
        if set(old) != set(declared):
            added = sorted(set(declared) - set(old))
            gone = sorted(set(old) - set(declared))
            parts = ([f"+{p}" for p in added] + [f"-{p}" for p in gone])
            reasons.append(f"{kind} changed in mlnb.yaml ({', '.join(parts)})")
        for p in declared:
            path = root / p
            if not os.path.lexists(path):
                reasons.append(f"{label} {p} is missing")
            elif hash_outs and p in old:
                d = digest(path, project)
                if d is not None and (old[p] or {}).get("hash") != d["hash"]:
                    reasons.append(f"{label} {p} was modified since the last run")
    st.fresh = not reasons
    return st


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def out_digests(stage: Stage, project: Project) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """Digests of ``stage``'s outs and metrics files after a run, and the ones that are missing."""
    outs: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    missing: list[str] = []
    for target, paths in ((outs, stage.outs), (metrics, stage.metrics)):
        for p in paths:
            d = digest(project.root / p, project)
            if d is None:
                missing.append(p)
            target[p] = d
    return outs, metrics, missing
