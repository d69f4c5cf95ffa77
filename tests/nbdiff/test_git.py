"""Git integration in a real temporary repository: revisions, the drivers, install/uninstall."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner

from mlnb.cli import cli
from tests.nbdiff.conftest import code, git, md, nb, stream, write


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def commit_nb(repo: Path, notebook: dict, msg: str, name: str = "train.ipynb") -> None:
    write(repo / name, notebook)
    git(repo, "add", name)
    git(repo, "commit", "-qm", msg)


def test_diff_of_revisions_and_working_tree(git_repo: Path) -> None:
    v1 = nb(md("# T", id="m"), code("lr = 0.1", [stream("a\n")], id="p"))
    v2 = nb(md("# T", id="m"), code("lr = 0.2", [stream("b\n")], id="p"))
    commit_nb(git_repo, v1, "v1")
    commit_nb(git_repo, v2, "v2")
    r = invoke("diff", "HEAD~1", "HEAD", "train.ipynb", "--color=never")
    assert r.exit_code == 0
    assert "-lr = 0.1" in r.output and "+lr = 0.2" in r.output and "HEAD~1:train.ipynb" in r.output
    # no revision: HEAD vs working tree, every changed notebook
    write(git_repo / "train.ipynb", nb(md("# T", id="m"), code("lr = 0.3", id="p")))
    r = invoke("diff", "--color=never")
    assert "+lr = 0.3" in r.output
    r = invoke("diff", "HEAD~1..HEAD", "--json")
    assert json.loads(r.output)[0]["key"] == "cells"
    assert invoke("diff", "--exit-code", "HEAD", "train.ipynb").exit_code == 1
    r = invoke("diff", "nosuchrev", "other.txt")
    assert r.exit_code == 2 and "neither a git revision nor a file" in r.output


def test_drivers_installed_diff_and_merge_with_conflict(git_repo: Path) -> None:
    r = invoke("git", "install")
    assert r.exit_code == 0, r.output
    attrs = (git_repo / ".git" / "info" / "attributes").read_text()
    assert "*.ipynb diff=mlnb merge=mlnb" in attrs
    base = nb(code("lr = 0.1", [stream("1\n")], id="p", ec=1),
              code("fit()", [stream("acc 0.9\n")], id="f", ec=2))
    commit_nb(git_repo, base, "base")
    # git diff goes through the driver
    changed = nb(code("lr = 0.5", [stream("1\n")], id="p", ec=1),
                 code("fit()", [stream("acc 0.9\n")], id="f", ec=2))
    write(git_repo / "train.ipynb", changed)
    out = git(git_repo, "diff").stdout
    assert "mlnb diff a/train.ipynb b/train.ipynb" in out and "+lr = 0.5" in out
    assert '"source"' not in out  # no raw JSON
    git(git_repo, "checkout", "train.ipynb")
    # branches: both re-run everything (never a conflict) and edit the same line (a conflict)
    git(git_repo, "checkout", "-qb", "feature")
    commit_nb(git_repo, nb(code("lr = 0.2", [stream("F\n")], id="p", ec=5),
                           code("fit()", [stream("acc 0.7\n")], id="f", ec=6)), "feature")
    git(git_repo, "checkout", "-q", "main")
    commit_nb(git_repo, nb(code("lr = 0.3", [stream("M\n")], id="p", ec=7),
                           code("fit()", [stream("acc 0.8\n")], id="f", ec=8)), "main")
    m = git(git_repo, "merge", "feature", check=False)
    assert m.returncode != 0
    merged = json.loads((git_repo / "train.ipynb").read_text())  # still a valid notebook
    src = "".join(merged["cells"][0]["source"])
    assert "<<<<<<< local\nlr = 0.3\n=======\nlr = 0.2\n>>>>>>> remote" in src
    assert "".join(merged["cells"][1]["outputs"][0]["text"]) == "acc 0.8\n"  # no output conflict
    assert "source conflict" in m.stderr
    git(git_repo, "merge", "--abort")
    # a merge where only outputs differ is clean
    git(git_repo, "checkout", "-qb", "rerun", "HEAD~1")
    commit_nb(git_repo, nb(code("lr = 0.1", [stream("R\n")], id="p", ec=3),
                           code("fit()", [stream("acc 0.95\n")], id="f", ec=4)), "rerun")
    git(git_repo, "checkout", "-q", "main")
    assert git(git_repo, "merge", "-q", "--no-edit", "rerun", check=False).returncode == 0
    r = invoke("git", "uninstall")
    assert "removed" in r.output
    assert "mlnb" not in (git_repo / ".git" / "info" / "attributes").read_text()
    assert "mlnb" not in git(git_repo, "config", "--list", "--local").stdout


def test_global_install_and_outside_a_repo(git_repo: Path, tmp_path: Path, monkeypatch) -> None:
    r = invoke("git", "install", "--global")
    assert r.exit_code == 0
    home = Path(git(git_repo, "config", "--global", "--get", "diff.mlnb.command").stdout.strip())
    assert "mlnb.nbdiff._driver" in str(home)
    attrs = tmp_path / "home" / ".config" / "git" / "attributes"
    assert "*.ipynb diff=mlnb merge=mlnb" in attrs.read_text()
    assert "removed" in invoke("git", "uninstall", "--global").output
    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    r = invoke("git", "install")
    assert r.exit_code == 2 and "not inside a git repository" in r.output


def test_driver_falls_back_on_malformed_notebooks(tmp_path: Path) -> None:
    base, local, remote = (tmp_path / n for n in ("b.ipynb", "l.ipynb", "r.ipynb"))
    base.write_text("not json\n")
    local.write_text("not json\nlocal\n")
    remote.write_text("not json\n")
    p = subprocess.run([sys.executable, "-m", "mlnb.nbdiff._driver", "merge", str(base),
                        str(local), str(remote), "7", "x.ipynb"], capture_output=True, text=True)
    assert p.returncode == 0 and "text merge" in p.stderr
    assert local.read_text() == "not json\nlocal\n"
    p = subprocess.run([sys.executable, "-m", "mlnb.nbdiff._driver", "diff", "x.ipynb",
                        str(base), "0", "100644", str(local), "0", "100644"],
                       capture_output=True, text=True)
    assert p.returncode == 0 and "+local" in p.stdout


def test_driver_startup_is_measured(tmp_path: Path) -> None:
    """Start-up of the driver (the issue's budget: 0.3 s). Printed, not asserted."""
    a = write(tmp_path / "a.ipynb", nb(code("x = 1", id="a")))
    b = write(tmp_path / "b.ipynb", nb(code("x = 2", id="a")))
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "mlnb.nbdiff._driver", "diff", "a.ipynb", str(a),
                        "0", "100644", str(b), "0", "100644"], capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    print(f"driver diff start-up + run: {elapsed:.3f}s")
    assert p.returncode == 0 and "+x = 2" in p.stdout
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, mlnb.nbdiff._driver, mlnb.nbdiff; "
         "print(sorted(m for m in ('nbformat', 'click', 'rich', 'jsonschema', 'nbdime') "
         "if m in sys.modules))"], capture_output=True, text=True).stdout.strip()
    assert imported == "[]"
