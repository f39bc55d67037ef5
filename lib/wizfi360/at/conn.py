# Conn: one connection on one of the module's link IDs, from AT+CIPSTART (or
# a server client's "<id>,CONNECT") to its end, with the ring its data is
# received into. The engine owns every Conn; a socket holds one.
#
# The link ID is the module's name for the connection only while it lasts
# (manual 3.2.3.5): after "<id>,CLOSED" the module may give the ID to a new
# client at once, and that is a new Conn, while this one keeps exactly its
# own unread bytes, then reports the end.
#
# Allocation: as Ring (wire/ring.py), whose release() hands the storage on for reuse.

from ..wire.ring import Ring


class Conn(Ring):
    def __init__(self, storage, link, state):
        # storage: a bytearray to reuse (from release()), or a size.
        super().__init__(storage)
        self.link = link
        self.state = state  # engine.py: OPENING, OPEN, CLOSED, BROKEN
        self.error = 0  # errno of a failure not reported yet (connect, send)
        self.dropped = False  # its socket closed it (Engine.close)
