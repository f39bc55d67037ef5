"""The module's TCP server through socket.bind/listen/accept, on CPython."""

import errno
import socket as pysocket
import time

import pytest

from wizfi360 import socket as wsock

SSID, KEY = "WizFiTest", "wizfi360pass"


def free_port():
    s = pysocket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_accept_two_clients_and_echo(emu, wifi):
    port = free_port()
    srv = wsock.socket()
    srv.setsockopt(wsock.SOL_SOCKET, wsock.SO_REUSEADDR, 1)
    srv.bind(("0.0.0.0", port))
    srv.listen(2)
    srv.settimeout(5)
    clients = [pysocket.create_connection(("127.0.0.1", port)) for _ in range(2)]
    for i, c in enumerate(clients):
        c.sendall(b"hello from %d\n" % i)
    for i in range(2):
        conn, addr = srv.accept()
        assert addr == ("127.0.0.1", clients[i].getsockname()[1])
        conn.settimeout(5)
        line = conn.readline()
        assert line == b"hello from %d\n" % i
        conn.write(b"back:" + line)
        assert clients[i].recv(100) == b"back:" + line
        conn.close()
        assert clients[i].recv(100) == b""  # closed by the module
    srv.close()
    assert b"AT+CIPSERVER=0" in emu.commands


def test_client_closes_first_gives_eof(wifi):
    port = free_port()
    srv = wsock.socket()
    srv.bind(("", port))
    srv.listen()
    c = pysocket.create_connection(("127.0.0.1", port))
    c.sendall(b"last words")
    c.close()
    srv.settimeout(5)
    conn, _ = srv.accept()
    conn.settimeout(5)
    assert conn.read() == b"last words"
    conn.close()
    srv.close()


def test_accept_timeouts_and_errors(emu, wifi):
    srv = wsock.socket()
    with pytest.raises(OSError) as e:
        srv.listen()
    assert e.value.errno == errno.EINVAL  # not bound
    with pytest.raises(OSError):
        srv.accept()
    srv.bind(("", free_port()))
    with pytest.raises(ValueError):
        srv.listen(1, idle_s=7201)
    srv.listen(1, idle_s=30)
    assert b"AT+CIPSTO=30" in emu.commands
    srv.setblocking(False)
    with pytest.raises(OSError) as e:
        srv.accept()
    assert e.value.errno == errno.EAGAIN
    srv.settimeout(0.05)
    with pytest.raises(OSError) as e:
        srv.accept()
    assert e.value.errno == errno.ETIMEDOUT
    second = wsock.socket()
    second.bind(("", free_port()))
    with pytest.raises(OSError) as e:
        second.listen()
    assert e.value.errno == errno.EADDRINUSE
    with pytest.raises(OSError):
        srv.setsockopt(wsock.SOL_SOCKET, 99, 1)
    srv.close()
    second.listen()  # the module's one server is free again
    second.close()


def test_unaccepted_clients_are_dropped_on_close(wifi):
    port = free_port()
    srv = wsock.socket()
    srv.bind(("", port))
    srv.listen()
    c = pysocket.create_connection(("127.0.0.1", port))
    deadline = time.monotonic() + 5
    while not wifi._at.accepted and time.monotonic() < deadline:
        wifi.poll()
    assert wifi._at.accepted
    srv.close()
    assert wifi._at.links[0] is None  # free again
    c.settimeout(5)
    assert c.recv(10) == b""
    c.close()
