# heapsize: 128K
# The receive path allocates nothing per frame in steady state: +IPD frames
# parsed from the UART buffer, copied into the link ring and read out with
# recv_into/readinto, all under micropython.heap_lock().
import gc

from fakemodule import FakeModule, frames

import harness
from harness import eq, true

try:
    import micropython
except ImportError:
    micropython = None

import wizfi360
from wizfi360 import socket


def _run(size, chunk, with_address, method):
    gc.collect()  # the previous test's driver and stream are garbage now
    uart = FakeModule(chunk)
    wifi = wizfi360.WizFi360(uart)
    s = socket.socket()
    s.connect(("10.0.0.2", 80))
    uart.stream, body, uart.frame_len = frames(0, size, 2, with_address)
    buf = bytearray(size)
    read = s.recv_into if method == "recv_into" else s.readinto

    def take(target):
        got = 0
        while got < target:
            k = target - got
            got += read(buf, k if k < size else size)
        return got

    take(4 * size)  # warm up: reach the steady state
    gc.collect()
    if micropython:
        micropython.heap_lock()
    try:
        total = take(50 * size)
    finally:
        if micropython:
            micropython.heap_unlock()
    eq(total, 50 * size)
    # Byte-exact after all that: the next frame's payload reads back whole.
    whole = bytearray(size)
    mv = memoryview(whole)
    got = 0
    while got < size:
        got += read(mv[got:], size - got)
    true(whole == body, "payload differs after the locked run")
    eq(wifi.stats()["bad_frames"], 0)
    s.close()


def test_recv_into_1460_no_alloc():
    _run(1460, 1024, True, "recv_into")


def test_recv_into_536_small_chunks_no_alloc():
    _run(536, 97, True, "recv_into")


def test_readinto_64_no_alloc():
    _run(64, 1024, False, "readinto")


def test_readinto_64_tiny_reads_no_alloc():
    _run(64, 7, True, "readinto")


harness.main(globals())
