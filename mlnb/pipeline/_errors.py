"""Errors of the pipeline core. All derive from :class:`mlnb.errors.MlnbError`; input problems
from :class:`~mlnb.errors.UsageError` (HTTP 400 in the server face)."""

from __future__ import annotations

from mlnb.errors import MlnbError, UsageError

__all__ = [
    "PipelineError",
    "PipelineSpecError",
    "PipelineGraphError",
    "StageNotFoundError",
    "PipelineBusyError",
    "StageFailedError",
]


class PipelineError(MlnbError):
    """Something about the pipeline as a whole went wrong."""


class PipelineSpecError(UsageError):
    """``mlnb.yaml`` is malformed. ``problems`` is a list of ``(line, message)`` (line 1-based,
    0 when unknown); ``line`` is the first one's; ``str()`` lists them all as ``file:line: msg``."""

    def __init__(self, path: str, problems: list[tuple[int, str]]) -> None:
        self.path = path
        self.problems = sorted(problems, key=lambda p: p[0])
        self.line = self.problems[0][0] if self.problems else 0
        lines = [f"{path}:{ln}: {msg}" if ln else f"{path}: {msg}" for ln, msg in self.problems]
        head = "mlnb.yaml is not valid" if len(lines) > 1 else lines[0]
        super().__init__(head if len(lines) == 1 else head + ":\n  " + "\n  ".join(lines))


class PipelineGraphError(UsageError):
    """The stages do not form a DAG: a cycle, or two stages writing one out. ``stages`` names them."""

    def __init__(self, message: str, stages: list[str]) -> None:
        self.stages = stages
        super().__init__(message)


class StageNotFoundError(UsageError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        shown = ", ".join(known[:12]) + (" ..." if len(known) > 12 else "")
        super().__init__(f"No stage {name!r} in mlnb.yaml; stages are: {shown or '(none)'}.")


class PipelineBusyError(PipelineError):
    """Another ``mlnb run`` holds the project's run lock."""

    def __init__(self, holder: str) -> None:
        self.holder = holder
        super().__init__(
            f"Another `mlnb run` is running in this project ({holder}). Wait for it to finish, "
            "or pass --wait to queue behind it."
        )


class StageFailedError(PipelineError):
    """A stage failed; ``stage``, ``run_id`` and the underlying ``error`` text."""

    def __init__(self, stage: str, error: str, run_id: str | None = None) -> None:
        self.stage, self.error, self.run_id = stage, error, run_id
        super().__init__(f"Stage {stage!r} failed: {error}")
