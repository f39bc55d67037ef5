# wizfi360: MicroPython driver for the WIZnet WizFi360 Wi-Fi module (AT
# firmware over a UART). This module holds WizFi360, the module itself and its
# Wi-Fi station API, shaped like network.WLAN. Sockets are in wizfi360.socket.
#
# Layers, bottom up, one folder each (tests_host/package/test_layers.py checks that
# imports only go down):
#   wire/  the module's byte stream: parser.py (with its native fast path
#          _ipd_viper.py) cuts it into lines, events and +IPD payload, which
#          goes into a Ring per link (ring.py); bufcopy.py copies bytes
#          without allocating (_copy_viper.py, native). Writes nothing.
#   at/    the AT command layer: engine.py writes commands one at a time,
#          routes what the parser reports and owns the connections (conn.py)
#          and every deadline (clock.py); escape.py quotes what users pass in.
#   here   the APIs people use: this module (WizFi360) and socket, ssl, aio,
#          and the modules they load on first use. (The UART is passed in.)
# The folders have no __init__.py: an empty package module would cost heap.
#
# Heap: the less used methods (ifconfig, scan, config, disconnect, softap,
# ping, ntp, time, set_uart, version, stats) are declared here and forward
# to station_info, services and softap, loaded on the first call; bringing
# the module up (reset, sync, settings) is startup.py, loaded when a WizFi360
# is made, before a program has its buffers. What joining and sockets need
# stays here: loaded later, while a program runs, it would only cut up the
# heap between the program's buffers.

import sys

if sys.implementation.name == "micropython" and sys.implementation.version < (1, 20, 0):
    raise ImportError(
        "wizfi360 needs MicroPython 1.20 or newer (this is %d.%d.%d)" % sys.implementation.version[:3]
    )

import errno

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


from .at.engine import Engine
from .at.escape import is_ip, quote, text, to_bytes, unquote

# Private copies of wire/parser.py's constants: folded at compile time, so they cost
# no global and no interned name. The values are defined by wire/parser.py and
# must match (tests_host/package/test_const_copies.py checks).
_EV_OK = const(1)

_DNS_MS = const(15000)  # AT+CIPDOMAIN

# Private copies of at/engine.py's constants: folded at compile time, so they cost
# no global and no interned name. The values are defined by at/engine.py and
# must match (tests_host/package/test_const_copies.py checks).
_WIFI_DOWN = const(0)
_WIFI_UP = const(2)

__version__ = "0.1.0"

# For the type checker only: MicroPython folds the constant and compiles the
# blocks under it away (no global, no interned name); the checker reads them.
_TYPE_CHECKING = const(0)
if _TYPE_CHECKING:
    from .at.engine import Op

# status() values, as network.WLAN on the Pico W reports them.
STAT_IDLE = 0
STAT_CONNECTING = 1
STAT_GOT_IP = 3
STAT_CONNECT_FAIL = -1
STAT_NO_AP_FOUND = -2
STAT_WRONG_PASSWORD = -3

_current = None  # the most recently created WizFi360; wizfi360.socket uses it
host_socket = None  # the port's own socket module, once install() has replaced it


def current():
    if _current is None:
        raise OSError(errno.ENODEV, "no WizFi360 created yet")
    return _current


def install():
    # Make `import socket`, `import usocket`, `import ssl` and `import tls` give
    # wizfi360's modules, so that code written for MicroPython's own socket
    # module (umqtt, requests, asyncio streams) runs unchanged. Call it once,
    # before importing such code. Such code reads streams (read, readline),
    # so stream.py loads here too, early, rather than at the first read: a
    # module imported late may need a new block of MicroPython's name table
    # (7 KB at once on a 64-bit port once a program has 620 names), which a
    # heap cut up by then may not have.
    global host_socket
    from . import socket, ssl, stream  # noqa: F401  # stream: see above

    try:
        import socket as own  # the port's own module, if it has one (unix port)

        if own is not socket:
            host_socket = own  # hostuart still needs it for the emulator
    except ImportError:
        pass
    sys.modules["socket"] = socket
    sys.modules["usocket"] = socket
    sys.modules["ssl"] = ssl
    sys.modules["tls"] = ssl


def _ms(timeout_ms):
    # A caller's timeout: refused before anything is sent unless a positive int.
    if not isinstance(timeout_ms, int) or timeout_ms <= 0:
        raise ValueError("timeout_ms must be a positive int")
    return timeout_ms


class WizFi360:
    """A WizFi360 on a UART.

    uart needs any(), readinto(buf, nbytes) and write(buf): machine.UART on a
    board, wizfi360_host.hostuart stand-ins elsewhere. reset is an optional output
    pin (or any callable taking 0/1) wired to the module's RST; with it the
    module is reset in hardware first. rx_size is the UART read buffer,
    link_size the receive buffer of each open socket, in bytes; a full one
    holds the module back until it is read, unless the driver waits for
    something behind its data (a command's answer, another socket's data, a
    new client): then it grows, up to link_max, as long as all of them
    together hold at most rx_budget bytes beyond link_size (and the heap has
    room). Past that, a blocking call that waits behind it raises ENOBUFS.
    """

    def __init__(
        self,
        uart,
        *,
        reset=None,
        rx_size=1024,
        link_size=2048,
        link_max=8192,
        rx_budget=16384,
        timeout_ms=2000,
    ):
        global _current
        if rx_size < 64 or link_size < 64:
            raise ValueError("buffer sizes must be at least 64 bytes")
        if rx_budget < 0:
            raise ValueError("rx_budget must be >= 0")
        _ms(timeout_ms)
        self._at = Engine(uart, rx_size, link_size, link_max, rx_budget)
        self._at.reset_pin = reset  # also the way out of a hang mid-send (at/engine.py)
        self.timeout_ms = timeout_ms
        self._version: "str | None" = None
        self._status = STAT_IDLE
        self._sta = False
        self._ap = False
        self._softap = None
        self._setup_at = -1  # engine.reboots when the module was last set up (startup.py)
        self._senders = False  # +IPD headers name the sender (AT+CIPDINFO=1: udp.py)
        self._join: "Op | None" = None  # a join (connect()) not answered yet
        _current = self
        if reset is not None:
            self.reset()
        self._resume()

    # The less used methods, declared here, forward to modules loaded on
    # their first call (see the top of this file).
    if _TYPE_CHECKING:
        from typing import Literal, overload

        from .softap import SoftAP

        _softap: SoftAP | None
        _baud: int

        # What the checker needs to tell a query from a setting (no code).
        @overload
        def ifconfig(self, config: None = None, *, persist: bool = False) -> "tuple[str, str, str, str]": ...
        @overload
        def ifconfig(self, config: "str | tuple[str, str, str, str]", *, persist: bool = False) -> None: ...
        @overload
        def config(self, param: 'Literal["mac"]', *, persist: bool = False) -> bytes: ...
        @overload
        def config(self, param: 'Literal["hostname", "ssid", "essid"]', *, persist: bool = False) -> str: ...
        @overload
        def config(self, *, persist: bool = False, **kwargs) -> None: ...

    def ifconfig(self, config=None, *, persist=False):
        from .station_info import ifconfig

        return ifconfig(self, config, persist=persist)

    def scan(self, timeout_ms=15000):
        from .station_info import scan

        return scan(self, timeout_ms)

    def config(self, *args, persist=False, **kwargs):
        from .station_info import config

        return config(self, *args, persist=persist, **kwargs)

    def disconnect(self):
        from .station_info import disconnect

        return disconnect(self)

    def ping(self, host, timeout_ms=10000):
        from .services import ping

        return ping(self, host, timeout_ms)

    def ntp(self, enable=True, tz=0, servers=()):
        from .services import ntp

        return ntp(self, enable, tz, servers)

    def time(self, set_rtc=True):
        from .services import time

        return time(self, set_rtc)

    def set_uart(self, baudrate, flow=False):
        from .services import set_uart

        return set_uart(self, baudrate, flow)

    def version(self):
        from .services import version

        return version(self)

    def stats(self):
        from .services import stats

        return stats(self)

    def softap(self):
        from .softap import softap

        return softap(self)

    # -- start-up --------------------------------------------------------

    def reset(self, timeout_ms=5000):
        from .startup import reset

        reset(self, timeout_ms)

    def _mode(self, sta, ap):
        # AT+CWMODE_CUR (3.2.2.1): 1 station, 2 SoftAP, 3 both at once.
        m = (1 if sta else 0) | (2 if ap else 0)
        if m:
            self._ok(b"AT+CWMODE_CUR=%d" % m)
        self._sta = sta
        self._ap = ap

    def _resume(self):
        # Before a command: a module that rebooted unasked is set up again.
        if self._setup_at != self._at.reboots:
            from .startup import setup

            setup(self)

    def _cmd(self, cmd, timeout_ms=None, lines=False):
        timeout_ms = self.timeout_ms if timeout_ms is None else _ms(timeout_ms)
        self._resume()
        return self._at.command(cmd, timeout_ms, lines)

    def _ok(self, cmd, timeout_ms=None, lines=False):
        # Run a command that must answer OK; returns its output lines.
        result, out = self._cmd(cmd, timeout_ms, lines)
        if result != _EV_OK:
            raise OSError(errno.EIO, "%s failed" % cmd.decode())
        return out

    def _query(self, cmd, prefix, timeout_ms=None):
        # Output lines of cmd that start with prefix (b"+NAME:"), with the
        # prefix and any spaces after it removed. Firmware varies where the
        # manual's own examples do (module-notes, "Format variants"): a
        # space after "+", "=" for ":", spaces after the colon.
        n = len(prefix) - 1
        head = prefix[:n]
        found = []
        for ln in self._ok(cmd, timeout_ms, True) or ():  # never None with lines=True
            if ln[:2] == b"+ ":
                ln = b"+" + ln[2:]
            if ln[:n] == head and ln[n : n + 1] in b":=":
                found.append(ln[n + 1 :].lstrip())
        return found

    # -- module ----------------------------------------------------------

    def poll(self):
        # Process what the module sent (data, events). Blocking calls do this
        # on their own; call it in loops that otherwise only wait.
        return self._at.poll()

    # -- station, shaped like network.WLAN --------------------------------

    def active(self, is_active=None):
        if is_active is None:
            return self._sta
        if is_active:
            self._mode(True, self._ap)
        else:
            if self._sta:
                self._cmd(b"AT+CWQAP")
            self._mode(False, self._ap)
            self._at.wifi = _WIFI_DOWN
            self._status = STAT_IDLE
        return None

    def connect(self, ssid, key=None, *, bssid=None, timeout_ms=20000, persist=False, block=True):
        # Join an AP (AT+CWJAP_CUR, 3.2.2.15). Returns once an address is
        # assigned; raises OSError naming the reason otherwise. persist=True
        # uses AT+CWJAP_DEF (3.2.2.16): the module keeps the AP in flash and
        # joins it again after a reset when auto-connect is on. block=False
        # returns at once, as network.WLAN.connect() does: status() is
        # STAT_CONNECTING until the module answers, then tells the outcome.
        _ms(timeout_ms)
        head = b"AT+CWJAP_DEF=" if persist else b"AT+CWJAP_CUR="
        parts = [head, quote(ssid, "ssid", 32), b",", quote(b"" if key is None else key, "key", 64, 0)]
        if bssid is not None:
            from .station_info import mac_text

            parts.append(b",")
            parts.append(quote(mac_text(bssid), "bssid", 17))
        cmd = b"".join(parts)
        if not self._sta:
            self.active(True)
        self._resume()
        self._status = STAT_CONNECTING
        self._at.wifi = _WIFI_DOWN  # a module joining leaves the AP it was on
        self._join = self._at.submit(cmd, timeout_ms, lines=True)
        if block:
            self._joined(True)

    def _joined(self, block):
        # Take the join's answer into status() once it has come (block: wait
        # for it, and raise OSError naming the reason if it failed).
        op = self._join
        if op is None:
            return
        at = self._at
        try:
            if not at.done(op, block):
                return
        except OSError:
            pass  # timed out: as the module's own timeout below
        self._join = None
        result = op.result
        if result == _EV_OK:
            at.wifi = _WIFI_UP
            self._status = STAT_GOT_IP
            return
        from .station_info import join_failure  # only when a join fails

        err, reason, self._status = join_failure(op)
        if block:
            raise OSError(err, reason)

    def isconnected(self):
        self._at.poll()  # take in WIFI DISCONNECT and friends first
        return self._at.wifi == _WIFI_UP

    def status(self, param=None):
        if param is None:
            self._at.poll()
            self._joined(False)
            if self._at.wifi == _WIFI_UP:
                return STAT_GOT_IP
            if self._status == STAT_GOT_IP:
                self._status = STAT_IDLE  # the AP went away
            return self._status
        from .station_info import status

        return status(self, param)

    # -- names -----------------------------------------------------------

    def resolve(self, host):
        # host name -> dotted-quad string (AT+CIPDOMAIN, 3.2.4.3). IP
        # literals are returned without asking the module.
        ip, op = self._lookup(host)
        if op is None:
            return ip
        try:
            self._at.run(op)
        except OSError:
            pass  # timed out: not found
        return self._found(host, op)

    def _lookup(self, host):
        # (ip, None) for an IP literal, else (None, the AT+CIPDOMAIN op).
        if not isinstance(host, str):
            host = to_bytes(host, "host").decode()
        if is_ip(host):
            return host, None
        cmd = b"AT+CIPDOMAIN=" + quote(host, "host", 63)
        self._resume()
        return None, self._at.submit(cmd, _DNS_MS, lines=True)

    def _found(self, host, op):
        # The address in the answer of _lookup()'s op, once final.
        if op.result == _EV_OK:
            for ln in op.out or ():  # never None with lines=True
                if ln.startswith(b"+CIPDOMAIN:"):
                    ip = text(unquote(ln, 11, len(ln))).strip()  # quoted or not (module-notes)
                    if is_ip(ip):
                        return ip
        raise OSError(-2, "host not found: %s" % host)  # like getaddrinfo on MicroPython

    # -- asyncio, loaded on first use (aio.py) --------------------------------

    def aconnect(self, ssid, key=None, **kwargs):
        # await wifi.aconnect(ssid, key): connect() without blocking the loop.
        from .aio import connect

        return connect(self, ssid, key, **kwargs)

    def aresolve(self, host):
        # await wifi.aresolve(host): resolve() without blocking the loop.
        from .aio import resolve

        return resolve(self, host)
