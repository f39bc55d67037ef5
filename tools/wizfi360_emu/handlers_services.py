"""Module services: AT+PING, AT+CIPSNTPCFG, AT+CIPSNTPTIME (manual 3.2.4.4-3.2.4.6)."""

import time

from .atparse import QUERY, SET
from .links import ping, resolve
from .registry import ERROR, colon, handles, lines, need
from .state import SNTP_SERVERS

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@handles(b"+PING", form=SET)
def ping_(ctx, cmd):
    """+<ms> (a real round trip to the host, see links.ping), or ERROR."""
    host = cmd.nargs(1)[0].str(1, 128)
    need(ctx.state.online(), "not joined to an AP and no SoftAP")
    ip = resolve(host, ctx.emu.dns_map)
    ms = None if ip is None else ping(ip, ctx.emu.connect_timeout_s)
    if ms is None:
        return ctx.final(ERROR)
    lines(ctx, "+%d" % ms)


@handles(b"+CIPSNTPCFG", form=SET)
def sntpcfg_set(ctx, cmd):
    """<enable>[,<timezone -11..13>,<server0>[,<server1>[,<server2>]]]; enabling needs the
    time zone; without servers the manual's three defaults are used."""
    args = cmd.nargs(1, 5)
    enable = args[0].int(0, 1)
    zone = args[1].int(-11, 13) if len(args) > 1 else 0
    servers = tuple(a.str(1, 64) for a in args[2:])
    need(not enable or len(args) > 1, "SNTP on needs the time zone")
    ctx.state.sntp = (enable, zone, servers or SNTP_SERVERS)


@handles(b"+CIPSNTPCFG", form=QUERY)
def sntpcfg_query(ctx, cmd):
    """+CIPSNTPCFG:1,<timezone>,"<server0>"[,...] or, when off, +CIPSNTPCFG:0."""
    enable, zone, servers = ctx.state.sntp
    if not enable:
        return lines(ctx, "+CIPSNTPCFG:0")
    lines(ctx, "+CIPSNTPCFG:1,%d,%s" % (zone, ",".join('"%s"' % s for s in servers)))


def format_time(t, asctime=False):
    """Seconds since 1970 -> 'Thu Jan 01 00:00:00 1970' (manual 3.2.4.6), or with asctime
    the day padded with a space, 'Thu Jan  1 00:00:00 1970' (module-notes "What drivers
    written against real modules record": "+CIPSNTPTIME: Thu Aug  4 ...")."""
    tm = time.gmtime(t)
    return ("%s %s %2d %02d:%02d:%02d %d" if asctime else "%s %s %02d %02d:%02d:%02d %d") % (
        _DAYS[tm.tm_wday],
        _MONTHS[tm.tm_mon - 1],
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        tm.tm_year,
    )


@handles(b"+CIPSNTPTIME", form=QUERY)
def sntptime_query(ctx, cmd):
    """The host's clock in the configured time zone once SNTP is on and the station has
    joined an AP (it has a server to ask); before that, the module's 1970 epoch."""
    enable, zone, _ = ctx.state.sntp
    synced = enable and ctx.state.joined is not None
    quirks = ctx.emu.quirks  # colon_space, sntp_asctime (quirks.py)
    now = int(time.time()) + zone * 3600 if synced else 0
    lines(ctx, "+CIPSNTPTIME" + colon(ctx) + format_time(now, quirks.sntp_asctime))
