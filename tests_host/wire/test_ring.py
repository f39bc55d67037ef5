"""Ring (lib/wizfi360/wire/ring.py): a byte FIFO over one bytearray, checked
against a plain bytearray model, with the read position at every offset."""

import random

import pytest

from wizfi360.wire.ring import Ring as _Ring


class Ring(_Ring):
    """A Ring whose put() commits at once, for the tests of the FIFO itself
    (the pending region has tests of its own)."""

    def put(self, src, off, n):
        n = super().put(src, off, n)
        self.commit()
        return n


class Model:
    """Reference: the FIFO contents as a bytearray, capacity enforced."""

    def __init__(self, size):
        self.size = size
        self.data = bytearray()

    def put(self, src, off, n):
        n = max(0, min(n, self.size - len(self.data)))
        self.data += bytes(src[off : off + n])
        return n

    def take(self, n):
        n = max(0, min(n, len(self.data)))
        out = bytes(self.data[:n])
        del self.data[:n]
        return out

    def find(self, needle):
        return self.data.find(needle)


def pattern(n, start=0):
    return bytes((start + i * 7) & 0xFF for i in range(n))


def positioned(size, offset, held):
    """A ring of `size` whose oldest byte sits at array index `offset` and
    that holds the bytes `held` (wrapping around the end when long enough),
    plus its model. An empty ring always reads from index 0."""
    ring = Ring(size)
    if offset and held:
        # One filler byte at index offset-1 keeps the read index from
        # snapping back to 0 while the ring is refilled behind it.
        assert ring.put(b"\xee" * offset, 0, offset) == offset
        assert ring.discard(offset - 1) == offset - 1
        k = min(len(held), size - 1)
        assert ring.put(held, 0, k) == k
        assert ring.take(1) == b"\xee"
        assert ring.put(held, k, len(held) - k) == len(held) - k
    else:
        assert ring.put(held, 0, len(held)) == len(held)
    model = Model(size)
    model.data += held
    return ring, model


def test_positioned_helper():
    for size in (16, 17):
        for off in range(size):
            for n in (0, 1, size - 1, size):
                held = pattern(n, off)
                ring, model = positioned(size, off, held)
                assert len(ring) == n
                if n:
                    assert ring._r == off  # oldest byte at the offset asked for
                assert ring.take(size) == held


def test_too_small():
    with pytest.raises(ValueError):
        Ring(15)
    with pytest.raises(ValueError):
        Ring(0)
    with pytest.raises(ValueError):  # storage handed on: the empty one release() leaves
        Ring(bytearray(0))
    assert Ring(16).capacity() == 16
    assert Ring(bytearray(16)).capacity() == 16


def test_empty_ring():
    r = Ring(16)
    assert len(r) == 0
    assert r.free() == 16
    assert r.take(5) == b""
    assert r.discard(5) == 0
    assert r.find(b"x") == -1
    dst = bytearray(b"zzzz")
    assert r.get_into(dst, 0, 4) == 0
    assert dst == b"zzzz"
    assert r.put(b"abc", 0, 0) == 0
    assert len(r) == 0


def test_capacity_limits():
    r = Ring(16)
    assert r.put(pattern(20), 0, 20) == 16
    assert len(r) == 16 and r.free() == 0
    assert r.put(b"x", 0, 1) == 0  # full: nothing fits
    assert r.take(3) == pattern(3)
    assert r.put(b"abcdef", 0, 6) == 3  # only the room there is
    assert r.take(100) == pattern(16)[3:] + b"abc"
    assert len(r) == 0 and r.free() == 16


def test_put_from_offset_and_any_buffer_type():
    src = b"0123456789"
    for kind in (bytes, bytearray, memoryview):
        r = Ring(16)
        assert r.put(kind(src), 3, 4) == 4
        assert r.take(10) == b"3456"


@pytest.mark.parametrize("size", [16, 17, 31])
def test_put_and_read_at_every_offset(size):
    # One byte held at index off, then a put of n bytes that wraps around.
    for off in range(size):
        for n in range(size + 3):
            data = pattern(n, off + n)
            ring, model = positioned(size, off, b"\x42")
            fitted = ring.put(data, 0, n)
            assert fitted == min(n, size - 1) == model.put(data, 0, n)
            assert ring.free() == size - 1 - fitted
            # get_into the middle of a larger buffer
            dst = bytearray(b"#" * (size + 6))
            assert ring.get_into(dst, 3, size + 5) == 1 + fitted
            assert bytes(dst[3 : 4 + fitted]) == b"\x42" + data[:fitted]
            assert dst[:3] == b"###" and dst[4 + fitted :] == b"#" * (size + 2 - fitted)
            assert len(ring) == 0 and ring.free() == size


@pytest.mark.parametrize("size", [16, 19])
def test_wrapped_contents_every_offset(size):
    for off in range(size):
        for n in range(size + 1):
            held = pattern(n, 3 * off + n)
            ring, model = positioned(size, off, held)
            assert len(ring) == n and ring.free() == size - n
            # find every byte value present, and one that is not
            for needle in set(held) | {0x5A if 0x5A not in held else 0xA5}:
                nb = bytes([needle])
                assert ring.find(nb) == held.find(nb), (off, n, needle)
            # read in two steps: take then get_into
            k = n // 3
            assert ring.take(k) == held[:k]
            dst = bytearray(n)
            assert ring.get_into(dst, 0, n) == n - k
            assert bytes(dst[: n - k]) == held[k:]


def test_find_across_the_wrap():
    r = Ring(16)
    r.put(b"a" * 12, 0, 12)
    r.discard(12 - 1)  # one byte left at index 11
    r.put(b"bcdef\nghij", 0, 10)  # indexes 12..15 and 0..5
    # contents: a b c d e f \n g h i j -> "\n" sits at index 2 of the array
    assert r.find(b"\n") == 6
    assert r.find(b"a") == 0
    assert r.find(b"e") == 4
    assert r.find(b"j") == 10
    assert r.find(b"z") == -1
    r.discard(7)
    assert r.find(b"\n") == -1
    assert r.find(b"g") == 0


def test_discard_and_clear():
    r = Ring(16)
    r.put(pattern(16), 0, 16)
    assert r.discard(5) == 5
    assert r.take(2) == pattern(16)[5:7]
    assert r.discard(100) == 9
    assert len(r) == 0
    r.put(b"abc", 0, 3)
    r.clear()
    assert len(r) == 0 and r.free() == 16 and r.take(5) == b""
    assert r.put(pattern(16), 0, 16) == 16
    assert r.take(16) == pattern(16)


@pytest.mark.parametrize("seed", range(6))
def test_random_operations_against_model(seed):
    rng = random.Random(seed)
    size = rng.choice([16, 17, 33, 64, 100])
    ring = Ring(size)
    model = Model(size)
    src = bytes(rng.getrandbits(8) for _ in range(3 * size))
    for step in range(3000):
        op = rng.randrange(7)
        if op <= 1:
            off = rng.randrange(len(src))
            n = rng.randint(0, min(len(src) - off, size + 5))
            assert ring.put(src, off, n) == model.put(src, off, n), step
        elif op == 2:
            n = rng.randint(0, size + 3)
            assert ring.take(n) == model.take(n), step
        elif op == 3:
            n = rng.randint(0, size + 3)
            pad = rng.randint(0, 4)
            dst = bytearray(b"\x01" * (n + pad))
            got = ring.get_into(dst, pad, n)
            want = model.take(n)
            assert got == len(want), step
            assert bytes(dst[pad : pad + got]) == want, step
            assert dst[:pad] == b"\x01" * pad
        elif op == 4:
            n = rng.randint(0, size + 3)
            want = len(model.take(n))
            assert ring.discard(n) == want, step
        elif op == 5:
            nb = bytes([rng.choice(src)])
            assert ring.find(nb) == model.find(nb), step
        elif rng.random() < 0.05:
            ring.clear()
            model.data.clear()
        assert len(ring) == len(model.data), step
        assert ring.free() == size - len(model.data), step
    assert ring.take(size) == model.take(size)


def test_pending_bytes_are_held_until_commit():
    r = _Ring(16)
    assert r.put(b"abcdef", 0, 6) == 6
    assert (len(r), r.pending(), r.free()) == (0, 6, 10)  # held, not readable
    assert r.take(6) == b"" and r.find(b"a") == -1
    r.commit()
    assert (len(r), r.pending()) == (6, 0)
    assert r.put(b"ghij", 0, 4) == 4
    assert r.take(3) == b"abc"  # reading the readable part leaves the pending one alone
    assert r.put(b"klmnopqrstu", 0, 11) == 9  # wraps; room counts pending bytes
    assert (len(r), r.pending(), r.free()) == (3, 13, 0)
    r.rollback()  # a damaged frame: its bytes go
    assert (len(r), r.pending(), r.free()) == (3, 0, 13)
    assert r.put(b"XYZ", 0, 3) == 3
    r.commit()
    assert r.take(16) == b"defXYZ"


def test_pending_bytes_survive_draining_and_growth():
    r = _Ring(16)
    r.put(b"0123456789", 0, 10)
    r.commit()
    assert r.take(8) == b"01234567"
    r.put(b"abcdefghijkl", 0, 12)  # wraps behind the 2 readable bytes
    assert r.take(2) == b"89"  # the ring runs empty of readable bytes only
    assert r.pending() == 12
    r.put(b"mn", 0, 2)
    r.grow(32)
    assert (len(r), r.pending(), r.capacity()) == (0, 14, 32)
    r.commit()
    assert r.take(32) == b"abcdefghijklmn"
    r.put(b"zz", 0, 2)
    r.clear()
    assert (len(r), r.pending(), r.free()) == (0, 0, 16)  # the limit stays where it was
    r.limit = 32
    assert r.free() == 32


def test_put_fills_up_to_the_limit_only():
    r = _Ring(32)
    r.limit = 8
    assert r.put(b"0123456789", 0, 10) == 8
    assert r.free() == 0
    r.commit()
    r.limit = 4  # lowered below what is held: nothing more fits, nothing is lost
    assert r.put(b"x", 0, 1) == 0
    assert r.take(8) == b"01234567"
    assert r.put(b"abcdef", 0, 6) == 4


def test_grow_without_memory_says_so_and_keeps_everything():
    r = _Ring(16)
    r.put(b"abcdef", 0, 6)
    r.commit()
    r.put(b"gh", 0, 2)  # pending
    assert r.grow(1 << 62) is False  # no heap block that big: MemoryError inside
    assert (r.capacity(), len(r), r.pending()) == (16, 6, 2)
    r.commit()
    assert r.take(8) == b"abcdefgh"
    assert r.grow(32) is True and r.capacity() == 32
