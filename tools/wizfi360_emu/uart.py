"""The module's serial line, served on a TCP port (one client at a time) and on a pty.

Bytes from the host go to on_rx(data). write() sends bytes to the host and blocks
while the host does not read (backpressure); with nobody listening the bytes are lost,
like on a serial line. Hold .lock around several write() calls to keep them together.

With a baud rate (baud=N), both directions are paced to the line rate (pacing.Pacer):
bytes reach on_rx and leave write() no sooner than a real 8N1 line carries them.
set_line() changes the line settings (AT+UART_CUR) and with them the pace.
"""

import collections
import os
import select
import socket
import threading
import tty

from .pacing import Pacer, char_bits

SNDBUF = 4608  # small kernel buffer toward the host, so backpressure is felt early
FACTORY_BAUD = 115200


def _kill(sock):
    """Close a socket so that threads blocked on it wake up."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class FairLock:
    """A re-entrant lock handed over in arrival order. threading.RLock is not
    fair: a link thread that writes frame after frame while the host reads
    slowly would take it again and again, and a command's answer would wait
    behind all of that link's data. A module interleaves its outputs."""

    def __init__(self):
        self._cond = threading.Condition(threading.Lock())
        self._owner = None
        self._depth = 0
        self._queue = collections.deque()

    def acquire(self):
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            self._queue.append(me)
            while self._owner is not None or self._queue[0] != me:
                self._cond.wait()
            self._queue.popleft()
            self._owner = me
            self._depth = 1
            return True

    def release(self):
        with self._cond:
            self._depth -= 1
            if not self._depth:
                self._owner = None
                self._cond.notify_all()

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


class UartPort:
    def __init__(self, on_rx, host="127.0.0.1", port=0, pty=False, baud=None):
        self.on_rx = on_rx
        # (baud, databits, stopbits, parity, flow) as AT+UART_CUR? reports them
        self._power_up = (baud or FACTORY_BAUD, 8, 1, 0, 0)
        self.line = self._power_up
        self.paced = baud is not None
        self._pace_out = Pacer(baud / 10) if self.paced else None  # toward the host
        self._pace_in = Pacer(baud / 10) if self.paced else None  # from the host
        self.lock = FairLock()
        self.tcp_port = None
        self.pty_path = None
        self._addr = (host, port)
        self._want_pty = pty
        self._client = None
        self._listener = None
        self._master = None
        self._wake = None
        self._threads = []
        self._stopping = False

    # --- lifecycle ---------------------------------------------------------------------
    def start(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(self._addr)
        ls.listen(2)
        self._listener = ls
        self.tcp_port = ls.getsockname()[1]
        self._spawn(self._accept_loop, "uart-accept")
        if self._want_pty:
            master, slave = os.openpty()
            tty.setraw(slave)
            self.pty_path = os.ttyname(slave)
            os.close(slave)  # the master then sees POLLHUP until someone opens the slave
            os.set_blocking(master, False)
            self._master = master
            self._wake = os.pipe()
            self._spawn(self._pty_loop, "uart-pty")

    def set_line(self, baud, databits=8, stopbits=1, parity=0, flow=0):
        """New line settings; from now on both directions run at the new rate."""
        self.line = (baud, databits, stopbits, parity, flow)
        if self.paced:
            rate = baud / char_bits(databits, stopbits, parity)
            self._pace_out.set_rate(rate)
            self._pace_in.set_rate(rate)

    def reset_line(self):
        """Back to the power-up settings (after a module reset)."""
        self.set_line(*self._power_up)

    def stop(self):
        self._stopping = True
        for pacer in (self._pace_out, self._pace_in):
            if pacer is not None:
                pacer.close()
        if self._listener is not None:
            _kill(self._listener)
        client, self._client = self._client, None
        if client is not None:
            _kill(client)
        if self._wake is not None:
            os.write(self._wake[1], b"x")
        for t in self._threads:
            if t is not threading.current_thread():
                t.join(2)
        if self._master is not None:
            with self.lock:  # writers leave _pty_write once _stopping is set
                os.close(self._master)
                os.close(self._wake[0])
                os.close(self._wake[1])
                self._master = None

    def _spawn(self, fn, name, *args):
        t = threading.Thread(target=fn, args=args, name=name, daemon=True)
        self._threads.append(t)
        t.start()

    # --- TCP -----------------------------------------------------------------------------
    def _accept_loop(self):
        while not self._stopping:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SNDBUF)
            old, self._client = self._client, conn  # a new client replaces the old one
            if old is not None:
                _kill(old)
            threading.Thread(target=self._client_loop, args=(conn,), name="uart-client", daemon=True).start()

    def _client_loop(self, conn):
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    break
                self._deliver(data)
        except OSError:
            pass
        finally:
            if self._client is conn:
                self._client = None
            _kill(conn)

    def _deliver(self, data):
        """Hand bytes from the host to on_rx, at the line rate when paced."""
        if not self.paced:
            self.on_rx(data)
            return
        self._pace_in.transmit(data, lambda piece: self.on_rx(bytes(piece)))

    # --- pty -----------------------------------------------------------------------------
    def _pty_loop(self):
        poller = select.poll()
        poller.register(self._master, select.POLLIN)
        poller.register(self._wake[0], select.POLLIN)
        while not self._stopping:
            events = dict(poller.poll(500))
            if self._stopping:
                return
            ev = events.get(self._master, 0)
            if ev & select.POLLIN:
                try:
                    data = os.read(self._master, 4096)
                except (BlockingIOError, OSError):
                    data = b""
                if data:
                    self._deliver(data)
                    continue
            if ev & (select.POLLHUP | select.POLLERR):
                threading.Event().wait(0.05)  # no one has the slave open: idle

    def _pty_write(self, data):
        view = memoryview(data)
        poller = select.poll()
        poller.register(self._master, select.POLLOUT)
        while view and not self._stopping:
            ev = dict(poller.poll(100)).get(self._master, 0)
            if ev & (select.POLLHUP | select.POLLERR | select.POLLNVAL):
                return  # nobody listening: the bytes are lost
            if ev & select.POLLOUT:
                try:
                    view = view[os.write(self._master, view) :]
                except BlockingIOError:
                    pass
                except OSError:
                    return

    # --- output --------------------------------------------------------------------------
    def write(self, data):
        if not data:
            return
        with self.lock:
            if not self.paced:
                self._send(data)
                return
            self._pace_out.transmit(data, self._send)

    def _send(self, data):
        client = self._client
        if client is not None:
            try:
                client.sendall(data)
            except OSError:
                pass  # client went away: the bytes are lost
        if self._master is not None:
            self._pty_write(data)
