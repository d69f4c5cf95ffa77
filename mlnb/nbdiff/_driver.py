"""Git drivers, run as ``python -m mlnb.nbdiff._driver diff|merge ...`` (see ``mlnb git install``).

Kept free of click, rich and nbformat so git's per-file start-up stays small.

- ``diff PATH OLD OLD-HEX OLD-MODE NEW NEW-HEX NEW-MODE`` (git's external diff protocol)
- ``merge BASE LOCAL REMOTE MARKER-SIZE PATH``: result written to LOCAL; exit 1 on conflict.
"""

from __future__ import annotations

import difflib
import os
import subprocess
import sys


def _color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    return bool(os.environ.get("GIT_PAGER_IN_USE")) or sys.stdout.isatty()


def diff_main(args: list[str]) -> int:
    from mlnb.nbdiff import NotebookReadError, compute_diff, read_notebook, render_terminal

    if len(args) < 7:  # unmerged path: git passes only the name
        print(f"* Unmerged path {args[0] if args else '?'}")
        return 0
    path, old, new = args[0], args[1], args[4]
    try:
        a = read_notebook(old, allow_empty=True)
        b = read_notebook(new, allow_empty=True)
    except NotebookReadError as e:
        print(f"mlnb: {e} (showing a text diff)", file=sys.stderr)
        with open(old, encoding="utf-8", errors="replace") as fa, \
                open(new, encoding="utf-8", errors="replace") as fb:
            sys.stdout.writelines(difflib.unified_diff(fa.readlines(), fb.readlines(),
                                                       f"a/{path}", f"b/{path}"))
        return 0
    old_name = "/dev/null" if old == os.devnull else f"a/{path}"
    new_name = "/dev/null" if new == os.devnull else f"b/{path}"
    sys.stdout.write(f"mlnb diff {old_name} {new_name}\n")
    sys.stdout.write(render_terminal(compute_diff(a, b), color=_color(),
                                     names=(old_name, new_name)))
    return 0


def merge_main(args: list[str]) -> int:
    from mlnb.nbdiff import NotebookReadError, merge_notebooks, read_notebook, write_notebook

    if len(args) < 3:
        print("usage: merge BASE LOCAL REMOTE [MARKER-SIZE [PATH]]", file=sys.stderr)
        return 2
    base, local, remote = args[:3]
    marker = int(args[3]) if len(args) > 3 and args[3].isdigit() else 7
    path = args[4] if len(args) > 4 else local
    try:
        nb_base = read_notebook(base, allow_empty=True)
        nb_local = read_notebook(local)
        nb_remote = read_notebook(remote)
    except NotebookReadError as e:
        print(f"mlnb: {e}; falling back to a text merge of {path}", file=sys.stderr)
        p = subprocess.run(["git", "merge-file", f"--marker-size={marker}", "-L", "local",
                            "-L", "base", "-L", "remote", local, base, remote])
        return 1 if p.returncode != 0 else 0
    result = merge_notebooks(nb_base, nb_local, nb_remote, marker_size=marker)
    write_notebook(result.notebook, local)
    for c in result.conflicts:
        print(f"mlnb: {path}: {c}", file=sys.stderr)
    if result.stale_cells:
        print(f"mlnb: {path}: cleared stale outputs of {len(result.stale_cells)} cell(s)",
              file=sys.stderr)
    return 1 if result.conflicts else 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in ("diff", "merge"):
        print("usage: python -m mlnb.nbdiff._driver diff|merge ...", file=sys.stderr)
        return 2
    return diff_main(argv[1:]) if argv[0] == "diff" else merge_main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
