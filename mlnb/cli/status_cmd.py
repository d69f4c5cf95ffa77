"""``mlnb status``: which stages are stale, and why, in words. Fast: no nbformat, no kernels."""

from __future__ import annotations

import json

import click

__all__ = ["status_cmd"]


@click.command("status", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("stages", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="Only stale stages (no 'fresh' lines).")
@click.option("--check", is_flag=True, help="Exit with code 1 when any stage is stale (for CI).")
def status_cmd(stages: tuple[str, ...], fmt: str, quiet: bool, check: bool) -> None:
    """Compare each stage of mlnb.yaml with mlnb.lock and explain what changed.

    \b
      train: params.lr changed 0.1 → 0.2
      evaluate: dep model.pkl changed
      report: waits on evaluate (re-runs only if its outs change)
    """
    from mlnb.cli._context import current_project
    from mlnb.pipeline._status import pipeline_status

    statuses = pipeline_status(current_project(), list(stages) or None)
    stale = [s for s in statuses if s.status != "fresh"]
    if fmt == "json":
        click.echo(json.dumps({"stages": [s.to_dict() for s in statuses]}, indent=2, default=str))
    else:
        for s in statuses:
            if s.status == "fresh":
                if not quiet:
                    click.echo(f"{s.name}: fresh")
            elif s.status == "upstream":
                click.echo(f"{s.name}: " + "; ".join(s.reasons))
            else:
                color = "red" if s.status == "error" else "yellow"
                for reason in s.reasons:
                    click.secho(f"{s.name}: {reason}", fg=color)
        n_stale = sum(1 for s in statuses if s.status in ("stale", "error"))
        n_wait = sum(1 for s in statuses if s.status == "upstream")
        if not stale:
            click.echo("Pipeline is up to date.")
        else:
            parts = [f"{n_stale} stale"] + ([f"{n_wait} waiting on upstream"] if n_wait else [])
            click.echo(f"{', '.join(parts)}, {len(statuses) - len(stale)} fresh. Run `mlnb run` to update.")
    if check and stale:
        raise click.exceptions.Exit(1)
