"""Handlers of the Data panel under ``{base_url}mlnb/api/data``: a notebook's data pins with their
state and the unpinned files its last run read; pin, check out, and what changed in a folder.

Paths from the client are relative to the server root and resolved inside it (``..``, absolute
paths and symlinks leading out are refused with 403) before the core sees them; the core then
keeps them inside the project. Pin paths in answers are relative to the project root (as
``mlnb.lock`` and ``metadata.mlnb.data`` key them), each with ``server_path`` for the buttons.

Pinning never writes the open notebook's file (JupyterLab would report "file changed on disk"):
the pins go to ``mlnb.lock`` and come back in the answer, and the frontend merges them into the
open notebook model's ``metadata.mlnb.data``. ``POST data`` with those model pins answers the
panel from what the editor holds, saved or not.
"""

from __future__ import annotations

import os
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from mlnb.errors import UsageError

from ._base import MlnbHandler

__all__ = ["DataHandler", "DataPinHandler", "DataCheckoutHandler", "DataDiffHandler"]


def _body(handler: MlnbHandler, shape: str) -> dict[str, Any]:
    body = handler.get_json_body()
    if not isinstance(body, dict):
        raise UsageError(f"The request body must be a JSON object {shape}.")
    return body


def _str_field(body: dict[str, Any], name: str, what: str, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{name!r} must be {what}.")
    return value.strip()


class _DataBase(MlnbHandler):
    def _server_path(self, project_rel: str) -> str | None:
        """A project-relative path as the server root names it; None when outside the root."""
        absolute = os.path.realpath(os.path.join(str(self.context.project().root), project_rel))
        root = self.context.root_dir
        if os.path.commonpath([root, absolute]) != root:
            return None
        return os.path.relpath(absolute, root).replace(os.sep, "/")

    def _with_server_paths(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for item in items:
            item["server_path"] = self._server_path(item["path"])
        return items

    def _notebook_state(self, notebook: str, model_pins: dict[str, Any] | None) -> dict[str, Any]:
        """``notebook_data`` for a server-root path; with ``model_pins`` (the open model's
        ``metadata.mlnb.data``) the pins listed are those, not the file's."""
        from mlnb.data._objects import ObjectStore
        from mlnb.data._ops import _status_one
        from mlnb.data._pins import Pin
        from mlnb.data._reads import notebook_data
        from mlnb.data._statcache import StatCache

        context = self.context
        os_path = context.resolve_in_root(notebook)
        if not os_path.endswith(".ipynb"):
            raise UsageError(f"{notebook} is not a notebook (.ipynb).")
        project = context.project()
        out = notebook_data(project, project.relpath(os_path))
        if model_pins is not None:
            pins = [Pin.from_record(path, rec, "the open notebook's metadata")
                    for path, rec in sorted(model_pins.items())]
            for p in pins:
                project.resolve_inside(p.path)  # a pin naming a path outside is refused
            store, cache = ObjectStore(project), StatCache.for_project(project)
            out["pins"] = [_status_one(project, store, cache, p).to_dict() for p in pins]
            covered = {p.path for p in pins}
            out["unpinned_reads"] = [
                r for r in out["unpinned_reads"]
                if r["path"] not in covered
                and not any(r["path"].startswith(c + "/") for c in covered)]
        self._with_server_paths(out["pins"])
        self._with_server_paths(out["unpinned_reads"])
        out["project_root"] = str(project.root)
        return out


class DataHandler(_DataBase):
    """``GET data?notebook=PATH``: the notebook's pins (from its file) with ``state`` ok /
    modified / missing (folders: ``added``/``removed``/``modified`` files) and ``unpinned_reads``
    of its last run. ``POST data`` ``{"notebook", "pins"}``: the same for the pins the open
    notebook model holds (``metadata.mlnb.data``)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.required_argument("notebook")
        await self.respond(lambda: self._notebook_state(notebook, None))

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = _body(self, '{"notebook", "pins"}')
        notebook = _str_field(body, "notebook", "the notebook's path relative to the server root")
        pins = body.get("pins")
        if pins is not None and not isinstance(pins, dict):
            raise UsageError("'pins' must be the notebook's metadata.mlnb.data mapping.")
        assert notebook is not None
        await self.respond(lambda: self._notebook_state(notebook, pins or {}))


class DataPinHandler(_DataBase):
    """``POST data/pin`` ``{"paths", "notebook"?, "note"?}``: pin into ``mlnb.lock``; answers
    ``{"notebook", "pins": {path: pin record}}`` (the ``data-pins`` message's shape) for the
    frontend to merge into the open notebook model. The notebook file is never written."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = _body(self, '{"paths", "notebook", "note"}')
        paths = body.get("paths")
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list) or not paths \
                or not all(isinstance(p, str) and p.strip() for p in paths):
            raise UsageError("'paths' must be a list of files or folders relative to the "
                             "server root.")
        notebook = _str_field(body, "notebook", "a notebook path relative to the server root",
                              required=False)
        note = body.get("note")
        if note is not None and not isinstance(note, str):
            raise UsageError("'note' must be a string.")
        context = self.context

        def build() -> dict[str, Any]:
            from mlnb.data import pin

            absolute = [context.resolve_in_root(p.strip()) for p in paths]
            nb_rel = None
            if notebook is not None:
                nb_abs = context.resolve_in_root(notebook)
                if not nb_abs.endswith(".ipynb"):
                    raise UsageError(f"{notebook} is not a notebook (.ipynb).")
                nb_rel = context.project().relpath(nb_abs)
            pins = pin(absolute, project=context.project(), note=note or None)
            return {"notebook": nb_rel, "pins": {p.path: p.to_record() for p in pins}}

        await self.respond(build)


class DataCheckoutHandler(_DataBase):
    """``POST data/checkout`` ``{"path", "force"?}``: restore the version ``mlnb.lock`` pins
    (verified first); without ``force`` unpinned local changes are refused."""

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = _body(self, '{"path", "force"}')
        path = _str_field(body, "path", "a pinned file or folder relative to the server root")
        force = body.get("force", False)
        if not isinstance(force, bool):
            raise UsageError("'force' must be true or false.")
        context = self.context

        def build() -> dict[str, Any]:
            from mlnb.data import checkout

            assert path is not None
            absolute = context.resolve_in_root(path)
            results = checkout(absolute, project=context.project(), force=force)
            return {"results": [
                {"path": r.path, "hash": r.hash, "restored": r.restored, "deleted": r.deleted,
                 "unchanged": r.unchanged} for r in results]}

        await self.respond(build)


class DataDiffHandler(_DataBase):
    """``GET data/diff?path=P``: the pinned version of P against the workspace: ``{path, old,
    new, kind, added, removed, modified}`` (file lists for folders)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        path = self.required_argument("path")
        context = self.context

        def build() -> dict[str, Any]:
            from mlnb.data import diff

            return diff(context.resolve_in_root(path), project=context.project()).to_dict()

        await self.respond(build)
