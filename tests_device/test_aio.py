# heapsize: 256K
# The asyncio layer (wizfi360/aio.py: WizFi360.aconnect, aresolve and
# aio.open_connection) and the non-blocking join (connect(block=False), then
# status()), on the same core as the blocking API: a heartbeat task keeps
# running while each waits for the module, and errors are those of the
# blocking calls. The emulator's switches (connect-delay) make the module
# slow on purpose: off-board only; on a board the file is skipped.
import errno

import emucontrol

import board
import harness
import wizfi360
from harness import eq, true

try:
    import asyncio
except ImportError:  # pragma: no cover
    asyncio = None

from wizfi360 import aio

try:
    from time import sleep_ms
except ImportError:  # CPython
    import time

    def sleep_ms(ms):
        time.sleep(ms / 1000)


def _beats():
    # A heartbeat task (asyncio.sleep_ms(10) in a loop) and its count.
    count = [0]

    async def beat():
        while True:
            await asyncio.sleep_ms(10)
            count[0] += 1

    return count, beat


def _run(main):
    # A fresh event loop for each test: a failed one leaves no task behind.
    asyncio.new_event_loop()
    asyncio.run(main())


def test_aconnect_joins_while_other_tasks_run():
    w = board.wifi()
    s = board.settings()
    emucontrol.emu("clear")
    count, beat = _beats()

    async def main():
        w.disconnect()
        true(not w.isconnected())
        t = asyncio.create_task(beat())
        await asyncio.sleep_ms(0)
        before = count[0]
        await w.aconnect(s["ssid"], s["key"])
        during = count[0] - before
        t.cancel()
        true(w.isconnected())
        eq(w.status(), wizfi360.STAT_GOT_IP)
        # The emulator takes 0.2 s to join: some twenty heartbeats.
        true(during >= 5, "the loop ran %d heartbeats during a 0.2 s join" % during)

    _run(main)


def test_aconnect_raises_what_connect_raises():
    w = board.wifi()
    s = board.settings()

    async def main():
        e = None
        try:
            await w.aconnect(s["ssid"], "not-the-key")
        except OSError as err:
            e = err
        true(e is not None, "a wrong key joined")
        eq(e.errno, errno.EACCES)
        eq(w.status(), wizfi360.STAT_WRONG_PASSWORD)
        await w.aconnect(s["ssid"], s["key"])
        true(w.isconnected())

    _run(main)


def test_connect_without_blocking_then_status():
    # network.WLAN's connect() returns at once; status() tells progress.
    w = board.wifi()
    s = board.settings()
    w.disconnect()
    w.connect(s["ssid"], s["key"], block=False)
    eq(w.status(), wizfi360.STAT_CONNECTING)
    for _ in range(500):
        if w.status() != wizfi360.STAT_CONNECTING:
            break
        sleep_ms(5)
    eq(w.status(), wizfi360.STAT_GOT_IP)
    true(w.isconnected())


def test_connect_without_blocking_reports_a_wrong_key_in_status():
    w = board.wifi()
    s = board.settings()
    w.connect(s["ssid"], "not-the-key", block=False)
    for _ in range(500):
        if w.status() != wizfi360.STAT_CONNECTING:
            break
        sleep_ms(5)
    eq(w.status(), wizfi360.STAT_WRONG_PASSWORD)
    w.connect(s["ssid"], s["key"])
    true(w.isconnected())


def test_aresolve_resolves_and_refuses_like_resolve():
    w = board.wifi()

    async def main():
        eq(await w.aresolve("echo.test"), "127.0.0.1")
        eq(await w.aresolve("10.1.2.3"), "10.1.2.3")  # a literal: the module is not asked
        e = None
        try:
            await w.aresolve("no-such-host.invalid")
        except OSError as err:
            e = err
        true(e is not None and e.errno == -2, repr(e))

    _run(main)


def test_open_connection_lets_the_loop_run_during_a_slow_connect():
    # The peer accepts after 0.5 s (the emulator's connect-delay): the
    # heartbeat goes on meanwhile, and the stream then carries data.
    w = board.wifi()
    s = board.settings()
    count, beat = _beats()

    async def main():
        t = asyncio.create_task(beat())
        await asyncio.sleep_ms(0)
        emucontrol.emu("connect-delay 500")
        before = count[0]
        r, wr = await aio.open_connection("echo.test", s["echo_port"], w)
        during = count[0] - before
        wr.write(b"hello over asyncio")
        await wr.drain()
        eq(await r.readexactly(18), b"hello over asyncio")
        wr.close()
        await wr.wait_closed()
        t.cancel()
        true(during >= 10, "the loop ran %d heartbeats during a 0.5 s connect" % during)

    try:
        _run(main)
    finally:
        emucontrol.emu("connect-delay 0")


def test_open_connection_raises_a_refused_connect():
    w = board.wifi()
    s = board.settings()

    async def main():
        e = None
        try:
            await aio.open_connection("127.0.0.1", s["refused_port"], w)
        except OSError as err:
            e = err
        true(e is not None and e.errno == errno.ECONNREFUSED, repr(e))

    _run(main)


if asyncio is None or not hasattr(asyncio, "sleep_ms"):
    board.skip_file("needs MicroPython's asyncio")
elif board.ON_BOARD:
    board.skip_file("steers the emulator (connect-delay)")
harness.main(globals())
