"""End-to-end tests of the sensor firmware (main.py) on the MicroPython unix port.

The firmware runs as `micropython main.py` against the WizFi360 emulator,
posting to tools/httpsink.py, exactly as `make demo` does. The emulator's
test hooks drop the access point and restart the module while it runs.
board.py's board-only half runs under CPython with a stand-in `machine`.
"""

import importlib
import json
import os
import subprocess
import sys
import time
import types
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import fwrun
from fwrun import (
    KEY,
    REPO,
    SSID,
    config_for,
    finish,
    free_port,
    run,
    run_interrupted,
    start,
    start_emulator,
)
from httpsink import HttpSink

micropython = fwrun.micropython  # fixtures shared with the other firmware tests
emulator = fwrun.emulator
sink = fwrun.sink


@pytest.fixture
def run_firmware(micropython, tmp_path):
    """Run main.py with the given config (dict, or raw text); return (rc, output)."""

    def go(cfg, timeout=60):
        return run(micropython, tmp_path, cfg, timeout=timeout)

    return go


def sink_url(sink, path="/readings"):
    return "http://sink.test:%d%s" % (sink.port, path)


def test_three_readings_reach_the_sink(run_firmware, emulator, sink):
    rc, out = run_firmware(config_for(emulator, sink_url(sink)))
    assert rc == 0
    assert "module found, firmware AT version:" in out
    assert "joined WizFiTest: ip 192.168.10.23" in out
    for seq in (1, 2, 3):
        assert "reading %d sent: " % seq in out
    assert "-> 200 OK" in out
    assert "done: 3 of 3 readings sent" in out
    assert "Traceback" not in out
    # Every line is a log line: "[  seconds.ms] text".
    for line in out.splitlines():
        assert line[0] == "[" and line[7] == "." and line[11:13] == "] ", line

    assert sink.wait_for(3, timeout=5)
    readings = sink.readings
    assert [r["seq"] for r in readings] == [1, 2, 3]
    for r in readings:
        assert set(r) == {"device", "seq", "temp_c", "uptime_ms"}
        assert r["device"] == "pico-1"
        assert isinstance(r["temp_c"], float) and 15.0 < r["temp_c"] < 30.0
        assert isinstance(r["uptime_ms"], int)
    ups = [r["uptime_ms"] for r in readings]
    # Readings follow a schedule of interval_s (200 ms): a late one shortens the
    # next gap, so only their order and the schedule's span are certain.
    assert ups[0] < ups[1] < ups[2] and ups[2] - ups[0] >= 300


def test_many_readings_in_a_small_heap(micropython, tmp_path, emulator, sink):
    # 176 KB on the 64-bit unix port is under the ~241 KB an RP2040 has
    # free; a leak per reading would run out long before 50 posts. (It was
    # 128 KB before the engine's redesign for concurrency and the handling of
    # real firmware's quirks, whose larger core, compiled here from .py,
    # needs more: 160 KB fails at start-up.)
    cfg = config_for(emulator, sink_url(sink, "/"), readings=50, interval_s=0.01)
    rc, out = run(micropython, tmp_path, cfg, timeout=120, heap="176k")
    assert "done: 50 of 50 readings sent" in out, out[-2000:]
    assert rc == 0
    assert len(sink.readings) == 50


def test_endpoint_by_ip_and_device_name(run_firmware, emulator, sink):
    cfg = config_for(emulator, "http://127.0.0.1:%d/x" % sink.port, readings=1, device="shed")
    rc, out = run_firmware(cfg)
    assert rc == 0
    assert sink.readings and sink.readings[0]["device"] == "shed"


GOOD = {"ssid": SSID, "key": KEY, "endpoint": "http://sink.test/", "interval_s": 1}


def bad(**changes):
    cfg = dict(GOOD)
    for name, value in changes.items():
        if value is None:
            del cfg[name]
        else:
            cfg[name] = value
    return cfg


@pytest.mark.parametrize(
    "cfg, message",
    [
        (bad(ssid=None), "'ssid' is missing"),
        (bad(ssid="x" * 33), "'ssid' is longer than 32 characters"),
        (bad(key=None), "'key' is missing"),
        (bad(endpoint=None), "'endpoint' is missing: set it to http://host:port/path (or set 'mqtt')"),
        (bad(endpoint="sink.test:8080/readings"), "endpoint must look like http://host:port/path"),
        (bad(endpoint="ftp://sink.test/"), "endpoint must look like http://host:port/path"),
        (bad(endpoint="https://sink.test/"), "endpoint: https is not supported"),
        (bad(endpoint="http://sink.test:http/"), "endpoint: port must be a number"),
        (bad(endpoint="http://sink.test:70000/"), "endpoint: port must be a whole number 1..65535"),
        (bad(endpoint="http://:8080/"), "endpoint: missing or bad host name"),
        (bad(interval_s=None), "'interval_s' is missing"),
        (bad(interval_s=0), "'interval_s' must be a number of seconds above 0"),
        (bad(interval_s="10"), "'interval_s' must be a number of seconds above 0"),
        (bad(readings=0), "'readings' must be a whole number above 0"),
        (bad(retry_max_s=0), "'retry_max_s' must be a number of seconds above 0"),
        (bad(join_attempts=-1), "'join_attempts' must be a whole number"),
        (bad(watchdog_s=5), "'watchdog_s' must be 0 (off) or 30..3600 seconds"),
        (bad(device=""), "'device' must be a non-empty string"),
        (bad(uart={"baud": 9600}), "uart: unknown setting 'baud'"),
        (bad(uart={"tx": "GP4"}), "uart: 'tx' must be a whole number"),
        (bad(mqtt="broker"), "'mqtt' must be an object"),
        (bad(mqtt={"topic": "t"}), "mqtt: missing or bad host name"),
        (bad(mqtt={"host": "b", "port": 0}), "mqtt: port must be a whole number 1..65535"),
        (bad(mqtt={"host": "b", "qos": 1}), "mqtt: unknown setting 'qos'"),
        (bad(mqtt={"host": "b", "topic": ""}), "mqtt: 'topic' must be a non-empty string"),
        (bad(emulator=3600), "'emulator' must be a string"),
        ('{"ssid": "x",', "is not valid JSON"),
        ("[1, 2]", "the config must be a JSON object"),
    ],
)
def test_bad_config_is_refused_clearly(run_firmware, cfg, message):
    rc, out = run_firmware(cfg)
    assert rc == 2
    assert "config error: " in out
    assert message in out
    assert "Traceback" not in out


def test_unknown_keys_are_named_and_ignored(run_firmware, emulator, sink):
    cfg = config_for(emulator, sink_url(sink), readings=1, colour="blue")
    rc, out = run_firmware(cfg)
    assert rc == 0
    assert "config: ignoring unknown key 'colour'" in out


def test_missing_config_file(micropython, tmp_path):
    env = dict(os.environ, WIZFI_CONFIG=str(tmp_path / "nope.json"))
    proc = subprocess.run(
        [micropython, "main.py"], cwd=str(REPO), env=env, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 2
    assert "cannot read" in proc.stdout and "config.example.json" in proc.stdout


def test_the_example_config_is_valid(micropython):
    # config.example.json as committed passes the firmware's own checks.
    code = (
        "import fwconfig, json; c = json.load(open('config.example.json'))"
        "; print(fwconfig.unknown_keys(c), sorted(fwconfig.check_config(c)))"
    )
    proc = subprocess.run(
        [micropython, "-c", code], cwd=str(REPO), capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "'endpoint_parts'" in proc.stdout
    assert proc.stdout.startswith("[] [")  # no unknown key


def test_backoff_doubles_up_to_the_cap(micropython):
    code = "import main; print([main.backoff_ms(n, 60000) for n in (1, 2, 3, 4, 6, 7, 8, 30, 1000)])"
    proc = subprocess.run(
        [micropython, "-c", code], cwd=str(REPO), capture_output=True, text=True, timeout=30
    )
    assert (
        proc.stdout.strip().splitlines()[-1] == "[1000, 2000, 4000, 8000, 32000, 60000, 60000, 60000, 60000]"
    )


def test_wrong_password_is_retried_with_backoff_then_given_up(run_firmware, emulator, sink):
    cfg = config_for(emulator, sink_url(sink), key="not-the-key", join_attempts=3, retry_max_s=3)
    t0 = time.monotonic()
    rc, out = run_firmware(cfg)
    took = time.monotonic() - t0
    assert rc == 1
    assert out.count("join failed:") == 3
    assert "EACCES: wrong password (check 'key' in config.json)" in out
    assert "joining WizFiTest (attempt 3 of 3)" in out
    # 1 s, then 2 s: doubling, below the 3 s cap.
    assert "next try in 1.0 s" in out and "next try in 2.0 s" in out
    assert "giving up: could not join WizFiTest" in out
    assert took >= 3.0
    assert sink.readings == []


def test_keeps_joining_until_the_access_point_appears(micropython, tmp_path, sink):
    from wizfi360_emu import AccessPoint

    emu = start_emulator(aps=[])
    try:
        cfg = config_for(emu, sink_url(sink), readings=1, retry_max_s=0.3)
        proc = start(micropython, tmp_path, cfg)
        time.sleep(1.5)
        emu.aps.append(AccessPoint(SSID, KEY))
        rc, out = finish(proc)
    finally:
        emu.stop()
    assert "ENOENT: AP not found (check 'ssid'" in out
    assert "next try in 0.3 s" in out
    assert "joined WizFiTest: ip" in out
    assert rc == 0 and len(sink.readings) == 1


def test_failed_posts_are_printed_and_the_loop_goes_on(run_firmware, emulator):
    # Nothing listens: each round tries the oldest reading first and keeps the
    # queue; after the last reading one more failed round ends the run.
    cfg = config_for(emulator, "http://127.0.0.1:%d/" % free_port(), readings=2)
    rc, out = run_firmware(cfg)
    assert out.count("reading 1 failed: OSError: [Errno 111] ECONNREFUSED") == 2
    assert "reading 1 kept: " in out and "reading 2 kept: " in out and "(2 in the queue)" in out
    assert "reading 2 failed" not in out  # oldest first: 2 waits behind 1
    assert "done: 0 of 2 readings sent (2 had waited in the queue), 2 still queued, 0 dropped" in out
    assert rc == 1
    assert "Traceback" not in out
    assert "resetting the module" not in out  # the module answers: it is the server


def test_refused_posts_are_reported(run_firmware, emulator):
    import http.server
    import threading

    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        cfg = config_for(emulator, "http://127.0.0.1:%d/" % server.server_address[1], readings=1)
        rc, out = run_firmware(cfg)
    finally:
        server.shutdown()
        server.server_close()
    assert "reading 1 refused: " in out and "-> 404 Not Found" in out
    assert (
        "done: 0 of 1 readings sent (0 had waited in the queue), 0 still queued, 0 dropped, 1 refused" in out
    )
    assert rc == 1


@pytest.mark.parametrize(
    "after, what, logged",
    [
        ("reading 1 sent", "ap_drop", ["lost the network, joining again", "joined WizFiTest again"]),
        # links gone, not joined, echo on again, boot noise first:
        ("reading 2 sent", "reboot", ["the module restarted by itself (restart 1)", "lost the network"]),
    ],
)
def test_survives_an_access_point_drop_and_a_module_restart(
    micropython, tmp_path, emulator, sink, after, what, logged
):
    # Between two readings; the next reading waits for the network instead of failing.
    cfg = config_for(emulator, sink_url(sink), readings=4, interval_s=0.8)
    hook = emulator.ap_drop if what == "ap_drop" else lambda: emulator.reboot(garbage=b"\xff\xfe")
    rc, out = run_interrupted(micropython, tmp_path, cfg, after, hook)
    for text in logged:
        assert text in out
    assert "done: 4 of 4 readings sent" in out
    assert rc == 0
    assert "Traceback" not in out
    assert [r["seq"] for r in sink.readings] == [1, 2, 3, 4]


def test_a_module_restart_in_the_middle_of_a_post(micropython, tmp_path, emulator):
    # The sink holds each answer back; the module restarts while a post
    # waits for it. That reading stays queued and goes again once the network
    # is back: the sink has it twice (at least once, never lost).
    with HttpSink(port=0, quiet=True, delay=0.5) as slow:
        cfg = config_for(emulator, sink_url(slow), readings=3, interval_s=1.0)

        def reboot_during_reading_2():
            assert slow.wait_for(2, timeout=10)  # reading 2 is in, its answer is not
            emulator.reboot()

        rc, out = run_interrupted(micropython, tmp_path, cfg, "reading 1 sent", reboot_during_reading_2)
    assert "reading 2 failed: " in out and "reading 2 kept: " in out
    assert "the module restarted by itself (restart 1)" in out
    assert "reading 2 sent" in out and "reading 3 sent" in out
    assert "done: 3 of 3 readings sent (1 had waited in the queue), 0 still queued" in out
    assert rc == 0
    assert [r["seq"] for r in slow.readings] == [1, 2, 2, 3]
    assert "Traceback" not in out


def test_unreachable_emulator_is_explained(run_firmware):
    cfg = dict(GOOD, emulator="127.0.0.1:%d" % free_port())
    rc, out = run_firmware(cfg)
    assert rc == 1
    assert "cannot reach the module" in out
    assert "Traceback" not in out


def test_a_module_that_goes_away_is_reset_then_given_up(micropython, tmp_path, emulator, sink):
    # Off the board "the module is gone" is the emulator closing the UART:
    # three resets fail, then the firmware stops (on a board: restarts it).
    cfg = config_for(emulator, sink_url(sink), readings=5, interval_s=0.5)
    rc, out = run_interrupted(micropython, tmp_path, cfg, "reading 1 sent", emulator.stop)
    assert "lost the module" in out or "the module does not answer" in out
    assert "resetting the module (3 of 3)" in out
    assert "the module cannot be brought back: giving up" in out
    assert rc == 1
    assert "Traceback" not in out


def test_demo_script(micropython):
    env = dict(os.environ, PATH=str(Path(micropython).parent) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "demo.py"), "--readings", "2", "--interval", "0.2"],
        cwd=str(REPO),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    print(out)
    assert proc.returncode == 0
    assert "pico: " in out and "] module found, firmware AT version:" in out
    assert "] joined WizFiTest" in out
    assert "] reading 2 sent: " in out
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


# -- board.py's rp2 half, under CPython with a stand-in `machine` --------------


class FakeMachine:
    """The parts of `machine` board.py uses, recording what it did."""

    def __init__(self):
        self.made = {}
        self.feeds = 0
        self.mem32 = {}
        self.resets = 0
        self.timer = None
        self.module = m = types.ModuleType("machine")
        fake = self

        class Pin:
            OUT = 1

            def __init__(self, num, mode=None, value=None):
                if num == "LED" and fake.made.get("no_led_name"):
                    raise ValueError("unknown pin")
                self.num, self.mode, self.level = num, mode, value
                fake.made.setdefault("pins", []).append(self)

            def value(self, v=None):
                if v is None:
                    return self.level
                self.level = v

            def __call__(self, v):
                self.level = v

        class UART:
            def __init__(self, uid, baudrate, **kw):
                fake.made["uart"] = (uid, baudrate, kw["tx"].num, kw["rx"].num, kw["rxbuf"])
                fake.made["flow_pins"] = {k: kw[k].num for k in ("cts", "rts") if k in kw}

        class ADC:
            CORE_TEMP = 4

            def __init__(self, channel):
                fake.made["adc"] = channel

            def read_u16(self):
                return 14021  # 0.706 V: 27 C by the RP2040 datasheet formula

        class WDT:
            def __init__(self, timeout):
                fake.made["wdt"] = timeout

            def feed(self):
                fake.feeds += 1

        class Timer:
            def __init__(self, timer_id=-1):
                assert timer_id == -1  # rp2 has virtual timers only
                fake.timer = self
                self.callback = None

            def init(self, period, callback):
                self.period, self.callback = period, callback

            def deinit(self):
                self.callback = None

            def fire(self, n=1):
                for _ in range(n):
                    if self.callback is not None:
                        self.callback(self)

        def reset():
            fake.resets += 1

        m.Pin, m.UART, m.ADC, m.WDT, m.Timer, m.reset, m.mem32 = Pin, UART, ADC, WDT, Timer, reset, self.mem32


@pytest.fixture
def rp2(monkeypatch):
    """board.py imported as on an RP2040, with a FakeMachine; yields (board, fake)."""
    fake = FakeMachine()
    monkeypatch.setitem(sys.modules, "machine", fake.module)
    monkeypatch.setattr(sys, "platform", "rp2")
    impl = types.SimpleNamespace(**vars(sys.implementation))
    impl._machine = "Raspberry Pi Pico with RP2040"
    monkeypatch.setattr(sys, "implementation", impl)
    monkeypatch.syspath_prepend(str(REPO))
    monkeypatch.delitem(sys.modules, "board", raising=False)
    # ticks_* for board.Heartbeat, on a clock the test moves.
    clock = types.SimpleNamespace(now=0)
    fake_time = types.ModuleType("time")
    fake_time.ticks_ms = lambda: clock.now
    fake_time.ticks_add = lambda t, d: t + d
    fake_time.ticks_diff = lambda a, b: a - b
    monkeypatch.setitem(sys.modules, "time", fake_time)
    board = importlib.import_module("board")
    fake.clock = clock
    try:
        yield board, fake
    finally:
        sys.modules.pop("board", None)


def test_board_seam_on_rp2(rp2):
    board, fake = rp2
    uart, reset = board.open_module({"emulator": ("127.0.0.1", 1)})
    assert fake.made["uart"] == (1, 115200, 4, 5, 4096)
    assert (reset.num, reset.mode, reset.level) == (20, 1, 1)
    assert fake.made["flow_pins"] == {}  # no flow control unless asked
    board.open_module({"uart": {"baudrate": 921600, "reset": 21}})
    assert fake.made["uart"][1] == 921600
    assert fake.made["adc"] == 4
    assert abs(board.read_temp_c() - 27.0) < 0.1


def test_board_seam_with_flow_control_gives_the_uart_its_cts_and_rts_pins(rp2):
    # GP6 (CTS) and GP7 (RTS) as wired on the EVB-Pico, or the config's pins;
    # flow control itself is switched on later, by set_uart, once the module has.
    board, fake = rp2
    board.open_module({"uart": {"flow": True}})
    assert fake.made["uart"] == (1, 115200, 4, 5, 4096)
    assert fake.made["flow_pins"] == {"cts": 6, "rts": 7}
    board.open_module({"uart": {"flow": True, "cts": 10, "rts": 11}})
    assert fake.made["flow_pins"] == {"cts": 10, "rts": 11}


def test_heartbeat_feeds_the_watchdog_only_while_the_firmware_makes_progress(rp2):
    board, fake = rp2
    hb = board.heartbeat(30)  # a 30 s promise per feed()
    assert fake.made["wdt"] == 8000 and fake.timer.period == 100
    fake.timer.fire(10)
    assert fake.feeds == 10
    fake.clock.now = 29_900
    fake.timer.fire()
    assert fake.feeds == 11
    fake.clock.now = 30_000  # no feed() for 30 s: stuck somewhere
    fake.timer.fire(5)
    assert fake.feeds == 11 and hb.expired()
    hb.feed()
    fake.timer.fire()
    assert fake.feeds == 12 and not hb.expired()


def test_heartbeat_led_patterns(rp2):
    board, fake = rp2
    hb = board.heartbeat(0)  # no watchdog
    assert "wdt" not in fake.made
    led = fake.made["pins"][-1]
    assert led.num == "LED"

    def cycle():
        levels = []
        for _ in range(board.CYCLE):
            fake.timer.fire()
            levels.append(led.level)
        return levels

    assert sum(cycle()) == 20  # starting: steady on
    hb.show("joining")
    assert sum(cycle()) == 10
    hb.show("online")
    assert sum(cycle()) == 1
    hb.show("trouble")
    assert sum(cycle()) == 10
    hb.show("failed")
    assert sum(cycle()) == 2
    with pytest.raises(KeyError):
        hb.show("dancing")


def test_heartbeat_stop_turns_the_watchdog_off(rp2):
    board, fake = rp2
    hb = board.heartbeat(60)
    hb.stop()
    # RP2040 WATCHDOG CTRL, atomic clear alias: ENABLE (bit 30) cleared.
    assert fake.mem32 == {0x40058000 + 0x3000: 1 << 30}
    assert fake.timer.callback is None
    assert fake.made["pins"][-1].level == 0
    fed = fake.feeds
    hb.feed()
    assert fake.feeds == fed


def test_heartbeat_stop_with_a_state_keeps_the_led_going(rp2):
    board, fake = rp2
    hb = board.heartbeat(60)
    hb.stop("failed")
    assert fake.mem32  # watchdog off
    fed = fake.feeds
    fake.timer.fire(board.CYCLE)
    assert fake.feeds == fed  # no watchdog any more
    assert hb.state == "failed"


def test_led_falls_back_to_gp25(rp2):
    board, fake = rp2
    fake.made["no_led_name"] = True
    board.heartbeat(0)
    assert fake.made["pins"][-1].num == 25


def test_restart_resets_the_board(rp2):
    board, fake = rp2
    with pytest.raises(SystemExit):
        board.restart()  # machine.reset() does not return on a board
    assert fake.resets == 1


def test_heartbeat_off_the_board_does_nothing():
    sys.path.insert(0, str(REPO))
    try:
        sys.modules.pop("board", None)
        board = importlib.import_module("board")
        assert not board.ON_BOARD
        hb = board.heartbeat(120)
        hb.show("joining")
        hb.feed()
        hb.stop()
        hb.stop("failed")
    finally:
        sys.modules.pop("board", None)
        sys.path.remove(str(REPO))
