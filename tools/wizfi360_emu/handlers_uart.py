"""AT+UART_CUR (manual 3.2.1.5): the serial line's settings, not saved to flash.

AT+UART_CUR=<baudrate>,<databits>,<stopbits>,<parity>,<flow control> answers OK at the
old settings and then switches to the new ones; with pacing on (Emulator(baud=N), the
emulator's --baud) both directions run at the new rate from then on. The host keeps
talking to the same TCP port or pty: only the pace changes. AT+UART_CUR? reports the
settings. A module reset returns to the power-up settings. <flow control> is 0-1 as the
manual says, or 0-3 as ESP AT numbers it with the uart_flow_esp quirk (quirks.py: which
one the firmware obeys is not known). Registered in registry.TABLE
like every other command (core.py imports this module).
"""

from .atparse import QUERY, SET, ParamError
from .registry import OK, handles

# The rates the manual lists (its "406800" reads like a typo of 460800: both are taken).
BAUDS = frozenset(
    int(b)
    for b in "2000000 1500000 1000000 921600 460800 406800 230400 115200 57600 38400 19200 "
    "14400 9600 4800 2400 1800 1200 600".split()
)


@handles(b"+UART_CUR", form=SET)
def uart_cur_set(ctx, cmd):
    args = cmd.nargs(5)
    baud = args[0].int(600, 2000000)
    if baud not in BAUDS:
        raise ParamError("unsupported baud rate %d" % baud)
    flow = args[4].int(0, ctx.emu.quirks.uart_flow_max())
    line = (baud, args[1].int(5, 8), args[2].int(1, 2), args[3].int(0, 2), flow)
    ctx.final(OK)  # still at the old rate
    if ctx.live():
        ctx.emu._uart.set_line(*line)


@handles(b"+UART_CUR", form=QUERY)
def uart_cur_query(ctx, cmd):
    ctx.out(b"+UART_CUR:%d,%d,%d,%d,%d\r\n" % ctx.emu._uart.line)
