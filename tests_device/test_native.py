# mpy: yes
# The native code as a board runs it (.mpy compiled with -march): the
# buffer copy against slices, and the parser's fast path (_ipd_viper.walk)
# against the Python parser on the same input, through parsertwin.py. The
# inputs are +IPD streams like a module's (two or three links, all header
# shapes, payload full of protocol text), then the same with bytes lost,
# changed or added, cut into random reads, rings of every size drained a
# little at a time. tests_host/wire/test_parser_fastpath.py does the same with
# hypothesis' inputs; this file also runs on a board (make test-board).
import random

import harness
from harness import eq, true
from parsertwin import WALK, random_cuts, twin
from wizfi360.wire import bufcopy

_PROTOCOL = (b"\r\n", b"OK\r\n", b"+IPD,0,5:", b">", b"ready", b"\r\n+IPD,1,3,1.2.3.4,5:abc", b"\x00\xff")


def test_native_code_is_there():
    true(bufcopy.VIPER, "the port has viper: the copy is native")
    true(WALK is not None, "the port has viper: the parser's fast path is there")


def test_copy_matches_slices():
    random.seed(5)
    src = bytearray(random.getrandbits(8) for _ in range(700))
    for _ in range(600):
        n = random.randint(0, 300)
        so = random.randint(0, 700 - n)
        do = random.randint(0, 700 - n)
        dst = bytearray(700)
        want = bytearray(700)
        bufcopy.copy(dst, do, src, so, n)
        want[do : do + n] = src[so : so + n]
        true(dst == want, "copy of %d bytes from %d to %d" % (n, so, do))


def _payload(n):
    if random.getrandbits(2):
        return bytes(random.getrandbits(8) for _ in range(n))
    out = bytearray()
    while len(out) < n:
        out += random.choice(_PROTOCOL)
    return bytes(out[:n])


def _stream(frames, links):
    wire = bytearray()
    for k in range(frames):
        link = links[k % len(links)]
        n = random.choice((1, 15, 16, 17, 64, 536, 1460, random.randint(1, 2100)))
        shape = random.getrandbits(2)
        if shape == 0:
            head = b"+IPD,%d,%d:" % (link, n)
        elif shape == 1:
            head = b'+IPD,%d,%d,"10.0.%d.%d",%d:' % (
                link,
                n,
                random.getrandbits(8),
                random.getrandbits(8),
                random.getrandbits(16),
            )
        else:
            head = b"+IPD,%d,%d,192.168.10.2,8080:" % (link, n)
        wire += b"\r\n" + head + _payload(n)
        if not random.getrandbits(3):
            wire += b"\r\nSEND OK\r\n"
    return bytes(wire + b"\r\nOK\r\n")


def _spoil(data):
    # Bytes lost, changed or added at a few random places.
    for _ in range(random.randint(1, 3)):
        at = random.randint(0, len(data) - 1)
        what = random.getrandbits(2)
        if what == 0:
            data = data[:at] + data[at + random.randint(1, 40) :]
        elif what == 1:
            data = data[:at] + bytes([random.getrandbits(8)]) + data[at + 1 :]
        else:
            data = data[:at] + random.choice(_PROTOCOL) + data[at:]
    return data


def _same(data, **options):
    fast, slow, walked = twin(data, **options)
    eq(fast["error"], None)
    true(fast == slow, "fast path and parse() differ with %r" % (options,))
    return walked


def test_fast_path_matches_parse_on_good_streams():
    random.seed(16)
    walked = 0
    total = 0
    for k in range(6):
        data = _stream(24, (0, 1) if k & 1 else (2, 0, 1))
        total += len(data)
        walked += _same(data, cuts=random_cuts(random, len(data), 5000), rx=4096, ring=8192)
        _same(data, cuts=random_cuts(random, len(data), 700), rx=1024, ring=2048)
        _same(
            data,
            cuts=random_cuts(random, len(data), 300),
            rx=256,
            ring=random.randint(16, 1500),
            takes=(97, 1200),
        )
    true(walked > total // 2, "the fast path took %d of %d bytes" % (walked, total))


def test_fast_path_matches_parse_on_spoilt_streams():
    random.seed(360)
    for k in range(10):
        data = _spoil(_stream(12, (0, 1)))
        _same(data, cuts=random_cuts(random, len(data), 3000), rx=4096, drop=bool(k & 1))
        _same(data, cuts=random_cuts(random, len(data), 200), rx=512, ring=300, takes=(50,), drop=True)


def test_fast_path_checks_what_follows_a_payload_as_parse_does():
    for after in (b"\r\n", b"\r", b"\rX", b"\n", b"X", b">", b"\r\r\n", b"+IPD,1,2:ab", b"\xff"):
        data = b"\r\n+IPD,0,3:abc" + after + b"\r\nOK\r\n\r\n+IPD,1,3,1.2.3.4,5:xyz\r\n"
        for k in range(len(data) + 1):
            _same(data, cuts=(k,), rx=64, drop=True)


def test_fast_path_leaves_odd_headers_to_parse():
    for head in (
        b"+IPD,0,0:",
        b"+IPD,0,70000:",
        b"+IPD,0,000064:",
        b"+IPD,9,5:",
        b"+IPD,0,5,1.2.34,80:",
        b"+IPD,0,5,1.2.3.4.5.6.7.8.90,80:",
        b"+IPD,0,5,1.2.3.4,123456:",
        b"+IPD,0,5,1.2.3.4,80,9:",
        b"+IPD,0,5\n:",
        b"+IPD," + b"1" * 50 + b":",
    ):
        data = b"\r\n" + head + b"hello\r\n\r\nOK\r\n+IPD,1,2:ab\r\n"
        for k in range(0, len(data) + 1, 3):
            _same(data, cuts=(k,), rx=64)


def test_fast_path_leaves_other_links_and_datagrams_to_parse():
    random.seed(7)
    data = _stream(16, (0, 3, 1))
    _same(data, rx=4096, ring_links=(0, 1))  # link 3 has no ring
    _same(data, rx=4096, dgram=True, ring=3000)


def test_a_full_ring_met_inside_parse_steps_is_not_asked_about_again():
    # The walk can stop at a full ring while parse()'s Python step runs it
    # (after a line it took); that step makes room or waits itself. Asked
    # about again later, when the walk stops for another reason (here: the
    # ring was let go), the owner would be told of a full ring that is gone.
    from wizfi360.wire.parser import Parser
    from wizfi360.wire.ring import Ring

    p = Parser(5, 64)
    ring = Ring(16)
    p.rings[0] = ring
    p.handler = lambda kind, arg, buf, s, e: None
    asked = []
    p.on_full = lambda r: asked.append(r) and False
    p.feed(b"\r\nOK\r\n\r\n+IPD,0,20:" + b"x" * 20 + b"\r\n")  # 20 bytes for 16
    eq(len(asked), 1, "the full ring was asked about once, by the step that met it")
    p.drop(ring)  # its socket is closed: the rest of the frame goes nowhere
    eq(p.feed(b"\r\nOK\r\n"), 6)
    eq(len(asked), 1, "no second question about a ring that is gone")


harness.main(globals())
