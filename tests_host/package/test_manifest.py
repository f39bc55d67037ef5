"""manifest.py, read the way MicroPython's manifest tool reads it: a Python
file run with metadata(), include(), package() ... defined. Checks what it
names exists and declares the licence (its version: test_version.py)."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def load_manifest():
    calls = []

    def record(name):
        return lambda *args, **kwargs: calls.append((name, args, kwargs))

    names = ("metadata", "include", "package", "module", "require", "freeze", "options")
    env = {name: record(name) for name in names}
    # The tool runs a manifest from its own folder (manifestfile.ManifestFile.include).
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        exec(compile((REPO / "manifest.py").read_text(), "manifest.py", "exec"), env)
    finally:
        os.chdir(cwd)
    return calls


def manifest_metadata():
    """The keyword arguments of manifest.py's one metadata() call."""
    (meta,) = [c for c in load_manifest() if c[0] == "metadata"]
    return meta[2]


def test_manifest_freezes_the_package_from_lib():
    calls = load_manifest()
    packages = [c for c in calls if c[0] == "package"]
    assert packages == [("package", ("wizfi360",), {"base_path": "lib"})]
    # base_path is relative to the manifest's folder: the package is there.
    assert (REPO / "lib" / "wizfi360" / "__init__.py").is_file()


def test_manifest_keeps_the_ports_frozen_modules():
    calls = load_manifest()
    assert ("include", ("$(PORT_DIR)/boards/manifest.py",), {}) in calls


def test_manifest_declares_the_licence_of_LICENSE():
    assert manifest_metadata()["license"] == "MIT"
    assert (REPO / "LICENSE").read_text().startswith("MIT License\n")
