"""package.json is complete, and mip on the MicroPython unix port installs from it."""

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest


def present_modules(repo_root):
    lib = repo_root / "lib"
    return sorted(
        p.relative_to(lib).as_posix()
        for p in (lib / "wizfi360").rglob("*.py")
        if "__pycache__" not in p.parts
    )


def load_package_json(repo_root):
    return json.loads((repo_root / "package.json").read_text())


def micropython():
    sibling = Path(sys.executable).parent / "micropython"
    found = str(sibling) if sibling.exists() else shutil.which("micropython")
    assert found, "no micropython next to %s or on PATH (run through make)" % sys.executable
    return found


def test_package_json_lists_exactly_the_package_modules(repo_root):
    assert (repo_root / "lib" / "wizfi360" / "__init__.py").is_file()
    data = load_package_json(repo_root)
    assert re.fullmatch(r"\d+\.\d+\.\d+", data["version"])
    listed = [dest for dest, _ in data["urls"]]
    assert len(listed) == len(set(listed)), "duplicate entries in package.json"
    assert sorted(listed) == present_modules(repo_root), (
        "package.json is out of date: run `make package-json`"
    )
    for dest, src in data["urls"]:
        assert src == "lib/" + dest


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def repo_http_url(repo_root):
    """The repository served over HTTP on 127.0.0.1 (ephemeral port)."""
    handler = functools.partial(_QuietHandler, directory=str(repo_root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_mip_installs_package_and_it_imports(repo_root, repo_http_url, tmp_path):
    mp = micropython()
    target = tmp_path / "target"
    target.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "MICROPYPATH"}

    install = subprocess.run(
        [mp, "-m", "mip", "install", "--target", str(target), repo_http_url + "/package.json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    log = install.stdout + install.stderr
    assert install.returncode == 0, log
    assert "Done" in log and "not found" not in log.lower(), log

    modules = [dest for dest, _ in load_package_json(repo_root)["urls"]]
    for dest in modules:
        assert (target / dest).read_bytes() == (repo_root / "lib" / dest).read_bytes(), dest

    # Import every module of the installed copy (cwd is not the repo, so it must come from target).
    names = [m[:-3].replace("/", ".") for m in modules]
    names = [n[: -len(".__init__")] if n.endswith(".__init__") else n for n in names]
    code = "import %s\nimport wizfi360\nprint('imported', wizfi360.__file__)" % ", ".join(names)
    env["MICROPYPATH"] = os.pathsep.join([str(target), ".frozen"])
    run = subprocess.run([mp, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "imported " + str(target / "wizfi360") in run.stdout, run.stdout
