# Receive path and allocation benchmark, run by tools/bench/run.py on the
# MicroPython unix port and on CPython:
#
#   micropython tools/bench/recvpath.py RUNS      (MICROPYPATH=<package>:tools/bench)
#   python tools/bench/recvpath.py RUNS           (lib/ and tools/bench on sys.path)
#
# A WizFi360 on a MemModule (no I/O) with two sockets open; the module "sends"
# a pre-built +IPD stream of 64-, 536- or 1460-byte frames alternating between
# the two links, read through the public socket API: recv_into() of what is
# there into a 2048-byte buffer, or readinto() of one frame's worth, on each
# link in turn. Prints one line per figure:
#
#   RECV <impl> <method> <frame size> <bytes/s of each run>...
#   ALLOC frame <method> <frame size> <heap bytes per frame>    (MicroPython)
#   ALLOC send <send size> <heap bytes per send()>                (MicroPython)
import gc
import sys

from memmodule import MemModule, ipd_stream

import wizfi360
from wizfi360 import socket

try:
    from time import ticks_diff, ticks_us

    def now():
        return ticks_us()

    def seconds(t0, t1):
        return ticks_diff(t1, t0) / 1e6

except ImportError:  # CPython
    from time import perf_counter as now

    def seconds(t0, t1):
        return t1 - t0


IMPL = sys.implementation.name
SIZES = (64, 536, 1460)
METHODS = ("recv_into", "readinto")
RUN_S = 0.25  # each timed run reads for at least this long


def open_pair(size):
    # A WizFi360 on a MemModule serving `size`-byte frames to two open sockets.
    mod = MemModule()
    wizfi360.WizFi360(mod)
    socks = []
    for host in ("10.0.0.2", "10.0.0.3"):
        s = socket.socket()
        s.connect((host, 80))
        socks.append(s)
    pairs = 32768 // size + 1  # a stream of some 64 KB, served over and over
    stream, frame_len, body = ipd_stream((0, 1), size, pairs)
    mod.serve(stream, frame_len)
    return mod, socks, body


def reader(socks, method, size):
    # read(rounds): `rounds` reads from each socket in turn; returns the bytes read.
    buf = bytearray(2048)
    a, b = socks
    if method == "recv_into":
        ra = a.recv_into
        rb = b.recv_into

        def read(rounds):
            got = 0
            for _ in range(rounds):
                got += ra(buf)
                got += rb(buf)
            return got

    else:
        ra = a.readinto
        rb = b.readinto

        def read(rounds):
            got = 0
            for _ in range(rounds):
                got += ra(buf, size)
                got += rb(buf, size)
            return got

    return read


def check_payload(socks, body, size):
    # Frame by frame, the payload comes out byte-exact on both links.
    buf = bytearray(size)
    for _ in range(50):
        for s in socks:
            if s.readinto(buf) != size or buf != body:
                raise AssertionError("payload differs")


def check_count(mod, got, before, size, frame_len):
    # What was read matches what the module handed out, give or take what
    # sits in the driver's buffers (two rings and the UART buffer at most).
    payload = (mod.served - before) * size // frame_len
    if abs(payload - got) > 2 * 2048 + 4096:
        raise AssertionError("read %d bytes, the module sent %d" % (got, payload))


def throughput(size, method, runs):
    mod, socks, body = open_pair(size)
    check_payload(socks, body, size)
    read = reader(socks, method, size)
    rates = []
    rounds = 64
    for _ in range(runs):
        gc.collect()
        got = 0
        before = mod.served
        t0 = now()
        while True:
            got += read(rounds)
            dt = seconds(t0, now())
            if dt >= RUN_S:
                break
        check_count(mod, got, before, size, mod.frame_len)
        rates.append(got / dt)
    for s in socks:
        s.close()
    return rates


def alloc_per_frame(size, method, frames=2000):
    mod, socks, body = open_pair(size)
    read = reader(socks, method, size)
    read(64)  # warm up: rings, lines, everything reached the steady state
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        got = read(frames // 2)
        used = gc.mem_alloc() - before
    finally:
        gc.enable()
    for s in socks:
        s.close()
    return used / (got / size)


def alloc_per_send(size, sends=200):
    mod = MemModule()
    wizfi360.WizFi360(mod)
    s = socket.socket()
    s.connect(("10.0.0.2", 80))
    data = bytearray(size)
    send = s.send
    for _ in range(8):
        send(data)  # warm up
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(sends):
            send(data)
        used = gc.mem_alloc() - before
    finally:
        gc.enable()
    if mod.written != (sends + 8) * size:
        raise AssertionError("the module got %d bytes" % mod.written)
    s.close()
    return used / sends


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    for size in SIZES:
        for method in METHODS:
            rates = throughput(size, method, runs)
            print("RECV %s %s %d %s" % (IMPL, method, size, " ".join("%d" % r for r in rates)))
    if hasattr(gc, "mem_alloc"):
        for size in SIZES:
            for method in METHODS:
                print("ALLOC frame %s %d %.1f" % (method, size, alloc_per_frame(size, method)))
        for size in (64, 536, 2048):
            print("ALLOC send %d %.1f" % (size, alloc_per_send(size)))


main()
