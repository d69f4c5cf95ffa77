"""Run diff: params and final metrics of two tracked runs, and the runs of notebook versions."""

from __future__ import annotations

import os
from typing import Any

__all__ = ["run_diff", "runs_for_version"]


def run_diff(run_a: str, run_b: str, store: Any = None) -> dict[str, Any]:
    """``{"runs": [a, b], "params": [{key, a, b, changed}], "metrics": [...]}`` over the union of
    keys, from :meth:`Store.compare` (run ids may be unique prefixes)."""
    if store is None:
        from mlnb.tracking import open_store

        store = open_store()
    ids = [store.get_run(run_a).id, store.get_run(run_b).id]
    cmp = store.compare(ids)
    out: dict[str, Any] = {"runs": cmp["runs"], "params": [], "metrics": []}
    for part in ("params", "metrics"):
        for key, row in sorted(cmp[part].items()):
            va, vb = row["values"][0], row["values"][1]
            out[part].append({"key": key, "a": va, "b": vb, "changed": bool(row["differs"])})
    return out


def store_exists(project: Any) -> bool:
    """Whether a store is there to read (never create ``.mlnb/`` just to find no runs)."""
    url = project.store_url
    if url.startswith("sqlite:///"):
        return os.path.exists(url[len("sqlite:///"):])
    return True


def runs_for_version(store: Any, notebook: str, commit: str | None) -> str | None:
    """Id of the latest finished run of ``notebook`` at git ``commit`` (``None`` commit: the
    latest run of the notebook at all, for a working-tree version)."""
    def quote(s: str) -> str:
        return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"

    flt = f"notebook = {quote(notebook)}"
    if commit:
        flt += f" and git_commit = {quote(commit)}"
    runs = store.search_runs(filter=flt + " and status = 'finished'", limit=1)
    if not runs:
        runs = store.search_runs(filter=flt, limit=1)
    return runs[0].id if runs else None
