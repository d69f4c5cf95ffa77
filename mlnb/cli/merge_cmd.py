"""``mlnb merge``: three-way notebook merge; outputs are never conflicts."""

from __future__ import annotations

import json
import sys

import click


@click.command("merge")
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("local", type=click.Path(dir_okay=False))
@click.argument("remote", type=click.Path(dir_okay=False))
@click.option("-o", "--out", type=click.Path(dir_okay=False, writable=True), metavar="OUT",
              help="Write the merged notebook here (default: standard output).")
@click.option("--outputs", type=click.Choice(["clear", "local", "remote", "keep-base"]),
              default="clear", show_default=True,
              help="Outputs: 'clear' keeps outputs that match the merged source and clears "
              "(and marks stale) the rest; or take them from one side.")
@click.option("--json", "as_json", is_flag=True, help="Report conflicts as JSON on stdout (needs -o).")
def merge_cmd(base: str, local: str, remote: str, out: str | None, outputs: str,
              as_json: bool) -> None:
    """Merge REMOTE's and LOCAL's changes since BASE into one notebook.

    Source conflicts are marked inline (<<<<<<< local / ======= / >>>>>>> remote) as nbdime
    does; execution counts and outputs never conflict. Exit code 1 only when source or
    metadata conflicts remain.
    """
    from mlnb.errors import UsageError
    from mlnb.nbdiff import dumps, merge_notebooks, read_notebook, write_notebook

    if as_json and not out:
        raise UsageError("--json reports on stdout; give the merged notebook a file with -o OUT.")
    result = merge_notebooks(read_notebook(base, allow_empty=True), read_notebook(local),
                             read_notebook(remote), outputs=outputs)
    if out:
        write_notebook(result.notebook, out)
    else:
        sys.stdout.write(dumps(result.notebook))
    if as_json:
        click.echo(json.dumps({"conflicts": [c.to_dict() for c in result.conflicts],
                               "stale_cells": result.stale_cells}, indent=1))
    else:
        for c in result.conflicts:
            click.secho(f"conflict: {c}", fg="red", err=True)
        if result.stale_cells:
            click.echo(f"cleared stale outputs of {len(result.stale_cells)} cell(s): "
                       f"{', '.join(map(str, result.stale_cells))}", err=True)
    if result.conflicts:
        if not as_json:
            click.echo(f"{len(result.conflicts)} conflict(s) remain; resolve the marked cells.",
                       err=True)
        sys.exit(1)
