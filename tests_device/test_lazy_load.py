# heapsize: 160K
# The less used methods of WizFi360 and of sockets live in modules loaded the
# first time one is asked for (their classes' __getattr__), on MicroPython as
# on CPython: importing the package loads none of them; once loaded, each is
# an ordinary method of the class. Runs in its own interpreter, so nothing
# was loaded before.
import errno
import select
import sys

import board
import harness
from harness import eq, raises, true
from wizfi360 import socket

SOCKET_LAZY = {
    "stream": ("readinto", "read", "readline", "write", "makefile"),
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
_MP_STREAM_GET_FILENO = 10  # py/stream.h


def _fd_request(s):
    # What select.poll.register() asks first, with the heap locked where the
    # port can lock it: any allocation raises MemoryError.
    ioctl = socket.socket.ioctl  # a plain function: no bound method to allocate
    try:
        from micropython import heap_lock, heap_unlock
    except ImportError:  # CPython
        return ioctl(s, _MP_STREAM_GET_FILENO, 0)
    heap_lock()
    try:
        return ioctl(s, _MP_STREAM_GET_FILENO, 0)
    finally:
        heap_unlock()


def test_import_loads_none_of_them():
    # late_prompt: loaded when a send times out before the module's ">"
    for module in list(SOCKET_LAZY) + list(WIFI_LAZY) + ["late_prompt"]:
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


def test_poll_registers_a_socket_without_loading_or_allocating():
    # select.poll.register() asks for a file descriptor, and a MemoryError
    # there (from loading stream.py, say) would leave a poll entry that
    # crashes the next poll(). The socket answers it with nothing loaded and
    # nothing allocated; the first poll loads stream.py's ioctl.
    board.wifi()
    s = socket.socket()
    try:
        loaded = "wizfi360.stream" in sys.modules
        eq(_fd_request(s), -errno.EINVAL)
        p = select.poll()
        p.register(s, select.POLLIN)
        eq("wizfi360.stream" in sys.modules, loaded)
        eq(p.poll(0), [])  # not connected: nothing to read yet
        true("wizfi360.stream" in sys.modules)
        true(socket.socket.ioctl is sys.modules["wizfi360.stream"].ioctl)
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
