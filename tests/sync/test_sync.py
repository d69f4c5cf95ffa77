"""Paired .py sync: one side changed, both changed (merged), a conflict (nothing written),
stale outputs, the pre-commit hook, pairing/unpairing and bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlnb.cli import cli
from mlnb.sync import SyncConflictError, pair, sync, unpair
from tests.nbdiff.conftest import code, md, nb, stream, write


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def paired(project_dir: Path) -> Path:
    write(project_dir / "train.ipynb", nb(
        md("# Train", id="m"),
        code("lr = 0.1", [stream("set\n")], id="p", ec=1),
        code("model = fit(lr)\nprint(model)", [stream("acc 0.9\n")], id="f", ec=2),
        kernelspec={"name": "python3", "display_name": "Python 3", "language": "python"}))
    r = invoke("sync", "pair", "train.ipynb")
    assert r.exit_code == 0, r.output
    return project_dir


def cells(root: Path) -> list[dict]:
    return json.loads((root / "train.ipynb").read_text())["cells"]


def src(c: dict) -> str:
    return "".join(c["source"])


def test_pair_writes_percent_file_with_jupytext_metadata(paired: Path) -> None:
    text = (paired / "train.py").read_text()
    assert "formats: ipynb,py:percent" in text and "# %% [markdown]\n# # Train" in text
    meta = json.loads((paired / "train.ipynb").read_text())["metadata"]
    assert meta["jupytext"]["formats"] == "ipynb,py:percent"
    assert invoke("sync").output.strip() == "1 pair(s) up to date."


def test_only_the_py_changed_updates_notebook_and_drops_stale_outputs(paired: Path) -> None:
    py = paired / "train.py"
    py.write_text(py.read_text().replace("lr = 0.1", "lr = 0.2"))
    r = invoke("sync")
    assert r.exit_code == 0 and "lost stale outputs" in r.output
    c = cells(paired)
    assert src(c[1]) == "lr = 0.2" and c[1]["outputs"] == []
    assert c[1]["metadata"]["mlnb"]["stale_outputs"] is True
    assert c[2]["outputs"][0]["text"] == ["acc 0.9\n"] and c[1]["id"] == "p"  # kept
    assert "mlnb" not in py.read_text()  # mlnb's cell state stays out of the text


def test_only_the_notebook_changed_rewrites_the_py(paired: Path) -> None:
    nbj = json.loads((paired / "train.ipynb").read_text())
    nbj["cells"].append({"cell_type": "code", "id": "n", "metadata": {}, "source": ["plot()"],
                         "execution_count": None, "outputs": []})
    write(paired / "train.ipynb", nbj)
    r = invoke("sync", "train.ipynb")
    assert "wrote train.py" in r.output
    assert (paired / "train.py").read_text().rstrip().endswith("# %%\nplot()")


def test_both_changed_without_conflict_merges(paired: Path) -> None:
    py = paired / "train.py"
    py.write_text(py.read_text().replace("lr = 0.1", "lr = 0.3"))
    nbj = json.loads((paired / "train.ipynb").read_text())
    nbj["cells"][2]["source"] = ["model = fit(lr, epochs=5)\n", "print(model)"]
    write(paired / "train.ipynb", nbj)  # newer mtime: jupytext would drop the .py edit
    r = invoke("sync")
    assert r.exit_code == 0, r.output
    c = cells(paired)
    assert src(c[1]) == "lr = 0.3" and src(c[2]) == "model = fit(lr, epochs=5)\nprint(model)"
    text = py.read_text()
    assert "lr = 0.3" in text and "epochs=5" in text


def test_conflict_is_reported_and_nothing_is_overwritten(paired: Path) -> None:
    py = paired / "train.py"
    py.write_text(py.read_text().replace("lr = 0.1", "lr = 0.3"))
    nbj = json.loads((paired / "train.ipynb").read_text())
    nbj["cells"][1]["source"] = ["lr = 0.4"]
    write(paired / "train.ipynb", nbj)
    before = (py.read_text(), (paired / "train.ipynb").read_text())
    r = invoke("sync")
    assert r.exit_code == 1
    assert "train.ipynb: cell 1 (id p): source conflict" in r.output
    assert (py.read_text(), (paired / "train.ipynb").read_text()) == before
    with pytest.raises(SyncConflictError) as e:
        sync(None)
    assert list(e.value.conflicts) == ["train.ipynb"]
    r = invoke("sync", "--prefer", "text")
    assert r.exit_code == 0 and src(cells(paired)[1]) == "lr = 0.3"


def test_no_record_and_different_sides_asks_for_a_side(paired: Path) -> None:
    (paired / ".mlnb" / "sync.json").unlink()  # a fresh clone: .mlnb/ is not committed
    py = paired / "train.py"
    py.write_text(py.read_text().replace("lr = 0.1", "lr = 0.9"))
    r = invoke("sync")
    assert r.exit_code == 1 and "--prefer" in r.output
    assert invoke("sync", "--prefer", "ipynb").exit_code == 0
    assert "lr = 0.1" in py.read_text()


def test_pre_commit_hook_fails_only_when_it_changed_something(paired: Path) -> None:
    hooks = (Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml").read_text()
    assert "mlnb sync --fail-on-change" in hooks
    r = invoke("sync", "--fail-on-change", "train.py", "other.py")
    assert r.exit_code == 0
    py = paired / "train.py"
    py.write_text(py.read_text().replace("lr = 0.1", "lr = 0.2"))
    r = invoke("sync", "--fail-on-change", "train.py")
    assert r.exit_code == 1 and "review and `git add`" in r.output
    assert invoke("sync", "--fail-on-change", "train.py").exit_code == 0


def test_text_only_creates_notebook_and_unpair(paired: Path) -> None:
    (paired / "train.ipynb").unlink()
    r = invoke("sync", "train.ipynb")
    assert "created train.ipynb" in r.output and src(cells(paired)[1]) == "lr = 0.1"
    r = invoke("sync", "unpair", "train.ipynb")
    assert r.exit_code == 0 and "train.py kept" in r.output
    assert "jupytext" not in json.loads((paired / "train.ipynb").read_text())["metadata"]
    assert invoke("sync").output.startswith("No paired notebooks")


def test_bad_input(project_dir: Path) -> None:
    (project_dir / "bad.ipynb").write_text("{")
    r = invoke("sync", "pair", "bad.ipynb")
    assert r.exit_code == 2 and "not valid JSON" in r.output
    r = invoke("sync", "pair", "missing.ipynb")
    assert r.exit_code == 2 and "no such file" in r.output
    r = invoke("sync", "unpair", "bad.ipynb")
    assert r.exit_code == 2
    write(project_dir / "a.ipynb", nb(code("x = 1", id="a")))
    (project_dir / "a.py").write_text("# %%\nsomething_else = 2\n")
    r = invoke("sync", "pair", "a.ipynb")
    assert r.exit_code == 2 and "already exists" in r.output
    assert (project_dir / "a.py").read_text() == "# %%\nsomething_else = 2\n"
    with pytest.raises(Exception):
        pair(project_dir / "a.py")
    with pytest.raises(Exception):
        unpair(project_dir / "a.ipynb")
