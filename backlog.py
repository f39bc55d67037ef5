# The readings that could not be sent yet: a bounded queue, oldest first.
#
# A reading joins the queue when it is taken and leaves it once sent (or
# refused by the server: sending it again would not help). While the network
# is down they pile up; when the queue is full the oldest is dropped to make
# room. Counts: kept (readings not sent in the round they were taken, so
# they waited in the queue), sent, refused, dropped. Each reading is kept as
# its JSON body (bytes: about 100 bytes of heap each).
#
# With a file name, the queue is also kept on flash, one JSON line per
# reading, so that a board reset or a power cut keeps it: the file is
# rewritten after a round in which the queue changed and is not empty, and
# removed once it is; while every reading goes out at once nothing is written.

import os

# json.dumps of a reading is about 70 bytes; a longer line in the file is not one.
_MAX_LINE = 512


class Backlog:
    def __init__(self, size, path=""):
        self.size = size
        self.path = path
        self.items = []  # bodies, oldest first
        self.sent = 0
        self.kept = 0
        self.dropped = 0
        self.refused = 0
        self.restored = 0  # read back from the file at start
        self._new = None  # the body added in this round
        self._dirty = False
        self._on_flash = False
        if path:
            self._load()

    def __len__(self):
        return len(self.items)

    def add(self, body):
        """Queue a reading's body; returns the body dropped to make room, or None."""
        items = self.items
        gone = None
        if len(items) >= self.size:
            gone = items.pop(0)
            self.dropped += 1
        items.append(body)
        self._new = body
        self._dirty = True
        return gone

    def head(self):
        return self.items[0] if self.items else None

    def done(self, refused=False):
        """The head went out (or was refused for good): off the queue."""
        self.items.pop(0)
        self._dirty = True
        if refused:
            self.refused += 1
        else:
            self.sent += 1

    def end_round(self):
        """After a round's sends: count the round's reading as kept if it is
        still queued, and bring the file in line with the queue."""
        new, self._new = self._new, None
        if new is not None and self.items and self.items[-1] is new:
            self.kept += 1
        if not self.path or not self._dirty:
            return
        self._dirty = False
        if not self.items:
            if self._on_flash:
                try:
                    os.remove(self.path)
                except OSError:
                    pass
                self._on_flash = False
            return
        tmp = self.path + ".new"
        with open(tmp, "wb") as f:
            for body in self.items:
                f.write(body)
                f.write(b"\n")
        try:
            os.rename(tmp, self.path)  # a reset halfway leaves the old file whole
        except OSError:  # FAT renames onto no existing file
            os.remove(self.path)
            os.rename(tmp, self.path)
        self._on_flash = True

    def _load(self):
        try:
            f = open(self.path, "rb")
        except OSError:
            return  # no file: nothing was kept
        with f:
            for line in f:
                line = line.strip()
                # A reading is one flat JSON object; anything else (a line cut
                # short, if the file was ever written in place) is skipped.
                if line.startswith(b"{") and line.endswith(b"}") and len(line) < _MAX_LINE:
                    self.add(line)
        self.restored = len(self.items)
        self._new = None
        self._on_flash = True
        self._dirty = False
