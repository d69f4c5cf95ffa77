"""Remotes through fsspec (a local folder, ``s3://…`` via s3fs, anything fsspec speaks).

Configured in ``.mlnb/config.toml``::

    [data.remotes.origin]
    url = "s3://bucket/mlnb-cache"
    endpoint_url = "http://127.0.0.1:9000"   # any other key is passed to the filesystem

Layout on the remote is the cache's: ``<url>/ab/cdef…``. push and pull move only missing
objects, in parallel; every object is re-hashed before it is sent and after it is received (a
corrupt object is refused, named). A folder's manifest is sent only after all its files, so a
folder is on the remote once its manifest is.
"""

from __future__ import annotations

import os
import re
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from mlnb.data._errors import CorruptObjectError, DataError, MissingObjectError, RemoteError
from mlnb.data._hashing import hash_file, parse_manifest
from mlnb.data._objects import ObjectStore, is_hash
from mlnb.errors import UsageError

if TYPE_CHECKING:
    from mlnb.project import Project

__all__ = ["add_remote", "remove_remote", "list_remotes", "push", "pull", "fetch_objects",
           "TransferReport"]

Progress = Callable[[str, int, int], None]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_JOBS = 8


# -- configuration -----------------------------------------------------------------------------

def list_remotes(project: Project) -> dict[str, dict[str, Any]]:
    remotes = project.config.get("data", {}).get("remotes", {})
    return {k: dict(v) for k, v in remotes.items() if isinstance(v, dict) and "url" in v}


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'


def _strip_table(text: str, header: str) -> str:
    """``text`` without the TOML table ``[header]`` (its lines up to the next table)."""
    out, skipping = [], False
    for line in text.splitlines(keepends=True):
        s = line.strip()
        if s.startswith("["):
            skipping = s.replace(" ", "") in (f"[{header}]", f'[{header.rsplit(".", 1)[0]}."{header.rsplit(".", 1)[1]}"]')
        if not skipping:
            out.append(line)
    return "".join(out)


def _edit_config(project: Project, name: str, table: dict[str, Any] | None) -> None:
    from mlnb.data._pins import _atomic_write, file_lock

    project.ensure()
    path = project.config_path
    with file_lock(project.mlnb_dir / "locks" / "config.lock"):
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        text = _strip_table(text, f"data.remotes.{name}")
        if table is not None:
            if text and not text.endswith("\n"):
                text += "\n"
            body = "".join(f"{k} = {_toml_value(v)}\n" for k, v in table.items())
            text += ("\n" if text.strip() else "") + f"[data.remotes.{name}]\n{body}"
        _atomic_write(path, text)
    project._config = None  # re-read on next use


def add_remote(project: Project, name: str, url: str, options: dict[str, Any] | None = None,
               *, force: bool = False) -> dict[str, Any]:
    if not _NAME.match(name):
        raise UsageError(f"Bad remote name {name!r}: use letters, digits, '-', '_' and '.'.")
    if name in list_remotes(project) and not force:
        raise UsageError(f"Remote {name!r} already exists; remove it first or pass --force.")
    if "://" not in url:
        url = os.path.abspath(os.path.join(project.root, url))
    table = {"url": url, **(options or {})}
    _edit_config(project, name, table)
    return table


def remove_remote(project: Project, name: str) -> None:
    if name not in list_remotes(project):
        raise UsageError(f"No remote named {name!r}; see `mlnb data remote list`.")
    _edit_config(project, name, None)


def _choose(project: Project, name: str | None) -> tuple[str, dict[str, Any]]:
    remotes = list_remotes(project)
    name = name or os.environ.get("MLNB_DATA_REMOTE") or None
    if name is None:
        if not remotes:
            raise RemoteError("No data remote configured; add one with "
                              "`mlnb data remote add NAME URL`.")
        if len(remotes) == 1:
            name = next(iter(remotes))
        elif "origin" in remotes:
            name = "origin"
        else:
            raise RemoteError(f"Several remotes ({', '.join(sorted(remotes))}); choose one with --remote.")
    if name not in remotes:
        raise RemoteError(f"No remote named {name!r}; see `mlnb data remote list`.")
    return name, remotes[name]


class Remote:
    def __init__(self, name: str, table: dict[str, Any]) -> None:
        self.name = name
        opts = dict(table)
        self.url = str(opts.pop("url")).rstrip("/")
        try:
            from fsspec.core import url_to_fs
        except ModuleNotFoundError as e:  # pragma: no cover - depends on install
            raise RemoteError("Data remotes need fsspec: pip install fsspec (and s3fs for s3://).") from e
        try:
            self.fs, self.base = url_to_fs(self.url, **opts)
        except (ImportError, ValueError) as e:
            raise RemoteError(f"Cannot use remote {name!r} ({self.url}): {e}") from e
        self.base = self.base.rstrip("/")
        self.local = "file" in (self.fs.protocol if isinstance(self.fs.protocol, tuple)
                                else (self.fs.protocol,))

    def key(self, h: str) -> str:
        return f"{self.base}/{h[:2]}/{h[2:]}"

    def listing(self) -> set[str]:
        """Every object hash on the remote (one listing)."""
        try:
            found = self.fs.find(self.base)
        except FileNotFoundError:
            return set()
        except Exception as e:  # noqa: BLE001 - network errors come in many types
            raise RemoteError(f"Cannot list remote {self.name!r} ({self.url}): {e}") from e
        out = set()
        for p in found:
            parts = p.rstrip("/").rsplit("/", 2)
            if len(parts) >= 2:
                h = parts[-2] + parts[-1]
                if is_hash(h):
                    out.add(h)
        return out

    def put(self, local: str, h: str) -> None:
        key = self.key(h)
        if self.local:  # a folder: write a temporary name, rename (no half-written object)
            self.fs.makedirs(key.rsplit("/", 1)[0], exist_ok=True)
            tmp = f"{key}.tmp-{uuid.uuid4().hex}"
            self.fs.put_file(local, tmp)
            os.replace(tmp, key)
        else:  # object stores make an object visible only once fully written
            self.fs.put_file(local, key)

    def get(self, h: str, local: str) -> None:
        self.fs.get_file(self.key(h), local)


# -- transfer ----------------------------------------------------------------------------------

@dataclass
class TransferReport:
    remote: str
    transferred: list[str] = field(default_factory=list)
    already: int = 0
    missing_local: list[str] = field(default_factory=list)
    missing_remote: list[str] = field(default_factory=list)
    corrupt: list[str] = field(default_factory=list)
    bytes: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing_local or self.missing_remote or self.corrupt)


def _manifest_entries(store: ObjectStore, h: str) -> list[str] | None:
    try:
        data = store.path(h).read_bytes()
    except OSError:
        return None
    if not data.startswith(b"mlnb-manifest 1\n"):
        return None
    return [e.hash for e in parse_manifest(data)]


def _roots(project: Project, target: Any) -> list[Any]:
    from mlnb.data._ops import _notebooks, resolve_pins
    from mlnb.data._pins import read_notebook_pins

    if target is not None:
        return list(resolve_pins(project, target)[0].values())
    pins = dict(resolve_pins(project)[0])
    for nb in _notebooks(project):
        try:
            for p in read_notebook_pins(nb).values():
                pins.setdefault(f"{p.path}@{p.hash}", p)
        except DataError:
            continue
    return list(pins.values())


def push(project: Project, *, remote: str | None = None, target: Any = None,
         progress: Progress | None = None, jobs: int = _JOBS) -> TransferReport:
    """Send the objects of the working tree's pins (or ``target``'s) the remote lacks."""
    name, table = _choose(project, remote)
    r = Remote(name, table)
    store = ObjectStore(project)
    report = TransferReport(name)
    files: set[str] = set()
    manifests: dict[str, list[str]] = {}
    for p in _roots(project, target):
        if p.kind == "dir":
            entries = _manifest_entries(store, p.hash)
            if entries is None:
                report.missing_local.append(p.hash)
                continue
            manifests[p.hash] = entries
            files.update(entries)
        else:
            files.add(p.hash)
    have = r.listing()
    todo_files = sorted(h for h in files if h not in have)
    report.already = len(files) - len(todo_files) + sum(1 for m in manifests if m in have)
    total = len(todo_files) + sum(1 for m in manifests if m not in have)
    done = 0

    def send(h: str) -> tuple[str, str | None, int]:
        local = store.path(h)
        if not local.is_file():
            return h, "missing", 0
        if hash_file(local) != h:
            return h, "corrupt", 0
        r.put(str(local), h)
        return h, None, local.stat().st_size

    def run(hashes: list[str]) -> set[str]:
        nonlocal done
        sent = set()
        if not hashes:
            return sent
        with ThreadPoolExecutor(max(1, jobs), thread_name_prefix="mlnb-push") as pool:
            futures = [pool.submit(send, h) for h in hashes]
            for fut in as_completed(futures):
                try:
                    h, problem, size = fut.result()
                except Exception as e:  # noqa: BLE001
                    raise RemoteError(f"Push to {name!r} failed: {e}") from e
                done += 1
                if progress:
                    progress("push", done, total)
                if problem == "missing":
                    report.missing_local.append(h)
                elif problem == "corrupt":
                    report.corrupt.append(h)
                else:
                    sent.add(h)
                    report.transferred.append(h)
                    report.bytes += size
        return sent

    ok_files = have | run(todo_files)
    complete = [m for m, entries in manifests.items()
                if m not in have and all(e in ok_files for e in entries)]
    run(sorted(complete))
    return report


def fetch_objects(project: Project, hashes: Iterable[str], *, remote: str | None = None,
                  missing_ok: bool = False, progress: Progress | None = None,
                  jobs: int = _JOBS, report: TransferReport | None = None) -> set[str]:
    """Download objects into the cache, each re-hashed before it is adopted."""
    name, table = _choose(project, remote)
    r = Remote(name, table)
    store = ObjectStore(project)
    store.tmp_dir.mkdir(parents=True, exist_ok=True)
    hashes = sorted(set(hashes))
    got: set[str] = set()
    done = 0

    def fetch(h: str) -> tuple[str, str | None, int]:
        tmp = str(store.tmp_dir / f"pull-{uuid.uuid4().hex}")
        try:
            r.get(h, tmp)
        except FileNotFoundError:
            return h, "missing", 0
        except Exception as e:  # noqa: BLE001 - botocore raises its own types
            if "Not Found" in str(e) or "NoSuchKey" in str(e) or "404" in str(e):
                return h, "missing", 0
            raise
        finally:
            pass
        size = os.path.getsize(tmp)
        try:
            store.add_downloaded(tmp, h, where=f"remote {name!r}")
        except CorruptObjectError:
            return h, "corrupt", 0
        return h, None, size

    with ThreadPoolExecutor(max(1, jobs), thread_name_prefix="mlnb-pull") as pool:
        for fut in as_completed([pool.submit(fetch, h) for h in hashes]):
            h, problem, size = fut.result()
            done += 1
            if progress:
                progress("pull", done, len(hashes))
            if problem is None:
                got.add(h)
                if report is not None:
                    report.transferred.append(h)
                    report.bytes += size
            elif problem == "corrupt":
                if report is not None:
                    report.corrupt.append(h)
                if not missing_ok:
                    raise CorruptObjectError(h, r.key(h), where=f"remote {name!r}")
            else:
                if report is not None:
                    report.missing_remote.append(h)
                if not missing_ok:
                    raise MissingObjectError(h, f"remote {name!r} does not have it either")
    return got


def pull(project: Project, *, remote: str | None = None, target: Any = None,
         progress: Progress | None = None, jobs: int = _JOBS, checkout: bool = True,
         force: bool = False) -> TransferReport:
    """Fetch the objects the pins need and lack locally (manifests first), then check out."""
    name, _ = _choose(project, remote)
    project.ensure()
    store = ObjectStore(project)
    report = TransferReport(name)
    pins = _roots(project, target)
    need_manifests = [p.hash for p in pins if p.kind == "dir" and not store.has(p.hash)]
    fetch_objects(project, need_manifests, remote=name, missing_ok=True, progress=progress,
                  jobs=jobs, report=report)
    files: set[str] = set()
    for p in pins:
        if p.kind == "dir":
            entries = _manifest_entries(store, p.hash)
            if entries is not None:
                files.update(entries)
        else:
            files.add(p.hash)
    todo = sorted(h for h in files if not store.has(h))
    report.already = len(files) - len(todo)
    fetch_objects(project, todo, remote=name, missing_ok=True, progress=progress, jobs=jobs,
                  report=report)
    if report.corrupt:
        h = report.corrupt[0]
        raise CorruptObjectError(h, f"{name}:{h[:2]}/{h[2:]}", where=f"remote {name!r}")
    if checkout and not report.missing_remote:
        from mlnb.data._ops import checkout as do_checkout

        if target is not None:
            do_checkout(target, project=project, force=force)
        else:
            do_checkout(project=project, force=force)
    return report
