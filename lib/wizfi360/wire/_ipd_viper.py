# The parser's fast path for TCP +IPD frames, native code (viper).
#
# walk(buf, i, end, parser) goes on from buf[i], in one call, over what it
# can take exactly as Parser.parse would: the bytes parse() skips between
# items (CR, LF, noise), the rest of a TCP frame's payload, and whole
# headers of the two shapes CIPMUX=1 gives, "+IPD,<id>,<len>:" and
# "+IPD,<id>,<len>,<ip>,<port>:", with their payload, copied into the link's
# Ring storage (wrapping) and committed when the CR LF after it checks out.
# It returns the index of the first byte it leaves to parse(): a text line,
# the prompt, a header of another shape, cut by `end` or one parse() would
# count bad, a link with no ring or a datagram ring, payload beyond the
# ring's room (what fits goes in, as Ring.put does, and ps._wfull, which
# every call sets, tells parse() to ask the owner for room), or a payload
# not followed by CR LF (the check of parser.py; it sets check_state = 1
# there, as parse() would). What it does not take is left untouched, so parse()
# handles it with its own rules: the fast path only saves the Python calls
# per frame (Parser.feed of 64-byte frames with CIPDINFO headers: 4,900
# instructions a frame, against 47,000 without it; valgrind on the unix
# port). As .mpy: 4.1 KB for armv6m (an RP2040, where native code takes
# heap), 7.4 KB for x64.
#
# It reads the Ring's fields (_buf, _size, _r, readable, _p, limit) and the
# parser's (_remain, _ring, link, check_state, _wfull, the peer fields)
# directly.
# Each such access costs ~140 instructions (an instance dict lookup). So a
# ring's indices are read on its link's first frame of the call into the
# parser's scratch table `_wst` (eight 32-bit words a link: loaded, r,
# readable, p, limit, size, and readable and p as loaded), kept there while
# its frames are taken, and readable and _p are written back once as the
# call ends, if changed: nothing else touches a Ring while walk() runs. A
# frame begun before the call is its ring's (parse() put ps._ring there),
# which the link may no longer name: it is left to parse().
# Per 64-byte frame on two links this took valgrind's count on the unix
# port from 6.4k to 5.1k instructions (the bench's recv_into); with about one
# frame a call (1460 bytes) it costs 2-3% more.
# Holding them in an int array for good would slow every Ring method down
# and make `limit` (which the engine writes) a property, which makes every
# attribute store on the instances slow (see Parser.peer). Payload goes
# through _copy_viper.copy (one call per frame, two across the end of the
# ring). Allocates nothing.
import micropython

from ._copy_viper import copy

_MAX_HDR = const(48)  # as parser.py
_MAX_FRAME = const(65535)
_NONE = None  # viper compares an object with None only through a variable
_SLOT = const(8)  # words of _wst a link (see above)


@micropython.viper
def walk(b: ptr8, i: int, end: int, ps) -> int:
    # b is ps.buf. b, i and end come first: viper keeps a function's first
    # three locals in registers, the rest in stack slots. Every return says
    # in ps._wfull whether it stopped at a full ring.
    ps._wfull = 0
    if ps.check_state or ps._llen or ps._rec_due:
        return i
    nothing = _NONE
    buf = ps.buf
    rings = ps.rings
    nrings = int(len(rings))
    remain = int(ps._remain)
    ring = ps._ring
    link = int(ps.link)
    if remain and (link < 0 or link >= nrings or rings[link] is not ring):
        return i  # its link was given up or passed on since: left to parse()
    st = ptr32(ps._wst)  # every slot unloaded (see the end)
    cp = copy  # a local: no global lookup a frame
    taken = 0  # 1 once a frame began in this call
    loaded = 0  # bit k: link k's slot is loaded
    ip = -1  # the last frame's sender: its text at b[ip:ip + ip_n], port
    ip_n = 0
    port = 0
    cs = 0
    full = 0  # 1: stopped at a ring with no room left (parser._full)
    while i < end:
        if remain == 0:
            if b[i] <= 32 or b[i] > 126:  # parse() skips these between items
                i += 1
                continue
            if b[i] != 43 or end - i < 7:  # "+", room for "+IPD,n:"
                break
            if b[i + 1] != 73 or b[i + 2] != 80 or b[i + 3] != 68 or b[i + 4] != 44:
                break
            # The header the driver's CIPMUX=1 gives, "<id>,<len>:" or
            # "<id>,<len>,<ip>,<port>:" (module-notes "The wire"): numbers
            # of 1-5 digits, the address anything but "," ":" LF, the whole
            # within _MAX_HDR of the "+". Anything else (other shapes, a
            # header cut by `end`) is parse()'s, which takes the same ones
            # the same way. i runs over it (a register).
            start = i
            lim = i + _MAX_HDR
            if lim > end:
                lim = end
            i += 5
            nf = 0  # numbers read
            lk = 0
            n = 0
            pt = 0
            ipa = -1
            ipe = 0
            while True:
                v = 0
                nd = 0
                while i < lim and uint(b[i] - 48) < uint(10):
                    v = v * 10 + b[i] - 48
                    nd += 1
                    i += 1
                if nd == 0 or nd > 5 or i >= lim:
                    nf = 0
                    break
                if nf == 0:
                    lk = v
                elif nf == 1:
                    n = v
                else:
                    pt = v
                nf += 1
                if b[i] == 58:  # ":"
                    break
                if b[i] != 44 or nf == 3:
                    nf = 0
                    break
                i += 1
                if nf == 2:  # the sender's address, then its port
                    ipa = i
                    while i < lim and b[i] != 44 and b[i] != 58 and b[i] != 10:
                        i += 1
                    if i >= lim or b[i] != 44:
                        nf = 0
                        break
                    ipe = i
                    i += 1
            if nf < 2 or n <= 0 or n > _MAX_FRAME or lk >= nrings:
                i = start
                break
            if ipa >= 0 and (ipe - ipa < 7 or ipe - ipa > 17):
                i = start
                break
            rg = rings[lk]
            sl = ptr32(uint(st) + uint(lk * _SLOT * 4))  # lk's slot
            if sl[0] == 0 and (rg is nothing or rg.datagrams):
                i = start
                break
            # Taken: from here on this is the frame parse() would have begun.
            link = lk
            ring = rg
            taken = 1
            if ipa >= 0:
                ip = ipa
                ip_n = ipe - ipa
                port = pt
            remain = n
            i += 1
            if i == end:
                break
        else:  # the frame began before this call (its ring checked above)
            if ring is nothing or ring.datagrams:
                break
            sl = ptr32(uint(st) + uint(link * _SLOT * 4))
        if sl[0] == 0:  # the ring's first frame in this call
            loaded |= 1 << link
            sl[1] = int(ring._r)
            sl[2] = int(ring.readable)
            sl[3] = int(ring._p)
            sl[4] = int(ring.limit)
            sl[5] = int(ring._size)
            sl[6] = sl[2]
            sl[7] = sl[3]
            sl[0] = 1
        # Payload: as much of the frame as is here, into the ring.
        take = end - i
        if take > remain:
            take = remain
        rn = int(sl[2])
        rp = int(sl[3])
        room = int(sl[4]) - rn - rp
        if take > room:  # what fits, as Ring.put; parse() then asks on_full for more
            take = room
            if take <= 0:
                full = 1
                break
        size = int(sl[5])
        w = int(sl[1]) + rn + rp
        if w >= size:
            w -= size
        seg = size - w
        rb = ring._buf
        if seg >= take:
            cp(rb, w, buf, i, take)
        else:  # across the end of the ring's storage
            cp(rb, w, buf, i, seg)
            cp(rb, 0, buf, i + seg, take - seg)
        i += take
        remain -= take
        rp += take
        if remain:
            sl[3] = rp
            if i < end:
                full = 1  # the ring's room ran out before the input
            break
        # The frame is whole: CR LF right after it commits it (parser.py).
        if i + 1 < end and b[i] == 13 and b[i + 1] == 10:
            sl[2] = rn + rp
            sl[3] = 0
            i += 2
        else:
            sl[3] = rp
            cs = 1
            break
    # The indices go back to their rings, and every slot is unloaded.
    k = 0
    while loaded:
        if loaded & 1:
            sl = ptr32(uint(st) + uint(k * _SLOT * 4))
            sl[0] = 0
            rg = rings[k]
            if sl[2] != sl[6]:
                rg.readable = int(sl[2])
            if sl[3] != sl[7]:
                rg._p = int(sl[3])
        loaded >>= 1
        k += 1
    ps._remain = remain
    if taken:
        ps._ring = ring
    ps.link = link
    if cs:
        ps.check_state = 1
    if full:
        ps._wfull = 1
    if ip >= 0:
        copy(ps._ip_text, 0, buf, ip, ip_n)
        ps._ip_len = ip_n
        ps.peer_port = port
    return i
