#!/usr/bin/env python3
"""Run the WizFi360 emulator: the module's UART on a TCP port (and a pty if asked).

python tools/emulator.py --port 3600 [--pty] [--ap SSID:PASS ...] [--config FILE]
                         [--server-host H] [--ssl-reboot-below N] [--cipsto-unit S]
                         [--cwlif-unquoted] [--control-port N]
                         [--prompt-space] [--baud N] [--quirks PROFILE]
                         [--quirk NAME=VALUE ...] [--verbose]

--control-port N opens the control channel on 127.0.0.1:N (0: any free port), through
which tests in another process switch faults on: a module reboot, a Wi-Fi drop, busy
answers, failed sends, a hung module, noise on the line. Its commands are described in
tools/wizfi360_emu/control.py; e.g. `echo "busy 3" | nc 127.0.0.1 N`.

--quirks real makes the module behave as real modules are known to (late and doubled
results, boot noise on the ready line, SEND OK paced by the network, ...), --quirk
NAME=VALUE sets one quirk on top; tools/wizfi360_emu/quirks.py documents each.
"""

import argparse
import logging
import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from wizfi360_emu import Emulator  # noqa: E402
from wizfi360_emu.config import ap_from_option, load_config  # noqa: E402


def parse_args(argv):
    p = argparse.ArgumentParser(description="WizFi360 Wi-Fi module emulator (AT firmware 1.1.1.7)")
    p.add_argument("--host", default=None, help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="TCP port of the UART (default 3600, 0: any)")
    p.add_argument("--pty", action="store_true", help="also serve the UART on a pseudo-terminal")
    p.add_argument(
        "--ap",
        action="append",
        default=[],
        metavar="SSID:PASS",
        help="add a fake AP (repeatable; split at the first colon)",
    )
    p.add_argument("--config", metavar="FILE", help='JSON file: {"aps": [{"ssid": .., "password": ..}], ...}')
    p.add_argument(
        "--prompt-space", action="store_true", help="CIPSEND prompt '> ' (ESP style) instead of '>'"
    )
    p.add_argument("--join-delay", type=float, default=None, metavar="S", help="seconds a join takes (0.2)")
    p.add_argument("--no-cwjap-code", action="store_true", help="omit the +CWJAP_CUR:<code> line on failure")
    p.add_argument("--dns-quoted", action="store_true", help='answer +CIPDOMAIN:"1.2.3.4" (quoted)')
    p.add_argument(
        "--baud",
        type=int,
        default=None,
        metavar="N",
        help="pace the UART to a real line at N baud (8N1: N/10 bytes/s each way); "
        "AT+UART_CUR changes it. Default: unpaced",
    )
    p.add_argument(
        "--server-host",
        default=None,
        metavar="H",
        help="address AT+CIPSERVER listens on, at the port asked for (127.0.0.1)",
    )
    p.add_argument(
        "--ssl-reboot-below",
        type=int,
        default=None,
        metavar="N",
        help="an SSL AT+CIPSTART reboots the module when AT+CIPSSLSIZE < N (0: never)",
    )
    p.add_argument(
        "--cipsto-unit",
        type=float,
        default=None,
        metavar="S",
        help="real seconds per AT+CIPSTO second (1.0; smaller for quick tests)",
    )
    p.add_argument(
        "--cwlif-unquoted",
        action="store_true",
        help='AT+CWLIF lines as <ip>,<mac> (ESP style) instead of "<ip>","<mac>"',
    )
    p.add_argument(
        "--control-port",
        type=int,
        default=None,
        metavar="N",
        help="open the control channel (fault injection; see wizfi360_emu/control.py) on "
        "127.0.0.1:N, 0: any free port. Default: none",
    )
    p.add_argument(
        "--quirks",
        default=None,
        metavar="PROFILE",
        help="the module's quirks: manual (default: as the manual says) or real "
        "(what real modules are known to do; wizfi360_emu/quirks.py)",
    )
    p.add_argument(
        "--quirk",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set one quirk on top of the profile (repeatable), e.g. prompt_delay_ms=600",
    )
    p.add_argument("--verbose", "-v", action="store_true", help="log commands and frames to stderr")
    return p.parse_args(argv)


def build_kwargs(args):
    kwargs = load_config(args.config) if args.config else {}
    aps = list(kwargs.pop("aps", [])) + [ap_from_option(a) for a in args.ap]
    if aps:
        kwargs["aps"] = aps
    kwargs.setdefault("tcp_port", 3600)
    for key, value in (
        ("host", args.host),
        ("tcp_port", args.port),
        ("join_delay_s", args.join_delay),
        ("server_host", args.server_host),
        ("ssl_reboot_below", args.ssl_reboot_below),
        ("cipsto_unit_s", args.cipsto_unit),
        ("baud", args.baud),
        ("control_port", args.control_port),
    ):
        if value is not None:
            kwargs[key] = value
    if args.pty:
        kwargs["pty"] = True
    if args.prompt_space:
        kwargs["prompt"] = b"> "
    if args.no_cwjap_code:
        kwargs["cwjap_code"] = False
    if args.dns_quoted:
        kwargs["dns_quoted"] = True
    if args.cwlif_unquoted:
        kwargs["cwlif_quoted"] = False
    quirks = kwargs.get("quirks")
    quirks = dict(quirks) if isinstance(quirks, dict) else {"profile": quirks or "manual"}
    if args.quirks:
        quirks["profile"] = args.quirks
    for item in args.quirk:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError("--quirk wants NAME=VALUE, got %r" % item)
        quirks[name] = value
    if args.quirks or args.quirk or "quirks" in kwargs:
        kwargs["quirks"] = quirks
    return kwargs


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s.%(msecs)03d %(threadName)s %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        emu = Emulator(**build_kwargs(args))
    except (OSError, ValueError, TypeError) as e:
        print("emulator: bad configuration: %s" % e, file=sys.stderr)
        return 2
    try:
        emu.start()
    except OSError as e:
        print("emulator: cannot listen: %s" % e, file=sys.stderr)
        return 1
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):  # also when started in the background;
        signal.signal(sig, lambda *_: done.set())  # before the banner, which callers wait for
    print("UART on tcp://%s:%d" % (emu.host, emu.tcp_port), flush=True)
    if emu.pty_path:
        print("UART on pty %s" % emu.pty_path, flush=True)
    if emu.control_port is not None:
        print("control on tcp://127.0.0.1:%d" % emu.control_port, flush=True)
    changed = emu.quirks.changed()
    if changed:
        print("quirks %s" % " ".join(sorted(changed)), flush=True)
    for ap in emu.aps:
        print(
            "AP %r password %r bssid %s channel %d" % (ap.ssid, ap.password, ap.bssid, ap.channel), flush=True
        )
    try:
        while not done.wait(0.5):
            pass
    finally:
        emu.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
