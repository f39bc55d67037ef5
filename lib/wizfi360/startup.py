# Bringing the module up: a hardware reset, waiting for it to answer, and
# the settings the driver relies on. WizFi360 runs setup() when it is created
# and again before its next command after the module restarted; reset() is
# WizFi360.reset(). Loaded on the first of those: the code is needed once per
# start, not on every command.

import errno

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


from .at.clock import ticks_add, ticks_ms

# Private copies of wire/parser.py's and at/engine.py's constants (see
# tests_host/package/test_const_copies.py).
_EV_OK = const(1)
_WIFI_UP = const(2)
_STAT_GOT_IP = const(3)  # wizfi360.STAT_GOT_IP

_TYPE_CHECKING = const(0)
if _TYPE_CHECKING:
    from . import WizFi360


def reset(w: "WizFi360", timeout_ms):
    # Hardware reset: RST low for ~0.1 s (module-notes "The board"), then
    # wait for the module's "ready". It is set up again before its next
    # command.
    at = w._at
    if at.reset_pin is None:
        raise ValueError("no reset pin given")
    seen = at.reboots
    until = ticks_add(ticks_ms(), timeout_ms)
    at.pulse_reset()
    while at.reboots == seen:
        if not at.idle(until):
            raise OSError(errno.ETIMEDOUT, "module did not report ready after reset")


def sync(w: "WizFi360", timeout_ms=3000):
    # Send AT until the module answers OK (it may still be booting, or be
    # printing boot noise; manual 3.2.1.1).
    until = ticks_add(ticks_ms(), timeout_ms)
    at = w._at
    while True:
        try:
            if at.command(b"AT", 300)[0] == _EV_OK:
                return
        except OSError:
            at.forget_timeout()
        if not at.idle(until):
            raise OSError(errno.ETIMEDOUT, "no answer from the module")


def setup(w: "WizFi360"):
    # Echo off (3.2.1.2), multi-link mode (3.2.3.3), +IPD without the remote
    # address (3.2.3.14; the factory default sends it): a TCP frame's sender
    # is its link's peer, and the 18 bytes or so of "<ip>,<port>" in every
    # header cost line time and parsing. A UDP socket, whose datagrams need
    # their sender, turns it on (udp.py).
    at = w._at
    w._setup_at = at.reboots
    sync(w)
    w._ok(b"ATE0")
    mux = b"AT+CIPMUX=1"
    if at.command(mux)[0] != _EV_OK:
        at.command(b"AT+CIPCLOSE=5")  # links left open by an earlier run
        w._ok(mux)
    w._ok(b"AT+CIPDINFO=0")
    w._senders = False
    # Joined already (auto-connect, or a host restart)? (3.2.3.7)
    # STATUS:2 got an address, 3 links open, 4 links closed.
    st = w._query(b"AT+CIPSTATUS", b"STATUS:")
    if st and st[0].strip() in (b"2", b"3", b"4"):
        at.wifi = _WIFI_UP
        w._status = _STAT_GOT_IP
    w._mode(w._sta, w._ap)
