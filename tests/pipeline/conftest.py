"""Pipeline test helpers: tiny stage notebooks written as plain JSON, and an mlnb.yaml writer."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest


def write_nb(path: Path, cells: list[str], parameters: str | None = None, kernel: str = "python3") -> Path:
    """A minimal nbformat 4.5 notebook: an optional cell tagged 'parameters', then code cells."""
    out = []
    if parameters is not None:
        out.append({"cell_type": "code", "id": "params", "metadata": {"tags": ["parameters"]},
                    "source": parameters, "outputs": [], "execution_count": None})
    for i, src in enumerate(cells):
        out.append({"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": src,
                    "outputs": [], "execution_count": None})
    nb = {"cells": out, "metadata": {"kernelspec": {"name": kernel, "language": "python",
                                                    "display_name": "Python 3"}},
          "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1))
    return path


@pytest.fixture
def proj(project_dir: Path):
    """The project folder with helpers: ``proj.nb(name, cells, parameters)``, ``proj.yaml(text)``."""

    class P:
        root = project_dir

        def nb(self, name: str, cells: list[str], parameters: str | None = None, **kw: Any) -> Path:
            return write_nb(project_dir / name, cells, parameters, **kw)

        def yaml(self, text: str) -> Path:
            p = project_dir / "mlnb.yaml"
            p.write_text(textwrap.dedent(text))
            return p

        def project(self):
            from mlnb.project import Project

            return Project(project_dir)

    return P()
