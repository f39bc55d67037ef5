"""Fake access points and emulator options from code, a JSON file or `--ap` options."""

import json
from dataclasses import dataclass

DEFAULT_SSID = "WizFiTest"
DEFAULT_PASSWORD = "wizfi360pass"

# Emulator keyword arguments a config file may set (besides "aps").
OPTION_KEYS = (
    "host",
    "tcp_port",
    "pty",
    "prompt",
    "ipd_max",
    "join_delay_s",
    "cwjap_code",
    "dns_quoted",
    "dns_map",
    "boot_garbage",
    "connect_timeout_s",
    "ssl_reboot_below",
    "server_host",
    "cipsto_unit_s",
    "cwlif_quoted",
    "control_port",
    "quirks",  # a profile name, or {"profile": "real", "<quirk>": value, ...} (quirks.py)
)


@dataclass
class AccessPoint:
    """One fake AP. ecn: 0 open, 1 WEP, 2 WPA_PSK, 3 WPA2_PSK, 4 WPA_WPA2_PSK.
    fail_code, when not 0, makes every join to this AP fail with that +CWJAP code
    (1 timeout, 2 wrong password, 3 not found, 4 failed)."""

    ssid: str
    password: str = ""
    bssid: str = "aa:bb:cc:dd:ee:ff"
    channel: int = 6
    rssi: int = -55
    ecn: int = 3
    fail_code: int = 0


def match_ap(aps, ssid, password, bssid=None):
    """Join attempt -> (the AccessPoint, 0) or (None, +CWJAP error code)."""
    found = [ap for ap in aps if ap.ssid == ssid and (bssid is None or ap.bssid.lower() == bssid)]
    if not found:
        return None, 3
    if found[0].fail_code:
        return None, found[0].fail_code
    if found[0].password != password:
        return None, 2
    return found[0], 0


def default_aps():
    return [AccessPoint(DEFAULT_SSID, DEFAULT_PASSWORD)]


def ap_from_option(text):
    """'SSID:PASSWORD' (split at the first colon) -> AccessPoint. No colon: open AP."""
    ssid, sep, password = text.partition(":")
    if not ssid:
        raise ValueError("--ap needs SSID:PASSWORD, got %r" % text)
    return AccessPoint(ssid, password, ecn=3 if sep and password else 0)


def ap_from_dict(d):
    if not isinstance(d, dict) or "ssid" not in d:
        raise ValueError('each AP needs at least an "ssid": %r' % (d,))
    fields = AccessPoint.__dataclass_fields__
    unknown = set(d) - set(fields)
    if unknown:
        raise ValueError("unknown AP keys: %s" % ", ".join(sorted(unknown)))
    return AccessPoint(**d)


def load_config(path):
    """Read a JSON config file -> dict of Emulator keyword arguments.
    Format: {"aps": [{"ssid": .., "password": .., ...}], "join_delay_s": 0.2, ...}"""
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    if not isinstance(raw, dict):
        raise ValueError("config file must hold a JSON object")
    unknown = set(raw) - set(OPTION_KEYS) - {"aps"}
    if unknown:
        raise ValueError("unknown config keys: %s" % ", ".join(sorted(unknown)))
    kwargs = {k: raw[k] for k in OPTION_KEYS if k in raw}
    for key in ("prompt", "boot_garbage"):
        if isinstance(kwargs.get(key), str):
            kwargs[key] = kwargs[key].encode("latin-1")
    if "aps" in raw:
        kwargs["aps"] = [ap_from_dict(d) for d in raw["aps"]]
    return kwargs
