"""AT command handlers, one small function per command form, found through TABLE.

A handler gets (ctx, cmd): cmd is an atparse.Command; ctx (core.Ctx) gives .emu, .state,
.out(bytes) for response lines, .final(bytes) for the final result, .sleep(s) and
.receive(n). A handler that returns without calling final() answers OK; raising
ParamError answers ERROR. To add a command, decorate a function with @handles.
"""

from .atparse import EXEC, QUERY, SET, ParamError
from .links import Link, open_tcp, resolve
from .state import AP_IP, AP_MAC, GMR, MAX_LINKS

OK = b"\r\nOK\r\n"
ERROR = b"\r\nERROR\r\n"
FAIL = b"\r\nFAIL\r\n"

TABLE = {}     # command name (bytes, b"" for plain AT) -> {form: handler}


def handles(*names, form):
    def register(fn):
        for name in names:
            TABLE.setdefault(name, {})[form] = fn
        return fn
    return register


def dispatch(ctx, cmd):
    fn = TABLE.get(cmd.name, {}).get(cmd.form)
    if fn is None:
        raise ParamError("unknown command %r (%s)" % (cmd.name, cmd.form))
    fn(ctx, cmd)


def _lines(ctx, *lines):
    ctx.out("".join(line + "\r\n" for line in lines).encode("utf-8", "surrogateescape"))


def _label(cmd):
    return cmd.name.decode()


def _need_joined(ctx):
    if ctx.state.joined is None:
        raise ParamError("not joined to an AP")


# --- system ------------------------------------------------------------------------------
@handles(b"", form=EXEC)
def at(ctx, cmd):
    pass


@handles(b"E0", b"E1", form=EXEC)
def echo(ctx, cmd):
    ctx.state.echo = cmd.name == b"E1"


@handles(b"+RST", form=EXEC)
def rst(ctx, cmd):
    ctx.final(OK)
    ctx.emu.reboot()


@handles(b"+GMR", form=EXEC)
def gmr(ctx, cmd):
    ctx.out(GMR)


# --- settings: NAME=<value> stores it, NAME? answers +NAME:<value> ------------------------------
def setting(attr, names, parse, fmt="%s:%d", on_set=None):
    def set_(ctx, cmd):
        value = parse(cmd.nargs(1)[0])
        if on_set:
            on_set(ctx, value)
        setattr(ctx.state, attr, value)

    def query(ctx, cmd):
        _lines(ctx, fmt % (_label(cmd), getattr(ctx.state, attr)))
    for name in names:
        TABLE.setdefault(name, {}).update({SET: set_, QUERY: query})


def _cwmode_changed(ctx, mode):
    if mode == 2:
        ctx.emu.drop_wifi()          # station off: leaves the AP


def _cipmux_changed(ctx, mux):
    if ctx.emu.links and mux != ctx.state.mux:
        raise ParamError("links are open")


setting("cwmode", (b"+CWMODE_CUR", b"+CWMODE_DEF"), lambda a: a.int(1, 3), on_set=_cwmode_changed)
setting("autoconn", (b"+CWAUTOCONN",), lambda a: a.int(0, 1))
setting("hostname", (b"+CWHOSTNAME",), lambda a: a.str(1, 32), fmt='%s:"%s"')
setting("sta_mac", (b"+CIPSTAMAC_CUR", b"+CIPSTAMAC_DEF"), lambda a: a.str(17, 17).lower(), fmt='%s:"%s"')
setting("mux", (b"+CIPMUX",), lambda a: a.int(0, 1), on_set=_cipmux_changed)
setting("dinfo", (b"+CIPDINFO",), lambda a: a.int(0, 1))


@handles(b"+CWDHCP_CUR", b"+CWDHCP_DEF", form=SET)
def cwdhcp_set(ctx, cmd):
    args = cmd.nargs(2)
    bits = (1, 2, 3)[args[0].int(0, 2)]      # 0 SoftAP, 1 station, 2 both
    ctx.state.dhcp = ctx.state.dhcp | bits if args[1].int(0, 1) else ctx.state.dhcp & ~bits


@handles(b"+CWDHCP_CUR", b"+CWDHCP_DEF", form=QUERY)
def cwdhcp_query(ctx, cmd):
    _lines(ctx, "%s:%d" % (_label(cmd), ctx.state.dhcp))


# --- Wi-Fi -------------------------------------------------------------------------------
@handles(b"+CWJAP_CUR", b"+CWJAP_DEF", form=SET)
def cwjap_set(ctx, cmd):
    args = cmd.nargs(2, 3)
    ssid = args[0].str(1, 32)
    password = args[1].str(0, 64)
    bssid = args[2].str(17, 17).lower() if len(args) > 2 else None
    if not ctx.state.station():
        raise ParamError("station mode is off")
    ctx.emu.drop_wifi()
    if not ctx.sleep(ctx.emu.join_delay_s):
        return
    found = [ap for ap in ctx.emu.aps
             if ap.ssid == ssid and (bssid is None or ap.bssid.lower() == bssid)]
    if not found:
        code = 3
    elif found[0].fail_code:
        code = found[0].fail_code
    elif found[0].password != password:
        code = 2
    else:
        ctx.state.joined = found[0]
        ctx.state.had_link = False
        ctx.out(b"WIFI CONNECTED\r\nWIFI GOT IP\r\n")
        return
    if ctx.emu.cwjap_code:
        _lines(ctx, "%s:%d" % (_label(cmd), code))
    ctx.final(FAIL)


@handles(b"+CWJAP_CUR", b"+CWJAP_DEF", form=QUERY)
def cwjap_query(ctx, cmd):
    ap = ctx.state.joined
    if ap is None:
        _lines(ctx, "No AP")
    else:
        _lines(ctx, '%s:"%s","%s",%d,%d' % (_label(cmd), ap.ssid, ap.bssid, ap.channel, ap.rssi))


@handles(b"+CWQAP", form=EXEC)
def cwqap(ctx, cmd):
    ctx.final(OK)
    ctx.emu.drop_wifi()


@handles(b"+CWLAP", form=EXEC)
@handles(b"+CWLAP", form=SET)
def cwlap(ctx, cmd):
    ssid = cmd.nargs(0, 1)[0].str(1, 32) if cmd.args else None
    if not ctx.state.station():
        raise ParamError("station mode is off")
    _lines(ctx, *('+CWLAP:(%d,"%s",%d,"%s",%d)' % (ap.ecn, ap.ssid, ap.rssi, ap.bssid, ap.channel)
                  for ap in ctx.emu.aps if ssid in (None, ap.ssid)))


# --- IP configuration ----------------------------------------------------------------------
@handles(b"+CIPSTA_CUR", b"+CIPSTA_DEF", form=QUERY)
def cipsta_query(ctx, cmd):
    label = _label(cmd)
    _lines(ctx, *('%s:%s:"%s"' % (label, key, value)
                  for key, value in zip(("ip", "gateway", "netmask"), ctx.state.ipconfig())))


@handles(b"+CIPDNS_CUR", b"+CIPDNS_DEF", form=QUERY)
def cipdns_query(ctx, cmd):
    _lines(ctx, *("%s:%s" % (_label(cmd), server) for server in ctx.state.dns))


@handles(b"+CIFSR", form=EXEC)
def cifsr(ctx, cmd):
    st = ctx.state
    if st.cwmode in (2, 3):
        _lines(ctx, '+CIFSR:APIP,"%s"' % AP_IP, '+CIFSR:APMAC,"%s"' % AP_MAC)
    if st.station():
        _lines(ctx, '+CIFSR:STAIP,"%s"' % st.ipconfig()[0], '+CIFSR:STAMAC,"%s"' % st.sta_mac)


@handles(b"+CIPDOMAIN", form=SET)
def cipdomain(ctx, cmd):
    name = cmd.nargs(1)[0].str(1, 64)
    _need_joined(ctx)
    ip = resolve(name, ctx.emu.dns_map)
    if ip is None:
        ctx.out(b"DNS Fail\r\n")
        ctx.final(ERROR)
    else:
        _lines(ctx, ('+CIPDOMAIN:"%s"' if ctx.emu.dns_quoted else "+CIPDOMAIN:%s") % ip)


# --- links ---------------------------------------------------------------------------------
def _link_id(ctx, cmd, n_mux):
    """(link id, remaining args): CIPMUX=1 forms start with the id, CIPMUX=0 forms use 0."""
    if ctx.state.mux:
        if len(cmd.args) < n_mux:
            raise ParamError("missing link id")
        return cmd.args[0].int(0, MAX_LINKS - 1), cmd.args[1:]
    return 0, cmd.args


@handles(b"+CIPSTART", form=SET)
def cipstart(ctx, cmd):
    link_id, args = _link_id(ctx, cmd, 4)
    if not 3 <= len(args) <= 4:
        raise ParamError("bad CIPSTART parameters")
    kind = args[0].str(1, 8)
    host = args[1].str(1, 128)
    port = args[2].int(1, 65535)
    keepalive = args[3].int(0, 7200) if len(args) > 3 else 0
    if kind != "TCP":
        raise ParamError("only TCP links are emulated")
    _need_joined(ctx)
    if link_id in ctx.emu.links:
        ctx.out(b"ALREADY CONNECTED\r\n")
        return ctx.final(ERROR)
    ip = resolve(host, ctx.emu.dns_map)
    if ip is None:
        ctx.out(b"DNS Fail\r\n")
        return ctx.final(ERROR)
    sock = open_tcp(ip, port, ctx.emu.connect_timeout_s, keepalive)
    if sock is None:
        return ctx.final(ERROR)
    link = Link(link_id, sock, kind, ip, port)
    if ctx.emu.add_link(ctx, link):
        ctx.final(OK)
        ctx.emu.start_link(link)


@handles(b"+CIPSEND", form=SET)
def cipsend(ctx, cmd):
    link_id, args = _link_id(ctx, cmd, 2)
    if len(args) != 1:
        raise ParamError("bad CIPSEND parameters")
    length = args[0].int(1, 2048)
    link = ctx.emu.links.get(link_id)
    if link is None:
        raise ParamError("link %d is not open" % link_id)
    data = ctx.receive(length)
    if data is None:
        return                           # module rebooted or stopped meanwhile
    ctx.out(b"\r\nRecv %d bytes\r\n" % length)
    ctx.final(b"\r\nSEND OK\r\n" if link.send(data) else b"\r\nSEND FAIL\r\n")


@handles(b"+CIPCLOSE", form=SET)
def cipclose(ctx, cmd):
    if not ctx.state.mux:
        raise ParamError("single-link mode: AT+CIPCLOSE takes no id")
    link_id = cmd.nargs(1)[0].int(0, MAX_LINKS)
    if link_id == MAX_LINKS:
        for link in sorted(ctx.emu.links.values(), key=lambda k: k.id):
            ctx.emu.close_link(link, notify=True)
    elif not ctx.emu.close_link(ctx.emu.links.get(link_id), notify=True):
        raise ParamError("link %d is not open" % link_id)


@handles(b"+CIPCLOSE", form=EXEC)
def cipclose_single(ctx, cmd):
    if ctx.state.mux or not ctx.emu.close_link(ctx.emu.links.get(0), notify=True):
        raise ParamError("no single link open")


@handles(b"+CIPSTATUS", form=EXEC)
def cipstatus(ctx, cmd):
    st, links = ctx.state, sorted(ctx.emu.links.values(), key=lambda k: k.id)
    status = 5 if st.joined is None else 3 if links else 4 if st.had_link else 2
    _lines(ctx, "STATUS:%d" % status, *('+CIPSTATUS:%d,"%s","%s",%d,%d,0'
                                       % (k.id, k.kind, k.remote_ip, k.remote_port, k.local_port)
                                       for k in links))
