"""The module's network links: real sockets on the host, name resolution."""

import ipaddress
import socket
import threading

RCVBUF = 16384    # small receive window, so a stalled UART soon stalls the peer


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


class Link:
    """One open link (<id> 0..4) and the thread that reads what the peer sends."""

    def __init__(self, link_id, sock, kind, remote_ip, remote_port):
        self.id = link_id
        self.sock = sock
        self.kind = kind
        self.remote_ip = remote_ip
        self.remote_port = remote_port
        self.local_port = sock.getsockname()[1]
        self.closed = False        # set (under the UART lock) once CLOSED is decided

    def start_reader(self, on_data, on_close, bufsize):
        """on_data(link, bytes) per recv (at most bufsize bytes); on_close(link) at EOF."""
        threading.Thread(target=self._read_loop, args=(on_data, on_close, bufsize),
                         name="link-%d" % self.id, daemon=True).start()

    def _read_loop(self, on_data, on_close, bufsize):
        try:
            while not self.closed:
                data = self.sock.recv(bufsize)
                if not data:
                    break
                on_data(self, data)     # blocks while the UART is stalled: backpressure
        except OSError:
            pass
        on_close(self)

    def send(self, data):
        if self.closed:
            return False
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            return False

    def shutdown(self):
        """Close the socket (the caller has set .closed)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
