"""The content-addressed object cache ``.mlnb/objects/ab/cdef…`` (BLAKE3 hex names).

Objects are written under a temporary name and renamed into place (never a half-written
object), made read-only, and brought into (or out of) the workspace by reflink, then hardlink,
then copy — configurable with ``[data] link = "reflink,hardlink,copy"`` in ``.mlnb/config.toml``
or ``MLNB_DATA_LINK``. A hard-linked workspace file shares the object's inode and is read-only:
replace it (write a new file), never edit it in place.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat as stat_mod
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from mlnb.data._errors import CorruptObjectError, DataError, MissingObjectError
from mlnb.data._hashing import TMP_PREFIX, hash_bytes, hash_file

if TYPE_CHECKING:
    from mlnb.project import Project

__all__ = ["ObjectStore", "LINK_MODES", "is_hash"]

LINK_MODES = ("reflink", "hardlink", "copy")
_FICLONE = 0x40049409
_HEX = frozenset("0123456789abcdef")


def is_hash(text: str) -> bool:
    return len(text) == 64 and set(text) <= _HEX


def _reflink(src: str, dst: str) -> None:
    import fcntl

    with open(src, "rb") as s:
        fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            fcntl.ioctl(fd, _FICLONE, s.fileno())
        except OSError:
            os.close(fd)
            os.unlink(dst)
            raise
        os.close(fd)


def _place(src: str, dst: str, modes: tuple[str, ...]) -> str:
    """Create ``dst`` (which must not exist) with ``src``'s content; return the mode used."""
    last: OSError | None = None
    for mode in modes:
        try:
            if mode == "reflink":
                _reflink(src, dst)
            elif mode == "hardlink":
                os.link(src, dst)
            else:
                shutil.copyfile(src, dst)
            return mode
        except OSError as e:  # EXDEV, EOPNOTSUPP, EPERM, EMLINK...: try the next way
            last = e
            continue
    raise DataError(f"Cannot place {src} at {dst}: {last}.", path=dst)


def link_modes(project: Project) -> tuple[str, ...]:
    raw = os.environ.get("MLNB_DATA_LINK") or project.config.get("data", {}).get("link")
    if not raw:
        return LINK_MODES
    items = raw if isinstance(raw, list) else str(raw).split(",")
    modes = tuple(m.strip() for m in items if m.strip())
    bad = [m for m in modes if m not in LINK_MODES]
    if bad or not modes:
        raise DataError(f"Unknown link mode(s) {bad or raw!r}; use any of {', '.join(LINK_MODES)}.")
    return modes


class ObjectStore:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.dir = project.objects_dir
        self.tmp_dir = project.mlnb_dir / "tmp"
        self.quarantine_dir = project.mlnb_dir / "quarantine"
        self._no_reflink = False  # learnt on first failure: skip trying reflinks per file
        self._dirs_ready = False
        self._modes: tuple[str, ...] | None = None

    @property
    def modes(self) -> tuple[str, ...]:
        if self._modes is None:
            self._modes = link_modes(self.project)
        return self._modes

    def path(self, h: str) -> Path:
        if not is_hash(h):
            raise DataError(f"{h!r} is not an object hash.")
        return self.dir / h[:2] / h[2:]

    def has(self, h: str) -> bool:
        return self.path(h).is_file()

    def __iter__(self) -> Iterator[str]:
        if not self.dir.is_dir():
            return
        for sub in sorted(os.scandir(self.dir), key=lambda e: e.name):
            if len(sub.name) != 2 or not sub.is_dir():
                continue
            for e in os.scandir(sub.path):
                h = sub.name + e.name
                if is_hash(h):
                    yield h

    def _tmp(self, near: Path | None = None) -> str:
        folder = self.tmp_dir if near is None else near
        if not folder.is_dir():
            folder.mkdir(parents=True, exist_ok=True)
        # The owner's pid is in the name: clean_tmp() never removes a live process's file.
        return str(folder / f"{TMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex}")

    # -- adding ------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the 256 fan-out folders up front (saves a stat per object when adding many)."""
        for i in range(256):
            (self.dir / f"{i:02x}").mkdir(parents=True, exist_ok=True)
        self._dirs_ready = True

    def add_file(self, src: str | os.PathLike[str], h: str, *, verify: bool = True,
                 mode: int | None = None) -> str | None:
        """Store ``src`` as object ``h``; return the link mode used (None when already there).

        With ``verify`` a copied object is re-hashed before it is named ``h`` (the source may
        have changed since it was hashed); linked objects share the source's bytes. ``mode``
        (0o644/0o755, when the caller knows it) saves a stat.
        """
        dst = self.path(h)
        modes = self.modes
        if modes[0] == "hardlink" or (modes[0] == "reflink" and self._no_reflink and
                                      len(modes) > 1 and modes[1] == "hardlink"):
            # A hard link appears under its final name in one step: no temporary needed.
            if not self._dirs_ready and not dst.parent.is_dir():
                dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dst)
            except FileExistsError:
                return None
            except OSError:
                pass  # cross-device, too many links...: the general path below
            else:
                x = (mode if mode is not None else os.stat(dst).st_mode) & 0o111
                os.chmod(dst, 0o444 | x)
                return "hardlink"
        if dst.is_file():
            return None
        if not dst.parent.is_dir():
            dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp()
        try:
            mode = _place(os.fspath(src), tmp, modes)
            if mode != "reflink" and modes[0] == "reflink":
                self._no_reflink = True
            if verify and mode == "copy":
                actual = hash_file(tmp)
                if actual != h:
                    raise DataError(f"{src} changed while it was being pinned; pin it again.",
                                    path=os.fspath(src))
            os.chmod(tmp, 0o444 | (os.stat(tmp).st_mode & 0o111))
            os.replace(tmp, dst)
            return mode
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)

    def add_bytes(self, data: bytes) -> str:
        h = hash_bytes(data)
        dst = self.path(h)
        if dst.is_file():
            return h
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp()
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, dst)
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
        return h

    def add_downloaded(self, tmp: str, h: str, where: str) -> None:
        """Adopt a downloaded temporary file as object ``h`` after checking its hash."""
        actual = hash_file(tmp)
        if actual != h:
            os.unlink(tmp)
            raise CorruptObjectError(h, tmp, actual, where=where)
        dst = self.path(h)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(tmp, 0o444)
        os.replace(tmp, dst)

    # -- reading -----------------------------------------------------------------------------
    def read_bytes(self, h: str, *, verify: bool = True) -> bytes:
        p = self.path(h)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            raise MissingObjectError(h) from None
        if verify:
            actual = hash_bytes(data)
            if actual != h:
                raise CorruptObjectError(h, str(p), actual)
        return data

    def check(self, h: str) -> str | None:
        """None when object ``h`` is intact, else the hash its content actually has."""
        p = self.path(h)
        if not p.is_file():
            raise MissingObjectError(h)
        actual = hash_file(p)
        return None if actual == h else actual

    def link_out(self, h: str, dest: str | os.PathLike[str], *, executable: bool = False,
                 verify: bool = True) -> str:
        """Put object ``h`` at ``dest`` atomically (tmp + rename); refuse a corrupt object."""
        src = self.path(h)
        if not src.is_file():
            raise MissingObjectError(h, os.fspath(dest))
        if verify:
            actual = hash_file(src)
            if actual != h:
                raise CorruptObjectError(h, str(src), actual)
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = self._tmp(dest.parent)
        try:
            mode = _place(str(src), tmp, self.modes)
            if mode != "hardlink":
                os.chmod(tmp, 0o755 if executable else 0o644)
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(tmp, dest)
            return mode
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)

    # -- removing ----------------------------------------------------------------------------
    def remove(self, h: str) -> int:
        p = self.path(h)
        try:
            size = p.stat().st_size
            p.unlink()
            return size
        except FileNotFoundError:
            return 0

    def quarantine(self, h: str) -> Path:
        """Move a corrupt object aside (kept for inspection) so nothing uses it."""
        self.quarantine_dir.mkdir(parents=True, exist_ok=True)
        dst = self.quarantine_dir / f"{h}.{uuid.uuid4().hex[:8]}"
        os.replace(self.path(h), dst)
        return dst

    def clean_tmp(self) -> int:
        """Remove temporaries left by interrupted operations; return how many.

        Only those whose process is gone (or, without a pid in the name, older than a day):
        another process pinning at the same moment keeps its files."""
        n = 0
        if self.tmp_dir.is_dir():
            for e in os.scandir(self.tmp_dir):
                if not _abandoned(e):
                    continue
                try:
                    if e.is_dir(follow_symlinks=False):
                        shutil.rmtree(e.path)
                    else:
                        os.unlink(e.path)
                    n += 1
                except OSError as err:
                    if err.errno != errno.ENOENT:
                        raise
        return n


def _abandoned(entry: os.DirEntry) -> bool:
    name = entry.name
    if name.startswith(TMP_PREFIX):
        pid_text = name[len(TMP_PREFIX):].split("-", 1)[0]
        if pid_text.isdigit():
            from mlnb._process import pid_alive

            return not pid_alive(int(pid_text))
    try:
        return time.time() - entry.stat(follow_symlinks=False).st_mtime > 86400
    except OSError:
        return False


def is_readonly(path: str | os.PathLike[str]) -> bool:
    return not (os.stat(path).st_mode & stat_mod.S_IWUSR)
