"""Tests of the emulator's switches for the concurrency tests (issue 14): connect-delay,
before-result, and the test clients of the module's server with link-reuse
(wizfi360_emu/faults.py, clients.py, control.py), as raw bytes on the UART."""

import socket
import time

import pytest
from test_emulator import ERROR, OK, Client, join, start_link
from test_emulator_faults import BUSY, prompt, state


@pytest.fixture
def emu(control_emulator):
    return control_emulator


def ipd(link_id, payload, port):
    """An +IPD frame as the file's UART client (CIPDINFO=1) sees it from 127.0.0.1:port."""
    return b"\r\n+IPD,%d,%d,127.0.0.1,%d:%s" % (link_id, len(payload), port, payload)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def serve(c):
    """AT+CIPSERVER=1 on a free port; returns the port."""
    port = free_port()
    c.cmd(b"AT+CIPSERVER=1,%d" % port)
    c.expect(OK)
    return port


def ok_ints(reply):
    """ "ok 3 0" -> (3, 0)."""
    assert reply.startswith("ok "), reply
    return tuple(int(w) for w in reply[3:].split())


# --- connect-delay ------------------------------------------------------------------------------
def test_connect_delay_holds_the_result_and_keeps_the_module_busy(emu, ctl, c, peer):
    start_link(c, peer.port, 0)
    conn0 = peer.accept()
    assert ctl("connect-delay 600") == "ok"
    t0 = time.monotonic()
    c.cmd(b'AT+CIPSTART=1,"TCP","127.0.0.1",%d' % peer.port)
    c.quiet(0.2)  # nothing yet: no CONNECT, no OK
    assert state(ctl)["running"] == "1"
    assert state(ctl)["links"] == "0"
    c.cmd(b"AT")  # the module is busy with the CIPSTART (manual 2.3)
    c.expect(BUSY)
    conn0.sendall(b"meanwhile")  # the other link's data keeps coming
    c.expect(ipd(0, b"meanwhile", peer.port))
    c.expect(b"1,CONNECT\r\n" + OK, timeout=3)
    assert time.monotonic() - t0 >= 0.6
    assert state(ctl)["running"] == "0"
    peer.accept()  # the peer got the connection only now
    c.cmd(b"AT")  # the delay was for one command only
    c.expect(OK)
    t0 = time.monotonic()
    start_link(c, peer.port, 2)
    assert time.monotonic() - t0 < 0.5


def test_connect_delay_then_refused(emu, ctl, c):
    assert ctl("connect-delay 300") == "ok"
    t0 = time.monotonic()
    c.cmd(b'AT+CIPSTART=3,"TCP","127.0.0.1",%d' % free_port())
    c.expect(ERROR, timeout=3)
    assert time.monotonic() - t0 >= 0.3


def test_connect_delay_arguments_and_clear(emu, ctl, c):
    assert ctl("connect-delay") == "error want one number"
    assert ctl("connect-delay -5").startswith("error -5 is out of range")
    assert ctl("connect-delay 5000") == "ok"
    assert emu.faults.connect_delay_ms == 5000
    assert ctl("clear") == "ok"
    assert emu.faults.connect_delay_ms == 0
    assert ctl("connect-delay 5000") == "ok"
    assert ctl("reboot") == "ok"
    assert emu.faults.connect_delay_ms == 0


# --- before-result --------------------------------------------------------------------------------
def test_before_result_precedes_ok_error_and_send_ok(emu, ctl, c, peer):
    start_link(c, peer.port, 0)
    conn = peer.accept()
    frame = b"\r\n+IPD,0,5:hello"
    assert ctl("before-result %s 3" % frame.hex()) == "ok"
    c.cmd(b"AT")
    c.expect(frame * 3 + OK)
    c.cmd(b"AT")  # once only
    c.expect(OK)
    assert ctl("before-result %s" % frame.hex()) == "ok"
    c.cmd(b"AT+NOSUCH")
    c.expect(frame + ERROR)
    assert ctl("before-result %s 2" % frame.hex()) == "ok"
    prompt(c, 0, 4)  # CIPSEND's first OK is not its result
    c.send(b"data")
    c.expect(b"\r\nRecv 4 bytes\r\n" + frame * 2 + b"\r\nSEND OK\r\n")
    conn.settimeout(3)
    assert conn.recv(10) == b"data"


def test_before_result_tens_of_kilobytes(emu, ctl, c):
    payload = bytes(range(256)) * 8
    frame = b"\r\n+IPD,0,%d:" % len(payload) + payload
    assert len(frame.hex()) < 65536
    assert ctl("before-result %s 20" % frame.hex()) == "ok"  # 41 KB
    c.cmd(b"AT")
    c.expect(frame * 20 + OK)


def test_before_result_arguments(emu, ctl):
    assert ctl("before-result") == "error want <hex> [<times>]"
    assert ctl("before-result zz") == "error bad hex 'zz'"
    assert ctl("before-result 00 0").startswith("error 0 is out of range")
    assert ctl("before-result 00 1 2") == "error want <hex> [<times>]"
    assert ctl("before-result 0000 100000") == "ok"  # 200 KB: fine
    assert ctl("before-result %s 100000" % ("00" * 100)).startswith("error 10000000 bytes in all")
    assert ctl("before-result 41 2") == "ok"
    assert emu.faults.before_result == (b"AA", 1)
    assert ctl("before-result off") == "ok"
    assert emu.faults.before_result is None


# --- inject-later ------------------------------------------------------------------------------------
def test_inject_later_returns_at_once_and_keeps_the_order(emu, ctl):
    c = Client(emu.tcp_port, rcvbuf=4096)  # a host that reads nothing for now
    try:
        c.cmd(b"AT")
        c.expect(b"AT\r\n" + OK)
        unit = bytes(range(256)) * 64  # 16 KB
        t0 = time.monotonic()
        assert ctl("inject-later %s 8" % unit.hex()) == "ok"  # 128 KB: far more than the buffers
        assert ctl("inject-later 656e64") == "ok"  # "end", after all of it
        assert time.monotonic() - t0 < 1.0
        time.sleep(0.2)
        c.expect(unit * 8 + b"end", timeout=5)
        assert ctl("inject-later 41 0").startswith("error 0 is out of range")
        assert ctl("inject-later").startswith("error want <hex> [<times>]")
    finally:
        c.close()


# --- test clients of the module's server ----------------------------------------------------------
def test_clients_open_send_recv_close(emu, ctl, c):
    assert ctl("client-open").startswith("error the module's server is off")
    serve(c)
    n, link_id = ok_ints(ctl("client-open 6869"))
    assert (n, link_id) == (0, 0)
    port = emu.clients.get(0).port
    c.expect(b"0,CONNECT\r\n" + ipd(0, b"hi", port))
    assert ctl("client-send 0 6d 6f 72 65") == "ok"
    c.expect(ipd(0, b"more", port))
    prompt(c, 0, 5)
    c.send(b"reply")
    c.expect(b"\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n")
    assert ctl("client-recv 0 5") == "ok " + b"reply".hex()
    assert ctl("client-recv 0") == "ok"  # nothing since
    assert ctl("client-eof 0") == "ok 0"
    assert ctl("client-close 0") == "ok"
    c.expect(b"0,CLOSED\r\n")
    assert ctl("client-send 0 00") == "error no open client 0"
    assert state(ctl)["links"] == ""


def test_client_sees_the_module_close(emu, ctl, c):
    serve(c)
    assert ctl("client-open") == "ok 0 0"
    c.expect(b"0,CONNECT\r\n")
    c.cmd(b"AT+CIPCLOSE=0")
    c.expect(b"0,CLOSED\r\n" + OK)
    assert ctl("client-eof 0 2000") == "ok 1"


def test_five_clients_and_a_sixth_refused(emu, ctl, c):
    serve(c)
    for i in range(5):
        assert ctl("client-open %02x" % i) == "ok %d %d" % (i, i)
        port = emu.clients.get(i).port
        c.expect(b"%d,CONNECT\r\n" % i + ipd(i, bytes([i]), port))
    assert ctl("client-open").startswith("error the module refused the client")
    for i in range(5):  # each talks to its own link
        prompt(c, i, 3)
        c.send(b"to%d" % i)
        c.expect(b"\r\nRecv 3 bytes\r\n\r\nSEND OK\r\n")
    for i in range(5):
        assert ctl("client-recv %d 3" % i) == "ok " + (b"to%d" % i).hex()


def test_link_reuse_closed_then_connect_then_data(emu, ctl, c):
    serve(c)
    assert ctl("client-open 6f6c64") == "ok 0 0"  # "old"
    old_port = emu.clients.get(0).port
    c.expect(b"0,CONNECT\r\n" + ipd(0, b"old", old_port))
    assert ctl("client-send 0 6c617374") == "ok"  # "last": it goes out before CLOSED
    n, link_id = ok_ints(ctl("link-reuse 0 6e6577"))  # "new"
    assert (n, link_id) == (1, 0)
    new_port = emu.clients.get(1).port
    c.expect(ipd(0, b"last", old_port) + b"0,CLOSED\r\n0,CONNECT\r\n" + ipd(0, b"new", new_port))
    assert ctl("client-eof 0 2000") == "ok 1"  # the old client's connection is gone
    prompt(c, 0, 5)  # link 0 is the new client now
    c.send(b"hello")
    c.expect(b"\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n")
    assert ctl("client-recv 1 5") == "ok " + b"hello".hex()
    assert state(ctl)["links"] == "0"


def test_link_reuse_gives_the_lowest_free_id(emu, ctl, c):
    serve(c)
    for i in range(3):
        assert ctl("client-open") == "ok %d %d" % (i, i)
    c.expect(b"0,CONNECT\r\n1,CONNECT\r\n2,CONNECT\r\n")
    assert ctl("client-close 0") == "ok"
    c.expect(b"0,CLOSED\r\n")
    assert ctl("link-reuse 2") == "ok 3 0"
    c.expect(b"2,CLOSED\r\n0,CONNECT\r\n")
    assert state(ctl)["links"] == "0,1"


def test_link_reuse_of_another_peer_and_errors(emu, ctl, c, peer):
    port = serve(c)
    outsider = socket.create_connection(("127.0.0.1", port))  # not a test client
    c.expect(b"0,CONNECT\r\n")
    assert ctl("link-reuse 0") == "ok 0 0"
    c.expect(b"0,CLOSED\r\n0,CONNECT\r\n")
    outsider.settimeout(3)
    assert outsider.recv(10) == b""  # cut off by the module
    outsider.close()
    assert ctl("link-reuse 3") == "error link 3 is not a server link"
    start_link(c, peer.port, 4)  # a client link of the module's own
    assert ctl("link-reuse 4") == "error link 4 is not a server link"
    assert ctl("link-reuse 5").startswith("error 5 is out of range")


def test_clients_go_with_the_server(emu, ctl, c):
    serve(c)
    assert ctl("client-open") == "ok 0 0"
    c.expect(b"0,CONNECT\r\n")
    c.cmd(b"AT+CIPSERVER=0")
    c.expect(b"0,CLOSED\r\n" + OK)
    assert ctl("client-eof 0 2000") == "ok 1"


def test_clients_on_a_fresh_uart_client(emu, ctl):
    # join() with dinfo off: the frames lose the sender's address, the switches work alike
    c = Client(emu.tcp_port)
    try:
        join(c, dinfo=0)
        serve(c)
        assert ctl("client-open 41") == "ok 0 0"
        c.expect(b"0,CONNECT\r\n\r\n+IPD,0,1:A")
    finally:
        c.close()


def test_a_client_that_closes_and_connects_again_finds_its_id_free(emu, ctl, c):
    # All five IDs taken; one client closes and at once connects again, thirty
    # times: the module handles the FIN before the SYN that followed it, so the
    # new connection gets the freed ID (CLOSED, then CONNECT) and is never
    # refused, although the emulator's link reader and server threads race.
    port = serve(c)
    clients = []
    for i in range(5):
        clients.append(socket.create_connection(("127.0.0.1", port)))
        c.expect(b"%d,CONNECT\r\n" % i)
    for k in range(30):
        i = k % 5
        clients[i].close()
        clients[i] = socket.create_connection(("127.0.0.1", port))
        c.expect(b"%d,CLOSED\r\n%d,CONNECT\r\n" % (i, i))
        clients[i].sendall(b"x")
        c.expect(ipd(i, b"x", clients[i].getsockname()[1]))
    for s in clients:
        s.close()
