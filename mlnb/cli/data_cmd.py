"""``mlnb data``: pin data versions, check and restore them, share them through remotes."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from typing import Any, Iterator

import click


def _project():
    from mlnb.cli._context import current_project

    return current_project()


def _abs(path: str | None) -> str | None:
    """Paths on the command line are relative to the current folder."""
    return None if path is None else os.path.abspath(path)


def _short(h: str | None) -> str:
    return h[:12] if h else "-"


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done, total=total)

        yield update


@click.group("data")
def data() -> None:
    """Pin data versions (BLAKE3, content-addressed), check and restore them, share them.

    \b
      mlnb data pin data/train.csv data/images --note "v2 labels"
      mlnb data status --check          # exit 1 on any drift (CI)
      mlnb data checkout                # restore the pinned versions
      mlnb data remote add origin s3://bucket/cache && mlnb data push
    """


@data.command("pin")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--notebook", "-n", type=click.Path(dir_okay=False), help="Also pin in this notebook's metadata.")
@click.option("--note", help="A note kept with the pin.")
def pin_cmd(paths: tuple[str, ...], notebook: str | None, note: str | None) -> None:
    """Pin PATHS (files or folders): store their content and record their versions."""
    from mlnb.data import pin

    project = _project()
    for p in pin([_abs(x) for x in paths], project=project, notebook=_abs(notebook), note=note):
        what = f"{p.nfiles} files" if p.kind == "dir" else "file"
        click.echo(f"pinned {p.path}  {_short(p.hash)}  ({what}, {p.size} bytes)")


def _target(target: str | None) -> str | None:
    return _abs(target)


@data.command("status")
@click.argument("target", required=False, type=click.Path())
@click.option("--check", is_flag=True, help="Exit 1 when any pin drifted or is missing (for CI).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status_cmd(target: str | None, check: bool, as_json: bool) -> None:
    """Per pin: ok / modified / missing (TARGET: a notebook, a path, or all of mlnb.lock)."""
    from mlnb.data import status

    results = status(_target(target), project=_project())
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
    else:
        if not results:
            click.echo("No pins. Pin data with `mlnb data pin PATH`.")
        colors = {"ok": "green", "modified": "yellow", "missing": "red"}
        for r in results:
            click.echo(click.style(f"{r.state:9}", fg=colors[r.state]) + f" {r.path}  {_short(r.pin.hash)}"
                       + (f" -> {_short(r.current.hash)}" if r.state == "modified" and r.current else ""))
            for label, items in (("added", r.added), ("removed", r.removed), ("modified", r.modified)):
                for item in items[:20]:
                    click.echo(f"    {label}: {item}")
                if len(items) > 20:
                    click.echo(f"    ... and {len(items) - 20} more {label}")
            if r.detail:
                click.echo(f"    ({r.detail})")
    if check and any(not r.ok for r in results):
        raise SystemExit(1)


@data.command("checkout")
@click.argument("target", required=False, type=click.Path())
@click.option("--rev", help="Restore the version pinned at this git revision.")
@click.option("--force", is_flag=True, help="Discard local changes that are not pinned.")
def checkout_cmd(target: str | None, rev: str | None, force: bool) -> None:
    """Restore pinned versions (every object re-hashed first; corrupt ones are refused)."""
    from mlnb.data import checkout

    for r in checkout(_target(target), project=_project(), rev=rev, force=force):
        if r.unchanged:
            click.echo(f"ok        {r.path}  {_short(r.hash)}")
        else:
            n = len(r.restored) or 1
            extra = f", {len(r.deleted)} removed" if r.deleted else ""
            click.echo(f"restored  {r.path}  {_short(r.hash)}  ({n} file(s){extra})")


@data.command("diff")
@click.argument("path", type=click.Path())
@click.option("--rev", "revs", multiple=True, help="Compare the pin at this git revision (twice: A vs B).")
def diff_cmd(path: str, revs: tuple[str, ...]) -> None:
    """What changed in PATH: its pin vs. the workspace, or between the pins of two revisions."""
    from mlnb.data import diff

    r = diff(_abs(path), project=_project(), revs=tuple(revs))
    if not r.changed:
        click.echo(f"{r.path}: unchanged ({_short(r.old)})")
        return
    click.echo(f"{r.path}: {_short(r.old)} -> {_short(r.new)}")
    for label, sign in (("added", "+"), ("removed", "-"), ("modified", "~")):
        for item in getattr(r, label):
            click.echo(f"  {sign} {item}")


@data.command("push")
@click.option("--remote", "-r", help="Remote name (default: the only one, or 'origin').")
@click.option("--jobs", "-j", default=8, show_default=True, help="Parallel transfers.")
@click.argument("target", required=False, type=click.Path())
def push_cmd(remote: str | None, jobs: int, target: str | None) -> None:
    """Send the pinned objects the remote lacks (verified before sending)."""
    from mlnb.data._remote import push

    with _progress(True) as cb:
        rep = push(_project(), remote=remote, target=_target(target), progress=cb, jobs=jobs)
    click.echo(f"pushed {len(rep.transferred)} object(s) ({rep.bytes} bytes) to {rep.remote}; "
               f"{rep.already} already there")
    _problems(rep)


@data.command("pull")
@click.option("--remote", "-r", help="Remote name (default: the only one, or 'origin').")
@click.option("--jobs", "-j", default=8, show_default=True, help="Parallel transfers.")
@click.option("--no-checkout", is_flag=True, help="Only fill the cache.")
@click.option("--force", is_flag=True, help="Checkout discards local changes that are not pinned.")
@click.argument("target", required=False, type=click.Path())
def pull_cmd(remote: str | None, jobs: int, no_checkout: bool, force: bool, target: str | None) -> None:
    """Fetch the pinned objects missing here (verified), then check them out."""
    from mlnb.data._remote import pull

    with _progress(True) as cb:
        rep = pull(_project(), remote=remote, target=_target(target), progress=cb, jobs=jobs,
                   checkout=not no_checkout, force=force)
    click.echo(f"pulled {len(rep.transferred)} object(s) ({rep.bytes} bytes) from {rep.remote}; "
               f"{rep.already} already here")
    _problems(rep)


def _problems(rep: Any) -> None:
    bad = False
    for label, items in (("missing locally", rep.missing_local), ("missing on the remote", rep.missing_remote),
                         ("CORRUPT (refused)", rep.corrupt)):
        for h in items:
            click.secho(f"  {label}: {h}", fg="red", err=True)
            bad = True
    if bad:
        raise SystemExit(1)


@data.command("gc")
@click.option("--dry-run", is_flag=True, help="Only say what would be removed.")
@click.option("--all-revs", is_flag=True, help="Also keep what any git revision pins.")
def gc_cmd(dry_run: bool, all_revs: bool) -> None:
    """Remove cached objects nothing references (working tree, mlnb.lock, tracked runs)."""
    from mlnb.data import gc

    rep = gc(project=_project(), dry_run=dry_run, all_revs=all_revs)
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {rep.removed} object(s), {rep.freed} bytes; kept {rep.kept}")


@data.command("verify")
@click.option("--remote", "-r", help="Repair from this remote (default: the configured one).")
@click.option("--no-repair", is_flag=True, help="Only quarantine corrupt objects.")
def verify_cmd(remote: str | None, no_repair: bool) -> None:
    """Re-hash the cache; quarantine corrupt objects and repair them from a remote."""
    from mlnb.data import verify

    with _progress(True) as cb:
        rep = verify(project=_project(), remote=remote, repair=not no_repair, progress=cb)
    click.echo(f"checked {rep.checked} object(s): {len(rep.corrupt)} corrupt, "
               f"{len(rep.repaired)} repaired")
    for h in rep.quarantined:
        click.echo(f"  quarantined {h}" + (" (repaired from remote)" if h in rep.repaired else ""))
    if not rep.ok:
        click.secho(f"{len(rep.unrepaired)} object(s) could not be repaired; pin the data again "
                    "or pull from another remote.", fg="red", err=True)
        raise SystemExit(1)


@data.group("remote")
def remote_grp() -> None:
    """Configure data remotes (a folder, s3://bucket/prefix, any fsspec URL)."""


@remote_grp.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--endpoint-url", help="S3-compatible endpoint (MinIO, moto, ...).")
@click.option("--option", "-o", "options", multiple=True, metavar="KEY=VALUE",
              help="Extra filesystem option (repeatable).")
@click.option("--force", is_flag=True, help="Replace an existing remote of that name.")
def remote_add(name: str, url: str, endpoint_url: str | None, options: tuple[str, ...], force: bool) -> None:
    """Add remote NAME at URL (stored in .mlnb/config.toml)."""
    from mlnb.data._remote import add_remote
    from mlnb.errors import UsageError

    opts: dict[str, Any] = {}
    if endpoint_url:
        opts["endpoint_url"] = endpoint_url
    for o in options:
        k, sep, v = o.partition("=")
        if not sep or not k:
            raise UsageError(f"--option expects KEY=VALUE, got {o!r}.")
        opts[k.strip()] = v.strip()
    table = add_remote(_project(), name, url, opts, force=force)
    click.echo(f"added remote {name} -> {table['url']}")


@remote_grp.command("list")
def remote_list() -> None:
    """List data remotes."""
    from mlnb.data._remote import list_remotes

    remotes = list_remotes(_project())
    if not remotes:
        click.echo("No remotes. Add one with `mlnb data remote add NAME URL`.")
    for name, table in sorted(remotes.items()):
        extra = " ".join(f"{k}={v}" for k, v in table.items() if k != "url")
        click.echo(f"{name}\t{table['url']}" + (f"\t{extra}" if extra else ""))


@remote_grp.command("remove")
@click.argument("name")
def remote_remove(name: str) -> None:
    """Remove remote NAME."""
    from mlnb.data._remote import remove_remote

    remove_remote(_project(), name)
    click.echo(f"removed remote {name}")
