# copy(dst, dst_off, src, src_off, n): move n bytes between buffers.
#
# The receive path copies payload from the UART buffer into per-link rings and
# from there into the caller's buffer. On MicroPython a slice of a memoryview
# is a new heap object, so `dst[a:b] = mv[c:d]` allocates once per copy; the
# viper version below takes raw pointers and allocates nothing. Where viper is
# missing (CPython, or a port built without the native emitter) the slice
# version is used instead: correct, but it allocates a memoryview per call.
# Bounds are the caller's job: both versions assume the ranges are valid.

try:
    from ._copy_viper import copy

    VIPER = True
except Exception:  # ImportError on CPython; SyntaxError/ValueError on ports without viper
    VIPER = False

    def copy(dst, dst_off, src, src_off, n):
        dst[dst_off : dst_off + n] = memoryview(src)[src_off : src_off + n]
