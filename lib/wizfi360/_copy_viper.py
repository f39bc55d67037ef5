# Native memory copy for MicroPython (imported by bufcopy; see there).
# Copies word by word when source and destination share alignment, which is
# the common case for the driver's own buffers. Allocates nothing.
import micropython


@micropython.viper
def copy(dst: ptr8, dst_off: int, src: ptr8, src_off: int, n: int):
    d = uint(dst) + uint(dst_off)
    s = uint(src) + uint(src_off)
    pd = ptr8(d)
    ps = ptr8(s)
    i = 0
    if n >= 16 and (d & 3) == (s & 3):
        while (d + uint(i)) & 3:
            pd[i] = ps[i]
            i += 1
        wd = ptr32(d + uint(i))
        ws = ptr32(s + uint(i))
        words = (n - i) >> 2
        k = 0
        while k < words:
            wd[k] = ws[k]
            k += 1
        i += words << 2
    while i < n:
        pd[i] = ps[i]
        i += 1
