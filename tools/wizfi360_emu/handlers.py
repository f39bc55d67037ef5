"""AT command handlers: system, basic settings and joining an AP. Importing this module
registers every command in TABLE (registry.py explains the handler contract); the other
groups live in handlers_station (IP settings, DNS, MAC), handlers_links (TCP/UDP/SSL links,
the TCP server), handlers_sendbuf (the buffered send), handlers_softap (SoftAP) and
handlers_services (ping, SNTP).
"""

from .atparse import EXEC, QUERY, SET, ParamError
from .config import match_ap
from .registry import ERROR, FAIL, OK, TABLE, dispatch, handles, label, lines, need, noisy, saves, setting  # noqa: F401


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


@handles(b"+RESTORE", form=EXEC)
def restore(ctx, cmd):
    ctx.final(OK)
    ctx.emu.factory_reset()


@handles(b"+GMR", form=EXEC)
def gmr(ctx, cmd):
    ctx.out(ctx.emu.quirks.gmr())  # the firmware quirk (quirks.py GMR)


# --- settings: NAME=<value> stores it, NAME? answers +NAME:<value> ------------------------------
def _cwmode_changed(ctx, mode):
    if mode == 2:
        ctx.emu.drop_wifi()  # station off: leaves the AP
    if mode == 1:
        ctx.state.stations.clear()  # SoftAP off: its clients are gone


def _cipmux_changed(ctx, mux):
    need(not (ctx.emu.links or ctx.emu.server) or mux == ctx.state.mux, "links or server open")


setting("cwmode", (b"+CWMODE_CUR", b"+CWMODE_DEF"), lambda a: a.int(1, 3), on_set=_cwmode_changed)
setting("autoconn", (b"+CWAUTOCONN",), lambda a: a.int(0, 1), flash=True)
setting("hostname", (b"+CWHOSTNAME",), lambda a: a.str(1, 32), fmt='%s:"%s"')


@handles(b"+CWHOSTNAME", form=QUERY)  # replaces setting()'s query: the answer_noise quirk
def hostname_query(ctx, cmd):
    lines(ctx, noisy(ctx, '%s:"%s"' % (label(cmd), ctx.state.hostname)))


setting("mux", (b"+CIPMUX",), lambda a: a.int(0, 1), on_set=_cipmux_changed)
setting("dinfo", (b"+CIPDINFO",), lambda a: a.int(0, 1))


# --- Wi-Fi -------------------------------------------------------------------------------
@handles(b"+CWJAP_CUR", b"+CWJAP_DEF", form=SET)
def cwjap_set(ctx, cmd):
    args = cmd.nargs(2, 3)
    ssid = args[0].str(1, 32)
    password = args[1].str(0, 64)
    bssid = args[2].str(17, 17).lower() if len(args) > 2 else None
    need(ctx.state.station(), "station mode is off")
    if saves(cmd):
        ctx.emu.flash.saved_ap = (ssid, password, bssid)  # auto-connect at power-up
    ctx.emu.drop_wifi()
    if not ctx.sleep(ctx.emu.join_delay_s):
        return
    ap, code = match_ap(ctx.emu.aps, ssid, password, bssid)
    if ap is not None:
        ctx.state.joined = ap
        ctx.state.had_link = False
        ctx.out(b"WIFI CONNECTED\r\nWIFI GOT IP\r\n")
        return
    if ctx.emu.cwjap_code:
        lines(ctx, "%s:%d" % (label(cmd), code))
    ctx.final(FAIL)


@handles(b"+CWJAP_CUR", b"+CWJAP_DEF", form=QUERY)
def cwjap_query(ctx, cmd):
    ap = ctx.state.joined
    if ap is None:
        lines(ctx, "No AP")
    else:
        lines(ctx, noisy(ctx, '%s:"%s","%s",%d,%d' % (label(cmd), ap.ssid, ap.bssid, ap.channel, ap.rssi)))


@handles(b"+CWQAP", form=EXEC)
def cwqap(ctx, cmd):
    ctx.final(OK)
    ctx.emu.drop_wifi()


# AT+CWLAPOPT's mask bits: the manual's five (3.2.2.14), then ESP AT's <freq offset> and
# <freq cal> (bits 5, 6), which make the 7 fields the Mbed WizFi360 driver scans
# (module-notes "What drivers written against real modules record", "+CWLAP field count").
CWLAP_FIVE, CWLAP_SEVEN = 0x1F, 0x7F


def _cwlap_fields(ap):
    return (str(ap.ecn), '"%s"' % ap.ssid, str(ap.rssi), '"%s"' % ap.bssid, str(ap.channel), "0", "0")


@handles(b"+CWLAP", form=EXEC)
@handles(b"+CWLAP", form=SET)
def cwlap(ctx, cmd):
    """One line per AP, its fields as AT+CWLAPOPT chose (at power-up: the cwlap_fields
    quirk, 5 or 7), "+CWLAP: (" with the cwlap_space quirk (manual 3.2.2.13's example)."""
    ssid = cmd.nargs(0, 1)[0].str(1, 32) if cmd.args else None
    if not ctx.state.station():
        raise ParamError("station mode is off")
    quirks = ctx.emu.quirks
    sort, mask = ctx.state.cwlapopt or (0, CWLAP_SEVEN if quirks.cwlap_fields == 7 else CWLAP_FIVE)
    aps = [ap for ap in ctx.emu.aps if ssid in (None, ap.ssid)]
    if sort:
        aps.sort(key=lambda ap: -ap.rssi)
    head = "+CWLAP: (" if quirks.cwlap_space else "+CWLAP:("
    lines(
        ctx,
        *(head + ",".join(f for i, f in enumerate(_cwlap_fields(ap)) if mask >> i & 1) + ")" for ap in aps),
    )


@handles(b"+CWLAPOPT", form=SET)
def cwlapopt(ctx, cmd):
    """<sort_enable>,<mask> (manual 3.2.2.14; mask bits 5-6 as ESP AT): until the next
    reboot."""
    args = cmd.nargs(2)
    ctx.state.cwlapopt = (args[0].int(0, 1), args[1].int(0, CWLAP_SEVEN))


# The other command groups register themselves on import.
from . import (  # noqa: E402,F401
    handlers_links,
    handlers_sendbuf,
    handlers_services,
    handlers_softap,
    handlers_station,
)
