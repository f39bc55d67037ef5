# A WizFi360 stand-in on a UART with no I/O, for the benchmarks (MicroPython
# and CPython). It answers what the driver says at start-up and the link
# commands (AT+CIPSTART, AT+CIPSEND with its data, AT+CIPCLOSE) like the
# module does, and once serve(stream) is called it hands out that pre-built
# +IPD byte stream over and over, as fast as the driver reads it.
#
# Nothing in the steady state allocates: replies are copied into a fixed
# buffer, the CIPSEND replies are built once per length, and stream bytes are
# copied by io.BytesIO.readinto on MicroPython, by the driver's own
# allocation-free copy on CPython. So gc.mem_alloc() deltas taken around
# driver calls count the driver's allocations only.
#
# On MicroPython, while no reply waits, the driver's uart.readinto is the
# BytesIO's own, in C, as a board's machine.UART.readinto is (issue 16
# measured the Pico with such a stand-in): the instance attribute `readinto`
# switches between it and the Python reader that serves replies. A reader
# in Python costs the bench some 12k instructions a read here, which a
# board's UART does not (any() stays Python, and small).
#
# Like the real module, it never cuts into a frame to answer a command: while
# a reply waits, the stream is served up to the end of the current frame.

import io
import sys

try:
    from wizfi360.wire.bufcopy import copy
except ImportError:  # a driver without it: plain slices (allocates on MicroPython)

    def copy(dst, dst_off, src, src_off, n):
        dst[dst_off : dst_off + n] = memoryview(src)[src_off : src_off + n]


VERSION = b"AT version:1.1.1.7(May  4 2021 15:14:59)\r\nSDK version:3.2.0(a0ffff9f)\r\n\r\nOK\r\n"
OK = b"\r\nOK\r\n"


PEER = b"192.168.10.2,8080"  # the sender in +IPD headers, when they name it


def ipd_stream(links, size, pairs, peer=PEER):
    # `pairs` rounds of one `size`-byte +IPD frame per link in `links`, all
    # frames the same length on the wire; the header names the sender unless
    # peer is None (AT+CIPDINFO=0). Payload is made of protocol text, so it
    # only comes out right if frames are cut by their announced length.
    body = (b"\r\nOK\r\n+IPD,0,5:>SEND OK\r\n" * (size // 24 + 1))[:size]
    sender = b"," + peer if peer is not None else b""
    frames = [b"\r\n+IPD,%d,%d%s:" % (link, size, sender) + body for link in links]
    return b"".join(frames) * pairs, len(frames[0]), body


class MemModule:
    def __init__(self, chunk=4096):
        self.chunk = chunk  # most bytes any() reports at once, like a UART's rx ring
        self._out = bytearray(512)  # replies not read yet: _out[_opos:_olen]
        self._opos = 0
        self._olen = 0
        self._line = bytearray(128)  # the command line being written
        self._llen = 0
        self._data = 0  # CIPSEND payload bytes still to come
        self._replies = {}  # CIPSEND length -> its "Recv ... SEND OK" reply
        self._pending = b""
        self.stream = None
        self._bio = None  # the stream as an io.BytesIO (MicroPython)
        self._bio_readinto = None  # its readinto, bound once
        self._slow_readinto = self._readinto_slow  # bound once: switching allocates nothing
        self.readinto = self._slow_readinto  # what the driver calls (see the top)
        self.frame_len = 1
        self._pos = 0  # where the stream goes on (the BytesIO's own on MicroPython)
        self._wraps = 0  # times the stream was served to its end
        self.written = 0  # payload bytes taken by CIPSEND
        self.senders = True  # AT+CIPDINFO: +IPD headers name the sender (the factory default)

    def serve(self, stream, frame_len):
        self.stream = stream
        self.frame_len = frame_len
        self._pos = 0
        self._wraps = 0
        # MicroPython's readinto(buf, nbytes) of a BytesIO copies in C; CPython's has no nbytes.
        if sys.implementation.name == "micropython":
            self._bio = io.BytesIO(stream)
            self._bio_readinto = self._bio.readinto
        self._steady()

    def served(self):
        # Stream bytes read by the driver so far.
        return self._wraps * len(self.stream) + self._where()

    def _steady(self):
        # The C reader while no reply waits (MicroPython), else the Python one.
        if self._bio is not None and self._olen == self._opos:
            self.readinto = self._bio_readinto
        else:
            self.readinto = self._slow_readinto

    # -- what the driver writes --------------------------------------------

    def write(self, buf):
        n = len(buf)
        i = 0
        while i < n:
            if self._data:
                k = n - i if n - i < self._data else self._data
                self._data -= k
                self.written += k
                i += k
                if not self._data:
                    self._put(self._pending)
                continue
            c = buf[i]
            i += 1
            if c == 10:  # end of a command line
                self._command(self._line, self._llen)
                self._llen = 0
            elif c != 13 and self._llen < len(self._line):
                self._line[self._llen] = c
                self._llen += 1
        return n

    def _put(self, data):
        if self._opos == self._olen:
            self._opos = self._olen = 0
        n = len(data)
        copy(self._out, self._olen, data, 0, n)
        self._olen += n
        self.readinto = self._slow_readinto  # replies come in Python

    def _command(self, ln, n):
        if ln.find(b"AT+CIPSEND=", 0, n) == 0:
            k = _number(ln, ln.find(b",", 0, n) + 1, n)
            reply = self._replies.get(k)
            if reply is None:
                reply = self._replies[k] = b"\r\nRecv %d bytes\r\n\r\nSEND OK\r\n" % k
            self._pending = reply
            self._data = k
            self._put(b"\r\nOK\r\n>")
        elif ln.find(b"AT+CIPSTART=", 0, n) == 0:
            self._put(b"0,CONNECT\r\n\r\nOK\r\n")
            self._out[self._olen - 17] = ln[12]  # the link id
        elif ln.find(b"AT+CIPCLOSE=", 0, n) == 0:
            self._put(b"0,CLOSED\r\n\r\nOK\r\n")
            self._out[self._olen - 16] = ln[12]
        elif ln.find(b"AT+GMR", 0, n) == 0:
            self._put(VERSION)
        elif ln.find(b"AT+CIPSTATUS", 0, n) == 0:
            self._put(b"STATUS:2\r\n\r\nOK\r\n")  # joined, no link open
        elif ln.find(b"AT+CIPDINFO=", 0, n) == 0:
            self.senders = ln[12] == 49  # "1"
            self._put(OK)
        elif ln.find(b"AT", 0, n) == 0:
            self._put(OK)

    # -- what the driver reads ----------------------------------------------

    def any(self):
        bio = self._bio
        if self.readinto is self._bio_readinto:  # the steady state: the stream alone
            if bio.tell() == len(self.stream):  # pyright: ignore[reportOptionalMemberAccess]
                bio.seek(0)  # pyright: ignore[reportOptionalMemberAccess]
                self._wraps += 1
            return self.chunk
        waiting = self._olen - self._opos
        stream = self.stream
        if stream is None:
            return waiting
        pos = self._where()
        if pos == len(stream):
            pos = self._pos = 0
            self._wraps += 1
            if bio is not None:
                bio.seek(0)
        if waiting:
            edge = pos % self.frame_len
            if edge == 0:
                return waiting
            left = self.frame_len - edge
        else:
            left = len(stream) - pos
        return left if left < self.chunk else self.chunk

    def _readinto_slow(self, buf, nbytes=None):
        # readinto() while a reply waits, without a stream, or on CPython:
        # like the module, replies only between frames.
        n = min(self.any(), len(buf) if nbytes is None else min(nbytes, len(buf)))
        if not n:
            return None
        if self._olen > self._opos and (self.stream is None or self._where() % self.frame_len == 0):
            copy(buf, 0, self._out, self._opos, n)
            self._opos += n
            if self._opos == self._olen and self.stream is not None:
                self._steady()
            return n
        if self._bio is not None:
            self._bio.readinto(buf, n)
        else:
            copy(buf, 0, self.stream, self._pos, n)
            self._pos += n
        return n

    def _where(self):
        # Where the stream goes on: the BytesIO's own position on MicroPython.
        return self._bio.tell() if self._bio is not None else self._pos


def _number(b, s, e):
    v = 0
    while s < e and 48 <= b[s] <= 57:
        v = v * 10 + b[s] - 48
        s += 1
    return v
