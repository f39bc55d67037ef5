# Stream reads of wizfi360.socket that return new objects, loaded on their
# first call: read() and readline(), as on a stream.

import errno

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


_SOCK_DGRAM = const(2)  # socket.SOCK_DGRAM

# For annotations only: stream.py is loaded by socket.py, and imports
# nothing of it back at run time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .socket import socket


def read(sock: "socket", size=-1):
    if size is not None and size >= 0:
        buf = bytearray(size)
        n = sock.readinto(buf)
        if n is None:
            return None
        return bytes(buf) if n == size else bytes(buf[:n])
    return _read_until(sock, None)  # to EOF


def readline(sock: "socket"):
    return _read_until(sock, b"\n")


def _more(sock: "socket", until, partial):
    # 1 when data is waiting, 0 when the read ends here (EOF; or, once
    # something was read, a timeout or no more data on a non-blocking
    # socket), -1 for a non-blocking socket with nothing read.
    if sock._type == _SOCK_DGRAM:
        raise OSError(errno.EOPNOTSUPP, "stream reads on a UDP socket: use recv/recvfrom")
    try:
        return 0 if sock._wait(until) is None else 1
    except OSError as e:
        if e.errno == errno.EAGAIN:
            return 0 if partial else -1
        if partial and e.errno == errno.ETIMEDOUT:
            return 0  # what was read is returned, not lost
        raise


def _read_until(sock: "socket", end):
    # Everything up to and including `end` (a one-byte bytes), or to EOF;
    # None if a non-blocking socket had nothing.
    chunks = []
    until = sock._until()
    while True:
        m = _more(sock, until, chunks)
        if m < 0:
            return None
        if not m:
            break
        conn = sock._live()
        i = conn.find(end) if end is not None else -1
        if i >= 0:
            chunks.append(conn.take(i + 1))
            break
        chunks.append(conn.take(len(conn)))
    return b"".join(chunks)
