"""The buffered send (manual 3.2.3.10-3.2.3.13; module-notes "Sends"): AT+CIPSENDERBUF or
AT+CIPSENDBUF (which of the two the module answers to: the sendbuf_name quirk), and
AT+CIPBUFSTATUS, AT+CIPBUFRESET, AT+CIPCHECKSEQ. sendbuf.py has the buffer and its drain.

Only TCP links have the buffer: on a UDP or SSL link (the manual: "can not be used for
SSL connections"), or one not open, each command answers ERROR. With CIPMUX=1 each
takes the link ID first; with CIPMUX=0 none (the query and the reset then take no
parameter at all). Not modelled: "busy" for bytes beyond <length> (they are read as
command lines, as after AT+CIPSEND) and "+++" cancelling a write.
"""

from .atparse import EXEC, SET
from .handlers_links import open_link
from .registry import handles, lines, need
from .sendbuf import SendBuffer
from .state import MAX_LINKS

MAX_WRITE = 2048  # bytes a write (ESP AT; the manual gives none)
MAX_SEGMENT = (1 << 32) - 1  # a segment ID is a uint32 (ESP AT)
NAMES = {  # the sendbuf_name quirk -> the names the write answers to
    "CIPSENDERBUF": (b"+CIPSENDERBUF",),
    "CIPSENDBUF": (b"+CIPSENDBUF",),
    "both": (b"+CIPSENDERBUF", b"+CIPSENDBUF"),
}


def _tcp_link(ctx, link_id):
    link = open_link(ctx, link_id)
    need(link.kind == "TCP", "a %s link has no send buffer" % link.kind)
    return link


def _link_arg(ctx, cmd):
    """The link a query or reset names: AT+CMD=<id> with CIPMUX=1, AT+CMD with CIPMUX=0."""
    if ctx.state.mux:
        return cmd.nargs(1)[0].int(0, MAX_LINKS - 1)
    need(not cmd.args, "single-link mode: no link id")
    return 0


def _buffer(ctx, link):
    """The link's send buffer, made on first use (under the UART lock, so that a link
    that closes meanwhile never gets one: core.Emulator.close_link closes it)."""
    emu = ctx.emu
    with emu._uart.lock:
        need(not link.closed, "link %d has closed" % link.id)
        if link.sendbuf is None:
            link.sendbuf = SendBuffer(emu, link, ctx.gen)
        return link.sendbuf


@handles(b"+CIPSENDERBUF", b"+CIPSENDBUF", form=SET)
def cipsendbuf(ctx, cmd):
    """[<id>,]<length>: "<segment ID>,<segment ID carried>", OK, ">", the data, then
    "Recv <n> bytes", and the module takes the next command while the buffer drains.
    ERROR without a prompt when the buffer cannot hold <length> bytes more."""
    emu = ctx.emu
    need(cmd.name in NAMES[emu.quirks.sendbuf_name], "unknown command (quirk sendbuf_name)")
    if ctx.state.mux:
        args = cmd.nargs(2)
        link_id = args[0].int(0, MAX_LINKS - 1)
    else:
        args = (None,) + tuple(cmd.nargs(1))
        link_id = 0
    length = args[1].int(1, MAX_WRITE)
    buf = _buffer(ctx, _tcp_link(ctx, link_id))
    need(buf.free() >= length, "the send buffer is full")
    ctx.out(b"%d,%d\r\n" % (buf.next_id, buf.acked_id))
    data = ctx.receive(length)
    if data is None:
        return  # module rebooted or stopped meanwhile
    with emu._uart.lock:  # the segment's SEND OK only after its Recv
        ctx.final(b"\r\nRecv %d bytes\r\n" % length)
        if not buf.put(data) and not emu.quirks.dead_link_silent:
            ctx.out(b"\r\nSEND FAIL\r\n")  # the link closed while the data came


@handles(b"+CIPBUFSTATUS", form=SET)
@handles(b"+CIPBUFSTATUS", form=EXEC)
def cipbufstatus(ctx, cmd):
    """<next segment ID>,<segment ID sent>,<segment ID carried>,<free bytes>,<queue>."""
    link = _tcp_link(ctx, _link_arg(ctx, cmd))
    lines(ctx, "%d,%d,%d,%d,%d" % _buffer(ctx, link).status())


@handles(b"+CIPBUFRESET", form=SET)
@handles(b"+CIPBUFRESET", form=EXEC)
def cipbufreset(ctx, cmd):
    """Segment IDs from 1 again; ERROR while the buffer holds data (ESP AT)."""
    link = _tcp_link(ctx, _link_arg(ctx, cmd))
    need(_buffer(ctx, link).reset(), "data waits to be sent")


@handles(b"+CIPCHECKSEQ", form=SET)
def cipcheckseq(ctx, cmd):
    """[<id>,]<segment ID>: "[<id>,]<segment ID>,TRUE" once carried, FALSE while held or
    after it failed; ERROR for a segment not among the latest 32 written."""
    if ctx.state.mux:
        args = cmd.nargs(2)
        link_id, seg_id = args[0].int(0, MAX_LINKS - 1), args[1].int(1, MAX_SEGMENT)
    else:
        link_id, seg_id = 0, cmd.nargs(1)[0].int(1, MAX_SEGMENT)
    carried = _buffer(ctx, _tcp_link(ctx, link_id)).carried(seg_id)
    need(carried is not None, "segment %d is not among the latest written" % seg_id)
    head = "%d," % link_id if ctx.state.mux else ""
    lines(ctx, "%s%d,%s" % (head, seg_id, "TRUE" if carried else "FALSE"))
