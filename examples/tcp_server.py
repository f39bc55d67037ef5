# A TCP server under asyncio, on the WizFi360: each client gets every line it
# sends back in upper case, until it sends "bye" or closes. Other tasks keep
# running meanwhile. Try it with `nc <the address it prints> 8000`.
# asyncio.start_server() makes its socket with `import socket`;
# wizfi360.install() makes that the WizFi360's. The module runs one server.
# On a board (see README.md here):
#   .venv/bin/mpremote cp examples/settings.py : + run examples/tcp_server.py
import asyncio

from machine import UART, Pin

import settings
import wizfi360


async def handle(reader, writer):
    peer = writer.get_extra_info("peername")
    print("client", peer)
    while True:
        line = await reader.readline()
        if not line or line.strip() == b"bye":
            break
        writer.write(line.upper())
        await writer.drain()
    print("client", peer, "gone")
    writer.close()
    await writer.wait_closed()


async def main():
    uart = UART(1, 115200, tx=Pin(4), rx=Pin(5), rxbuf=4096)
    wifi = wizfi360.WizFi360(uart, reset=Pin(20, Pin.OUT, value=1))
    wifi.active(True)
    await wifi.aconnect(settings.SSID, settings.KEY)  # other tasks run while it joins
    wizfi360.install()
    # OSError(EADDRINUSE) if something else on the network side holds the port
    server = await asyncio.start_server(handle, "0.0.0.0", settings.SERVER_PORT)
    print("serving on %s:%d" % (wifi.ifconfig()[0], settings.SERVER_PORT))
    try:
        await server.wait_closed()  # serves until the task is stopped (Ctrl-C)
    finally:
        server.close()  # the module's server port is closed too


if __name__ == "__main__":
    asyncio.run(main())
