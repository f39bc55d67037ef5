# AT command engine: the one owner of the module's command line and of its
# connections.
#
# Everything here is advanced by poll(), which never blocks: it reads what the
# UART holds and parses it (answers, unsolicited lines, +IPD data), finishes
# or expires the command in flight and writes the next one. Commands are Ops,
# queued and written one at a time (the module takes one command at a time,
# manual 2.3); a caller submits one and either returns at once (non-blocking
# sockets, asyncio) or waits on it with wait(), a loop over poll() with one
# deadline, computed before the loop and never reset inside it. Bytes are
# never flushed or skipped: anything that arrives while a command runs, such
# as +IPD data between its echo and its OK, is parsed and routed like at any
# other time (module-notes "The wire").
#
# A connection is a Conn (conn.py): its receive ring, its state, its link ID.
# The ID is only the module's name for it while it lasts: once the module
# reports "<id>,CLOSED" the ID is free and the module may give it to a new
# server client at once (module-notes, "Bugs other drivers shipped" 11),
# while the old Conn keeps its unread bytes for its socket.

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


import errno

from ..wire.parser import Parser
from .clock import pause, ticks_add, ticks_diff, ticks_ms
from .conn import Conn

# Private copies of wire/parser.py's constants: folded at compile time, so they cost
# no global and no interned name. The values are defined by wire/parser.py and
# must match (tests_host/package/test_const_copies.py checks).
_EV_LINE = const(0)
_EV_OK = const(1)
_EV_ERROR = const(2)
_EV_FAIL = const(3)
_EV_SEND_OK = const(4)
_EV_SEND_FAIL = const(5)
_EV_ALREADY = const(6)
_EV_PROMPT = const(7)
_EV_RECV = const(8)
_EV_BUSY = const(9)
_EV_READY = const(10)
_EV_WIFI_CONNECTED = const(11)
_EV_WIFI_GOT_IP = const(12)
_EV_WIFI_DISCONNECT = const(13)
_EV_LINK_CONNECT = const(14)
_EV_LINK_CLOSED = const(15)
_EV_LINK_FAIL = const(17)
_EV_DAMAGED = const(18)

# The constants below up to _WIFI_UP are private like wire/parser.py's (folded at
# compile time, no global, no interned name); socket.py and the others hold
# private copies of those they use; host/wizfi360_host/consts.py has the
# public names (OPEN, ...) for tests and tools. All copies must match these
# values (tests_host/package/test_const_copies.py checks).
_LINKS = const(5)  # link IDs 0-4 (manual 3.2.3.5)

# Conn states (conn.py).
_OPENING = const(1)  # AT+CIPSTART in flight
_OPEN = const(2)
_CLOSED = const(3)  # ended (conn.error says why, if it failed); data may still be unread
_BROKEN = const(4)  # bytes were lost on the UART; data before the loss may be unread

# Wi-Fi station states.
_WIFI_DOWN = const(0)
_WIFI_ASSOCIATED = const(1)  # WIFI CONNECTED, no address yet
_WIFI_UP = const(2)  # WIFI GOT IP

# Op.result while the op is not final; and the results an op gets besides
# the module's own (wire/parser.py's event kinds).
_WAITING = const(-1)
_TIMED_OUT = const(-2)  # its deadline passed (the module may still answer)
_GONE = const(-3)  # the module rebooted: no answer will come

# Op.stage of a send (manual 3.2.3.8): AT+CIPSEND written; its ">" came and
# the data went; "Recv <n> bytes" came, so the next SEND OK or SEND FAIL is
# its result. A SEND OK or SEND FAIL at any other time answers no command in
# flight: a late or second result of an earlier send (module-notes, "What
# drivers written against real modules record").
_ASKED = const(0)
_PROMPTED = const(1)
_RECEIVED = const(2)

# Op.kind: what the engine does with the result.
_CMD = const(0)
_START = const(1)  # AT+CIPSTART: opens op.conn
_SEND = const(2)  # AT+CIPSEND: op.data goes after the ">" prompt
_CLOSE = const(3)  # AT+CIPCLOSE: frees op.conn's ID
_CHECK = const(4)  # AT+CIPSTATUS: is op.conn's link still open? (a CLOSED that may be a stray)


# A payload is readable once what follows it checks out (wire/parser.py), or once
# the UART has been quiet this long after it: the line has paused, so no
# byte of it can have been lost to an overflow that more input would show.
_QUIET_COMMIT_MS = const(5)
# A frame's bytes come back to back at the line rate (the module sends each
# +IPD from its buffer): a line this quiet inside one, while the driver reads
# (nothing held back), means the module rebooted in it or bytes were lost.
_FRAME_STALL_MS = const(1000)
_BUSY_RETRY_MS = const(20)
_BUSY_RETRY_MAX_MS = const(500)
_PAY_MS = const(2000)  # writing a send's data (_pay)
# A send that expired before its ">" holds the line until the ">" (however
# late), an ERROR, "busy" or a reboot: the module may be waiting for its n
# bytes, and would take anything written as them (manual 3.2.3.8). Quiet this
# long, with nothing held back behind a full ring, the module has hung with
# the command: the engine resets it on its RST pin when it has one (the only
# way out that writes nothing), low for _RESET_LOW_MS (module-notes "The
# board"), and again after as long if no "ready" comes.
_NO_PROMPT_MS = const(2000)
_RESET_LOW_MS = const(100)
_CLOSE_MS = const(5000)  # AT+CIPCLOSE of a connection nobody holds any more
# While the module's server listens, a closed connection's ID goes to the
# next client at once (module-notes, "Bugs other drivers shipped" 11): an
# AT+CIPCLOSE written just after the peer closed would close that client.
# Peers often close right after the last data (HTTP), so a close waits this
# long for the peer's own "<id>,CLOSED", which makes it unnecessary: counted
# from the connection's last send done (its SEND OK), since the peer has
# the data only then, and a socket may close with sends still queued.
_LINGER_MS = const(50)


class Op:
    # One AT command from submission to its final result. result is _WAITING
    # until then, and then an event kind (_EV_OK, ...), _TIMED_OUT or _GONE.
    # out collects its output lines when asked for. A send's data is the
    # caller's buffer, or a copy when the caller does not wait (submit()).
    def __init__(self, cmd, kind, conn, data, lines, until):
        self.cmd = cmd
        self.kind = kind
        self.conn = conn
        self.data = data
        self.out = [] if lines else None
        self.until = until  # tick deadline
        self.result = _WAITING
        self.written = False  # the module may have taken it
        self.echo = lines  # its echo may still come (echo is on after power-up)
        self.stage = _ASKED  # a send's progress: _ASKED, _PROMPTED, _RECEIVED
        self.retry_ms = _BUSY_RETRY_MS  # the next wait after "busy p..."
        self.restarted = False  # an AT+CIPSTART answered ALREADY CONNECTED was tried again
        self.retry_at = ticks_ms()  # tick before which a busy op is not written again


class Engine:
    def __init__(self, uart, rx_size=1024, link_size=2048, link_max=8192, rx_budget=16384):
        self.uart = uart
        self.parser = p = Parser(_LINKS, rx_size)
        p.handler = self._event
        p.on_full = self._ring_full
        self.link_size = link_size
        self.link_max = link_max if link_max > link_size else link_size
        self.rx_budget = rx_budget  # bytes all rings together may grow beyond link_size
        self.links: list = [None] * _LINKS  # the Conn each ID names now, as the module sees it
        self._spare: list = []  # ring storage of link_size from ended connections, for reuse
        self.wifi = _WIFI_DOWN
        self.reboots = 0  # "ready" lines seen after start-up: the owner sets the module up again
        self._op: "Op | None" = None  # the command written and not answered yet
        self._queue: list = []  # Ops not written yet, in order
        self._later: list = []  # closes that wait for the peer first (_LINGER_MS), due at retry_at
        self._grown = 0  # bytes the rings hold beyond link_size, in all
        self._want = None  # what the current poll is for: a Conn, True (a new client) or None
        self.held: "Conn | None" = None  # a full ring that holds up input something waits behind
        self._starved = False  # a ring could not grow (no memory) during this wait
        self._dry = False  # the UART had nothing at the last poll
        self._dry_at = 0  # since then (ticks_ms)
        self._orphan = False  # results may still come that answer no op
        self._owed: "Op | None" = None  # a send that expired before its ">" (late prompt)
        self._owed_at = 0  # when input last came while one is owed (ticks_ms)
        self.reset_pin = None  # the module's RST line (active low), if the board wired one
        self._low_until = None  # RST held low until then (ticks_ms)
        self._prompted: "Op | None" = None  # a send whose ">" just came: its data is due
        self._probe: "Op | None" = None  # AT+GMR resync: results before its marker line are stale
        self._marker = False
        self.accepted: "list | None" = None  # while a server listens: Conns of new clients, oldest first
        # Bit i: an AT+CIPSTART=i was refused and its late "i,CLOSED" has not
        # come yet (module-notes "Link IDs after a failed AT+CIPSTART").
        self._stray = 0

    # -- the non-blocking core ---------------------------------------------

    def poll(self, want=None):
        # Read and parse what the UART holds, then move the commands on.
        # Returns True if any input was parsed. want is what the caller
        # waits for (a Conn's data, True for a server client): a full ring
        # of another connection may grow meanwhile. Allocates nothing on
        # the receive path.
        self._want = want
        self.held = None  # _ring_full() tells again while input is held back
        p = self.parser
        got = p.step(self.uart)
        if got:
            self._dry = False
        elif (p.check_state or p.in_frame()) and not p.pending():  # dry, not held back
            if not self._dry:
                self._dry = True
                self._dry_at = ticks_ms()
            else:
                quiet = ticks_diff(ticks_ms(), self._dry_at)
                if quiet >= _QUIET_COMMIT_MS and p.check_state:
                    p.settle()
                elif quiet >= _FRAME_STALL_MS and p.in_frame():
                    p.cut_frame()  # a reboot or a loss inside it (wire/parser.py)
        op = self._prompted
        if op is not None:
            # The ">" came: the data goes, unless the module said ERROR
            # right behind it (then it takes no data: manual 3.2.3.8).
            self._prompted = None
            if op.result == _WAITING:
                self._pay(op.data)
        if self._op is not None or self._queue or self._owed is not None or self._later or self._low_until:
            self._advance(got)
        self._want = None
        return got

    def _advance(self, got):
        now = ticks_ms()
        op = self._op
        if op is not None:
            if op.result == _WAITING and ticks_diff(now, op.until) >= 0:
                self._expire(op)
            if op.result != _WAITING:
                self._op = None
        q = self._queue
        later = self._later
        k = 0
        while k < len(later):
            op = later[k]
            if ticks_diff(now, op.retry_at) >= 0 and not self._sending(op.conn):
                later.pop(k)  # the peer did not close it meanwhile
                op.until = ticks_add(now, _CLOSE_MS)
                q.append(op)
            else:
                k += 1
        k = 0
        while k < len(q):  # ops that waited past their deadline behind others
            op = q[k]
            if ticks_diff(now, op.until) >= 0:
                q.pop(k)
                self._finish(op, _TIMED_OUT)
            else:
                k += 1
        low = self._low_until
        if low is not None and ticks_diff(now, low) >= 0:
            self._low_until = low = None
            self._owed_at = now
            self.reset_pin(1)  # pyright: ignore[reportOptionalCall]
        if low is not None:
            return  # the module is held in reset: nothing written reaches it
        if self._owed is not None:
            # Nothing is written while a send that expired may still get its
            # ">" (see _NO_PROMPT_MS); commands queued meanwhile end by their
            # deadlines. Its ">" (the data goes then), its ERROR or "busy" (no
            # data wanted) or a reboot ends the wait (_event).
            if got or self.parser.pending():
                self._owed_at = now  # input, or input held back: the ">" may be behind it
            elif self.reset_pin is not None and ticks_diff(now, self._owed_at) >= _NO_PROMPT_MS:
                self.pulse_reset()
            return
        if self._op is None and q:
            op = q[0]
            if ticks_diff(now, op.retry_at) < 0:
                return  # answered "busy p..." a moment ago
            if self._orphan:
                # After a timeout, results may still come that answer no
                # command in flight. Resync first: AT+GMR's answer has a line
                # no other answer has ("AT version:", manual 3.2.4.1), so
                # every result before that line is stale and dropped.
                self._orphan = False
                self._marker = False
                op = self._probe = Op(b"AT+GMR", _CMD, None, None, False, op.until)
            else:
                q.pop(0)
            self._op = op
            op.written = True
            self.parser.expect_lines = True
            self.uart.write(op.cmd + b"\r\n")

    def pulse_reset(self):
        # The module's RST low for _RESET_LOW_MS (module-notes "The board");
        # poll() lets it go, and writes nothing meanwhile. Its "ready" comes
        # after (reboots counts it).
        self._low_until = ticks_add(ticks_ms(), _RESET_LOW_MS)
        self.reset_pin(0)  # pyright: ignore[reportOptionalCall]

    def _sending(self, conn):
        # True while an op of conn's (a send) is queued or in flight.
        op = self._op
        if op is not None and op.conn is conn:
            return True
        for op in self._queue:
            if op.conn is conn:
                return True
        return False

    def submit(self, cmd, timeout_ms, kind=_CMD, conn=None, data=None, lines=False):
        # Queue cmd (bytes, no CR LF); the Op, which poll() moves on from
        # here. Nothing is written before earlier ops are answered.
        op = Op(cmd, kind, conn, data, lines, ticks_add(ticks_ms(), timeout_ms))
        self._queue.append(op)
        self.poll()
        return op

    def wait(self, until, op=None, conn=None):
        # Poll until op is final, or conn holds data or has ended, or
        # (neither given) a server client waits for accept(). until is a
        # tick deadline or None; an op has its own. Raises ETIMEDOUT at
        # until, and ENOBUFS at once when what is waited for sits behind the
        # unread data of another connection that may not grow any more: no
        # byte is lost, and the wait can succeed once that data is read.
        # Every socket read that finds its ring empty comes here, so the
        # frame stays within the 11 words MicroPython keeps on the C stack
        # (wire/ring.py): no try here, and the ends are _unwait() and
        # _give_up(). An exception out of poll() itself (the UART failed)
        # skips them: op then ends by its own deadline, and the next wait's
        # end sets the rings back.
        want = conn if conn is not None else True
        if self._grown:
            self._open_up()
        while True:
            got = self.poll(want)
            if op is not None:
                if op.result != _WAITING:
                    break
            elif conn is not None:
                if conn.readable or conn.state > _OPEN:  # data, or closed or broken
                    break
            elif self.accepted:
                break
            held = self.held
            if held is not None and held is not want:
                self._give_up(op, held)
            if until is not None and ticks_diff(until, ticks_ms()) <= 0:
                self._give_up(op, None)
            # A send's ">" and "Recv" come back within a few bytes' time:
            # at 2,000,000 baud a sleep costs more than the line does.
            # Its SEND OK waits for the network (module-notes): no spin.
            if not got and (op is None or op.kind != _SEND or op.stage == _RECEIVED):
                pause()
        self._unwait()

    def _give_up(self, op, held):
        # End a wait with ENOBUFS (held: the full ring it waits behind) or
        # ETIMEDOUT (held None); its op, if any, is no longer waited for.
        if op is not None:
            self.cancel(op)
        self._unwait()
        if held is not None:
            raise OSError(errno.ENOBUFS, "link %d holds %d unread bytes: read them" % (held.link, len(held)))
        raise OSError(errno.ETIMEDOUT, "timed out")

    def _open_up(self):
        # A wait begins: every ring that grew in an earlier wait fills to all
        # the storage it has (no allocation), the one waited for too, so that
        # one wait takes in all it can instead of stopping at each ring's
        # link_size (_ring_full would lift the others' one at a time, and a
        # read of more than link_size would wait again for the rest).
        for conn in self.links:
            if conn is not None:
                conn.limit = conn.capacity()

    def _unwait(self):
        # The wait is over: rings fill up to link_size again, so that the
        # module is held back early and the next wait finds room.
        self._starved = False
        self.held = None
        if self._grown:
            for conn in self.links:
                if conn is not None and conn.limit > self.link_size:
                    conn.limit = self.link_size

    def run(self, op):
        # Wait for op's final result (the blocking calls); returns it.
        # Raises ETIMEDOUT when its deadline passes first.
        self.wait(None, op)
        if op.result == _TIMED_OUT:
            raise OSError(errno.ETIMEDOUT, "timed out")
        return op.result

    def done(self, op, block):
        # True once op has its final result. block: wait for it (raising as
        # run() does); else poll once and tell.
        if op.result == _WAITING:
            if not block:
                self.poll()
                return op.result != _WAITING
            self.run(op)
        return True

    def cancel(self, op):
        # The caller no longer waits for op. Not written yet: it never will
        # be. In flight: its answer may still come, and is dropped.
        if op.result != _WAITING:
            return
        if op in self._queue:
            self._queue.remove(op)
            self._finish(op, _TIMED_OUT)
        elif op is self._op:
            self._expire(op)
            self._op = None

    def _expire(self, op):
        # op's deadline passed (or its caller gave up) while it was in flight.
        self._orphan = True  # its answer may still come
        if op is self._probe:
            self._probe = None  # the next op gets a resync of its own
        if op.kind == _SEND and op.stage == _ASKED and self._owed is None:
            # No ">" yet: it may still come (behind a full ring, or the
            # module is slow) and take the next bytes written as the data.
            # Keep the data, write nothing until the ">" or a quiet line.
            if not isinstance(op.data, bytes):  # the caller may reuse its buffer
                try:
                    op.data = bytes(op.data)  # pyright: ignore[reportArgumentType]
                except MemoryError:
                    pass
            self._owed_at = ticks_ms()
            self._owed = op
        self._finish(op, _TIMED_OUT)

    def _finish(self, op, result):
        op.result = result
        conn = op.conn
        if conn is None:
            return
        kind = op.kind
        if kind == _START:
            if result == _EV_OK:
                if conn.state == _OPENING:
                    self._opened(conn)
                return
            if result == _EV_ALREADY and not op.restarted:
                # The module still holds this ID: its close timed out while
                # the module did not answer. Close it, then start again.
                op.result = _WAITING
                op.restarted = True  # once
                q = self._queue
                q.insert(0, op)
                q.insert(0, Op(b"AT+CIPCLOSE=%d" % conn.link, _CMD, None, None, False, op.until))
                return
            if result == _TIMED_OUT:
                conn.error = errno.ETIMEDOUT
            elif result == _EV_ALREADY:
                conn.error = errno.EALREADY
            elif self.wifi != _WIFI_UP:
                conn.error = errno.EHOSTUNREACH
            else:
                conn.error = errno.ECONNREFUSED
            if result == _EV_ERROR:
                self._stray |= 1 << conn.link  # a late "<id>,CLOSED" may follow
            if result == _TIMED_OUT and op.written and conn.state == _OPENING:
                return  # it may open yet: the ID stays taken until the resync tells
            self._end(conn)
        elif kind == _SEND:
            for close in self._later:  # the peer has the data only now
                if close.conn is conn:
                    close.retry_at = ticks_add(ticks_ms(), _LINGER_MS)
            # A send that failed on an open connection: EIO, raised by the
            # socket's next call if nobody waits; on one that ended, its
            # end (ECONNRESET) tells.
            if (result == _EV_SEND_FAIL or result == _EV_ERROR) and conn.state == _OPEN and not conn.error:
                conn.error = errno.EIO
        elif kind == _CLOSE:
            self._free(conn)
        elif kind == _CHECK:
            # conn's ID got a CLOSED that may have been a refused start's
            # stray: conn lives on if AT+CIPSTATUS still lists its link.
            if self.links[conn.link] is not conn:
                return  # ended meanwhile (its own CLOSED came after the stray)
            if result == _EV_OK:
                head = b"+CIPSTATUS:%d," % conn.link
                for line in op.out:
                    if line.startswith(head):
                        return
            self._end(conn)

    # -- connections ---------------------------------------------------------

    def open(self, cmd_args, timeout_ms, datagrams):
        # A new connection: AT+CIPSTART=<id>,<cmd_args> on a free ID (manual
        # 3.2.3.5). While the module's server listens it gives its clients
        # the lowest free IDs on its own, so client connections take IDs
        # from the top down: the two only meet when all five are nearly in
        # use. Returns (conn, op).
        down = self.accepted is not None
        for k in range(_LINKS):
            i = _LINKS - 1 - k if down else k
            if self.links[i] is None:
                conn = self._conn(i, _OPENING, datagrams)
                op = self.submit(b"AT+CIPSTART=%d,%s" % (i, cmd_args), timeout_ms, _START, conn)
                return conn, op
        raise OSError(errno.ENOMEM, "all 5 links in use")

    def _conn(self, link, state, datagrams):
        spare = self._spare
        conn = Conn(spare.pop() if spare else self.link_size, link, state)
        conn.datagrams = datagrams
        self.links[link] = conn
        self.parser.rings[link] = conn
        return conn

    def close(self, conn, timeout_ms=5000):
        # The owner is done with conn: its unread data goes, and if the
        # module still holds its ID, AT+CIPCLOSE (3.2.3.15) is queued; the ID
        # stays taken until the answer. Returns that Op or None.
        conn.dropped = True
        p = self.parser
        p.drop(conn)  # its data still in the UART goes nowhere, so input flows
        conn.clear()
        self.poll()  # a "<id>,CLOSED" already sent frees the ID here
        if self.links[conn.link] is not conn:
            self._recycle(conn)
            return None
        if conn.state == _OPENING:
            return None  # not answered yet: freed or, once open, closed then (_opened)
        linger = conn.state == _OPEN and self.accepted is not None
        if conn.state == _OPEN:
            conn.state = _CLOSED
        if not linger:
            return self.submit(b"AT+CIPCLOSE=%d" % conn.link, timeout_ms, _CLOSE, conn)
        op = Op(b"AT+CIPCLOSE=%d" % conn.link, _CLOSE, conn, None, False, ticks_add(ticks_ms(), timeout_ms))
        op.retry_at = ticks_add(op.retry_at, _LINGER_MS)
        self._later.append(op)
        return op

    def _end(self, conn):
        # The module no longer holds conn's ID. Its commands not written yet
        # never will be (written, they would reach whoever gets the ID
        # next): a close is done, a send failed. A send whose data went out
        # fails now: a link that dies may end it with "<id>,CLOSED" alone,
        # no SEND OK or SEND FAIL (module-notes), and one that comes late
        # is dropped as stale.
        if conn.state != _BROKEN:  # BROKEN stays: an EOF would hide the loss
            conn.state = _CLOSED
        self._free(conn)
        for q in (self._later, self._queue):
            k = 0
            while k < len(q):
                op = q[k]
                if op.conn is conn and op.kind != _START:
                    q.pop(k)
                    op.result = _EV_OK if op.kind == _CLOSE else _EV_SEND_FAIL
                else:
                    k += 1
        op = self._op
        if op is not None and op.conn is conn and op.kind == _SEND and op.stage != _ASKED:
            self._op = None
            self._orphan = True
            self._finish(op, _EV_SEND_FAIL)

    def _free(self, conn):
        i = conn.link
        if self.links[i] is conn:
            self.links[i] = None
            p = self.parser
            if p.rings[i] is conn:
                p.rings[i] = None
            if conn.dropped:
                self._recycle(conn)

    def _recycle(self, conn):
        # No socket holds conn any more: its storage is for the next one, if
        # of link_size (a grown ring's goes, and with it its share of the
        # budget). Once: close() comes here when the ID is free, and the end
        # that freed it does too if it came during close()'s own poll; a
        # second time would hand on the empty storage release() leaves.
        size = conn.capacity()
        if not size:
            return
        buf = conn.release()
        if size > self.link_size:
            self._grown -= size - self.link_size
        elif len(self._spare) < 2:
            self._spare.append(buf)

    def _ring_full(self, ring):
        # A connection's ring is full. If something waits for input that may
        # sit behind that data in the UART (a command's answer, another
        # connection's data, a new client), the ring grows so that the wait
        # can end and nothing is dropped: up to link_max for one ring, and
        # rx_budget beyond link_size for all of them. Otherwise, or past
        # that, the parser stops and the module is held back until the ring
        # is read (backpressure), and a blocking wait for something else
        # ends with ENOBUFS (wait()). A ring fills up to link_size whatever
        # its capacity: room above that is for such waits only.
        want = self._want
        if self._op is None and not self._queue and (want is None or want is ring):
            return False
        size = ring.capacity()
        if ring.limit < size:
            ring.limit = size
            return True
        new = size * 2 if size * 2 < self.link_max else self.link_max
        if new <= size or self._starved or self._grown + new - size > self.rx_budget:
            self.held = ring
            return False
        if not ring.grow(new):
            # No free block that big (the heap is short or fragmented): as
            # at the budget, and no more tries until the wait is over, since
            # every failed allocation costs a full collection.
            self._starved = True
            self.held = ring
            return False
        self._grown += new - size
        ring.limit = new
        return True

    # -- what the module says ------------------------------------------------

    def _event(self, kind, arg, buf, s, e):
        op = self._op
        if kind == _EV_LINE:
            if self._probe is not None and buf.find(b"AT version", s, e) == s:
                self._marker = True
            elif op is not None and op.out is not None:
                cmd = op.cmd
                if op.echo and e - s == len(cmd) and buf.find(cmd, s, e) == s:
                    op.echo = False  # not output
                else:
                    op.out.append(bytes(buf[s:e]))
        elif kind <= _EV_ALREADY:  # OK, ERROR, FAIL, SEND OK, SEND FAIL, ALREADY CONNECTED
            if op is None or (self._probe is not None and not self._marker):
                if self._owed is not None and (kind == _EV_ERROR or kind == _EV_FAIL):
                    self._owed = None  # the expired send's answer: no ">", no data wanted
                return  # stale: the answer of a command that timed out
            if op.kind == _SEND:
                if kind == _EV_OK:
                    return  # AT+CIPSEND's OK: its result comes after the data
                if kind != _EV_ERROR and op.stage != _RECEIVED:
                    return  # not this send's result (see _RECEIVED)
            elif kind == _EV_SEND_OK or kind == _EV_SEND_FAIL:
                return  # a late or second result of a send that ended
            self._op = None
            self.parser.expect_lines = self._orphan
            if op is self._probe:
                self._probe = None
                # Every answer to commands before it has come: an ID whose
                # AT+CIPSTART timed out and that did not open is free.
                for conn in self.links:
                    if conn is not None and conn.state == _OPENING and conn.error:
                        self._end(conn)
            if kind == _EV_ALREADY:
                # Manual 3.2.3.5 makes it the answer; ESP-style firmware
                # adds ERROR after it, which must not answer the next command.
                self._orphan = True
            self._finish(op, kind)
        elif kind == _EV_PROMPT:
            owed = self._owed
            if owed is not None and (op is None or op.kind != _SEND):
                self._owed = None
                self._pay(owed.data)  # the late ">" of a send that expired
            elif op is not None and op.kind == _SEND and op.stage == _ASKED:
                op.stage = _PROMPTED
                self._prompted = op  # its data goes once this input is parsed (poll)
        elif kind == _EV_RECV:
            if op is not None and op.kind == _SEND and op.stage == _PROMPTED and arg == len(op.data):
                op.stage = _RECEIVED
        elif kind == _EV_BUSY:
            if op is None and self._owed is not None:
                self._owed = None  # the expired send was not taken
            elif op is not None and op.stage == _ASKED:
                # Not taken (module-notes): written again after a pause.
                self._op = None
                op.written = False
                if op is self._probe:
                    self._probe = None
                    self._orphan = True
                    if not self._queue:
                        return  # the op it went before was given up
                    op = self._queue[0]  # the op the probe went before
                else:
                    self._queue.insert(0, op)
                op.retry_at = ticks_add(ticks_ms(), op.retry_ms)
                op.retry_ms = min(op.retry_ms * 2, _BUSY_RETRY_MAX_MS)
        elif kind == _EV_LINK_CLOSED or kind == _EV_LINK_FAIL:
            conn = self.links[arg]
            bit = 1 << arg
            if kind == _EV_LINK_CLOSED and self._stray & bit:
                # The first CLOSED on an ID after a refused start: its stray,
                # or the end of a link that took the ID since (the program's
                # new connection, or the server's client). Ask the module.
                self._stray &= ~bit
                if conn is not None and conn.state != _OPENING:
                    until = ticks_add(ticks_ms(), _CLOSE_MS)
                    self._queue.insert(0, Op(b"AT+CIPSTATUS", _CHECK, conn, None, True, until))
            elif conn is not None and conn.state != _OPENING:
                # An OPENING one has not been answered: this CLOSED is an
                # older connection's late word on the ID (module-notes).
                self._end(conn)
        elif kind == _EV_LINK_CONNECT:
            conn = self.links[arg]
            if conn is not None:
                if conn.state == _OPENING:
                    self._opened(conn)
            elif self.accepted is not None:
                # A client of the module's TCP server (3.2.3.4): its data
                # may follow at once, so it gets its ring right now.
                self.accepted.append(self._conn(arg, _OPEN, False))
        elif kind == _EV_WIFI_GOT_IP:
            self.wifi = _WIFI_UP
        elif kind == _EV_WIFI_CONNECTED:
            self.wifi = _WIFI_ASSOCIATED
        elif kind == _EV_WIFI_DISCONNECT:
            self.wifi = _WIFI_DOWN
        elif kind == _EV_READY:
            # The module restarted: connections, unsaved settings and every
            # command it had are gone; no late answer will come.
            self.reboots += 1
            self.wifi = _WIFI_DOWN
            self._stray = 0
            self._owed = None
            self._prompted = None
            self._orphan = False
            self._probe = None
            op = self._op
            self._op = None
            if op is not None:
                self._finish(op, _GONE)
            q = self._queue
            while q:
                self._finish(q.pop(0), _GONE)
            for conn in self.links:
                if conn is not None:
                    self._end(conn)
            self.parser.expect_lines = False
        elif kind == _EV_DAMAGED:
            # The bytes lost may have held any link's data: no open
            # connection's stream can be trusted past this point (wire/parser.py).
            p = self.parser
            for conn in self.links:
                if conn is not None and conn.state == _OPEN:
                    conn.state = _BROKEN
                    p.rings[conn.link] = None

    def _opened(self, conn):
        conn.state = _OPEN
        if conn.dropped:  # its socket gave up waiting: close it now
            until = ticks_add(ticks_ms(), _CLOSE_MS)
            self._queue.append(Op(b"AT+CIPCLOSE=%d" % conn.link, _CLOSE, conn, None, False, until))

    def _pay(self, data):
        # Write a send's data after its ">". Called from the parser: the
        # "Recv n bytes" and SEND OK that follow are parsed later.
        mv = memoryview(data)
        n = len(mv)
        until = ticks_add(ticks_ms(), _PAY_MS)
        done = self.uart.write(mv) or 0
        while done < n and ticks_diff(until, ticks_ms()) > 0:
            done += self.uart.write(mv[done:]) or 0

    # -- blocking layer ----------------------------------------------------

    def idle(self, until):
        # Poll until the tick value `until`; returns False once it has passed.
        if ticks_diff(until, ticks_ms()) <= 0:
            return False
        if not self.poll():
            pause()
        return True

    def command(self, cmd, timeout_ms=2000, lines=False):
        # Send cmd (bytes, no CR LF) and wait for its final result. Returns
        # (EV_OK/EV_ERROR/..., list of output lines or None). Raises
        # OSError(ETIMEDOUT) when the deadline passes first.
        op = self.submit(cmd, timeout_ms, lines=lines)
        if self.run(op) == _GONE:
            return _EV_ERROR, op.out
        return op.result, op.out

    def forget_timeout(self):
        # Stop waiting for the late answer of a timed-out command (used while
        # syncing with a module that may not have been listening).
        self._orphan = False
        self._owed = None
        self._probe = None
        self.parser.expect_lines = self._op is not None
