# The emulator's control channel (off-board only), for the tests that make
# module faults: emu("busy 3") switches a fault on, and the emu_* helpers read
# what the emulator saw (tools/wizfi360_emu/control.py lists the commands).
# Kept out of board.py so that the files that do not need it do not load it.

import sys

from board import EMU_HOST, ON_BOARD, _env


def _host_socket():
    # The port's own socket module. Once wizfi360.install() has run,
    # sys.modules["socket"] is the driver's shim, and the port's module is
    # kept as wizfi360.host_socket.
    mod = sys.modules.get("wizfi360")
    own = getattr(mod, "host_socket", None) if mod is not None else None
    if own is not None:
        return own
    import socket

    if "wizfi360" in getattr(socket, "__name__", ""):
        raise OSError("the port's socket module is hidden by wizfi360.install()")
    return socket


class EmulatorError(Exception):
    """The emulator's control channel answered "error <why>"."""


def emu(cmd):
    """Send one command line to the emulator's control channel (e.g. "busy 3",
    "reboot fffe", "commands"); returns the reply's value ("" for a plain
    "ok"). Raises EmulatorError on an "error" reply, OSError without an emulator."""
    port = _env("WIZFI_EMU_CONTROL")
    if ON_BOARD or not port:
        raise OSError("no emulator control channel (WIZFI_EMU_CONTROL): off-board runs only")
    sock_mod = _host_socket()
    s = sock_mod.socket()
    try:
        s.settimeout(10)
        s.connect(sock_mod.getaddrinfo(EMU_HOST, int(port))[0][-1])
        try:
            s.sendall(cmd)  # MicroPython: a str is a buffer, a long line is not copied
        except TypeError:  # CPython
            s.sendall(cmd.encode())
        s.sendall(b"\n")
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = s.recv(256)
            if not chunk:
                raise OSError("control channel closed before replying to %r" % cmd)
            reply += chunk
    finally:
        s.close()
    text = reply.decode().strip()
    if text == "ok":
        return ""
    if text.startswith("ok "):
        return text[3:]
    raise EmulatorError("emulator: %r -> %s" % (cmd, text))


def emu_commands():
    """How many AT command lines the emulator has received so far."""
    return int(emu("commands"))


def emu_last_command():
    """The last AT command line the emulator received (bytes, no CR LF)."""
    return bytes.fromhex(emu("last-command"))


def emu_commands_since(n):
    """The AT command lines the emulator received after the first n (bytes)."""
    return [bytes.fromhex(emu("command %d" % i)) for i in range(n, emu_commands())]


def emu_state():
    """The emulator's `state` as a dict of strings (echo, mux, links, ...)."""
    return dict(item.split("=", 1) for item in emu("state").split())


# --- test clients of the module's server (AT+CIPSERVER=1 on): the test is their peer ------


def client_open(data=b""):
    """A new client connects to the module's server (then sends data); returns
    (its number, the link ID the module gave it) once "<id>,CONNECT" is out."""
    n, link = emu("client-open " + data.hex() if data else "client-open").split()
    return int(n), int(link)


def client_send(n, data):
    """Client n sends data; returns once the module has written it to the UART."""
    emu("client-send %d %s" % (n, data.hex()))


def client_recv(n, least=0, ms=3000):
    """What client n received since the last call (bytes); with least, first waits
    up to ms for that many bytes (or EOF)."""
    if least:
        return bytes.fromhex(emu("client-recv %d %d %d" % (n, least, ms)))
    return bytes.fromhex(emu("client-recv %d" % n))


def client_eof(n, ms=0):
    """True once the module's side of client n's connection is closed (waits up to ms)."""
    return emu("client-eof %d %d" % (n, ms)) == "1"


def client_close(n):
    """Client n closes; returns once the module has written "<id>,CLOSED"."""
    emu("client-close %d" % n)


def link_reuse(link, data=b""):
    """The peer of server link `link` closes it and a new client connects at once
    ("<id>,CLOSED" right followed by "<id>,CONNECT"), then sends data. Returns
    (the new client's number, its link ID)."""
    n, new = emu("link-reuse %d %s" % (link, data.hex()) if data else "link-reuse %d" % link).split()
    return int(n), int(new)


def before_result(data, times=1):
    """The next command's final result comes after data, times over (data: at most
    32 KB, the control line's limit; times multiplies it)."""
    emu("before-result %s %d" % (data.hex(), times))


def inject_later(data, times=1):
    """data, times over, goes to the host as if the module had sent it, after what
    earlier calls queued; returns at once (the emulator writes as the driver reads)."""
    emu("inject-later %s %d" % (data.hex(), times))


# --- quirks (tools/wizfi360_emu/quirks.py): the module's habits, kept across reboots -------


def emu_quirks():
    """The emulator's quirks as a dict of strings (e.g. {"prompt_delay_ms": "0", ...});
    run_device_tests.py --quirks real (WIZFI_QUIRKS=real) starts it with the real profile."""
    return dict(item.split("=", 1) for item in emu("quirks").split())


def quirk(name, value):
    """Set one quirk from now on: quirk("prompt_delay_ms", 600), quirk("unlink", 1),
    quirk("answer_noise", b"\\xff") (bytes go as hex), quirk("firmware", "1.0.3.4")."""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).hex() or "-"
    elif value is True or value is False:
        value = int(value)
    emu("quirk %s %s" % (name, value))


class ResetLine:
    """The module's RST pin (WizFi360(uart, reset=...)) off-board: the emulated
    module restarts when the line goes high again after low, as a real one
    does (module-notes "The board"). pulses counts those restarts."""

    def __init__(self):
        self.level = 1
        self.pulses = 0

    def __call__(self, level):
        if level and not self.level:
            self.pulses += 1
            emu("reboot")
        self.level = level
