"""Notebook files as plain JSON: read, prepare (ids, injected parameters, error markers), write.

We read and write ``.ipynb`` ourselves instead of through ``nbformat.read/write``: those validate
against the JSON schema, and importing the validator costs about a second; validating on every
save costs tens of milliseconds. The layout written is the one nbformat writes (indent 1, sorted
keys, multi-line strings split into lists), so diffs stay clean.
"""

from __future__ import annotations

import html
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from mlnb.execute._errors import ExecutionError, NotebookReadError
from mlnb.execute._parameters import INJECTED_TAG, PARAMETERS_TAG, injection_source

__all__ = ["read_notebook", "write_notebook", "dumps_notebook", "inject_parameters", "add_error_markers"]

ERROR_TAG = "mlnb-error"
_OLD_ERROR_TAGS = (ERROR_TAG, "papermill-error-cell-tag")
ERROR_ANCHOR = "mlnb-error-cell"
_STYLE = 'style="color:red; font-family:Helvetica Neue, Helvetica, Arial, sans-serif; font-size:2em;"'


def new_cell_id() -> str:
    return secrets.token_hex(4)


def _join(value: Any) -> Any:
    return "".join(value) if isinstance(value, list) else value


def _rejoin_lines(nb: dict[str, Any]) -> None:
    """Multi-line strings stored as lists of lines become strings (what nbformat does on read)."""
    for cell in nb.get("cells", []):
        if "source" in cell:
            cell["source"] = _join(cell["source"])
        for out in cell.get("outputs", []) or []:
            if "text" in out:
                out["text"] = _join(out["text"])
            data = out.get("data")
            if isinstance(data, dict):
                for key, value in data.items():
                    if not _is_json_mime(key):
                        data[key] = _join(value)
        for att in (cell.get("attachments") or {}).values():
            if isinstance(att, dict):
                for key, value in att.items():
                    att[key] = _join(value)


def _ensure_cell_ids(nb: dict[str, Any]) -> None:
    """Give every cell a unique id (nbformat 4.5) so runs can name cells."""
    seen: set[str] = set()
    for cell in nb["cells"]:
        cid = cell.get("id")
        if not isinstance(cid, str) or not cid or cid in seen:
            cid = new_cell_id()
            while cid in seen:
                cid = new_cell_id()
            cell["id"] = cid
        seen.add(cid)
    if nb.get("nbformat_minor", 0) < 5:
        nb["nbformat_minor"] = 5


def read_notebook(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read an ``.ipynb`` file as a plain dict (v4, cell ids ensured); NotebookReadError if unusable."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotebookReadError(str(path), "no such file") from None
    except IsADirectoryError:
        raise NotebookReadError(str(path), "it is a directory") from None
    except (OSError, UnicodeDecodeError) as e:
        raise NotebookReadError(str(path), str(e)) from None
    return parse_notebook(text, str(path))


def parse_notebook(text: str, name: str = "<notebook>") -> dict[str, Any]:
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as e:
        raise NotebookReadError(name, f"not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    if not isinstance(nb, dict) or "nbformat" not in nb:
        raise NotebookReadError(name, "not a Jupyter notebook (no 'nbformat' field)")
    major = nb.get("nbformat")
    if major != 4:
        if major == 3:
            import nbformat  # slow import, only for old notebooks

            nb = json.loads(json.dumps(nbformat.convert(nbformat.reads(text, as_version=3), 4)))
        else:
            raise NotebookReadError(name, f"nbformat {major} is not supported (expected 4)")
    cells = nb.get("cells")
    if not isinstance(cells, list) or not all(isinstance(c, dict) and "cell_type" in c for c in cells):
        raise NotebookReadError(name, "'cells' must be a list of cells, each with a 'cell_type'")
    nb.setdefault("metadata", {})
    nb.setdefault("nbformat_minor", 0)
    for cell in cells:
        cell.setdefault("metadata", {})
        cell.setdefault("source", "")
        if cell["cell_type"] == "code":
            cell.setdefault("outputs", [])
            cell.setdefault("execution_count", None)
    _rejoin_lines(nb)
    _ensure_cell_ids(nb)
    return nb


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------


def _split(value: Any) -> Any:
    return value.splitlines(True) if isinstance(value, str) else value


def _is_json_mime(key: str) -> bool:
    return key == "application/json" or (key.startswith("application/") and key.endswith("+json"))


def _disk_cell(cell: dict[str, Any]) -> dict[str, Any]:
    out = dict(cell)
    if "source" in out:
        out["source"] = _split(out["source"])
    if out.get("outputs"):
        outputs = []
        for o in out["outputs"]:
            o = dict(o)
            if "text" in o:
                o["text"] = _split(o["text"])
            data = o.get("data")
            if isinstance(data, dict):
                o["data"] = {
                    k: (v if _is_json_mime(k) else _split(v))
                    for k, v in data.items()
                }
            o.pop("transient", None)
            outputs.append(o)
        out["outputs"] = outputs
    return out


def _default(obj: Any) -> Any:
    if isinstance(obj, bytes):
        return obj.decode("ascii")
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def dumps_notebook(nb: dict[str, Any]) -> str:
    """The notebook as nbformat lays it out on disk (no deep copy of the whole notebook)."""
    disk = dict(nb)
    disk["cells"] = [_disk_cell(c) for c in nb.get("cells", [])]
    return (
        json.dumps(disk, indent=1, sort_keys=True, separators=(",", ": "), ensure_ascii=False, default=_default)
        + "\n"
    )


def write_notebook(nb: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write atomically (temp file + rename) so a reader never sees half a notebook."""
    p = Path(path)
    text = dumps_notebook(nb)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# --------------------------------------------------------------------------------------------
# Preparing
# --------------------------------------------------------------------------------------------


def _tags(cell: dict[str, Any]) -> list[str]:
    tags = cell.get("metadata", {}).get("tags") or []
    return tags if isinstance(tags, list) else []


def inject_parameters(nb: dict[str, Any], values: dict[str, Any]) -> int:
    """Insert (or replace) the ``injected-parameters`` cell; return its index.

    Papermill's placement: an old injected cell is replaced where it stands; else the new cell goes
    right after the cell tagged ``parameters``; else at the top.
    """
    cells = nb["cells"]
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": new_cell_id(),
        "metadata": {"tags": [INJECTED_TAG]},
        "outputs": [],
        "source": injection_source(values),
    }
    injected = [i for i, c in enumerate(cells) if INJECTED_TAG in _tags(c)]
    if injected:
        index = injected[0]
        cells[index] = cell
        for i in reversed(injected[1:]):
            del cells[i]
        return index
    params = next((i for i, c in enumerate(cells) if PARAMETERS_TAG in _tags(c)), None)
    index = 0 if params is None else params + 1
    cells.insert(index, cell)
    return index


def remove_error_markers(nb: dict[str, Any]) -> None:
    """Drop error banners left by an earlier mlnb or papermill run of this notebook."""
    nb["cells"] = [c for c in nb["cells"] if not any(t in _tags(c) for t in _OLD_ERROR_TAGS)]


def clear_outputs(nb: dict[str, Any]) -> None:
    for cell in nb["cells"]:
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None


def add_error_markers(nb: dict[str, Any], error: ExecutionError) -> None:
    """Papermill's convention: a red banner at the top linking to an anchor just above the failing
    cell, so the failure is the first thing a reader of the output notebook sees."""
    index = error.cell_index
    label = f"In [{error.execution_count}]" if error.execution_count is not None else (
        f"cell {index + 1}" if index is not None else "start-up"
    )
    summary = html.escape(f"{error.ename}: {error.evalue}")
    top = {
        "cell_type": "markdown",
        "id": new_cell_id(),
        "metadata": {"tags": [ERROR_TAG]},
        "source": (
            f"<span {_STYLE}>An Exception was encountered at "
            f"'<a href=\"#{ERROR_ANCHOR}\">{label}</a>'.</span>\n\n"
            f"<pre>{summary}</pre>"
        ),
    }
    if index is not None:
        anchor = {
            "cell_type": "markdown",
            "id": new_cell_id(),
            "metadata": {"tags": [ERROR_TAG]},
            "source": (
                f'<span id="{ERROR_ANCHOR}" {_STYLE}>'
                "Execution using mlnb encountered an exception here and stopped:</span>"
            ),
        }
        nb["cells"].insert(index, anchor)
    nb["cells"].insert(0, top)
