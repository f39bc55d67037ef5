"""The incremental byte-stream parser (lib/wizfi360/wire/parser.py) under CPython.

Every module output the driver has to recognise is listed in CASES with the
exact trace it must produce: events (kind, arg, line) and payload bytes per
link, in the order they come out. Each case is fed whole, split in two at
every byte boundary, one byte at a time, and all cases together as one
stream in random chunks. The rest covers payload that looks like protocol
text, backpressure from a full ring, links nobody holds, malformed headers
and over-long lines.
"""

import random
from unittest.mock import ANY

import pytest

from wizfi360.wire.parser import Parser
from wizfi360.wire.ring import Ring
from wizfi360_host.consts import (
    EV_ALREADY,
    EV_BUSY,
    EV_DAMAGED,
    EV_ERROR,
    EV_FAIL,
    EV_LINE,
    EV_LINK_CLOSED,
    EV_LINK_CONNECT,
    EV_LINK_FAIL,
    EV_OK,
    EV_PROMPT,
    EV_READY,
    EV_RECV,
    EV_SEND_FAIL,
    EV_SEND_OK,
    EV_STATION,
    EV_WIFI_CONNECTED,
    EV_WIFI_DISCONNECT,
    EV_WIFI_GOT_IP,
)

DATA = "data"  # trace entry ("data", link, payload bytes)
NO_PEER = (0, 0, 0, 0)


# --------------------------------------------------------------------------
# Helpers


class Feeder:
    """A Parser plus a recorder of everything it produces.

    trace: events as (kind, arg, line) and payload as (DATA, link, bytes), in
    the order they came out; consecutive payload of one link is merged, so the
    trace does not depend on how the input was chunked. Rings are drained
    before each event is recorded and after each feed() call.
    marks: (p.link, peer tuple, p.peer_port) at every b"MARK" line.
    """

    def __init__(self, links=5, rx_size=1024, line_size=256, ring_size=4096, ring_links=None):
        self.p = p = Parser(links=links, rx_size=rx_size, line_size=line_size)
        if ring_links is None:
            ring_links = range(links)
        for link in ring_links:
            p.rings[link] = Ring(ring_size)
        self.trace = []
        self.marks = []
        p.handler = self._event

    def _add_data(self, link, data):
        t = self.trace
        if t and t[-1][0] == DATA and t[-1][1] == link:
            t[-1] = (DATA, link, t[-1][2] + data)
        else:
            t.append((DATA, link, data))

    def drain(self):
        for link, ring in enumerate(self.p.rings):
            if ring is not None and len(ring):
                self._add_data(link, ring.take(len(ring)))

    def _event(self, kind, arg, buf, s, e):
        assert 0 <= s <= e <= len(buf)
        self.drain()
        line = bytes(buf[s:e])
        self.trace.append((kind, arg, line))
        if line == b"MARK":
            p = self.p
            self.marks.append((p.link, tuple(p.peer()), p.peer_port))

    def feed(self, data):
        p = self.p
        off = 0
        stalls = 0
        while off < len(data):
            n = p.feed(data[off:])
            assert 0 <= n <= len(data) - off
            off += n
            self.drain()
            stalls = stalls + 1 if n == 0 else 0
            assert stalls < 3, "parser makes no progress"
        guard = 0
        while p.pending():
            self.drain()
            p.parse()
            guard += 1
            assert guard < 10000, "parser makes no progress"
        p.settle()  # the input ran dry: the last payload becomes readable
        self.drain()

    def events(self):
        return [t for t in self.trace if t[0] != DATA]

    def rings(self):
        out = {}
        for t in self.trace:
            if t[0] == DATA:
                out[t[1]] = out.get(t[1], b"") + t[2]
        return out


def chunks(data, sizes):
    """data cut into pieces of the given sizes (the last piece takes the rest)."""
    out = []
    i = 0
    for n in sizes:
        if i >= len(data):
            break
        out.append(data[i : i + n])
        i += n
    if i < len(data):
        out.append(data[i:])
    return out


def run(pieces, **kw):
    """Feed the byte strings in pieces, in order; returns the Feeder."""
    f = Feeder(**kw)
    for piece in pieces:
        f.feed(piece)
    return f


def merged(trace):
    """The canonical form of a trace: between two events, the payload of each
    link as one entry, links in ascending order (only the order of payload
    relative to events, and within a link, is observable)."""
    out = []
    pending = {}

    def flush():
        for link in sorted(pending):
            if pending[link]:
                out.append((DATA, link, pending[link]))
        pending.clear()

    for t in trace:
        if t[0] == DATA:
            pending[t[1]] = pending.get(t[1], b"") + t[2]
        else:
            flush()
            out.append(t)
    flush()
    return out


def E(kind, line, arg=0):
    return (kind, arg, line)


def D(link, data):
    return (DATA, link, data)


def LINE(text):
    return (EV_LINE, 0, text)


OK = E(EV_OK, b"OK")
ERROR = E(EV_ERROR, b"ERROR")
PROMPT = E(EV_PROMPT, b">")


def ip4(text):
    return tuple(int(x) for x in text.split("."))


# --------------------------------------------------------------------------
# The table: (id, input, expected trace, frame state after it or None).
# Frame state is (link, peer, port); peer/port None when the frame carried
# no address (they keep their previous values).

_rng = random.Random(360)
BIG = bytes(_rng.getrandbits(8) for _ in range(2048))
GMR_REPLY = (
    b"AT+GMR\r\n"
    b"AT version:1.1.1.7(May  4 2021 15:14:59)\r\n"
    b"SDK version:3.2.0(a0ffff9f)\r\n"
    b"compile time:May  4 2021 15:14:59\r\n"
    b"\r\nOK\r\n"
)

CASES = [
    # final results (manual 2.2, module-notes)
    ("OK", b"\r\nOK\r\n", [OK], None),
    ("ERROR", b"\r\nERROR\r\n", [ERROR], None),
    ("FAIL", b"\r\nFAIL\r\n", [E(EV_FAIL, b"FAIL")], None),
    ("Fail", b"\r\nFail\r\n", [E(EV_FAIL, b"Fail")], None),
    ("SEND OK", b"\r\nSEND OK\r\n", [E(EV_SEND_OK, b"SEND OK")], None),
    ("SEND FAIL", b"\r\nSEND FAIL\r\n", [E(EV_SEND_FAIL, b"SEND FAIL")], None),
    (
        "ALREADY CONNECTED",
        b"ALREADY CONNECTED\r\n\r\nERROR\r\n",
        [E(EV_ALREADY, b"ALREADY CONNECTED"), ERROR],
        None,
    ),
    ("manual spacing", b"\r\n OK \r\n\r\n ERROR\r\n", [OK, ERROR], None),
    ("join failure", b"+CWJAP_CUR:2\r\n\r\nFAIL\r\n", [LINE(b"+CWJAP_CUR:2"), E(EV_FAIL, b"FAIL")], None),
    # the send prompt (manual 3.2.3.8): no CR LF after it
    ("prompt", b">", [PROMPT], None),
    ("prompt space", b"> ", [PROMPT], None),
    ("OK prompt", b"\r\nOK\r\n>", [OK, PROMPT], None),
    ("OK prompt space", b"\r\nOK\r\n> ", [OK, PROMPT], None),
    ("Recv", b"\r\nRecv 5 bytes\r\n", [E(EV_RECV, b"Recv 5 bytes", 5)], None),
    ("Recv 2048", b"\r\nRecv 2048 bytes\r\n", [E(EV_RECV, b"Recv 2048 bytes", 2048)], None),
    ("busy p", b"busy p...\r\n", [E(EV_BUSY, b"busy p...")], None),
    ("busy s", b"busy s...\r\n", [E(EV_BUSY, b"busy s...")], None),
    # messages (manual 2.3)
    ("ready", b"\r\nready\r\n", [E(EV_READY, b"ready")], None),
    ("ready after boot noise", b"\xff\xfe\r\nready\r\n", [E(EV_READY, b"ready")], None),
    ("ready after garbage", b"\x00\xff\x80\xfe\x1b\x7f\r\n\xff\xfeready\r\n", [E(EV_READY, b"ready")], None),
    ("garbage before a line", b"\xff\x00\xfeOK\r\n", [OK], None),
    ("WIFI CONNECTED", b"WIFI CONNECTED\r\n", [E(EV_WIFI_CONNECTED, b"WIFI CONNECTED")], None),
    ("WIFI GOT IP", b"WIFI GOT IP\r\n", [E(EV_WIFI_GOT_IP, b"WIFI GOT IP")], None),
    ("WIFI DISCONNECT", b"WIFI DISCONNECT\r\n", [E(EV_WIFI_DISCONNECT, b"WIFI DISCONNECT")], None),
    ("WIFI DISCONNECTED", b"WIFI DISCONNECTED\r\n", [E(EV_WIFI_DISCONNECT, b"WIFI DISCONNECTED")], None),
    (
        "join success",
        b"WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n",
        [E(EV_WIFI_CONNECTED, b"WIFI CONNECTED"), E(EV_WIFI_GOT_IP, b"WIFI GOT IP"), OK],
        None,
    ),
    ("CWQAP", b"\r\nOK\r\nWIFI DISCONNECT\r\n", [OK, E(EV_WIFI_DISCONNECT, b"WIFI DISCONNECT")], None),
    ("0,CONNECT", b"0,CONNECT\r\n", [(EV_LINK_CONNECT, 0, ANY)], None),
    ("4,CONNECT", b"4,CONNECT\r\n\r\nOK\r\n", [(EV_LINK_CONNECT, 4, ANY), OK], None),
    ("3,CLOSED", b"3,CLOSED\r\n", [(EV_LINK_CLOSED, 3, ANY)], None),
    ("1,CLOSED OK", b"1,CLOSED\r\n\r\nOK\r\n", [(EV_LINK_CLOSED, 1, ANY), OK], None),
    ("2,CONNECT FAIL", b"2,CONNECT FAIL\r\n", [(EV_LINK_FAIL, 2, ANY)], None),
    ("single-link CONNECT", b"CONNECT\r\n", [(EV_LINK_CONNECT, 0, ANY)], None),
    ("single-link CLOSED", b"CLOSED\r\n", [(EV_LINK_CLOSED, 0, ANY)], None),
    (
        "+STA_CONNECTED",
        b'+STA_CONNECTED:"00:08:dc:11:12:13"\r\n',
        [E(EV_STATION, b'+STA_CONNECTED:"00:08:dc:11:12:13"')],
        None,
    ),
    (
        "+DIST_STA_IP",
        b'+DIST_STA_IP:"00:08:dc:11:12:13","192.168.4.2"\r\n',
        [E(EV_STATION, b'+DIST_STA_IP:"00:08:dc:11:12:13","192.168.4.2"')],
        None,
    ),
    (
        "+STA_DISCONNECTED",
        b'+STA_DISCONNECTED:"00:08:dc:11:12:13"\r\n',
        [E(EV_STATION, b'+STA_DISCONNECTED:"00:08:dc:11:12:13"')],
        None,
    ),
    # plain lines
    ("+CIPDOMAIN", b"+CIPDOMAIN:1.2.3.4\r\n\r\nOK\r\n", [LINE(b"+CIPDOMAIN:1.2.3.4"), OK], None),
    ("+CIPDOMAIN quoted", b'+CIPDOMAIN:"1.2.3.4"\r\n\r\nOK\r\n', [LINE(b'+CIPDOMAIN:"1.2.3.4"'), OK], None),
    ("DNS Fail", b"DNS Fail\r\n\r\nERROR\r\n", [LINE(b"DNS Fail"), ERROR], None),
    ("No AP", b"No AP\r\n\r\nOK\r\n", [LINE(b"No AP"), OK], None),
    ("echo", b"AT+GMR\r\n", [LINE(b"AT+GMR")], None),
    (
        "AT version",
        b"AT version:1.0.3.4(Sep 26 2019 11:14:22)\r\n",
        [LINE(b"AT version:1.0.3.4(Sep 26 2019 11:14:22)")],
        None,
    ),
    (
        "AT+GMR reply",
        GMR_REPLY,
        [
            LINE(b"AT+GMR"),
            LINE(b"AT version:1.1.1.7(May  4 2021 15:14:59)"),
            LINE(b"SDK version:3.2.0(a0ffff9f)"),
            LINE(b"compile time:May  4 2021 15:14:59"),
            OK,
        ],
        None,
    ),
    (
        "CIPSTATUS",
        b'STATUS:3\r\n+CIPSTATUS:0,"TCP","1.2.3.4",80,5000,0\r\n\r\nOK\r\n',
        [LINE(b"STATUS:3"), LINE(b'+CIPSTATUS:0,"TCP","1.2.3.4",80,5000,0'), OK],
        None,
    ),
    ("prompt char inside a line", b"a>b\r\n", [LINE(b"a>b")], None),
    ("+IPD lookalike line", b"+IPV6:fe80::1\r\n", [LINE(b"+IPV6:fe80::1")], None),
    ("+IPD without comma", b"+IPD\r\n\r\nOK\r\n", [LINE(b"+IPD"), OK], None),
    # +IPD, all four shapes (module-notes "The wire")
    ("+IPD,<len>", b"\r\n+IPD,5:hello", [D(0, b"hello")], (0, None, None)),
    ("+IPD,<id>,<len>", b"\r\n+IPD,3,5:hello", [D(3, b"hello")], (3, None, None)),
    (
        "+IPD,<id>,<len>,<ip>,<port>",
        b"\r\n+IPD,2,5,192.168.10.7,8080:hello",
        [D(2, b"hello")],
        (2, ip4("192.168.10.7"), 8080),
    ),
    (
        "+IPD,<id>,<len>,<ip quoted>,<port>",
        b'\r\n+IPD,4,6,"10.0.0.254",65535:\r\nOK\r\n',
        [D(4, b"\r\nOK\r\n")],
        (4, ip4("10.0.0.254"), 65535),
    ),
    (
        "+IPD,<len>,<ip>,<port>",
        b"\r\n+IPD,5,172.16.0.9,443:hello",
        [D(0, b"hello")],
        (0, ip4("172.16.0.9"), 443),
    ),
    (
        "+IPD,<len>,<ip quoted>,<port>",
        b'\r\n+IPD,3,"8.8.4.4",53:dns',
        [D(0, b"dns")],
        (0, ip4("8.8.4.4"), 53),
    ),
    ("+IPD one byte", b"\r\n+IPD,1,1:x", [D(1, b"x")], (1, None, None)),
    ("+IPD then OK", b"\r\n+IPD,1,3:abc\r\nOK\r\n", [D(1, b"abc"), OK], (1, None, None)),
    (
        "+IPD longest header, 2048 bytes",
        b"\r\n+IPD,4,2048,255.255.255.255,65535:" + BIG + b"\r\n4,CLOSED\r\n",
        [D(4, BIG), (EV_LINK_CLOSED, 4, ANY)],
        (4, (255, 255, 255, 255), 65535),
    ),
    (
        "two links back to back",
        b"\r\n+IPD,0,2,1.1.1.1,1:ab\r\n+IPD,1,2,2.2.2.2,2:cd\r\n+IPD,0,2,3.3.3.3,3:ef",
        [D(0, b"ab"), D(1, b"cd"), D(0, b"ef")],
        (0, ip4("3.3.3.3"), 3),
    ),
    # data at any moment (module-notes "The wire")
    (
        "data between echo and OK",
        b"AT+CIPSTATUS\r\n\r\n+IPD,0,3:abc\r\nSTATUS:3\r\n\r\n+IPD,1,2:xy\r\nOK\r\n",
        [LINE(b"AT+CIPSTATUS"), D(0, b"abc"), LINE(b"STATUS:3"), D(1, b"xy"), OK],
        (1, None, None),
    ),
    (
        "data between OK and prompt",
        b"AT+CIPSEND=1,4\r\n\r\nOK\r\n\r\n+IPD,0,2:hi>",
        [LINE(b"AT+CIPSEND=1,4"), OK, D(0, b"hi"), PROMPT],
        (0, None, None),
    ),
    (
        "data between OK and prompt space",
        b"AT+CIPSEND=1,4\r\n\r\nOK\r\n\r\n+IPD,0,2,9.9.9.9,7:>>\r\n> ",
        [LINE(b"AT+CIPSEND=1,4"), OK, D(0, b">>"), PROMPT],
        (0, ip4("9.9.9.9"), 7),
    ),
    (
        "data between prompt, Recv and SEND OK",
        b"> \r\n+IPD,0,4:ab\r\n\r\nRecv 4 bytes\r\n\r\n+IPD,2,1:z\r\nSEND OK\r\n",
        [PROMPT, D(0, b"ab\r\n"), E(EV_RECV, b"Recv 4 bytes", 4), D(2, b"z"), E(EV_SEND_OK, b"SEND OK")],
        (2, None, None),
    ),
    (
        "events between echo and OK",
        b"AT+CIPCLOSE=0\r\n0,CLOSED\r\nWIFI DISCONNECT\r\n\r\nOK\r\n",
        [LINE(b"AT+CIPCLOSE=0"), (EV_LINK_CLOSED, 0, ANY), E(EV_WIFI_DISCONNECT, b"WIFI DISCONNECT"), OK],
        None,
    ),
]

# Payload that looks like protocol text must arrive byte-exact and make no event.
PAYLOADS = [
    b"\r\nOK\r\n",
    b"+IPD,0,5:",
    b"SEND OK",
    b"\r\nSEND OK\r\n",
    b">",
    b"> ",
    b"\r\n>",
    b"ready",
    b"\r\nready\r\n",
    b"\x00",
    b"\xff",
    b"\x00\xff\x00\xff",
    b"+",
    b"+IPD",
    b"\r\n+IPD,1,3:abc\r\n\r\nOK\r\n",
    b"busy p...\r\n0,CLOSED\r\nWIFI DISCONNECT\r\n",
    bytes(range(256)),
]
for _i, _pl in enumerate(PAYLOADS):
    CASES.append(
        (
            "payload %d %r" % (_i, _pl[:12]),
            b"\r\n+IPD,1,%d:" % len(_pl) + _pl + b"\r\nOK\r\n",
            [D(1, _pl), OK],
            (1, None, None),
        )
    )
    CASES.append(
        (
            "payload %d %r with address" % (_i, _pl[:12]),
            b"\r\n+IPD,3,%d,127.0.0.1,40000:" % len(_pl) + _pl + b"\r\n+IPD,0,1:." + b"\r\nSEND OK\r\n",
            [D(3, _pl), D(0, b"."), E(EV_SEND_OK, b"SEND OK")],
            (0, (127, 0, 0, 1), 40000),
        )
    )

IDS = [c[0] for c in CASES]


def check(f, expected, state):
    p = f.p
    assert merged(f.trace) == merged(expected)
    assert p.bad_frames == 0
    assert p.discarded == 0
    assert p.pending() == 0
    assert not p.in_frame()
    if state is not None:
        link, peer, port = state
        assert p.link == link
        assert tuple(p.peer()) == (NO_PEER if peer is None else peer)
        assert p.peer_port == (0 if port is None else port)


@pytest.mark.parametrize("data,expected,state", [c[1:] for c in CASES], ids=IDS)
def test_whole(data, expected, state):
    check(run([data]), expected, state)


@pytest.mark.parametrize("data,expected,state", [c[1:] for c in CASES], ids=IDS)
def test_split_at_every_boundary(data, expected, state):
    for k in range(len(data) + 1):
        f = run([data[:k], data[k:]])
        try:
            check(f, expected, state)
        except AssertionError as e:
            raise AssertionError("split at %d: %s" % (k, e)) from None


@pytest.mark.parametrize("data,expected,state", [c[1:] for c in CASES], ids=IDS)
def test_one_byte_at_a_time(data, expected, state):
    f = Feeder()
    for i in range(len(data)):
        f.feed(data[i : i + 1])
    check(f, expected, state)


@pytest.mark.parametrize("data,expected,state", [c[1:] for c in CASES], ids=IDS)
def test_small_rx_buffer(data, expected, state):
    # The parser's own buffer is smaller than the input: feed() copies it in
    # slices, headers and lines straddle the slices.
    check(run([data], rx_size=7), expected, state)


def _stream(order):
    data = bytearray()
    expected = []
    marks = []
    link, peer, port = -1, NO_PEER, 0
    for idx in order:
        _, d, exp, state = CASES[idx]
        data += d + b"\r\nMARK\r\n"
        expected += exp + [LINE(b"MARK")]
        if state is not None:
            link = state[0]
            if state[1] is not None:
                peer, port = state[1], state[2]
        marks.append((link, peer, port))
    return bytes(data), merged(expected), marks


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("rx_size", [16, 100, 1024])
def test_all_in_one_stream_random_chunks(seed, rx_size):
    rng = random.Random(seed)
    order = list(range(len(CASES)))
    if seed:
        rng.shuffle(order)
    data, expected, marks = _stream(order)
    top = rng.choice([3, 40, 700, 3000])
    sizes = []
    total = 0
    while total < len(data):
        n = rng.randint(1, top)
        sizes.append(n)
        total += n
    f = run(chunks(data, sizes), rx_size=rx_size)
    assert merged(f.trace) == expected
    assert f.marks == marks
    assert f.p.bad_frames == 0 and f.p.discarded == 0 and f.p.pending() == 0


def test_chunks_helper():
    assert chunks(b"abcdef", [1, 2]) == [b"a", b"bc", b"def"]
    assert chunks(b"ab", [1, 1, 5]) == [b"a", b"b"]
    assert b"".join(chunks(b"x" * 10, [3] * 10)) == b"x" * 10


# --------------------------------------------------------------------------
# Backpressure: a ring smaller than the payload


def _payload(n, seed):
    r = random.Random(seed)
    return bytes(r.getrandbits(8) for _ in range(n))


def test_backpressure_holds_input_until_the_ring_is_drained():
    p1 = _payload(300, 1) + b"\r\nOK\r\n+IPD,0,5:"  # protocol text inside, too
    p2 = _payload(40, 2)
    data = b"\r\n+IPD,0,%d:" % len(p1) + p1 + b"\r\nOK\r\n\r\n+IPD,0,%d:" % len(p2) + p2 + b"\r\n0,CLOSED\r\n"
    p = Parser(links=5, rx_size=64)
    ring = Ring(16)
    p.rings[0] = ring
    got = bytearray()
    events = []

    def handler(kind, arg, buf, s, e):
        # how much payload had arrived when the event came out
        events.append((kind, arg, len(got) + len(ring)))

    p.handler = handler

    n = p.feed(data)
    assert 0 < n < len(data)
    assert len(ring) == 16  # full
    assert p.pending() > 0
    assert p.in_frame()
    assert events == []
    # Feeding more while the ring is still full takes nothing.
    assert p.feed(data[n:]) == 0
    assert len(ring) == 16 and events == []

    off = n
    step = 0
    while off < len(data) or p.pending() or len(ring):
        step += 1
        assert step < 10000
        if step % 2:
            got += ring.take(5)
        else:
            tmp = bytearray(9)
            k = ring.get_into(tmp, 2, 7)
            got += tmp[2 : 2 + k]
        if step % 3:
            p.parse()
        elif off < len(data):
            off += p.feed(data[off:])  # feed() parses what is held first
        if not p.pending() and off < len(data):
            off += p.feed(data[off:])
    assert bytes(got) == p1 + p2
    assert events == [(EV_OK, 0, len(p1)), (EV_LINK_CLOSED, 0, len(p1) + len(p2))]
    assert p.bad_frames == 0 and p.discarded == 0


def test_backpressure_keeps_later_frames_and_lines_in_order():
    # Two links; link 1 has a tiny ring and blocks everything behind it.
    a = _payload(200, 3)
    b = _payload(50, 4)
    data = (
        b"\r\n+IPD,1,%d:" % len(a)
        + a
        + b"\r\n+IPD,0,%d,10.1.2.3,999:" % len(b)
        + b
        + b"\r\nWIFI DISCONNECT\r\n\r\n+IPD,1,3:end\r\nSEND OK\r\n"
    )
    p = Parser(links=5, rx_size=1024)
    small = Ring(16)
    large = Ring(4096)
    p.rings[1] = small
    p.rings[0] = large
    trace = []
    got1 = bytearray()

    def handler(kind, arg, buf, s, e):
        trace.append((kind, len(got1) + len(small), len(large)))

    p.handler = handler
    assert p.feed(data) == len(data)  # all fits in the 1024-byte buffer...
    assert p.pending() > 0  # ...but is held there
    assert len(large) == 0  # the frame for link 0 waits behind link 1's
    rounds = 0
    while p.pending():
        rounds += 1
        got1 += small.take(16)
        p.parse()
    got1 += small.take(16)
    assert rounds >= len(a) // 16
    assert bytes(got1) == a + b"end"
    assert large.take(100) == b
    assert tuple(p.peer()) == (10, 1, 2, 3) and p.peer_port == 999
    assert trace == [(EV_WIFI_DISCONNECT, len(a), len(b)), (EV_SEND_OK, len(a) + 3, len(b))]


def test_backpressure_feed_more_after_draining():
    # The other way to resume: drain, then simply feed() the rest.
    body = _payload(1000, 5)
    data = b"\r\n+IPD,2,1000:" + body + b"\r\nOK\r\n"
    p = Parser(links=5, rx_size=128)
    ring = Ring(64)
    p.rings[2] = ring
    events = []
    p.handler = lambda k, a, b, s, e: events.append(bytes(b[s:e]))
    got = bytearray()
    off = 0
    calls = 0
    while off < len(data):
        calls += 1
        assert calls < 1000
        n = p.feed(data[off:])
        off += n
        got += ring.take(len(ring))
    while p.pending():
        p.parse()
        got += ring.take(len(ring))
    assert bytes(got) == body
    assert events == [b"OK"]


# --------------------------------------------------------------------------
# Links without a ring


NO_RING = (
    b"\r\n+IPD,3,10:0123456789\r\nOK\r\n\r\n+IPD,0,2:ab\r\n+IPD,3,4,1.2.3.4,5:\r\nOK\r\n\r\n3,CLOSED\r\n"
)


def test_frame_for_a_link_without_ring_is_discarded():
    for k in range(len(NO_RING) + 1):
        f = run([NO_RING[:k], NO_RING[k:]], ring_links=[0])
        assert f.trace == [OK, D(0, b"ab"), (EV_LINK_CLOSED, 3, ANY)], k
        assert f.p.discarded == 14
        assert f.p.bad_frames == 0


def test_large_frame_without_ring_is_discarded_without_stalling():
    body = _payload(5000, 6)
    data = b"\r\n+IPD,1,5000:" + body + b"\r\nSEND OK\r\n\r\n+IPD,0,1:z"
    p = Parser(links=5, rx_size=256)
    ring = Ring(16)
    p.rings[0] = ring
    events = []
    p.handler = lambda k, a, b, s, e: events.append(k)
    assert p.feed(data) == len(data)
    assert p.pending() == 0
    assert p.discarded == 5000
    assert events == [EV_SEND_OK]
    assert ring.take(16) == b"z"


# --------------------------------------------------------------------------
# Malformed headers


MALFORMED = [
    ("bad link", b"\r\n+IPD,x,5:\r\nOK\r\n"),
    ("link out of range", b"\r\n+IPD,9,5:\r\nOK\r\n"),
    ("link 5", b"\r\n+IPD,5,5,1.2.3.4,80:\r\nOK\r\n"),
    ("negative link", b"\r\n+IPD,-1,5:\r\nOK\r\n"),
    ("zero length", b"\r\n+IPD,0,0:\r\nOK\r\n"),
    ("no length", b"\r\n+IPD,:\r\nOK\r\n"),
    ("huge length", b"\r\n+IPD,0,70000:\r\nOK\r\n"),
    ("long number", b"\r\n+IPD,0,0000005:\r\nOK\r\n"),
    ("bad ip", b"\r\n+IPD,0,5,1.2.3,80:\r\nOK\r\n"),
    ("ip too long", b"\r\n+IPD,0,5,1111.2222.3333.444,80:\r\nOK\r\n"),
    ("no port", b"\r\n+IPD,0,5,1.2.3.4,:\r\nOK\r\n"),
    ("bad port", b"\r\n+IPD,0,5,1.2.3.4,http:\r\nOK\r\n"),
    ("five fields", b"\r\n+IPD,0,5,1.2.3.4,80,9:\r\nOK\r\n"),
    ("over-long header", b"\r\n+IPD," + b"7" * 60 + b"\r\nOK\r\n"),
    ("over-long header, colon late", b"\r\n+IPD," + b"7" * 60 + b":abc\r\nOK\r\n"),
]


@pytest.mark.parametrize("data", [m[1] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_header_is_counted_and_parsing_goes_on(data):
    # After the bad header: its OK, then a good frame and another OK.
    data = data + b"\r\n+IPD,2,3:abc\r\nSEND OK\r\n"
    for pieces in [[data]] + [[data[:k], data[k:]] for k in range(len(data) + 1)] + [list(data)]:
        pieces = [bytes([x]) if isinstance(x, int) else x for x in pieces]
        f = run(pieces)
        # Junk after a bad header may come out as a text line; nothing else may.
        events = [t for t in f.trace if t[0] != EV_LINE]
        assert events == [OK, D(2, b"abc"), E(EV_SEND_OK, b"SEND OK")], pieces
        assert f.p.bad_frames == 1, pieces
        assert f.p.pending() == 0 and not f.p.in_frame()


def test_header_cut_by_a_line_end_does_not_swallow_the_reply():
    # "+IPD,0,5" ended by CR LF instead of ":" (a garbled header) is not a
    # frame: it counts as bad and the lines after it come out at once.
    data = b"\r\n+IPD,0,5\r\n\r\nOK\r\n"
    f = run([data])
    assert f.events() == [OK]
    assert f.p.bad_frames == 1


def test_header_cut_by_a_line_end_does_not_eat_the_next_line():
    data = b"\r\n+IPD,0,5\r\n+CIPDOMAIN:1.2.3.4\r\n\r\nOK\r\n"
    f = run([data])
    assert f.events() == [LINE(b"+CIPDOMAIN:1.2.3.4"), OK]
    assert f.p.bad_frames == 1


# --------------------------------------------------------------------------
# Over-long lines


def test_long_line_split_across_reads_is_dropped():
    line = bytes(65 + i % 26 for i in range(300))  # longer than line_size=256
    data = b"\r\n" + line + b"\r\n\r\nOK\r\n\r\n+IPD,0,2:hi"
    start = 2
    for k in range(len(data) + 1):
        f = run([data[:k], data[k:]], line_size=256)
        if start < k <= start + len(line) + 1:  # the line was carried over
            assert f.trace == [OK, D(0, b"hi")], k
        else:  # in one read the parser sees it whole
            assert f.trace == [LINE(line), OK, D(0, b"hi")], k


def test_long_line_one_byte_at_a_time_and_small_buffer():
    line = b"+CWLAP:" + b"x" * 1000
    data = line + b"\r\nWIFI GOT IP\r\n" + line + b"\r\n\r\nOK\r\n"
    f = Feeder(line_size=64)
    for i in range(len(data)):
        f.feed(data[i : i + 1])
    assert f.trace == [E(EV_WIFI_GOT_IP, b"WIFI GOT IP"), OK]
    f = run([data], rx_size=100, line_size=64)
    assert f.trace == [E(EV_WIFI_GOT_IP, b"WIFI GOT IP"), OK]


def test_line_that_exactly_fills_the_line_buffer_is_kept():
    # line_size bytes of text plus the CR: the CR is stripped, but it has to
    # fit into the carry buffer first; a line of line_size-1 text bytes and its
    # CR always fits and must come out whole.
    text = b"L" * 63
    data = text + b"\r\nOK\r\n"
    for k in range(1, len(text) + 2):
        f = run([data[:k], data[k:]], line_size=64)
        assert f.trace == [LINE(text), OK], k


def test_feed_accepts_any_bytes_like_and_empty_input():
    for kind in (bytes, bytearray, memoryview):
        f = Feeder()
        assert f.p.feed(kind(b"")) == 0
        data = kind(b"\r\nOK\r\n\r\n+IPD,2,3,1.2.3.4,5:abc")
        assert f.p.feed(data) == len(data)
        f.drain()
        assert f.trace == [OK, D(2, b"abc")]


def test_handler_buffer_is_reused():
    # The handler's buf is the parser's own buffer: a line must be copied out.
    p = Parser()
    seen = []
    p.handler = lambda k, a, b, s, e: seen.append((b, s, e, bytes(b[s:e])))
    p.feed(b"first\r\n")
    p.feed(b"OK\r\n")
    assert [x[3] for x in seen] == [b"first", b"OK"]
    assert isinstance(seen[0][0], (bytearray, memoryview))


# --------------------------------------------------------------------------
# What real modules send beyond the manual (issue 15, module-notes)


@pytest.mark.parametrize(
    "noise", [b"\xff\xfe\x00", b"xx\xff", b"\x00\x80rl\xf2", b"\r\n\xfe", b"ets Jan  8 2013,rst cause:2"]
)
def test_ready_after_boot_noise_on_the_same_line_is_a_reboot(noise):
    f = run([noise + b"ready\r\n"])
    assert [k for k, _, _ in f.events()] == [EV_READY]


def test_command_output_ending_in_ready_is_not_a_reboot():
    # A host name, say: command output starts with "+".
    f = run([b"+CWHOSTNAME:already\r\n"])
    assert [k for k, _, _ in f.events()] == [EV_LINE]


@pytest.mark.parametrize("note", [b"link is not valid", b"no change", b"UNLINK", b"ERR CODE:0x010b0000"])
def test_firmware_notes_after_a_payload_are_no_sign_of_loss(note):
    # ESP-style lines the manual does not list, right after a payload (no
    # CR LF between, as for "<id>,CLOSED") while no command's output is
    # expected: known, so the payload is good.
    f = run([b"\r\n+IPD,0,3:abc" + note + b"\r\n\r\n+IPD,0,3:def\r\nWIFI GOT IP\r\n"])
    assert f.p.damaged == 0
    assert f.rings() == {0: b"abcdef"}


def test_an_unknown_line_after_a_payload_still_is():
    f = run([b"\r\n+IPD,0,3:abcxyzzy\r\n\r\n+IPD,0,3:def\r\n"])
    assert f.p.damaged == 1


def test_cut_frame_with_ready_in_its_payload_is_a_reboot():
    # The module rebooted inside a frame: its "ready" is among the payload,
    # the rest never comes. The owner cuts the frame once the line is quiet.
    f = Feeder()
    f.p.feed(b"\r\n+IPD,0,100:0123456789\r\n\xff\x00ready\r\n")
    assert f.p.in_frame()
    f.p.cut_frame()
    f.drain()
    assert not f.p.in_frame()
    assert [k for k, _, _ in f.events()] == [EV_READY]
    assert f.rings() == {}  # nothing of the cut frame is readable
    f.feed(b"\r\nOK\r\n")  # parsing goes on at the next line
    assert [k for k, _, _ in f.events()][-1] == EV_OK


def test_cut_frame_without_ready_is_damage():
    f = Feeder()
    f.p.feed(b"\r\n+IPD,2,100:0123456789")
    f.p.cut_frame()
    assert [(k, a) for k, a, _ in f.events()] == [(EV_DAMAGED, 2)]
    assert f.p.damaged == 1 and f.rings() == {}


# --------------------------------------------------------------------------
# parse() reads on while the input holds nothing for the owner


class ChunkUART:
    """Hands out `data` at most `chunk` bytes per readinto, like a UART's rx
    ring; counts the reads."""

    def __init__(self, data, chunk):
        self.data = data
        self.chunk = chunk
        self.pos = 0
        self.reads = 0

    def any(self):
        return min(self.chunk, len(self.data) - self.pos)

    def readinto(self, buf, nbytes=None):
        n = min(self.any(), len(buf) if nbytes is None else nbytes)
        if not n:
            return None
        buf[:n] = self.data[self.pos : self.pos + n]
        self.pos += n
        self.reads += 1
        return n


def frames_of(link, n, count):
    body = bytes(range(n))
    return b"".join(b"\r\n+IPD,%d,%d,10.0.0.1,80:" % (link, n) + body for _ in range(count)), body


def test_parse_reads_on_through_frames_up_to_four_reads():
    data, body = frames_of(1, 64, 40)  # 40 frames of 88 bytes, read 256 at a time
    f = Feeder(rx_size=256, ring_size=16384)
    uart = ChunkUART(data + b"\r\n", 256)
    assert f.p.fill(uart) == 256
    f.p.parse()
    assert uart.reads == 4 and uart.pos == 1024  # one fill and three more in parse()
    while f.p.fill(uart):
        f.p.parse()
    f.p.settle()
    f.drain()
    assert f.rings() == {1: body * 40}
    assert uart.reads == (len(data) + 2 + 255) // 256


def test_parse_stops_reading_once_it_told_the_owner_something():
    data, body = frames_of(0, 64, 2)
    # An event in the first read: the owner acts on it (writes the next
    # command, the data after a prompt) before more is read.
    for event in (b"\r\nOK\r\n", b"\r\n>", b"0,CLOSED\r\n"):
        f = Feeder(rx_size=64)
        uart = ChunkUART(event + data, 64)
        f.p.fill(uart)
        f.p.parse()
        assert uart.reads == 1, event


def test_parse_stops_reading_at_a_full_ring():
    data, body = frames_of(0, 64, 20)
    f = Feeder(rx_size=256, ring_size=100)
    uart = ChunkUART(data, 256)
    f.p.fill(uart)
    f.p.parse()
    assert uart.reads == 1 and f.p.pending() > 0  # held back: nothing more is read


def test_feed_never_reads_from_a_uart_fill_used():
    data, body = frames_of(0, 64, 20)
    f = Feeder(rx_size=256)
    uart = ChunkUART(data, 256)
    f.p.fill(uart)
    f.p.parse()
    reads = uart.reads
    f.p.feed(b"\r\nOK\r\n")
    assert uart.reads == reads
