"""The module's volatile settings, at their power-up values."""

from dataclasses import dataclass, field

GMR = (b"AT version:1.1.1.7(May  4 2021 15:14:59)\r\n"
       b"SDK version:3.2.0(a0ffff9f)\r\n"
       b"compile time:May  4 2021 15:14:59\r\n")

STA_MAC = "00:08:dc:12:34:56"
AP_MAC = "02:08:dc:12:34:56"
AP_IP = "192.168.4.1"
# (ip, gateway, netmask) the fake AP's DHCP hands out
DHCP_LEASE = ("192.168.10.23", "192.168.10.1", "255.255.255.0")
NO_IP = ("0.0.0.0", "0.0.0.0", "0.0.0.0")
DEFAULT_DNS = ["208.67.222.222"]
MAX_LINKS = 5


@dataclass
class ModuleState:
    echo: bool = True
    cwmode: int = 1            # 1 station, 2 SoftAP, 3 both
    mux: int = 0               # AT+CIPMUX
    dinfo: int = 1             # AT+CIPDINFO (factory default 1, manual 3.2.3.14)
    dhcp: int = 3              # AT+CWDHCP_CUR? bitmask: 1 SoftAP, 2 station
    autoconn: int = 1
    joined: object = None      # the AccessPoint joined, or None
    had_link: bool = False     # a link was open since joining (CIPSTATUS 4)
    hostname: str = "WizFi360_123456"
    sta_mac: str = STA_MAC
    dns: list = field(default_factory=lambda: list(DEFAULT_DNS))

    def station(self):
        return self.cwmode in (1, 3)

    def ipconfig(self):
        """(ip, gateway, netmask) of the station interface."""
        return NO_IP if self.joined is None else DHCP_LEASE
