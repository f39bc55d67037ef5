# HTTP GET with micropython-lib's `requests`, through the WizFi360.
# requests opens its connection with `import socket` (and `ssl` for https://);
# wizfi360.install() makes those names the WizFi360's, so it runs unchanged.
# On a board (see README.md here): `mpremote mip install requests` once, then
#   .venv/bin/mpremote cp examples/settings.py : + run examples/http_get.py
from machine import UART, Pin

import settings
import wizfi360


def main():
    uart = UART(1, 115200, tx=Pin(4), rx=Pin(5), rxbuf=4096)
    wifi = wizfi360.WizFi360(uart, reset=Pin(20, Pin.OUT, value=1))
    wifi.active(True)
    wifi.connect(settings.SSID, settings.KEY)  # raises OSError saying why it failed
    wizfi360.install()
    import requests

    print("GET", settings.HTTP_URL)
    r = requests.get(settings.HTTP_URL, timeout=10)  # OSError if the server cannot be reached
    try:
        body = r.content
    finally:
        r.close()
    print("HTTP", r.status_code, r.reason.decode(), "-", len(body), "bytes")
    print(body[:80])
    return r.status_code, body


if __name__ == "__main__":
    main()
