# A first script: join your Wi-Fi network through the WizFi360, then ask a web
# server for "/" over a plain TCP socket and print the first line it answers.
# Edit settings.py first. On a board (see README.md here):
#   .venv/bin/mpremote cp examples/settings.py : + run examples/first.py
from machine import UART, Pin

import settings
import wizfi360
from wizfi360 import socket

uart = UART(1, 115200, tx=Pin(4), rx=Pin(5), rxbuf=4096)
wifi = wizfi360.WizFi360(uart, reset=Pin(20, Pin.OUT, value=1))
print(wifi.version())
wifi.active(True)
wifi.connect(settings.SSID, settings.KEY)  # raises OSError saying why it failed
print("joined", settings.SSID, "as", wifi.ifconfig()[0])

addr = socket.getaddrinfo(settings.WEB_HOST, settings.WEB_PORT)[0][-1]
s = socket.socket()
s.settimeout(10)
try:
    s.connect(addr)
    s.write(b"GET / HTTP/1.0\r\nHost: " + settings.WEB_HOST.encode() + b"\r\n\r\n")
    status = s.readline()
finally:
    s.close()
print(status)  # b'HTTP/1.0 200 OK\r\n' or similar
