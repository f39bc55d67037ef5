# The station's less used queries and settings, imported by WizFi360 on
# first use: ifconfig (manual 3.2.2.3, 3.2.2.5, 3.2.2.7), scan (3.2.2.13),
# config (3.2.2.9, 3.2.2.15, 3.2.2.17, 3.2.2.26), disconnect (3.2.2.18),
# status("rssi"), and MAC
# address text. persist=True picks the _DEF commands, which the module also
# saves to flash; the default _CUR ones last until the module resets.
# WizFi360's methods of the same names forward to these.

import errno

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


from .at.escape import is_ip, number, quote, text, unquote

# The type checker takes this name as true whatever its value: the import
# below is for annotations only (no import of the package back at run time).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import WizFi360

# Private copies of at/engine.py's constants: folded at compile time, so they cost
# no global and no interned name. The values are defined by at/engine.py and
# must match (tests_host/package/test_const_copies.py checks).
_WIFI_DOWN = const(0)

# wizfi360's STAT_* values, and at/engine.py's and wire/parser.py's constants.
_STAT_IDLE = const(0)
_STAT_CONNECT_FAIL = const(-1)
_STAT_NO_AP_FOUND = const(-2)
_STAT_WRONG_PASSWORD = const(-3)
_TIMED_OUT = const(-2)
_GONE = const(-3)  # at/engine.py: the module rebooted
_EV_FAIL = const(3)


def disconnect(self: "WizFi360"):
    self._cmd(b"AT+CWQAP")  # 3.2.2.18
    self._at.wifi = _WIFI_DOWN
    self._status = _STAT_IDLE


def join_failure(op):
    # (errno, reason, status()) for a join (AT+CWJAP, 3.2.2.15) that failed:
    # op is its engine.Op. +CWJAP_CUR:<code> says why: 1 timed out, 2 wrong
    # password, 3 AP not found, 4 (or anything else) failed. Loaded only
    # when a join fails, so the table costs no heap before.
    if op.result == _GONE:
        return errno.ECONNABORTED, "the module restarted during the join", _STAT_CONNECT_FAIL
    code = 1 if op.result == _TIMED_OUT else 4
    if op.result == _EV_FAIL:
        for ln in op.out or ():  # never None with lines=True
            if ln.startswith(b"+CWJAP"):
                try:
                    code = int(ln[ln.find(b":") + 1 :])
                except ValueError:
                    pass
    if code == 1:
        return errno.ETIMEDOUT, "join timed out", _STAT_CONNECT_FAIL
    if code == 2:
        return errno.EACCES, "wrong password", _STAT_WRONG_PASSWORD
    if code == 3:
        return errno.ENOENT, "AP not found", _STAT_NO_AP_FOUND
    return errno.ECONNREFUSED, "join failed", _STAT_CONNECT_FAIL


def status(w: "WizFi360", param):
    # status(param) for any param but None.
    if param == "rssi":
        info = w._query(b"AT+CWJAP_CUR?", b"+CWJAP_CUR:")
        if not info:
            raise OSError(errno.ENOTCONN, "not connected")
        f = around(info[0], 0, 3)
        if f is None:
            raise OSError(errno.EIO, "bad +CWJAP_CUR line")
        return number(f[3])
    raise ValueError("unknown status param")


def cmd_suffix(persist):
    return b"_DEF" if persist else b"_CUR"


def ifconfig(self: "WizFi360", config=None, *, persist=False):
    # (ip, netmask, gateway, dns) as strings (3.2.2.7, 3.2.2.5); with a
    # 4-tuple, a static address and DNS server; with "dhcp", DHCP again.
    sfx = cmd_suffix(persist)
    if config is None:
        return read_ipconfig(self, b"AT+CIPSTA" + sfx + b"?", b"+CIPSTA" + sfx + b":", b"+CIPDNS_CUR:")
    if config == "dhcp":  # 3.2.2.3: DHCP on again; DNS from DHCP (3.2.2.5)
        self._ok(b"AT+CWDHCP" + sfx + b"=1,1")
        self._ok(b"AT+CIPDNS" + sfx + b"=0")
        return None
    ip, mask, gw, dns = config
    args = b"%s,%s,%s" % (ip_arg(ip), ip_arg(gw), mask_arg(mask))
    dns = ip_arg(dns)  # all four are checked before anything is sent
    self._ok(b"AT+CIPSTA" + sfx + b"=" + args)  # 3.2.2.7
    self._ok(b"AT+CIPDNS" + sfx + b"=1," + dns)
    return None


def read_ipconfig(w, query, prefix, dns_prefix):
    # +..:ip:"a.b.c.d" / gateway / netmask lines (3.2.2.7, 3.2.2.19), then DNS.
    got = {}
    for ln in w._query(query, prefix):
        c = ln.find(b":")
        got[bytes(ln[:c])] = text(unquote(ln, c + 1, len(ln)))
    dns = w._query(b"AT+CIPDNS_CUR?", dns_prefix) if dns_prefix else None
    return (
        got.get(b"ip", "0.0.0.0"),
        got.get(b"netmask", "0.0.0.0"),
        got.get(b"gateway", "0.0.0.0"),
        text(unquote(dns[0], 0, len(dns[0]))).strip() if dns else "0.0.0.0",
    )


def ip_arg(ip):
    # A dotted quad, checked, as a quoted AT parameter.
    if not isinstance(ip, str) or not is_ip(ip):
        raise ValueError("not an IPv4 address: %r" % (ip,))
    return b'"%s"' % ip.encode()


def mask_arg(mask):
    # A netmask: ones, then zeros.
    arg = ip_arg(mask)
    v = 0
    for part in mask.split("."):
        v = v << 8 | int(part)
    inv = ~v & 0xFFFFFFFF
    if inv & (inv + 1):
        raise ValueError("not a netmask: %r" % (mask,))
    return arg


def scan(self: "WizFi360", timeout_ms=15000):
    # [(ssid, bssid, channel, rssi, security, hidden)] like network.WLAN.scan().
    found = []
    for ln in self._query(b"AT+CWLAP", b"+CWLAP:", timeout_ms):
        s = ln.find(b"(")
        e = ln.rfind(b")")
        if s < 0 or e < s:
            continue
        # (ecn,"ssid",rssi,"mac",channel) as in the manual, or with two more
        # fields (freq offset, freq cal) as the Mbed driver reads them: the
        # count follows AT+CWLAPOPT (module-notes). The SSID, raw, may hold
        # commas: 7 fields only if that split leaves it and the MAC quoted.
        body = ln[s + 1 : e]
        f = around(body, 1, 5)
        if f is None or not (_quoted(f[1]) and _quoted(f[3])):
            f = around(body, 1, 3)
        if f is None:
            continue
        try:
            ecn = int(f[0])
            rssi = int(f[2])
            channel = int(f[4])
            mac = mac_bytes(strip_quotes(f[3]))
        except ValueError:
            continue
        found.append((strip_quotes(f[1]), mac, channel, rssi, ecn, False))
    return found


def config(self: "WizFi360", *args, persist=False, **kwargs):
    # config("mac" | "hostname" | "ssid"); config(hostname=..., mac=...,
    # autoconnect=...). persist=True writes the _DEF (flash) forms.
    if args and kwargs:
        raise TypeError("get or set, not both")
    sfx = cmd_suffix(persist)
    if kwargs:
        cmds = []  # all checked before any is sent
        for k, v in kwargs.items():
            if k == "hostname":
                cmds.append(b"AT+CWHOSTNAME=" + quote(v, "hostname", 32))  # 3.2.2.26
            elif k == "mac":
                cmds.append(b"AT+CIPSTAMAC" + sfx + b"=" + quote(mac_text(v), "mac", 17))  # 3.2.2.9
            elif k == "autoconnect":
                cmds.append(b"AT+CWAUTOCONN=%d" % (1 if v else 0))  # 3.2.2.17 (flash)
            else:
                raise ValueError("unknown config param: %s" % k)
        for c in cmds:
            self._ok(c)
        return None
    if len(args) != 1:
        raise TypeError("config() takes one parameter name")
    k = args[0]
    if k == "mac":
        out = self._query(b"AT+CIPSTAMAC" + sfx + b"?", b"+CIPSTAMAC" + sfx + b":")
        return mac_bytes(unquote(out[0], 0, len(out[0]))) if out else b""
    if k == "hostname":
        out = self._query(b"AT+CWHOSTNAME?", b"+CWHOSTNAME:")
        return text(unquote(out[0], 0, len(out[0]))) if out else ""
    if k in ("ssid", "essid"):
        out = self._query(b"AT+CWJAP_CUR?", b"+CWJAP_CUR:")
        if not out:
            return ""
        f = around(out[0], 0, 3)
        return text(strip_quotes(f[0])) if f else ""
    raise ValueError("unknown config param: %s" % k)


def around(line, left, right):
    # Split a line of module output around its one free-text field (an SSID,
    # which the module prints raw: it may hold quotes and commas): `left`
    # fields before it and `right` fields after it are split at commas.
    parts = line.split(b",", left)
    if len(parts) <= left:
        return None
    tail = parts[left].rsplit(b",", right)
    if len(tail) <= right:
        return None
    return parts[:left] + tail


def _quoted(b):
    b = bytes(b).strip()
    return len(b) >= 2 and b[0] == 34 and b[-1] == 34


def strip_quotes(b):
    b = bytes(b).strip()
    if len(b) >= 2 and b[0] == 34 and b[-1] == 34:
        return b[1:-1]
    return b


def mac_text(mac):
    if isinstance(mac, (bytes, bytearray)) and len(mac) == 6:
        return ":".join("%02x" % b for b in mac)
    if isinstance(mac, str):
        try:
            mac_bytes(mac.encode())
            return mac
        except ValueError:
            pass
    raise ValueError("a MAC address is 6 bytes or 'aa:bb:cc:dd:ee:ff'")


def mac_bytes(text):
    parts = bytes(text).split(b":")
    if len(parts) != 6:
        raise ValueError("bad MAC address")
    out = bytearray(6)
    for i, p in enumerate(parts):
        if len(p) != 2:
            raise ValueError("bad MAC address")
        out[i] = int(p, 16)
    return bytes(out)
