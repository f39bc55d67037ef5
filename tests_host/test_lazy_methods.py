"""The less used methods of WizFi360 and of sockets live in modules loaded on first use
(WizFi360.__getattr__, socket.__getattr__)."""

import subprocess
import sys

import pytest

import wizfi360
from wizfi360 import socket as wsock

LAZY = {
    "station_info": ("ifconfig", "scan", "config", "disconnect"),
    "services": ("ping", "ntp", "time", "set_uart", "version", "stats"),
    "softap": ("softap",),
}
SOCKET_LAZY = {
    "stream": ("readinto", "read", "readline", "write", "makefile", "ioctl"),
    "server": ("listen", "accept"),
    "udp": ("sendto", "recvfrom"),
    "sockopt": ("bind", "setsockopt"),
}


def test_import_loads_none_of_them(repo_root):
    code = (
        "import sys, wizfi360\n"
        "from wizfi360 import socket\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('wizfi360.'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root / "lib", capture_output=True, text=True, check=True
    ).stdout.split()
    for module in list(LAZY) + list(SOCKET_LAZY):
        assert "wizfi360." + module not in out


def test_each_is_an_ordinary_method_once_asked_for(driver):
    for module, names in LAZY.items():
        for name in names:
            method = getattr(driver, name)
            assert method.__self__ is driver
            assert method.__func__ is getattr(sys.modules["wizfi360." + module], name)
            assert getattr(wizfi360.WizFi360, name) is method.__func__  # added to the class
    assert driver.config("mac") and driver.scan() is not None


def test_other_names_are_attribute_errors(driver):
    with pytest.raises(AttributeError):
        driver.no_such_method  # noqa: B018
    assert getattr(driver, "_baud", 115200) == 115200
    assert not hasattr(driver, "connects")


def test_socket_methods_are_ordinary_methods_once_asked_for(driver):
    s = wsock.socket()
    try:
        for module, names in SOCKET_LAZY.items():
            for name in names:
                method = getattr(s, name)
                assert method.__self__ is s
                assert method.__func__ is getattr(sys.modules["wizfi360." + module], name)
                assert getattr(wsock.socket, name) is method.__func__  # added to the class
        with pytest.raises(AttributeError):
            s.no_such_method  # noqa: B018
        assert not hasattr(s, "recv_intoo")
    finally:
        s.close()
