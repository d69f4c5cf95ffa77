"""Project: the one object that knows where mlnb keeps things (root, config, store, caches)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from mlnb.errors import PathOutsideRootError, ProjectError

__all__ = ["Project"]

_MARKERS = (".mlnb", "mlnb.yaml")


def _has_tool_table(pyproject: Path) -> bool:
    try:
        text = pyproject.read_text(encoding="utf-8")
    except OSError:
        return False
    return "[tool.mlnb]" in text


class Project:
    """A project folder: the nearest folder upward holding ``.mlnb/``, ``mlnb.yaml`` or a
    ``[tool.mlnb]`` table. ``MLNB_PROJECT`` overrides discovery; with no marker found,
    ``MLNB_DEFAULT_PROJECT`` (set by the server extension for its kernels) is used, else the
    start folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(os.path.realpath(root))
        self._config: dict[str, Any] | None = None

    # -- discovery -------------------------------------------------------------------
    @classmethod
    def discover(cls, start: str | os.PathLike[str] | None = None) -> Project:
        env = os.environ.get("MLNB_PROJECT")
        if env:
            return cls(env)
        here = Path(os.path.realpath(start if start is not None else os.getcwd()))
        if here.is_file():
            here = here.parent
        for folder in (here, *here.parents):
            if any((folder / m).exists() for m in _MARKERS):
                return cls(folder)
            pyproject = folder / "pyproject.toml"
            if pyproject.is_file() and _has_tool_table(pyproject):
                return cls(folder)
        default = os.environ.get("MLNB_DEFAULT_PROJECT")
        if default:
            return cls(default)
        return cls(here)

    # -- locations --------------------------------------------------------------------
    @property
    def mlnb_dir(self) -> Path:
        return self.root / ".mlnb"

    @property
    def artifacts_dir(self) -> Path:
        return self.mlnb_dir / "artifacts"

    @property
    def objects_dir(self) -> Path:
        return self.mlnb_dir / "objects"

    @property
    def config_path(self) -> Path:
        return self.mlnb_dir / "config.toml"

    @property
    def store_url(self) -> str:
        env = os.environ.get("MLNB_STORE_URL")
        if env:
            return env
        url = self.config.get("store", {}).get("url")
        if url:
            return str(url)
        return f"sqlite:///{self.mlnb_dir / 'mlnb.db'}"

    @property
    def config(self) -> dict[str, Any]:
        if self._config is None:
            self._config = self._read_config()
        return self._config

    def _read_config(self) -> dict[str, Any]:
        path = self.config_path
        if not path.is_file():
            return {}
        try:
            import tomllib  # type: ignore[import-not-found]
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            with path.open("rb") as f:
                return tomllib.load(f)
        except (OSError, ValueError) as e:
            raise ProjectError(f"Cannot read {path}: {e}. Fix the TOML or delete the file.") from e

    def ensure(self) -> list[Path]:
        """Create ``.mlnb/`` and its folders; return what was newly created."""
        created = []
        for d in (self.mlnb_dir, self.artifacts_dir):
            if not d.is_dir():
                try:
                    d.mkdir(parents=True, exist_ok=True)
                except OSError as e:
                    raise ProjectError(f"Cannot create {d}: {e}.") from e
                created.append(d)
        gitignore = self.mlnb_dir / ".gitignore"
        if not gitignore.exists():
            gitignore.write_text("# mlnb's local store and caches\n*\n!.gitignore\n!config.toml\n")
            created.append(gitignore)
        return created

    # -- paths ------------------------------------------------------------------------
    def relpath(self, path: str | os.PathLike[str]) -> str:
        """Posix path relative to the root when inside it, else the absolute posix path."""
        p = Path(os.path.realpath(os.path.join(self.root, path)))
        try:
            return p.relative_to(self.root).as_posix()
        except ValueError:
            return p.as_posix()

    def resolve_inside(self, path: str | os.PathLike[str]) -> Path:
        """Resolve ``path`` (relative to the root) and refuse anything that leaves the root."""
        p = os.path.realpath(os.path.join(self.root, path))
        if os.path.commonpath([p, str(self.root)]) != str(self.root):
            raise PathOutsideRootError(str(path), str(self.root))
        return Path(p)

    def __repr__(self) -> str:
        return f"Project({str(self.root)!r})"
