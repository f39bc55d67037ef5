"""Property-based tests of the parser (lib/wizfi360/wire/parser.py) with hypothesis.

A stream is a random sequence of items, each with the trace it must produce
(the same trace form as test_parser.py: events (kind, arg, line) and payload
(DATA, link, bytes)):

- final results and other responses: OK, ERROR, FAIL, Fail, SEND OK,
  SEND FAIL, ALREADY CONNECTED, busy p.../busy s..., Recv <n> bytes, and the
  send prompt ">" or "> " (no line end after it);
- unsolicited lines: <id>,CONNECT / <id>,CLOSED / <id>,CONNECT FAIL, single-link
  CONNECT / CLOSED, WIFI CONNECTED / GOT IP / DISCONNECT(ED), +STA_CONNECTED,
  +DIST_STA_IP, +STA_DISCONNECTED, ready;
- other text lines (echoes, command output, +IPD lookalikes): EV_LINE;
- +IPD frames in all four shapes (module-notes "The wire"), the address quoted
  or not, with a random binary payload that is often built from protocol text
  (CR LF, OK, +IPD,..., >, ready...).

Garbage model. Between any two items goes a run of *noise*: bytes from
0x00-0x20 (NUL, control characters, CR, LF, space) and 0x7F-0xFF, plus CR/LF
runs. A line never starts with such a byte, so the parser skips every noise
byte wherever an item may start, and noise produces no event. Noise holds no
printable byte, so it can neither start with "+" or ">" nor contain a line end
followed by text. Printable junk (half lines) comes as a *junk line* item: a
first byte from "x", "q", "z", "~", "?" (no message starts with these), then
up to 150 bytes that are anything but LF, then CR LF; it must come out as one
EV_LINE with its text (trailing CR and spaces stripped, as for every line).

Right after a frame's payload the parser checks that the stream goes on as a
module's does (a CR LF, a known line or the prompt): anything else means bytes
were lost on the UART. So after a frame, the generator puts a CR LF in front
of whatever follows unless it is a known line or a prompt with no noise before
it, as a module does (it writes CR LF before every +IPD and before its other
answers).

The stream is cut at random points and fed to Parser.feed with a Ring on
every link; the trace must equal the expected one (payload per link byte-exact
and in order, every event in order, payload before/after the right events),
with no frame counted bad, nothing discarded and nothing left pending.
Variants: rings too small for the payload (backpressure: the parser stops,
the test drains a random amount and feeds on), datagram rings (each +IPD is
one record + payload, boundaries and senders kept, datagrams that can never fit
dropped and counted), and arbitrary bytes (no exception, no stall, bounded
state). The parser documents no exception of its own: none may escape.

`make test` runs HYPOTHESIS_MAX_EXAMPLES (default 200) examples per property,
derandomized so that a red build always means a change in the code;
`make fuzz` sets HYPOTHESIS_MAX_EXAMPLES=20000 and draws fresh random ones.
"""

import os

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_parser import DATA, Feeder, chunks, merged

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
    RECORD,
)

LINKS = 5
_EXAMPLES = os.environ.get("HYPOTHESIS_MAX_EXAMPLES")
PROFILE = settings(
    max_examples=int(_EXAMPLES or 200),
    deadline=None,
    derandomize=not _EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --------------------------------------------------------------------------
# Items: (bytes on the wire, expected trace entries)


RESPONSES = [
    (EV_OK, b"OK"),
    (EV_ERROR, b"ERROR"),
    (EV_FAIL, b"FAIL"),
    (EV_FAIL, b"Fail"),
    (EV_SEND_OK, b"SEND OK"),
    (EV_SEND_FAIL, b"SEND FAIL"),
    (EV_ALREADY, b"ALREADY CONNECTED"),
    (EV_BUSY, b"busy p..."),
    (EV_BUSY, b"busy s..."),
    (EV_READY, b"ready"),
    (EV_WIFI_CONNECTED, b"WIFI CONNECTED"),
    (EV_WIFI_GOT_IP, b"WIFI GOT IP"),
    (EV_WIFI_DISCONNECT, b"WIFI DISCONNECT"),
    (EV_WIFI_DISCONNECT, b"WIFI DISCONNECTED"),
    (EV_STATION, b'+STA_CONNECTED:"00:08:dc:11:12:13"'),
    (EV_STATION, b'+DIST_STA_IP:"00:08:dc:11:12:13","192.168.4.2"'),
    (EV_STATION, b'+STA_DISCONNECTED:"00:08:dc:11:12:13"'),
    (EV_LINK_CONNECT, b"CONNECT"),  # single-link mode: link 0
    (EV_LINK_CLOSED, b"CLOSED"),
    # other lines: echoes, command output, lookalikes of +IPD and of events
    (EV_LINE, b"AT+CIPSEND=1,4"),
    (EV_LINE, b"AT version:1.1.1.7(May  4 2021 15:14:59)"),
    (EV_LINE, b'+CIPSTATUS:0,"TCP","1.2.3.4",80,5000,0'),
    (EV_LINE, b"+CIPDOMAIN:1.2.3.4"),
    (EV_LINE, b"+IPV6:fe80::1"),
    (EV_LINE, b"+IPD"),
    (EV_LINE, b"+I"),
    (EV_LINE, b"STATUS:3"),
    (EV_LINE, b"DNS Fail"),
    (EV_LINE, b"No AP"),
    (EV_LINE, b"WIFI SCANNING"),
    (EV_LINE, b"a>b"),
]


def _link_line(link, what):
    kind = {b"CONNECT": EV_LINK_CONNECT, b"CLOSED": EV_LINK_CLOSED, b"CONNECT FAIL": EV_LINK_FAIL}[what]
    return (b"%d,%s\r\n" % (link, what), [(kind, link, what)])


def _recv(n):
    text = b"Recv %d bytes" % n
    return (b"\r\n" + text + b"\r\n", [(EV_RECV, n, text)])


responses = st.builds(
    lambda r, lead: (lead + r[1] + b"\r\n", [(r[0], 0, r[1])]),
    st.sampled_from(RESPONSES),
    st.sampled_from([b"\r\n", b""]),
)
link_lines = st.builds(
    _link_line, st.integers(0, LINKS - 1), st.sampled_from([b"CONNECT", b"CLOSED", b"CONNECT FAIL"])
)
recv_lines = st.integers(1, 2048).map(_recv)
prompts = st.sampled_from([b">", b"> ", b"\r\n>", b"\r\n> "]).map(lambda w: (w, [(EV_PROMPT, 0, b">")]))

JUNK_START = b"xqz~?"
junk_lines = st.builds(
    lambda first, body, end: (
        bytes([first]) + body + end,
        [(EV_LINE, 0, (bytes([first]) + body).rstrip(b"\r "))],
    ),
    st.sampled_from(JUNK_START),
    # A line that ends in "ready" is boot noise run into the module's ready
    # (module-notes): a reboot, not junk (test_parser.py has those).
    st.binary(max_size=150)
    .map(lambda b: b.replace(b"\n", b""))
    .filter(lambda b: not b.rstrip(b"\r ").endswith(b"ready")),
    st.sampled_from([b"\r\n", b"\n"]),
)

NOISE_BYTES = bytes(range(0x00, 0x21)) + bytes(range(0x7F, 0x100))
noise = st.lists(
    st.one_of(
        st.sampled_from(NOISE_BYTES).map(lambda c: bytes([c])),
        st.sampled_from([b"\r\n", b"\r\n\r\n", b"\n\n\n", b"\r\r", b"\xff\xfe", b"\x00" * 8]),
    ),
    max_size=6,
).map(b"".join)

# Payload: random bytes, often with protocol text inside.
PROTOCOL_TEXT = [
    b"\r\n",
    b"\r\nOK\r\n",
    b"ERROR\r\n",
    b"\r\nSEND OK\r\n",
    b"+IPD,",
    b"+IPD,0,5:",
    b"\r\n+IPD,1,3,1.2.3.4,5:abc",
    b">",
    b"> ",
    b"\r\nready\r\n",
    b"0,CLOSED\r\n",
    b"busy p...\r\n",
    b"WIFI DISCONNECT\r\n",
    b"\x00",
    b"\xff",
    b"+",
    b":",
]
payloads = st.one_of(
    st.binary(min_size=1, max_size=64),
    st.lists(st.one_of(st.sampled_from(PROTOCOL_TEXT), st.binary(max_size=16)), min_size=1, max_size=12)
    .map(b"".join)
    .filter(len),
    st.integers(1, 3000).map(lambda n: bytes((i * 131 + n) & 255 for i in range(n))),
)


def _ip_text(quad, quoted):
    ip = b".".join(b"%d" % x for x in quad)
    return b'"' + ip + b'"' if quoted else ip


@st.composite
def frames(draw, max_len=None):
    """An +IPD frame: (wire bytes, [(DATA, link, payload)], (link, n, peer or None, port))."""
    shape = draw(st.sampled_from(["len", "id,len", "len,ip,port", "id,len,ip,port"]))
    payload = draw(payloads)
    if max_len is not None:
        payload = payload[:max_len]
    n = len(payload)
    link = draw(st.integers(0, LINKS - 1)) if shape.startswith("id") else 0
    fields = [b"%d" % n]
    if shape.startswith("id"):
        fields.insert(0, b"%d" % link)
    peer = port = None
    if shape.endswith("port"):
        peer = tuple(draw(st.lists(st.integers(0, 255), min_size=4, max_size=4)))
        port = draw(st.integers(0, 65535))
        fields += [_ip_text(peer, draw(st.booleans())), b"%d" % port]
    lead = draw(st.sampled_from([b"\r\n", b""]))
    wire = lead + b"+IPD," + b",".join(fields) + b":" + payload
    return wire, [(DATA, link, payload)], (link, payload, peer, port)


@st.composite
def streams(draw, items=None, max_items=25):
    """(wire bytes, expected merged trace, list of frame infos in order)."""
    if items is None:
        # frames weigh as much as all the lines together
        lines = st.one_of(responses, link_lines, recv_lines, prompts, junk_lines)
        items = st.one_of(lines, frames())
    wire = bytearray()
    trace = []
    infos = []
    after_frame = False
    # A uniform item count: hypothesis' lists are mostly short.
    for _ in range(draw(st.integers(1, max_items))):
        item = draw(items)
        gap = draw(noise)
        if after_frame and (gap or item[1][0][0] in (EV_LINE, DATA)):
            gap = b"\r\n" + gap
        wire += gap
        wire += item[0]
        trace += item[1]
        after_frame = len(item) > 2
        if after_frame:
            infos.append(item[2])
    gap = draw(noise)
    wire += b"\r\n" + gap if after_frame and gap else gap
    return bytes(wire), trace, infos


cuts = st.lists(st.integers(1, 600), max_size=40)


class Checker(Feeder):
    """Feeder that also checks the handler's contract and the bounds of the
    parser's state after every step."""

    def _event(self, kind, arg, buf, s, e):
        assert s < e or kind == EV_DAMAGED, "empty line reported"
        super()._event(kind, arg, buf, s, e)

    def bounded(self):
        p = self.p
        assert 0 <= p.pending() <= len(p.buf)
        assert 0 <= p._llen <= len(p._line)
        for ring in p.rings:
            if ring is not None:
                assert 0 <= len(ring) <= ring.capacity()


def _feed_all(f, data, sizes):
    for piece in chunks(data, sizes):
        f.feed(piece)
        f.bounded()


def _clean(p):
    assert p.damaged == 0
    assert p.bad_frames == 0
    assert p.discarded == 0
    assert p.pending() == 0
    assert not p.in_frame()


# --------------------------------------------------------------------------
# Properties


@PROFILE
@given(streams(), cuts, st.sampled_from([7, 64, 1024]))
def test_valid_stream_in_random_chunks(stream, sizes, rx_size):
    data, expected, infos = stream
    f = Checker(rx_size=rx_size, ring_size=4096)
    _feed_all(f, data, sizes)
    assert merged(f.trace) == merged(expected)
    _clean(f.p)
    if infos:  # the last frame's link and sender are readable afterwards
        link, _, peer, port = infos[-1]
        assert f.p.link == link
        if peer is not None:
            assert tuple(f.p.peer()) == peer and f.p.peer_port == port


class SlowReader(Checker):
    """Drains a random amount of each ring after each feed() instead of all
    of it, so that rings stay full and the parser has to hold input back.
    Events still drain everything first, to record the order."""

    def __init__(self, takes, **kw):
        super().__init__(**kw)
        self._takes = list(takes) or [1]
        self._k = 0

    def feed(self, data):
        p = self.p
        off = 0
        stalls = 0
        while off < len(data) or p.pending():
            if off < len(data):
                n = p.feed(data[off:])
                off += n
            else:
                before = p.pending()
                p.parse()
                p.settle()
                n = before - p.pending()
            self.bounded()
            for link, ring in enumerate(p.rings):
                if ring is not None and len(ring):
                    take = self._takes[self._k % len(self._takes)]
                    self._k += 1
                    got = ring.take(take)
                    n += len(got)
                    self._add_data(link, got)
            stalls = stalls + 1 if n == 0 else 0
            assert stalls < 3, "parser makes no progress"
        self.drain()


@PROFILE
@given(
    streams(),
    cuts,
    st.sampled_from([16, 17, 31, 64]),
    st.sampled_from([7, 64, 1024]),
    st.lists(st.integers(1, 40), max_size=8),
)
def test_backpressure_with_small_rings(stream, sizes, ring_size, rx_size, takes):
    data, expected, _ = stream
    f = SlowReader(takes, rx_size=rx_size, ring_size=ring_size)
    _feed_all(f, data, sizes)
    assert merged(f.trace) == merged(expected)
    _clean(f.p)


def _record(payload, peer, port):
    rec = bytes([len(payload) >> 8, len(payload) & 255])
    rec += bytes(peer) if peer is not None else bytes(4)
    rec += bytes([port >> 8, port & 255]) if port is not None else bytes(2)
    return rec + payload


def decode_records(data):
    """Concatenated ring contents -> [(payload, peer, port)]."""
    out = []
    i = 0
    while i < len(data):
        n = data[i] << 8 | data[i + 1]
        out.append(
            (data[i + RECORD : i + RECORD + n], tuple(data[i + 2 : i + 6]), data[i + 6] << 8 | data[i + 7])
        )
        i += RECORD + n
    assert i == len(data), "a record runs past the end of the ring contents"
    return out


@PROFILE
@given(st.data(), cuts, st.sampled_from([7, 64, 1024]))
def test_datagram_rings_keep_boundaries(data, sizes, rx_size):
    items = st.one_of(st.one_of(responses, link_lines, prompts, junk_lines), frames(max_len=700))
    wire, trace, infos = data.draw(streams(items))
    ring_size = st.integers(RECORD + 16, 600)
    if infos:  # often one that a datagram fills exactly, or misses by a byte
        exact = st.tuples(st.sampled_from(infos), st.sampled_from([-1, 0, 1])).map(
            lambda t: max(16, RECORD + len(t[0][1]) + t[1])  # Ring's minimum size is 16
        )
        ring_size = st.one_of(ring_size, exact)
    ring_size = data.draw(ring_size)
    # Each datagram is stored whole behind its record, or, if it can never fit
    # in the ring, dropped and counted.
    expected = []
    dropped = 0
    it = iter(infos)
    for t in trace:
        if t[0] != DATA:
            expected.append(t)
            continue
        link, payload, peer, port = next(it)
        if RECORD + len(payload) > ring_size:
            dropped += len(payload)
        else:
            expected.append((DATA, link, _record(payload, peer, port)))
    f = Checker(rx_size=rx_size, ring_size=ring_size)
    for ring in f.p.rings:
        ring.datagrams = True
    _feed_all(f, wire, sizes)
    assert merged(f.trace) == merged(expected)
    kept = {}
    for t in expected:
        if t[0] == DATA:
            kept.setdefault(t[1], []).append(t[2])
    for link, got in f.rings().items():
        assert decode_records(got) == decode_records(b"".join(kept[link]))
    p = f.p
    assert p.discarded == dropped
    assert p.bad_frames == 0 and p.pending() == 0 and not p.in_frame()


# Hostile input and its set-up: bytes, cuts, rx_size, ring size, datagram rings.
hostile = (
    st.lists(
        st.one_of(st.binary(max_size=200), st.sampled_from(PROTOCOL_TEXT + [b"+IPD,9", b"+IPD,1,99999:"])),
        max_size=30,
    ).map(b"".join),
    cuts,
    st.sampled_from([7, 64, 1024]),
    st.sampled_from([16, 4096]),
    st.booleans(),
)


@PROFILE
@given(*hostile)
def test_arbitrary_bytes_never_raise_or_stall(data, sizes, rx_size, ring_size, datagrams):
    # Hostile input: the parser may count bad frames, discard, or report odd
    # lines, but raises nothing, always takes input once rings are drained,
    # and keeps every buffer within its size.
    f = Checker(rx_size=rx_size, line_size=64, ring_size=ring_size)
    for ring in f.p.rings:
        ring.datagrams = datagrams
    _feed_all(f, data, sizes)
    p = f.p
    assert p.pending() == 0
    assert p.bad_frames >= 0 and p.discarded >= 0


def test_helpers_on_a_hand_written_stream():
    # The helpers agree with a hand-written case.
    wire = b"\xff\x00\r\n+IPD,2,3,1.2.3.4,5:a\r\n\r\nOK\r\n>\xfe0,CLOSED\r\nxq junk \r\n"
    f = Checker()
    f.feed(wire)
    assert merged(f.trace) == [
        (DATA, 2, b"a\r\n"),
        (EV_OK, 0, b"OK"),
        (EV_PROMPT, 0, b">"),
        (EV_LINK_CLOSED, 0, b"CLOSED"),
        (EV_LINE, 0, b"xq junk"),
    ]
    assert decode_records(_record(b"hi", (1, 2, 3, 4), 5)) == [(b"hi", (1, 2, 3, 4), 5)]


# --------------------------------------------------------------------------
# Bytes lost on the UART (no flow control, a full rx buffer): a run of bytes
# missing from the middle of a frame's payload. The frame then takes its
# announced length from the bytes after the gap, and its end lands at some
# point q of the original stream. Unless q happens to be the start of a frame
# or the end of the stream (then the stream after the gap is indistinguishable
# from a good one), no link ever gets a byte that is not its own, in order: the
# frame stays pending until what follows it checks out, and once a later
# header shows that it does not, it is rolled back and EV_DAMAGED reported.


class DropChecker(Checker):
    """Does what the engine does on EV_DAMAGED: no link's later data is
    trusted (its ring is detached, so the rest goes to `discarded`)."""

    def _event(self, kind, arg, buf, s, e):
        super()._event(kind, arg, buf, s, e)
        if kind == EV_DAMAGED:
            self.p.rings = [None] * LINKS


@st.composite
def binary_frames(draw):
    # Payload bytes 0x80-0xFF: like any binary data they hold no line end.
    link = draw(st.integers(0, LINKS - 1))
    payload = draw(st.binary(min_size=1, max_size=300).map(lambda b: bytes(x | 0x80 for x in b)))
    head = b"\r\n+IPD,%d,%d,10.0.0.%d,%d:" % (link, len(payload), link, 1000 + link)
    return head, payload, link


@st.composite
def lost_bytes(draw):
    """Frames with a run of bytes missing from the middle of one payload:
    (what arrives, the original wire, its frame starts, the payload each link
    sent, q: where the hit frame's announced end lands in the original wire)."""
    wire = b""
    starts = set()
    spans = []  # (payload start, payload end) in wire
    sent = {}
    for head, payload, link in draw(st.lists(binary_frames(), min_size=1, max_size=12)):
        starts.add(len(wire))
        wire += head
        spans.append((len(wire), len(wire) + len(payload)))
        wire += payload
        sent[link] = sent.get(link, b"") + payload
    ps, pe = draw(st.sampled_from(spans))
    a = draw(st.integers(ps, pe - 1))  # the gap starts inside this payload
    b = draw(st.integers(a + 1, len(wire)))
    return wire[:a] + wire[b:], wire, starts, sent, b + (pe - a)


@PROFILE
@given(lost_bytes(), st.sampled_from([7, 64, 1024]))
def test_lost_bytes_never_pass_as_good(case, rx_size):
    arrived, wire, starts, sent, q = case
    assume(q not in starts and q != len(wire))
    f = DropChecker(rx_size=rx_size, ring_size=4096)
    f.feed(arrived)
    for link, got in f.rings().items():
        assert sent[link].startswith(got), "link %d got bytes that are not its own" % link
    if any(start > q for start in starts):  # the next frame's header is evidence enough
        assert f.p.damaged >= 1
