# copy(dst, dst_off, src, src_off, n): move n bytes between buffers.
#
# The receive path copies payload from the UART buffer into per-link rings and
# from there into the caller's buffer. On MicroPython a slice of a memoryview
# is a new heap object, so `dst[a:b] = mv[c:d]` allocates once per copy; the
# viper version below takes raw pointers and allocates nothing. Where viper is
# missing (CPython, or a port built without the native emitter) the slice
# version is used instead: correct, but it allocates a memoryview per call.
# Bounds are the caller's job: both versions assume the ranges are valid.
# The fallback is defined outside the except clause so that the type checker
# takes its signature: viper turns buffer arguments into the ptr8 the stubs
# show, which no caller passes.

try:
    from ._copy_viper import copy  # pyright: ignore[reportAssignmentType]  # ptr8 params take buffers

    VIPER = True
except Exception:  # ImportError on CPython; SyntaxError/ValueError on ports without viper
    VIPER = False

if not VIPER:

    def copy(
        dst: "bytearray | memoryview",
        dst_off: int,
        src: "bytes | bytearray | memoryview",
        src_off: int,
        n: int,
    ):
        dst[dst_off : dst_off + n] = memoryview(src)[src_off : src_off + n]
