"""The emulator's UART pacing (Emulator(baud=N), --baud N) and AT+UART_CUR (manual 3.2.1.5).

The Pacer is checked against a fake clock; the emulator end to end with a raw CPython
client on its TCP port, which reads far faster than any of the rates used here, so what
it measures is the pace itself: a few per cent around baud / 10 bytes a second.
"""

import socket
import threading
import time

import pytest

from wizfi360_emu import Emulator
from wizfi360_emu.pacing import GAP_S, PIECE_S, Pacer, char_bits

JOIN = b'AT+CWJAP_CUR="WizFiTest","wizfi360pass"'


# --- Pacer against a fake clock ------------------------------------------------------------------
class FakeClock:
    def __init__(self, oversleep=0.0):
        self.t = 100.0
        self.oversleep = oversleep  # every sleep wakes this late

    def __call__(self):
        return self.t

    def sleep(self, s):
        assert s > 0
        self.t += s + self.oversleep


def _carry(pacer, clock, nbytes):
    """transmit() nbytes; returns [(time delivered, bytes so far)] and the start time."""
    t0 = clock.t
    log = []
    total = [0]

    def deliver(piece):
        total[0] += len(piece)
        log.append((clock.t, total[0]))

    pacer.transmit(bytes(nbytes), deliver)
    return log, t0


@pytest.mark.parametrize("baud", [1200, 115200, 921600, 2000000])
def test_pacer_carries_the_line_rate_never_early(baud):
    clock = FakeClock()
    rate = baud / 10
    p = Pacer(rate, clock=clock, sleep=clock.sleep)
    n = int(rate * 2)  # two seconds of line time
    log, t0 = _carry(p, clock, n)
    for t, done in log:
        assert t >= t0 + done / rate - GAP_S - 1e-9  # no byte before its time
    assert log[-1][1] == n
    assert log[-1][0] - t0 == pytest.approx(n / rate, abs=0.001)
    pieces = [b - a for (_, a), (_, b) in zip([(t0, 0)] + log, log)]
    assert max(pieces) <= max(1, rate * PIECE_S)  # small, even pieces


@pytest.mark.parametrize("late", [0.0005, 0.004, 0.015])
def test_pacer_makes_good_late_wake_ups(late):
    clock = FakeClock(oversleep=late)
    p = Pacer(92160, clock=clock, sleep=clock.sleep)
    log, t0 = _carry(p, clock, 92160 * 2)
    assert log[-1][0] - t0 <= 2.0 + late + 0.001


def test_pacer_idle_line_is_not_made_good():
    clock = FakeClock()
    p = Pacer(92160, clock=clock, sleep=clock.sleep)
    _carry(p, clock, 1000)
    clock.t += 60  # a minute of silence banks nothing
    log, t0 = _carry(p, clock, 92)
    assert log[-1][0] - t0 >= 92 / 92160 - 1e-9  # the full line time, from now
    # ...and back-to-back writes continue where the line stood
    log, t1 = _carry(p, clock, 920)
    assert log[-1][0] - t0 == pytest.approx(1012 / 92160, abs=GAP_S)


def test_pacer_rate_change():
    clock = FakeClock()
    p = Pacer(11520, clock=clock, sleep=clock.sleep)
    log, t0 = _carry(p, clock, 11520)
    assert log[-1][0] - t0 == pytest.approx(1.0, abs=0.002)
    p.set_rate(200000)
    log, t0 = _carry(p, clock, 200000)
    assert log[-1][0] - t0 == pytest.approx(1.0, abs=0.002)
    with pytest.raises(ValueError):
        p.set_rate(0)


def test_pacer_close_stops_at_once():
    clock = FakeClock()
    p = Pacer(120, clock=clock, sleep=clock.sleep)
    p.close()
    log, t0 = _carry(p, clock, 10000)
    assert log == [] and clock.t == t0


def test_char_bits():
    assert char_bits() == 10  # 8N1
    assert char_bits(8, 2, 1) == 12
    assert char_bits(5, 1, 0) == 7


# --- the emulator, paced ---------------------------------------------------------------------------
class Source:
    """127.0.0.1 server: sends `size` bytes to each client, then closes; or (sink=True)
    counts what each client sends."""

    def __init__(self, size=0, sink=False):
        self.size = size
        self.received = 0
        self.done = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve_sink if sink else self._serve, daemon=True).start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            conn.sendall(bytes(range(256)) * (self.size // 256))

    def _serve_sink(self):
        conn, _ = self.sock.accept()
        with conn:
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                self.received += len(data)
        self.done.set()

    def close(self):
        self.sock.close()


class Line:
    """Raw client of the emulator's UART that notes when bytes arrive."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def send(self, data):
        self.sock.sendall(data)

    def until(self, marker, timeout=20.0):
        """Bytes up to and including marker; also (time of its first byte, time of its last)."""
        deadline = time.monotonic() + timeout
        first = time.monotonic() if self.buf else None
        i = self.buf.find(marker)
        while i < 0:
            self.sock.settimeout(max(0.001, deadline - time.monotonic()))
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("emulator closed the UART")
            if first is None:
                first = time.monotonic()
            self.buf += data
            i = self.buf.find(marker, max(0, len(self.buf) - len(data) - len(marker)))
        last = time.monotonic()
        i += len(marker)
        out = bytes(self.buf[:i])
        del self.buf[:i]
        return out, first, last

    def cmd(self, line, marker=b"OK\r\n"):
        self.send(line + b"\r\n")
        return self.until(marker)[0]

    def close(self):
        self.sock.close()


@pytest.fixture
def paced():
    """paced(baud) -> (emulator, joined Line client in multi-link mode, echo off)."""
    made = []

    def make(baud):
        emu = Emulator(tcp_port=0, baud=baud, join_delay_s=0.01).start()
        line = Line(emu.tcp_port)
        made.append((emu, line))
        line.cmd(b"ATE0")
        line.cmd(b"AT+CIPMUX=1")
        line.cmd(JOIN)
        return emu, line

    yield make
    for emu, line in made:
        line.close()
        emu.stop()


def _download(line, size):
    """Open link 0 to a Source of `size` bytes; returns (wire bytes after the first, seconds)."""
    src = Source(size)
    try:
        line.send(b'AT+CIPSTART=0,"TCP","127.0.0.1",%d\r\n' % src.port)
        line.until(b"OK\r\n")
        data, first, last = line.until(b"0,CLOSED\r\n")
    finally:
        src.close()
    assert data.count(b"+IPD,0,") >= size // 1460
    return len(data), last - first


def test_download_200k_at_921600_runs_at_the_line_rate(paced):
    emu, line = paced(921600)
    wire, seconds = _download(line, 200 * 1024)
    ratio = wire / seconds / 92160
    assert 0.95 <= ratio <= 1.02, ratio


def test_upload_runs_at_the_line_rate(paced):
    emu, line = paced(921600)
    sink = Source(sink=True)
    try:
        line.cmd(b'AT+CIPSTART=0,"TCP","127.0.0.1",%d' % sink.port)
        chunk = bytes(range(256)) * 8  # 2048 bytes
        spent = 0.0
        for _ in range(8):
            line.send(b"AT+CIPSEND=0,2048\r\n")
            line.until(b">")
            t0 = time.monotonic()
            line.send(chunk)
            line.until(b"Recv 2048 bytes\r\n")
            spent += time.monotonic() - t0
            line.until(b"SEND OK\r\n")
        line.cmd(b"AT+CIPCLOSE=0")
        assert sink.done.wait(5)
        assert sink.received == 8 * 2048
    finally:
        sink.close()
    # 2048 data bytes in, then "\r\nRecv 2048 bytes\r\n" (19) out, each at 92,160 B/s
    ideal = 8 * (2048 + 19) / 92160
    assert 0.97 * ideal <= spent <= 1.15 * ideal, spent / ideal


def test_uart_cur_answers_at_the_old_rate_then_switches(paced):
    emu, line = paced(1200)  # 120 B/s: each byte takes 8.3 ms
    line.send(b"AT+UART_CUR=2000000,8,1,0,0\r\n")
    ok, first, last = line.until(b"OK\r\n")
    assert ok == b"\r\nOK\r\n"
    assert last - first >= 0.03  # 6 bytes at 120 B/s spread over ~40 ms
    line.send(b"AT+UART_CUR?\r\n")
    out, first, last = line.until(b"OK\r\n")
    assert out == b"+UART_CUR:2000000,8,1,0,0\r\n\r\nOK\r\n"
    assert last - first < 0.02  # 33 bytes at 200,000 B/s


def test_uart_cur_switch_changes_the_download_rate(paced):
    emu, line = paced(115200)
    assert line.cmd(b"AT+UART_CUR?") == b"+UART_CUR:115200,8,1,0,0\r\n\r\nOK\r\n"
    assert line.cmd(b"AT+UART_CUR=921600,8,1,0,1") == b"\r\nOK\r\n"
    assert line.cmd(b"AT+UART_CUR?") == b"+UART_CUR:921600,8,1,0,1\r\n\r\nOK\r\n"
    wire, seconds = _download(line, 64 * 1024)
    ratio = wire / seconds / 92160
    assert 0.9 <= ratio <= 1.02, ratio
    # 8E2: 12 bits a character, so 921600 baud carries 76,800 B/s
    assert line.cmd(b"AT+UART_CUR=921600,8,2,2,0") == b"\r\nOK\r\n"
    wire, seconds = _download(line, 64 * 1024)
    ratio = wire / seconds / 76800
    assert 0.9 <= ratio <= 1.02, ratio


def test_reset_returns_to_the_power_up_rate(paced):
    emu, line = paced(115200)
    line.cmd(b"AT+UART_CUR=921600,8,1,0,0")
    line.cmd(b"AT+RST", marker=b"ready\r\n")
    assert line.cmd(b"AT+UART_CUR?").endswith(b"+UART_CUR:115200,8,1,0,0\r\n\r\nOK\r\n")
    assert emu._uart.line == (115200, 8, 1, 0, 0)


@pytest.mark.parametrize(
    "bad",
    [
        b"AT+UART_CUR=12345,8,1,0,0",  # not a rate the module offers
        b"AT+UART_CUR=115200,9,1,0,0",  # data bits 5-8
        b"AT+UART_CUR=115200,8,3,0,0",  # stop bits 1-2
        b"AT+UART_CUR=115200,8,1,3,0",  # parity 0-2
        b"AT+UART_CUR=115200,8,1,0,2",  # flow control 0-1
        b"AT+UART_CUR=115200,8,1,0",  # five parameters
        b'AT+UART_CUR="115200",8,1,0,0',  # numbers are bare
    ],
)
def test_uart_cur_refuses_bad_settings(bad):
    with Emulator(tcp_port=0) as emu:
        line = Line(emu.tcp_port)
        line.cmd(b"ATE0")
        assert line.cmd(bad, marker=b"ERROR\r\n") == b"\r\nERROR\r\n"
        assert line.cmd(b"AT+UART_CUR?") == b"+UART_CUR:115200,8,1,0,0\r\n\r\nOK\r\n"
        line.close()


def test_unpaced_emulator_keeps_the_setting_without_pacing():
    with Emulator(tcp_port=0) as emu:
        line = Line(emu.tcp_port)
        line.cmd(b"ATE0")
        assert line.cmd(b"AT+UART_CUR=9600,8,1,0,0") == b"\r\nOK\r\n"
        t0 = time.monotonic()
        for _ in range(20):  # 20 x 29 bytes would take 0.6 s at 9600 baud
            assert line.cmd(b"AT+UART_CUR?") == b"+UART_CUR:9600,8,1,0,0\r\n\r\nOK\r\n"
        assert time.monotonic() - t0 < 0.5
        line.close()


def test_cli_baud_option():
    import emulator

    kwargs = emulator.build_kwargs(emulator.parse_args(["--baud", "921600", "--port", "0"]))
    assert kwargs["baud"] == 921600
    assert "baud" not in emulator.build_kwargs(emulator.parse_args([]))
