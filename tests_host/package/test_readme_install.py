"""The README's install lines work as written: no placeholder to guess, and the
mip lines (the README's and docs/install.md's), run in a shell where REPO is set as
the quick start sets it, name the repository as mpremote's mip resolves it."""

import re
import subprocess

import pytest
from mpremote import mip

REPO = "https://github.com/someone/wizfi360"


def readme(repo_root):
    return (repo_root / "README.md").read_text()


def mip_lines(text):
    blocks = re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)
    lines = [line.split("  #")[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line.startswith(("GH=", ".venv/bin/mpremote mip install"))]


def test_no_placeholders_to_guess(repo_root):
    text = readme(repo_root)
    for placeholder in ("<owner>", "<the repository", "<branch or tag>"):
        assert placeholder not in text
    # REPO is filled in once, in the quick start, and cloned from.
    assert len(re.findall(r"^REPO=", text, re.M)) == 1
    assert 'git clone "$REPO" wizfi360' in text


def test_no_placeholders_in_the_install_page(repo_root):
    text = (repo_root / "docs" / "install.md").read_text()
    for placeholder in ("<owner>", "<the repository", "<branch or tag>"):
        assert placeholder not in text
    # It uses the README's REPO and sets none of its own.
    assert not re.findall(r"^REPO=", text, re.M)


@pytest.mark.parametrize("page", ["README.md", "docs/install.md"])
def test_mip_lines_expand_to_the_repository(repo_root, page):
    lines = mip_lines((repo_root / page).read_text())
    github = [line for line in lines if "github:" in line]
    assert len(github) >= 2, lines
    # Each line as the shell expands it; `echo` in place of mpremote.
    script = "REPO=%s\n" % REPO + "\n".join(
        line.replace(".venv/bin/mpremote mip install", "echo") for line in lines
    )
    out = subprocess.run(
        ["bash", "-c", script], cwd=repo_root, capture_output=True, text=True, check=True
    ).stdout.split()
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo_root, capture_output=True, text=True, check=True
    ).stdout.strip()
    raw = "https://raw.githubusercontent.com/someone/wizfi360/"
    for package in out:
        if package == "./package.json":
            assert (repo_root / package).is_file()
            continue
        # What `mpremote mip install` does with it: split off @version, find package.json.
        name, _, version = package.partition("@")
        assert name == "github:someone/wizfi360", package
        url = mip._rewrite_url(name + "/package.json", version or None)
        assert url == raw + (version or "HEAD") + "/package.json", url
        assert version in ("", "main", head), package
