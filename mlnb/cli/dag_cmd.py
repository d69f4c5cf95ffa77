"""``mlnb dag``: the stage graph as text, Graphviz dot or JSON."""

from __future__ import annotations

import json

import click

__all__ = ["dag_cmd"]


def _dot_id(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


@click.command("dag", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("stages", nargs=-1)
@click.option("--format", "fmt", type=click.Choice(["text", "dot", "json"]), default="text", show_default=True,
              help="dot: pipe into `dot -Tsvg`; json: stages with upstream/downstream and edges.")
def dag_cmd(stages: tuple[str, ...], fmt: str) -> None:
    """Print the pipeline's stages in dependency order with what each reads from.

    STAGES limits the graph to them and what they depend on.
    """
    from mlnb.cli._context import current_project
    from mlnb.pipeline._status import load_pipeline

    dag = load_pipeline(current_project())
    names = dag.select(list(stages) or None)
    if fmt == "json":
        data = dag.to_dict()
        keep = set(names)
        data["stages"] = [s for s in data["stages"] if s["name"] in keep]
        data["edges"] = [e for e in data["edges"] if e[0] in keep and e[1] in keep]
        click.echo(json.dumps(data, indent=2))
        return
    if fmt == "dot":
        lines = ["digraph mlnb {", "  rankdir=LR;", "  node [shape=box, style=rounded];"]
        for n in names:
            nb = dag.spec.stages[n].notebook
            lines.append(f"  {_dot_id(n)} [tooltip={_dot_id(nb)}];")
        for n in names:
            for u in dag.upstream[n]:
                lines.append(f"  {_dot_id(u)} -> {_dot_id(n)};")
        lines.append("}")
        click.echo("\n".join(lines))
        return
    width = max((len(n) for n in names), default=0)
    for n in names:
        s = dag.spec.stages[n]
        ups = dag.upstream[n]
        line = f"{n.ljust(width)}  {s.notebook}"
        if ups:
            line += "  ← " + ", ".join(ups)
        click.echo(line)
