# heapsize: 192K
# (The asyncio server with two clients holds some 94 KB at its peak on the 64-bit
# unix port, the package compiled from .py: 128K left too little room to spare.)
# Pollable sockets: select.poll, asyncio streams, and install() so that code
# written for MicroPython's own socket module runs on the shim unchanged.
import errno
import select

import board
import harness
import wizfi360
from harness import eq, raises, true

wizfi360.install()  # socket, ssl & co. are the shim from here on
wifi = board.wifi


def _echo_addr():
    s = board.settings()
    return s["echo_host"], s["echo_port"]


def test_install_replaces_socket_modules():
    wifi()
    import socket

    import usocket

    true(socket is usocket)
    true(socket.socket is wizfi360.socket.socket)
    # and the stream reads such code uses are loaded already, before the
    # program has cut up its heap (install() in wizfi360/__init__.py)
    import sys

    true("wizfi360.stream" in sys.modules)
    eq(socket.getaddrinfo(_echo_addr()[0], 1, 0, socket.SOCK_STREAM)[0][-1], (_echo_addr()[0], 1))


def test_select_poll_readable_and_writable():
    wifi()
    import socket

    s = socket.socket()
    s.connect(_echo_addr())
    p = select.poll()
    p.register(s, select.POLLIN)
    eq(p.poll(0), [])
    s.write(b"ping")
    ready = p.poll(3000)
    eq(len(ready), 1)
    true(ready[0][0] is s)
    true(ready[0][1] & select.POLLIN)
    eq(s.recv(4), b"ping")
    p.modify(s, select.POLLOUT)
    ready = p.poll(0)
    true(ready and ready[0][1] & select.POLLOUT)
    s.close()
    p.modify(s, select.POLLIN)
    ready = p.poll(0)
    true(ready and ready[0][1] & select.POLLHUP, "closed socket reports HUP")


def test_nonblocking_read_returns_none():
    wifi()
    import socket

    s = socket.socket()
    s.connect(_echo_addr())
    s.setblocking(False)
    eq(s.read(1), None)  # what umqtt.simple's check_msg relies on
    e = raises(OSError, s.recv, 1)
    eq(e.errno, errno.EAGAIN)
    eq(s.write(b"x"), 1)
    s.close()


def test_asyncio_two_concurrent_clients():
    wifi()
    import asyncio

    host, port = _echo_addr()
    sizes = (3000, 5000)
    results = {}

    async def client(i):
        r, w = await asyncio.open_connection(host, port)
        ok = True
        for k in range(0, sizes[i], 1000):
            n = min(1000, sizes[i] - k)
            chunk = bytes((i * 37 + k + j) & 0xFF for j in range(n))
            w.write(chunk)
            await w.drain()
            ok = ok and (await r.readexactly(n)) == chunk
        w.close()
        await w.wait_closed()
        results[i] = ok

    async def main():
        await asyncio.gather(client(0), client(1))

    asyncio.run(main())
    eq(results, {0: True, 1: True})


def test_asyncio_echo_server_with_two_clients():
    # Server and both clients all go through the module: 2 + 2 links.
    w = wifi()
    import asyncio
    import socket

    probe = socket.socket()
    port = board.listen_somewhere(probe)
    probe.close()
    host = w.ifconfig()[0] if board.ON_BOARD else "127.0.0.1"
    served = []

    async def handle(r, w_):
        while True:
            line = await r.readline()
            if not line:
                break
            w_.write(b"echo " + line)
            await w_.drain()
        served.append(1)
        w_.close()
        await w_.wait_closed()

    async def client(i):
        r, w_ = await asyncio.open_connection(host, port)
        ok = True
        for k in range(5):
            msg = b"client %d line %d\n" % (i, k)
            w_.write(msg)
            await w_.drain()
            ok = ok and (await r.readline()) == b"echo " + msg
        w_.close()
        await w_.wait_closed()
        return ok

    async def main():
        srv = await asyncio.start_server(handle, "0.0.0.0", port)
        # A handler that dies leaves its client waiting for an answer: fail
        # then, rather than at the runner's timeout.
        oks = await asyncio.wait_for(asyncio.gather(client(0), client(1)), 20)
        for _ in range(200):  # let the handlers see their clients go
            if len(served) == 2:
                break
            await asyncio.sleep_ms(10)
        srv.close()
        await srv.wait_closed()
        return oks

    eq(asyncio.run(main()), [True, True])
    eq(len(served), 2)


harness.main(globals())
