"""Read capture in a real kernel: open, pandas, numpy and pyarrow reads are recorded with their
hashes; a pinned file that drifted prints a warning in the cell that read it."""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

import mlnb
from mlnb.data._hashing import hash_bytes
from mlnb.data._reads import run_reads
from mlnb.project import Project

pytestmark = pytest.mark.kernel

# %load_ext mlnb itself must switch read capture on.
INSTALL = ("from mlnb.kernel import _reads\n"
           "assert _reads.recorder() is not None, '%load_ext mlnb did not install read capture'")


def _text(cell) -> str:
    out = []
    for o in cell.outputs:
        if o.output_type == "stream":
            out.append(o.text)
        elif "data" in o:
            out.append(o.data.get("text/plain", ""))
        elif o.output_type == "error":
            out.append(f"{o.ename}: {o.evalue}")
    return "\n".join(out)


def test_reads_are_captured_and_drift_is_warned(project_dir, monkeypatch):
    pd = pytest.importorskip("pandas")
    np = pytest.importorskip("numpy")
    pytest.importorskip("pyarrow")
    data = project_dir / "data"
    data.mkdir()
    (data / "a.txt").write_text("hello")
    (data / "t.csv").write_text("x,y\n1,2\n")
    np.save(data / "arr.npy", np.arange(3))
    pd.DataFrame({"x": [1, 2]}).to_parquet(data / "t.parquet")
    (data / "via_arrow.parquet").write_bytes((data / "t.parquet").read_bytes() + b"")
    monkeypatch.setenv("MLNB_NOTEBOOK", "nb.ipynb")
    cells = [
        "%load_ext mlnb",
        INSTALL,
        "open('data/a.txt').read()",
        "import pandas as pd\ndf = pd.read_csv('data/t.csv')",
        "import numpy as np\narr = np.load('data/arr.npy')",
        "import pyarrow.parquet as pq\nt = pq.read_table('data/via_arrow.parquet')",
        "%mlnb pin data/t.csv",
        "with open('data/t.csv', 'w') as f:\n    f.write('x,y\\n9,9\\n')",
        "df = pd.read_csv('data/t.csv')",
        "%mlnb data status",
        "%mlnb data reads",
        "df2 = pd.read_parquet('data/t.parquet')",
    ]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in cells]
    nbformat.write(nb, project_dir / "nb.ipynb")
    NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True).execute(
        cwd=str(project_dir))
    outs = [_text(c) for c in nb.cells]
    assert not any("Error" in o for o in outs), outs
    assert "pinned data/t.csv" in outs[6]
    assert "WARNING: data/t.csv has drifted from its pin" in outs[8]
    assert "mlnb data checkout data/t.csv" in outs[8]
    assert "drifted" not in outs[3]  # the read before the pin: no warning
    assert "modified  data/t.csv" in outs[9]
    assert "drifted" in outs[10]
    # The write in cell 7 is not a read.
    [run] = mlnb.runs()
    reads = {r["path"]: r for r in run_reads(Project(project_dir), run.id)}
    assert set(reads) == {"data/a.txt", "data/t.csv", "data/arr.npy", "data/via_arrow.parquet",
                          "data/t.parquet"}
    assert reads["data/a.txt"]["hash"] == hash_bytes(b"hello")
    assert reads["data/t.csv"]["hash"] == hash_bytes(b"x,y\n9,9\n")  # the drifted content
    assert all(r["cell_execution_id"] for r in reads.values())


def test_notebook_data_lists_pins_and_unpinned_reads(project_dir, monkeypatch):
    from mlnb.data._reads import notebook_data

    (project_dir / "a.csv").write_text("a")
    (project_dir / "b.csv").write_text("b")
    monkeypatch.setenv("MLNB_NOTEBOOK", "nb.ipynb")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in [
        "%load_ext mlnb", INSTALL, "open('a.csv').read(); open('b.csv').read()"]]
    nbformat.write(nb, project_dir / "nb.ipynb")
    from mlnb.data import pin

    pin(["a.csv"], project=Project(project_dir), notebook=project_dir / "nb.ipynb")
    nb = nbformat.read(project_dir / "nb.ipynb", as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=120).execute(cwd=str(project_dir))
    out = notebook_data(Project(project_dir), "nb.ipynb")
    assert [(p["path"], p["state"]) for p in out["pins"]] == [("a.csv", "ok")]
    assert [r["path"] for r in out["unpinned_reads"]] == ["b.csv"]
    from mlnb.errors import PathOutsideRootError

    with pytest.raises(PathOutsideRootError):
        notebook_data(Project(project_dir), "../x.ipynb")
