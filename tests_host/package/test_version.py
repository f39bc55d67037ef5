"""One version in one place: lib/wizfi360/__init__.py's __version__. package.json
(tools/gen_package_json.py), manifest.py and the newest release in CHANGELOG.md
must name the same one."""

import json
import re

import gen_package_json
from test_manifest import manifest_metadata

# "## [0.1.0] - 2026-12-04": a released section of CHANGELOG.md (Keep a Changelog).
RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", re.M)


def package_version(repo_root):
    init = (repo_root / "lib" / "wizfi360" / "__init__.py").read_text()
    (version,) = re.findall(r'^__version__ = "([^"]+)"$', init, re.M)
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version
    return version


def test_package_json_has_the_package_version(repo_root):
    data = json.loads((repo_root / "package.json").read_text())
    assert data["version"] == package_version(repo_root), "run `make package-json`"


def test_manifest_has_the_package_version(repo_root):
    assert manifest_metadata()["version"] == package_version(repo_root)


def test_changelog_newest_release_is_the_package_version(repo_root):
    text = (repo_root / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## .*$", text, re.M)
    assert headings[0] == "## [Unreleased]", headings[:1]
    releases = RELEASE.findall(text)
    assert releases, "no released section (## [X.Y.Z] - YYYY-MM-DD) in CHANGELOG.md"
    assert releases[0] == package_version(repo_root)
    # Newest first, each version once.
    as_tuples = [tuple(map(int, v.split("."))) for v in releases]
    assert as_tuples == sorted(set(as_tuples), reverse=True), releases


def test_gen_package_json_takes_the_version_from_the_package(repo_root, tmp_path):
    assert gen_package_json.package_version() == package_version(repo_root)
    # From __init__.py, whatever package.json says.
    (tmp_path / "lib" / "wizfi360").mkdir(parents=True)
    (tmp_path / "lib" / "wizfi360" / "__init__.py").write_text('x = 1\n__version__ = "9.8.7"\n')
    (tmp_path / "package.json").write_text('{"urls": [], "version": "0.1.0"}\n')
    assert gen_package_json.package_version(tmp_path) == "9.8.7"


def test_package_json_is_what_gen_package_json_writes(repo_root):
    assert gen_package_json.main(["--check"]) == 0, "run `make package-json`"
