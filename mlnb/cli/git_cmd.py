"""``mlnb git install|uninstall``: mlnb as git's diff and merge driver for ``*.ipynb``."""

from __future__ import annotations

import click


@click.group("git")
def git_cmd() -> None:
    """Use mlnb for `git diff` and `git merge` of notebooks.

    Paired .py files stay plain text: git diffs and merges them as usual, and `mlnb sync`
    brings the pair back together.
    """


@git_cmd.command("install")
@click.option("--global", "global_", is_flag=True, help="For every repository of this user.")
def install(global_: bool) -> None:
    """Configure the diff and merge drivers (git config + attributes)."""
    from mlnb.nbdiff._git import install as _install

    for line in _install(global_):
        click.echo(line)
    click.echo("mlnb now diffs and merges *.ipynb" + (" in every repository." if global_ else
                                                       " in this repository."))


@git_cmd.command("uninstall")
@click.option("--global", "global_", is_flag=True, help="Undo `mlnb git install --global`.")
def uninstall(global_: bool) -> None:
    """Remove the diff and merge drivers."""
    from mlnb.nbdiff._git import uninstall as _uninstall

    done = _uninstall(global_)
    for line in done:
        click.echo(line)
    if not done:
        click.echo("Nothing to remove: mlnb was not installed as a git driver here.")
