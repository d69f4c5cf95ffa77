"""pytest-xdist: each worker has its own loop, pool and kernels (IPC sockets, no ports)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.kernel, pytest.mark.slow]


def test_notebooks_under_xdist(inner, write_nb, pytester, monkeypatch):
    for i in range(4):
        write_nb(f"nb{i}.ipynb", ["import os", f"open('ran-{i}-' + str(os.getpid()), 'w').close()"])
    write_nb("bad.ipynb", ["raise ValueError('from a worker')"])
    # a pipeline: `use` reads what `make` writes; plain `-n 2` keeps them on one worker, in order
    pytester.path.joinpath("mlnb.yaml").write_text(
        "stages:\n"
        "  use:\n    notebook: p/use.ipynb\n    deps: [made.txt]\n"
        "  make:\n    notebook: p/make.ipynb\n    outs: [made.txt]\n"
    )
    write_nb("p/use.ipynb", ["assert open('made.txt').read() == 'ok'"])
    write_nb("p/make.ipynb", ["import time; time.sleep(1); open('made.txt', 'w').write('ok')"])
    monkeypatch.setenv("PYTHONUNBUFFERED", "1")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:nbmake", "--mlnb", "-n", "2", timeout=120
    )
    result.assert_outcomes(passed=6, failed=1)
    result.stdout.fnmatch_lines(["*2 workers*", "*bad.ipynb: cell 1 (id 'c0'*raised ValueError*"])
    ran = sorted(p.name for p in pytester.path.glob("ran-*"))
    assert [name.split("-")[1] for name in ran] == ["0", "1", "2", "3"]
    assert len({name.split("-")[2] for name in ran}) == 4  # a fresh kernel per notebook
