# wizfi360.socket: the names of MicroPython's socket module, on WizFi360 links.
#
# Code written for usocket/socket runs unchanged: getaddrinfo() resolves with
# AT+CIPDOMAIN, socket objects map to the module's link IDs 0-4 (manual
# 3.2.3.5), and errors are OSError with the errno lwIP sockets raise.
# Module-level functions use the most recently created WizFi360.
#
# Heap: this module holds what a TCP client needs (connect, send, recv,
# close, timeouts). The other methods live in modules that add them to the
# socket class when imported; socket.__getattr__ imports the right one the
# first time such a method is asked for: stream.py (readinto, read,
# readline, write, makefile, and the ioctl requests of select.poll and
# asyncio), server.py (listen, accept), udp.py (sendto, recvfrom),
# sockopt.py (bind, setsockopt).

import errno
import sys

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


import wizfi360 as _pkg

from .clock import pause, ticks_add, ticks_diff, ticks_ms
from .escape import quote

# Private copies of parser.py's constants: folded at compile time, so they cost
# no global and no interned name. The values are defined by parser.py and
# must match (tests_host/test_const_copies.py checks).
_EV_OK = const(1)
_EV_SEND_OK = const(4)
_EV_ALREADY = const(6)

# Private copies of engine.py's constants: folded at compile time, so they cost
# no global and no interned name. The values are defined by engine.py and
# must match (tests_host/test_const_copies.py checks).
_OPENING = const(1)
_OPEN = const(2)
_BROKEN = const(4)
_NOBODY = const(-1)
_WIFI_UP = const(2)

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

# Stream ioctl requests (py/stream.h), as in stream.py.
_MP_STREAM_POLL = const(3)
_MP_STREAM_CLOSE = const(4)
_EINVAL = const(22)

# The type checker takes this name as true whatever its value: it reads the
# declarations in the class below, which never run.
TYPE_CHECKING = False

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


def getaddrinfo(host, port, af=0, type=0, proto=0, flags=0):
    port = _port(port)  # a bad port is refused before the module is asked
    ip = _pkg.current().resolve(host)
    return [(AF_INET, type or SOCK_STREAM, proto, "", (ip, port))]


class socket(_Base):  # pyright: ignore[reportGeneralTypeIssues]  # _Base: a class chosen at import
    def __init__(self, af=AF_INET, type=SOCK_STREAM, proto=0):
        if af != AF_INET:
            raise OSError(errno.EOPNOTSUPP, "only AF_INET")
        if not (
            type == SOCK_STREAM
            and proto in (0, IPPROTO_TCP)
            or type == SOCK_DGRAM
            and proto in (0, IPPROTO_UDP)
        ):
            raise OSError(errno.EOPNOTSUPP, "SOCK_STREAM (TCP) or SOCK_DGRAM (UDP)")
        self._type = type
        self._local = 0  # bound local port, 0: none
        self._listening = False
        self._tls = None  # wrapped by wizfi360.ssl: True or the server name
        self._remote = None  # (ip, port) once connected
        self._dev = _pkg.current()
        self._at = self._dev._at
        self._link = -1
        self._timeout_ms = -1  # -1 blocking, 0 non-blocking, else milliseconds
        self._closed = False

    # Methods defined elsewhere (see the top of this file), declared here
    # for the type checker only.
    if TYPE_CHECKING:
        from .server import accept, listen
        from .sockopt import bind, setsockopt
        from .stream import makefile, read, readinto, readline, write
        from .udp import recvfrom, sendto

    if not TYPE_CHECKING:  # hidden from the type checker, which would then accept any name

        def __getattr__(self, name):
            # Called only for names the class does not have (yet). Compared
            # one by one: a tuple of names would be one more object on the heap.
            if (
                name == "readinto"
                or name == "read"
                or name == "readline"
                or name == "write"
                or name == "makefile"
            ):
                from . import stream  # noqa: F401
            elif name == "listen" or name == "accept":
                from . import server  # noqa: F401
            elif name == "sendto" or name == "recvfrom":
                from . import udp  # noqa: F401
            elif name == "bind" or name == "setsockopt":
                from . import sockopt  # noqa: F401
            else:
                raise AttributeError(name)
            return getattr(self, name)

    def ioctl(self, req, arg):
        # select.poll.register() asks an object for its file descriptor
        # (MP_STREAM_GET_FILENO) and, if that raises, keeps a broken entry
        # that crashes the next poll() (extmod/modselect.c leaves the case
        # unhandled). So that request is answered here, allocating nothing;
        # polling and closing load stream.py, whose ioctl then replaces this.
        if req != _MP_STREAM_POLL and req != _MP_STREAM_CLOSE:
            return -_EINVAL  # "which fd?": none, poll us through ioctl
        from .stream import ioctl

        return ioctl(self, req, arg)

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

    # -- connection --------------------------------------------------------

    def connect(self, address):
        host, port = address
        if _port(port) == 0:
            raise ValueError("port must be 1-65535")
        if self._link >= 0:
            raise OSError(errno.EALREADY, "already connected")
        if self._tls:  # wrapped before connect: the module resolves for SNI
            from .ssl import start

            start(self, self._tls if self._tls is not True else host, port)
            return
        ip = self._dev.resolve(host)
        if self._type == SOCK_DGRAM:
            from .udp import connect

            connect(self, ip, port)
        else:
            self._open(b"TCP", ip, port, b"", False)
        self._remote = (ip, port)

    def _open(self, kind, ip, port, extra, datagrams):
        # AT+CIPSTART=<id>,<kind>,<ip>,<port><extra> (manual 3.2.3.5) on a
        # free link; the socket holds the link from then on.
        if self._closed:
            raise OSError(errno.EBADF, "socket closed")
        at = self._at
        args = b'"%s",%s,%d%s' % (kind, quote(ip, "host", 63), port, extra)  # refused before a link is taken
        link = at.claim_link()
        at.ring(link).datagrams = datagrams
        t = self._timeout_ms if self._timeout_ms > 0 else _CONNECT_MS
        try:
            result = self._dev._cmd(b"AT+CIPSTART=%d,%s" % (link, args), t)[0]
            if result == _EV_ALREADY:
                # The module still holds this link: its close timed out while
                # the module did not answer. Close it now and start again.
                self._dev._cmd(b"AT+CIPCLOSE=%d" % link, 5000)
                at.link_state[link] = _OPENING  # its CLOSED line was the old link's
                result = self._dev._cmd(b"AT+CIPSTART=%d,%s" % (link, args), t)[0]
        except BaseException:
            at.release_link(link)
            raise
        if result != _EV_OK:
            at.release_link(link)
            if result == _EV_ALREADY:
                raise OSError(errno.EALREADY, "link already connected")
            if at.wifi != _WIFI_UP:
                raise OSError(errno.EHOSTUNREACH, "Wi-Fi not connected")
            raise OSError(errno.ECONNREFUSED, "connection refused")
        if at.link_state[link] == _OPENING:
            at.link_state[link] = _OPEN
        self._link = link

    def close(self):
        self._closed = True
        if self._listening:
            from .server import stop

            stop(self)
        self._drop_link()

    def _drop_link(self):
        link = self._link
        if link < 0:
            return
        self._link = -1
        at = self._at
        was = at.link_state[link]
        # Unread data is dropped first: a full ring would otherwise hold up
        # the parser, and with it the answer to CIPCLOSE.
        at.release_link(link)
        if was == _OPEN or was == _OPENING or was == _BROKEN:
            try:
                self._dev._cmd(b"AT+CIPCLOSE=%d" % link, 5000)  # 3.2.3.15
            except OSError:
                pass  # the module is gone or not answering; the link is ours to reuse

    def _live(self):
        if self._link < 0:
            if self._closed:
                raise OSError(errno.EBADF, "socket closed")
            raise OSError(errno.ENOTCONN, "not connected")
        return self._link

    # -- sending -----------------------------------------------------------

    def send(self, buf):
        mv = memoryview(buf)
        if self._type == SOCK_DGRAM:
            from .udp import send

            return send(self, mv)
        if len(mv) > _MAX_SEND:
            mv = mv[:_MAX_SEND]  # the rest is the caller's, as with any send()
        return self._send(mv, b"")

    def _send(self, mv, dest):
        # One AT+CIPSEND of mv (at most 2048 bytes); returns its length.
        link = self._live()
        at = self._at
        if at.link_state[link] != _OPEN:
            self._lost(link)
            raise OSError(errno.ECONNRESET, "connection closed by peer")
        n = len(mv)
        if n == 0:
            return 0
        result = self._dev._send(link, mv, self._timeout_ms if self._timeout_ms > 0 else _SEND_MS, dest)
        if result == _EV_SEND_OK:
            return n
        if at.link_state[link] != _OPEN:
            self._lost(link)
            raise OSError(errno.ECONNRESET, "connection closed by peer")
        raise OSError(errno.EIO, "send failed")

    def sendall(self, buf):
        mv = memoryview(buf)
        n = len(mv)
        done = 0
        while done < n:
            done += self.send(mv[done:] if done else mv)
        return None

    # -- receiving ---------------------------------------------------------

    def _wait(self, until):
        # Until the link's ring holds data (True) or the peer has closed and
        # everything was read (False). until: tick deadline, or None to block.
        link = self._link
        if link < 0:
            self._live()  # raises
        at = self._at
        ring = at.ring(link)
        at.waiting_on = link  # other links' full rings may grow meanwhile
        try:
            at.poll()
            while not len(ring):
                if at.link_state[link] != _OPEN:
                    self._lost(link)
                    return False
                if self._timeout_ms == 0:
                    raise OSError(errno.EAGAIN, "no data")
                if until is not None and ticks_diff(until, ticks_ms()) <= 0:
                    raise OSError(errno.ETIMEDOUT, "timed out")
                if not at.poll():
                    pause()
            return True
        finally:
            at.waiting_on = _NOBODY
            if at.relax_due is not None:
                at.relax()

    def _lost(self, link):
        # Bytes were lost on the UART (engine.BROKEN); what came before them
        # has been read.
        if self._at.link_state[link] == _BROKEN:
            raise OSError(errno.EIO, "data lost on the UART")

    def _until(self):
        t = self._timeout_ms
        return ticks_add(ticks_ms(), t) if t > 0 else None

    def recv(self, bufsize):
        if self._type == SOCK_DGRAM:
            return self.recvfrom(bufsize)[0]
        if bufsize < 0:
            raise ValueError("bufsize must be >= 0")
        if not self._wait(self._until()):
            return b""
        data = self._at.ring(self._link).take(bufsize)
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
        if not self._wait(self._until()):
            return 0
        return self._at.ring(self._link).get_into(buf, 0, n)
