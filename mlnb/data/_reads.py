"""What a cell read: paths seen opening for reading inside the project, their hashes, and
whether a pinned one drifted from its pin. Used by the kernel face (``mlnb.kernel._reads``)."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from mlnb.data._errors import DataError
from mlnb.data._hashing import hash_path
from mlnb.data._pins import Pin, read_lock_pins, read_notebook_pins

if TYPE_CHECKING:
    from mlnb.project import Project

__all__ = ["ReadRecorder", "DataRead"]

_SKIP_PARTS = {".mlnb", ".git", "__pycache__", ".ipynb_checkpoints", ".venv", "site-packages",
               "node_modules"}
_SKIP_SUFFIXES = (".py", ".pyc", ".pyi", ".ipynb", ".so", ".pth", ".lock")


@dataclass
class DataRead:
    path: str  # relative to the root
    hash: str | None
    size: int | None
    pin: str | None  # the pinned path it falls under
    state: str  # 'pinned-ok' | 'drifted' | 'unpinned'

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class ReadRecorder:
    """Collects paths between :meth:`begin` and :meth:`end`; checks pinned ones as they are read."""

    def __init__(self, project: Project, notebook_abs: str | None = None,
                 stream: TextIO | None = None) -> None:
        self.project = project
        self.root = str(project.root)
        self.prefix = self.root + os.sep
        self.notebook_abs = notebook_abs
        self.stream = stream
        self.paths: dict[str, None] = {}
        self.pins: dict[str, Pin] = {}
        self.warned: set[str] = set()
        self.checked: dict[str, tuple[str | None, str | None]] = {}
        self._pins_stamp: tuple = ()
        self._manifests: dict[str, dict[str, str]] = {}
        self._conn = None

    # -- per cell ---------------------------------------------------------------------------
    def begin(self) -> None:
        self.paths = {}
        self.checked = {}
        self._load_pins()

    def _stamp(self) -> tuple:
        out = []
        for p in (os.path.join(self.root, "mlnb.lock"), self.notebook_abs):
            try:
                out.append(os.stat(p).st_mtime_ns if p else None)
            except OSError:
                out.append(None)
        return tuple(out)

    def _load_pins(self) -> None:
        stamp = self._stamp()
        if stamp == self._pins_stamp:
            return
        self._pins_stamp = stamp
        pins: dict[str, Pin] = {}
        try:
            pins.update(read_lock_pins(self.project))
        except DataError:
            pass
        if self.notebook_abs:
            try:
                pins.update(read_notebook_pins(self.notebook_abs))  # the notebook's own win
            except DataError:
                pass
        self.pins = pins
        self._manifests = {}

    def relevant(self, path: str) -> str | None:
        """The root-relative path when ``path`` is a data file inside the project, else None."""
        if not path.startswith(self.prefix):
            return None
        rel = path[len(self.prefix):]
        if rel.endswith(_SKIP_SUFFIXES) or rel == "mlnb.lock":
            return None
        parts = rel.split(os.sep)
        if _SKIP_PARTS.intersection(parts):
            return None
        return rel.replace(os.sep, "/")

    def _pin_of(self, rel: str) -> Pin | None:
        p = self.pins.get(rel)
        if p is not None:
            return p
        for path, pin in self.pins.items():
            if pin.kind == "dir" and rel.startswith(path + "/"):
                return pin
        return None

    def _expected(self, pin: Pin, rel: str) -> str | None:
        if pin.kind == "file":
            return pin.hash
        entries = self._manifests.get(pin.hash)
        if entries is None:
            from mlnb.data._hashing import parse_manifest
            from mlnb.data._objects import ObjectStore

            try:
                data = ObjectStore(self.project).read_bytes(pin.hash)
                entries = {e.path: e.hash for e in parse_manifest(data)}
            except DataError:
                entries = {}
            self._manifests[pin.hash] = entries
        return entries.get(rel[len(pin.path) + 1:], "<not in the pinned folder>")

    def saw(self, rel: str) -> None:
        """A file was opened for reading (called from the audit hook)."""
        if rel in self.paths:
            return
        self.paths[rel] = None
        pin = self._pin_of(rel)
        if pin is not None:
            self._check_now(rel, pin)

    def _check_now(self, rel: str, pin: Pin) -> None:
        try:
            digest = hash_path(os.path.join(self.root, rel), project=self.project)
        except DataError:
            return
        self.checked[rel] = (digest.hash, pin.path)
        expected = self._expected(pin, rel)
        if expected != digest.hash and rel not in self.warned:
            self.warned.add(rel)
            where = f"{pin.path} (pinned {pin.pinned_at or '?'}, {pin.hash[:12]})"
            fix = (f"restore it with `mlnb data checkout {pin.path}` or re-pin it with "
                   f"`%mlnb pin {pin.path}`")
            msg = (f"mlnb: WARNING: {rel} has drifted from its pin {where}; this cell read "
                   f"content {digest.hash[:12]}. To make the notebook reproducible, {fix}.\n")
            (self.stream or sys.stderr).write(msg)
        elif expected == digest.hash:
            self.warned.discard(rel)

    def end(self, run_id: str | None = None, cell_execution_id: str | None = None,
            store_url: str | None = None) -> list[DataRead]:
        """Hash every file read, record them in ``data_reads``; return what was read."""
        reads: list[DataRead] = []
        for rel in self.paths:
            absolute = os.path.join(self.root, rel)
            pin = self._pin_of(rel)
            h = size = None
            if rel in self.checked:
                h = self.checked[rel][0]
            try:
                st = os.stat(absolute)
                size = st.st_size
                if h is None and os.path.isfile(absolute):
                    h = hash_path(absolute, project=self.project).hash
            except (OSError, DataError):
                pass
            if pin is None:
                state = "unpinned"
            else:
                state = "pinned-ok" if h is not None and h == self._expected(pin, rel) else "drifted"
            reads.append(DataRead(rel, h, size, pin.path if pin else None, state))
        self.paths = {}
        if reads and run_id is not None:
            self._record(reads, run_id, cell_execution_id, store_url or self.project.store_url)
        return reads

    def _record(self, reads: list[DataRead], run_id: str, cell_id: str | None, url: str) -> None:
        from mlnb.tracking._db import Connection, migrate

        if self._conn is None:
            self._conn = Connection(url)
            migrate(self._conn)
        now = time.time()
        rows = [(run_id, cell_id, r.path, r.hash, r.size, now) for r in reads]

        def work(cur):
            cur.executemany("INSERT INTO data_reads (run_id, cell_execution_id, path, hash, size, ts)"
                            " VALUES (?, ?, ?, ?, ?, ?)", rows)

        self._conn.transaction(work, retry_for=30.0)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def run_reads(project: Project, run_id: str) -> list[dict[str, Any]]:
    """The files a run read: ``[{path, hash, size, cell_execution_id, ts}]`` (latest per path)."""
    from mlnb.tracking._db import Connection, migrate

    conn = Connection(project.store_url)
    try:
        migrate(conn)
        rows = conn.query("SELECT path, hash, size, cell_execution_id, ts FROM data_reads "
                          "WHERE run_id = ? ORDER BY ts", (run_id,))
    finally:
        conn.close()
    latest: dict[str, dict[str, Any]] = {}
    for path, h, size, cell, ts in rows:
        latest[path] = {"path": path, "hash": h, "size": size, "cell_execution_id": cell, "ts": ts}
    return list(latest.values())


def notebook_data(project: Project, notebook: str) -> dict[str, Any]:
    """For the Data panel: a notebook's pins with their state, and the unpinned files its last
    run read. ``notebook`` is relative to the project root (as runs record it).

    ``{"notebook", "run_id", "pins": [PinStatus.to_dict()], "unpinned_reads": [{path, hash,
    size}]}``; pin states are ``ok`` / ``modified`` / ``missing``.
    """
    from mlnb.data._ops import resolve_pins, status

    absolute = project.resolve_inside(notebook)
    rel = absolute.relative_to(project.root).as_posix()
    pins, _ = resolve_pins(project, absolute) if absolute.is_file() else ({}, "")
    lock_pins, _ = resolve_pins(project)
    statuses = status(absolute, project=project) if pins else []
    run_id = None
    unpinned: list[dict[str, Any]] = []
    url = project.store_url
    if not (url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):])):
        from mlnb.tracking._db import Connection, migrate

        conn = Connection(url)
        try:
            migrate(conn)
            row = conn.query_one("SELECT id FROM runs WHERE notebook = ? ORDER BY start_time DESC "
                                 "LIMIT 1", (rel,))
        finally:
            conn.close()
        if row:
            run_id = row[0]
            known = {**lock_pins, **pins}
            for r in run_reads(project, run_id):
                covered = r["path"] in known or any(
                    p.kind == "dir" and r["path"].startswith(k + "/") for k, p in known.items())
                if not covered:
                    unpinned.append({k: r[k] for k in ("path", "hash", "size")})
    return {"notebook": rel, "run_id": run_id, "pins": [s.to_dict() for s in statuses],
            "unpinned_reads": unpinned}
