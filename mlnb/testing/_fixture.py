"""``@notebook(...)``: a decorator, a context manager and the ``mlnb_notebook`` factory behind them.

    @notebook("examples/train.ipynb", params={"epochs": 1})
    def test_accuracy(nb):
        assert nb.run.metrics["accuracy"] > 0.8

    with notebook("examples/train.ipynb") as nb:     # e.g. inside your own fixture
        ...
"""

from __future__ import annotations

import functools
import inspect
import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

from mlnb.testing._errors import NotebookTestUsageError

__all__ = ["notebook", "open_notebook", "NotebookSpec"]

_SCOPES = ("function", "module")


def _resolve(path: str | os.PathLike[str], bases: list[Path]) -> Path:
    p = Path(path)
    if p.is_absolute():
        return p
    for base in [Path.cwd(), *bases]:
        candidate = base / p
        if candidate.exists():
            return candidate.resolve()
    return (Path.cwd() / p).resolve()  # the "does not exist" error names this one


def _cells_to_run(handle: Any, execute: Any) -> None:
    __tracebackhide__ = True
    if execute is True:
        handle.execute()
    elif execute is False or execute is None:
        handle._s.start()
    else:
        handle.execute_cell(execute if isinstance(execute, (list, tuple, range, slice)) else [execute])


def open_notebook(
    path: str | os.PathLike[str],
    params: Mapping[str, Any] | None = None,
    execute: Any = True,
    *,
    timeout: float | None = None,
    track: bool = True,
    cwd: str | os.PathLike[str] | None = None,
    kernel_name: str | None = None,
    _bases: list[Path] | None = None,
) -> Any:
    """Prepare and start a notebook, run the cells ``execute`` selects, and return its handle
    (close it with ``handle._close()``; the decorator and fixtures do)."""
    __tracebackhide__ = True
    from mlnb.testing._engine import NotebookSession
    from mlnb.testing._handle import NotebookHandle

    session = NotebookSession(
        _resolve(path, _bases or []), params, cwd=cwd, timeout=timeout, track=track, kernel_name=kernel_name
    )
    handle = NotebookHandle(session)
    try:
        _cells_to_run(handle, execute)
    except BaseException:
        session.close()
        raise
    return handle


class NotebookSpec:
    """What ``notebook(...)`` returns: decorate a test with it, or use it as a context manager."""

    def __init__(self, path: str | os.PathLike[str], params: Mapping[str, Any] | None = None,
                 execute: Any = True, scope: str = "function", *, timeout: float | None = None,
                 track: bool = True, cwd: str | os.PathLike[str] | None = None,
                 kernel_name: str | None = None, arg: str = "nb") -> None:
        if scope not in _SCOPES:
            raise NotebookTestUsageError(f"scope must be one of {', '.join(_SCOPES)}, not {scope!r}")
        self.path = path
        self.params = dict(params or {})
        self.execute = execute
        self.scope = scope
        self.kwargs = dict(timeout=timeout, track=track, cwd=cwd, kernel_name=kernel_name)
        self.arg = arg
        self._handle: Any = None

    def key(self) -> str:
        return json.dumps(
            [os.fspath(self.path), self.params, repr(self.execute), {k: str(v) for k, v in self.kwargs.items()}],
            sort_keys=True, default=repr,
        )

    def open(self, bases: list[Path] | None = None) -> Any:
        __tracebackhide__ = True
        return open_notebook(self.path, self.params, self.execute, _bases=bases, **self.kwargs)

    # -- context manager -------------------------------------------------------------------------
    def __enter__(self) -> Any:
        __tracebackhide__ = True
        caller = Path(inspect.stack()[1].filename).parent
        self._handle = self.open([caller])
        return self._handle

    def __exit__(self, *exc: Any) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle._s.close()

    # -- decorator -------------------------------------------------------------------------------
    def __call__(self, func: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(func)
        params = list(sig.parameters.values())
        names = [p.name for p in params]
        if self.arg in names:
            target = self.arg
        else:
            candidates = [n for n in names if n not in ("self", "cls")]
            if not candidates:
                raise NotebookTestUsageError(
                    f"@notebook needs an argument to pass the notebook in: def {func.__name__}(nb): ..."
                )
            target = candidates[0]
        wants_request = "request" in names
        kept = [p for p in params if p.name != target]
        if not wants_request:
            kept.append(inspect.Parameter("request", inspect.Parameter.KEYWORD_ONLY))
        if self.scope == "module":
            kept.append(inspect.Parameter("_mlnb_module_notebooks", inspect.Parameter.KEYWORD_ONLY))
        spec = self

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            request = kwargs["request"] if wants_request else kwargs.pop("request")
            from mlnb.testing.plugin import _configure_engine

            _configure_engine(request.config)
            cache = kwargs.pop("_mlnb_module_notebooks", None)
            bases = [Path(str(request.node.path)).parent, Path(str(request.config.rootpath))]
            if cache is not None:
                handle = cache.get(spec.key())
                if handle is None:
                    handle = cache[spec.key()] = spec.open(bases)
            else:
                handle = spec.open(bases)
                request.addfinalizer(handle._s.close)
            kwargs[target] = handle
            return func(*args, **kwargs)

        wrapper.__signature__ = sig.replace(parameters=_ordered(kept))  # type: ignore[attr-defined]
        del wrapper.__wrapped__  # pytest must see the new signature, not func's
        return wrapper


def _ordered(params: list[inspect.Parameter]) -> list[inspect.Parameter]:
    order = {inspect.Parameter.POSITIONAL_ONLY: 0, inspect.Parameter.POSITIONAL_OR_KEYWORD: 1,
             inspect.Parameter.VAR_POSITIONAL: 2, inspect.Parameter.KEYWORD_ONLY: 3,
             inspect.Parameter.VAR_KEYWORD: 4}
    return sorted(params, key=lambda p: order[p.kind])


def notebook(path: str | os.PathLike[str], params: Mapping[str, Any] | None = None,
             execute: Any = True, scope: str = "function", *, timeout: float | None = None,
             track: bool = True, cwd: str | os.PathLike[str] | None = None,
             kernel_name: str | None = None, arg: str = "nb") -> NotebookSpec:
    """A notebook for a test: ``@notebook(path, params=..., execute=...)`` passes ``nb`` (a
    :class:`~mlnb.testing.NotebookHandle`) to the test; ``with notebook(path) as nb:`` does the same
    for a block.

    - ``params``: injected like ``mlnb exec -p`` (validated against the ``parameters`` cell).
    - ``execute``: True (every cell), False (none: start the kernel only), or cells to run: an
      index, a tag, or a list of them.
    - ``scope="module"``: the tests of a module share one executed notebook (and kernel).
    - ``timeout``: seconds per cell; ``track``: record a run (``nb.run``); ``cwd``: the kernel's
      working directory (default: the notebook's folder).
    - ``arg``: the name of the test's argument that receives the notebook (default ``nb``, else the
      first argument).
    """
    return NotebookSpec(path, params, execute, scope, timeout=timeout, track=track, cwd=cwd,
                        kernel_name=kernel_name, arg=arg)
