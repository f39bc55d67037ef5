# heapsize: 192K
# Code written for MicroPython's own socket module, run unchanged on the shim
# after wizfi360.install(): micropython-lib's requests (frozen into the unix
# port; install it with mip on a board) over HTTP and HTTPS, and the socket
# calls umqtt.simple makes.
import board
import harness
import wizfi360
from harness import eq

wizfi360.install()  # socket, ssl & co. are the shim from here on
wifi = board.wifi


_BODY_TAIL = bytes(range(256)) * 8


def test_requests_get_http():
    wifi()
    import requests

    r = requests.get(board.settings()["http_url"] + "/readings?x=1")
    eq(r.status_code, 200)
    eq(r.content, b"you asked for /readings?x=1\n" + _BODY_TAIL)
    r.close()


def test_requests_post_http():
    wifi()
    import requests

    payload = b'{"temp_c": 21.5}' * 100
    r = requests.post(board.settings()["http_url"] + "/post", data=payload)
    eq(r.status_code, 200)
    eq(r.content, payload)


def test_requests_get_https():
    # requests wraps with tls.SSLContext(PROTOCOL_TLS_CLIENT) after connect.
    wifi()
    import requests

    r = requests.get(board.settings()["https_url"] + "/secure")
    eq(r.status_code, 200)
    eq(r.content, b"you asked for /secure\n" + _BODY_TAIL)


def test_umqtt_simple_socket_calls():
    # The calls of umqtt.simple's MQTTClient.connect/publish/check_msg, in
    # their order, against an echo server (what goes out comes back).
    wifi()
    import socket

    s = board.settings()
    sock = socket.socket()
    addr = socket.getaddrinfo(s["echo_host"], s["echo_port"])[0][-1]
    sock.connect(addr)
    sock.settimeout(None)
    premsg = bytearray(b"\x10\0\0\0\0\0")
    msg = bytearray(b"\x04MQTT\x04\x02\0\0")
    premsg[1] = 10 + 2
    eq(sock.write(premsg, 2), 2)  # write(buf, n): only the first n bytes
    eq(sock.write(msg), len(msg))
    eq(sock.write(b"\0\x01c"), 3)
    eq(sock.read(2), b"\x10\x0c")
    eq(sock.read(len(msg)), msg)
    eq(sock.read(3), b"\0\x01c")
    sock.setblocking(False)
    eq(sock.read(1), None)  # check_msg(): nothing waiting
    sock.setblocking(True)
    sock.write(b"\x30")
    sock.setblocking(False)
    import time

    until = time.ticks_add(time.ticks_ms(), 3000)
    got = sock.read(1)
    while got is None and time.ticks_diff(until, time.ticks_ms()) > 0:
        time.sleep_ms(1)  # a main loop doing other work between check_msg() calls
        got = sock.read(1)
    eq(got, b"\x30")
    sock.close()


harness.main(globals())
