# The module's access point, shaped like network.WLAN(network.AP_IF); got
# from WizFi360.softap(), loaded on first use. Manual 3.2.2.19-3.2.2.25:
# AT+CWSAP (name, key, channel, security, clients, hidden), AT+CIPAP (its
# address), AT+CWDHCPS (the addresses it hands out), AT+CWLIF (clients).
# Station and SoftAP can run at once (AT+CWMODE_CUR=3). Settings use the
# _CUR commands; persist=True uses _DEF, which the module saves to flash.

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


from .at.escape import quote
from .station_info import around, cmd_suffix, ip_arg, mac_bytes, mask_arg, read_ipconfig, strip_quotes

# For the type checker only: MicroPython folds the constant and compiles the
# blocks under it away (no global, no import of the package back at run
# time); the checker reads them.
_TYPE_CHECKING = const(0)
if _TYPE_CHECKING:
    from . import WizFi360


# security= values (the manual's <ecn>; WEP is not offered for a SoftAP).
AUTH_OPEN = 0
AUTH_WPA_PSK = 2
AUTH_WPA2_PSK = 3

_KEYS = ("ssid", "key", "channel", "security", "max_clients", "hidden")


def _check(channel, security, clients):
    # Manual 3.2.2.23: channel 1-13, ecn 0/2/3 (no WEP), 1-4 stations.
    if security not in (AUTH_OPEN, AUTH_WPA_PSK, AUTH_WPA2_PSK):
        raise ValueError("security must be AUTH_OPEN, AUTH_WPA_PSK or AUTH_WPA2_PSK")
    if not (isinstance(channel, int) and 1 <= channel <= 13):
        raise ValueError("channel must be 1-13")
    if not (isinstance(clients, int) and 1 <= clients <= 4):
        raise ValueError("max_clients must be 1-4")


class SoftAP:
    def __init__(self, wifi):
        self._w = wifi

    def active(self, is_active=None):
        w = self._w
        if is_active is None:
            return w._ap
        w._mode(w._sta, bool(is_active))
        return None

    def config(self, *args, persist=False, **kwargs):
        # config("ssid" | "key" | "channel" | "security" | "max_clients" |
        # "hidden") or config(name=value, ...): unchanged values are kept.
        if args and kwargs:
            raise TypeError("get or set, not both")
        if not kwargs:
            if len(args) != 1 or args[0] not in _KEYS:
                raise ValueError("unknown config param")
            return self._settings(persist)[_KEYS.index(args[0])]
        for k in kwargs:
            if k not in _KEYS:
                raise ValueError("unknown config param: %s" % k)
        # The values given are checked before the current ones are asked for.
        _check(*[kwargs.get(k, d) for k, d in zip(_KEYS[2:5], (1, AUTH_OPEN, 1))])
        cur = list(self._settings(persist)) if len(kwargs) < len(_KEYS) else [None] * 6
        for k, v in kwargs.items():
            cur[_KEYS.index(k)] = v
        ssid, key, channel, security, clients, hidden = cur
        _check(channel, security, clients)
        cmd = b"AT+CWSAP%s=%s,%s,%d,%d,%d,%d" % (
            cmd_suffix(persist),
            quote(ssid, "ssid", 32),
            quote(key or b"", "key", 64, 0 if security == AUTH_OPEN else 8),
            channel,
            security,
            clients,
            1 if hidden else 0,
        )
        self._w._ok(cmd)  # 3.2.2.23
        return None

    def _settings(self, persist):
        # +CWSAP_CUR:"<ssid>","<key>",<channel>,<ecn>,<max conn>,<hidden>
        sfx = cmd_suffix(persist)
        out = self._w._query(b"AT+CWSAP" + sfx + b"?", b"+CWSAP" + sfx + b":")
        f = around(out[0], 0, 4) if out else None
        if f is None:
            return ("", "", 1, AUTH_OPEN, 4, False)
        names = f[0]
        cut = names.find(b'","')  # between the two quoted texts
        ssid, key = (names, b"") if cut < 0 else (names[: cut + 1], names[cut + 2 :])
        return (
            strip_quotes(ssid).decode(),
            strip_quotes(key).decode(),
            int(f[1]),
            int(f[2]),
            int(f[3]),
            f[4].strip() == b"1",
        )

    # What the checker needs to tell a query from a setting (no code).
    if _TYPE_CHECKING:
        from typing import overload

        @overload
        def ifconfig(self, config: None = None, *, persist: bool = False) -> "tuple[str, str, str, str]": ...
        @overload
        def ifconfig(self, config: "tuple[str, str, str, str]", *, persist: bool = False) -> None: ...

    def ifconfig(self, config=None, *, persist=False):
        # (ip, netmask, gateway, dns) of the access point (3.2.2.19); set with
        # a 4-tuple (dns is not used by the module's AP and is ignored).
        sfx = cmd_suffix(persist)
        if config is None:
            return read_ipconfig(self._w, b"AT+CIPAP" + sfx + b"?", b"+CIPAP" + sfx + b":", None)
        ip, mask, gw, _ = config
        self._w._ok(b"AT+CIPAP%s=%s,%s,%s" % (sfx, ip_arg(ip), ip_arg(gw), mask_arg(mask)))
        return None

    def dhcp_pool(self, start=None, end=None, lease_min=120, *, persist=False):
        # The addresses the AP hands out (3.2.2.21): start-end (at most 101,
        # on the AP's network), or the module's default pool with no range.
        sfx = cmd_suffix(persist)
        if start is None:
            self._w._ok(b"AT+CWDHCPS" + sfx + b"=0")
            return
        if not (isinstance(lease_min, int) and 1 <= lease_min <= 2880):
            raise ValueError("lease_min must be 1-2880")
        first, last = ip_arg(start), ip_arg(end)
        a = start.split(".")
        b = str(end).split(".")
        n = int(b[3]) - int(a[3]) + 1
        if a[:3] != b[:3] or not 1 <= n <= 101:  # 3.2.2.21
            raise ValueError("the pool must be 1-101 addresses, start to end, on one network")
        self._w._ok(b"AT+CWDHCPS%s=1,%d,%s,%s" % (sfx, lease_min, first, last))

    def status(self, param=None):
        # status("stations"): [(mac, ip)] of the clients (AT+CWLIF, 3.2.2.25).
        if param != "stations":
            raise ValueError("unknown status param")
        found = []
        for ln in self._w._ok(b"AT+CWLIF", None, True):
            f = ln.split(b",")
            if len(f) == 2:
                try:
                    found.append((mac_bytes(strip_quotes(f[1])), strip_quotes(f[0]).decode()))
                except ValueError:
                    pass  # not a client line
        return found

    def isconnected(self):
        return bool(self.status("stations"))


def softap(self: "WizFi360"):
    # WizFi360.softap(): the module's access point, shaped like
    # network.WLAN(network.AP_IF); one object per WizFi360.
    if self._softap is None:
        self._softap = SoftAP(self)
    return self._softap
