# The module's TCP server behind socket.listen()/accept(), loaded on their
# first call. Manual 3.2.3.4: AT+CIPSERVER=1,<port> (multi-link mode, which
# the driver always uses); each client gets a free link ID and is announced
# as "<id>,CONNECT". The engine gives each a Conn as the CONNECT arrives and
# queues it for accept(). One server per module.

import errno

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


from .at.escape import number, text

# For annotations only: server.py is loaded by socket.py, and imports
# nothing of it back at run time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from .socket import socket

# Private copies of wire/parser.py's constants: folded at compile time, so they cost
# no global and no interned name. The values are defined by wire/parser.py and
# must match (tests_host/package/test_const_copies.py checks).
_EV_OK = const(1)

_SOCK_STREAM = const(1)  # socket.SOCK_STREAM


def listen(sock: "socket", backlog=None, idle_s=None):
    # backlog: the module queues what clients come (5 links in all).
    at = sock._at
    if sock._type != _SOCK_STREAM:
        raise OSError(errno.EOPNOTSUPP, "listen() needs a TCP socket")
    if not sock._local:
        raise OSError(errno.EINVAL, "bind() to a port first")
    if at.accepted is not None:
        raise OSError(errno.EADDRINUSE, "the module runs one TCP server at a time")
    if idle_s is not None and not (isinstance(idle_s, int) and 0 <= idle_s <= 7200):
        raise ValueError("idle_s must be an int 0-7200")
    at.accepted = []
    try:
        if sock._dev._cmd(b"AT+CIPSERVER=1,%d" % sock._local)[0] != _EV_OK:
            raise OSError(errno.EADDRINUSE, "the module refused the server port")
        if idle_s is not None:  # clients idle this long are closed (3.2.3.17)
            sock._dev._ok(b"AT+CIPSTO=%d" % idle_s)
    except OSError:
        at.accepted = None
        raise
    sock._listening = True


def accept(sock: "socket"):
    # (socket, (ip, port)) for the oldest waiting client. Blocks, times out
    # (ETIMEDOUT) or raises EAGAIN like any socket, by its timeout.
    if not sock._listening:
        raise OSError(errno.EINVAL, "listen() first")
    at = sock._at
    if sock._timeout_ms == 0:
        at.poll(True)
        if not at.accepted:
            raise OSError(errno.EAGAIN, "no client waiting")
    else:
        at.wait(sock._until())
    conn = at.accepted.pop(0)  # pyright: ignore[reportOptionalMemberAccess]  # a list while listening
    client = sock.__class__()
    client._conn = conn
    client._timeout_ms = sock._timeout_ms
    return client, _peer(sock._dev, conn.link)


def _peer(dev, link):
    # The client's address from AT+CIPSTATUS (3.2.3.7):
    # +CIPSTATUS:<id>,"TCP","<ip>",<remote port>,<local port>,<tcptype>
    for ln in dev._query(b"AT+CIPSTATUS", b"+CIPSTATUS:"):
        f = ln.split(b",")
        if len(f) >= 4 and f[0] == b"%d" % link:
            return text(f[2].strip(b'"')), number(f[3])
    return "0.0.0.0", 0


def stop(sock):
    # AT+CIPSERVER=0; clients not yet accepted are dropped with it.
    at = sock._at
    sock._listening = False
    waiting = at.accepted or ()
    at.accepted = None
    for conn in waiting:
        at.close(conn)
    try:
        sock._dev._cmd(b"AT+CIPSERVER=0")
    except OSError:
        pass  # the module is not answering; nothing is listening here any more
