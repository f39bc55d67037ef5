# A scripted stand-in for a WizFi360 on the UART, for tests that need no
# emulator: it answers every command line with OK (CIPSTART also with
# "<id>,CONNECT", GMR with a version), and once `stream` is set it serves
# those bytes over and over, like a peer that never stops sending. Serving
# the stream allocates nothing, so the driver's receive path can be run under
# micropython.heap_lock().
from wizfi360.wire.bufcopy import copy


class FakeModule:
    def __init__(self, chunk=1024):
        self.chunk = chunk
        self.out = bytearray()  # replies not read yet
        self.stream = None  # bytes served once replies are drained
        self.frame_len = 1  # the stream is made of frames of this length
        self.pos = 0

    def write(self, buf):
        line = bytes(buf)
        if line.startswith(b"AT+CIPSTART="):
            self.out += line[12:13] + b",CONNECT\r\n\r\nOK\r\n"
        elif line.startswith(b"AT+GMR"):
            self.out += b"AT version:1.1.1.7(fake)\r\n\r\nOK\r\n"
        elif line.startswith(b"AT+CIPSTATUS"):
            self.out += b"STATUS:2\r\n\r\nOK\r\n"
        elif line.startswith(b"AT"):
            self.out += b"\r\nOK\r\n"
        return len(buf)

    def any(self):
        # Like a real module, replies never land inside a frame: while a reply
        # waits, the stream is served up to the next frame boundary only.
        stream = self.stream
        if stream is None:
            return len(self.out)
        if self.pos == len(stream):
            self.pos = 0
        if self.out:
            edge = self.pos % self.frame_len
            if edge == 0:
                return len(self.out)
            left = self.frame_len - edge
        else:
            left = len(stream) - self.pos
        return left if left < self.chunk else self.chunk

    def readinto(self, buf, nbytes=None):
        n = self.any()
        if nbytes is not None and nbytes < n:
            n = nbytes
        if self.out and (self.stream is None or self.pos % self.frame_len == 0):
            buf[:n] = self.out[:n]
            self.out = self.out[n:]
            return n
        copy(buf, 0, self.stream, self.pos, n)
        self.pos += n
        return n


def frames(link, size, count, with_address=True):
    # `count` +IPD frames of `size` bytes each on `link`; payloads hold
    # protocol text so that they only parse right if cut by length.
    body = (b"\r\nOK\r\n+IPD,0,5:>SEND OK\r\n" * (size // 24 + 1))[:size]
    if with_address:
        head = b"\r\n+IPD,%d,%d,192.168.10.2,8080:" % (link, size)
    else:
        head = b"\r\n+IPD,%d,%d:" % (link, size)
    return (head + body) * count, body, len(head) + size
