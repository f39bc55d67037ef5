# heapsize: 320K
# (The examples share this interpreter: their imports (requests, umqtt,
# asyncio, ssl) stay, each makes a new WizFi360 and a host UART with a 4 KB
# buffer, and by the last ones about 160 KB are live. At 256K that 4 KB block
# was now and then not to be had in the fragmented rest, in about one run
# in five: a fifth or more above what passes, as docs/development.md says.)
# peers: mqtt ntp
# Each program of examples/ run as it is, on the unix port against the emulator,
# and what it got checked: the bytes fetched, the message received, the time
# decoded... They import `machine` and `settings` as on a board: example_env.py
# says how these are provided here. Their errors are run too: each must fail
# with an error that says what went wrong.
import errno
import sys

import board
import example_env
import harness
from harness import eq, raises, true

if board.ON_BOARD:
    board.skip_file("the examples' servers and stand-ins run on the host")
    sys.exit()

example_env.install()
settings = example_env.settings
_port = example_env.port

_HTTP_BODY_TAIL = bytes(range(256)) * 8  # tools/testservers.py's GET answer after its first line


def _run_script(name):
    """Import examples/<name>.py afresh: a script that runs at import."""
    example_env.reset()
    sys.modules.pop(name, None)
    return __import__(name)


def _example(name):
    """examples/<name>.py, imported (its main() not run yet), with fresh settings."""
    example_env.reset()
    if name not in sys.modules:
        __import__(name)
    return sys.modules[name]


# --- first.py: the README's first script ---------------------------------------------------
def test_first_joins_and_reads_a_status_line():
    first = _run_script("first")
    eq(first.status, b"HTTP/1.0 200 OK\r\n")
    true(first.wifi.isconnected())


def test_first_says_why_a_join_failed():
    example_env.reset()
    settings.KEY = "not-the-password"
    sys.modules.pop("first", None)
    e = raises(OSError, __import__, "first")
    eq(e.errno, errno.EACCES)
    true("wrong password" in str(e), str(e))


# --- http_get.py: micropython-lib's requests ------------------------------------------------
def test_http_get_fetches_the_body():
    status, body = _example("http_get").main()
    eq(status, 200)
    eq(body, b"you asked for /hello.txt\n" + _HTTP_BODY_TAIL)


def test_http_get_raises_when_the_server_refuses():
    http_get = _example("http_get")
    settings.HTTP_URL = "http://echo.test:%d/" % _port("WIZFI_REFUSED_PORT")
    eq(raises(OSError, http_get.main).errno, errno.ECONNREFUSED)


# --- tls_get.py: the module's TLS -------------------------------------------------------------
def test_tls_get_reads_the_answer_over_tls():
    status, body = _example("tls_get").main()
    eq(status, b"HTTP/1.0 200 OK")
    eq(body, b"you asked for /secret.txt\n" + _HTTP_BODY_TAIL)


def test_tls_get_says_the_handshake_failed_where_no_tls_is_spoken():
    tls_get = _example("tls_get")
    settings.TLS_HOST = "echo.test"
    settings.TLS_PORT = _port("WIZFI_ECHO_PORT")  # a plain TCP echo
    e = raises(OSError, tls_get.main)
    eq(e.errno, errno.ECONNABORTED)
    true("TLS handshake failed" in str(e), str(e))


# --- mqtt_pubsub.py: umqtt.simple against a real broker ---------------------------------------
def test_mqtt_message_comes_back_through_the_broker():
    topic, message = _example("mqtt_pubsub").main()
    eq(topic, b"wizfi360/examples/test")
    true(message.startswith(b"hello from wizfi360-"), message)


def test_mqtt_raises_when_no_broker_listens():
    mqtt_pubsub = _example("mqtt_pubsub")
    settings.MQTT_PORT = _port("WIZFI_REFUSED_PORT")
    eq(raises(OSError, mqtt_pubsub.main).errno, errno.ECONNREFUSED)


# --- ntp_time.py: a UDP exchange ----------------------------------------------------------------
def test_ntp_time_decodes_the_servers_time():
    # tools/testservers.NtpServer answers 2026-03-14 15:09:26 UTC
    eq(_example("ntp_time").main()[:6], (2026, 3, 14, 15, 9, 26))


def test_ntp_time_says_when_no_server_answers():
    ntp_time = _example("ntp_time")
    settings.NTP_PORT = _port("WIZFI_REFUSED_PORT")  # no UDP socket there: no answer
    e = raises(OSError, ntp_time.main)
    eq(e.errno, errno.ETIMEDOUT)
    true("no answer from the NTP server" in str(e), str(e))


def test_ntp_time_refuses_an_answer_that_is_no_time():
    ntp_time = _example("ntp_time")
    settings.NTP_PORT = _port("WIZFI_UDP_ECHO_PORT")  # sends the request back: mode 3, not 4
    e = raises(ValueError, ntp_time.main)
    true("not a time from" in str(e), str(e))


# --- scan.py ---------------------------------------------------------------------------------
def test_scan_lists_the_emulators_networks():
    networks = _example("scan").main()
    # tools/run_device_tests.py's access points: WPA2 (security 3), channel 6, -55 dBm
    eq(
        sorted(networks),
        [
            (b"WizFiTest", b"\xaa\xbb\xcc\xdd\xee\xff", 6, -55, 3, False),
            (b'a"b\\c,d', b"\x02\x00\x00\x00\x00\x02", 6, -55, 3, False),
        ],
    )


def test_scan_says_so_when_the_network_is_not_in_range():
    scan = _example("scan")
    settings.SSID = "elsewhere"
    eq(len(scan.main()), 2)  # and it printed "elsewhere is not in range (...)"


# --- softap.py ---------------------------------------------------------------------------------
_PHONE = "02:11:22:33:44:55"


def _phone_joins(mac, ssid, key):
    """A phone set to join ssid with key, as soon as that access point is up."""
    import emucontrol

    emucontrol.emu("station-join %s %s %s" % (mac, _hex(ssid), _hex(key)))


def _hex(text):
    from binascii import hexlify

    return hexlify(text.encode()).decode()


def test_softap_reports_the_device_that_joined():
    softap = _example("softap")
    _phone_joins(_PHONE, settings.AP_SSID, settings.AP_KEY)
    eq(softap.main(), [(bytes.fromhex(_PHONE.replace(":", "")), "192.168.4.2")])


def test_softap_gives_up_when_no_one_joins():
    softap = _example("softap")
    settings.AP_WAIT_S = 1
    _phone_joins("02:11:22:33:44:66", settings.AP_SSID, "another-key-1")  # a phone with the wrong key
    eq(softap.main(), [])


def test_softap_refuses_a_short_key():
    softap = _example("softap")
    settings.AP_KEY = "short"
    e = raises(ValueError, softap.main)
    true("key" in str(e), str(e))


# --- tcp_server.py: asyncio ---------------------------------------------------------------------
def _host_port(listen=False):
    """(a socket of the port's own, the port it is bound to on 127.0.0.1): a port in
    the dynamic range, drawn at random (other test files pick ports too), that nothing
    on this machine held; listening if listen."""
    import os

    import emucontrol

    own = emucontrol._host_socket()  # the unix port's sockets: a program on this machine
    for _ in range(20):
        port = 40000 + int.from_bytes(os.urandom(2), "big") % 20000
        s = own.socket()
        try:
            s.bind(own.getaddrinfo("127.0.0.1", port)[0][-1])
            if listen:
                s.listen(1)
            return s, port
        except OSError:
            s.close()
    raise OSError(errno.EADDRINUSE, "no free port")


def test_tcp_server_answers_two_clients_at_once():
    import asyncio

    import emucontrol

    import wizfi360.aio

    tcp_server = _example("tcp_server")
    probe, port = _host_port()
    probe.close()  # free again, for the example's server
    settings.SERVER_PORT = port

    async def listening():
        # The clients connect once the example's server listens: before, the
        # module refuses them (test_stray_closed.py has what a refused
        # connect's late "<id>,CLOSED" must not end).
        while emucontrol.emu_state()["server"] != str(port):
            await asyncio.sleep_ms(20)

    async def client(i):
        r, w = await wizfi360.aio.open_connection("127.0.0.1", port)
        got = []
        for line in (b"hello %d\n" % i, b"second line\n"):
            w.write(line)
            await w.drain()
            got.append(await r.readline())
        w.write(b"bye\n")
        await w.drain()
        got.append(await r.read(10))  # b"": the server closed
        w.close()
        await w.wait_closed()
        return got

    async def run():
        server = asyncio.create_task(tcp_server.main())
        try:
            await asyncio.wait_for(listening(), 30)
            return await asyncio.wait_for(asyncio.gather(client(0), client(1)), 30)
        finally:
            # Stopped as Ctrl-C stops it, and waited for: its own finally closes
            # the module's server, and the task lets go of its WizFi360. Left
            # pending, it held that (its UART buffer and rings) into the next
            # test's asyncio.run(), where a new one could find no 4 KB block.
            server.cancel()
            try:
                await server
            except asyncio.CancelledError:
                pass

    eq(
        asyncio.run(run()),
        [[b"HELLO 0\n", b"SECOND LINE\n", b""], [b"HELLO 1\n", b"SECOND LINE\n", b""]],
    )


def test_tcp_server_says_when_its_port_is_taken():
    import asyncio

    tcp_server = _example("tcp_server")
    holder, settings.SERVER_PORT = _host_port(listen=True)  # another program has the port
    try:
        e = raises(OSError, asyncio.run, tcp_server.main())
    finally:
        holder.close()
    eq(e.errno, errno.EADDRINUSE)


harness.main(globals())
