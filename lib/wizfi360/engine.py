# AT command engine: one command at a time over the UART, with everything the
# module says unsolicited (data, link and Wi-Fi events) handled as it arrives.
#
# The core is non-blocking: poll() reads what the UART holds and parses it.
# The blocking calls (command(), send()) are loops over poll() with one
# deadline each, computed before the loop and never reset inside it. Bytes are
# never flushed or skipped: anything that arrives while a command runs, such
# as +IPD data between its echo and its OK, is parsed and routed like at any
# other time (module-notes "The wire").

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


import errno

from .clock import pause, ticks_add, ticks_diff, ticks_ms
from .parser import Parser
from .ring import Ring

# Private copies of parser.py's constants: folded at compile time, so they cost
# no global and no interned name. The values are defined by parser.py and
# must match (tests_host/test_const_copies.py checks).
_EV_LINE = const(0)
_EV_OK = const(1)
_EV_ERROR = const(2)
_EV_ALREADY = const(6)
_EV_PROMPT = const(7)
_EV_BUSY = const(9)
_EV_READY = const(10)
_EV_WIFI_CONNECTED = const(11)
_EV_WIFI_GOT_IP = const(12)
_EV_WIFI_DISCONNECT = const(13)
_EV_LINK_CONNECT = const(14)
_EV_LINK_CLOSED = const(15)
_EV_LINK_FAIL = const(17)
_EV_DAMAGED = const(18)

# For the type checker only (see parser.py).
_TYPE_CHECKING = const(0)
if _TYPE_CHECKING:
    from typing import Callable

# The constants below up to _WIFI_UP are private like parser.py's (folded at
# compile time, no global, no interned name); socket.py and the others hold
# private copies of those they use, consts.py the public names (OPEN, ...),
# which __getattr__ below hands out. All copies must match these values
# (tests_host/test_const_copies.py checks).
_LINKS = const(5)  # link IDs 0-4 (manual 3.2.3.5)

# Link states.
_FREE = const(0)
_OPENING = const(1)
_OPEN = const(2)
_CLOSED = const(3)  # closed by the peer or the module; data may still be unread
_BROKEN = const(4)  # open, but bytes were lost on the UART; data before the loss may be unread

# Engine.waiting_on, besides a link ID.
_NOBODY = const(-1)  # no blocking read waits
_ANY = const(-2)  # a wait for something other than a link's data (accept)

# Wi-Fi station states.
_WIFI_DOWN = const(0)
_WIFI_ASSOCIATED = const(1)  # WIFI CONNECTED, no address yet
_WIFI_UP = const(2)  # WIFI GOT IP


def __getattr__(name):
    # The public names of the constants above (engine.OPEN, ...), for code and
    # tests that import them: they live in consts.py, loaded only then.
    from . import consts

    return getattr(consts, name)


_WAITING = const(-1)
# A payload is readable once what follows it checks out (parser.py), or once
# the UART has been quiet this long after it: the line has paused, so no
# byte of it can have been lost to an overflow that more input would show.
_SETTLE_MS = const(5)
_BUSY_RETRY_MS = const(20)
_BUSY_RETRY_MAX_MS = const(500)
_PAY_MS = const(2000)  # writing a late send's data (_pay)


class Engine:
    def __init__(self, uart, rx_size=1024, link_size=2048, link_max=8192):
        self.uart = uart
        self.parser = p = Parser(_LINKS, rx_size)
        p.handler = self._event
        self.link_size = link_size
        self.link_max = link_max if link_max > link_size else link_size
        p.on_full = self._ring_full
        self.waiting_on = _NOBODY  # the link a blocking read waits for, or ANY
        self._rings: list = [None] * _LINKS  # Rings, allocated on a link's first use, then reused
        self.link_state = bytearray(_LINKS)
        self.wifi = _WIFI_DOWN
        self.reboots = 0  # "ready" lines seen after start-up
        # A Ring whose limit a wait raised above link_size, True for several,
        # or None: relax() puts them back.
        self.relax_due: "Ring | bool | None" = None
        self._starved = False  # a ring could not grow during this wait
        self._dry = False  # the UART had nothing at the last poll
        self._dry_at = 0  # since then (ticks_ms)
        self._final = 0  # final result of the command in flight; _WAITING while none
        self._waiting = False
        self._echo = None  # the command line, to recognise its echo
        self._lines = None  # the command's other output lines, when wanted
        self._prompt = False
        self._for_prompt = False  # OK is not the result (AT+CIPSEND)
        self._busy = False
        self._orphan = False  # results may still come that belong to no command
        self._owed = None  # a timed-out send's data while its ">" may still come (late_prompt.py)
        self._probe = False  # resyncing: results before the marker line are stale
        self._marker = False
        self.on_reboot: "Callable[[], None] | None" = None  # called when the module reboots unasked
        self.accepted: "list | None" = None  # while a server listens: links accepted, oldest first

    # -- non-blocking core -------------------------------------------------

    def poll(self):
        # Read and parse what the UART holds. Returns True if anything was
        # parsed. Allocates nothing unless a handler keeps a line.
        p = self.parser
        before = p._end - p._pos  # p.pending(), inline: polled on every read
        if before:
            p.parse()  # a ring was full; the socket layer may have drained it
            return p._end - p._pos != before
        if p.fill(self.uart):
            p.parse()
            self._dry = False
            return True
        if p.check_state:
            if not self._dry:
                self._dry = True
                self._dry_at = ticks_ms()
            elif ticks_diff(ticks_ms(), self._dry_at) >= _SETTLE_MS:
                p.settle()
        return False

    def _event(self, kind, arg, buf, s, e):
        if kind == _EV_LINE:
            if self._probe and buf.find(b"AT version", s, e) == s:
                self._marker = True
            elif self._lines is not None:
                echo = self._echo
                if echo is not None and e - s == len(echo) and buf.find(echo, s, e) == s:
                    self._echo = None  # echo is on (after power-up); not output
                else:
                    self._lines.append(bytes(buf[s:e]))
        elif kind <= _EV_ALREADY:  # OK, ERROR, FAIL, SEND OK, SEND FAIL, ALREADY CONNECTED
            if self._waiting and self._final == _WAITING and (self._marker or not self._probe):
                if kind == _EV_OK and self._for_prompt:
                    return  # AT+CIPSEND's OK: its result comes after the data
                self._final = kind
                if kind == _EV_ALREADY:
                    # Manual 3.2.3.5 makes it the answer; ESP-style firmware
                    # adds ERROR after it, which must not answer the next command.
                    self._orphan = True
        elif kind == _EV_PROMPT:
            if self._owed is not None and not self._for_prompt:
                self._pay()  # the late ">" of a send that timed out
            else:
                self._prompt = True
        elif kind == _EV_BUSY:
            if self._waiting:
                self._busy = True
        elif kind == _EV_LINK_CLOSED or kind == _EV_LINK_FAIL:
            if self.link_state[arg] != _FREE and self.link_state[arg] != _BROKEN:
                self.link_state[arg] = _CLOSED  # BROKEN stays: an EOF would hide the loss
        elif kind == _EV_LINK_CONNECT:
            state = self.link_state[arg]
            if state == _OPENING:
                self.link_state[arg] = _OPEN
            elif state == _FREE and self.accepted is not None:
                # A client of the module's TCP server (3.2.3.4): its data
                # may follow at once, so the link gets its ring right now.
                self._take(arg, _OPEN)
                self.accepted.append(arg)
        elif kind == _EV_WIFI_GOT_IP:
            self.wifi = _WIFI_UP
        elif kind == _EV_WIFI_CONNECTED:
            self.wifi = _WIFI_ASSOCIATED
        elif kind == _EV_WIFI_DISCONNECT:
            self.wifi = _WIFI_DOWN
        elif kind == _EV_READY:
            # The module restarted: links and unsaved settings are gone.
            self.reboots += 1
            self.wifi = _WIFI_DOWN
            self._owed = None  # a restarted module waits for no data
            for i in range(_LINKS):
                if self.link_state[i] != _FREE and self.link_state[i] != _BROKEN:
                    self.link_state[i] = _CLOSED
            if self._waiting:
                self._final = _EV_ERROR
            if self.on_reboot is not None:
                self.on_reboot()
        elif kind == _EV_DAMAGED:
            # The bytes lost may have held any link's data: no open link's
            # stream can be trusted past this point (parser.py).
            for i in range(_LINKS):
                if self.link_state[i] == _OPEN:
                    self.link_state[i] = _BROKEN
                    self.parser.rings[i] = None

    # -- links ---------------------------------------------------------------

    def claim_link(self):
        # A free link ID with an empty receive ring, marked OPENING. While
        # the module's server listens it gives its clients the lowest free
        # IDs on its own, so client sockets take IDs from the top down: the
        # two only meet when all five are nearly in use.
        down = self.accepted is not None
        for k in range(_LINKS):
            i = _LINKS - 1 - k if down else k
            if self.link_state[i] == _FREE:
                self._take(i, _OPENING)
                return i
        raise OSError(errno.ENOMEM, "all 5 links in use")

    def _take(self, link, state):
        ring = self._rings[link]
        if ring is None or ring.capacity() != self.link_size:  # new, or grown for someone else
            ring = self._rings[link] = Ring(self.link_size)
        ring.clear()
        ring.limit = self.link_size
        ring.datagrams = False
        self.parser.rings[link] = ring
        self.link_state[link] = state

    def release_link(self, link):
        p = self.parser
        p.rings[link] = None
        if p.link == link and p.in_frame():
            p._ring = None  # the rest of a frame in flight is nobody's
        self._rings[link].clear()
        self.link_state[link] = _FREE

    def _ring_full(self, ring):
        # A link's ring is full. If the driver is waiting for something that
        # may sit behind that data in the UART (a command's answer, data for
        # another link, a new client), the ring grows, up to link_max, so that
        # the wait can end and nothing is dropped. Otherwise the parser stops
        # and the module is held back until the ring is read (backpressure).
        # A ring fills up to its limit, link_size, whatever its capacity:
        # room above that is for such waits only, so that the next one finds
        # some even if the ring grew before (relax() lowers the limit again).
        w = self.waiting_on
        if not self._waiting and (w == _NOBODY or w >= 0 and self._rings[w] is ring):
            return False
        size = ring.capacity()
        raised = self.relax_due
        self.relax_due = ring if raised is None or raised is ring else True  # True: several
        if ring.limit < size:
            ring.limit = size
            return True
        if size >= self.link_max or self._starved:
            return False
        size = size * 2 if size * 2 < self.link_max else self.link_max
        try:
            ring.grow(size)
        except MemoryError:
            # No free block that big (the heap is short or fragmented): hold
            # the module back as at link_max, and ask no more until the wait
            # is over, since every failed allocation costs a full collection.
            self._starved = True
            return False
        ring.limit = size
        return True

    def relax(self):
        # A wait is over: rings fill up to link_size again.
        raised = self.relax_due
        self.relax_due = None
        self._starved = False
        if raised is True:
            for ring in self._rings:
                if ring is not None and ring.limit > self.link_size:
                    ring.limit = self.link_size
        elif isinstance(raised, Ring):
            raised.limit = self.link_size

    def ring(self, link) -> "Ring":
        # The receive ring of a link this side holds (claimed or accepted).
        return self._rings[link]

    # -- blocking layer ----------------------------------------------------

    def idle(self, until):
        # Poll until the tick value `until`; returns False once it has passed.
        if ticks_diff(until, ticks_ms()) <= 0:
            return False
        # While AT+CIPSEND is in flight it polls without sleeping: its prompt
        # and SEND OK come back within a few bytes' time, and at 2,000,000
        # baud a sleep costs more than the line does (README, Performance).
        if not self.poll() and not self._for_prompt:
            pause()
        return True

    def command(self, cmd, timeout_ms=2000, lines=False):
        # Send cmd (bytes, no CR LF) and wait for its final result. Returns
        # (EV_OK/EV_ERROR/..., list of output lines or None). Raises
        # OSError(ETIMEDOUT) when the deadline passes first.
        self._issue(cmd, lines, ticks_add(ticks_ms(), timeout_ms))
        return self._end()

    def send(self, link, data, timeout_ms=10000, dest=b""):
        # AT+CIPSEND=<id>,<n>[<dest>] (manual 3.2.3.8): OK, ">", the data,
        # "Recv n bytes", SEND OK. data is a bytes-like object of 1-2048
        # bytes; dest is b',"<ip>",<port>' for a UDP datagram's receiver.
        # Returns the final result (EV_SEND_OK, EV_SEND_FAIL or EV_ERROR).
        until = ticks_add(ticks_ms(), timeout_ms)
        self._settle(until)  # first, so that a timeout below is this command's
        # Its OK is not the result: that comes after the data, or ERROR comes
        # instead of the prompt or right behind it (then no data is sent).
        try:
            self._issue(b"AT+CIPSEND=%d,%d%s" % (link, len(data), dest), False, until, True)
        except OSError:
            if self._orphan:  # sent, and no ">" yet: it may still come (late_prompt.py)
                self._owed = data
                from .late_prompt import keep

                keep(self)
            raise
        if self._final != _WAITING:
            return self._end()[0]
        self._write_all(data, until)
        while self._final == _WAITING:
            if not self.idle(until):
                self._timed_out()
        return self._end()[0]

    def _issue(self, cmd, lines, until, prompt=False):
        # Write cmd and wait for its first final result, resending it after
        # "busy p..."/"busy s..." (the module did not take it; module-notes).
        # With prompt, OK is no result and the wait ends at the ">" prompt.
        self._settle(until)
        retry_ms = _BUSY_RETRY_MS
        while True:
            self.parser.expect_lines = True
            self._echo = cmd
            self._lines = [] if lines else None
            self._final = _WAITING
            self._prompt = False
            self._busy = False
            self._marker = False
            self._waiting = True
            self._for_prompt = prompt
            self.uart.write(cmd + b"\r\n")
            while self._final == _WAITING and not self._busy and not self._prompt:
                if not self.idle(until):
                    self._timed_out()
            if not self._busy:
                return
            left = ticks_diff(until, ticks_ms())
            pause = ticks_add(ticks_ms(), retry_ms if retry_ms < left else left)
            while self.idle(pause):
                pass
            if ticks_diff(until, ticks_ms()) <= 0:
                self._end()  # not taken, so no late answer will come
                raise OSError(errno.ETIMEDOUT, "module busy")
            retry_ms = min(retry_ms * 2, _BUSY_RETRY_MAX_MS)

    def _settle(self, until):
        # After a timeout (or ALREADY CONNECTED), results may still come that
        # answer no command in flight. Resync before the next command: AT+GMR's
        # answer has a line no other answer has ("AT version:", manual
        # 3.2.4.1), so every result before that line is stale and dropped.
        if not self._orphan:
            return
        if self._owed is not None:
            from .late_prompt import await_prompt

            await_prompt(self, until)
        self._orphan = False
        self._probe = True
        try:
            self._issue(b"AT+GMR", False, until)
            self._end()
        finally:
            self._probe = False

    def _pay(self):
        # Answer a late ">" with the data of the send that timed out before it
        # (late_prompt.py). Called from the parser, so here rather than there:
        # nothing is imported. The "Recv"/"SEND OK" that follow are stale
        # results (_orphan is set).
        mv = memoryview(self._owed)  # pyright: ignore[reportArgumentType]  # not None here
        self._owed = None
        n = len(mv)
        until = ticks_add(ticks_ms(), _PAY_MS)
        done = 0
        while done < n and ticks_diff(until, ticks_ms()) > 0:
            done += self.uart.write(mv[done:] if done else mv) or 0

    def _write_all(self, data, until):
        n = len(data)
        done = self.uart.write(data)
        if done is None:
            done = 0
        if done < n:
            mv = memoryview(data)
            while done < n:
                w = self.uart.write(mv[done:])
                if w:
                    done += w
                elif not self.idle(until):
                    self._timed_out()

    def _end(self):
        result = (self._final, self._lines)
        self.parser.expect_lines = self._orphan
        self._for_prompt = False
        self._waiting = False
        if self.relax_due is not None:
            self.relax()
        self._lines = None
        self._echo = None
        return result

    def _timed_out(self):
        self._orphan = True  # its answer may still come
        self._end()
        raise OSError(errno.ETIMEDOUT, "timed out")

    def forget_timeout(self):
        # Stop waiting for the late answer of a timed-out command (used while
        # syncing with a module that may not have been listening).
        self._orphan = False
        self._owed = None
        self.parser.expect_lines = self._waiting
