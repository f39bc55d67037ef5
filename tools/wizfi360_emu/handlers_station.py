"""Station interface settings: DHCP or static IP, DNS servers, MAC addresses, AT+CIFSR,
AT+CIPDOMAIN (manual 3.2.2.3-3.2.2.12, 3.2.3.16, 3.2.4.3). _CUR forms change the running
settings; _DEF forms also write flash (registry.targets) and their queries read flash.
"""

from .atparse import EXEC, QUERY, SET
from .links import resolve
from .registry import ERROR, colon, handles, label, lines, need, need_joined, noisy, setting, shown, targets
from .state import DEFAULT_DNS


def parse_ipconfig(cmd):
    """<ip>[,<gateway>,<netmask>] -> (ip, gateway, netmask); without the last two the
    gateway is x.x.x.1 of the address and the netmask 255.255.255.0."""
    args = cmd.args
    need(len(args) in (1, 3), "want <ip>[,<gateway>,<netmask>]")
    ip = args[0].ip()
    if len(args) == 1:
        return ip, ip.rsplit(".", 1)[0] + ".1", "255.255.255.0"
    return ip, args[1].ip(), args[2].netmask()


def ipconfig_lines(ctx, cmd, config, name=None, wrap=str):
    """+NAME:ip:"..", +NAME:gateway:"..", +NAME:netmask:".." (manual 3.2.2.7); name
    replaces +NAME, wrap(line) changes each line."""
    lines(
        ctx,
        *(
            wrap('%s:%s:"%s"' % (name or label(cmd), key, value))
            for key, value in zip(("ip", "gateway", "netmask"), config)
        ),
    )


# --- DHCP and static IP --------------------------------------------------------------------
@handles(b"+CWDHCP_CUR", b"+CWDHCP_DEF", form=SET)
def cwdhcp_set(ctx, cmd):
    args = cmd.nargs(2)
    bits = (1, 2, 3)[args[0].int(0, 2)]  # 0 SoftAP, 1 station, 2 both
    enable = args[1].int(0, 1)
    for st in targets(ctx, cmd):
        st.dhcp = st.dhcp | bits if enable else st.dhcp & ~bits
        if enable and bits & 2:
            st.static_ip = None  # the last of DHCP / static IP wins


@handles(b"+CWDHCP_CUR", b"+CWDHCP_DEF", form=QUERY)
def cwdhcp_query(ctx, cmd):
    lines(ctx, "%s:%d" % (label(cmd), shown(ctx, cmd).dhcp))


@handles(b"+CIPSTA_CUR", b"+CIPSTA_DEF", form=SET)
def cipsta_set(ctx, cmd):
    config = parse_ipconfig(cmd)
    need(ctx.state.station(), "station mode is off")
    for st in targets(ctx, cmd):
        st.static_ip = config
        st.dhcp &= ~2  # static IP turns the station's DHCP off


@handles(b"+CIPSTA_CUR", b"+CIPSTA_DEF", form=QUERY)
def cipsta_query(ctx, cmd):
    """With the cipsta_space quirk "+ CIPSTA_CUR:ip:..." as manual 3.2.2.11's example; the
    answer_noise quirk puts its bytes after the first colon of each line."""
    name = label(cmd)
    if ctx.emu.quirks.cipsta_space:
        name = "+ " + name[1:]
    ipconfig_lines(ctx, cmd, shown(ctx, cmd).ipconfig(), name, lambda line: noisy(ctx, line))


# --- DNS -------------------------------------------------------------------------------------
@handles(b"+CIPDNS_CUR", b"+CIPDNS_DEF", form=SET)
def cipdns_set(ctx, cmd):
    args = cmd.nargs(1, 3)
    servers = tuple(a.ip() for a in args[1:])
    if args[0].int(0, 1) == 0:
        need(not servers, "AT+CIPDNS=0 takes no servers")
    need(len(set(servers)) == len(servers), "the two DNS servers are the same")
    for st in targets(ctx, cmd):
        st.dns = servers or DEFAULT_DNS


@handles(b"+CIPDNS_CUR", b"+CIPDNS_DEF", form=QUERY)
def cipdns_query(ctx, cmd):
    sep = colon(ctx)  # "+CIPDNS_CUR: 8.8.8.8" with the colon_space quirk (manual 3.2.2.10)
    lines(ctx, *("%s%s%s" % (label(cmd), sep, server) for server in shown(ctx, cmd).dns))


# --- MAC addresses (unicast, and the station's differs from the SoftAP's) ------------------------
def _mac_setting(attr, other, name):
    def check(ctx, mac):
        need(mac != getattr(ctx.state, other), "the station and SoftAP MACs must differ")

    setting(attr, (name + b"_CUR", name + b"_DEF"), lambda a: a.mac(), fmt='%s:"%s"', on_set=check)


_mac_setting("sta_mac", "ap_mac", b"+CIPSTAMAC")
_mac_setting("ap_mac", "sta_mac", b"+CIPAPMAC")


@handles(b"+CIFSR", form=EXEC)
def cifsr(ctx, cmd):
    st = ctx.state
    found = []
    if st.softap_on():
        found += ['+CIFSR:APIP,"%s"' % st.ap_ip[0], '+CIFSR:APMAC,"%s"' % st.ap_mac]
    if st.station():
        found += ['+CIFSR:STAIP,"%s"' % st.ipconfig()[0], '+CIFSR:STAMAC,"%s"' % st.sta_mac]
    lines(ctx, *(noisy(ctx, t) for t in found))


@handles(b"+CIPDOMAIN", form=SET)
def cipdomain(ctx, cmd):
    name = cmd.nargs(1)[0].str(1, 64)
    need_joined(ctx)
    ip = resolve(name, ctx.emu.dns_map)
    if ip is None:
        ctx.out(b"DNS Fail\r\n")
        ctx.final(ERROR)
    else:
        quoted = ctx.emu.dns_quoted or ctx.emu.quirks.dns_quoted()  # the firmware quirk
        lines(ctx, noisy(ctx, ('+CIPDOMAIN:"%s"' if quoted else "+CIPDOMAIN:%s") % ip))
