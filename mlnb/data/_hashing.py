"""BLAKE3 hashing of files and folders, with the stat cache so unchanged files are never re-read.

A folder's version is the BLAKE3 of its *manifest*: one line per file, sorted by relative path,
``hash<TAB>size<TAB>mode<TAB>path``. The mode is normalised to 644/755 (only the executable bit
counts) so a read-only, hard-linked checkout has the same version as the original.
"""

from __future__ import annotations

import os
import stat as stat_mod
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, NamedTuple

from mlnb.data._errors import DataError
from mlnb.errors import PathOutsideRootError

if TYPE_CHECKING:
    from mlnb.data._statcache import StatCache
    from mlnb.project import Project

__all__ = [
    "PathDigest",
    "ManifestEntry",
    "hash_path",
    "hash_bytes",
    "hash_file",
    "manifest_bytes",
    "parse_manifest",
    "IGNORED_NAMES",
]

#: Names skipped inside a pinned folder (never part of its version).
IGNORED_NAMES = frozenset({".git", ".mlnb", ".ipynb_checkpoints", "__pycache__", ".DS_Store"})

#: Temporaries of an interrupted checkout (never data; removed by the next checkout).
TMP_PREFIX = ".mlnb-tmp-"

_MANIFEST_HEADER = b"mlnb-manifest 1\n"
_BIG = 8 << 20  # files from 8 MiB up: hashed with all cores
_BATCH = 64  # small files per thread-pool task


class ManifestEntry(NamedTuple):
    path: str  # posix, relative to the folder
    hash: str
    size: int
    mode: int  # 0o644 or 0o755


@dataclass(frozen=True)
class PathDigest:
    """The content identity of a file or a folder.

    ``hash`` is BLAKE3 hex of the file, or of the folder's manifest; ``size`` the total bytes;
    ``nfiles`` 1 for a file; ``kind`` ``'file'`` or ``'dir'``. ``entries`` (folders only) is the
    manifest, sorted by path.
    """

    hash: str
    size: int
    nfiles: int
    kind: str
    entries: tuple[ManifestEntry, ...] | None = field(default=None, compare=False, repr=False)

    def manifest(self) -> bytes:
        if self.entries is None:
            raise DataError(f"{self.hash} is a file, not a folder: it has no manifest.")
        return manifest_bytes(self.entries)


def hash_bytes(data: bytes) -> str:
    from blake3 import blake3

    return blake3(data).hexdigest()


def hash_file(path: str | os.PathLike[str], size: int | None = None) -> str:
    """BLAKE3 hex of one file's content (multi-threaded for big files)."""
    from blake3 import blake3

    if size is None:
        size = os.stat(path).st_size
    with open(path, "rb", buffering=0) as f:
        if size <= (1 << 20):
            return blake3(f.read()).hexdigest()
        # Big files: 16 MiB reads into one buffer, hashed with all cores (measured faster
        # than update_mmap here: no page-fault storm).
        h = blake3(max_threads=blake3.AUTO) if size >= _BIG else blake3()
        buf = bytearray(16 << 20 if size >= _BIG else 1 << 20)
        view = memoryview(buf)
        while n := f.readinto(buf):
            h.update(view[:n])
        return h.hexdigest()


def _norm_mode(st_mode: int) -> int:
    return 0o755 if st_mode & 0o111 else 0o644


def _escape(path: str) -> str:
    if "\\" in path or "\n" in path or "\t" in path:
        return path.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t")
    return path


def _unescape(text: str) -> str:
    if "\\" not in text:
        return text
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            out.append({"n": "\n", "t": "\t", "\\": "\\"}.get(n, n))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def manifest_bytes(entries: Iterable[ManifestEntry]) -> bytes:
    entries = list(entries)
    paths = "".join([e[0] for e in entries])
    esc = _escape if ("\\" in paths or "\n" in paths or "\t" in paths) else str
    text = "".join([f"{h}\t{size}\t{'755' if mode == 0o755 else format(mode, 'o')}\t{esc(p)}\n"
                    for p, h, size, mode in entries])
    return _MANIFEST_HEADER + text.encode("utf-8", "surrogateescape")


def parse_manifest(data: bytes) -> tuple[ManifestEntry, ...]:
    if not data.startswith(_MANIFEST_HEADER):
        raise DataError("Not an mlnb folder manifest (bad header); the object may be corrupt.")
    out = []
    for line in data[len(_MANIFEST_HEADER):].decode("utf-8", "surrogateescape").splitlines():
        try:
            h, size, mode, path = line.split("\t", 3)
            out.append(ManifestEntry(_unescape(path), h, int(size), int(mode, 8)))
        except ValueError as e:
            raise DataError(f"Corrupt folder manifest line {line[:80]!r}.") from e
    return tuple(out)


# -- walking -----------------------------------------------------------------------------------

class _FileStat(NamedTuple):
    rel: str
    abspath: str
    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int
    mode: int


_new = tuple.__new__
_S_IFMT = 0o170000
_S_IFREG = 0o100000


def _walk(top: str, root_guard: str | None) -> list[_FileStat]:
    """Every regular file under ``top`` (symlinked files followed, symlinked folders skipped).

    Hot path of ``status`` on big folders: one ``lstat`` per file and as little Python as
    possible per entry.
    """
    out: list[_FileStat] = []
    append = out.append
    ignored = IGNORED_NAMES
    tmp_prefix = TMP_PREFIX
    stack = [("", top)]
    while stack:
        prefix, folder = stack.pop()
        try:
            it = os.scandir(folder)
        except OSError as e:
            raise DataError(f"Cannot list {folder}: {e.strerror}.") from e
        with it:
            for entry in it:
                name = entry.name
                if name in ignored or name.startswith(tmp_prefix):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((prefix + name + "/", entry.path))
                        continue
                    if entry.is_symlink():
                        target = os.path.realpath(entry.path)
                        if root_guard is not None and os.path.commonpath([target, root_guard]) != root_guard:
                            raise PathOutsideRootError(entry.path, root_guard)
                        if os.path.isdir(target):
                            continue
                        st = os.stat(entry.path)
                    else:
                        st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # vanished while walking
                mode = st.st_mode
                if mode & _S_IFMT != _S_IFREG:
                    continue  # sockets, fifos, devices: not data
                append(_new(_FileStat, (prefix + name, entry.path, st.st_size, st.st_mtime_ns,
                                        st.st_ctime_ns, st.st_ino, 0o755 if mode & 0o111 else 0o644)))
    out.sort(key=_by_rel)
    return out


def _by_rel(f: tuple) -> str:
    return f[0]


def _workers() -> int:
    return max(2, min(32, (os.cpu_count() or 2) * 2))


def _hash_many(files: list[_FileStat]) -> dict[str, str]:
    """Hash files in parallel; big files one after another with all cores each."""
    result: dict[str, str] = {}
    small = [f for f in files if f.size < _BIG]
    big = [f for f in files if f.size >= _BIG]

    def batch(chunk: list[_FileStat]) -> list[tuple[str, str]]:
        return [(f.abspath, _hash_one(f)) for f in chunk]

    if len(small) <= _BATCH:
        for f in small:
            result[f.abspath] = _hash_one(f)
    else:
        chunks = [small[i:i + _BATCH] for i in range(0, len(small), _BATCH)]
        with ThreadPoolExecutor(_workers(), thread_name_prefix="mlnb-hash") as pool:
            for pairs in pool.map(batch, chunks):
                result.update(pairs)
    for f in big:
        result[f.abspath] = _hash_one(f)
    return result


def _hash_one(f: _FileStat) -> str:
    try:
        return hash_file(f.abspath, f.size)
    except FileNotFoundError as e:
        raise DataError(f"{f.abspath} vanished while it was being hashed; try again.") from e
    except OSError as e:
        raise DataError(f"Cannot read {f.abspath}: {e.strerror}.") from e


# -- the contract ----------------------------------------------------------------------------

def hash_path(
    path: str | os.PathLike[str],
    *,
    project: Project | None = None,
    use_cache: bool = True,
    _cache: StatCache | None = None,
    _save: bool | list = True,
) -> PathDigest:
    """The :class:`PathDigest` of a file or folder.

    With ``use_cache`` the project's stat cache (size, mtime_ns, ctime_ns, inode) skips files
    unchanged since they were last hashed; an entry is trusted only when the file's mtime is
    strictly older than the moment it was hashed (on the filesystem's own clock), so a change in
    the same timestamp tick is never missed. The cache lives in the project's ``.mlnb/`` and is
    only used when that folder exists (hashing never creates it).
    """
    abspath = os.path.abspath(os.fspath(path))
    try:
        st = os.stat(abspath)
    except FileNotFoundError as e:
        raise DataError(f"{path} does not exist.", path=os.fspath(path)) from e
    except OSError as e:
        raise DataError(f"Cannot read {path}: {e.strerror}.", path=os.fspath(path)) from e

    cache = _cache
    if cache is None and use_cache:
        from mlnb.data._statcache import StatCache

        if project is None:
            from mlnb.project import Project

            project = Project.discover(os.path.dirname(abspath) if not os.path.isdir(abspath) else abspath)
        cache = StatCache.for_project(project)
    root_guard = str(project.root) if project is not None else None

    if stat_mod.S_ISDIR(st.st_mode):
        files = _walk(abspath, root_guard)
        key_prefix = cache.key(abspath) if cache is not None else ""
        return _digest_files(files, cache, key_prefix, _save)
    if not stat_mod.S_ISREG(st.st_mode):
        raise DataError(f"{path} is neither a file nor a folder.", path=os.fspath(path))
    f = _FileStat("", abspath, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino,
                  _norm_mode(st.st_mode))
    if cache is None:
        return PathDigest(_hash_one(f), f.size, 1, "file")
    key = cache.key(abspath)
    known = cache.load_one(key)
    h = cache.lookup(known, f)
    if h is None:
        t0 = cache.fs_now()
        h = _hash_one(f)
        if isinstance(_save, list):
            _save.append((f.abspath, h))
        elif _save and _unchanged(f):
            cache.save([(key, f, h)], t0)
    return PathDigest(h, f.size, 1, "file")


def _unchanged(f: _FileStat) -> bool:
    """The file still has the stat we hashed it under (else don't cache the hash)."""
    try:
        st = os.stat(f.abspath)
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns, st.st_ino) == (f.size, f.mtime_ns, f.inode)


def _digest_files(files: list[_FileStat], cache: StatCache | None, key_prefix: str,
                  save: bool | list = True) -> PathDigest:
    hashes: list[str | None] = [None] * len(files)
    todo: list[int] = []
    if cache is not None:
        from mlnb.data._statcache import _INODE_MASK

        known = cache.load_prefix(key_prefix)
        base = key_prefix + "/" if key_prefix else ""
        get = known.get
        for i, f in enumerate(files):
            row = get(base + f[0])
            # row: size, mtime_ns, ctime_ns, inode, hash, hashed_at_ns (see StatCache.lookup)
            if (row is not None and row[0] == f[2] and row[1] == f[3] and row[2] == f[4]
                    and row[3] == (f[5] & _INODE_MASK) and row[1] < row[5]):
                hashes[i] = row[4]
            else:
                todo.append(i)
    else:
        todo = list(range(len(files)))
    if todo:
        t0 = cache.fs_now() if cache is not None else 0
        todo_files = [files[i] for i in todo]
        fresh = _hash_many(todo_files)
        for i in todo:
            hashes[i] = fresh[files[i][1]]
        if isinstance(save, list):  # the caller records them (pin, after linking)
            save.extend((f.abspath, fresh[f.abspath]) for f in todo_files)
        elif cache is not None and save:
            base = key_prefix + "/" if key_prefix else ""
            cache.save([(base + f.rel, f, fresh[f.abspath]) for f in todo_files
                        if _unchanged(f)], t0)
    entries = tuple([_new(ManifestEntry, (f[0], h, f[2], f[6])) for f, h in zip(files, hashes)])
    return PathDigest(hash_bytes(manifest_bytes(entries)), sum(f[2] for f in files),
                      len(files), "dir", entries)
