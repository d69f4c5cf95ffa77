"""An untracked execution records nothing, even when the notebook loads mlnb itself."""

from __future__ import annotations

import nbformat
import pytest

import mlnb
from mlnb.execute import execute_notebook

pytestmark = pytest.mark.kernel


def test_no_track_silences_the_notebooks_own_tracking(project_dir):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (
        "%load_ext mlnb",
        "import mlnb\nmlnb.log_metric('acc', 0.9)\nmlnb.log_param('lr', 0.1)",
        "%mlnb metric loss=0.1",
    )]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, project_dir / "self_tracking.ipynb")
    result = execute_notebook(project_dir / "self_tracking.ipynb",
                              project_dir / "out.ipynb", track=False, progress=False)
    result.raise_for_error()
    assert result.run_id is None
    assert list(mlnb.runs()) == []

    tracked = execute_notebook(project_dir / "self_tracking.ipynb", project_dir / "t.ipynb",
                               track=True, progress=False)
    tracked.raise_for_error()
    # the runner loaded mlnb first; the notebook's own %load_ext prints no "already loaded"
    executed = nbformat.read(project_dir / "t.ipynb", as_version=4)
    assert executed.cells[0].outputs == []
    runs = mlnb.runs()
    assert [r.id for r in runs] == [tracked.run_id]
    assert runs[0].metrics == {"acc": 0.9, "loss": 0.1}
