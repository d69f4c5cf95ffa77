"""``mlnb init [PATH]``: create the project folder ``.mlnb/``; running it again changes nothing."""

from __future__ import annotations

import os

import click


@click.command("init")
@click.argument("path", required=False, type=click.Path(file_okay=False))
def init_cmd(path: str | None) -> None:
    """Create the .mlnb/ project folder in PATH (default: the current project or folder).

    Without PATH: $MLNB_PROJECT or --project if set, else the current folder. Safe to run again:
    it only creates what is missing and says what it created.
    """
    from mlnb.cli._context import current_project
    from mlnb.project import Project

    if path is not None:
        project = Project(path)
    else:
        ctx = click.get_current_context()
        explicit = (ctx.find_root().obj or {}).get("project_root") or os.environ.get("MLNB_PROJECT")
        project = current_project() if explicit else Project(os.getcwd())

    created = project.ensure()
    root = project.root
    if created:
        click.echo(f"Initialized mlnb project in {root}")
        for p in created:
            try:
                shown = p.relative_to(root).as_posix()
            except ValueError:
                shown = str(p)
            if p.is_dir():
                shown += "/"
            click.echo(f"  created {shown}")
    else:
        click.echo(f"mlnb project already initialized in {root} (nothing to do)")
