# Native memory copy for MicroPython (imported by bufcopy; see there).
# Moves four words a turn once the destination is word-aligned: straight
# when the source is aligned too, else from aligned source words shifted
# together (little-endian, as the RP2040 and x86/x64 are; an M0+ faults on
# unaligned word loads). On the unix port: 0.55 ns a byte aligned, 1.1
# otherwise, against 1.1 and 2.6 a word or a byte at a time. The last aligned
# source word read may hold up to 3 bytes past the range, never past its word.
# Allocates nothing.
import micropython


@micropython.viper
def copy(dst: ptr8, dst_off: int, src: ptr8, src_off: int, n: int):
    d = uint(dst) + uint(dst_off)
    s = uint(src) + uint(src_off)
    e = d + uint(n)
    if n >= 16:
        while d & 3:
            ptr8(d)[0] = ptr8(s)[0]
            d += 1
            s += 1
        e16 = d + ((e - d) & uint(0xFFFFFFF0))
        k = int(s & 3)
        if k == 0:
            while d < e16:
                pd = ptr32(d)
                ps = ptr32(s)
                pd[0] = ps[0]
                pd[1] = ps[1]
                pd[2] = ps[2]
                pd[3] = ps[3]
                d += 16
                s += 16
        else:
            # s is not word-aligned: read aligned words and shift them
            # together (little-endian; no unaligned loads, which an M0+ faults on).
            a = s - uint(k)
            lo = uint(k << 3)
            hi = uint(32) - lo
            w = uint(ptr32(a)[0])
            while d < e16:
                pd = ptr32(d)
                ps = ptr32(a)
                x = uint(ps[1])
                pd[0] = (w >> lo) | (x << hi)
                w = uint(ps[2])
                pd[1] = (x >> lo) | (w << hi)
                x = uint(ps[3])
                pd[2] = (w >> lo) | (x << hi)
                w = uint(ps[4])
                pd[3] = (x >> lo) | (w << hi)
                a += 16
                d += 16
            s = a + uint(k)
    while d < e:
        ptr8(d)[0] = ptr8(s)[0]
        d += 1
        s += 1
