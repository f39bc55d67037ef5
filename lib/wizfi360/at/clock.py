# Millisecond clock for deadlines, the same on MicroPython and CPython.
#
# Deadlines are computed once, before a loop starts, with ticks_add(); loops
# compare against them with ticks_diff() and never reset them (module-notes,
# "bugs other drivers shipped" 3). All values are integers in milliseconds.

# The stubs type ticks as an opaque _TicksMs and the functions as taking
# positional arguments only; the CPython fallbacks are plain int functions.
try:
    from time import sleep_ms, sleep_us, ticks_add, ticks_diff, ticks_ms  # pyright: ignore[reportAssignmentType]
except ImportError:  # CPython
    import time as _time

    _PERIOD = 1 << 30  # wrap like MicroPython's small-int ticks

    def ticks_ms():
        # monotonic() is CPython's; the stubs' time module is MicroPython's.
        return int(_time.monotonic() * 1000) & (_PERIOD - 1)  # pyright: ignore[reportAttributeAccessIssue]

    def ticks_add(ticks, delta):
        return (ticks + delta) & (_PERIOD - 1)

    def ticks_diff(end, start):
        d = (end - start) & (_PERIOD - 1)
        return d - _PERIOD if d >= _PERIOD // 2 else d

    def sleep_ms(ms):
        _time.sleep(ms / 1000)

    def sleep_us(us):
        _time.sleep(us / 1000000)


def pause():
    # What a blocking wait does when the UART had nothing: a short sleep,
    # 0.2 ms (40 bytes at 2,000,000 baud, well inside a UART's rx buffer),
    # so that answers such as ">" and SEND OK are taken in without delay.
    sleep_us(200)
