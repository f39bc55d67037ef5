"""Test-side clients of the module's TCP server (AT+CIPSERVER): real loopback TCP
connections that a test opens, sends on, reads from and closes, so that a device test
can be the peer of the links the module's server accepts (control.py: client-open,
client-send, client-recv, client-eof, client-close, link-reuse).

Each client has a number (from 0, never reused while the emulator runs) and a reader
thread that keeps whatever the module sends it, so the module never waits for the test
to fetch it. The calls that change what the host sees (open, send, close, reuse) return
once the module has written the outcome to the UART (<id>,CONNECT, the +IPD frames,
<id>,CLOSED), or raise ClientError after WAIT_S: a test can then count on the order of
the UART's bytes. A client is matched to its link by its local port (the link's remote
port).
"""

import socket
import threading
import time

from .links import kill

WAIT_S = 3.0  # how long a call waits for the module to show its effect on the UART
POLL_S = 0.005


class ClientError(Exception):
    """A client call that could not be done (the reason is the message)."""


def _wait(pred, timeout=WAIT_S):
    """Poll pred() until it is true (True) or timeout seconds have passed (False)."""
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
    return True


class Client:
    """One connection to the module's server, and what the module sent on it."""

    def __init__(self, n, sock):
        self.n = n
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.closed = False  # closed by the test
        self._received = bytearray()
        self._eof = False  # the module's side closed (or the connection broke)
        self._cond = threading.Condition()
        threading.Thread(target=self._read_loop, name="test-client-%d" % n, daemon=True).start()

    def _read_loop(self):
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                data = b""
            with self._cond:
                if not data:
                    self._eof = True
                    self._cond.notify_all()
                    break
                self._received += data
                self._cond.notify_all()
        if self.closed:
            self.sock.close()

    def take(self, least, timeout):
        """What came since the last take(), once at least `least` bytes have (or EOF,
        or timeout seconds passed)."""
        with self._cond:
            self._cond.wait_for(lambda: len(self._received) >= least or self._eof, timeout)
            data = bytes(self._received)
            self._received.clear()
            return data

    def at_eof(self, timeout):
        """True once the module's side has closed the connection (waits up to timeout)."""
        with self._cond:
            return self._cond.wait_for(lambda: self._eof, timeout)

    def close(self):
        """Close the connection gracefully: what was sent goes first, then FIN; the
        socket is closed once the module's side has closed too (no RST, no data lost)."""
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        with self._cond:
            if self._eof:
                self.sock.close()

    def kill(self):
        """Close the connection at once (the emulator stops)."""
        self.closed = True
        kill(self.sock)


class Clients:
    """The emulator's test clients (emu.clients)."""

    def __init__(self, emu):
        self.emu = emu
        self._clients = []  # index: the client's number
        self._lock = threading.Lock()

    # --- lookups -------------------------------------------------------------------------
    def get(self, n, still_open=True):
        """Client n; ClientError if there is none (or, still_open, it has closed)."""
        with self._lock:
            client = self._clients[n] if 0 <= n < len(self._clients) else None
        if client is None or still_open and client.closed:
            raise ClientError("no %sclient %d" % ("open " if still_open else "", n))
        return client

    def link_of(self, client):
        """The module's open link for this client, or None."""
        for link in list(self.emu.links.values()):
            if link.server and link.remote_port == client.port:
                return link
        return None

    def _server_addr(self):
        port = self.emu.server_port
        if port is None:
            raise ClientError("the module's server is off (AT+CIPSERVER=1 first)")
        host = self.emu.server_host
        return ("127.0.0.1" if host in ("", "0.0.0.0") else host), port

    def _new(self, park):
        """Connect a new client (parked: kept back by the emulator, see core.py)."""
        addr = self._server_addr()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        if park:
            self.emu.park_client(sock.getsockname()[1])
        try:
            sock.settimeout(WAIT_S)
            sock.connect(addr)
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as e:
            sock.close()
            raise ClientError("cannot connect to the server: %s" % e) from None
        with self._lock:
            client = Client(len(self._clients), sock)
            self._clients.append(client)
        return client

    def _announced(self, client):
        """The link the module announced for client; ClientError if it refused it."""
        if not _wait(lambda: self.link_of(client) is not None or client.at_eof(0)):
            raise ClientError("client %d: no <id>,CONNECT after %g s" % (client.n, WAIT_S))
        link = self.link_of(client)
        if link is None:
            client.close()
            raise ClientError("the module refused the client (all 5 links taken?)")
        return link

    # --- what the control channel does ----------------------------------------------------
    def open(self, data=b""):
        """A new client connects: (its number, its link id) once <id>,CONNECT is out;
        then it sends data (see send)."""
        client = self._new(park=False)
        link = self._announced(client)
        if data:
            self.send(client.n, data)
        return client.n, link.id

    def send(self, n, data):
        """Client n sends data; returns once the module wrote all of it to the UART."""
        client = self.get(n)
        link = self.link_of(client)
        if link is None:
            raise ClientError("client %d has no open link" % n)
        goal = link.to_host + len(data)
        try:
            client.sock.sendall(data)
        except OSError as e:
            raise ClientError("client %d: %s" % (n, e)) from None
        if not _wait(lambda: link.to_host >= goal or link.closed):
            raise ClientError(
                "client %d: only %d of %d bytes on the UART after %g s (the host is not reading?)"
                % (n, len(data) - (goal - link.to_host), len(data), WAIT_S)
            )
        if link.to_host < goal:
            raise ClientError("client %d: the link closed before all the bytes were on the UART" % n)

    def recv(self, n, least=0, timeout=WAIT_S):
        """What client n received since the last recv (waits for `least` bytes or EOF);
        also once it has closed."""
        return self.get(n, False).take(least, timeout if least else 0)

    def eof(self, n, timeout=0):
        """True once the module's side of client n's connection is closed."""
        return self.get(n, False).at_eof(timeout)

    def close(self, n):
        """Client n closes; returns once the module wrote <id>,CLOSED (or had no link)."""
        client = self.get(n)
        link = self.link_of(client)
        client.close()
        if link is not None and not _wait(lambda: link.closed):
            raise ClientError("client %d: no <id>,CLOSED after %g s" % (n, WAIT_S))

    def reuse(self, link_id, data=b""):
        """The peer of server link link_id closes it and a new client connects at once:
        "<id>,CLOSED" right followed by "<id'>,CONNECT" (id' the lowest free id), then
        the new client's data. The peer closes gracefully if it is a test client (what it
        sent reaches the UART first); else the module closes the link as link-close does.
        Returns (the new client's number, its link id)."""
        emu = self.emu
        link = emu.links.get(link_id)
        if link is None or not link.server:
            raise ClientError("link %d is not a server link" % link_id)
        with self._lock:
            old = [c for c in self._clients if not c.closed and c.port == link.remote_port]
        new = self._new(park=True)
        if not _wait(lambda: emu.parked(new.port)):
            new.close()
            raise ClientError("the server did not accept the new client")
        emu.replace_link(link, new.port)
        if old:
            old[0].close()
        else:
            emu.close_link(link, notify=True)
        if not _wait(lambda: link.closed):
            raise ClientError("link %d: no <id>,CLOSED after %g s" % (link_id, WAIT_S))
        new_link = self._announced(new)
        if data:
            self.send(new.n, data)
        return new.n, new_link.id

    def close_all(self):
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.kill()
