"""The ``%mlnb`` line magic and ``%%mlnb`` cell magic."""

from __future__ import annotations

import ast
import shlex
from typing import Any

from IPython.core.error import UsageError as IPyUsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class

from mlnb import tracking
from mlnb.errors import MlnbError

HELP = """Track this notebook's runs, params and metrics.

With ``%load_ext mlnb`` every cell execution is recorded in the active run (one is
opened for the notebook automatically), with everything logged inside it.

Line magics::

  %mlnb run                       show the active run
  %mlnb run start [--name N] [--nested]
                                  finish the current run (unless --nested) and open a new one
  %mlnb run end [--status finished|failed|killed]
                                  end the active run (the next cell opens a fresh one
                                  unless %mlnb auto off)
  %mlnb param k=v [k=v ...]       log params (values are Python literals, else strings)
  %mlnb metric k=v [k=v ...] [--step N]
                                  log metrics (numbers)
  %mlnb tag k=v [k=v ...]         set tags
  %mlnb watch NAME [NAME ...]     after each cell, log these variables as metrics when
                                  they are numbers and changed
  %mlnb unwatch [NAME ...]        stop watching (all when no name is given)
  %mlnb runs [FILTER]             table of runs, e.g. %mlnb runs metrics.acc > 0.9
  %mlnb auto on|off               open a run automatically when a cell runs with none active
  %mlnb flush                     commit everything logged so far

Cell magic::

  %%mlnb params                   run the cell, then log its top-level assignments as params
                                  (pairs with papermill's `parameters` cell)

Filters: metrics.acc > 0.9 and params.lr = '0.1', tags.stage = 'train',
status = 'finished', name LIKE 'cv-%', or / not / parentheses / in (...).
"""


def _parse_value(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def _pairs(args: list[str], what: str) -> dict[str, Any]:
    if not args:
        raise IPyUsageError(f"%mlnb {what} needs at least one key=value pair, e.g. %mlnb {what} lr=0.1")
    out: dict[str, Any] = {}
    for a in args:
        key, sep, value = a.partition("=")
        if not sep or not key.strip():
            raise IPyUsageError(f"%mlnb {what}: expected key=value, got {a!r}")
        out[key.strip()] = _parse_value(value.strip())
    return out


def _take_option(args: list[str], name: str) -> tuple[str | None, list[str]]:
    out, value, i = [], None, 0
    while i < len(args):
        a = args[i]
        if a == name:
            if i + 1 >= len(args):
                raise IPyUsageError(f"{name} needs a value")
            value = args[i + 1]
            i += 2
            continue
        if a.startswith(name + "="):
            value = a.split("=", 1)[1]
            i += 1
            continue
        out.append(a)
        i += 1
    return value, out


@magics_class
class MlnbMagics(Magics):
    def __init__(self, shell: Any, tracker: Any) -> None:
        super().__init__(shell)
        self.tracker = tracker

    @line_cell_magic
    def mlnb(self, line: str, cell: str | None = None) -> Any:
        try:
            if cell is not None:
                return self._cell(line, cell)
            return self._line(line)
        except MlnbError as e:
            raise IPyUsageError(str(e)) from None

    # The magic's docstring is what `%mlnb?` shows.
    mlnb.__doc__ = HELP

    # -- line magic -----------------------------------------------------------------------
    def _line(self, line: str) -> Any:
        try:
            args = shlex.split(line)
        except ValueError as e:
            raise IPyUsageError(f"%mlnb: cannot parse {line!r}: {e}") from None
        if not args or args[0] in ("help", "-h", "--help"):
            print(HELP)
            return None
        cmd, rest = args[0], args[1:]
        handler = getattr(self, "_cmd_" + cmd.replace("-", "_"), None)
        if handler is None:
            raise IPyUsageError(
                f"%mlnb: unknown command {cmd!r}; use run, param, metric, tag, watch, unwatch, "
                "runs, auto, flush (see %mlnb?)"
            )
        if cmd == "runs":
            return handler(line.strip()[len("runs"):].strip())
        return handler(rest)

    def _cmd_run(self, rest: list[str]) -> Any:
        if not rest:
            run = tracking.active_run()
            if run is None:
                print("No active run.")
                return None
            print(f"Active run {run.id} ({run.name})")
            return None
        sub, rest = rest[0], rest[1:]
        if sub == "start":
            name, rest = _take_option(rest, "--name")
            nested = "--nested" in rest
            rest = [a for a in rest if a != "--nested"]
            if rest:
                raise IPyUsageError(f"%mlnb run start: unexpected {' '.join(rest)!r}")
            if nested:
                run = tracking.start_run(name=name, nested=True, notebook=self.tracker.notebook)
            else:
                run = self.tracker.start_session_run(name)
            # Cells from now on belong to the new run.
            print(f"Started run {run.id} ({run.name})")
            return None
        if sub == "end":
            status, rest = _take_option(rest, "--status")
            if rest:
                raise IPyUsageError(f"%mlnb run end: unexpected {' '.join(rest)!r}")
            run = tracking.active_run()
            if run is None:
                print("No active run.")
                return None
            tracking.end_run(status=status or "finished")
            print(f"Ended run {run.id} ({status or 'finished'})")
            return None
        raise IPyUsageError(f"%mlnb run: unknown subcommand {sub!r}; use start or end")

    def _run(self) -> tracking.ActiveRun:
        run = self.tracker.ensure_run() or tracking.start_run(notebook=self.tracker.notebook)
        return run

    def _cmd_param(self, rest: list[str]) -> None:
        self._run().log_params(_pairs(rest, "param"))

    _cmd_params = _cmd_param

    def _cmd_metric(self, rest: list[str]) -> None:
        step, rest = _take_option(rest, "--step")
        try:
            step_i = int(step) if step is not None else None
        except ValueError:
            raise IPyUsageError(f"--step must be an integer, not {step!r}") from None
        self._run().log_metrics(_pairs(rest, "metric"), step=step_i)

    _cmd_metrics = _cmd_metric

    def _cmd_tag(self, rest: list[str]) -> None:
        self._run().set_tags({k: v if isinstance(v, str) else str(v)
                              for k, v in _pairs(rest, "tag").items()})

    _cmd_tags = _cmd_tag

    def _cmd_watch(self, rest: list[str]) -> None:
        if not rest:
            watched = ", ".join(self.tracker.watched) or "nothing"
            print(f"Watching: {watched}")
            return
        for name in rest:
            if not name.isidentifier():
                raise IPyUsageError(f"%mlnb watch: {name!r} is not a variable name")
            self.tracker.watched.setdefault(name, None)
        print(f"Watching: {', '.join(self.tracker.watched)}")

    def _cmd_unwatch(self, rest: list[str]) -> None:
        if not rest:
            self.tracker.watched.clear()
        for name in rest:
            self.tracker.watched.pop(name, None)

    def _cmd_runs(self, filter_text: str) -> Any:
        return tracking.runs(filter=filter_text or None, limit=100)

    def _cmd_auto(self, rest: list[str]) -> None:
        if rest not in (["on"], ["off"]):
            raise IPyUsageError("%mlnb auto takes on or off")
        self.tracker.auto = rest == ["on"]
        print(f"Automatic runs {'on' if self.tracker.auto else 'off'}")

    def _cmd_flush(self, rest: list[str]) -> None:
        tracking.flush()

    def _cmd_pin(self, rest: list[str]) -> None:
        """%mlnb pin PATH... [--note TEXT] [--write-notebook]: pin data (mlnb.data)."""
        from mlnb.kernel._reads import magic_pin

        magic_pin(self.tracker, rest)

    def _cmd_data(self, rest: list[str]) -> None:
        """%mlnb data status | reads: this notebook's pins and the files read so far."""
        from mlnb.kernel._reads import magic_data

        magic_data(self.tracker, rest)

    # -- cell magic -----------------------------------------------------------------------
    def _cell(self, line: str, cell: str) -> None:
        if line.strip() != "params":
            raise IPyUsageError("The cell magic is %%mlnb params")
        from mlnb.kernel._tracker import _assigned_names

        code = self.shell.transform_cell(cell)
        self.shell.ex(code)
        run = self._run()
        ns = self.shell.user_ns
        values = {n: ns[n] for n in _assigned_names(code) if n in ns}
        changed = {k: v for k, v in values.items()
                   if k in run._params and run._params[k] != tracking._fluent.encode_param(v)[0]}
        if changed and not run.adopted:
            # New values for this notebook's params: that is a new run, not an error.
            old = run
            run = self.tracker.start_session_run()
            print(f"mlnb: params changed ({', '.join(sorted(changed))}); "
                  f"ended run {old.id}, started run {run.id}")
        run.log_params(values)
