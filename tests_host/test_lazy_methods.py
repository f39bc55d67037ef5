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


def check_ordinary_methods(obj, cls, table):
    # Each name of table ({module: names}) on obj: a bound method of the
    # module's function, which is now an attribute of the class itself.
    for module, names in table.items():
        for name in names:
            method = getattr(obj, name)
            assert method.__self__ is obj
            assert method.__func__ is getattr(sys.modules["wizfi360." + module], name)
            assert getattr(cls, name) is method.__func__  # added to the class


def test_each_is_an_ordinary_method_once_asked_for(driver):
    check_ordinary_methods(driver, wizfi360.WizFi360, LAZY)
    assert driver.config("mac") and driver.scan() is not None


def test_other_names_are_attribute_errors(driver):
    with pytest.raises(AttributeError):
        driver.no_such_method  # noqa: B018
    assert getattr(driver, "_baud", 115200) == 115200
    assert not hasattr(driver, "connects")


def test_socket_methods_are_ordinary_methods_once_asked_for(driver):
    s = wsock.socket()
    try:
        check_ordinary_methods(s, wsock.socket, SOCKET_LAZY)
        with pytest.raises(AttributeError):
            s.no_such_method  # noqa: B018
        assert not hasattr(s, "recv_intoo")
    finally:
        s.close()
