"""Paired notebook ↔ text (.py percent) sync that never loses an edit.

jupytext does the format work (formats metadata, percent/light/markdown readers and writers);
mlnb adds what ``jupytext --sync`` lacks: it remembers the last synced inputs of each pair in
``.mlnb/sync.json`` and, when both files changed since, merges the inputs three-way. A true
conflict is reported with its cells and nothing is written. Cells whose source changed on the
text side lose their stale outputs (``metadata.mlnb.stale_outputs``).
"""

from __future__ import annotations

from mlnb.sync._core import (
    PairResult,
    SyncConflictError,
    find_pairs,
    pair,
    sync,
    sync_pair,
    unpair,
)

__all__ = ["PairResult", "SyncConflictError", "find_pairs", "pair", "sync", "sync_pair", "unpair"]
