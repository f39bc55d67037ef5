# Receive path and allocation benchmark, run by tools/bench/run.py on the
# MicroPython unix port and on CPython:
#
#   micropython tools/bench/recvpath.py RUNS      (MICROPYPATH=<package>:tools/bench)
#   python tools/bench/recvpath.py RUNS           (lib/ and tools/bench on sys.path)
#
# A WizFi360 on a MemModule (no I/O) with two sockets open; the module "sends"
# a pre-built +IPD stream of 64-, 536- or 1460-byte frames alternating between
# the two links (headers as the driver's start-up sets them: without the sender
# since AT+CIPDINFO=0), read through the public socket API into a
# 4096-byte buffer, on each link in turn: recv_into() of what is there, or
# readinto() of the whole buffer. Prints one line per figure:
#
#   RECV <impl> <method> <frame size> <bytes/s of each run>...
#   RXSIZE <method> <frame size> <rx_size> <bytes/s of each run>...  (MicroPython)
#   WIRE <frame size> <bytes of such a frame on the wire>
#   ALLOC frame <method> <frame size> <heap bytes per frame>    (MicroPython)
#   ALLOC send <send size> <heap bytes per send()>                (MicroPython)
#
# With `count SIZE METHOD ROUNDS` it only reads (see count()), for run.py's
# instruction counts under valgrind.
#
# RECV uses WizFi360's default rx_size (its UART read buffer); RXSIZE the
# same reads with other sizes, to show what that buffer does.
import gc
import sys

from memmodule import PEER, MemModule, ipd_stream

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
READ = 4096  # the caller's buffer
RX_SIZES = (1024, 2048, 4096)  # the RXSIZE rows (readinto at 64 and 1460 bytes)
# What may sit in the driver between the module and the reader: two rings
# (each may grow to link_max, 8192 by default, while the other link is read),
# the UART read buffer and the reader's buffer.
IN_FLIGHT = 2 * 8192 + 4096 + READ


def open_pair(size, rx_size=None):
    # A WizFi360 on a MemModule serving `size`-byte frames to two open sockets.
    mod = MemModule()
    if rx_size is None:
        wizfi360.WizFi360(mod)
    else:
        wizfi360.WizFi360(mod, rx_size=rx_size)
    socks = []
    for host in ("10.0.0.2", "10.0.0.3"):
        s = socket.socket()
        s.connect((host, 80))
        socks.append(s)
    pairs = 32768 // size + 1  # a stream of some 64 KB, served over and over
    # Headers as the driver set them up (AT+CIPDINFO at start-up).
    stream, frame_len, body = ipd_stream((0, 1), size, pairs, None if not mod.senders else PEER)
    mod.serve(stream, frame_len)
    return mod, socks, body


def reader(socks, method):
    # read(rounds): `rounds` reads from each socket in turn into a READ-byte
    # buffer (recv_into: what is there; readinto: all of it); returns the bytes read.
    buf = bytearray(READ)
    a, b = socks
    ra = getattr(a, method)
    rb = getattr(b, method)

    def read(rounds):
        got = 0
        for _ in range(rounds):
            got += ra(buf)
            got += rb(buf)
        return got

    return read


def check_payload(socks, body, size):
    # The payload comes out byte-exact on both links: each link's bytes are
    # its frames' bodies end to end, wherever the reads so far left off.
    buf = bytearray(3 * size)
    line = bytes(body) * 5
    for _ in range(8):
        for s in socks:
            if s.readinto(buf) != len(buf) or line.find(bytes(buf)) < 0:
                raise AssertionError("payload differs")


def check_count(mod, got, before, size, frame_len):
    # What was read matches what the module handed out, give or take what
    # sits in the driver's buffers (IN_FLIGHT at most).
    payload = (mod.served() - before) * size // frame_len
    if abs(payload - got) > IN_FLIGHT:
        raise AssertionError("read %d bytes, the module sent %d" % (got, payload))


def throughput(size, method, runs, rx_size=None):
    mod, socks, body = open_pair(size, rx_size)
    check_payload(socks, body, size)
    read = reader(socks, method)
    read(4)  # warm up: rings grown to what reading two links this way takes
    check_payload(socks, body, size)  # and still byte-exact after it
    rates = []
    rounds = 4
    for _ in range(runs):
        gc.collect()
        got = 0
        before = mod.served()
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
    read = reader(socks, method)
    # Warm up to the steady state: rounds until one allocates nothing (the
    # rings grow, once, to what this way of reading two links needs).
    for _ in range(16):
        gc.collect()
        before = gc.mem_alloc()
        read(64)
        if gc.mem_alloc() == before:
            break
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        got = read(frames * size // READ // 2 + 1)
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


def rates_text(rates):
    return " ".join("%d" % r for r in rates)


def count(size, method, rounds):
    # For run.py's instruction counts (valgrind): `rounds` reads of each link
    # after the warm-up; prints the payload bytes read. Two such runs with
    # different rounds give the instructions a frame, start-up cancelled out.
    mod, socks, body = open_pair(size)
    read = reader(socks, method)
    read(8)
    print("GOT %d" % read(rounds))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "count":
        count(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
        return
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    mod = MemModule()
    wizfi360.WizFi360(mod)  # what it asks the module for at start-up: +IPD headers with or without the sender
    peer = PEER if mod.senders else None
    for size in SIZES:
        print("WIRE %d %d" % (size, ipd_stream((0,), size, 1, peer)[1]))
        for method in METHODS:
            print("RECV %s %s %d %s" % (IMPL, method, size, rates_text(throughput(size, method, runs))))
    if hasattr(gc, "mem_alloc"):
        for size in (64, 1460):
            for rx_size in RX_SIZES:
                rates = throughput(size, "readinto", max(3, runs // 2), rx_size)
                print("RXSIZE readinto %d %d %s" % (size, rx_size, rates_text(rates)))
        for size in SIZES:
            for method in METHODS:
                print("ALLOC frame %s %d %.1f" % (method, size, alloc_per_frame(size, method)))
        for size in (64, 536, 2048):
            print("ALLOC send %d %.1f" % (size, alloc_per_send(size)))


main()
