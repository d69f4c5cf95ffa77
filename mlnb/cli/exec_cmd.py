"""``mlnb exec``: execute a notebook headlessly, with validated parameters, as a tracked run."""

from __future__ import annotations

import os
import sys

import click

from mlnb.errors import MlnbError

__all__ = ["exec_cmd"]


def _project_root() -> str | None:
    """The root given to ``mlnb --project DIR``, if any (this command may also run standalone)."""
    ctx = click.get_current_context(silent=True)
    if ctx is None:
        return None
    obj = ctx.find_root().obj
    return obj.get("project_root") if isinstance(obj, dict) else None


@click.command(
    "exec",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    help="Write the executed notebook here (progress at most every second, and at the end). "
    "Default: keep it only as the run's artifact; never the input notebook.",
)
@click.option(
    "-p",
    "--param",
    "params",
    type=(str, str),
    multiple=True,
    metavar="NAME VALUE",
    help="Set a parameter; VALUE reads like YAML (3, 0.1, true, null, [1, 2], {a: 1}, text). "
    "Checked against the cell tagged 'parameters'. Repeat for more.",
)
@click.option(
    "-f",
    "--params-file",
    type=click.Path(dir_okay=False),
    help="YAML file of NAME: VALUE parameters (-p values win).",
)
@click.option("--cwd", type=click.Path(file_okay=False), help="Kernel working directory (default: the notebook's folder).")
@click.option("--kernel", "kernel_name", metavar="NAME", help="Kernel to use (default: the notebook's kernelspec).")
@click.option(
    "--timeout",
    type=float,
    metavar="SECONDS",
    help="Stop a cell running longer than this (default: no limit).",
)
@click.option(
    "--start-timeout",
    type=float,
    default=60,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for the kernel to start.",
)
@click.option("--log-output", is_flag=True, help="Stream the cells' outputs as they arrive.")
@click.option("--no-track", is_flag=True, help="Do not record a run.")
@click.option(
    "--progress",
    type=click.Choice(["auto", "bar", "lines", "none"]),
    default="auto",
    show_default=True,
    help="A bar on a terminal, one line a cell in logs (auto picks), or nothing.",
)
@click.option("--help-params", is_flag=True, help="List the notebook's parameters and exit.")
def exec_cmd(
    notebook: str,
    output: str | None,
    params: tuple[tuple[str, str], ...],
    params_file: str | None,
    cwd: str | None,
    kernel_name: str | None,
    timeout: float | None,
    start_timeout: float,
    log_output: bool,
    no_track: bool,
    progress: str,
    help_params: bool,
) -> None:
    """Execute NOTEBOOK in a fresh kernel as a tracked run.

    \b
    Examples:
      mlnb exec train.ipynb -p lr 0.01 -p epochs 20
      mlnb exec train.ipynb -f params.yaml -o out/train.ipynb
      mlnb exec train.ipynb --help-params

    A failing cell stops the run; the output notebook shows the error at the top and at the
    cell, and the exit code is 1 (2 for bad input such as an unknown parameter). Ctrl-C
    interrupts the running cell like Jupyter's stop button (press again to kill the kernel);
    the notebook is saved as far as it got and the exit code is 130.
    """
    from mlnb.cli import MlnbCommandError, _debug

    try:
        _exec(
            notebook, output, params, params_file, cwd, kernel_name, timeout, start_timeout,
            log_output, no_track, progress, help_params,
        )
    except MlnbError as e:
        if _debug():
            raise
        raise MlnbCommandError(e) from e


def _exec(
    notebook: str,
    output: str | None,
    params: tuple[tuple[str, str], ...],
    params_file: str | None,
    cwd: str | None,
    kernel_name: str | None,
    timeout: float | None,
    start_timeout: float,
    log_output: bool,
    no_track: bool,
    progress: str,
    help_params: bool,
) -> None:
    if help_params:
        from mlnb.execute import notebook_parameters
        from mlnb.execute._parameters import format_parameters_table

        click.echo(format_parameters_table(notebook_parameters(notebook), os.path.basename(notebook)))
        return

    from mlnb.execute._parameters import RawValue
    from mlnb.execute._runner import execute_notebook

    root = _project_root()
    if root:
        # the run, and the kernel, belong to the project the user named
        os.environ["MLNB_PROJECT"] = os.path.abspath(root)
    parameters = {name: RawValue(value) for name, value in params}
    result = execute_notebook(
        notebook,
        output_path=output,
        parameters=parameters,
        params_file=params_file,
        cwd=cwd,
        kernel_name=kernel_name,
        timeout=timeout if timeout and timeout > 0 else None,
        start_timeout=start_timeout,
        log_output=log_output,
        track=not no_track,
        progress=None if progress == "none" else progress,
    )
    if progress == "none":
        for w in result.warnings:
            click.echo(f"mlnb: {w}", err=True)
    if result.output_path:
        click.echo(f"Executed notebook: {result.output_path}")
    else:
        click.echo("No output notebook written (pass -o OUT.ipynb to keep one).")
    if result.run_id:
        click.echo(f"Run: {result.run_id}")
    if result.error is not None:
        lines = str(result.error).splitlines()
        click.secho(f"Error: {lines[0]}", fg="red", err=True)
        for line in lines[1:]:
            click.echo(line, err=True)
        sys.stdout.flush()
        from mlnb.execute import ExecutionInterrupted

        code = 1
        if isinstance(result.error, ExecutionInterrupted):
            code = 143 if result.error.by == "SIGTERM" else 130  # the shell's codes for those signals
        raise click.exceptions.Exit(code)
