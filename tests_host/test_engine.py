"""The AT engine (lib/wizfi360/engine.py) against a scripted fake UART.

FakeUART answers each byte string written to it from a script of replies;
replies can be cut into fragments (one fragment per read), delayed, and mixed
with unsolicited +IPD data and messages.
"""

import errno
import random
import time

import pytest

from wizfi360.engine import BROKEN, CLOSED, FREE, OPEN, OPENING, WIFI_ASSOCIATED, WIFI_DOWN, WIFI_UP, Engine
from wizfi360.parser import (
    EV_ALREADY,
    EV_ERROR,
    EV_FAIL,
    EV_OK,
    EV_SEND_FAIL,
    EV_SEND_OK,
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


def engine(script=(), **kw):
    uart = FakeUART(script, **kw)
    return Engine(uart), uart


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
    assert eng.claim_link() == 0
    assert eng.claim_link() == 1
    eng.link_state[0] = eng.link_state[1] = OPEN
    res = eng.command(b"AT+CIPSTATUS", lines=True)
    assert res == (EV_OK, [b"STATUS:3", b'+CIPSTATUS:0,"TCP","10.0.0.9",8080,5000,0'])
    assert eng.ring(0).take(100) == a
    assert eng.ring(1).take(100) == b"\r\n>>"
    assert tuple(eng.parser.peer) == (10, 0, 0, 9) and eng.parser.peer_port == 8080
    assert eng.link_state[1] == CLOSED
    assert eng.link_state[0] == OPEN
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
    eng.claim_link()
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


# --------------------------------------------------------------------------
# send()


@pytest.mark.parametrize("prompt", [b">", b"> "])
@pytest.mark.parametrize("seed", [None, 7])
def test_send(prompt, seed):
    data = b"\r\nOK\r\n>\x00\xff+IPD,0,5:SEND OK\r\n"
    n = len(data)
    cmd = b"AT+CIPSEND=2,%d\r\n" % n
    r1 = cmd + b"\r\nOK\r\n" + prompt  # with echo
    r2 = b"\r\nRecv %d bytes\r\n" % n + b"\r\nSEND OK\r\n"
    p1 = [r1] if seed is None else frag(r1, seed)
    p2 = [r2] if seed is None else frag(r2, seed + 1)
    eng, uart = engine([(cmd, p1[:-1] + [Delay(20)] + p1[-1:]), (data, p2)])
    assert eng.send(2, data) == EV_SEND_OK
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
    eng.claim_link()
    eng.claim_link()
    eng.link_state[0] = eng.link_state[1] = OPEN
    assert eng.send(0, payload) == EV_SEND_OK
    assert bytes(uart.written) == cmd + payload
    assert eng.ring(0).take(100) == b"\r\nOK\r\n" + b"SEND OK\r\n"
    assert eng.ring(1).take(100) == b">" + b"ready"
    assert eng.reboots == 0  # "ready" inside a payload is not a reboot


def test_send_partial_writes():
    payload = bytes(random.Random(9).getrandbits(8) for _ in range(300))
    cmd = b"AT+CIPSEND=3,300\r\n"
    # The UART takes at most 64 bytes per write() (the command fits).
    eng, uart = engine(
        [(cmd, [b"\r\nOK\r\n>"]), (payload, [b"\r\nRecv 300 bytes\r\n\r\nSEND OK\r\n"])], max_write=64
    )
    assert eng.send(3, payload) == EV_SEND_OK
    assert bytes(uart.written) == cmd + payload


def test_send_accepts_memoryview_and_bytearray():
    for kind in (bytearray, memoryview):
        data = kind(b"hello")
        eng, uart = engine(
            [(b"AT+CIPSEND=4,5\r\n", [b"\r\nOK\r\n> "]), (b"hello", [b"\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n"])]
        )
        assert eng.send(4, data) == EV_SEND_OK
        assert bytes(uart.written) == b"AT+CIPSEND=4,5\r\nhello"


def test_send_error_writes_no_data():
    eng, uart = engine([(b"AT+CIPSEND=0,5\r\n", [b"\r\nERROR\r\n"])])
    assert eng.send(0, b"hello") == EV_ERROR
    assert bytes(uart.written) == b"AT+CIPSEND=0,5\r\n"


def test_send_fail():
    eng, uart = engine(
        [
            (b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n>"]),
            (b"hello", [b"\r\nRecv 5 bytes\r\n", Delay(10), b"\r\nSEND FAIL\r\n"]),
        ]
    )
    assert eng.send(0, b"hello") == EV_SEND_FAIL


def test_send_busy_then_ok():
    cmd = b"AT+CIPSEND=0,2\r\n"
    eng, uart = engine(
        [
            (cmd, [b"busy s...\r\n"]),
            (cmd, [b"\r\nOK\r\n>"]),
            (b"hi", [b"\r\nRecv 2 bytes\r\n\r\nSEND OK\r\n"]),
        ]
    )
    assert eng.send(0, b"hi") == EV_SEND_OK
    assert bytes(uart.written) == cmd + cmd + b"hi"


def test_send_times_out_without_prompt():
    eng, uart = engine([(b"AT+CIPSEND=0,2\r\n", [b"\r\nOK\r\n"])])
    t0 = time.monotonic()
    with pytest.raises(OSError) as ei:
        eng.send(0, b"hi", timeout_ms=80)
    assert ei.value.errno == errno.ETIMEDOUT
    assert time.monotonic() - t0 < 0.4
    assert bytes(uart.written) == b"AT+CIPSEND=0,2\r\n"  # no data without a prompt


def test_send_times_out_without_send_ok():
    eng, uart = engine([(b"AT+CIPSEND=0,2\r\n", [b"\r\nOK\r\n>"]), (b"hi", [b"\r\nRecv 2 bytes\r\n"])])
    with pytest.raises(OSError) as ei:
        eng.send(0, b"hi", timeout_ms=80)
    assert ei.value.errno == errno.ETIMEDOUT


# A send that timed out before its ">": the module may still give it, and
# then takes the next bytes written as that send's data.


# Its ">" comes 100 ms late; the data that follows is answered as usual.
LATE_PROMPT = [
    (b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n", Delay(100), b">"]),
    (b"hello", [b"\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n"]),
    GMR,
    (b"AT\r\n", [b"\r\nOK\r\n"]),
]


def test_a_late_prompt_gets_the_timed_out_send_and_then_the_next_command_goes():
    eng, uart = engine(LATE_PROMPT)
    with pytest.raises(OSError) as ei:
        eng.send(0, b"hello", timeout_ms=40)
    assert ei.value.errno == errno.ETIMEDOUT
    assert eng.command(b"AT", 1000) == (EV_OK, None)
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n", b"hello", b"AT+GMR\r\n", b"AT\r\n"]
    assert uart.idle()


def test_a_timed_out_send_is_kept_as_it_was_given():
    eng, uart = engine(LATE_PROMPT)
    buf = bytearray(b"hello")
    with pytest.raises(OSError):
        eng.send(0, memoryview(buf), timeout_ms=40)
    buf[:] = b"XXXXX"  # the caller reuses its buffer
    assert eng.command(b"AT", 1000) == (EV_OK, None)
    assert uart.writes[1] == b"hello"


def test_no_late_prompt_on_a_quiet_line_so_the_next_command_goes():
    eng, uart = engine([(b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n"]), GMR, (b"AT\r\n", [b"\r\nOK\r\n"])])
    with pytest.raises(OSError):
        eng.send(0, b"hello", timeout_ms=40)
    assert eng.command(b"AT", 1000) == (EV_OK, None)
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n", b"AT+GMR\r\n", b"AT\r\n"]


def test_a_prompt_behind_a_full_ring_holds_every_command_until_the_ring_is_read():
    # The ">" sits behind a link's data that its ring (which cannot grow)
    # has no room for: nothing may be written until the ring is read.
    from test_ring_growth import NoRoomRing

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
    for link in (eng.claim_link(), eng.claim_link()):
        eng.link_state[link] = OPEN
    ring = eng._rings[1] = eng.parser.rings[1] = NoRoomRing(256)
    with pytest.raises(OSError):
        eng.send(0, b"hello", timeout_ms=100)
    with pytest.raises(OSError) as ei:
        eng.command(b"AT", 100)
    assert ei.value.errno == errno.ETIMEDOUT
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n"]  # the command was not written
    assert ring.take(256) == frame[-300:-44]
    poll_until(eng, lambda: uart.writes[-1] == b"hello")  # as soon as the ">" is read
    assert eng.command(b"AT", 500) == (EV_OK, None)
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n", b"hello", b"AT+GMR\r\n", b"AT\r\n"]
    assert ring.take(100) == frame[-44:]


def test_a_reboot_cancels_a_timed_out_send():
    eng, uart = engine([(b"AT+CIPSEND=0,5\r\n", [b"\r\nOK\r\n"]), GMR, (b"AT\r\n", [b"\r\nOK\r\n"])])
    with pytest.raises(OSError):
        eng.send(0, b"hello", timeout_ms=40)
    uart.inject(b"\r\nready\r\n>")  # a ">" after a restart answers nothing of ours
    assert eng.command(b"AT", 1000) == (EV_OK, None)
    assert uart.writes == [b"AT+CIPSEND=0,5\r\n", b"AT+GMR\r\n", b"AT\r\n"]


# --------------------------------------------------------------------------
# Reboots


def test_ready_during_a_command_ends_it_with_error():
    calls = []
    eng, uart = engine(
        [(b'AT+CWJAP_CUR="a","b"\r\n', [b"WIFI CONNECTED\r\n", Delay(10), b"\xff\xfe\r\nready\r\n"])]
    )
    eng.on_reboot = lambda: calls.append(1)
    link = eng.claim_link()
    uart.inject(b"%d,CONNECT\r\n" % link)
    poll_until(eng, lambda: eng.link_state[link] == OPEN)
    assert eng.command(b'AT+CWJAP_CUR="a","b"', timeout_ms=1000)[0] == EV_ERROR
    assert eng.reboots == 1
    assert calls == [1]
    assert eng.link_state[link] == CLOSED
    assert eng.wifi == WIFI_DOWN


def test_ready_while_waiting_for_send_ok():
    eng, uart = engine(
        [(b"AT+CIPSEND=0,3\r\n", [b"\r\nOK\r\n>"]), (b"abc", [b"\r\nRecv 3 bytes\r\n", b"\r\nready\r\n"])]
    )
    eng.claim_link()
    eng.link_state[0] = OPEN
    assert eng.send(0, b"abc") == EV_ERROR
    assert eng.reboots == 1
    assert eng.link_state[0] == CLOSED


def test_ready_while_idle_is_counted():
    eng, uart = engine()
    uart.inject(b"\xff\xfe", b"\r\nready\r\n")
    poll_until(eng, lambda: eng.reboots == 1)


# --------------------------------------------------------------------------
# Links and Wi-Fi state


def test_link_states_follow_connect_and_closed():
    assert (FREE, OPENING, OPEN, CLOSED) == (0, 1, 2, 3)
    start = b'AT+CIPSTART=0,"TCP","1.2.3.4",80\r\n'
    eng, uart = engine([(start, [b"0,CONNECT\r\n", b"\r\nOK\r\n"])])
    assert list(eng.link_state) == [FREE] * 5
    link = eng.claim_link()
    assert link == 0 and eng.link_state[0] == OPENING
    assert eng.parser.rings[0] is eng.ring(0)
    assert eng.command(start[:-2])[0] == EV_OK
    assert eng.link_state[0] == OPEN
    uart.inject(b"\r\n+IPD,0,4:last", b"0,CLOSED\r\n")
    poll_until(eng, lambda: eng.link_state[0] == CLOSED)
    assert eng.ring(0).take(10) == b"last"  # data before the close is kept
    eng.release_link(0)
    assert eng.link_state[0] == FREE
    assert eng.parser.rings[0] is None


def test_connect_fail_closes_the_link():
    eng, uart = engine()
    link = eng.claim_link()
    uart.inject(b"%d,CONNECT FAIL\r\n" % link)
    poll_until(eng, lambda: eng.link_state[link] == CLOSED)


def test_events_for_free_links_change_nothing():
    eng, uart = engine()
    eng.claim_link()  # link 0 OPENING
    uart.inject(b"3,CONNECT\r\n", b"2,CLOSED\r\n", b"4,CONNECT FAIL\r\n", b"\r\nOK\r\n")
    poll_until(eng, lambda: uart.idle())
    for _ in range(5):
        eng.poll()
    assert list(eng.link_state) == [OPENING, FREE, FREE, FREE, FREE]


def test_connect_for_a_closed_link_does_not_reopen_it():
    eng, uart = engine()
    eng.claim_link()
    uart.inject(b"0,CONNECT\r\n", b"0,CLOSED\r\n", b"0,CONNECT\r\n")
    poll_until(eng, lambda: uart.idle())
    eng.poll()
    assert eng.link_state[0] == CLOSED


def test_claim_all_links_then_enomem():
    eng, uart = engine()
    assert [eng.claim_link() for _ in range(5)] == [0, 1, 2, 3, 4]
    assert list(eng.link_state) == [OPENING] * 5
    with pytest.raises(OSError) as ei:
        eng.claim_link()
    assert ei.value.errno == errno.ENOMEM
    eng.release_link(2)
    assert eng.claim_link() == 2


def test_reclaimed_link_starts_with_an_empty_ring():
    eng, uart = engine()
    eng.claim_link()
    uart.inject(b"\r\n+IPD,0,3:old")
    poll_until(eng, lambda: len(eng.ring(0)) == 3)
    ring = eng.ring(0)
    eng.release_link(0)
    assert eng.claim_link() == 0
    assert eng.ring(0) is ring  # reused, not reallocated
    assert len(ring) == 0


def test_data_for_a_released_link_is_discarded():
    eng, uart = engine()
    eng.claim_link()
    uart.inject(b"\r\n+IPD,0,10:abcde")  # half a frame, then the socket closes
    poll_until(eng, lambda: eng.ring(0).pending() == 5)  # held until the frame is whole
    assert len(eng.ring(0)) == 0
    eng.release_link(0)
    assert eng.claim_link() == 0  # a new socket gets the same link ID
    uart.inject(b"fghij", b"\r\n+IPD,0,3:xyz", b"\r\n+IPD,1,2:no")
    poll_until(eng, lambda: uart.idle())
    eng.poll()
    assert eng.ring(0).take(100) == b"xyz"  # the old frame's tail is not in it
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


def test_lost_bytes_break_open_links_and_stay_broken():
    eng, uart = engine()
    a = eng.claim_link()
    b = eng.claim_link()
    eng.link_state[a] = eng.link_state[b] = OPEN
    # A frame whose next header comes with no CR LF in front: bytes were lost.
    uart.inject(b"\r\n+IPD,0,3:abc\r\n+IPD,0,5:hel+IPD,1,2:xy\r\n+IPD,0,1:z\r\n")
    poll_until(eng, lambda: uart.idle())
    for _ in range(10):
        eng.poll()
    assert eng.ring(a).take(100) == b"abc"  # checked before the damage: kept
    assert eng.parser.damaged == 1
    assert eng.link_state[a] == eng.link_state[b] == BROKEN
    assert len(eng.ring(b)) == 0  # nothing after the damage is trusted
    uart.inject(b"0,CLOSED\r\n")
    poll_until(eng, lambda: uart.idle())
    eng.poll()
    assert eng.link_state[a] == BROKEN  # an EOF would hide the loss
    uart.inject(b"\r\nready\r\n")
    poll_until(eng, lambda: eng.reboots == 1)
    assert eng.link_state[b] == BROKEN
    eng.release_link(a)
    assert eng.claim_link() == a and eng.link_state[a] == OPENING  # the ID is reusable
