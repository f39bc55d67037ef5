"""`make` alone lists the targets, one line each, and runs nothing."""

import os
import re
import subprocess


def phony_targets(repo_root):
    text = (repo_root / "Makefile").read_text()
    names = []
    for line in re.findall(r"^\.PHONY:(.*)$", text, re.M):
        names += line.split()
    return names


def test_make_alone_lists_every_target(repo_root):
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    run = subprocess.run(
        ["make", "--no-print-directory"], cwd=repo_root, env=env, capture_output=True, text=True, timeout=30
    )
    assert run.returncode == 0, run.stdout + run.stderr
    listed = re.findall(r"^  (\S+)  +\S", run.stdout, re.M)
    assert len(listed) == len(set(listed)), listed
    # Every target but `all` (an alias of test) has its line, and only targets are listed.
    assert sorted(listed) == sorted(t for t in phony_targets(repo_root) if t != "all"), run.stdout
