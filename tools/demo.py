#!/usr/bin/env python3
"""The demo behind `make demo`: the sensor firmware, end to end, on this machine.

It starts the WizFi360 emulator (a fake module with the access point
"WizFiTest" / "wizfi360pass", and sink.test resolving to 127.0.0.1) and the
HTTP sink, writes a temporary config.json, then runs the real firmware
(`micropython main.py`, the MicroPython unix port) with its output streamed
here, prefixed `pico:`. The sink's lines are prefixed `sink:`.

    python tools/demo.py                 5 readings, one a second
    python tools/demo.py --readings 10
    python tools/demo.py --forever       until Ctrl-C

Exits 0 when the sink received every reading, non-zero otherwise.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tools"))

from httpsink import HttpSink  # noqa: E402

SSID = "WizFiTest"
KEY = "wizfi360pass"
SINK_HOST = "sink.test"


def say(text):
    print("demo: " + text, flush=True)


def find_micropython():
    """The project's .venv one, else the one beside this Python, else PATH."""
    for cand in (REPO / ".venv" / "bin" / "micropython", Path(sys.executable).parent / "micropython"):
        if cand.is_file() and os.access(cand, os.X_OK):
            return str(cand)
    return shutil.which("micropython")


def start_emulator():
    from wizfi360_emu import AccessPoint, Emulator

    return Emulator(aps=[AccessPoint(SSID, KEY)], tcp_port=0, dns_map={SINK_HOST: "127.0.0.1"}).start()


def write_config(folder, emu_port, sink_port, interval, readings):
    cfg = {
        "ssid": SSID,
        "key": KEY,
        "endpoint": "http://%s:%d/readings" % (SINK_HOST, sink_port),
        "interval_s": interval,
        "device": "pico-1",
        "emulator": "127.0.0.1:%d" % emu_port,
    }
    if readings is not None:
        cfg["readings"] = readings
    path = Path(folder) / "config.json"
    path.write_text(json.dumps(cfg, indent=2) + "\n")
    return path


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def run(args):
    micropython = find_micropython()
    if micropython is None:
        say("no micropython binary found (run `make` to build .venv, or put one on PATH)")
        return 2
    readings = None if args.forever else args.readings
    try:
        emu = start_emulator()
    except ImportError as e:
        say("cannot import the emulator from tools/wizfi360_emu: %s" % e)
        return 2
    sink = HttpSink(port=0).start()
    proc = None
    interrupted = False
    try:
        say("emulated WizFi360 on 127.0.0.1:%d, with access point %r" % (emu.tcp_port, SSID))
        say("HTTP sink on 127.0.0.1:%d (the emulator resolves %s to 127.0.0.1)" % (sink.port, SINK_HOST))
        with tempfile.TemporaryDirectory(prefix="wizfi360-demo-") as tmp:
            interval = int(args.interval) if args.interval == int(args.interval) else args.interval
            config = write_config(tmp, emu.tcp_port, sink.port, interval, readings)
            how_many = "until Ctrl-C" if readings is None else "%d readings" % readings
            say("running %s main.py (%s, one every %s s)" % (micropython, how_many, interval))
            env = dict(os.environ, WIZFI_CONFIG=str(config))
            proc = subprocess.Popen(
                [micropython, "main.py"],
                cwd=str(REPO),
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                bufsize=1,
                errors="replace",
            )
            watchdog = None
            if readings is not None:
                # Joining may take 3 tries of up to 20 s; each post up to ~10 s.
                limit = 90 + readings * (args.interval + 10)
                watchdog = threading.Timer(limit, _too_slow, (proc, limit))
                watchdog.daemon = True
                watchdog.start()
            # While the firmware runs, Ctrl-C is its business: it stops and
            # says so, and its last lines still come through the pipe.
            stopper = _Stopper(proc)
            old_int = signal.signal(signal.SIGINT, stopper)
            old_term = signal.signal(signal.SIGTERM, stopper)
            try:
                for line in proc.stdout:
                    print("pico: " + line.rstrip("\n"), flush=True)
                rc = proc.wait()
            finally:
                signal.signal(signal.SIGINT, old_int)
                signal.signal(signal.SIGTERM, old_term)
                stopper.cancel()
                if watchdog is not None:
                    watchdog.cancel()
            interrupted = stopper.count > 0
    except KeyboardInterrupt:
        interrupted = True
        rc = 130
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
    finally:
        sink.stop()
        emu.stop()

    got = len(sink.readings)
    say("%d reading%s received by the sink" % (got, "" if got == 1 else "s"))
    if interrupted or rc == 130:  # 130: the firmware itself caught a Ctrl-C
        say("stopped by Ctrl-C")
        return 0 if readings is None and got > 0 else 130
    if rc != 0:
        say("FAILED: the firmware exited with status %d" % rc)
        return 1
    if readings is not None and got != readings:
        say("FAILED: expected %d readings" % readings)
        return 1
    return 0


def _too_slow(proc, limit):
    say("the firmware is taking more than %d s: stopping it" % limit)
    proc.kill()


class _Stopper:
    """SIGINT/SIGTERM handler while the firmware runs.

    From a terminal the firmware gets the same Ctrl-C and stops by itself;
    otherwise it is passed on after a second, and the firmware is killed if
    it is still there 5 s later or at a second Ctrl-C."""

    def __init__(self, proc):
        self.proc = proc
        self.count = 0
        self._timers = []

    def __call__(self, signum, frame):
        self.count += 1
        if self.count > 1:
            self._kill()
            return
        for delay, action in ((1.0, self._forward), (6.0, self._kill)):
            t = threading.Timer(delay, action)
            t.daemon = True
            t.start()
            self._timers.append(t)

    def _forward(self):
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGINT)
            except OSError:
                pass

    def _kill(self):
        if self.proc.poll() is None:
            self.proc.kill()

    def cancel(self):
        for t in self._timers:
            t.cancel()


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run the sensor firmware against the emulator and an HTTP sink.")
    ap.add_argument(
        "--readings", type=int, default=5, metavar="N", help="readings to post before stopping (default 5)"
    )
    ap.add_argument("--forever", action="store_true", help="keep posting until Ctrl-C")
    ap.add_argument(
        "--interval", type=float, default=1.0, metavar="S", help="seconds between readings (default 1)"
    )
    args = ap.parse_args(argv)
    if args.readings < 1:
        ap.error("--readings must be at least 1")
    if args.interval <= 0:
        ap.error("--interval must be above 0")
    signal.signal(signal.SIGTERM, _sigterm)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
