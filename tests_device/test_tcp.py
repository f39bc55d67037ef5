# heapsize: 192K
# TCP sockets: DNS, a 256 KB binary echo on two links at once, errors.
import errno

import board
import harness
from harness import eq, raises, true
from wizfi360 import socket

wifi = board.wifi


def _random(n, seed):
    # Deterministic pseudo-random bytes (xorshift), every byte value included.
    out = bytearray(n)
    x = seed
    for i in range(n):
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        out[i] = x & 0xFF
    return out


def test_getaddrinfo():
    wifi()
    s = board.settings()
    ai = socket.getaddrinfo(s["echo_host"], 80)
    eq(ai, [(socket.AF_INET, socket.SOCK_STREAM, 0, "", (s["echo_host"], 80))])
    if not board.ON_BOARD:
        eq(socket.getaddrinfo("echo.test", 7)[0][-1], ("127.0.0.1", 7))
        eq(socket.getaddrinfo("localhost", 7)[0][-1], ("127.0.0.1", 7))


def test_ip_literal_needs_no_module_round_trip():
    w = wifi()
    w.disconnect()  # the module cannot resolve names now; literals still work
    try:
        eq(socket.getaddrinfo("10.1.2.3", 99)[0][-1], ("10.1.2.3", 99))
    finally:
        s = board.settings()
        w.connect(s["ssid"], s["key"])


def test_unknown_host():
    wifi()
    e = raises(OSError, socket.getaddrinfo, "no-such-host.invalid", 80)
    eq(e.errno, -2)
    raises(ValueError, socket.getaddrinfo, "bad\r\nAT+RST", 80)
    raises(ValueError, socket.getaddrinfo, "x" * 64, 80)
    raises(ValueError, socket.getaddrinfo, "echo.test", 70000)


def test_refused():
    wifi()
    s = board.settings()
    sock = socket.socket()
    e = raises(OSError, sock.connect, (s["echo_host"], s["refused_port"]))
    eq(e.errno, errno.ECONNREFUSED)
    sock.close()


def _segment(q, limit):
    # Stream position q -> (offset in the pattern, length that stays
    # contiguous there). Each 4 KB block of the stream is the pattern rotated
    # by 7 more bytes than the block before, so the stream never repeats at a
    # short period and a shifted or duplicated block cannot pass for the next.
    o = q & 4095
    r = (o + (q >> 12) * 7) & 4095
    return r, min(limit, 4096 - o, 4096 - r)


def test_echo_two_links_256k():
    wifi()
    s = board.settings()
    n = 256 * 1024
    pattern = [_random(4096, 0x12345678), _random(4096, 0x9ABCDEF1)]
    socks = []
    for _ in range(2):
        sock = socket.socket()
        sock.settimeout(10)
        sock.connect((s["echo_host"], s["echo_port"]))
        socks.append(sock)
    sent = [0, 0]
    got = [0, 0]
    buf = bytearray(1536)
    mbuf = memoryview(buf)
    ahead = 1460  # bytes in flight per link: fits the link's receive ring
    while got[0] < n or got[1] < n:
        for i in (0, 1):
            sock = socks[i]
            p = memoryview(pattern[i])
            while sent[i] < n and sent[i] - got[i] < ahead:
                r, k = _segment(sent[i], min(ahead - (sent[i] - got[i]), n - sent[i]))
                sock.sendall(p[r : r + k])
                sent[i] += k
            sock.setblocking(False)
            try:
                k = sock.recv_into(buf)
            except OSError as e:
                eq(e.errno, errno.EAGAIN)
                k = 0
            sock.settimeout(10)
            j = 0
            while j < k:
                r, m = _segment(got[i] + j, k - j)
                if bytes(mbuf[j : j + m]) != bytes(p[r : r + m]):
                    raise AssertionError("link %d: bytes at %d differ" % (i, got[i] + j))
                j += m
            got[i] += k
            true(got[i] <= sent[i])
    for sock in socks:
        eq(sock.write(b"end"), 3)
        sock.settimeout(5)
        eq(sock.read(3), b"end")
        sock.close()


def test_peer_close_gives_eof_after_data():
    wifi()
    s = board.settings()
    sock = socket.socket()
    sock.settimeout(5)
    sock.connect((s["echo_host"], s["echo_port"]))
    sock.write(b"line one\nline two\n")
    eq(sock.readline(), b"line one\n")
    eq(sock.readline(), b"line two\n")
    sock.setblocking(False)
    eq(sock.read(10), None)
    raises(OSError, sock.recv, 10)
    sock.close()
    raises(OSError, sock.recv, 10)


def test_timeout_and_nonblocking():
    wifi()
    s = board.settings()
    with socket.socket() as sock:
        sock.settimeout(0.2)
        sock.connect((s["echo_host"], s["echo_port"]))
        e = raises(OSError, sock.recv, 10)
        eq(e.errno, errno.ETIMEDOUT)
        sock.setblocking(False)
        e = raises(OSError, sock.recv, 10)
        eq(e.errno, errno.EAGAIN)
        eq(sock.read(5), None)
        sock.setblocking(True)
        eq(sock.write(b"0123456789", 4), 4)
        b = bytearray(8)
        eq(sock.readinto(b, 4), 4)
        eq(bytes(b[:4]), b"0123")


def test_five_links_then_no_more():
    wifi()
    s = board.settings()
    socks = []
    for _ in range(5):
        sock = socket.socket()
        sock.settimeout(5)
        sock.connect((s["echo_host"], s["echo_port"]))
        socks.append(sock)
    extra = socket.socket()
    e = raises(OSError, extra.connect, (s["echo_host"], s["echo_port"]))
    eq(e.errno, errno.ENOMEM)
    for i, sock in enumerate(socks):
        sock.write(b"link%d" % i)
    for i, sock in enumerate(socks):
        eq(sock.read(5), b"link%d" % i)
    for sock in socks:
        sock.close()
    # All five IDs are reusable after close.
    again = socket.socket()
    again.connect((s["echo_host"], s["echo_port"]))
    again.close()


def test_send_errors():
    wifi()
    sock = socket.socket()
    e = raises(OSError, sock.send, b"x")
    eq(e.errno, errno.ENOTCONN)
    raises(OSError, socket.socket, socket.AF_INET, 3)  # SOCK_RAW
    raises(OSError, socket.socket, 10)  # AF_INET6
    raises(ValueError, sock.connect, ("127.0.0.1", 0))
    sock.close()
    e = raises(OSError, sock.send, b"x")
    eq(e.errno, errno.EBADF)


harness.main(globals())
