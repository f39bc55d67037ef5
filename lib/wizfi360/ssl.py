# wizfi360.ssl: TLS on WizFi360 links, shaped like MicroPython's ssl/tls.
#
# The module does TLS itself: a link is opened as "SSL" (manual 3.2.3.5 c)
# and carries plaintext over the UART. It cannot be started on an open TCP
# link, so wrapping a connected socket (what umqtt.simple and requests do)
# closes the link and opens it again as SSL to the same address.
#
# The module does not verify server certificates (the manual has no command
# for it), so only CERT_NONE can be asked for; CERT_REQUIRED raises.
# A failed handshake shows as OK then "<id>,CLOSED", or as a module reboot
# when its TLS buffer (AT+CIPSSLSIZE, 3.2.3.6) is too small (module-notes);
# both raise OSError here, never pass for a connection.

import errno

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


from .at.clock import ticks_add, ticks_ms

# Private copies of at/engine.py's constants: folded at compile time, so they cost
# no global and no interned name. The values are defined by at/engine.py and
# must match (tests_host/package/test_const_copies.py checks).
_OPEN = const(2)

_SOCK_STREAM = const(1)  # socket.SOCK_STREAM

PROTOCOL_TLS_CLIENT = 0
PROTOCOL_TLS_SERVER = 1
CERT_NONE = 0
CERT_OPTIONAL = 1
CERT_REQUIRED = 2

_HANDSHAKE_MS = 300  # how long a CLOSED right after OK still means a failed handshake


def set_buffer_size(size):
    # AT+CIPSSLSIZE=<2048-4096>: the module's TLS buffer. Larger survives
    # servers with big certificate chains; the module reboots when too small.
    import wizfi360

    if not isinstance(size, int) or not 2048 <= size <= 4096:
        raise ValueError("size must be an int 2048-4096")
    wizfi360.current()._ok(b"AT+CIPSSLSIZE=%d" % size)


class SSLContext:
    def __init__(self, protocol=PROTOCOL_TLS_CLIENT):
        if protocol != PROTOCOL_TLS_CLIENT:
            raise ValueError("the module is a TLS client only")
        self.verify_mode = CERT_NONE
        self.check_hostname = False

    def load_verify_locations(self, cafile=None, cadata=None):
        raise OSError(errno.EOPNOTSUPP, "the module cannot verify certificates")

    def load_cert_chain(self, certfile, keyfile=None):
        raise OSError(errno.EOPNOTSUPP, "the module has no client certificates")

    def wrap_socket(self, sock, server_side=False, do_handshake_on_connect=True, server_hostname=None):
        if server_side:
            raise ValueError("the module is a TLS client only")
        if self.verify_mode != CERT_NONE:
            raise OSError(errno.EOPNOTSUPP, "the module cannot verify certificates: use CERT_NONE")
        return _wrap(sock, server_hostname)


def wrap_socket(
    sock,
    server_side=False,
    key=None,
    cert=None,
    cert_reqs=CERT_NONE,
    cadata=None,
    server_hostname=None,
    do_handshake=True,
):
    if server_side or key is not None or cert is not None:
        raise ValueError("the module is a TLS client without certificates")
    ctx = SSLContext()
    ctx.verify_mode = cert_reqs
    if cadata is not None:
        ctx.load_verify_locations(cadata=cadata)
    return ctx.wrap_socket(sock, server_hostname=server_hostname)


def _wrap(sock, server_hostname):
    # The same socket object, from now on a TLS one.
    if sock._type != _SOCK_STREAM:
        raise OSError(errno.EOPNOTSUPP, "TLS needs a TCP socket")
    sock._tls = server_hostname or True
    if sock._conn is not None:
        host, port = sock._remote
        sock._drop(True)
        start(sock, server_hostname or host, port)
    return sock


def start(sock, host, port):
    # AT+CIPSTART=<id>,"SSL",<host>,<port>. A host name goes to the module
    # as it is, so that it can send it as SNI.
    at = sock._at
    reboots = at.reboots
    sock._remote = (host, port)
    try:
        sock._open(b"SSL", host, port, b"", False)
    except OSError as e:
        if e.errno == errno.EINPROGRESS:
            raise  # non-blocking: a failed handshake shows as the connection's end
        if at.reboots != reboots:
            raise OSError(
                errno.ECONNABORTED,
                "module rebooted in the TLS handshake: raise its buffer (ssl.set_buffer_size)",
            )
        raise OSError(e.errno, "TLS connection failed")
    conn = sock._conn
    until = ticks_add(ticks_ms(), _HANDSHAKE_MS)
    while conn.state == _OPEN and at.idle(until):
        pass
    if conn.state != _OPEN and not len(conn):
        sock._drop(True)
        raise OSError(errno.ECONNABORTED, "TLS handshake failed")
