# A send that timed out before the module's ">" prompt (AT+CIPSEND, manual
# 3.2.3.8), loaded by the engine the first time one does.
#
# The module may still give the prompt: it may sit behind a link's data that
# the driver could not take in (a full ring that cannot grow), or the module
# was slow. The module then takes the next bytes written, whatever they are,
# as that send's data: the next command would reach the peer instead of the
# module. So the engine keeps the data (keep), writes nothing until the ">"
# comes or the line shows that it will not (await_prompt), and answers a
# late ">" with the data (Engine._pay). The peer then receives what send()
# was given, once, although send() raised ETIMEDOUT: as after a TCP send
# timeout, the data may still arrive.

try:
    from micropython import const  # pyright: ignore[reportAssignmentType]  # stub vs CPython fallback
except ImportError:

    def const(x):
        return x


import errno

from .clock import pause, ticks_diff, ticks_ms
from .engine import Engine

# A line this quiet, with nothing held back behind a full ring, brings no
# late ">" any more.
_QUIET_MS = const(100)


def keep(at: Engine):
    # at._owed is the caller's buffer: a copy, so that reusing the buffer
    # changes nothing; the buffer itself if there is no room for one.
    try:
        at._owed = bytes(at._owed)  # pyright: ignore[reportArgumentType]  # set by send()
    except MemoryError:
        pass


def await_prompt(at: Engine, until):
    # Poll until the late ">" has been answered or the line has been quiet
    # for _QUIET_MS with nothing held back; raises ETIMEDOUT at until, having
    # written nothing. Rings grow as in any wait; results are stale (they
    # come before the next AT+GMR's marker line).
    at._waiting = True
    at._probe = True
    at._marker = False
    quiet = ticks_ms()
    try:
        while at._owed is not None:
            if ticks_diff(until, ticks_ms()) <= 0:
                raise OSError(errno.ETIMEDOUT, "timed out")
            if at.poll():
                quiet = ticks_ms()
                continue
            if at.parser.pending():
                quiet = ticks_ms()  # held back by a full ring: the ">" may be behind
            elif ticks_diff(ticks_ms(), quiet) >= _QUIET_MS:
                at._owed = None  # the module never took that command
                return
            pause()
    finally:
        at._waiting = False
        at._probe = False
        if at.relax_due is not None:
            at.relax()
