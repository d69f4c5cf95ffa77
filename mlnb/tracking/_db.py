"""Database connections and the versioned schema, for SQLite (default) and PostgreSQL.

SQL is written once with ``?`` placeholders and portable types; the PostgreSQL path rewrites the
placeholders. Migrations are forward-only lists of statements, applied under a write lock.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

from mlnb.errors import StoreError

SCHEMA_VERSION = 2

# Each entry migrates from version (index) to version (index + 1).
_MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE IF NOT EXISTS experiments (
            name TEXT PRIMARY KEY,
            created DOUBLE PRECISION NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS runs (
            id VARCHAR(32) PRIMARY KEY,
            experiment TEXT NOT NULL DEFAULT 'default',
            name TEXT,
            status VARCHAR(16) NOT NULL,
            notebook TEXT,
            git_commit TEXT,
            git_dirty INTEGER,
            user_name TEXT,
            host TEXT,
            pid INTEGER,
            python TEXT,
            packages TEXT,
            start_time DOUBLE PRECISION NOT NULL,
            end_time DOUBLE PRECISION,
            parent_id VARCHAR(32),
            source TEXT)""",
        "CREATE INDEX IF NOT EXISTS runs_start ON runs (start_time)",
        "CREATE INDEX IF NOT EXISTS runs_status ON runs (status)",
        "CREATE INDEX IF NOT EXISTS runs_parent ON runs (parent_id)",
        """CREATE TABLE IF NOT EXISTS params (
            run_id VARCHAR(32) NOT NULL,
            key TEXT NOT NULL,
            value TEXT,
            value_text TEXT,
            value_num DOUBLE PRECISION,
            cell_execution_id VARCHAR(32),
            PRIMARY KEY (run_id, key))""",
        """CREATE TABLE IF NOT EXISTS tags (
            run_id VARCHAR(32) NOT NULL,
            key TEXT NOT NULL,
            value TEXT,
            cell_execution_id VARCHAR(32),
            PRIMARY KEY (run_id, key))""",
        """CREATE TABLE IF NOT EXISTS metrics (
            run_id VARCHAR(32) NOT NULL,
            key TEXT NOT NULL,
            value DOUBLE PRECISION,
            step BIGINT NOT NULL,
            ts DOUBLE PRECISION NOT NULL,
            cell_execution_id VARCHAR(32))""",
        "CREATE INDEX IF NOT EXISTS metrics_run_key ON metrics (run_id, key, step)",
        "CREATE INDEX IF NOT EXISTS metrics_cell ON metrics (cell_execution_id)",
        """CREATE TABLE IF NOT EXISTS latest_metrics (
            run_id VARCHAR(32) NOT NULL,
            key TEXT NOT NULL,
            value DOUBLE PRECISION,
            step BIGINT NOT NULL,
            ts DOUBLE PRECISION NOT NULL,
            cell_execution_id VARCHAR(32),
            PRIMARY KEY (run_id, key))""",
        "CREATE INDEX IF NOT EXISTS latest_key_value ON latest_metrics (key, value)",
        """CREATE TABLE IF NOT EXISTS artifacts (
            run_id VARCHAR(32) NOT NULL,
            path TEXT NOT NULL,
            hash TEXT,
            size BIGINT,
            ts DOUBLE PRECISION,
            cell_execution_id VARCHAR(32),
            PRIMARY KEY (run_id, path))""",
        """CREATE TABLE IF NOT EXISTS cell_executions (
            id VARCHAR(32) PRIMARY KEY,
            run_id VARCHAR(32) NOT NULL,
            notebook TEXT,
            cell_id TEXT,
            execution_count INTEGER,
            source_hash TEXT,
            source TEXT,
            start_time DOUBLE PRECISION NOT NULL,
            duration DOUBLE PRECISION,
            status VARCHAR(16) NOT NULL,
            error_name TEXT,
            error_message TEXT)""",
        "CREATE INDEX IF NOT EXISTS cells_run ON cell_executions (run_id, start_time)",
        "CREATE INDEX IF NOT EXISTS cells_nb ON cell_executions (notebook, cell_id, start_time)",
    ],
    # 1 -> 2: data pinning (mlnb.data): the stat cache and the files each cell read.
    [
        """CREATE TABLE IF NOT EXISTS stat_cache (
            path TEXT PRIMARY KEY,
            size BIGINT NOT NULL,
            mtime_ns BIGINT NOT NULL,
            ctime_ns BIGINT NOT NULL,
            inode BIGINT NOT NULL,
            hash TEXT NOT NULL,
            hashed_at_ns BIGINT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS data_reads (
            run_id VARCHAR(32) NOT NULL,
            cell_execution_id VARCHAR(32),
            path TEXT NOT NULL,
            hash TEXT,
            size BIGINT,
            ts DOUBLE PRECISION NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS data_reads_run ON data_reads (run_id, path)",
        "CREATE INDEX IF NOT EXISTS data_reads_cell ON data_reads (cell_execution_id)",
    ],
]
assert len(_MIGRATIONS) == SCHEMA_VERSION


@dataclass(frozen=True)
class Dialect:
    name: str  # "sqlite" | "postgresql"

    def sql(self, text: str) -> str:
        if self.name == "postgresql":
            return text.replace("?", "%s")
        return text

    @property
    def is_lock_error(self):  # pragma: no cover - trivial
        return _is_lock_error


def _is_lock_error(exc: BaseException) -> bool:
    msg = str(exc).lower()
    return "database is locked" in msg or "database table is locked" in msg or "busy" in msg


def parse_url(url: str) -> tuple[str, str]:
    """Return (dialect name, target) for a store URL."""
    if url.startswith("sqlite:///"):
        return "sqlite", url[len("sqlite:///") :] or ":memory:"
    if url.startswith("sqlite://"):
        return "sqlite", ":memory:"
    if url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return "postgresql", url.replace("postgresql+psycopg://", "postgresql://", 1)
    raise StoreError(
        f"Unsupported store URL {url!r}: use sqlite:///path/to/mlnb.db or postgresql://user@host/db."
    )


def redact_url(url: str) -> str:
    """The URL without a password, for display."""
    if "://" in url and "@" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


class Connection:
    """A thin DB-API wrapper: one dialect, autocommit reads, explicit write transactions."""

    def __init__(self, url: str) -> None:
        self.url = url
        kind, target = parse_url(url)
        self.dialect = Dialect(kind)
        self._lock = threading.RLock()
        if kind == "sqlite":
            import sqlite3

            if target != ":memory:":
                os.makedirs(os.path.dirname(os.path.abspath(target)) or ".", exist_ok=True)
            try:
                self.raw = sqlite3.connect(
                    target, timeout=30.0, isolation_level=None, check_same_thread=False
                )
                self.raw.execute("PRAGMA busy_timeout = 30000")
                mode = self.raw.execute("PRAGMA journal_mode = WAL").fetchone()
                self.raw.execute("PRAGMA synchronous = NORMAL")
                self.raw.execute("PRAGMA case_sensitive_like = ON")
            except sqlite3.DatabaseError as e:
                raise StoreError(
                    f"Cannot open the store at {target}: {e}. If the file is corrupt, move it "
                    "aside; mlnb creates a fresh store."
                ) from e
            self.wal = bool(mode and str(mode[0]).lower() == "wal")
            self._errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
        else:
            try:
                import psycopg  # type: ignore[import-not-found]
            except ModuleNotFoundError as e:  # pragma: no cover - depends on install
                raise StoreError(
                    "A PostgreSQL store needs psycopg: pip install 'mlnb[postgres]'."
                ) from e
            try:
                self.raw = psycopg.connect(target, autocommit=True)
            except psycopg.Error as e:
                raise StoreError(f"Cannot connect to {redact_url(url)}: {e}") from e
            self.wal = False
            self._errors = (psycopg.Error,)

    # -- reads ------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            cur = self.raw.cursor()
            try:
                cur.execute(self.dialect.sql(sql), tuple(params))
                if cur.description is None:  # a statement that returns no rows
                    return []
                return list(cur.fetchall())
            finally:
                cur.close()

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> tuple | None:
        rows = self.query(sql, params)
        return rows[0] if rows else None

    # -- writes -----------------------------------------------------------------------
    def transaction(self, work, *, retry_for: float = 600.0):
        """Run ``work(cursor)`` in one write transaction, retrying while the database is busy."""
        deadline = time.monotonic() + retry_for
        delay = 0.005
        while True:
            with self._lock:
                cur = self.raw.cursor()
                try:
                    if self.dialect.name == "sqlite":
                        cur.execute("BEGIN IMMEDIATE")
                    else:
                        cur.execute("BEGIN")
                    result = work(_Cursor(cur, self.dialect))
                    cur.execute("COMMIT")
                    return result
                except self._errors as e:
                    try:
                        cur.execute("ROLLBACK")
                    except self._errors:
                        pass
                    if _is_lock_error(e) and time.monotonic() < deadline:
                        pass  # fall through to back off and retry
                    else:
                        raise
                except BaseException:
                    try:
                        cur.execute("ROLLBACK")
                    except self._errors:
                        pass
                    raise
                finally:
                    cur.close()
            time.sleep(delay)
            delay = min(delay * 2, 0.25)

    def close(self) -> None:
        with self._lock:
            try:
                self.raw.close()
            except self._errors:
                pass


class _Cursor:
    def __init__(self, cur, dialect: Dialect) -> None:
        self._cur = cur
        self._dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cur.execute(self._dialect.sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if rows:
            self._cur.executemany(self._dialect.sql(sql), rows)

    def fetchone(self):
        return self._cur.fetchone()


def migrate(conn: Connection) -> int:
    """Bring the schema to SCHEMA_VERSION; return the version found before."""
    try:
        conn.query("CREATE TABLE IF NOT EXISTS mlnb_meta (key VARCHAR(64) PRIMARY KEY, value TEXT)")
    except conn._errors as e:  # noqa: SLF001
        raise StoreError(
            f"Cannot initialise the store {redact_url(conn.url)}: {e}. "
            "Is it an SQLite database (or a PostgreSQL database you may write)?"
        ) from e
    row = conn.query_one("SELECT value FROM mlnb_meta WHERE key = 'schema_version'")
    found = int(row[0]) if row else 0
    if found == SCHEMA_VERSION:
        return found
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"The store {redact_url(conn.url)} has schema version {found}, newer than this mlnb "
            f"understands ({SCHEMA_VERSION}); upgrade mlnb."
        )

    def work(cur: _Cursor) -> int:
        if conn.dialect.name == "postgresql":
            cur.execute("SELECT pg_advisory_xact_lock(424242)")
        cur.execute("SELECT value FROM mlnb_meta WHERE key = 'schema_version'")
        r = cur.fetchone()
        current = int(r[0]) if r else 0
        for version in range(current, SCHEMA_VERSION):
            for stmt in _MIGRATIONS[version]:
                cur.execute(stmt)
        if r:
            cur.execute(
                "UPDATE mlnb_meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
            )
        else:
            cur.execute(
                "INSERT INTO mlnb_meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        return current

    return conn.transaction(work)
