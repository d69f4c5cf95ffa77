"""Errors of notebook tests. Light: no kernel imports (the plugin's failure reports use them)."""

from __future__ import annotations

import builtins
from typing import Any

from mlnb.errors import MlnbError, UsageError
from mlnb.execute._errors import CellExecutionFailed

__all__ = ["NotebookRuntimeError", "ValueTransferError", "runtime_error"]


class NotebookRuntimeError(CellExecutionFailed):
    """Code run in the notebook's kernel raised (a cell, ``nb.inject``, a ``nb.ref`` call, a patch).

    ``ename``, ``evalue`` and ``traceback`` (ANSI colours removed) are the kernel's. When ``ename``
    names a built-in exception, the raised object is also an instance of it, so
    ``pytest.raises(ValueError)`` catches a ``ValueError`` raised in the notebook.
    """

    def __init__(self, ename: str, evalue: str, traceback: list[str] | None = None,
                 *, code: str | None = None, what: str | None = None, **where: Any) -> None:
        self.code = code
        self.what = what
        super().__init__(ename, evalue, traceback, **where)

    def _message(self) -> str:
        from mlnb.testing._report import format_kernel_error

        return format_kernel_error(self)


_classes: dict[str, type] = {}


def runtime_error(ename: str, evalue: str, traceback: list[str] | None = None, **kw: Any) -> NotebookRuntimeError:
    """A NotebookRuntimeError that is also the built-in exception ``ename`` names, if any."""
    base = getattr(builtins, ename, None)
    if (
        isinstance(base, type)
        and issubclass(base, Exception)
        and not issubclass(base, (OSError, UnicodeError))  # their __init__/args rules clash
    ):
        cls = _classes.get(ename)
        if cls is None:
            try:
                cls = type(ename, (NotebookRuntimeError, base), {"__module__": "mlnb.testing"})
            except TypeError:  # layout conflict: fall back to the plain error
                cls = NotebookRuntimeError
            _classes[ename] = cls
    else:
        cls = NotebookRuntimeError
    return cls(ename, evalue, traceback, **kw)  # type: ignore[no-any-return]


class ValueTransferError(MlnbError):
    """A value cannot cross between the notebook's kernel and the test (it does not pickle there,
    or does not unpickle here). ``type_name`` is the value's type, ``reason`` why."""

    def __init__(self, what: str, type_name: str, reason: str, direction: str = "from") -> None:
        self.what, self.type_name, self.reason, self.direction = what, type_name, reason, direction
        if direction == "from":
            hint = (
                f"Reach into it instead: nb.ref({what!r}).some_attribute, or return something "
                "picklable (e.g. nb.value(...) of a list, dict, numpy array or DataFrame)."
            )
            msg = f"Cannot bring {what} back from the notebook: it is a {type_name} ({reason}). {hint}"
        else:
            msg = f"Cannot send {what} to the notebook: it is a {type_name} ({reason}). Pass picklable values."
        super().__init__(msg)


class NotebookTestUsageError(UsageError):
    """Wrong use of the notebook test API (unknown cell tag, bad ``execute=`` value...)."""
