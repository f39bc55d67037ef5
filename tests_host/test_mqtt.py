"""The firmware's MQTT path, on the MicroPython unix port against the emulator.

umqtt.simple cannot be installed here (see tests_host/umqtt_shim/README.md):
these tests use the stand-in in tests_host/umqtt_shim, which makes the same
socket calls, and the minimal broker in tests_host/mqtt_broker.py. The broker
name "broker.test" resolves only through the emulator, so a publish that
reached the broker went through the WizFi360 driver, not the host's sockets.
"""

import json

import pytest

import fwrun
from fwrun import config_for, run, run_interrupted
from httpsink import HttpSink
from mqtt_broker import MqttBroker

micropython = fwrun.micropython  # fixtures shared with the other firmware tests
emulator = fwrun.emulator


@pytest.fixture
def broker():
    b = MqttBroker().start()
    yield b
    b.stop()


def mqtt_config(emu, broker, **extra):
    return config_for(emu, mqtt={"host": "broker.test", "port": broker.port}, **extra)


def test_readings_are_published_through_the_module(micropython, tmp_path, emulator, broker):
    rc, out = run(micropython, tmp_path, mqtt_config(emulator, broker), umqtt=True)
    assert rc == 0
    assert "sending to mqtt://broker.test:%d/sensors/pico-1" % broker.port in out
    assert "connected to the MQTT broker broker.test:%d" % broker.port in out
    assert "done: 3 of 3 readings sent" in out
    assert broker.wait_for(3, timeout=5)
    assert broker.connects == ["pico-1"]  # one connection for all readings
    assert broker.disconnects == 1  # said goodbye at the end
    seqs = []
    for client_id, topic, payload in broker.messages:
        assert (client_id, topic) == ("pico-1", "sensors/pico-1")
        reading = json.loads(payload)
        assert set(reading) == {"device", "seq", "temp_c", "uptime_ms"}
        seqs.append(reading["seq"])
    assert seqs == [1, 2, 3]
    # The connection went out through the module (AT+CIPSTART to the broker).
    starts = [c for c in emulator.commands if b"CIPSTART" in c]
    assert any(b",%d" % broker.port in c for c in starts)


def test_topic_and_client_id_from_the_config(micropython, tmp_path, emulator, broker):
    cfg = config_for(
        emulator,
        readings=1,
        mqtt={"host": "127.0.0.1", "port": broker.port, "topic": "home/shed/temp", "client_id": "shed-7"},
    )
    rc, out = run(micropython, tmp_path, cfg, umqtt=True)
    assert rc == 0
    assert broker.wait_for(1)
    assert broker.messages[0][:2] == ("shed-7", "home/shed/temp")


@pytest.mark.parametrize(
    "after, what, logged",
    [
        ("reading 1 sent", "ap_drop", "lost the network, joining again"),
        ("reading 2 sent", "reboot", "the module restarted by itself"),
    ],
)
def test_reconnects_to_the_broker_after_a_drop_or_a_module_restart(
    micropython, tmp_path, emulator, broker, after, what, logged
):
    cfg = mqtt_config(emulator, broker, readings=4, interval_s=0.8)
    rc, out = run_interrupted(micropython, tmp_path, cfg, after, getattr(emulator, what), umqtt=True)
    assert logged in out
    assert "done: 4 of 4 readings sent" in out
    assert rc == 0
    assert "Traceback" not in out
    assert broker.connects == ["pico-1", "pico-1"]  # the link died with the network: a new one
    assert [json.loads(m[2])["seq"] for m in broker.messages] == [1, 2, 3, 4]


def test_a_refusing_broker_is_reported_and_the_loop_goes_on(micropython, tmp_path, emulator):
    with MqttBroker(refuse_code=5) as refusing:  # 5: not authorised
        rc, out = run(micropython, tmp_path, mqtt_config(emulator, refusing, readings=2), umqtt=True)
    assert "reading 1 failed: MQTTException: 5" in out
    assert "reading 2 kept: " in out
    assert "done: 0 of 2 readings sent (2 had waited in the queue), 2 still queued" in out
    assert rc == 1
    assert "Traceback" not in out


def test_without_umqtt_and_without_endpoint_it_says_what_to_install(micropython, tmp_path, emulator, broker):
    rc, out = run(micropython, tmp_path, mqtt_config(emulator, broker), umqtt=False)
    assert rc == 2
    assert "umqtt.simple is not installed" in out
    assert "mpremote mip install umqtt.simple" in out
    assert broker.connects == []


def test_without_umqtt_it_falls_back_to_the_endpoint(micropython, tmp_path, emulator, broker):
    with HttpSink(port=0, quiet=True) as sink:
        cfg = mqtt_config(emulator, broker, readings=2, endpoint="http://sink.test:%d/" % sink.port)
        rc, out = run(micropython, tmp_path, cfg, umqtt=False)
        assert sink.wait_for(2)
    assert "umqtt.simple is not installed: posting to 'endpoint' instead of MQTT" in out
    assert rc == 0
    assert broker.connects == []
