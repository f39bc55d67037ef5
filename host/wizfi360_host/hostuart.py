# UART stand-ins for running the driver off the board: on the MicroPython
# unix port and on CPython (host-side: not installed on a board). They offer
# the three methods the driver uses: any(), readinto(buf, nbytes) and write(buf).
#
# SocketUART: a TCP connection to the emulator's UART port (tools/emulator.py).
#   With flow=True (the default) it is a UART with RTS flow control: while the
#   driver does not read, the emulator is held back (TCP backpressure) and no
#   byte is lost. With flow=False it is a UART without: every any() takes in
#   all the connection holds, as the line would have delivered it meanwhile,
#   and what does not fit in the rxbuf-byte buffer is lost and counted in
#   .dropped, like a board's UART rx ring that overflows (module-notes). With
#   baud=N too, bytes arrive no faster than the line carries them (N / 10 a
#   second), so a driver that keeps up loses nothing and a stalled one does.
# SerialUART: CPython only, through pyserial: a real serial port, the
#   emulator's pty, or a pyserial URL such as socket://127.0.0.1:3600.
# MemoryUART: replays a byte string from memory, for benchmarks and tests of
#   the receive path without any I/O.

import wizfi360
from wizfi360.wire.bufcopy import copy

# The port's own socket module, also after wizfi360.install() has put the
# shim in its place in sys.modules.
_socket = wizfi360.host_socket
if _socket is None:
    import socket as _socket

try:
    import select as _select
except ImportError:
    _select = None

try:
    from time import ticks_diff as _ticks_diff  # pyright: ignore[reportAssignmentType]
    from time import ticks_us as _ticks_us
except ImportError:  # CPython
    import time as _time

    def _ticks_us():
        return _time.monotonic_ns() // 1000  # pyright: ignore[reportAttributeAccessIssue]

    def _ticks_diff(end, start):
        return end - start


class SocketUART:
    def __init__(self, host="127.0.0.1", port=3600, rxbuf=4096, flow=True, baud=None):
        sel = _select
        if sel is None:
            raise ImportError("SocketUART needs the select module")
        self._sel = sel
        addr = _socket.getaddrinfo(host, port)[0][-1]
        s = self._sock = _socket.socket()
        try:
            # SOL_SOCKET, SO_RCVBUF: little in flight, as on a line held by RTS
            s.setsockopt(1, 8, rxbuf)
        except (AttributeError, OSError):
            pass
        s.connect(addr)
        try:
            s.setsockopt(6, 1, 1)  # IPPROTO_TCP, TCP_NODELAY: a UART does not batch bytes
        except (AttributeError, OSError):
            pass
        self._poll = sel.poll()
        self._poll.register(s, sel.POLLIN)
        self._buf = bytearray(rxbuf)  # like a board's UART rx ring
        self._r = 0
        self._n = 0
        self._flow = flow
        self.dropped = 0  # bytes lost to a full buffer (flow=False)
        self._spill = bytearray(0 if flow else 512)
        self._rate = baud // 10 if baud else 0  # bytes a second (flow=False)
        self._t = _ticks_us()
        if hasattr(s, "recv_into"):  # CPython: one read of what is there
            self._recv_into = s.recv_into
        else:  # MicroPython: readinto() on a blocking socket waits for a full buffer
            s.setblocking(False)
            self._recv_into = s.readinto

    def any(self):
        if not self._flow:
            self._overflow()
        elif self._n == 0 and self._poll.poll(0):
            self._r = 0
            self._n = self._recv(self._buf)
        return self._n

    def _recv(self, into):
        # One read of what is there (poll said there is something).
        n = self._recv_into(into)
        if n is None:
            return 0  # not after all (MicroPython, non-blocking)
        if not n:
            raise OSError(104, "emulator closed the UART connection")
        return n

    def _overflow(self):
        # Take in everything the line has carried since the last call; keep
        # what fits, drop the rest.
        buf = self._buf
        budget = -1  # no limit
        if self._rate:
            now = _ticks_us()
            budget = _ticks_diff(now, self._t) * self._rate // 1000000
            if not budget:
                return
            self._t = now
        while budget and self._poll.poll(0):
            n = self._n
            if self._r:
                buf[:n] = buf[self._r : self._r + n]  # slices copy: no overlap trouble
                self._r = 0
            room = len(buf) - n
            if room:
                got = self._recv(memoryview(buf)[n : n + (room if budget < 0 or room < budget else budget)])
                self._n = n + got
            else:
                k = len(self._spill)
                got = self._recv(memoryview(self._spill)[: (k if budget < 0 or k < budget else budget)])
                self.dropped += got
            if not got:
                break
            if budget > 0:
                budget -= got

    def readinto(self, buf, nbytes=None):
        n = len(buf) if nbytes is None else nbytes
        if not self._n:
            self.any()
        if n > self._n:
            n = self._n
        if n <= 0:
            return None
        copy(buf, 0, self._buf, self._r, n)
        self._r += n
        self._n -= n
        return n

    def write(self, buf):
        mv = memoryview(buf)
        n = len(mv)
        done = 0
        while done < n:
            try:
                w = self._sock.send(mv[done:] if done else mv)
            except OSError as e:
                if e.args[0] not in (11, 35):  # EAGAIN: the emulator is not reading yet
                    raise
                w = 0
            if w:
                done += w
            else:
                self._wait_writable()
        return n

    def _wait_writable(self):
        p = self._sel.poll()
        p.register(self._sock, self._sel.POLLOUT)
        p.poll(100)

    def close(self):
        self._sock.close()


class MemoryUART:
    # Serves `data` over and over (or once, with repeat=False), at most
    # `chunk` bytes per readinto. Writes are counted and dropped, or answered
    # by `reply(written_bytes)` returning bytes to queue. Allocation-free reads.
    def __init__(self, data, chunk=1024, repeat=True):
        self.data = data
        self.chunk = chunk
        self.repeat = repeat
        self.pos = 0
        self.written = 0

    def any(self):
        left = len(self.data) - self.pos
        if left == 0 and self.repeat:
            self.pos = 0
            left = len(self.data)
        return left if left < self.chunk else self.chunk

    def readinto(self, buf, nbytes=None):
        n = self.any()
        if nbytes is not None and nbytes < n:
            n = nbytes
        if n > len(buf):
            n = len(buf)
        copy(buf, 0, self.data, self.pos, n)
        self.pos += n
        return n

    def write(self, buf):
        self.written += len(buf)
        return len(buf)


class SerialUART:
    def __init__(self, url, baudrate=115200, **kwargs):
        import serial  # pyserial, CPython only

        self._ser = serial.serial_for_url(url, baudrate=baudrate, timeout=0, **kwargs)

    def any(self):
        return self._ser.in_waiting

    def readinto(self, buf, nbytes=None):
        n = len(buf) if nbytes is None else nbytes
        data = self._ser.read(n)
        if not data:
            return None
        buf[: len(data)] = data
        return len(data)

    def write(self, buf):
        return self._ser.write(bytes(buf))

    def close(self):
        self._ser.close()
