"""The module's network links: real sockets on the host, name resolution, ping.

A Link is one open link (<id> 0..4) and the thread that reads what the peer sends. This
module has the stream kind (a TCP socket, or anything with the same recv/sendall: see
tls.py); udp.py has the datagram kind.
"""

import ipaddress
import socket
import threading
import time

from .uart import _kill as kill  # shutdown + close: wakes the threads blocked on a socket

RCVBUF = 16384  # small receive window, so a stalled UART soon stalls the peer


def resolve(name, dns_map=None):
    """Host name -> IPv4 string, or None. dns_map (name -> IPv4) is consulted first;
    names under the reserved .invalid domain always fail (RFC 6761)."""
    if dns_map:
        hit = dns_map.get(name) or dns_map.get(name.lower())
        if hit:
            return hit
    try:
        return str(ipaddress.IPv4Address(name))
    except ValueError:
        pass
    if not name or name.lower().rstrip(".").endswith(".invalid"):
        return None
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return None
    return infos[0][4][0] if infos else None


class Guarded:
    """A socket one thread blocks on (recvfrom, accept) while another may close it for good.
    close() wakes the blocked call and closes the socket only once the call has returned:
    until then the kernel keeps the port bound, and binding it again would fail."""

    def __init__(self, sock):
        self.sock = sock
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False

    def call(self, fn, *args):
        """fn(*args) (a blocking method of sock); OSError once close() has begun."""
        with self._cond:
            if self._closed:
                raise OSError("socket closed")
            self._busy = True
        try:
            return fn(*args)
        finally:
            with self._cond:
                self._busy = False
                self._cond.notify_all()

    def close(self):
        with self._cond:
            self._closed = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._cond.wait_for(lambda: not self._busy, timeout=1.0)
            self.sock.close()


def open_tcp(ip, port, timeout, keepalive=0):
    """Connect to ip:port; the connected socket, or None if refused/unreachable."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        if keepalive:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
            if hasattr(socket, "TCP_KEEPIDLE"):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, keepalive)
        sock.settimeout(timeout)
        sock.connect((ip, port))
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    except OSError:
        sock.close()
        return None


def ping(ip, timeout, port=7):
    """Round trip in ms (at least 1) of a TCP connection attempt to ip (a refusal counts
    as a reply, like an ICMP echo would); None when the host does not answer in time."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    t0 = time.monotonic()
    try:
        sock.connect((ip, port))
    except ConnectionRefusedError:
        pass
    except OSError:
        return None
    finally:
        sock.close()
    return max(1, round((time.monotonic() - t0) * 1000))


class Link:
    """A stream link: conn is a connected socket (or a tls.TlsConn). server: accepted by
    the module's TCP server (AT+CIPSTATUS tcptype 1)."""

    kind = "TCP"
    mode = 0  # <UDP mode> (udp.py); a stream link's remote never changes

    def __init__(self, link_id, conn, remote_ip, remote_port, server=False):
        self.id = link_id
        self.conn = conn
        self.remote_ip = remote_ip
        self.remote_port = remote_port
        self.local_port = conn.getsockname()[1]
        self.server = server
        self.closed = False  # set (under the UART lock) once CLOSED is decided
        self.last_active = time.monotonic()
        self.to_host = 0  # payload bytes written to the host in +IPD frames so far
        self.successor = None  # (sock, addr) of a client to let in as it closes (core.py)
        self.sendbuf = None  # sendbuf.SendBuffer, once a buffered send used it

    def start_reader(self, on_data, on_close, bufsize):
        """on_data(link, bytes, sender) per arrival (at most bufsize bytes of a stream);
        on_close(link) at EOF."""
        threading.Thread(
            target=self._read_loop, args=(on_data, on_close, bufsize), name="link-%d" % self.id, daemon=True
        ).start()

    def _read_loop(self, on_data, on_close, bufsize):
        try:
            while not self.closed:
                data, sender = self.receive(bufsize)
                if not data:
                    break
                self.last_active = time.monotonic()
                on_data(self, data, sender)  # blocks while the UART is stalled: backpressure
        except OSError:
            pass
        on_close(self)

    def receive(self, bufsize):
        """(bytes, (ip, port) of the sender); b"" at EOF."""
        return self.conn.recv(bufsize), (self.remote_ip, self.remote_port)

    def peer_closed(self):
        """True if the peer's FIN is the next thing in the socket (nothing unread before
        it); never blocks."""
        try:
            return self.conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (OSError, AttributeError, TypeError):  # no data yet, or not a plain socket (TLS)
            return False

    def send(self, data, addr=None):
        if self.closed:
            return False
        self.last_active = time.monotonic()
        try:
            self.conn.sendall(data)
            return True
        except OSError:
            return False

    def shutdown(self):
        """Close the connection (the caller has set .closed)."""
        kill(self.conn)
