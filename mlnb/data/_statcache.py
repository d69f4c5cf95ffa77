"""The stat cache: (size, mtime_ns, ctime_ns, inode) -> hash, so unchanged files are never re-read.

It lives in the project's SQLite store (table ``stat_cache``, schema version 2). Stat data only
means something on this machine, so when the tracking store is PostgreSQL the cache stays in
the local ``.mlnb/mlnb.db``.

Racy entries: a file modified in the same timestamp tick it was hashed in keeps its size and
mtime. Like git, an entry is trusted only when the file's mtime is strictly older than the
moment hashing started, read from the filesystem's own clock (the mtime of a touched marker
file), so a change after hashing always gets a newer mtime than the one recorded.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, Iterable

if TYPE_CHECKING:
    from mlnb.data._hashing import _FileStat
    from mlnb.project import Project

__all__ = ["StatCache"]

_CONNS: dict[str, Any] = {}
_CONNS_LOCK = threading.Lock()
_INODE_MASK = (1 << 63) - 1
_COLS = "size, mtime_ns, ctime_ns, inode, hash, hashed_at_ns"
_NEEDED_VERSION = 2  # schema version that added stat_cache (mlnb.tracking._db)


def _schema_version(conn: Any) -> int:
    try:
        row = conn.query_one("SELECT value FROM mlnb_meta WHERE key = 'schema_version'")
    except conn._errors:  # noqa: SLF001 - a new, empty store
        return 0
    return int(row[0]) if row else 0


def _connection(url: str):
    """The store's connection (``mlnb.tracking._db``, which loads without the Run API), migrated
    only when its schema predates the stat cache."""
    with _CONNS_LOCK:
        conn = _CONNS.get(url)
        if conn is None:
            from mlnb.tracking._db import Connection, migrate

            conn = Connection(url)  # creates the file (WAL) if needed
            if _schema_version(conn) < _NEEDED_VERSION:
                migrate(conn)
            _CONNS[url] = conn
        return conn


def _reset_for_tests() -> None:
    with _CONNS_LOCK:
        for c in _CONNS.values():
            c.close()
        _CONNS.clear()


class StatCache:
    """Stat cache of one project. Keys are posix paths relative to the root (absolute outside)."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.root = str(project.root)
        url = project.store_url
        if not url.startswith("sqlite:///") or url == "sqlite:///":
            url = f"sqlite:///{project.mlnb_dir / 'mlnb.db'}"
        self.url = url
        self._clock = os.path.join(project.mlnb_dir, ".statcache-clock")

    @classmethod
    def for_project(cls, project: Project) -> StatCache | None:
        """The project's cache, or None when it has no ``.mlnb/`` (hashing never creates it)."""
        if not project.mlnb_dir.is_dir():
            return None
        return cls(project)

    @property
    def conn(self):
        return _connection(self.url)

    def key(self, abspath: str) -> str:
        rel = os.path.relpath(abspath, self.root)
        if rel.startswith(".."):
            real = os.path.realpath(abspath)
            rel = os.path.relpath(real, self.root)
            if rel.startswith(".."):
                return real.replace(os.sep, "/")
        return "" if rel == "." else rel.replace(os.sep, "/")

    # -- reads -------------------------------------------------------------------------------
    def load_one(self, key: str) -> tuple | None:
        return self.conn.query_one(f"SELECT {_COLS} FROM stat_cache WHERE path = ?", (key,))

    def load_prefix(self, prefix: str) -> dict[str, tuple]:
        if prefix == "":
            rows = self.conn.query(f"SELECT path, {_COLS} FROM stat_cache")
        else:
            rows = self.conn.query(
                f"SELECT path, {_COLS} FROM stat_cache WHERE path > ? AND path < ?",
                (prefix + "/", prefix + "0"),  # '0' sorts right after '/'
            )
        return {r[0]: r[1:] for r in rows}

    @staticmethod
    def lookup(row: tuple | None, f: _FileStat) -> str | None:
        """The cached hash when ``row`` proves the file unchanged, else None."""
        if row is None:
            return None
        size, mtime_ns, ctime_ns, inode, h, hashed_at_ns = row
        if (size == f.size and mtime_ns == f.mtime_ns and ctime_ns == f.ctime_ns
                and inode == (f.inode & _INODE_MASK) and mtime_ns < hashed_at_ns):
            return h
        return None

    # -- writes ------------------------------------------------------------------------------
    def fs_now(self) -> int:
        """Current time on the filesystem's clock (ns), from a touched marker file."""
        try:
            with open(self._clock, "a"):
                pass
            os.utime(self._clock, None)
            return os.stat(self._clock).st_mtime_ns
        except OSError:
            return 0  # never trust what we cannot date

    def save(self, items: Iterable[tuple[str, _FileStat, str]], hashed_at_ns: int) -> None:
        rows = [(k, f.size, f.mtime_ns, f.ctime_ns, f.inode & _INODE_MASK, h, hashed_at_ns)
                for k, f, h in items]
        if not rows:
            return

        def work(cur):
            cur.executemany(
                "INSERT OR REPLACE INTO stat_cache (path, size, mtime_ns, ctime_ns, inode, hash,"
                " hashed_at_ns) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

        try:
            self.conn.transaction(work, retry_for=30.0)
        except Exception:  # noqa: BLE001 - a cache that cannot be written is only slower
            pass

    def forget(self, keys: Iterable[str]) -> None:
        keys = list(keys)

        def work(cur):
            cur.executemany("DELETE FROM stat_cache WHERE path = ?", [(k,) for k in keys])

        if keys:
            self.conn.transaction(work, retry_for=30.0)
