# A WizFi360 stand-in on a UART with no I/O, for the benchmarks (MicroPython
# and CPython). It answers what the driver says at start-up and the link
# commands (AT+CIPSTART, AT+CIPSEND with its data, AT+CIPCLOSE) like the
# module does, and once serve(stream) is called it hands out that pre-built
# +IPD byte stream over and over, as fast as the driver reads it.
#
# Nothing in the steady state allocates: replies are copied into a fixed
# buffer, the CIPSEND replies are built once per length, and stream bytes are
# copied by io.BytesIO.readinto (C, as a board's UART.readinto is: issue 16
# measured the Pico with such a stand-in) on MicroPython, by the driver's own
# allocation-free copy on CPython. So gc.mem_alloc() deltas taken around
# driver calls count the driver's allocations only.
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
        self.frame_len = 1
        self._pos = 0
        self.served = 0  # stream bytes read by the driver
        self.written = 0  # payload bytes taken by CIPSEND
        self.senders = True  # AT+CIPDINFO: +IPD headers name the sender (the factory default)

    def serve(self, stream, frame_len):
        self.stream = stream
        self.frame_len = frame_len
        self._pos = 0
        # MicroPython's readinto(buf, nbytes) of a BytesIO copies in C; CPython's has no nbytes.
        self._bio = io.BytesIO(stream) if sys.implementation.name == "micropython" else None

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
        waiting = self._olen - self._opos
        stream = self.stream
        if stream is None:
            return waiting
        if self._pos == len(stream):
            self._pos = 0
        if waiting:
            edge = self._pos % self.frame_len
            if edge == 0:
                return waiting
            left = self.frame_len - edge
        else:
            left = len(stream) - self._pos
        return left if left < self.chunk else self.chunk

    def readinto(self, buf, nbytes=None):
        bio = self._bio
        if bio is not None and self._olen == self._opos:
            # The steady state, no reply waiting: the stream alone, in C,
            # without a second any() (a board's UART.readinto is C too).
            pos = self._pos
            if pos == len(self.stream) or pos == 0:  # any() may have wrapped _pos already
                pos = 0
                bio.seek(0)
            n = len(self.stream) - pos
            if n > self.chunk:
                n = self.chunk
            if nbytes is not None and nbytes < n:
                n = nbytes
            if n > len(buf):
                n = len(buf)
            n = bio.readinto(buf, n)
            self._pos = pos + n
            self.served += n
            return n or None
        return self._readinto_rest(buf, nbytes)

    def _readinto_rest(self, buf, nbytes):
        # readinto() while a reply waits, or without a stream. Apart from the
        # steady state above so that readinto()'s frame fits the 11 words
        # MicroPython keeps on the C stack (a bigger one is taken from the
        # heap at every call: driver work the bench would count).
        bio = self._bio
        n = min(self.any(), len(buf) if nbytes is None else min(nbytes, len(buf)))
        if not n:
            return None
        if self._olen > self._opos and (self.stream is None or self._pos % self.frame_len == 0):
            copy(buf, 0, self._out, self._opos, n)
            self._opos += n
            return n
        if bio is not None and bio.tell() != self._pos:
            bio.seek(self._pos)
        if bio is None:
            copy(buf, 0, self.stream, self._pos, n)
        else:
            bio.readinto(buf, n)
        self._pos += n
        self.served += n
        return n


def _number(b, s, e):
    v = 0
    while s < e and 48 <= b[s] <= 57:
        v = v * 10 + b[s] - 48
        s += 1
    return v
