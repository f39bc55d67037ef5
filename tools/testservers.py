"""Peers on 127.0.0.1 for the device tests besides the TCP echo: a UDP echo, a TLS echo
and an HTTP(S) server, TLS with a throwaway self-signed certificate (made with openssl
once per process)."""

import http.server
import os
import socket
import ssl
import subprocess
import tempfile
import threading

_CERT = None


def throwaway_cert():
    """(certfile, keyfile) of a fresh self-signed EC certificate for tls.test."""
    global _CERT
    if _CERT is None:
        d = tempfile.mkdtemp(prefix="wizfi360-tls-")
        cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
        subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                key,
                "-out",
                cert,
                "-days",
                "1",
                "-subj",
                "/CN=tls.test",
            ],
            check=True,
            capture_output=True,
        )
        _CERT = (cert, key)
    return _CERT


class UdpEcho:
    """Sends every datagram back to its sender."""

    def __init__(self):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                data, addr = self._sock.recvfrom(65536)
                self._sock.sendto(data, addr)
            except OSError:
                return

    def stop(self):
        self._sock.close()


class TlsEcho:
    """A TLS server that echoes what each client sends until it closes or sends b"bye";
    remembers the SNI name each client sent (None for none)."""

    def __init__(self):
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(*throwaway_cert())
        self.names = []
        self._ctx.sni_callback = lambda sock, name, ctx: self.names.append(name)
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                raw, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(raw,), daemon=True).start()

    def _echo(self, raw):
        try:
            with self._ctx.wrap_socket(raw, server_side=True) as conn:
                while True:
                    data = conn.recv(65536)
                    if not data or data == b"bye":
                        return
                    conn.sendall(data)
        except (OSError, ValueError):
            raw.close()

    def stop(self):
        self._sock.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    """GET /bytes/<n>: n bytes, byte i being i % 251 (a pattern that a reader can
    check at any offset); GET /<anything else>: a body that names the path;
    POST: the request body back."""

    def do_GET(self):
        if self.path.startswith("/bytes/"):
            n = int(self.path[7:])
            self._reply((bytes(range(251)) * (n // 251 + 1))[:n])
            return
        self._reply(b"you asked for " + self.path.encode() + b"\n" + bytes(range(256)) * 8)

    def do_POST(self):
        self._reply(self.rfile.read(int(self.headers.get("Content-Length", "0"))))

    def _reply(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class HttpServer(http.server.ThreadingHTTPServer):
    """HTTP on 127.0.0.1:<ephemeral>; HTTPS with tls=True."""

    daemon_threads = True

    def __init__(self, tls=False):
        super().__init__(("127.0.0.1", 0), _Handler)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*throwaway_cert())
            self.socket = ctx.wrap_socket(self.socket, server_side=True)
        self.port = self.server_address[1]
        threading.Thread(target=self.serve_forever, args=(0.1,), daemon=True).start()

    def stop(self):
        self.shutdown()
        self.server_close()
