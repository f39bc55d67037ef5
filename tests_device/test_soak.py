# heapsize: 160K
# Soak: many connect/request/close cycles against the TCP echo server, then
# the heap is back at its baseline and every link ID is free and usable.
#
# WIZFI_SOAK_CYCLES sets the cycle count (default 300, a few seconds; `make
# soak` runs 5000). Each cycle opens one socket, sends a request on it and
# reads the echo back byte-exact, then closes the oldest open sockets until
# as many stay open as the cycle's entry in _KEEP says; the one closed last
# sends one more request first. So up to five sockets are open at once, the
# module's link IDs 0-4 all come round again and again, and data flows on
# several links between opens and closes. The read calls rotate through
# read(), recv() loops, recv_into() and readline().
import gc

import board
import harness
from harness import eq, true
from wizfi360 import socket

CYCLES = int(harness.env("WIZFI_SOAK_CYCLES", "300"))
LINKS = 5  # the module's link IDs 0-4 (manual 3.2.3.5)
WARMUP = 40  # cycles before the baseline: every link's ring allocated, lazy imports done

# How many sockets stay open after each cycle (a cycle first opens one more).
_KEEP = (0, 1, 2, 3, 4, 2, 0, 4, 1, 3, 0, 2, 4, 4, 1, 0)

# A heap that is back at its baseline may still differ by a few GC blocks
# (16 bytes each on the unix port): a stale pointer on the C stack or in a
# register keeps a small object alive to a conservative collector. 1 KB is
# half of one link's receive ring (2048 bytes) and less than a socket object
# with its buffers, while a leak of a single block per cycle would add 16
# bytes x 260 cycles = 4 KB even in the short run.
TOLERANCE = 1024

wifi = board.wifi


def _request(cycle, link):
    # Small, different every time, and with bytes that look like protocol text.
    # One b"\n", at the end, for readline().
    return b"req %d link %d\rOK\r+IPD,0,5:\xff\x00>\r\n" % (cycle, link)


def _read_back(sock, want, how):
    n = len(want)
    if how == 0:
        got = sock.read(n)
    elif how == 1:
        got = b""
        while len(got) < n:
            part = sock.recv(n - len(got))
            true(part, "EOF after %d of %d bytes" % (len(got), n))
            got += part
    elif how == 2:
        buf = bytearray(n)
        mv = memoryview(buf)
        k = 0
        while k < n:
            m = sock.recv_into(mv[k:], n - k)
            true(m, "EOF after %d of %d bytes" % (k, n))
            k += m
        got = bytes(buf)
    else:  # the request ends in its only b"\n"
        got = sock.readline()
    eq(got, want)


class Soak:
    def __init__(self):
        self.at = wifi()._at
        self.addr = (board.settings()["echo_host"], board.settings()["echo_port"])
        self.open = []  # (socket, link), oldest first
        self.used = [0] * LINKS  # cycles each link ID served
        self.cycle = 0

    def exchange(self, sock, link):
        req = _request(self.cycle, link)
        sock.write(req)
        _read_back(sock, req, (self.cycle + link) % 4)

    def close_oldest(self):
        sock, link = self.open.pop(0)
        sock.close()
        true(self.at.links[link] is None, "link %d after close" % link)

    def run(self, cycles):
        for _ in range(cycles):
            sock = socket.socket()
            sock.settimeout(5)
            sock.connect(self.addr)
            link = sock._conn.link
            self.used[link] += 1
            self.open.append((sock, link))
            self.exchange(sock, link)
            keep = _KEEP[self.cycle % len(_KEEP)]
            if len(self.open) > keep:
                old, old_link = self.open[0]
                if old is not sock:
                    self.exchange(old, old_link)
            while len(self.open) > keep:
                self.close_oldest()
            self.cycle += 1

    def close_all(self):
        while self.open:
            self.close_oldest()


def _heap():
    gc.collect()
    gc.collect()
    return gc.mem_alloc()


def test_cycles_leave_heap_and_links_as_they_were():
    true(CYCLES > WARMUP, "WIZFI_SOAK_CYCLES must be more than %d" % WARMUP)
    soak = Soak()
    soak.run(WARMUP)
    soak.close_all()
    base = _heap()
    left = CYCLES - WARMUP
    soak.run(left // 2)
    soak.close_all()
    mid = _heap()
    soak.run(left - left // 2)
    soak.close_all()
    end = _heap()
    print("cycles %d, heap after warm-up %d, half-way %d, end %d bytes" % (soak.cycle, base, mid, end))
    print("cycles per link", soak.used)
    true(end - base < TOLERANCE, "heap grew by %d bytes over %d cycles" % (end - base, left))
    for link in range(LINKS):
        true(soak.used[link] >= CYCLES // 20, "link %d served only %d cycles" % (link, soak.used[link]))
        true(soak.at.links[link] is None, "link %d" % link)
    stats = wifi().stats()
    eq((stats["bad_frames"], stats["discarded"], stats["reboots"]), (0, 0, 0))
    _all_five_at_once(soak)


def _all_five_at_once(soak):
    # Every link ID is usable at the end: five sockets open at once, each echoes.
    socks = []
    for _ in range(LINKS):
        sock = socket.socket()
        sock.settimeout(5)
        sock.connect(soak.addr)
        socks.append(sock)
    eq(sorted(s._conn.link for s in socks), list(range(LINKS)))
    for i, sock in enumerate(socks):
        sock.write(b"last %d\n" % i)
    for i, sock in enumerate(socks):
        eq(sock.readline(), b"last %d\n" % i)
    for sock in socks:
        sock.close()
    for link in range(LINKS):
        true(soak.at.links[link] is None, "link %d" % link)


harness.main(globals())
