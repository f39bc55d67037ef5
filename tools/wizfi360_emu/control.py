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
                        (also while muted); ok once they are written
    inject-later <hex> [<times>]
                        the same, <times> times over (default 1), but ok at once: a
                        writer thread sends them, after the bytes of earlier
                        inject-later commands, as the host reads them (e.g. more than
                        the host's buffers hold, for a host that is not reading yet).
                        <hex> is one word here (no spaces); at most 4 MB in all
    noise <hex>|off     the bytes go to the host before every +IPD frame from now on
    busy <n>            the next n AT command lines are answered "busy p..." and not
                        taken (manual 2.3); busy 0 ends it
    send-fault <mode>   the next AT+CIPSEND fails: fail (SEND FAIL after the data),
                        error (ERROR after the ">" prompt), closed (the peer closes the
                        link meanwhile), vanish (as closed, and no SEND OK / SEND FAIL
                        at all: "Recv <n> bytes", "<id>,CLOSED", nothing more); off: no
                        fault. faults.py has the exact bytes.
    mute / unmute       the module hangs: it reads (and counts) command lines but
                        answers none and sends nothing; link data waits / it carries on
    connect-delay <ms>  the next AT+CIPSTART connects only after <ms> ms (a peer that
                        accepts late): its "<id>,CONNECT" and result come that much
                        later; meanwhile the module is busy (command lines get
                        "busy p...") and the other links' data keeps coming; 0: off
    before-result <hex> [<times>]
                        the next final result (OK, ERROR, FAIL, SEND OK, SEND FAIL) is
                        preceded by the bytes, <times> times over (default 1, at most
                        100000, 4 MB in all): e.g. +IPD frames for an open link, for
                        data between a command and its result. <hex> is one word here
                        (no spaces); off: none
    reboot-mid-frame [<after_bytes>]
                        the next +IPD frame is cut by a reboot: its header (announcing
                        the whole length), <after_bytes> bytes of its payload (default:
                        half; at most all but one), then the reboot's boot noise and
                        "ready" (quirks boot_noise, ready_same_line); the rest never
                        comes. off: not
    drop-mid-frame <n>  the next +IPD frame loses <n> bytes from the middle of its
                        payload (a UART without flow control); its header still
                        announces the whole length. 0: off
    after-frame [<hex>] the bytes go to the host right after the next +IPD frame's
                        payload (default "+NEWEVENT:1\r\n", an unsolicited line the
                        host does not know); off: none
    clear               every fault off (busy, send-fault, mute, noise, connect-delay,
                        before-result, reboot-mid-frame, drop-mid-frame, after-frame);
                        the quirks stay
    commands            ok <n>: AT command lines received so far, also those answered
                        busy or dropped while muted (for "nothing was sent" checks)
    last-command        ok <hex>: the last of them without its CR LF (error if none)
    command <i>         ok <hex>: the i-th of them, from 0 (negative: from the end)
    state               ok echo=<0|1> mux=<0|1> dinfo=<0|1> cwmode=<1-3> joined=<0|1>
                        links=<open link ids, comma-separated> busy=<n> muted=<0|1>
                        running=<0|1> (1: a command is taken and its final result not
                        yet written, e.g. an AT+CIPSTART held by connect-delay)
                        server=<port> (where AT+CIPSERVER listens; 0: no server)
    help                ok <the command names>

SoftAP clients (fake Wi-Fi stations, softap.py):

    station-join <mac> <ssid hex> [<key hex>]
                        ok at once: a phone set to join that AP; it joins (the module
                        prints +STA_CONNECTED and +DIST_STA_IP) as soon as the SoftAP is
                        on with that name and key (none: an open AP), within 60 s
    station-leave <mac> the station leaves: +STA_DISCONNECTED (error if not joined)

Quirks (quirks.py: the module's habits, one field each; a reboot keeps them):

    quirks              ok <name>=<value> ... every quirk, in the form `quirk` takes
                        (bools 0/1, ints, bytes in hex with - for none, words)
    quirks <profile>    load a whole profile: manual (every quirk off) or real (what
                        real modules are known to do; quirks.REAL)
    quirk <name> <value>
                        set one quirk from now on, e.g. `quirk prompt_delay_ms 600`,
                        `quirk answer_noise ff`, `quirk cipstart_fail connect-fail`.
                        The names (issue 15's numbers):
                        doubled_result, doubled_result_ms (1); cipstart_fail
                        (error | error-closed | connect-fail), cipstart_closed_ms (2);
                        boot_noise, ready_same_line (4); net_latency_ms, net_window
                        (5); dead_link_silent (6); cwlap_fields (5 | 7), cwlap_space
                        (7); uart_flow_esp (8); module_buffer (9); cwsap_equals,
                        cipsta_space, colon_space, sntp_asctime, ipd_ip_quoted,
                        link_not_valid, unlink, no_change, err_code (10); firmware
                        (1.1.1.7 | 1.0.3.4) (11); prompt_delay_ms (13);
                        cipclose_delay_ms (14); answer_noise (15); sendbuf_name
                        (CIPSENDERBUF | CIPSENDBUF | both: the buffered send's
                        name, issue 16). The one-shot ones
                        (3, 6, 10's unknown line, 12) are the faults reboot-mid-frame,
                        send-fault vanish, after-frame and drop-mid-frame above.
    dropped             ok <frames> <bytes>: what the module buffer (quirk
                        module_buffer) has dropped so far

Test clients of the module's TCP server (AT+CIPSERVER=1 must be on; clients.py): real
TCP connections from this machine, numbered from 0, that the test is the peer of. Each
call that changes what the host sees returns once the module has written it to the
UART (error after 3 s):

    client-open [<hex>] ok <n> <id>: client <n> connected, the module announced it as
                        "<id>,CONNECT" (the lowest free link id); then it sends the bytes
    client-send <n> <hex>
                        client <n> sends the bytes; ok once they are on the UART (+IPD)
    client-recv <n> [<least> [<ms>]]
                        ok <hex>: what client <n> received since the last client-recv
                        (also after it closed); with <least>, first waits up to <ms>
                        (default 3000) for that many bytes or EOF
    client-eof <n> [<ms>]
                        ok 1 once the module's side of client <n> is closed (waits up to
                        <ms>, default 0), else ok 0
    client-close <n>    client <n> closes (its bytes go first); ok once "<id>,CLOSED" is out
    link-reuse <id> [<hex>]
                        the peer of server link <id> closes it and a new client connects
                        at once: "<id>,CLOSED" right followed by "<id'>,CONNECT" (id' the
                        lowest free id, <id> if no lower one is free), then the new
                        client's bytes. ok <n> <id'>: the new client's number and link.
                        A test client peer closes gracefully (its bytes go first); any
                        other peer is cut off as by link-close
"""

import logging
import socket
import threading

from .clients import ClientError
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


def _word_hex(word):
    try:
        return bytes.fromhex(word)
    except ValueError:
        raise ControlError("bad hex %r" % word) from None


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


def _inject_later(emu, args):
    emu.inject_later(_repeated(args))


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


def _connect_delay(emu, args):
    emu.set_faults(connect_delay_ms=_int(args, 0, 600000))


BEFORE_MAX = 4 << 20  # bytes in all, for before-result and inject-later


def _repeated(args):
    """<hex> [<times>] -> the bytes, times over."""
    if len(args) not in (1, 2):
        raise ControlError("want <hex> [<times>]")
    data = _word_hex(args[0])
    times = _int(args[1:], 1, 100000) if len(args) > 1 else 1
    if not data:
        raise ControlError("no bytes")
    if len(data) * times > BEFORE_MAX:
        raise ControlError("%d bytes in all: at most %d" % (len(data) * times, BEFORE_MAX))
    return data * times


def _before_result(emu, args):
    if args == ["off"]:
        return emu.set_faults(before_result=None)
    emu.set_faults(before_result=(_repeated(args), 1))


def _reboot_mid_frame(emu, args):
    if args == ["off"]:
        return emu.set_faults(reboot_mid_frame=None)
    emu.set_faults(reboot_mid_frame=_int(args, 0, 1 << 20) if args else -1)


def _drop_mid_frame(emu, args):
    emu.set_faults(drop_mid_frame=_int(args, 0, 1 << 20))


def _after_frame(emu, args):
    if args == ["off"]:
        return emu.set_faults(after_frame=b"")
    emu.set_faults(after_frame=_hex(args) if args else b"+NEWEVENT:1\r\n")


def _quirks(emu, args):
    if len(args) > 1:
        raise ControlError("want [<profile>]")
    if args:
        try:
            emu.set_quirk("profile", args[0])
        except ValueError as e:
            raise ControlError(str(e)) from None
    return emu.quirks.describe()


def _quirk(emu, args):
    if len(args) != 2:
        raise ControlError("want <name> <value>")
    try:
        emu.set_quirk(args[0], args[1])
    except ValueError as e:
        raise ControlError(str(e)) from None


def _dropped(emu, args):
    _none(args)
    return "%d %d" % emu.dropped


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
    return "echo=%d mux=%d dinfo=%d cwmode=%d joined=%d links=%s busy=%d muted=%d running=%d server=%d" % (
        st.echo,
        st.mux,
        st.dinfo,
        st.cwmode,
        st.joined is not None,
        ",".join(str(i) for i in sorted(emu.links)),
        faults.busy,
        faults.muted,
        emu._busy,
        emu.server_port or 0,
    )


# --- test clients of the module's server (clients.py) -------------------------------------------
def _client_open(emu, args):
    return "%d %d" % emu.clients.open(_word_hex(args[0]) if args else b"")


def _client_send(emu, args):
    if len(args) < 2:
        raise ControlError("want <n> <hex>")
    emu.clients.send(_int(args[:1], 0, 1 << 30), _hex(args[1:]))


def _client_recv(emu, args):
    if not 1 <= len(args) <= 3:
        raise ControlError("want <n> [<least> [<ms>]]")
    n = _int(args[:1], 0, 1 << 30)
    least = _int(args[1:2], 0, 1 << 24) if len(args) > 1 else 0
    ms = _int(args[2:], 0, 600000) if len(args) > 2 else 3000
    return emu.clients.recv(n, least, ms / 1000).hex()


def _client_eof(emu, args):
    if not 1 <= len(args) <= 2:
        raise ControlError("want <n> [<ms>]")
    ms = _int(args[1:], 0, 600000) if len(args) > 1 else 0
    return "1" if emu.clients.eof(_int(args[:1], 0, 1 << 30), ms / 1000) else "0"


def _client_close(emu, args):
    emu.clients.close(_int(args, 0, 1 << 30))


def _link_reuse(emu, args):
    if not 1 <= len(args) <= 2:
        raise ControlError("want <id> [<hex>]")
    return "%d %d" % emu.clients.reuse(_int(args[:1], 0, 4), _word_hex(args[1]) if len(args) > 1 else b"")


def _station_join(emu, args):
    if len(args) not in (2, 3):
        raise ControlError("want <mac> <ssid hex> [<key hex>]")
    try:
        ssid, key = (_word_hex(w).decode() for w in (args[1], args[2] if len(args) > 2 else ""))
        emu.station_waits(args[0], ssid, key)
    except (ValueError, UnicodeError) as e:
        raise ControlError(str(e)) from None


def _station_leave(emu, args):
    if len(args) != 1:
        raise ControlError("want <mac>")
    try:
        emu.remove_station(args[0])
    except (KeyError, ValueError):
        raise ControlError("%s is not a station of the SoftAP" % args[0]) from None


def _help(emu, args):
    return " ".join(COMMANDS)


COMMANDS = {
    "reboot": _reboot,
    "wifi-drop": _wifi_drop,
    "link-close": _link_close,
    "inject": _inject,
    "inject-later": _inject_later,
    "noise": _noise,
    "busy": _busy,
    "send-fault": _send_fault,
    "mute": _mute,
    "unmute": _unmute,
    "connect-delay": _connect_delay,
    "before-result": _before_result,
    "reboot-mid-frame": _reboot_mid_frame,
    "drop-mid-frame": _drop_mid_frame,
    "after-frame": _after_frame,
    "clear": _clear,
    "commands": _commands,
    "last-command": _last_command,
    "command": _command,
    "state": _state,
    "client-open": _client_open,
    "client-send": _client_send,
    "client-recv": _client_recv,
    "client-eof": _client_eof,
    "client-close": _client_close,
    "link-reuse": _link_reuse,
    "station-join": _station_join,
    "station-leave": _station_leave,
    "quirks": _quirks,
    "quirk": _quirk,
    "dropped": _dropped,
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
    except (ControlError, ClientError) as e:
        return "error %s" % e
    except Exception as e:  # a bug in the emulator: say so, keep serving
        log.exception("control command %r failed", line)
        return "error %s: %s" % (type(e).__name__, e)
    log.info("control: %s", line)
    return "ok %s" % value if value else "ok"


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
