"""The AT engine (lib/wizfi360/at/engine.py) against a scripted fake UART.

FakeUART answers each byte string written to it from a script of replies;
replies can be cut into fragments (one fragment per read), delayed, and mixed
with unsolicited +IPD data and messages.

Commands are Ops (submit(), run(), poll()); connections are Conns (open(),
close(), eng.links), each with its own receive ring.
"""

import errno
import random
import time

import pytest

from wizfi360.at.clock import ticks_add, ticks_ms
from wizfi360.at.engine import Engine
from wizfi360_host.consts import (
    BROKEN,
    CLOSED,
    EV_ALREADY,
    EV_ERROR,
    EV_FAIL,
    EV_OK,
    EV_SEND_FAIL,
    EV_SEND_OK,
    GONE,
    OPEN,
    OPENING,
    TIMED_OUT,
    WAITING,
    WIFI_ASSOCIATED,
    WIFI_DOWN,
    WIFI_UP,
)


class Delay:
    """In a reply list: the pieces after it become readable ms later."""

    def __init__(self, ms):
        self.ms = ms


class FakeUART:
    """any()/readinto()/write() like machine.UART.

    script: list of (expected bytes, [reply pieces and Delay]); when the bytes
    written so far (and not yet matched) start with the next expected string,
    its replies are queued, after anything queued before. One piece is
    delivered per read at most (readinto may take less than a piece).
    log: ("w", bytes) for writes and ("r", bytes) for reads, in order.
    """

    def __init__(self, script=(), max_write=None):
        self.script = list(script)
        self.max_write = max_write
        self.pending = bytearray()  # written, not matched against the script yet
        self.written = bytearray()
        self.writes = []
        self.write_times = []
        self.log = []
        self.queue = []  # [ready_time, bytes]
        self._tail = 0.0

    # -- test side --

    def inject(self, *pieces):
        self._schedule(pieces)

    def _schedule(self, pieces):
        t = max(time.monotonic(), self._tail)
        for piece in pieces:
            if isinstance(piece, Delay):
                t += piece.ms / 1000
            elif piece:
                self.queue.append([t, bytes(piece)])
        self._tail = t

    def forget(self):
        """Clear the records of what was written and read (not the script)."""
        self.written.clear()
        self.writes.clear()
        self.write_times.clear()
        self.log.clear()

    def idle(self):
        """True when the script is used up, every write matched and every reply read."""
        return not self.script and not self.pending and not self.queue

    def read_log_index(self, needle):
        """Index in log of the first read containing needle."""
        for i, (kind, data) in enumerate(self.log):
            if kind == "r" and needle in data:
                return i
        return None

    def write_log_index(self, data):
        for i, (kind, d) in enumerate(self.log):
            if kind == "w" and d == data:
                return i
        return None

    # -- UART side --

    def write(self, buf):
        b = bytes(buf)
        if self.max_write is not None:
            b = b[: self.max_write]
        self.writes.append(b)
        self.write_times.append(time.monotonic())
        self.log.append(("w", b))
        self.written += b
        self.pending += b
        while self.script and self.pending.startswith(self.script[0][0]):
            expected, replies = self.script.pop(0)
            del self.pending[: len(expected)]
            self._schedule(replies)
        return len(b)

    def any(self):
        if self.queue and self.queue[0][0] <= time.monotonic():
            return len(self.queue[0][1])
        return 0

    def readinto(self, buf, nbytes=None):
        n = self.any()
        if not n:
            return None
        if nbytes is not None and nbytes < n:
            n = nbytes
        if n > len(buf):
            n = len(buf)
        head = self.queue[0]
        piece = head[1][:n]
        buf[:n] = piece
        if n == len(head[1]):
            self.queue.pop(0)
        else:
            head[1] = head[1][n:]
        self.log.append(("r", piece))
        return n


def frag(data, seed, top=5):
    """data cut into random pieces of 1..top bytes."""
    rng = random.Random(seed)
    out = []
    i = 0
    while i < len(data):
        n = rng.randint(1, top)
        out.append(data[i : i + n])
        i += n
    return out


GMR_LINES = [
    b"AT version:1.1.1.7(May  4 2021 15:14:59)",
    b"SDK version:3.2.0(a0ffff9f)",
    b"compile time:May  4 2021 15:14:59",
]
GMR_BODY = b"".join(line + b"\r\n" for line in GMR_LINES) + b"\r\nOK\r\n"


# After a timeout or ALREADY CONNECTED the engine resyncs with AT+GMR before
# its next command: results before the "AT version:" line are stale.
GMR = (b"AT+GMR\r\n", [b"AT version:1.1.1.7(test)\r\nSDK version:3.2.0\r\n\r\nOK\r\n"])


SEND = 2  # Op.kind of AT+CIPSEND (engine.py's _SEND)

ARGS = b'"TCP","1.2.3.4",80'
START = b"AT+CIPSTART=%d," + ARGS + b"\r\n"


def engine(script=(), **kw):
    uart = FakeUART(script, **kw)
    return Engine(uart), uart


def open_conns(eng, uart, n=1):
    """n connections opened as the module opens them ("<id>,CONNECT", then
    OK for AT+CIPSTART), on the lowest free IDs. The UART's records are
    cleared afterwards: a test sees its own traffic only."""
    conns = []
    for _ in range(n):
        link = eng.links.index(None)
        uart.script.insert(0, (START % link, [b"%d,CONNECT\r\n\r\nOK\r\n" % link]))
        conn, op = eng.open(ARGS, 1000, datagrams=False)
        assert conn.link == link and eng.run(op) == EV_OK and conn.state == OPEN
        conns.append(conn)
    uart.forget()
    return conns


def send(eng, conn, data, timeout_ms=10000):
    """What a blocking socket.send() does: one AT+CIPSEND, waited for.
    Returns its result; raises ETIMEDOUT (or ENOBUFS) as run() does."""
    op = eng.submit(b"AT+CIPSEND=%d,%d" % (conn.link, len(data)), timeout_ms, SEND, conn, data)
    return eng.run(op)


def poll_until(eng, cond, ms=500):
    end = time.monotonic() + ms / 1000
    while not cond():
        assert time.monotonic() < end, "condition not reached"
        if not eng.poll():
            time.sleep(0.001)


# --------------------------------------------------------------------------
# command()


@pytest.mark.parametrize("seed", [None, 1, 2, 3])
def test_command_returns_lines_without_echo(seed):
    reply = b"AT+GMR\r\n" + GMR_BODY  # echo on (power-up default)
    pieces = [reply] if seed is None else frag(reply, seed)
    eng, uart = engine([(b"AT+GMR\r\n", pieces)])
    assert eng.command(b"AT+GMR", lines=True) == (EV_OK, GMR_LINES)
    assert bytes(uart.written) == b"AT+GMR\r\n"
    assert uart.idle()


def test_command_with_echo_off():
    eng, uart = engine([(b"AT+GMR\r\n", [GMR_BODY])])
    assert eng.command(b"AT+GMR", lines=True) == (EV_OK, GMR_LINES)


def test_command_without_lines():
    eng, uart = engine([(b"AT\r\n", [b"AT\r\n", b"\r\nOK\r\n"])])
    assert eng.command(b"AT") == (EV_OK, None)


def test_echo_is_filtered_only_once():
    # A line equal to the command that comes after the echo is output.
    eng, uart = engine([(b"AT+X\r\n", [b"AT+X\r\nAT+X\r\n+X:1\r\n\r\nOK\r\n"])])
    assert eng.command(b"AT+X", lines=True) == (EV_OK, [b"AT+X", b"+X:1"])


@pytest.mark.parametrize("seed", [None, 4, 5])
def test_command_with_data_and_events_interleaved(seed):
    # +IPD data and unsolicited lines between the echo and the OK go to the
    # rings and the state, not into the command's lines.
    a = b"\r\nOK\r\n+IPD,1,3:xyz"
    reply = (
        b"AT+CIPSTATUS\r\n"
        b"\r\n+IPD,0,%d,10.0.0.9,8080:" % len(a) + a + b"STATUS:3\r\n"
        b"\r\n+IPD,1,4:\r\n>>\r\n1,CLOSED\r\n"
        b'+CIPSTATUS:0,"TCP","10.0.0.9",8080,5000,0\r\n'
        b"WIFI GOT IP\r\n"
        b"\r\nOK\r\n"
    )
    pieces = [reply] if seed is None else frag(reply, seed, 9)
    eng, uart = engine([(b"AT+CIPSTATUS\r\n", pieces)])
    c0, c1 = open_conns(eng, uart, 2)
    res = eng.command(b"AT+CIPSTATUS", lines=True)
    assert res == (EV_OK, [b"STATUS:3", b'+CIPSTATUS:0,"TCP","10.0.0.9",8080,5000,0'])
    assert c0.take(100) == a
    assert c1.take(100) == b"\r\n>>"
    assert tuple(eng.parser.peer()) == (10, 0, 0, 9) and eng.parser.peer_port == 8080
    assert c1.state == CLOSED and eng.links[1] is None
    assert c0.state == OPEN and eng.links[0] is c0
    assert eng.wifi == WIFI_UP


@pytest.mark.parametrize(
    "reply,result",
    [
        (b"\r\nERROR\r\n", EV_ERROR),
        (b"+CWJAP_CUR:2\r\n\r\nFAIL\r\n", EV_FAIL),
        (b"\r\nFail\r\n", EV_FAIL),
        (b"\r\nOK\r\n", EV_OK),
    ],
)
def test_command_final_results(reply, result):
    eng, uart = engine([(b'AT+CWJAP_CUR="a","b"\r\n', [reply])])
    assert eng.command(b'AT+CWJAP_CUR="a","b"')[0] == result


@pytest.mark.parametrize("split", ["one read", "two reads", "two reads 5 ms apart"])
def test_already_connected_then_error_is_one_answer(split):
    # "ALREADY CONNECTED\r\n\r\nERROR\r\n" (contract; manual 2.2) is one
    # answer. Its result must not depend on how the UART delivers it
    # (socket.connect() maps EV_ALREADY to EALREADY), and its ERROR must not
    # become the result of the next command.
    answer = {
        "one read": [b"ALREADY CONNECTED\r\n\r\nERROR\r\n"],
        "two reads": [b"ALREADY CONNECTED\r\n", b"\r\nERROR\r\n"],
        "two reads 5 ms apart": [b"ALREADY CONNECTED\r\n", Delay(5), b"\r\nERROR\r\n"],
    }[split]
    eng, uart = engine(
        [
            (b'AT+CIPSTART=0,"TCP","1.2.3.4",80\r\n', answer),
            GMR,
            (b"AT\r\n", [b"\r\nOK\r\n"]),
        ]
    )
    first = eng.command(b'AT+CIPSTART=0,"TCP","1.2.3.4",80')[0]
    assert first == EV_ALREADY
    assert eng.command(b"AT", timeout_ms=500)[0] == EV_OK
    assert uart.idle()


@pytest.mark.parametrize("split", ["one read", "two reads"])
def test_already_connected_result_is_ev_already(split):
    # socket.connect() raises EALREADY only when command() returns EV_ALREADY.
    answer = {
        "one read": [b"ALREADY CONNECTED\r\n\r\nERROR\r\n"],
        "two reads": [b"ALREADY CONNECTED\r\n", b"\r\nERROR\r\n"],
    }[split]
    eng, uart = engine([(b'AT+CIPSTART=0,"TCP","1.2.3.4",80\r\n', answer)])
    assert eng.command(b'AT+CIPSTART=0,"TCP","1.2.3.4",80')[0] == EV_ALREADY


@pytest.mark.parametrize("busy", [b"busy p...\r\n", b"busy s...\r\n"])
@pytest.mark.parametrize("echo", [False, True])
def test_busy_resends_the_command(busy, echo):
    cmd = b'AT+CWJAP_CUR="net","secret"\r\n'
    e = cmd if echo else b""
    eng, uart = engine(
        [
            (cmd, [e, busy]),
            (cmd, [e, busy]),
            (cmd, [e, b"WIFI CONNECTED\r\nWIFI GOT IP\r\n", b"\r\nOK\r\n"]),
        ]
    )
    assert eng.command(cmd[:-2], timeout_ms=2000) == (EV_OK, None)
    assert uart.writes == [cmd, cmd, cmd]
    assert eng.wifi == WIFI_UP
    assert uart.idle()


def test_always_busy_times_out_by_the_deadline():
    # The module stays busy: the command is retried with growing pauses, but
    # the deadline computed at the start still holds (module-notes, bug 3):
    # ETIMEDOUT by then, and no retry written after it.
    cmd = b"AT+CIFSR\r\n"
    eng, uart = engine([(cmd, [b"busy p...\r\n"])] * 100)
    t0 = time.monotonic()
    with pytest.raises(OSError) as ei:
        eng.command(b"AT+CIFSR", timeout_ms=200)
    dt = time.monotonic() - t0
    assert ei.value.errno == errno.ETIMEDOUT
    assert 2 <= len(uart.writes) <= 8  # retried with growing pauses, not hammered
    assert uart.write_times[-1] - t0 < 0.2  # no retry after the deadline
    assert 0.19 <= dt < 0.6


def test_missing_answer_times_out_by_the_deadline():
    eng, uart = engine([(b"AT+CWLAP\r\n", [])])
    t0 = time.monotonic()
    with pytest.raises(OSError) as ei:
        eng.command(b"AT+CWLAP", timeout_ms=80)
    dt = time.monotonic() - t0
    assert ei.value.errno == errno.ETIMEDOUT
    assert 0.079 <= dt < 0.4


def test_deadline_is_not_reset_by_traffic():
    # Unsolicited lines and data keep arriving; the deadline still holds.
    noise = []
    for i in range(40):
        noise += [Delay(10), b"\r\n+IPD,0,2:%02d" % i, b"WIFI GOT IP\r\n"]
    eng, uart = engine([(b"AT+CWLAP\r\n", noise)])
    open_conns(eng, uart)
    t0 = time.monotonic()
    with pytest.raises(OSError) as ei:
        eng.command(b"AT+CWLAP", timeout_ms=100)
    dt = time.monotonic() - t0
    assert ei.value.errno == errno.ETIMEDOUT
    assert 0.099 <= dt < 0.3


@pytest.mark.parametrize(
    "late,next_reply,next_result",
    [(b"\r\nERROR\r\n", b"\r\nOK\r\n", EV_OK), (b"\r\nOK\r\n", b"\r\nERROR\r\n", EV_ERROR)],
)
def test_late_answer_is_not_taken_for_the_next_command(late, next_reply, next_result):
    eng, uart = engine(
        [
            (b'AT+CWJAP_CUR="a","b"\r\n', [Delay(150), late]),
            GMR,
            (b"AT+CIPSTATUS\r\n", [next_reply]),
        ]
    )
    with pytest.raises(OSError) as ei:
        eng.command(b'AT+CWJAP_CUR="a","b"', timeout_ms=50)
    assert ei.value.errno == errno.ETIMEDOUT
    assert eng.command(b"AT+CIPSTATUS", timeout_ms=1000)[0] == next_result
    # The next command went out only after the late answer had been read.
    assert uart.read_log_index(late) < uart.write_log_index(b"AT+CIPSTATUS\r\n")
    assert uart.idle()


def test_late_answer_already_waiting_in_the_uart():
    eng, uart = engine(
        [
            (b"AT+A\r\n", [Delay(100), b"\r\nFAIL\r\n"]),
            GMR,
            (b"AT+B\r\n", [b"\r\nOK\r\n"]),
        ]
    )
    with pytest.raises(OSError):
        eng.command(b"AT+A", timeout_ms=30)
    time.sleep(0.15)  # the late FAIL is now sitting in the UART
    assert eng.command(b"AT+B", timeout_ms=500)[0] == EV_OK
    assert uart.idle()


def test_resync_drops_every_stale_result_before_the_marker():
    # A timed-out CIPSEND leaves several results behind (OK, SEND OK); none of
    # them may answer the next command.
    eng, uart = engine(
        [
            (b"AT+A\r\n", [Delay(60), b"\r\nOK\r\n", b"\r\nSEND OK\r\n", b"\r\nERROR\r\n"]),
            GMR,
            (b"AT+B\r\n", [b"\r\nFAIL\r\n"]),
        ]
    )
    with pytest.raises(OSError):
        eng.command(b"AT+A", timeout_ms=20)
    assert eng.command(b"AT+B", timeout_ms=1000)[0] == EV_FAIL
    assert uart.idle()


def test_forget_timeout_lets_the_next_command_go():
    eng, uart = engine([(b"AT+A\r\n", []), (b"AT\r\n", [b"\r\nOK\r\n"])])
    with pytest.raises(OSError):
        eng.command(b"AT+A", timeout_ms=20)
    eng.forget_timeout()
    t0 = time.monotonic()
    assert eng.command(b"AT", timeout_ms=500)[0] == EV_OK
    assert time.monotonic() - t0 < 0.2


def test_forget_timeout_after_a_resync_that_timed_out_lets_the_next_command_go():
    # The module stops answering: a command times out, then so does the
    # AT+GMR resync written before the next one. forget_timeout() (the
    # driver's sync loop, WizFi360._sync) must make the answer to the next
    # command its answer again, not a stale result from before a marker line.
    eng, uart = engine([(b"AT+A\r\n", []), (b"AT+GMR\r\n", []), (b"AT\r\n", [b"\r\nOK\r\n"])])
    for cmd in (b"AT+A", b"AT+B"):
        with pytest.raises(OSError):
            eng.command(cmd, timeout_ms=30)
    assert uart.writes == [b"AT+A\r\n", b"AT+GMR\r\n"]  # AT+B waited behind the resync
    eng.forget_timeout()
    assert eng.command(b"AT", timeout_ms=300) == (EV_OK, None)
    assert uart.writes == [b"AT+A\r\n", b"AT+GMR\r\n", b"AT\r\n"]


def test_busy_for_a_resync_whose_command_was_given_up_is_no_error():
    # The AT+GMR resync goes before the next command; that command's caller
    # gives up while the resync is in flight (cancel(), as wait() does on
    # ENOBUFS), and the module answers the resync "busy p...": poll() must
    # go on, and the engine resync before the next command.
    eng, uart = engine(
        [
            (b"AT+A\r\n", []),
            (b"AT+GMR\r\n", [b"busy p...\r\n"]),
            GMR,
            (b"AT\r\n", [b"\r\nOK\r\n"]),
        ]
    )
    with pytest.raises(OSError):
        eng.command(b"AT+A", timeout_ms=20)
    op = eng.submit(b"AT+B", 1000)
    assert uart.writes[-1] == b"AT+GMR\r\n"  # the resync, before AT+B
    eng.cancel(op)
    assert op.result == TIMED_OUT
    poll_until(eng, lambda: not uart.queue)  # the "busy p..." has been read
    for _ in range(5):
        eng.poll()
    assert eng.command(b"AT", 1000) == (EV_OK, None)
    assert uart.writes == [b"AT+A\r\n", b"AT+GMR\r\n", b"AT+GMR\r\n", b"AT\r\n"]


# --------------------------------------------------------------------------
# Ops: the non-blocking core


def test_submit_returns_at_once_and_poll_moves_the_op_on():
    # Nothing blocks: the command is written at once and its answer is taken
    # in by later polls.
    eng, uart = engine([(b"AT\r\n", [Delay(20), b"\r\nOK\r\n"])])
    op = eng.submit(b"AT", 500)
    assert op.result == WAITING
    assert uart.writes == [b"AT\r\n"]
    poll_until(eng, lambda: op.result != WAITING)
    assert op.result == EV_OK


def test_ops_are_written_one_at_a_time_in_order():
    # The module takes one command at a time (manual 2.3): the second goes
    # only after the first's answer has been read.
    eng, uart = engine([(b"AT+A\r\n", [Delay(20), b"\r\nOK\r\n"]), (b"AT+B\r\n", [b"\r\nERROR\r\n"])])
    a = eng.submit(b"AT+A", 500)
    b = eng.submit(b"AT+B", 500)
    assert uart.writes == [b"AT+A\r\n"]
    assert eng.run(b) == EV_ERROR
    assert a.result == EV_OK
    assert uart.read_log_index(b"OK") < uart.write_log_index(b"AT+B\r\n")


def test_an_op_queued_past_its_deadline_times_out_unwritten():
    # Its deadline holds while it waits behind another op; it is never
    # written, so no late answer can come and no resync is needed.
    eng, uart = engine([(b"AT+A\r\n", [Delay(150), b"\r\nOK\r\n"]), (b"AT+C\r\n", [b"\r\nOK\r\n"])])
    a = eng.submit(b"AT+A", 1000)
    b = eng.submit(b"AT+B", 50)
    t0 = time.monotonic()
    with pytest.raises(OSError) as ei:
        eng.run(b)
    assert ei.value.errno == errno.ETIMEDOUT
    assert b.result == TIMED_OUT
    assert time.monotonic() - t0 < 0.13
    assert eng.run(a) == EV_OK
    assert eng.command(b"AT+C", 500)[0] == EV_OK
    assert uart.writes == [b"AT+A\r\n", b"AT+C\r\n"]


def test_wait_for_a_connection_ends_with_its_data_or_its_end():
    eng, uart = engine()
    c0, c1 = open_conns(eng, uart, 2)
    until = ticks_add(ticks_ms(), 1000)
    uart.inject(Delay(10), b"\r\n+IPD,0,2:no\r\n+IPD,1,2:hi\r\n")
    eng.wait(until, conn=c1)
    assert c1.take(10) == b"hi"
    uart.inject(Delay(10), b"1,CLOSED\r\n")
    eng.wait(until, conn=c1)
    assert c1.state == CLOSED and not len(c1)
    assert c0.take(10) == b"no" and c0.state == OPEN


def test_wait_for_a_connection_times_out_at_until():
    eng, uart = engine()
    (conn,) = open_conns(eng, uart)
    t0 = time.monotonic()
    with pytest.raises(OSError) as ei:
        eng.wait(ticks_add(ticks_ms(), 60), conn=conn)
    assert ei.value.errno == errno.ETIMEDOUT
    assert 0.055 <= time.monotonic() - t0 < 0.3


# --------------------------------------------------------------------------
# Sends: AT+CIPSEND ops (kind SEND), whose data goes after the ">"


@pytest.mark.parametrize("prompt", [b">", b"> "])
@pytest.mark.parametrize("seed", [None, 7])
def test_send(prompt, seed):
    data = b"\r\nOK\r\n>\x00\xff+IPD,0,5:SEND OK\r\n"
    n = len(data)
    cmd = b"AT+CIPSEND=0,%d\r\n" % n
    r1 = cmd + b"\r\nOK\r\n" + prompt  # with echo
    r2 = b"\r\nRecv %d bytes\r\n" % n + b"\r\nSEND OK\r\n"
    p1 = [r1] if seed is None else frag(r1, seed)
    p2 = [r2] if seed is None else frag(r2, seed + 1)
    eng, uart = engine([(cmd, p1[:-1] + [Delay(20)] + p1[-1:]), (data, p2)])
    (conn,) = open_conns(eng, uart)
    assert send(eng, conn, data) == EV_SEND_OK
    assert conn.error == 0
    assert bytes(uart.written) == cmd + data
    # The data went out only after the prompt had been read.
    assert uart.write_log_index(data) > uart.read_log_index(b">")
    assert uart.idle()


def test_send_with_data_interleaved_everywhere():
    payload = bytes(range(256)) * 2
    cmd = b"AT+CIPSEND=0,512\r\n"
    d0 = b"\r\n+IPD,0,6,1.2.3.4,80:\r\nOK\r\n"
    d1 = b"\r\n+IPD,1,1:>"
    d2 = b"\r\n+IPD,0,9:SEND OK\r\n"
    d3 = b"\r\n+IPD,1,5:ready"
    eng, uart = engine(
        [
            (cmd, [cmd, d0, b"\r\nOK\r\n", d1, b">", d2]),
            (payload, [b"\r\nRecv 512 bytes\r\n", d3, b"\r\nSEND OK\r\n"]),
        ]
    )
    c0, c1 = open_conns(eng, uart, 2)
    assert send(eng, c0, payload) == EV_SEND_OK
    assert bytes(uart.written) == cmd + payload
    assert c0.take(100) == b"\r\nOK\r\n" + b"SEND OK\r\n"
    assert c1.take(100) == b">" + b"ready"
    assert eng.reboots == 0  # "ready" inside a payload is not a reboot


def test_send_partial_writes():
    payload = bytes(random.Random(9).getrandbits(8) for _ in range(300))
    cmd = b"AT+CIPSEND=0,300\r\n"
    # The UART takes at most 64 bytes per write() (the commands fit).
    eng, uart = engine(
        [(cmd, [b"\r\nOK\r\n>"]), (payload, [b"\r\nRecv 300 bytes\r\n\r\nSEND OK\r\n"])], max_write=64
    )
    (conn,) = open_conns(eng, uart)
    assert send(eng, conn, payload) == EV_SEND_OK
    assert bytes(uart.written) == cmd + payload


def test_send_accepts_memoryview_and_bytearray():
    for kind in (bytearray, memoryview):
        data = kind(b"hello")
        eng, uart = engine(
            [(b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n> "]), (b"hello", [b"\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n"])]
        )
        (conn,) = open_conns(eng, uart)
        assert send(eng, conn, data) == EV_SEND_OK
        assert bytes(uart.written) == b"AT+CIPSEND=0,5\r\nhello"


def test_send_error_writes_no_data():
    eng, uart = engine([(b"AT+CIPSEND=0,5\r\n", [b"\r\nERROR\r\n"])])
    (conn,) = open_conns(eng, uart)
    assert send(eng, conn, b"hello") == EV_ERROR
    assert bytes(uart.written) == b"AT+CIPSEND=0,5\r\n"
    assert conn.error == errno.EIO  # for the socket to raise
    assert conn.state == OPEN


def test_send_fail():
    eng, uart = engine(
        [
            (b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n>"]),
            (b"hello", [b"\r\nRecv 5 bytes\r\n", Delay(10), b"\r\nSEND FAIL\r\n"]),
        ]
    )
    (conn,) = open_conns(eng, uart)
    assert send(eng, conn, b"hello") == EV_SEND_FAIL
    assert conn.error == errno.EIO


def test_a_second_result_of_a_failed_send_is_not_the_next_sends():
    # ESP AT 1.5 answered one send SEND FAIL, then SEND OK (module-notes).
    # The stray SEND OK comes while the next CIPSEND waits for its ">": it is
    # not that send's result, and the next send's data goes only after its
    # own ">", its result only after its own "Recv <n> bytes".
    eng, uart = engine(
        [
            (b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n>"]),
            (b"hello", [b"\r\nRecv 5 bytes\r\n\r\nSEND FAIL\r\n"]),
            (b"AT+CIPSEND=0,5\r\n", [b"\r\nSEND OK\r\n", Delay(20), b"\r\nOK\r\n>"]),
            (b"world", [b"\r\nSEND OK\r\n", Delay(10), b"\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n"]),
        ]
    )
    (conn,) = open_conns(eng, uart)
    assert send(eng, conn, b"hello") == EV_SEND_FAIL
    conn.error = 0  # taken by the socket
    op = eng.submit(b"AT+CIPSEND=0,5", 2000, SEND, conn, b"world")
    poll_until(eng, lambda: b"world" in bytes(uart.written) or op.result != -1)
    assert op.result == -1  # the stray SEND OK answered nothing
    assert eng.run(op) == EV_SEND_OK
    assert bytes(uart.written).endswith(b"AT+CIPSEND=0,5\r\nworld") and uart.idle()


def test_a_send_ends_at_once_when_its_link_dies_without_a_result():
    # The Mbed driver: the module "possibly doesn't reply" SEND OK or SEND
    # FAIL when the link dies; only "<id>,CLOSED" comes. The send fails then,
    # not at its deadline, and a SEND FAIL that comes after all is stale.
    eng, uart = engine(
        [
            (b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n>"]),
            (b"hello", [b"\r\nRecv 5 bytes\r\n0,CLOSED\r\n", Delay(50), b"\r\nSEND FAIL\r\n"]),
            GMR,
            (b"AT\r\n", [b"\r\nOK\r\n"]),
        ]
    )
    (conn,) = open_conns(eng, uart)
    t0 = time.monotonic()
    assert send(eng, conn, b"hello", timeout_ms=5000) == EV_SEND_FAIL
    assert time.monotonic() - t0 < 1.0  # well before its 5 s deadline
    assert conn.state == CLOSED and conn.error == 0  # its end tells: ECONNRESET
    assert eng.command(b"AT") == (EV_OK, None)  # the late SEND FAIL answered nothing


def test_a_send_queued_for_a_link_that_ends_is_never_written():
    # Written after "<id>,CLOSED", a CIPSEND would reach whoever the module
    # gives the ID next.
    eng, uart = engine([(b"AT+X\r\n", [Delay(20), b"0,CLOSED\r\n\r\nOK\r\n"])])
    (conn,) = open_conns(eng, uart)
    busy = eng.submit(b"AT+X", 1000)
    op = eng.submit(b"AT+CIPSEND=0,5", 1000, SEND, conn, b"hello")
    assert eng.run(busy) == EV_OK
    assert op.result == EV_SEND_FAIL
    eng.poll()
    assert uart.writes == [b"AT+X\r\n"]


def test_send_busy_then_ok():
    cmd = b"AT+CIPSEND=0,2\r\n"
    eng, uart = engine(
        [
            (cmd, [b"busy s...\r\n"]),
            (cmd, [b"\r\nOK\r\n>"]),
            (b"hi", [b"\r\nRecv 2 bytes\r\n\r\nSEND OK\r\n"]),
        ]
    )
    (conn,) = open_conns(eng, uart)
    assert send(eng, conn, b"hi") == EV_SEND_OK
    assert bytes(uart.written) == cmd + cmd + b"hi"


def test_send_times_out_without_prompt():
    eng, uart = engine([(b"AT+CIPSEND=0,2\r\n", [b"\r\nOK\r\n"])])
    (conn,) = open_conns(eng, uart)
    t0 = time.monotonic()
    with pytest.raises(OSError) as ei:
        send(eng, conn, b"hi", timeout_ms=80)
    assert ei.value.errno == errno.ETIMEDOUT
    assert time.monotonic() - t0 < 0.4
    assert bytes(uart.written) == b"AT+CIPSEND=0,2\r\n"  # no data without a prompt


def test_send_times_out_without_send_ok():
    eng, uart = engine([(b"AT+CIPSEND=0,2\r\n", [b"\r\nOK\r\n>"]), (b"hi", [b"\r\nRecv 2 bytes\r\n"])])
    (conn,) = open_conns(eng, uart)
    with pytest.raises(OSError) as ei:
        send(eng, conn, b"hi", timeout_ms=80)
    assert ei.value.errno == errno.ETIMEDOUT
    assert eng._owed is None  # its ">" came: nothing is owed


# A send that timed out before its ">": the module may still give it, and
# then takes the next bytes written as that send's data. The engine keeps it
# (eng._owed) and writes nothing until the late ">" (then the data goes), an
# ERROR or "busy" (no data wanted) or a reboot; a module quiet for 2 s is reset
# on its RST pin, if the engine has one.


# Its ">" comes 100 ms late; the data that follows is answered as usual.
LATE_PROMPT = [
    (b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n", Delay(100), b">"]),
    (b"hello", [b"\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n"]),
    GMR,
    (b"AT\r\n", [b"\r\nOK\r\n"]),
]


def test_a_late_prompt_gets_the_timed_out_send_and_then_the_next_command_goes():
    eng, uart = engine(LATE_PROMPT)
    (conn,) = open_conns(eng, uart)
    with pytest.raises(OSError) as ei:
        send(eng, conn, b"hello", timeout_ms=40)
    assert ei.value.errno == errno.ETIMEDOUT
    assert eng._owed is not None  # kept: its ">" may still come
    assert eng.command(b"AT", 1000) == (EV_OK, None)
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n", b"hello", b"AT+GMR\r\n", b"AT\r\n"]
    assert eng._owed is None
    assert uart.idle()


def test_a_timed_out_send_is_kept_as_it_was_given():
    eng, uart = engine(LATE_PROMPT)
    (conn,) = open_conns(eng, uart)
    buf = bytearray(b"hello")
    with pytest.raises(OSError):
        send(eng, conn, memoryview(buf), timeout_ms=40)
    buf[:] = b"XXXXX"  # the caller reuses its buffer
    assert eng.command(b"AT", 1000) == (EV_OK, None)
    assert uart.writes[1] == b"hello"


def test_a_prompt_however_late_gets_the_data_and_no_command_is_written_before():
    # The ">" comes 600 ms after a send that gave up at 40 ms: until then
    # nothing is written (the module takes the next bytes as the data), a
    # command queued meanwhile ends by its own deadline, and the late ">"
    # gets the send's data; the next command then goes, after a resync.
    eng, uart = engine(
        [
            (b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n", Delay(600), b">"]),
            (b"hello", [b"\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n"]),
            GMR,
            (b"AT\r\n", [b"\r\nOK\r\n"]),
        ]
    )
    (conn,) = open_conns(eng, uart)
    with pytest.raises(OSError):
        send(eng, conn, b"hello", timeout_ms=40)
    with pytest.raises(OSError) as e:
        eng.command(b"AT", 200)
    assert e.value.errno == errno.ETIMEDOUT
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n"]
    poll_until(eng, lambda: b"hello" in bytes(uart.written), ms=2000)
    assert eng.command(b"AT", 1000) == (EV_OK, None)
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n", b"hello", b"AT+GMR\r\n", b"AT\r\n"]


@pytest.mark.parametrize(
    "answer", [b"\r\nERROR\r\n", b"link is not valid\r\n\r\nERROR\r\n", b"busy p...\r\n"]
)
def test_an_expired_send_refused_late_wants_no_data_and_frees_the_line(answer):
    # ERROR (or "busy": not taken) instead of the ">", after the send gave
    # up: no data is written, and commands go again.
    eng, uart = engine(
        [
            (b"AT+CIPSEND=0,5\r\n", [Delay(100), answer]),
            GMR,
            (b"AT\r\n", [b"\r\nOK\r\n"]),
        ]
    )
    (conn,) = open_conns(eng, uart)
    with pytest.raises(OSError):
        send(eng, conn, b"hello", timeout_ms=40)
    assert eng.command(b"AT", 2000) == (EV_OK, None)
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n", b"AT+GMR\r\n", b"AT\r\n"]


def test_a_prompt_behind_a_full_ring_holds_every_command_until_the_ring_is_read():
    # The ">" sits behind link 1's data, which its ring (that cannot grow)
    # has no room for: the send ends at once with ENOBUFS naming link 1, and
    # nothing may be written until the ring is read (the ">" may be behind).
    from test_ring_growth import no_room

    frame = b"\r\n+IPD,1,300:" + bytes(range(256)) + bytes(44)
    uart = FakeUART(
        [
            (b"AT+CIPSEND=0,5\r\n", [frame, b"\r\nOK\r\n>"]),
            (b"hello", [b"\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n"]),
            GMR,
            (b"AT\r\n", [b"\r\nOK\r\n"]),
        ]
    )
    eng = Engine(uart, link_size=256)
    c0, c1 = open_conns(eng, uart, 2)
    no_room(c1)
    t0 = time.monotonic()
    with pytest.raises(OSError) as ei:
        send(eng, c0, b"hello", timeout_ms=1000)
    assert ei.value.errno == errno.ENOBUFS and "link 1" in str(ei.value)
    with pytest.raises(OSError) as ei:
        eng.command(b"AT", 1000)
    assert ei.value.errno == errno.ENOBUFS
    assert time.monotonic() - t0 < 0.5  # at once, not at the deadlines
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n"]  # the command was not written
    assert c1.take(256) == frame[-300:-44]
    poll_until(eng, lambda: uart.writes[-1] == b"hello")  # as soon as the ">" is read
    assert eng.command(b"AT", 500) == (EV_OK, None)
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n", b"hello", b"AT+GMR\r\n", b"AT\r\n"]
    assert c1.take(100) == frame[-44:]


def test_a_command_behind_a_timed_out_send_still_ends_by_its_deadline():
    # No ">" comes, and link 0's data keeps the line busy: the command queued
    # behind the owed send
    # must still time out at its own deadline (module-notes, bug 3), unwritten.
    eng, uart = engine([(b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n"]), GMR, (b"AT\r\n", [b"\r\nOK\r\n"])])
    (conn,) = open_conns(eng, uart)
    with pytest.raises(OSError):
        send(eng, conn, b"hello", timeout_ms=40)
    noise = []
    for i in range(40):
        noise += [Delay(10), b"\r\n+IPD,0,2:%02d" % i]
    uart.inject(*noise)
    t0 = time.monotonic()
    with pytest.raises(OSError) as ei:
        eng.command(b"AT", timeout_ms=100)
    assert ei.value.errno == errno.ETIMEDOUT
    assert time.monotonic() - t0 < 0.3
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n"]


def test_a_prompt_that_never_comes_holds_every_command_without_a_reset_pin():
    # A module that took AT+CIPSEND and then hung may still wait for the
    # data: without a RST pin there is no way out that writes nothing, so
    # nothing is written, however long the quiet, until the module speaks.
    eng, uart = engine([(b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n"]), (b"AT\r\n", [b"\r\nOK\r\n"])])
    (conn,) = open_conns(eng, uart)
    with pytest.raises(OSError):
        send(eng, conn, b"hello", timeout_ms=40)
    for _ in range(2):
        with pytest.raises(OSError) as ei:
            eng.command(b"AT", timeout_ms=1300)
        assert ei.value.errno == errno.ETIMEDOUT
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n"]
    uart.inject(b"\r\nready\r\n")  # the module's own watchdog, or a power cycle
    poll_until(eng, lambda: eng.reboots == 1)
    assert eng.command(b"AT", 1000) == (EV_OK, None)
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n", b"AT\r\n"]


class ResetPin:
    """A module's RST line: the module restarts ("ready") when it goes high
    again after low, as module-notes' board section says."""

    def __init__(self, uart):
        self.uart = uart
        self.levels = []

    def __call__(self, level):
        self.levels.append(level)
        if level:
            self.uart.inject(Delay(50), b"\xff\xfe\r\nready\r\n")


def test_a_prompt_that_never_comes_resets_the_module_on_its_reset_pin():
    # With the RST pin, 2 s of quiet after an expired send ends in a hardware
    # reset: the link is gone with the module's state, the commands that
    # waited meanwhile end with it, and the next one is written at once.
    eng, uart = engine([(b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n"]), (b"AT\r\n", [b"\r\nOK\r\n"])])
    (conn,) = open_conns(eng, uart)
    pin = eng.reset_pin = ResetPin(uart)
    with pytest.raises(OSError):
        send(eng, conn, b"hello", timeout_ms=40)
    op = eng.submit(b"AT", 5000)
    poll_until(eng, lambda: op.result != WAITING, ms=5000)
    assert op.result == GONE  # ended by the reboot, never written
    assert pin.levels == [0, 1]
    assert eng.reboots == 1 and eng._owed is None and conn.state == CLOSED
    assert eng.command(b"AT", 1000) == (EV_OK, None)
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n", b"AT\r\n"]


def test_the_reset_pin_goes_high_again_when_the_wait_ends_while_it_is_low():
    # An answer read while RST is low (bytes the UART held from before) ends
    # the wait for the ">", and nothing else is queued: the pin still goes
    # high again, and the module comes back.
    eng, uart = engine([(b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n"])])
    (conn,) = open_conns(eng, uart)
    pin = eng.reset_pin = ResetPin(uart)
    with pytest.raises(OSError):
        send(eng, conn, b"hello", timeout_ms=40)
    poll_until(eng, lambda: pin.levels == [0], ms=5000)
    uart.inject(b"\r\nERROR\r\n")
    poll_until(eng, lambda: eng.reboots == 1, ms=2000)
    assert pin.levels == [0, 1] and eng._owed is None
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n"]


def test_a_reboot_cancels_a_timed_out_send():
    # A ">" after a restart answers nothing of ours: the data is not written.
    # The command queued behind the send is gone with the module's state,
    # and the next one goes at once: a restarted module sends no late answers.
    eng, uart = engine([(b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n"]), (b"AT\r\n", [b"\r\nOK\r\n"])])
    (conn,) = open_conns(eng, uart)
    with pytest.raises(OSError):
        send(eng, conn, b"hello", timeout_ms=40)
    uart.inject(b"\r\nready\r\n>")
    assert eng.command(b"AT", 1000) == (EV_ERROR, None)
    assert eng.reboots == 1 and eng._owed is None
    assert conn.state == CLOSED
    assert eng.command(b"AT", 1000) == (EV_OK, None)
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n", b"AT\r\n"]


# --------------------------------------------------------------------------
# Reboots


def test_ready_during_a_command_ends_it_with_error():
    eng, uart = engine(
        [(b'AT+CWJAP_CUR="a","b"\r\n', [b"WIFI CONNECTED\r\n", Delay(10), b"\xff\xfe\r\nready\r\n"])]
    )
    (conn,) = open_conns(eng, uart)
    assert eng.command(b'AT+CWJAP_CUR="a","b"', timeout_ms=1000)[0] == EV_ERROR
    assert eng.reboots == 1
    assert conn.state == CLOSED and eng.links == [None] * 5
    assert eng.wifi == WIFI_DOWN


def test_ready_while_waiting_for_send_ok():
    eng, uart = engine(
        [(b"AT+CIPSEND=0,3\r\n", [b"\r\nOK\r\n>"]), (b"abc", [b"\r\nRecv 3 bytes\r\n", b"\r\nready\r\n"])]
    )
    (conn,) = open_conns(eng, uart)
    assert send(eng, conn, b"abc") == GONE
    assert eng.reboots == 1
    assert conn.state == CLOSED and eng.links[0] is None


def test_ready_while_idle_is_counted():
    eng, uart = engine()
    uart.inject(b"\xff\xfe", b"\r\nready\r\n")
    poll_until(eng, lambda: eng.reboots == 1)


# --------------------------------------------------------------------------
# Connections and Wi-Fi state


def test_conn_states_follow_connect_and_closed():
    assert (OPENING, OPEN, CLOSED, BROKEN) == (1, 2, 3, 4)
    eng, uart = engine([(START % 0, [b"0,CONNECT\r\n", b"\r\nOK\r\n"])])
    assert eng.links == [None] * 5
    conn, op = eng.open(ARGS, 1000, datagrams=False)
    assert conn.link == 0 and conn.state == OPENING and eng.links[0] is conn
    assert eng.parser.rings[0] is conn
    assert uart.writes == [START % 0]
    assert eng.run(op) == EV_OK
    assert conn.state == OPEN and conn.error == 0
    uart.inject(b"\r\n+IPD,0,4:last", b"0,CLOSED\r\n")
    poll_until(eng, lambda: conn.state == CLOSED)
    assert eng.links[0] is None and eng.parser.rings[0] is None  # the ID is free at once
    assert conn.take(10) == b"last"  # data before the close is kept
    assert eng.close(conn) is None  # nothing to tell the module


@pytest.mark.parametrize(
    "answer,wifi,err",
    [
        (b"\r\nERROR\r\n", False, errno.EHOSTUNREACH),
        (b"\r\nERROR\r\n", True, errno.ECONNREFUSED),
        (b"0,CONNECT FAIL\r\n\r\nERROR\r\n", True, errno.ECONNREFUSED),
    ],
)
def test_a_failed_open_ends_the_conn_with_its_errno(answer, wifi, err):
    eng, uart = engine([(START % 0, [answer])])
    if wifi:
        uart.inject(b"WIFI CONNECTED\r\nWIFI GOT IP\r\n")
        poll_until(eng, lambda: eng.wifi == WIFI_UP)
    conn, op = eng.open(ARGS, 1000, datagrams=False)
    assert eng.run(op) == EV_ERROR
    assert conn.state == CLOSED and conn.error == err
    assert eng.links[0] is None


def test_a_start_that_times_out_keeps_its_id_until_the_resync():
    # It may open yet: the ID is taken until the AT+GMR resync shows that
    # every answer to it has come, and then it is free.
    eng, uart = engine([(START % 0, []), GMR, (b"AT\r\n", [b"\r\nOK\r\n"])])
    conn, op = eng.open(ARGS, 50, datagrams=False)
    with pytest.raises(OSError) as ei:
        eng.run(op)
    assert ei.value.errno == errno.ETIMEDOUT
    assert conn.error == errno.ETIMEDOUT
    assert conn.state == OPENING and eng.links[0] is conn
    assert eng.command(b"AT", 500)[0] == EV_OK
    assert conn.state == CLOSED and eng.links[0] is None


def test_a_conn_that_opens_after_its_owner_gave_up_is_closed_then():
    eng, uart = engine([(START % 0, []), GMR, (b"AT+CIPCLOSE=0\r\n", [b"0,CLOSED\r\n\r\nOK\r\n"])])
    conn, op = eng.open(ARGS, 50, datagrams=False)
    with pytest.raises(OSError):
        eng.run(op)
    assert eng.close(conn) is None  # not answered yet
    assert eng.links[0] is conn
    uart.inject(b"0,CONNECT\r\n\r\nOK\r\n")  # it opened after all
    poll_until(eng, lambda: eng.links[0] is None)
    assert uart.writes == [START % 0, b"AT+GMR\r\n", b"AT+CIPCLOSE=0\r\n"]
    assert uart.idle()


def test_already_connected_on_open_closes_the_id_and_starts_again():
    # The module still holds the ID (its close timed out): AT+CIPCLOSE, then
    # AT+CIPSTART again, once. The CLOSED that answers the close is the old
    # connection's word: the new one, OPENING, ignores it.
    eng, uart = engine(
        [
            (START % 0, [b"ALREADY CONNECTED\r\n\r\nERROR\r\n"]),
            GMR,
            (b"AT+CIPCLOSE=0\r\n", [b"0,CLOSED\r\n\r\nOK\r\n"]),
            (START % 0, [b"0,CONNECT\r\n\r\nOK\r\n"]),
        ]
    )
    conn, op = eng.open(ARGS, 1000, datagrams=False)
    assert eng.run(op) == EV_OK
    assert conn.state == OPEN and conn.error == 0 and eng.links[0] is conn
    assert uart.writes == [START % 0, b"AT+GMR\r\n", b"AT+CIPCLOSE=0\r\n", START % 0]
    assert uart.idle()


def test_already_connected_twice_fails_the_open():
    eng, uart = engine(
        [
            (START % 0, [b"ALREADY CONNECTED\r\n\r\nERROR\r\n"]),
            GMR,
            (b"AT+CIPCLOSE=0\r\n", [b"\r\nERROR\r\n"]),
            (START % 0, [b"ALREADY CONNECTED\r\n\r\nERROR\r\n"]),
        ]
    )
    conn, op = eng.open(ARGS, 1000, datagrams=False)
    assert eng.run(op) == EV_ALREADY
    assert conn.state == CLOSED and conn.error == errno.EALREADY
    assert eng.links[0] is None


def test_a_late_closed_for_an_opening_conn_is_ignored():
    # An older connection's late word on the ID, before this one's answer.
    eng, uart = engine([(START % 0, [b"0,CLOSED\r\n", Delay(10), b"0,CONNECT\r\n\r\nOK\r\n"])])
    conn, op = eng.open(ARGS, 1000, datagrams=False)
    assert eng.run(op) == EV_OK
    assert conn.state == OPEN and eng.links[0] is conn


def test_error_then_a_late_closed_does_not_end_the_retry_on_that_id():
    # WiFiEspAT issue 94 (module-notes): ERROR to AT+CIPSTART, then ~30 ms
    # later "<id>,CLOSED". An immediate retry takes the same ID; the late
    # CLOSED is the failed attempt's word and must not end the retry.
    eng, uart = engine(
        [
            (START % 0, [b"\r\nERROR\r\n", Delay(30), b"0,CLOSED\r\n"]),
            (START % 0, [Delay(60), b"0,CONNECT\r\n\r\nOK\r\n"]),
        ]
    )
    eng.wifi = 2  # joined (engine.WIFI_UP): a refusal is the peer's
    conn, op = eng.open(ARGS, 1000, datagrams=False)
    assert eng.run(op) == EV_ERROR and conn.error == errno.ECONNREFUSED
    assert eng.links == [None] * 5
    retry, op = eng.open(ARGS, 1000, datagrams=False)
    assert retry.link == 0
    assert eng.run(op) == EV_OK
    assert retry.state == OPEN and eng.links[0] is retry and uart.idle()


def test_a_close_answered_late_does_not_end_the_next_connection_on_its_id():
    # AT+CIPCLOSE answered after its deadline: its "0,CLOSED" comes while the
    # next connection on ID 0 opens (behind the resync the timeout calls for)
    # and must not end it.
    eng, uart = engine(
        [
            (b"AT+CIPCLOSE=0\r\n", [Delay(150), b"0,CLOSED\r\n\r\nOK\r\n"]),
            GMR,
            (START % 0, [b"0,CONNECT\r\n\r\nOK\r\n"]),
        ]
    )
    (old,) = open_conns(eng, uart)
    op = eng.close(old, 50)
    with pytest.raises(OSError):
        eng.run(op)
    new, op = eng.open(ARGS, 2000, datagrams=False)
    assert new.link == 0
    assert eng.run(op) == EV_OK
    assert new.state == OPEN and eng.links[0] is new
    assert uart.writes == [b"AT+CIPCLOSE=0\r\n", b"AT+GMR\r\n", START % 0]


def test_events_for_free_ids_change_nothing():
    eng, uart = engine([(START % 0, [])])
    conn, op = eng.open(ARGS, 1000, datagrams=False)  # ID 0 OPENING, not answered
    uart.inject(b"3,CONNECT\r\n", b"2,CLOSED\r\n", b"4,CONNECT FAIL\r\n")
    poll_until(eng, lambda: uart.idle())
    for _ in range(5):
        eng.poll()
    assert eng.links == [conn, None, None, None, None]
    assert conn.state == OPENING and op.result == WAITING
    assert eng.accepted is None  # no server: a CONNECT is nobody's client
    uart.inject(b"\r\nOK\r\n")
    assert eng.run(op) == EV_OK and conn.state == OPEN


def test_connect_for_a_closed_id_does_not_reopen_it():
    eng, uart = engine()
    (conn,) = open_conns(eng, uart)
    uart.inject(b"0,CLOSED\r\n", b"0,CONNECT\r\n")
    poll_until(eng, lambda: uart.idle())
    eng.poll()
    assert conn.state == CLOSED
    assert eng.links[0] is None  # no server listens: nobody's client


@pytest.mark.parametrize("reads", ["one read", "one read each"])
def test_a_server_client_on_the_id_of_one_that_just_closed_is_a_new_conn(reads):
    # The module may give a freed ID to a new client at once: the old Conn
    # keeps exactly its unread bytes, the new one gets the new +IPD data.
    pieces = [
        b"0,CONNECT\r\n",
        b"\r\n+IPD,0,3:old",
        b"0,CLOSED\r\n",
        b"0,CONNECT\r\n",
        b"\r\n+IPD,0,3:new\r\n",
    ]
    eng, uart = engine()
    eng.accepted = []  # a server listens
    uart.inject(*(pieces if reads == "one read each" else [b"".join(pieces)]))
    poll_until(eng, lambda: len(eng.accepted) == 2 and len(eng.accepted[1]) == 3)
    old, new = eng.accepted
    assert old is not new and old.link == new.link == 0
    assert old.state == CLOSED and old.take(10) == b"old"
    assert new.state == OPEN and new.take(10) == b"new"
    assert eng.links[0] is new and eng.parser.rings[0] is new
    assert eng.close(old) is None  # its socket lets go: nothing of the new one changes
    assert eng.links[0] is new and new.state == OPEN and eng.parser.rings[0] is new
    uart.inject(b"\r\n+IPD,0,4:more\r\n")
    poll_until(eng, lambda: len(new) == 4)


def test_a_close_while_a_server_listens_waits_for_the_peer_to_close_first():
    # The peer closes right after the last data (HTTP): its "0,CLOSED" comes
    # within the linger, the close needs no AT+CIPCLOSE, and the next client
    # given ID 0 is not closed by one written after that CLOSED.
    eng, uart = engine()
    eng.accepted = []
    uart.inject(b"0,CONNECT\r\n")
    poll_until(eng, lambda: eng.accepted)
    conn = eng.accepted.pop()
    op = eng.close(conn)
    assert op is not None and eng.links[0] is conn  # the ID is taken until the module says
    uart.inject(Delay(10), b"0,CLOSED\r\n0,CONNECT\r\n")
    assert eng.run(op) == EV_OK
    poll_until(eng, lambda: eng.accepted)
    assert eng.accepted[0] is not conn and eng.links[0] is eng.accepted[0]
    time.sleep(0.1)  # past the linger: still nothing written
    eng.poll()
    assert uart.writes == []


def test_a_close_while_a_server_listens_is_written_when_the_peer_stays():
    # The peer does not close: after the linger the module is told to.
    eng, uart = engine([(b"AT+CIPCLOSE=0\r\n", [b"0,CLOSED\r\n\r\nOK\r\n"])])
    eng.accepted = []
    uart.inject(b"0,CONNECT\r\n")
    poll_until(eng, lambda: eng.accepted)
    conn = eng.accepted.pop()
    op = eng.close(conn)
    assert uart.writes == []  # not yet: the peer may be closing
    assert eng.run(op) == EV_OK
    assert uart.writes == [b"AT+CIPCLOSE=0\r\n"] and eng.links[0] is None


def test_a_close_behind_a_slow_send_lingers_from_its_send_ok():
    # An asyncio server closes as soon as its last write is taken, while that
    # send is still in flight and SEND OK is paced by the network (70 ms
    # here). The peer has the data, and closes, only after SEND OK: the
    # linger counts from there, so no AT+CIPCLOSE goes to an ID that the
    # peer's CLOSED frees and a new client takes at once.
    eng, uart = engine(
        [
            (b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n>"]),
            (
                b"hello",
                [
                    b"\r\nRecv 5 bytes\r\n",
                    Delay(70),
                    b"\r\nSEND OK\r\n",
                    Delay(20),
                    b"0,CLOSED\r\n0,CONNECT\r\n",
                ],
            ),
        ]
    )
    eng.accepted = []
    uart.inject(b"0,CONNECT\r\n")
    poll_until(eng, lambda: eng.accepted)
    conn = eng.accepted.pop()
    send_op = eng.submit(b"AT+CIPSEND=0,5", 2000, SEND, conn, b"hello")
    close_op = eng.close(conn)
    assert eng.run(close_op) == EV_OK
    assert send_op.result == EV_SEND_OK
    poll_until(eng, lambda: eng.accepted)  # the new client on ID 0
    time.sleep(0.1)
    eng.poll()
    assert b"CIPCLOSE" not in bytes(uart.written) and eng.links[0] is eng.accepted[0]


def test_a_queued_close_is_dropped_when_its_id_ends_first():
    # A close queued behind another command is never written once the peer's
    # CLOSED has freed the ID: written, it would close the ID's next owner.
    eng, uart = engine([(b"AT+X\r\n", [Delay(20), b"0,CLOSED\r\n\r\nOK\r\n"])])
    (conn,) = open_conns(eng, uart)
    busy = eng.submit(b"AT+X", 1000)
    op = eng.close(conn)
    assert eng.run(busy) == EV_OK and eng.run(op) == EV_OK
    eng.poll()
    assert uart.writes == [b"AT+X\r\n"] and eng.links[0] is None


def test_client_conns_take_ids_from_the_top_while_a_server_listens():
    # The module gives its clients the lowest free IDs.
    eng, uart = engine()
    eng.accepted = []
    conn, op = eng.open(ARGS, 1000, datagrams=False)
    assert conn.link == 4 and uart.writes == [START % 4]


def test_open_all_ids_then_enomem():
    eng, uart = engine()
    conns = open_conns(eng, uart, 5)
    assert [c.link for c in conns] == [0, 1, 2, 3, 4]
    assert eng.links == conns
    with pytest.raises(OSError) as ei:
        eng.open(ARGS, 1000, datagrams=False)
    assert ei.value.errno == errno.ENOMEM
    uart.script.append((b"AT+CIPCLOSE=2\r\n", [Delay(20), b"2,CLOSED\r\n\r\nOK\r\n"]))
    op = eng.close(conns[2])
    assert op is not None and conns[2].state == CLOSED
    with pytest.raises(OSError) as ei:  # the ID is taken until the module answers
        eng.open(ARGS, 1000, datagrams=False)
    assert ei.value.errno == errno.ENOMEM
    assert eng.run(op) == EV_OK
    assert eng.links[2] is None
    conn, op = eng.open(ARGS, 1000, datagrams=False)
    assert conn.link == 2 and conn.state == OPENING


def test_a_new_conn_reuses_the_storage_of_a_closed_one():
    eng, uart = engine([(b"AT+CIPCLOSE=0\r\n", [b"0,CLOSED\r\n\r\nOK\r\n"])])
    (old,) = open_conns(eng, uart)
    uart.inject(b"\r\n+IPD,0,3:old\r\n")
    poll_until(eng, lambda: len(old) == 3)
    storage = old._buf
    assert eng.run(eng.close(old)) == EV_OK
    assert len(old) == 0  # its unread data went
    assert eng.links[0] is None
    (new,) = open_conns(eng, uart)
    assert new is not old and new.link == 0
    assert new._buf is storage  # reused, not reallocated
    assert len(new) == 0 and new.capacity() == eng.link_size


def test_data_for_a_closed_conn_is_discarded():
    # Half a frame has come when the socket closes; the rest comes before
    # the module's answer to AT+CIPCLOSE, and goes nowhere.
    eng, uart = engine([(b"AT+CIPCLOSE=0\r\n", [b"fghij", b"\r\n0,CLOSED\r\n\r\nOK\r\n"])])
    (old,) = open_conns(eng, uart)
    uart.inject(b"\r\n+IPD,0,10:abcde")
    poll_until(eng, lambda: old.pending() == 5)  # held until the frame is whole
    assert len(old) == 0
    assert eng.run(eng.close(old)) == EV_OK
    (new,) = open_conns(eng, uart)  # a new connection gets the same ID
    assert new.link == 0
    uart.inject(b"\r\n+IPD,0,3:xyz", b"\r\n+IPD,1,2:no\r\n")
    poll_until(eng, lambda: uart.idle() and len(new) == 3)
    eng.poll()
    assert new.take(100) == b"xyz"  # the old frame's tail is not in it
    assert len(old) == 0
    assert eng.parser.discarded == 5 + 2


def test_wifi_state_follows_messages():
    eng, uart = engine()
    assert eng.wifi == WIFI_DOWN
    uart.inject(b"WIFI CONNECTED\r\n")
    poll_until(eng, lambda: eng.wifi == WIFI_ASSOCIATED)
    uart.inject(b"WIFI GOT IP\r\n")
    poll_until(eng, lambda: eng.wifi == WIFI_UP)
    uart.inject(b"WIFI DISCONNECT\r\n")
    poll_until(eng, lambda: eng.wifi == WIFI_DOWN)
    uart.inject(b"WIFI CONNECTED\r\nWIFI GOT IP\r\n")
    poll_until(eng, lambda: eng.wifi == WIFI_UP)
    uart.inject(b"WIFI DISCONNECTED\r\n")
    poll_until(eng, lambda: eng.wifi == WIFI_DOWN)


def test_link_id_out_of_range_does_not_break_the_engine():
    # A garbled "<digit>,CLOSED" line naming a link the module does not have
    # (IDs are 0-4) must not raise out of poll() or wedge the receive path.
    eng, uart = engine([(b"AT\r\n", [b"\r\nOK\r\n"])])
    uart.inject(b"7,CLOSED\r\n5,CONNECT\r\n9,CONNECT FAIL\r\n")
    for _ in range(5):
        eng.poll()
    assert eng.command(b"AT", timeout_ms=300)[0] == EV_OK


def test_lost_bytes_break_open_conns_and_stay_broken():
    eng, uart = engine()
    a, b = open_conns(eng, uart, 2)
    # A frame whose next header comes with no CR LF in front: bytes were lost.
    uart.inject(b"\r\n+IPD,0,3:abc\r\n+IPD,0,5:hel+IPD,1,2:xy\r\n+IPD,0,1:z\r\n")
    poll_until(eng, lambda: uart.idle())
    for _ in range(10):
        eng.poll()
    assert a.take(100) == b"abc"  # checked before the damage: kept
    assert eng.parser.damaged == 1
    assert a.state == b.state == BROKEN
    assert len(b) == 0  # nothing after the damage is trusted
    uart.inject(b"0,CLOSED\r\n")
    poll_until(eng, lambda: eng.links[0] is None)  # the ID is free
    assert a.state == BROKEN  # an EOF would hide the loss
    uart.inject(b"\r\nready\r\n")
    poll_until(eng, lambda: eng.reboots == 1)
    assert b.state == BROKEN and eng.links == [None] * 5
    conn, op = eng.open(ARGS, 1000, datagrams=False)
    assert conn.link == 0 and conn.state == OPENING  # the ID is reusable


# --------------------------------------------------------------------------
# A frame that never completes (issue 15, items 3 and 12)


def test_a_reboot_inside_a_payload_is_seen_within_a_few_seconds():
    # The module rebooted after 10 of 1000 announced bytes: "ready" sits
    # among the payload and nothing more comes. Once the line has been quiet
    # inside the frame for a while, the frame is cut and the reboot handled
    # like any other; none of the frame's bytes is readable.
    eng, uart = engine()
    (conn,) = open_conns(eng, uart)
    uart.inject(b"\r\n+IPD,0,1000:0123456789\r\n\xff\xfe\x00ready\r\n")
    t0 = time.monotonic()
    poll_until(eng, lambda: eng.reboots == 1, ms=3000)
    assert time.monotonic() - t0 < 2.5
    assert conn.state == CLOSED and len(conn) == 0
    assert eng.links == [None] * 5


def test_a_frame_that_lost_bytes_and_went_quiet_breaks_the_links():
    # Bytes lost on a UART without flow control, then a quiet line: the
    # frame can never complete; it is cut, and no open link is trusted.
    eng, uart = engine()
    a, b = open_conns(eng, uart, 2)
    uart.inject(b"\r\n+IPD,1,500:only part of it")
    poll_until(eng, lambda: a.state == BROKEN, ms=3000)
    assert b.state == BROKEN and len(a) == len(b) == 0
    assert eng.parser.damaged == 1 and not eng.parser.in_frame()


# --------------------------------------------------------------------------
# The late "<id>,CLOSED" of a refused AT+CIPSTART (module-notes "Link IDs after
# a failed AT+CIPSTART"): the module frees the ID with its ERROR, so the stray
# may reach a new connection on that ID. The engine asks AT+CIPSTATUS first.

CIPSTATUS = b"AT+CIPSTATUS\r\n"


def _refused_then_reopened(eng, uart):
    uart.script.insert(0, (START % 0, [b"\r\nERROR\r\n"]))
    conn, op = eng.open(ARGS, 1000, datagrams=False)
    assert eng.run(op) == EV_ERROR and conn.state == CLOSED and eng.links[0] is None
    (again,) = open_conns(eng, uart)
    assert again.link == 0
    return again


def test_a_stray_closed_after_a_refused_start_spares_the_connection_now_on_its_id():
    eng, uart = engine()
    again = _refused_then_reopened(eng, uart)
    uart.script.append((CIPSTATUS, [b'STATUS:3\r\n+CIPSTATUS:0,"TCP","10.0.0.2",80,4321,0\r\n\r\nOK\r\n']))
    uart.inject(b"0,CLOSED\r\n")
    poll_until(eng, lambda: uart.idle())
    assert again.state == OPEN and eng.links[0] is again
    assert uart.writes == [CIPSTATUS]


def test_a_closed_after_a_refused_start_ends_the_connection_when_the_module_lists_no_link():
    eng, uart = engine()
    again = _refused_then_reopened(eng, uart)
    uart.script.append((CIPSTATUS, [b"STATUS:4\r\n\r\nOK\r\n"]))
    uart.inject(b"0,CLOSED\r\n")
    poll_until(eng, lambda: again.state == CLOSED)
    assert eng.links[0] is None and uart.writes == [CIPSTATUS]


def test_only_the_first_closed_after_a_refused_start_is_checked():
    # The stray is spent by the first CLOSED on its ID: the next one ends the
    # connection at once, as any CLOSED does.
    eng, uart = engine()
    again = _refused_then_reopened(eng, uart)
    uart.script.append((CIPSTATUS, [b'+CIPSTATUS:0,"TCP","10.0.0.2",80,4321,0\r\n\r\nOK\r\n']))
    uart.inject(b"0,CLOSED\r\n")
    poll_until(eng, lambda: uart.idle())
    assert again.state == OPEN
    uart.inject(b"0,CLOSED\r\n")
    poll_until(eng, lambda: again.state == CLOSED)
    assert uart.writes == [CIPSTATUS]


def test_a_connection_closed_as_its_check_is_answered_gives_its_storage_back_once():
    # The socket closes the connection while the AT+CIPSTATUS about its CLOSED is
    # being answered: the answer (read by close()'s own poll) ends it, and close()
    # then finds the ID free. Both let the connection go; its storage must be
    # reused once. Reused twice, the second time as the empty storage release()
    # leaves behind, the next connection on the ID got a ring of 0 bytes, which
    # held every frame back until its socket timed out.
    eng, uart = engine()
    again = _refused_then_reopened(eng, uart)
    uart.script.append((CIPSTATUS, [b"STATUS:4\r\n\r\nOK\r\n"]))
    uart.inject(b"0,CLOSED\r\n")
    poll_until(eng, lambda: uart.writes == [CIPSTATUS])
    assert eng.close(again) is None  # ended by the answer: nothing to write
    assert again.state == CLOSED and eng.links[0] is None
    (after,) = open_conns(eng, uart)
    assert after.link == 0 and after.capacity() == eng.link_size
    uart.inject(b"\r\n+IPD,0,5:hello\r\n")
    poll_until(eng, lambda: len(after) == 5)
    assert after.take(5) == b"hello"
