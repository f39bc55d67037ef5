"""SoftAP, station settings and module services through the emulator, on CPython."""

import errno
import time

import pytest

import wizfi360
from wizfi360_host.hostuart import SocketUART

SSID, KEY = "WizFiTest", "wizfi360pass"


def test_softap_config_and_station_together(emu, driver):
    ap = driver.softap()
    assert driver.softap() is ap
    ap.active(True)
    assert emu.commands[-1] == b"AT+CWMODE_CUR=2"
    ap.config(ssid="sensor-ap", key="secret123", channel=6, security=3, max_clients=2, hidden=False)
    assert ap.config("ssid") == "sensor-ap"
    assert ap.config("channel") == 6
    assert ap.config("max_clients") == 2
    ap.config(hidden=True)  # the other settings are kept
    assert ap.config("ssid") == "sensor-ap" and ap.config("hidden") is True
    driver.active(True)
    assert emu.commands[-1] == b"AT+CWMODE_CUR=3"
    driver.connect(SSID, KEY)
    assert driver.isconnected() and ap.active()
    ap.active(False)
    assert emu.commands[-1] == b"AT+CWMODE_CUR=1"


def test_softap_bad_settings_send_nothing(emu, driver):
    ap = driver.softap()
    ap.active(True)
    n = len(emu.commands)
    for bad in (
        dict(channel=14),
        dict(security=1),
        dict(max_clients=5),
        dict(key="short", security=3),
        dict(ssid=""),
    ):
        with pytest.raises(ValueError):
            good = dict(ssid="x", key="secret123", channel=1, security=3, max_clients=1, hidden=False)
            good.update(bad)
            ap.config(**good)
    with pytest.raises(ValueError):
        ap.config(nonsense=1)
    assert all(not c.startswith(b"AT+CWSAP_CUR=") for c in emu.commands[n:])


def test_softap_address_pool_and_clients(emu, driver):
    ap = driver.softap()
    ap.active(True)
    ap.ifconfig(("192.168.50.1", "255.255.255.0", "192.168.50.1", "0.0.0.0"))
    assert ap.ifconfig()[:3] == ("192.168.50.1", "255.255.255.0", "192.168.50.1")
    ap.dhcp_pool("192.168.50.100", "192.168.50.150", lease_min=60)
    assert b'AT+CWDHCPS_CUR=1,60,"192.168.50.100","192.168.50.150"' in emu.commands
    assert ap.status("stations") == []
    emu.add_station("18:cf:5e:c5:ce:76")
    deadline = time.monotonic() + 2
    while not ap.status("stations") and time.monotonic() < deadline:
        time.sleep(0.01)
    ((mac, ip),) = ap.status("stations")
    assert mac == bytes.fromhex("18cf5ec5ce76") and ip.startswith("192.168.50.")
    assert ap.isconnected()
    with pytest.raises(ValueError):
        ap.ifconfig(("300.1.1.1", "255.255.255.0", "192.168.50.1", "0.0.0.0"))
    with pytest.raises(ValueError):
        ap.dhcp_pool("192.168.50.100", "192.168.50.150", lease_min=0)


def test_static_ip_dns_and_back_to_dhcp(emu, driver):
    driver.connect(SSID, KEY)
    driver.ifconfig(("192.168.10.77", "255.255.255.0", "192.168.10.1", "9.9.9.9"))
    assert driver.ifconfig() == ("192.168.10.77", "255.255.255.0", "192.168.10.1", "9.9.9.9")
    driver.ifconfig("dhcp")
    assert driver.ifconfig()[0] != "192.168.10.77"
    with pytest.raises(ValueError):
        driver.ifconfig(("192.168.10.77", "255.255.255.0", "gateway", "9.9.9.9"))


def test_mac_hostname_autoconnect_and_persist(emu, driver):
    driver.active(True)
    driver.config(mac=b"\x00\x08\xdc\x01\x02\x03")
    assert driver.config("mac") == b"\x00\x08\xdc\x01\x02\x03"
    driver.config(mac="00:08:dc:0a:0b:0c", persist=True)
    assert b'AT+CIPSTAMAC_DEF="00:08:dc:0a:0b:0c"' in emu.commands
    assert driver.config("mac", persist=True) == bytes.fromhex("0008dc0a0b0c")
    driver.config(autoconnect=False)
    assert emu.commands[-1] == b"AT+CWAUTOCONN=0"
    with pytest.raises(ValueError):
        driver.config(mac=b"\x01\x02")
    driver.connect(SSID, KEY, persist=True)
    assert any(c.startswith(b'AT+CWJAP_DEF="WizFiTest"') for c in emu.commands)


def test_ping_and_errors(emu, driver):
    driver.connect(SSID, KEY)
    ms = driver.ping("peer.test")
    assert isinstance(ms, int) and ms >= 1
    with pytest.raises(OSError) as e:
        driver.ping("nowhere.invalid")
    assert e.value.errno == errno.EHOSTUNREACH
    with pytest.raises(ValueError):
        driver.ping("bad\r\nhost")


def test_ntp_and_module_time(emu, driver):
    driver.connect(SSID, KEY)
    assert driver.time()[0] == 1970  # SNTP off: the module's epoch
    driver.ntp(True, tz=2, servers=("pool.ntp.org",))
    assert emu.commands[-1] == b'AT+CIPSNTPCFG=1,2,"pool.ntp.org"'
    year, month, day, hh, mm, ss, wday, yday = driver.time()
    now = time.gmtime(time.time() + 2 * 3600)
    assert (year, month, day, wday, yday) == (now.tm_year, now.tm_mon, now.tm_mday, now.tm_wday, now.tm_yday)
    driver.ntp(False)
    assert emu.commands[-1] == b"AT+CIPSNTPCFG=0"
    with pytest.raises(ValueError):
        driver.ntp(True, tz=14)


class RateUART:
    """SocketUART with init(baudrate=, flow=) like machine.UART, and a model of the
    line: the module takes AT+UART_CUR's new rate right after its OK (unless it is
    told to stay behind); while the two rates differ, bytes are garbled both ways."""

    def __init__(self, emu, module_follows=True):
        self.inner = SocketUART("127.0.0.1", emu.tcp_port)
        self.baudrate = self.module_rate = 115200
        self.module_follows = module_follows
        self.pending = None
        self.inits = []

    def init(self, baudrate, flow=0):
        self.inits.append((baudrate, flow))
        self.baudrate = baudrate

    def any(self):
        return self.inner.any()

    def readinto(self, buf, nbytes=None):
        n = self.inner.readinto(buf, nbytes)
        if n and self.baudrate != self.module_rate:
            for i in range(n):
                buf[i] = 0xFF  # framing garbage
        if n and self.pending and b"OK" in bytes(buf[:n]):
            if self.module_follows:
                self.module_rate = self.pending
            self.pending = None
        return n

    def write(self, buf):
        if self.baudrate != self.module_rate:
            return len(buf)  # lost on the wire
        if bytes(buf).startswith(b"AT+UART_CUR="):
            self.pending = int(bytes(buf)[12:].split(b",")[0])
        return self.inner.write(buf)


def test_set_uart_switches_both_sides(emu):
    uart = RateUART(emu)
    w = wizfi360.WizFi360(uart)
    assert w.set_uart(921600) == 0
    assert emu.commands[-3:] == [b"AT+UART_CUR=921600,8,1,0,0", b"AT", b"AT+UART_CUR?"]
    assert uart.inits == [(921600, 0)] and uart.module_rate == 921600
    assert w.version().startswith("AT version:")
    with pytest.raises(ValueError):
        w.set_uart(12345)


def test_set_uart_recovers_when_the_module_stays_behind(emu):
    uart = RateUART(emu, module_follows=False)
    w = wizfi360.WizFi360(uart)
    with pytest.raises(OSError) as e:
        w.set_uart(230400)
    assert e.value.errno == errno.EIO
    assert uart.inits == [(230400, 0), (115200, 0)]  # the host went back
    assert w.version().startswith("AT version:")  # and talks to the module again


# Flow control's number is in doubt (module-notes, "Flow control value"): the
# manual's 1 for RTS/CTS, or ESP AT's 3 (1 being RTS only there).


def test_set_uart_flow_sends_3_and_reads_it_back_where_the_firmware_takes_it():
    from wizfi360_emu import AccessPoint, Emulator

    with Emulator(aps=[AccessPoint(SSID, KEY)], tcp_port=0, quirks={"uart_flow_esp": True}) as emu:
        uart = RateUART(emu)
        w = wizfi360.WizFi360(uart)
        assert w.set_uart(921600, flow=True) == 3
        assert emu.commands[-3:] == [b"AT+UART_CUR=921600,8,1,0,3", b"AT", b"AT+UART_CUR?"]


def test_set_uart_flow_falls_back_to_the_manuals_1(emu):
    uart = RateUART(emu)
    w = wizfi360.WizFi360(uart)
    assert w.set_uart(921600, flow=True) == 1  # 3 refused: the manual's firmware
    assert emu.commands[-4:] == [
        b"AT+UART_CUR=921600,8,1,0,3",
        b"AT+UART_CUR=921600,8,1,0,1",
        b"AT",
        b"AT+UART_CUR?",
    ]


def test_set_uart_flow_refused_or_unknown_is_an_error(emu):
    w = wizfi360.WizFi360(RateUART(emu))
    with pytest.raises(OSError) as e:
        w.set_uart(921600, flow=2)  # the manual's firmware has no 2
    assert e.value.errno == errno.EIO
    with pytest.raises(ValueError):
        w.set_uart(921600, flow=4)
