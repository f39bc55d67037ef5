"""SoftAP settings: AT+CWSAP, AT+CIPAP, AT+CWDHCPS and the client list AT+CWLIF
(manual 3.2.2.19-3.2.2.25). The fake clients themselves come from Emulator.add_station.
"""

import ipaddress

from .atparse import EXEC, QUERY, SET
from .handlers_station import ipconfig_lines, parse_ipconfig
from .registry import handles, label, lines, need, need_softap, shown, store, targets
from .softap import in_network


@handles(b"+CWSAP_CUR", b"+CWSAP_DEF", form=SET)
def cwsap_set(ctx, cmd):
    """<ssid>,<pwd>,<channel>,<ecn>[,<max conn>,<ssid hidden>]; an open AP (ecn 0) keeps
    no password."""
    args = cmd.nargs(4, 6)
    ssid = args[0].str(1, 32)
    ecn = args[3].int(0, 3)
    need(ecn != 1, "WEP is not offered")
    password = args[1].str(0, 64) if ecn == 0 else args[1].str(8, 64)
    channel = args[2].int(1, 13)
    max_conn = args[4].int(1, 4) if len(args) > 4 else 4
    hidden = args[5].int(0, 1) if len(args) > 5 else 0
    need_softap(ctx)
    store(ctx, cmd, softap=(ssid, password if ecn else "", channel, ecn, max_conn, hidden))


@handles(b"+CWSAP_CUR", b"+CWSAP_DEF", form=QUERY)
def cwsap_query(ctx, cmd):
    """+CWSAP_CUR:"ssid",... or, with the cwsap_equals quirk, +CWSAP_CUR="ssid",... (manual
    3.2.2.19's example)."""
    sep = "=" if ctx.emu.quirks.cwsap_equals else ":"
    lines(ctx, '%s%s"%s","%s",%d,%d,%d,%d' % ((label(cmd), sep) + shown(ctx, cmd).softap))


@handles(b"+CIPAP_CUR", b"+CIPAP_DEF", form=SET)
def cipap_set(ctx, cmd):
    config = parse_ipconfig(cmd)
    for st in targets(ctx, cmd):
        st.ap_ip = config
        if st.dhcps is not None and not in_network(config, st.dhcps[1:]):
            st.dhcps = None  # the old pool is off the new network


@handles(b"+CIPAP_CUR", b"+CIPAP_DEF", form=QUERY)
def cipap_query(ctx, cmd):
    ipconfig_lines(ctx, cmd, shown(ctx, cmd).ap_ip)


@handles(b"+CWDHCPS_CUR", b"+CWDHCPS_DEF", form=SET)
def cwdhcps_set(ctx, cmd):
    """0 (default pool: .2 to .101) or 1,<lease minutes>,<start ip>,<end ip>: at most 101
    addresses on the SoftAP's network. Needs the SoftAP with its DHCP server on."""
    args = cmd.args
    need(len(args) in (1, 4), "want <enable>[,<lease>,<start ip>,<end ip>]")
    pool = None
    if args[0].int(0, 1):
        need(len(args) == 4, "enable 1 needs the lease and the range")
        pool = (args[1].int(1, 2880), args[2].ip(), args[3].ip())
        first, last = (int(ipaddress.IPv4Address(a)) for a in pool[1:])
        need(first <= last <= first + 100, "bad range (at most 101 addresses)")
        need(in_network(ctx.state.ap_ip, pool[1:]), "range off the SoftAP's network")
    else:
        need(len(args) == 1, "enable 0 takes nothing more")
    need_softap(ctx)
    need(ctx.state.dhcp & 1, "the SoftAP's DHCP server is off")
    store(ctx, cmd, dhcps=pool)


@handles(b"+CWDHCPS_CUR", b"+CWDHCPS_DEF", form=QUERY)
def cwdhcps_query(ctx, cmd):
    lines(ctx, '%s:%d,"%s","%s"' % ((label(cmd),) + shown(ctx, cmd).dhcp_pool()))


@handles(b"+CWLIF", form=EXEC)
def cwlif(ctx, cmd):
    """One line per SoftAP client that has an address: "<ip>","<mac>" as in the manual's
    example, or <ip>,<mac> with the emulator's cwlif_quoted=False."""
    fmt = '"%s","%s"' if ctx.emu.cwlif_quoted else "%s,%s"
    lines(ctx, *(fmt % (ip, mac) for mac, ip in ctx.state.stations.items() if ip))
