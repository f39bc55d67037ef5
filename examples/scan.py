# The Wi-Fi networks the WizFi360 sees, strongest first, and whether the one
# in settings.py is among them.
# On a board (see README.md here):
#   .venv/bin/mpremote cp examples/settings.py : + run examples/scan.py
from binascii import hexlify

from machine import UART, Pin

import settings
import wizfi360

SECURITY = ("open", "WEP", "WPA-PSK", "WPA2-PSK", "WPA/WPA2-PSK")


def main():
    uart = UART(1, 115200, tx=Pin(4), rx=Pin(5), rxbuf=4096)
    wifi = wizfi360.WizFi360(uart, reset=Pin(20, Pin.OUT, value=1))
    wifi.active(True)
    networks = sorted(wifi.scan(), key=lambda n: n[3], reverse=True)  # by rssi
    for ssid, bssid, channel, rssi, security, hidden in networks:
        name = ssid.decode() if not hidden else "(hidden)"
        kind = SECURITY[security] if security < len(SECURITY) else str(security)
        mac = hexlify(bssid, ":").decode()
        print("%-32s %s  channel %2d  %4d dBm  %s" % (name, mac, channel, rssi, kind))
    if any(n[0] == settings.SSID.encode() for n in networks):
        print(settings.SSID, "is in range")
    else:
        print(settings.SSID, "is not in range (the module sees 2.4 GHz networks only)")
    return networks


if __name__ == "__main__":
    main()
