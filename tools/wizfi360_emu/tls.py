"""SSL links (manual 3.2.3.5 c): a real TLS client connection over a TCP socket.

The module has no command to verify certificates, so neither does this: any server
certificate is accepted. The TLS state is an ssl.SSLObject over memory buffers, so
that the link's reader thread and the command thread (CIPSEND) can share it safely:
_state guards the SSLObject, _send_lock keeps records in order on the wire.
"""

import socket
import ssl
import threading

from .links import kill

_CONTEXT = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
_CONTEXT.check_hostname = False
_CONTEXT.verify_mode = ssl.CERT_NONE


class TlsConn:
    """Socket-shaped (recv, sendall, getsockname, shutdown, close) TLS client over sock."""

    def __init__(self, sock, server_hostname=None):
        self.sock = sock
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._obj = _CONTEXT.wrap_bio(self._in, self._out, server_hostname=server_hostname)
        self._state = threading.Lock()
        self._send_lock = threading.Lock()
        self._eof = False

    def handshake(self, timeout):
        """True once the TLS handshake is done; False if it failed or timed out."""
        self.sock.settimeout(timeout)
        try:
            while True:
                try:
                    with self._state:
                        self._obj.do_handshake()
                    self._flush()
                    return True
                except ssl.SSLWantReadError:
                    self._flush()
                    if not self._pull():
                        return False
        except (ssl.SSLError, OSError):
            return False
        finally:
            self.sock.settimeout(None)

    def _pull(self):
        """Feed what the socket has into the TLS state; False at EOF."""
        raw = self.sock.recv(16384)
        with self._state:
            if raw:
                self._in.write(raw)
            else:
                self._in.write_eof()
                self._eof = True
        return bool(raw)

    def _flush(self):
        with self._send_lock:
            with self._state:
                out = self._out.read()
            if out:
                self.sock.sendall(out)

    def recv(self, bufsize):
        """Decrypted bytes (at most bufsize); b"" at the end of the connection."""
        while True:
            try:
                with self._state:
                    data = self._obj.read(bufsize)
                    pending = self._out.pending
                if pending:
                    self._flush()
                return data
            except ssl.SSLWantReadError:
                if self._eof:
                    return b""
                self._pull()  # at EOF, read() then reports how it ended
            except ssl.SSLError:  # close_notify, or EOF without it
                return b""

    def sendall(self, data):
        with self._send_lock:
            with self._state:
                self._obj.write(data)
                out = self._out.read()
            self.sock.sendall(out)

    def getsockname(self):
        return self.sock.getsockname()

    def shutdown(self, how=socket.SHUT_RDWR):
        """Say close_notify if the peer is still there, then shut the socket down."""
        try:
            with self._state:
                self._obj.unwrap()
        except (ssl.SSLError, ValueError):
            pass
        try:
            self._flush()
        except OSError:
            pass
        kill(self.sock)

    def close(self):
        self.sock.close()
