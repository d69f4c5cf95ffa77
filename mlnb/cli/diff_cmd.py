"""``mlnb diff``: cell-aware notebook diff of two files, git revisions, or two tracked runs."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from mlnb.errors import UsageError

_EPILOG = """\b
Examples:
  mlnb diff a.ipynb b.ipynb          two files
  mlnb diff                          changed notebooks: HEAD vs working tree
  mlnb diff HEAD~1 train.ipynb       one notebook: HEAD~1 vs working tree
  mlnb diff main feature -s          two revisions, sources only
  mlnb diff --runs 3f2a 9c1b         params and final metrics of two runs
  mlnb diff a.ipynb b.ipynb --json   nbdime-compatible JSON diff
"""


def _side_label(rev: str | None, path: str) -> str:
    return f"{rev}:{path}" if rev else path


def _run_header(project: Any, sides: list[tuple[str | None, str]]) -> list[str]:
    """'lr 0.1 → 0.2' lines when both notebook versions have tracked runs."""
    from mlnb.nbdiff._git import rev_commit
    from mlnb.nbdiff._render import render_run_diff_text
    from mlnb.nbdiff._runs import run_diff, runs_for_version, store_exists

    if project is None or not store_exists(project):
        return []
    from mlnb.tracking import open_store

    store = open_store(project)
    ids = []
    for rev, path in sides:
        commit = rev_commit(rev) if rev else None
        ids.append(runs_for_version(store, project.relpath(os.path.abspath(path)), commit))
    if None in ids or ids[0] == ids[1]:
        return []
    return render_run_diff_text(run_diff(ids[0], ids[1], store))


def _project() -> Any:
    from mlnb.cli._context import current_project

    try:
        return current_project()
    except Exception:  # a broken config must not break a diff
        return None


@click.command("diff", epilog=_EPILOG)
@click.argument("args", nargs=-1, metavar="[A.ipynb B.ipynb | [REV [REV]] [PATH]...]")
@click.option("-s", "--sources", is_flag=True, help="Compare sources (only the parts named are compared).")
@click.option("-o", "--outputs", is_flag=True, help="Compare outputs.")
@click.option("-m", "--metadata", is_flag=True, help="Compare metadata.")
@click.option("--exec-counts", is_flag=True, help="Also report execution count changes (ignored by default).")
@click.option("-t", "--tolerance", type=float, default=0.0, show_default=True,
              help="Numbers in text and table outputs equal within this (absolute or relative).")
@click.option("-U", "--context", type=click.IntRange(min=0), default=3, show_default=True,
              help="Source lines of context around changes.")
@click.option("--json", "as_json", is_flag=True, help="Print the nbdime-compatible JSON diff.")
@click.option("--html", "as_html", is_flag=True, help="Print a standalone HTML page.")
@click.option("--color", type=click.Choice(["auto", "always", "never"]), default="auto",
              show_default=True, help="Colors in the terminal rendering.")
@click.option("--runs", nargs=2, metavar="RUN_A RUN_B",
              help="Diff two tracked runs (params and final metrics).")
@click.option("--no-runs", is_flag=True, help="Do not look up tracked runs of the two versions.")
@click.option("--exit-code", is_flag=True, help="Exit 1 when there are differences (as git diff).")
def diff_cmd(args: tuple[str, ...], sources: bool, outputs: bool, metadata: bool,
             exec_counts: bool, tolerance: float, context: int, as_json: bool, as_html: bool,
             color: str, runs: tuple[str, str] | None, no_runs: bool, exit_code: bool) -> None:
    """Cell-aware diff of notebooks: two files, git revisions, or two tracked runs.

    Cells are matched by id, then by content, then fuzzily; execution counts are ignored;
    outputs are compared by content (images by pixels, tables cell by cell). When both
    notebook versions have tracked runs, their changed params and metrics are shown too.
    """
    from mlnb.nbdiff import DiffOptions, compute_diff, loads, read_notebook
    from mlnb.nbdiff._render import render_html, render_run_diff_text, render_terminal

    if as_json and as_html:
        raise UsageError("Choose one of --json and --html.")
    use_color = color == "always" or (color == "auto" and sys.stdout.isatty()
                                      and not os.environ.get("NO_COLOR"))
    if runs and not args:
        from mlnb.cli._context import project_store
        from mlnb.nbdiff._runs import run_diff

        rd = run_diff(runs[0], runs[1], project_store())
        if as_json:
            click.echo(json.dumps(rd, indent=1, default=str))
        else:
            for line in render_run_diff_text(rd):
                click.echo(line)
        return

    opts = DiffOptions.only(sources, outputs, metadata, execution_count=exec_counts,
                            tolerance=tolerance)
    # (label_a, label_b, nb_a, nb_b, sides for the run lookup)
    jobs: list[tuple[str, str, dict, dict, list[tuple[str | None, str]] | None]] = []
    if len(args) == 2 and all(os.path.isfile(a) for a in args):
        a, b = args
        jobs.append((a, b, read_notebook(a), read_notebook(b), [(None, a), (None, b)]))
    elif len(args) == 2 and args[0].endswith(".ipynb") and args[1].endswith(".ipynb") \
            and not all(os.path.exists(a) for a in args):
        missing = next(a for a in args if not os.path.exists(a))
        from mlnb.nbdiff import NotebookReadError

        raise NotebookReadError(missing, "no such file.")
    else:
        from mlnb.nbdiff._git import changed_notebooks, is_revision, repo_root, show_file

        repo_root()
        revs: list[str] = []
        rest = list(args)
        if rest and ".." in rest[0] and not os.path.exists(rest[0]):
            left, _, right = rest.pop(0).partition("..")
            revs = [left or "HEAD", right or "HEAD"]
        while rest and len(revs) < 2 and not os.path.exists(rest[0]) and is_revision(rest[0]):
            revs.append(rest.pop(0))
        for p in rest:
            if not os.path.exists(p) and not p.endswith(".ipynb"):
                raise UsageError(f"{p!r} is neither a git revision nor a file.")
        rev_a = revs[0] if revs else "HEAD"
        rev_b = revs[1] if len(revs) > 1 else None
        paths = rest or changed_notebooks(rev_a, rev_b)
        for p in paths:
            raw_a = show_file(rev_a, p)
            if rev_b:
                raw_b = show_file(rev_b, p)
            else:
                raw_b = open(p, "rb").read() if os.path.isfile(p) else None
            if raw_a is None and raw_b is None:
                raise UsageError(f"{p} exists neither at {rev_a} nor "
                                 f"{'at ' + rev_b if rev_b else 'in the working tree'}.")
            la, lb = _side_label(rev_a, p), _side_label(rev_b, p)
            jobs.append((la, lb, loads(raw_a or b"", la, allow_empty=True),
                         loads(raw_b or b"", lb, allow_empty=True), [(rev_a, p), (rev_b, p)]))

    project = None if no_runs or as_json else _project()
    changed = False
    json_out: dict[str, Any] = {}
    html_parts: list[str] = []
    for la, lb, nb_a, nb_b, sides in jobs:
        d = compute_diff(nb_a, nb_b, opts)
        changed = changed or d.changed
        header: list[str] = []
        if runs:
            from mlnb.cli._context import project_store
            from mlnb.nbdiff._runs import run_diff

            header = render_run_diff_text(run_diff(runs[0], runs[1], project_store()))
        elif project is not None and sides is not None:
            try:
                header = _run_header(project, sides)
            except Exception as e:  # run lookup is a bonus; never fail the diff for it
                header = [f"(runs not compared: {e})"]
        if as_json:
            json_out[lb if len(jobs) > 1 else ""] = d.nbdime
        elif as_html:
            html_parts.append(render_html(d, names=(la, lb), header=header))
        else:
            click.echo(render_terminal(d, color=use_color, context=context, names=(la, lb),
                                       header=header), nl=False)
    if as_json:
        click.echo(json.dumps(json_out[""] if list(json_out) == [""] else json_out, indent=1))
    elif as_html:
        click.echo("\n".join(html_parts))
    if exit_code and changed:
        sys.exit(1)
