# The bytes the bench's transfers carry, the same on MicroPython (tools/bench/e2e.py)
# and CPython (tools/bench/run.py's data server, tools/bench/ceiling.py): PATTERN_LEN
# pseudo-random bytes (an LCG's high bits), repeated; stream offset q holds
# pattern[q % PATTERN_LEN].
PATTERN_LEN = 4096


def pattern():
    out = bytearray(PATTERN_LEN)
    x = 0x1234567
    for i in range(PATTERN_LEN):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out[i] = (x >> 16) & 0xFF
    return out
