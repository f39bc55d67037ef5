"""Tests of the emulator's other sends (issue 16; module-notes "Sends"): AT+CIPSENDEX and
its \\0 rule. Exact bytes on the UART, as test_emulator.py."""

import pytest
from test_emulator import ERROR, OK, start_link

SEND_OK = b"\r\nSEND OK\r\n"
SEND_FAIL = b"\r\nSEND FAIL\r\n"
HOLD_MS = 10000  # a round trip no test waits for (the quirk's longest)
BUFFER = 21900  # manual 3.2.3.12


@pytest.fixture
def emu(control_emulator):
    return control_emulator


def quirk(ctl, name, value):
    assert ctl("quirk %s %s" % (name, value)) == "ok"


def received(conn, n):
    """n bytes from the peer's side of a link."""
    conn.settimeout(3)
    got = b""
    while len(got) < n:
        more = conn.recv(65536)
        assert more, "the link closed after %r" % got
        got += more
    return got


def write(c, link_id, data, seg, carried, name=b"CIPSENDERBUF"):
    """One buffered write (CIPMUX=1), checked up to its Recv line."""
    c.cmd(b"AT+%s=%d,%d" % (name, link_id, len(data)))
    c.expect(b"%d,%d\r\n" % (seg, carried) + OK + b">")
    c.send(data)
    c.expect(b"\r\nRecv %d bytes\r\n" % len(data))


def hold(ctl, window=1460):
    quirk(ctl, "net_latency_ms", HOLD_MS)
    quirk(ctl, "net_window", window)


# --- AT+CIPSENDEX ------------------------------------------------------------------------------
def sendex(c, link_id, length, line_bytes):
    c.cmd(b"AT+CIPSENDEX=%d,%d" % (link_id, length))
    c.expect(OK + b">")
    c.send(line_bytes)


def test_sendex_up_to_the_length(c, peer):
    start_link(c, peer.port, 0)
    conn = peer.accept()
    sendex(c, 0, 5, b"hello")
    c.expect(b"\r\nRecv 5 bytes\r\n" + SEND_OK)
    assert received(conn, 5) == b"hello"


def test_sendex_ends_at_backslash_zero(c, peer):
    """The two bytes \\0 end the data before its length; what follows them on the line
    is read as command lines again (this one is none: ignored)."""
    start_link(c, peer.port, 1)
    conn = peer.accept()
    sendex(c, 1, 100, b"ab\\0zz\r\n")
    c.expect(b"\r\nRecv 2 bytes\r\n" + SEND_OK)
    c.cmd(b"AT")
    c.expect(OK)
    assert received(conn, 2) == b"ab"
    sendex(c, 1, 10, b"\\0")  # nothing at all
    c.expect(b"\r\nRecv 0 bytes\r\n" + SEND_OK)


def test_sendex_backslash_escapes_the_next_byte(c, peer):
    """\\\\0 sends \\0; a backslash before any byte sends that byte; a NUL byte is data;
    the length counts the bytes on the line, and a backslash it ends on escapes nothing."""
    start_link(c, peer.port, 0)
    conn = peer.accept()
    line = b"x\\\\0\\\x00y\x00\\q"  # x \\ 0 \NUL y NUL \q: 10 bytes on the line
    sendex(c, 0, len(line), line)
    sent = b"x\\0\x00y\x00q"
    c.expect(b"\r\nRecv %d bytes\r\n" % len(sent) + SEND_OK)
    assert received(conn, len(sent)) == sent
    sendex(c, 0, 3, b"ab\\")
    c.expect(b"\r\nRecv 2 bytes\r\n" + SEND_OK)
    assert received(conn, 2) == b"ab"


def test_sendex_errors(c, peer):
    for line in (b"AT+CIPSENDEX=0,5", b"AT+CIPSENDEX=0,0", b"AT+CIPSENDEX=0,2049", b"AT+CIPSENDEX=5"):
        c.cmd(line)  # link 0 is not open; bad lengths; CIPMUX=1 wants the id
        c.expect(ERROR)
