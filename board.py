# The board seam: everything main.py needs from the hardware, in one place.
#
# On the WizFi360-EVB-Pico (sys.platform == "rp2") this is the real thing:
# UART1 on GP4/GP5 to the module, its reset line on GP20 and the RP2040's
# internal temperature sensor. Anywhere else (the MicroPython unix port) the
# "UART" is a TCP connection to the emulator (tools/emulator.py) and the
# temperature is a slow, deterministic stand-in.

import sys

ON_BOARD = sys.platform == "rp2"


def open_module(cfg):
    """Return (uart, reset_pin) for talking to the WizFi360.

    cfg is the checked config dict; its optional "uart" dict may override
    id, baudrate, tx, rx, rxbuf and reset (pin numbers)."""
    if ON_BOARD:
        from machine import UART, Pin

        u = cfg.get("uart") or {}
        uart = UART(u.get("id", 1), u.get("baudrate", 115200),
                    tx=Pin(u.get("tx", 4)), rx=Pin(u.get("rx", 5)),
                    rxbuf=u.get("rxbuf", 4096))
        # RST is active low: an output, held high so the module runs.
        return uart, Pin(u.get("reset", 20), Pin.OUT, value=1)

    from wizfi360.hostuart import SocketUART

    host, port = cfg["emulator"]
    return SocketUART(host, port), None


if ON_BOARD:
    from machine import ADC

    _adc = ADC(4)  # the RP2040's internal temperature sensor

    def read_temp_c():
        volts = _adc.read_u16() * 3.3 / 65535
        return 27 - (volts - 0.706) / 0.001721

else:
    import math

    _calls = 0

    def read_temp_c():
        # A gentle wobble around 21.5 C, the same sequence on every run.
        global _calls
        _calls += 1
        return 21.5 + 0.4 * math.sin(_calls / 3)
