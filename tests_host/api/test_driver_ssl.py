"""wizfi360.ssl through the emulator's real TLS links, on CPython."""

import errno
import socket as pysocket
import threading

import pytest
from testservers import TlsEcho

import wizfi360
from wizfi360 import socket as wsock
from wizfi360 import ssl as wssl

SSID, KEY = "WizFiTest", "wizfi360pass"


@pytest.fixture
def tls_echo():
    server = TlsEcho()
    yield server
    server.stop()


def test_wrap_after_connect_reopens_the_link_as_ssl(emu, wifi, tls_echo):
    # What umqtt.simple and requests do: connect, then wrap.
    s = wsock.socket()
    s.settimeout(5)
    s.connect(wsock.getaddrinfo("tls.test", tls_echo.port)[0][-1])
    ctx = wssl.SSLContext(wssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = wssl.CERT_NONE
    s2 = ctx.wrap_socket(s, server_hostname="tls.test")
    assert s2 is s
    starts = [c for c in emu.commands if c.startswith(b"AT+CIPSTART=")]
    assert starts[-2:] == [
        b'AT+CIPSTART=0,"TCP","127.0.0.1",%d' % tls_echo.port,
        b'AT+CIPSTART=0,"SSL","tls.test",%d' % tls_echo.port,
    ]
    i = emu.commands.index(starts[-1])
    assert emu.commands[i - 1] == b"AT+CIPCLOSE=0"  # the TCP link closed first
    assert tls_echo.names == ["tls.test"]  # SNI went out
    payload = bytes(range(256)) * 12
    s.write(payload)
    assert s.read(len(payload)) == payload
    s.close()


def test_wrap_before_connect(wifi, tls_echo):
    s = wssl.wrap_socket(wsock.socket(), server_hostname="tls.test")
    s.settimeout(5)
    s.connect(("tls.test", tls_echo.port))
    s.write(b"hello\n")
    assert s.readline() == b"hello\n"
    s.close()


def test_handshake_failure_raises(wifi):
    # A plain TCP server that closes at once: the module answers OK, then CLOSED.
    srv = pysocket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]

    def serve():
        for _ in range(2):
            c, _ = srv.accept()
            c.close()

    threading.Thread(target=serve, daemon=True).start()
    s = wssl.wrap_socket(wsock.socket())
    with pytest.raises(OSError) as e:
        s.connect(("127.0.0.1", port))
    assert e.value.errno == errno.ECONNABORTED
    assert wifi._at.links == [None] * 5  # the link was given back
    s.close()
    srv.close()


def test_module_reboot_in_handshake_raises(emu, wifi, tls_echo):
    emu.ssl_reboot_below = 4096
    wssl.set_buffer_size(2048)
    s = wssl.wrap_socket(wsock.socket())
    s.settimeout(5)
    with pytest.raises(OSError) as e:
        s.connect(("127.0.0.1", tls_echo.port))
    assert e.value.errno == errno.ECONNABORTED
    assert "buffer" in str(e.value)
    s.close()


def test_verification_cannot_be_asked_for(wifi):
    ctx = wssl.SSLContext(wssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = wssl.CERT_REQUIRED
    with pytest.raises(OSError):
        ctx.wrap_socket(wsock.socket())
    with pytest.raises(OSError):
        ctx.load_verify_locations(cadata=b"...")
    with pytest.raises(ValueError):
        wssl.SSLContext(wssl.PROTOCOL_TLS_SERVER)
    with pytest.raises(ValueError):
        wssl.set_buffer_size(1024)
    with pytest.raises(OSError):
        wssl.wrap_socket(wsock.socket(wsock.AF_INET, wsock.SOCK_DGRAM))


def test_install_maps_ssl_and_tls(wifi):
    import sys

    saved = {k: sys.modules.get(k) for k in ("socket", "usocket", "ssl", "tls")}
    try:
        wizfi360.install()
        assert sys.modules["tls"] is wssl and sys.modules["ssl"] is wssl
        assert sys.modules["socket"] is wsock
    finally:
        for k, v in saved.items():
            if v is None:
                sys.modules.pop(k, None)
            else:
                sys.modules[k] = v
