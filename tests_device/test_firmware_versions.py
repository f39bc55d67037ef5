# heapsize: 192K
# The driver starts up, resolves names and carries data on both firmware
# versions seen on modules (module-notes "The wire": AT version 1.0.3.4 and
# 1.1.1.7), as the emulator presents them (its `firmware` quirk; 1.0.3.4
# quotes the address in +CIPDOMAIN, 1.1.1.7 does not). Issue 15, item 11.
# Off-board only: on a board the file is skipped.
import emucontrol

import board
import harness
from harness import eq, true
from wizfi360 import socket


def _on(version):
    emucontrol.quirk("firmware", version)
    emucontrol.emu("reboot")  # a fresh module of that version
    w = board.fresh_wifi()
    true(w.version().startswith("AT version:" + version), w.version())
    return w


def _exchange(w):
    s = board.settings()
    eq(w.resolve("echo.test"), "127.0.0.1")
    sock = socket.socket()
    sock.settimeout(5)
    sock.connect(("echo.test", s["echo_port"]))
    sock.write(b"on this firmware")
    eq(sock.read(16), b"on this firmware")
    sock.close()
    true(w.isconnected())


def test_firmware_1_0_3_4():
    try:
        _exchange(_on("1.0.3.4"))
    finally:
        emucontrol.quirk("firmware", "1.1.1.7")


def test_firmware_1_1_1_7():
    _exchange(_on("1.1.1.7"))


if board.ON_BOARD:
    board.skip_file("steers the emulator (its firmware quirk)")
harness.main(globals())
