"""Errors of the data core. All derive from :class:`mlnb.errors.MlnbError`; ``str()`` says what to do."""

from __future__ import annotations

from mlnb.errors import MlnbError, UsageError

__all__ = ["DataError", "CorruptObjectError", "MissingObjectError", "PinNotFoundError",
           "RemoteError", "LockTimeoutError"]


class DataError(MlnbError):
    """A data operation failed; ``path`` names the file when there is one."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class CorruptObjectError(DataError):
    """An object's content does not hash to its name: it is refused, never checked out or pushed."""

    def __init__(self, hash: str, path: str, actual: str | None = None, where: str = "cache") -> None:
        self.hash, self.actual, self.where = hash, actual, where
        super().__init__(
            f"Object {hash} in the {where} is corrupt ({path} hashes to {actual or 'something else'}). "
            "Run `mlnb data verify` to quarantine it and repair it from a remote.",
            path=path,
        )


class MissingObjectError(DataError):
    def __init__(self, hash: str, what: str = "") -> None:
        self.hash = hash
        suffix = f" (needed for {what})" if what else ""
        super().__init__(
            f"Object {hash}{suffix} is not in the local cache; fetch it with `mlnb data pull`."
        )


class PinNotFoundError(UsageError):
    def __init__(self, path: str, where: str = "") -> None:
        self.path = path
        super().__init__(f"{path} is not pinned{(' in ' + where) if where else ''}; pin it with "
                         f"`mlnb data pin {path}`.")


class RemoteError(DataError):
    """A remote is unknown, misconfigured or unreachable."""


class LockTimeoutError(DataError):
    """Another process holds a lock mlnb needs for too long."""
