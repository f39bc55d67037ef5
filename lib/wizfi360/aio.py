# The asyncio layer: what firmware built on asyncio calls, a thin layer over
# the same non-blocking core as the blocking API (at/engine.py), loaded on first
# use. WizFi360.aconnect() and aresolve() are these functions; each submits
# its command and yields to the loop until the engine has its answer, so no
# task waits for an AT exchange.
#
# Sockets need nothing from here: after wizfi360.install(), asyncio's own
# open_connection() and start_server() run on wizfi360 sockets (their
# non-blocking connect, partial writes and ioctl), but resolve host names
# with a blocking getaddrinfo(), as they do on lwIP. open_connection() below
# resolves without blocking, and needs no install().

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


import asyncio
import errno

from .socket import socket

# The type checker takes this name as true whatever its value: the import
# below is for annotations only (no import of the package back at run time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import WizFi360

# Private copies of at/engine.py's constants (Op.result).
_WAITING = const(-1)

_POLL_MS = const(5)  # how often a waiting task looks at the engine again

try:
    _sleep_ms = asyncio.sleep_ms  # pyright: ignore[reportAssignmentType]  # the CPython fallback differs
except AttributeError:  # CPython

    def _sleep_ms(ms):
        return asyncio.sleep(ms / 1000)


_MP_STREAM_POLL = const(3)  # py/stream.h
_POLL_WR = const(0x04)
_POLL_ERR = const(0x08)
_POLL_HUP = const(0x10)


async def _answered(wifi: "WizFi360", op):
    # Yield to the loop until op (an engine.Op) has its final result.
    at = wifi._at
    while op.result == _WAITING:
        at.poll()
        if op.result == _WAITING:
            await _sleep_ms(_POLL_MS)


async def connect(wifi: "WizFi360", ssid, key=None, **kwargs):
    # Join an AP as WizFi360.connect() does, raising the same errors.
    wifi.connect(ssid, key, block=False, **kwargs)
    await _answered(wifi, wifi._join)
    wifi._joined(True)  # raises if it failed (the answer is in already)


async def resolve(wifi: "WizFi360", host):
    # host name -> dotted-quad string, as WizFi360.resolve().
    ip, op = wifi._lookup(host)
    if op is None:
        return ip
    await _answered(wifi, op)
    return wifi._found(host, op)


async def open_connection(host, port, wifi: "WizFi360 | None" = None):
    # (reader, writer) for a TCP connection, as asyncio.open_connection(),
    # with the host name resolved without blocking the loop. wifi: the
    # WizFi360 (default: the most recently created). MicroPython's asyncio
    # only (its Stream is both reader and writer).
    if wifi is None:
        import wizfi360

        wifi = wizfi360.current()
    ip = await resolve(wifi, host)
    s = socket()
    s.setblocking(False)
    try:
        s.connect((ip, port))
    except OSError as e:
        if e.errno != errno.EINPROGRESS:
            raise
    while True:
        ready = s.ioctl(_MP_STREAM_POLL, _POLL_WR)
        if ready & (_POLL_ERR | _POLL_HUP):
            try:
                s.write(b"")  # raises the connection's error
            finally:
                s.close()
            raise OSError(errno.ECONNRESET, "connection closed")
        if ready & _POLL_WR:
            break
        await _sleep_ms(_POLL_MS)
    stream = asyncio.StreamReader(s, {"peername": (ip, port)})  # pyright: ignore[reportCallIssue]
    return stream, stream
