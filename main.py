# Reference sensor firmware for the WizFi360-EVB-Pico.
#
# Every interval_s seconds it reads the RP2040's temperature sensor and sends
# {"device", "seq", "temp_c", "uptime_ms"} as JSON: an HTTP POST to
# "endpoint" (micropython-lib's requests), or an MQTT publish to "mqtt" when
# umqtt.simple is installed (senders.py). Readings that cannot go out (the
# network is down, the server does not answer) wait in a bounded queue and
# go out oldest first once they can (backlog.py). It joins the Wi-Fi network
# with exponential backoff, joins again when the network drops or the module
# restarts, resets a module that stops answering, feeds the watchdog, shows
# its state on the LED and logs one line per event. config.json is checked by
# fwconfig.py; everything board-specific is in board.py.
#
# On the board: copy lib/wizfi360/, board.py, boot.py, main.py, fwconfig.py,
# senders.py, backlog.py and your config.json (`make deploy` does it). On the
# MicroPython unix port it talks to the emulator instead (see `make demo`);
# WIZFI_CONFIG may name the config.

import sys

if sys.platform != "rp2":
    # Off-board: the driver in lib/ next to this file, the emulator's UART in host/.
    _here = sys.path[0] or "."
    sys.path.insert(1, _here + "/host")
    sys.path.insert(1, _here + "/lib")

import gc
import json
import time

import board
from backlog import Backlog
from fwconfig import ConfigError, load_config
from senders import Refused

JOIN_TIMEOUT_MS = 20000
START_ATTEMPTS = 3  # tries to get an answer from the module at start-up
RECOVERIES = 3  # failed module resets in a row before the board restarts
CRASH_PAUSE_S = 10  # after an unexpected error, before the board restarts


# -- log lines ------------------------------------------------------------

_clock = [0, time.ticks_ms()]  # [uptime_ms, ticks at the last update]


def uptime_ms():
    """Milliseconds since start; summed step by step, so ticks_ms may wrap."""
    now = time.ticks_ms()
    _clock[0] += time.ticks_diff(now, _clock[1])
    _clock[1] = now
    return _clock[0]


def log(text):
    ms = uptime_ms()
    print("[%6d.%03d] %s" % (ms // 1000, ms % 1000, text))


def why(exc):
    text = " ".join(str(exc).split())  # one log line, whatever the library put in its text
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


# What to do about the errors wifi.connect() raises (errno -> advice).
JOIN_ADVICE = {
    13: "check 'key' in config.json",  # EACCES: wrong password
    2: "check 'ssid'; the module sees 2.4 GHz networks only",  # ENOENT: AP not found
}


def config_path():
    if sys.platform != "rp2":
        import os

        return os.getenv("WIZFI_CONFIG") or "config.json"
    return "config.json"


def backoff_ms(attempt, cap_ms):
    """Pause after failed attempt number `attempt` (1, 2, ...): 1 s, 2 s, 4 s ... up to cap_ms."""
    if attempt > 20:
        return cap_ms
    ms = 1000 << (attempt - 1)
    return ms if ms < cap_ms else cap_ms


def described(body):
    """'reading 7' and its temperature, from a queued reading's JSON."""
    r = json.loads(body)
    return r["seq"], r["temp_c"]


# -- the firmware ---------------------------------------------------------------


def reboots_of(wifi):
    """How often the module restarted unasked."""
    return wifi.stats()["reboots"]


def pause(hb, ms, wifi=None):
    """Wait ms, feeding the watchdog and taking in what the module sends."""
    until = time.ticks_add(time.ticks_ms(), ms)
    while True:
        left = time.ticks_diff(until, time.ticks_ms())
        if left <= 0:
            return
        hb.feed()
        if wifi is not None:
            try:
                wifi.poll()
            except OSError:
                pass  # the next command reports it
        time.sleep_ms(left if left < 500 else 500)


def start_module(driver, uart, reset_pin, hb, retry_cap_ms):
    """The WizFi360 once it answers (a few tries, with backoff), or None."""
    for attempt in range(1, START_ATTEMPTS + 1):
        hb.feed()
        try:
            wifi = driver.WizFi360(uart, reset=reset_pin)
            log("module found, firmware %s" % wifi.version())
            wifi.active(True)
            return wifi
        except OSError as e:
            log("the WizFi360 does not answer: %s" % why(e))
        if attempt < START_ATTEMPTS:
            pause(hb, backoff_ms(attempt, retry_cap_ms))
    log(
        "giving up on the module: check the wiring (module RXD1 to GP4, TXD1 to GP5, RST to GP20),"
        " that it runs at 115200 baud, and that its PB13 pin is not held low (SPI mode)"
    )
    return None


def run(cfg, hb):
    """Bring the module up, then take readings and send them; returns the exit status."""
    gc.collect()  # compiling the driver needs large free blocks
    try:
        import wizfi360  # noqa: I001  (the core first: compiling it from .py takes the most heap)
        from wizfi360 import socket as wsock

        # The driver loads the modules of its less used methods on first use.
        # This firmware uses some of them all along: write()/readline() (the
        # libraries') from stream, ifconfig() from station_info, version(),
        # stats() and set_uart() from services. Loaded now, while the heap is
        # still in one piece, they leave no holes between later buffers (and
        # compiling them from .py cannot fail halfway through a join for want
        # of memory).
        import wizfi360.services  # noqa: F401
        import wizfi360.station_info  # noqa: F401
        import wizfi360.stream  # noqa: F401
    except ImportError as e:
        log("cannot import the wizfi360 driver (%s): copy lib/wizfi360 to the board" % e)
        return 1
    except MemoryError:
        log("not enough memory to compile the wizfi360 driver: install it as .mpy files (make deploy)")
        return 1

    try:
        uart, reset_pin = board.open_module(cfg)
    except OSError as e:
        where = "the UART" if board.ON_BOARD else "the emulator at %s:%d" % cfg["emulator"]
        log("cannot reach the module through %s: %s" % (where, why(e)))
        if not board.ON_BOARD:
            log("(start it with: python tools/emulator.py --port %d)" % cfg["emulator"][1])
        return 1
    wifi = start_module(wizfi360, uart, reset_pin, hb, int(cfg["retry_max_s"] * 1000))
    if wifi is None:
        return 1
    from senders import make_sender

    sender = make_sender(cfg, wsock, log)
    if sender is None:
        return 2
    backlog = Backlog(cfg["queue_max"], cfg["queue_file"])
    if backlog.restored:
        log("queue: %d readings from before the restart, in %s" % (backlog.restored, cfg["queue_file"]))
    log("sending to %s every %s s" % (sender.where, cfg["interval_s"]))
    node = Node(cfg, hb, wizfi360, uart, reset_pin, wifi, sender, backlog)
    if not node.match_uart():
        return 2
    return node.loop()


class Node:
    """The running sensor: the module, the network, the sender, the queue and the loop."""

    def __init__(self, cfg, hb, driver, uart, reset_pin, wifi, sender, backlog):
        self.cfg = cfg
        self.hb = hb
        self.driver = driver
        self.uart = uart
        self.reset_pin = reset_pin
        self.wifi = wifi
        self.sender = sender
        self.backlog = backlog
        self.retry_cap_ms = int(cfg["retry_max_s"] * 1000)
        self.reboots_seen = reboots_of(wifi)
        self.joined = False  # as far as the last look showed
        self.ever_joined = False
        self.attempt = 0  # failed joins in a row
        self.next_join = time.ticks_ms()

    def pause(self, ms):
        pause(self.hb, ms, self.wifi)

    def match_uart(self):
        """With "uart": {"flow": true}, switch the module to RTS/CTS (and the
        board's UART with it, set_uart does both). Needed again after every
        module restart: AT+UART_CUR does not outlive it. False: the config
        asks for what the driver refuses."""
        u = self.cfg.get("uart") or {}
        if not u.get("flow"):
            return True
        try:
            value = self.wifi.set_uart(u.get("baudrate", 115200), flow=True)
        except ValueError as e:
            log("config error: uart: %s" % e)
            return False
        except OSError as e:
            log("could not switch the module to flow control: %s" % why(e))
            return True  # the module answers without it; the next restart tries again
        log("flow control on: RTS/CTS, AT+UART_CUR flow value %d" % value)
        return True

    def try_join(self):
        """One join attempt if its time has come: True once joined, False if not
        (yet), None when join_attempts ran out."""
        cfg = self.cfg
        if time.ticks_diff(self.next_join, time.ticks_ms()) > 0:
            return False
        ssid, limit = cfg["ssid"], cfg["join_attempts"]
        self.hb.show("joining")
        self.attempt += 1
        self.hb.feed()
        of = " of %d" % limit if limit else ""
        log("joining %s (attempt %d%s) ..." % (ssid, self.attempt, of))
        try:
            self.wifi.connect(ssid, cfg["key"], timeout_ms=JOIN_TIMEOUT_MS)
            ip, mask, gw, dns = self.wifi.ifconfig()
            log("joined %s: ip %s, netmask %s, gateway %s, dns %s" % (ssid, ip, mask, gw, dns))
            if self.ever_joined:
                log("joined %s again" % ssid)
            self.joined = self.ever_joined = True
            self.attempt = 0
            self.hb.show("online")
            return True
        except OSError as e:
            advice = JOIN_ADVICE.get(e.args[0]) if e.args else None
            log("join failed: %s%s" % (why(e), " (%s)" % advice if advice else ""))
        if limit and self.attempt >= limit:
            log("giving up: could not join %s" % ssid)
            return None
        ms = backoff_ms(self.attempt, self.retry_cap_ms)
        log("next try in %d.%d s" % (ms // 1000, ms % 1000 // 100))
        self.next_join = time.ticks_add(time.ticks_ms(), ms)
        return False

    def module_answers(self):
        try:
            self.wifi.ifconfig()  # one command round trip
            return True
        except OSError as e:
            log("the module does not answer: %s" % why(e))
            return False

    def recover(self):
        """Reset the module (joining comes next, in online()). False means stop:
        the module stays silent (on the board, that restarts the board instead)."""
        self.sender.close()
        self.hb.show("trouble")
        for attempt in range(1, RECOVERIES + 1):
            self.hb.feed()
            log("resetting the module (%d of %d)" % (attempt, RECOVERIES))
            try:
                wifi = self.driver.WizFi360(self.uart, reset=self.reset_pin)
                wifi.active(True)
            except OSError as e:
                log("the module still does not answer: %s" % why(e))
                self.pause(backoff_ms(attempt, self.retry_cap_ms))
                continue
            self.wifi = wifi
            self.reboots_seen = reboots_of(wifi)
            self.match_uart()
            return True
        if board.ON_BOARD:
            log("the module cannot be brought back: restarting the board")
            board.restart()
        log("the module cannot be brought back: giving up")
        return False

    def online(self):
        """Before a round's sends: notice a module restart or a lost network and
        join again when its backoff allows. True: joined; False: not now; None:
        stop (see recover and try_join)."""
        try:
            joined = self.wifi.isconnected()  # takes in WIFI DISCONNECT, ready, ...
            reboots = reboots_of(self.wifi)
        except OSError as e:
            log("lost the module: %s" % why(e))
            if not self.recover():
                return None
            joined, reboots = False, self.reboots_seen
        if reboots != self.reboots_seen:
            log("the module restarted by itself (restart %d)" % reboots)
            self.reboots_seen = reboots
            self.match_uart()
        if joined:
            return True
        if self.joined:
            log("lost the network, joining again")
            self.sender.close()  # its link died with the network
            self.hb.show("trouble")
            self.joined = False
            self.attempt = 0
            self.next_join = time.ticks_ms()
        return self.try_join()

    def flush(self):
        """Send the queue, oldest first, until it is empty or a send fails.
        True: all sent; False: one failed (it stays first in the queue); None:
        stop (the module cannot be brought back)."""
        q = self.backlog
        if len(q) > 1:
            log("sending %d queued readings, oldest first" % len(q))
        while len(q):
            self.hb.feed()  # a full queue takes a while: each send is progress
            body = q.head()
            seq, temp = described(body)
            try:
                status = self.sender.send(body)
            except Refused as e:
                q.done(refused=True)
                log("reading %d refused: %.1f C -> %s" % (seq, temp, e))
                continue
            except Exception as e:  # keep measuring whatever went wrong
                log("reading %d failed: %s" % (seq, why(e)))
                self.sender.close()
                self.hb.show("trouble")
                if not self.module_answers() and not self.recover():
                    return None
                return False
            q.done()
            self.hb.show("online")
            log("reading %d sent: %.1f C -> %s" % (seq, temp, status))
        return True

    def take_reading(self, seq):
        gc.collect()  # each reading needs a few KB in one piece: defragment first
        temp = round(board.read_temp_c(), 1)
        reading = {"device": self.cfg["device"], "seq": seq, "temp_c": temp, "uptime_ms": uptime_ms()}
        gone = self.backlog.add(json.dumps(reading).encode())
        if gone is not None:
            log("queue full (%d): dropped reading %d, the oldest" % (self.backlog.size, described(gone)[0]))
        return temp

    def loop(self):
        """Readings every interval_s. With "readings" set it stops after that
        many, once the queue is empty or a send of it failed."""
        cfg, q = self.cfg, self.backlog
        limit = cfg.get("readings")
        interval_ms = int(cfg["interval_s"] * 1000)
        due = time.ticks_ms()
        seq = described(q.items[-1])[0] if len(q) else 0  # go on from the restored ones
        taken = 0
        while True:
            wait = time.ticks_diff(due, time.ticks_ms())
            if not self.joined:  # wake for a join attempt before the next reading
                wait = min(wait, time.ticks_diff(self.next_join, time.ticks_ms()))
            self.pause(wait)
            self.hb.feed()
            temp = None
            if time.ticks_diff(due, time.ticks_ms()) <= 0:
                now = time.ticks_ms()
                due = time.ticks_add(due, interval_ms)
                if time.ticks_diff(due, now) < 0:  # fell behind: do not try to catch up
                    due = now
                if limit is None or taken < limit:
                    taken += 1
                    seq += 1
                    temp = self.take_reading(seq)
            state = self.online()
            sent = None if state is None else (self.flush() if state else False)
            q.end_round()
            if temp is not None and len(q) and described(q.items[-1])[0] == seq:
                log("reading %d kept: %.1f C (%d in the queue)" % (seq, temp, len(q)))
            if state is None or sent is None:
                return self.finish(taken)
            if limit is not None and taken >= limit and (not len(q) or (state and not sent)):
                return self.finish(taken)

    def finish(self, taken):
        self.sender.close()
        q = self.backlog
        log(
            "done: %d of %d readings sent (%d had waited in the queue), %d still queued,"
            " %d dropped, %d refused" % (q.sent, taken, q.kept, len(q), q.dropped, q.refused)
        )
        return 0 if not len(q) and not q.dropped and not q.refused else 1


def main():
    v = sys.implementation.version
    log("wizfi360 sensor firmware on %s, MicroPython %d.%d.%d" % (sys.platform, v[0], v[1], v[2]))
    path = config_path()
    hb = None
    try:
        cfg, unknown = load_config(path)
        for name in unknown:
            log("config: ignoring unknown key %r" % name)
        log("config %s: device %s, network %s" % (path, cfg["device"], cfg["ssid"]))
        hb = board.heartbeat(cfg["watchdog_s"])
        rc = run(cfg, hb)
    except ConfigError as e:
        log("config error: %s" % e)
        hb = board.heartbeat(0)  # no watchdog: only the LED, to show it stopped
        rc = 2
    except BaseException:
        if hb is not None:
            hb.stop()  # Ctrl-C or a crash: no watchdog reset under the REPL
        raise
    if hb is not None:
        hb.stop("failed" if rc else None)
    return rc


if __name__ == "__main__":
    try:
        rc = main()
    except KeyboardInterrupt:
        log("stopped (Ctrl-C)")
        rc = 130
    except Exception as e:  # a bug: say where, and on the board start over
        sys.print_exception(e)  # type: ignore[attr-defined]  # MicroPython only
        if board.ON_BOARD:
            log("unexpected error: restarting the board in %d s (Ctrl-C for the REPL)" % CRASH_PAUSE_S)
            time.sleep(CRASH_PAUSE_S)
            board.restart()
        rc = 1
    if rc and sys.platform != "rp2":
        sys.exit(rc)  # on the board, fall back to the REPL instead of rebooting
