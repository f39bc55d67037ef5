"""UDP links: the parser stores each datagram whole, behind a record of its length and sender."""

import pytest

from wizfi360.wire.parser import Parser
from wizfi360.wire.ring import Ring
from wizfi360_host.consts import RECORD


def parser(ring_size=64):
    p = Parser(rx_size=32)
    p.handler = lambda *a: None
    ring = Ring(ring_size)
    ring.datagrams = True
    p.rings[2] = ring
    return p, ring


def records(ring):
    out = []
    while len(ring):
        hdr = ring.take(RECORD)
        n = hdr[0] << 8 | hdr[1]
        out.append((ring.take(n), ".".join(str(b) for b in hdr[2:6]), hdr[6] << 8 | hdr[7]))
    return out


@pytest.mark.parametrize("chunk", [1, 3, 7, 32, 1000])
def test_datagrams_keep_boundaries_and_senders(chunk):
    p, ring = parser(256)
    stream = b'\r\n+IPD,2,5,10.0.0.7,5353:hello\r\n+IPD,2,4,"192.168.1.20",9:a\r\nb\r\n+IPD,2,4:zzzz'
    for i in range(0, len(stream), chunk):
        assert p.feed(stream[i : i + chunk]) == len(stream[i : i + chunk])
    assert records(ring) == [
        (b"hello", "10.0.0.7", 5353),
        (b"a\r\nb", "192.168.1.20", 9),
        (b"zzzz", "0.0.0.0", 0),
    ]


def test_a_datagram_waits_until_it_fits_whole():
    p, ring = parser(RECORD + 10)
    first = b"\r\n+IPD,2,6,1.2.3.4,7:abcdef"
    second = b"\r\n+IPD,2,9,1.2.3.4,8:123456789"
    p.feed(first + second)
    assert p.pending()  # the second does not fit behind the first
    assert records(ring) == [(b"abcdef", "1.2.3.4", 7)]
    p.parse()
    p.settle()  # the input ran dry: the last payload becomes readable
    assert not p.pending()
    assert records(ring) == [(b"123456789", "1.2.3.4", 8)]


def test_a_datagram_larger_than_the_ring_is_dropped_and_counted():
    p, ring = parser(16)
    p.feed(b"\r\n+IPD,2,9,1.2.3.4,7:123456789\r\n+IPD,2,2,1.2.3.4,7:ok")
    assert p.discarded == 9
    assert records(ring) == [(b"ok", "1.2.3.4", 7)]


@pytest.mark.parametrize("ip", [b"1.2.3.256", b"1.2.3.x", b"1..2.3", b'"1.2.3.4'])
def test_a_datagram_from_no_address_is_a_bad_frame(ip):
    # A datagram's sender is stored with it, so it is parsed in full (a TCP
    # frame's is parsed only when Parser.peer() is asked for).
    p, ring = parser(256)
    p.feed(b"\r\n+IPD,2,3,%s,53:abc\r\n+IPD,2,2,10.0.0.1,53:ok\r\n" % ip)
    assert p.bad_frames == 1
    assert records(ring)[-1] == (b"ok", "10.0.0.1", 53)


def test_the_sender_of_a_tcp_frame_is_parsed_when_asked_for():
    p = Parser()
    p.handler = lambda *a: None
    p.rings[1] = Ring(64)
    p.feed(b'\r\n+IPD,1,2,"192.168.7.9",8080:hi\r\n')
    assert (bytes(p.peer()), p.peer_port) == (bytes([192, 168, 7, 9]), 8080)
    p.feed(b"\r\n+IPD,1,2,1.2.3.999,80:hi\r\n")  # not a dotted quad after all
    assert bytes(p.peer()) == bytes(4) and p.bad_frames == 0
