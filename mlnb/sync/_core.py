"""Pairing, state file and the three-way input merge behind :mod:`mlnb.sync`."""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from mlnb.errors import MlnbError, UsageError
from mlnb.nbdiff._io import empty_notebook, loads, read_notebook, write_notebook
from mlnb.nbdiff._merge import merge_notebooks
from mlnb.project import Project

__all__ = ["PairResult", "SyncConflictError", "pair", "unpair", "sync", "sync_pair", "find_pairs"]

DEFAULT_FORMAT = "py:percent"
_SKIP_DIRS = {".git", ".mlnb", ".ipynb_checkpoints", "node_modules", ".venv", "venv",
              "__pycache__", ".tox"}


class SyncConflictError(MlnbError):
    """Both files of a pair changed the same cells; nothing was written."""

    def __init__(self, conflicts: dict[str, list[str]]) -> None:
        self.conflicts = conflicts
        lines = []
        for nb, cells in conflicts.items():
            lines.append(f"{nb}: " + "; ".join(cells))
        super().__init__(
            "Both sides of a pair changed the same cells; nothing was written for it:\n  "
            + "\n  ".join(lines)
            + "\nEdit one side to agree with the other, then run `mlnb sync` again "
            "(or `mlnb sync --prefer ipynb|text PATH` to let one side win).")


@dataclass
class PairResult:
    notebook: str
    text: str
    actions: list[str] = field(default_factory=list)
    stale_cells: list[int] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.actions)


# -- formats -------------------------------------------------------------------------------
def _text_format(formats: str) -> str | None:
    """The text member of a jupytext ``formats`` string such as ``ipynb,py:percent``."""
    for f in str(formats).split(","):
        f = f.strip()
        if f and not f.endswith("ipynb") and "//" not in f:
            return f
    return None


def _extension(fmt: str) -> str:
    ext = fmt.split(":", 1)[0].strip()
    if not ext or "/" in ext:
        raise UsageError(f"Unsupported pairing format {fmt!r}; use e.g. py:percent, py:light, md.")
    return ext if ext.startswith(".") else "." + ext


def text_path_for(nb_path: Path, fmt: str) -> Path:
    return nb_path.with_suffix(_extension(fmt))


# -- state -----------------------------------------------------------------------------------
class _State:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.path = project.mlnb_dir / "sync.json"
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.pairs: dict[str, Any] = dict(data.get("pairs", {}))
        except FileNotFoundError:
            self.pairs = {}
        except (OSError, ValueError, AttributeError):
            self.pairs = {}  # a broken state file only costs the memory of past syncs

    def save(self) -> None:
        self.project.ensure()
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({"version": 1, "pairs": self.pairs}, indent=1, sort_keys=True),
                       encoding="utf-8")
        os.replace(tmp, self.path)


def _inputs(nb: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"cell_type": c.get("cell_type"), "source": str(c.get("source", "")).rstrip()}
            for c in nb.get("cells", [])]


def _hash(inputs: list[dict[str, Any]]) -> str:
    raw = json.dumps([(c["cell_type"], c["source"]) for c in inputs], ensure_ascii=False)
    return hashlib.blake2b(raw.encode("utf-8"), digest_size=16).hexdigest()


# -- jupytext --------------------------------------------------------------------------------
def _read_text(path: Path, fmt: str) -> dict[str, Any]:
    import jupytext

    try:
        text = path.read_text(encoding="utf-8")
        node = jupytext.reads(text, fmt=fmt)
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"Cannot read {path}: {e}") from None
    except Exception as e:  # jupytext raises assorted errors on malformed text
        raise UsageError(f"Cannot parse {path} as {fmt}: {e}") from None
    return loads(json.dumps(node), str(path))


def _write_text(nb: dict[str, Any], fmt: str) -> str:
    import jupytext
    import nbformat

    nb = copy.deepcopy(nb)
    for cell in nb.get("cells", []):  # mlnb's own cell state (stale outputs) stays out of the text
        if isinstance(cell.get("metadata"), dict):
            cell["metadata"].pop("mlnb", None)
    node = nbformat.from_dict(nb)
    return jupytext.writes(node, fmt=fmt)


def _set_formats(nb: dict[str, Any], fmt: str) -> None:
    md = nb.setdefault("metadata", {})
    jt = md.get("jupytext") if isinstance(md.get("jupytext"), dict) else {}
    md["jupytext"] = {**jt, "formats": f"ipynb,{fmt}"}


# -- public --------------------------------------------------------------------------------
def _project_for(path: Path, project: Project | None) -> Project:
    return project if project is not None else Project.discover(path.parent)


def pair(notebook: str | os.PathLike[str], fmt: str = DEFAULT_FORMAT,
         project: Project | None = None, force: bool = False) -> PairResult:
    """Pair ``notebook`` with a text file (jupytext ``formats`` metadata) and write it."""
    nb_path = Path(notebook).absolute()
    if nb_path.suffix != ".ipynb":
        raise UsageError(f"{notebook} is not a .ipynb notebook; pair the notebook, not the text.")
    _extension(fmt)
    nb = read_notebook(nb_path)
    text_path = text_path_for(nb_path, fmt)
    proj = _project_for(nb_path, project)
    if text_path.exists() and not force:
        existing = _read_text(text_path, fmt)
        if _hash(_inputs(existing)) != _hash(_inputs(nb)):
            raise UsageError(
                f"{text_path} already exists and its cells differ from {nb_path.name}; "
                "move it away or pass --force to overwrite it from the notebook.")
    _set_formats(nb, fmt)
    write_notebook(nb, nb_path)
    res = PairResult(proj.relpath(nb_path), proj.relpath(text_path), [f"paired with {fmt}"])
    state = _State(proj)
    _write_pair(nb_path, text_path, fmt, nb, None, state, res)
    state.save()
    return res


def unpair(notebook: str | os.PathLike[str], project: Project | None = None,
           delete_text: bool = False) -> PairResult:
    nb_path = Path(notebook).absolute()
    nb = read_notebook(nb_path)
    proj = _project_for(nb_path, project)
    md = nb.get("metadata", {})
    jt = md.get("jupytext") if isinstance(md.get("jupytext"), dict) else None
    fmt = _text_format(jt.get("formats", "")) if jt else None
    state = _State(proj)
    entry = state.pairs.pop(proj.relpath(nb_path), None)
    fmt = fmt or (entry or {}).get("format")
    if not fmt:
        raise UsageError(f"{notebook} is not paired.")
    text_path = text_path_for(nb_path, fmt)
    res = PairResult(proj.relpath(nb_path), proj.relpath(text_path))
    if jt is not None:
        jt.pop("formats", None)
        if not jt:
            md.pop("jupytext")
        write_notebook(nb, nb_path)
        res.actions.append("removed the pairing metadata")
    if delete_text and text_path.exists():
        text_path.unlink()
        res.actions.append(f"deleted {res.text}")
    state.save()
    return res


def _write_pair(nb_path: Path, text_path: Path, fmt: str, nb: dict[str, Any],
                old_text: str | None, state: _State, res: PairResult,
                nb_written: bool = False) -> None:
    """Write the text file from ``nb`` when it changes and record the synced state."""
    text = _write_text(nb, fmt)
    if text != old_text:
        text_path.write_text(text, encoding="utf-8")
        res.actions.append(f"wrote {res.text}")
    text_inputs = _inputs(_read_text(text_path, fmt))
    state.pairs[res.notebook] = {
        "text": res.text, "format": fmt,
        "notebook_inputs": _hash(_inputs(nb)), "text_inputs": _hash(text_inputs),
        "base": text_inputs,
    }


def _nb_format(nb: dict[str, Any]) -> str | None:
    md = nb.get("metadata", {})
    jt = md.get("jupytext") if isinstance(md, dict) else None
    return _text_format(jt.get("formats", "")) if isinstance(jt, dict) else None


def sync_pair(notebook: str | os.PathLike[str], project: Project | None = None,
              prefer: str | None = None, fmt: str | None = None) -> PairResult:
    """Bring one pair up to date. Raises :class:`SyncConflictError` (nothing written) when
    both sides changed the same cells."""
    nb_path = Path(notebook).absolute()
    proj = _project_for(nb_path, project)
    state = _State(proj)
    rel = proj.relpath(nb_path)
    entry = state.pairs.get(rel)
    nb = read_notebook(nb_path) if nb_path.exists() else None
    fmt = fmt or (nb and _nb_format(nb)) or (entry or {}).get("format")
    if not fmt:
        raise UsageError(f"{notebook} is not paired; pair it with `mlnb sync pair {notebook}`.")
    text_path = text_path_for(nb_path, fmt)
    res = PairResult(rel, proj.relpath(text_path))
    if nb is None and not text_path.exists():
        raise UsageError(f"Neither {rel} nor {res.text} exists.")
    if nb is None:  # only the text: create the notebook from it
        nb = _read_text(text_path, fmt)
        jt = nb.get("metadata", {}).get("jupytext")
        if isinstance(jt, dict):  # describes the text file, not the notebook
            jt.pop("text_representation", None)
        _set_formats(nb, fmt)
        write_notebook(nb, nb_path)
        res.actions.append(f"created {rel}")
        _write_pair(nb_path, text_path, fmt, nb, text_path.read_text(encoding="utf-8"), state, res)
        state.save()
        return res
    if not text_path.exists():
        _write_pair(nb_path, text_path, fmt, nb, None, state, res)
        state.save()
        return res
    old_text = text_path.read_text(encoding="utf-8")
    txt = _read_text(text_path, fmt)
    nb_in, txt_in = _inputs(nb), _inputs(txt)
    nb_h, txt_h = _hash(nb_in), _hash(txt_in)
    if nb_h == txt_h:
        state.pairs[rel] = {"text": res.text, "format": fmt, "notebook_inputs": nb_h,
                            "text_inputs": txt_h, "base": txt_in}
        state.save()
        return res
    if entry is not None and entry.get("format") == fmt:
        base_cells = entry.get("base") or []
        nb_changed = nb_h != entry.get("notebook_inputs")
        txt_changed = txt_h != entry.get("text_inputs")
    elif prefer in ("ipynb", "text"):
        base_cells, nb_changed, txt_changed = (txt_in, True, False) if prefer == "ipynb" \
            else (nb_in, False, True)
    else:
        raise SyncConflictError({rel: [
            f"{rel} and {res.text} differ and mlnb has no record of their last sync; "
            "choose a side with --prefer ipynb or --prefer text"]})
    if prefer == "ipynb" and nb_changed:
        txt_changed = False
    elif prefer == "text" and txt_changed:
        nb_changed = False
    if nb_changed and not txt_changed:
        _write_pair(nb_path, text_path, fmt, nb, old_text, state, res)
        state.save()
        return res
    # the text side changed (maybe both): merge its inputs into the notebook
    base_nb = {**empty_notebook(), "metadata": nb.get("metadata", {}),
               "cells": [{**c, "metadata": {}} for c in base_cells]}
    local_nb = {**nb, "cells": [{**c, "source": str(c.get("source", "")).rstrip()}
                                for c in nb.get("cells", [])]}
    remote_nb = {**txt, "metadata": nb.get("metadata", {})}
    if not nb_changed:
        base_nb = local_nb  # only the text changed: the notebook is the base
    result = merge_notebooks(base_nb, local_nb, remote_nb, outputs="local")
    if result.conflicts:
        res.conflicts = [str(c) for c in result.conflicts]
        raise SyncConflictError({rel: res.conflicts})
    merged = result.notebook
    merged["metadata"] = nb.get("metadata", {})
    by_id = {c.get("id"): c for c in nb.get("cells", []) if c.get("id")}
    for k, cell in enumerate(merged["cells"]):
        old = by_id.get(cell.get("id"))
        if cell.get("cell_type") != "code":
            continue
        if old is None:
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
            continue
        if str(old.get("source", "")).rstrip() != str(cell.get("source", "")).rstrip() \
                and (old.get("outputs") or old.get("execution_count") is not None):
            cell["outputs"], cell["execution_count"] = [], None
            md = cell.setdefault("metadata", {})
            md["mlnb"] = {**(md.get("mlnb") if isinstance(md.get("mlnb"), dict) else {}),
                          "stale_outputs": True}
            res.stale_cells.append(k)
    # keep the notebook's exact sources where the inputs agree (jupytext strips trailing space)
    if _hash(_inputs(merged)) != nb_h:
        write_notebook(merged, nb_path)
        res.actions.append(f"updated {rel}" + (f" ({len(res.stale_cells)} cell(s) lost stale "
                                                "outputs)" if res.stale_cells else ""))
    _write_pair(nb_path, text_path, fmt, merged, old_text, state, res)
    state.save()
    return res


def _paired_notebooks_under(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".")]
        for f in filenames:
            if f.endswith(".ipynb"):
                p = Path(dirpath) / f
                try:
                    head = p.read_bytes()
                except OSError:
                    continue
                if b'"formats"' in head and b"jupytext" in head:
                    yield p


def find_pairs(paths: Iterable[str | os.PathLike[str]] | None = None,
               project: Project | None = None) -> list[Path]:
    """Notebooks of the pairs named by ``paths`` (notebooks, their text files or folders), or
    every pair of the project (state file plus notebooks with jupytext formats)."""
    proj = project or Project.discover()
    state = _State(proj)
    by_text = {v.get("text"): k for k, v in state.pairs.items()}
    found: dict[Path, None] = {}
    if not paths:
        for k in state.pairs:
            found[(proj.root / k).absolute()] = None
        for p in _paired_notebooks_under(proj.root):
            found[p.absolute()] = None
        return list(found)
    for raw in paths:
        p = Path(raw).absolute()
        if p.is_dir():
            for q in _paired_notebooks_under(p):
                found[q.absolute()] = None
            continue
        if p.suffix == ".ipynb":
            if proj.relpath(p) in state.pairs:
                found[p] = None
            elif p.exists():
                try:
                    if _nb_format(read_notebook(p)):
                        found[p] = None
                except MlnbError:
                    raise
            continue
        rel = proj.relpath(p)
        if rel in by_text:
            found[(proj.root / by_text[rel]).absolute()] = None
            continue
        sibling = p.with_suffix(".ipynb")
        if sibling.exists():
            fmt = _nb_format(read_notebook(sibling))
            if fmt and text_path_for(sibling, fmt) == p:
                found[sibling] = None
    return list(found)


def sync(paths: Iterable[str | os.PathLike[str]] | None = None, project: Project | None = None,
         prefer: str | None = None) -> list[PairResult]:
    """Sync every pair named by ``paths`` (default: all pairs). Conflicting pairs are left
    untouched and reported together in one :class:`SyncConflictError` after the others synced."""
    proj = project or Project.discover()
    results: list[PairResult] = []
    conflicts: dict[str, list[str]] = {}
    for nb in find_pairs(paths, proj):
        try:
            results.append(sync_pair(nb, proj, prefer=prefer))
        except SyncConflictError as e:
            conflicts.update(e.conflicts)
    if conflicts:
        err = SyncConflictError(conflicts)
        err.results = results  # type: ignore[attr-defined]
        raise err
    return results
