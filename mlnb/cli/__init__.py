"""The ``mlnb`` command line.

Subcommands are loaded lazily from :data:`COMMANDS` so ``mlnb --help`` and ``mlnb --version``
import nothing heavy (no rich, sqlite3, nbformat). To add a command: one line in
:data:`COMMANDS`, one line in :data:`SHORT_HELP`, and one module exporting a click command.

Errors: every :class:`mlnb.errors.MlnbError` a command raises is turned into a short red
message on stderr in ONE place (:meth:`LazyGroup.invoke`): exit code 2 for
:class:`~mlnb.errors.UsageError` and its subclasses, 1 for the rest. ``MLNB_DEBUG=1`` lets the
original traceback through.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from typing import Any

import click

from mlnb.errors import MlnbError, UsageError

__all__ = ["COMMANDS", "SHORT_HELP", "LazyGroup", "MlnbCommandError", "cli", "main"]

#: command name -> "module:attribute" of its click command, imported only when it runs.
COMMANDS: dict[str, str] = {
    "init": "mlnb.cli.init_cmd:init_cmd",
    "runs": "mlnb.cli.runs_cmd:runs",
    "exec": "mlnb.cli.exec_cmd:exec_cmd",
    "diff": "mlnb.cli.diff_cmd:diff_cmd",
    "merge": "mlnb.cli.merge_cmd:merge_cmd",
    "sync": "mlnb.cli.sync_cmd:sync_cmd",
    "git": "mlnb.cli.git_cmd:git_cmd",
    "data": "mlnb.cli.data_cmd:data",
    "run": "mlnb.cli.run_cmd:run_cmd",
    "status": "mlnb.cli.status_cmd:status_cmd",
    "dag": "mlnb.cli.dag_cmd:dag_cmd",
}

#: command name -> one-line help shown by ``mlnb --help`` (so listing imports no command module).
SHORT_HELP: dict[str, str] = {
    "init": "Create the .mlnb/ project folder here or in PATH (safe to repeat).",
    "runs": "List, show, compare and delete tracked runs.",
    "exec": "Execute a notebook headlessly as a tracked run.",
    "diff": "Cell-aware diff of notebooks, git revisions or two runs.",
    "merge": "Three-way merge of notebooks; outputs never conflict.",
    "sync": "Pair notebooks with .py files and keep both in sync.",
    "git": "Install mlnb as git's diff and merge driver for notebooks.",
    "data": "Pin data versions, check, restore and share them (push/pull/gc/verify).",
    "run": "Run the stale stages of the mlnb.yaml pipeline in dependency order.",
    "status": "Show which pipeline stages are stale, and why.",
    "dag": "Print the pipeline's stage graph (text, dot or json).",
}


def _debug() -> bool:
    return os.environ.get("MLNB_DEBUG", "").strip().lower() not in ("", "0", "false", "no")


class MlnbCommandError(click.ClickException):
    """A :class:`MlnbError` dressed for the terminal: red first line, caret block kept as is."""

    def __init__(self, error: MlnbError) -> None:
        super().__init__(str(error))
        self.error = error
        self.exit_code = 2 if isinstance(error, UsageError) else 1

    def show(self, file: Any = None) -> None:
        lines = str(self.error).splitlines() or [type(self.error).__name__]
        click.secho(f"Error: {lines[0]}", fg="red", err=True, file=file)
        for line in lines[1:]:
            # The caret line of a FilterSyntaxError is the only all-blank-and-caret line.
            if line.strip() == "^":
                click.secho(line, fg="red", bold=True, err=True, file=file)
            else:
                click.echo(line, err=True, file=file)


def _unavailable(name: str, reason: str) -> click.Command:
    """A stand-in for a command whose module cannot be imported: says so, exits 1."""

    def callback(args: tuple[str, ...]) -> None:
        raise click.ClickException(f"`mlnb {name}` is unavailable in this installation: {reason}")

    return click.Command(
        name,
        callback=callback,
        params=[click.Argument(["args"], nargs=-1, type=click.UNPROCESSED)],
        help=f"(unavailable: {reason})",
        short_help="(unavailable)",
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )


class LazyGroup(click.Group):
    """A click group whose subcommands come from a ``{name: "module:attr"}`` table, imported on use."""

    def __init__(
        self,
        *args: Any,
        lazy_commands: dict[str, str] | None = None,
        short_help_table: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands if lazy_commands is not None else {}
        self.short_help_table = short_help_table if short_help_table is not None else {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        spec = self.lazy_commands.get(cmd_name)
        if spec is None:
            return None
        module_name, _, attr = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as e:
            if _debug():
                raise
            missing = getattr(e, "name", None)
            if isinstance(e, ModuleNotFoundError) and missing and module_name.startswith(missing):
                reason = f"module {module_name} is not installed."
            else:
                reason = f"importing {module_name} failed ({e})."
            return _unavailable(cmd_name, reason)
        command = getattr(module, attr, None)
        if not isinstance(command, click.Command):
            return _unavailable(cmd_name, f"{module_name} defines no click command {attr!r}.")
        return command

    def _is_available(self, cmd_name: str) -> bool:
        """Whether the command's module exists, without importing it."""
        if cmd_name in self.commands:
            return True
        module_name = self.lazy_commands[cmd_name].partition(":")[0]
        try:
            return importlib.util.find_spec(module_name) is not None
        except (ImportError, ValueError):
            return False

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List commands from the static help table, so ``--help`` imports no command module."""
        rows = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                cmd = self.commands[name]
                if cmd.hidden:
                    continue
                text = cmd.get_short_help_str(limit=formatter.width - 6 - len(name))
            else:
                text = self.short_help_table.get(name, "")
                if not self._is_available(name):
                    text = f"(unavailable) {text}".rstrip()
            rows.append((name, text))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MlnbError as e:
            if _debug():
                raise
            raise MlnbCommandError(e) from e


def _version() -> str:
    import mlnb

    version = getattr(mlnb, "__version__", None)
    if version:
        return str(version)
    try:
        from mlnb._version import __version__  # type: ignore[import-not-found]

        return str(__version__)
    except ImportError:
        pass
    try:
        from importlib.metadata import PackageNotFoundError, version as dist_version

        try:
            return dist_version("mlnb")
        except PackageNotFoundError:
            return "unknown (not installed)"
    except ImportError:  # pragma: no cover
        return "unknown"


def _print_version(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"mlnb {_version()}")
    ctx.exit()


def _set_project(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    ctx.ensure_object(dict)["project_root"] = value
    return value


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    short_help_table=SHORT_HELP,
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
@click.option(
    "-P",
    "--project",
    metavar="DIR",
    expose_value=False,
    callback=_set_project,
    type=click.Path(exists=True, file_okay=False),
    help="Project root to use (default: $MLNB_PROJECT, else the nearest folder upward with .mlnb/).",
)
def cli() -> None:
    """mlnb: notebook-driven ML engineering — tracked runs, headless execution, reproducible notebooks.

    Set MLNB_DEBUG=1 to see full tracebacks.
    """


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point (``mlnb = "mlnb.cli:main"``)."""
    cli.main(args=argv, prog_name="mlnb")
