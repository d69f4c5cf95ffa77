"""Prepare a project folder for the browser tests: notebooks EXECUTED with tracking on.

Usage: python seed_project.py PROJECT_DIR

Writes ``train.ipynb``, ``tune.ipynb`` and ``scratch.ipynb`` (same code, other learning
rates), executes each with nbclient in a real kernel whose first cell is ``%load_ext mlnb``
(MLNB_PROJECT and MLNB_NOTEBOOK point the kernel at the project) and saves the executed
notebooks in place (so their cell ids match what the store recorded). Then logs one more
run from Python whose name and params are hostile HTML, and checks through the tracking
core that the store holds all of it: params, stepped metrics, cell executions. Any gap
fails here, with the store's answer, rather than as a timeout in the browser.

Last (no runs recorded): a two-stage ``mlnb.yaml`` (pipeline/prep.ipynb → report.ipynb),
``params.ipynb`` with a parameters cell, and a git repository where ``diffme.ipynb`` is
committed and then edited, for the Pipeline, run-with-parameters and diff tests; and
``pinned.ipynb`` whose metadata pins ``data/labels.csv``, replaced since (a drifted pin) for the
Data panel test.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

SOURCES = [
    "%load_ext mlnb",
    "import os\nimport mlnb\n\nlr = float(os.environ.get('SEED_LR', '0.1'))\nepochs = 5",
    "mlnb.log_param('lr', lr)\nmlnb.log_param('epochs', epochs)\nmlnb.log_param('optimizer', 'sgd')",
    # The metric cell: the badge and the charts come from here.
    "loss, acc = 1.0, 0.5\n"
    "for step in range(epochs):\n"
    "    loss = loss * (1 - lr * 4)\n"
    "    acc = acc + (1 - acc) * lr * 4\n"
    "    mlnb.log_metric('loss', round(loss, 4), step=step)\n"
    "    mlnb.log_metric('acc', round(acc, 4), step=step)\n"
    "print(f'acc={acc:.4f} loss={loss:.4f}')",
    "print('done')",
]

# train/tune are compared and filtered; scratch is the one the delete test removes.
RUNS = [("train.ipynb", "0.1"), ("tune.ipynb", "0.02"), ("scratch.ipynb", "0.05")]


def make_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, src in enumerate(SOURCES):
        cell = nbformat.v4.new_code_cell(src)
        cell.id = f"cell-{i}"  # stable ids the tests can name
        nb.cells.append(cell)
    return nb


def execute(project: Path, name: str, lr: str) -> None:
    path = project / name
    nb = make_notebook()
    nbformat.write(nb, path)
    env_before = dict(os.environ)
    os.environ.update(
        MLNB_PROJECT=str(project), MLNB_NOTEBOOK=name, SEED_LR=lr,
        # The kernel must not pick up a run id from the environment of whoever runs this.
    )
    os.environ.pop("MLNB_RUN_ID", None)
    os.environ.pop("MLNB_PARENT_RUN_ID", None)
    try:
        client = NotebookClient(nb, timeout=120, kernel_name="python3",
                                resources={"metadata": {"path": str(project)}})
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    nbformat.write(nb, path)


# A run whose every text field is hostile HTML: the UI must show it as text.
HOSTILE_NAME = '<img src=x onerror="window.__mlnbPwned=1">'
HOSTILE_PARAM = '<script>window.__mlnbPwned=2</script><b>bold</b>'


def log_hostile_run(project: Path) -> None:
    """One run logged in this process through the Python API (no kernel, no notebook)."""
    os.environ["MLNB_PROJECT"] = str(project)
    import mlnb

    with mlnb.start_run(name=HOSTILE_NAME, params={"note": HOSTILE_PARAM},
                        tags={"kind": "<i>tag</i>"}):
        mlnb.log_metric("acc", 0.5, step=0)
        mlnb.log_metric("loss", 1.0, step=0)
    mlnb.flush()


def check(project: Path) -> None:
    os.environ["MLNB_PROJECT"] = str(project)
    from mlnb.tracking import open_store

    store = open_store()
    runs = store.search_runs()
    problems = []
    if len(runs) != len(RUNS) + 1:
        problems.append(f"expected {len(RUNS) + 1} runs, the store has {len(runs)}")
    hostile = [r for r in runs if r.name == HOSTILE_NAME]
    if len(hostile) != 1 or hostile[0].params.get("note") != HOSTILE_PARAM:
        problems.append(f"the hostile-text run was not stored as given: {hostile}")
    for run in runs:
        if run.name == HOSTILE_NAME:
            continue
        detail = store.run_detail(run.id)
        execs = detail.get("cell_executions", [])
        if "lr" not in run.params:
            problems.append(f"run {run.id}: no 'lr' param ({run.params})")
        if {"acc", "loss"} - set(run.metrics):
            problems.append(f"run {run.id}: metrics {run.metrics}")
        history = store.metric_history(run.id, "acc")
        if len(history) < 5:
            problems.append(f"run {run.id}: acc history has {len(history)} points")
        if len(execs) < len(SOURCES) - 1:
            problems.append(f"run {run.id}: {len(execs)} cell executions")
        if not any(e.get("cell_id") == "cell-3" and e.get("metrics") for e in execs):
            problems.append(f"run {run.id}: no metrics recorded on cell-3: {execs}")
    cells = store.notebook_cells("train.ipynb")
    if "cell-3" not in cells.get("cells", {}):
        problems.append(f"notebook_cells('train.ipynb') has no cell-3: {cells}")
    if problems:
        raise SystemExit("seeding the UI-test project failed:\n  " + "\n  ".join(problems))
    print(json.dumps({r.name: {"id": r.id, "status": r.status, "metrics": r.metrics}
                      for r in runs}, indent=1))


def plain_notebook(cells: list[str], parameters: str | None = None) -> dict:
    """A small unexecuted notebook as JSON, with stable cell ids ("p" for the parameters)."""
    out = []
    if parameters is not None:
        out.append({"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]},
                    "source": parameters, "outputs": [], "execution_count": None})
    out += [{"cell_type": "code", "id": f"c{i}", "metadata": {}, "source": src, "outputs": [],
             "execution_count": None} for i, src in enumerate(cells)]
    return {"cells": out, "nbformat": 4, "nbformat_minor": 5, "metadata": {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}}}


PIPELINE = """\
stages:
  prep:
    notebook: pipeline/prep.ipynb
    params: {n: 3}
    outs: [pipeline/data.txt]
  report:
    notebook: pipeline/report.ipynb
    deps: [pipeline/data.txt]
    outs: [pipeline/report.txt]
"""


def seed_tools(project: Path) -> None:
    """What the Pipeline, run-with-parameters and diff tests use; written after the tracked
    runs so the Experiments tests see only those. No run is recorded here."""
    import subprocess

    folder = project / "pipeline"
    folder.mkdir(exist_ok=True)
    (folder / "prep.ipynb").write_text(json.dumps(plain_notebook(
        ["open('pipeline/data.txt', 'w').write('x' * n)\nprint('prep wrote', n)"], parameters="n = 1")))
    (folder / "report.ipynb").write_text(json.dumps(plain_notebook(
        ["open('pipeline/report.txt', 'w').write(str(len(open('pipeline/data.txt').read())))"])))
    (project / "mlnb.yaml").write_text(PIPELINE)
    (project / "params.ipynb").write_text(json.dumps(plain_notebook(
        ["open('params_out.txt', 'w').write(greeting * repeat)\nprint('said', greeting * repeat)"],
        parameters="greeting = 'hi'  # what to say\nrepeat: int = 2")))
    # diffme.ipynb: committed, then edited in the work tree (the diff test's "changed cell")
    diffme = project / "diffme.ipynb"
    diffme.write_text(json.dumps(plain_notebook(["alpha = 1", "print('unchanged')"])))
    git = ["git", "-c", "user.name=mlnb-ui", "-c", "user.email=ui@mlnb.invalid",
           "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false"]
    env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run([*git, "init", "-q"], cwd=project, check=True, env=env)
    subprocess.run([*git, "add", "diffme.ipynb"], cwd=project, check=True, env=env)
    subprocess.run([*git, "commit", "-q", "-m", "diffme"], cwd=project, check=True, env=env)
    diffme.write_text(json.dumps(plain_notebook(["alpha = 2", "print('unchanged')"])))


def seed_data(project: Path) -> None:
    """pinned.ipynb pins data/labels.csv, which is then replaced: a drifted pin (no run)."""
    from mlnb.data import pin
    from mlnb.project import Project

    (project / "data").mkdir(exist_ok=True)
    labels = project / "data" / "labels.csv"
    labels.write_text("id,label\n1,cat\n")
    notebook = project / "pinned.ipynb"
    notebook.write_text(json.dumps(plain_notebook(["print(open('data/labels.csv').read())"])))
    pin([labels], project=Project(project), notebook=notebook, note="v1 labels")
    labels.unlink()  # a new file: the pinned one may be a read-only hardlink into the cache
    labels.write_text("id,label\n1,dog\n")
    # pinme.ipynb pins a file from a cell: the pin must reach the OPEN notebook's metadata
    (project / "data" / "features.csv").write_text("x,y\n1,2\n")
    (project / "pinme.ipynb").write_text(json.dumps(plain_notebook(
        # No tracked run from this kernel: the Experiments tests count the seeded runs exactly.
        ["import os; os.environ['MLNB_TRACKING'] = 'off'", "%load_ext mlnb",
         "%mlnb pin data/features.csv --note 'from a cell'"])))


def main() -> None:
    project = Path(sys.argv[1]).resolve()
    project.mkdir(parents=True, exist_ok=True)
    (project / ".mlnb").mkdir(exist_ok=True)
    for name, lr in RUNS:
        execute(project, name, lr)
    log_hostile_run(project)
    check(project)
    seed_tools(project)
    seed_data(project)


if __name__ == "__main__":
    main()
