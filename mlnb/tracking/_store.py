"""Store: the tracking database, read directly and written through the background writer."""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import threading
import time
from typing import Any, Iterable

from mlnb._process import pid_alive
from mlnb.errors import AmbiguousRunIdError, RunNotFoundError, UsageError
from mlnb.tracking._db import Connection, migrate, redact_url
from mlnb.tracking._filter import compile_filter, compile_order_by
from mlnb.tracking._models import MetricPoint, Run, RunList
from mlnb.tracking._writer import Writer

_RUN_COLS = (
    "id, experiment, name, status, notebook, git_commit, git_dirty, user_name, host, pid, python,"
    " packages, start_time, end_time, parent_id, source"
)
_REAP_EVERY = 5.0


def _chunks(seq: list, n: int = 500) -> Iterable[list]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _json_value(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class Store:
    """One tracking store (SQLite file or PostgreSQL database)."""

    def __init__(self, url: str, artifacts_dir: str | os.PathLike[str] | None = None) -> None:
        self.url = url
        self.artifacts_dir = str(artifacts_dir) if artifacts_dir is not None else None
        self._local = threading.local()
        self._readers: list[Connection] = []
        self._writer_lock = threading.Lock()
        self._conn = Connection(url)  # the writer's connection; readers get their own per thread
        migrate(self._conn)
        self._writer: Writer | None = None
        self._last_reap = 0.0
        self._host = socket.gethostname()

    def __repr__(self) -> str:
        return f"Store({redact_url(self.url)!r})"

    # -- connections --------------------------------------------------------------------
    @property
    def _reader(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = Connection(self.url)
            self._local.conn = conn
            with self._writer_lock:
                self._readers.append(conn)
        return conn

    @property
    def writer(self) -> Writer:
        if self._writer is None:
            with self._writer_lock:
                if self._writer is None:
                    self._writer = Writer(self._conn)
        return self._writer

    def flush(self, timeout: float | None = None) -> None:
        if self._writer is not None:
            self._writer.flush(timeout)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        with self._writer_lock:
            readers, self._readers = self._readers, []
        for conn in readers:  # every thread's reader connection, not only this thread's
            conn.close()
        self._local = threading.local()

    # -- maintenance --------------------------------------------------------------------
    def reap_dead_runs(self, force: bool = False) -> int:
        """Mark runs of this host whose process is gone as 'killed'; return how many."""
        now = time.monotonic()
        if not force and now - self._last_reap < _REAP_EVERY:
            return 0
        self._last_reap = now
        rows = self._reader.query(
            "SELECT id, pid FROM runs WHERE status = 'running' AND host = ?", (self._host,)
        )
        dead = [rid for rid, pid in rows if pid and not pid_alive(int(pid))]
        if dead:
            def work(cur):
                for rid in dead:
                    end = self._last_activity(rid)
                    cur.execute(
                        "UPDATE runs SET status = 'killed', end_time = ? WHERE id = ? AND status = 'running'",
                        (end, rid),
                    )
                    cur.execute(
                        "UPDATE cell_executions SET status = 'error', error_name = 'KernelDied',"
                        " error_message = 'the process stopped during this cell'"
                        " WHERE run_id = ? AND status = 'running'",
                        (rid,),
                    )

            self._conn.transaction(work)
        return len(dead)

    def _last_activity(self, run_id: str) -> float:
        row = self._reader.query_one(
            "SELECT MAX(t) FROM (SELECT MAX(ts) AS t FROM metrics WHERE run_id = ?"
            " UNION ALL SELECT MAX(start_time + COALESCE(duration, 0)) FROM cell_executions WHERE run_id = ?"
            " UNION ALL SELECT start_time FROM runs WHERE id = ?) x",
            (run_id, run_id, run_id),
        )
        return float(row[0]) if row and row[0] is not None else time.time()

    # -- reads --------------------------------------------------------------------------
    def search_runs(self, filter: str | None = None, order_by: str | list[str] | None = None,
                    limit: int | None = None, offset: int = 0) -> RunList:
        """Runs matching ``filter`` in ``order_by`` order (default newest first)."""
        self.reap_dead_runs()
        where, params = compile_filter(filter)
        order, oparams = compile_order_by(order_by)
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise UsageError(f"limit must be a non-negative integer, not {limit!r}")
        if not isinstance(offset, int) or offset < 0:
            raise UsageError(f"offset must be a non-negative integer, not {offset!r}")
        sql = f"SELECT {_RUN_COLS} FROM runs WHERE {where} ORDER BY {order}"
        args = list(params) + list(oparams)
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [limit, offset]
        elif offset:
            sql += " LIMIT -1 OFFSET ?" if self._conn.dialect.name == "sqlite" else " OFFSET ?"
            args.append(offset)
        rows = self._reader.query(sql, args)
        return self._hydrate(rows)

    def count_runs(self, filter: str | None = None) -> int:
        where, params = compile_filter(filter)
        row = self._reader.query_one(f"SELECT COUNT(*) FROM runs WHERE {where}", params)
        return int(row[0]) if row else 0

    def _hydrate(self, rows: list[tuple]) -> RunList:
        ids = [r[0] for r in rows]
        params: dict[str, dict] = {i: {} for i in ids}
        tags: dict[str, dict] = {i: {} for i in ids}
        metrics: dict[str, dict] = {i: {} for i in ids}
        for chunk in _chunks(ids):
            marks = ", ".join("?" for _ in chunk)
            for rid, k, v in self._reader.query(
                f"SELECT run_id, key, value FROM params WHERE run_id IN ({marks}) ORDER BY key", chunk
            ):
                params[rid][k] = _json_value(v)
            for rid, k, v in self._reader.query(
                f"SELECT run_id, key, value FROM tags WHERE run_id IN ({marks}) ORDER BY key", chunk
            ):
                tags[rid][k] = v
            for rid, k, v in self._reader.query(
                f"SELECT run_id, key, value FROM latest_metrics WHERE run_id IN ({marks}) ORDER BY key",
                chunk,
            ):
                metrics[rid][k] = v
        return RunList(Run._from_row(r, params[r[0]], tags[r[0]], metrics[r[0]]) for r in rows)

    def resolve_run_id(self, run_id: str) -> str:
        """Full id for an id or a unique prefix of one."""
        if not isinstance(run_id, str) or not run_id.strip():
            raise UsageError("Give a run id (or a unique prefix of one).")
        run_id = run_id.strip()
        row = self._reader.query_one("SELECT id FROM runs WHERE id = ?", (run_id,))
        if row:
            return row[0]
        pattern = run_id.replace("\\", "").replace("%", "").replace("_", "") + "%"
        rows = self._reader.query("SELECT id FROM runs WHERE id LIKE ? LIMIT 20", (pattern,))
        if not rows:
            raise RunNotFoundError(run_id)
        if len(rows) > 1:
            raise AmbiguousRunIdError(run_id, [r[0] for r in rows])
        return rows[0][0]

    def get_run(self, run_id: str) -> Run:
        self.reap_dead_runs()
        rid = self.resolve_run_id(run_id)
        rows = self._reader.query(f"SELECT {_RUN_COLS} FROM runs WHERE id = ?", (rid,))
        if not rows:
            raise RunNotFoundError(run_id)
        return self._hydrate(rows)[0]

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        rid = self.resolve_run_id(run_id)
        rows = self._reader.query(
            "SELECT key, value, step, ts, cell_execution_id FROM metrics WHERE run_id = ? AND key = ?"
            " ORDER BY step, ts",
            (rid, key),
        )
        return [MetricPoint(*r) for r in rows]

    def metric_keys(self, filter: str | None = None) -> list[str]:
        where, params = compile_filter(filter)
        rows = self._reader.query(
            "SELECT key, COUNT(*) FROM latest_metrics WHERE run_id IN"
            f" (SELECT id FROM runs WHERE {where}) GROUP BY key ORDER BY COUNT(*) DESC, key",
            params,
        )
        return [r[0] for r in rows]

    def cell_executions(self, run_id: str) -> list[dict[str, Any]]:
        """Cell executions of a run, and those in which data of the run was logged, in order."""
        rid = self.resolve_run_id(run_id)
        linked = (
            "SELECT cell_execution_id FROM metrics WHERE run_id = ? AND cell_execution_id IS NOT NULL"
            " UNION SELECT cell_execution_id FROM params WHERE run_id = ? AND cell_execution_id IS NOT NULL"
            " UNION SELECT cell_execution_id FROM tags WHERE run_id = ? AND cell_execution_id IS NOT NULL"
            " UNION SELECT cell_execution_id FROM artifacts WHERE run_id = ? AND cell_execution_id IS NOT NULL"
        )
        rows = self._reader.query(
            "SELECT id, cell_id, execution_count, source_hash, source, start_time, duration, status,"
            " error_name, error_message, notebook, run_id FROM cell_executions"
            f" WHERE run_id = ? OR id IN ({linked}) ORDER BY start_time, id",
            (rid, rid, rid, rid, rid),
        )
        cells = []
        index: dict[str, dict] = {}
        for r in rows:
            d = {
                "id": r[0], "cell_id": r[1], "execution_count": r[2], "source_hash": r[3],
                "source": r[4], "start_time": r[5], "duration": r[6], "status": r[7],
                "error_name": r[8], "error_message": r[9], "notebook": r[10], "run_id": r[11],
                "metrics": {}, "params": {},
            }
            cells.append(d)
            index[r[0]] = d
        if index:
            # last value of each metric logged in each of these cells, for this run
            for cid, key, value in self._reader.query(
                "SELECT cell_execution_id, key, value FROM metrics WHERE run_id = ?"
                " AND cell_execution_id IS NOT NULL ORDER BY step, ts",
                (rid,),
            ):
                if cid in index:
                    index[cid]["metrics"][key] = value
            for cid, key, value in self._reader.query(
                "SELECT cell_execution_id, key, value FROM params WHERE run_id = ?"
                " AND cell_execution_id IS NOT NULL",
                (rid,),
            ):
                if cid in index:
                    index[cid]["params"][key] = _json_value(value)
        return cells

    def run_detail(self, run_id: str) -> dict[str, Any]:
        run = self.get_run(run_id)
        d = run.to_dict()
        d["packages"] = run.packages
        summary: dict[str, dict[str, Any]] = {}
        for key, mn, mx, cnt in self._reader.query(
            "SELECT key, MIN(value), MAX(value), COUNT(*) FROM metrics WHERE run_id = ? GROUP BY key",
            (run.id,),
        ):
            summary[key] = {"min": mn, "max": mx, "count": cnt}
        for key, value, step, ts in self._reader.query(
            "SELECT key, value, step, ts FROM latest_metrics WHERE run_id = ? ORDER BY key", (run.id,)
        ):
            summary.setdefault(key, {"min": value, "max": value, "count": 1})
            summary[key].update({"last": value, "step": step, "timestamp": ts})
        d["metrics_summary"] = dict(sorted(summary.items()))
        d["cell_executions"] = self.cell_executions(run.id)
        d["artifacts"] = [
            {"path": p, "hash": h, "size": s, "cell_execution_id": c}
            for p, h, s, c in self._reader.query(
                "SELECT path, hash, size, cell_execution_id FROM artifacts WHERE run_id = ? ORDER BY path",
                (run.id,),
            )
        ]
        return d

    def compare(self, run_ids: list[str]) -> dict[str, Any]:
        if len(run_ids) < 2:
            raise UsageError("Compare needs at least two runs.")
        runs = [self.get_run(r) for r in run_ids]

        def table(attr: str) -> dict[str, dict[str, Any]]:
            keys = sorted({k for r in runs for k in getattr(r, attr)})
            out = {}
            for k in keys:
                values = [getattr(r, attr).get(k) for r in runs]
                out[k] = {"values": values, "differs": any(v != values[0] for v in values[1:])}
            return out

        return {"runs": [r.to_dict() for r in runs], "params": table("params"),
                "metrics": table("metrics")}

    def notebook_cells(self, notebook: str) -> dict[str, Any]:
        """The last execution of each cell of ``notebook`` (project-relative), with its metrics."""
        rows = self._reader.query(
            "SELECT c.id, c.cell_id, c.run_id, c.execution_count, c.status, c.start_time, c.duration"
            " FROM cell_executions c WHERE c.notebook = ? AND c.cell_id IS NOT NULL"
            " ORDER BY c.start_time",
            (notebook,),
        )
        cells: dict[str, dict[str, Any]] = {}
        for cid, cell_id, run_id, count, status, start, dur in rows:
            cells[cell_id] = {"run_id": run_id, "cell_execution_id": cid, "execution_count": count,
                              "status": status, "start_time": start, "duration": dur, "metrics": {}}
        ids = [c["cell_execution_id"] for c in cells.values()]
        by_exec = {c["cell_execution_id"]: c for c in cells.values()}
        for chunk in _chunks(ids):
            marks = ", ".join("?" for _ in chunk)
            for cid, key, value in self._reader.query(
                f"SELECT cell_execution_id, key, value FROM metrics WHERE cell_execution_id IN ({marks})"
                " ORDER BY step, ts",
                chunk,
            ):
                by_exec[cid]["metrics"][key] = value
        return {"notebook": notebook, "cells": cells}

    def delete_run(self, run_id: str) -> None:
        rid = self.resolve_run_id(run_id)
        self.flush()

        def work(cur):
            cur.execute(
                "DELETE FROM cell_executions WHERE run_id = ?", (rid,)
            )
            for table in ("params", "tags", "metrics", "latest_metrics", "artifacts"):
                cur.execute(f"DELETE FROM {table} WHERE run_id = ?", (rid,))
            cur.execute("UPDATE runs SET parent_id = NULL WHERE parent_id = ?", (rid,))
            cur.execute("DELETE FROM runs WHERE id = ?", (rid,))

        self._conn.transaction(work)
        if self.artifacts_dir:
            shutil.rmtree(os.path.join(self.artifacts_dir, rid), ignore_errors=True)

    def experiments(self) -> list[str]:
        return [r[0] for r in self._reader.query("SELECT name FROM experiments ORDER BY name")]


def encode_param(value: Any) -> tuple[str, str | None, float | None]:
    """(JSON text, text form for string comparisons, number form for numeric comparisons)."""
    if hasattr(value, "item") and callable(value.item):  # numpy scalar
        try:
            value = value.item()
        except Exception:  # noqa: BLE001
            pass
    try:
        raw = json.dumps(value, sort_keys=True, allow_nan=True)
    except (TypeError, ValueError):
        value = str(value)
        raw = json.dumps(value)
    if isinstance(value, bool):
        return raw, "true" if value else "false", None
    if isinstance(value, (int, float)):
        num = float(value)
        return raw, repr(value) if isinstance(value, float) else str(value), (
            None if math.isnan(num) else num
        )
    if isinstance(value, str):
        return raw, value, None
    return raw, raw, None
