"""Remotes: a local folder and a real S3-speaking server (moto's standalone server)."""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from mlnb.data import CorruptObjectError, checkout, pin, status, verify
from mlnb.data._hashing import hash_bytes
from mlnb.data._objects import ObjectStore
from mlnb.data._remote import add_remote, list_remotes, pull, push, remove_remote
from mlnb.errors import UsageError
from mlnb.project import Project


def _write(p: Path, data: str) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(data)
    return p


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3_server():
    pytest.importorskip("s3fs")
    server_mod = pytest.importorskip("moto.server")
    port = _free_port()
    server = server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    old = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                      AWS_DEFAULT_REGION="us-east-1")
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="mlnb-test")
    yield endpoint
    server.stop()
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture
def proj(project_dir: Path) -> Project:
    return Project(project_dir)


def _dataset(proj: Project) -> None:
    for i in range(20):
        _write(proj.root / "ds" / f"{i}.txt", f"row {i}")
    _write(proj.root / "one.csv", "a,b\n")
    pin(["ds", "one.csv"], project=proj)


def _fresh_clone(proj: Project, tmp_path: Path) -> Project:
    """Another checkout of the same project: the lock file and config, no cache, no data."""
    other = tmp_path / "clone"
    (other / ".mlnb").mkdir(parents=True)
    shutil.copy(proj.root / "mlnb.lock", other / "mlnb.lock")
    shutil.copy(proj.config_path, other / ".mlnb" / "config.toml")
    return Project(other)


def test_remote_add_list_remove(proj: Project, tmp_path: Path) -> None:
    proj.config_path.write_text('[store]\nurl = "sqlite:///x.db"  # keep me\n')
    add_remote(proj, "origin", str(tmp_path / "r"))
    add_remote(proj, "s3", "s3://bucket/p", {"endpoint_url": "http://x"})
    assert set(list_remotes(proj)) == {"origin", "s3"}
    assert list_remotes(proj)["s3"]["endpoint_url"] == "http://x"
    with pytest.raises(UsageError, match="already exists"):
        add_remote(proj, "origin", "/elsewhere")
    with pytest.raises(UsageError, match="Bad remote name"):
        add_remote(proj, "a b", "/x")
    remove_remote(proj, "origin")
    assert set(list_remotes(proj)) == {"s3"}
    assert "# keep me" in proj.config_path.read_text()
    assert proj.config["store"]["url"] == "sqlite:///x.db"
    with pytest.raises(UsageError):
        remove_remote(proj, "origin")


def test_push_pull_local_folder_remote(proj: Project, tmp_path: Path) -> None:
    _dataset(proj)
    add_remote(proj, "origin", str(tmp_path / "remote"))
    rep = push(proj)
    assert rep.ok and len(rep.transferred) == 22  # 20 files + manifest + one.csv
    assert len(push(proj).transferred) == 0  # only missing objects move
    clone = _fresh_clone(proj, tmp_path)
    rep = pull(clone)
    assert rep.ok and len(rep.transferred) == 22
    assert all(s.ok for s in status(project=clone))
    assert (clone.root / "ds" / "7.txt").read_text() == "row 7"


def test_pull_refuses_corrupt_remote_object(proj: Project, tmp_path: Path) -> None:
    _dataset(proj)
    remote = tmp_path / "remote"
    add_remote(proj, "origin", str(remote))
    push(proj)
    h = hash_bytes(b"a,b\n")
    (remote / h[:2] / h[2:]).write_text("evil")
    clone = _fresh_clone(proj, tmp_path)
    with pytest.raises(CorruptObjectError, match=h):
        pull(clone)
    assert not ObjectStore(clone).has(h)
    assert not (clone.root / "one.csv").exists()


def test_push_refuses_corrupt_local_object(proj: Project, tmp_path: Path) -> None:
    _dataset(proj)
    add_remote(proj, "origin", str(tmp_path / "remote"))
    store = ObjectStore(proj)
    h = hash_bytes(b"row 3")
    p = store.path(h)
    os.chmod(p, 0o644)
    p.unlink()
    p.write_text("bad")
    rep = push(proj)
    assert rep.corrupt == [h] and not rep.ok
    # The folder is not complete on the remote: its manifest was held back.
    from mlnb.data._pins import read_lock_pins

    manifest = read_lock_pins(proj)["ds"].hash
    assert not (tmp_path / "remote" / manifest[:2] / manifest[2:]).exists()


def test_verify_repairs_from_remote(proj: Project, tmp_path: Path) -> None:
    _dataset(proj)
    add_remote(proj, "origin", str(tmp_path / "remote"))
    push(proj)
    store = ObjectStore(proj)
    h = hash_bytes(b"row 5")
    p = store.path(h)
    os.chmod(p, 0o644)
    p.unlink()
    p.write_text("bit rot")
    rep = verify(project=proj)
    assert rep.corrupt == [h] and rep.repaired == [h] and rep.ok
    assert store.check(h) is None


def test_s3_push_pull_and_repair(proj: Project, tmp_path: Path, s3_server: str) -> None:
    _dataset(proj)
    add_remote(proj, "s3", "s3://mlnb-test/cache", {"endpoint_url": s3_server})
    rep = push(proj)
    assert rep.ok and len(rep.transferred) == 22
    assert push(proj).transferred == []
    clone = _fresh_clone(proj, tmp_path)
    rep = pull(clone, remote="s3")
    assert rep.ok and len(rep.transferred) == 22
    assert all(s.ok for s in status(project=clone))
    # Bit rot in the clone's cache is repaired from S3.
    h = hash_bytes(b"row 9")
    store = ObjectStore(clone)
    p = store.path(h)
    os.chmod(p, 0o644)
    p.unlink()
    p.write_text("rot")
    rep = verify(project=clone)
    assert rep.repaired == [h]
    shutil.rmtree(clone.root / "ds")
    checkout(project=clone)
    assert (clone.root / "ds" / "9.txt").read_text() == "row 9"


def test_s3_corrupt_remote_object_refused(proj: Project, tmp_path: Path, s3_server: str) -> None:
    import boto3

    _dataset(proj)
    add_remote(proj, "s3", "s3://mlnb-test/corrupt-case", {"endpoint_url": s3_server})
    push(proj)
    h = hash_bytes(b"a,b\n")
    boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1").put_object(
        Bucket="mlnb-test", Key=f"corrupt-case/{h[:2]}/{h[2:]}", Body=b"tampered")
    clone = _fresh_clone(proj, tmp_path)
    with pytest.raises(CorruptObjectError, match=h):
        pull(clone)
