"""Headless execution in real kernels: results, failures, timeouts, saving, streaming, tracking."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

import mlnb.execute._runner as runner_mod
from mlnb.errors import UsageError
from mlnb.cli.exec_cmd import exec_cmd
from mlnb.execute import (
    CellExecutionFailed,
    CellTimeoutError,
    KernelDiedError,
    KernelStartError,
    ParameterError,
    Reporter,
    execute_notebook,
    execute_notebooks,
)
from mlnb.execute._runner import Saver
from mlnb.tracking import open_store

from nbformat.v4 import new_markdown_cell

pytestmark = pytest.mark.kernel

PARAMS = "lr: float = 0.1  # learning rate\nepochs = 2\nname = 'base'\n"


def read(path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def text_of(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o["output_type"] == "stream":
            parts.append(o["text"])
        elif o["output_type"] == "error":
            parts.append(f"{o['ename']}: {o['evalue']}")
        elif "data" in o:
            parts.append(o["data"].get("text/plain", ""))
    return "".join(parts)


class Recorder(Reporter):
    """Records the runner's events in order."""

    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.log_output = True

    def start(self, notebook, total):
        self.events.append(("start", notebook, total))

    def cell_start(self, number, total, cell):
        self.events.append(("cell_start", number))

    def cell_end(self, number, total, cell, status, duration, error=None):
        self.events.append(("cell_end", number, status))

    def output(self, output):
        self.events.append(("output", output.get("text") or output.get("data", {}).get("text/plain")))

    def message(self, text):
        self.events.append(("message", text))

    def finish(self, status, duration):
        self.events.append(("finish", status))


# -- nothing starts a kernel before the input is known to be good ------------------------------


@pytest.fixture
def no_kernels(monkeypatch):
    """Fail the test if anything tries to start a kernel."""
    import mlnb.execute._kernel as k

    def refuse(*a, **kw):
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(k, "launch", refuse)
    monkeypatch.setattr(k.KernelPool, "fill", refuse)


def test_bad_parameters_fail_before_any_kernel_starts(project_dir, make_nb, no_kernels):
    nb = make_nb("train.ipynb", ["print(lr)"], PARAMS)
    with pytest.raises(ParameterError) as exc:
        execute_notebook(nb, parameters={"lr": "fast", "epoch": 3})
    msg = str(exc.value)
    assert "lr must be float, got str 'fast'" in msg and "unknown parameter 'epoch' (did you mean 'epochs'?)" in msg
    assert "Valid parameters" in msg and "name" in msg
    with pytest.raises(ParameterError):
        execute_notebooks([nb, {"input_path": nb, "parameters": {"nope": 1}}])
    with pytest.raises(UsageError, match="Unknown execute_notebooks argument.*'paramters'"):
        execute_notebooks([{"input_path": nb, "paramters": {"lr": 1}}])
    assert open_store().count_runs() == 0  # no run recorded for input that never ran


def test_cli_usage_errors_exit_2_without_a_kernel(project_dir, make_nb, no_kernels):
    make_nb("train.ipynb", ["print(lr)"], PARAMS)
    r = CliRunner().invoke(exec_cmd, ["train.ipynb", "-p", "epochs", "many"])
    assert r.exit_code == 2, r.output
    assert "epochs must be int, got str 'many'" in r.output and "Valid parameters" in r.output
    r = CliRunner().invoke(exec_cmd, ["missing.ipynb"])
    assert r.exit_code == 2 and "Cannot read notebook" in r.output and "no such file" in r.output
    r = CliRunner().invoke(exec_cmd, ["train.ipynb", "-o", "train.ipynb"])
    assert r.exit_code == 2 and "never overwrites the source" in r.output
    (project_dir / "p.yaml").write_text("- a list\n")
    r = CliRunner().invoke(exec_cmd, ["train.ipynb", "-f", "p.yaml"])
    assert r.exit_code == 2 and "must hold a mapping" in r.output


def test_help_params_prints_the_table(project_dir, make_nb, no_kernels):
    make_nb("train.ipynb", ["print(lr)"], PARAMS)
    r = CliRunner().invoke(exec_cmd, ["train.ipynb", "--help-params"])
    assert r.exit_code == 0, r.output
    rows = [line.split() for line in r.output.splitlines()]
    assert rows[0][:3] == ["Parameters", "of", "train.ipynb"]
    assert ["lr", "float", "0.1", "learning", "rate"] in rows
    assert ["epochs", "int", "2"] in rows and ["name", "str", "'base'"] in rows


def test_saver_throttles_with_a_clock(monkeypatch):
    now = [0.0]
    monkeypatch.setattr(runner_mod.time, "monotonic", lambda: now[0])
    writes = []
    s = Saver(writes.append, interval=1.0)
    for _ in range(50):  # 50 cells within 0.5 s: nothing written yet
        now[0] += 0.01
        s.maybe("nb")
    assert writes == []
    now[0] += 0.6
    s.maybe("nb")
    s.maybe("nb")
    assert len(writes) == 1
    s.save("nb")  # the final save always happens
    assert len(writes) == 2 and s.count == 2


# -- real kernels -------------------------------------------------------------------------------


def test_cli_runs_a_tracked_notebook_with_parameters(project_dir, make_nb, monkeypatch, tmp_path):
    from mlnb.cli import cli

    # through the real command group, from elsewhere, with the project given by --project
    monkeypatch.delenv("MLNB_PROJECT")
    monkeypatch.chdir(tmp_path)
    make_nb(
        "train.ipynb",
        [
            "import os, mlnb\nprint('lr', lr, type(lr).__name__, 'epochs', epochs, 'name', name)",
            "mlnb.log_metric('acc', 0.5 + epochs / 100)",
            "print(os.getcwd(), os.environ.get('MLNB_RUN_ID'), os.environ.get('MLNB_NOTEBOOK'))",
            "lr * 2",
        ],
        PARAMS,
    )
    r = CliRunner().invoke(
        cli,
        ["-P", str(project_dir), "exec", str(project_dir / "train.ipynb"), "-p", "lr", "1", "-p", "epochs", "7",
         "-p", "name", "2024", "-o", str(project_dir / "out/train.out.ipynb"), "--progress", "lines"],
    )
    assert r.exit_code == 0, r.output
    run_id = r.output.split("Run: ")[1].split()[0]
    assert "cell 6/6 ok" in r.output  # the parameters cell, the injected one and 4 more
    out = read(project_dir / "out/train.out.ipynb")
    injected = out.cells[1]
    assert injected.metadata.tags == ["injected-parameters"]
    assert injected.source == "# Parameters\nlr = 1.0\nepochs = 7\nname = '2024'\n"
    assert text_of(out.cells[2]) == "lr 1.0 float epochs 7 name 2024\n"
    assert text_of(out.cells[4]) == f"{project_dir} {run_id} train.ipynb\n"
    assert text_of(out.cells[5]) == "2.0"
    assert out.metadata.mlnb.run_id == run_id and out.metadata.mlnb.status == "finished"
    assert out.metadata.papermill.parameters == {"lr": 1.0, "epochs": 7, "name": "2024"}
    nbformat.validate(out)
    # never touched: the source notebook
    assert len(read(project_dir / "train.ipynb").cells) == 5

    store = open_store()
    store.flush()
    detail = store.run_detail(run_id)
    assert detail["status"] == "finished" and detail["notebook"] == "train.ipynb"
    assert detail["params"] == {"lr": 1.0, "epochs": 7, "name": "2024"}
    assert detail["tags"]["mlnb.source"] == "exec"
    assert detail["metrics"] == {"acc": pytest.approx(0.57)}
    # every code cell was recorded under its nbformat id, sent with the execute request
    # (the injected cell exists only in the output, so its id cannot come from the source file)
    ids = [c.id for c in out.cells if c.cell_type == "code"]
    cells = detail["cell_executions"]
    assert [c["cell_id"] for c in cells] == ids
    assert [c["execution_count"] for c in cells] == [1, 2, 3, 4, 5, 6]
    assert all(c["status"] == "ok" for c in cells)
    assert [a["path"] for a in detail["artifacts"]] == ["train.ipynb"]
    art = read(project_dir / ".mlnb" / "artifacts" / run_id / "train.ipynb")
    assert [c.source for c in art.cells] == [c.source for c in out.cells]


def test_failing_cell_in_a_real_subprocess(project_dir, make_nb):
    make_nb(
        "fail.ipynb",
        [new_markdown_cell("# intro"), "x = 1", "def f():\n    return 1 / 0\nf()", "print('never')"],
    )
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "mlnb.cli", "exec", "fail.ipynb", "-o", "fail.out.ipynb", "--no-track"],
        cwd=project_dir, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    assert "cell 1/3 ok" in proc.stderr and "cell 2/3 error" in proc.stderr  # plain lines: not a tty
    err = proc.stderr.split("\nError: ", 1)[1]
    nb_now = read(project_dir / "fail.ipynb")
    assert err.splitlines()[0] == f"Execution of fail.ipynb stopped at cell 3 (id '{nb_now.cells[2].id}', In [2]): def f():"
    assert err.splitlines()[1] == "ZeroDivisionError: division by zero"
    assert "Executed notebook:" in proc.stdout and "Run:" not in proc.stdout
    out = read(project_dir / "fail.out.ipynb")
    top = out.cells[0]
    assert top.cell_type == "markdown" and "mlnb-error" in top.metadata.tags
    assert "An Exception was encountered at" in top.source and 'href="#mlnb-error-cell"' in top.source
    assert "In [2]" in top.source and "ZeroDivisionError: division by zero" in top.source
    anchor = out.cells[3]
    assert 'id="mlnb-error-cell"' in anchor.source and out.cells[4].source.startswith("def f()")
    assert text_of(out.cells[4]) == "ZeroDivisionError: division by zero"
    assert out.cells[5].outputs == [] and out.cells[5].execution_count is None
    assert out.metadata.mlnb.status == "failed" and out.metadata.mlnb.error.ename == "ZeroDivisionError"


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_ctrl_c_and_sigterm_stop_the_run_and_keep_the_notebook(project_dir, make_nb, signame):
    """Ctrl-C interrupts the running cell like Jupyter's stop button; SIGTERM (a CI timeout)
    kills the kernel. Either way the notebook is saved and the run ended as killed."""
    import signal

    make_nb("loop.ipynb", ["print('started')", "import time\nwhile True:\n    time.sleep(0.05)", "print('never')"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlnb.cli", "exec", "loop.ipynb", "-o", "loop.out.ipynb", "--progress", "lines"],
        cwd=project_dir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        seen = []
        for line in proc.stderr:  # wait for the first cell to finish, then send the signal
            seen.append(line)
            if line.startswith("cell 1/3 ok"):
                proc.send_signal(getattr(signal, signame))
                break
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    by = "Ctrl-C" if signame == "SIGINT" else "SIGTERM"
    assert proc.returncode == (130 if signame == "SIGINT" else 143), "".join(seen) + err
    assert "cell 2/3 interrupted" in err and f"was interrupted ({by}) at cell 2" in err
    nb = read(project_dir / "loop.out.ipynb")
    assert nb.metadata.mlnb.status == "killed"
    looping = next(c for c in nb.cells if c.source.startswith("import time"))
    errors = [o for o in looping.outputs if o.output_type == "error"]
    assert [o.ename for o in errors] == ["KeyboardInterrupt"]
    if signame == "SIGINT":  # interrupted, not killed: the kernel's own traceback
        assert any("time.sleep" in line for line in errors[0].traceback)
    run_id = out.split("Run: ")[1].split()[0]
    store = open_store()
    store.flush()
    assert store.get_run(run_id).status == "killed"


def test_throttled_saving_streaming_and_cell_ids_in_the_kernel(project_dir, make_nb, monkeypatch):
    writes = []
    real_write = runner_mod.write_notebook

    def counting_write(nb, path):
        writes.append(str(path))
        real_write(nb, path)

    monkeypatch.setattr(runner_mod, "write_notebook", counting_write)
    cells = [
        # record the cell id IPython hands to pre_run_cell listeners (what the mlnb adapter uses)
        "seen = []\nget_ipython().events.register('pre_run_cell', lambda info: seen.append(info.cell_id))",
        "print('first output')\nimport sys; print('to stderr', file=sys.stderr)",
        "'a text result'",
        *[f"v = {i}" for i in range(40)],
        "print(seen[:3])",
    ]
    path = make_nb("many.ipynb", cells)
    rec = Recorder()
    result = execute_notebook(path, "many.out.ipynb", track=False, progress=rec, save_interval=3600)
    assert result.ok and result.status == "finished"
    assert len(result.cell_timings) == 44 and all(t.status == "ok" for t in result.cell_timings)
    # one write at the end for 44 cells (the interval never elapsed); papermill writes 2 a cell
    assert writes == [str(project_dir / "many.out.ipynb")] and result.saves == 1
    # outputs arrive while their cell runs: between its start and end events
    ev = rec.events
    i2, e2 = ev.index(("cell_start", 2)), ev.index(("cell_end", 2, "ok"))
    assert ("output", "first output\n") in ev[i2:e2] and ("output", "to stderr\n") in ev[i2:e2]
    assert ("output", "'a text result'") in ev[e2:ev.index(("cell_end", 3, "ok"))]
    assert ev[0] == ("start", "many.ipynb", 44) and ev[-1] == ("finish", "finished")
    out = read(project_dir / "many.out.ipynb")
    ids = [c.id for c in out.cells]
    assert text_of(out.cells[-1]) == f"{ids[1:4]!r}\n".replace('"', "'")


def test_log_output_streams_in_plain_lines(project_dir, make_nb, capsys):
    path = make_nb("log.ipynb", ["print('hello from the cell')", "40 + 2"])
    result = execute_notebook(path, track=False, progress="lines", log_output=True)
    assert result.ok and result.output_path is None and result.saves == 0
    captured = capsys.readouterr()
    assert "hello from the cell\n" in captured.out and "42\n" in captured.out
    lines = captured.err.splitlines()
    assert lines[0] == "executing log.ipynb (2 code cells)"
    assert lines[1].startswith("cell 1/2 started: print('hello from the cell')")
    assert any(line.startswith("cell 2/2 ok ") for line in lines)
    assert lines[-1].startswith("finished in ")
    assert text_of(result.notebook.cells[1]) == "42"


def test_kernel_death_is_reported_not_a_hang(project_dir, make_nb):
    path = make_nb("die.ipynb", ["x = 1", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "print('never')"])
    result = execute_notebook(path, "die.out.ipynb", timeout=120)
    assert isinstance(result.error, KernelDiedError) and result.status == "killed"
    assert "The kernel died while running this cell" in str(result.error)
    assert "cell 2" in str(result.error) and "import os, signal" in str(result.error)
    assert [t.status for t in result.cell_timings] == ["ok", "died"]
    out = read(project_dir / "die.out.ipynb")
    assert "An Exception was encountered" in out.cells[0].source and "KernelDied" in out.cells[0].source
    assert text_of(out.cells[3]).startswith("KernelDied: ")
    store = open_store()
    store.flush()
    assert store.get_run(result.run_id).status == "killed"


def test_per_cell_timeout(project_dir, make_nb):
    path = make_nb("slow.ipynb", ["x = 1", "import time\nwhile True:\n    time.sleep(0.05)", "print('never')"])
    result = execute_notebook(path, timeout=0.5, track=False)
    assert isinstance(result.error, CellTimeoutError) and result.status == "failed"
    msg = str(result.error)
    assert "longer than the timeout of 0.5 s per cell" in msg and "--timeout" in msg and "cell 2" in msg
    assert [t.status for t in result.cell_timings] == ["ok", "timeout"]
    with pytest.raises(CellTimeoutError):
        result.raise_for_error()


def test_kernel_start_timeout_and_unknown_kernel(project_dir, make_nb, tmp_path, monkeypatch):
    spec_dir = tmp_path / "jupyter" / "kernels" / "sleepy"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", "import time; time.sleep(60)", "{connection_file}"],
        "display_name": "never answers", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    path = make_nb("nb.ipynb", ["x = 1"])
    result = execute_notebook(path, kernel_name="sleepy", start_timeout=0.5, track=False)
    assert isinstance(result.error, KernelStartError)
    assert str(result.error).startswith("Kernel 'sleepy' did not start: no answer within 0.5 s")
    assert result.cell_timings == []
    result = execute_notebook(path, kernel_name="nope-not-here", track=False)
    assert "no such kernel" in str(result.error) and "sleepy" in str(result.error)


@pytest.mark.parametrize("fork", ["0", "1"], ids=["spawned", "forked"])
def test_execute_notebooks_on_a_kernel_pool(project_dir, make_nb, monkeypatch, fork):
    monkeypatch.setenv("MLNB_FORK", fork)
    (project_dir / "sub").mkdir()
    (project_dir / "sub" / "helper.py").write_text("VALUE = 'local import works'\n")
    a = make_nb("sub/a.ipynb", ["import os, helper\nprint(os.getcwd(), helper.VALUE)", "pid = os.getpid()\npid"], "k = 1\n")
    b = make_nb("b.ipynb", ["import os\nprint(k)", "import sys\nsys.exit(0)", "print('not reached')"])
    c = make_nb("c.ipynb", ["import os\nos.getpid()", "raise KeyError('boom')"])
    import mlnb.execute._kernel as kernel_mod

    pools = []
    real_init = kernel_mod.KernelPool.__init__

    def counting_init(self, *a, **kw):  # counts fork pools too: they are KernelPools
        real_init(self, *a, **kw)
        pools.append(self)

    monkeypatch.setattr(kernel_mod.KernelPool, "__init__", counting_init)
    results = execute_notebooks(
        [{"input_path": a, "parameters": {"k": 5}}, {"input_path": b, "parameters": {"k": "injected"}}, c],
        jobs=2,
    )
    assert pools[0].started == 3  # one warm kernel per notebook, none wasted at the end
    from mlnb.execute._forkpool import ForkPool, forkable

    assert isinstance(pools[0], ForkPool) == (fork == "1" and forkable("python3"))
    ra, rb, rc = results
    assert ra.ok and ra.parameters == {"k": 5}
    assert text_of(ra.notebook.cells[2]) == f"{project_dir / 'sub'} local import works\n"
    # b has no parameters cell: injected at the top, unchecked, and we said so
    assert rb.ok and rb.notebook.cells[0].metadata.tags == ["injected-parameters"]
    assert text_of(rb.notebook.cells[1]) == "injected\n"
    assert any("no cell tagged 'parameters'" in w for w in rb.warnings)
    assert any("SystemExit" in w for w in rb.warnings) and rb.notebook.cells[3].outputs == []
    assert isinstance(rc.error, CellExecutionFailed) and rc.error.ename == "KeyError"
    assert rc.status == "failed"
    pids = {text_of(ra.notebook.cells[3]), text_of(rc.notebook.cells[1])}
    assert len(pids) == 2  # a fresh kernel for every notebook
    store = open_store()
    store.flush()
    runs = {r.id: r for r in store.search_runs()}
    assert {ra.run_id, rb.run_id, rc.run_id} <= set(runs)
    assert runs[ra.run_id].params == {"k": 5} and runs[ra.run_id].notebook == "sub/a.ipynb"
    assert [runs[x].status for x in (ra.run_id, rb.run_id, rc.run_id)] == ["finished", "finished", "failed"]
    # each kernel adopted its own run, even though warm kernels were started before the runs
    assert len(store.run_detail(ra.run_id)["cell_executions"]) == 4
    assert len(store.run_detail(rc.run_id)["cell_executions"]) == 2


def test_a_run_started_inside_a_user_run_is_its_child_and_leaves_it_open(project_dir, make_nb):
    import mlnb.tracking as tracking

    path = make_nb("child.ipynb", ["x = 1"])
    with tracking.start_run(name="outer") as outer:
        result = execute_notebook(path)
        assert tracking.active_run() is outer and not outer.ended
    store = open_store()
    store.flush()
    child = store.get_run(result.run_id)
    assert child.parent_id == outer.id and child.status == "finished"
    # no output path: the executed notebook is kept with the run only
    assert result.output_path == str(project_dir / ".mlnb" / "artifacts" / result.run_id / "child.ipynb")
    assert read(result.output_path).cells[0].outputs == [] and read(result.output_path).cells[0].execution_count == 1
    assert store.get_run(outer.id).status == "finished"


def test_papermill_engine(project_dir, make_nb):
    import papermill
    from papermill.engines import papermill_engines
    from papermill.exceptions import PapermillExecutionError

    from mlnb.execute.papermill_engine import MlnbEngine

    papermill_engines.register("mlnb", MlnbEngine)
    path = make_nb("pm.ipynb", ["print(lr * 2)", "raise ValueError('late')" ], PARAMS)
    with pytest.raises(PapermillExecutionError, match="late"):
        papermill.execute_notebook(
            str(path), str(project_dir / "pm.out.ipynb"), parameters={"lr": 2}, engine_name="mlnb",
            progress_bar=False, cwd=str(project_dir),
        )
    out = read(project_dir / "pm.out.ipynb")
    assert out.cells[0].metadata.tags == ["papermill-error-cell-tag"]  # papermill's banner
    code = [c for c in out.cells if c.cell_type == "code"]
    assert code[1].metadata.tags == ["injected-parameters"] and text_of(code[2]) == "4\n"
    assert code[2].metadata.papermill.status == "completed" and code[3].metadata.papermill.status == "failed"
    run_id = out.metadata.mlnb.run_id
    store = open_store()
    store.flush()
    detail = store.run_detail(run_id)
    assert detail["status"] == "failed" and detail["params"] == {"lr": 2, "epochs": 2, "name": "base"}
    assert [c["status"] for c in detail["cell_executions"]] == ["ok", "ok", "ok", "error"]
    assert [a["path"] for a in detail["artifacts"]] == ["pm.ipynb"]
    # papermill's unknown names are errors with this engine
    with pytest.raises(ParameterError, match="unknown parameter 'bogus'"):
        papermill.execute_notebook(str(path), None, parameters={"bogus": 1}, engine_name="mlnb", progress_bar=False)


def test_papermill_cli_finds_the_engine_by_its_entry_point(project_dir, make_nb, tmp_path):
    # what `pip install` will create: a dist-info whose entry point is the one pyproject declares
    site = tmp_path / "site"
    info = site / "mlnb_entry_point_probe-0.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mlnb-entry-point-probe\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text(f"[papermill.engine]\nmlnb = {_declared_engine()}\n")
    make_nb("pm.ipynb", ["print(lr * 2, epochs)"], PARAMS)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", "--engine", "mlnb", "pm.ipynb", "pm.out.ipynb", "-p", "lr", "0.5",
         "-p", "epochs", "4", "--no-progress-bar"],
        cwd=project_dir, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    out = read(project_dir / "pm.out.ipynb")
    assert text_of(out.cells[2]) == "1.0 4\n"
    store = open_store()
    store.flush()
    run = store.get_run(out.metadata.mlnb.run_id)
    assert run.status == "finished" and run.params == {"lr": 0.5, "epochs": 4, "name": "base"}


def _declared_engine() -> str:
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover
        import tomli as tomllib
    root = Path(__file__).resolve().parents[2]
    data = tomllib.loads((root / "pyproject.toml").read_text())
    return data["project"]["entry-points"]["papermill.engine"]["mlnb"]


def test_pyproject_declares_the_papermill_entry_point():
    ep = _declared_engine()
    module, _, attr = ep.partition(":")
    import importlib

    assert getattr(importlib.import_module(module), attr).__name__ == "MlnbEngine"
