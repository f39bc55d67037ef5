"""The paced emulator's own ceiling: what a client that does nothing but the AT
exchange gets through it (CPython, raw bytes on the emulator's UART port).

tools/bench/run.py reports it next to the driver's end-to-end figures, so that
what the emulator itself costs (its threads wake a little late at each turn of
the line, as a real module also takes time to answer) is not put down to the
driver. Same data server, same sizes, same line rates.
"""

import socket
import time

WRITE = 2048  # bytes a send at most (manual 3.2.3.8)


class RawLine:
    """The emulator's UART, split into +IPD payload (counted in .got) and text."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.raw = bytearray()  # not split yet
        self.text = bytearray()  # everything but +IPD frames
        self.need = 0  # payload bytes of the current frame still to come
        self.got = 0
        self.kept = None  # a bytearray: payload is also kept there

    def more(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("the emulator closed the UART")
        self.raw += data
        raw = self.raw
        while raw:
            if self.need:
                k = min(self.need, len(raw))
                self.got += k
                if self.kept is not None:
                    self.kept += raw[:k]
                self.need -= k
                del raw[:k]
                continue
            i = raw.find(b"+IPD,")
            k = raw.find(b":", i) if i >= 0 else -1
            if k < 0:  # hold back what may be the start of a header
                cut = i if i >= 0 else len(raw) - _header_start(raw)
                self.text += raw[:cut]
                del raw[:cut]
                return
            self.text += raw[:i]
            self.need = int(raw[i + 5 : k].split(b",")[1])
            del raw[: k + 1]

    def until(self, marker):
        while True:
            i = self.text.find(marker)
            if i >= 0:
                del self.text[: i + len(marker)]
                return
            self.more()

    def cmd(self, line):
        self.sock.sendall(line + b"\r\n")
        self.until(b"OK\r\n")

    def send(self, data):
        """One AT+CIPSEND on link 0 (manual 3.2.3.8)."""
        self.sock.sendall(b"AT+CIPSEND=0,%d\r\n" % len(data))
        self.until(b">")
        self.sock.sendall(data)
        self.until(b"SEND OK\r\n")

    def payload(self, n):
        """Read until n payload bytes have come since the last call."""
        while self.got < n:
            self.more()
        self.got -= n

    def close(self):
        self.sock.close()


def _header_start(raw):
    """Length of the longest end of raw that could begin "+IPD,"."""
    for n in range(min(4, len(raw)), 0, -1):
        if raw.endswith(b"+IPD,"[:n]):
            return n
    return 0


def start(emu_port, data_port, ssid="WizFiTest", key="wizfi360pass"):
    """A RawLine to the emulator, joined, with link 0 open to the data server."""
    line = RawLine(emu_port)
    try:
        for c in (b"ATE0", b"AT+CIPMUX=1", b'AT+CWJAP_CUR="%s","%s"' % (ssid.encode(), key.encode())):
            line.cmd(c)
        line.cmd(b'AT+CIPSTART=0,"TCP","127.0.0.1",%d' % data_port)
    except BaseException:
        line.close()
        raise
    return line


def put(line, send, size, pattern):
    """Upload B/s on link 0: "PUT <size>" and `size` pattern bytes through send(data), at
    most WRITE bytes a call, until the data server answers that all arrived and matched."""
    line.kept = bytearray()  # the server's answer may come before the last SEND OK
    t0 = time.monotonic()
    send(b"PUT %d\n" % size)
    sent = 0
    while sent < size:
        r = sent % len(pattern)
        k = min(WRITE, size - sent, len(pattern) - r)
        send(pattern[r : r + k])
        sent += k
    answer = b"OK %d\n" % size  # the server's answer: all arrived and matched
    line.payload(len(answer))
    if line.kept != answer:
        raise RuntimeError("data server: %r" % bytes(line.kept))
    return size / (time.monotonic() - t0)


def transfer(emu_port, data_port, size, pattern, ssid="WizFiTest", key="wizfi360pass"):
    """(download B/s, upload B/s) for `size` bytes each way; the data server checks the upload."""
    line = start(emu_port, data_port, ssid, key)
    try:
        t0 = time.monotonic()
        line.send(b"GET %d\n" % size)
        line.payload(size)
        down = size / (time.monotonic() - t0)
        line.cmd(b"AT+CIPCLOSE=0")
        line.cmd(b'AT+CIPSTART=0,"TCP","127.0.0.1",%d' % data_port)
        up = put(line, line.send, size, pattern)
        line.until(b"0,CLOSED\r\n")  # the server closes after answering
        return down, up
    finally:
        line.close()
