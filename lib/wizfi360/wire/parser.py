# Incremental parser for the byte stream a WizFi360 sends in AT command mode.
#
# Input arrives in a preallocated buffer (`buf`) that the UART is read into
# with readinto(); fill() only reads when everything before has been parsed,
# so no bytes are ever dropped. Reads land at offset _MAX_HDR: a +IPD header
# cut by the end of one read waits in front of that (_hold), so the next read
# continues it in place and the header is parsed as if it had come whole.
# parse() walks the buffer once:
#   - text lines (responses, manual 2.2; messages, manual 2.3 and
#     module-notes) are classified and passed to `handler` as
#     handler(kind, arg, buf, start, end) with buf[start:end] the line without
#     CR/LF. A line split across reads is carried in a small line buffer.
#   - the `>` send prompt (manual 3.2.3.8) is reported at the start of a line,
#     with or without the space ESP-style firmware adds.
#   - `+IPD` frames in all four shapes (module-notes "The wire") are cut out of
#     the stream by their announced length, so payload may contain anything
#     (`\r\n`, `OK`, `+IPD,`), and copied into the link's Ring in slices.
#     When the ring is full, parsing stops and the rest stays in `buf`: the
#     driver then stops reading the UART, which (with RTS flow control)
#     holds the module back instead of losing data. The owner may make room
#     instead (on_full), when it waits for something behind that data.
#   - a frame's payload stays pending in the ring (not readable) until what
#     follows it checks out: the CR LF that precedes the module's next frame
#     or response, a known line, or the prompt. Without flow control a full
#     host UART buffer drops bytes; a frame that lost some then runs into the
#     bytes after it, and what follows its announced end does not check out
#     (a `+IPD` with no CR LF before it, half a header, payload bytes). That
#     frame is rolled back, `damaged` counts it and the owner hears
#     EV_DAMAGED: the bytes lost may have been anyone's. When the input stays
#     dry after a payload, the owner calls settle(), which commits it unchecked.
#
# Speed: on ports with viper, parse() first hands the input to
# _ipd_viper.walk, which takes runs of TCP frames (header, payload into the
# ring, the CR LF check, commit) in one native call and stops at anything
# else; the rest of parse() is then the same as without it (CPython, ports
# without viper). tests_host/wire/test_parser_fastpath.py runs both on the same
# input under the unix port and compares everything. And while a read holds
# nothing for the owner, parse() reads on (up to _READS reads), so that the
# owner's work per poll is spread over more input.
#
# Allocation: __init__ allocates buf (and a memoryview of it), the line
# buffer, the peer address buffer and the native walk's scratch. fill(),
# parse() and everything they call allocate nothing: numbers are parsed by
# hand, comparisons use bytearray.find with bounds, copies use
# bufcopy.copy. Only handler() may allocate, for lines it decides to keep.

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


from .bufcopy import copy

try:
    # TCP frames in one native call each read (_ipd_viper.py); without viper
    # (CPython, some ports) parse() below does everything itself.
    from ._ipd_viper import walk as _walk
except Exception:  # ImportError on CPython; SyntaxError/ValueError on ports without viper
    _walk = None

# For the type checker only: MicroPython folds the constant and compiles the
# block away (no typing module, no global); on CPython it never runs.
_TYPE_CHECKING = const(0)
if _TYPE_CHECKING:
    from typing import Callable

    _Handler = Callable[[int, int, bytearray, int, int], None]

# Event kinds for handler(kind, arg, buf, start, end). These constants and
# RECORD are private: MicroPython folds them at compile time and keeps no
# global and no interned name for them. engine.py, socket.py and the others
# hold private copies of those they use; host/wizfi360_host/consts.py holds
# the public names (EV_OK, ...) for tests and tools. All copies must match
# these values (tests_host/package/test_const_copies.py checks).
_EV_LINE = const(0)  # any other text line (command output, echo)
_EV_OK = const(1)
_EV_ERROR = const(2)
_EV_FAIL = const(3)  # join failure: "FAIL" (module-notes) or "Fail" (manual)
_EV_SEND_OK = const(4)
_EV_SEND_FAIL = const(5)
_EV_ALREADY = const(6)  # ALREADY CONNECTED
_EV_PROMPT = const(7)  # ">" after AT+CIPSEND
_EV_RECV = const(8)  # "Recv <n> bytes", arg = n
_EV_BUSY = const(9)  # busy p... / busy s...
_EV_READY = const(10)  # the module (re)booted
_EV_WIFI_CONNECTED = const(11)
_EV_WIFI_GOT_IP = const(12)
_EV_WIFI_DISCONNECT = const(13)
_EV_LINK_CONNECT = const(14)  # arg = link id
_EV_LINK_CLOSED = const(15)  # arg = link id
_EV_STATION = const(16)  # +STA_CONNECTED / +DIST_STA_IP / +STA_DISCONNECTED (SoftAP)
_EV_LINK_FAIL = const(17)  # "<id>,CONNECT FAIL", arg = link id
_EV_DAMAGED = const(18)  # bytes were lost on the UART; arg = link of the frame hit

# A datagram in a ring (UDP links): length (2 bytes, big-endian), sender
# IPv4 address (4), sender port (2), then the payload.
_RECORD = const(8)

# "+IPD,4,2048,255.255.255.255,65535:" is 34 bytes; anything longer is not a header.
_MAX_HDR = const(48)
_READS = const(4)  # UART reads one parse() may make (see parse)
_MAX_FRAME = const(65535)


def _is(b, s, e, tok):
    return e - s == len(tok) and b.find(tok, s, e) == s


def _starts(b, s, e, tok):
    n = len(tok)
    return e - s >= n and b.find(tok, s, s + n) == s


def _int(b, s, e):
    # Decimal digits in b[s:e] as an int, or -1 when empty, too long or not digits.
    if s >= e or e - s > 5:
        return -1
    v = 0
    while s < e:
        c = b[s] - 48
        if c < 0 or c > 9:
            return -1
        v = v * 10 + c
        s += 1
    return v


_IPD = b"+IPD,"


def _no_room(ring) -> bool:
    return False


class Parser:
    def __init__(self, links=5, rx_size=1024, line_size=256):
        # rx_size: bytes per read; in front of them, room for a cut header.
        self.buf = bytearray(_MAX_HDR + rx_size)
        self._rx = memoryview(self.buf)[_MAX_HDR:]  # where reads land
        self._size = rx_size
        self._pos = 0  # next byte of buf to parse
        self._end = 0  # end of the input in buf
        self._held = 0  # bytes of a cut header held just before _MAX_HDR
        self._uart = None  # what fill() reads, for parse() to read on
        self._heard = False  # parse() told the owner something (handler)
        self._line = bytearray(line_size)
        self._llen = 0  # bytes of a partial line carried over
        self._lfull = False  # the partial line overflowed; it is dropped at its end
        self._remain = 0  # payload bytes of the current frame still to come
        self._ring = None  # where they go (None: nobody holds the link)
        self.link = -1  # link of the current/last frame
        # Sender of the last frame, when CIPDINFO=1 (peer()): parsed
        # at once for datagrams, which store it; for a TCP frame (whose sender
        # is its link's remote end) its text is kept and parsed when asked for.
        self._peer = bytearray(4)
        self._ip_text = bytearray(17)
        self._ip_len = 0  # > 0: _ip_text holds the last sender, not parsed yet
        self.peer_port = 0
        self._rec = bytearray(_RECORD)
        self._rec_due = False  # the current datagram's record is not stored yet
        self._wst = bytearray(32 * links)  # the native walk's scratch (_ipd_viper.py)
        self._wfull = 0  # 1: the last walk stopped at a ring with no room left (_full)
        # After a payload: 1, then 2 once a CR followed it; 3 after noise or
        # an unknown line, which only boot noise before "ready" explains
        # (module-notes).
        self.check_state = 0
        self.expect_lines = False  # set by the owner while command output may come
        self.rings: list = [None] * links  # Ring or None per link, set by the engine
        # Set by the owner before the first parse(); the type checker takes it as set.
        self.handler: "_Handler" = None  # pyright: ignore[reportAttributeAccessIssue]
        # on_full(ring) -> True when it made room in a full ring; else the
        # parser stops there (backpressure) until the ring is read.
        self.on_full = _no_room
        # Counters a user can read.
        self.discarded = 0  # payload bytes for links no socket holds
        self.bad_frames = 0  # +IPD headers that did not parse
        self.damaged = 0  # frames that lost bytes on the UART (see above)

    def pending(self):
        # Input bytes read from the UART but not parsed yet (a ring is full).
        return self._end - self._pos

    def in_frame(self):
        return self._remain > 0

    def drop(self, ring):
        # ring gets no more data: a frame for it still coming is discarded.
        rings = self.rings
        for i in range(len(rings)):
            if rings[i] is ring:
                rings[i] = None
        if self._ring is ring:
            self._ring = None

    def step(self, uart):
        # The owner's turn: parse the input a full ring held back (its reader
        # may have made room since), or else read what the UART holds and
        # parse it. Returns True if any input was parsed.
        held = self._end - self._pos
        if held:
            self.parse()
            return self._end - self._pos != held
        if self.fill(uart):
            self.parse()
            return True
        return False

    def fill(self, uart):
        # Read what the UART holds; returns the byte count read. Reads nothing
        # while earlier input is still unparsed.
        if self._pos < self._end:
            return 0
        self._uart = uart
        n = uart.any()
        if not n:
            return 0
        if n > self._size:
            n = self._size
        n = uart.readinto(self._rx, n)
        if not n:
            return 0
        # As _load, which feed() calls: written out here, once per read.
        self._pos = _MAX_HDR - self._held
        self._end = _MAX_HDR + n
        self._held = 0
        return n

    def _load(self, n):
        # n bytes were put at _MAX_HDR: parse them, behind a held header.
        self._pos = _MAX_HDR - self._held
        self._end = _MAX_HDR + n
        self._held = 0

    def feed(self, data):
        # Parse bytes from memory (tests, other transports). Returns how many
        # were taken; fewer than len(data) only when a ring is full.
        taken = 0
        total = len(data)
        self._uart = None  # no reads from an earlier fill()'s UART
        while taken < total:
            if self._pos < self._end:
                self.parse()
                if self._pos < self._end:
                    break
            n = total - taken
            if n > self._size:
                n = self._size
            copy(self.buf, _MAX_HDR, data, taken, n)
            self._load(n)
            taken += n
            self.parse()
        self.settle()
        return taken

    def settle(self):
        # No more input for now: the payload that ended last becomes readable
        # unchecked (what follows it will still be checked), unless noise or
        # part of a line followed it: then the rest of the evidence is due.
        ring = self._ring
        if 0 < self.check_state < 3 and not self._llen and not self._held and ring is not None:
            ring.commit()

    def parse(self):
        # Parse what fill() read. While that held nothing for the owner (no
        # event: frames, a cut header) and the UART has more, read and parse
        # on, up to _READS reads: the owner's own work per read (its poll,
        # the socket's wait) is then spread over that much more input, as a
        # larger rx_size would, without the heap. A full ring stops it.
        reads = 1
        self._heard = False
        while True:
            # Most reads are TCP frames alone: the native walk takes them,
            # and a full ring the owner makes room in, without _steps' frame.
            i = self._pos
            k = 0
            if _walk is not None:
                k = 1
                while k == 1:
                    i = _walk(self.buf, i, self._end, self)  # pyright: ignore[reportArgumentType]  # ptr8 takes buffers
                    k = self._full() if i < self._end else 0
            if k == 0 and i < self._end:
                i = self._steps(i, self._end)
            if i < self._end:
                self._pos = i  # a ring is full: the rest waits
                return
            self._pos = self._end = 0
            uart = self._uart
            if self._heard or reads >= _READS or uart is None or not self.fill(uart):
                return
            reads += 1

    def _full(self):
        # Where the walk stopped: 0 not at a full ring (_steps takes that
        # item); 1 at one the owner made room in (walk on); 2 at one it made
        # none in: parsing waits here. The walk says in _wfull that it
        # stopped for lack of room; then, as _steps would without its frame,
        # the owner is asked, and a frame larger than the whole ring is made
        # readable unchecked.
        if not self._wfull:  # the walk stopped for something else
            return 0
        ring = self._ring
        if ring is None:  # the walk sets _wfull only with a ring; this is for the checker
            return 0
        if self.on_full(ring):
            return 1
        if not ring.readable:
            ring.commit()
        return 2

    def _steps(self, i, end):
        # Parse buf[i:end]; returns where it stopped (end, or a full ring).
        # Its frame is more than the 11 words MicroPython keeps on the C stack
        # (ring.py), so each call takes one from the heap: parse() calls it
        # only for what the native walk leaves.
        buf = self.buf
        walk = _walk
        while i < end:
            if walk is not None:
                # It stops where it cannot go on: the Python step below
                # takes that item, then it is walk's turn again.
                i = walk(buf, i, end, self)  # pyright: ignore[reportArgumentType]  # ptr8 takes buffers
                if i >= end:
                    break
            if self._remain:
                if self._rec_due and not self._put_record():
                    break  # no room for the whole datagram yet
                n = self._remain
                if n > end - i:
                    n = end - i
                ring = self._ring
                if ring is None:
                    self.discarded += n
                else:
                    n = ring.put(buf, i, n)
                    if not n:
                        if self.on_full(ring):
                            continue  # the owner made room
                        if not len(ring):
                            ring.commit()  # a frame larger than the ring: unchecked
                        break  # ring full: keep the rest for later
                i += n
                self._remain -= n
                if not self._remain:
                    # The frame is whole. What follows it decides; most often
                    # it is the CR LF before the next frame, right here.
                    if i + 1 < end and buf[i] == 13 and buf[i + 1] == 10:
                        if ring is not None:
                            ring.commit()
                        i += 2
                    else:
                        self.check_state = 1
                continue
            if self._llen:
                i = self._carry(buf, i, end)
                continue
            c = buf[i]
            cs = self.check_state
            if cs:
                if cs == 2 and c == 10:
                    self._checked()
                    i += 1
                    continue
                if cs == 1 and c == 13:
                    self.check_state = 2
                    i += 1
                    continue
                if c == 62:
                    if cs == 3:
                        self._damage()
                    else:
                        self._checked()
                elif cs == 2 or c <= 32 or c > 126:
                    self.check_state = 3  # noise: only a reboot's excuses it
                # else a line or a header: _dispatch()/_header() decide
            if c == 43:  # "+"
                m = 1
                while m < 5 and i + m < end and buf[i + m] == _IPD[m]:
                    m += 1
                if m == 5:
                    if self.check_state:
                        self._damage()  # the module puts CR LF before every +IPD
                    lim = i + _MAX_HDR
                    k = buf.find(b":", i + 5, end if end < lim else lim)
                    nl = buf.find(b"\n", i + 5, k if k >= 0 else (end if end < lim else lim))
                    if nl >= 0:  # a header cut by a line end: garbage
                        self.bad_frames += 1
                        i = nl + 1
                    elif k >= 0:
                        self._header(buf, i + 5, k)
                        i = k + 1
                    elif end - i < _MAX_HDR:
                        i = self._hold(buf, i, end)
                    else:
                        self.bad_frames += 1
                        i += 5
                    continue
                if i + m == end:  # ran out of input while it still looked like +IPD
                    i = self._hold(buf, i, end)
                    continue
            elif c == 62:  # ">"
                self._heard = True
                self.handler(_EV_PROMPT, 0, buf, i, i + 1)
                i += 1
                continue
            elif c <= 32 or c > 126:  # CR, LF, the prompt's space, boot noise
                i += 1
                continue
            j = buf.find(b"\n", i, end)
            if j < 0:
                i = self._stash(buf, i, end)
                continue
            self._dispatch(buf, i, j)
            i = j + 1
        return i

    def _hold(self, buf, i, end):
        # A header (or the start of "+IPD,") cut by the end of the input,
        # shorter than _MAX_HDR: it moves to just before _MAX_HDR, where the
        # next read continues it (_load). Returns end. The move goes down
        # (reads land at _MAX_HDR), so a forward copy is safe.
        n = end - i
        copy(buf, _MAX_HDR - n, buf, i, n)
        self._held = n
        return end

    def _stash(self, buf, i, end):
        # Start carrying a partial line; returns end.
        n = end - i
        room = len(self._line)
        if n > room:
            n = room
            self._lfull = True
        copy(self._line, 0, buf, i, n)
        self._llen = n
        return end

    def _append(self, buf, i, n):
        ll = self._llen
        room = len(self._line) - ll
        if n > room:
            n = room
            self._lfull = True
        copy(self._line, ll, buf, i, n)
        self._llen = ll + n

    def _carry(self, buf, i, end):
        # Continue a line carried over from an earlier read; returns the new i.
        line = self._line
        j = buf.find(b"\n", i, end)
        if j < 0:
            self._append(buf, i, end - i)
            return end
        self._append(buf, i, j - i)
        n = self._llen
        self._llen = 0
        if self._lfull:
            self._lfull = False  # longer than any response: not ours, drop it
        else:
            self._dispatch(line, 0, n)
        return j + 1

    def cut_frame(self):
        # The frame in progress stopped short of its announced length and
        # the line stays quiet (the owner tells): the module rebooted inside
        # it (its "ready" then sits among the payload, module-notes) or bytes
        # were lost. The frame's payload is dropped and parsing goes on at
        # the next line; the owner hears EV_READY or EV_DAMAGED.
        ring = self._ring
        rebooted = False
        if ring is not None:
            rebooted = ring.find_pending(b"ready") >= 0
            ring.rollback()
        self._remain = 0
        self._rec_due = False
        self.check_state = 0
        if rebooted:
            self.handler(_EV_READY, 0, self.buf, 0, 0)
        else:
            self.damaged += 1
            self.handler(_EV_DAMAGED, self.link, self.buf, 0, 0)

    def _checked(self):
        ring = self._ring
        if ring is not None:
            ring.commit()
        self.check_state = 0

    def _damage(self):
        # What follows the last payload shows that bytes were lost.
        ring = self._ring
        if ring is not None:
            ring.rollback()
        self.check_state = 0
        self.damaged += 1
        self._heard = True
        self.handler(_EV_DAMAGED, self.link, self.buf, 0, 0)

    def _header(self, b, s, e):
        # Fields of "+IPD,<fields>:" are in b[s:e]. The comma count tells the
        # shape (module-notes "The wire"; the IP holds no comma):
        #   <len> | <id>,<len> | <len>,<ip>,<port> | <id>,<len>,<ip>,<port>
        c1 = b.find(b",", s, e)
        c2 = b.find(b",", c1 + 1, e) if c1 >= 0 else -1
        c3 = b.find(b",", c2 + 1, e) if c2 >= 0 else -1
        if c3 >= 0 and b.find(b",", c3 + 1, e) >= 0:
            c1 = -2  # five fields: not a header
        link = 0
        ip = ip_end = port = -1  # ip_end and port are set whenever ip is
        if c1 == -1:
            n = _int(b, s, e)
        elif c2 < 0:
            link = _int(b, s, c1)
            n = _int(b, c1 + 1, e)
        elif c3 < 0:
            n = _int(b, s, c1)
            ip = c1 + 1
            ip_end = c2
            port = _int(b, c2 + 1, e)
        elif c1 >= 0:
            link = _int(b, s, c1)
            n = _int(b, c1 + 1, c2)
            ip = c2 + 1
            ip_end = c3
            port = _int(b, c3 + 1, e)
        else:
            n = -1
        if n <= 0 or n > _MAX_FRAME or link < 0 or link >= len(self.rings):
            self.bad_frames += 1
            return
        ring = self.rings[link]
        if ip >= 0:
            n_ip = ip_end - ip  # a dotted quad, quoted or not: 7-17 characters
            if port < 0 or n_ip < 7 or n_ip > 17:
                self.bad_frames += 1
                return
            if ring is not None and ring.datagrams:
                if not self._ip(b, ip, ip_end):
                    self.bad_frames += 1
                    return
                self._ip_len = 0
            else:  # parsing it here would cost more than the rest of the header
                copy(self._ip_text, 0, b, ip, n_ip)
                self._ip_len = n_ip
            self.peer_port = port
        self.link = link
        self._ring = ring
        self._remain = n
        if ring is not None and ring.datagrams:
            # A UDP datagram: stored whole behind an 8-byte record of its
            # length and sender (RECORD below), so boundaries survive.
            rec = self._rec
            rec[0] = n >> 8
            rec[1] = n & 255
            if ip >= 0:
                copy(rec, 2, self._peer, 0, 4)
                rec[6] = self.peer_port >> 8
                rec[7] = self.peer_port & 255
            else:  # CIPDINFO=0: no sender in the header
                for k in range(2, _RECORD):
                    rec[k] = 0
            self._rec_due = True

    def _put_record(self):
        # Store the record of the datagram that starts now, once the ring has
        # room for all of it. A datagram larger than the whole ring can never
        # be held: it is dropped and counted. Returns False to wait for room.
        ring = self._ring
        need = _RECORD + self._remain
        if ring is None:
            pass  # the link was released meanwhile: the payload goes to `discarded`
        else:
            while ring.free() < need:
                if not self.on_full(ring):
                    if need > ring.capacity():
                        self._ring = None  # never fits: the payload goes to `discarded`
                        break
                    return False  # wait for room
            else:
                ring.put(self._rec, 0, _RECORD)
        self._rec_due = False
        return True

    def peer(self):
        # The sender's IPv4 address as 4 bytes (zeros if its text was not one).
        # A method, not a property: a class with a property makes MicroPython
        # look every attribute store on its instances up in the class first,
        # which made each store to a Parser's fields cost ten times as much.
        n = self._ip_len
        if n:
            self._ip_len = 0
            if not self._ip(self._ip_text, 0, n):
                for k in range(4):
                    self._peer[k] = 0
        return self._peer

    def _ip(self, b, s, e):
        # Dotted quad in b[s:e], quoted or not, into self._peer.
        if e - s >= 2 and b[s] == 34 and b[e - 1] == 34:
            s += 1
            e -= 1
        peer = self._peer
        k = 0
        while k < 4:
            d = b.find(b".", s, e) if k < 3 else e
            if d < 0:
                return False
            v = _int(b, s, d)
            if v < 0 or v > 255:
                return False
            peer[k] = v
            s = d + 1
            k += 1
        return True

    def _dispatch(self, b, s, e):
        while e > s and (b[e - 1] == 13 or b[e - 1] == 32):
            e -= 1
        if e <= s:
            return
        c = b[s]
        n = e - s
        arg = 0
        kind = _EV_LINE
        if c == 79 and n == 2 and b[s + 1] == 75:  # OK
            kind = _EV_OK
        elif c == 69 and _is(b, s, e, b"ERROR"):
            kind = _EV_ERROR
        elif c == 83 and _is(b, s, e, b"SEND OK"):
            kind = _EV_SEND_OK
        elif c == 83 and _is(b, s, e, b"SEND FAIL"):
            kind = _EV_SEND_FAIL
        elif c == 70 and (_is(b, s, e, b"FAIL") or _is(b, s, e, b"Fail")):
            kind = _EV_FAIL
        elif c == 82 and _starts(b, s, e, b"Recv "):
            sp = b.find(b" ", s + 5, e)
            kind = _EV_RECV
            arg = _int(b, s + 5, sp if sp >= 0 else e)
        elif c == 98 and _starts(b, s, e, b"busy"):
            kind = _EV_BUSY
        elif c == 114 and _is(b, s, e, b"ready"):
            kind = _EV_READY
        elif c == 87 and _starts(b, s, e, b"WIFI "):
            if _is(b, s, e, b"WIFI CONNECTED"):
                kind = _EV_WIFI_CONNECTED
            elif _is(b, s, e, b"WIFI GOT IP"):
                kind = _EV_WIFI_GOT_IP
            elif _starts(b, s, e, b"WIFI DISCONNECT"):  # ...DISCONNECT or ...DISCONNECTED
                kind = _EV_WIFI_DISCONNECT
        elif 48 <= c < 48 + len(self.rings) and n > 2 and b[s + 1] == 44:  # "<id>,..."
            kind = _link_event(b, s + 2, e)
            if kind != _EV_LINE:
                arg = c - 48
                s += 2
        elif c == 67:  # single-link mode names no link
            kind = _link_event(b, s, e)
        elif c == 43 and (_starts(b, s, e, b"+STA_") or _starts(b, s, e, b"+DIST_STA_IP")):
            kind = _EV_STATION
        elif c == 65 and _is(b, s, e, b"ALREADY CONNECTED"):
            kind = _EV_ALREADY
        elif n > 5 and c != 43 and b.find(b"ready", e - 5, e) == e - 5:
            # Boot noise ran into it on one line (module-notes): printable
            # ("ets Jan  8 2013,...") or not. Command output, which might
            # end so (a host name), starts with "+".
            kind = _EV_READY
        cs = self.check_state
        if cs:
            # Right after a payload, an unknown line is the rest of a frame
            # that lost bytes, or boot noise (then "ready" comes), unless a
            # command's output may come now; the next known line tells.
            if kind == _EV_LINE:
                if b.find(b"IPD,", s, e) >= 0:
                    self._damage()
                elif cs == 3 or not (self.expect_lines or _note(b, s, e, c)):
                    self.check_state = 3
                else:
                    self._checked()
            elif cs == 3 and kind != _EV_READY:
                self._damage()
            else:
                self._checked()
        self._heard = True
        self.handler(kind, arg, b, s, e)


def _note(b, s, e, c):
    # Lines ESP-style firmware sends besides the manual's (module-notes,
    # "Format variants"): known, so no sign of lost bytes after a payload.
    if c == 108:
        return _is(b, s, e, b"link is not valid")
    if c == 110:
        return _is(b, s, e, b"no change")
    if c == 85:
        return _is(b, s, e, b"UNLINK")
    return c == 69 and _starts(b, s, e, b"ERR CODE:")


def _link_event(b, s, e):
    # "CONNECT", "CLOSED" or "CONNECT FAIL" after "<id>," (or alone).
    if _is(b, s, e, b"CONNECT"):
        return _EV_LINK_CONNECT
    if _is(b, s, e, b"CLOSED"):
        return _EV_LINK_CLOSED
    if _is(b, s, e, b"CONNECT FAIL"):
        return _EV_LINK_FAIL
    return _EV_LINE
