"""Peers on 127.0.0.1 for the device tests besides the TCP echo: a UDP echo, a TLS echo
and an HTTP(S) server, TLS with a throwaway self-signed certificate (made with openssl
once per process); a peer that streams as soon as a client connects (Blast), and HTTP
clients on this side for a server the test runs on the driver (HttpLoad). Started only
for the files that ask for them (`# peers: mqtt ntp`): a real MQTT broker (amqtt, from
PyPI) and a minimal NTP server (NtpServer)."""

import http.client
import http.server
import json
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

_CERT = None

PATTERN_PERIOD = 4093  # a prime: no read or write size lines up with it


def pattern(seed, n):
    """n bytes of the seed's pattern: byte i is P[i % 4093] with
    P[j] = (j * 167 + (j * j >> 6) + seed * 53) & 0xFF. Every byte value, no short
    repeats, and two seeds differ at every offset (seed 0..255), so bytes of one
    stream that land in another are caught. tests_device/test_concurrent_real_*.py
    compute the same."""
    period = bytes((j * 167 + (j * j >> 6) + seed * 53) & 0xFF for j in range(PATTERN_PERIOD))
    return (period * (n // PATTERN_PERIOD + 1))[:n]


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


class _TcpServer:
    """A TCP server on 127.0.0.1 (any free port: .port) that runs handle(conn) in a
    thread of its own for each client, until stop()."""

    def __init__(self):
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        raise NotImplementedError

    def stop(self):
        self._sock.close()


class TlsEcho(_TcpServer):
    """A TLS server that echoes what each client sends until it closes or sends b"bye";
    remembers the SNI name each client sent (None for none)."""

    def __init__(self):
        self._ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._ctx.load_cert_chain(*throwaway_cert())
        self.names = []
        self._ctx.sni_callback = lambda sock, name, ctx: self.names.append(name)
        super().__init__()

    def handle(self, raw):
        try:
            with self._ctx.wrap_socket(raw, server_side=True) as conn:
                while True:
                    data = conn.recv(65536)
                    if not data or data == b"bye":
                        return
                    conn.sendall(data)
        except (OSError, ValueError):
            raw.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    """GET /bytes/<n>: n bytes, byte i being i % 251 (a pattern that a reader can
    check at any offset); GET /pattern/<seed>/<n>: pattern(seed, n);
    GET /<anything else>: a body that names the path; POST: the request body back."""

    def do_GET(self):
        if self.path.startswith("/bytes/"):
            n = int(self.path[7:])
            self._reply((bytes(range(251)) * (n // 251 + 1))[:n])
            return
        if self.path.startswith("/pattern/"):
            seed, n = self.path[9:].split("/")
            self._reply(pattern(int(seed), int(n)))
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


class Blast(_TcpServer):
    """A peer that starts streaming as soon as a client connects: pattern(BLAST_SEED,
    BLAST_SIZE) at once, then it waits for the client to close (no EOF from this
    side before that, so what is tested is data that arrives unasked)."""

    SEED = 7
    SIZE = 64 * 1024

    def __init__(self):
        self._data = pattern(self.SEED, self.SIZE)
        super().__init__()

    def handle(self, conn):
        with conn:
            try:
                conn.settimeout(120)
                conn.sendall(self._data)
                while conn.recv(4096):
                    pass
            except OSError:
                pass


def load_body(client, k):
    """The body the HttpLoad clients expect for GET /r/<client>/<k>: the path and a
    semicolon, repeated to 200..2000 bytes (a length that varies with client and k).
    tests_device/test_concurrent_real_server.py serves the same."""
    unit = b"/r/%d/%d;" % (client, k)
    n = 200 + ((client * 31 + k * 17) % 7) * 300
    return (unit * (n // len(unit) + 1))[:n]


class HttpLoad(_TcpServer):
    """HTTP clients on this side (CPython's http.client), for a server that a device
    test runs on the driver, whose listening port the emulator opens on 127.0.0.1.

    The test connects to HttpLoad.port (with the port's own sockets, not the driver)
    and sends one line, `run <server port> <clients> <requests per client>`; that
    many threads then each make their requests one after the other, GET
    /r/<client>/<k> with `Connection: close`, a new connection each (so the module's
    link IDs are taken and freed all along), and check each answer: status 200 and
    a body equal to load_body(client, k). A client gives up after MAX_FAILURES
    failed requests. When all are done the reply is one JSON line:
    {"ok": <requests answered right>, "requests": <asked>, "failures": [<text>...],
    "seconds": <how long>}, then the connection closes."""

    TIMEOUT = 10.0  # seconds for one request's connect, or for each read
    MAX_FAILURES = 2
    MAX_REPORTED = 12

    def handle(self, conn):
        with conn:
            try:
                conn.settimeout(30)
                line = b""
                while not line.endswith(b"\n"):
                    chunk = conn.recv(256)
                    if not chunk:
                        return
                    line += chunk
                words = line.decode().split()
                if len(words) != 4 or words[0] != "run":
                    conn.sendall(b'{"error": "expected: run <port> <clients> <requests>"}\n')
                    return
                report = self.run(int(words[1]), int(words[2]), int(words[3]))
                conn.sendall(json.dumps(report).encode() + b"\n")
            except OSError:
                pass

    def run(self, port, clients, per_client):
        """Run the clients against 127.0.0.1:port; returns the report (a dict)."""
        lock = threading.Lock()
        ok = [0]
        failures = []
        t0 = time.monotonic()

        def one(c):
            failed = 0
            for k in range(per_client):
                why = self._request(port, c, k)
                with lock:
                    if why is None:
                        ok[0] += 1
                    else:
                        failures.append("GET /r/%d/%d (at %.1f s): %s" % (c, k, time.monotonic() - t0, why))
                if why is not None:
                    failed += 1
                    if failed >= self.MAX_FAILURES:
                        with lock:
                            failures.append("client %d gave up after %d requests" % (c, k + 1))
                        return

        threads = [threading.Thread(target=one, args=(c,), daemon=True) for c in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return {
            "ok": ok[0],
            "requests": clients * per_client,
            "failures": failures[: self.MAX_REPORTED]
            + (["..."] if len(failures) > self.MAX_REPORTED else []),
            "seconds": round(time.monotonic() - t0, 2),
        }

    def _request(self, port, c, k):
        """None if GET /r/<c>/<k> was answered right, else what went wrong."""
        path = "/r/%d/%d" % (c, k)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=self.TIMEOUT)
        try:
            conn.request("GET", path, headers={"Connection": "close"})
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                return "status %d %s, body %r" % (r.status, r.reason, body[:80])
            want = load_body(c, k)
            if body != want:
                at = next(
                    (i for i, (a, b) in enumerate(zip(body, want)) if a != b), min(len(body), len(want))
                )
                return "body differs at byte %d of %d (got %d bytes): got %r, expected %r" % (
                    at,
                    len(want),
                    len(body),
                    body[at : at + 24],
                    want[at : at + 24],
                )
            return None
        except Exception as e:  # timeouts, resets, malformed answers: all reported
            return "%s: %s" % (type(e).__name__, e)
        finally:
            conn.close()


class MqttBroker:
    """amqtt (PyPI), a real MQTT 3.1.1 broker, as a process of its own on 127.0.0.1:.port,
    anonymous clients allowed. RuntimeError (with its log) if it does not start."""

    START_S = 30.0
    CONFIG = (
        "listeners:\n  default:\n    type: tcp\n    bind: 127.0.0.1:%d\n"
        "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n    allow_anonymous: true\n"
    )

    def __init__(self):
        self._dir = tempfile.mkdtemp(prefix="wizfi360-mqtt-")
        self._proc = None
        for _ in range(3):  # a port taken between choosing it and the broker's bind: again
            if self._start():
                return
        raise RuntimeError("amqtt did not start: %s" % self._log()[-2000:])

    def _start(self):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = os.path.join(self._dir, "broker.yaml")
        with open(config, "w") as f:
            f.write(self.CONFIG % self.port)
        amqtt = Path(sys.executable).parent / "amqtt"
        with open(os.path.join(self._dir, "log"), "wb") as log:
            self._proc = subprocess.Popen(
                [str(amqtt), "-c", config], stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        until = time.monotonic() + self.START_S
        while time.monotonic() < until and self._proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return True
            except OSError:
                time.sleep(0.05)
        self.stop()
        return False

    def _log(self):
        try:
            with open(os.path.join(self._dir, "log"), encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


# Seconds from 1900 (NTP's era 0) to 1970 (the Unix epoch).
NTP_UNIX_DELTA_S = 2208988800


class NtpServer:
    """A minimal NTP server (RFC 5905, server mode) on UDP 127.0.0.1:.port: it answers
    each 48-byte client request (mode 3) with a stratum-1 reply whose receive and
    transmit timestamps are unix_s (a fixed instant, so a test can check the client's
    decoding to the second) and whose origin timestamp is the request's transmit
    timestamp. Other datagrams get no answer. No PyPI package serves NTP on this Python
    (ntps needs 3.13), and NTP servers are no MicroPython library, so it is written here."""

    def __init__(self, unix_s=1773500966):  # 2026-03-14 15:09:26 UTC
        self.unix_s = unix_s
        self.requests = 0
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def reply(self, request):
        """The reply to a request datagram, or None for one that gets none."""
        if len(request) != 48 or request[0] & 0x07 != 3:  # mode 3: client
            return None
        version = (request[0] >> 3) & 0x07
        now = (self.unix_s + NTP_UNIX_DELTA_S) << 32  # 32.32 fixed point, fraction 0
        return struct.pack(
            "!BBbbII4sQQQQ",
            (0 << 6) | (version << 3) | 4,  # leap 0, the client's version, mode 4: server
            1,  # stratum 1: a primary server
            request[2],  # poll: as asked
            -20,  # precision: about a microsecond
            0,  # root delay
            0,  # root dispersion
            b"LOCL",  # reference id: the local clock
            now,  # reference timestamp
            struct.unpack("!Q", request[40:48])[0],  # origin: the request's transmit time
            now,  # receive timestamp
            now,  # transmit timestamp
        )

    def _serve(self):
        while True:
            try:
                data, addr = self._sock.recvfrom(512)
            except OSError:
                return
            answer = self.reply(data)
            if answer is not None:
                self.requests += 1
                try:
                    self._sock.sendto(answer, addr)
                except OSError:
                    return

    def stop(self):
        self._sock.close()
