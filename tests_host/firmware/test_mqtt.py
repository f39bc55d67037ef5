"""The firmware's MQTT path, on the MicroPython unix port against the emulator, with the
real client and a real broker: micropython-lib's umqtt.simple as PyPI has it
(micropython-umqtt.simple, pinned in requirements-mplib.txt, installed into
build/mplib by `make mplib`) and amqtt (PyPI, requirements.txt) as a process on
loopback (tools/testservers.MqttBroker). A subscriber (amqtt's client) sees what
the firmware published. The broker name "broker.test" resolves only through the
emulator, so a publish that arrived went through the WizFi360 driver.

A broker that takes the TCP connection and never answers must not hang the
firmware: umqtt.simple's connect() (1.5 and later) and wait_msg() ask their
socket to wait for ever (settimeout(None), setblocking(True)); the firmware's
sockets wait at most net_timeout_s (senders.NetSockets).
"""

import asyncio
import json
import subprocess
import threading

import pytest
from testservers import MqttBroker, _TcpServer

import fwrun
from fwrun import KEY, MPLIB, REPO, SSID, config_for, run, run_interrupted
from httpsink import HttpSink, wait_for_count

micropython = fwrun.micropython  # fixtures shared with the other firmware tests
emulator = fwrun.emulator


class RefusingBroker(MqttBroker):
    """amqtt with anonymous clients refused: CONNACK with a non-zero return code."""

    CONFIG = (
        "listeners:\n  default:\n    type: tcp\n    bind: 127.0.0.1:%d\n"
        "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n    allow_anonymous: false\n"
    )


class Subscriber:
    """amqtt's client subscribed to '#' on the broker, in a thread: .messages is
    [(topic, payload)] in the order the broker delivered them."""

    def __init__(self, port):
        self.messages = []
        self._cond = threading.Condition()
        self._ready = threading.Event()
        self._stop = None
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._run(port),))
        self._thread.daemon = True
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the subscriber did not connect")

    async def _run(self, port):
        from amqtt.client import MQTTClient
        from amqtt.mqtt.constants import QOS_0

        self._stop = asyncio.Event()
        client = MQTTClient(client_id="test-watch")
        await client.connect("mqtt://127.0.0.1:%d/" % port)
        await client.subscribe([("#", QOS_0)])
        self._ready.set()
        while not self._stop.is_set():
            try:
                msg = await client.deliver_message(timeout_duration=0.2)
            except asyncio.TimeoutError:  # nothing yet: look at _stop again
                continue
            if msg is not None:
                with self._cond:
                    self.messages.append((msg.topic, bytes(msg.data)))
                    self._cond.notify_all()
        await client.disconnect()

    def wait_for(self, count, timeout=10.0):
        return wait_for_count(self._cond, self.messages, count, timeout)

    def close(self):
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)


class SilentBroker(_TcpServer):
    """Takes TCP connections and never answers (a hung broker)."""

    def __init__(self):
        self._conns = []
        super().__init__()

    @property
    def accepted(self):
        return len(self._conns)

    def handle(self, conn):
        self._conns.append(conn)  # kept open, never read or answered

    def close(self):
        self.stop()
        for c in self._conns:
            c.close()


@pytest.fixture(scope="module")
def broker():
    b = MqttBroker()
    yield b
    b.stop()


@pytest.fixture
def watch(broker):
    s = Subscriber(broker.port)
    yield s
    s.close()


def mqtt_config(emu, port, **extra):
    return config_for(emu, mqtt={"host": "broker.test", "port": port}, **extra)


def broker_links(emu, port):
    """The TCP connections the module opened to the broker (AT+CIPSTART)."""
    return [c for c in emu.commands if b"CIPSTART" in c and c.endswith(b",%d" % port)]


def test_readings_are_published_through_the_module(micropython, tmp_path, emulator, broker, watch):
    rc, out = run(micropython, tmp_path, mqtt_config(emulator, broker.port), umqtt=True)
    assert rc == 0
    assert "sending to mqtt://broker.test:%d/sensors/pico-1" % broker.port in out
    assert "connected to the MQTT broker broker.test:%d" % broker.port in out
    assert "done: 3 of 3 readings sent" in out
    assert watch.wait_for(3, timeout=5)
    seqs = []
    for topic, payload in watch.messages:
        assert topic == "sensors/pico-1"
        reading = json.loads(payload)
        assert set(reading) == {"device", "seq", "temp_c", "uptime_ms"}
        seqs.append(reading["seq"])
    assert seqs == [1, 2, 3]
    assert len(broker_links(emulator, broker.port)) == 1  # one connection for all readings
    # It said goodbye at the end: DISCONNECT (2 bytes) is the last thing sent (the
    # broker may close the link before the firmware does).
    sends = [c for c in emulator.commands if c.startswith(b"AT+CIPSEND=")]
    assert sends[-1].endswith(b",2")


def test_topic_and_client_id_from_the_config(micropython, tmp_path, emulator, broker, watch):
    mqtt = {"host": "127.0.0.1", "port": broker.port, "topic": "home/shed/temp", "client_id": "shed-7"}
    rc, out = run(micropython, tmp_path, config_for(emulator, readings=1, mqtt=mqtt), umqtt=True)
    assert rc == 0
    assert watch.wait_for(1)
    assert watch.messages[0][0] == "home/shed/temp"


@pytest.mark.parametrize(
    "after, what, logged",
    [
        ("reading 1 sent", "ap_drop", "lost the network, joining again"),
        ("reading 2 sent", "reboot", "the module restarted by itself"),
    ],
)
def test_reconnects_to_the_broker_after_a_drop_or_a_module_restart(
    micropython, tmp_path, emulator, broker, watch, after, what, logged
):
    cfg = mqtt_config(emulator, broker.port, readings=4, interval_s=0.8)
    rc, out = run_interrupted(micropython, tmp_path, cfg, after, getattr(emulator, what), umqtt=True)
    assert logged in out
    assert "done: 4 of 4 readings sent" in out
    assert rc == 0
    assert "Traceback" not in out
    assert len(broker_links(emulator, broker.port)) == 2  # the link died with the network: a new one
    assert watch.wait_for(4)
    assert [json.loads(m[1])["seq"] for m in watch.messages] == [1, 2, 3, 4]


def test_a_refusing_broker_is_reported_and_the_readings_wait(micropython, tmp_path, emulator):
    refusing = RefusingBroker()
    try:
        rc, out = run(micropython, tmp_path, mqtt_config(emulator, refusing.port, readings=2), umqtt=True)
    finally:
        refusing.stop()
    assert "reading 1 failed: MQTTException: 5" in out  # 5: not authorised
    assert "reading 2 kept: " in out
    assert "done: 0 of 2 readings sent (2 had waited in the queue), 2 still queued" in out
    assert rc == 1
    assert "Traceback" not in out


def test_a_broker_that_never_answers_connect_does_not_hang_the_firmware(micropython, tmp_path, emulator):
    # TCP is accepted, CONNACK never comes: each try ends by net_timeout_s, the
    # readings wait in the queue, and the run ends (the subprocess would time out
    # otherwise). PyPI's umqtt.simple (1.3.4) sets no timeout in connect(): the
    # socket's own bound ends the wait; 1.5+'s settimeout(None) is the next test's.
    silent = SilentBroker()
    try:
        cfg = mqtt_config(emulator, silent.port, readings=2, net_timeout_s=1)
        rc, out = run(micropython, tmp_path, cfg, umqtt=True, timeout=60)
    finally:
        silent.close()
    assert out.count("reading 1 failed: OSError: [Errno 110] ETIMEDOUT") == 2
    assert "done: 0 of 2 readings sent (2 had waited in the queue), 2 still queued" in out
    assert rc == 1
    assert silent.accepted == 2


WAIT_FOR_EVER = """
import sys
sys.path[0:0] = ["lib", "host", %(mplib)r]
import wizfi360
from wizfi360 import socket as wsock
from wizfi360_host.hostuart import SocketUART
import senders

wifi = wizfi360.WizFi360(SocketUART("127.0.0.1", %(emu)d))
wifi.active(True)
wifi.connect(%(ssid)r, %(key)r)
senders.NetSockets(wsock, 1).install()  # as the firmware does, before the import
from umqtt.simple import MQTTClient

def times_out(what, call):
    try:
        call()
        print(what, "returned")
    except OSError as e:
        print(what, "ETIMEDOUT" if e.args[0] == 110 else e)

# umqtt.simple itself: check_msg() leaves its socket with setblocking(True),
# then wait_msg() reads from a broker with nothing to say.
client = MQTTClient("waiter", "127.0.0.1", %(broker)d)
client.connect()
print("check_msg", client.check_msg())
times_out("wait_msg", client.wait_msg)
client.sock.close()

# settimeout(None), as umqtt.simple 1.5+ connect() does, on a silent server.
s = wsock.getaddrinfo("127.0.0.1", %(silent)d)[0][-1]
sock = sys.modules["socket"].socket()
sock.settimeout(None)
sock.connect(s)
times_out("read", lambda: sock.read(4))
sock.close()
"""


def test_wait_for_ever_means_net_timeout_s(micropython, emulator, broker):
    silent = SilentBroker()
    code = WAIT_FOR_EVER % {
        "mplib": str(MPLIB),
        "emu": emulator.tcp_port,
        "ssid": SSID,
        "key": KEY,
        "broker": broker.port,
        "silent": silent.port,
    }
    try:
        proc = subprocess.run(
            [micropython, "-c", code], cwd=str(REPO), capture_output=True, text=True, timeout=60
        )
    finally:
        silent.close()
    assert proc.stdout.splitlines() == [
        "check_msg None",
        "wait_msg ETIMEDOUT",
        "read ETIMEDOUT",
    ], proc.stdout + proc.stderr


def test_without_umqtt_and_without_endpoint_it_says_what_to_install(micropython, tmp_path, emulator, broker):
    rc, out = run(micropython, tmp_path, mqtt_config(emulator, broker.port), umqtt=False)
    assert rc == 2
    assert "umqtt.simple is not installed" in out
    assert "mpremote mip install umqtt.simple" in out
    assert broker_links(emulator, broker.port) == []


def test_without_umqtt_it_falls_back_to_the_endpoint(micropython, tmp_path, emulator, broker):
    with HttpSink(port=0, quiet=True) as sink:
        cfg = mqtt_config(emulator, broker.port, readings=2, endpoint="http://sink.test:%d/" % sink.port)
        rc, out = run(micropython, tmp_path, cfg, umqtt=False)
        assert sink.wait_for(2)
    assert "umqtt.simple is not installed: posting to 'endpoint' instead of MQTT" in out
    assert rc == 0
    assert broker_links(emulator, broker.port) == []
