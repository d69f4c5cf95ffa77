"""The run cache: outs of every fingerprint that ran successfully, so a stage whose inputs come back
to a state seen before (a reverted param, a branch switch) is restored instead of executed again.

Layout, under ``.mlnb/runcache/``: ``entries/<fingerprint>.json`` (the outs' digests and the run
that made them) and ``objects/<hash>`` (a file) or ``objects/<hash>/`` (a folder), copies of the
outs keyed by their content hash, so identical outs of many fingerprints are stored once.
(A small cache of its own until mlnb.data offers an object-store put/get API; the hashes are the
same BLAKE3 digests as the data cache's.)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlnb.project import Project

__all__ = ["RunCache"]


class RunCache:
    def __init__(self, project: Project) -> None:
        self.project = project
        self.dir = project.mlnb_dir / "runcache"

    def _entry_path(self, fp: str) -> Path:
        return self.dir / "entries" / f"{fp}.json"

    def _object(self, h: str) -> Path:
        return self.dir / "objects" / h[:2] / h[2:]

    def lookup(self, fp: str) -> dict[str, Any] | None:
        """The cached entry of fingerprint ``fp`` when every object it needs is present."""
        try:
            entry = json.loads(self._entry_path(fp).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        for digest in {**entry.get("outs", {}), **entry.get("metrics", {})}.values():
            if not digest or not self._object(digest["hash"]).exists():
                return None
        return entry

    def save(self, fp: str, entry: dict[str, Any]) -> None:
        """Copy the outs into the cache and record ``entry`` (outs/metrics digests, run_id)."""
        root = self.project.root
        for path, digest in {**entry.get("outs", {}), **entry.get("metrics", {})}.items():
            if not digest:
                return
            obj = self._object(digest["hash"])
            if obj.exists():
                continue
            obj.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=obj.parent))
            try:
                staged = tmp / "o"
                src = root / path
                if src.is_dir():
                    shutil.copytree(src, staged, symlinks=False)
                else:
                    shutil.copy2(src, staged)
                try:
                    os.replace(staged, obj)
                except OSError:
                    if not obj.exists():  # lost a race to an identical copy otherwise
                        raise
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        p = self._entry_path(fp)
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmpname = tempfile.mkstemp(prefix=".tmp-", dir=p.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(entry, f, sort_keys=True)
        os.replace(tmpname, p)

    def restore(self, entry: dict[str, Any]) -> None:
        """Put the cached outs in place (replacing what is there)."""
        root = self.project.root
        for path, digest in {**entry.get("outs", {}), **entry.get("metrics", {})}.items():
            obj = self._object(digest["hash"])
            dest = root / path
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = dest.with_name(f".{dest.name}.mlnb-restore")
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()
            if obj.is_dir():
                shutil.copytree(obj, tmp)
            else:
                shutil.copy2(obj, tmp)
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(tmp, dest)
