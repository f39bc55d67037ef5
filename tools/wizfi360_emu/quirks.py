"""The emulator's quirks: how a real module departs from the manual, one field per behaviour.

The Emulator holds one Quirks as emu.quirks (Emulator(quirks="real"), tools/emulator.py
--quirks real --quirk name=value, tools/run_device_tests.py --quirks real or
WIZFI_QUIRKS=real, the control channel's `quirks` and `quirk <name> <value>`). A quirk
is the module's nature, not an accident: a reboot keeps them (faults.py has the
one-shot accidents, which a reboot clears). Every field defaults to what the manual
says ("manual" profile); the "real" profile turns on what real modules are known to do.

Sources are cited by section of docs/module-notes.md (a copy of the facts of the shared
module-notes, "What drivers written against real modules record"; below "MN") and of the
AT manual (docs: wizfi360-at-instruction-set.md, "manual 3.x"). Issue 15 numbers the
behaviours; each field says which.

Fields are read without a lock by the handlers and link threads (plain attribute reads);
set_quirk() in core.py writes them under the emulator's lock.
"""

from dataclasses import dataclass, fields, replace

FIRMWARES = ("1.1.1.7", "1.0.3.4")  # MN "The wire": the AT version lines seen
CIPSTART_FAILS = ("error", "error-closed", "connect-fail")
SENDBUF_NAMES = ("CIPSENDERBUF", "CIPSENDBUF", "both")


@dataclass
class Quirks:
    # 1. MN "Late or doubled results" (ESP8266 AT 1.5, ESP8266_NONOS_SDK issue 60): after a
    #    failed send, "SEND FAIL" and then "SEND OK" for the same send, the second one
    #    doubled_result_ms after the first (0: right behind it; later: whatever the host
    #    is doing then, e.g. waiting for the next send's ">").
    doubled_result: bool = False
    doubled_result_ms: int = 0
    # 2. MN "Late or doubled results" (WiFiEspAT issue 94): what a failed AT+CIPSTART
    #    (refused, unreachable) answers. "error": ERROR (manual). "error-closed": ERROR,
    #    then "<id>,CLOSED" cipstart_closed_ms later (a stray: it closes nothing). The ID
    #    is free from the ERROR on (MN "Link IDs after a failed AT+CIPSTART"): the host may
    #    open it again and the server may give it to a new client before the stray comes,
    #    which then closes neither. "connect-fail": "<id>,CONNECT FAIL" then ERROR.
    cipstart_fail: str = "error"
    cipstart_closed_ms: int = 30
    # 4. MN "A reboot can cut anything": every reboot writes boot_noise before "ready"
    #    (Emulator(boot_garbage=) and `reboot <hex>` override it), and with
    #    ready_same_line the "ready" follows the noise on the same line
    #    (b"\xff\xfe\x00ready\r\n") instead of after a line end of its own.
    boot_noise: bytes = b""
    ready_same_line: bool = False
    # 5. MN "SEND OK is paced by the network" (zephyr esp_at; CMSIS's validation of
    #    firmware 1.0.7.2 at 921600 baud: ~85 KB/s down, ~23 KB/s up). A send's "SEND OK"
    #    comes once the network has acknowledged all of it: the link puts at most
    #    net_window bytes on the network per round trip of net_latency_ms, so a send of
    #    n bytes answers ceil(n / net_window) round trips after its data arrived
    #    (net_window 0: one round trip whatever n). 0 latency: at once (the manual).
    net_latency_ms: int = 0
    net_window: int = 0
    # 6. MN "No result at all" (the Mbed WizFi360 driver: the module "possibly doesn't
    #    reply"): a send on a link that dies meanwhile (send-fault closed, or the
    #    peer's socket failing) answers "Recv <n> bytes" and "<id>,CLOSED", and no
    #    SEND OK / SEND FAIL at all. Off: SEND FAIL after the CLOSED.
    dead_link_silent: bool = False
    # 7. MN "+CWLAP field count" (the Mbed WizFi360 driver scans 7 fields; manual 3.2.2.13
    #    shows 5 with a space after the colon): cwlap_fields is the number of fields at
    #    power-up, 5 (<ecn>..<channel>) or 7 (also <freq offset>,<freq cal>, ESP's
    #    AT+CWLAPOPT mask bits 5 and 6); AT+CWLAPOPT changes it until the next reboot.
    #    cwlap_space: "+CWLAP: (" instead of "+CWLAP:(".
    cwlap_fields: int = 5
    cwlap_space: bool = False
    # 8. MN "Flow control value": AT+UART_CUR's <flow control>. Off: 0-1 (manual 3.2.1.5,
    #    1 = RTS/CTS). On: 0-3 as ESP AT defines them (1 = the module's RTS only, 2 = its
    #    CTS only, 3 = both), as the Mbed WizFi360 driver sends them. Which one the
    #    firmware obeys needs a real module: both are a guess; AT+UART_CUR? reports the
    #    value set either way. The emulator's UART has no wires: whatever the value, a
    #    host that does not read holds the module back (its socket fills up).
    uart_flow_esp: bool = False
    # 9. MN "Module-side buffer" (ARMmbed/esp8266-driver issue 69): while the host does
    #    not read (holds RTS), the module keeps taking link data into a buffer of
    #    module_buffer bytes and drops whole +IPD frames that do not fit: nothing on the
    #    UART shows it. 0: no such buffer, link data waits in the links (TCP backpressure
    #    to the peer, nothing lost). Applies whatever the flow value (the emulator's line
    #    is a socket: a host that does not read always holds it back).
    module_buffer: int = 0
    # 10. MN "Format variants shown by the manual itself" and "+IPD IP":
    cwsap_equals: bool = False  # '+CWSAP_CUR="ssid",...' (manual 3.2.2.19's example)
    cipsta_space: bool = False  # '+ CIPSTA_CUR:ip:"..."' (manual 3.2.2.11's example)
    colon_space: bool = False  # "+CIPDNS_CUR: 8.8.8.8", "+CIPSNTPTIME: Thu ..." (manual)
    sntp_asctime: bool = False  # "Thu Aug  4 ..." (day padded with a space, as asctime)
    ipd_ip_quoted: bool = False  # '+IPD,0,5,"1.2.3.4",80:' (WIZnet's Arduino library)
    link_not_valid: bool = False  # AT+CIPSEND on a link not open: "link is not valid" first
    unlink: bool = False  # AT+CIPCLOSE of a link not open: "UNLINK" first
    no_change: bool = False  # AT+CIPSERVER=1 while listening on that port: "no change" first
    err_code: bool = False  # every ERROR preceded by "ERR CODE:0x01090000" (CMSIS parses it)
    # 11. MN "The wire": the firmware presented: AT+GMR's lines and what differs.
    #     1.0.3.4 answers +CIPDOMAIN quoted (MN "The wire": quoted or not "depending on
    #     firmware"; which firmware does which is a guess), 1.1.1.7 unquoted.
    firmware: str = "1.1.1.7"
    # 13. Issue 15 #13: the ">" prompt of AT+CIPSEND comes prompt_delay_ms after its OK;
    #     the module waits for the data from the OK on, so whatever the host writes
    #     meanwhile (a command line too) is taken as that send's data.
    prompt_delay_ms: int = 0
    # 14. Issue 15 #14: AT+CIPCLOSE answers ("<id>,CLOSED", OK) only after cipclose_delay_ms;
    #     the module is busy meanwhile ("busy p...").
    cipclose_delay_ms: int = 0
    # 15. Issue 15 #15: line noise inside answer lines: answer_noise is put right after the
    #     colon of every +CIPDOMAIN, +CIFSR, +CIPSTA_CUR/_DEF, +CWHOSTNAME and +CWJAP_CUR/_DEF
    #     line (b"": none).
    answer_noise: bytes = b""
    # Issue 16: MN "Sends: AT+CIPSENDEX and the buffered send": the name the buffered send
    #     answers to (handlers_sendbuf.py). The manual writes AT+CIPSENDERBUF, ESP AT and
    #     every driver found that uses the command AT+CIPSENDBUF; no WizFi360 driver uses
    #     either, so which one a module takes is a guess (the other answers ERROR, as any
    #     unknown command): "CIPSENDERBUF" (the manual), "CIPSENDBUF" (ESP) or "both".
    sendbuf_name: str = "CIPSENDERBUF"

    def set(self, name, text):
        """Set field `name` from its text form (control channel, --quirk name=value):
        bools 0/1/on/off/true/false, ints in decimal, bytes in hex, str as is. ValueError
        (with the reason) for an unknown name or a bad value; nothing changes then."""
        kinds = {f.name: f.type for f in fields(self)}
        if name not in kinds:
            raise ValueError("no quirk named %r" % name)
        value = _parse(kinds[name], text)
        _check(name, value)
        setattr(self, name, value)

    def describe(self):
        """'name=value ...' for every field, in the text form set() takes."""
        return " ".join("%s=%s" % (f.name, _show(getattr(self, f.name))) for f in fields(self))

    def changed(self):
        """{name: value} of the fields that differ from the manual profile."""
        base = Quirks()
        names = (f.name for f in fields(self))
        return {n: getattr(self, n) for n in names if getattr(self, n) != getattr(base, n)}

    def uart_flow_max(self):
        return 3 if self.uart_flow_esp else 1

    def gmr(self):
        """AT+GMR's lines (MN "The wire")."""
        return GMR[self.firmware]

    def dns_quoted(self):
        return self.firmware == "1.0.3.4"


GMR = {
    "1.1.1.7": (
        b"AT version:1.1.1.7(May  4 2021 15:14:59)\r\n"
        b"SDK version:3.2.0(a0ffff9f)\r\n"
        b"compile time:May  4 2021 15:14:59\r\n"
    ),
    "1.0.3.4": (
        b"AT version:1.0.3.4(Sep 26 2019 11:14:22)\r\n"
        b"SDK version:3.2.0(a0ffff9f)\r\n"
        b"compile time:Sep 26 2019 11:14:22\r\n"
    ),
}

# What real modules are known to do (module-notes, "What drivers written against real
# modules record"). Left off: the fault-injection findings (13, 14, 15: a chosen delay or
# noise, not a habit of the module), the quoted +IPD address (MN: unquoted on 1.x), and
# the firmware stays the newer one.
REAL = dict(
    doubled_result=True,
    cipstart_fail="error-closed",
    boot_noise=b"\xff\xfe\x00",
    ready_same_line=True,
    # With 2048-byte sends: ceil(2048 / 1460) = 2 round trips of 35 ms after the data.
    # At 921600 baud (2048 bytes take 22 ms on the line) a send takes ~92 ms: ~22 KB/s
    # up against 92 KB/s down, CMSIS's 23 vs 85 KB/s; at 115200 (178 ms on the line):
    # ~8 KB/s up, CMSIS's 7 KB/s.
    net_latency_ms=35,
    net_window=1460,
    dead_link_silent=True,
    cwlap_fields=7,
    cwlap_space=True,
    uart_flow_esp=True,
    # lwIP's TCP_WND on ESP8266 AT (4 x 1460): what a module can hold for the host.
    module_buffer=5840,
    cwsap_equals=True,
    cipsta_space=True,
    colon_space=True,
    sntp_asctime=True,
    link_not_valid=True,
    unlink=True,
    no_change=True,
    err_code=True,
    # A guess (see the field): the firmware follows ESP AT's command names everywhere else.
    sendbuf_name="CIPSENDBUF",
)

PROFILES = {"manual": {}, "real": REAL}


def profile(name):
    """A fresh Quirks of the named profile (ValueError for an unknown name)."""
    if name not in PROFILES:
        raise ValueError("no quirks profile %r (%s)" % (name, ", ".join(PROFILES)))
    return replace(Quirks(), **PROFILES[name])


def make(quirks):
    """Emulator(quirks=...): None (manual), a profile name, a Quirks (copied), or a dict of
    field values on top of the manual profile ({"profile": "real", ...} on top of that)."""
    if quirks is None:
        return Quirks()
    if isinstance(quirks, str):
        return profile(quirks)
    if isinstance(quirks, Quirks):
        return replace(quirks)
    if isinstance(quirks, dict):
        values = dict(quirks)
        q = profile(values.pop("profile", "manual"))
        for name, value in values.items():
            q.set(name, value if isinstance(value, str) else _show(value))
        return q
    raise TypeError("quirks: a profile name, a Quirks or a dict, not %r" % (quirks,))


# --- text forms ----------------------------------------------------------------------------------
def _parse(kind, text):
    kind = getattr(kind, "__name__", kind)  # the annotation, a type or its name
    if kind == "bool":
        low = text.lower()
        if low in ("1", "on", "true", "yes"):
            return True
        if low in ("0", "off", "false", "no"):
            return False
        raise ValueError("want 0 or 1, not %r" % text)
    if kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ValueError("bad number %r" % text) from None
    if kind == "bytes":
        if text in ("", "-", "none"):
            return b""
        try:
            return bytes.fromhex(text)
        except ValueError:
            raise ValueError("bad hex %r" % text) from None
    return text


def _show(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, bytes):
        return value.hex() or "-"
    return str(value)


_CHOICES = {
    "cipstart_fail": CIPSTART_FAILS,
    "firmware": FIRMWARES,
    "cwlap_fields": (5, 7),
    "sendbuf_name": SENDBUF_NAMES,
}
_LIMITS = {
    "doubled_result_ms": 600000,
    "cipstart_closed_ms": 600000,
    "net_latency_ms": 10000,
    "net_window": 1 << 20,
    "module_buffer": 1 << 26,
    "prompt_delay_ms": 600000,
    "cipclose_delay_ms": 600000,
}


def _check(name, value):
    if name in _CHOICES and value not in _CHOICES[name]:
        raise ValueError("%s: want one of %s" % (name, ", ".join(str(c) for c in _CHOICES[name])))
    if name in _LIMITS and not 0 <= value <= _LIMITS[name]:
        raise ValueError("%s: %d is out of range 0..%d" % (name, value, _LIMITS[name]))
    if isinstance(value, bytes) and len(value) > 4096:
        raise ValueError("%s: at most 4096 bytes" % name)
