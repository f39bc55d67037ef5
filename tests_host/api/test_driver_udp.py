"""UDP sockets through the emulator, on CPython."""

import errno
import socket as pysocket
import threading

import pytest

from wizfi360 import socket as wsock

SSID, KEY = "WizFiTest", "wizfi360pass"


class UdpEcho:
    """Echoes each datagram back to its sender, prefixed with b'echo:'."""

    def __init__(self):
        self.sock = pysocket.socket(pysocket.AF_INET, pysocket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.seen = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                data, addr = self.sock.recvfrom(4096)
            except OSError:
                return
            self.seen.append((data, addr))
            self.sock.sendto(b"echo:" + data, addr)


@pytest.fixture
def echo():
    e = UdpEcho()
    yield e
    e.sock.close()


def test_sendto_recvfrom_keeps_datagram_boundaries(wifi, echo):
    s = wsock.socket(wsock.AF_INET, wsock.SOCK_DGRAM)
    s.settimeout(5)
    for payload in (b"one", b"two\r\nOK\r\n+IPD,0,3:", bytes(range(256)) * 4):
        assert s.sendto(payload, ("127.0.0.1", echo.port)) == len(payload)
    got = [s.recvfrom(2048) for _ in range(3)]
    assert [g[0] for g in got] == [
        b"echo:one",
        b"echo:two\r\nOK\r\n+IPD,0,3:",
        b"echo:" + bytes(range(256)) * 4,
    ]
    assert all(g[1] == ("127.0.0.1", echo.port) for g in got)
    s.close()


def test_recv_cuts_a_datagram_to_bufsize_and_drops_the_rest(wifi, echo):
    s = wsock.socket(wsock.AF_INET, wsock.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(b"abcdefgh", ("127.0.0.1", echo.port))
    s.sendto(b"next", ("127.0.0.1", echo.port))
    assert s.recv(4) == b"echo"
    assert s.recv(100) == b"echo:next"
    s.close()


def test_bind_fixes_the_local_port(emu, wifi, echo):
    s = wsock.socket(wsock.AF_INET, wsock.SOCK_DGRAM)
    s.settimeout(5)
    s.bind(("0.0.0.0", 47001))
    s.sendto(b"hi", ("127.0.0.1", echo.port))
    assert s.recvfrom(64)[0] == b"echo:hi"
    assert b'AT+CIPSTART=0,"UDP","127.0.0.1",%d,47001,2' % echo.port in emu.commands
    # Any peer may send to the bound port (mode 2).
    other = pysocket.socket(pysocket.AF_INET, pysocket.SOCK_DGRAM)
    other.sendto(b"unasked", ("127.0.0.1", 47001))
    data, addr = s.recvfrom(64)
    assert data == b"unasked" and addr == ("127.0.0.1", other.getsockname()[1])
    other.close()
    s.close()


def test_connected_udp_send_recv(wifi, echo):
    s = wsock.socket(wsock.AF_INET, wsock.SOCK_DGRAM)
    s.settimeout(5)
    s.connect(("127.0.0.1", echo.port))
    assert s.send(b"ping") == 4
    assert s.recv(64) == b"echo:ping"
    s.close()


def test_udp_errors(wifi):
    s = wsock.socket(wsock.AF_INET, wsock.SOCK_DGRAM)
    with pytest.raises(ValueError):
        s.sendto(b"", ("127.0.0.1", 9))
    with pytest.raises(ValueError):
        s.sendto(b"x" * 2049, ("127.0.0.1", 9))
    with pytest.raises(ValueError):
        s.sendto(b"x", ("127.0.0.1", 0))
    with pytest.raises(OSError) as e:
        s.send(b"x")
    assert e.value.errno == errno.ENOTCONN
    s.setblocking(False)
    s.sendto(b"x", ("127.0.0.1", 9))  # opens the link; nobody answers
    with pytest.raises(OSError) as e:
        s.recvfrom(10)
    assert e.value.errno == errno.EAGAIN
    with pytest.raises(OSError) as e:
        s.readline()
    assert e.value.errno == errno.EOPNOTSUPP
    with pytest.raises(OSError) as e:
        s.readinto(bytearray(4))  # datagrams have no stream
    assert e.value.errno == errno.EOPNOTSUPP
    s.close()


def test_headers_name_the_sender_only_once_a_udp_socket_needs_it(emu, wifi, echo):
    # Start-up asks for +IPD without the sender (shorter TCP frames); the first UDP
    # socket turns it on before its link opens, and it stays on for the next one.
    assert b"AT+CIPDINFO=0" in emu.commands and b"AT+CIPDINFO=1" not in emu.commands
    with wsock.socket(wsock.AF_INET, wsock.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(b"who", ("127.0.0.1", echo.port))
        assert s.recvfrom(64) == (b"echo:who", ("127.0.0.1", echo.port))
    cmds = list(emu.commands)
    on = cmds.index(b"AT+CIPDINFO=1")
    assert any(c.startswith(b"AT+CIPSTART=") and b'"UDP"' in c for c in cmds[on + 1 :])
    with wsock.socket(wsock.AF_INET, wsock.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.connect(("127.0.0.1", echo.port))
        s.send(b"again")
        assert s.recv(64) == b"echo:again"
    assert list(emu.commands).count(b"AT+CIPDINFO=1") == 1
