"""``nb``: an executed notebook whose kernel is still up, to assert on and reach into.

Values cross from the kernel as JSON when that is exact (None, bool, int, float, str, and lists /
str-keyed dicts of those) and as a pickle otherwise (numpy arrays, DataFrames, tuples, sets,
objects of importable classes). Arguments go the other way as a pickle. An object that cannot
cross raises :class:`ValueTransferError` naming its type.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import json
import os
import pickle
from typing import Any, Iterator, Mapping, Sequence

from mlnb.testing._engine import NotebookSession, cell_tags, run
from mlnb.testing._errors import NotebookTestUsageError, ValueTransferError, runtime_error

__all__ = ["NotebookHandle", "Ref"]

# Defined once per kernel, silently: how values leave it and arguments enter it.
_HELPERS = r'''
def __mlnb_testing_helpers():
    import base64, json, pickle, types

    def exact_json(o, depth=0):
        t = type(o)
        if o is None or t in (bool, int, float, str):
            return True
        if depth > 100:
            return False
        if t is list:
            return all(exact_json(x, depth + 1) for x in o)
        if t is dict:
            return all(type(k) is str and exact_json(v, depth + 1) for k, v in o.items())
        return False

    def dump(o):
        t = type(o)
        name = t.__qualname__ if t.__module__ in ("builtins", "__main__") else t.__module__ + "." + t.__qualname__
        if exact_json(o):
            try:
                return "J" + json.dumps(o)
            except (TypeError, ValueError, RecursionError):
                pass
        try:
            data = pickle.dumps(o, protocol=4)
        except Exception as e:
            return "E" + json.dumps({"type": name, "reason": type(e).__name__ + ": " + str(e)})
        return "P" + json.dumps({"type": name, "main": t.__module__ == "__main__"}) + "\n" + base64.b64encode(data).decode("ascii")

    def load(s):
        return pickle.loads(base64.b64decode(s))

    return types.SimpleNamespace(dump=dump, load=load, refs={}, last=None)

__mlnb_t = __mlnb_testing_helpers()
del __mlnb_testing_helpers
'''


def _describe_type(value: Any) -> str:
    t = type(value)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


class NotebookHandle:
    """An executed notebook (``nb``) and its live kernel.

    - ``nb.run``: the tracked run of this execution (a :class:`mlnb.tracking.Run`, re-read on
      each access: ``.metrics``, ``.params``, ``.status`` ``'running'`` until the test ends).
    - ``nb.value(expr)``: the value of a name or expression in the notebook.
    - ``nb.ref(name)``: a proxy; call it, read attributes or items, compare it.
    - ``nb.execute_cell(3)``, ``nb.execute_cell("train")`` (a tag), lists of both.
    - ``nb.inject(code)``: run code in the kernel as a new cell; returns the cell (with outputs).
    - ``with nb.patch("module.function", return_value=...) as mock:`` (``unittest.mock.patch``).
    """

    def __init__(self, session: NotebookSession) -> None:
        self._s = session

    # -- what ran --------------------------------------------------------------------------------
    @property
    def path(self) -> os.PathLike[str]:
        return self._s.path

    @property
    def parameters(self) -> dict[str, Any]:
        """The parameters injected into this execution."""
        return dict(self._s.prep.injected)

    @property
    def cells(self) -> list[Any]:
        """The notebook's cells (executed ones carry their outputs)."""
        return self._s.cells

    @property
    def notebook(self) -> Any:
        """The notebook (an nbformat ``NotebookNode`` once the kernel started)."""
        return self._s.prep.nb

    @property
    def run_id(self) -> str | None:
        return self._s.run_id

    @property
    def run(self) -> Any:
        """The tracked run of this execution, as the store has it now."""
        __tracebackhide__ = True
        tracked = self._s.tracked
        if tracked is None:
            raise NotebookTestUsageError(
                f"{self._s.display} was executed without tracking; use track=True to get nb.run."
            )
        self._s.flush_tracking()
        store = tracked.store
        store.flush()
        return store.get_run(tracked.id)

    def run_detail(self) -> dict[str, Any]:
        """The run's detail (cell executions, metric summaries, artifacts) as the REST API sends it."""
        run = self.run
        return self._s.tracked.store.run_detail(run.id)

    # -- cells -----------------------------------------------------------------------------------
    def _indices(self, which: Any) -> list[int]:
        cells = self._s.cells
        if isinstance(which, bool):
            raise NotebookTestUsageError("execute_cell() takes a cell index, a tag, or a list of them")
        if isinstance(which, int):
            index = which + len(cells) if which < 0 else which
            if not 0 <= index < len(cells):
                raise NotebookTestUsageError(
                    f"{self._s.display} has {len(cells)} cells; there is no cell index {which}."
                )
            return [index]
        if isinstance(which, str):
            found = [i for i, c in enumerate(cells) if which in cell_tags(c) or c.get("id") == which]
            if not found:
                tags = sorted({t for c in cells for t in cell_tags(c)})
                raise NotebookTestUsageError(
                    f"{self._s.display} has no cell tagged {which!r}"
                    + (f" (tags: {', '.join(tags)})" if tags else " (no cell has tags)")
                )
            return found
        if isinstance(which, slice):
            return list(range(len(cells)))[which]
        if isinstance(which, (list, tuple, range)):
            out: list[int] = []
            for w in which:
                out += self._indices(w)
            return out
        raise NotebookTestUsageError(f"a cell is an index or a tag, not a {type(which).__name__}")

    def execute_cell(self, which: Any) -> Any:
        """Run cells by index (0-based, over all cells like testbook), tag or id; returns the cell
        (or a list when ``which`` selects several). A failing cell raises NotebookRuntimeError."""
        __tracebackhide__ = True
        indices = self._indices(which)
        for i in indices:
            self._run_cell(i)
        cells = [self._s.cells[i] for i in indices]
        return cells[0] if len(cells) == 1 and not isinstance(which, (list, tuple, range, slice)) else cells

    def execute(self) -> None:
        """Run every code cell not yet run (skip tags honoured)."""
        __tracebackhide__ = True
        for i in self._s.code_cells:
            if i not in self._s.executed:
                self._run_cell(i)

    def _run_cell(self, index: int) -> None:
        __tracebackhide__ = True
        from mlnb.execute._errors import CellExecutionFailed

        try:
            self._s.execute_cells([index])
        except CellExecutionFailed as e:
            raise runtime_error(
                e.ename, e.evalue, e.traceback, code=str(self._s.cells[index].get("source", "")),
                cell_index=e.cell_index, cell_id=e.cell_id, execution_count=e.execution_count,
                source_line=e.source_line, notebook=e.notebook,
            ) from None

    def cell_output_text(self, which: Any) -> str:
        """The text of a cell's stream and ``text/plain`` outputs (like testbook's)."""
        index = self._indices(which)[0]
        parts = []
        for out in self._s.cells[index].get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out.get("text", ""))
            elif "data" in out and "text/plain" in out["data"]:
                parts.append(out["data"]["text/plain"])
        return "".join(parts)

    def cell_execute_result(self, which: Any) -> list[dict[str, Any]]:
        """The ``data`` bundles of a cell's results and displays (like testbook's)."""
        index = self._indices(which)[0]
        return [dict(out["data"]) for out in self._s.cells[index].get("outputs", [])
                if out.get("output_type") in ("execute_result", "display_data")]

    def inject(self, code: str, *, run: bool = True) -> Any:
        """Append a code cell with ``code`` and (by default) run it in the kernel; returns the cell.
        A failure raises NotebookRuntimeError with the kernel's traceback."""
        __tracebackhide__ = True
        from nbformat.v4 import new_code_cell

        self._s.start()
        cell = new_code_cell(code)
        cell.metadata["tags"] = ["mlnb-injected"]
        self._s.cells.append(cell)
        if run:
            self._run_cell(len(self._s.cells) - 1)
        return cell

    # -- values ----------------------------------------------------------------------------------
    def _ensure_helpers(self) -> None:
        if not self._s._helpers:
            self._s.start()
            content = run(self._s.request(_HELPERS))
            if content.get("status") != "ok":
                raise runtime_error(content.get("ename", "Error"), content.get("evalue", ""),
                                    content.get("traceback"), what="mlnb's value helpers")
            self._s._helpers = True

    def _eval(self, code: str, expr: str, what: str) -> Any:
        """Run ``code`` then evaluate ``expr`` in the kernel, bringing its value back."""
        __tracebackhide__ = True
        self._ensure_helpers()
        content = run(self._s.request(code, {"v": f"__mlnb_t.dump({expr})"}))
        if content.get("status") != "ok":
            raise runtime_error(content.get("ename", "Error"), content.get("evalue", ""),
                                content.get("traceback"), what=what, code=code or expr)
        result = (content.get("user_expressions") or {}).get("v") or {}
        if result.get("status") != "ok":
            raise runtime_error(result.get("ename", "Error"), result.get("evalue", ""),
                                result.get("traceback"), what=what, code=expr)
        text = ast.literal_eval(result["data"]["text/plain"])
        return self._decode(text, what)

    @staticmethod
    def _decode(text: str, what: str) -> Any:
        kind, body = text[0], text[1:]
        if kind == "J":
            return json.loads(body)
        if kind == "E":
            info = json.loads(body)
            raise ValueTransferError(what, info["type"], f"it does not pickle: {info['reason']}")
        header, _, data = body.partition("\n")
        info = json.loads(header)
        try:
            return pickle.loads(base64.b64decode(data))
        except Exception as e:  # noqa: BLE001 - any unpickling failure is the same story
            if info.get("main"):
                reason = "its class is defined in the notebook, so it does not exist in the test process"
            else:
                reason = f"it does not unpickle here: {type(e).__name__}: {e}"
            raise ValueTransferError(what, info["type"], reason) from None

    def value(self, expr: str) -> Any:
        """The value of a name or expression in the notebook's namespace."""
        __tracebackhide__ = True
        return self._eval("", expr, what=repr(expr))

    def ref(self, name: str) -> Ref:
        """A proxy for ``name`` in the kernel: ``nb.ref("predict")(rows)`` calls it there."""
        return Ref(self, name)

    get = ref  # testbook's spellings: tb.get(name), tb[name]

    def __getitem__(self, name: str) -> Ref:
        return Ref(self, name)

    def _pickle_arg(self, value: Any, what: str) -> str:
        try:
            return base64.b64encode(pickle.dumps(value, protocol=4)).decode("ascii")
        except Exception as e:  # noqa: BLE001
            raise ValueTransferError(what, _describe_type(value), f"{type(e).__name__}: {e}", "to") from None

    def _call(self, expr: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        __tracebackhide__ = True
        a = self._pickle_arg(tuple(args), f"the arguments of {expr}()")
        k = self._pickle_arg(dict(kwargs), f"the keyword arguments of {expr}()")
        code = f"__mlnb_t.last = ({expr})(*__mlnb_t.load({a!r}), **__mlnb_t.load({k!r}))"
        try:
            return self._eval(code, "__mlnb_t.last", what=f"{expr}(...)")
        finally:
            with contextlib.suppress(Exception):
                run(self._s.request("__mlnb_t.last = None"))

    # -- patching --------------------------------------------------------------------------------
    def patch(self, target: str, **kwargs: Any) -> contextlib.AbstractContextManager[Ref]:
        """``unittest.mock.patch(target, **kwargs)`` inside the kernel, for the block; yields a Ref
        to the mock (``mock.assert_called_once_with(...)``, ``mock.call_count == 1``)."""
        kw = self._pickle_arg(dict(kwargs), f"the arguments of patch({target!r})")
        return self._patcher(f"_mlnb_mock.patch({target!r}, **__mlnb_t.load({kw!r}))", f"nb.patch({target!r})")

    def patch_dict(self, target: str, values: Mapping[str, Any] = (), clear: bool = False) -> contextlib.AbstractContextManager[Ref]:
        """``unittest.mock.patch.dict(target, values, clear=...)`` inside the kernel (e.g. ``"os.environ"``)."""
        v = self._pickle_arg(dict(values), f"the values of patch_dict({target!r})")
        return self._patcher(
            f"_mlnb_mock.patch.dict({target!r}, __mlnb_t.load({v!r}), clear={bool(clear)!r})",
            f"nb.patch_dict({target!r})",
        )

    @contextlib.contextmanager
    def _patcher(self, ctor: str, what: str) -> Iterator[Ref]:
        __tracebackhide__ = True
        self._ensure_helpers()
        key = f"patch{self._s.next_id()}"
        code = (
            "import unittest.mock as _mlnb_mock\n"
            f"__mlnb_t.refs[{key!r}] = {ctor}\n"
            f"__mlnb_t.refs[{key + '.mock'!r}] = __mlnb_t.refs[{key!r}].start()\n"
            "del _mlnb_mock"
        )
        content = run(self._s.request(code))
        if content.get("status") != "ok":
            raise runtime_error(content.get("ename", "Error"), content.get("evalue", ""),
                                content.get("traceback"), what=what)
        try:
            yield Ref(self, f"__mlnb_t.refs[{key + '.mock'!r}]")
        finally:
            if not self._s.dead and self._s.kernel is not None:
                run(self._s.request(
                    f"__mlnb_t.refs.pop({key!r}).stop()\n__mlnb_t.refs.pop({key + '.mock'!r}, None)"
                ))

    def __repr__(self) -> str:
        return f"<mlnb notebook {self._s.display} run={self.run_id}>"


class Ref:
    """A name (or expression) in the notebook's kernel. Calling it calls it there; attributes and
    items are refs too; ``ref.get()`` (or comparing with ``==``) brings the value back."""

    __slots__ = ("_nb", "_expr")

    def __init__(self, nb: NotebookHandle, expr: str) -> None:
        object.__setattr__(self, "_nb", nb)
        object.__setattr__(self, "_expr", expr)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        return self._nb._call(self._expr, args, kwargs)

    def __getattr__(self, name: str) -> Ref:
        if name.startswith("_"):
            raise AttributeError(name)
        return Ref(self._nb, f"({self._expr}).{name}")

    def __getitem__(self, key: Any) -> Ref:
        k = self._nb._pickle_arg(key, f"the key of {self._expr}[...]")
        return Ref(self._nb, f"({self._expr})[__mlnb_t.load({k!r})]")

    def get(self) -> Any:
        """The value itself (JSON or pickle; ValueTransferError when it cannot cross)."""
        __tracebackhide__ = True
        self._nb._ensure_helpers()
        return self._nb._eval("", self._expr, what=repr(self._expr))

    resolve = get  # testbook's spelling

    def __eq__(self, other: object) -> bool:
        return bool(self.get() == other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return int(self._nb._eval("", f"len({self._expr})", what=f"len({self._expr})"))

    def __repr__(self) -> str:
        return f"<mlnb ref {self._expr} in {self._nb._s.display}>"
