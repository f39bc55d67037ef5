# The WizFi360 as an access point: it opens a WPA2 network of its own and
# waits for a device (a phone, say) to join, then prints who joined and the
# address its DHCP server gave them.
# On a board (see README.md here):
#   .venv/bin/mpremote cp examples/settings.py : + run examples/softap.py
import time
from binascii import hexlify

from machine import UART, Pin

import settings
import wizfi360
from wizfi360.softap import AUTH_WPA2_PSK


def main():
    uart = UART(1, 115200, tx=Pin(4), rx=Pin(5), rxbuf=4096)
    wifi = wizfi360.WizFi360(uart, reset=Pin(20, Pin.OUT, value=1))
    ap = wifi.softap()
    ap.active(True)
    # ValueError for a key that is not 8 to 64 characters, or a channel not 1 to 13
    ap.config(ssid=settings.AP_SSID, key=settings.AP_KEY, channel=settings.AP_CHANNEL, security=AUTH_WPA2_PSK)
    print("access point %s is up at %s; join it" % (settings.AP_SSID, ap.ifconfig()[0]))
    deadline = time.ticks_add(time.ticks_ms(), settings.AP_WAIT_S * 1000)
    stations = ap.status("stations")
    while not stations:
        if time.ticks_diff(deadline, time.ticks_ms()) <= 0:
            print("no one joined in %d s (is the key right?)" % settings.AP_WAIT_S)
            return []
        time.sleep_ms(200)
        stations = ap.status("stations")
    for mac, ip in stations:
        print("joined:", hexlify(mac, ":").decode(), "got", ip)
    return stations


if __name__ == "__main__":
    main()
