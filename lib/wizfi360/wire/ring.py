# Ring: a byte FIFO over one preallocated bytearray.
#
# Each open link gets one; the parser writes payload into it and the socket
# layer reads it out. What put() writes is pending: held but not readable
# (len(), get_into(), find() do not see it) until commit(); rollback() drops
# it. The parser commits a frame once what follows it shows that no byte of
# it was lost on the UART.
# Allocation: __init__ allocates the storage once; take() returns a new bytes
# object (that is what the caller asked for), grow() new storage and
# release() an empty one. put(),
# commit(), rollback(), get_into(), find(), discard() and clear() allocate
# nothing (copies go through bufcopy.copy, allocation-free with viper).
# Frames: put() and get_into() run for every frame and every read, so each
# keeps its frame (locals plus the deepest expression stack) within the 11
# words MicroPython puts on the C stack; a function that needs more gets its
# frame from the heap at every call (py/objfun.c, VM_MAX_STATE_ON_STACK).
# Hence one local reused where a second would be clearer, and fields read
# again rather than held (tests_host/package/test_frames.py checks).

from .bufcopy import copy


class Ring:
    def __init__(self, size):
        # size: a byte count, or a bytearray to use as the storage.
        if isinstance(size, bytearray):
            buf = size
            size = len(buf)
        else:
            buf = None
        if size < 16:
            raise ValueError("ring size")
        if buf is None:
            buf = bytearray(size)
        self._buf = buf
        self._size = size
        self._r = 0  # index of the oldest byte
        # Readable bytes held, as len() says: a field, so that the readers in
        # other modules (socket.py, at/engine.py) test it without a call.
        # Only Ring's methods and the parser's native walk change it.
        self.readable = 0
        self._p = 0  # pending bytes after them
        self.limit = size  # put() fills up to here (<= capacity; the owner may lower it)
        self.datagrams = False  # holds UDP datagrams as records (parser.RECORD)

    def __len__(self):
        return self.readable

    def capacity(self):
        return self._size

    def free(self):
        return self.limit - self.readable - self._p

    def pending(self):
        return self._p

    def commit(self):
        self.readable += self._p
        self._p = 0

    def rollback(self):
        self._p = 0

    def grow(self, size):
        # Move the contents, pending bytes too, into new, larger storage
        # (this allocates). False, with nothing changed, if the heap has no
        # free block that big.
        try:
            buf = bytearray(size)
        except MemoryError:
            return False
        n = self.readable
        p = self._p
        self.readable = n + p
        self.get_into(buf, 0, n + p)
        self._buf = buf
        self._size = size
        self._r = 0
        self.readable = n
        self._p = p
        return True

    def release(self):
        # The storage, for another Ring; this one holds nothing from now on.
        buf = self._buf
        self._buf = bytearray(0)
        self._size = 0
        self.limit = 0
        self.clear()
        return buf

    def clear(self):
        self._r = 0
        self.readable = 0
        self._p = 0

    def put(self, src, off, n):
        # Append up to n bytes of src[off:] as pending; returns how many fitted.
        # Hot path, as get_into(): see the frame note at the top.
        room = self.limit - self.readable - self._p
        if n > room:
            n = room
        if n <= 0:
            return 0
        room = self._r + self.readable + self._p  # where they go (past the end: wrapped)
        if room >= self._size:
            room -= self._size
        if self._size - room >= n:
            copy(self._buf, room, src, off, n)
        else:
            room = self._size - room  # what fits before the end
            copy(self._buf, self._size - room, src, off, room)
            room = n - room  # the rest, from the start of the storage
            copy(self._buf, 0, src, off + n - room, room)
        self._p += n
        return n

    def get_into(self, dst, off, n):
        # Move up to n of the oldest bytes into dst[off:]; returns the count.
        if n > self.readable:
            n = self.readable
        if n <= 0:
            return 0
        first = self._size - self._r  # bytes before the end of the storage
        if first >= n:
            copy(dst, off, self._buf, self._r, n)
        else:
            copy(dst, off, self._buf, self._r, first)
            first = n - first  # the rest, from the start of the storage
            copy(dst, off + n - first, self._buf, 0, first)
        # As discard(n), inline: this is the hot path of every read
        self.readable -= n
        if self.readable == 0 and self._p == 0:
            self._r = 0
        else:
            first = self._r + n
            self._r = first - self._size if first >= self._size else first
        return n

    def take(self, n):
        # The oldest n bytes (fewer if fewer are held) as a new bytes object.
        if n > self.readable:
            n = self.readable
        out = bytearray(n)
        self.get_into(out, 0, n)
        return bytes(out)

    def discard(self, n):
        # Drop up to n of the oldest bytes; returns the count.
        if n > self.readable:
            n = self.readable
        self.readable -= n
        if self.readable == 0 and self._p == 0:
            self._r = 0  # keep the data contiguous when the ring runs empty
        else:
            r = self._r + n
            self._r = r - self._size if r >= self._size else r
        return n

    def find_pending(self, needle):
        # Offset of needle (bytes) within the pending bytes, or -1. A needle
        # across the wrap is not seen (used only to tell a reboot).
        w = self._r + self.readable
        return self._search(needle, w - self._size if w >= self._size else w, self._p)

    def find(self, needle):
        # Offset from the oldest byte of the first occurrence of needle (a
        # one-byte bytes object such as b"\n"), or -1. Searches both halves
        # of a wrapped ring in place.
        return self._search(needle, self._r, self.readable)

    def _search(self, needle, start, n):
        # needle in the n bytes from index start (wrapping), as an offset.
        size = self._size
        end = start + n
        buf = self._buf
        if end <= size:
            i = buf.find(needle, start, end)
            return i - start if i >= 0 else -1
        i = buf.find(needle, start, size)
        if i >= 0:
            return i - start
        i = buf.find(needle, 0, end - size)
        return i + size - start if i >= 0 else -1
