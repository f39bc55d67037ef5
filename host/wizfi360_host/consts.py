# The public names of the constants parser.py and engine.py keep private, for
# tests and tools (from wizfi360_host.consts import EV_OK, OPEN, ...). The
# driver itself never imports it, so these names cost no heap while it runs,
# and it is not installed on a board (it lives here, in the host-side
# package, beside the host UARTs). The values are defined by parser.py and
# engine.py and must match (tests_host/package/test_const_copies.py checks).

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


# parser.py: event kinds for handler(kind, arg, buf, start, end).
EV_LINE = const(0)
EV_OK = const(1)
EV_ERROR = const(2)
EV_FAIL = const(3)
EV_SEND_OK = const(4)
EV_SEND_FAIL = const(5)
EV_ALREADY = const(6)
EV_PROMPT = const(7)
EV_RECV = const(8)
EV_BUSY = const(9)
EV_READY = const(10)
EV_WIFI_CONNECTED = const(11)
EV_WIFI_GOT_IP = const(12)
EV_WIFI_DISCONNECT = const(13)
EV_LINK_CONNECT = const(14)
EV_LINK_CLOSED = const(15)
EV_STATION = const(16)
EV_LINK_FAIL = const(17)
EV_DAMAGED = const(18)
# parser.py: bytes before each datagram in a UDP link's ring.
RECORD = const(8)

# engine.py: link IDs, connection states (Conn.state), the results an Op
# gets besides the module's own, Wi-Fi station states.
LINKS = const(5)
OPENING = const(1)
OPEN = const(2)
CLOSED = const(3)
BROKEN = const(4)
WAITING = const(-1)
TIMED_OUT = const(-2)
GONE = const(-3)
WIFI_DOWN = const(0)
WIFI_ASSOCIATED = const(1)
WIFI_UP = const(2)
