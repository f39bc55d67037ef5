"""A bare client that keeps several sends in flight: the module's buffered send
(manual 3.2.3.10; module-notes "Sends"), raw AT from CPython, as ceiling.py's one-at-a-time
client but for uploads only.

Each write goes into the module's TCP send buffer and the module takes the next command
at once; the network drains the buffer behind it and reports each segment,
"<id>,<segment>,SEND OK". The client keeps the bytes of the segments not yet reported
within the buffer's 21900 bytes (its back-pressure), and matches the reports to its
writes by segment ID. It tries ESP's name for the command first, then the manual's (the
emulator's sendbuf_name quirk says which it takes; an unknown command answers ERROR).
tools/bench/run.py reports its upload rate beside the one-at-a-time client's and the
driver's, under the emulator's network model.
"""

import re

from ceiling import put, start

BUFFER = 21900  # bytes the module's send buffer holds (manual 3.2.3.12)
NAMES = (b"AT+CIPSENDBUF", b"AT+CIPSENDERBUF")  # ESP's, the manual's
_ANSWER = re.compile(rb"(\d+),\d+\r\n\r\nOK\r\n>")  # <segment ID>,<carried>, OK, the prompt
_REPORT = re.compile(rb"\r\n0,(\d+),SEND OK\r\n")  # a segment of link 0 is through


class BufferedSender:
    """Buffered writes on link 0 of a ceiling.RawLine."""

    def __init__(self, line):
        self.line = line
        self.held = {}  # segment ID -> bytes, written and not yet reported
        self.used = 0  # their sum: what the module's buffer holds of ours
        self.name = None  # the command, once a write found the one the module takes

    def write(self, data):
        k = len(data)
        while self.used + k > BUFFER:  # back-pressure: wait for reports to free room
            self.line.more()
            self._take_reports()
        for name in (self.name,) if self.name else NAMES:
            self.line.sock.sendall(b"%s=0,%d\r\n" % (name, k))
            answer = self._until(b">", b"ERROR\r\n")
            if answer.endswith(b">"):
                self.name = name
                break
        else:
            raise RuntimeError("the module takes no buffered send (%s)" % b", ".join(NAMES).decode())
        seg = int(_ANSWER.search(answer).group(1))
        self.held[seg] = k
        self.used += k
        self.line.sock.sendall(data)
        self._until(b"Recv %d bytes\r\n" % k)

    def _take_reports(self):
        """Take the SEND OK lines out of the line's text, freeing their segments' room."""

        def through(m):
            self.used -= self.held.pop(int(m.group(1)), 0)
            return b""

        text = self.line.text
        text[:] = _REPORT.sub(through, bytes(text))

    def _until(self, *markers):
        """The line's text up to the first of markers (reports taken out first)."""
        line = self.line
        while True:
            self._take_reports()
            ends = [i + len(m) for m in markers for i in (line.text.find(m),) if i >= 0]
            if ends:
                end = min(ends)
                got = bytes(line.text[:end])
                del line.text[:end]
                return got
            line.more()


def upload(emu_port, data_port, size, pattern, ssid="WizFiTest", key="wizfi360pass"):
    """Upload B/s of `size` bytes in buffered writes; the data server checks them."""
    line = start(emu_port, data_port, ssid, key)
    try:
        up = put(line, BufferedSender(line).write, size, pattern)
        line.until(b"0,CLOSED\r\n")  # the server closes after answering
        return up
    finally:
        line.close()
