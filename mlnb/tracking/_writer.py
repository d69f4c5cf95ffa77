"""The background writer: log calls append to a queue; one thread commits in batches.

A batch is committed every ``interval`` seconds or as soon as ``batch_size`` operations are
waiting, whichever comes first; :meth:`Writer.flush` commits everything queued so far and waits.
A busy database is retried (never dropped): several processes may write to one store at once.
"""

from __future__ import annotations

import sys
import threading
from typing import Any, Callable

from mlnb.errors import StoreError

# Operation kinds, each with its SQL. Consecutive operations of one kind become one executemany.
_SQL: dict[str, str] = {
    "experiment": "INSERT INTO experiments (name, created) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
    "run": (
        "INSERT INTO runs (id, experiment, name, status, notebook, git_commit, git_dirty, user_name,"
        " host, pid, python, packages, start_time, end_time, parent_id, source)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
    ),
    "run_env": "UPDATE runs SET git_commit = ?, git_dirty = ?, packages = ? WHERE id = ?",
    "run_packages": "UPDATE runs SET packages = ? WHERE id = ?",
    "cells_close": (
        "UPDATE cell_executions SET status = 'error', error_name = ?, error_message = ?"
        " WHERE run_id = ? AND status = 'running'"
    ),
    "run_end": "UPDATE runs SET status = ?, end_time = ? WHERE id = ?",
    "param": (
        "INSERT INTO params (run_id, key, value, value_text, value_num, cell_execution_id)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, key) DO NOTHING"
    ),
    "tag": (
        "INSERT INTO tags (run_id, key, value, cell_execution_id) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value,"
        " cell_execution_id = excluded.cell_execution_id"
    ),
    "metric": (
        "INSERT INTO metrics (run_id, key, value, step, ts, cell_execution_id)"
        " VALUES (?, ?, ?, ?, ?, ?)"
    ),
    "artifact": (
        "INSERT INTO artifacts (run_id, path, hash, size, ts, cell_execution_id)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, path) DO UPDATE SET hash = excluded.hash,"
        " size = excluded.size, ts = excluded.ts, cell_execution_id = excluded.cell_execution_id"
    ),
    "cell": (
        "INSERT INTO cell_executions (id, run_id, notebook, cell_id, execution_count, source_hash,"
        " source, start_time, duration, status, error_name, error_message)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING"
    ),
    "cell_end": (
        "UPDATE cell_executions SET duration = ?, status = ?, error_name = ?, error_message = ?,"
        " execution_count = COALESCE(?, execution_count) WHERE id = ?"
    ),
}
_METRIC_PREFIX = (
    "INSERT INTO metrics (run_id, key, value, step, ts, cell_execution_id) VALUES "
)
# Rows per multi-row INSERT: sqlite3's executemany releases the GIL once per row, which starves
# this thread while the user's loop logs; one statement per chunk hands the GIL over far less.
_CHUNK = 500
_LATEST_SQL = (
    "INSERT INTO latest_metrics (run_id, key, value, step, ts, cell_execution_id)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value,"
    " step = excluded.step, ts = excluded.ts, cell_execution_id = excluded.cell_execution_id"
    " WHERE excluded.step > latest_metrics.step"
    " OR (excluded.step = latest_metrics.step AND excluded.ts >= latest_metrics.ts)"
)

Op = tuple  # (kind, row)


class Writer:
    """Batches operations on a background thread and commits them through ``conn``."""

    def __init__(self, conn, *, interval: float = 0.05, batch_size: int = 1000,
                 max_pending: int = 200_000,
                 prepare: Callable[[list[Op]], None] | None = None) -> None:
        self._conn = conn
        self._interval = interval
        self._batch_size = batch_size
        self._max_pending = max_pending
        self._prepare = prepare
        self._queue: list[Op] = []
        self._cv = threading.Condition(threading.Lock())
        self._submitted = 0
        self._committed = 0
        self._urgent = False
        self._closing = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="mlnb-writer", daemon=True)
        self._thread.start()

    def submit(self, kind: str, row: tuple) -> None:
        with self._cv:
            self._queue.append((kind, row))
            self._submitted += 1
            n = len(self._queue)
            if n >= self._batch_size:
                self._cv.notify_all()
                if n >= self._max_pending and self._thread.is_alive():
                    # Back-pressure: bound memory, and let the writer catch up.
                    self._cv.wait_for(lambda: len(self._queue) < self._max_pending, 5.0)

    def submit_many(self, ops: list[Op]) -> None:
        with self._cv:
            self._queue.extend(ops)
            self._submitted += len(ops)
            if len(self._queue) >= self._batch_size:
                self._cv.notify_all()

    @property
    def pending(self) -> int:
        return self._submitted - self._committed

    def flush(self, timeout: float | None = None) -> None:
        """Commit everything submitted so far; raise StoreError if the writer failed."""
        with self._cv:
            target = self._submitted
            if self._committed < target:
                self._urgent = True
                self._cv.notify_all()
                ok = self._cv.wait_for(
                    lambda: self._committed >= target or not self._thread.is_alive(), timeout
                )
                if not ok:
                    raise StoreError(f"The store did not commit within {timeout} s.")
            err, self._error = self._error, None
        if err is not None:
            raise StoreError(f"Some tracking data could not be stored: {err}") from err

    def close(self, timeout: float | None = 30.0) -> None:
        try:
            self.flush(timeout)
        finally:
            with self._cv:
                self._closing = True
                self._cv.notify_all()
            self._thread.join(timeout)

    # -- the thread ---------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cv:
                if not self._queue and not self._closing:
                    self._cv.wait()
                if not self._queue and self._closing:
                    return
                # Collect for up to `interval` seconds unless flushed or full.
                if not self._urgent and len(self._queue) < self._batch_size and not self._closing:
                    self._cv.wait_for(
                        lambda: self._urgent or self._closing or len(self._queue) >= self._batch_size,
                        self._interval,
                    )
                batch, self._queue = self._queue, []
                self._urgent = False
                self._cv.notify_all()  # wake loggers waiting on a full queue
            try:
                if self._prepare is not None:
                    self._prepare(batch)
                self._conn.transaction(lambda cur: _apply(cur, batch))
            except BaseException as e:  # keep the thread alive; report on the next flush
                with self._cv:
                    self._error = e
                print(f"mlnb: could not store {len(batch)} tracking records: {e}", file=sys.stderr)
            with self._cv:
                self._committed += len(batch)
                self._cv.notify_all()


def _apply(cur, batch: list[Op]) -> None:
    i = 0
    n = len(batch)
    latest: dict[tuple[str, str], tuple] = {}
    while i < n:
        kind = batch[i][0]
        j = i
        while j < n and batch[j][0] == kind:
            j += 1
        rows = [op[1] for op in batch[i:j]]
        if kind == "metric":
            for k in range(0, len(rows), _CHUNK):
                chunk = rows[k : k + _CHUNK]
                cur.execute(_METRIC_PREFIX + ",".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk)),
                            [v for r in chunk for v in r])
            for r in rows:  # (run_id, key, value, step, ts, cell)
                k = (r[0], r[1])
                prev = latest.get(k)
                if prev is None or (r[3], r[4]) >= (prev[3], prev[4]):
                    latest[k] = r
        else:
            cur.executemany(_SQL[kind], rows)
        i = j
    if latest:
        cur.executemany(_LATEST_SQL, list(latest.values()))


def new_writer(conn: Any, **kw: Any) -> Writer:
    return Writer(conn, **kw)
