#!/usr/bin/env python3
"""A tiny HTTP server that receives the sensor firmware's JSON readings.

Every POST body is parsed as JSON, printed on one line
(`sink: reading seq=3 temp_c=21.6 from pico-1`), kept in `.readings` and
answered with `200 OK`. A body that is not a JSON object gets `400`.
A GET answers with the number of readings received so far. `delay` holds
each answer back (tests of what happens while a post is in flight).

From code:
    sink = HttpSink(port=0).start()      # port 0: pick a free one
    ... sink.port, sink.readings, sink.wait_for(3, timeout=10) ...
    sink.stop()

From the command line:
    python tools/httpsink.py --port 8080
"""

import argparse
import json
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    server_version = "httpsink/1"
    sink = None  # set per server, see HttpSink.start()
    wbufsize = 65536  # send status line, headers and body in one piece

    def handle(self):
        # A client may hang up as soon as it has read the status line.
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            pass

    def do_POST(self):
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > 65536:
            self._answer(400, "bad Content-Length\n")
            return
        body = self.rfile.read(length)
        try:
            reading = json.loads(body)
            if not isinstance(reading, dict):
                raise ValueError("not a JSON object")
        except ValueError as e:
            self.sink._say("sink: rejected a body that is not a JSON object (%s): %r" % (e, body[:80]))
            self._answer(400, "expected a JSON object\n")
            return
        self.sink._add(reading, self.path)
        if self.sink.delay:
            time.sleep(self.sink.delay)
        self._answer(200, "ok\n")

    def do_GET(self):
        self._answer(200, "%d readings\n" % len(self.sink.readings))

    def _answer(self, code, text):
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):  # one line per reading is enough
        pass


class HttpSink:
    def __init__(self, host="127.0.0.1", port=0, quiet=False, out=None, delay=0.0):
        self.host = host
        self.port = port
        self.delay = delay  # seconds between receiving a reading and answering
        self.quiet = quiet
        self.out = out
        self.readings = []
        self._cond = threading.Condition()
        self._server = None
        self._thread = None

    def start(self):
        handler = type("Handler", (_Handler,), {"sink": self})
        self._server = ThreadingHTTPServer((self.host, self.port), handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="httpsink", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait_for(self, count, timeout=10.0):
        """Wait until `count` readings arrived; return True if they did."""
        return wait_for_count(self._cond, self.readings, count, timeout)

    def _add(self, reading, path):
        with self._cond:
            self.readings.append(reading)
            self._cond.notify_all()
        self._say(
            "sink: reading seq=%s temp_c=%s from %s"
            % (reading.get("seq", "?"), reading.get("temp_c", "?"), reading.get("device", "?"))
        )

    def _say(self, line):
        if not self.quiet:
            print(line, file=self.out or sys.stdout, flush=True)


def wait_for_count(cond, items, count, timeout):
    """Wait on the Condition `cond` (notified as `items` grows) until the list
    has `count` entries; True if it got there within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    with cond:
        while len(items) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            cond.wait(left)
    return True


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    ap = argparse.ArgumentParser(description="Receive and print the sensor firmware's JSON readings.")
    ap.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    ap.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080, 0 = any free)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    sink = HttpSink(args.host, args.port).start()
    print("sink: listening on http://%s:%d/ (Ctrl-C to stop)" % (args.host, sink.port), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()
    print("sink: %d readings received" % len(sink.readings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
