"""Runs the parser on cases read from stdin, once with its native fast path
(parser._walk, lib/wizfi360/_ipd_viper.py) and once without, and prints both
outcomes: run by test_parser_fastpath.py under the MicroPython unix port
(`micropython tests_host/parser_twin.py`, MICROPYPATH=lib). Also runs under
CPython, where there is no fast path and both runs are the Python parser.

One case per line, JSON: {"data": hex, "cuts": [piece sizes], "rx": rx_size,
"ring": ring size, "line": line_size, "dgram": datagram rings, "takes": bytes
drained per ring after each step ([]: all of it), "drop": rings detached on
EV_DAMAGED (what the engine does), "ring_links": links that get a ring}.
One reply per line: {"fast": outcome, "slow": outcome, "walked": bytes the
fast path took, "native": whether there is one}; an outcome is {"trace":
[[kind, arg, hex line] or ["d", link, hex payload]], "state": the parser's
counters and state at the end, "error": an exception's text or null}.
"""

import json
import sys
from binascii import hexlify, unhexlify

from wizfi360 import parser
from wizfi360.parser import Parser
from wizfi360.ring import Ring

EV_DAMAGED = 18  # parser._EV_DAMAGED (test_const_copies.py keeps the copies equal)
LINKS = 5
WALK = parser._walk
walked = [0]


def counting_walk(ps, buf, i, end):
    j = WALK(ps, buf, i, end)  # pyright: ignore[reportOptionalCall]
    walked[0] += j - i
    return j


def hx(b):
    return hexlify(bytes(b)).decode()


class Run:
    def __init__(self, case):
        self.case = case
        self.p = p = Parser(LINKS, case["rx"], case["line"])
        for link in case["ring_links"]:
            ring = Ring(case["ring"])
            ring.datagrams = case["dgram"]
            p.rings[link] = ring
        p.handler = self.event
        self.trace = []
        self.takes = case["takes"]
        self.k = 0

    def add(self, link, data):
        t = self.trace
        if t and t[-1][0] == "d" and t[-1][1] == link:
            t[-1][2] += data
        else:
            t.append(["d", link, data])

    def drain(self):
        for link in range(LINKS):
            ring = self.p.rings[link]
            if ring is not None and len(ring):
                self.add(link, ring.take(len(ring)))

    def take_some(self):
        # As test_parser_properties.SlowReader: a little of each ring.
        got = 0
        for link in range(LINKS):
            ring = self.p.rings[link]
            if ring is not None and len(ring):
                data = ring.take(self.takes[self.k % len(self.takes)])
                self.k += 1
                got += len(data)
                self.add(link, data)
        return got

    def event(self, kind, arg, buf, s, e):
        self.drain()
        self.trace.append([kind, arg, bytes(buf[s:e])])
        if kind == EV_DAMAGED and self.case["drop"]:
            self.p.rings = [None] * LINKS

    def feed(self, data):
        p = self.p
        off = 0
        stalls = 0
        while off < len(data) or (self.takes and p.pending()):
            if off < len(data):
                n = p.feed(data[off:])
                off += n
            else:
                before = p.pending()
                p.parse()
                p.settle()
                n = before - p.pending()
            n += self.take_some() if self.takes else 0
            if not self.takes:
                self.drain()
            stalls = stalls + 1 if n == 0 else 0
            if stalls >= 3:
                raise RuntimeError("no progress")
        guard = 0
        while p.pending():
            self.drain()
            p.parse()
            guard += 1
            if guard > 10000:
                raise RuntimeError("no progress")
        p.settle()
        self.drain()

    def outcome(self, error):
        p = self.p
        rings = [None if r is None else [len(r), r.pending(), r.capacity()] for r in p.rings]
        state = [
            p.damaged,
            p.bad_frames,
            p.discarded,
            p.pending(),
            p.in_frame(),
            p.check_state,
            p.link,
            hx(p.peer),
            p.peer_port,
            p._llen,
            rings,
        ]
        trace = [[t[0], t[1], hx(t[2])] for t in self.trace]
        return {"trace": trace, "state": state, "error": error}


def run(case, walk):
    parser._walk = walk
    r = Run(case)
    error = None
    try:
        data = unhexlify(case["data"])
        i = 0
        for n in case["cuts"] + [len(data)]:
            if i >= len(data):
                break
            r.feed(data[i : i + n])
            i += n
    except Exception as e:  # the parser documents none: the test reports it
        error = "%s: %s" % (type(e).__name__, e)
    return r.outcome(error)


def main():
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        case = json.loads(line)
        walked[0] = 0
        fast = run(case, counting_walk if WALK is not None else None)
        slow = run(case, None)
        reply = {"fast": fast, "slow": slow, "walked": walked[0], "native": WALK is not None}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


main()
