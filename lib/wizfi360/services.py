# Module services, WizFi360 methods loaded on first use: ping (manual
# 3.2.4.4), SNTP and the module's clock (3.2.4.5, 3.2.4.6), the UART rate
# (3.2.1.5), the firmware version (3.2.1.4) and the driver's counters.
# WizFi360's methods of the same names forward to these.

import errno

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


from .at.clock import sleep_ms
from .at.escape import number, quote, text

# The type checker takes this name as true whatever its value: the import
# below is for annotations only (no import of the package back at run time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import WizFi360


# Private copies of wire/parser.py's constants: folded at compile time, so they cost
# no global and no interned name. The values are defined by wire/parser.py and
# must match (tests_host/package/test_const_copies.py checks).
_EV_OK = const(1)

_MONTHS = (b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec")
_DAYS = (b"Mon", b"Tue", b"Wed", b"Thu", b"Fri", b"Sat", b"Sun")
_BAUDS = (
    600,
    1200,
    1800,
    2400,
    4800,
    9600,
    14400,
    19200,
    38400,
    57600,
    115200,
    230400,
    460800,
    921600,
    1000000,
    1500000,
    2000000,
)


def version(self: "WizFi360"):
    # The AT firmware version line, e.g. "AT version:1.1.1.7(May  4 2021 15:14:59)".
    if self._version is None:
        out = self._ok(b"AT+GMR", None, True)
        self._version = text(out[0]) if out else ""
    return self._version


def stats(self: "WizFi360"):
    # Counters: malformed frames, payload bytes for closed links, frames that
    # lost bytes on the UART (wire/parser.py), reboots.
    at = self._at
    p = at.parser
    return {
        "bad_frames": p.bad_frames,
        "discarded": p.discarded,
        "damaged": p.damaged,
        "reboots": at.reboots,
    }


def ping(self: "WizFi360", host, timeout_ms=10000):
    # Round trip to host in milliseconds (AT+PING, 3.2.4.4): +<ms> then OK,
    # or ERROR when the host does not answer.
    result, out = self._cmd(b"AT+PING=" + quote(host, "host", 63), timeout_ms, True)
    if result == _EV_OK:
        for ln in out or ():  # never None with lines=True
            if ln[:1] == b"+":
                return int(ln[1:])
    raise OSError(errno.EHOSTUNREACH, "no reply from %s" % host)


def ntp(self: "WizFi360", enable=True, tz=0, servers=()):
    # SNTP on the module (AT+CIPSNTPCFG, 3.2.4.5): time zone in hours.
    if not (isinstance(tz, int) and -11 <= tz <= 13):
        raise ValueError("tz must be an int -11 to 13")
    if len(servers) > 3:
        raise ValueError("at most 3 servers")
    if not enable:
        self._ok(b"AT+CIPSNTPCFG=0")
        return
    parts = [b"AT+CIPSNTPCFG=1,%d" % tz]
    for s in servers:
        parts.append(quote(s, "server", 63))
    self._ok(b",".join(parts))


def time(self: "WizFi360", set_rtc=True):
    # The module's clock (AT+CIPSNTPTIME?, 3.2.4.6) as (year, month, day,
    # hour, minute, second, weekday 0=Monday, yearday); sets machine.RTC
    # too where there is one. "+CIPSNTPTIME:Thu Jan 01 00:00:00 1970".
    out = self._query(b"AT+CIPSNTPTIME?", b"+CIPSNTPTIME:")
    if not out:
        raise OSError(errno.EIO, "no time from the module")
    f = out[0].split()
    try:
        month = _MONTHS.index(f[1]) + 1
        day = int(f[2])
        hh, mm, ss = (int(x) for x in f[3].split(b":"))
        year = int(f[4])
        wday = _DAYS.index(f[0])
    except (ValueError, IndexError):
        raise OSError(errno.EIO, "bad time from the module")
    yday = day + sum(_month_days(year, m) for m in range(1, month))
    t = (year, month, day, hh, mm, ss, wday, yday)
    if set_rtc and year > 1970:
        try:
            import machine

            machine.RTC().datetime((year, month, day, wday, hh, mm, ss, 0))
        except (ImportError, AttributeError, OSError):
            pass  # no RTC on this port
    return t


def _month_days(year, month):
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def set_uart(self: "WizFi360", baudrate, flow=False):
    # AT+UART_CUR (3.2.1.5) and the host UART's init() in step. The module
    # answers OK at the old rate, then switches; the host UART follows
    # (uart.init, where it has one). If the module does not answer at the
    # new rate, the host goes back to the old one and says so.
    #
    # flow: False (none), True (RTS and CTS both ways), or the number to
    # send (0-3). Which number means RTS/CTS is in doubt (module-notes,
    # "Flow control value"): the manual says 1; ESP AT, which WizFi360's
    # firmware follows, and the Mbed WizFi360 driver, written against real
    # modules, use 3 for both (1 is RTS only: the module would not stop when
    # the host asks). True sends 3, and 1 only if the module refuses 3. The
    # setting is read back (AT+UART_CUR?) so that the driver never runs
    # without the backpressure it asked for; returns the number the module
    # reports.
    if baudrate not in _BAUDS:
        raise ValueError("baud rate must be one of %s" % (_BAUDS,))
    if flow is True:
        values = (3, 1)
    elif flow is False or flow in (0, 1, 2, 3):
        values = (int(flow),)
    else:
        raise ValueError("flow must be True, False or 0-3")
    uart = self._at.uart
    old = getattr(self, "_baud", 115200)
    for value in values:
        if self._cmd(b"AT+UART_CUR=%d,8,1,0,%d" % (baudrate, value))[0] == _EV_OK:
            break
    else:
        raise OSError(errno.EIO, "the module refused flow control %d" % values[-1])
    init = getattr(uart, "init", None)
    if init is not None:
        sleep_ms(20)  # let the OK leave at the old rate before switching
        init(baudrate=baudrate, flow=_flow(uart, value))
    try:
        from .startup import sync

        sync(self, 1000)
    except OSError:
        if init is not None:
            init(baudrate=old, flow=0)
        raise OSError(errno.EIO, "module not answering at %d baud; host UART back at %d" % (baudrate, old))
    self._baud = baudrate
    got = self._query(b"AT+UART_CUR?", b"+UART_CUR:")
    f = got[0].split(b",") if got else ()
    if len(f) < 5 or number(f[4]) != value:
        raise OSError(errno.EIO, "the module does not report flow control %d" % value)
    return value


def _flow(uart, value):
    # The host UART's flow control (UART.RTS | UART.CTS where the class has
    # them: rp2, esp32) for the module's: none for 0; RTS only for 2 (the
    # module obeys its CTS, which the host's RTS drives, and drives no RTS of
    # its own); both for 1 and 3.
    if not value:
        return 0
    rts = getattr(uart, "RTS", 0)
    return rts if value == 2 else rts | getattr(uart, "CTS", 0)
