"""``mlnb sync``: pair notebooks with text files and keep both sides in sync without losing edits."""

from __future__ import annotations

import sys

import click

_EPILOG = """\b
Examples:
  mlnb sync pair train.ipynb              pair with train.py (percent format)
  mlnb sync                               bring every pair of the project up to date
  mlnb sync train.py                      sync the pair this file belongs to
  mlnb sync --fail-on-change              as a pre-commit hook: exit 1 if files changed
  mlnb sync unpair train.ipynb
"""


class _SyncGroup(click.Group):
    """``mlnb sync [PATHS]`` syncs; ``mlnb sync pair|unpair ...`` are subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        elif not args or (args[0].startswith("-") and args[0] not in ("-h", "--help")):
            args = ["run", *args]
        return super().parse_args(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage("mlnb sync", "[OPTIONS] [PATHS]... | pair NB.ipynb | unpair NB.ipynb")


@click.group("sync", cls=_SyncGroup, epilog=_EPILOG)
def sync_cmd() -> None:
    """Pair notebooks with .py files (jupytext formats) and keep both in sync.

    `mlnb sync [PATHS]` brings pairs up to date (all of the project's by default). When both
    files changed since the last sync, their cells are merged three-way; a true conflict is
    reported with its cells and nothing is overwritten. Cells edited in the .py lose their
    stale outputs.
    """


@sync_cmd.command("run", hidden=True)
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--prefer", type=click.Choice(["ipynb", "text"]),
              help="When both sides changed (or there is no sync record), this side wins.")
@click.option("--fail-on-change", is_flag=True,
              help="Exit 1 when a file was written (for pre-commit: review and add them).")
def sync_run(paths: tuple[str, ...], prefer: str | None, fail_on_change: bool) -> None:
    """Bring pairs up to date."""
    from mlnb.cli._context import current_project
    from mlnb.sync import SyncConflictError, sync

    project = current_project()
    try:
        results = sync(list(paths) or None, project, prefer=prefer)
        conflict: SyncConflictError | None = None
    except SyncConflictError as e:
        results = getattr(e, "results", [])
        conflict = e
    changed = [r for r in results if r.changed]
    for r in changed:
        click.echo(f"{r.notebook}: " + ", ".join(r.actions))
    if not results and conflict is None:
        click.echo("No paired notebooks found (pair one with `mlnb sync pair NB.ipynb`).")
    elif not changed and conflict is None:
        click.echo(f"{len(results)} pair(s) up to date.")
    if conflict is not None:
        raise conflict
    if fail_on_change and changed:
        files = sorted({f for r in changed for f in (r.notebook, r.text)})
        click.secho(f"mlnb sync changed {len(changed)} pair(s); review and `git add` "
                    f"{' '.join(files)}, then commit again.", fg="yellow", err=True)
        sys.exit(1)


@sync_cmd.command("pair")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", default="py:percent", show_default=True,
              help="jupytext format of the text file: py:percent, py:light, md, md:myst, ...")
@click.option("--force", is_flag=True, help="Overwrite an existing, different text file.")
def sync_pair_cmd(notebook: str, fmt: str, force: bool) -> None:
    """Pair NOTEBOOK with a text file and write it."""
    from mlnb.cli._context import current_project
    from mlnb.sync import pair

    r = pair(notebook, fmt, current_project(), force=force)
    click.echo(f"{r.notebook} ↔ {r.text}: " + ", ".join(r.actions))


@sync_cmd.command("unpair")
@click.argument("notebook", type=click.Path(dir_okay=False))
@click.option("--delete", is_flag=True, help="Also delete the text file.")
def sync_unpair_cmd(notebook: str, delete: bool) -> None:
    """Stop syncing NOTEBOOK with its text file (kept unless --delete)."""
    from mlnb.cli._context import current_project
    from mlnb.sync import unpair

    r = unpair(notebook, current_project(), delete_text=delete)
    click.echo(f"{r.notebook}: " + (", ".join(r.actions) or "unpaired") +
               ("" if delete else f"; {r.text} kept"))
