# Stream reads of wizfi360.socket that return new objects, loaded on their
# first call: read() and readline(), as on a stream.

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


def _read_until(sock: "socket", end):
    # Everything up to and including `end` (a one-byte bytes), or to EOF;
    # None if a non-blocking socket had nothing.
    chunks = []
    until = sock._until()
    while True:
        m = sock._more(until, chunks)
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
