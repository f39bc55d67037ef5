# End-to-end transfer, run by tools/bench/run.py on the MicroPython unix port:
# the driver on a SocketUART to the emulator (paced to a baud rate), one TCP
# socket to the bench's data server on 127.0.0.1.
#
#   micropython tools/bench/e2e.py EMU_PORT DATA_PORT SIZE [SSID KEY]
#
# Downloads SIZE bytes (asks with "GET <size>\n"; checks every byte against
# tools/bench/pattern.py), then uploads SIZE bytes in 2048-byte writes
# (after "PUT <size>\n"; the server answers "OK <n>\n" once all arrived and
# matched). Prints
#
#   E2E down <bytes> <microseconds> <peak live heap>
#   E2E up <bytes> <microseconds> <peak live heap>
#
# The peak live heap is gc.mem_alloc() right after a gc.collect(), sampled
# every 64 KB of the transfer (and before it starts).
import gc
import sys
from time import ticks_diff, ticks_us

from pattern import PATTERN_LEN, pattern

import wizfi360
from wizfi360 import socket
from wizfi360_host.hostuart import SocketUART

SAMPLE = 65536


def live():
    gc.collect()
    return gc.mem_alloc()


def connect(port):
    s = socket.socket()
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    return s


def download(port, size, pat):
    twice = memoryview(bytes(pat) * 2)  # any chunk of up to PATTERN_LEN bytes is one slice of it
    peak = live()
    s = connect(port)
    buf = bytearray(2048)
    mbuf = memoryview(buf)
    got = 0
    mark = SAMPLE
    t0 = ticks_us()  # the time includes asking: data may come before SEND OK does
    s.write(b"GET %d\n" % size)
    while got < size:
        k = s.recv_into(buf)
        if not k:
            raise OSError("EOF after %d bytes" % got)
        r = got % PATTERN_LEN
        if mbuf[:k] != twice[r : r + k]:
            raise AssertionError("bytes %d..%d differ" % (got, got + k))
        got += k
        if got >= mark:
            peak = max(peak, live())
            mark += SAMPLE
    us = ticks_diff(ticks_us(), t0)
    s.close()
    return got, us, peak


def upload(port, size, pat):
    peak = live()
    s = connect(port)
    sent = 0
    mark = SAMPLE
    t0 = ticks_us()
    s.write(b"PUT %d\n" % size)
    while sent < size:
        r = sent % PATTERN_LEN
        k = min(2048, size - sent, PATTERN_LEN - r)
        s.sendall(pat[r : r + k])
        sent += k
        if sent >= mark:
            peak = max(peak, live())
            mark += SAMPLE
    answer = s.readline()
    us = ticks_diff(ticks_us(), t0)
    s.close()
    if answer != b"OK %d\n" % size:
        raise AssertionError("server said %r" % answer)
    return sent, us, peak


def main():
    emu_port, data_port, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    ssid = sys.argv[4] if len(sys.argv) > 4 else "WizFiTest"
    key = sys.argv[5] if len(sys.argv) > 5 else "wizfi360pass"
    pat = memoryview(pattern())
    wifi = wizfi360.WizFi360(SocketUART("127.0.0.1", emu_port))
    wifi.active(True)
    wifi.connect(ssid, key)
    print("E2E down %d %d %d" % download(data_port, size, pat))
    print("E2E up %d %d %d" % upload(data_port, size, pat))


main()
