"""The sensor firmware's queue of unsent readings and its UART flow control, on the
MicroPython unix port against the emulator (as test_firmware.py runs it).

The access point goes away for a while (taken off the emulator's list, then the
emulator drops the station, or the module restarts), readings go on being taken,
and once it is back they reach the sink oldest first. A queue_file keeps them over a
restart of the firmware itself (a board reset).
"""

import subprocess

import pytest

import fwrun
from fwrun import KEY, REPO, SSID, config_for, finish, start, start_emulator, wait_for_line

micropython = fwrun.micropython  # fixtures shared with the other firmware tests
emulator = fwrun.emulator
sink = fwrun.sink


def sink_url(sink):
    return "http://sink.test:%d/readings" % sink.port


def outage(micropython, tmp_path, emu, cfg, after, until, how):
    """Run the firmware; once `after` is logged, the AP goes away (how: "ap_drop" or
    "reboot" of the module); once `until` is logged, it comes back. (rc, output)."""
    from wizfi360_emu import AccessPoint

    proc = start(micropython, tmp_path, cfg)
    try:
        head = wait_for_line(proc, after)
        emu.aps.clear()  # joins fail (AP not found) from now on
        emu.ap_drop() if how == "ap_drop" else emu.reboot()
        head += wait_for_line(proc, until)
        emu.aps.append(AccessPoint(SSID, KEY))
    finally:
        rc, out = finish(proc)
    return rc, head + out


@pytest.mark.parametrize("how", ["ap_drop", "reboot"])
def test_no_reading_is_lost_while_the_queue_has_room(micropython, tmp_path, emulator, sink, how):
    cfg = config_for(emulator, sink_url(sink), readings=6, interval_s=0.3, retry_max_s=0.2)
    rc, out = outage(micropython, tmp_path, emulator, cfg, "reading 1 sent", "reading 4 kept", how)
    assert "reading 2 kept: " in out and "reading 3 kept: " in out
    assert "sending 3 queued readings, oldest first" in out or "sending 4 queued readings" in out
    assert "done: 6 of 6 readings sent" in out and "0 still queued, 0 dropped, 0 refused" in out
    assert rc == 0
    assert "Traceback" not in out
    assert [r["seq"] for r in sink.readings] == [1, 2, 3, 4, 5, 6]  # each once, oldest first


def test_a_full_queue_drops_the_oldest_and_says_how_many(micropython, tmp_path, emulator, sink):
    # Readings 2-6 are taken while the AP is gone; the queue holds 2: 2, 3 and 4
    # make room for the newer ones. The run ends with the queue sent.
    cfg = config_for(emulator, sink_url(sink), readings=6, interval_s=0.2, retry_max_s=0.2, queue_max=2)
    rc, out = outage(micropython, tmp_path, emulator, cfg, "reading 1 sent", "reading 6 kept", "ap_drop")
    for seq in (2, 3, 4):
        assert "queue full (2): dropped reading %d, the oldest" % seq in out
    assert "queue full (2): dropped reading 5" not in out
    assert "done: 3 of 6 readings sent (5 had waited in the queue)" in out
    assert "0 still queued, 3 dropped, 0 refused" in out
    assert rc == 1  # readings were lost
    assert [r["seq"] for r in sink.readings] == [1, 5, 6]


def test_a_queue_file_keeps_the_readings_over_a_restart(micropython, tmp_path, sink):
    # First run: no AP at all; three readings, then joining gives up. Second run
    # (as after a board reset): they are read back and go out first, and the
    # numbering goes on from them. The file is gone once the queue is empty.
    path = tmp_path / "queue.txt"
    emu = start_emulator(aps=[])
    try:
        cfg = config_for(emu, sink_url(sink), readings=3, retry_max_s=0.2, join_attempts=5)
        cfg["queue_file"] = str(path)
        rc, out = fwrun.run(micropython, tmp_path, cfg)
        assert rc == 1 and "giving up: could not join" in out
        assert "3 still queued" in out
        assert len(path.read_bytes().splitlines()) == 3
    finally:
        emu.stop()
    emu = start_emulator()
    try:
        cfg = config_for(emu, sink_url(sink), readings=2)
        cfg["queue_file"] = str(path)
        rc, out = fwrun.run(micropython, tmp_path, cfg)
    finally:
        emu.stop()
    assert "queue: 3 readings from before the restart, in %s" % path in out
    assert "done: 5 of 2 readings sent" in out and "0 still queued, 0 dropped" in out
    assert rc == 0
    assert [r["seq"] for r in sink.readings] == [1, 2, 3, 4, 5]
    assert not path.exists()


def test_the_queue_file_survives_bad_lines_and_a_smaller_queue(micropython, tmp_path):
    # A line cut by a power loss, or not a reading, is skipped; more lines than
    # queue_max: the oldest are dropped, as when the queue fills.
    path = tmp_path / "q.txt"
    path.write_bytes(b'{"seq": 1}\n{"seq": 2}\nnot json\n{"seq": 3}\n{"seq": 4, "te\n')
    code = (
        "import backlog; q = backlog.Backlog(2, %r)\n"
        "print(q.restored, q.dropped, [bytes(b) for b in q.items])\n"
        "q.done(); q.done(); q.end_round(); import os\n"
        "print(len(q), %r in os.listdir(%r))" % (str(path), path.name, str(tmp_path))
    )
    proc = subprocess.run(
        [micropython, "-c", code], cwd=str(REPO), capture_output=True, text=True, timeout=30
    )
    assert proc.stdout.splitlines() == ["2 1 [b'{\"seq\": 2}', b'{\"seq\": 3}']", "0 False"], proc.stderr


# -- UART flow control ----------------------------------------------------------


@pytest.mark.parametrize("quirks, value", [(None, 1), ("real", 3)])
def test_flow_control_switches_the_module_to_rts_cts(micropython, tmp_path, sink, quirks, value):
    # The manual's firmware takes 1 for RTS/CTS, ESP-style firmware 3 (the
    # driver's set_uart tries 3 first): the module reports what it runs.
    emu = start_emulator(quirks=quirks)
    try:
        cfg = config_for(emu, sink_url(sink), readings=2, uart={"flow": True})
        rc, out = fwrun.run(micropython, tmp_path, cfg)
        line = emu._uart.line
    finally:
        emu.stop()
    assert "flow control on: RTS/CTS, AT+UART_CUR flow value %d" % value in out
    assert line == (115200, 8, 1, 0, value)
    assert rc == 0 and "done: 2 of 2 readings sent" in out


def test_flow_control_is_switched_on_again_after_a_module_restart(micropython, tmp_path, emulator, sink):
    # AT+UART_CUR does not outlive a restart: the module comes back without
    # flow control, and the firmware sets it again.
    cfg = config_for(emulator, sink_url(sink), readings=3, interval_s=0.5, uart={"flow": True})
    proc = start(micropython, tmp_path, cfg)
    head = wait_for_line(proc, "reading 1 sent")
    emulator.reboot()
    assert emulator._uart.line[4] == 0
    rc, out = finish(proc)
    out = head + out
    assert "the module restarted by itself (restart 1)" in out
    assert out.count("flow control on: RTS/CTS") == 2
    assert emulator._uart.line[4] == 1
    assert rc == 0 and [r["seq"] for r in sink.readings] == [1, 2, 3]


@pytest.mark.parametrize(
    "uart, message",
    [
        ({"flow": "yes"}, "uart: 'flow' must be true (RTS/CTS on GP7/GP6) or false"),
        ({"flow": True, "baudrate": 12345}, "config error: uart: baud rate must be one of"),
    ],
)
def test_bad_flow_settings_are_refused_clearly(micropython, tmp_path, emulator, sink, uart, message):
    rc, out = fwrun.run(micropython, tmp_path, config_for(emulator, sink_url(sink), uart=uart))
    assert rc == 2
    assert message in out
    assert "Traceback" not in out
