from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _close_stat_cache():
    yield
    from mlnb.data import _statcache

    _statcache._reset_for_tests()
