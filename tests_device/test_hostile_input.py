# Hostile input: every user string that goes into an AT command is escaped
# (manual 3.2.2.15: `"`, `\` and `,` get a backslash) or refused with
# ValueError, and out-of-range numbers are refused before anything is sent.
# The emulator counts the command lines it receives (emucontrol.emu()), so each
# check also proves that no call sent a second command, that the one sent is
# exactly the expected line, and that a refusal sent nothing. On a board there
# is no emulator: the same calls run, the ValueErrors are checked, the lines
# on the wire are not.
import emucontrol

import board
import harness
import wizfi360
from harness import true
from wizfi360 import socket
from wizfi360 import ssl as wssl

WIRE = board.has_emulator()

# Strings the AT line can carry once escaped.
ESCAPED = (
    'a"b',
    "a\\b",
    "a,b",
    '",\\',
    'x","y',  # closing the quote to start a parameter of one's own
    "end\\",  # unescaped, it would escape the closing quote
)
NON_ASCII = ("café", "日本")
# Strings no escaping can carry (CR/LF end the command line and start another).
UNSENDABLE = ("a\rb", "a\nb", "a\x00b", "x\r\nAT+RST")


def _q(s):
    # The quoted AT parameter the module expects for s (manual 3.2.2.15).
    raw = s.encode() if isinstance(s, str) else bytes(s)
    out = bytearray(b'"')
    for c in raw:
        if c == 34 or c == 92 or c == 44:
            out.append(92)
        out.append(c)
    out.append(34)
    return bytes(out)


def _wifi():
    # Off-board: the module reset (settings from earlier tests gone) and a new
    # driver joined to it, so that each test counts only its own commands.
    if not WIRE:
        w = board.wifi()
        if not w.isconnected():  # an earlier test's failed joins left it
            s = board.settings()
            w.connect(s["ssid"], s["key"])
        return w
    emucontrol.emu("clear")
    emucontrol.emu("reboot")
    return board.fresh_wifi()


MARKER = b"AT+CWHOSTNAME?"  # what config("hostname") sends (manual 3.2.2.26)


def _count():
    return emucontrol.emu_commands() if WIRE else None


class Checks:
    # Runs many checks, collects every problem, and fails once at the end
    # with all of them, so that one report lists each bad call.

    def __init__(self, w):
        self.w = w
        self.problems = []

    def _problem(self, what, text):
        self.problems.append("%s: %s" % (what, text))

    def _since(self, n):
        # The command lines sent after the first n. A known command sent
        # through the driver last (its answer means the emulator has read
        # everything before it) makes sure none is still on its way.
        if n is None:
            return None
        try:
            self.w.config("hostname")
        except OSError:
            pass
        sent = emucontrol.emu_commands_since(n)
        if sent and sent[-1] == MARKER:
            sent.pop()
        return sent

    def refused(self, what, fn, *args, **kwargs):
        # fn must raise ValueError without sending anything.
        n = _count()
        try:
            fn(*args, **kwargs)
        except ValueError:
            sent = self._since(n)
            if sent:
                self._problem(what, "refused, but only after sending %r" % sent)
            return
        except Exception as e:
            self._problem(what, "%s instead of ValueError (sent %r)" % (harness.describe(e), self._since(n)))
            return
        self._problem(what, "accepted (sent %r)" % (self._since(n),))

    def sends(self, what, expected, fn, *args, **kwargs):
        # fn must send exactly the lines `expected` (the module may then
        # refuse them: OSError is fine). Returns what fn returned.
        n = _count()
        result = None
        try:
            result = fn(*args, **kwargs)
        except OSError:
            pass
        except Exception as e:
            self._problem(what, "%s (sent %r)" % (harness.describe(e), self._since(n)))
            return None
        sent = self._since(n)
        if sent is not None and sent != expected:
            self._problem(what, "sent %r, expected %r" % (sent, expected))
        return result

    def sends_or_refuses(self, what, expected, fn, *args, **kwargs):
        # Either is right (e.g. a non-ASCII host name): sent exactly as
        # `expected`, or refused with ValueError having sent nothing.
        n = _count()
        try:
            fn(*args, **kwargs)
        except ValueError:
            sent = self._since(n)
            if sent:
                self._problem(what, "refused, but only after sending %r" % sent)
            return
        except OSError:
            pass
        sent = self._since(n)
        if sent is not None and sent != expected:
            self._problem(what, "sent %r, expected %r (or a ValueError)" % (sent, expected))

    def done(self):
        if self.problems:
            raise AssertionError("%d problem(s):\n  " % len(self.problems) + "\n  ".join(self.problems))


# --- joining an AP (manual 3.2.2.15, 3.2.2.16) ---------------------------------


def _join(ssid, key, tail=b"", cmd=b"AT+CWJAP_CUR="):
    return [cmd + _q(ssid) + b"," + _q(key) + tail]


def test_join_escapes_ssid_and_key():
    w = _wifi()
    c = Checks(w)
    for s in ESCAPED + NON_ASCII:
        c.sends("ssid %r" % s, _join(s, "pw"), w.connect, s, "pw")
        c.sends("key %r" % s, _join("nope", s), w.connect, "nope", s)
    c.sends("32-byte ssid", _join("x" * 32, "pw"), w.connect, "x" * 32, "pw")
    c.sends("64-byte key", _join("nope", "k" * 64), w.connect, "nope", "k" * 64)
    c.sends("empty key", _join("nope", ""), w.connect, "nope", "")
    c.sends("persist", _join('a"b', "pw", cmd=b"AT+CWJAP_DEF="), w.connect, 'a"b', "pw", persist=True)
    bssid = b',"02:00:00:00:00:02"'
    c.sends("bssid", _join("a,b", "pw", bssid), w.connect, "a,b", "pw", bssid="02:00:00:00:00:02")
    c.done()


def test_join_refuses_what_cannot_be_sent():
    w = _wifi()
    c = Checks(w)
    for s in UNSENDABLE:
        c.refused("ssid %r" % s, w.connect, s, "pw")
        c.refused("key %r" % s, w.connect, "nope", s)
    for s in ("", "x" * 33, "é" * 17, "日本" * 6):  # the limit is 32 bytes, not characters
        c.refused("ssid of %d bytes" % len(s.encode()), w.connect, s, "pw")
    for s in ("k" * 65, "é" * 33):
        c.refused("key of %d bytes" % len(s.encode()), w.connect, "nope", s)
    for b in ("zz", '02:00:00:00:00:0"', "02:00:00:00:00:02,x"):
        c.refused("bssid %r" % b, w.connect, "nope", "pw", bssid=b)
    for t in (0, -1):
        c.refused("timeout_ms=%d" % t, w.connect, "nope", "pw", timeout_ms=t)
    c.done()


# --- host names: DNS, connect, ping, TLS ------------------------------------------------

# Names under .invalid never resolve (RFC 6761): the module's answer is quick.
HOSTS = ('a"b.invalid', "a\\b.invalid", "a,b.invalid", 'x","y.invalid', '",\\.invalid')
HOSTS_NON_ASCII = ("café.invalid", "日本.invalid")
HOSTS_TOO_LONG = ("h" * 56 + ".invalid", "h" * 292 + ".invalid")  # 64 and 300 bytes (manual 3.2.4.3: < 64)


def _connect(addr):
    sock = socket.socket()
    try:
        sock.connect(addr)
    finally:
        sock.close()


def test_host_names_are_escaped():
    w = _wifi()
    c = Checks(w)
    for h in HOSTS:
        line = [b"AT+CIPDOMAIN=" + _q(h)]
        c.sends("getaddrinfo %r" % h, line, socket.getaddrinfo, h, 80)
        c.sends("connect %r" % h, line, _connect, (h, 80))
        c.sends("ping %r" % h, [b"AT+PING=" + _q(h)], w.ping, h)
    for h in HOSTS_NON_ASCII:
        c.sends_or_refuses("getaddrinfo %r" % h, [b"AT+CIPDOMAIN=" + _q(h)], socket.getaddrinfo, h, 80)
        c.sends_or_refuses("ping %r" % h, [b"AT+PING=" + _q(h)], w.ping, h)
    c.done()


def test_host_names_refused():
    w = _wifi()
    c = Checks(w)
    for h in UNSENDABLE + HOSTS_TOO_LONG + ("",):
        c.refused("getaddrinfo %r" % h[:20], socket.getaddrinfo, h, 80)
        c.refused("connect %r" % h[:20], _connect, (h, 80))
        c.refused("ping %r" % h[:20], w.ping, h)
    c.done()


def _tls_connect(name):
    s = board.settings()
    sock = socket.socket()
    try:
        wssl.wrap_socket(sock, server_hostname=name)
        sock.connect((s["echo_host"], s["tls_port"]))
    finally:
        sock.close()


def test_tls_server_name_is_escaped_or_refused():
    w = _wifi()
    c = Checks(w)
    port = b",%d" % board.settings()["tls_port"]
    for h in HOSTS:
        # The module resolves the name itself (for SNI): link 0, the lowest free one.
        c.sends("server_hostname %r" % h, [b'AT+CIPSTART=0,"SSL",' + _q(h) + port], _tls_connect, h)
    for h in UNSENDABLE + HOSTS_TOO_LONG:
        c.refused("server_hostname %r" % h[:20], _tls_connect, h)
    # Refusals must not use up link IDs: all five still open and carry data.
    for _ in range(6):
        c.refused("server_hostname of 300 bytes, again", _tls_connect, HOSTS_TOO_LONG[1])
    s = board.settings()
    socks = []
    try:
        for i in range(5):
            sock = socket.socket()
            sock.settimeout(5)
            socks.append(sock)
            sock.connect((s["echo_host"], s["echo_port"]))
            sock.write(b"link %d" % i)
            true(sock.read(6) == b"link %d" % i)
    except OSError as e:
        c.problems.append("after the refusals, socket %d of 5: %s" % (len(socks), harness.describe(e)))
    finally:
        for sock in socks:
            sock.close()
    c.done()


# --- the module's own names and settings -------------------------------------------


def test_station_hostname():
    w = _wifi()
    c = Checks(w)
    for h in ESCAPED + ("x" * 32,):
        c.sends("hostname %r" % h, [b"AT+CWHOSTNAME=" + _q(h)], w.config, hostname=h)
    for h in NON_ASCII:
        c.sends_or_refuses("hostname %r" % h, [b"AT+CWHOSTNAME=" + _q(h)], w.config, hostname=h)
    for h in UNSENDABLE + ("", "x" * 33):
        c.refused("hostname %r" % h, w.config, hostname=h)
    c.done()


def test_ntp_servers():
    w = _wifi()
    c = Checks(w)
    servers = ('a"b', "c,d", "e\\f")
    line = b"AT+CIPSNTPCFG=1,8," + b",".join(_q(s) for s in servers)
    c.sends("servers %r" % (servers,), [line], w.ntp, True, 8, servers)
    c.sends("off", [b"AT+CIPSNTPCFG=0"], w.ntp, False)
    for s in NON_ASCII:
        c.sends_or_refuses("server %r" % s, [b"AT+CIPSNTPCFG=1,0," + _q(s)], w.ntp, True, 0, (s,))
    for s in UNSENDABLE + ("", "n" * 64):
        c.refused("server %r" % s[:20], w.ntp, True, 0, ("pool.ntp.org", s))
    for tz in (-12, 14):
        c.refused("tz=%d" % tz, w.ntp, True, tz)
    c.refused("four servers", w.ntp, True, 0, ("a", "b", "c", "d"))
    c.done()


# --- the SoftAP (manual 3.2.2.19-3.2.2.25) ------------------------------------------


def _softap(w):
    ap = w.softap()
    ap.active(True)
    return ap


def _cwsap(ssid, key, rest=b",6,3,4,0"):
    return [b"AT+CWSAP_CUR=" + _q(ssid) + b"," + _q(key) + rest]


def test_softap_strings():
    w = _wifi()
    ap = _softap(w)
    c = Checks(w)
    full = {"channel": 6, "security": 3, "max_clients": 4, "hidden": False}
    for s in ESCAPED:
        c.sends("ssid %r" % s, _cwsap(s, "password1"), ap.config, ssid=s, key="password1", **full)
        k = "pass" + s + "word"
        c.sends("key %r" % k, _cwsap("ap", k), ap.config, ssid="ap", key=k, **full)
    for s in NON_ASCII:
        c.sends_or_refuses("ssid %r" % s, _cwsap(s, "password1"), ap.config, ssid=s, key="password1", **full)
    for s in UNSENDABLE + ("", "x" * 33, "é" * 17):
        c.refused("ssid %r" % s, ap.config, ssid=s, key="password1", **full)
    for k in tuple("password" + s for s in UNSENDABLE) + ("k" * 65, "short"):
        c.refused("key %r" % k, ap.config, ssid="ap", key=k, **full)
    ap.active(False)
    c.done()


def test_softap_numbers():
    w = _wifi()
    ap = _softap(w)
    c = Checks(w)
    good = {"ssid": "ap", "key": "password1", "channel": 6, "security": 3, "max_clients": 4, "hidden": False}
    for name, bad in (
        ("channel", 0),
        ("channel", 14),
        ("channel", -1),
        ("channel", "6"),
        ("max_clients", 0),
        ("max_clients", 5),
        ("security", 1),  # WEP: not for a SoftAP (manual 3.2.2.23)
        ("security", 5),
    ):
        args = dict(good)
        args[name] = bad
        c.refused("%s=%r" % (name, bad), ap.config, **args)
        # Given alone, the other settings are read from the module first;
        # a bad value must still be refused before anything is sent.
        c.refused("%s=%r alone" % (name, bad), ap.config, **{name: bad})
    ap.active(False)
    c.done()


def test_softap_dhcp_pool_and_address():
    w = _wifi()
    ap = _softap(w)
    c = Checks(w)
    c.sends(
        "a good pool",
        [b'AT+CWDHCPS_CUR=1,120,"192.168.4.10","192.168.4.20"'],
        ap.dhcp_pool,
        "192.168.4.10",
        "192.168.4.20",
    )
    for lease in (0, 2881, -1):
        c.refused("lease_min=%d" % lease, ap.dhcp_pool, "192.168.4.10", "192.168.4.20", lease)
    for start, end, why in (
        ("192.168.4.200", "192.168.4.10", "start after end"),
        ("192.168.4.2", "192.168.5.2", "not one network (manual 3.2.2.21)"),
        ("192.168.4.2", "192.168.4.150", "149 addresses, at most 101 (manual 3.2.2.21)"),
        ('192.168.4.2"', "192.168.4.20", "not an address"),
        ("192.168.4.2", "192.168.4.300", "not an address"),
    ):
        c.refused("pool %s-%s: %s" % (start, end, why), ap.dhcp_pool, start, end)
    c.refused("AP address 300.1.1.1", ap.ifconfig, ("300.1.1.1", "255.255.255.0", "192.168.4.1", "0.0.0.0"))
    c.refused("AP netmask 1.2.3", ap.ifconfig, ("192.168.4.1", "1.2.3", "192.168.4.1", "0.0.0.0"))
    ap.active(False)
    c.done()


def test_station_ifconfig():
    w = _wifi()
    c = Checks(w)
    c.sends(
        "static address",
        [b'AT+CIPSTA_CUR="10.0.0.5","10.0.0.1","255.255.255.0"', b'AT+CIPDNS_CUR=1,"10.0.0.1"'],
        w.ifconfig,
        ("10.0.0.5", "255.255.255.0", "10.0.0.1", "10.0.0.1"),
    )
    for config, why in (
        (("10.0.0.5", "255.255.255.0", "10.0.0.1", "10.0.0"), "bad DNS server"),
        (('10.0.0.5"', "255.255.255.0", "10.0.0.1", "10.0.0.1"), "bad address"),
        (("10.0.0.5", "255.255.255.0", "10.0.0.256", "10.0.0.1"), "bad gateway"),
        (("10.0.0.5", "255.0.255.0", "10.0.0.1", "10.0.0.1"), "netmask with a hole"),
    ):
        c.refused("ifconfig: " + why, w.ifconfig, config)
    c.done()


# --- numbers: ports, lengths, timeouts, rates -----------------------------------------


def test_socket_numbers():
    w = _wifi()
    c = Checks(w)
    s = board.settings()
    for port in (0, 65536, -1):
        c.refused("connect port %d" % port, _connect, (s["echo_host"], port))
        c.refused("connect echo.test port %d" % port, _connect, ("echo.test", port))
    for port in (65536, -1):
        c.refused("bind port %d" % port, socket.socket().bind, ("0.0.0.0", port))
        c.refused("getaddrinfo 10.0.0.1 port %d" % port, socket.getaddrinfo, "10.0.0.1", port)
        c.refused("getaddrinfo echo.test port %d" % port, socket.getaddrinfo, "echo.test", port)
    sock = socket.socket()
    c.refused("settimeout(-1)", sock.settimeout, -1)
    c.refused("recv(-1)", sock.recv, -1)
    buf = bytearray(4)
    c.refused("recv_into nbytes -1", sock.recv_into, buf, -1)
    c.refused("recv_into nbytes 5 > 4", sock.recv_into, buf, 5)
    c.refused("readinto nbytes 5 > 4", sock.readinto, buf, 5)
    c.refused("write n 4 > 3", sock.write, b"abc", 4)
    c.refused("write n -1", sock.write, b"abc", -1)
    sock.close()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    c.refused("sendto 0 bytes", udp.sendto, b"", (s["echo_host"], s["udp_echo_port"]))
    c.refused("sendto 2049 bytes", udp.sendto, b"x" * 2049, (s["echo_host"], s["udp_echo_port"]))
    for port in (0, 65536, -1):
        c.refused("sendto port %d" % port, udp.sendto, b"x", (s["echo_host"], port))
    udp.close()
    server = socket.socket()
    server.bind(("0.0.0.0", 40123))
    for idle in (-1, 7201):
        c.refused("listen idle_s=%d" % idle, server.listen, 1, idle)
    server.close()
    tcp = socket.socket()
    tcp.settimeout(5)
    tcp.connect((s["echo_host"], s["echo_port"]))
    c.sends("send(b'')", [], tcp.send, b"")
    tcp.close()
    c.done()


def test_timeouts_rates_and_sizes():
    w = _wifi()
    c = Checks(w)
    c.refused("ping timeout_ms=-1", w.ping, "127.0.0.1", -1)
    c.refused("scan timeout_ms=-1", w.scan, -1)
    for rate in (12345, -1, 0):
        c.refused("set_uart(%d)" % rate, w.set_uart, rate)
    for size in (2047, 4097, -1):
        c.refused("ssl.set_buffer_size(%d)" % size, wssl.set_buffer_size, size)
    c.done()


class _SilentUART:
    # A UART where nothing answers; counts what is written to it.
    written = 0

    def any(self):
        return 0

    def readinto(self, buf, nbytes=None):
        return None

    def write(self, buf):
        self.written += len(buf)
        return len(buf)


def test_constructor_numbers():
    before = wizfi360._current
    problems = []
    try:
        for kwargs in ({"timeout_ms": -1}, {"rx_size": 10}, {"link_size": 10}, {"rx_budget": -1}):
            uart = _SilentUART()
            try:
                wizfi360.WizFi360(uart, **kwargs)
                problems.append("%r accepted" % (kwargs,))
            except ValueError:
                if uart.written:
                    problems.append("%r refused after writing %d bytes" % (kwargs, uart.written))
            except Exception as e:
                problems.append("%r: %s instead of ValueError" % (kwargs, harness.describe(e)))
    finally:
        wizfi360._current = before  # sockets of the other tests keep their driver
    if problems:
        raise AssertionError("; ".join(problems))


harness.main(globals())
