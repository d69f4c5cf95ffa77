"""The `mlnb` group: lazy commands, help, version, and the one place errors are turned into messages."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

import mlnb.cli as mcli
from mlnb.errors import (
    AmbiguousRunIdError,
    FilterSyntaxError,
    MlnbError,
    ProjectError,
    RunNotFoundError,
    UsageError,
)


def test_help_lists_every_command_from_static_table():
    result = CliRunner().invoke(mcli.cli, ["--help"])
    assert result.exit_code == 0
    for name, text in mcli.SHORT_HELP.items():
        assert name in result.output
        assert text.split()[0] in result.output


def test_every_command_has_short_help_and_a_module_path():
    assert set(mcli.COMMANDS) == set(mcli.SHORT_HELP)
    for spec in mcli.COMMANDS.values():
        module, _, attr = spec.partition(":")
        assert module.startswith("mlnb.cli.") and attr


def test_available_commands_load_as_click_commands():
    group = mcli.cli
    ctx = click.Context(group)
    for name in ("init", "runs"):
        cmd = group.get_command(ctx, name)
        assert isinstance(cmd, click.Command)
        assert "unavailable" not in (cmd.short_help or "")


def test_missing_command_module_is_reported_not_fatal(monkeypatch):
    monkeypatch.setitem(mcli.COMMANDS, "exec", "mlnb.cli._no_such_module:exec_cmd")
    runner = CliRunner()
    result = runner.invoke(mcli.cli, ["--help"])
    assert result.exit_code == 0
    assert "exec" in result.output and "(unavailable)" in result.output
    assert "runs" in result.output

    result = runner.invoke(mcli.cli, ["exec", "nb.ipynb", "--param", "x=1"])
    assert result.exit_code == 1
    assert "unavailable" in result.stderr
    assert "mlnb.cli._no_such_module" in result.stderr

    # Other commands are unaffected.
    assert runner.invoke(mcli.cli, ["runs", "--help"]).exit_code == 0


def test_module_without_the_named_command_is_unavailable(monkeypatch):
    monkeypatch.setitem(mcli.COMMANDS, "exec", "mlnb.cli._render:no_such_command")
    result = CliRunner().invoke(mcli.cli, ["exec"])
    assert result.exit_code == 1
    assert "unavailable" in result.stderr


def test_unknown_command_is_a_usage_error():
    result = CliRunner().invoke(mcli.cli, ["frobnicate"])
    assert result.exit_code == 2
    assert "No such command" in result.stderr


def test_version():
    result = CliRunner().invoke(mcli.cli, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("mlnb ")


# -- error handling -------------------------------------------------------------------------


def _raising(error: BaseException) -> click.Command:
    @click.command("boom")
    def boom() -> None:
        raise error

    return boom


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError("Give a number."), 2),
        (AmbiguousRunIdError("ab", ["abc", "abd"]), 2),
        (RunNotFoundError("zzz"), 1),
        (ProjectError("Cannot read config.toml."), 1),
        (MlnbError("Something else."), 1),
    ],
)
def test_mlnb_errors_become_one_red_line_and_exit_code(monkeypatch, error, code):
    monkeypatch.delenv("MLNB_DEBUG", raising=False)
    monkeypatch.setitem(mcli.cli.commands, "boom", _raising(error))
    result = CliRunner().invoke(mcli.cli, ["boom"])
    assert result.exit_code == code
    assert result.stdout == ""
    assert result.stderr == f"Error: {error}\n"
    assert "Traceback" not in result.stderr


def test_filter_syntax_error_keeps_caret_block(monkeypatch):
    monkeypatch.delenv("MLNB_DEBUG", raising=False)
    error = FilterSyntaxError("Expected a value", "metrics.acc >", 13)
    monkeypatch.setitem(mcli.cli.commands, "boom", _raising(error))
    result = CliRunner().invoke(mcli.cli, ["boom"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: Expected a value")
    assert lines[1] == "  metrics.acc >"
    assert lines[2] == "  " + " " * 13 + "^"


def test_errors_are_red_on_a_terminal(monkeypatch):
    monkeypatch.delenv("MLNB_DEBUG", raising=False)
    monkeypatch.setitem(mcli.cli.commands, "boom", _raising(UsageError("Bad.")))
    result = CliRunner().invoke(mcli.cli, ["boom"], color=True)
    assert "\x1b[31m" in result.stderr
    result = CliRunner().invoke(mcli.cli, ["boom"])  # not a terminal: plain
    assert "\x1b[" not in result.stderr


def test_mlnb_debug_lets_the_traceback_through(monkeypatch):
    monkeypatch.setenv("MLNB_DEBUG", "1")
    monkeypatch.setitem(mcli.cli.commands, "boom", _raising(RunNotFoundError("zzz")))
    result = CliRunner().invoke(mcli.cli, ["boom"])
    assert isinstance(result.exception, RunNotFoundError)


def test_other_exceptions_are_not_swallowed(monkeypatch):
    monkeypatch.setitem(mcli.cli.commands, "boom", _raising(ZeroDivisionError("bug")))
    result = CliRunner().invoke(mcli.cli, ["boom"])
    assert isinstance(result.exception, ZeroDivisionError)


# -- real processes -------------------------------------------------------------------------


def test_subprocess_help_lists_commands(tmp_path, run_mlnb):
    proc = run_mlnb("--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for name in mcli.COMMANDS:
        assert name in proc.stdout


def test_subprocess_help_with_exec_module_absent(tmp_path, run_mlnb):
    code = (
        "import mlnb.cli as c; "
        "c.COMMANDS['exec'] = 'mlnb.cli._no_such_module:exec_cmd'; "
        "c.main(['--help'])"
    )
    proc = run_mlnb(cwd=tmp_path, code=code)
    assert proc.returncode == 0, proc.stderr
    assert "exec" in proc.stdout and "(unavailable)" in proc.stdout


HEAVY = ("rich", "sqlite3", "nbformat", "pandas", "jsonschema", "mlnb.tracking")


def test_import_mlnb_cli_stays_light(tmp_path, run_mlnb):
    code = (
        "import json, sys, mlnb.cli; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    proc = run_mlnb(cwd=tmp_path, code=code)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_help_and_version_import_no_command_module(tmp_path, run_mlnb):
    code = (
        "import json, sys, mlnb.cli as c\n"
        "for argv in (['--help'], ['--version']):\n"
        "    try:\n"
        "        c.main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"mods = [m for m in {HEAVY!r} + tuple(s.split(':')[0] for s in c.COMMANDS.values())"
        " if m in sys.modules]\n"
        "print('MODS=' + json.dumps(mods))\n"
    )
    proc = run_mlnb(cwd=tmp_path, code=code)
    assert proc.returncode == 0, proc.stderr
    line = [x for x in proc.stdout.splitlines() if x.startswith("MODS=")][-1]
    assert json.loads(line[5:]) == []
