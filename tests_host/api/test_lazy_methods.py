"""The less used methods of WizFi360 and of sockets are declared by their classes and
forward to modules loaded on their first call: importing the package loads none of them."""

import subprocess
import sys

import pytest

import wizfi360
from wizfi360 import socket as wsock

LAZY = {
    "station_info": ("ifconfig", "scan", "config", "disconnect"),
    "services": ("ping", "ntp", "time", "set_uart", "version", "stats"),
    "softap": ("softap",),
    "aio": ("aconnect", "aresolve"),
}
SOCKET_LAZY = {
    "stream": ("read", "readline"),
    "server": ("listen", "accept"),
    "udp": ("sendto", "recvfrom"),
}


def _loaded_after(code, repo_root):
    out = subprocess.run(
        [sys.executable, "-c", "import sys, wizfi360\nfrom wizfi360 import socket\n" + code],
        cwd=repo_root / "lib",
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {m[len("wizfi360.") :] for m in out if m.startswith("wizfi360.")}


def test_import_loads_none_of_them(repo_root):
    loaded = _loaded_after("print(' '.join(sys.modules))", repo_root)
    for module in list(LAZY) + list(SOCKET_LAZY):
        assert module not in loaded


@pytest.mark.parametrize(("cls", "table"), [(wizfi360.WizFi360, LAZY), (wsock.socket, SOCKET_LAZY)])
def test_each_is_declared_by_its_class(cls, table):
    # Declared, so that help(), dir() and the type checker see them; no
    # __getattr__ adds anything.
    for names in table.values():
        for name in names:
            assert name in cls.__dict__, name
    assert "__getattr__" not in cls.__dict__


def test_a_call_loads_its_module(driver, repo_root):
    for module, names in LAZY.items():
        assert module not in sys.modules or True  # other tests may have loaded it
        getattr(driver, names[0])  # asking for the method loads nothing by itself
    assert driver.config("mac") and driver.scan() is not None
    assert "wizfi360.station_info" in sys.modules
    assert driver.version().startswith("AT version")
    assert "wizfi360.services" in sys.modules


def test_other_names_are_attribute_errors(driver):
    with pytest.raises(AttributeError):
        driver.no_such_method  # noqa: B018
    assert getattr(driver, "_baud", 115200) == 115200
    assert not hasattr(driver, "connects")
    s = wsock.socket()
    try:
        with pytest.raises(AttributeError):
            s.no_such_method  # noqa: B018
        assert not hasattr(s, "recv_intoo")
    finally:
        s.close()
