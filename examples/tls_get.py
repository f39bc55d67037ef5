# HTTPS by hand: a TLS connection made by the WizFi360 itself (wizfi360.ssl),
# an HTTP/1.0 request over it, and the whole answer read back.
# The module encrypts, but it cannot check the server's certificate (its AT
# commands have no way to): only use this where that is acceptable.
# On a board (see README.md here):
#   .venv/bin/mpremote cp examples/settings.py : + run examples/tls_get.py
from machine import UART, Pin

import settings
import wizfi360
from wizfi360 import socket, ssl


def main():
    uart = UART(1, 115200, tx=Pin(4), rx=Pin(5), rxbuf=4096)
    wifi = wizfi360.WizFi360(uart, reset=Pin(20, Pin.OUT, value=1))
    wifi.active(True)
    wifi.connect(settings.SSID, settings.KEY)  # raises OSError saying why it failed

    host = settings.TLS_HOST
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.verify_mode = ssl.CERT_NONE  # the only mode the module has
    # Wrapped before connect(): the module starts TLS as it opens the link.
    tls = ctx.wrap_socket(socket.socket(), server_hostname=host)
    tls.settimeout(10)
    try:
        print("connecting to %s:%d over TLS" % (host, settings.TLS_PORT))
        tls.connect(socket.getaddrinfo(host, settings.TLS_PORT)[0][-1])  # ECONNABORTED: no TLS there
        request = "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (settings.TLS_PATH, host)
        tls.write(request.encode())
        answer = tls.read()  # HTTP/1.0: the server closes when all is sent
    finally:
        tls.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0]
    print(status.decode(), "-", len(body), "bytes")
    return status, body


if __name__ == "__main__":
    main()
