"""%load_ext mlnb in real kernels: what is stored, cell by cell."""

from __future__ import annotations

import json
import os

import nbformat
import pytest
from nbclient import NotebookClient

import mlnb
from mlnb.tracking import open_store

pytestmark = pytest.mark.kernel


def run_notebook(project_dir, sources, name="nb.ipynb", allow_errors=True, env_notebook=True,
                 monkeypatch=None):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    path = project_dir / name
    nbformat.write(nb, path)
    if env_notebook and monkeypatch is not None:
        monkeypatch.setenv("MLNB_NOTEBOOK", name)
    NotebookClient(nb, allow_errors=allow_errors, kernel_name="python3", timeout=60).execute(
        cwd=str(project_dir)
    )
    return nb


def outputs_text(cell):
    parts = []
    for o in cell.outputs:
        if o.output_type == "stream":
            parts.append(o.text)
        elif o.output_type == "error":
            parts.append(f"{o.ename}: {o.evalue}")
        elif "data" in o:
            parts.append(o.data.get("text/plain", ""))
            parts.append(o.data.get("text/html", ""))
    return "\n".join(parts)


def only_run():
    runs = mlnb.runs()
    assert len(runs) == 1, [r.name for r in runs]
    return runs[0]


def test_every_cell_execution_is_recorded_with_its_data(project_dir, monkeypatch):
    nb = run_notebook(project_dir, [
        "%load_ext mlnb",
        "import mlnb\nmlnb.log_param('lr', 0.1)",
        "for i in range(3):\n    mlnb.log_metric('acc', 0.5 + i / 10, step=i)",
        "x = 1\nraise ValueError('bad input')",
        "mlnb.log_metric('after_error', 1)",
    ], monkeypatch=monkeypatch)
    run = only_run()
    assert run.name == "nb.ipynb" and run.notebook == "nb.ipynb" and run.source == "kernel"
    assert run.params == {"lr": 0.1}
    assert run.metrics == {"acc": pytest.approx(0.7), "after_error": 1.0}
    cells = open_store().cell_executions(run.id)
    code_cells = nb.cells[1:]
    assert [c["cell_id"] for c in cells] == [c.id for c in code_cells]
    assert [c["source"] for c in cells] == [c.source for c in code_cells]
    assert [c["execution_count"] for c in cells] == [c.execution_count for c in code_cells]
    assert [c["status"] for c in cells] == ["ok", "ok", "error", "ok"]
    assert cells[2]["error_name"] == "ValueError" and cells[2]["error_message"] == "bad input"
    assert cells[0]["params"] == {"lr": 0.1}
    assert cells[1]["metrics"] == {"acc": pytest.approx(0.7)}
    assert cells[3]["metrics"] == {"after_error": 1.0}
    assert all(c["duration"] is not None and c["duration"] >= 0 for c in cells)
    # the same source gives the same hash; a different source a different one
    assert len({c["source_hash"] for c in cells}) == 4


def test_magics(project_dir, monkeypatch):
    nb = run_notebook(project_dir, [
        "%load_ext mlnb",
        "%mlnb param lr=0.01 opt=adam layers=[1,2]",
        "%mlnb metric loss=0.25 acc=0.8 --step 3",
        "%mlnb tag stage=train",
        "%mlnb watch score\nscore = 0.5",
        "score = 0.5",     # unchanged: not logged again
        "score = 0.75",
        "%mlnb runs metrics.acc > 0.5",
        "%mlnb metric loss=high",
        "%mlnb frobnicate",
        "%mlnb param novalue",
        "%mlnb run end",
        "%mlnb run start --name second",
        "%mlnb metric acc=0.9",
    ], monkeypatch=monkeypatch)
    runs = mlnb.runs(order_by="start_time")
    assert [r.name for r in runs] == ["nb.ipynb", "second"]
    first, second = runs
    assert first.status == "finished"
    assert first.params == {"lr": 0.01, "opt": "adam", "layers": [1, 2]}
    assert first.tags == {"stage": "train"}
    assert first.metrics == {"loss": 0.25, "acc": 0.8, "score": 0.75}
    score = open_store().metric_history(first.id, "score")
    assert [p.value for p in score] == [0.5, 0.75]
    assert open_store().metric_history(first.id, "acc")[0].step == 3
    table = nb.cells[7]
    html = table.outputs[0].data["text/html"]
    assert "nb.ipynb" in html and "<table" in html
    for idx, fragment in ((8, "must be a number"), (9, "unknown command 'frobnicate'"),
                          (10, "expected key=value")):
        text = outputs_text(nb.cells[idx]).strip()
        # one line, no traceback into mlnb internals
        assert text.startswith("UsageError: ") and len(text.splitlines()) == 1, text
        assert fragment in text and "Traceback" not in text
    assert second.metrics == {"acc": 0.9} and second.status == "finished"  # kernel shut down cleanly


def test_params_cell_magic_and_changed_params_start_a_new_run(project_dir, monkeypatch):
    run_notebook(project_dir, [
        "%load_ext mlnb",
        "%%mlnb params\nlr = 0.1\nepochs: int = 3\n_private = 1",
        "%%mlnb params\nlr = 0.1\nepochs: int = 3",   # same values: same run
        "%%mlnb params\nlr = 0.2\nepochs: int = 3",   # new values: a new run
    ], monkeypatch=monkeypatch)
    runs = mlnb.runs(order_by="start_time")
    assert [r.params for r in runs] == [{"lr": 0.1, "epochs": 3}, {"lr": 0.2, "epochs": 3}]
    assert runs[0].status == "finished"


def test_rerun_cell_keeps_history_and_badges_show_last(project_dir, monkeypatch):
    """Cells re-executed (same cell id) keep every execution; the notebook view gets the last."""
    from jupyter_client.manager import start_new_kernel

    monkeypatch.setenv("MLNB_NOTEBOOK", "live.ipynb")
    km, kc = start_new_kernel(kernel_name="python3")
    try:
        def execute(code, cell_id):
            msg = kc.session.msg("execute_request", {
                "code": code, "silent": False, "store_history": True, "user_expressions": {},
                # stop_on_error would make ipykernel abort requests that arrive right after an error
                "allow_stdin": False, "stop_on_error": False,
            })
            msg["metadata"]["cellId"] = cell_id   # what JupyterLab sends
            kc.shell_channel.send(msg)
            reply = kc.get_shell_msg(timeout=60)
            assert reply["content"]["status"] in ("ok", "error"), reply["content"]
            return reply["content"]

        execute("%load_ext mlnb", "c-load")
        execute("import mlnb\nmlnb.log_metric('acc', 0.5)", "c-train")
        execute("import mlnb\nmlnb.log_metric('acc', 0.75)", "c-train")
        execute("undefined_name", "c-bad")
        execute("import mlnb; mlnb.flush()", "c-flush")
    finally:
        kc.stop_channels()
        km.shutdown_wait_time = 120  # a loaded CI machine must not turn a clean exit into a kill
        km.shutdown_kernel(now=False)
    store = open_store()
    run = only_run()
    assert run.status == "finished"  # the kernel shut down cleanly
    cells = store.cell_executions(run.id)
    assert [c["cell_id"] for c in cells] == ["c-train", "c-train", "c-bad", "c-flush"]
    assert [c["metrics"] for c in cells[:2]] == [{"acc": 0.5}, {"acc": 0.75}]
    assert run.notebook == "live.ipynb"
    view = store.notebook_cells("live.ipynb")["cells"]
    assert view["c-train"]["metrics"] == {"acc": 0.75}
    assert view["c-bad"]["status"] == "error"


def test_adopts_a_run_created_by_a_runner(project_dir, monkeypatch):
    runner_run = mlnb.start_run(name="headless", params={"lr": 0.3})
    mlnb.flush()
    monkeypatch.setenv("MLNB_RUN_ID", runner_run.id)
    run_notebook(project_dir, [
        "%load_ext mlnb",
        "import mlnb\nmlnb.log_metric('acc', 0.9)\nmlnb.log_param('lr', 0.3)",
        "mlnb.log_param('lr', 0.4)",
    ], monkeypatch=monkeypatch)
    run = mlnb.get_run(runner_run.id)
    assert len(mlnb.runs()) == 1
    assert run.status == "running"  # the kernel never ends an adopted run; the runner does
    assert run.metrics == {"acc": 0.9} and run.params == {"lr": 0.3}
    cells = open_store().cell_executions(run.id)
    assert cells[-1]["error_name"] == "ParamConflictError"


def test_session_name_from_jupyter_server(project_dir, monkeypatch):
    sub = project_dir / "nbs"
    sub.mkdir()
    monkeypatch.setenv("JPY_SESSION_NAME", str(sub / "explore.ipynb"))
    run_notebook(project_dir, ["%load_ext mlnb", "import mlnb; mlnb.log_metric('m', 1)"],
                 env_notebook=False)
    run = only_run()
    assert run.notebook == "nbs/explore.ipynb" and run.name == "explore.ipynb"


def test_plain_papermill_injected_parameters_become_params(project_dir, monkeypatch):
    papermill = pytest.importorskip("papermill")
    nb = nbformat.v4.new_notebook()
    # A defaults cell whose comment starts "# Parameters:" is not papermill's injected cell.
    params = nbformat.v4.new_code_cell("# Parameters: the defaults\nlr = 0.1\nepochs = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_code_cell("%load_ext mlnb"), params,
                nbformat.v4.new_code_cell("import mlnb\nmlnb.log_metric('acc', lr * 2)")]
    nbformat.write(nb, project_dir / "pm.ipynb")
    monkeypatch.setenv("MLNB_NOTEBOOK", "pm.ipynb")
    papermill.execute_notebook(str(project_dir / "pm.ipynb"), str(project_dir / "pm.out.ipynb"),
                               parameters={"lr": 0.25, "epochs": 4}, progress_bar=False,
                               kernel_name="python3", language="python")
    run = only_run()
    assert run.params == {"lr": 0.25, "epochs": 4}
    assert run.metrics == {"acc": 0.5}
    out = nbformat.read(project_dir / "pm.out.ipynb", as_version=4)
    assert not any("mlnb:" in outputs_text(c) for c in out.cells if c.cell_type == "code")
