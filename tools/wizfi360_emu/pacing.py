"""Line-rate pacing of the emulated UART.

A real serial line carries at most baud / bits-per-character bytes a second in each
direction (8N1: 10 bits a byte, so 115200 baud is 11,520 B/s). When the emulator is given a
baud rate, each direction of its UART goes through one Pacer, which models the line as a
wire that is busy for len(piece) / rate seconds per piece: Pacer.transmit(data, deliver)
cuts data into pieces of at most PIECE_S of line time and hands each piece to deliver()
no earlier than the moment the line would have finished carrying it. Bytes never arrive
early, so a host that cannot keep up with the line, or that waits on the line turning
around, shows it as it would on a board.

Two allowances keep a busy machine from slowing the line below its rate:
- within one transmit(), a sleep that overruns (the thread woke late) is made good: the
  next pieces follow without waiting until the line has caught up, up to CATCH_UP_S behind;
- a transmit() that starts within GAP_S of the end of the previous one continues where the
  line stood (the gap between two writes of the same stream is host overhead, not idle line).
An idle line is not made good: after a pause the next bytes take their full line time.
Rates can change at any time (AT+UART_CUR); a piece already on the line finishes at the old
rate.
"""

import threading
import time

PIECE_S = 0.001  # the most line time handed over at once
GAP_S = 0.0002  # a pause shorter than this between two transmit() calls does not idle the line
CATCH_UP_S = 0.02  # how far a late wake-up may leave the line behind and still be made good


def char_bits(databits=8, stopbits=1, parity=0):
    """Bits on the wire per byte: start bit, data bits, parity bit if any, stop bits."""
    return 1 + databits + (1 if parity else 0) + stopbits


class Pacer:
    def __init__(self, rate, clock=time.monotonic, sleep=time.sleep):
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._closed = False
        self._free = clock()  # when the line has carried everything handed to it
        self.set_rate(rate)

    def set_rate(self, rate):
        """rate in bytes a second (> 0)."""
        if rate <= 0:
            raise ValueError("rate must be positive")
        with self._lock:
            self.rate = float(rate)
            self._piece = max(1, int(self.rate * PIECE_S))

    def close(self):
        """Stop pacing for good (the emulator is stopping): transmit() returns at once."""
        self._closed = True

    def transmit(self, data, deliver):
        """Carry data over the line, calling deliver(piece) for each piece (a memoryview)
        when the line has finished carrying it."""
        view = memoryview(data)
        slack = GAP_S
        while len(view) and not self._closed:
            with self._lock:
                now = self._clock()
                # Go on where the line stands if it stopped less than `slack` ago, else start now.
                start = self._free if self._free >= now - slack else now
                k = min(len(view), self._piece)
                finish = start + k / self.rate
                self._free = finish
            if finish > now:
                self._sleep(finish - now)
            deliver(view[:k])
            view = view[k:]
            slack = CATCH_UP_S
