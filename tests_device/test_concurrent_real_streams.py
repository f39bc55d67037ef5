# heapsize: 256K
# Several links at once under asyncio, through MicroPython's own asyncio streams
# (asyncio.open_connection, frozen into the port, run unmodified) after
# wizfi360.install(), against real peers on the host (tools/testservers.py):
#   - 3 HTTP GETs of 50 KB at once, each body different, byte-exact;
#   - 1 MB written to the echo server by one task while another reads it back;
#   - a peer that starts streaming 64 KB as soon as the link opens, while another
#     link does request/response.
# The tests expect what the port's own sockets do (non-blocking connect that
# completes as POLLOUT, partial writes, reads as data comes), which asyncio
# relies on. Each test is bounded (asyncio.wait_for): a hang fails it, saying
# how far each task got, instead of hanging the file.
# WIZFI_REFERENCE=native runs the same tests on the port's own sockets, without
# the driver: the reference the tests are written against
#   WIZFI_REFERENCE=native .venv/bin/python tools/run_device_tests.py test_concurrent_real_streams
# Off-board only (the streaming peer is part of tools/run_device_tests.py).
import board
import harness
import wizfi360
from harness import eq

NATIVE = harness.env("WIZFI_REFERENCE") == "native"
PERIOD = 4093  # tools/testservers.py's PATTERN_PERIOD
BLAST_SEED = 7  # tools/testservers.py's Blast: pattern(7, 64 KB) at once
BLAST_SIZE = 64 * 1024

if not NATIVE and not board.ON_BOARD:
    wizfi360.install()  # asyncio's streams use the driver from here on


def _period(seed):
    # One period of tools/testservers.py's pattern(seed, n).
    return bytes((j * 167 + (j * j >> 6) + seed * 53) & 0xFF for j in range(PERIOD))


class _Check:
    """Checks a stream, chunk by chunk, against pattern(seed, ...)."""

    def __init__(self, seed, what):
        self.p = memoryview(_period(seed))
        self.n = 0
        self.what = what

    def feed(self, data):
        mv = memoryview(data)
        k = len(data)
        j = 0
        while j < k:
            r = (self.n + j) % PERIOD
            m = min(k - j, PERIOD - r)
            if mv[j : j + m] != self.p[r : r + m]:
                i = 0
                while mv[j + i] == self.p[r + i]:
                    i += 1
                at = self.n + j + i
                raise AssertionError(
                    "%s: byte %d differs (in a %d-byte read): got %s, expected %s"
                    % (
                        self.what,
                        at,
                        k,
                        bytes(mv[j + i : j + i + 12]).hex(),
                        bytes(self.p[r + i : r + i + 12]).hex(),
                    )
                )
            j += m
        self.n += k


class _Progress:
    """How far each task got, and when (ms from the start of the test): what a
    failure message shows."""

    def __init__(self, **start):
        import time

        self.t0 = time.ticks_ms()
        self.at = {}
        for k in start:
            self[k] = start[k]

    def __setitem__(self, key, value):
        import time

        self.at[key] = (value, time.ticks_diff(time.ticks_ms(), self.t0))

    def __getitem__(self, key):
        return self.at[key][0]

    def __repr__(self):
        return ", ".join("%s: %s (at %d ms)" % (k, v[0], v[1]) for k, v in sorted(self.at.items()))


def _fresh():
    """A driver and an event loop for this test alone: links an earlier test left
    open would take link IDs, so the module is rebooted first when the emulator
    has any, and the tasks and sockets a failed test left waiting are dropped."""
    import asyncio

    asyncio.new_event_loop()
    if NATIVE:
        return None
    import emucontrol

    if board._fresh_uart is not None:
        # The last test's UART first: an emulator whose writes to it are stuck
        # (a driver that stopped reading) answers its control channel late.
        board._fresh_uart.close()
        board._fresh_uart = None
    links = emucontrol.emu_state().get("links", "")
    if links:
        print("note: links %s still open from an earlier test: rebooting the module" % links)
        emucontrol.emu("reboot")
    return board.fresh_wifi()


def _http_port():
    return int(board.settings()["http_url"].rsplit(":", 1)[1])


async def _bounded(what, coro, seconds, progress):
    """await coro, failing after `seconds` with what each task had done."""
    import asyncio
    import time

    t0 = time.ticks_ms()
    try:
        return await asyncio.wait_for(coro, seconds)
    except asyncio.TimeoutError:
        raise AssertionError("%s: not done in %d s; progress: %s" % (what, seconds, progress))
    except Exception as e:
        print(
            "%s: %s after %d ms; progress: %s"
            % (what, harness.describe(e), time.ticks_diff(time.ticks_ms(), t0), progress)
        )
        raise


async def _close(w):
    # MicroPython's StreamWriter.close() does nothing: wait_closed() closes.
    try:
        w.close()
        await w.wait_closed()
    except Exception as e:
        print("note: close: %s" % harness.describe(e))


async def _get(seed, n, progress):
    """GET /pattern/<seed>/<n> on its own link; checks the body as it comes."""
    import asyncio

    key = "get%d" % seed
    progress[key] = "connecting"
    r, w = await asyncio.open_connection(board.settings()["echo_host"], _http_port())
    try:
        progress[key] = "connected, writing the request"
        w.write(b"GET /pattern/%d/%d HTTP/1.0\r\nHost: echo.test\r\n\r\n" % (seed, n))
        progress[key] = "request written, draining"
        await w.drain()
        progress[key] = "request sent"
        status = await r.readline()
        eq(status[:12], b"HTTP/1.0 200", "GET %d: status line %r" % (seed, status))
        length = None
        while True:
            line = await r.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line[15:])
        eq(length, n, "GET %d: Content-Length" % seed)
        check = _Check(seed, "GET %d" % seed)
        while True:
            chunk = await r.read(2048)
            if not chunk:
                break
            check.feed(chunk)
            progress[key] = check.n
        eq(check.n, n, "GET %d: body bytes before EOF" % seed)
        progress[key] = "done"
    except Exception as e:
        progress[key] = "%s, then %s" % (progress[key], harness.describe(e))
        raise
    finally:
        await _close(w)


def test_three_50k_gets_at_once():
    _fresh()
    import asyncio

    progress = _Progress()
    sizes = ((1, 51200), (2, 51200 + 1111), (3, 51200 + 2222))

    async def main():
        await _bounded(
            "3 GETs of 50 KB",
            asyncio.gather(*(_get(seed, n, progress) for seed, n in sizes)),
            25,
            progress,
        )

    asyncio.run(main())
    eq([progress[k] for k in ("get1", "get2", "get3")], ["done"] * 3)


def test_1mb_to_echo_written_while_read_back():
    _fresh()
    import asyncio

    total = 1024 * 1024
    period = memoryview(_period(5))
    progress = _Progress(written=0, read_back=0)

    async def writer(w):
        sent = 0
        k = 0
        while sent < total:
            # writes of 1..5 KB that start anywhere in the period
            n = min(total - sent, 1000 + (k * 1237) % 4096)
            r = sent % PERIOD
            n = min(n, PERIOD - r)
            w.write(period[r : r + n])
            await w.drain()
            sent += n
            progress["written"] = sent
            k += 1

    async def reader(r):
        check = _Check(5, "1 MB echo")
        while check.n < total:
            chunk = await r.read(4096)
            if not chunk:
                raise AssertionError("1 MB echo: EOF after %d bytes" % check.n)
            check.feed(chunk)
            progress["read_back"] = check.n
        eq(check.n, total)

    async def main():
        s = board.settings()
        r, w = await asyncio.open_connection(s["echo_host"], s["echo_port"])
        try:
            await _bounded("1 MB echo", asyncio.gather(writer(w), reader(r)), 30, progress)
        finally:
            await _close(w)

    asyncio.run(main())
    eq((progress["written"], progress["read_back"]), (total, total))


def test_peer_streaming_at_once_while_another_link_talks():
    _fresh()
    import asyncio

    progress = _Progress(round_trips=0, blast="not started")
    state = {"blast done": False}

    async def talker():
        s = board.settings()
        r, w = await asyncio.open_connection(s["echo_host"], s["echo_port"])
        try:
            k = 0
            while k < 100 or not state["blast done"]:
                msg = b"line %d %s\n" % (k, b"x" * (k * 37 % 300))
                w.write(msg)
                await w.drain()
                back = await r.readline()
                eq(back, msg, "echo link, round trip %d" % k)
                k += 1
                progress["round_trips"] = k
        finally:
            await _close(w)

    async def blast():
        while progress["round_trips"] < 5:  # the other link is busy talking
            await asyncio.sleep_ms(1)
        progress["blast"] = "connecting"
        r, w = await asyncio.open_connection(
            board.settings()["echo_host"], int(harness.env("WIZFI_BLAST_PORT"))
        )
        try:
            progress["blast"] = 0
            check = _Check(BLAST_SEED, "64 KB sent at once by the peer")
            while check.n < BLAST_SIZE:
                chunk = await r.read(2048)
                if not chunk:
                    raise AssertionError("streaming peer: EOF after %d bytes" % check.n)
                check.feed(chunk)
                progress["blast"] = check.n
            progress["blast"] = "done"
        finally:
            await _close(w)
            state["blast done"] = True

    async def main():
        await _bounded("streaming peer + echo link", asyncio.gather(talker(), blast()), 25, progress)

    asyncio.run(main())
    eq(progress["blast"], "done")


if board.ON_BOARD:
    board.skip_file("the streaming peer runs on the host, in tools/run_device_tests.py")
else:
    harness.main(globals())
