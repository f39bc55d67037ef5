# The parser's fast path for TCP +IPD frames, native code (viper).
#
# walk(buf, i, end, parser) goes on from buf[i], in one call, over what it
# can take exactly as Parser.parse would: the bytes parse() skips between
# items (CR, LF, noise), the rest of a TCP frame's payload, and whole +IPD
# headers with their payload, copied into the link's Ring storage (wrapping)
# and committed when the CR LF after it checks out. It returns the index of
# the first byte it leaves to parse(): a text line, the prompt, a header cut
# by `end` or one parse() would count bad, a link with no ring or a datagram
# ring, payload beyond the ring's room (what fits goes in, as Ring.put does),
# or a payload not followed by CR LF (the check of parser.py; it sets
# check_state = 1 there, as parse() would). What it does not take is left
# untouched, so parse() handles it with its own rules: the fast path only
# saves the Python calls per frame (Parser.feed of 64-byte frames with
# CIPDINFO headers: 4,900 instructions a frame, against 47,000 without it;
# valgrind on the unix port).
#
# It reads and writes the Ring's fields (_buf, _size, _r, _n, _p, limit) and
# the parser's (_remain, _ring, link, check_state, the peer fields) directly.
# Each such access costs ~140 instructions (an instance dict lookup), a
# quarter of the work per 64-byte frame; holding the ring's indices in an
# int array would save most of that but slow every Ring method down and make
# `limit` (which the engine writes) a property, and a property makes every
# attribute store on the instances slow (see Parser.peer). So the Ring stays
# plain Python. Payload goes through _copy_viper.copy (one call per frame,
# two across the end of the ring). Allocates nothing.
import micropython

from ._copy_viper import copy

_MAX_HDR = const(48)  # as parser.py
_MAX_FRAME = const(65535)
_NONE = None  # viper compares an object with None only through a variable


@micropython.viper
def walk(b: ptr8, i: int, end: int, ps) -> int:
    # b is ps.buf. b, i and end come first: viper keeps a function's first
    # three locals in registers, the rest in stack slots.
    if ps.check_state or ps._llen or ps._rec_due:
        return i
    nothing = _NONE
    buf = ps.buf
    rings = ps.rings
    nrings = int(len(rings))
    remain = int(ps._remain)
    ring = ps._ring
    link = int(ps.link)
    ip = -1  # the last frame's sender: its text at b[ip:ip + ip_n], port
    ip_n = 0
    port = 0
    cs = 0
    while i < end:
        if remain == 0:
            if b[i] <= 32 or b[i] > 126:  # parse() skips these between items
                i += 1
                continue
            if b[i] != 43 or end - i < 7:  # "+", room for "+IPD,n:"
                break
            if b[i + 1] != 73 or b[i + 2] != 80 or b[i + 3] != 68 or b[i + 4] != 44:
                break
            # The fields up to ":", as parse() finds them: within _MAX_HDR
            # of the "+", no LF, at most four; each one's value if it is
            # 1-5 digits, else -1. i runs over them (a register).
            start = i
            lim = i + _MAX_HDR
            if lim > end:
                lim = end
            i += 5
            nf = 0
            f0 = -1
            f1 = -1
            f2 = -1
            f3 = -1
            c1 = 0  # the commas after fields 0, 1 and 2
            c2 = 0
            c3 = 0
            v = 0
            nd = 0  # digits so far; 6 and up: no number
            while i < lim:
                d = b[i] - 48
                if uint(d) < uint(10):
                    v = v * 10 + d
                    nd += 1
                elif d == -4 or d == 10:  # "," or ":"
                    if nd == 0 or nd > 5:
                        v = -1
                    if nf == 0:
                        f0 = v
                        c1 = i
                    elif nf == 1:
                        f1 = v
                        c2 = i
                    elif nf == 2:
                        f2 = v
                        c3 = i
                    else:
                        f3 = v
                    nf += 1
                    if d == 10 or nf > 3:
                        break
                    v = 0
                    nd = 0
                elif d == -38:  # LF
                    break
                else:
                    nd = 6
                i += 1
            if i >= lim or b[i] != 58:
                i = start  # cut, too long, a LF or five fields: parse() decides
                break
            # The shapes of module-notes "The wire", by field count.
            lk = f0
            n = f1
            ipa = -1
            ipe = 0
            pt = 0
            if nf == 1:
                lk = 0
                n = f0
            elif nf == 3:
                lk = 0
                n = f0
                ipa = c1 + 1
                ipe = c2
                pt = f2
            elif nf == 4:
                ipa = c2 + 1
                ipe = c3
                pt = f3
            if n <= 0 or n > _MAX_FRAME or lk < 0 or lk >= nrings:
                i = start
                break
            if ipa >= 0 and (pt < 0 or ipe - ipa < 7 or ipe - ipa > 17):
                i = start
                break
            rg = rings[lk]
            if rg is nothing or rg.datagrams:
                i = start
                break
            # Taken: from here on this is the frame parse() would have begun.
            link = lk
            ring = rg
            if ipa >= 0:
                ip = ipa
                ip_n = ipe - ipa
                port = pt
            remain = n
            i += 1
            if i == end:
                break
        elif ring is nothing or ring.datagrams:
            break
        # Payload: as much of the frame as is here, into the ring.
        take = end - i
        if take > remain:
            take = remain
        rn = int(ring._n)
        rp = int(ring._p)
        room = int(ring.limit) - rn - rp
        if take > room:  # what fits, as Ring.put; parse() then asks on_full for more
            take = room
            if take <= 0:
                break
        size = int(ring._size)
        w = int(ring._r) + rn + rp
        if w >= size:
            w -= size
        seg = size - w
        if seg >= take:
            copy(ring._buf, w, buf, i, take)
        else:  # across the end of the ring's storage
            copy(ring._buf, w, buf, i, seg)
            copy(ring._buf, 0, buf, i + seg, take - seg)
        i += take
        remain -= take
        rp += take
        if remain:
            ring._p = rp
            break
        # The frame is whole: CR LF right after it commits it (parser.py).
        if i + 1 < end and b[i] == 13 and b[i + 1] == 10:
            ring._n = rn + rp
            ring._p = 0
            i += 2
        else:
            ring._p = rp
            cs = 1
            break
    ps._remain = remain
    ps._ring = ring
    ps.link = link
    if cs:
        ps.check_state = 1
    if ip >= 0:
        t = ptr8(ps._ip_text)
        k = 0
        while k < ip_n:
            t[k] = b[ip + k]
            k += 1
        ps._ip_len = ip_n
        ps.peer_port = port
    return i
