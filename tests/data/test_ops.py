"""pin / status / checkout / diff / gc / verify on a real project folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mlnb.data import CorruptObjectError, DataError, MissingObjectError, PinNotFoundError
from mlnb.data import checkout, diff, gc, pin, status, verify
from mlnb.data._objects import ObjectStore
from mlnb.data._pins import read_lock_pins, read_notebook_pins, update_lock_pins
from mlnb.errors import PathOutsideRootError, UsageError
from mlnb.project import Project


def _write(p: Path, data: bytes | str) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


@pytest.fixture
def proj(project_dir: Path) -> Project:
    return Project(project_dir)


def _corrupt(store: ObjectStore, h: str, data: bytes = b"rotten") -> None:
    p = store.path(h)
    os.chmod(p, 0o644)
    # Break the hard link first so the workspace file stays good (bit rot in the cache only).
    tmp = p.with_name(p.name + ".x")
    tmp.write_bytes(data)
    os.replace(tmp, p)


def _notebook(path: Path) -> Path:
    nb = {"cells": [], "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4,
          "nbformat_minor": 5}
    path.write_text(json.dumps(nb, indent=1, sort_keys=True) + "\n")
    return path


def test_pin_file_and_folder_then_status_ok(proj: Project) -> None:
    _write(proj.root / "data" / "train.csv", "a,b\n1,2\n")
    _write(proj.root / "data" / "imgs" / "1.txt", "1")
    _write(proj.root / "data" / "imgs" / "sub" / "2.txt", "22")
    pins = pin(["data/train.csv", "data/imgs"], project=proj, note="v1")
    assert [(p.path, p.kind, p.nfiles) for p in pins] == [
        ("data/train.csv", "file", 1), ("data/imgs", "dir", 2)]
    store = ObjectStore(proj)
    assert all(store.has(p.hash) for p in pins)
    lock = yaml.safe_load((proj.root / "mlnb.lock").read_text())
    assert lock["data"]["data/imgs"]["hash"] == pins[1].hash
    assert lock["data"]["data/train.csv"]["note"] == "v1"
    assert [s.state for s in status(project=proj)] == ["ok", "ok"]
    # objects are read-only
    assert not (store.path(pins[0].hash).stat().st_mode & 0o222)


def test_status_reports_modified_added_removed_and_missing(proj: Project) -> None:
    d = proj.root / "ds"
    for i in range(3):
        _write(d / f"{i}.txt", str(i))
    _write(proj.root / "f.bin", b"x")
    pin(["ds", "f.bin"], project=proj)
    os.unlink(d / "0.txt")
    _write(d / "new.txt", "n")
    os.chmod(d / "1.txt", 0o644)
    (d / "1.txt").unlink()
    _write(d / "1.txt", "changed")
    os.unlink(proj.root / "f.bin")
    by = {s.path: s for s in status(project=proj)}
    assert by["f.bin"].state == "missing"
    s = by["ds"]
    assert s.state == "modified"
    assert (s.added, s.removed, s.modified) == (["new.txt"], ["0.txt"], ["1.txt"])


def test_checkout_restores_file_and_folder(proj: Project) -> None:
    d = proj.root / "ds"
    _write(d / "a.txt", "a")
    _write(d / "b" / "c.txt", "c")
    f = _write(proj.root / "m.csv", "1")
    pin(["ds", "m.csv"], project=proj)
    f.unlink()
    import shutil

    shutil.rmtree(d)
    res = checkout(project=proj)
    assert {r.path for r in res if not r.unchanged} == {"ds", "m.csv"}
    assert f.read_text() == "1" and (d / "b" / "c.txt").read_text() == "c"
    assert all(s.ok for s in status(project=proj))


def test_checkout_refuses_to_lose_unpinned_changes(proj: Project) -> None:
    f = _write(proj.root / "m.csv", "1")
    pin(["m.csv"], project=proj)
    f.unlink()
    _write(f, "my precious edit")
    with pytest.raises(DataError, match="not pinned"):
        checkout("m.csv", project=proj)
    assert f.read_text() == "my precious edit"
    checkout("m.csv", project=proj, force=True)
    assert f.read_text() == "1"


def test_checkout_refuses_corrupt_object_and_changes_nothing(proj: Project) -> None:
    d = proj.root / "ds"
    _write(d / "a.txt", "aaa")
    _write(d / "b.txt", "bbb")
    [p] = pin(["ds"], project=proj)
    store = ObjectStore(proj)
    import shutil

    shutil.rmtree(d)
    from mlnb.data._hashing import hash_bytes

    _corrupt(store, hash_bytes(b"bbb"))
    with pytest.raises(CorruptObjectError, match=hash_bytes(b"bbb")):
        checkout(project=proj)
    assert not d.exists()  # nothing half-restored


def test_checkout_missing_object_says_pull(proj: Project) -> None:
    f = _write(proj.root / "m.csv", "1")
    [p] = pin(["m.csv"], project=proj)
    ObjectStore(proj).remove(p.hash)
    f.unlink()
    with pytest.raises(MissingObjectError, match="mlnb data pull"):
        checkout(project=proj)


def test_notebook_pins_live_in_metadata(proj: Project) -> None:
    nb = _notebook(proj.root / "train.ipynb")
    _write(proj.root / "x.csv", "x")
    pin(["x.csv"], project=proj, notebook=nb, note="for training")
    meta = json.loads(nb.read_text())["metadata"]
    assert meta["kernelspec"] == {"name": "python3"}  # other metadata kept
    assert meta["mlnb"]["data"]["x.csv"]["note"] == "for training"
    assert set(read_notebook_pins(nb)) == {"x.csv"}
    assert [s.state for s in status("train.ipynb", project=proj)] == ["ok"]
    _write(proj.root / "x.csv", "y")
    assert [s.state for s in status(str(nb), project=proj)] == ["modified"]


def test_lock_file_keeps_other_sections(proj: Project) -> None:
    (proj.root / "mlnb.lock").write_text("# header kept\nstages:\n  train:\n    deps: {a: 1}\n")
    _write(proj.root / "x.csv", "x")
    pin(["x.csv"], project=proj)
    doc = yaml.safe_load((proj.root / "mlnb.lock").read_text())
    assert doc["stages"] == {"train": {"deps": {"a": 1}}}
    assert "x.csv" in doc["data"]
    assert (proj.root / "mlnb.lock").read_text().startswith("# header kept\n")


def test_lock_file_shared_with_the_pipeline_writer(proj: Project) -> None:
    """The pipeline writes its section with its own helper under the same flock file."""
    lockfile = pytest.importorskip("mlnb.pipeline._lockfile")
    _write(proj.root / "x.csv", "x")
    pin(["x.csv"], project=proj)
    lockfile.update_lock(proj, "stages", lambda section: {"train": {"out": "y"}})
    assert set(read_lock_pins(proj)) == {"x.csv"}
    _write(proj.root / "z.csv", "z")
    pin(["z.csv"], project=proj)
    assert lockfile.read_lock(proj)["stages"] == {"train": {"out": "y"}}
    assert set(read_lock_pins(proj)) == {"x.csv", "z.csv"}


def test_paths_leaving_the_root_are_refused(proj: Project, tmp_path: Path) -> None:
    outside = _write(tmp_path / "outside.csv", "x")
    for bad in ["../outside.csv", str(outside)]:
        with pytest.raises(PathOutsideRootError):
            pin([bad], project=proj)
    os.symlink(outside, proj.root / "link.csv")
    with pytest.raises(PathOutsideRootError):
        pin(["link.csv"], project=proj)
    with pytest.raises(UsageError):
        pin([".mlnb"], project=proj)
    with pytest.raises(UsageError):
        pin(["."], project=proj)
    assert not (proj.root / "mlnb.lock").exists()


def test_status_of_unpinned_path(proj: Project) -> None:
    _write(proj.root / "x.csv", "x")
    with pytest.raises(PinNotFoundError):
        status("x.csv", project=proj)


def test_malformed_lock_file_is_reported(proj: Project) -> None:
    (proj.root / "mlnb.lock").write_text("data: [1, 2\n")
    with pytest.raises(DataError, match="not valid YAML"):
        status(project=proj)
    (proj.root / "mlnb.lock").write_text("data:\n  x.csv: 3\n")
    with pytest.raises(DataError, match="Malformed pin"):
        status(project=proj)


def test_diff_folder_against_pin(proj: Project) -> None:
    d = proj.root / "ds"
    _write(d / "a.txt", "a")
    _write(d / "b.txt", "b")
    pin(["ds"], project=proj)
    _write(d / "c.txt", "c")
    os.unlink(d / "a.txt")
    r = diff("ds", project=proj)
    assert r.changed and r.added == ["c.txt"] and r.removed == ["a.txt"] and r.modified == []


def _git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True,
                          env=env).stdout


def test_checkout_and_diff_at_git_revision(proj: Project) -> None:
    _git(proj.root, "init", "-q")
    d = proj.root / "ds"
    _write(d / "a.txt", "v1")
    pin(["ds"], project=proj)
    _git(proj.root, "add", "mlnb.lock")
    _git(proj.root, "commit", "-qm", "v1")
    v1 = _git(proj.root, "rev-parse", "HEAD").strip()
    os.chmod(d / "a.txt", 0o644)
    (d / "a.txt").unlink()
    _write(d / "a.txt", "v2")
    _write(d / "b.txt", "new")
    pin(["ds"], project=proj)
    _git(proj.root, "commit", "-qam", "v2")
    r = diff("ds", project=proj, revs=(v1, "HEAD"))
    assert (r.added, r.modified) == (["b.txt"], ["a.txt"])
    checkout("ds", project=proj, rev=v1)
    assert (d / "a.txt").read_text() == "v1" and not (d / "b.txt").exists()
    with pytest.raises(DataError, match="git"):
        checkout("ds", project=proj, rev="no-such-rev")


def test_gc_keeps_referenced_objects(proj: Project) -> None:
    nb = _notebook(proj.root / "nb.ipynb")
    _write(proj.root / "keep_lock.csv", "1")
    _write(proj.root / "keep_nb.csv", "2")
    d = proj.root / "ds"
    _write(d / "x", "x")
    pin(["keep_lock.csv", "ds"], project=proj)
    [nbpin] = pin(["keep_nb.csv"], project=proj, notebook=nb)
    update_lock_pins(proj, lambda pins: pins.pop("keep_nb.csv"))  # only the notebook pins it
    _write(proj.root / "old.csv", "old")
    [old] = pin(["old.csv"], project=proj)
    update_lock_pins(proj, lambda pins: pins.pop("old.csv"))
    store = ObjectStore(proj)
    n_before = len(list(store))
    rep = gc(project=proj, dry_run=True)
    assert rep.removed == 1 and len(list(store)) == n_before
    rep = gc(project=proj)
    assert rep.removed == 1 and not store.has(old.hash) and store.has(nbpin.hash)
    assert all(s.ok for s in status(project=proj))


def test_gc_all_revs_keeps_history(proj: Project) -> None:
    _git(proj.root, "init", "-q")
    f = _write(proj.root / "x.csv", "v1")
    [v1] = pin(["x.csv"], project=proj)
    _git(proj.root, "add", "mlnb.lock")
    _git(proj.root, "commit", "-qm", "v1")
    os.chmod(f, 0o644)
    f.unlink()
    _write(f, "v2")
    pin(["x.csv"], project=proj)
    _git(proj.root, "commit", "-qam", "v2")
    store = ObjectStore(proj)
    assert gc(project=proj, all_revs=True).removed == 0 and store.has(v1.hash)
    assert gc(project=proj).removed == 1 and not store.has(v1.hash)


def test_verify_quarantines_corrupt_objects(proj: Project) -> None:
    _write(proj.root / "a.csv", "aaa")
    [p] = pin(["a.csv"], project=proj)
    store = ObjectStore(proj)
    assert verify(project=proj).corrupt == []
    _corrupt(store, p.hash)
    rep = verify(project=proj)
    assert rep.corrupt == [p.hash] and not rep.ok and not store.has(p.hash)
    assert list(store.quarantine_dir.iterdir())


def test_concurrent_pins_from_two_processes(proj: Project) -> None:
    """Two processes pinning different paths at the same moment: both pins land."""
    for k in range(2):
        for i in range(100):
            _write(proj.root / f"d{k}" / f"{i}.txt", f"{k}-{i}")
    code = ("import sys; from mlnb.data import pin; from mlnb.project import Project; "
            "[pin([sys.argv[1]], project=Project(sys.argv[2]), note=str(i)) for i in range(5)]")
    procs = [subprocess.Popen([sys.executable, "-c", code, f"d{k}", str(proj.root)])
             for k in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    pins = read_lock_pins(proj)
    assert set(pins) == {"d0", "d1"}
    assert all(s.ok for s in status(project=proj))
    assert verify(project=proj).corrupt == []


def test_interrupted_pin_leaves_a_consistent_store(proj: Project) -> None:
    """Kill a pin mid-way: no half-written object, the lock file untouched, re-pin completes."""
    for i in range(3000):
        _write(proj.root / "big" / f"{i:05}.bin", os.urandom(2048))
    env = {**os.environ, "MLNB_DATA_LINK": "copy"}
    code = ("import sys; from mlnb.data import pin; from mlnb.project import Project; "
            "print('go', flush=True); pin(['big'], project=Project(sys.argv[1]))")
    proc = subprocess.Popen([sys.executable, "-c", code, str(proj.root)], stdout=subprocess.PIPE,
                            env=env)
    assert proc.stdout.readline().strip() == b"go"
    objects = proj.root / ".mlnb" / "objects"
    while not objects.is_dir() or len(list(objects.rglob("*"))) < 100:
        if proc.poll() is not None:
            pytest.skip("pin finished before it could be interrupted")
    proc.kill()
    proc.wait()
    assert not (proj.root / "mlnb.lock").exists()
    rep = verify(project=proj)
    assert rep.corrupt == []  # every object present is whole
    [p] = pin(["big"], project=proj)
    assert not list((proj.root / ".mlnb" / "tmp").iterdir())
    assert [s.state for s in status(project=proj)] == ["ok"] and p.nfiles == 3000


def test_interrupted_checkout_leftovers_are_ignored_and_cleaned(proj: Project) -> None:
    """A checkout killed between writing a temporary and renaming it leaves `.mlnb-tmp-*`:
    never counted as data, removed by the next checkout."""
    d = proj.root / "ds"
    _write(d / "a.txt", "a")
    _write(d / "b.txt", "b")
    pin(["ds"], project=proj)
    os.chmod(d / "b.txt", 0o644)
    (d / "b.txt").unlink()
    _write(d / ".mlnb-tmp-0123abcd", "half a file")
    s = status(project=proj)[0]
    assert s.state == "modified" and s.removed == ["b.txt"] and s.added == []
    checkout(project=proj)
    assert sorted(p.name for p in d.iterdir()) == ["a.txt", "b.txt"]
    assert status(project=proj)[0].ok


def test_checkout_notebook_pins_at_git_revision(proj: Project) -> None:
    _git(proj.root, "init", "-q")
    nb = _notebook(proj.root / "nb.ipynb")
    f = _write(proj.root / "x.csv", "v1")
    pin(["x.csv"], project=proj, notebook=nb)
    _git(proj.root, "add", "nb.ipynb", "mlnb.lock")
    _git(proj.root, "commit", "-qm", "v1")
    os.chmod(f, 0o644)
    f.unlink()
    _write(f, "v2")
    pin(["x.csv"], project=proj, notebook=nb)
    assert [s.state for s in status("nb.ipynb", project=proj, rev="HEAD")] == ["modified"]
    checkout("nb.ipynb", project=proj, rev="HEAD")
    assert f.read_text() == "v1"


def test_status_after_pin_reads_no_file(proj: Project, monkeypatch) -> None:
    """Pinning (hard links change ctime) leaves a stat cache that status can trust."""
    import mlnb.data._hashing as H

    d = proj.root / "ds"
    for i in range(50):
        f = _write(d / f"{i}.txt", str(i))
        st = f.stat()
        os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns - 10**11))
    pin(["ds"], project=proj)
    calls = []
    real = H.hash_file
    monkeypatch.setattr(H, "hash_file", lambda p, size=None: calls.append(p) or real(p, size))
    assert status(project=proj)[0].ok
    assert calls == []


def test_gc_forgets_stat_cache_rows_of_deleted_files(proj: Project) -> None:
    from mlnb.data._statcache import StatCache

    _write(proj.root / "a.csv", "a")
    _write(proj.root / "b.csv", "b")
    pin(["a.csv", "b.csv"], project=proj)
    os.chmod(proj.root / "b.csv", 0o644)
    (proj.root / "b.csv").unlink()
    gc(project=proj)
    assert set(StatCache(proj).load_prefix("")) == {"a.csv"}
