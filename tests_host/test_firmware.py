"""End-to-end tests of the sensor firmware (main.py) on the MicroPython unix port.

The firmware runs as `micropython main.py` against the WizFi360 emulator,
posting to tools/httpsink.py, exactly as `make demo` does.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

from httpsink import HttpSink  # noqa: E402

SSID = "WizFiTest"
KEY = "wizfi360pass"


def find_micropython():
    venv = REPO / ".venv" / "bin" / "micropython"
    if venv.is_file() and os.access(venv, os.X_OK):
        return str(venv)
    return shutil.which("micropython")


@pytest.fixture(scope="module")
def micropython():
    path = find_micropython()
    if path is None:
        pytest.skip("no micropython binary (.venv/bin/micropython or on PATH)")
    return path


@pytest.fixture
def emulator():
    from wizfi360_emu import AccessPoint, Emulator

    emu = Emulator(aps=[AccessPoint(SSID, KEY)], tcp_port=0,
                   dns_map={"sink.test": "127.0.0.1"}).start()
    yield emu
    emu.stop()


@pytest.fixture
def sink():
    s = HttpSink(port=0, quiet=True).start()
    yield s
    s.stop()


@pytest.fixture
def run_firmware(micropython, tmp_path):
    """Run main.py with the given config (dict, or raw text); return (rc, output)."""
    def run(cfg, timeout=60):
        path = tmp_path / "config.json"
        path.write_text(cfg if isinstance(cfg, str) else json.dumps(cfg))
        env = dict(os.environ, WIZFI_CONFIG=str(path))
        proc = subprocess.run([micropython, "main.py"], cwd=str(REPO), env=env,
                              stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)
        out = proc.stdout + proc.stderr
        print(out)  # shown by pytest when a test fails
        return proc.returncode, out
    return run


def config_for(emu, endpoint, **extra):
    cfg = {"ssid": SSID, "key": KEY, "endpoint": endpoint, "interval_s": 0.2,
           "emulator": "127.0.0.1:%d" % emu.tcp_port, "readings": 3}
    cfg.update(extra)
    return cfg


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_three_readings_reach_the_sink(run_firmware, emulator, sink):
    rc, out = run_firmware(config_for(emulator, "http://sink.test:%d/readings" % sink.port))
    assert rc == 0
    assert "module found, firmware AT version:" in out
    assert "joined WizFiTest: ip 192.168.10.23" in out
    for seq in (1, 2, 3):
        assert "reading %d posted: " % seq in out
    assert "-> 200 OK" in out
    assert "done: 3 of 3 readings posted" in out
    assert "Traceback" not in out

    assert sink.wait_for(3, timeout=5)
    readings = sink.readings
    assert len(readings) == 3
    assert [r["seq"] for r in readings] == [1, 2, 3]
    for r in readings:
        assert set(r) == {"device", "seq", "temp_c", "uptime_ms"}
        assert r["device"] == "pico-1"
        assert isinstance(r["temp_c"], float) and 15.0 < r["temp_c"] < 30.0
        assert isinstance(r["uptime_ms"], int)
    ups = [r["uptime_ms"] for r in readings]
    # Readings are interval_s (200 ms) apart, give or take scheduling.
    assert ups[1] - ups[0] >= 150 and ups[2] - ups[1] >= 150


def test_many_readings_in_a_small_heap(micropython, tmp_path, emulator, sink):
    # 128 KB on the 64-bit unix port is well under the ~180 KB an RP2040
    # has free; a leak per reading would run out long before 50 posts.
    cfg = config_for(emulator, "http://sink.test:%d/" % sink.port, readings=50, interval_s=0.01)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    proc = subprocess.run([micropython, "-X", "heapsize=128k", "main.py"], cwd=str(REPO),
                          env=dict(os.environ, WIZFI_CONFIG=str(path)),
                          capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert "done: 50 of 50 readings posted" in out, out[-2000:]
    assert proc.returncode == 0
    assert len(sink.readings) == 50


def test_endpoint_by_ip_and_device_name(run_firmware, emulator, sink):
    cfg = config_for(emulator, "http://127.0.0.1:%d/x" % sink.port, readings=1, device="shed")
    rc, out = run_firmware(cfg)
    assert rc == 0
    assert sink.readings and sink.readings[0]["device"] == "shed"


@pytest.mark.parametrize("cfg, message", [
    ({"key": KEY, "endpoint": "http://sink.test/", "interval_s": 1},
     "config error: 'ssid' is missing"),
    ({"ssid": SSID, "endpoint": "http://sink.test/", "interval_s": 1},
     "config error: 'key' is missing"),
    ({"ssid": SSID, "key": KEY, "endpoint": "sink.test:8080/readings", "interval_s": 1},
     "config error: endpoint must look like http://host:port/path"),
    ({"ssid": SSID, "key": KEY, "endpoint": "ftp://sink.test/", "interval_s": 1},
     "config error: endpoint must look like http://host:port/path"),
    ({"ssid": SSID, "key": KEY, "endpoint": "https://sink.test/", "interval_s": 1},
     "config error: endpoint: https is not supported"),
    ({"ssid": SSID, "key": KEY, "endpoint": "http://sink.test:http/", "interval_s": 1},
     "config error: endpoint: port must be a number"),
    ({"ssid": SSID, "key": KEY, "endpoint": "http://:8080/", "interval_s": 1},
     "config error: endpoint: missing or bad host name"),
    ({"ssid": SSID, "key": KEY, "endpoint": "http://sink.test/", "interval_s": 0},
     "config error: 'interval_s' must be a number of seconds above 0"),
    ({"ssid": SSID, "key": KEY, "endpoint": "http://sink.test/", "interval_s": 1, "readings": 0},
     "config error: 'readings' must be a whole number above 0"),
    ({"ssid": SSID, "key": KEY, "endpoint": "http://sink.test/", "interval_s": 1,
      "uart": {"baud": 9600}},
     "config error: uart: unknown setting 'baud'"),
    ('{"ssid": "x",', "is not valid JSON"),
    ("[1, 2]", "config error: the config must be a JSON object"),
])
def test_bad_config_is_refused_clearly(run_firmware, cfg, message):
    rc, out = run_firmware(cfg)
    assert rc != 0
    assert message in out
    assert "Traceback" not in out


def test_missing_config_file(micropython, tmp_path):
    env = dict(os.environ, WIZFI_CONFIG=str(tmp_path / "nope.json"))
    proc = subprocess.run([micropython, "main.py"], cwd=str(REPO), env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode != 0
    assert "cannot read" in proc.stdout and "config.example.json" in proc.stdout


def test_wrong_password_is_reported_and_exits(run_firmware, emulator, sink):
    cfg = config_for(emulator, "http://sink.test:%d/" % sink.port, key="not-the-key")
    rc, out = run_firmware(cfg)
    assert rc != 0
    assert out.count("join failed:") == 3
    assert "giving up: could not join WizFiTest" in out
    assert sink.readings == []


def test_failed_posts_are_printed_and_the_loop_goes_on(run_firmware, emulator):
    cfg = config_for(emulator, "http://127.0.0.1:%d/" % free_port(), readings=2)
    rc, out = run_firmware(cfg)
    assert "reading 1 failed: " in out
    assert "reading 2 failed: " in out
    assert "done: 0 of 2 readings posted" in out
    assert rc == 1
    assert "Traceback" not in out


def test_rejoins_after_the_access_point_drops(micropython, tmp_path, emulator, sink):
    cfg = config_for(emulator, "http://sink.test:%d/" % sink.port, readings=4, interval_s=0.8)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(cfg))
    proc = subprocess.Popen([micropython, "main.py"], cwd=str(REPO),
                            env=dict(os.environ, WIZFI_CONFIG=str(path)),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        assert sink.wait_for(1, timeout=20)
        time.sleep(0.2)  # while the firmware waits for the next reading
        emulator.ap_drop()
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    print(out)
    assert "reading 2 failed: " in out
    assert "lost the network, joining again" in out
    assert "joined WizFiTest again" in out
    assert "reading 4 posted: " in out
    assert "done: 3 of 4 readings posted" in out
    assert proc.returncode == 1
    assert [r["seq"] for r in sink.readings] == [1, 3, 4]


def test_unreachable_emulator_is_explained(run_firmware):
    cfg = {"ssid": SSID, "key": KEY, "endpoint": "http://sink.test/", "interval_s": 1,
           "emulator": "127.0.0.1:%d" % free_port()}
    rc, out = run_firmware(cfg)
    assert rc == 1
    assert "cannot reach the module" in out
    assert "Traceback" not in out


def test_demo_script(micropython):
    env = dict(os.environ, PATH=str(Path(micropython).parent) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run([sys.executable, str(REPO / "tools" / "demo.py"),
                           "--readings", "2", "--interval", "0.2"],
                          cwd=str(REPO), env=env, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    print(out)
    assert proc.returncode == 0
    assert "pico: module found, firmware AT version:" in out
    assert "pico: joined WizFiTest" in out
    assert "pico: reading 2 posted: " in out
    assert "sink: reading seq=2 temp_c=" in out
    assert out.rstrip().endswith("demo: 2 readings received by the sink")


def test_sink_answers_200_and_rejects_non_json():
    with HttpSink(port=0, quiet=True) as s:
        url = "http://127.0.0.1:%d/readings" % s.port
        body = json.dumps({"device": "d", "seq": 1, "temp_c": 20.5, "uptime_ms": 5}).encode()
        with urllib.request.urlopen(urllib.request.Request(url, data=body)) as r:
            assert r.status == 200
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(urllib.request.Request(url, data=b"not json"))
        assert err.value.code == 400
        with urllib.request.urlopen(url) as r:
            assert r.read() == b"1 readings\n"
        assert s.readings == [{"device": "d", "seq": 1, "temp_c": 20.5, "uptime_ms": 5}]


def test_board_seam_on_rp2(monkeypatch):
    """board.py's rp2 branch, with a stand-in `machine` module under CPython."""
    import importlib
    import types

    made = {}

    class Pin:
        OUT = 1

        def __init__(self, num, mode=None, value=None):
            self.num, self.mode, self.value = num, mode, value

    class UART:
        def __init__(self, uid, baudrate, **kw):
            made["uart"] = (uid, baudrate, kw["tx"].num, kw["rx"].num, kw["rxbuf"])

    class ADC:
        def __init__(self, channel):
            made["adc"] = channel

        def read_u16(self):
            return 14021  # 0.706 V: 27 C by the RP2040 datasheet formula

    machine = types.ModuleType("machine")
    machine.Pin, machine.UART, machine.ADC = Pin, UART, ADC
    monkeypatch.setitem(sys.modules, "machine", machine)
    monkeypatch.setattr(sys, "platform", "rp2")
    monkeypatch.syspath_prepend(str(REPO))
    monkeypatch.delitem(sys.modules, "board", raising=False)
    board = importlib.import_module("board")
    try:
        uart, reset = board.open_module({"emulator": ("127.0.0.1", 1)})
        assert made["uart"] == (1, 115200, 4, 5, 4096)
        assert (reset.num, reset.mode, reset.value) == (20, Pin.OUT, 1)
        board.open_module({"uart": {"baudrate": 921600, "reset": 21}})
        assert made["uart"][1] == 921600
        assert made["adc"] == 4
        assert abs(board.read_temp_c() - 27.0) < 0.1
    finally:
        sys.modules.pop("board", None)
