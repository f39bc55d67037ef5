"""Links: AT+CIPSTART (TCP, UDP, SSL), AT+CIPSEND, AT+CIPSENDEX, AT+CIPCLOSE, AT+CIPSTATUS,
AT+CIPSSLSIZE, and the TCP server: AT+CIPSERVER, AT+CIPSTO (manual 3.2.3.4-3.2.3.17). The
buffered send and its queries are in handlers_sendbuf.py.
"""

from .atparse import EXEC, SET
from .links import Link, kill, open_tcp, resolve
from .registry import ERROR, OK, handles, lines, need, setting
from .state import MAX_LINKS
from .tls import TlsConn
from .udp import UdpLink, open_udp

DEFAULT_SERVER_PORT = 333  # manual 3.2.3.4
DONE = object()  # an opener that has given the final result itself
SEND_OK = b"\r\nSEND OK\r\n"
SEND_FAIL = b"\r\nSEND FAIL\r\n"


class SslLink(Link):
    kind = "SSL"


def _link_id(ctx, cmd, n_mux):
    """(link id, remaining args): CIPMUX=1 forms start with the id, CIPMUX=0 forms use 0."""
    if ctx.state.mux:
        need(len(cmd.args) >= n_mux, "missing link id")
        return cmd.args[0].int(0, MAX_LINKS - 1), cmd.args[1:]
    return 0, cmd.args


# --- AT+CIPSTART: each type parses its optional parameters, then opens the link ------------------
def _keepalive(args):
    need(len(args) <= 1, "one optional <keep alive>")
    return (args[0].int(0, 7200) if args else 0,)


def _udp_options(args):
    """[<local port>[,<mode>]] (the manual wants the port whenever the mode is given)."""
    need(len(args) <= 2, "want [<local port>,<mode>]")
    return (args[0].int(0, 65535) if args else 0, args[1].int(0, 2) if len(args) > 1 else 0)


def _open_tcp(ctx, link_id, host, ip, port, keepalive):
    sock = open_tcp(ip, port, ctx.emu.connect_timeout_s, keepalive)
    return sock and Link(link_id, sock, ip, port)


def _open_udp(ctx, link_id, host, ip, port, local_port, mode):
    sock = open_udp(ip, local_port, ctx.emu.server_host)
    return sock and UdpLink(link_id, sock, ip, port, mode)


def _open_ssl(ctx, link_id, host, ip, port, keepalive):
    """Like TCP, then the TLS handshake. A buffer (AT+CIPSSLSIZE) below the emulator's
    ssl_reboot_below reboots the module; a failed handshake answers OK, then CLOSED."""
    emu = ctx.emu
    if ctx.state.sslsize < emu.ssl_reboot_below:
        emu.reboot()
        return DONE
    sock = open_tcp(ip, port, emu.connect_timeout_s, keepalive)
    if sock is None:
        return None
    conn = TlsConn(sock, None if host == ip else host)
    if not conn.handshake(emu.connect_timeout_s):
        kill(sock)
        ctx.final(OK)
        ctx.out(emu.link_event(link_id, b"CLOSED"))
        return DONE
    return SslLink(link_id, conn, ip, port)


LINK_TYPES = {
    "TCP": (_keepalive, _open_tcp),
    "UDP": (_udp_options, _open_udp),
    "SSL": (_keepalive, _open_ssl),
}


@handles(b"+CIPSTART", form=SET)
def cipstart(ctx, cmd):
    link_id, args = _link_id(ctx, cmd, 4)
    need(len(args) >= 3, "want <type>,<remote>,<port>[,...]")
    kind = args[0].str(1, 8)
    host = args[1].str(1, 128)
    port = args[2].int(1, 65535)
    need(kind in LINK_TYPES, "link type must be TCP, UDP or SSL")
    parse, open_link = LINK_TYPES[kind]
    options = parse(args[3:])
    need(ctx.state.online(), "not joined to an AP and no SoftAP")
    emu = ctx.emu
    if link_id in emu.links:
        ctx.out(b"ALREADY CONNECTED\r\n")
        return ctx.final(ERROR)
    ip = resolve(host, emu.dns_map)
    if ip is None:
        ctx.out(b"DNS Fail\r\n")
        return ctx.final(ERROR)
    delay = emu.take_connect_delay()  # a peer that accepts late (faults.py)
    if delay and not ctx.sleep(delay):
        return  # rebooted meanwhile
    link = open_link(ctx, link_id, host, ip, port, *options)
    if link is DONE:
        return
    if link is None:
        return _connect_failed(ctx, link_id)
    if emu.add_link(ctx, link):
        ctx.final(OK)
        emu.start_link(link)
    elif ctx.live():  # the server took this id meanwhile
        ctx.out(b"ALREADY CONNECTED\r\n")
        ctx.final(ERROR)


def _connect_failed(ctx, link_id):
    """A connection that failed, as the cipstart_fail quirk says (quirks.py): ERROR;
    ERROR and a stray "<id>,CLOSED" later; or "<id>,CONNECT FAIL" and ERROR."""
    emu = ctx.emu
    mode = emu.quirks.cipstart_fail
    if mode == "connect-fail":
        ctx.out(emu.link_event(link_id, b"CONNECT FAIL"))
    ctx.final(ERROR)
    if mode == "error-closed":
        emu.write_later(emu.quirks.cipstart_closed_ms / 1000, emu.link_event(link_id, b"CLOSED"), ctx.gen)


# --- sending, closing, status ----------------------------------------------------------------------
def open_link(ctx, link_id):
    """The open link link_id; ERROR if there is none (after "link is not valid" with the
    link_not_valid quirk, as ESP AT)."""
    link = ctx.emu.links.get(link_id)
    if link is None and ctx.emu.quirks.link_not_valid:  # quirks.py: ESP AT says so first
        ctx.out(b"link is not valid\r\n")
    need(link is not None, "link %d is not open" % link_id)
    return link


@handles(b"+CIPSEND", b"+CIPSENDEX", form=SET)
def cipsend(ctx, cmd):
    """<id>,<length>[,"<ip>",<port>]: the remote only for UDP links in mode 1 or 2.
    AT+CIPSENDEX (manual 3.2.3.9): the same, but \\0 in the data ends it early and a
    backslash escapes the byte after it (Ctx.receive); "Recv <n> bytes" counts what
    goes to the link."""
    link_id, args = _link_id(ctx, cmd, 2)
    need(len(args) in (1, 3), "want <length>[,<remote ip>,<remote port>]")
    length = args[0].int(1, 2048)
    addr = None
    if len(args) == 3:
        ip = resolve(args[1].str(1, 128), ctx.emu.dns_map)
        addr = (ip, args[2].int(1, 65535))
        need(ip is not None, "unknown remote host")
    emu = ctx.emu
    quirks = emu.quirks
    link = open_link(ctx, link_id)
    need(addr is None or link.mode in (1, 2), "a remote needs a UDP link in mode 1 or 2")
    fault = emu.take_send_fault()
    if fault == "error":  # faults.py: ERROR right after the prompt, no data taken
        ctx.out(OK)
        return ctx.final(emu.prompt + ERROR)  # back to back, as a module sends them
    data = ctx.receive(length, escaped=cmd.name == b"+CIPSENDEX")
    if data is None:
        return  # module rebooted or stopped meanwhile
    ctx.out(b"\r\nRecv %d bytes\r\n" % len(data))
    if fault in ("closed", "vanish"):  # the peer closed the link meanwhile: the data goes nowhere
        emu.close_link(link, notify=True)
    elif fault is None and quirks.net_latency_ms and not link.closed:
        # quirks.py: SEND OK once the network has acknowledged the data, window by window
        rounds = -(-len(data) // quirks.net_window) if quirks.net_window else 1
        if not ctx.sleep(rounds * quirks.net_latency_ms / 1000):
            return
    with emu._uart.lock:  # SEND OK goes out before any answer of the peer's
        ok = fault is None and link.send(data, addr)
        dead = fault in ("closed", "vanish") or (fault is None and not ok)
        if ok:
            return ctx.final(SEND_OK)
        if fault == "vanish" or (dead and quirks.dead_link_silent):
            return ctx.final(b"")  # no result at all: only the link's CLOSED tells
        if not quirks.doubled_result:
            return ctx.final(SEND_FAIL)
        if not quirks.doubled_result_ms:  # quirks.py: SEND FAIL, then SEND OK for the same send
            return ctx.final(SEND_FAIL + SEND_OK)
        ctx.final(SEND_FAIL)
        emu.write_later(quirks.doubled_result_ms / 1000, SEND_OK, ctx.gen)


def _close_delay(ctx):
    """The cipclose_delay_ms quirk: the module takes that long (busy meanwhile) before it
    closes and answers; False if it rebooted meanwhile."""
    delay = ctx.emu.quirks.cipclose_delay_ms
    return not delay or ctx.sleep(delay / 1000)


def _close_one(ctx, link_id):
    """Close link link_id: CLOSED, or for a link not open ERROR (after "UNLINK" with the
    unlink quirk, as ESP AT)."""
    if not ctx.emu.close_link(ctx.emu.links.get(link_id), notify=True):
        if ctx.emu.quirks.unlink:
            ctx.out(b"UNLINK\r\n")
        need(False, "link %d is not open" % link_id)


@handles(b"+CIPCLOSE", form=SET)
def cipclose(ctx, cmd):
    need(ctx.state.mux, "single-link mode: AT+CIPCLOSE takes no id")
    link_id = cmd.nargs(1)[0].int(0, MAX_LINKS)
    emu = ctx.emu
    if link_id == MAX_LINKS:
        need(emu.server is None, "AT+CIPCLOSE=5 is invalid while the server runs")
        if not _close_delay(ctx):
            return
        for link in sorted(emu.links.values(), key=lambda k: k.id):
            emu.close_link(link, notify=True)
    elif _close_delay(ctx):
        _close_one(ctx, link_id)


@handles(b"+CIPCLOSE", form=EXEC)
def cipclose_single(ctx, cmd):
    need(not ctx.state.mux, "no single link open")
    if _close_delay(ctx):
        _close_one(ctx, 0)


@handles(b"+CIPSTATUS", form=EXEC)
def cipstatus(ctx, cmd):
    st, links = ctx.state, sorted(ctx.emu.links.values(), key=lambda k: k.id)
    status = 5 if st.joined is None else 3 if links else 4 if st.had_link else 2
    lines(
        ctx,
        "STATUS:%d" % status,
        *(
            '+CIPSTATUS:%d,"%s","%s",%d,%d,%d'
            % (k.id, k.kind, k.remote_ip, k.remote_port, k.local_port, k.server)
            for k in links
        ),
    )


setting("sslsize", (b"+CIPSSLSIZE",), lambda a: a.int(2048, 4096))


# --- the TCP server --------------------------------------------------------------------------------
@handles(b"+CIPSERVER", form=SET)
def cipserver(ctx, cmd):
    """1[,<port>] listens (again with the same port: no change); 0 stops listening and
    closes the links the server accepted."""
    args = cmd.nargs(1, 2)
    mode = args[0].int(0, 1)
    port = args[1].int(1, 65535) if len(args) > 1 else DEFAULT_SERVER_PORT
    need(ctx.state.mux, "the server needs AT+CIPMUX=1")
    emu = ctx.emu
    if mode == 0:
        emu.stop_server(notify=True)
    elif emu.server is not None:
        need(emu.server.port == port, "the server runs on another port")
        if emu.quirks.no_change:  # quirks.py: ESP AT says so, then OK
            ctx.out(b"no change\r\n")
    else:
        try:
            emu.start_server(port)
        except OSError as e:
            need(False, "cannot listen on port %d: %s" % (port, e))


def _cipsto_allowed(ctx, seconds):
    need(ctx.state.mux, "AT+CIPSTO needs AT+CIPMUX=1")


setting("cipsto", (b"+CIPSTO",), lambda a: a.int(0, 7200), on_set=_cipsto_allowed)
