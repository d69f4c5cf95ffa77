"""Errors raised by mlnb. Every error derives from :class:`MlnbError`; its ``str()`` says what to do."""

from __future__ import annotations

__all__ = [
    "MlnbError",
    "UsageError",
    "ProjectError",
    "StoreError",
    "FilterSyntaxError",
    "RunNotFoundError",
    "AmbiguousRunIdError",
    "ParamConflictError",
    "NoActiveRunError",
    "PathOutsideRootError",
]


class MlnbError(Exception):
    """Root of every error mlnb raises on purpose."""


class UsageError(MlnbError):
    """The caller gave input mlnb cannot use; the message says how to fix it."""


class ProjectError(MlnbError):
    """The project folder or its configuration is unusable."""


class StoreError(MlnbError):
    """The tracking store cannot be opened, migrated or written."""


class FilterSyntaxError(UsageError):
    """A run filter or order-by string does not parse.

    Carries the whole ``filter``, the 0-based ``position`` of the offending token and ``message``.
    """

    def __init__(self, message: str, filter: str, position: int) -> None:
        self.message = message
        self.filter = filter
        self.position = max(0, min(position, len(filter)))
        super().__init__(message)

    def __str__(self) -> str:
        caret = " " * self.position + "^"
        return f"{self.message} (at column {self.position + 1})\n  {self.filter}\n  {caret}"


class RunNotFoundError(MlnbError):
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"No run with id {run_id!r}; list runs with `mlnb runs list`.")


class AmbiguousRunIdError(UsageError):
    def __init__(self, prefix: str, candidates: list[str]) -> None:
        self.prefix = prefix
        self.candidates = candidates
        shown = ", ".join(candidates[:5]) + (" ..." if len(candidates) > 5 else "")
        super().__init__(
            f"Run id prefix {prefix!r} matches {len(candidates)} runs ({shown}); give more characters."
        )


class ParamConflictError(UsageError):
    """A param was logged again with a different value; params are immutable within a run."""

    def __init__(self, key: str, old: object, new: object, run_id: str) -> None:
        self.key, self.old, self.new, self.run_id = key, old, new, run_id
        super().__init__(
            f"Param {key!r} of run {run_id} is already {old!r}; params are immutable within a run. "
            f"Start a new run (mlnb.start_run() or %mlnb run start) to log {key}={new!r}."
        )


class NoActiveRunError(UsageError):
    def __init__(self, what: str = "log") -> None:
        super().__init__(
            f"Cannot {what}: no run is active. Call mlnb.start_run() first "
            "(or %load_ext mlnb in a notebook, which opens one for you)."
        )


class PathOutsideRootError(UsageError):
    def __init__(self, path: str, root: str) -> None:
        self.path, self.root = path, root
        super().__init__(f"Path {path!r} is outside the root {root!r}; use a path inside it.")
