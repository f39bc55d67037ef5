"""The parser run twice on the same input: once with its native fast path
(parser._walk, lib/wizfi360/wire/_ipd_viper.py) and once without, for tests that
compare the two outcomes (tests_device/test_native.py; tests_host/
test_parser_fastpath.py runs this file as a script under the unix port,
`micropython tests_device/parsertwin.py` with MICROPYPATH=lib). Under
CPython there is no fast path: both runs are the Python parser.

twin(data, ...) returns (fast outcome, slow outcome, bytes the fast path
took); an outcome is {"trace": [[kind, arg, line] or ["d", link, payload]],
"state": the parser's counters and state at the end, "error": an
exception's text or None}. The options: cuts (piece sizes fed one by one),
rx (rx_size), ring (ring size), line (line_size), dgram (datagram rings),
takes (bytes drained per ring after each step; empty: all of it), drop
(rings detached on EV_DAMAGED, as the engine does), ring_links (links that
get a ring).

As a script it reads one case per line on stdin, JSON with the same names
and "data" in hex, and prints {"fast": ..., "slow": ..., "walked": n,
"native": bool} per line, bytes in hex.
"""

from binascii import hexlify, unhexlify

from wizfi360.wire import parser
from wizfi360.wire.parser import Parser
from wizfi360.wire.ring import Ring

EV_DAMAGED = 18  # parser.py's _EV_DAMAGED (wizfi360_host.consts.EV_DAMAGED, not on a board)

LINKS = 5
WALK = parser._walk
walked = [0]


def counting_walk(buf, i, end, ps):
    j = WALK(buf, i, end, ps)  # pyright: ignore[reportOptionalCall]
    walked[0] += j - i
    return j


def hx(b):
    return hexlify(bytes(b)).decode()


class Run:
    def __init__(self, rx, ring, line, dgram, takes, drop, ring_links, swap, close):
        self.p = p = Parser(LINKS, rx, line)
        for link in ring_links:
            r = Ring(ring)
            r.datagrams = dgram
            p.rings[link] = r
        p.handler = self.event
        self.trace = []
        self.takes = takes
        self.drop = drop
        self.k = 0
        self.ring_size = ring
        self.swap = swap
        self.close = close  # swap as a close does: parser.drop() first
        self.retired = []  # rings that swap() took off link 0; traced as link 10, 11, ...

    def add(self, link, data):
        t = self.trace
        if t and t[-1][0] == "d" and t[-1][1] == link:
            t[-1][2] += data
        else:
            t.append(["d", link, data])

    def drain(self):
        # Everything the rings hold goes to the trace; returns the byte count.
        got = 0
        for link in range(LINKS):
            ring = self.p.rings[link]
            if ring is not None and len(ring):
                got += len(ring)
                self.add(link, ring.take(len(ring)))
        for k, ring in enumerate(self.retired):
            if len(ring):
                got += len(ring)
                self.add(10 + k, ring.take(len(ring)))
        return got

    def swap_ring(self):
        # Link 0 passes to a new connection, as the engine hands an ID on
        # after "0,CLOSED": the old ring keeps what was its frames' (a frame
        # in progress included, as parse() goes on with it).
        old = self.p.rings[0]
        if old is not None:
            if self.close:
                self.p.drop(old)  # its socket closed: the rest of its frame goes nowhere
            self.retired.append(old)
            r = Ring(self.ring_size)
            r.datagrams = old.datagrams
            self.p.rings[0] = r

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
        if kind == EV_DAMAGED and self.drop:
            self.p.rings = [None] * LINKS

    def feed(self, data):
        p = self.p
        off = 0
        stalls = 0
        if self.swap:
            self.swap_ring()
        while off < len(data) or (self.takes and p.pending()):
            if off < len(data):
                n = p.feed(data[off:])
                off += n
            else:
                before = p.pending()
                p.parse()
                p.settle()
                n = before - p.pending()
            n += self.take_some() if self.takes else self.drain()
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
            hx(p.peer()),
            p.peer_port,
            p._llen,
            rings,
        ]
        return {"trace": self.trace, "state": state, "error": error}


def run(
    data,
    walk,
    cuts=(),
    rx=1024,
    ring=4096,
    line=256,
    dgram=False,
    takes=(),
    drop=False,
    ring_links=None,
    swap=False,
    close=False,
):
    links = range(LINKS) if ring_links is None else ring_links
    r = Run(rx, ring, line, dgram, takes, drop, links, swap, close)
    error = None
    parser._walk = walk
    try:
        i = 0
        for n in list(cuts) + [len(data)]:
            if i >= len(data):
                break
            r.feed(data[i : i + n])
            i += n
    except Exception as e:  # the parser documents none: the test reports it
        error = "%s: %s" % (type(e).__name__, e)
    finally:
        parser._walk = WALK
    return r.outcome(error)


def random_cuts(rng, n, top):
    # Piece sizes of 1..top (rng: the random module or a Random) that cover n bytes.
    sizes = []
    total = 0
    while total < n:
        sizes.append(rng.randint(1, top))
        total += sizes[-1]
    return sizes


def twin(data, **options):
    walked[0] = 0
    fast = run(data, counting_walk if WALK is not None else None, **options)
    slow = run(data, None, **options)
    return fast, slow, walked[0]


def _hex_trace(outcome):
    outcome["trace"] = [[t[0], t[1], hx(t[2])] for t in outcome["trace"]]
    return outcome


def main():
    import json
    import sys

    while True:
        line = sys.stdin.readline()
        if not line:
            break
        case = json.loads(line)
        data = unhexlify(case.pop("data"))
        fast, slow, walked_ = twin(data, **case)
        native = WALK is not None
        reply = {"fast": _hex_trace(fast), "slow": _hex_trace(slow), "walked": walked_, "native": native}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
