"""Handler for notebook diffs under ``{base_url}mlnb/api/diff``: a notebook against git HEAD (or
any revision), its last checkpoint or the version a tracked run executed; or the notebooks of two
runs. The answer is :func:`mlnb.nbdiff.diff_notebooks` (nbdime's ``{base, diff}`` plus mlnb's
cell view) with the other side, line diffs of changed sources for a plain renderer, and the run
diff ("lr 0.1 → 0.2") when both versions have tracked runs.
"""

from __future__ import annotations

import inspect
import json
import os
from difflib import SequenceMatcher
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from mlnb.errors import RunNotFoundError, UsageError

from ._base import MlnbHandler

__all__ = ["DiffHandler"]

MAX_LINE_OPS = 20000  # per cell; a bigger source diff is summarised, not sent line by line


def source_lines(a: str, b: str) -> list[list[str]]:
    """``[[op, line], ...]`` with op ``" "``, ``"-"`` or ``"+"`` (lines without their newline)."""
    la, lb = a.splitlines(), b.splitlines()
    out: list[list[str]] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, la, lb, autojunk=False).get_opcodes():
        if tag == "equal":
            out += [[" ", line] for line in la[i1:i2]]
        else:
            out += [["-", line] for line in la[i1:i2]]
            out += [["+", line] for line in lb[j1:j2]]
        if len(out) > MAX_LINE_OPS:
            return out[:MAX_LINE_OPS] + [[" ", "… (diff cut short)"]]
    return out


def _source(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return ""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _without_volatile(nb: dict[str, Any]) -> dict[str, Any]:
    """``nb`` with cell metadata that Lab or a run changes by itself (trusted, execution
    timings, collapsed, ...) left out, so a diff from the editor shows what the user changed."""
    from mlnb.nbdiff._merge import VOLATILE_METADATA

    volatile = VOLATILE_METADATA | {"trusted"}
    cells = []
    for cell in nb.get("cells", []):
        md = cell.get("metadata")
        if isinstance(md, dict) and volatile.intersection(md):
            cell = {**cell, "metadata": {k: v for k, v in md.items() if k not in volatile}}
        cells.append(cell)
    return {**nb, "cells": cells}


def build_diff(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """``diff_notebooks(a, b)`` plus ``remote`` (side b) and per-cell ``lines`` for sources."""
    from mlnb.nbdiff import diff_notebooks

    a, b = _without_volatile(a), _without_volatile(b)
    result = diff_notebooks(a, b)
    cells_a, cells_b = a.get("cells", []), b.get("cells", [])
    for rec in result["cells"]:
        ia, ib = rec.get("a_index"), rec.get("b_index")
        ca = cells_a[ia] if isinstance(ia, int) and 0 <= ia < len(cells_a) else None
        cb = cells_b[ib] if isinstance(ib, int) and 0 <= ib < len(cells_b) else None
        sa, sb = _source(ca), _source(cb)
        rec["lines"] = source_lines(sa, sb) if sa != sb else [[" ", ln] for ln in sa.splitlines()]
    result["remote"] = b
    return result


def _check_rev(rev: str) -> str:
    if rev.startswith("-") or any(c.isspace() or c in "\0:" for c in rev) or len(rev) > 200:
        raise UsageError(f"{rev!r} is not a git revision; use HEAD, a branch, a tag or a commit.")
    return rev


def _git_version(os_path: str, rev: str) -> tuple[dict[str, Any], str]:
    """The notebook at ``rev`` (an empty notebook when it did not exist there) and the commit."""
    from mlnb.nbdiff import loads
    from mlnb.nbdiff._git import is_revision, repo_root, rev_commit, show_file

    folder = os.path.dirname(os_path)
    repo_root(folder)  # a clear 400 when the notebook is not in a git repository
    if not is_revision(rev, cwd=folder):
        raise UsageError(f"{rev!r} is not a revision of the git repository at {folder}.")
    commit = rev_commit(rev, cwd=folder)
    raw = show_file(commit, os.path.basename(os_path), cwd=folder)
    name = f"{rev}:{os.path.basename(os_path)}"
    return loads(raw if raw is not None else b"", name, allow_empty=True), commit


def _run_notebook(context: Any, run_id: str) -> tuple[dict[str, Any], Any, str]:
    """The notebook a run executed: its executed-notebook artifact, else the notebook at the
    run's git commit, else the notebook file as it is now. Returns (notebook, run, label)."""
    from mlnb.nbdiff import read_notebook

    store = context.store()
    run = store.get_run(run_id)
    artifact = (run.tags or {}).get("mlnb.executed_notebook")
    base = getattr(store, "artifacts_dir", None)
    if artifact and base:
        path = os.path.realpath(os.path.join(base, run.id, artifact))
        if os.path.commonpath([path, os.path.realpath(base)]) == os.path.realpath(base) \
                and os.path.isfile(path):
            return read_notebook(path), run, f"run {run.id[:8]} (executed)"
    if not run.notebook:
        raise UsageError(f"Run {run.id} records no notebook to compare.")
    project = context.project()
    nb_path = os.path.realpath(os.path.join(str(project.root), run.notebook))
    if run.git_commit and os.path.isfile(nb_path):
        try:
            nb, _ = _git_version(nb_path, run.git_commit)
            if nb.get("cells"):
                return nb, run, f"run {run.id[:8]} (commit {run.git_commit[:8]})"
        except UsageError:
            pass
    if os.path.isfile(nb_path):
        return read_notebook(nb_path), run, f"run {run.id[:8]} (notebook as it is now)"
    raise UsageError(f"No version of {run.notebook} is kept for run {run.id}.")


def _runs_header(context: Any, id_a: str | None, id_b: str | None) -> dict[str, Any] | None:
    if not id_a or not id_b or id_a == id_b:
        return None
    from mlnb.nbdiff import run_diff

    try:
        return run_diff(id_a, id_b, context.store())
    except RunNotFoundError:
        return None


def _latest_run(context: Any, relpath: str, commit: str | None) -> str | None:
    from mlnb.nbdiff._runs import runs_for_version

    try:
        return runs_for_version(context.store(), relpath, commit)
    except Exception:  # a store that cannot answer must not break the code diff
        return None


class DiffHandler(MlnbHandler):
    """``GET diff?path=NB&ref=HEAD|checkpoint|<rev>|run:<id>``: the version at ``ref`` (side a)
    against the notebook on disk (side b). ``POST diff`` ``{"path", "ref", "content"}``: the same
    with the editor's unsaved notebook as side b. ``GET diff?run_a=A&run_b=B``: the notebooks of
    two runs. Answer: ``{base, remote, diff, cells (with lines), metadata, counts, labels,
    runs}``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        run_a, run_b = self.str_argument("run_a"), self.str_argument("run_b")
        if run_a or run_b:
            if not (run_a and run_b):
                raise UsageError("Give both run_a and run_b to compare the notebooks of two runs.")
            await self._runs(run_a, run_b)
            return
        await self._path(self.required_argument("path"), self.str_argument("ref") or "HEAD", None)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.get_json_body()
        if not isinstance(body, dict):
            raise UsageError('The request body must be a JSON object {"path", "ref", "content"}.')
        path, ref, content = body.get("path"), body.get("ref") or "HEAD", body.get("content")
        if not isinstance(path, str) or not path.strip():
            raise UsageError("'path' must be the notebook's path relative to the server root.")
        if not isinstance(ref, str):
            raise UsageError("'ref' must be HEAD, checkpoint, a git revision or run:<id>.")
        if content is not None and not isinstance(content, dict):
            raise UsageError("'content' must be the notebook as JSON (an object).")
        await self._path(path.strip(), ref.strip(), content)

    async def _runs(self, run_a: str, run_b: str) -> None:
        context = self.context

        def build() -> dict[str, Any]:
            a, ra, label_a = _run_notebook(context, run_a)
            b, rb, label_b = _run_notebook(context, run_b)
            out = build_diff(a, b)
            out.update(labels={"a": label_a, "b": label_b}, path=None, ref=None,
                       runs=_runs_header(context, ra.id, rb.id))
            return out

        await self.respond(build)

    async def _path(self, path: str, ref: str, content: dict[str, Any] | None) -> None:
        context = self.context
        os_path = await self.in_thread(context.resolve_in_root, path)
        rel_api = os.path.relpath(os_path, context.root_dir).replace(os.sep, "/")
        if not os_path.endswith(".ipynb"):
            raise UsageError(f"{path} is not a notebook (.ipynb).")
        checkpoint: dict[str, Any] | None = None
        if ref == "checkpoint":
            checkpoint = await self._checkpoint(rel_api)
        elif not ref.startswith("run:"):
            _check_rev(ref)

        def build() -> dict[str, Any]:
            from mlnb.nbdiff import loads, read_notebook

            if content is not None:
                b = loads(json.dumps(content), path)
            else:
                b = read_notebook(os_path)
            relpath = context.project().relpath(os_path)
            ids: tuple[str | None, str | None] = (None, None)
            if ref == "checkpoint":
                assert checkpoint is not None
                a = loads(json.dumps(checkpoint["content"]), f"checkpoint of {path}")
                label_a = f"checkpoint {checkpoint['id']} ({checkpoint['last_modified']})"
            elif ref.startswith("run:"):
                a, run, label_a = _run_notebook(context, ref[4:].strip())
                ids = (run.id, _latest_run(context, relpath, None))
            else:
                a, commit = _git_version(os_path, ref)
                label_a = f"{ref}:{rel_api}" + (f" ({commit[:8]})" if commit else "")
                ids = (_latest_run(context, relpath, commit), _latest_run(context, relpath, None))
            out = build_diff(a, b)
            label_b = rel_api + (" (unsaved)" if content is not None else "")
            out.update(labels={"a": label_a, "b": label_b}, path=rel_api, ref=ref,
                       runs=_runs_header(context, *ids))
            return out

        await self.respond(build)

    async def _checkpoint(self, rel_api: str) -> dict[str, Any]:
        """The newest checkpoint of the notebook through the server's contents manager."""
        cm = self.contents_manager
        checkpoints = cm.checkpoints

        async def call(fn: Any, *args: Any) -> Any:
            value = fn(*args)
            return await value if inspect.isawaitable(value) else value

        found = await call(checkpoints.list_checkpoints, rel_api)
        if not found:
            raise UsageError(f"{rel_api} has no checkpoint yet; save it (Ctrl-S) to create one.")
        newest = max(found, key=lambda c: str(c.get("last_modified")))
        if hasattr(checkpoints, "checkpoint_path"):  # file checkpoints: read the file as JSON
            os_path = checkpoints.checkpoint_path(newest["id"], rel_api)

            def read() -> Any:
                with open(os_path, "rb") as f:
                    return json.loads(f.read())

            try:
                content = await self.in_thread(read)
            except (OSError, ValueError) as e:
                raise UsageError(f"Cannot read the checkpoint of {rel_api}: {e}") from None
        else:  # generic checkpoints (e.g. a database): ask for the notebook
            model = await call(checkpoints.get_notebook_checkpoint, newest["id"], rel_api)
            content = model["content"]
        return {"id": newest["id"], "last_modified": str(newest.get("last_modified")),
                "content": content}
