"""Tests of the WizFi360 emulator itself: a raw TCP (or pty) client checks exact bytes."""

import json
import os
import queue
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / "tools"
sys.path.insert(0, str(TOOLS))

from wizfi360_emu import AccessPoint, Emulator, load_config  # noqa: E402
from wizfi360_emu.atparse import ParamError, parse_line, quote  # noqa: E402
from wizfi360_emu.config import ap_from_option  # noqa: E402

OK = b"\r\nOK\r\n"
ERROR = b"\r\nERROR\r\n"
JOINED = b"WIFI CONNECTED\r\nWIFI GOT IP\r\n\r\nOK\r\n"
ODD_SSID = 'a"b\\c,d'
ODD_PASS = 'p,w"d\\'


# --- helpers ---------------------------------------------------------------------------------
class Client:
    """Raw byte client of the emulator's UART."""

    def __init__(self, port=None, fd=None, rcvbuf=None):
        self.buf = bytearray()
        self.fd = fd
        self.sock = None
        if fd is None:
            self.sock = socket.socket()
            if rcvbuf:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            self.sock.connect(("127.0.0.1", port))

    def send(self, data):
        if self.sock is not None:
            self.sock.sendall(data)
        else:
            os.write(self.fd, data)

    def cmd(self, line):
        self.send(line + b"\r\n")

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        src = self.sock if self.sock is not None else self.fd
        if not select.select([src], [], [], left)[0]:
            return False
        data = self.sock.recv(65536) if self.sock is not None else os.read(self.fd, 65536)
        if not data:
            raise EOFError("emulator closed the connection")
        self.buf += data
        return True

    def read(self, n, timeout=3.0):
        deadline = time.monotonic() + timeout
        while len(self.buf) < n:
            if not self._fill(deadline):
                break
        out = bytes(self.buf[:n])
        del self.buf[:n]
        return out

    def expect(self, data, timeout=3.0):
        got = self.read(len(data), timeout)
        assert got == data
        return got

    def read_until(self, marker, timeout=3.0):
        deadline = time.monotonic() + timeout
        while marker not in self.buf:
            if not self._fill(deadline):
                raise AssertionError("no %r in %r" % (marker, bytes(self.buf)))
        i = self.buf.index(marker) + len(marker)
        out = bytes(self.buf[:i])
        del self.buf[:i]
        return out

    def quiet(self, seconds=0.1):
        """Nothing more arrives for a while."""
        self._fill(time.monotonic() + seconds)
        assert bytes(self.buf) == b""

    def close(self):
        if self.sock is not None:
            self.sock.close()


class IpdStream:
    """Splits the UART stream into +IPD frames and everything else."""

    def __init__(self, mux=1):
        self.mux = mux
        self.frames = []  # (header fields, payload)
        self.other = bytearray()
        self.pending = bytearray()

    def feed(self, data):
        self.pending += data
        head = b"\r\n+IPD,"
        while self.pending:
            i = self.pending.find(head)
            if i < 0:
                # keep a tail that could be the start of a header
                keep = next((k for k in range(len(head) - 1, 0, -1) if self.pending.endswith(head[:k])), 0)
                self.other += self.pending[: len(self.pending) - keep]
                del self.pending[: len(self.pending) - keep]
                return
            self.other += self.pending[:i]
            del self.pending[:i]
            colon = self.pending.find(b":")
            if colon < 0:
                return
            fields = bytes(self.pending[len(head) : colon]).split(b",")
            n = int(fields[1] if self.mux else fields[0])
            if len(self.pending) < colon + 1 + n:
                return
            self.frames.append((fields, bytes(self.pending[colon + 1 : colon + 1 + n])))
            del self.pending[: colon + 1 + n]

    def payload(self):
        return b"".join(p for _, p in self.frames)

    def rest(self):
        """Everything that is not a frame (a possible partial header included)."""
        return bytes(self.other + self.pending)


def collect(client, stream, done, timeout=5.0):
    """Feed client bytes into stream until done(stream) is true."""
    stream.feed(bytes(client.buf))
    client.buf.clear()
    deadline = time.monotonic() + timeout
    while not done(stream):
        assert client._fill(deadline), "timed out; other=%r" % bytes(stream.other)
        stream.feed(bytes(client.buf))
        client.buf.clear()


class Peer:
    """A TCP server on 127.0.0.1 for the emulator's links to connect to."""

    def __init__(self, echo=False):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        self.echo = echo
        self.conns = []
        self._accepted = queue.Queue()
        threading.Thread(target=self._accept_loop, daemon=True).start()

    def _accept_loop(self):
        while True:
            try:
                conn, _ = self.ls.accept()
            except OSError:
                return
            self.conns.append(conn)
            self._accepted.put(conn)
            if self.echo:
                threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn):
        try:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                conn.sendall(data)
        except OSError:
            pass
        conn.close()

    def accept(self, timeout=3.0):
        return self._accepted.get(timeout=timeout)

    def close(self):
        self.ls.close()
        for c in self.conns:
            c.close()


@pytest.fixture
def emu():
    e = Emulator(
        aps=[
            AccessPoint("WizFiTest", "wizfi360pass"),
            AccessPoint(ODD_SSID, ODD_PASS, bssid="00:11:22:33:44:55", channel=11, rssi=-70, ecn=4),
            AccessPoint("Broken", "whatever", fail_code=4),
        ],
        join_delay_s=0.05,
        dns_map={"sink.test": "127.0.0.1"},
    )
    e.start()
    yield e
    e.stop()


@pytest.fixture
def client(emu):
    c = Client(emu.tcp_port)
    c.cmd(b"AT")  # also makes sure the emulator has taken this client
    c.expect(b"AT\r\n" + OK)
    yield c
    c.close()


def join(c, mux=1, dinfo=1):
    """Echo off, link mode, joined to WizFiTest."""
    c.cmd(b"ATE0")
    c.read_until(OK)
    for line in (b"AT+CIPMUX=%d" % mux, b"AT+CIPDINFO=%d" % dinfo):
        c.cmd(line)
        c.expect(OK)
    c.cmd(b'AT+CWJAP_CUR="WizFiTest","wizfi360pass"')
    c.expect(JOINED)


def start_link(c, port, link_id=0, mux=1):
    if mux:
        c.cmd(b'AT+CIPSTART=%d,"TCP","127.0.0.1",%d' % (link_id, port))
        c.expect(b"%d,CONNECT\r\n" % link_id + OK)
    else:
        c.cmd(b'AT+CIPSTART="TCP","127.0.0.1",%d' % port)
        c.expect(b"CONNECT\r\n" + OK)


# --- parser ----------------------------------------------------------------------------------
def test_parse_line_forms_and_escapes():
    cmd = parse_line(b'AT+CWJAP_CUR="a\\"b\\\\c\\,d","x",1')
    assert (cmd.name, cmd.form) == (b"+CWJAP_CUR", "set")
    assert [(a.text, a.quoted) for a in cmd.args] == [(ODD_SSID, True), ("x", True), ("1", False)]
    assert parse_line(b"AT+CWMODE_CUR?").form == "query"
    assert parse_line(b"AT").name == b""
    assert parse_line(b"ATE0").name == b"E0"
    assert parse_line(("AT+X=" + quote(ODD_SSID)).encode()).args[0].text == ODD_SSID
    for bad in (
        b'AT+X="a"b"',
        b'AT+X="abc',
        b'AT+X="a\rb"',
        b"AT+X=1,",
        b"AT+X=",
        b'AT+X="a"x',
        b'AT+X=a"b',
        b"AT+x?",
    ):
        with pytest.raises(ParamError):
            parse_line(bad)


# --- basics ----------------------------------------------------------------------------------
def test_boot_ready_and_echo(emu, client):
    emu.reboot(garbage=b"\xff\xfe")
    client.expect(b"\xff\xfe\r\nready\r\n")
    client.cmd(b"AT")
    client.expect(b"AT\r\n" + OK)
    assert emu.commands == [b"AT", b"AT"]


def test_ate0_and_ate1(client):
    client.cmd(b"ATE0")
    client.expect(b"ATE0\r\n" + OK)  # its own echo still comes back
    client.cmd(b"AT")
    client.expect(OK)
    client.cmd(b"ATE1")
    client.expect(OK)
    client.cmd(b"AT")
    client.expect(b"AT\r\n" + OK)


def test_gmr(client):
    client.cmd(b"AT+GMR")
    client.expect(
        b"AT+GMR\r\nAT version:1.1.1.7(May  4 2021 15:14:59)\r\nSDK version:3.2.0(a0ffff9f)\r\n"
        b"compile time:May  4 2021 15:14:59\r\n\r\nOK\r\n"
    )


def test_unknown_malformed_and_stray_bytes(emu, client):
    client.cmd(b"ATE0")
    client.expect(b"ATE0\r\n" + OK)
    for line in (b"AT+NOPE", b"AT+CWMODE_CUR=9", b"AT+CWMODE_CUR=1,", b'AT+CWMODE_CUR="1"', b"AT+GMR?"):
        client.cmd(line)
        client.expect(ERROR)
    client.send(b"\r\nhello\r\n\r\n")  # not command lines: ignored
    client.quiet()
    client.cmd(b"AT+CWMODE_CUR?")
    client.expect(b"+CWMODE_CUR:1\r\n" + OK)
    client.cmd(b"AT+CWMODE_DEF=3")
    client.expect(OK)
    client.cmd(b"AT+CIFSR")
    client.expect(
        b'+CIFSR:APIP,"192.168.4.1"\r\n+CIFSR:APMAC,"02:08:dc:12:34:56"\r\n'
        b'+CIFSR:STAIP,"0.0.0.0"\r\n+CIFSR:STAMAC,"00:08:dc:12:34:56"\r\n' + OK
    )
    assert b"hello" not in emu.commands and emu.commands[-1] == b"AT+CIFSR"


def test_cwlap(client):
    client.cmd(b"ATE0")
    client.read_until(OK)
    client.cmd(b"AT+CWLAP")
    client.expect(
        b'+CWLAP:(3,"WizFiTest",-55,"aa:bb:cc:dd:ee:ff",6)\r\n'
        b'+CWLAP:(4,"a"b\\c,d",-70,"00:11:22:33:44:55",11)\r\n'
        b'+CWLAP:(3,"Broken",-55,"aa:bb:cc:dd:ee:ff",6)\r\n' + OK
    )
    client.cmd(b'AT+CWLAP="Broken"')
    client.expect(b'+CWLAP:(3,"Broken",-55,"aa:bb:cc:dd:ee:ff",6)\r\n' + OK)


# --- joining ---------------------------------------------------------------------------------
def test_join_success_and_station_queries(client):
    c = client
    c.cmd(b"ATE0")
    c.read_until(OK)
    c.cmd(b"AT+CWJAP_CUR?")
    c.expect(b"No AP\r\n" + OK)
    c.cmd(b"AT+CIPSTA_CUR?")
    c.expect(
        b'+CIPSTA_CUR:ip:"0.0.0.0"\r\n+CIPSTA_CUR:gateway:"0.0.0.0"\r\n+CIPSTA_CUR:netmask:"0.0.0.0"\r\n' + OK
    )
    c.cmd(b"AT+CWMODE_CUR=1")
    c.expect(OK)
    c.cmd(b'AT+CWJAP_CUR="WizFiTest","wizfi360pass"')
    c.expect(JOINED)
    c.cmd(b"AT+CWJAP_CUR?")
    c.expect(b'+CWJAP_CUR:"WizFiTest","aa:bb:cc:dd:ee:ff",6,-55\r\n' + OK)
    c.cmd(b"AT+CIPSTA_CUR?")
    c.expect(
        b'+CIPSTA_CUR:ip:"192.168.10.23"\r\n+CIPSTA_CUR:gateway:"192.168.10.1"\r\n'
        b'+CIPSTA_CUR:netmask:"255.255.255.0"\r\n' + OK
    )
    c.cmd(b"AT+CIPDNS_CUR?")
    c.expect(b"+CIPDNS_CUR:208.67.222.222\r\n" + OK)
    c.cmd(b"AT+CIFSR")
    c.expect(b'+CIFSR:STAIP,"192.168.10.23"\r\n+CIFSR:STAMAC,"00:08:dc:12:34:56"\r\n' + OK)
    c.cmd(b"AT+CIPSTAMAC_CUR?")
    c.expect(b'+CIPSTAMAC_CUR:"00:08:dc:12:34:56"\r\n' + OK)
    c.cmd(b'AT+CWHOSTNAME="sensor-1"')
    c.expect(OK)
    c.cmd(b"AT+CWHOSTNAME?")
    c.expect(b'+CWHOSTNAME:"sensor-1"\r\n' + OK)
    c.cmd(b'AT+CWHOSTNAME="' + b"x" * 33 + b'"')
    c.expect(ERROR)
    for line in (b"AT+CWDHCP_CUR=1,1", b"AT+CWAUTOCONN=0", b"AT+CWMODE_CUR=1"):
        c.cmd(line)
        c.expect(OK)
    c.cmd(b"AT+CIPSTATUS")
    c.expect(b"STATUS:2\r\n" + OK)
    c.cmd(b'AT+CWJAP_DEF="WizFiTest","wizfi360pass"')  # already joined: leaves first
    c.expect(b"WIFI DISCONNECT\r\n" + JOINED)
    c.cmd(b"AT+CWQAP")
    c.expect(OK + b"WIFI DISCONNECT\r\n")
    c.cmd(b"AT+CIPSTATUS")
    c.expect(b"STATUS:5\r\n" + OK)


def test_join_failures(emu, client):
    c = client
    c.cmd(b"ATE0")
    c.read_until(OK)
    c.cmd(b'AT+CWJAP_CUR="WizFiTest","wrong"')
    c.expect(b"+CWJAP_CUR:2\r\n\r\nFAIL\r\n")
    c.cmd(b'AT+CWJAP_CUR="NoSuchAP","wizfi360pass"')
    c.expect(b"+CWJAP_CUR:3\r\n\r\nFAIL\r\n")
    c.cmd(b'AT+CWJAP_CUR="Broken","whatever"')
    c.expect(b"+CWJAP_CUR:4\r\n\r\nFAIL\r\n")
    c.cmd(b'AT+CWJAP_DEF="WizFiTest","wrong"')
    c.expect(b"+CWJAP_DEF:2\r\n\r\nFAIL\r\n")
    c.cmd(b'AT+CWJAP_CUR="WizFiTest","wizfi360pass","00:00:00:00:00:01"')  # wrong BSSID
    c.expect(b"+CWJAP_CUR:3\r\n\r\nFAIL\r\n")
    emu.cwjap_code = False  # firmware without the code line
    c.cmd(b'AT+CWJAP_CUR="WizFiTest","wrong"')
    c.expect(b"\r\nFAIL\r\n")
    c.cmd(b"AT+CWJAP_CUR?")
    c.expect(b"No AP\r\n" + OK)


def test_join_with_escaped_strings(emu, client):
    c = client
    line = b"AT+CWJAP_CUR=" + quote(ODD_SSID).encode() + b"," + quote(ODD_PASS).encode()
    assert line == b'AT+CWJAP_CUR="a\\"b\\\\c\\,d","p\\,w\\"d\\\\"'
    c.cmd(line)
    c.expect(line + b"\r\n" + JOINED)
    c.cmd(b"ATE0")
    c.read_until(OK)
    c.cmd(b"AT+CWJAP_CUR?")
    c.expect(b'+CWJAP_CUR:"a"b\\c,d","00:11:22:33:44:55",11,-70\r\n' + OK)
    # unescaped quote inside, raw CR or LF inside, unterminated: malformed
    for bad in (
        b'AT+CWJAP_CUR="a"b\\c,d","x"',
        b'AT+CWJAP_CUR="a\rb","x"',
        b'AT+CWJAP_CUR="a\nb","x"',
        b'AT+CWJAP_CUR="WizFiTest","wizfi360pass',
    ):
        c.cmd(bad)
        c.expect(ERROR)
    assert emu.commands[-1] == b'AT+CWJAP_CUR="WizFiTest","wizfi360pass'


def test_busy_during_join(emu, client):
    c = client
    emu.join_delay_s = 0.3
    c.cmd(b"ATE0")
    c.read_until(OK)
    t0 = time.monotonic()
    c.cmd(b'AT+CWJAP_CUR="WizFiTest","wizfi360pass"')
    time.sleep(0.05)
    c.cmd(b"AT+CIPMUX=1")  # dropped: the module is busy
    c.expect(b"busy p...\r\n")
    c.expect(JOINED)
    assert time.monotonic() - t0 >= 0.25
    c.cmd(b"AT+CIPMUX?")
    c.expect(b"+CIPMUX:0\r\n" + OK)
    assert emu.commands[-3:] == [b'AT+CWJAP_CUR="WizFiTest","wizfi360pass"', b"AT+CIPMUX=1", b"AT+CIPMUX?"]


# --- DNS -------------------------------------------------------------------------------------
def test_cipdomain(emu, client):
    c = client
    c.cmd(b"ATE0")
    c.read_until(OK)
    c.cmd(b'AT+CIPDOMAIN="localhost"')  # not joined
    c.expect(ERROR)
    c.cmd(b'AT+CWJAP_CUR="WizFiTest","wizfi360pass"')
    c.expect(JOINED)
    c.cmd(b'AT+CIPDOMAIN="sink.test"')
    c.expect(b"+CIPDOMAIN:127.0.0.1\r\n" + OK)
    c.cmd(b'AT+CIPDOMAIN="localhost"')
    c.expect(b"+CIPDOMAIN:127.0.0.1\r\n" + OK)
    c.cmd(b'AT+CIPDOMAIN="no-such-host.invalid"')
    c.expect(b"DNS Fail\r\n" + ERROR)
    c.cmd(b"AT+CIPDOMAIN=localhost")  # strings must be quoted
    c.expect(ERROR)
    emu.dns_quoted = True
    c.cmd(b'AT+CIPDOMAIN="sink.test"')
    c.expect(b'+CIPDOMAIN:"127.0.0.1"\r\n' + OK)


# --- links -----------------------------------------------------------------------------------
def test_tcp_echo_binary(emu, client, echo_peer):
    c = client
    join(c)
    c.cmd(b'AT+CIPSTART=0,"TCP","sink.test",%d' % echo_peer.port)
    c.expect(b"0,CONNECT\r\n" + OK)
    payload = (b"\r\nOK\r\n+IPD,0,5:\r\nSEND OK\r\n" + bytes(range(256))) * 7
    assert len(payload) <= 2048
    c.cmd(b"AT+CIPSEND=0,%d" % len(payload))
    c.expect(OK + b">")
    for part in (payload[:1], payload[1:700], payload[700:]):  # fragmented on the wire
        c.send(part)
        time.sleep(0.02)
    stream = IpdStream(mux=1)
    collect(c, stream, lambda s: s.rest().endswith(b"SEND OK\r\n") and len(s.payload()) >= len(payload))
    assert stream.rest() == b"\r\nRecv %d bytes\r\n\r\nSEND OK\r\n" % len(payload)
    assert stream.payload() == payload
    for fields, data in stream.frames:
        assert fields == [b"0", str(len(data)).encode(), b"127.0.0.1", str(echo_peer.port).encode()]
    assert emu.commands[-1] == b"AT+CIPSEND=0,%d" % len(payload)


@pytest.mark.parametrize("mux,dinfo", [(1, 1), (1, 0), (0, 1), (0, 0)])
def test_ipd_shapes(client, echo_peer, mux, dinfo):
    c = client
    join(c, mux=mux, dinfo=dinfo)
    start_link(c, echo_peer.port, mux=mux)
    c.cmd(b"AT+CIPSEND=0,5" if mux else b"AT+CIPSEND=5")
    c.expect(OK + b">")
    c.send(b"hello")
    stream = IpdStream(mux)  # the echo may come before or after SEND OK
    collect(c, stream, lambda s: s.rest().endswith(b"SEND OK\r\n") and s.payload() == b"hello")
    assert stream.rest() == b"\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n"
    head = b"\r\n+IPD,0,5" if mux else b"\r\n+IPD,5"
    if dinfo:
        head += b",127.0.0.1,%d" % echo_peer.port
    assert [b"\r\n+IPD," + b",".join(f) + b":" + p for f, p in stream.frames] == [head + b":hello"]
    echo_peer.conns[-1].shutdown(socket.SHUT_RDWR)  # wakes the echo thread too
    c.expect(b"0,CLOSED\r\n" if mux else b"CLOSED\r\n")


def test_ipd_max_splits_frames(emu, client, peer):
    c = client
    emu.ipd_max = 100
    join(c, dinfo=0)
    start_link(c, peer.port)
    conn = peer.accept()
    conn.sendall(bytes(range(250)) * 4)
    stream = IpdStream()
    collect(c, stream, lambda s: len(s.payload()) >= 1000)
    assert stream.payload() == bytes(range(250)) * 4
    assert all(len(p) <= 100 and f == [b"0", str(len(p)).encode()] for f, p in stream.frames)
    assert stream.rest() == b""


def test_ipd_while_waiting_for_cipsend_data(emu, client, peer):
    c = client
    emu.prompt = b"> "  # ESP-style prompt option
    join(c)
    start_link(c, peer.port)
    conn = peer.accept()
    c.cmd(b"AT+CIPSEND=0,4")
    c.expect(OK + b"> ")
    conn.sendall(b"ping")
    c.expect(b"\r\n+IPD,0,4,127.0.0.1,%d:ping" % peer.port)
    c.send(b"pong")
    c.expect(b"\r\nRecv 4 bytes\r\n\r\nSEND OK\r\n")
    conn.settimeout(3)
    assert conn.recv(10) == b"pong"


def test_peer_close_and_send_on_closed_link(client, peer):
    c = client
    join(c)
    start_link(c, peer.port)
    peer.accept().close()
    c.expect(b"0,CLOSED\r\n")
    c.cmd(b"AT+CIPSEND=0,5")
    c.expect(ERROR)
    c.cmd(b"AT+CIPCLOSE=0")
    c.expect(ERROR)
    c.cmd(b"AT+CIPSTATUS")
    c.expect(b"STATUS:4\r\n" + OK)


def test_cipstart_errors(client, peer):
    c = client
    c.cmd(b"ATE0")
    c.read_until(OK)
    c.cmd(b"AT+CIPMUX=1")
    c.expect(OK)
    c.cmd(b'AT+CIPSTART=0,"TCP","127.0.0.1",%d' % peer.port)  # not joined
    c.expect(ERROR)
    c.cmd(b'AT+CWJAP_CUR="WizFiTest","wizfi360pass"')
    c.expect(JOINED)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    free_port = s.getsockname()[1]
    s.close()
    c.cmd(b'AT+CIPSTART=1,"TCP","127.0.0.1",%d' % free_port)  # refused
    c.expect(ERROR)
    c.cmd(b'AT+CIPSTART=1,"TCP","nowhere.invalid",80')
    c.expect(b"DNS Fail\r\n" + ERROR)
    for bad in (
        b'AT+CIPSTART=5,"TCP","127.0.0.1",80',
        b'AT+CIPSTART=1,"TCP","127.0.0.1",0',
        b'AT+CIPSTART="TCP","127.0.0.1",80',
        b"AT+CIPSEND=0,0",
        b"AT+CIPSEND=0,2049",
    ):
        c.cmd(bad)
        c.expect(ERROR)
    start_link(c, peer.port, link_id=1)
    c.cmd(b'AT+CIPSTART=1,"TCP","127.0.0.1",%d' % peer.port)
    c.expect(b"ALREADY CONNECTED\r\n" + ERROR)
    c.cmd(b"AT+CIPMUX=0")  # links open
    c.expect(ERROR)


def test_cipstatus_and_cipclose(client, peer):
    c = client
    join(c)
    start_link(c, peer.port, 0)
    start_link(c, peer.port, 3)
    l0, l3 = peer.accept(), peer.accept()
    c.cmd(b"AT+CIPSTATUS")
    c.expect(
        b'STATUS:3\r\n+CIPSTATUS:0,"TCP","127.0.0.1",%d,%d,0\r\n+CIPSTATUS:3,"TCP","127.0.0.1",%d,%d,0\r\n'
        % (peer.port, l0.getpeername()[1], peer.port, l3.getpeername()[1])
        + OK
    )
    c.cmd(b"AT+CIPCLOSE=0")
    c.expect(b"0,CLOSED\r\n" + OK)
    l0.settimeout(3)
    assert l0.recv(10) == b""  # the peer sees the close
    c.cmd(b"AT+CIPCLOSE=5")
    c.expect(b"3,CLOSED\r\n" + OK)
    c.cmd(b"AT+CIPSTATUS")
    c.expect(b"STATUS:4\r\n" + OK)


def test_ap_drop_closes_links(emu, client, peer):
    c = client
    join(c)
    start_link(c, peer.port, 2)
    emu.ap_drop()
    c.expect(b"WIFI DISCONNECT\r\n2,CLOSED\r\n")
    c.cmd(b"AT+CWJAP_CUR?")
    c.expect(b"No AP\r\n" + OK)


def test_reboot_resets_state(emu, client, peer):
    c = client
    join(c, dinfo=0)
    start_link(c, peer.port)
    conn = peer.accept()
    emu.reboot()
    c.expect(b"\r\nready\r\n")  # no CLOSED: the module just restarted
    conn.settimeout(3)
    assert conn.recv(10) == b""
    c.cmd(b"AT+CIPMUX?")
    c.expect(b"AT+CIPMUX?\r\n+CIPMUX:0\r\n" + OK)
    c.cmd(b"AT+CIPDINFO?")
    c.expect(b"AT+CIPDINFO?\r\n+CIPDINFO:1\r\n" + OK)
    c.cmd(b"AT+CWJAP_CUR?")
    c.expect(b"AT+CWJAP_CUR?\r\nNo AP\r\n" + OK)
    c.cmd(b"AT+RST")
    c.expect(b"AT+RST\r\n" + OK + b"\r\nready\r\n")


def test_reboot_while_waiting_for_cipsend_data(emu, client, peer):
    c = client
    join(c)
    start_link(c, peer.port)
    c.cmd(b"AT+CIPSEND=0,10")
    c.expect(OK + b">")
    c.send(b"abc")
    time.sleep(0.1)  # (taken as CIPSEND data, not after the reboot)
    emu.reboot()
    c.expect(b"\r\nready\r\n")
    c.cmd(b"AT")  # back to command lines, echo on again
    c.expect(b"AT\r\n" + OK)


def test_inject_and_client_replacement(emu, client):
    client.cmd(b"ATE0")
    client.expect(b"ATE0\r\n" + OK)
    emu.inject(b'\r\n+STA_CONNECTED:"x"\r\n\xff')
    client.expect(b'\r\n+STA_CONNECTED:"x"\r\n\xff')
    second = Client(emu.tcp_port)
    with pytest.raises(EOFError):  # the old client is dropped
        client.read(1)
    second.cmd(b"AT")
    second.expect(OK)  # state persists: echo is still off
    second.close()


def test_backpressure_reaches_the_peer(emu, client, peer):
    c = client
    c.close()
    c = Client(emu.tcp_port, rcvbuf=16384)  # a host that will stop reading
    join(c, dinfo=0)
    start_link(c, peer.port)
    conn = peer.accept()
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    conn.settimeout(0.5)
    pattern = bytes(range(251)) * 261  # 65511 bytes
    sent = 0
    try:
        while sent < 16 * 2**20:
            conn.sendall(pattern)
            sent += len(pattern)
    except socket.timeout:
        pass  # the peer is blocked: backpressure works
    print("peer blocked after %d bytes" % sent)
    assert sent < 4 * 2**20, "emulator buffered %d bytes" % sent
    conn.settimeout(None)
    threading.Thread(target=lambda: (time.sleep(0.2), conn.close()), daemon=True).start()
    stream = IpdStream()
    collect(c, stream, lambda s: b"0,CLOSED\r\n" in s.rest(), timeout=10)
    data = stream.payload()
    assert len(data) >= sent and data == (pattern * (len(data) // len(pattern) + 1))[: len(data)]
    assert all(len(p) <= 1460 for _, p in stream.frames)
    c.close()


def test_pty(tmp_path, echo_peer):
    with Emulator(pty=True, join_delay_s=0.01) as emu:
        assert emu.pty_path and os.path.exists(emu.pty_path)
        fd = os.open(emu.pty_path, os.O_RDWR | os.O_NOCTTY)
        try:
            c = Client(fd=fd)
            c.cmd(b"AT")
            c.expect(b"AT\r\n" + OK)
            join(c)
            start_link(c, echo_peer.port)
            payload = bytes(range(256)) * 2  # ^C, ^D, ^S, ^Q, CR, LF, DEL pass raw
            c.cmd(b"AT+CIPSEND=0,512")
            c.expect(OK + b">")
            c.send(payload)
            stream = IpdStream()
            collect(c, stream, lambda s: s.rest().endswith(b"SEND OK\r\n") and len(s.payload()) >= 512)
            assert stream.payload() == payload
        finally:
            os.close(fd)


# --- configuration and CLI ---------------------------------------------------------------------
def test_config_file_and_ap_option(tmp_path):
    path = tmp_path / "emu.json"
    path.write_text(
        json.dumps(
            {
                "aps": [{"ssid": "Home", "password": "secret123", "channel": 1}],
                "join_delay_s": 0.01,
                "prompt": "> ",
            }
        )
    )
    kwargs = load_config(path)
    assert kwargs["aps"] == [AccessPoint("Home", "secret123", channel=1)]
    assert kwargs["prompt"] == b"> " and kwargs["join_delay_s"] == 0.01
    assert ap_from_option("Lab:pa:ss") == AccessPoint("Lab", "pa:ss")
    path.write_text(json.dumps({"aps": [{"ssid": "x", "colour": "red"}]}))
    with pytest.raises(ValueError):
        load_config(path)


def test_cli(tmp_path):
    cfg = tmp_path / "emu.json"
    cfg.write_text(json.dumps({"aps": [{"ssid": "FromFile", "password": "filepass1"}]}))
    proc = subprocess.Popen(
        [
            sys.executable,
            str(TOOLS / "emulator.py"),
            "--port",
            "0",
            "--config",
            str(cfg),
            "--ap",
            "Extra:extrapass",
            "--join-delay",
            "0.01",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        first = proc.stdout.readline().decode()
        assert first.startswith("UART on tcp://127.0.0.1:")
        c = Client(int(first.rsplit(":", 1)[1]))
        c.cmd(b"ATE0")
        c.expect(b"ATE0\r\n" + OK)
        c.cmd(b"AT+CWLAP")
        c.expect(
            b'+CWLAP:(3,"FromFile",-55,"aa:bb:cc:dd:ee:ff",6)\r\n'
            b'+CWLAP:(3,"Extra",-55,"aa:bb:cc:dd:ee:ff",6)\r\n' + OK
        )
        c.close()
    finally:
        proc.terminate()
        assert proc.wait(5) == 0
