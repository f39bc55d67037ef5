# heapsize: 160K
# The less used methods of WizFi360 and of sockets live in modules loaded the
# first time one is asked for (their classes' __getattr__), on MicroPython as
# on CPython: importing the package loads none of them; once loaded, each is
# an ordinary method of the class. Runs in its own interpreter, so nothing
# was loaded before.
import sys

import board
import harness
from harness import eq, raises, true
from wizfi360 import socket

SOCKET_LAZY = {
    "stream": ("readinto", "read", "readline", "write", "makefile", "ioctl"),
    "server": ("listen", "accept"),
    "udp": ("sendto", "recvfrom"),
    "sockopt": ("bind", "setsockopt"),
}
WIFI_LAZY = {
    "station_info": ("ifconfig", "scan", "config", "disconnect"),
    "services": ("ping", "ntp", "time", "set_uart", "version", "stats"),
    "softap": ("softap",),
}
LOADED_AT_IMPORT = [m for m in sys.modules if m.startswith("wizfi360.")]


def test_import_loads_none_of_them():
    for module in list(SOCKET_LAZY) + list(WIFI_LAZY):
        true("wizfi360." + module not in LOADED_AT_IMPORT, module)


def test_socket_methods_load_on_first_use():
    board.wifi()
    s = socket.socket()
    try:
        for module, names in SOCKET_LAZY.items():
            for name in names:
                method = getattr(s, name)
                true("wizfi360." + module in sys.modules, module)
                true(getattr(socket.socket, name) is getattr(sys.modules["wizfi360." + module], name), name)
                true(callable(method), name)
        eq(s.makefile("rb"), s)
        raises(AttributeError, getattr, s, "no_such_method")
        true(not hasattr(s, "recv_intoo"))
    finally:
        s.close()


def test_wifi_methods_load_on_first_use():
    w = board.wifi()
    for module, names in WIFI_LAZY.items():
        for name in names:
            getattr(w, name)
            true("wizfi360." + module in sys.modules, module)
    true(w.version().startswith("AT version"), w.version())
    eq(sorted(w.stats()), ["bad_frames", "damaged", "discarded", "reboots"])
    raises(AttributeError, getattr, w, "no_such_method")


harness.main(globals())
