# Where the device tests get their WizFi360 and test settings from.
#
# Off-board (MicroPython unix port or CPython): the UART is a TCP connection to
# the emulator started by tools/run_device_tests.py, and the settings come from
# the environment variables that runner sets:
#   WIZFI_EMU_PORT, WIZFI_ECHO_PORT, WIZFI_REFUSED_PORT, WIZFI_SSID, WIZFI_KEY
# and WIZFI_EMU_CONTROL, the emulator's control channel, which emucontrol.py
# speaks: emucontrol.emu("busy 3") switches a fault on
# (tools/wizfi360_emu/control.py lists the commands). A file that needs it
# runs only where has_emulator(), and calls skip_file() elsewhere.
#
# On a real board (sys.platform == "rp2"): UART1 on GP4/GP5, module reset on
# GP20, and the settings come from board_config.py (gitignored, copied to the
# board by `tools/run_device_tests.py --board PORT`).  Its fields:
#
#   SSID = "my-ap"               # access point the module joins
#   KEY = "secret"               # its passphrase
#   ECHO_HOST = "192.168.1.10"   # a host on that network running a TCP echo
#   ECHO_PORT = 7777             #   server (echoes everything, closes on close)
#   REFUSED_PORT = 7778          # a port on ECHO_HOST where nothing listens
#   UDP_ECHO_PORT = 7779         # a UDP echo on ECHO_HOST
#   TLS_HOST = "echo.lan"        # a TLS echo server (any certificate will do)
#   TLS_PORT = 7780
#   HTTP_URL = "http://echo.lan:8080"    # an HTTP server: GET /x answers
#   HTTPS_URL = "https://echo.lan:8443"  #   "you asked for /x\n" + bytes 0-255 x 8,
#                                        #   POST echoes the body (tools/testservers.py)
#
# Nothing from wizfi360 is imported at module level.

import sys

ON_BOARD = sys.platform == "rp2"
EMU_HOST = "127.0.0.1"


def _env(name, default=None):
    import os

    getenv = getattr(os, "getenv", None)
    value = getenv(name) if getenv else None
    return default if value is None else value


def settings():
    """dict with ssid, key, echo_host, echo_port, refused_port, udp_echo_port,
    tls_host, tls_port, http_url, https_url."""
    if ON_BOARD:
        import board_config as c

        return {
            "ssid": c.SSID,
            "key": c.KEY,
            "echo_host": c.ECHO_HOST,
            "echo_port": int(c.ECHO_PORT),
            "refused_port": int(c.REFUSED_PORT),
            "udp_echo_port": int(c.UDP_ECHO_PORT),
            "tls_host": c.TLS_HOST,
            "tls_port": int(c.TLS_PORT),
            "http_url": c.HTTP_URL,
            "https_url": c.HTTPS_URL,
        }
    return {
        "ssid": _env("WIZFI_SSID", "WizFiTest"),
        "key": _env("WIZFI_KEY", "wizfi360pass"),
        "echo_host": EMU_HOST,
        "echo_port": int(_env("WIZFI_ECHO_PORT", "0")),
        "refused_port": int(_env("WIZFI_REFUSED_PORT", "0")),
        "udp_echo_port": int(_env("WIZFI_UDP_ECHO_PORT", "0")),
        "tls_host": "tls.test",
        "tls_port": int(_env("WIZFI_TLS_PORT", "0")),
        "http_url": "http://echo.test:%s" % _env("WIZFI_HTTP_PORT", "0"),
        "https_url": "https://tls.test:%s" % _env("WIZFI_HTTPS_PORT", "0"),
    }


def make_uart():
    """The UART the module is on (a SocketUART to the emulator off-board)."""
    if ON_BOARD:
        from machine import UART, Pin

        return UART(1, 115200, tx=Pin(4), rx=Pin(5), rxbuf=4096)
    from wizfi360_host.hostuart import SocketUART

    port = _env("WIZFI_EMU_PORT")
    if not port:
        raise OSError("WIZFI_EMU_PORT is not set: run through tools/run_device_tests.py")
    return SocketUART(EMU_HOST, int(port))


def make_reset():
    if ON_BOARD:
        from machine import Pin

        return Pin(20, Pin.OUT, value=1)  # active low: 1 = running
    return None


def make_wifi(connect=False):
    """A wizfi360.WizFi360 on the right UART; joined to settings()' AP if connect."""
    import wizfi360

    wifi = wizfi360.WizFi360(make_uart(), reset=make_reset())
    if connect:
        s = settings()
        wifi.active(True)
        wifi.connect(s["ssid"], s["key"])
    return wifi


_fresh_uart = None


def fresh_wifi(uart=None, **driver_kw):
    """A new wizfi360.WizFi360 (driver_kw: its keyword arguments) on `uart`, or on a
    new make_uart(), joined to settings()' AP. The UART the previous call made or
    was given is closed first: off-board, each new one takes over the emulator's."""
    global _fresh_uart
    import wizfi360

    if _fresh_uart is not None:
        _fresh_uart.close()
    _fresh_uart = make_uart() if uart is None else uart
    w = wizfi360.WizFi360(_fresh_uart, **driver_kw)
    w.active(True)
    s = settings()
    w.connect(s["ssid"], s["key"])
    return w


_shared = None


def wifi():
    """One driver for the whole test file, made and joined on first use: a board
    has one module, and a new driver per test would only fragment the heap."""
    global _shared
    if _shared is None:
        _shared = make_wifi(connect=True)
    return _shared


def listen_somewhere(sock, backlog=2, idle_s=None):
    """Bind sock and listen() on a port in the dynamic range; returns the port. The
    emulator's server listens on this machine, so a taken port is skipped."""
    import errno
    import time

    for k in range(10):
        port = 40000 + (time.ticks_ms() * 7 + k * 977) % 20000
        sock.bind(("0.0.0.0", port))
        try:
            sock.listen(backlog, idle_s)
            return port
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
    raise OSError(errno.EADDRINUSE, "no free port for the server")


# --- the emulator's control channel (off-board only) ------------------------------


def has_emulator():
    """True when the emulator's control channel is there (never on a board)."""
    return not ON_BOARD and bool(_env("WIZFI_EMU_CONTROL"))


def skip_file(why):
    """Report the whole test file as skipped (the runner shows why) instead of
    running it. The only use: tests that need the emulator, on a board."""
    print("SKIP FILE: " + why)
    print("RESULT 0 0")
