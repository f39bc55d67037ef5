# The time from an NTP server, over UDP through the WizFi360: one 48-byte
# request, one 48-byte answer, whose transmit timestamp is the time (RFC 5905).
# On a board (see README.md here):
#   .venv/bin/mpremote cp examples/settings.py : + run examples/ntp_time.py
import errno
import struct
import time

from machine import UART, Pin

import settings
import wizfi360
from wizfi360 import socket

# Seconds from NTP's epoch (1900) to the port's time.time() epoch: 1970, or 2000 on older ports.
NTP_DELTA = 2208988800 if time.gmtime(0)[0] == 1970 else 3155673600


def ntp_time(host, port=123, timeout_s=5):
    """Seconds since the port's epoch, as the NTP server at host tells it (UTC)."""
    addr = socket.getaddrinfo(host, port)[0][-1]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout_s)
    try:
        request = bytearray(48)
        request[0] = 0x1B  # leap indicator 0, version 3, mode 3: a client
        s.sendto(request, addr)
        try:
            reply = s.recv(48)
        except OSError as e:
            if e.errno != errno.ETIMEDOUT:
                raise
            raise OSError(errno.ETIMEDOUT, "no answer from the NTP server %s:%d" % (host, port))
    finally:
        s.close()
    if len(reply) < 48 or reply[0] & 7 != 4 or reply[1] == 0:  # mode 4: a server; stratum 0: refused
        raise ValueError("not a time from %s: %r" % (host, reply[:4]))
    return struct.unpack("!I", reply[40:44])[0] - NTP_DELTA


def main():
    uart = UART(1, 115200, tx=Pin(4), rx=Pin(5), rxbuf=4096)
    wifi = wizfi360.WizFi360(uart, reset=Pin(20, Pin.OUT, value=1))
    wifi.active(True)
    wifi.connect(settings.SSID, settings.KEY)  # raises OSError saying why it failed
    now = time.gmtime(ntp_time(settings.NTP_HOST, settings.NTP_PORT))
    print("%04d-%02d-%02d %02d:%02d:%02d UTC" % now[:6])
    return now


if __name__ == "__main__":
    main()
