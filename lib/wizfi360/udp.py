# UDP sockets on WizFi360 links, loaded by wizfi360.socket on first use
# (its sendto() and recvfrom(), and connect() and send() of a SOCK_DGRAM
# socket).
#
# Manual 3.2.3.5 b: AT+CIPSTART=<id>,"UDP",<ip>,<port>[,<local port>,<mode>].
# A socket that sends with sendto() opens its link in mode 2, where the
# receiver may change with every datagram (3.2.3.8: AT+CIPSEND=<id>,<n>,
# <ip>,<port>) and datagrams from any sender arrive, each +IPD with its
# sender once the first UDP socket has set AT+CIPDINFO=1 (3.2.3.14; start-up
# sets 0, for shorter TCP headers). The parser keeps datagrams whole in the link's ring
# behind a record of length and sender (parser.RECORD), so one recv returns
# at most one datagram, as on any UDP socket.

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


from .at.clock import ticks_ms

# Private copies of wire/parser.py's constants: folded at compile time, so they cost
# no global and no interned name. The values are defined by wire/parser.py and
# must match (tests_host/package/test_const_copies.py checks).
_RECORD = const(8)

_MAX_DATAGRAM = const(2048)  # one AT+CIPSEND
_ANY_PEER = const(2)  # UDP mode 2 (3.2.3.5 b)
_EPHEMERAL = const(49152)


def _local_port(sock):
    # The bound port, else one from the dynamic range (the module needs a
    # local port to be told the mode).
    if not sock._local:
        # Ticks are ints (the stubs make them opaque); any varying number will do.
        sock._local = _EPHEMERAL + ticks_ms() % 16384  # pyright: ignore[reportOperatorIssue]
    return sock._local


def _senders(sock):
    # Datagrams need their sender in the +IPD header: on from the first UDP
    # link until the module restarts (start-up turns it off again).
    dev = sock._dev
    dev._resume()
    if not dev._senders:
        dev._ok(b"AT+CIPDINFO=1")
        dev._senders = True


def connect(sock, ip, port):
    # Fixed peer (mode 0): send()/recv(). With bind() first, from that port.
    extra = b",%d,0" % sock._local if sock._local else b""
    _senders(sock)
    sock._open(b"UDP", ip, port, extra, True)


def _datagram(buf):
    mv = memoryview(buf)
    if not 0 < len(mv) <= _MAX_DATAGRAM:
        raise ValueError("a datagram holds 1 to 2048 bytes")
    return mv


def send(sock, buf):
    sock._live()
    return sock._send(_datagram(buf), b"")


def sendto(sock, buf, address):
    host, port = address
    if not isinstance(port, int) or not 0 < port <= 65535:
        raise ValueError("port must be an int 1-65535")
    mv = _datagram(buf)
    ip = sock._dev.resolve(host)
    if sock._conn is None:
        _senders(sock)
        sock._open(b"UDP", ip, port, b",%d,%d" % (_local_port(sock), _ANY_PEER), True)
    return sock._send(mv, b',"%s",%d' % (ip.encode(), port))


def recvfrom(sock, bufsize):
    # One datagram (cut to bufsize, the rest dropped) and its sender.
    if bufsize < 0:
        raise ValueError("bufsize must be >= 0")
    ring = sock._wait(sock._until())
    if ring is None:
        return b"", None
    rec = ring.take(_RECORD)
    n = rec[0] << 8 | rec[1]
    data = ring.take(n if n < bufsize else bufsize)
    if n > bufsize:
        ring.discard(n - bufsize)
    sock._at.poll()  # a datagram held back for room may fit now
    ip = "%d.%d.%d.%d" % (rec[2], rec[3], rec[4], rec[5])
    return data, (ip, rec[6] << 8 | rec[7])
