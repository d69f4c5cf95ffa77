"""Notebook diff, merge, run diff and git drivers.

Notebooks are plain dicts read as JSON (:func:`read_notebook`), never through nbformat, so the
git drivers start fast. Public surface:

- :func:`diff_notebooks` (JSON-able dict for a frontend: nbdime's ``{base, diff}`` plus mlnb's
  per-cell view), :func:`compute_diff` (a :class:`NotebookDiff`), :class:`DiffOptions`;
- :func:`render_terminal`, :func:`render_html`;
- :func:`merge_notebooks` → :class:`MergeResult`;
- :func:`run_diff` (params and final metrics of two tracked runs).
"""

from __future__ import annotations

from typing import Any

from mlnb.nbdiff._diff import DiffOptions, NotebookDiff, compute_diff
from mlnb.nbdiff._io import NotebookReadError, dumps, loads, read_notebook, write_notebook
from mlnb.nbdiff._merge import Conflict, MergeResult, OUTPUT_STRATEGIES, merge_notebooks
from mlnb.nbdiff._render import render_html, render_terminal

__all__ = [
    "Conflict", "DiffOptions", "MergeResult", "NotebookDiff", "NotebookReadError",
    "OUTPUT_STRATEGIES", "compute_diff", "diff_notebooks", "dumps", "loads", "merge_notebooks",
    "read_notebook", "render_html", "render_terminal", "run_diff", "write_notebook",
]


def diff_notebooks(a: dict[str, Any], b: dict[str, Any], **options: Any) -> dict[str, Any]:
    """JSON-able diff of two notebooks: ``{"base", "diff" (nbdime format), "cells",
    "metadata", "counts"}``. Options are :class:`DiffOptions` fields."""
    return compute_diff(a, b, DiffOptions(**options)).to_dict()


def run_diff(run_a: str, run_b: str, store: Any = None) -> dict[str, Any]:
    """Params and final metrics of two runs side by side (see :mod:`mlnb.nbdiff._runs`)."""
    from mlnb.nbdiff._runs import run_diff as _run_diff

    return _run_diff(run_a, run_b, store)
