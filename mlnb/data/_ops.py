"""Pin, status, checkout, diff, gc and verify: the data operations the faces call."""

from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

from mlnb.data._errors import CorruptObjectError, DataError, MissingObjectError, PinNotFoundError
from mlnb.data._hashing import (
    TMP_PREFIX,
    PathDigest,
    _FileStat,
    _norm_mode,
    _workers,
    hash_path,
    parse_manifest,
)
from mlnb.data._objects import ObjectStore
from mlnb.data._pins import (
    LOCK_FILE,
    Pin,
    now_iso,
    pins_from_text,
    read_lock_pins,
    read_notebook_pins,
    update_lock_pins,
    update_notebook_pins,
)
from mlnb.data._statcache import StatCache
from mlnb.errors import UsageError

if TYPE_CHECKING:
    from mlnb.project import Project

__all__ = ["pin", "status", "checkout", "diff", "gc", "verify", "PinStatus", "VerifyReport",
           "GcReport", "resolve_pins", "referenced_objects", "expand"]

Progress = Callable[[str, int, int], None]  # (what, done, total)
_SKIP_DIRS = {".git", ".mlnb", ".ipynb_checkpoints", "node_modules", "__pycache__", ".venv"}
_HEX64 = re.compile(rb"\b[0-9a-f]{64}\b")


def _project(project: Project | None) -> Project:
    if project is None:
        from mlnb.project import Project

        project = Project.discover()
    return project


def _rel(project: Project, path: str | os.PathLike[str]) -> tuple[str, Path]:
    """(posix path relative to the root, absolute path), refusing paths leaving the root."""
    absolute = project.resolve_inside(path)
    rel = absolute.relative_to(project.root).as_posix()
    if rel == "." or rel.split("/")[0] in (".mlnb", ".git") or rel == LOCK_FILE:
        raise UsageError(f"Cannot pin {path!r}: pin data files or folders inside the project, "
                         "not the project itself or mlnb's own files.")
    return rel, absolute


# -- pin ---------------------------------------------------------------------------------------

def _store_digest(store: ObjectStore, absolute: Path, digest: PathDigest) -> list[tuple[str, str]]:
    """Put a file's or folder's objects in the cache; a folder's manifest goes in last.
    Returns (path, hash) of the workspace files that were hard-linked (their ctime changed)."""
    if digest.kind == "file":
        mode = store.add_file(absolute, digest.hash)
        return [(str(absolute), digest.hash)] if mode == "hardlink" else []
    entries = digest.entries or ()
    base = str(absolute)

    def add(chunk: tuple) -> list[tuple[str, str]]:
        linked = []
        for e in chunk:
            p = os.path.join(base, e.path)
            if store.add_file(p, e.hash, mode=e.mode) == "hardlink":
                linked.append((p, e.hash))
        return linked

    if len(entries) > 256:
        store.prepare()
    chunks = [entries[i:i + 256] for i in range(0, len(entries), 256)]
    linked: list[tuple[str, str]] = []
    if len(chunks) > 1:
        with ThreadPoolExecutor(_workers(), thread_name_prefix="mlnb-pin") as pool:
            for part in pool.map(add, chunks):
                linked.extend(part)
    elif chunks:
        linked = add(chunks[0])
    store.add_bytes(digest.manifest())
    return linked


def _refresh_stat_cache(cache: StatCache, absolute: Path, digest: PathDigest, t0: int,
                        only: list[tuple[str, str]] | None = None) -> None:
    """Linking and chmod change ctime: record the new stat with the hash we know."""
    if only is not None:
        paths = only
    elif digest.kind == "file":
        paths = [(str(absolute), digest.hash)]
    else:
        base = str(absolute)
        paths = [(os.path.join(base, e.path), e.hash) for e in digest.entries or ()]
    if not paths:
        return
    base_key = cache.key(str(absolute))
    base_abs = str(absolute)
    items = []
    for p, h in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue
        if p == base_abs:
            key = base_key
        else:
            key = (base_key + "/" if base_key else "") + p[len(base_abs) + 1:].replace(os.sep, "/")
        f = _FileStat("", p, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino,
                      _norm_mode(st.st_mode))
        items.append((key, f, h))
    cache.save(items, t0)


def pin(paths: Iterable[str | os.PathLike[str]], *, project: Project | None = None,
        notebook: str | os.PathLike[str] | None = None, note: str | None = None) -> list[Pin]:
    """Hash PATHs, store their content in the object cache, record the pins in ``mlnb.lock``
    (and in ``notebook``'s metadata when given). Returns the new pins."""
    project = _project(project)
    paths = list(paths)
    if not paths:
        raise UsageError("Nothing to pin: give one or more files or folders.")
    project.ensure()
    nb_abs = project.resolve_inside(notebook) if notebook is not None else None
    if nb_abs is not None and not nb_abs.is_file():
        raise DataError(f"Notebook {notebook} does not exist.", path=str(notebook))
    store = ObjectStore(project)
    store.clean_tmp()
    cache = StatCache(project)
    pins: list[Pin] = []
    for path in paths:
        rel, absolute = _rel(project, path)
        t0 = cache.fs_now()
        fresh: list[tuple[str, str]] = []
        digest = hash_path(absolute, project=project, _cache=cache, _save=fresh)
        linked = _store_digest(store, absolute, digest)
        # One stat-cache write: files hashed now and files whose ctime linking changed.
        _refresh_stat_cache(cache, absolute, digest, t0, only=list(dict(fresh + linked).items()))
        pins.append(Pin(rel, digest.hash, digest.size, digest.nfiles, digest.kind, now_iso(), note))

    def change(current: dict[str, Pin]) -> None:
        for p in pins:
            current[p.path] = p

    update_lock_pins(project, change)
    if nb_abs is not None:
        update_notebook_pins(project, nb_abs, change)
    return pins


# -- which pins --------------------------------------------------------------------------------

def _git(project: Project, *args: str, binary: bool = False, input: bytes | None = None) -> Any:
    try:
        out = subprocess.run(["git", *args], cwd=project.root, capture_output=True, check=True,
                             input=input)
    except FileNotFoundError as e:
        raise DataError("git is not installed; --rev needs git.") from e
    except subprocess.CalledProcessError as e:
        msg = e.stderr.decode(errors="replace").strip().splitlines()
        raise DataError(f"git {' '.join(args[:2])} failed: {msg[-1] if msg else e}.") from e
    return out.stdout if binary else out.stdout.decode("utf-8", "replace")


def _git_prefix(project: Project) -> str:
    """The project root relative to the git top level ('' or 'sub/dir/')."""
    return _git(project, "rev-parse", "--show-prefix").strip()


def git_show(project: Project, rev: str, relpath: str) -> str:
    if rev.startswith("-"):
        raise UsageError(f"Bad git revision {rev!r}.")
    return _git(project, "show", f"{rev}:{_git_prefix(project)}{relpath}")


def resolve_pins(project: Project, target: str | os.PathLike[str] | None = None,
                 rev: str | None = None) -> tuple[dict[str, Pin], str]:
    """The pins ``target`` names: a notebook's, or the lock file's (all, or those at/under a
    path), in the working tree or at git revision ``rev``. Returns (pins, where)."""
    target_s = os.fspath(target) if target is not None else None
    if target_s is not None and target_s.endswith(".ipynb"):
        nb = project.resolve_inside(target_s)
        nb_rel = nb.relative_to(project.root).as_posix()
        if rev is None:
            return read_notebook_pins(nb), nb_rel
        return pins_from_text(git_show(project, rev, nb_rel), nb_rel), f"{nb_rel}@{rev}"
    if rev is None:
        pins, where = read_lock_pins(project), LOCK_FILE
    else:
        pins, where = pins_from_text(git_show(project, rev, LOCK_FILE), LOCK_FILE), f"{LOCK_FILE}@{rev}"
    if target_s is None:
        return pins, where
    rel, _ = _rel(project, target_s)
    chosen = {p: v for p, v in pins.items()
              if p == rel or p.startswith(rel + "/") or rel.startswith(p + "/")}
    if not chosen:
        raise PinNotFoundError(rel, where)
    return chosen, where


# -- status ------------------------------------------------------------------------------------

@dataclass
class PinStatus:
    pin: Pin
    state: str  # 'ok' | 'modified' | 'missing'
    current: PathDigest | None = None
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    detail: str | None = None

    @property
    def path(self) -> str:
        return self.pin.path

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.pin.path, "state": self.state, "pin": self.pin.to_dict(),
                "hash": self.current.hash if self.current else None,
                "added": self.added, "removed": self.removed, "modified": self.modified,
                "detail": self.detail}


def _manifest(store: ObjectStore, h: str) -> dict[str, Any] | None:
    try:
        return {e.path: e for e in parse_manifest(store.read_bytes(h))}
    except (MissingObjectError, CorruptObjectError, DataError):
        return None


def compare_entries(old: dict[str, Any], new: dict[str, Any]) -> tuple[list, list, list]:
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    modified = sorted(p for p in set(old) & set(new)
                      if (old[p].hash, old[p].mode) != (new[p].hash, new[p].mode))
    return added, removed, modified


def _status_one(project: Project, store: ObjectStore, cache: StatCache, p: Pin) -> PinStatus:
    absolute = project.root / p.path
    if not os.path.lexists(absolute):
        return PinStatus(p, "missing")
    try:
        digest = hash_path(absolute, project=project, _cache=cache)
    except DataError as e:
        return PinStatus(p, "missing", detail=str(e))
    if digest.hash == p.hash and digest.kind == p.kind:
        return PinStatus(p, "ok", digest)
    st = PinStatus(p, "modified", digest)
    if p.kind == "dir" and digest.kind == "dir":
        old = _manifest(store, p.hash)
        if old is None:
            st.detail = "the pinned folder manifest is not in the local cache (mlnb data pull)"
        else:
            st.added, st.removed, st.modified = compare_entries(
                old, {e.path: e for e in digest.entries or ()})
    elif p.kind != digest.kind:
        st.detail = f"pinned as a {p.kind}, now a {digest.kind}"
    return st


def status(target: str | os.PathLike[str] | None = None, *, project: Project | None = None,
           rev: str | None = None) -> list[PinStatus]:
    """Per pin: ok / modified / missing (and, for folders, which files changed)."""
    project = _project(project)
    pins, _ = resolve_pins(project, target, rev)
    store = ObjectStore(project)
    cache = StatCache.for_project(project)
    return [_status_one(project, store, cache, p) for _, p in sorted(pins.items())]


# -- checkout ----------------------------------------------------------------------------------

@dataclass
class CheckoutResult:
    path: str
    hash: str
    restored: list[str]  # files written (relative to the pin path for folders)
    deleted: list[str]
    unchanged: bool


def _check_objects(store: ObjectStore, hashes: Iterable[str], what: str) -> None:
    """Every object exists and is intact, or raise (before anything is changed)."""
    hashes = sorted(set(hashes))
    missing = [h for h in hashes if not store.has(h)]
    if missing:
        raise MissingObjectError(missing[0], f"{what}; {len(missing)} object(s) missing")
    with ThreadPoolExecutor(_workers()) as pool:
        for h, bad in zip(hashes, pool.map(store.check, hashes)):
            if bad is not None:
                raise CorruptObjectError(h, str(store.path(h)), bad)


def checkout(target: str | os.PathLike[str] | None = None, *, project: Project | None = None,
             rev: str | None = None, force: bool = False) -> list[CheckoutResult]:
    """Restore pinned versions into the workspace (every object re-hashed first: a corrupt
    object is refused and nothing is changed). Local changes whose content is not in the cache
    are refused unless ``force``."""
    project = _project(project)
    pins, where = resolve_pins(project, target, rev)
    store = ObjectStore(project)
    cache = StatCache(project) if project.mlnb_dir.is_dir() else None
    plans = []
    for _, p in sorted(pins.items()):
        st = _status_one(project, store, cache, p)
        if st.ok:
            plans.append((p, st, None, []))
            continue
        if p.kind == "dir":
            try:
                entries = {e.path: e for e in parse_manifest(store.read_bytes(p.hash))}
            except MissingObjectError:
                raise MissingObjectError(p.hash, f"folder {p.path} pinned in {where}") from None
        else:
            entries = None
        if not force:
            _refuse_losing_changes(project, store, p, st, entries)
        if entries is None:
            todo = [("", p.hash, False)]
        else:
            cur = {e.path: e for e in (st.current.entries or ())} if st.current and st.current.kind == "dir" else {}
            todo = [(rel, e.hash, bool(e.mode & 0o111)) for rel, e in sorted(entries.items())
                    if rel not in cur or (cur[rel].hash, cur[rel].mode) != (e.hash, e.mode)]
        _check_objects(store, [h for _, h, _ in todo], f"{p.path} pinned in {where}")
        plans.append((p, st, entries, todo))

    results = []
    for p, st, entries, todo in plans:
        if st.ok:
            results.append(CheckoutResult(p.path, p.hash, [], [], True))
            continue
        absolute = project.root / p.path
        t0 = cache.fs_now() if cache is not None else 0
        deleted: list[str] = []
        if entries is None:
            store.link_out(p.hash, absolute, verify=False)
        else:
            if absolute.exists() and not absolute.is_dir():
                absolute.unlink()
            absolute.mkdir(parents=True, exist_ok=True)
            if st.current is not None and st.current.kind == "dir":
                for rel in sorted(set(e.path for e in st.current.entries or ()) - set(entries)):
                    os.unlink(absolute / rel)
                    deleted.append(rel)
            _prune_empty_dirs(absolute)

            def put(item: tuple[str, str, bool]) -> None:
                rel, h, x = item
                store.link_out(h, absolute / rel, executable=x, verify=False)

            with ThreadPoolExecutor(_workers(), thread_name_prefix="mlnb-checkout") as pool:
                list(pool.map(put, todo))
        if cache is not None:
            digest = PathDigest(p.hash, p.size, p.nfiles, p.kind,
                                tuple(entries.values()) if entries is not None else None)
            _refresh_stat_cache(cache, absolute, digest, t0)
        results.append(CheckoutResult(p.path, p.hash, [rel for rel, _, _ in todo], deleted, False))
    return results


def _refuse_losing_changes(project: Project, store: ObjectStore, p: Pin, st: PinStatus,
                           entries: dict[str, Any] | None) -> None:
    cur = st.current
    if cur is None:
        return
    if cur.kind == "file":
        if not store.has(cur.hash):
            raise DataError(f"{p.path} has changes that are not pinned; pin them first, or pass "
                            "--force to discard them.", path=p.path)
        return
    lost = [e.path for e in cur.entries or ()
            if (entries is None or entries.get(e.path) is None or entries[e.path].hash != e.hash)
            and not store.has(e.hash)]
    if lost:
        shown = ", ".join(lost[:5]) + (" ..." if len(lost) > 5 else "")
        raise DataError(f"{p.path} has {len(lost)} changed file(s) that are not pinned ({shown}); "
                        "pin them first, or pass --force to discard them.", path=p.path)


def _prune_empty_dirs(top: Path) -> None:
    """Remove temporaries an interrupted checkout left, then empty sub-folders."""
    for folder, dirs, files in os.walk(top, topdown=False):
        for f in files:
            if f.startswith(TMP_PREFIX):
                try:
                    os.unlink(os.path.join(folder, f))
                except OSError:
                    pass
        files = [f for f in files if not f.startswith(TMP_PREFIX)]
        if folder != str(top) and not dirs and not files:
            try:
                os.rmdir(folder)
            except OSError:
                pass


# -- diff --------------------------------------------------------------------------------------

@dataclass
class DiffResult:
    path: str
    old: str | None
    new: str | None
    kind: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.old != self.new

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def diff(path: str | os.PathLike[str], *, project: Project | None = None,
         revs: tuple[str | None, ...] = ()) -> DiffResult:
    """What changed in ``path``: pinned (or pinned at ``revs[0]``) vs. the workspace (or the pin
    at ``revs[1]``)."""
    project = _project(project)
    rel, absolute = _rel(project, path)
    if len(revs) > 2:
        raise UsageError("diff takes at most two --rev.")
    store = ObjectStore(project)

    def pinned(rev: str | None) -> Pin:
        pins, where = resolve_pins(project, rel, rev)
        if rel not in pins:
            raise PinNotFoundError(rel, where)
        return pins[rel]

    a = pinned(revs[0] if revs else None)
    if len(revs) == 2:
        b = pinned(revs[1])
        new_hash, new_kind = b.hash, b.kind
        new_entries = _entries_of(store, b.hash) if b.kind == "dir" else None
    else:
        if not absolute.exists():
            return DiffResult(rel, a.hash, None, a.kind)
        d = hash_path(absolute, project=project)
        new_hash, new_kind = d.hash, d.kind
        new_entries = {e.path: e for e in d.entries} if d.kind == "dir" else None
    res = DiffResult(rel, a.hash, new_hash, new_kind)
    if a.hash != new_hash and a.kind == "dir" and new_entries is not None:
        res.added, res.removed, res.modified = compare_entries(_entries_of(store, a.hash), new_entries)
    return res


def _entries_of(store: ObjectStore, h: str) -> dict[str, Any]:
    return {e.path: e for e in parse_manifest(store.read_bytes(h))}


# -- references, gc ----------------------------------------------------------------------------

def _notebooks(project: Project) -> list[Path]:
    out = []
    for folder, dirs, files in os.walk(project.root):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.startswith(".")]
        out.extend(Path(folder) / f for f in files if f.endswith(".ipynb"))
    return out


def expand(store: ObjectStore, hashes: Iterable[str]) -> set[str]:
    """``hashes`` plus every object a folder manifest among them names."""
    out = set()
    for h in hashes:
        out.add(h)
        if store.has(h):
            try:
                data = store.path(h).read_bytes()
            except OSError:
                continue
            if data.startswith(b"mlnb-manifest 1\n"):
                try:
                    out.update(e.hash for e in parse_manifest(data))
                except DataError:
                    pass
    return out


def referenced_objects(project: Project, *, all_revs: bool = False, runs: bool = True) -> set[str]:
    """Hashes referenced by the lock file, the notebooks, tracked runs (and every git revision)."""
    roots: set[str] = set()
    lock = project.root / LOCK_FILE
    if lock.is_file():
        roots.update(m.decode() for m in _HEX64.findall(lock.read_bytes()))  # pipeline hashes too
    for nb in _notebooks(project):
        try:
            roots.update(p.hash for p in read_notebook_pins(nb).values())
        except DataError:
            continue
    if runs:
        roots.update(_run_read_hashes(project))
    if all_revs:
        roots.update(_all_rev_hashes(project))
    return expand(ObjectStore(project), roots)


def _run_read_hashes(project: Project) -> set[str]:
    if not project.mlnb_dir.is_dir():
        return set()
    try:
        from mlnb.tracking._db import Connection

        url = project.store_url
        if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):]):
            return set()
        conn = Connection(url)
        try:
            rows = conn.query("SELECT DISTINCT hash FROM data_reads WHERE hash IS NOT NULL")
        finally:
            conn.close()
    except Exception:  # noqa: BLE001 - an older or unreachable store keeps nothing extra
        return set()
    return {r[0] for r in rows if r[0]}


def _all_rev_hashes(project: Project) -> set[str]:
    prefix = _git_prefix(project)
    revs = _git(project, "rev-list", "--all").split()
    blobs: set[str] = set()
    for rev in revs:
        for line in _git(project, "ls-tree", "-r", rev, "--", prefix or ".").splitlines():
            meta, _, name = line.partition("\t")
            parts = meta.split()
            if len(parts) == 3 and parts[1] == "blob" and (
                    name.endswith(".ipynb") or name == prefix + LOCK_FILE):
                blobs.add(parts[2])
    if not blobs:
        return set()
    data = _git(project, "cat-file", "--batch", binary=True, input="\n".join(sorted(blobs)).encode() + b"\n")
    out: set[str] = set()
    for m in _HEX64.findall(data):
        out.add(m.decode())
    return out


@dataclass
class GcReport:
    removed: int
    freed: int
    kept: int
    dry_run: bool


def gc(*, project: Project | None = None, dry_run: bool = False, all_revs: bool = False) -> GcReport:
    """Remove cached objects nothing references (working tree, lock file, tracked runs, and
    with ``all_revs`` every git revision)."""
    project = _project(project)
    store = ObjectStore(project)
    keep = referenced_objects(project, all_revs=all_revs)
    removed = freed = kept = 0
    for h in list(store):
        if h in keep:
            kept += 1
            continue
        removed += 1
        freed += store.path(h).stat().st_size if dry_run else store.remove(h)
    if not dry_run:
        store.clean_tmp()
        _prune_stat_cache(project)
    return GcReport(removed, freed, kept, dry_run)


def _prune_stat_cache(project: Project) -> int:
    """Forget stat-cache rows of files that no longer exist."""
    cache = StatCache.for_project(project)
    if cache is None:
        return 0
    gone = [k for k in cache.load_prefix("")
            if not os.path.lexists(k if k.startswith("/") else os.path.join(project.root, k))]
    cache.forget(gone)
    return len(gone)


# -- verify ------------------------------------------------------------------------------------

@dataclass
class VerifyReport:
    checked: int = 0
    corrupt: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    unrepaired: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unrepaired


def verify(*, project: Project | None = None, remote: str | None = None, repair: bool = True,
           progress: Progress | None = None) -> VerifyReport:
    """Re-hash every cached object; quarantine corrupt ones and fetch good copies from a remote."""
    project = _project(project)
    store = ObjectStore(project)
    hashes = list(store)
    report = VerifyReport(checked=len(hashes))

    def check(h: str) -> tuple[str, str | None]:
        try:
            return h, store.check(h)
        except MissingObjectError:
            return h, None

    done = 0
    with ThreadPoolExecutor(_workers(), thread_name_prefix="mlnb-verify") as pool:
        for h, bad in pool.map(check, hashes):
            done += 1
            if progress:
                progress("verify", done, len(hashes))
            if bad is not None:
                report.corrupt.append(h)
    for h in report.corrupt:
        store.quarantine(h)
        report.quarantined.append(h)
    if report.corrupt and repair:
        from mlnb.data._remote import fetch_objects, list_remotes

        if remote is not None or list_remotes(project):
            got = fetch_objects(project, report.corrupt, remote=remote, missing_ok=True)
            report.repaired = sorted(got)
    report.unrepaired = sorted(set(report.corrupt) - set(report.repaired))
    return report
