"""``mlnb.lock``: the reviewable YAML record of what the pipeline (``stages:``) and data pinning
(``data:``) last produced.

Several owners share the file, so every change is a read-modify-write of the WHOLE file under an
exclusive ``fcntl.flock`` on ``mlnb.lock.lock`` next to it, written to a temporary file and renamed
over the old one: a reader never sees a half-written lock, and a section this process does not own
is kept as it was on disk at the moment of the change.

    from mlnb.pipeline._lockfile import read_lock, update_lock
    update_lock(project, "data", lambda section: {**(section or {}), "data/raw.csv": {...}})
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from mlnb.errors import ProjectError

if TYPE_CHECKING:
    from mlnb.project import Project

__all__ = ["LOCK_NAME", "lock_path", "read_lock", "update_lock", "locked"]

LOCK_NAME = "mlnb.lock"
_HEADER = (
    "# mlnb.lock: written by mlnb (stages: by `mlnb run`, data: by `mlnb pin`). Review it, commit it;\n"
    "# do not edit by hand.\n"
)
# The order sections appear in; unknown sections follow in alphabetical order.
_SECTION_ORDER = ("version", "stages", "data")


def lock_path(project: Project | str | os.PathLike[str]) -> Path:
    root = getattr(project, "root", project)
    return Path(os.fspath(root)) / LOCK_NAME


@contextlib.contextmanager
def locked(project: Project | str | os.PathLike[str], shared: bool = False) -> Iterator[None]:
    """Hold the flock on ``mlnb.lock.lock`` (exclusive unless ``shared``)."""
    import fcntl

    path = lock_path(project).with_name(LOCK_NAME + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def _load(path: Path) -> dict[str, Any]:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ProjectError(f"Cannot read {path}: {e}.") from e
    try:
        data = yaml.load(text, Loader=_loader())
    except yaml.YAMLError as e:
        raise ProjectError(
            f"{path} is not valid YAML ({e}). Restore it from git (`git checkout -- {LOCK_NAME}`)."
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ProjectError(f"{path} must hold a mapping of sections, not a {type(data).__name__}.")
    return data


def _loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_lock(project: Project | str | os.PathLike[str]) -> dict[str, Any]:
    """The whole lock file as a dict (``{}`` when there is none). Readers need no flock: writers
    replace the file atomically."""
    return _load(lock_path(project))


def _dump(data: dict[str, Any]) -> str:
    import yaml

    ordered = {k: data[k] for k in _SECTION_ORDER if k in data}
    ordered.update({k: data[k] for k in sorted(data) if k not in ordered})
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    body = yaml.dump(ordered, Dumper=dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=100)
    return _HEADER + body


def update_lock(
    project: Project | str | os.PathLike[str],
    section: str,
    fn: Callable[[Any], Any],
) -> Any:
    """Replace ``section`` with ``fn(current section or None)`` under the exclusive flock; every
    other section is preserved. ``fn`` returning None removes the section. Returns the new value."""
    path = lock_path(project)
    with locked(project):
        data = _load(path)
        data.setdefault("version", 1)
        new = fn(data.get(section))
        if new is None:
            data.pop(section, None)
        else:
            data[section] = new
        text = _dump(data)
        fd, tmp = tempfile.mkstemp(prefix=".mlnb.lock.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return new
