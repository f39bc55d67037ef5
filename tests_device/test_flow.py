# heapsize: 512K
# baud: 921600
# mpy: yes
# Lossless or loud: a slow reader with flow control gets every byte and other
# links keep working; without flow control the UART buffer overflows, and the
# socket raises OSError(EIO) instead of returning damaged data.
#
# The UART is SocketUART (host/wizfi360_host/hostuart.py): flow=True stands for RTS
# flow control (the emulator is held back while the driver does not read),
# flow=False for none (a full rx buffer drops bytes, like a board's UART).
import errno
import time

import board
import harness
from harness import eq, true

_PERIOD = 251  # the HTTP server's /bytes/<n> body: byte i is i % 251
_REF = bytes(range(_PERIOD)) * 10  # any offset's next 2 KB are a slice of it
# How far a ring may grow while a send waits behind a download (see below).
_LINK_MAX = 128 * 1024


def _driver(**uart_kw):
    from wizfi360_host.hostuart import SocketUART

    if board.ON_BOARD:
        raise OSError("needs the emulator")
    uart = SocketUART(board.EMU_HOST, int(board._env("WIZFI_EMU_PORT")), **uart_kw)
    return board.fresh_wifi(uart, link_max=_LINK_MAX), uart


def _http(socket):
    # A socket connected to the HTTP server.
    url = board.settings()["http_url"]
    host, port = url[7:].split(":")
    sock = socket.socket()
    sock.connect(socket.getaddrinfo(host, int(port))[0][-1])
    return sock


def _ask(sock, n):
    sock.sendall(b"GET /bytes/%d HTTP/1.0\r\nHost: x\r\n\r\n" % n)


def _request(socket, n):
    # A socket that asked for GET /bytes/<n>.
    sock = _http(socket)
    _ask(sock, n)
    return sock


def _skip_headers(sock):
    while sock.readline() not in (b"\r\n", b""):
        pass


def _get(socket, n):
    # A socket reading the body of GET /bytes/<n>, past the headers.
    sock = _request(socket, n)
    _skip_headers(sock)
    return sock


def _check(buf, k, offset):
    # buf[:k] is the pattern at stream offset `offset`.
    o = offset % _PERIOD
    return bytes(buf[:k]) == _REF[o : o + k]


def test_slow_reader_with_flow_control_gets_every_byte():
    # One loop serves both links, as an application would: the download is
    # read slower than the line (921600 baud, 92 KB/s) in small pieces with
    # sleeps; an echo link sends and reads in between. Its sends' answers sit
    # behind the download's data in the UART, so the download's ring grows
    # meanwhile by all the line carries until they come: what the emulator's
    # socket buffers hold (some 17 KB, where a module held back by RTS holds
    # a few hundred bytes) and what arrives while the emulator turns the
    # command round (20 KB was seen on a loaded machine). Hence a link_max of
    # 128 KB, a 512K heap, and the package as .mpy, as on a board: the heap a
    # compiled .py leaves behind is fragmented, and a ring that cannot grow
    # leaves the send waiting until it times out.
    import select

    from wizfi360 import socket

    w, uart = _driver()
    try:
        total = 1024 * 1024
        other = socket.socket()
        other.setblocking(False)
        s = board.settings()
        other.settimeout(10)
        other.connect((s["echo_host"], s["echo_port"]))
        other.setblocking(False)
        slow = _get(socket, total)
        slow.setblocking(False)
        poller = select.poll()
        poller.register(slow, select.POLLIN)
        poller.register(other, select.POLLIN)
        buf = bytearray(512)
        got = 0
        reads = 0
        sent = b""
        echoed = b""
        exchanges = 0
        while got < total or echoed != sent:
            for obj, _ in poller.poll(1000):
                if obj is slow:
                    k = slow.recv_into(buf, 300)
                    true(k > 0, "EOF after %d of %d bytes" % (got, total))
                    true(_check(buf, k, got), "wrong bytes at offset %d" % got)
                    got += k
                    reads += 1
                    time.sleep_ms(4)  # 300 bytes per 4 ms: slower than the line
                    if reads % 256 == 0 and echoed == sent:
                        msg = b"ping %d;" % reads
                        try:
                            other.sendall(msg)  # meanwhile another link works as usual
                        except OSError as e:
                            ring = w._at.ring(slow._link)
                            raise AssertionError(
                                "send behind the download failed: %r; the download's ring holds "
                                "%d bytes of %d" % (e, len(ring), ring.capacity())
                            )
                        sent += msg
                        exchanges += 1
                elif obj is other:
                    echoed += other.recv(64)
            if got == total:
                poller.unregister(slow)
                got += 1  # once
        eq(echoed, sent)
        true(exchanges >= 10)
        slow.settimeout(5)
        eq(slow.recv(1), b"")  # and then EOF: not a byte more
        eq(w.stats()["damaged"], 0)
        eq(uart.dropped, 0)
        slow.close()
        other.close()
    finally:
        uart.close()


def test_a_ring_that_cannot_grow_fails_the_send_at_once_and_loses_nothing():
    # The heap has no free block for a bigger ring (short or fragmented): a
    # send behind the download's data fails at once with ENOBUFS, the driver asks for the
    # memory once in that wait, not on every poll, and the download still
    # arrives whole. The module gives the send's ">" once the download has
    # been read: the send's data goes then, and nothing else is taken for it.
    import select

    from wizfi360 import socket
    from wizfi360.at.conn import Conn

    class NoRoomConn(Conn):
        tries = 0

        def grow(self, size):
            self.tries += 1
            return False  # as Ring.grow when bytearray(size) raises MemoryError

    w, uart = _driver()
    try:
        total = 64 * 1024
        s = board.settings()
        other = socket.socket()
        other.connect((s["echo_host"], s["echo_port"]))
        slow = _http(socket)
        at = w._at
        link = slow._conn.link
        ring = NoRoomConn(at.link_size, link, slow._conn.state)  # in place of the connection, before any data
        slow._conn = at.links[link] = at.parser.rings[link] = ring
        _ask(slow, total)
        poller = select.poll()
        poller.register(slow, select.POLLIN)
        for _ in range(100):  # until the ring is full and the module held back
            poller.poll(20)
            if ring.free() == 0:
                break
        eq(ring.free(), 0)
        other.settimeout(10)
        e = harness.raises(OSError, other.sendall, b"ping")
        eq(e.errno, errno.ENOBUFS)
        eq(ring.tries, 1)
        slow.settimeout(10)
        _skip_headers(slow)
        buf = bytearray(1024)
        got = 0
        while True:
            k = slow.recv_into(buf)
            if not k:
                break
            true(_check(buf, k, got), "wrong bytes at offset %d" % got)
            got += k
        eq(got, total)
        eq(ring.capacity(), at.link_size)
        eq(w.stats()["damaged"], 0)
        slow.close()
        other.settimeout(5)
        other.sendall(b"pong")
        echoed = b""
        while len(echoed) < 8:
            echoed += other.recv(8 - len(echoed))
        eq(echoed, b"pingpong")  # the timed-out send arrived once, late
        other.close()
    finally:
        uart.close()


def test_overflow_without_flow_control_raises_instead_of_corrupting():
    from wizfi360 import socket

    w, uart = _driver(rxbuf=256, flow=False, baud=921600)
    try:
        total = 256 * 1024
        slow = _request(socket, total)
        slow.settimeout(5)
        buf = bytearray(256)
        got = 0
        err = None
        try:
            _skip_headers(slow)
        except OSError as e:  # the line outran a slowed-down reader already
            err = e
            total = 0
        while got < total:
            try:
                k = slow.recv_into(buf, 200)
            except OSError as e:
                err = e
                break
            if not k:
                break
            true(_check(buf, k, got), "damaged bytes returned as good at offset %d" % got)
            got += k
            time.sleep_ms(5)  # slower than the line: the 256-byte buffer overflows
        true(uart.dropped > 0, "the UART dropped nothing: no overflow to detect")
        true(err is not None, "no error after %d of %d bytes" % (got, total))
        eq(err.errno, errno.EIO)
        true(got < 256 * 1024)
        true(w.stats()["damaged"] >= 1)
        e = harness.raises(OSError, slow.recv_into, buf)  # it stays failed
        eq(e.errno, errno.EIO)
        slow.close()
    finally:
        uart.close()


if __name__ == "__main__":
    harness.main(globals())
