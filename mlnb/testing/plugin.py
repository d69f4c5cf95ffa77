"""mlnb's pytest plugin (entry point ``pytest11: mlnb``).

It loads in every pytest run of every project that installs mlnb, so it imports nothing heavy
here and changes nothing unless asked: notebooks are collected only with ``--mlnb``; the
``mlnb_notebook`` fixture and ``@mlnb.testing.notebook`` start kernels only when a test uses them.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Iterator

import pytest

_HELP_TAGS = "cell tags skip-test / raises-exception and '# mlnb: skip' / '# mlnb: raises' lines are honoured"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mlnb", "notebook tests (mlnb)")
    group.addoption(
        "--mlnb", action="store_true", default=False,
        help=f"collect .ipynb files as tests: one per notebook and parameter set; {_HELP_TAGS}.",
    )
    group.addoption(
        "--mlnb-cells", action="store_true", default=False,
        help="with --mlnb: one test per code cell (cells of a notebook share its kernel).",
    )
    group.addoption(
        "--mlnb-timeout", type=float, default=None, metavar="SECONDS",
        help="with --mlnb: fail a cell that runs longer than this (default: none; a notebook's "
        "metadata mlnb.test.timeout wins).",
    )
    group.addoption(
        "--mlnb-compare-outputs", action="store_true", default=False,
        help="with --mlnb: compare fresh outputs with the stored ones (ignoring execution counts, "
        "timestamps, memory addresses, figure bytes).",
    )
    group.addoption(
        "--mlnb-float-tolerance", type=float, default=1e-5, metavar="REL",
        help="relative tolerance for numbers in text outputs under --mlnb-compare-outputs (default 1e-5).",
    )
    group.addoption(
        "--mlnb-track", action="store_true", default=False,
        help="with --mlnb: record each notebook test as a tracked mlnb run.",
    )
    group.addoption(
        "--mlnb-kernels", type=int, default=None, metavar="N",
        help="warm kernels kept ready per process (default: 2, or 1 per pytest-xdist worker; 0: none).",
    )


def _engine_loaded() -> Any:
    return sys.modules.get("mlnb.testing._engine")


def pytest_configure(config: pytest.Config) -> None:
    config._mlnb_pool = None  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """(pytest-xdist) ``pytest --mlnb -n N``: like ``--dist load``, except that the notebooks of
    one mlnb.yaml pipeline go to one worker, in collection order (producers first)."""
    if not config.getoption("mlnb", False) or getattr(config.option, "dist", None) != "load":
        return None
    from mlnb.testing._collect import make_scheduler

    return make_scheduler(config, log)


def _pool_size(config: pytest.Config) -> int:
    n = config.getoption("mlnb_kernels", None)
    if n is not None:
        return max(0, n)
    return 1 if hasattr(config, "workerinput") else 2


def _configure_engine(config: pytest.Config) -> Any:
    """Import the engine (heavy) and give it this session's pool size; once per session."""
    from mlnb.testing import _engine

    if getattr(config, "_mlnb_pool", None) is None:
        config._mlnb_pool = _pool_size(config)  # type: ignore[attr-defined]
        _engine.configure_pool(config._mlnb_pool)  # type: ignore[attr-defined]
    return _engine


def pytest_collect_file(file_path: Any, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".ipynb" or not parent.config.getoption("mlnb", False):
        return None
    if ".ipynb_checkpoints" in file_path.parts:
        return None
    from mlnb.testing._collect import NotebookFile

    return NotebookFile.from_parent(parent, path=file_path)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("mlnb", False):
        return
    from mlnb.testing._collect import order_items

    order_items(items)


def pytest_collection_finish(session: pytest.Session) -> None:
    if not session.config.getoption("mlnb", False) or session.config.option.collectonly:
        return
    mod = sys.modules.get("mlnb.testing._collect")
    if mod is None:
        return
    notebooks = {id(i) if isinstance(i, mod.NotebookItem) else id(i.parent)
                 for i in session.items if isinstance(i, (mod.NotebookItem, mod.CellItem))}
    if not notebooks:
        return
    # as many kernels as notebooks to run, unless other tests may want more (@notebook, fixtures)
    only_notebooks = all(isinstance(i, (mod.NotebookItem, mod.CellItem)) for i in session.items)
    _configure_engine(session.config).warm_up(len(notebooks) if only_notebooks else None)
    # nbclient (and nbformat, ~1 s of imports) loads here while the kernels boot
    import nbclient  # noqa: F401


def pytest_runtest_setup(item: pytest.Item) -> None:
    # Any test that may start a kernel (notebook items, @notebook tests, mlnb_notebook users)
    # gets the session's pool; tests that never touch mlnb pay one getattr.
    if _engine_loaded() is not None or "mlnb_notebook" in getattr(item, "fixturenames", ()):
        _configure_engine(item.config)


def pytest_unconfigure(config: pytest.Config) -> None:
    engine = _engine_loaded()
    if engine is not None and getattr(config, "_mlnb_pool", None) is not None:
        engine.shutdown_all()


@pytest.fixture
def mlnb_notebook(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """Open notebooks for this test: ``nb = mlnb_notebook("train.ipynb", params={...},
    execute=True)``; each is an executed notebook with a live kernel, closed after the test."""
    from pathlib import Path

    _configure_engine(request.config)
    from mlnb.testing._fixture import open_notebook

    opened: list[Any] = []
    bases = [Path(str(request.node.path)).parent, Path(str(request.config.rootpath))]

    def factory(path: Any, params: Any = None, execute: Any = True, **kw: Any) -> Any:
        __tracebackhide__ = True
        handle = open_notebook(path, params, execute, _bases=bases, **kw)
        opened.append(handle)
        return handle

    yield factory
    for handle in reversed(opened):
        handle._s.close()


@pytest.fixture(scope="module")
def _mlnb_module_notebooks(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """Notebooks shared by a module's ``@notebook(..., scope="module")`` tests."""
    _configure_engine(request.config)
    cache: dict[str, Any] = {}
    yield cache
    for handle in reversed(list(cache.values())):
        handle._s.close()
