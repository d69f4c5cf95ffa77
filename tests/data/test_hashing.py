"""hash_path: the contract shared with pipelines (file/folder digests, stat cache correctness)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from blake3 import blake3

from mlnb.data import DataError, PathDigest, hash_path
from mlnb.data._hashing import parse_manifest
from mlnb.data._statcache import StatCache
from mlnb.project import Project


def _write(p: Path, data: bytes) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return p


def _age(p: Path, seconds: int = 100) -> None:
    """Move the mtime into the past so the stat cache may trust it."""
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns - seconds * 10**9))


def test_file_digest_is_blake3(project_dir: Path) -> None:
    f = _write(project_dir / "a.bin", b"hello world")
    d = hash_path(f)
    assert d == PathDigest(blake3(b"hello world").hexdigest(), 11, 1, "file")


def test_big_file_multithreaded_hash_matches(tmp_path: Path) -> None:
    data = os.urandom(9 << 20)
    f = _write(tmp_path / "big.bin", data)
    assert hash_path(f, use_cache=False).hash == blake3(data).hexdigest()


def test_folder_digest_is_manifest_hash(project_dir: Path) -> None:
    d = project_dir / "ds"
    _write(d / "b.txt", b"b")
    _write(d / "sub" / "a.txt", b"aa")
    _write(d / ".ipynb_checkpoints" / "x", b"ignored")
    dig = hash_path(d)
    assert dig.kind == "dir" and dig.nfiles == 2 and dig.size == 3
    assert [e.path for e in dig.entries] == ["b.txt", "sub/a.txt"]
    assert blake3(dig.manifest()).hexdigest() == dig.hash
    assert parse_manifest(dig.manifest()) == dig.entries
    # Same content elsewhere: same version; one byte different: different version.
    other = project_dir / "copy"
    _write(other / "b.txt", b"b")
    _write(other / "sub" / "a.txt", b"aa")
    assert hash_path(other).hash == dig.hash
    (other / "b.txt").write_bytes(b"c")
    assert hash_path(other).hash != dig.hash


def test_mode_only_exec_bit_counts(project_dir: Path) -> None:
    d = project_dir / "ds"
    f = _write(d / "run.sh", b"#!/bin/sh\n")
    before = hash_path(d).hash
    os.chmod(f, 0o444)  # read-only (as a hard-linked checkout is): same version
    assert hash_path(d).hash == before
    os.chmod(f, 0o755)
    assert hash_path(d).hash != before


def test_missing_and_special_paths(project_dir: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        hash_path(project_dir / "nope")


def test_empty_folder(project_dir: Path) -> None:
    (project_dir / "empty").mkdir()
    d = hash_path(project_dir / "empty")
    assert (d.nfiles, d.size, d.kind) == (0, 0, "dir")


def test_symlink_out_of_root_refused(project_dir: Path, tmp_path: Path) -> None:
    outside = _write(tmp_path / "secret.txt", b"x")
    d = project_dir / "ds"
    d.mkdir()
    os.symlink(outside, d / "link")
    from mlnb.errors import PathOutsideRootError

    with pytest.raises(PathOutsideRootError):
        hash_path(d, project=Project(project_dir))


def test_stat_cache_skips_unchanged_files(project_dir: Path, monkeypatch) -> None:
    d = project_dir / "ds"
    files = [_write(d / f"f{i}.txt", f"{i}".encode()) for i in range(200)]
    for f in files:
        _age(f)
    first = hash_path(d)
    calls = []
    import mlnb.data._hashing as H

    real = H.hash_file
    monkeypatch.setattr(H, "hash_file", lambda p, size=None: calls.append(p) or real(p, size))
    assert hash_path(d).hash == first.hash
    assert calls == []  # nothing re-read
    files[3].write_bytes(b"changed")
    _age(files[3])
    assert hash_path(d).hash != first.hash
    assert calls == [str(files[3])]


def test_stat_cache_detects_same_size_same_mtime_change(project_dir: Path) -> None:
    """Rewrite a file with the same size and put its old mtime back: still detected (ctime)."""
    f = _write(project_dir / "a.txt", b"aaaa")
    _age(f)
    st = f.stat()
    first = hash_path(f).hash
    f.write_bytes(b"bbbb")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert f.stat().st_size == st.st_size and f.stat().st_mtime_ns == st.st_mtime_ns
    assert hash_path(f).hash == blake3(b"bbbb").hexdigest() != first


def test_racy_entry_is_never_trusted(project_dir: Path, monkeypatch) -> None:
    """A file whose mtime is not older than the hashing moment is re-hashed every time, so a
    same-tick rewrite (same size, same mtime, same ctime on a coarse clock) cannot hide."""
    f = _write(project_dir / "a.txt", b"aaaa")
    st = f.stat()
    cache = StatCache(Project(project_dir))
    # Pretend the filesystem clock read the same tick as the file's mtime when we hashed it.
    monkeypatch.setattr(StatCache, "fs_now", lambda self: st.st_mtime_ns)
    assert hash_path(f).hash == blake3(b"aaaa").hexdigest()
    row = cache.load_one("a.txt")
    assert row is not None and row[1] == st.st_mtime_ns and row[5] == st.st_mtime_ns
    from mlnb.data._hashing import _FileStat

    fs = _FileStat("", str(f), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, 0o644)
    assert StatCache.lookup(row, fs) is None  # racy: not trusted even though the stat matches
    # An entry hashed strictly after the mtime tick is trusted.
    monkeypatch.setattr(StatCache, "fs_now", lambda self: st.st_mtime_ns + 1)
    hash_path(f)
    assert StatCache.lookup(cache.load_one("a.txt"), fs) == blake3(b"aaaa").hexdigest()


def test_no_cache_without_mlnb_dir(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLNB_PROJECT", raising=False)
    monkeypatch.delenv("MLNB_DEFAULT_PROJECT", raising=False)
    f = _write(tmp_path / "plain" / "a.txt", b"x")
    hash_path(f)
    assert not (tmp_path / "plain" / ".mlnb").exists()


def test_import_is_light() -> None:
    import subprocess
    import sys

    code = ("import sys, mlnb.data; bad = [m for m in ('fsspec', 's3fs', 'sqlite3', 'yaml', "
            "'mlnb.tracking', 'nbformat') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
