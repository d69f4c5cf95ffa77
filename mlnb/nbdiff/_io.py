"""Read and write notebooks as plain JSON (no nbformat: importing it costs about a second).

Notebooks are held as plain dicts with multi-line strings joined (``source``, stream ``text``,
text mime data), the way nbformat holds them in memory. :func:`dumps` writes them back the way
nbformat does (indent 1, sorted keys, strings split into lines) so git sees small diffs.
"""

from __future__ import annotations

import json
import os
from typing import Any

from mlnb.errors import UsageError

__all__ = ["NotebookReadError", "read_notebook", "loads", "dumps", "write_notebook", "empty_notebook"]

_SPLIT_MIMES = {"application/javascript", "image/svg+xml"}


class NotebookReadError(UsageError):
    """A file is not a notebook mlnb can read (missing, not JSON, not nbformat 4)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path, self.reason = path, reason
        super().__init__(f"Cannot read notebook {path}: {reason}")


def empty_notebook() -> dict[str, Any]:
    return {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _join(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(x, str) for x in value):
        return "".join(value)
    return value


def _normalize(nb: Any, name: str) -> dict[str, Any]:
    if not isinstance(nb, dict):
        raise NotebookReadError(name, "the JSON top level is not an object.")
    if "worksheets" in nb or nb.get("nbformat", 4) < 4:
        raise NotebookReadError(
            name, "it is nbformat 3 or older; convert it with "
            "`jupyter nbconvert --to notebook --nbformat 4`.")
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise NotebookReadError(name, "it has no 'cells' list (is it a notebook?).")
    nb.setdefault("metadata", {})
    nb.setdefault("nbformat", 4)
    nb.setdefault("nbformat_minor", 5)
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise NotebookReadError(name, f"cell {i} is not an object with a 'cell_type'.")
        src = _join(cell.get("source", ""))
        if not isinstance(src, str):
            raise NotebookReadError(name, f"cell {i} has a source that is not text.")
        cell["source"] = src
        if not isinstance(cell.get("metadata"), dict):
            cell["metadata"] = {}
        if cell["cell_type"] == "code":
            outputs = cell.get("outputs")
            if not isinstance(outputs, list):
                outputs = []
            cell["outputs"] = outputs
            cell.setdefault("execution_count", None)
            for out in outputs:
                if not isinstance(out, dict):
                    raise NotebookReadError(name, f"an output of cell {i} is not an object.")
                if "text" in out:
                    out["text"] = _join(out["text"])
                data = out.get("data")
                if isinstance(data, dict):
                    for k, v in data.items():
                        if not (k.endswith("json")):
                            data[k] = _join(v)
        if isinstance(cell.get("attachments"), dict):
            for att in cell["attachments"].values():
                if isinstance(att, dict):
                    for k, v in att.items():
                        att[k] = _join(v)
    return nb


def loads(text: str | bytes, name: str = "<notebook>", allow_empty: bool = False) -> dict[str, Any]:
    """Parse notebook JSON; ``allow_empty`` reads an empty file as an empty notebook (git's
    /dev/null side of an added or deleted file)."""
    if allow_empty and not (text.strip() if text else text):
        return empty_notebook()
    try:
        nb = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise NotebookReadError(name, f"it is not valid JSON ({e}).") from None
    return _normalize(nb, name)


def read_notebook(path: str | os.PathLike[str], allow_empty: bool = False) -> dict[str, Any]:
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise NotebookReadError(name, "no such file.") from None
    except OSError as e:
        raise NotebookReadError(name, e.strerror or str(e)) from None
    return loads(data, name, allow_empty=allow_empty or name == os.devnull)


def _split(s: Any) -> Any:
    return s.splitlines(True) if isinstance(s, str) else s


def _split_lines(nb: dict[str, Any]) -> dict[str, Any]:
    out_nb = dict(nb)
    cells = []
    for cell in nb.get("cells", []):
        c = dict(cell)
        c["source"] = _split(c.get("source", ""))
        if "outputs" in c:
            outs = []
            for o in c["outputs"]:
                o = dict(o)
                if "text" in o:
                    o["text"] = _split(o["text"])
                if isinstance(o.get("data"), dict):
                    o["data"] = {k: (_split(v) if (k.startswith("text/") or k in _SPLIT_MIMES) else v)
                                 for k, v in o["data"].items()}
                outs.append(o)
            c["outputs"] = outs
        cells.append(c)
    out_nb["cells"] = cells
    return out_nb


def dumps(nb: dict[str, Any]) -> str:
    """Serialize the way nbformat does: indent 1, sorted keys, lines split, trailing newline."""
    return json.dumps(_split_lines(nb), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def write_notebook(nb: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write atomically (temp file + rename) so a crash never leaves half a notebook."""
    path = os.fspath(path)
    tmp = f"{path}.mlnb-tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write(dumps(nb))
    os.replace(tmp, path)
