# boot.py runs first at every power-up or reset, before main.py.
#
# Room for the traceback of an exception raised inside an interrupt or
# timer callback (board.Heartbeat's LED and watchdog timer), which may not
# allocate. main.py reads config.json and does the rest.

import micropython

micropython.alloc_emergency_exception_buf(100)
