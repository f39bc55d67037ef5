"""Running the sensor firmware (main.py) on the MicroPython unix port, for the tests.

Shared by test_firmware.py and test_mqtt.py: the firmware runs as
`micropython main.py` against the WizFi360 emulator, with its config written
to a temporary file named by WIZFI_CONFIG. The fixtures `micropython` and
`emulator` (and `sink`) are used by importing them into a test module.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# micropython-lib's umqtt.simple from PyPI (requirements-mplib.txt), put there by `make mplib`
MPLIB = REPO / "build" / "mplib"
SSID = "WizFiTest"
KEY = "wizfi360pass"

for _p in (REPO / "tools", REPO / "tests_host"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))


def find_micropython():
    venv = REPO / ".venv" / "bin" / "micropython"
    if venv.is_file() and os.access(venv, os.X_OK):
        return str(venv)
    return shutil.which("micropython")


@pytest.fixture(scope="module")
def micropython():
    """The unix port binary; skips the test when there is none."""
    path = find_micropython()
    if path is None:
        pytest.skip("no micropython binary (.venv/bin/micropython or on PATH)")
    return path


@pytest.fixture
def sink():
    """tools/httpsink.py's sink of readings, on a free port."""
    from httpsink import HttpSink

    s = HttpSink(port=0, quiet=True).start()
    yield s
    s.stop()


@pytest.fixture
def emulator():
    """A fresh emulator with the test access point."""
    emu = start_emulator()
    yield emu
    emu.stop()


def start_emulator(**kw):
    from wizfi360_emu import AccessPoint, Emulator

    kw.setdefault("aps", [AccessPoint(SSID, KEY)])
    kw.setdefault("dns_map", {"sink.test": "127.0.0.1", "broker.test": "127.0.0.1"})
    return Emulator(tcp_port=0, **kw).start()


def config_for(emu, endpoint=None, **extra):
    cfg = {
        "ssid": SSID,
        "key": KEY,
        "interval_s": 0.2,
        "emulator": "127.0.0.1:%d" % emu.tcp_port,
        "readings": 3,
        "retry_max_s": 0.5,
    }
    if endpoint is not None:
        cfg["endpoint"] = endpoint
    cfg.update(extra)
    return cfg


def firmware_env(config_path, umqtt=False):
    env = dict(os.environ, WIZFI_CONFIG=str(config_path))
    env.pop("MICROPYPATH", None)
    if umqtt:
        if not (MPLIB / "umqtt" / "simple.py").is_file():
            raise RuntimeError("no umqtt.simple in %s: run `make mplib`" % MPLIB)
        env["MICROPYPATH"] = "%s:.frozen" % MPLIB
    return env


def write_config(folder, cfg):
    path = Path(folder) / "config.json"
    path.write_text(cfg if isinstance(cfg, str) else json.dumps(cfg))
    return path


def run(micropython, folder, cfg, umqtt=False, timeout=60, heap=None):
    """Run main.py to the end; return (exit status, output)."""
    cmd = [micropython] + (["-X", "heapsize=" + heap] if heap else []) + ["main.py"]
    proc = subprocess.run(
        cmd,
        cwd=str(REPO),
        env=firmware_env(write_config(folder, cfg), umqtt),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    out = proc.stdout + proc.stderr
    print(out)  # shown by pytest when a test fails
    return proc.returncode, out


def start(micropython, folder, cfg, umqtt=False):
    """Start main.py in the background (output on .stdout, merged)."""
    return subprocess.Popen(
        [micropython, "main.py"],
        cwd=str(REPO),
        env=firmware_env(write_config(folder, cfg), umqtt),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(proc, timeout=60):
    """Wait for a started firmware; return (exit status, output). Kills it on timeout."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print(out)
    return proc.returncode, out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_line(proc, text, timeout=30):
    """Read a started firmware's output up to a line containing text; return what was read."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError("no line with %r in:\n%s" % (text, "".join(seen)))


def run_interrupted(micropython, folder, cfg, after, interrupt, umqtt=False):
    """Start main.py, call interrupt() once a line containing `after` is out,
    let it finish; return (exit status, the whole output)."""
    proc = start(micropython, folder, cfg, umqtt)
    head = wait_for_line(proc, after)
    interrupt()
    rc, out = finish(proc)
    return rc, head + out
