"""Headless notebook execution: validated parameters, a fast nbclient runner, warm kernel pools,
tracked runs, and a papermill engine.

    from mlnb.execute import execute_notebook
    result = execute_notebook("train.ipynb", parameters={"lr": 0.01})
    result.raise_for_error()

Names are imported lazily: ``import mlnb.execute`` costs nothing until one is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mlnb._lazy import lazy_getattr

if TYPE_CHECKING:
    from mlnb.execute._errors import (
        CellExecutionFailed,
        CellTimeoutError,
        ExecutionError,
        ExecutionInterrupted,
        KernelDiedError,
        KernelStartError,
        NotebookReadError,
        ParameterError,
    )
    from mlnb.execute._kernel import KernelPool
    from mlnb.execute._parameters import Parameter, ParametersCell, RawValue
    from mlnb.execute._progress import Reporter
    from mlnb.execute._runner import (
        CellTiming,
        ExecutionResult,
        execute_notebook,
        execute_notebook_async,
        execute_notebooks,
        execute_notebooks_async,
    )

__all__ = [
    "CellExecutionFailed",
    "CellTimeoutError",
    "CellTiming",
    "ExecutionError",
    "ExecutionInterrupted",
    "ExecutionResult",
    "KernelDiedError",
    "KernelPool",
    "KernelStartError",
    "NotebookReadError",
    "Parameter",
    "ParameterError",
    "ParametersCell",
    "RawValue",
    "Reporter",
    "execute_notebook",
    "execute_notebook_async",
    "execute_notebooks",
    "execute_notebooks_async",
    "notebook_parameters",
]

_LAZY = {
    "CellExecutionFailed": "mlnb.execute._errors",
    "CellTimeoutError": "mlnb.execute._errors",
    "ExecutionError": "mlnb.execute._errors",
    "ExecutionInterrupted": "mlnb.execute._errors",
    "KernelDiedError": "mlnb.execute._errors",
    "KernelStartError": "mlnb.execute._errors",
    "NotebookReadError": "mlnb.execute._errors",
    "ParameterError": "mlnb.execute._errors",
    "KernelPool": "mlnb.execute._kernel",
    "Parameter": "mlnb.execute._parameters",
    "ParametersCell": "mlnb.execute._parameters",
    "RawValue": "mlnb.execute._parameters",
    "Reporter": "mlnb.execute._progress",
    "CellTiming": "mlnb.execute._runner",
    "ExecutionResult": "mlnb.execute._runner",
    "execute_notebook": "mlnb.execute._runner",
    "execute_notebook_async": "mlnb.execute._runner",
    "execute_notebooks": "mlnb.execute._runner",
    "execute_notebooks_async": "mlnb.execute._runner",
}


def notebook_parameters(path: Any) -> ParametersCell | None:
    """The cell tagged ``parameters`` of the notebook at ``path`` and what it declares (no kernel)."""
    from mlnb.execute._notebook import read_notebook
    from mlnb.execute._parameters import find_parameters

    return find_parameters(read_notebook(path))


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
