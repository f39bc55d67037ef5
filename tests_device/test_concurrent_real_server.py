# heapsize: 320K
# (Importing microdot from its source, 60 KB, fails at 224K on the 64-bit unix
# port and fits at 256K; 320K leaves room for the 5 links' buffers.)
# An asyncio web server on the driver under load, with a real library run
# unmodified: microdot 2.x from PyPI (requirements-mplib.txt; `make test-device`
# installs it into build/mplib, on MICROPYPATH) serves on the module's server
# port, and CPython's http.client on the host side (tools/testservers.py,
# HttpLoad) is the client: 5 clients at once, 12 requests each, every request on
# a new connection. The module has 5 link IDs (0-4) and gives each new client the
# lowest free one, so the IDs are reused all along: every answer must reach the
# client that asked, byte-exact.
# The clients run on the host because they cannot go through the module: the
# module's own links would be both ends, 10 links for 5 clients. The test asks
# the host for them over the port's own sockets (wizfi360.host_socket) and
# waits for their report without blocking the event loop, which serves them.
# WIZFI_REFERENCE=native runs the same test on the port's own sockets, without
# the driver: the reference the test is written against
#   WIZFI_REFERENCE=native .venv/bin/python tools/run_device_tests.py test_concurrent_real_server
# Off-board only (the clients are part of tools/run_device_tests.py).
import errno
import json

import board
import harness
import wizfi360
from harness import eq

NATIVE = harness.env("WIZFI_REFERENCE") == "native"
CLIENTS = 5
PER_CLIENT = 12  # 60 requests
REPORT_S = 90  # the host's clients give up well before: 2 failures x 10 s each


def load_body(client, k):
    # tools/testservers.py's load_body(): what the host's clients expect.
    unit = b"/r/%d/%d;" % (client, k)
    n = 200 + ((client * 31 + k * 17) % 7) * 300
    return (unit * (n // len(unit) + 1))[:n]


async def _ask_host_clients(port, clients, per_client, timeout_s):
    """Have tools/testservers.py's HttpLoad run its clients against our server on
    `port`; returns its report (a dict). Polls the control connection without
    blocking, so the event loop keeps serving meanwhile."""
    import asyncio
    import time

    import emucontrol

    hs = emucontrol._host_socket()  # the port's own sockets, whether install() ran or not
    ctl = hs.socket()
    try:
        ctl.connect(hs.getaddrinfo("127.0.0.1", int(harness.env("WIZFI_HTTP_LOAD_PORT")))[0][-1])
        ctl.send(b"run %d %d %d\n" % (port, clients, per_client))
        ctl.setblocking(False)
        reply = b""
        deadline = time.ticks_add(time.ticks_ms(), timeout_s * 1000)
        while not reply.endswith(b"\n"):
            if time.ticks_diff(deadline, time.ticks_ms()) < 0:
                raise AssertionError("the host's HTTP clients sent no report in %d s" % timeout_s)
            try:
                chunk = ctl.recv(1024)
            except OSError as e:
                if e.args[0] != errno.EAGAIN:
                    raise
                await asyncio.sleep_ms(20)
                continue
            if not chunk:
                raise AssertionError("the host's HTTP clients closed without a report: %r" % reply)
            reply += chunk
    finally:
        ctl.close()
    return json.loads(reply)


def _free_port():
    """A port for the server: one the module listens on (through the driver), or
    with WIZFI_REFERENCE=native one that the port's own socket can bind."""
    import socket

    probe = socket.socket()
    try:
        if not NATIVE:
            return board.listen_somewhere(probe, backlog=5)
        import time

        for k in range(10):
            port = 40000 + (time.ticks_ms() * 7 + k * 977) % 20000
            try:
                probe.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
                return port
            except OSError:
                pass
        raise OSError("no free port for the server")
    finally:
        probe.close()


def test_microdot_serves_60_requests_from_5_host_clients():
    if not NATIVE:
        board.wifi()
        wizfi360.install()  # microdot's `import asyncio` streams use the driver from here on
    import asyncio

    from microdot import Microdot

    port = _free_port()

    app = Microdot()
    served = []

    @app.route("/r/<int:c>/<int:k>")
    async def r(request, c, k):
        served.append((c, k))
        return load_body(c, k), 200, {"Content-Type": "application/octet-stream"}

    async def main():
        server = asyncio.create_task(app.start_server("0.0.0.0", port))
        for _ in range(100):  # until microdot's asyncio server listens
            if getattr(app, "server", None) is not None:
                break
            await asyncio.sleep_ms(10)
        try:
            report = await _ask_host_clients(port, CLIENTS, PER_CLIENT, REPORT_S)
        finally:
            if getattr(app, "server", None) is not None:
                app.shutdown()
            try:
                await asyncio.wait_for(server, 10)
            except asyncio.TimeoutError:
                print("note: microdot's server did not stop in 10 s")
        return report

    report = asyncio.run(main())
    print(
        "host clients: %d of %d answered right in %s s; the server handled %d"
        % (report["ok"], report["requests"], report["seconds"], len(served))
    )
    for line in report["failures"]:
        print("  " + line)
    if report["failures"] and not NATIVE:
        import emucontrol

        print("the module's links still open at the end: %r" % emucontrol.emu_state()["links"])
        print("requests the server handled, in order: %s" % " ".join("%d/%d" % ck for ck in served))
    eq(
        (report["ok"], report["failures"]),
        (CLIENTS * PER_CLIENT, []),
        "%d of %d requests answered right; first failures: %s"
        % (report["ok"], report["requests"], "; ".join(report["failures"][:3])),
    )


if board.ON_BOARD:
    board.skip_file("the HTTP clients run on the host, in tools/run_device_tests.py")
else:
    harness.main(globals())
