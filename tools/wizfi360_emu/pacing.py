"""Line-rate pacing of the emulated UART.

A real serial line carries at most baud / bits-per-character bytes a second in each
direction (8N1: 10 bits a byte, so 115200 baud is 11,520 B/s). When the emulator is given a
baud rate, each direction of its UART goes through one Pacer: a token bucket that refills
at the line's byte rate and holds at most about one millisecond's worth of bytes, so data
moves in small, evenly spaced pieces, never in large bursts. A host that cannot keep up
with the line then shows it, as it would on a board.

Pacer.grant(n) blocks until the line may carry some bytes and returns how many (1..n): at
least half a burst when n is that large. A sleep that overruns (a busy machine wakes the
thread late) is made good: the bytes the line would have carried meanwhile are granted on
waking, up to CATCH_UP_S worth, so the average rate stays the line's. Idle time is not made
good: after a pause the line starts with one burst at most. Rates can change at any time
(AT+UART_CUR); a blocked caller picks up the new rate on its next wait.
"""

import threading
import time

BURST_S = 0.001  # bucket size: this much line time
CATCH_UP_S = 0.02  # most line time a late wake-up can make good


def char_bits(databits=8, stopbits=1, parity=0):
    """Bits on the wire per byte: start bit, data bits, parity bit if any, stop bits."""
    return 1 + databits + (1 if parity else 0) + stopbits


class Pacer:
    def __init__(self, rate, clock=time.monotonic, sleep=time.sleep):
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._closed = False
        self._last = clock()
        self._set(rate)
        self._tokens = self._cap  # an idle line may start with a full burst

    def _set(self, rate):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self._cap = max(1.0, self.rate * BURST_S)

    def set_rate(self, rate):
        """rate in bytes a second (> 0)."""
        with self._lock:
            self._refill_locked()
            self._set(rate)
            self._tokens = min(self._tokens, self._cap)

    def close(self):
        """Wake and release any waiter for good (the emulator is stopping)."""
        self._closed = True

    def _refill_locked(self, late=0.0):
        now = self._clock()
        cap = self._cap + min(late, CATCH_UP_S) * self.rate
        self._tokens = min(cap, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def grant(self, n):
        """Wait until the line may carry bytes; take and return up to n of them (n >= 1)."""
        late = 0.0
        while True:
            with self._lock:
                self._refill_locked(late)
                want = min(float(n), self._cap / 2)
                if self._tokens >= want - 1e-6 or self._closed:  # (float rounding)
                    k = max(1, int(min(n, max(self._tokens, want) + 1e-6)))
                    self._tokens -= k
                    return k
                wait = (want - self._tokens) / self.rate
                wake = self._clock() + wait
            self._sleep(wait)
            late = max(0.0, self._clock() - wake)

    def refund(self, n):
        """Give back n bytes of a grant that were not used."""
        if n > 0:
            with self._lock:
                self._tokens = min(self._cap, self._tokens + n)
