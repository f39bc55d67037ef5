# Event-loop stalls (issue 14), run by tools/bench/run.py on the MicroPython unix
# port: an asyncio program with a 10 ms heartbeat task, the driver on a SocketUART
# to the emulator (paced to a baud rate, with its control channel), after
# wizfi360.install(), so that asyncio's streams use the driver.
#
#   micropython tools/bench/stalls.py EMU_PORT CONTROL_PORT DATA_PORT SIZE DNS_NAME [TXBUF BAUD]
#
# With TXBUF and BAUD the UART's write() waits as a Pico's machine.UART.write()
# does: it returns only once every byte is in a TXBUF-byte transmit buffer that
# the line empties at BAUD / 10 bytes a second (TxWait below; a Pico's default
# txbuf is 256). The emulator paces the same bytes again once it has them, so
# transfers take longer than they would on a board; the stalls are what counts.
#
# The heartbeat does `await asyncio.sleep_ms(10)` in a loop and keeps the largest
# gap between two of its wake-ups beyond those 10 ms: the loop's longest stall.
# Each case is a window over which that largest gap and the number of beats are
# taken, with the workload running through the driver meanwhile:
#
#   connect   asyncio.open_connection() to a peer that accepts after 1 s (the
#             emulator's `connect-delay 1000`), then close
#   write     open, "PUT <SIZE>\n" and SIZE bytes in 2048-byte writes, each
#             awaited with drain(), then the data server's "OK <SIZE>\n" (it
#             checks every byte: tools/bench/run.py's DataHandler)
#   download  open, "GET <SIZE>\n", SIZE bytes read with readinto() into a
#             2048-byte buffer (every byte checked), then close
#   all       the three at once: the write's and the download's links are opened
#             first, then `connect-delay 1000` is set (it holds up the next
#             AT+CIPSTART only), and in the window the connect, the write and the
#             download run side by side
#   dns       socket.getaddrinfo(DNS_NAME, port) through the driver (AT+CIPDOMAIN),
#             which blocks by design: it is not a stream operation asyncio can
#             wait on, and it ends by its own timeout (15 s: WizFi360.resolve)
#
# Prints one line per case:
#
#   STALL <case> <longest stall, us> <beats> <window, us>
#
# The control channel is spoken over the port's own socket module (blocking, a
# local round trip), always outside the windows. The package's optional stream
# module and asyncio's stream module are imported before the first window, as
# README advises for a board (so a window does not include a module's first load).
import gc
import sys
from time import sleep_us, ticks_add, ticks_diff, ticks_us

from pattern import PATTERN_LEN, pattern

import wizfi360
from wizfi360_host.hostuart import SocketUART

wizfi360.install()  # asyncio's streams use the driver from here on
import asyncio  # noqa: E402

import wizfi360.stream  # noqa: E402, F401  # loaded up front, as README advises for a board
from wizfi360 import socket  # noqa: E402

PERIOD_MS = 10
DELAY_MS = 1000  # the peer accepts after this long
IDLE_MS = 500  # the idle case: the heartbeat alone, nothing else runs
CHUNK = 2048
HOST = "127.0.0.1"

_open_connection = asyncio.open_connection  # asyncio loads its stream module here


class TxWait(SocketUART):
    # write() returns once all its bytes are in a txbuf-byte buffer that the
    # line empties at baud / 10 bytes a second: until then it waits, as
    # machine.UART.write() does on a Pico (ports/rp2/machine_uart.c).
    def __init__(self, host, port, txbuf, baud):
        super().__init__(host, port)
        self._txbuf = txbuf
        self._rate = baud // 10  # bytes a second
        self._empty_at = ticks_us()  # when the buffer will have been sent

    def write(self, buf):
        n = len(buf)
        now = ticks_us()
        ahead = ticks_diff(self._empty_at, now)
        if ahead < 0:
            ahead = 0
            self._empty_at = now
        over = ahead * self._rate // 1000000 + n - self._txbuf  # bytes that must go first
        if over > 0:
            sleep_us(over * 1000000 // self._rate)
        self._empty_at = ticks_add(self._empty_at, n * 1000000 // self._rate)
        return super().write(buf)


def control(port, cmd):
    # One command to the emulator's control channel; returns the reply's value.
    own = wizfi360.host_socket
    s = own.socket()
    try:
        s.connect(own.getaddrinfo(HOST, port)[0][-1])
        s.write(cmd.encode() + b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = s.read(1)
            if not chunk:
                raise OSError("control channel closed")
            reply += chunk
    finally:
        s.close()
    text = reply.decode().strip()
    if not text.startswith("ok"):
        raise OSError("emulator: %r -> %s" % (cmd, text))
    return text[3:]


class Heart:
    # The heartbeat: wakes every PERIOD_MS, keeps the longest gap beyond it.
    def __init__(self):
        self.worst = 0  # us
        self.beats = 0
        self.at = 0  # ticks_us() at the end of the longest gap

    async def run(self):
        period = PERIOD_MS * 1000
        while True:
            t = ticks_us()
            await asyncio.sleep_ms(PERIOD_MS)
            late = ticks_diff(ticks_us(), t) - period
            self.beats += 1
            if late > self.worst:
                self.worst = late
                self.at = ticks_us()

    async def window(self, name, work):
        # Runs the coroutine work while measuring; prints the case's line.
        gc.collect()  # a collection the bench's own set-up made due is not the case's
        await asyncio.sleep_ms(3 * PERIOD_MS)  # the heartbeat is at its pace
        self.worst = 0
        self.beats = 0
        t0 = ticks_us()
        await work
        us = ticks_diff(ticks_us(), t0)
        b = self.beats
        while self.beats == b:  # the gap the window ends in counts too
            await asyncio.sleep_ms(1)
        print("STALL %s %d %d %d %d" % (name, self.worst, self.beats, us, ticks_diff(self.at, t0)))


async def connect_late(ctl, data_port, set_delay=True):
    if set_delay:
        control(ctl, "connect-delay %d" % DELAY_MS)
    r, w = await _open_connection(HOST, data_port)
    w.close()
    await w.wait_closed()


async def opened(data_port):
    return await _open_connection(HOST, data_port)


async def write(pair, size, pat):
    r, w = pair
    w.write(b"PUT %d\n" % size)
    await w.drain()
    sent = 0
    while sent < size:
        k = min(CHUNK, size - sent, PATTERN_LEN - sent % PATTERN_LEN)
        w.write(pat[sent % PATTERN_LEN : sent % PATTERN_LEN + k])
        await w.drain()
        sent += k
    answer = await r.readline()
    w.close()
    await w.wait_closed()
    if answer != b"OK %d\n" % size:
        raise AssertionError("the data server said %r" % answer)


async def download(pair, size, twice):
    r, w = pair
    w.write(b"GET %d\n" % size)
    await w.drain()
    buf = bytearray(CHUNK)
    mbuf = memoryview(buf)
    got = 0
    while got < size:
        k = await r.readinto(buf)
        if not k:
            raise OSError("EOF after %d bytes" % got)
        q = got % PATTERN_LEN
        if mbuf[:k] != twice[q : q + k]:
            raise AssertionError("bytes %d..%d differ" % (got, got + k))
        got += k
    w.close()
    await w.wait_closed()


async def open_then(fn, data_port, *args):
    await fn(await opened(data_port), *args)


async def all_at_once(ctl, data_port, size, pat, twice):
    # The transfers' links are open before the window (their AT+CIPSTART must
    # not be the one connect-delay holds up); then all three go at once.
    up = await opened(data_port)
    down = await opened(data_port)
    control(ctl, "connect-delay %d" % DELAY_MS)
    return (
        download(down, size, twice),
        write(up, size, pat),
        connect_late(ctl, data_port, set_delay=False),
    )


async def gather(coros):
    await asyncio.gather(*coros)


async def idle():
    await asyncio.sleep_ms(IDLE_MS)


async def dns(name, port):
    t0 = ticks_us()
    ip = socket.getaddrinfo(name, port)[0][-1][0]
    print("BLOCK dns %d" % ticks_diff(ticks_us(), t0))
    if ip != HOST:
        raise AssertionError("%s resolved to %s" % (name, ip))


async def main(ctl, data_port, size, name):
    pat = bytes(pattern())
    twice = memoryview(pat * 2)  # any chunk of up to PATTERN_LEN bytes is one slice of it
    heart = Heart()
    beat = asyncio.create_task(heart.run())
    await heart.window("idle", idle())
    control(ctl, "connect-delay %d" % DELAY_MS)
    await heart.window("connect", connect_late(ctl, data_port, set_delay=False))
    await heart.window("write", open_then(write, data_port, size, pat))
    await heart.window("download", open_then(download, data_port, size, twice))
    coros = await all_at_once(ctl, data_port, size, pat, twice)
    await heart.window("all", gather(coros))
    await heart.window("dns", dns(name, data_port))
    beat.cancel()


def run():
    emu_port, ctl, data_port, size = (int(a) for a in sys.argv[1:5])
    name = sys.argv[5]
    if len(sys.argv) > 7:
        uart = TxWait(HOST, emu_port, int(sys.argv[6]), int(sys.argv[7]))
    else:
        uart = SocketUART(HOST, emu_port)
    wifi = wizfi360.WizFi360(uart)
    wifi.active(True)
    wifi.connect("WizFiTest", "wizfi360pass")  # the emulator's default AP
    asyncio.run(main(ctl, data_port, size, name))


run()
