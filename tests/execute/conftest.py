"""Helpers for building notebooks in execute tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook


def build_notebook(
    path: Path,
    cells: list[Any],
    parameters: str | None = None,
    kernel: str = "python3",
) -> Path:
    """Write a notebook: ``cells`` are code sources (str) or ready cells; ``parameters`` is the
    source of a cell tagged 'parameters' placed first."""
    nb = new_notebook()
    nb.metadata.kernelspec = {"name": kernel, "language": "python", "display_name": "Python 3"}
    if parameters is not None:
        nb.cells.append(new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    for c in cells:
        nb.cells.append(new_code_cell(c) if isinstance(c, str) else c)
    nbformat.write(nb, path)
    return path


@pytest.fixture
def make_nb(project_dir: Path):
    def make(name: str, cells: list[Any], parameters: str | None = None, **kw: Any) -> Path:
        return build_notebook(project_dir / name, cells, parameters, **kw)

    return make


