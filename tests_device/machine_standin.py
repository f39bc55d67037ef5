# A stand-in for the two classes of `machine` that the examples use, UART and
# Pin, for the MicroPython unix port (whose `machine` has neither), wired as on
# the WizFi360-EVB-Pico: any UART is the module's, a TCP connection to the
# emulator (board.make_uart), and GP20 is the module's RST line, so that driving
# it low and then high resets the emulated module (emucontrol.ResetLine: the
# control channel's "reboot", which ends with "ready" as a module does).
# install() puts this module into sys.modules as `machine`, before the builtin
# one, so that an example's `from machine import UART, Pin` gets it unchanged.

import sys

_RST_GPIO = 20  # the EVB-Pico's module reset line (README, Wiring)

_uart = None  # the newest UART: the emulator serves one at a time


def UART(uart_id, baudrate=115200, **kw):  # named as machine.UART is
    """The emulator's UART (a wizfi360_host.hostuart.SocketUART). The previous one is
    closed: as on a board, a new UART object takes over the same wires."""
    global _uart
    import board

    if _uart is not None:
        _uart.close()
    _uart = board.make_uart()
    return _uart


class Pin:
    IN = 0
    OUT = 1

    def __init__(self, gpio, mode=IN, value=None):
        self.gpio = gpio
        self._value = 1 if value is None else value
        self._rst = None
        if gpio == _RST_GPIO:
            import emucontrol

            self._rst = emucontrol.ResetLine()  # restarts the module on low, then high
            self._rst(self._value)

    def value(self, v=None):
        if v is None:
            return self._value
        self._value = 1 if v else 0
        if self._rst is not None:
            self._rst(self._value)

    __call__ = value

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)


def install():
    sys.modules["machine"] = sys.modules[__name__]
