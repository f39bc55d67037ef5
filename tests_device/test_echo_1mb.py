# heapsize: 96K
# mpy: yes
# One link, 1 MB through the echo server and back, byte-exact, with the package
# compiled to .mpy (tools/run_device_tests.py does that for `# mpy: yes`) in
# the small heap above: what a board with little RAM left for the driver runs.
import errno

import board
import harness
from harness import eq, true
from wizfi360 import socket

TOTAL = 1024 * 1024
PERIOD = 4093  # pattern length: a prime, so no read or send size lines up with it


def _pattern():
    # PERIOD bytes of a quadratic sequence: no short repeats, every byte value.
    out = bytearray(PERIOD)
    for i in range(PERIOD):
        out[i] = (i * 167 + (i * i >> 6)) & 0xFF
    return out


def test_echo_1mb_one_link():
    wifi = board.make_wifi(connect=True)
    s = board.settings()
    pattern = memoryview(_pattern())
    sock = socket.socket()
    sock.settimeout(10)
    sock.connect((s["echo_host"], s["echo_port"]))
    buf = bytearray(1536)
    mbuf = memoryview(buf)
    # Bytes in flight stay within the link's receive buffer: the module cannot
    # be held back per link, so more would stall the answers to our sends.
    ahead = min(1460, getattr(wifi._at, "link_size", 2048))
    sent = got = 0
    while got < TOTAL:
        while sent < TOTAL and sent - got < ahead:
            r = sent % PERIOD
            k = min(ahead - (sent - got), TOTAL - sent, PERIOD - r)
            sock.sendall(pattern[r : r + k])
            sent += k
        k = sock.recv_into(buf)
        true(k > 0, "EOF after %d bytes" % got)
        j = 0
        while j < k:
            r = (got + j) % PERIOD
            m = min(k - j, PERIOD - r)
            if mbuf[j : j + m] != pattern[r : r + m]:
                raise AssertionError("bytes at %d differ" % (got + j))
            j += m
        got += k
        true(got <= sent, "more came back than was sent")
    eq(got, TOTAL)
    sock.setblocking(False)
    try:
        extra = sock.recv(16)
    except OSError as e:
        eq(e.errno, errno.EAGAIN)
        extra = b""
    eq(extra, b"")  # nothing beyond what was sent
    sock.close()


harness.main(globals())
