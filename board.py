# The board seam: everything main.py needs from the hardware, in one place.
#
# On the WizFi360-EVB-Pico (sys.platform == "rp2") this is the real thing:
# UART1 on GP4/GP5 to the module, its reset line on GP20, the RP2040's
# internal temperature sensor (ADC 4), the LED on GP25 and the hardware
# watchdog. Anywhere else (the MicroPython unix port) the "UART" is a TCP
# connection to the emulator (tools/emulator.py), the temperature is a slow,
# deterministic stand-in, and the LED and the watchdog do nothing.
#
# Adapting the firmware to other wiring means editing this file only.

import sys

ON_BOARD = sys.platform == "rp2"

# LED patterns: bit i says whether the LED is on during tick i of a 2 s cycle
# (20 ticks of 100 ms). Chosen to be told apart at a glance.
TICK_MS = 100
CYCLE = 20
PATTERNS = {
    "starting": 0xFFFFF,  # steady on
    "joining": 0x55555,  # fast blink (5 per second)
    "online": 0x00001,  # one short flash every 2 s: all is well
    "trouble": 0x003FF,  # slow blink (1 s on, 1 s off): posts fail, retrying
    "failed": 0x00005,  # double flash every 2 s: gave up, see the log
}

# RP2040 watchdog CTRL register and its atomic-clear alias (datasheet 2.1.2,
# 4.7.6): clearing ENABLE (bit 30) pauses the watchdog. MicroPython's WDT has
# no deinit; this is what lets Ctrl-C leave a usable REPL.
_WDT_CTRL = {"RP2040": 0x40058000, "RP2350": 0x400D8000}
_WDT_ENABLE = 1 << 30
_ATOMIC_CLEAR = 0x3000
_HW_WDT_MS = 8000  # the RP2040 watchdog counts at most 8.3 s


def open_module(cfg):
    """Return (uart, reset_pin) for talking to the WizFi360.

    cfg is the checked config dict; its optional "uart" dict may override
    id, baudrate, tx, rx, rxbuf and reset (pin numbers). With "flow": true the
    UART gets its CTS and RTS pins (GP6 and GP7, or "cts" and "rts") but no
    flow control yet: the module starts without it, and main.py switches both
    sides on with wifi.set_uart(..., flow=True), which calls uart.init(flow=
    UART.RTS | UART.CTS) once the module has."""
    if ON_BOARD:
        from machine import UART, Pin

        u = cfg.get("uart") or {}
        uid, baud, rxbuf = u.get("id", 1), u.get("baudrate", 115200), u.get("rxbuf", 4096)
        tx, rx = Pin(u.get("tx", 4)), Pin(u.get("rx", 5))
        if u.get("flow"):
            cts, rts = Pin(u.get("cts", 6)), Pin(u.get("rts", 7))
            uart = UART(uid, baud, tx=tx, rx=rx, cts=cts, rts=rts, rxbuf=rxbuf)
        else:
            uart = UART(uid, baud, tx=tx, rx=rx, rxbuf=rxbuf)
        # RST is active low: an output, held high so the module runs.
        return uart, Pin(u.get("reset", 20), Pin.OUT, value=1)

    from wizfi360_host.hostuart import SocketUART

    host, port = cfg["emulator"]
    return SocketUART(host, port), None


def restart():
    """Start the whole board over (machine.reset); off-board, exit with status 1."""
    if ON_BOARD:
        import machine

        machine.reset()
    raise SystemExit(1)


class Heartbeat:
    """The state LED and the watchdog, driven by a 100 ms timer.

    feed() promises that the firmware makes progress for the next
    `watchdog_ms`; the timer keeps the hardware watchdog (8 s at most on the
    RP2040) fed only while that promise holds, so a firmware stuck anywhere,
    in Python or in C, resets the board within watchdog_ms + 8 s. The long
    window is what allows a 20 s join without feeding from inside the driver.
    show(state) picks the LED pattern (PATTERNS). Off the board there is no
    timer, LED or watchdog: every method is cheap and does nothing visible.
    """

    def __init__(self, watchdog_ms=0, led=None, wdt=None, timer=None):
        import time

        self._time = time
        self._window = watchdog_ms
        self._until = 0
        self._led = led
        self._wdt = wdt
        self._timer = timer
        self._pattern = PATTERNS["starting"]
        self._i = 0
        self.state = "starting"
        self.feed()
        if timer is not None:
            timer.init(period=TICK_MS, callback=self._tick)

    def feed(self):
        if self._window:
            t = self._time
            self._until = t.ticks_add(t.ticks_ms(), self._window)

    def show(self, state):
        self._pattern = PATTERNS[state]
        self.state = state

    def expired(self):
        """True once watchdog_ms passed without feed(): the board is about to reset."""
        t = self._time
        return bool(self._window) and t.ticks_diff(self._until, t.ticks_ms()) <= 0

    def _tick(self, _timer):
        # Timer callback: allocates nothing.
        i = self._i + 1
        if i >= CYCLE:
            i = 0
        self._i = i
        if self._led is not None:
            self._led.value((self._pattern >> i) & 1)
        if self._wdt is not None and not self.expired():
            self._wdt.feed()

    def stop(self, state=None):
        """Watchdog off (so the REPL stays usable). With a state, the LED keeps
        showing it; without, the timer stops and the LED goes dark."""
        if self._wdt is not None:
            _watchdog_off()
            self._wdt = None
        if state is not None:
            self.show(state)
            return
        if self._timer is not None:
            self._timer.deinit()
            self._timer = None
        if self._led is not None:
            self._led.value(0)


def _watchdog_off():
    import machine

    chip = getattr(sys.implementation, "_machine", "")
    for name in _WDT_CTRL:
        if name in chip:
            machine.mem32[_WDT_CTRL[name] + _ATOMIC_CLEAR] = _WDT_ENABLE
            return
    # Unknown chip: leave it running; the board resets within 8 s.


def heartbeat(watchdog_s):
    """The Heartbeat for this board; watchdog_s == 0 leaves the watchdog off."""
    if not ON_BOARD:
        return Heartbeat()  # no LED, no watchdog: nothing to drive
    window = int(watchdog_s * 1000)
    from machine import WDT, Pin, Timer

    try:
        led = Pin("LED", Pin.OUT)
    except (TypeError, ValueError):
        led = Pin(25, Pin.OUT)  # GP25 on the Pico and the WizFi360-EVB-Pico
    wdt = WDT(timeout=_HW_WDT_MS) if window else None
    return Heartbeat(window, led, wdt, Timer(-1))  # -1: a virtual timer, the only kind rp2 has


if ON_BOARD:
    from machine import ADC

    # The RP2040's internal temperature sensor; ADC.CORE_TEMP where the
    # firmware names it (1.21+), else channel 4.
    _adc = ADC(getattr(ADC, "CORE_TEMP", 4))

    def read_temp_c():
        volts = _adc.read_u16() * 3.3 / 65535
        return 27 - (volts - 0.706) / 0.001721  # RP2040 datasheet 4.9.5

else:
    import math

    _calls = 0

    def read_temp_c():
        # A gentle wobble around 21.5 C, the same sequence on every run.
        global _calls
        _calls += 1
        return 21.5 + 0.4 * math.sin(_calls / 3)
