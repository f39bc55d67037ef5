"""A full connection's ring grows while the driver waits for something behind its data, and only then.

It grows (doubling) while an op is queued or in flight, or while a poll or
wait is for another connection or a server client; up to link_max for one
ring and rx_budget beyond link_size for all of them. Past that, or when the
heap has no block that big, the module is held back (backpressure) and a wait
for something behind the ring raises ENOBUFS at once, naming the ring's link.
"""

import errno
import time

from test_ring import Ring  # put() commits at once

from wizfi360.at.clock import ticks_add, ticks_ms
from wizfi360.at.engine import Engine
from wizfi360_host.consts import EV_OK, EV_SEND_OK, OPEN

SEND = 2  # Op.kind of AT+CIPSEND (engine.py's _SEND)
ARGS = b'"TCP","1.2.3.4",80'
START = b"AT+CIPSTART=%d," + ARGS + b"\r\n"


def frame(link, n=300):
    """One +IPD frame of n bytes for link (CIPDINFO form)."""
    payload = (bytes(range(256)) * (n // 256 + 1))[:n]
    return b"\r\n+IPD,%d,%d,1.2.3.4,5:" % (link, n) + payload


FRAME = frame(0)


class ScriptUART:
    """Answers written lines from a dict; any() / readinto() serve the queued replies."""

    def __init__(self, replies):
        self.replies = replies
        self.out = bytearray()
        self.writes = []

    def write(self, buf):
        self.writes.append(bytes(buf))
        self.out += self.replies.get(bytes(buf), b"")
        return len(buf)

    def any(self):
        return len(self.out)

    def readinto(self, buf, n=None):
        n = min(len(self.out), len(buf) if n is None else n)
        buf[:n] = self.out[:n]
        del self.out[:n]
        return n


def engine(replies, link_max=1024, rx_budget=16384, links=1):
    """An engine with link_size 256 and `links` connections open on IDs 0..;
    returns (engine, conn, ...)."""
    replies = dict(replies)
    for i in range(links):
        replies.setdefault(START % i, b"%d,CONNECT\r\n\r\nOK\r\n" % i)
    at = Engine(ScriptUART(replies), rx_size=64, link_size=256, link_max=link_max, rx_budget=rx_budget)
    conns = []
    for _ in range(links):
        conn, op = at.open(ARGS, 1000, datagrams=False)
        assert at.run(op) == EV_OK and conn.state == OPEN
        conns.append(conn)
    return (at, *conns)


def send(at, conn, data, timeout_ms=500):
    """What a blocking socket.send() does: one AT+CIPSEND, waited for."""
    return at.run(at.submit(b"AT+CIPSEND=%d,%d" % (conn.link, len(data)), timeout_ms, SEND, conn, data))


def raises(errno_, fn, *args):
    """The OSError fn(*args) raises, checked for errno_."""
    try:
        fn(*args)
    except OSError as e:
        assert e.errno == errno_, e
        return e
    raise AssertionError("no OSError")


def no_room(conn):
    """conn's ring cannot grow from now on: the heap has no free block that big.
    conn.grow_attempts counts the tries (each costs MicroPython a full collection)."""
    conn.grow_attempts = 0

    def grow(size):
        conn.grow_attempts += 1
        return False  # what Ring.grow says when bytearray(size) raises MemoryError

    conn.grow = grow
    return conn


# --------------------------------------------------------------------------
# When a ring grows


def test_ring_grows_while_a_send_waits_for_send_ok():
    # The peer answers before SEND OK: the answer is bigger than the ring.
    at, conn = engine(
        {
            b"AT+CIPSEND=0,5\r\n": b"\r\nOK\r\n>",
            b"hello": b"\r\nRecv 5 bytes\r\n" + FRAME + b"\r\nSEND OK\r\n",
        }
    )
    assert send(at, conn, b"hello") == EV_SEND_OK
    assert conn.capacity() == 512
    assert conn.take(300) == FRAME[-300:]


def test_ring_grows_while_a_command_waits():
    at, conn = engine({b"AT+CIPSTATUS\r\n": FRAME + b"\r\nSTATUS:2\r\n\r\nOK\r\n"})
    assert at.command(b"AT+CIPSTATUS", 500, True) == (EV_OK, [b"STATUS:2"])
    assert conn.capacity() == 512
    assert conn.take(300) == FRAME[-300:]


def test_ring_grows_while_a_wait_is_for_another_connection():
    # A recv() on link 1 whose data sits behind link 0's.
    at, c0, c1 = engine({}, links=2)
    at.uart.out += FRAME + frame(1, 3)
    at.wait(ticks_add(ticks_ms(), 500), conn=c1)
    assert c1.take(10) == frame(1, 3)[-3:]
    assert c0.capacity() == 512 and c0.take(300) == FRAME[-300:]


def test_ring_grows_while_a_poll_is_for_another_connection():
    # A non-blocking recv() on link 1 polls once at a time: the same.
    at, c0, c1 = engine({}, links=2)
    at.uart.out += FRAME + frame(1, 3) + b"\r\n"  # the CR LF shows link 1's frame whole
    for _ in range(20):
        at.poll(c1)
    assert len(c1) == 3
    assert c0.capacity() == 512 and len(c0) == 300


def test_ring_grows_while_waiting_for_a_server_client():
    # accept(): the new client's CONNECT sits behind link 0's data.
    at, c0 = engine({})
    at.accepted = []
    at.uart.out += FRAME + b"1,CONNECT\r\n"
    at.wait(ticks_add(ticks_ms(), 500))
    assert [c.link for c in at.accepted] == [1]
    assert c0.capacity() == 512 and len(c0) == 300


def test_no_growth_when_the_poll_is_for_the_full_connection_itself():
    # Its reader is right there: it makes room by reading.
    at, conn = engine({})
    at.uart.out += FRAME + b"\r\nWIFI GOT IP\r\n"
    for _ in range(20):
        at.poll(conn)
    assert conn.capacity() == 256 and len(conn) == 256
    assert at.held is None and at.wifi == 0
    assert conn.take(256) == FRAME[-300:-44]
    for _ in range(20):
        at.poll(conn)
    assert conn.take(100) == FRAME[-44:]
    assert at.wifi == 2


def test_no_growth_without_a_wait_backpressure_instead():
    at, conn = engine({})
    at.uart.out += FRAME + b"\r\nWIFI GOT IP\r\n"
    for _ in range(20):
        at.poll()
    assert conn.capacity() == 256 and len(conn) == 256
    assert at.parser.pending()  # the rest waits in the UART buffer
    assert at.wifi == 0  # and so does the line behind it
    assert at.held is None  # nothing waits behind it
    assert conn.take(256) == FRAME[-300:-44]
    for _ in range(20):
        at.poll()
    assert conn.take(100) == FRAME[-44:]
    assert at.wifi == 2


def test_a_grown_ring_fills_only_to_link_size_outside_a_wait():
    # The room above link_size is for waits only, so that the next one finds
    # some even though the ring grew before.
    at, conn = engine({b"AT\r\n": FRAME + b"\r\nOK\r\n"})
    assert at.command(b"AT", 500)[0] == EV_OK
    assert conn.take(300) == FRAME[-300:]
    at.uart.out += FRAME
    for _ in range(20):
        at.poll()
    assert conn.capacity() == 512 and len(conn) == 256
    assert at.parser.pending()


def test_a_wait_fills_every_grown_ring_to_its_storage_the_one_waited_for_too():
    # A read of more than link_size takes it in one wait, rather than a wait
    # per link_size; nothing is allocated for it, and afterwards the rings
    # fill only to link_size again.
    big = frame(0, 600)
    at, c0, c1 = engine({b"AT\r\n": big + frame(1, 600) + b"\r\nOK\r\n"}, links=2)
    assert at.command(b"AT", 500)[0] == EV_OK  # both grew, to 1024
    assert c0.take(600) == big[-600:] and len(c1) == 600
    at.uart.out += big + b"\r\n"
    at.wait(ticks_add(ticks_ms(), 500), conn=c0)
    assert (c0.capacity(), len(c0)) == (1024, 600)
    assert c0.take(600) == big[-600:]
    assert c0.limit == c1.limit == 256


# --------------------------------------------------------------------------
# How far


def test_growth_doubles_up_to_link_max():
    big = frame(0, 1000)
    at, conn = engine({b"AT\r\n": big + b"\r\nOK\r\n"}, link_max=1024)
    assert at.command(b"AT", 500)[0] == EV_OK
    assert conn.capacity() == 1024  # 256, 512, 1024
    assert conn.take(1000) == big[-1000:]


def test_growth_stops_at_link_max_and_the_wait_raises_enobufs_at_once():
    # The command's answer sits behind link 0's data, which may not grow:
    # ENOBUFS names the link to read, at once rather than at the deadline.
    at, conn = engine({b"AT\r\n": FRAME + b"\r\nOK\r\n"}, link_max=256)
    t0 = time.monotonic()
    e = raises(errno.ENOBUFS, at.command, b"AT", 2000)
    assert time.monotonic() - t0 < 0.5
    assert "link 0" in str(e)
    assert conn.capacity() == 256
    assert at.held is None  # the wait is over
    assert conn.take(256) == FRAME[-300:-44]  # nothing lost: the rest still waits in the UART
    for _ in range(20):
        at.poll()
    assert conn.take(100) == FRAME[-44:]


def test_growth_beyond_rx_budget_raises_enobufs_naming_the_ring():
    # Link 0 grows by 256 bytes, the whole budget; link 1 may not grow.
    at, c0, c1 = engine({b"AT\r\n": FRAME + frame(1) + b"\r\nOK\r\n"}, rx_budget=256, links=2)
    e = raises(errno.ENOBUFS, at.command, b"AT", 2000)
    assert "link 1" in str(e)
    assert c0.capacity() == 512 and len(c0) == 300
    assert c1.capacity() == 256 and len(c1) == 256


def test_a_closed_grown_ring_gives_its_budget_back_and_its_id_a_ring_of_the_usual_size():
    at, conn = engine(
        {b"AT\r\n": FRAME + b"\r\nOK\r\n", b"AT+CIPCLOSE=0\r\n": b"0,CLOSED\r\n\r\nOK\r\n"},
        rx_budget=256,
    )
    assert at.command(b"AT", 500)[0] == EV_OK
    assert conn.capacity() == 512
    assert at.run(at.close(conn)) == EV_OK
    again, op = at.open(ARGS, 1000, datagrams=False)
    assert at.run(op) == EV_OK
    assert again.link == 0 and again is not conn
    assert again.capacity() == 256 and not len(again)
    assert at.command(b"AT", 500)[0] == EV_OK  # the whole budget again
    assert again.capacity() == 512 and again.take(300) == FRAME[-300:]


def test_a_ring_read_since_the_last_poll_does_not_fail_the_next_wait():
    # submit() polled while link 0's ring was full at link_max (eng.held);
    # the ring is read before the op is waited for. The wait must let the
    # rest flow and end with the op's answer, not raise ENOBUFS for a ring
    # that now holds nothing.
    at, conn = engine({b"AT\r\n": b"\r\nOK\r\n"}, link_max=256)
    at.uart.out += FRAME
    for _ in range(20):
        at.poll()
    op = at.submit(b"AT", 500)
    assert conn.take(256) == FRAME[-300:-44]
    assert at.run(op) == EV_OK
    assert conn.take(100) == FRAME[-44:]


# --------------------------------------------------------------------------
# No memory


def test_a_ring_that_cannot_grow_holds_the_module_back_and_is_asked_once_per_wait():
    # Every failed allocation costs MicroPython a full collection. A command
    # behind the ring raises ENOBUFS at once; the next wait may ask again.
    at, conn = engine({b"AT\r\n": FRAME + b"\r\nOK\r\n"})
    no_room(conn)
    for attempt, cmd in ((1, b"AT"), (2, b"AT+CIPSTATUS")):  # the second gets no answer of its own
        e = raises(errno.ENOBUFS, at.command, cmd, 2000)
        assert "link 0" in str(e)
        assert conn.grow_attempts == attempt
        assert conn.capacity() == 256 and len(conn) == 256
    assert conn.take(256) == FRAME[-300:-44]  # nothing lost: the rest still waits in the UART
    for _ in range(5):
        at.poll()
    assert conn.take(100) == FRAME[-44:]


def test_a_send_behind_its_own_ring_that_cannot_grow_raises_enobufs_at_once():
    # The SEND OK sits behind the sending connection's own data: a blocking
    # send() cannot read it meanwhile, so it ends at once as behind any
    # other ring, having asked the heap once; nothing is lost.
    at, conn = engine(
        {
            b"AT+CIPSEND=0,5\r\n": b"\r\nOK\r\n>",
            b"hello": b"\r\nRecv 5 bytes\r\n" + FRAME + b"\r\nSEND OK\r\n",
        }
    )
    no_room(conn)
    t0 = time.monotonic()
    e = raises(errno.ENOBUFS, send, at, conn, b"hello", 1000)
    assert time.monotonic() - t0 < 0.5
    assert "link 0" in str(e)
    assert conn.grow_attempts == 1
    assert conn.take(256) == FRAME[-300:-44]
    for _ in range(5):
        at.poll()
    assert conn.take(100) == FRAME[-44:]


def test_grow_keeps_wrapped_contents():
    r = Ring(16)
    r.put(b"x" * 12, 0, 12)
    r.discard(10)
    r.put(b"0123456789abcd", 0, 14)  # wraps
    r.grow(64)
    assert r.capacity() == 64 and len(r) == 16
    assert r.take(16) == b"xx0123456789abcd"
