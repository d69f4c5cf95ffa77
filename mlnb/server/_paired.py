"""Paired notebooks in JupyterLab: jupytext's contents manager (saving a paired notebook writes
both files, opening one reads both) and a post-save hook that keeps mlnb's sync record current,
so a later ``mlnb sync`` knows both files were in step when Lab saved them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

__all__ = ["enable_paired_notebooks", "post_save"]

_log = logging.getLogger("mlnb.server")
_HOOKED = "_mlnb_post_save_hooked"


def _uses_jupytext(contents_manager: Any) -> bool:
    return hasattr(contents_manager, "formats")


def enable_paired_notebooks(serverapp: Any) -> bool:
    """Make the server's contents manager jupytext's (unless it already is) and hook mlnb's
    sync record to saves. Returns whether jupytext's contents manager is active."""
    if not _uses_jupytext(serverapp.contents_manager):
        try:
            from jupyterlab_jupytext import load_jupyter_server_extension
        except ImportError:  # jupytext not installed: the hook still writes the .py itself
            serverapp.log.warning("mlnb: jupytext is not installed; paired .py files are "
                                  "written on save by mlnb.sync only")
        else:
            load_jupyter_server_extension(serverapp)
    cm = serverapp.contents_manager
    if not getattr(cm, _HOOKED, False) and hasattr(cm, "register_post_save_hook"):
        cm.register_post_save_hook(post_save)
        setattr(cm, _HOOKED, True)
    return _uses_jupytext(cm)


def _paired_format(nb_path: Path) -> str | None:
    """The text member of the notebook's jupytext ``formats`` (``py:percent``), if paired."""
    from mlnb.sync._core import _text_format

    try:
        with open(nb_path, "rb") as f:
            md = json.loads(f.read()).get("metadata", {})
    except (OSError, ValueError, AttributeError):
        return None
    jt = md.get("jupytext") if isinstance(md, dict) else None
    return _text_format(jt.get("formats", "")) if isinstance(jt, dict) else None


def post_save(os_path: str, model: Any = None, contents_manager: Any = None, **_: Any) -> None:
    """After Lab saved one file of a pair, bring mlnb's record of the pair up to date.

    With jupytext's contents manager the notebook is written first and its text file last, so the
    record is taken after the text file (both files then agree and nothing is rewritten). Without
    it, saving the notebook lets mlnb.sync write the text file. Never fails a save: problems
    (a sync conflict, an unreadable file) are logged.
    """
    try:
        path = Path(os_path)
        if path.suffix == ".ipynb":
            if contents_manager is not None and _uses_jupytext(contents_manager):
                return
            nb_path = path
        else:
            nb_path = path.with_suffix(".ipynb")
            if not nb_path.is_file():
                return
        fmt = _paired_format(nb_path)
        if fmt is None:
            return
        text_path = nb_path.with_suffix("." + fmt.split(":", 1)[0].lstrip("."))
        if path.suffix != ".ipynb" and path != text_path:
            return  # a file that merely shares the notebook's name
        from mlnb.project import Project

        project = Project.discover(nb_path.parent)
        if not project.mlnb_dir.is_dir():
            return  # never create .mlnb/ just to remember a pair
        from mlnb.sync import SyncConflictError, sync_pair

        try:
            sync_pair(nb_path, project=project)
        except SyncConflictError as e:
            _log.warning("mlnb: %s", e)
    except Exception:  # a save must never fail because of the record
        _log.warning("mlnb: could not update the sync record after saving %s", os_path,
                     exc_info=True)
