"""Shared pytest setup: lib/ (the wizfi360 package), host/ (wizfi360_host: the host-side
modules) and tools/ are importable, and so are the test modules of every folder here,
whose helpers other folders' tests use (test_emulator's Client, test_ring's Ring).

The folders mirror the package's layers, then what stands around it:
    wire/      the byte stream: parser, its fast path, rings
    at/        the AT command layer: engine, ring growth, escaping
    api/       the public APIs (wizfi360, wizfi360.socket, ...) end to end on CPython
    package/   the package as a whole: layers, constants, version, package.json, mip
    emulator/  the WizFi360 emulator (tools/wizfi360_emu)
    firmware/  the reference firmware (main.py and its modules) on the unix port
    tools/     deploy, make targets, the benchmark scripts
The MicroPython tests are in tests_device/."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

HERE = ROOT / "tests_host"
TEST_FOLDERS = ("wire", "at", "api", "package", "emulator", "firmware", "tools")

for _p in [ROOT / "lib", ROOT / "host", ROOT / "tools"] + [HERE / f for f in TEST_FOLDERS]:
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))


@pytest.fixture(scope="session")
def repo_root():
    """The repository's root directory (a pathlib.Path)."""
    return ROOT


# The driver against a fresh emulator, for the tests of one feature each
# (test_driver.py sets up its own, with a pty and an AP with odd characters).
SSID, KEY = "WizFiTest", "wizfi360pass"


@pytest.fixture
def emu():
    """An emulator with one AP; peer.test and tls.test resolve to 127.0.0.1."""
    from wizfi360_emu import AccessPoint, Emulator

    dns = {"peer.test": "127.0.0.1", "tls.test": "127.0.0.1"}
    with Emulator(aps=[AccessPoint(SSID, KEY)], tcp_port=0, join_delay_s=0.01, dns_map=dns) as e:
        yield e


@pytest.fixture
def control_emulator():
    """An emulator with one AP and a control channel (tools/wizfi360_emu/control.py);
    peer.test resolves to 127.0.0.1. The emulator tests that steer it name it as their
    `emu` fixture."""
    from wizfi360_emu import AccessPoint, Emulator

    dns = {"peer.test": "127.0.0.1"}
    e = Emulator(aps=[AccessPoint(SSID, KEY)], join_delay_s=0.01, control_port=0, dns_map=dns)
    e.start()
    yield e
    e.stop()


@pytest.fixture
def ctl(emu):
    """The control channel of the test's emulator (a `control_emulator`)."""
    from test_emulator_faults import Control

    c = Control(emu.control_port)
    yield c
    c.close()


@pytest.fixture
def driver(emu):
    """A WizFi360 on the emulator's UART port, not joined."""
    import wizfi360
    from wizfi360_host.hostuart import SocketUART

    w = wizfi360.WizFi360(SocketUART("127.0.0.1", emu.tcp_port))
    yield w
    w._at.uart.close()


@pytest.fixture
def wifi(driver):
    """The same, joined to the AP."""
    driver.connect(SSID, KEY)
    return driver


# A TCP server on 127.0.0.1 for the emulator's links to talk to (the raw-AT
# tests of the emulator: test_emulator*.py).


@pytest.fixture
def peer():
    from test_emulator import Peer

    p = Peer()
    yield p
    p.close()


@pytest.fixture
def echo_peer():
    """A peer that echoes what it gets."""
    from test_emulator import Peer

    p = Peer(echo=True)
    yield p
    p.close()


@pytest.fixture
def c(emu):
    """A raw UART client of the file's emulator (its `emu` fixture) with echo off,
    CIPMUX=1, CIPDINFO=1, joined (test_emulator_net.py, test_emulator_faults.py)."""
    from test_emulator import Client, join

    client = Client(emu.tcp_port)
    join(client)
    yield client
    client.close()
