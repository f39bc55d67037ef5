"""The driver on CPython against the emulator, end to end."""

import errno
import os
import socket as pysocket
import threading

import pytest

import wizfi360
from wizfi360 import socket as wsock
from wizfi360_emu import AccessPoint, Emulator
from wizfi360_host.hostuart import SerialUART, SocketUART

SSID, KEY = "WizFiTest", "wizfi360pass"
ODD_SSID, ODD_KEY = 'a"b\\c,d', 'p"w\\d,1'


class EchoServer:
    def __init__(self):
        self.srv = pysocket.create_server(("127.0.0.1", 0))
        self.port = self.srv.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(c,), daemon=True).start()

    @staticmethod
    def _echo(c):
        with c:
            while True:
                d = c.recv(65536)
                if not d:
                    return
                c.sendall(d)


@pytest.fixture(scope="module")
def echo():
    e = EchoServer()
    yield e
    e.srv.close()


@pytest.fixture
def emu():
    aps = [AccessPoint(SSID, KEY), AccessPoint(ODD_SSID, ODD_KEY, bssid="02:00:00:00:00:02")]
    with Emulator(aps=aps, tcp_port=0, pty=True, join_delay_s=0.05, dns_map={"echo.test": "127.0.0.1"}) as e:
        yield e


@pytest.fixture
def wifi(emu):
    w = wizfi360.WizFi360(SocketUART("127.0.0.1", emu.tcp_port))
    yield w
    w._at.uart.close()


def sent(emu):
    return list(emu.commands)


def test_startup_sequence(emu, wifi):
    cmds = sent(emu)
    assert cmds[0] == b"AT"
    for c in (b"ATE0", b"AT+CIPMUX=1", b"AT+CIPDINFO=0"):
        assert c in cmds
    assert wifi.version().startswith("AT version:")


def test_join_and_errors(emu, wifi):
    wifi.active(True)
    with pytest.raises(OSError) as e:
        wifi.connect(SSID, "wrong-password")
    assert e.value.errno == errno.EACCES
    with pytest.raises(OSError) as e:
        wifi.connect("nope", KEY)
    assert e.value.errno == errno.ENOENT
    wifi.connect(SSID, KEY)
    assert wifi.isconnected()
    assert wifi.ifconfig()[0] != "0.0.0.0"


def test_escaping_reaches_the_module_exactly(emu, wifi):
    wifi.connect(ODD_SSID, ODD_KEY, bssid=b"\x02\x00\x00\x00\x00\x02")
    assert b'AT+CWJAP_CUR="a\\"b\\\\c\\,d","p\\"w\\\\d\\,1","02:00:00:00:00:02"' in sent(emu)
    assert wifi.config("ssid") == ODD_SSID
    assert wifi.scan()[1][0] == ODD_SSID.encode()


@pytest.mark.parametrize("bad", ["a\rb", "a\nb", "a\x00b", "ok\r\nAT+RST"])
def test_control_characters_are_refused_before_sending(emu, wifi, bad):
    before = len(emu.commands)
    with pytest.raises(ValueError):
        wifi.connect(bad, KEY)
    with pytest.raises(ValueError):
        wifi.connect(SSID, bad)
    with pytest.raises(ValueError):
        wifi.config(hostname=bad)
    with pytest.raises(ValueError):
        wsock.getaddrinfo(bad, 80)
    assert len(emu.commands) == before
    assert b"AT+RST" not in emu.commands


def test_hostname_with_specials_is_escaped(emu, wifi):
    wifi.active(True)
    wifi.config(hostname='n"a,m\\e')
    assert b'AT+CWHOSTNAME="n\\"a\\,m\\\\e"' in sent(emu)


def test_dns_quoted_and_not(emu, wifi):
    wifi.connect(SSID, KEY)
    assert wsock.getaddrinfo("echo.test", 5)[0][-1] == ("127.0.0.1", 5)
    emu.dns_quoted = True
    assert wsock.getaddrinfo("localhost", 5)[0][-1] == ("127.0.0.1", 5)
    before = len(emu.commands)
    assert wsock.getaddrinfo("192.0.2.7", 5)[0][-1] == ("192.0.2.7", 5)
    assert len(emu.commands) == before  # IP literals need no round trip
    with pytest.raises(OSError) as e:
        wsock.getaddrinfo("no-such-host.invalid", 5)
    assert e.value.errno == -2


def test_echo_binary_two_links(emu, wifi, echo):
    wifi.connect(SSID, KEY)
    data = [os.urandom(64 * 1024), bytes(range(256)) * 256]
    data[1] = data[1].replace(b"\x00", b"\r\nOK\r\n+IPD,0,5:")[: 64 * 1024]
    socks = []
    for _ in data:
        s = wsock.socket()
        s.settimeout(10)
        s.connect(("echo.test", echo.port))
        socks.append(s)
    got = [bytearray(), bytearray()]
    buf = bytearray(2048)
    for off in range(0, 64 * 1024, 1024):
        for s, d in zip(socks, data):
            s.sendall(d[off : off + 1024])
        for s, g in zip(socks, got):
            while len(g) < off + 1024:
                n = s.recv_into(buf)
                g.extend(buf[:n])
    assert [bytes(g) for g in got] == data
    for s in socks:
        s.close()


def test_large_send_is_split(emu, wifi, echo):
    wifi.connect(SSID, KEY)
    with wsock.socket() as s:
        s.settimeout(10)
        s.connect(("127.0.0.1", echo.port))
        before = len(emu.commands)
        payload = os.urandom(2048 + 1000)
        # 3048 bytes do not fit the 2048-byte link ring at once: read while writing
        n = s.send(payload)
        assert n == 2048
        got = s.read(2048)
        s.write(payload[2048:])
        got += s.read(1000)
        assert got == payload
        sends = [c for c in emu.commands[before:] if c.startswith(b"AT+CIPSEND=")]
        assert sends == [b"AT+CIPSEND=0,2048", b"AT+CIPSEND=0,1000"]


def test_unsolicited_wifi_disconnect(emu, wifi):
    wifi.connect(SSID, KEY)
    assert wifi.isconnected()
    emu.ap_drop()
    deadline = wizfi360.at.clock.ticks_add(wizfi360.at.clock.ticks_ms(), 2000)
    while wifi.isconnected() and wizfi360.at.clock.ticks_diff(deadline, wizfi360.at.clock.ticks_ms()) > 0:
        pass
    assert not wifi.isconnected()


def test_refused_and_unreachable(emu, wifi):
    s = wsock.socket()
    with pytest.raises(OSError) as e:
        s.connect(("127.0.0.1", 1))
    assert e.value.errno == errno.EHOSTUNREACH  # not joined yet
    wifi.connect(SSID, KEY)
    with pytest.raises(OSError) as e:
        s.connect(("127.0.0.1", 1))
    assert e.value.errno == errno.ECONNREFUSED
    s.close()


def test_serial_uart_over_pty(emu):
    # The CPython stand-in through pyserial, on the emulator's pty.
    w = wizfi360.WizFi360(SerialUART(emu.pty_path))
    try:
        assert w.version().startswith("AT version:")
        w.connect(SSID, KEY)
        assert w.isconnected()
    finally:
        w._at.uart.close()


def test_serial_uart_socket_url(emu):
    w = wizfi360.WizFi360(SerialUART("socket://127.0.0.1:%d" % emu.tcp_port))
    try:
        assert w.version().startswith("AT version:")
    finally:
        w._at.uart.close()


def test_module_level_functions_use_latest_device(emu):
    a = wizfi360.WizFi360(SocketUART("127.0.0.1", emu.tcp_port))
    b = wizfi360.WizFi360(SocketUART("127.0.0.1", emu.tcp_port))
    assert wizfi360.current() is b
    assert wsock.socket()._dev is b
    a._at.uart.close()
    b._at.uart.close()


class ResetPin:
    """Stands in for the Pin on the module's RST: the rising edge reboots the emulator."""

    def __init__(self, emu):
        self.emu = emu
        self.levels = []

    def __call__(self, level):
        self.levels.append(level)
        if level == 1:
            self.emu.reboot(garbage=b"\xff\xfe\x00garbage")


def test_hardware_reset_at_start(emu):
    pin = ResetPin(emu)
    w = wizfi360.WizFi360(SocketUART("127.0.0.1", emu.tcp_port), reset=pin)
    try:
        assert pin.levels == [0, 1]
        assert w.version().startswith("AT version:")
        # Nothing was sent before the reset; set-up ran after "ready", past the boot noise.
        assert emu.commands[:4] == [b"AT", b"ATE0", b"AT+CIPMUX=1", b"AT+CIPDINFO=0"]
        w.connect(SSID, KEY)
        assert w.isconnected()
    finally:
        w._at.uart.close()


def test_unexpected_reboot_fails_sockets_and_reinitialises(emu, wifi, echo):
    wifi.connect(SSID, KEY)
    s = wsock.socket()
    s.settimeout(5)
    s.connect(("127.0.0.1", echo.port))
    s.write(b"ping")
    assert s.read(4) == b"ping"
    emu.reboot(garbage=b"\xff\xfe")
    wifi.poll()
    clock = wizfi360.at.clock
    deadline = clock.ticks_add(clock.ticks_ms(), 2000)
    while wifi.stats()["reboots"] == 0 and clock.ticks_diff(deadline, clock.ticks_ms()) > 0:
        wifi.poll()
    assert wifi.stats()["reboots"] == 1
    assert not wifi.isconnected()
    assert s.recv(10) == b""  # the link is gone
    with pytest.raises(OSError) as e:
        s.send(b"x")
    assert e.value.errno == errno.ECONNRESET
    s.close()
    n = len(emu.commands)
    wifi.connect(SSID, KEY)  # echo off, link mode and +IPD format are set up again first
    assert emu.commands[n : n + 4] == [b"AT", b"ATE0", b"AT+CIPMUX=1", b"AT+CIPDINFO=0"]
    with wsock.socket() as s2:
        s2.settimeout(5)
        s2.connect(("127.0.0.1", echo.port))
        s2.write(b"again")
        assert s2.read(5) == b"again"


def one_client(wifi, serve):
    """Join, and connect a socket (timeout 5 s) to a loopback server that runs
    serve(conn) for its one client in a thread; returns (socket, thread, server)."""
    srv = pysocket.create_server(("127.0.0.1", 0))

    def run():
        c, _ = srv.accept()
        with c:
            serve(c)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    wifi.connect(SSID, KEY)
    s = wsock.socket()
    s.settimeout(5)
    s.connect(("127.0.0.1", srv.getsockname()[1]))
    return s, t, srv


def test_peer_close_then_send_is_connreset(emu, wifi):
    s, t, srv = one_client(wifi, lambda c: c.sendall(b"bye"))
    t.join(5)
    assert s.read() == b"bye"  # read() to EOF: data first, then the close
    with pytest.raises(OSError) as e:
        s.send(b"x")
    assert e.value.errno == errno.ECONNRESET
    s.close()
    srv.close()


def test_readinto_ends(emu, wifi):
    # A stream read fills the buffer unless something ends it first; what it
    # has read is returned then, never lost.
    more = threading.Event()

    def serve(c):
        c.sendall(b"abc")
        more.wait(10)
        c.sendall(b"defg")

    s, t, srv = one_client(wifi, serve)
    buf = bytearray(10)
    with pytest.raises(ValueError):
        s.readinto(buf, 11)
    s.settimeout(0.3)
    assert s.readinto(buf) == 3  # the timeout, once something was read
    assert buf[:3] == b"abc"
    with pytest.raises(OSError) as e:
        s.readinto(buf)  # the timeout, with nothing read
    assert e.value.errno == errno.ETIMEDOUT
    s.setblocking(False)
    assert s.readinto(buf) is None  # nothing there
    more.set()
    s.settimeout(5)
    assert s.readinto(buf, 2) == 2  # nbytes, not the buffer
    assert s.readinto(buf) == 2  # then EOF
    assert buf[:2] == b"fg"
    assert s.readinto(buf) == 0
    s.close()
    with pytest.raises(OSError) as e:
        s.readinto(buf)
    assert e.value.errno == errno.EBADF
    t.join(5)
    srv.close()
