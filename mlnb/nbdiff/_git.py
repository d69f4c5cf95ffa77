"""Git plumbing for ``mlnb diff`` revisions and the diff/merge drivers (``mlnb git install``).

Drivers run as ``<python> -m mlnb.nbdiff._driver``: no click, no nbformat, so git pays well
under 0.3 s per notebook.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from mlnb.errors import UsageError

__all__ = ["GitError", "git", "repo_root", "is_revision", "show_file", "changed_notebooks",
           "install", "uninstall", "DRIVER", "ATTRIBUTES_LINE", "rev_commit"]

DRIVER = "mlnb"
ATTRIBUTES_LINE = f"*.ipynb diff={DRIVER} merge={DRIVER}"


class GitError(UsageError):
    def __init__(self, message: str, command: list[str] | None = None) -> None:
        self.command = command
        super().__init__(message)


def git(*args: str, cwd: str | os.PathLike[str] | None = None, check: bool = True,
        input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    try:
        p = subprocess.run(["git", *args], cwd=cwd, capture_output=True, input=input)
    except FileNotFoundError:
        raise GitError("git is not installed or not on PATH.") from None
    if check and p.returncode != 0:
        msg = p.stderr.decode(errors="replace").strip().splitlines()
        raise GitError(f"git {' '.join(args)} failed: {msg[-1] if msg else p.returncode}",
                       ["git", *args])
    return p


def repo_root(cwd: str | os.PathLike[str] | None = None) -> Path:
    p = git("rev-parse", "--show-toplevel", cwd=cwd, check=False)
    if p.returncode != 0:
        raise GitError(f"{os.path.abspath(cwd or '.')} is not inside a git repository; "
                       "run `git init` or give two notebook files.")
    return Path(p.stdout.decode().strip())


def is_revision(rev: str, cwd: str | os.PathLike[str] | None = None) -> bool:
    return git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=cwd,
               check=False).returncode == 0


def rev_commit(rev: str, cwd: str | os.PathLike[str] | None = None) -> str:
    return git("rev-parse", "--verify", f"{rev}^{{commit}}", cwd=cwd).stdout.decode().strip()


def show_file(rev: str, path: str, cwd: str | os.PathLike[str] | None = None) -> bytes | None:
    """Content of ``path`` (relative to ``cwd``) at ``rev``; ``None`` when it does not exist
    there."""
    p = git("show", f"{rev}:./{path}", cwd=cwd, check=False)
    if p.returncode != 0:
        return None
    return p.stdout


def changed_notebooks(rev_a: str, rev_b: str | None, cwd: str | os.PathLike[str] | None = None
                      ) -> list[str]:
    """Notebooks (paths relative to ``cwd``) that differ between two revisions, or between a
    revision and the working tree."""
    args = ["diff", "--name-only", "--relative", "--no-ext-diff", rev_a]
    if rev_b:
        args.append(rev_b)
    args += ["--", "*.ipynb"]
    out = git(*args, cwd=cwd).stdout.decode()
    return [line for line in out.splitlines() if line]


# -- drivers -------------------------------------------------------------------------------
def _driver_command(kind: str) -> str:
    exe = shlex.quote(sys.executable)
    if kind == "diff":
        return f"{exe} -m mlnb.nbdiff._driver diff"
    return f"{exe} -m mlnb.nbdiff._driver merge %O %A %B %L %P"


def _attributes_file(global_: bool, cwd: str | os.PathLike[str] | None) -> Path:
    if global_:
        p = git("config", "--global", "--get", "core.attributesFile", cwd=cwd, check=False)
        configured = p.stdout.decode().strip()
        if configured:
            return Path(os.path.expanduser(configured))
        xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
        return Path(xdg) / "git" / "attributes"
    root = repo_root(cwd)
    rel = git("rev-parse", "--git-path", "info/attributes", cwd=root).stdout.decode().strip()
    return (root / rel) if not os.path.isabs(rel) else Path(rel)


def install(global_: bool = False, cwd: str | os.PathLike[str] | None = None) -> list[str]:
    """Configure mlnb as git's diff and merge driver for ``*.ipynb``; return what changed."""
    scope = "--global" if global_ else "--local"
    if not global_:
        repo_root(cwd)
    done = []
    for key, value in (
        (f"diff.{DRIVER}.command", _driver_command("diff")),
        (f"merge.{DRIVER}.driver", _driver_command("merge")),
        (f"merge.{DRIVER}.name", "mlnb notebook merge driver"),
    ):
        git("config", scope, key, value, cwd=cwd)
        done.append(f"git config {scope} {key} {value!r}")
    attrs = _attributes_file(global_, cwd)
    attrs.parent.mkdir(parents=True, exist_ok=True)
    lines = attrs.read_text(encoding="utf-8").splitlines() if attrs.exists() else []
    if ATTRIBUTES_LINE not in lines:
        attrs.write_text("\n".join([*lines, ATTRIBUTES_LINE]) + "\n", encoding="utf-8")
        done.append(f"added {ATTRIBUTES_LINE!r} to {attrs}")
    return done


def uninstall(global_: bool = False, cwd: str | os.PathLike[str] | None = None) -> list[str]:
    scope = "--global" if global_ else "--local"
    if not global_:
        repo_root(cwd)
    done = []
    for section in (f"diff.{DRIVER}", f"merge.{DRIVER}"):
        if git("config", scope, "--remove-section", section, cwd=cwd, check=False).returncode == 0:
            done.append(f"removed git config {scope} [{section}]")
    attrs = _attributes_file(global_, cwd)
    if attrs.exists():
        lines = attrs.read_text(encoding="utf-8").splitlines()
        kept = [line for line in lines if line.strip() != ATTRIBUTES_LINE]
        if kept != lines:
            attrs.write_text("\n".join(kept) + ("\n" if kept else ""), encoding="utf-8")
            done.append(f"removed {ATTRIBUTES_LINE!r} from {attrs}")
    return done
