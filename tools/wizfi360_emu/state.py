"""The module's settings: the volatile ones at their power-up values, and flash.

A ModuleState is what the module runs with. The Emulator keeps a second one as its flash:
the _DEF commands write both, and a reboot starts a fresh ModuleState whose PERSISTENT
fields come from flash (everything else back at its power-up value). All the values that
are not plain numbers are tuples, so a copy never shares anything mutable.
"""

import ipaddress
from dataclasses import dataclass, field

from .quirks import GMR as _GMRS

GMR = _GMRS["1.1.1.7"]  # AT+GMR of the manual profile (quirks.py has the others)

STA_MAC = "00:08:dc:12:34:56"
AP_MAC = "02:08:dc:12:34:56"
AP_IP = "192.168.4.1"
# (ip, gateway, netmask) the fake AP's DHCP hands out
DHCP_LEASE = ("192.168.10.23", "192.168.10.1", "255.255.255.0")
NO_IP = ("0.0.0.0", "0.0.0.0", "0.0.0.0")
DEFAULT_DNS = ("208.67.222.222",)
MAX_LINKS = 5
# SoftAP (ssid, password, channel, ecn, max stations, hidden) and its (ip, gateway, netmask)
DEFAULT_SOFTAP = ("WizFi360_123456", "", 1, 0, 4, 0)
DEFAULT_AP_IP = (AP_IP, AP_IP, "255.255.255.0")
DHCPS_LEASE_MIN = 120
SNTP_SERVERS = ("cn.ntp.org.cn", "ntp.sjtu.edu.cn", "us.pool.ntp.org")

# The settings a reboot takes from flash.
PERSISTENT = (
    "cwmode",
    "dhcp",
    "autoconn",
    "sta_mac",
    "ap_mac",
    "dns",
    "static_ip",
    "softap",
    "ap_ip",
    "dhcps",
    "saved_ap",
)


@dataclass
class ModuleState:
    echo: bool = True
    cwmode: int = 1  # 1 station, 2 SoftAP, 3 both
    mux: int = 0  # AT+CIPMUX
    dinfo: int = 1  # AT+CIPDINFO (factory default 1, manual 3.2.3.14)
    dhcp: int = 3  # AT+CWDHCP_CUR? bitmask: 1 SoftAP, 2 station
    autoconn: int = 1
    joined: object = None  # the AccessPoint joined, or None
    had_link: bool = False  # a link was open since joining (CIPSTATUS 4)
    hostname: str = "WizFi360_123456"
    sta_mac: str = STA_MAC
    ap_mac: str = AP_MAC
    dns: tuple = DEFAULT_DNS
    static_ip: tuple = None  # station (ip, gateway, netmask) set by CIPSTA, or None: DHCP
    softap: tuple = DEFAULT_SOFTAP
    ap_ip: tuple = DEFAULT_AP_IP
    dhcps: tuple = None  # SoftAP DHCP pool (lease minutes, start, end), None: default
    saved_ap: tuple = None  # (ssid, password, bssid or None) from CWJAP_DEF: auto-connect
    sslsize: int = 2048  # AT+CIPSSLSIZE
    cipsto: int = 180  # AT+CIPSTO, seconds (0: never)
    sntp: tuple = (0, 0, ())  # AT+CIPSNTPCFG (enable, timezone, servers)
    stations: dict = field(default_factory=dict)  # SoftAP clients: mac -> ip
    cwlapopt: tuple = None  # AT+CWLAPOPT (sort, mask); None: the power-up one (quirks.py)

    def booted(self):
        """The state a reboot starts from when self is the flash."""
        return ModuleState(**{name: getattr(self, name) for name in PERSISTENT})

    def station(self):
        return self.cwmode in (1, 3)

    def softap_on(self):
        return self.cwmode in (2, 3)

    def online(self):
        """Links can be opened: joined to an AP, or running the SoftAP."""
        return self.joined is not None or self.softap_on()

    def ipconfig(self):
        """(ip, gateway, netmask) of the station interface."""
        if self.static_ip is not None and not self.dhcp & 2:
            return self.static_ip
        return NO_IP if self.joined is None else DHCP_LEASE

    def dhcp_pool(self):
        """(lease minutes, first, last) the SoftAP's DHCP server hands out."""
        if self.dhcps is not None:
            return self.dhcps
        net = ipaddress.IPv4Interface("%s/%s" % self.ap_ip[::2]).network
        base = int(net.network_address)
        return (DHCPS_LEASE_MIN, str(ipaddress.IPv4Address(base + 2)), str(ipaddress.IPv4Address(base + 101)))
