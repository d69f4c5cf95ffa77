"""Data-version pinning: BLAKE3 content hashes, the object cache, pins, remotes.

``import mlnb.data`` is cheap (no fsspec, no SQLite until a cache is used). The one hashing
implementation shared with pipelines is :func:`hash_path`::

    from mlnb.data import hash_path
    d = hash_path("data/train")        # PathDigest(hash, size, nfiles, kind='dir')
"""

from __future__ import annotations

from mlnb._lazy import lazy_getattr
from mlnb.data._errors import (
    CorruptObjectError,
    DataError,
    LockTimeoutError,
    MissingObjectError,
    PinNotFoundError,
    RemoteError,
)
from mlnb.data._hashing import ManifestEntry, PathDigest, hash_file, hash_path

__all__ = [
    "PathDigest", "ManifestEntry", "hash_path", "hash_file",
    "DataError", "CorruptObjectError", "MissingObjectError", "PinNotFoundError", "RemoteError",
    "LockTimeoutError",
    # loaded on first use
    "Pin", "ObjectStore", "pin", "status", "checkout", "diff", "gc", "verify", "push", "pull",
    "read_pins", "PinStatus",
]

_LAZY = {
    "Pin": "mlnb.data._pins",
    "read_pins": "mlnb.data._pins",
    "ObjectStore": "mlnb.data._objects",
    "pin": "mlnb.data._ops",
    "status": "mlnb.data._ops",
    "checkout": "mlnb.data._ops",
    "diff": "mlnb.data._ops",
    "gc": "mlnb.data._ops",
    "verify": "mlnb.data._ops",
    "PinStatus": "mlnb.data._ops",
    "push": "mlnb.data._remote",
    "pull": "mlnb.data._remote",
}


__getattr__ = lazy_getattr(__name__, _LAZY, globals())
