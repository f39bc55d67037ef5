"""The control channel: tests in another process (tests_device/ on MicroPython) switch
faults on in a running emulator.

An Emulator made with control_port (tools/emulator.py --control-port N; 0: any free
port) listens on 127.0.0.1 only, at emu.control_port. A client sends one command per
line (ASCII, ending in LF or CR LF) and gets exactly one reply line (ending in LF) for
each:

    ok              done
    ok <value>      done, with a value
    error <why>     not done; nothing changed

Bytes are written as hex, two digits a byte (fffe0d0a; spaces between bytes are
allowed), so that CR, LF and NUL pass. The commands:

    reboot [<hex>]      the module resets now: links and unsaved settings gone, faults
                        cleared, then the bytes (boot noise) and "\\r\\nready\\r\\n"
    wifi-drop           the AP goes away: "WIFI DISCONNECT", then "<id>,CLOSED" for each
                        open link (error if not joined)
    link-close <id>     the peer closes link <id>: "<id>,CLOSED" (error if not open)
    inject <hex>        the bytes go to the host now, as if the module had sent them
                        (also while muted)
    noise <hex>|off     the bytes go to the host before every +IPD frame from now on
    busy <n>            the next n AT command lines are answered "busy p..." and not
                        taken (manual 2.3); busy 0 ends it
    send-fault <mode>   the next AT+CIPSEND fails: fail (SEND FAIL after the data),
                        error (ERROR after the ">" prompt), closed (the peer closes the
                        link meanwhile); off: no fault. faults.py has the exact bytes.
    mute / unmute       the module hangs: it reads (and counts) command lines but
                        answers none and sends nothing; link data waits / it carries on
    clear               every fault off (busy, send-fault, mute, noise)
    commands            ok <n>: AT command lines received so far, also those answered
                        busy or dropped while muted (for "nothing was sent" checks)
    last-command        ok <hex>: the last of them without its CR LF (error if none)
    command <i>         ok <hex>: the i-th of them, from 0 (negative: from the end)
    state               ok echo=<0|1> mux=<0|1> dinfo=<0|1> cwmode=<1-3> joined=<0|1>
                        links=<open link ids, comma-separated> busy=<n> muted=<0|1>
    help                ok <the command names>
"""

import logging
import socket
import threading

from .faults import SEND_FAULTS
from .links import Guarded
from .uart import _kill as kill

log = logging.getLogger("wizfi360_emu.control")

MAX_LINE = 65536  # a longer line is refused and the connection closed


class ControlError(Exception):
    """A command that cannot be done: the reply is "error <message>"."""


# --- arguments ---------------------------------------------------------------------------------
def _hex(args):
    try:
        return bytes.fromhex(" ".join(args))
    except ValueError:
        raise ControlError("bad hex %r" % " ".join(args)) from None


def _int(args, lo, hi):
    if len(args) != 1:
        raise ControlError("want one number")
    try:
        n = int(args[0])
    except ValueError:
        raise ControlError("bad number %r" % args[0]) from None
    if not lo <= n <= hi:
        raise ControlError("%d is out of range %d..%d" % (n, lo, hi))
    return n


def _none(args):
    if args:
        raise ControlError("takes no arguments")


# --- the commands: fn(emu, args) -> value text or None ----------------------------------------------
def _reboot(emu, args):
    emu.reboot(garbage=_hex(args) if args else None)


def _wifi_drop(emu, args):
    _none(args)
    if emu.state.joined is None:
        raise ControlError("not joined to an AP")
    emu.drop_wifi()


def _link_close(emu, args):
    link_id = _int(args, 0, 4)
    try:
        emu.link_close(link_id)
    except KeyError:
        raise ControlError("link %d is not open" % link_id) from None


def _inject(emu, args):
    data = _hex(args)
    if not data:
        raise ControlError("nothing to inject")
    emu.inject(data)


def _noise(emu, args):
    emu.set_faults(noise=b"" if args == ["off"] else _hex(args))


def _busy(emu, args):
    emu.set_faults(busy=_int(args, 0, 1000000))


def _send_fault(emu, args):
    if len(args) != 1 or args[0] not in SEND_FAULTS + ("off",):
        raise ControlError("want one of %s" % ", ".join(SEND_FAULTS + ("off",)))
    emu.set_faults(send_fault=None if args[0] == "off" else args[0])


def _mute(emu, args):
    _none(args)
    emu.set_faults(muted=True)


def _unmute(emu, args):
    _none(args)
    emu.set_faults(muted=False)


def _clear(emu, args):
    _none(args)
    emu.clear_faults()


def _commands(emu, args):
    _none(args)
    return str(len(emu.commands))


def _last_command(emu, args):
    _none(args)
    if not emu.commands:
        raise ControlError("no command received yet")
    return emu.commands[-1].hex()


def _command(emu, args):
    n = len(emu.commands)
    if not n:
        raise ControlError("no command received yet")
    return emu.commands[_int(args, -n, n - 1)].hex()


def _state(emu, args):
    _none(args)
    st, faults = emu.state, emu.faults
    return "echo=%d mux=%d dinfo=%d cwmode=%d joined=%d links=%s busy=%d muted=%d" % (
        st.echo,
        st.mux,
        st.dinfo,
        st.cwmode,
        st.joined is not None,
        ",".join(str(i) for i in sorted(emu.links)),
        faults.busy,
        faults.muted,
    )


def _help(emu, args):
    return " ".join(COMMANDS)


COMMANDS = {
    "reboot": _reboot,
    "wifi-drop": _wifi_drop,
    "link-close": _link_close,
    "inject": _inject,
    "noise": _noise,
    "busy": _busy,
    "send-fault": _send_fault,
    "mute": _mute,
    "unmute": _unmute,
    "clear": _clear,
    "commands": _commands,
    "last-command": _last_command,
    "command": _command,
    "state": _state,
    "help": _help,
}


def run(emu, line):
    """One command line (str, without its line end) -> the reply line (without LF)."""
    words = line.split()
    if not words:
        return "error empty command"
    fn = COMMANDS.get(words[0])
    if fn is None:
        return "error unknown command %r (help lists them)" % words[0]
    try:
        value = fn(emu, words[1:])
    except ControlError as e:
        return "error %s" % e
    except Exception as e:  # a bug in the emulator: say so, keep serving
        log.exception("control command %r failed", line)
        return "error %s: %s" % (type(e).__name__, e)
    log.info("control: %s", line)
    return "ok" if value is None else "ok %s" % value


# --- the server ------------------------------------------------------------------------------------
class ControlServer:
    """Serves run() on 127.0.0.1:port, one thread per client, any number of clients."""

    def __init__(self, emu, port=0):
        self.emu = emu
        self.port = None
        self._want = port
        self._listener = None

    def start(self):
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind(("127.0.0.1", self._want))
        ls.listen(8)
        self.port = ls.getsockname()[1]
        self._listener = Guarded(ls)
        threading.Thread(target=self._accept_loop, name="control-accept", daemon=True).start()

    def stop(self):
        if self._listener is not None:
            self._listener.close()

    def _accept_loop(self):
        while True:
            try:
                conn, _ = self._listener.call(self._listener.sock.accept)
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="control-client", daemon=True).start()

    def _serve(self, conn):
        buf = bytearray()
        try:
            while True:
                data = conn.recv(4096)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    i = buf.index(b"\n")
                    line = bytes(buf[:i]).rstrip(b"\r").decode("ascii", "replace")
                    del buf[: i + 1]
                    conn.sendall(run(self.emu, line).encode("ascii", "replace") + b"\n")
                if len(buf) > MAX_LINE:
                    conn.sendall(b"error line too long\n")
                    return
        except OSError:
            pass
        finally:
            kill(conn)
