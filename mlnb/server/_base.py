"""Base handler of the mlnb REST API: auth resource, JSON in and out, input checks, error mapping.

Domain errors (:mod:`mlnb.errors`) are turned into HTTP answers in exactly one place,
:meth:`MlnbHandler.write_error`, with the body ``{"message", "reason", ...}``: ``message`` is the
error's own sentence (for a filter error it includes the caret line), ``reason`` the error's class
name (``"FilterSyntaxError"``) so a client can branch on it, plus the fields the error carries.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import re
from collections.abc import Callable
from http.client import responses
from pathlib import PurePath
from typing import Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from tornado.web import HTTPError

from mlnb.errors import (
    AmbiguousRunIdError,
    FilterSyntaxError,
    MlnbError,
    PathOutsideRootError,
    RunNotFoundError,
    UsageError,
)

from ._context import SETTINGS_KEY, ServerContext

__all__ = ["MlnbHandler", "encode_json", "http_status_for"]

from mlnb.data._errors import DataError  # noqa: E402 - light: only mlnb.errors
from mlnb.pipeline._errors import PipelineBusyError  # noqa: E402

T = TypeVar("T")

# First match wins: subclasses before their bases. Anything else from mlnb is a 500.
_STATUS_FOR_ERROR: tuple[tuple[type[MlnbError], int], ...] = (
    (PathOutsideRootError, 403),
    (RunNotFoundError, 404),
    (UsageError, 400),
    # The workspace or the project is in a state that refuses the request (unpinned changes,
    # a corrupt or missing object, another pipeline run): the client may resolve and retry.
    (DataError, 409),
    (PipelineBusyError, 409),
)

_INT_RE = re.compile(r"[+-]?[0-9]{1,18}")


def http_status_for(error: MlnbError) -> int:
    """The HTTP status a domain error is answered with (see docs/design/contracts.md)."""
    for error_type, status in _STATUS_FOR_ERROR:
        if isinstance(error, error_type):
            return status
    return 500


def _error_details(error: MlnbError) -> dict[str, Any]:
    """The structured fields an error carries, for clients that point at the problem."""
    if isinstance(error, FilterSyntaxError):
        return {"filter": error.filter, "position": error.position}
    if isinstance(error, AmbiguousRunIdError):
        return {"prefix": error.prefix, "candidates": list(error.candidates)}
    if isinstance(error, RunNotFoundError):
        return {"run_id": error.run_id}
    if isinstance(error, PathOutsideRootError):
        return {"path": error.path}
    return {}


def _finite(value: Any) -> Any:
    """``value`` with NaN and ±inf floats replaced by None, which JSON (and JSON.parse) can carry."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, PurePath):
        return value.as_posix()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def encode_json(data: Any) -> bytes:
    """Strict JSON: a diverged loss (NaN) becomes null instead of a token browsers refuse."""
    try:
        text = json.dumps(data, allow_nan=False, default=_json_default, separators=(",", ":"))
    except ValueError:
        text = json.dumps(_finite(data), allow_nan=False, default=_json_default, separators=(",", ":"))
    return text.encode("utf-8")


class MlnbHandler(APIHandler):
    """Base of every mlnb REST handler: JSON answers, checked arguments, mapped errors."""

    auth_resource = "mlnb"

    @property
    def context(self) -> ServerContext:
        return self.settings[SETTINGS_KEY]

    # --- running the core ------------------------------------------------------------------

    async def in_thread(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """Run a blocking core call (SQLite, file system) in a worker so the server never stalls."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args, **kwargs))

    async def respond(self, build: Callable[[], Any]) -> None:
        """Answer with ``build()`` as JSON; building and encoding both happen in a worker thread."""
        body = await self.in_thread(lambda: encode_json(build()))
        self.set_header("Content-Type", "application/json")
        self.finish(body)

    # --- arguments -------------------------------------------------------------------------

    def str_argument(self, name: str) -> str | None:
        """A query argument stripped of surrounding blanks; None when absent or blank."""
        value = self.get_query_argument(name, None)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def required_argument(self, name: str) -> str:
        value = self.str_argument(name)
        if value is None:
            raise UsageError(f"Query argument {name!r} is required; add ?{name}=... to the URL.")
        return value

    def int_argument(
        self,
        name: str,
        default: int,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int:
        """An integer query argument within [minimum, maximum]; anything else is a 400."""
        raw = self.str_argument(name)
        if raw is None:
            return default
        if minimum is not None and maximum is not None:
            bounds = f" between {minimum} and {maximum}"
        elif minimum is not None:
            bounds = f" >= {minimum}"
        elif maximum is not None:
            bounds = f" <= {maximum}"
        else:
            bounds = ""
        if not _INT_RE.fullmatch(raw):
            raise UsageError(f"Query argument {name!r} must be an integer{bounds}, got {raw!r}.")
        value = int(raw)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            raise UsageError(f"Query argument {name!r} must be an integer{bounds}, got {value}.")
        return value

    # --- errors: the one place domain errors become HTTP -----------------------------------

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        """Expected input errors are logged as one line, not as a server-side traceback."""
        if isinstance(value, MlnbError) and http_status_for(value) < 500:
            self.log.info(
                "mlnb: %s %s refused: %s: %s",
                self.request.method,
                self.request.path,
                type(value).__name__,
                str(value).splitlines()[0] if str(value) else "",
            )
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        if isinstance(error, MlnbError):
            status_code = http_status_for(error)
            self.set_status(status_code)
            reply: dict[str, Any] = {
                "message": str(error),
                "reason": type(error).__name__,
                **_error_details(error),
            }
        elif isinstance(error, HTTPError):
            message = error.log_message or ""
            if message and error.args:
                try:
                    message = message % error.args
                except (TypeError, ValueError):
                    pass
            phrase = error.reason or responses.get(status_code, "Unknown HTTP Error")
            reply = {"message": message or phrase, "reason": phrase}
        else:
            phrase = responses.get(status_code, "Unknown HTTP Error")
            # Unexpected failures are logged with their traceback; the client gets no internals.
            reply = {"message": "Unhandled error in the mlnb server extension", "reason": phrase}
        self.set_header("Content-Type", "application/json")
        self.finish(encode_json(reply))
