"""The run cache: the outs of every fingerprint that ran successfully, so a stage whose inputs come
back to a state seen before (a reverted param, a branch switch) is restored instead of executed.

Entries live in ``.mlnb/runcache/<fingerprint>.json`` (the outs' digests and the run that made
them); the bytes live in the data-pinning object cache (``.mlnb/objects``, :mod:`mlnb.data`):
same BLAKE3 hashes, one copy shared with pinned data. A folder out is stored as its files plus
its manifest. Objects are copied (or reflinked), never hard-linked: a stage re-writing its out
in place must not change a cached object.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlnb.project import Project

__all__ = ["RunCache"]


def _store(project: Project) -> Any:
    from mlnb.data import ObjectStore

    class _CopyStore(ObjectStore):  # type: ignore[misc, valid-type]
        @property
        def modes(self) -> tuple[str, ...]:
            return tuple(m for m in super().modes if m != "hardlink") or ("copy",)

    return _CopyStore(project)


class RunCache:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.dir = project.mlnb_dir / "runcache"
        self._objects: Any = None

    @property
    def objects(self) -> Any:
        if self._objects is None:
            self._objects = _store(self.project)
        return self._objects

    def _entry_path(self, fp: str) -> Path:
        return self.dir / f"{fp}.json"

    def _outs(self, entry: dict[str, Any]) -> dict[str, Any]:
        return {**(entry.get("outs") or {}), **(entry.get("metrics") or {})}

    def lookup(self, fp: str) -> dict[str, Any] | None:
        """The cached entry of fingerprint ``fp`` when every object it needs is present."""
        try:
            entry = json.loads(self._entry_path(fp).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        for digest in self._outs(entry).values():
            if not digest or not self.objects.has(digest["hash"]):
                return None
            for f in digest.get("files") or []:
                if not self.objects.has(f[1]):
                    return None
        return entry

    def save(self, fp: str, entry: dict[str, Any]) -> None:
        """Store the outs' bytes in the object cache and record ``entry`` under ``fp``."""
        from mlnb.data import hash_path

        root = self.project.root
        entry = json.loads(json.dumps(entry))
        for path, digest in self._outs(entry).items():
            if not digest:
                return
            src = root / path
            if digest.get("kind") == "dir":
                d = hash_path(src, project=self.project)
                if d.hash != digest["hash"]:
                    return  # changed since the run: do not cache a mix
                for e in d.entries or ():
                    self.objects.add_file(src / e.path, e.hash)
                self.objects.add_bytes(d.manifest())
                digest["files"] = [[e.path, e.hash, e.mode] for e in d.entries or ()]
            else:
                self.objects.add_file(src, digest["hash"])
        p = self._entry_path(fp)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmpname = tempfile.mkstemp(prefix=".tmp-", dir=p.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(entry, f, sort_keys=True)
        os.replace(tmpname, p)

    def restore(self, entry: dict[str, Any]) -> None:
        """Put the cached outs in place (replacing what is there); corrupt objects raise."""
        root = self.project.root
        for path, digest in self._outs(entry).items():
            dest = root / path
            if digest.get("kind") != "dir":
                self.objects.link_out(digest["hash"], dest)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.mlnb-restore-{uuid.uuid4().hex[:8]}")
            try:
                tmp.mkdir()
                for rel, h, mode in digest.get("files") or []:
                    self.objects.link_out(h, tmp / rel, executable=bool(mode & 0o111))
                if dest.is_dir() and not dest.is_symlink():
                    shutil.rmtree(dest)
                elif os.path.lexists(dest):
                    dest.unlink()
                os.replace(tmp, dest)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    shutil.rmtree(tmp)
