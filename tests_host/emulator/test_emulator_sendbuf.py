"""Tests of the emulator's other sends (issue 16; module-notes "Sends"): AT+CIPSENDEX and
its \\0 rule, and the buffered send, AT+CIPSENDERBUF / AT+CIPSENDBUF with AT+CIPBUFSTATUS,
AT+CIPBUFRESET and AT+CIPCHECKSEQ (wizfi360_emu/sendbuf.py, handlers_sendbuf.py). Exact
bytes on the UART, as test_emulator.py. Where a test needs segments held in the buffer,
the network model's round trip (quirk net_latency_ms) is longer than the test: they stay
held until the test ends the link."""

import re
import time

import pytest
from test_emulator import ERROR, OK, IpdStream, collect, join, start_link
from testservers import TlsEcho

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


def until_taken(c, link_id, seg, timeout_s=3.0):
    """Ask AT+CIPBUFSTATUS until the drain has begun to carry segment seg (its thread
    takes a write when it next runs, not within the write: a test that counts rounds
    waits for it). The five numbers of the last answer."""
    deadline = time.monotonic() + timeout_s
    while True:
        c.cmd(b"AT+CIPBUFSTATUS=%d" % link_id)
        line = c.read_until(OK)
        numbers = tuple(int(n) for n in line[: -len(OK)].split(b","))
        if numbers[1] >= seg or time.monotonic() > deadline:
            return numbers
        time.sleep(0.01)


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


# --- the buffered send: writes and their reports ---------------------------------------------------
def test_write_and_report_at_once_without_the_network_model(c, peer):
    start_link(c, peer.port, 0)
    conn = peer.accept()
    write(c, 0, b"hello", 1, 0)
    c.expect(b"\r\n0,1,SEND OK\r\n")
    write(c, 0, b" world", 2, 1)
    c.expect(b"\r\n0,2,SEND OK\r\n")
    assert received(conn, 11) == b"hello world"


def test_the_module_takes_commands_while_segments_are_held(ctl, c, peer):
    start_link(c, peer.port, 2)
    hold(ctl)
    write(c, 2, b"d" * 1000, 1, 0)
    assert until_taken(c, 2, 1)[1] == 1
    for seg in (2, 3):
        write(c, 2, b"d" * 1000, seg, 0)
    # the first round took segment 1 alone (2 and 3 came after it began): 1 sent, none carried
    c.cmd(b"AT+CIPBUFSTATUS=2")
    c.expect(b"4,1,0,%d,%d\r\n" % (BUFFER - 3000, (BUFFER - 3000) // 1460) + OK)
    c.cmd(b"AT+CIPCHECKSEQ=2,3")
    c.expect(b"2,3,FALSE\r\n" + OK)
    c.cmd(b"AT+CIPBUFRESET=2")  # data waits: no reset
    c.expect(ERROR)
    c.cmd(b"AT")
    c.expect(OK)


def test_segments_overlap_and_are_reported_in_order(ctl, c, peer):
    """Under the network model (a window a round trip) the writes go in while earlier
    ones are on the network; each is reported once its last byte is carried."""
    start_link(c, peer.port, 0)
    conn = peer.accept()
    quirk(ctl, "net_latency_ms", 100)
    quirk(ctl, "net_window", 1460)
    payload = bytes(range(256)) * 16  # 4096 bytes: writes of 1000, 1000, 1000, 1096
    seg = 0
    answers = []
    for start in range(0, len(payload), 1000):
        piece = payload[start : start + 1000 if start < 3000 else None]
        seg += 1
        c.cmd(b"AT+CIPSENDERBUF=0,%d" % len(piece))
        answers.append(c.read_until(b">"))
        c.send(piece)
        answers.append(c.read_until(b"\r\nRecv %d bytes\r\n" % len(piece)))
        if start == 3000:
            break
    text = b"".join(answers)
    stream = IpdStream()
    collect(c, stream, lambda s: b"0,4,SEND OK" in text + s.rest())
    text += stream.rest()
    report = rb"\r\n0,(\d+),SEND OK\r\n"  # may come between an answer's lines: taken out first
    assert re.findall(report, text) == [b"1", b"2", b"3", b"4"]
    answers = re.sub(report, b"", text)
    assert re.findall(rb"(\d+),\d+\r\n\r\nOK\r\n>", answers) == [b"1", b"2", b"3", b"4"]
    assert received(conn, len(payload)) == payload


def test_full_buffer_answers_error_without_a_prompt(ctl, c, peer):
    start_link(c, peer.port, 0)
    hold(ctl, window=1)  # a byte a round: nothing is carried during the test
    write(c, 0, b"f" * 2048, 1, 0)
    assert until_taken(c, 0, 1)[1] == 1
    for seg in range(2, 11):
        write(c, 0, b"f" * 2048, seg, 0)
    write(c, 0, b"f" * (BUFFER - 20480), 11, 0)  # exactly full
    c.cmd(b"AT+CIPSENDERBUF=0,1")
    c.expect(ERROR)
    c.cmd(b"AT+CIPBUFSTATUS=0")
    c.expect(b"12,1,0,0,0\r\n" + OK)


def test_checkseq_reset_and_the_latest_32(c, peer):
    start_link(c, peer.port, 0)
    for seg in range(1, 34):
        write(c, 0, b"%d" % seg, seg, seg - 1)
        c.expect(b"\r\n0,%d,SEND OK\r\n" % seg)
    c.cmd(b"AT+CIPCHECKSEQ=0,33")
    c.expect(b"0,33,TRUE\r\n" + OK)
    c.cmd(b"AT+CIPCHECKSEQ=0,2")
    c.expect(b"0,2,TRUE\r\n" + OK)
    for seg in (1, 34):  # older than the latest 32; not written yet
        c.cmd(b"AT+CIPCHECKSEQ=0,%d" % seg)
        c.expect(ERROR)
    c.cmd(b"AT+CIPBUFSTATUS=0")
    c.expect(b"34,33,33,%d,%d\r\n" % (BUFFER, BUFFER // 1460) + OK)
    c.cmd(b"AT+CIPBUFRESET=0")
    c.expect(OK)
    c.cmd(b"AT+CIPCHECKSEQ=0,2")  # the record went with the count
    c.expect(ERROR)
    write(c, 0, b"again", 1, 0)
    c.expect(b"\r\n0,1,SEND OK\r\n")


def test_single_link_mode(emu, peer):
    from test_emulator import Client

    c = Client(emu.tcp_port)
    join(c, mux=0)
    start_link(c, peer.port, mux=0)
    conn = peer.accept()
    c.cmd(b"AT+CIPSENDERBUF=3")
    c.expect(b"1,0\r\n" + OK + b">")
    c.send(b"one")
    c.expect(b"\r\nRecv 3 bytes\r\n\r\n1,SEND OK\r\n")
    c.cmd(b"AT+CIPCHECKSEQ=1")
    c.expect(b"1,TRUE\r\n" + OK)
    c.cmd(b"AT+CIPBUFSTATUS")
    c.expect(b"2,1,1,%d,%d\r\n" % (BUFFER, BUFFER // 1460) + OK)
    c.cmd(b"AT+CIPBUFRESET")
    c.expect(OK)
    for line in (b"AT+CIPSENDERBUF=0,3", b"AT+CIPBUFSTATUS=0", b"AT+CIPBUFRESET=0", b"AT+CIPCHECKSEQ=0,1"):
        c.cmd(line)  # no link id in single-link mode
        c.expect(ERROR)
    assert received(conn, 3) == b"one"
    c.close()


# --- which name ---------------------------------------------------------------------------------
def test_the_name_the_module_answers_to(ctl, c, peer):
    start_link(c, peer.port, 0)
    c.cmd(b"AT+CIPSENDBUF=0,1")  # the manual profile: the manual's name only
    c.expect(ERROR)
    quirk(ctl, "sendbuf_name", "CIPSENDBUF")  # the real profile's guess: ESP's name only
    c.cmd(b"AT+CIPSENDERBUF=0,1")
    c.expect(ERROR)
    write(c, 0, b"a", 1, 0, name=b"CIPSENDBUF")
    c.expect(b"\r\n0,1,SEND OK\r\n")
    quirk(ctl, "sendbuf_name", "both")
    write(c, 0, b"b", 2, 1, name=b"CIPSENDBUF")
    c.expect(b"\r\n0,2,SEND OK\r\n")
    write(c, 0, b"c", 3, 2)
    c.expect(b"\r\n0,3,SEND OK\r\n")
    reply = ctl("quirk sendbuf_name CIPSEND")
    assert reply == "error sendbuf_name: want one of CIPSENDERBUF, CIPSENDBUF, both"


# --- errors and ends ---------------------------------------------------------------------------
BUFFER_COMMANDS = (
    b"AT+CIPSENDERBUF=%d,4",
    b"AT+CIPBUFSTATUS=%d",
    b"AT+CIPBUFRESET=%d",
    b"AT+CIPCHECKSEQ=%d,1",
)


def test_not_on_udp_ssl_or_closed_links(ctl, c):
    c.cmd(b'AT+CIPSTART=1,"UDP","127.0.0.1",9')
    c.expect(b"1,CONNECT\r\n" + OK)
    tls = TlsEcho()
    try:
        c.cmd(b'AT+CIPSTART=2,"SSL","127.0.0.1",%d' % tls.port)
        c.expect(b"2,CONNECT\r\n" + OK)
        for link_id in (1, 2, 3):  # UDP, SSL, not open
            for line in BUFFER_COMMANDS:
                c.cmd(line % link_id)
                c.expect(ERROR)
        quirk(ctl, "link_not_valid", 1)
        c.cmd(b"AT+CIPSENDERBUF=3,4")
        c.expect(b"link is not valid\r\n" + ERROR)
    finally:
        tls.stop()


def test_bad_lengths(c, peer):
    start_link(c, peer.port, 0)
    for tail in (b"=0,0", b"=0,2049", b"=0", b"?"):
        c.cmd(b"AT+CIPSENDERBUF" + tail)
        c.expect(ERROR)


def test_held_segments_fail_when_the_peer_closes(ctl, c, peer):
    start_link(c, peer.port, 0)
    conn = peer.accept()
    hold(ctl)
    write(c, 0, b"x" * 2000, 1, 0)
    write(c, 0, b"y" * 10, 2, 0)
    conn.close()
    c.expect(b"0,CLOSED\r\n" + SEND_FAIL + SEND_FAIL)
    c.quiet(0.1)


def test_held_segments_end_silently_with_dead_link_silent(ctl, c, peer):
    start_link(c, peer.port, 0)
    conn = peer.accept()
    hold(ctl)
    quirk(ctl, "dead_link_silent", 1)
    write(c, 0, b"x" * 20, 1, 0)
    conn.close()
    c.expect(b"0,CLOSED\r\n")
    c.quiet(0.2)  # no SEND FAIL, no SEND OK
    c.cmd(b"AT")
    c.expect(OK)


def test_a_reboot_forgets_the_buffer(ctl, c, peer):
    start_link(c, peer.port, 0)
    hold(ctl)
    write(c, 0, b"z" * 30, 1, 0)
    assert ctl("reboot") == "ok"
    c.expect(b"\r\nready\r\n")
    c.quiet(0.2)
