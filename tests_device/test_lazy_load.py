# heapsize: 160K
# The less used methods of WizFi360 and of sockets are declared by their
# classes and forward to modules loaded on their first call, on MicroPython
# as on CPython: importing the package loads none of them, asking for the
# method loads nothing either, calling it does. Runs in its own interpreter,
# so nothing was loaded before.
import errno
import select
import sys

import board
import harness
from harness import eq, raises, true
from wizfi360 import socket

# A call of each that fails on a fresh, unconnected socket, after loading.
SOCKET_LAZY = {
    "stream": ("read", "readline"),
    "server": ("listen", "accept"),
    "udp": ("recvfrom",),
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
    for module in list(SOCKET_LAZY) + list(WIFI_LAZY):
        true("wizfi360." + module not in LOADED_AT_IMPORT, module)


def test_socket_methods_load_on_their_first_call():
    board.wifi()
    s = socket.socket()
    try:
        for module, names in SOCKET_LAZY.items():
            for name in names:
                method = getattr(s, name)
                true(callable(method), name)
                args = (1,) if name == "recvfrom" else ()
                raises(OSError, method, *args)  # not connected, not bound, not listening
                true("wizfi360." + module in sys.modules, module)
        eq(s.makefile("rb"), s)
        raises(AttributeError, getattr, s, "no_such_method")
        true(not hasattr(s, "recv_intoo"))
    finally:
        s.close()


def test_poll_registers_and_polls_a_socket_without_loading_or_allocating():
    # select.poll.register() asks for a file descriptor, and a MemoryError
    # there would leave a poll entry that crashes the next poll(). The
    # socket answers it, and every poll, with nothing loaded and nothing
    # allocated: ioctl() is the socket class's own.
    board.wifi()
    s = socket.socket()
    try:
        before = [m for m in sys.modules if m.startswith("wizfi360.")]
        eq(_fd_request(s), -errno.EINVAL)
        p = select.poll()
        p.register(s, select.POLLIN)
        eq(p.poll(0), [])  # not connected: nothing to read yet
        eq([m for m in sys.modules if m.startswith("wizfi360.")], before)
    finally:
        s.close()


def test_wifi_methods_load_on_their_first_call():
    w = board.wifi()
    for names in WIFI_LAZY.values():
        for name in names:
            true(callable(getattr(w, name)), name)
    true(w.ifconfig()[0] != "0.0.0.0")
    true("wizfi360.station_info" in sys.modules)
    true(w.version().startswith("AT version"), w.version())
    eq(sorted(w.stats()), ["bad_frames", "damaged", "discarded", "reboots"])
    true("wizfi360.services" in sys.modules)
    true(w.softap() is w.softap())
    true("wizfi360.softap" in sys.modules)
    raises(AttributeError, getattr, w, "no_such_method")


harness.main(globals())
