"""manifest.py, read the way MicroPython's manifest tool reads it: a Python
file run with metadata(), include(), package() ... defined. Checks what it
names exists and agrees with the package's version."""

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def load_manifest():
    calls = []

    def record(name):
        return lambda *args, **kwargs: calls.append((name, args, kwargs))

    names = ("metadata", "include", "package", "module", "require", "freeze", "options")
    env = {name: record(name) for name in names}
    exec(compile((REPO / "manifest.py").read_text(), "manifest.py", "exec"), env)
    return calls


def test_manifest_freezes_the_package_from_lib():
    calls = load_manifest()
    packages = [c for c in calls if c[0] == "package"]
    assert packages == [("package", ("wizfi360",), {"base_path": "lib"})]
    # base_path is relative to the manifest's folder: the package is there.
    assert (REPO / "lib" / "wizfi360" / "__init__.py").is_file()


def test_manifest_keeps_the_ports_frozen_modules():
    calls = load_manifest()
    assert ("include", ("$(PORT_DIR)/boards/manifest.py",), {}) in calls


def test_manifest_version_matches_the_package():
    (meta,) = [c for c in load_manifest() if c[0] == "metadata"]
    init = (REPO / "lib" / "wizfi360" / "__init__.py").read_text()
    version = re.search(r'__version__ = "([^"]+)"', init).group(1)
    assert meta[2]["version"] == version
    assert json.loads((REPO / "package.json").read_text())["version"] == version


def test_manifest_declares_the_licence_of_LICENSE():
    (meta,) = [c for c in load_manifest() if c[0] == "metadata"]
    assert meta[2]["license"] == "MIT"
    assert (REPO / "LICENSE").read_text().startswith("MIT License\n")
