"""The module's TCP send buffer (manual 3.2.3.10-3.2.3.13; module-notes "Sends"): what a
buffered send (AT+CIPSENDERBUF or AT+CIPSENDBUF, handlers_sendbuf.py) writes into, one
segment per write, and the thread that drains it onto its link.

The drain follows the network model of AT+CIPSEND (quirks.py 5): each round trip of
net_latency_ms carries at most net_window bytes of the buffer (the whole buffer with
net_window 0) onto the link, taken at the start of the round; bytes written meanwhile
wait for the next round. A segment is reported once the round that carries its last byte
ends: "<id>,<segment>,SEND OK" ("<segment>,SEND OK" with CIPMUX=0). Without the model
(net_latency_ms 0, the manual) a segment goes out and is reported at once. So one write
alone takes as long as the same AT+CIPSEND, and several overlap.

When the link closes (its peer, AT+CIPCLOSE, a Wi-Fi drop) or a send on it fails, every
segment still held fails: a bare "SEND FAIL" each (the manual: the failure names no
segment; AT+CIPCHECKSEQ tells which), nothing with the dead_link_silent quirk. A module
that reboots or stops says nothing more.

Segment IDs count from 1 per link (a new link starts again). Locks: the buffer's own
condition is a leaf; the drain takes the UART lock before it (core.py's order) when it
sends and reports, so a segment's SEND OK goes out before any answer of the peer's.
"""

import collections
import threading

SIZE = 21900  # bytes (manual 3.2.3.12)
KEPT = 32  # segments AT+CIPCHECKSEQ knows, the latest (ESP AT; module-notes "Sends")
MSS = 1460  # AT+CIPBUFSTATUS's <queue>: full segments of this size the free space holds
SEND_FAIL = b"\r\nSEND FAIL\r\n"


class Segment:
    def __init__(self, seg_id, data):
        self.id = seg_id
        self.data = data
        self.taken = 0  # bytes put on the network so far


class SendBuffer:
    def __init__(self, emu, link, gen):
        self._emu = emu
        self._link = link
        self._gen = gen  # the module's boot this buffer belongs to
        self._cond = threading.Condition()
        self._segments = collections.deque()  # not yet carried in full, oldest first
        self._status = collections.OrderedDict()  # segment id -> carried (True) or not
        self._closed = False
        self.used = 0  # bytes held
        self.next_id = 1  # the ID the next write gets
        self.sent_id = 0  # the last segment the network has begun to carry
        self.acked_id = 0  # the last segment it carried in full
        threading.Thread(target=self._drain, name="emu-sendbuf-%d" % link.id, daemon=True).start()

    # --- what the handlers ask ------------------------------------------------------------
    def free(self):
        return SIZE - self.used

    def status(self):
        """AT+CIPBUFSTATUS's five numbers."""
        with self._cond:
            free = SIZE - self.used
            return (self.next_id, self.sent_id, self.acked_id, free, free // MSS)

    def carried(self, seg_id):
        """AT+CIPCHECKSEQ: True once the segment was carried, False while held or after it
        failed; None for a segment not among the latest KEPT written."""
        with self._cond:
            return self._status.get(seg_id)

    def put(self, data):
        """Take a write as the next segment; False if the buffer has closed meanwhile
        (the caller reports the failure, the drain has ended)."""
        with self._cond:
            if self._closed:
                return False
            segment = Segment(self.next_id, data)
            self.next_id += 1
            self._segments.append(segment)
            self.used += len(data)
            self._status[segment.id] = False
            while len(self._status) > KEPT:
                self._status.popitem(last=False)
            self._cond.notify_all()
            return True

    def reset(self):
        """AT+CIPBUFRESET: count from 1 again; False while data waits to be sent."""
        with self._cond:
            if self._segments:
                return False
            self.next_id, self.sent_id, self.acked_id = 1, 0, 0
            self._status.clear()
            return True

    def close(self):
        """The link has closed (core.Emulator.close_link): the drain ends, failing what
        is held."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # --- the drain --------------------------------------------------------------------------
    def _drain(self):
        emu = self._emu
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._closed or self._waiting())
                if self._closed:
                    break
                chunk = self._take(emu.quirks.net_window)
            latency_s = emu.quirks.net_latency_ms / 1000
            if latency_s:
                with self._cond:  # one round trip, cut short by a close
                    self._cond.wait_for(lambda: self._closed, timeout=latency_s)
            if not self._carry(chunk):
                break
        self._fail_held()

    def _waiting(self):
        """Some held byte is not on the network yet (called with the condition held)."""
        return bool(self._segments) and self._segments[-1].taken < len(self._segments[-1].data)

    def _take(self, window):
        """The next round's bytes, window at most (0: all): [(segment, start, end)]."""
        chunk = []
        room = window or SIZE
        for segment in self._segments:
            k = min(room, len(segment.data) - segment.taken)
            if k <= 0:
                continue
            chunk.append((segment, segment.taken, segment.taken + k))
            segment.taken += k
            self.sent_id = segment.id
            room -= k
            if not room:
                break
        return chunk

    def _carry(self, chunk):
        """The round trip has ended: the chunk reaches the peer and the segments it ends
        are reported. False if the module rebooted or stopped, the link closed or the
        send failed."""
        emu = self._emu
        with emu._uart.lock:
            if not self._live() or self._closed:
                return False
            if not self._link.send(b"".join(s.data[a:b] for s, a, b in chunk)):
                return False
            done = []
            with self._cond:
                for segment, _, end in chunk:
                    if end == len(segment.data):  # carried in full: it is the oldest
                        self._segments.popleft()
                        self.used -= end
                        self.acked_id = segment.id
                        if segment.id in self._status:
                            self._status[segment.id] = True
                        done.append(segment.id)
            for seg_id in done:
                emu._write(self._report(seg_id))
        return True

    def _report(self, seg_id):
        if self._emu.state.mux:
            return b"\r\n%d,%d,SEND OK\r\n" % (self._link.id, seg_id)
        return b"\r\n%d,SEND OK\r\n" % seg_id

    def _live(self):
        emu = self._emu
        return self._gen == emu._gen and not emu._stopping

    def _fail_held(self):
        """The drain has ended: every held segment fails, each with a SEND FAIL (none with
        the dead_link_silent quirk, none from a module that rebooted or stopped)."""
        emu = self._emu
        with emu._uart.lock:
            with self._cond:
                self._closed = True
                held = len(self._segments)
                self._segments.clear()
                self.used = 0
            if held and self._live() and not emu.quirks.dead_link_silent:
                emu._write(SEND_FAIL * held)
