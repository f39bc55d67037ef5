# heapsize: 160K
# Wi-Fi station API against the emulator (or a real module and AP on a board).
import errno

import board
import harness
import wizfi360
from harness import eq, raises, true

_w = None


def _wifi():
    # One module, one driver for the whole file, as on a board.
    global _w
    if _w is None:
        _w = board.make_wifi()
    _w.active(True)
    return _w


def test_version_and_mac():
    w = _wifi()
    true(w.version().startswith("AT version:"), w.version())
    mac = w.config("mac")
    eq(len(mac), 6)


def test_join_ifconfig_disconnect():
    s = board.settings()
    w = _wifi()
    w.disconnect()
    eq(w.isconnected(), False)
    w.connect(s["ssid"], s["key"])
    true(w.isconnected())
    eq(w.status(), wizfi360.STAT_GOT_IP)
    eq(w.config("ssid"), s["ssid"])
    ip, mask, gw, dns = w.ifconfig()
    eq(len(ip.split(".")), 4)
    true(ip != "0.0.0.0", ip)
    true(isinstance(w.status("rssi"), int))
    w.disconnect()
    eq(w.isconnected(), False)
    eq(w.status(), wizfi360.STAT_IDLE)


def test_wrong_password():
    s = board.settings()
    w = _wifi()
    e = raises(OSError, w.connect, s["ssid"], "not-the-password")
    eq(e.errno, errno.EACCES)
    true("password" in str(e), str(e))
    eq(w.status(), wizfi360.STAT_WRONG_PASSWORD)
    eq(w.isconnected(), False)


def test_ap_not_found():
    w = _wifi()
    e = raises(OSError, w.connect, "no-such-ap-here", "whatever1")
    eq(e.errno, errno.ENOENT)
    eq(w.status(), wizfi360.STAT_NO_AP_FOUND)


def test_join_timeout_then_recovers():
    # The host gives up first; the module's late answer must not be taken
    # for the next command's.
    s = board.settings()
    w = _wifi()
    e = raises(OSError, w.connect, s["ssid"], s["key"], timeout_ms=20)
    eq(e.errno, errno.ETIMEDOUT)
    w.connect(s["ssid"], s["key"])
    true(w.isconnected())
    true(w.version().startswith("AT version:"))


def test_scan_shape():
    s = board.settings()
    w = _wifi()
    found = w.scan()
    true(len(found) >= 1)
    for ssid, bssid, channel, rssi, security, hidden in found:
        true(isinstance(ssid, bytes))
        true(security in (0, 1, 2, 3, 4))
        eq(hidden, False)
        eq(len(bssid), 6)
        true(1 <= channel <= 14)
        true(rssi < 0)
    true(s["ssid"].encode() in [f[0] for f in found])


def test_hostname():
    w = _wifi()
    w.config(hostname="sensor-7")
    eq(w.config("hostname"), "sensor-7")
    raises(ValueError, w.config, hostname="x" * 33)
    raises(ValueError, w.config, hostname="bad\r\nAT+RST")
    raises(ValueError, w.config, "no-such-param")


def test_bad_arguments_send_nothing():
    w = _wifi()
    for ssid, key in (
        ("ok", "a\rb"),
        ("a\nb", "k"),
        ("a\x00b", "k"),
        ("", "k"),
        ("x" * 33, "k"),
        ("ok", "k" * 65),
    ):
        raises(ValueError, w.connect, ssid, key)
    raises(ValueError, w.connect, "ok", "k", bssid="zz:zz")
    raises(ValueError, w.connect, "ok", "k", timeout_ms=0)
    raises(TypeError, w.connect, 5, "k")
    # The module is still in step afterwards.
    true(w.version().startswith("AT version:"))


def test_special_characters_are_escaped():
    # The emulator (and a test AP on a board) has an AP named a"b\c,d with
    # password p"w\d,1: joining works only if both are escaped (manual 3.2.2.15).
    w = _wifi()
    w.connect('a"b\\c,d', 'p"w\\d,1')
    true(w.isconnected())
    eq(w.config("ssid"), 'a"b\\c,d')


harness.main(globals())
