"""A full link ring grows while the driver waits for something behind its data, and only then."""

from test_ring import Ring  # put() commits at once

from wizfi360.engine import Engine
from wizfi360.parser import EV_OK, EV_SEND_OK

FRAME = b"\r\n+IPD,0,300,1.2.3.4,5:" + bytes(range(256)) + bytes(44)


class ScriptUART:
    """Answers written lines from a dict; any() / readinto() serve the queued replies."""

    def __init__(self, replies):
        self.replies = replies
        self.out = bytearray()

    def write(self, buf):
        self.out += self.replies.get(bytes(buf), b"")
        return len(buf)

    def any(self):
        return len(self.out)

    def readinto(self, buf, n=None):
        n = min(len(self.out), len(buf) if n is None else n)
        buf[:n] = self.out[:n]
        del self.out[:n]
        return n


def engine(replies, link_max=1024):
    at = Engine(ScriptUART(replies), rx_size=64, link_size=256, link_max=link_max)
    link = at.claim_link()
    at.link_state[link] = 2  # OPEN
    return at, link


def test_ring_grows_while_a_send_waits_for_send_ok():
    # The peer answers before SEND OK: the answer is bigger than the ring.
    at, link = engine(
        {
            b"AT+CIPSEND=0,5\r\n": b"\r\nOK\r\n>",
            b"hello": b"\r\nRecv 5 bytes\r\n" + FRAME + b"\r\nSEND OK\r\n",
        }
    )
    assert at.send(link, b"hello", timeout_ms=500) == EV_SEND_OK
    ring = at.ring(link)
    assert ring.capacity() == 512
    assert ring.take(300) == FRAME[-300:]


def test_ring_grows_while_a_command_waits():
    at, link = engine({b"AT+CIPSTATUS\r\n": FRAME + b"\r\nSTATUS:2\r\n\r\nOK\r\n"})
    assert at.command(b"AT+CIPSTATUS", 500, True) == (EV_OK, [b"STATUS:2"])
    assert at.ring(link).take(300) == FRAME[-300:]


def test_no_growth_without_a_wait_backpressure_instead():
    at, link = engine({})
    at.uart.out += FRAME + b"\r\nWIFI GOT IP\r\n"
    for _ in range(20):
        at.poll()
    ring = at.ring(link)
    assert ring.capacity() == 256 and len(ring) == 256
    assert at.parser.pending()  # the rest waits in the UART buffer
    assert at.wifi == 0  # and so does the line behind it
    assert ring.take(256) == FRAME[-300:-44]
    for _ in range(20):
        at.poll()
    assert ring.take(100) == FRAME[-44:]
    assert at.wifi == 2


def test_growth_stops_at_link_max_and_the_command_times_out():
    at, link = engine({b"AT\r\n": FRAME + b"\r\nOK\r\n"}, link_max=256)
    try:
        at.command(b"AT", 100)
    except OSError as e:
        assert e.errno == 110
    else:
        raise AssertionError("a command behind a ring at link_max cannot finish")
    assert at.ring(link).capacity() == 256


class NoRoomRing(Ring):
    """A Ring that cannot grow: the heap has no free block that big."""

    grow_attempts = 0

    def grow(self, size):
        self.grow_attempts += 1
        raise MemoryError


def test_a_ring_that_cannot_grow_holds_the_module_back_and_is_asked_once_per_wait():
    # Every failed allocation costs MicroPython a full collection: the parser,
    # stopped at the full ring, must not ask again on every poll of the wait.
    at, link = engine({b"AT\r\n": FRAME + b"\r\nOK\r\n"})
    ring = at.parser.rings[link] = NoRoomRing(256)
    for attempt, cmd in ((1, b"AT"), (2, b"AT+GMR")):  # the second gets no answer of its own
        try:
            at.command(cmd, 100)
        except OSError as e:
            assert e.errno == 110
        else:
            raise AssertionError("a command behind a ring that cannot grow cannot finish")
        assert ring.grow_attempts == attempt  # the next wait may try again
        assert ring.capacity() == 256 and len(ring) == 256
    assert ring.take(256) == FRAME[-300:-44]  # nothing lost: the rest still waits in the UART
    for _ in range(5):
        at.poll()
    assert ring.take(100) == FRAME[-44:]


def test_a_reclaimed_link_gets_a_ring_of_the_usual_size():
    at, link = engine({b"AT\r\n": FRAME + b"\r\nOK\r\n"})
    at.command(b"AT", 500)
    assert at.ring(link).capacity() == 512
    at.release_link(link)
    again = at.claim_link()
    assert again == link and at.ring(link).capacity() == 256 and not len(at.ring(link))


def test_grow_keeps_wrapped_contents():
    r = Ring(16)
    r.put(b"x" * 12, 0, 12)
    r.discard(10)
    r.put(b"0123456789abcd", 0, 14)  # wraps
    r.grow(64)
    assert r.capacity() == 64 and len(r) == 16
    assert r.take(16) == b"xx0123456789abcd"
