"""Test notebooks with pytest: ``pytest --mlnb`` collects notebooks as tests, and
``@notebook(...)`` / the ``mlnb_notebook`` fixture hand a test an executed notebook to reach into.

    from mlnb.testing import notebook

    @notebook("examples/train.ipynb", params={"epochs": 1})
    def test_training_reaches_accuracy(nb):
        assert nb.run.metrics["accuracy"] > 0.8
        assert nb.ref("predict")([[5.1, 3.5, 1.4, 0.2]]) == ["setosa"]

Names load lazily: importing this package starts nothing and imports no Jupyter code.
See docs/testing.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlnb._lazy import lazy_getattr

if TYPE_CHECKING:
    from mlnb.testing._errors import NotebookRuntimeError, NotebookTestUsageError, ValueTransferError
    from mlnb.testing._fixture import NotebookSpec, notebook, open_notebook
    from mlnb.testing._handle import NotebookHandle, Ref

__all__ = [
    "NotebookHandle",
    "NotebookRuntimeError",
    "NotebookSpec",
    "NotebookTestUsageError",
    "Ref",
    "ValueTransferError",
    "notebook",
    "open_notebook",
]

_LAZY = {
    "NotebookRuntimeError": "mlnb.testing._errors",
    "NotebookTestUsageError": "mlnb.testing._errors",
    "ValueTransferError": "mlnb.testing._errors",
    "NotebookSpec": "mlnb.testing._fixture",
    "notebook": "mlnb.testing._fixture",
    "open_notebook": "mlnb.testing._fixture",
    "NotebookHandle": "mlnb.testing._handle",
    "Ref": "mlnb.testing._handle",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())


def __dir__() -> list[str]:
    return sorted(__all__)
