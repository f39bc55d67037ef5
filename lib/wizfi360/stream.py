# Stream reads and writes and the poll protocol of wizfi360.socket, loaded by
# socket.__getattr__ on first use and added to the socket class at the
# bottom: readinto(), read(), readline() and write() as on a stream, makefile(),
# and ioctl(), through which select.poll and asyncio wait on these sockets
# like on lwIP ones (MicroPython's py/stream.h gives the request numbers).

import errno

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


from .clock import ticks_add, ticks_ms
from .socket import socket

# Private copies of engine.py's constants: folded at compile time, so they cost
# no global and no interned name. The values are defined by engine.py and
# must match (tests_host/test_const_copies.py checks).
_OPEN = const(2)

_SOCK_DGRAM = const(2)

# Stream ioctl requests and poll flags (py/stream.h).
_MP_STREAM_POLL = const(3)
_MP_STREAM_CLOSE = const(4)
_POLL_RD = const(0x01)
_POLL_WR = const(0x04)
_POLL_HUP = const(0x10)
_EINVAL = const(22)


def _stream(sock: socket):
    if sock._type == _SOCK_DGRAM:
        raise OSError(errno.EOPNOTSUPP, "stream reads on a UDP socket: use recv/recvfrom")


def _more(sock: socket, until, partial):
    # 1 when data is waiting, 0 when the read ends here (EOF; or a timeout or
    # no data on a non-blocking socket once something was read), -1 for a
    # non-blocking socket with nothing read.
    try:
        return 1 if sock._wait(until) else 0
    except OSError as e:
        if e.errno == errno.EAGAIN:
            return 0 if partial else -1
        if partial and e.errno == errno.ETIMEDOUT:
            return 0  # what was read is returned, not lost
        raise


def readinto(self: socket, buf, nbytes=None):
    # Stream read: fills nbytes (default len(buf)) unless EOF, a timeout or
    # (non-blocking) no more data comes first; None if a non-blocking socket
    # had nothing. Allocates nothing.
    n = len(buf) if nbytes is None else nbytes
    if n < 0 or n > len(buf):
        raise ValueError("nbytes out of range")
    if self._type == _SOCK_DGRAM:
        _stream(self)  # raises
    ring = self._at.ring(self._live())
    if len(ring) >= n:  # all of it is here already: no deadline, no polling
        return ring.get_into(buf, 0, n)
    t = self._timeout_ms
    until = ticks_add(ticks_ms(), t) if t > 0 else None  # _until(), inline: a hot path
    got = 0
    while got < n:
        m = _more(self, until, got)
        if m < 0:
            return None
        if not m:
            break
        got += ring.get_into(buf, got, n - got)
    return got


def read(self: socket, size=-1):
    if size is not None and size >= 0:
        buf = bytearray(size)
        n = readinto(self, buf)
        if n is None:
            return None
        return bytes(buf) if n == size else bytes(buf[:n])
    return _read_until(self, None)  # to EOF


def readline(self: socket):
    return _read_until(self, b"\n")


def _read_until(sock: socket, end):
    # Everything up to and including `end` (a one-byte bytes), or to EOF.
    _stream(sock)
    chunks = []
    until = sock._until()
    while True:
        m = _more(sock, until, chunks)
        if m < 0:
            return None
        if not m:
            break
        ring = sock._at.ring(sock._link)
        i = ring.find(end) if end is not None else -1
        if i >= 0:
            chunks.append(ring.take(i + 1))
            break
        chunks.append(ring.take(len(ring)))
    return b"".join(chunks)


def write(self: socket, buf, n=None):
    mv = memoryview(buf)
    if n is not None:
        if n < 0 or n > len(mv):
            raise ValueError("n out of range")
        mv = mv[:n]
    self.sendall(mv)
    return len(mv)


def makefile(self: socket, mode="rb", buffering=0):
    return self


def ioctl(self: socket, req, arg):
    if req == _MP_STREAM_POLL:
        return _ready(self, arg)
    if req == _MP_STREAM_CLOSE:
        self.close()
        return 0
    return -_EINVAL  # includes "which fd?": none, poll us through ioctl


def _ready(sock: socket, flags):
    # Poll flags for select.poll: readable when data is waiting or the peer
    # closed, writable while connected. Takes in what the module sent first;
    # allocates nothing.
    link = sock._link
    at = sock._at
    if link < 0:
        if sock._listening:  # readable: a client is waiting for accept()
            at.poll()
            return _POLL_RD if flags & _POLL_RD and at.accepted else 0
        return _POLL_HUP if sock._closed else 0
    at.poll()
    ready = 0
    open_ = at.link_state[link] == _OPEN
    if flags & _POLL_RD and (len(at.ring(link)) or not open_):
        ready |= _POLL_RD
    if flags & _POLL_WR and open_:
        ready |= _POLL_WR
    if not open_:
        ready |= _POLL_HUP
    return ready


socket.readinto = readinto
socket.read = read
socket.readline = readline
socket.write = write
socket.makefile = makefile
socket.ioctl = ioctl
