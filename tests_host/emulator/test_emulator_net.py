"""Tests of the emulator's wider network surface: UDP, SSL, the TCP server, SoftAP, station
settings and flash, ping and SNTP. Raw bytes on the emulator's UART, as test_emulator.py."""

import re
import socket
import threading
import time

import emulator as cli
import pytest
from test_emulator import ERROR, JOINED, OK, Client, IpdStream, Peer, collect, join
from testservers import TlsEcho

from wizfi360_emu import AccessPoint, Emulator
from wizfi360_emu.handlers_services import format_time

MAC = "18:cf:5e:c5:ce:76"
MAC2 = "18:cf:5e:c5:ce:77"


# --- helpers ---------------------------------------------------------------------------------
@pytest.fixture
def emu():
    e = Emulator(
        aps=[AccessPoint("WizFiTest", "wizfi360pass")],
        join_delay_s=0.01,
        dns_map={"sink.test": "127.0.0.1", "tls.test": "127.0.0.1"},
        cipsto_unit_s=0.1,
    )
    e.start()
    yield e
    e.stop()


@pytest.fixture
def raw(emu):
    """A client with echo off and nothing else set up."""
    client = Client(emu.tcp_port)
    client.cmd(b"ATE0")
    client.expect(b"ATE0\r\n" + OK)
    yield client
    client.close()


def ok(c, line, reply=b""):
    c.cmd(line)
    c.expect(reply + OK)


def err(c, *lines):
    for line in lines:
        c.cmd(line)
        c.expect(ERROR)


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def udp_socket():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(3)
    return s


def send(c, link_id, data, remote=b""):
    """CIPSEND data on a link; returns the frames (and the rest) that came meanwhile."""
    c.cmd(b"AT+CIPSEND=%d,%d%s" % (link_id, len(data), remote))
    c.expect(OK + b">")
    c.send(data)
    stream = IpdStream()
    collect(c, stream, lambda s: b"SEND OK\r\n" in s.rest())
    done = b"\r\nRecv %d bytes\r\n\r\nSEND OK\r\n" % len(data)
    rest = stream.rest()
    assert rest.startswith(done)
    c.buf[:0] = rest[len(done) :]  # what came after SEND OK: back to the client
    stream.other.clear()
    stream.pending.clear()
    return stream


def frames(c, n, stream=None):
    """The next n +IPD frames as (fields, payload)."""
    stream = stream or IpdStream()
    collect(c, stream, lambda s: len(s.frames) >= n)
    return stream.frames


def status(c):
    c.cmd(b"AT+CIPSTATUS")
    return c.read_until(OK)


# --- UDP -------------------------------------------------------------------------------------
def test_udp_keeps_datagram_boundaries(c):
    peer = udp_socket()
    pport = peer.getsockname()[1]
    ok(c, b'AT+CIPSTART=0,"UDP","sink.test",%d' % pport, b"0,CONNECT\r\n")
    send(c, 0, b"one")
    send(c, 0, b"\r\nOK\r\n")
    data, addr = peer.recvfrom(100)
    assert data == b"one"
    assert peer.recvfrom(100)[0] == b"\r\nOK\r\n"
    lport = addr[1]
    for d in (b"abc", b"defgh", bytes(range(256)) * 8):  # 2048 bytes: still one frame
        peer.sendto(d, addr)
    got = frames(c, 3)
    assert [p for _, p in got] == [b"abc", b"defgh", bytes(range(256)) * 8]
    assert [f for f, _ in got] == [[b"0", b"%d" % len(p), b"127.0.0.1", b"%d" % pport] for _, p in got]
    assert status(c) == b'STATUS:3\r\n+CIPSTATUS:0,"UDP","127.0.0.1",%d,%d,0\r\n' % (pport, lport) + OK
    ok(c, b"AT+CIPCLOSE=0", b"0,CLOSED\r\n")
    err(c, b"AT+CIPSEND=0,3")
    peer.close()


def test_udp_mode2_follows_every_sender(c):
    a, b = udp_socket(), udp_socket()
    lport = free_port(socket.SOCK_DGRAM)
    ok(c, b'AT+CIPSTART=1,"UDP","127.0.0.1",9,%d,2' % lport, b"1,CONNECT\r\n")
    for sock in (a, b):
        sock.sendto(b"hi", ("127.0.0.1", lport))
        port = sock.getsockname()[1]
        assert frames(c, 1) == [([b"1", b"2", b"127.0.0.1", b"%d" % port], b"hi")]
        assert b'"UDP","127.0.0.1",%d,%d,0' % (port, lport) in status(c)
        send(c, 1, b"reply")  # goes to the last sender
        assert sock.recvfrom(100) == (b"reply", ("127.0.0.1", lport))
    send(c, 1, b"to-a", b',"127.0.0.1",%d' % a.getsockname()[1])  # an explicit remote
    assert a.recvfrom(100)[0] == b"to-a"
    assert b'"UDP","127.0.0.1",%d,' % b.getsockname()[1] in status(c)  # remote unchanged
    a.close()
    b.close()


def test_udp_mode0_and_mode1(c):
    a, b = udp_socket(), udp_socket()
    aport, bport = a.getsockname()[1], b.getsockname()[1]
    l0, l1 = free_port(socket.SOCK_DGRAM), free_port(socket.SOCK_DGRAM)
    ok(c, b'AT+CIPSTART=0,"UDP","127.0.0.1",%d,%d,0' % (aport, l0), b"0,CONNECT\r\n")
    ok(c, b'AT+CIPSTART=1,"UDP","127.0.0.1",%d,%d,1' % (aport, l1), b"1,CONNECT\r\n")
    b.sendto(b"x", ("127.0.0.1", l0))  # mode 0: delivered, remote stays
    assert frames(c, 1) == [([b"0", b"1", b"127.0.0.1", b"%d" % bport], b"x")]
    err(c, b'AT+CIPSEND=0,1,"127.0.0.1",%d' % bport)  # and no other remote to send to
    b.sendto(b"y", ("127.0.0.1", l1))  # mode 1: changes once...
    assert frames(c, 1)[0][1] == b"y"
    a.sendto(b"z", ("127.0.0.1", l1))  # ...and not again
    assert frames(c, 1)[0][1] == b"z"
    st = status(c)
    assert b'+CIPSTATUS:0,"UDP","127.0.0.1",%d,%d,0' % (aport, l0) in st
    assert b'+CIPSTATUS:1,"UDP","127.0.0.1",%d,%d,0' % (bport, l1) in st
    send(c, 1, b"m1", b',"sink.test",%d' % aport)
    assert a.recvfrom(10)[0] == b"m1"
    a.close()
    b.close()


def test_udp_errors_and_single_link_mode(c):
    taken = udp_socket()
    err(
        c,
        b'AT+CIPSTART=0,"UDP","127.0.0.1",9,%d,0' % taken.getsockname()[1],  # port in use
        b'AT+CIPSTART=0,"UDP","127.0.0.1",9,0,3',
        b'AT+CIPSTART=0,"UDP","127.0.0.1",9,0,1,1',
        b'AT+CIPSTART=0,"UDP","127.0.0.1",9,-1',
        b'AT+CIPSTART=0,"TCPX","127.0.0.1",9',
    )
    c.cmd(b'AT+CIPSTART=0,"UDP","nowhere.invalid",9')
    c.expect(b"DNS Fail\r\n" + ERROR)
    peer = Peer()
    ok(c, b'AT+CIPSTART=2,"TCP","127.0.0.1",%d' % peer.port, b"2,CONNECT\r\n")
    err(c, b'AT+CIPSEND=2,3,"127.0.0.1",9', b'AT+CIPSEND=2,3,"127.0.0.1"', b'AT+CIPSEND=2,3,"x.invalid",9')
    ok(c, b"AT+CIPCLOSE=2", b"2,CLOSED\r\n")
    lport = free_port(socket.SOCK_DGRAM)
    ok(c, b'AT+CIPSTART=0,"UDP","127.0.0.1",%d,%d,2' % (taken.getsockname()[1], lport), b"0,CONNECT\r\n")
    ok(c, b"AT+CIPCLOSE=0", b"0,CLOSED\r\n")
    again = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    again.bind(("127.0.0.1", lport))  # the close freed the local port
    again.close()
    ok(c, b"AT+CIPMUX=0")
    ok(c, b"AT+CIPDINFO=0")
    ok(c, b'AT+CIPSTART="UDP","127.0.0.1",%d,%d,2' % (taken.getsockname()[1], lport), b"CONNECT\r\n")
    taken.sendto(b"single", ("127.0.0.1", lport))
    c.expect(b"\r\n+IPD,6:single")
    c.cmd(b"AT+CIPSEND=2")
    c.expect(OK + b">")
    c.send(b"ok")
    c.expect(b"\r\nRecv 2 bytes\r\n\r\nSEND OK\r\n")
    assert taken.recvfrom(10)[0] == b"ok"
    ok(c, b"AT+CIPCLOSE", b"CLOSED\r\n")
    taken.close()
    peer.close()


# --- SSL -------------------------------------------------------------------------------------
@pytest.fixture
def tls_echo():
    server = TlsEcho()
    yield server
    server.stop()


def test_ssl_echo_and_close(c, tls_echo):
    ok(c, b'AT+CIPSTART=3,"SSL","tls.test",%d' % tls_echo.port, b"3,CONNECT\r\n")
    assert tls_echo.names == ["tls.test"]  # SNI from the host name
    payload = bytes(range(256)) * 8
    stream = send(c, 3, payload)
    collect(c, stream, lambda s: len(s.payload()) >= len(payload))
    assert stream.payload() == payload  # decrypted
    assert all(
        f[0] == b"3" and f[2:] == [b"127.0.0.1", b"%d" % tls_echo.port] and len(p) <= 1460
        for f, p in stream.frames
    )
    assert b'+CIPSTATUS:3,"SSL","127.0.0.1",%d,' % tls_echo.port in status(c)
    c.cmd(b"AT+CIPSEND=3,3")
    c.expect(OK + b">")
    c.send(b"bye")  # the server closes: CLOSED may come
    got = c.read_until(b"SEND OK\r\n")  # before SEND OK or after it
    if b"CLOSED" not in got:
        got += c.read_until(b"3,CLOSED\r\n")
    assert got.replace(b"3,CLOSED\r\n", b"") == b"\r\nRecv 3 bytes\r\n\r\nSEND OK\r\n"
    ok(c, b'AT+CIPSTART=0,"SSL","127.0.0.1",%d,60' % tls_echo.port, b"0,CONNECT\r\n")
    assert tls_echo.names == ["tls.test", None]  # no SNI for an address
    ok(c, b"AT+CIPCLOSE=0", b"0,CLOSED\r\n")


def test_ssl_handshake_failure_and_errors(c):
    plain = Peer()  # speaks no TLS: closes at once
    threading.Thread(target=lambda: plain.accept().close(), daemon=True).start()
    c.cmd(b'AT+CIPSTART=1,"SSL","127.0.0.1",%d' % plain.port)
    c.expect(OK + b"1,CLOSED\r\n")
    assert status(c) == b"STATUS:2\r\n" + OK
    err(
        c,
        b'AT+CIPSTART=1,"SSL","127.0.0.1",%d' % free_port(),  # refused
        b'AT+CIPSTART=1,"SSL","127.0.0.1",443,1,2',
    )
    plain.close()


def test_cipsslsize_and_reboot(emu, c, tls_echo):
    err(c, b"AT+CIPSSLSIZE=2047", b"AT+CIPSSLSIZE=4097", b'AT+CIPSSLSIZE="4096"')
    ok(c, b"AT+CIPSSLSIZE?", b"+CIPSSLSIZE:2048\r\n")
    emu.ssl_reboot_below = 4096
    c.cmd(b'AT+CIPSTART=0,"SSL","127.0.0.1",%d' % tls_echo.port)
    c.expect(b"\r\nready\r\n")  # too small a buffer: the module reset
    c.quiet(0.1)
    join(c)
    ok(c, b"AT+CIPSSLSIZE=4096")
    ok(c, b'AT+CIPSTART=0,"SSL","127.0.0.1",%d' % tls_echo.port, b"0,CONNECT\r\n")


# --- TCP server ------------------------------------------------------------------------------
def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=3)


def test_server_links(emu, c):
    peer = Peer()
    ok(c, b'AT+CIPSTART=0,"TCP","127.0.0.1",%d' % peer.port, b"0,CONNECT\r\n")
    port = free_port()
    ok(c, b"AT+CIPSERVER=1,%d" % port)
    assert emu.server_port == port
    a = connect(port)
    c.expect(b"1,CONNECT\r\n")  # the lowest free id
    b = connect(port)
    c.expect(b"2,CONNECT\r\n")
    a.sendall(b"from a")
    assert frames(c, 1) == [([b"1", b"6", b"127.0.0.1", b"%d" % a.getsockname()[1]], b"from a")]
    send(c, 2, b"to b")
    assert b.recv(10) == b"to b"
    st = status(c)
    assert b'+CIPSTATUS:1,"TCP","127.0.0.1",%d,%d,1\r\n' % (a.getsockname()[1], port) in st
    assert b'+CIPSTATUS:0,"TCP","127.0.0.1",%d,' % peer.port in st and st.count(b",0\r\n") == 1
    a.close()
    c.expect(b"1,CLOSED\r\n")
    err(c, b"AT+CIPCLOSE=5")  # invalid while the server runs
    ok(c, b"AT+CIPSERVER=0", b"2,CLOSED\r\n")  # closes the server's links only
    assert b.recv(10) == b""
    assert emu.server_port is None
    with pytest.raises(OSError):
        connect(port)
    assert b"+CIPSTATUS:0," in status(c)
    b.close()
    peer.close()


def test_server_full_and_errors(emu, c):
    port = free_port()
    ok(c, b"AT+CIPSERVER=1,%d" % port)
    ok(c, b"AT+CIPSERVER=1,%d" % port)  # again: no change
    clients = []
    for i in range(5):
        clients.append(connect(port))
        c.expect(b"%d,CONNECT\r\n" % i)
    sixth = connect(port)
    assert sixth.recv(10) == b""  # no free link id: dropped
    c.quiet()
    err(
        c,
        b"AT+CIPSERVER=1,%d" % free_port(),
        b"AT+CIPMUX=0",
        b"AT+CIPSERVER=1,0",
        b"AT+CIPSERVER=2",
        b"AT+CIPSTO=7201",
        b"AT+CIPSTO=-1",
    )
    emu.reboot()  # a reset stops the server, no CLOSED
    c.expect(b"\r\nready\r\n")
    assert emu.server_port is None and clients[0].recv(10) == b""
    c.cmd(b"ATE0")
    c.expect(b"ATE0\r\n" + OK)
    err(c, b"AT+CIPSERVER=1,%d" % port, b"AT+CIPSTO=10")  # CIPMUX=0 again
    ok(c, b"AT+CIPMUX=1")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    err(c, b"AT+CIPSERVER=1,%d" % taken.getsockname()[1])
    ok(c, b"AT+CIPSERVER=0")
    for s in clients + [sixth, taken]:
        s.close()


def test_cipsto_closes_idle_server_links(emu, c):
    ok(c, b"AT+CIPSTO?", b"+CIPSTO:180\r\n")
    ok(c, b"AT+CIPSTO=3")  # 0.3 s with cipsto_unit_s=0.1
    ok(c, b"AT+CIPSTO?", b"+CIPSTO:3\r\n")
    port = free_port()
    ok(c, b"AT+CIPSERVER=1,%d" % port)
    a = connect(port)
    c.expect(b"0,CONNECT\r\n")
    t0 = time.monotonic()
    for _ in range(4):  # traffic keeps it open
        time.sleep(0.15)
        a.sendall(b"k")
        frames(c, 1)
    c.expect(b"0,CLOSED\r\n", timeout=2)
    assert time.monotonic() - t0 >= 0.6 + 0.25
    assert a.recv(10) == b""
    ok(c, b"AT+CIPSTO=0")  # never
    b = connect(port)
    c.expect(b"0,CONNECT\r\n")
    c.quiet(0.5)
    a.close()
    b.close()


def test_server_default_port(emu, c):
    try:
        probe = socket.socket()
        probe.bind(("127.0.0.1", 333))
        probe.close()
    except OSError:
        pytest.skip("cannot bind port 333 here")
    ok(c, b"AT+CIPSERVER=1")
    assert emu.server_port == 333
    ok(c, b"AT+CIPSERVER=0")


# --- SoftAP ----------------------------------------------------------------------------------
def test_softap_settings(emu, raw):
    c = raw
    err(c, b'AT+CWSAP_CUR="MyAP","secret123",5,3')  # station mode: no SoftAP
    ok(c, b"AT+CWMODE_CUR=2")
    ok(c, b"AT+CWSAP_CUR?", b'+CWSAP_CUR:"WizFi360_123456","",1,0,4,0\r\n')
    for value, shown in (
        (b'"MyAP","secret123",5,3', b'"MyAP","secret123",5,3,4,0'),
        (b'"Open","ignored",11,0,2,1', b'"Open","",11,0,2,1'),  # open: no password kept
    ):
        ok(c, b"AT+CWSAP_CUR=" + value)
        ok(c, b"AT+CWSAP_CUR?", b"+CWSAP_CUR:%s\r\n" % shown)
    err(
        c,
        b'AT+CWSAP_CUR="' + b"s" * 33 + b'","secret123",5,3',
        b'AT+CWSAP_CUR="","secret123",5,3',
        b'AT+CWSAP_CUR="a","short",5,3',
        b'AT+CWSAP_CUR="a","' + b"p" * 65 + b'",5,2',
        b'AT+CWSAP_CUR="a","secret123",0,3',
        b'AT+CWSAP_CUR="a","secret123",14,3',
        b'AT+CWSAP_CUR="a","secret123",5,1',
        b'AT+CWSAP_CUR="a","secret123",5,4',
        b'AT+CWSAP_CUR="a","secret123",5,3,0',
        b'AT+CWSAP_CUR="a","secret123",5,3,5',
        b'AT+CWSAP_CUR="a","secret123",5,3,4,2',
        b'AT+CWSAP_CUR="a","secret123",5',
    )
    ok(
        c,
        b"AT+CIPAP_CUR?",
        b'+CIPAP_CUR:ip:"192.168.4.1"\r\n+CIPAP_CUR:gateway:"192.168.4.1"\r\n'
        b'+CIPAP_CUR:netmask:"255.255.255.0"\r\n',
    )
    ok(c, b"AT+CWDHCPS_CUR?", b'+CWDHCPS_CUR:120,"192.168.4.2","192.168.4.101"\r\n')
    ok(c, b'AT+CWDHCPS_CUR=1,60,"192.168.4.50","192.168.4.60"')
    ok(c, b'AT+CIPAP_CUR="192.168.5.1"')  # the pool moves with the network
    ok(
        c,
        b"AT+CIPAP_CUR?",
        b'+CIPAP_CUR:ip:"192.168.5.1"\r\n+CIPAP_CUR:gateway:"192.168.5.1"\r\n'
        b'+CIPAP_CUR:netmask:"255.255.255.0"\r\n',
    )
    ok(c, b"AT+CWDHCPS_CUR?", b'+CWDHCPS_CUR:120,"192.168.5.2","192.168.5.101"\r\n')
    ok(c, b'AT+CIPAP_CUR="10.0.0.1","10.0.0.254","255.255.0.0"')
    ok(c, b'AT+CWDHCPS_CUR=1,2880,"10.0.1.0","10.0.1.100"')
    ok(c, b"AT+CWDHCPS_CUR?", b'+CWDHCPS_CUR:2880,"10.0.1.0","10.0.1.100"\r\n')
    ok(c, b"AT+CIFSR", b'+CIFSR:APIP,"10.0.0.1"\r\n+CIFSR:APMAC,"02:08:dc:12:34:56"\r\n')
    err(
        c,
        b'AT+CWDHCPS_CUR=1,60,"10.0.1.0","10.0.1.101"',  # 102 addresses
        b'AT+CWDHCPS_CUR=1,60,"10.0.1.9","10.0.1.8"',
        b'AT+CWDHCPS_CUR=1,0,"10.0.1.1","10.0.1.2"',
        b'AT+CWDHCPS_CUR=1,2881,"10.0.1.1","10.0.1.2"',
        b'AT+CWDHCPS_CUR=1,60,"10.1.0.1","10.1.0.2"',
        b"AT+CWDHCPS_CUR=1",
        b'AT+CWDHCPS_CUR=0,60,"10.0.1.1","10.0.1.2"',
        b'AT+CIPAP_CUR="10.0.0.256"',
        b'AT+CIPAP_CUR="10.0.0.1","10.0.0.1"',
        b'AT+CIPAP_CUR="10.0.0.1","10.0.0.1","255.0.255.0"',
        b"AT+CIPAP_CUR=10.0.0.1",
    )
    ok(c, b"AT+CWDHCPS_CUR=0")
    ok(c, b"AT+CWDHCPS_CUR?", b'+CWDHCPS_CUR:120,"10.0.0.2","10.0.0.101"\r\n')
    ok(c, b"AT+CWDHCP_CUR=0,0")  # SoftAP DHCP server off
    err(c, b'AT+CWDHCPS_CUR=1,60,"10.0.0.5","10.0.0.9"')
    ok(c, b"AT+CWMODE_CUR=1")
    err(c, b"AT+CWDHCPS_CUR=0")


def test_softap_stations(emu, raw):
    c = raw
    with pytest.raises(RuntimeError):  # SoftAP off
        emu.add_station(MAC)
    ok(c, b"AT+CWMODE_CUR=3")
    ok(c, b'AT+CWSAP_CUR="MyAP","secret123",5,3,2,0')
    assert emu.add_station(MAC.upper()) == "192.168.4.2"
    c.expect(b'+STA_CONNECTED:"%s"\r\n+DIST_STA_IP:"%s","192.168.4.2"\r\n' % (MAC.encode(), MAC.encode()))
    assert emu.add_station(MAC2, ip="192.168.4.77") == "192.168.4.77"
    c.expect(b'+STA_CONNECTED:"%s"\r\n+DIST_STA_IP:"%s","192.168.4.77"\r\n' % (MAC2.encode(), MAC2.encode()))
    with pytest.raises(RuntimeError):  # max conn 2
        emu.add_station("18:cf:5e:c5:ce:78")
    with pytest.raises(ValueError):
        emu.add_station("01:00:5e:00:00:01")  # multicast
    ok(c, b"AT+CWLIF", b'"192.168.4.2","%s"\r\n"192.168.4.77","%s"\r\n' % (MAC.encode(), MAC2.encode()))
    emu.cwlif_quoted = False
    ok(c, b"AT+CWLIF", b"192.168.4.2,%s\r\n192.168.4.77,%s\r\n" % (MAC.encode(), MAC2.encode()))
    emu.remove_station(MAC)
    c.expect(b'+STA_DISCONNECTED:"%s"\r\n' % MAC.encode())
    with pytest.raises(KeyError):
        emu.remove_station(MAC)
    assert emu.add_station(MAC) == "192.168.4.2"  # the lowest free address again
    c.read_until(b"+DIST_STA_IP")
    c.read_until(b"\r\n")
    ok(c, b"AT+CWMODE_CUR=1")  # SoftAP off: its clients are gone
    ok(c, b"AT+CWLIF")
    ok(c, b"AT+CWMODE_CUR=2")
    ok(c, b"AT+CWDHCP_CUR=0,0")
    assert emu.add_station(MAC) is None  # no DHCP server: no address
    c.expect(b'+STA_CONNECTED:"%s"\r\n' % MAC.encode())
    ok(c, b"AT+CWLIF")
    c.quiet()


def test_links_through_the_softap(emu, raw):
    c = raw
    peer = Peer()
    ok(c, b"AT+CIPMUX=1")
    err(c, b'AT+CIPSTART=0,"TCP","127.0.0.1",%d' % peer.port)  # not joined, no SoftAP
    ok(c, b"AT+CWMODE_CUR=2")
    ok(c, b'AT+CIPSTART=0,"TCP","127.0.0.1",%d' % peer.port, b"0,CONNECT\r\n")
    peer.close()


# --- station settings and flash ---------------------------------------------------------------
def cipsta(name, ip, gw, mask):
    return b"".join(
        b'+%s:%s:"%s"\r\n' % (name, k, v) for k, v in ((b"ip", ip), (b"gateway", gw), (b"netmask", mask))
    )


def test_static_ip_and_dhcp(c):
    ok(c, b"AT+CWDHCP_CUR?", b"+CWDHCP_CUR:3\r\n")
    ok(c, b'AT+CIPSTA_CUR="192.168.1.88"')
    ok(c, b"AT+CIPSTA_CUR?", cipsta(b"CIPSTA_CUR", b"192.168.1.88", b"192.168.1.1", b"255.255.255.0"))
    ok(c, b"AT+CWDHCP_CUR?", b"+CWDHCP_CUR:1\r\n")  # static IP: station DHCP off
    ok(c, b"AT+CIFSR", b'+CIFSR:STAIP,"192.168.1.88"\r\n+CIFSR:STAMAC,"00:08:dc:12:34:56"\r\n')
    ok(c, b'AT+CIPSTA_CUR="10.1.2.3","10.1.0.1","255.255.0.0"')
    ok(c, b"AT+CIPSTA_CUR?", cipsta(b"CIPSTA_CUR", b"10.1.2.3", b"10.1.0.1", b"255.255.0.0"))
    err(
        c,
        b'AT+CIPSTA_CUR="10.1.2.3","10.1.0.1"',
        b'AT+CIPSTA_CUR="10.1.2.300"',
        b"AT+CIPSTA_CUR=10.1.2.3",
        b'AT+CIPSTA_CUR="10.1.2.3","10.1.0.1","255.255.0.255"',
        b'AT+CIPSTA_CUR="host"',
    )
    ok(c, b"AT+CWDHCP_CUR=1,1")  # back to DHCP: the lease
    ok(c, b"AT+CIPSTA_CUR?", cipsta(b"CIPSTA_CUR", b"192.168.10.23", b"192.168.10.1", b"255.255.255.0"))
    ok(c, b"AT+CWDHCP_CUR?", b"+CWDHCP_CUR:3\r\n")
    err(c, b"AT+CWDHCP_CUR=3,1", b"AT+CWDHCP_CUR=1,2", b"AT+CWDHCP_CUR=1")
    ok(c, b"AT+CWMODE_CUR=2", b"WIFI DISCONNECT\r\n")  # station off: leaves the AP
    err(c, b'AT+CIPSTA_CUR="192.168.1.88"')  # no station interface


def test_dns_servers(c):
    default = (b"208.67.222.222",)
    for value, shown in (
        (b'1,"8.8.8.8","1.1.1.1"', (b"8.8.8.8", b"1.1.1.1")),
        (b'1,"9.9.9.9"', (b"9.9.9.9",)),
        (b"0", default),
        (b'1,"8.8.8.8"', (b"8.8.8.8",)),
        (b"1", default),  # on, without servers: the default one
    ):
        ok(c, b"AT+CIPDNS_CUR=" + value)
        ok(c, b"AT+CIPDNS_CUR?", b"".join(b"+CIPDNS_CUR:%s\r\n" % ip for ip in shown))
    err(
        c,
        b'AT+CIPDNS_CUR=0,"8.8.8.8"',
        b'AT+CIPDNS_CUR=1,"8.8.8.8","8.8.8.8"',
        b"AT+CIPDNS_CUR=2",
        b'AT+CIPDNS_CUR=1,"8.8.8"',
        b'AT+CIPDNS_CUR=1,"1.1.1.1","2.2.2.2","3.3.3.3"',
    )


def test_mac_addresses(c):
    ok(c, b'AT+CIPSTAMAC_CUR="00:08:DC:11:12:13"')
    ok(c, b"AT+CIPSTAMAC_CUR?", b'+CIPSTAMAC_CUR:"00:08:dc:11:12:13"\r\n')
    err(
        c,
        b'AT+CIPSTAMAC_CUR="01:08:dc:11:12:13"',  # multicast bit
        b'AT+CIPSTAMAC_CUR="02:08:dc:12:34:56"',  # the SoftAP's
        b'AT+CIPSTAMAC_CUR="00-08-dc-11-12-13"',
        b'AT+CIPSTAMAC_CUR="00:08:dc:11:12:1g"',
        b"AT+CIPSTAMAC_CUR=00:08:dc:11:12:13",
        b'AT+CIPAPMAC_CUR="00:08:dc:11:12:13"',
    )
    ok(c, b'AT+CIPAPMAC_CUR="06:08:dc:11:12:13"')
    ok(c, b"AT+CIPAPMAC_CUR?", b'+CIPAPMAC_CUR:"06:08:dc:11:12:13"\r\n')


def test_def_settings_survive_reboot(emu, c):
    for line in (
        b"AT+CWMODE_DEF=3",
        b'AT+CIPSTA_DEF="10.0.0.9"',
        b'AT+CIPDNS_DEF=1,"8.8.4.4"',
        b'AT+CIPSTAMAC_DEF="00:08:dc:aa:bb:cc"',
        b'AT+CWSAP_DEF="Saved","password1",3,2',
        b'AT+CIPAP_DEF="192.168.7.1"',
        b'AT+CWDHCPS_DEF=1,30,"192.168.7.10","192.168.7.20"',
        b"AT+CWAUTOCONN=0",
        # _CUR changes on top: lost at the reboot
        b'AT+CIPDNS_CUR=1,"1.0.0.1"',
        b'AT+CWSAP_CUR="Volatile","password2",4,3',
        b"AT+CIPSSLSIZE=4096",
        b"AT+CIPSNTPCFG=1,3",
    ):
        ok(c, line)
    ok(c, b"AT+CIPDNS_DEF?", b"+CIPDNS_DEF:8.8.4.4\r\n")  # _DEF queries read flash
    ok(c, b"AT+CWSAP_DEF?", b'+CWSAP_DEF:"Saved","password1",3,2,4,0\r\n')
    ok(c, b"AT+CIPDNS_CUR?", b"+CIPDNS_CUR:1.0.0.1\r\n")
    emu.reboot()
    c.expect(b"\r\nready\r\n")
    c.cmd(b"ATE0")
    c.expect(b"ATE0\r\n" + OK)
    c.quiet(0.1)  # CWAUTOCONN=0: no auto-join
    for query, reply in (
        (b"AT+CWMODE_CUR?", b"+CWMODE_CUR:3\r\n"),
        (b"AT+CIPSTA_CUR?", cipsta(b"CIPSTA_CUR", b"10.0.0.9", b"10.0.0.1", b"255.255.255.0")),
        (b"AT+CWDHCP_CUR?", b"+CWDHCP_CUR:1\r\n"),
        (b"AT+CIPDNS_CUR?", b"+CIPDNS_CUR:8.8.4.4\r\n"),
        (b"AT+CIPSTAMAC_CUR?", b'+CIPSTAMAC_CUR:"00:08:dc:aa:bb:cc"\r\n'),
        (b"AT+CWSAP_CUR?", b'+CWSAP_CUR:"Saved","password1",3,2,4,0\r\n'),
        (b"AT+CIPAP_CUR?", cipsta(b"CIPAP_CUR", b"192.168.7.1", b"192.168.7.1", b"255.255.255.0")),
        (b"AT+CWDHCPS_CUR?", b'+CWDHCPS_CUR:30,"192.168.7.10","192.168.7.20"\r\n'),
        (b"AT+CWAUTOCONN?", b"+CWAUTOCONN:0\r\n"),
        (b"AT+CIPSSLSIZE?", b"+CIPSSLSIZE:2048\r\n"),
        (b"AT+CIPSNTPCFG?", b"+CIPSNTPCFG:0\r\n"),
        (b"AT+CIPMUX?", b"+CIPMUX:0\r\n"),
    ):
        ok(c, query, reply)
    c.cmd(b"AT+RESTORE")  # factory settings, then a reboot
    c.expect(OK + b"\r\nready\r\n")
    c.cmd(b"AT+CWMODE_DEF?")
    c.expect(b"AT+CWMODE_DEF?\r\n+CWMODE_DEF:1\r\n" + OK)


def test_autoconnect_after_reboot(emu, c):
    ok(c, b'AT+CWJAP_DEF="WizFiTest","wizfi360pass"', b"WIFI DISCONNECT\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n")
    emu.reboot()
    c.expect(b"\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n")
    c.cmd(b"AT+CWJAP_CUR?")
    c.expect(b'AT+CWJAP_CUR?\r\n+CWJAP_CUR:"WizFiTest","aa:bb:cc:dd:ee:ff",6,-55\r\n' + OK)
    c.cmd(b"AT+CWAUTOCONN=0")
    c.expect(b"AT+CWAUTOCONN=0\r\n" + OK)
    emu.reboot()
    c.expect(b"\r\nready\r\n")
    c.quiet(0.1)
    c.cmd(b"AT+CWAUTOCONN=1")
    c.expect(b"AT+CWAUTOCONN=1\r\n" + OK)
    c.cmd(b'AT+CWJAP_CUR="WizFiTest","wizfi360pass"')  # _CUR does not replace the saved AP
    c.read_until(OK)
    emu.reboot()
    c.expect(b"\r\nready\r\nWIFI CONNECTED\r\nWIFI GOT IP\r\n")


# --- services --------------------------------------------------------------------------------
def test_ping(raw, emu):
    c = raw
    err(c, b'AT+PING="127.0.0.1"')  # not joined
    c.cmd(b'AT+CWJAP_CUR="WizFiTest","wizfi360pass"')
    c.expect(JOINED)
    for host in (b"127.0.0.1", b"sink.test", b"localhost"):
        c.cmd(b'AT+PING="%s"' % host)
        assert re.fullmatch(rb"\+[1-9][0-9]*\r\n\r\nOK\r\n", c.read_until(OK))
    peer = Peer()  # a listening port answers too
    c.cmd(b'AT+PING="127.0.0.1"')
    c.read_until(OK)
    err(c, b'AT+PING="nowhere.invalid"', b"AT+PING=127.0.0.1", b"AT+PING")
    peer.close()


def test_sntp(raw):
    c = raw
    ok(c, b"AT+CIPSNTPCFG?", b"+CIPSNTPCFG:0\r\n")
    ok(c, b"AT+CIPSNTPTIME?", b"+CIPSNTPTIME:Thu Jan 01 00:00:00 1970\r\n")
    err(
        c,
        b"AT+CIPSNTPCFG=1",
        b"AT+CIPSNTPCFG=1,14",
        b"AT+CIPSNTPCFG=1,-12",
        b"AT+CIPSNTPCFG=2,0",
        b"AT+CIPSNTPCFG=1,0,pool",
        b'AT+CIPSNTPCFG=1,0,"a","b","c","d"',
    )
    ok(c, b"AT+CIPSNTPCFG=1,8")
    ok(c, b"AT+CIPSNTPCFG?", b'+CIPSNTPCFG:1,8,"cn.ntp.org.cn","ntp.sjtu.edu.cn","us.pool.ntp.org"\r\n')
    ok(c, b"AT+CIPSNTPTIME?", b"+CIPSNTPTIME:Thu Jan 01 00:00:00 1970\r\n")  # not joined yet
    c.cmd(b'AT+CWJAP_CUR="WizFiTest","wizfi360pass"')
    c.expect(JOINED)
    ok(c, b'AT+CIPSNTPCFG=1,-5,"pool.ntp.org"')
    ok(c, b"AT+CIPSNTPCFG?", b'+CIPSNTPCFG:1,-5,"pool.ntp.org"\r\n')
    before = int(time.time()) - 5 * 3600
    c.cmd(b"AT+CIPSNTPTIME?")
    got = c.read_until(OK)
    after = int(time.time()) - 5 * 3600
    assert got in [b"+CIPSNTPTIME:%s\r\n" % format_time(t).encode() + OK for t in range(before, after + 1)]
    ok(c, b"AT+CIPSNTPCFG=0")
    ok(c, b"AT+CIPSNTPTIME?", b"+CIPSNTPTIME:Thu Jan 01 00:00:00 1970\r\n")


def test_format_time():
    assert format_time(0) == "Thu Jan 01 00:00:00 1970"
    assert format_time(1700000000) == "Tue Nov 14 22:13:20 2023"


# --- options ---------------------------------------------------------------------------------
def test_cli_options():
    args = cli.parse_args(
        [
            "--server-host",
            "127.0.0.2",
            "--ssl-reboot-below",
            "4096",
            "--cipsto-unit",
            "0.01",
            "--cwlif-unquoted",
        ]
    )
    kwargs = cli.build_kwargs(args)
    assert (
        kwargs["server_host"],
        kwargs["ssl_reboot_below"],
        kwargs["cipsto_unit_s"],
        kwargs["cwlif_quoted"],
    ) == ("127.0.0.2", 4096, 0.01, False)
    assert "server_host" not in cli.build_kwargs(cli.parse_args([]))
