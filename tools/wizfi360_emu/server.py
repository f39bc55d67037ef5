"""The module's TCP server (AT+CIPSERVER, manual 3.2.3.4): a real listening socket.

Each accepted connection goes to on_accept(sock, (ip, port)), which makes it a link. A
second thread calls on_tick() every TICK_S seconds, for the idle timeout (AT+CIPSTO).
"""

import socket
import threading

from .links import RCVBUF, Guarded, kill

TICK_S = 0.05


class TcpServer:
    def __init__(self, host, port, on_accept, on_tick):
        """Listen on host:port; OSError if that port is taken."""
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)  # accepted ones inherit it
            ls.bind((host, port))
            ls.listen(5)
        except OSError:
            ls.close()
            raise
        self.port = ls.getsockname()[1]
        self._listener = Guarded(ls)
        self._stopped = threading.Event()
        threading.Thread(
            target=self._accept_loop, args=(on_accept,), name="server-accept", daemon=True
        ).start()
        threading.Thread(target=self._tick_loop, args=(on_tick,), name="server-idle", daemon=True).start()

    def _accept_loop(self, on_accept):
        while not self._stopped.is_set():
            try:
                conn, addr = self._listener.call(self._listener.sock.accept)
            except OSError:
                return
            if self._stopped.is_set():
                kill(conn)
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            on_accept(conn, addr)

    def _tick_loop(self, on_tick):
        while not self._stopped.wait(TICK_S):
            on_tick(self)

    def close(self):
        self._stopped.set()
        self._listener.close()
