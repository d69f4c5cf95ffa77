"""``mlnb run``: execute the stale stages of ``mlnb.yaml`` in dependency order."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

__all__ = ["run_cmd"]

_MARK = {"ran": "✓", "restored": "↺", "fresh": "·", "failed": "✗", "killed": "✗", "not-run": "-",
         "would-run": "▶", "would-check": "?"}


def _short(run_id: Any) -> str:
    return str(run_id)[:8] if run_id else ""


class _TextPrinter:
    """Pipeline events as lines on stderr (stdout stays free for --format jsonl)."""

    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose

    def __call__(self, e: dict[str, Any]) -> None:
        kind, stage = e.get("event"), e.get("stage", "")
        if kind == "stage-start":
            why = "; ".join(e.get("reasons") or [])
            click.secho(f"▶ {stage}", bold=True, err=True, nl=False)
            click.echo(f"  ({why})" if why else "", err=True)
        elif kind == "stage-end":
            extra = ""
            if e.get("outs_changed") is False and e.get("downstream"):
                extra = "  outs unchanged: downstream stages stay fresh"
            click.secho(f"✓ {stage}", fg="green", err=True, nl=False)
            click.echo(f"  {e.get('duration', 0):.1f} s  run {_short(e.get('run_id'))}{extra}", err=True)
        elif kind == "stage-restored":
            click.secho(f"↺ {stage}", fg="cyan", err=True, nl=False)
            click.echo(f"  restored from the run cache (outs of run {_short(e.get('run_id'))})", err=True)
        elif kind == "stage-fresh":
            if self.verbose:
                click.echo(f"· {stage}  fresh", err=True)
        elif kind in ("stage-failed", "stage-killed"):
            what = "failed" if kind == "stage-failed" else "interrupted"
            lines = str(e.get("error") or "").splitlines() or [""]
            click.secho(f"✗ {stage} {what}: {lines[0]}", fg="red", err=True)
            for line in lines[1:]:
                click.echo(f"    {line}", err=True)
        elif kind == "stage-not-run":
            click.echo(f"- {stage}  not run ({'; '.join(e.get('reasons') or [])})", err=True)
        elif kind == "output":
            sys.stdout.write(e.get("text", ""))
            sys.stdout.flush()
        elif kind == "message":
            click.secho(f"  {stage}: {e.get('text')}", fg="yellow", err=True)
        elif kind == "cell" and self.verbose:
            click.echo(f"  {stage}: cell {e['number']}/{e['total']} {e['status']} {e['duration']:.2f}s", err=True)


def _summary(result: Any) -> str:
    parts = []
    for action, label in (("ran", "ran"), ("restored", "restored from cache"), ("fresh", "fresh"),
                          ("failed", "failed"), ("killed", "interrupted"), ("not-run", "not run")):
        n = result.count(action)
        if n:
            parts.append(f"{n} {label}")
    return ", ".join(parts) or "no stages"


@click.command("run", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("stages", nargs=-1)
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run up to N independent stages at once (warm kernels for each).")
@click.option("-f", "--force", is_flag=True, help="Re-run the selected stages even if they are fresh.")
@click.option("-n", "--dry-run", is_flag=True, help="Only say what would run, and why.")
@click.option("--no-run-cache", is_flag=True,
              help="Execute even when the outs of this exact fingerprint are in the run cache.")
@click.option("--no-track", is_flag=True, help="Record no runs (mlnb.lock is still updated).")
@click.option("--wait", is_flag=True, help="If another `mlnb run` is running here, wait for it instead of refusing.")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Where notebooks execute: local kernels, or a Dask distributed cluster.")
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler address for --executor dask (tcp://host:8786).")
@click.option("--log-output", is_flag=True, help="Stream the cells' outputs as they arrive.")
@click.option("-v", "--verbose", is_flag=True, help="Also list fresh stages and every cell.")
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text", show_default=True,
              help="jsonl: one JSON event a line on stdout (for tools).")
def run_cmd(stages: tuple[str, ...], jobs: int, force: bool, dry_run: bool, no_run_cache: bool,
            no_track: bool, wait: bool, executor: str, scheduler: str | None, log_output: bool,
            verbose: bool, fmt: str) -> None:
    """Run the stale stages of mlnb.yaml (or STAGES and what they depend on), in dependency order.

    \b
    A stage is stale when its notebook's code, its params, its deps' contents or its kernel
    changed, or an out is missing (`mlnb status` says which). A stage whose upstream re-ran
    but produced identical outs is not re-run. Outs of a fingerprint seen before are restored
    from the run cache instead of executing.

    \b
    Examples:
      mlnb run                 # everything stale
      mlnb run train -j 4      # train and what it needs, 4 stages at once
      mlnb run --dry-run
      mlnb run --executor dask --scheduler tcp://scheduler:8786

    Ctrl-C stops the running kernels; finished stages stay recorded in mlnb.lock and the next
    `mlnb run` continues from there. Exit code: 0 done, 1 a stage failed, 2 bad input, 130 interrupted.
    """
    from mlnb.cli._context import current_project
    from mlnb.pipeline import run_pipeline

    project = current_project()
    if fmt == "jsonl":
        def emit(e: dict[str, Any]) -> None:
            sys.stdout.write(json.dumps(e, default=str) + "\n")
            sys.stdout.flush()
    else:
        emit = _TextPrinter(verbose)
    try:
        result = run_pipeline(
            project, list(stages), jobs=jobs, force=force, dry_run=dry_run, run_cache=not no_run_cache,
            track=not no_track, wait=wait, executor=executor, scheduler=scheduler,
            log_output=log_output, on_event=emit,
        )
    except KeyboardInterrupt:
        if fmt == "jsonl":
            emit({"event": "pipeline-end", "status": "killed"})
        result = None
    if result is None or result.status == "killed":
        click.secho("Interrupted: the kernels were stopped; finished stages are recorded in mlnb.lock. "
                    "Run `mlnb run` again to continue.", fg="yellow", err=True)
        raise click.exceptions.Exit(130)
    if dry_run:
        if fmt == "jsonl":
            emit({"event": "plan", "stages": [s.to_dict() for s in result.stages]})
            return
        todo = [s for s in result.stages if s.action != "fresh"]
        if not todo:
            click.echo("Pipeline is up to date; nothing would run.")
            return
        for s in result.stages:
            if s.action == "fresh" and not verbose:
                continue
            why = "; ".join(s.reasons)
            label = {"would-run": "would run", "would-check": "would check", "fresh": "fresh"}[s.action]
            click.echo(f"{_MARK[s.action]} {s.name}: {label}" + (f" ({why})" if why else ""))
        return
    if fmt == "text":
        if result.count("ran") == 0 and result.count("restored") == 0 and result.ok:
            click.echo("Pipeline is up to date.", err=True)
        else:
            line = f"{_summary(result)} in {result.duration:.1f} s"
            if result.run_id:
                line += f"; pipeline run {result.run_id}"
            click.secho(line, fg="green" if result.ok else "red", err=True)
    if not result.ok:
        raise click.exceptions.Exit(1)
