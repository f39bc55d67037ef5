# The station's less used queries, imported by WizFi360 on first use:
# ifconfig (manual 3.2.2.7, 3.2.2.5), scan (3.2.2.13), config (3.2.2.9,
# 3.2.2.26, 3.2.2.15), status("rssi"), and MAC address text.

import errno

from .escape import quote, unquote


def status(w, param):
    if param == "rssi":
        info = w._query(b"AT+CWJAP_CUR?", b"+CWJAP_CUR:")
        if not info:
            raise OSError(errno.ENOTCONN, "not connected")
        f = around(info[0], 0, 3)
        if f is None:
            raise OSError(errno.EIO, "bad +CWJAP_CUR line")
        return int(f[3])
    raise ValueError("unknown status param")


def ifconfig(w):
    got = {}
    for ln in w._query(b"AT+CIPSTA_CUR?", b"+CIPSTA_CUR:"):
        c = ln.find(b":")
        got[bytes(ln[:c])] = unquote(ln, c + 1, len(ln)).decode()
    dns = w._query(b"AT+CIPDNS_CUR?", b"+CIPDNS_CUR:")
    return (
        got.get(b"ip", "0.0.0.0"),
        got.get(b"netmask", "0.0.0.0"),
        got.get(b"gateway", "0.0.0.0"),
        unquote(dns[0], 0, len(dns[0])).decode().strip() if dns else "0.0.0.0",
    )


def scan(w, timeout_ms):
    found = []
    for ln in w._query(b"AT+CWLAP", b"+CWLAP:", timeout_ms):
        s = ln.find(b"(")
        e = ln.rfind(b")")
        if s < 0 or e < s:
            continue
        f = around(ln[s + 1 : e], 1, 3)
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


def config(w, args, kwargs):
    if args and kwargs:
        raise TypeError("get or set, not both")
    if kwargs:
        for k, v in kwargs.items():
            if k == "hostname":
                w._ok(b"AT+CWHOSTNAME=" + quote(v, "hostname", 32))  # 3.2.2.26
            else:
                raise ValueError("unknown config param: %s" % k)
        return None
    if len(args) != 1:
        raise TypeError("config() takes one parameter name")
    k = args[0]
    if k == "mac":
        out = w._query(b"AT+CIPSTAMAC_CUR?", b"+CIPSTAMAC_CUR:")
        return mac_bytes(unquote(out[0], 0, len(out[0]))) if out else b""
    if k == "hostname":
        out = w._query(b"AT+CWHOSTNAME?", b"+CWHOSTNAME:")
        return unquote(out[0], 0, len(out[0])).decode() if out else ""
    if k in ("ssid", "essid"):
        out = w._query(b"AT+CWJAP_CUR?", b"+CWJAP_CUR:")
        if not out:
            return ""
        f = around(out[0], 0, 3)
        return strip_quotes(f[0]).decode() if f else ""
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


def strip_quotes(b):
    b = bytes(b).strip()
    if len(b) >= 2 and b[0] == 34 and b[-1] == 34:
        return b[1:-1]
    return b


def mac_text(mac):
    if isinstance(mac, (bytes, bytearray)) and len(mac) == 6:
        return ":".join("%02x" % b for b in mac)
    if isinstance(mac, str) and len(mac_bytes(mac.encode())) == 6:
        return mac
    raise ValueError("bssid must be 6 bytes or 'aa:bb:cc:dd:ee:ff'")


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
