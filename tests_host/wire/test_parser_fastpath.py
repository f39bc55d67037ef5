"""The parser's native fast path (lib/wizfi360/wire/_ipd_viper.py) against its
Python path, on the MicroPython unix port.

parse() hands TCP +IPD frames to a viper function when the port has viper;
whatever that takes must come out exactly as parse() itself would make it:
the same events in the same order, the same payload per link, the same
counters (damaged, bad frames, discarded) and the same state at the end. Each
case here runs in tests_device/parsertwin.py under `micropython`, twice: with
the fast path and without it; both outcomes must be equal. The inputs are
those of test_parser.py (its table, whole and cut at random) and the
hypothesis strategies of test_parser_properties.py (valid streams in random
chunks, full rings drained a little at a time, datagram rings, arbitrary
bytes, bytes lost on the UART), plus streams like the benchmark's (two links,
CIPDINFO headers) with rings that fill mid-frame. Where the strategy knows
the expected trace, the fast path's must equal it too.
"""

import importlib.util
import json
import os
import random
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_parser import CASES, DATA, IDS, merged
from test_parser_properties import (
    PROFILE,
    cuts,
    decode_records,
    frames,
    hostile,
    junk_lines,
    link_lines,
    lost_bytes,
    prompts,
    responses,
    streams,
)

from fwrun import find_micropython

ROOT = Path(__file__).resolve().parents[2]
TWIN_PY = ROOT / "tests_device" / "parsertwin.py"


def _load_twin():
    # parsertwin.py runs under CPython too; loaded by path, so that nothing
    # else of tests_device (its board.py, ...) comes onto sys.path.
    spec = importlib.util.spec_from_file_location("parsertwin", TWIN_PY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


random_cuts = _load_twin().random_cuts
# Half of test_parser_properties' examples (they run there against the
# expected traces already), a quarter for datagram rings, which the fast path
# leaves to parse() anyway; `make fuzz` (HYPOTHESIS_MAX_EXAMPLES) sets all.
_FUZZ = os.environ.get("HYPOTHESIS_MAX_EXAMPLES")
TWIN = PROFILE if _FUZZ else settings(PROFILE, max_examples=100)
TWIN_DATAGRAMS = PROFILE if _FUZZ else settings(PROFILE, max_examples=50)


class Twin:
    """micropython running tests_device/parsertwin.py, one case per round trip."""

    def __init__(self, micropython):
        env = dict(os.environ, MICROPYPATH=os.pathsep.join([str(ROOT / "lib"), str(ROOT / "host")]))
        self.proc = subprocess.Popen(
            [micropython, str(TWIN_PY)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            text=True,
        )
        self.walked = 0  # bytes the fast path took, over all cases

    def run(self, data, cuts=(), **options):
        """Both outcomes of one case, checked equal; returns the fast one.
        options: parsertwin.run's (rx, ring, takes, ...), with its defaults."""
        case = dict(options, data=bytes(data).hex(), cuts=list(cuts))
        self.proc.stdin.write(json.dumps(case) + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        assert reply, "micropython ended: %s" % self.proc.poll()
        reply = json.loads(reply)
        assert reply["native"], "the unix port has viper: the fast path must be there"
        fast, slow = reply["fast"], reply["slow"]
        assert fast["error"] is None, fast["error"]
        assert fast == slow
        self.walked += reply["walked"]
        return fast

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(10)


@pytest.fixture(scope="module")
def twin():
    path = find_micropython()
    assert path, "no micropython binary: make .venv installs it"
    t = Twin(path)
    yield t
    t.close()


def trace_of(outcome):
    """The outcome's trace in test_parser's form, merged."""
    out = []
    for kind, arg, data in outcome["trace"]:
        out.append((DATA, arg, bytes.fromhex(data)) if kind == "d" else (kind, arg, bytes.fromhex(data)))
    return merged(out)


# --------------------------------------------------------------------------
# test_parser.py's table


@pytest.mark.parametrize("data,expected,state", [c[1:] for c in CASES], ids=IDS)
def test_table_whole_and_cut(twin, data, expected, state):
    rng = random.Random(data)
    for cut, rx in (([], 1024), ([], 7), (random_cuts(rng, len(data), 9), 64), ([1] * len(data), 1024)):
        fast = twin.run(data, cut, rx=rx)
        assert trace_of(fast) == merged(expected)


def test_table_in_one_stream(twin):
    data = b"".join(c[1] + b"\r\nMARK\r\n" for c in CASES)
    rng = random.Random(16)
    for rx in (16, 100, 1024, 4096):
        twin.run(data, random_cuts(rng, len(data), rng.choice([3, 40, 700, 3000])), rx=rx)


# --------------------------------------------------------------------------
# The property tests' strategies


@TWIN
@given(streams(), cuts, st.sampled_from([7, 64, 1024, 4096]))
def test_valid_streams(twin, stream, sizes, rx_size):
    data, expected, _ = stream
    fast = twin.run(data, sizes, rx=rx_size)
    assert trace_of(fast) == merged(expected)


@TWIN
@given(
    streams(),
    cuts,
    st.sampled_from([16, 17, 31, 64]),
    st.sampled_from([7, 64, 1024]),
    st.lists(st.integers(1, 40), min_size=1, max_size=8),
)
def test_full_rings_drained_slowly(twin, stream, sizes, ring_size, rx_size, takes):
    data, expected, _ = stream
    fast = twin.run(data, sizes, rx=rx_size, ring=ring_size, takes=takes)
    assert trace_of(fast) == merged(expected)


@TWIN_DATAGRAMS
@given(st.data(), cuts, st.sampled_from([7, 64, 1024]), st.integers(16, 600))
def test_datagram_rings(twin, data, sizes, rx_size, ring_size):
    items = st.one_of(st.one_of(responses, link_lines, prompts, junk_lines), frames(max_len=700))
    wire, _, _ = data.draw(streams(items))
    fast = twin.run(wire, sizes, rx=rx_size, ring=ring_size, dgram=True)
    for ring in fast["state"][-1]:
        assert ring[0] == 0  # drained: every record came out (decode_records checks them)
    for kind, _, payload in fast["trace"]:
        if kind == "d":
            decode_records(bytes.fromhex(payload))


@TWIN
@given(*hostile)
def test_arbitrary_bytes(twin, data, sizes, rx_size, ring_size, datagrams):
    twin.run(data, sizes, rx=rx_size, line=64, ring=ring_size, dgram=datagrams)


@TWIN
@given(lost_bytes(), st.sampled_from([7, 64, 1024]))
def test_lost_bytes(twin, case, rx_size):
    twin.run(case[0], rx=rx_size, drop=True)


# --------------------------------------------------------------------------
# Streams like the benchmark's: the fast path's own ground


def bench_stream(rng, frames_, links=(0, 1)):
    wire = bytearray()
    for k in range(frames_):
        link = links[k % len(links)]
        n = rng.choice([1, 2, 15, 16, 17, 64, 536, 1460, rng.randint(1, 3000)])
        body = bytes(rng.getrandbits(8) for _ in range(n))
        if rng.random() < 0.3:
            body = (b"\r\n+IPD,0,5:OK\r\n>" * (n // 16 + 1))[:n]
        head = rng.choice(
            [
                b"+IPD,%d,%d,192.168.10.2,8080:" % (link, n),
                b'+IPD,%d,%d,"10.0.0.%d",%d:' % (link, n, rng.randint(0, 255), rng.randint(0, 65535)),
                b"+IPD,%d,%d:" % (link, n),
            ]
        )
        wire += b"\r\n" + head + body
    return bytes(wire + b"\r\nOK\r\n")


@pytest.mark.parametrize("seed", range(12))
def test_benchmark_like_streams(twin, seed):
    rng = random.Random(seed)
    data = bench_stream(rng, 40)
    before = twin.walked
    for rx, ring, takes in ((4096, 8192, ()), (1024, 2048, ()), (1024, 700, (300, 1500)), (256, 64, (17,))):
        twin.run(
            data, random_cuts(rng, len(data), rng.choice([100, 2000, 5000])), rx=rx, ring=ring, takes=takes
        )
    assert twin.walked - before > len(data)  # the fast path did most of it


def test_fast_path_takes_whole_frames_in_one_call(twin):
    # 64-byte frames on two links, fed 4 KB at a time: everything but the
    # frames cut by the 4 KB edges goes through the fast path.
    body = bytes(range(64))
    data = b"".join(b"\r\n+IPD,%d,64,192.168.10.2,8080:" % (k & 1) + body for k in range(200))
    before = twin.walked
    fast = twin.run(data, rx=4096, ring=16384)
    assert trace_of(fast) == [(DATA, 0, body * 100), (DATA, 1, body * 100)]
    assert twin.walked - before > 0.9 * len(data)
    assert fast["state"][6] == 1 and fast["state"][7:9] == [bytes([192, 168, 10, 2]).hex(), 8080]


def test_ring_that_wraps(twin):
    # Frames land across the end of the ring storage; drained in odd amounts.
    rng = random.Random(7)
    data = bench_stream(rng, 60, links=(2,))
    for ring in (16, 100, 1000, 4097):
        fast = twin.run(data, rx=4096, ring=ring, takes=(ring // 3 + 1, 7))
        assert fast["state"][1] == 0  # no bad frame


def test_link_passed_on_mid_frame(twin):
    # Link 0's ring is replaced between reads, as the engine does when the ID
    # goes to a new connection: a frame cut by the read stays its old ring's
    # (the fast path leaves it to parse()), and the next frames go to the new
    # one. The walk keeps ring indices across frames within a call
    # (_ipd_viper.py), so this checks that no frame lands in a ring by its
    # link alone.
    body = bytes(range(64))
    data = b"".join(b"\r\n+IPD,%d,64:" % (k & 1) + body for k in range(40)) + b"\r\nOK\r\n"
    rng = random.Random(3)
    before = twin.walked
    for _ in range(20):
        fast = twin.run(data, random_cuts(rng, len(data), 300), rx=256, ring=1024, swap=True)
        got = {}
        for kind, link, payload in fast["trace"]:
            if kind == "d":
                got[link] = got.get(link, b"") + bytes.fromhex(payload)
        assert got.pop(1) == body * 20
        assert b"".join(got[k] for k in sorted(got)) == body * 20  # link 0's, across its rings
        assert len(got) > 2  # frames reached both old and new rings
    assert twin.walked - before > 10 * len(data)


@pytest.mark.parametrize("ring", [16, 100, 1024])
def test_link_closed_and_passed_on_mid_frame(twin, ring):
    # As above, but the old ring is let go first (parser.drop, as a socket's
    # close does): the rest of its frame goes nowhere, counted as discarded,
    # with small rings full at the moment, with and without the fast path.
    body = bytes(range(64))
    data = b"".join(b"\r\n+IPD,%d,64:" % (k & 1) + body for k in range(40)) + b"\r\nOK\r\n"
    rng = random.Random(ring)
    for _ in range(20):
        fast = twin.run(data, random_cuts(rng, len(data), 300), rx=256, ring=ring, swap=True, close=True)
        assert fast["state"][1] == 0  # no bad frame


def test_no_ring_or_datagram_ring_is_left_to_parse(twin):
    data = b"\r\n+IPD,3,5:hello\r\n+IPD,1,5,1.2.3.4,9:world\r\n+IPD,0,2:ok\r\n"
    fast = twin.run(data, ring_links=(0, 1))
    assert fast["state"][2] == 5  # link 3 has no ring: discarded
    twin.run(data, dgram=True)


def test_odd_headers_are_left_to_parse(twin):
    for head in (
        b"+IPD,0,0:",
        b"+IPD,0,70000:",
        b"+IPD,0,000064:",
        b"+IPD,9,5:",
        b"+IPD,0,5,1.2.3,80:",
        b"+IPD,0,5,1.2.34,80:",
        b"+IPD,0,5,1.2.3.4.5.6.7.8.9,80:",
        b"+IPD,0,5,1.2.3.4.5.6.7.8.90,80:",
        b"+IPD,5,1.2.34,80:",
        b"+IPD,5,1.2.3.4.5.6.7.8.90,80:",
        b"+IPD,0,5,1.2.3.4,:",
        b"+IPD,0,5,1.2.3.4,123456:",
        b"+IPD,0,5,1.2.3.4,80,9:",
        b"+IPD,0,5\n:",
        b"+IPD,0,5,1234567,80:",
        b"+IPD,5,1.2.3.4,80:",
        b"+IPD,5:",
        b"+IPD," + b"1" * 50 + b":",
        b"+IPD,00000,00005:",
    ):
        data = b"\r\n" + head + b"hello\r\n\r\nOK\r\n+IPD,1,2:ab\r\nxyz\r\n"
        for k in range(len(data) + 1):
            twin.run(data, [k], rx=64)


@pytest.mark.parametrize(
    "after",
    [b"\r\n", b"\r", b"\rX", b"\r\r\n", b"\n", b"X", b">", b"\r\n>", b"+IPD,1,2:ab", b"\xff", b"\r\xff", b""],
)
def test_what_follows_a_payload_is_checked_as_parse_does(twin, after):
    # A frame commits at once only when CR LF follows it; anything else goes
    # through parser.py's check, the same with and without the fast path.
    data = b"\r\n+IPD,0,3:abc" + after + b"\r\nOK\r\n\r\n+IPD,1,3,1.2.3.4,5:xyz\r\n"
    for k in range(len(data) + 1):
        twin.run(data, [k], rx=64, drop=True)
        twin.run(data, [k], rx=64)


def test_stale_bytes_past_the_input_are_not_read(twin):
    # The read buffer still holds an earlier, longer read: a LF stands right
    # past the CR that ends this one. Only the next read tells what follows.
    head = b"\r\n+IPD,0,3:abc\r"
    data = b"x" * len(head) + b"\n" + head + b"X\r\n\r\nOK\r\n"
    fast = twin.run(data, [len(head) + 1, len(head)], rx=64)
    assert fast["state"][0] == 1  # noise after the frame, then a line: damaged
