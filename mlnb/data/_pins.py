"""Pins: ``{path, hash, size, nfiles, kind, pinned_at, note}``, kept in ``mlnb.lock`` (section
``data:``) and in a notebook's ``metadata.mlnb.data``; paths are posix, relative to the root.

Both files are changed by read-modify-write under an exclusive ``fcntl.flock`` (on
``mlnb.lock.lock`` and on ``.mlnb/locks/<notebook>.lock``) and replaced atomically, so two
processes pinning at once both land and other sections of ``mlnb.lock`` are preserved.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from mlnb.data._errors import DataError, LockTimeoutError

if TYPE_CHECKING:
    from mlnb.project import Project

__all__ = ["Pin", "LOCK_FILE", "read_pins", "read_lock_pins", "read_notebook_pins",
           "update_lock_pins", "update_notebook_pins", "file_lock", "pins_from_text"]

LOCK_FILE = "mlnb.lock"
_FIELDS = ("hash", "size", "nfiles", "kind", "pinned_at", "note")


@dataclass(frozen=True)
class Pin:
    path: str
    hash: str
    size: int
    nfiles: int
    kind: str  # 'file' | 'dir'
    pinned_at: str  # ISO 8601 UTC
    note: str | None = None

    def to_record(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("path")
        if d["note"] is None:
            d.pop("note")
        return d

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, path: str, rec: Any, where: str) -> Pin:
        if not isinstance(rec, dict) or not isinstance(rec.get("hash"), str):
            raise DataError(f"Malformed pin for {path!r} in {where}: expected a mapping with a "
                            "hash; fix or remove that entry.")
        try:
            return cls(path=str(path), hash=rec["hash"], size=int(rec.get("size", 0)),
                       nfiles=int(rec.get("nfiles", 1)), kind=str(rec.get("kind", "file")),
                       pinned_at=str(rec.get("pinned_at", "")), note=rec.get("note"))
        except (TypeError, ValueError) as e:
            raise DataError(f"Malformed pin for {path!r} in {where}: {e}.") from e


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str], timeout: float = 60.0) -> Iterator[None]:
    """Exclusive advisory lock on ``path`` (created if needed), waiting up to ``timeout``."""
    import fcntl

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockTimeoutError(f"Another mlnb process holds {path}; try again when "
                                           "it is done.", path=os.fspath(path)) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.mlnb-tmp-{os.getpid()}")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.chmod(tmp, os.stat(path).st_mode & 0o777)
        except FileNotFoundError:
            pass
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _leading_comments(text: str) -> str:
    """The comment lines at the top of a file (kept when the rest is rewritten)."""
    out = []
    for line in text.splitlines(keepends=True):
        if not line.startswith("#"):
            break
        out.append(line if line.endswith("\n") else line + "\n")
    return "".join(out)


# -- mlnb.lock -------------------------------------------------------------------------------

def _load_lock_text(text: str, where: str) -> dict[str, Any]:
    import yaml

    try:
        doc = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as e:
        raise DataError(f"{where} is not valid YAML ({e}); fix it or restore it from git.") from e
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise DataError(f"{where} must be a YAML mapping with sections such as `data:`.")
    return doc


def pins_from_text(text: str, where: str) -> dict[str, Pin]:
    """Pins of an ``mlnb.lock`` or notebook given as text (used for git revisions)."""
    if where.endswith(".ipynb"):
        try:
            nb = json.loads(text)
        except ValueError as e:
            raise DataError(f"{where} is not a valid notebook (JSON): {e}.") from e
        return _notebook_pins(nb, where)
    section = _load_lock_text(text, where).get("data") or {}
    if not isinstance(section, dict):
        raise DataError(f"The `data:` section of {where} must be a mapping of path to pin.")
    return {p: Pin.from_record(p, rec, where) for p, rec in section.items()}


def read_lock_pins(project: Project) -> dict[str, Pin]:
    path = project.root / LOCK_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return pins_from_text(text, str(path))


def update_lock_pins(project: Project, change: Callable[[dict[str, Pin]], None]) -> dict[str, Pin]:
    """Read-modify-write the ``data:`` section of ``mlnb.lock`` under its file lock."""
    import yaml

    path = project.root / LOCK_FILE
    with file_lock(project.root / (LOCK_FILE + ".lock")):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            text = ""
        doc = _load_lock_text(text, str(path))
        section = doc.get("data") or {}
        pins = {p: Pin.from_record(p, rec, str(path)) for p, rec in section.items()}
        change(pins)
        if pins:
            doc["data"] = {p: pins[p].to_record() for p in sorted(pins)}
        else:
            doc.pop("data", None)
        header = _leading_comments(text)
        _atomic_write(path, header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True,
                                                    default_flow_style=False))
        return pins


# -- notebooks -------------------------------------------------------------------------------

def _notebook_pins(nb: Any, where: str) -> dict[str, Pin]:
    if not isinstance(nb, dict):
        raise DataError(f"{where} is not a notebook (top level is not an object).")
    section = ((nb.get("metadata") or {}).get("mlnb") or {}).get("data") or {}
    if not isinstance(section, dict):
        raise DataError(f"metadata.mlnb.data of {where} must map paths to pins.")
    return {p: Pin.from_record(p, rec, where) for p, rec in section.items()}


def read_notebook_pins(notebook: str | os.PathLike[str]) -> dict[str, Pin]:
    try:
        text = Path(notebook).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"Notebook {notebook} does not exist.", path=os.fspath(notebook)) from None
    return pins_from_text(text, os.fspath(notebook))


def _nb_lock(project: Project, notebook: Path) -> Path:
    digest = hashlib.sha1(str(notebook).encode()).hexdigest()[:16]
    return project.mlnb_dir / "locks" / f"nb-{digest}.lock"


def update_notebook_pins(project: Project, notebook: str | os.PathLike[str],
                         change: Callable[[dict[str, Pin]], None]) -> dict[str, Pin]:
    """Read-modify-write ``metadata.mlnb.data`` of a notebook on disk (nbformat's JSON style).

    For a notebook open in JupyterLab prefer the frontend (it writes into the open model).
    """
    nb_path = Path(notebook)
    with file_lock(_nb_lock(project, nb_path.resolve())):
        try:
            nb = json.loads(nb_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"Notebook {notebook} does not exist.", path=str(notebook)) from None
        except ValueError as e:
            raise DataError(f"{notebook} is not a valid notebook (JSON): {e}.") from e
        pins = _notebook_pins(nb, str(notebook))
        change(pins)
        meta = nb.setdefault("metadata", {})
        mlnb_meta = meta.setdefault("mlnb", {})
        if pins:
            mlnb_meta["data"] = {p: pins[p].to_record() for p in sorted(pins)}
        else:
            mlnb_meta.pop("data", None)
            if not mlnb_meta:
                meta.pop("mlnb")
        _atomic_write(nb_path, json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n")
        return pins


def read_pins(target: str | os.PathLike[str] | None = None, *, project: Project | None = None
              ) -> dict[str, Pin]:
    """Pins of a notebook (``*.ipynb``) or of the project's ``mlnb.lock`` (default)."""
    if project is None:
        from mlnb.project import Project

        project = Project.discover()
    if target is not None and os.fspath(target).endswith(".ipynb"):
        return read_notebook_pins(project.resolve_inside(target))
    return read_lock_pins(project)
