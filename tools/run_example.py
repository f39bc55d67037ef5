#!/usr/bin/env python3
"""Run a program of examples/ on the MicroPython unix port against the emulator.

    python tools/run_example.py NAME          e.g. first, http_get, mqtt_pubsub (make example NAME=...)
    python tools/run_example.py --list        the examples

The program runs unchanged, as `mpremote run examples/NAME.py` runs it on a board:
its `machine.UART` is the emulated module's and its settings are the emulator's
(tests_device/example_env.py has both). Around it, on 127.0.0.1: the emulated
WizFi360 with the access point WizFiTest, an HTTP and an HTTPS server (the module's
`echo.test` and `tls.test`), and what the example talks to: an MQTT broker (amqtt)
for mqtt_pubsub, an NTP server for ntp_time, a phone that joins the access point
of softap. tcp_server runs until Ctrl-C; talk to it with `nc 127.0.0.1 <port>`.
The exit status is the program's.
"""

import argparse
import socket
import subprocess
import sys
from pathlib import Path

import run_device_tests
import testservers

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# the peers of tools/run_device_tests.py's OPTIONAL_PEERS each example needs
PEERS = {"mqtt_pubsub": ("mqtt",), "ntp_time": ("ntp",)}
# softap's phone: a MAC, and the access point and key of tests_device/example_env.py
PHONE = ("02:11:22:33:44:55", "wizfi360-setup", "change-me-123")


def examples():
    return sorted(p.stem for p in EXAMPLES.glob("*.py") if p.stem != "settings")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(name, micropython):
    servers = []
    try:
        emu = run_device_tests.start_emulator()
        servers.append(emu)
        env = run_device_tests.device_env(emu)
        http, https = testservers.HttpServer(), testservers.HttpServer(tls=True)
        servers += [http, https]
        env.update({"WIZFI_HTTP_PORT": str(http.port), "WIZFI_HTTPS_PORT": str(https.port)})
        for peer in PEERS.get(name, ()):
            cls, var = run_device_tests.OPTIONAL_PEERS[peer]
            servers.append(getattr(testservers, cls)())
            env[var] = str(servers[-1].port)
        if name == "softap":
            emu.station_waits(*PHONE)
        if name == "tcp_server":
            env["WIZFI_SERVER_PORT"] = port = str(free_port())
            print("run_example: when it serves, try `nc 127.0.0.1 %s` (Ctrl-C ends it)" % port, flush=True)
        cmd = [micropython, str(run_device_tests.TESTS / "example_env.py"), name, str(EXAMPLES)]
        try:
            return subprocess.run(cmd, cwd=ROOT, env=env).returncode
        except KeyboardInterrupt:
            return 130
    finally:
        for server in reversed(servers):
            server.stop()


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    ap.add_argument("name", nargs="?", help="the example: examples/NAME.py")
    ap.add_argument("--list", action="store_true", help="list the examples")
    ap.add_argument("--micropython", help="micropython binary (default: next to python, or PATH)")
    args = ap.parse_args(argv)
    if args.list or not args.name:
        print("examples (make example NAME=...): " + " ".join(examples()))
        return 0 if args.list else 2
    if args.name not in examples():
        ap.error("no example %r (there are: %s)" % (args.name, ", ".join(examples())))
    return run(args.name, run_device_tests.find_micropython(args.micropython))


if __name__ == "__main__":
    sys.exit(main())
