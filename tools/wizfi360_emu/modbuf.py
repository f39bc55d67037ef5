"""The module's own receive buffer (the module_buffer quirk; issue 15 #9).

Without it, a link's reader thread writes each +IPD frame itself and blocks while the
host does not read: the data waits in the link's socket and TCP holds the peer back,
nothing is lost. A real module takes the network's data into its own memory instead and
drops what it cannot hold (module-notes "What drivers written against real modules
record", "Module-side buffer": ARMmbed/esp8266-driver issue 69). With it, link readers
hand frames (and their link's CLOSED, which must come after them) to one writer thread
through this queue and go on reading; a frame that would take the queued payload bytes
above the limit is dropped whole, and nothing on the UART shows it (emu.dropped counts
it for tests).

Lock: the queue's own lock is a leaf: the writer takes the UART lock only after letting
go of it, and nothing else is taken while it is held.
"""

import collections
import logging
import threading

log = logging.getLogger("wizfi360_emu")


class ModuleBuffer:
    def __init__(self, emu):
        self.emu = emu
        self._cond = threading.Condition()
        self._items = collections.deque()  # (gen, link, data or None for CLOSED, sender)
        self._held = 0  # payload bytes queued or being written
        self._stopping = False
        self.dropped = [0, 0]  # frames, bytes
        threading.Thread(target=self._loop, name="emu-modbuf", daemon=True).start()

    def put_frame(self, gen, link, data, sender, limit):
        """Queue a frame; False (and the frame dropped) if it does not fit."""
        with self._cond:
            if self._held + len(data) > limit:
                self.dropped[0] += 1
                self.dropped[1] += len(data)
                log.info("module buffer full: link %d, %d bytes dropped", link.id, len(data))
                return False
            self._held += len(data)
            self._items.append((gen, link, data, sender))
            self._cond.notify_all()
            return True

    def put_close(self, gen, link):
        """The link's peer closed: its CLOSED goes out after its queued frames."""
        with self._cond:
            self._items.append((gen, link, None, None))
            self._cond.notify_all()

    def busy(self, link):
        """True while frames of this link wait in the queue."""
        with self._cond:
            return any(item[1] is link for item in self._items)

    def stop(self):
        with self._cond:
            self._stopping = True
            self._items.clear()
            self._cond.notify_all()

    def _loop(self):
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._items or self._stopping)
                if self._stopping:
                    return
                gen, link, data, sender = self._items.popleft()
            try:
                self.emu._buffered_item(gen, link, data, sender)
            except Exception:
                log.exception("module buffer writer")
            finally:
                with self._cond:
                    self._held -= len(data) if data is not None else 0
