# wizfi360.socket: the names of MicroPython's socket module, on WizFi360 links.
#
# Code written for usocket/socket runs unchanged: getaddrinfo() resolves with
# AT+CIPDOMAIN, a socket holds one connection (at/engine.py, at/conn.py) on one of
# the module's link IDs 0-4 (manual 3.2.3.5), and errors are OSError with the
# errno lwIP sockets raise, and like theirs with the errno's name as the only
# text (a message would be a string object on the heap); the README lists
# what each means.
# Module-level functions use the most recently created WizFi360.
#
# Blocking and non-blocking are one core: every call submits its command to
# the engine; a blocking one then waits on it, a non-blocking one returns at
# once, as lwIP's do: connect() raises EINPROGRESS and completes as POLLOUT,
# send() and write() take what one AT+CIPSEND carries while none of this
# socket's is in flight (else EAGAIN, or None from write()), recv() raises
# EAGAIN. ioctl() answers select.poll and asyncio with the truth.
#
# Heap: this module holds what a TCP client and asyncio need. The less used
# methods are declared here and forward to modules loaded on their first
# call: stream.py (read, readline, makefile), server.py (listen, accept),
# udp.py (sendto, recvfrom), sockopt.py (bind, setsockopt).

import errno
import sys

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


import wizfi360 as _pkg

from .at.clock import ticks_add, ticks_ms
from .at.escape import quote

# Private copies of wire/parser.py's constants: folded at compile time, so they cost
# no global and no interned name. The values are defined by wire/parser.py and
# must match (tests_host/package/test_const_copies.py checks).
_EV_SEND_OK = const(4)

# Private copies of at/engine.py's constants: folded at compile time, so they cost
# no global and no interned name. The values are defined by at/engine.py and
# must match (tests_host/package/test_const_copies.py checks).
_OPENING = const(1)
_OPEN = const(2)
_BROKEN = const(4)
_WAITING = const(-1)
_SEND = const(2)
_START = const(1)

AF_INET = 2
SOCK_STREAM = 1
SOCK_DGRAM = 2
IPPROTO_TCP = 6
IPPROTO_UDP = 17
SOL_SOCKET = 1
SO_REUSEADDR = 4

_MAX_SEND = const(2048)  # bytes per AT+CIPSEND (manual 3.2.3.8)
_CONNECT_MS = const(15000)  # connect() when no timeout is set
_SEND_MS = const(10000)  # one AT+CIPSEND round trip when no timeout is set
_CLOSE_MS = const(5000)

# Stream ioctl requests and poll flags (py/stream.h).
_MP_STREAM_POLL = const(3)
_MP_STREAM_CLOSE = const(4)
_POLL_RD = const(0x01)
_POLL_WR = const(0x04)
_POLL_ERR = const(0x08)
_POLL_HUP = const(0x10)
_EINVAL = const(22)
_LATER = const(-1)  # _wait(): the deadline is the timeout from when the wait begins

# For the type checker only: MicroPython folds the constant and compiles the
# blocks under it away (no global, no interned name); the checker reads them.
_TYPE_CHECKING = const(0)
if _TYPE_CHECKING:
    from .at.conn import Conn
    from .at.engine import Op

# On MicroPython a socket is an io.IOBase so that its ioctl() is used by
# select.poll. CPython's IOBase would close it from __del__ at any moment
# (and send AT commands from the garbage collector): a plain object there.
if sys.implementation.name == "micropython":
    from io import IOBase as _Base
else:
    _Base = object


def _port(port):
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError("port must be an int 0-65535")
    return port


def _error(code):
    # OSError(code), as lwIP's sockets raise it, with the errno's name as its
    # text: a name MicroPython holds already (no string object on the heap),
    # and CPython sets .errno only when given two arguments.
    return OSError(code, errno.errorcode[code])


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):
    port = _port(port)  # a bad port is refused before the module is asked
    ip = _pkg.current().resolve(host)
    return [(AF_INET, type or SOCK_STREAM, proto, "", (ip, port))]


class socket(_Base):  # pyright: ignore[reportGeneralTypeIssues]  # _Base: a class chosen at import
    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=0):
        if af != AF_INET:
            raise _error(errno.EOPNOTSUPP)
        if not (
            type == SOCK_STREAM
            and proto in (0, IPPROTO_TCP)
            or type == SOCK_DGRAM
            and proto in (0, IPPROTO_UDP)
        ):
            raise _error(errno.EOPNOTSUPP)
        self._type = type
        self._local = 0  # bound local port, 0: none
        self._listening = False
        self._tls = None  # wrapped by wizfi360.ssl: True or the server name
        self._remote = None  # (ip, port) once connected
        self._dev = _pkg.current()
        self._at = self._dev._at
        self._conn: "Conn | None" = None
        self._op: "Op | None" = None  # this socket's connect or send in flight, if it did not wait
        self._timeout_ms = -1  # -1 blocking, 0 non-blocking, else milliseconds
        self._closed = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- options -----------------------------------------------------------

    def settimeout(self, value):
        if value is None:
            self._timeout_ms = -1
        elif value < 0:
            raise ValueError("timeout must be None or >= 0")
        else:
            ms = int(value * 1000)
            self._timeout_ms = 1 if value > 0 and ms == 0 else ms

    def setblocking(self, flag):
        self._timeout_ms = -1 if flag else 0

    def _ms(self, default):
        # The deadline of one command: the socket's timeout, if it has one.
        return self._timeout_ms if self._timeout_ms > 0 else default

    # -- connection --------------------------------------------------------

    def connect(self, address):
        host, port = address
        if _port(port) == 0:
            raise ValueError("port must be 1-65535")
        if self._conn is not None:
            raise _error(errno.EALREADY)
        if self._tls:  # wrapped before connect: the module resolves for SNI
            from .ssl import start

            start(self, self._tls if self._tls is not True else host, port)
            return
        ip = self._dev.resolve(host)
        self._remote = (ip, port)
        if self._type == SOCK_DGRAM:
            from .udp import connect

            connect(self, ip, port)
        else:
            self._open(b"TCP", ip, port, b"", False)

    def _open(self, kind, ip, port, extra, datagrams):
        # AT+CIPSTART=<id>,<kind>,<ip>,<port><extra> (manual 3.2.3.5) on a
        # free ID. Non-blocking: EINPROGRESS, and POLLOUT once open.
        if self._closed:
            raise _error(errno.EBADF)
        args = b'"%s",%s,%d%s' % (kind, quote(ip, "host", 63), port, extra)  # refused before an ID is taken
        self._dev._resume()
        conn, op = self._at.open(args, self._ms(_CONNECT_MS), datagrams)
        self._conn = conn
        self._op = op
        if self._timeout_ms == 0 and not datagrams:  # UDP, which has no handshake, waits
            raise _error(errno.EINPROGRESS)
        self._take_result(True)

    def _take_result(self, block):
        # Take the result of this socket's connect or send in flight: raises
        # its failure (once). block: wait for it; else leave it in flight.
        op = self._op
        if op is None:
            return
        try:
            if not self._at.done(op, block):
                return
        except OSError:
            if op.kind == _START:
                self._drop()
            raise
        self._op = None
        conn = self._conn
        if conn is None or not conn.error:
            return
        err = conn.error
        conn.error = 0
        if op.kind == _START:
            self._drop()
        raise _error(err)

    def close(self):
        self._closed = True
        if self._listening:
            from .server import stop

            stop(self)
        self._drop(self._timeout_ms != 0)

    def _drop(self, wait=False):
        # Let go of the connection (engine.close): its unread data goes and
        # the module closes it. wait: until the module has answered.
        conn = self._conn
        if conn is None:
            return
        self._conn = None
        self._op = None
        op = self._at.close(conn, _CLOSE_MS)
        if op is not None and wait:
            try:
                self._at.run(op)
            except OSError:
                pass  # the module is not answering; the ID is taken until it does

    def _live(self) -> "Conn":
        conn = self._conn
        if conn is None:
            if self._closed:
                raise _error(errno.EBADF)
            raise _error(errno.ENOTCONN)
        return conn

    def _lost(self, conn):
        # conn ended; what came before the end has been read.
        self._take_result(False)  # a failed connect raises here
        err = conn.error
        if err:
            conn.error = 0
            raise _error(err)
        if conn.state == _BROKEN:
            raise OSError(errno.EIO, "data lost on the UART")

    # -- sending -----------------------------------------------------------

    def send(self, buf):
        mv = memoryview(buf)
        if self._type == SOCK_DGRAM:
            from .udp import send

            return send(self, mv)
        if len(mv) > _MAX_SEND:
            mv = mv[:_MAX_SEND]  # the rest is the caller's, as with any send()
        return self._send(mv, b"")

    def _send(self, mv, dest, partial=False):
        # One AT+CIPSEND of mv (at most 2048 bytes); returns its length. On
        # a non-blocking socket whose send or connect is still in flight:
        # -1 if partial (write()), else EAGAIN.
        conn = self._live()
        nonblocking = self._timeout_ms == 0
        self._take_result(not nonblocking)
        if self._op is not None or conn.state == _OPENING:
            if partial:
                return -1
            raise _error(errno.EAGAIN)
        if conn.state != _OPEN:
            self._lost(conn)
            raise _error(errno.ECONNRESET)
        n = len(mv)
        if n == 0:
            return 0
        self._dev._resume()
        op = self._at.submit(
            b"AT+CIPSEND=%d,%d%s" % (conn.link, n, dest),
            self._ms(_SEND_MS),
            _SEND,
            conn,
            bytes(mv) if nonblocking else mv,  # a copy when the caller does not wait
        )
        if nonblocking:
            self._op = op  # its failure is raised by the next call
            return n
        if self._at.run(op) == _EV_SEND_OK:
            return n
        if conn.state != _OPEN:
            self._lost(conn)
            raise _error(errno.ECONNRESET)
        conn.error = 0
        raise _error(errno.EIO)

    def sendall(self, buf):
        mv = memoryview(buf)
        n = len(mv)
        done = 0
        while done < n:
            done += self.send(mv[done:] if done else mv)
        return None

    def write(self, buf, n=None):
        # Stream write. Blocking: all of it. Non-blocking: what one send
        # takes now, or None when it can take nothing (asyncio waits for
        # POLLOUT and writes the rest).
        mv = memoryview(buf)
        if n is not None:
            if n < 0 or n > len(mv):
                raise ValueError("n out of range")
            mv = mv[:n]
        if self._timeout_ms != 0:
            self.sendall(mv)
            return len(mv)
        if len(mv) > _MAX_SEND:
            mv = mv[:_MAX_SEND]
        n = self._send(mv, b"", True)
        return None if n < 0 else n

    # -- receiving ---------------------------------------------------------

    def _wait(self, until):
        # This socket's connection once it holds data, or None once it has
        # ended with everything read. until: a tick deadline, None (none), or
        # _LATER: the socket's timeout, counted from when a wait begins.
        # Raises EAGAIN on a non-blocking socket with nothing to read.
        conn = self._conn
        if conn is None:
            conn = self._live()  # raises
        if conn.readable:
            return conn
        at = self._at
        if self._timeout_ms == 0:
            at.poll(conn)
            if not conn.readable and conn.state <= _OPEN:
                self._take_result(False)  # a failed connect shows here
                raise _error(errno.EAGAIN)
        else:
            at.wait(self._until() if until == _LATER else until, conn=conn)
        if conn.readable:
            return conn
        self._lost(conn)
        return None

    def _until(self):
        t = self._timeout_ms
        return ticks_add(ticks_ms(), t) if t > 0 else None

    def recv(self, bufsize):
        if self._type == SOCK_DGRAM:
            return self.recvfrom(bufsize)[0]
        if bufsize < 0:
            raise ValueError("bufsize must be >= 0")
        conn = self._wait(_LATER)
        if conn is None:
            return b""
        data = conn.take(bufsize)
        self._at.poll()  # input held back by a full ring can flow again
        return data

    def recv_into(self, buf, nbytes=0):
        # One read of up to nbytes (default len(buf)) into buf; 0 at EOF.
        # Allocates nothing (TCP).
        n = len(buf) if not nbytes else nbytes
        if n < 0 or n > len(buf):
            raise ValueError("nbytes out of range")
        if self._type == SOCK_DGRAM:
            data = self.recvfrom(n)[0]
            buf[: len(data)] = data
            return len(data)
        conn = self._wait(_LATER)
        if conn is None:
            return 0
        return conn.get_into(buf, 0, n)

    def readinto(self, buf, nbytes=None):
        # Stream read: fills nbytes (default len(buf)) unless EOF, a timeout
        # or (non-blocking) no more data comes first; None if a non-blocking
        # socket had nothing. Allocates nothing. What is here already is
        # taken at once (no deadline, no polling); _read_on waits for more.
        if nbytes is None:
            nbytes = len(buf)
        elif nbytes < 0 or nbytes > len(buf):
            raise ValueError("nbytes out of range")
        conn = self._live()
        if self._type == SOCK_DGRAM:
            raise OSError(errno.EOPNOTSUPP, "stream reads on a UDP socket: use recv/recvfrom")
        got = conn.get_into(buf, 0, nbytes)
        return got if got == nbytes else self._read_on(conn, buf, got, nbytes)

    def _read_on(self, conn, buf, got, n):
        # readinto's waits, under one deadline: returns got plus what came
        # before n, EOF, the timeout or (non-blocking) the end of the data.
        # One call a read, not one a wait: its try makes a frame MicroPython
        # takes from the heap (wire/ring.py).
        until = self._until()
        try:
            while got < n and self._wait(until) is not None:
                got += conn.get_into(buf, got, n - got)
        except OSError as e:
            if e.errno == errno.EAGAIN:
                return got if got else None
            if not (got and e.errno == errno.ETIMEDOUT):
                raise
            # else what was read is returned, not lost
        return got

    # -- select.poll and asyncio -------------------------------------------

    def ioctl(self, req, arg):
        # select.poll.register() asks an object for its file descriptor
        # (MP_STREAM_GET_FILENO) and, if that raises, keeps a broken entry
        # that crashes the next poll() (extmod/modselect.c leaves the case
        # unhandled): answered here, allocating nothing, like the rest.
        if req == _MP_STREAM_POLL:
            return self._ready(arg)
        if req == _MP_STREAM_CLOSE:
            self.close()
            return 0
        return -_EINVAL  # includes "which fd?": none, poll us through ioctl

    def _ready(self, flags):
        # Poll flags: readable when data is waiting or the connection ended,
        # writable when a send can be taken, an error when it failed.
        # Takes in what the module sent first; allocates nothing.
        conn = self._conn
        at = self._at
        if conn is None:
            if self._listening:  # readable: a client is waiting for accept()
                at.poll(True)
                return _POLL_RD if flags & _POLL_RD and at.accepted else 0
            return _POLL_HUP if self._closed else 0
        at.poll(conn)
        op = self._op
        state = conn.state
        ready = 0
        if flags & _POLL_RD and (conn.readable or state > _OPEN):
            ready |= _POLL_RD
        if flags & _POLL_WR and state == _OPEN and (op is None or op.result != _WAITING):
            ready |= _POLL_WR
        if conn.error and (op is None or op.result != _WAITING):
            ready |= _POLL_ERR
        if state > _OPEN:
            ready |= _POLL_HUP
        return ready

    # -- methods loaded on their first call ----------------------------------

    def read(self, size=-1):
        from .stream import read

        return read(self, size)

    def readline(self):
        from .stream import readline

        return readline(self)

    def listen(self, backlog=None, idle_s=None):
        from .server import listen

        listen(self, backlog, idle_s)

    def accept(self):
        from .server import accept

        return accept(self)

    def sendto(self, buf, address):
        from .udp import sendto

        return sendto(self, buf, address)

    def recvfrom(self, bufsize):
        from .udp import recvfrom

        return recvfrom(self, bufsize)

    def makefile(self, mode="rb", buffering=0):
        return self

    def bind(self, address):
        # The local port: for UDP the port datagrams are sent from and
        # received on (manual 3.2.3.5 b), for listen() the server's port
        # (3.2.3.4).
        self._local = _port(address[1])

    def setsockopt(self, level, optname, value):
        # Accepted for code written for lwIP; the module has no such options.
        if level == SOL_SOCKET and optname == SO_REUSEADDR:
            return
        raise _error(errno.EOPNOTSUPP)
