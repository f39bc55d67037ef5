#!/usr/bin/env python3
"""Run tests_device/test_*.py on the MicroPython unix port against the emulator.

    python tools/run_device_tests.py                  all of tests_device/test_*.py
    python tools/run_device_tests.py test_smoke ...   just these files (name or path)
    python tools/run_device_tests.py -k connect       files whose name contains
                                                      "connect", and in the other
                                                      files the tests whose name does
    python tools/run_device_tests.py --board /dev/ttyACM0   on a real board (mpremote)
    python tools/run_device_tests.py --quirks real    the emulator as real modules
                                                      behave (WIZFI_QUIRKS=real too)

Each file gets a fresh emulator (tools/wizfi360_emu), a TCP echo server and a
port that refuses connections, all on 127.0.0.1, and the peers of
tools/testservers.py (UDP echo, TLS echo, HTTP and HTTPS servers, a peer that
streams at once, HTTP clients for a server on the driver), and runs as
`micropython -X heapsize=N FILE` with MICROPYPATH=lib:host:tests_device:.frozen:build/mplib
and WIZFI_EMU_PORT, WIZFI_ECHO_PORT, WIZFI_REFUSED_PORT, WIZFI_SSID, WIZFI_KEY set
(and WIZFI_<peer>_PORT for each of testservers' peers). build/mplib holds the
MicroPython libraries from PyPI that tests run unmodified (requirements-mplib.txt,
installed there by `make test-device`);
WIZFI_EMU_CONTROL is the port of the emulator's control channel, through which
the file switches faults on (emucontrol.emu(), wizfi360_emu/control.py).
The emulator's quirks (wizfi360_emu/quirks.py) are the manual's unless --quirks
PROFILE (or WIZFI_QUIRKS=PROFILE) names another profile, e.g. real; the test
file then sees WIZFI_QUIRKS=PROFILE in its environment.
The heap is 256K unless the file's leading comments say e.g. `# heapsize: 64K`;
the emulator's line is unpaced unless they say e.g. `# baud: 921600`.
Peers that cost more to start run only for the files whose leading comments ask,
e.g. `# peers: mqtt ntp`: mqtt is amqtt, a real MQTT broker (WIZFI_MQTT_PORT), ntp
a minimal NTP server (WIZFI_NTP_PORT, testservers.NtpServer).
A file whose leading comments say `# mpy: yes` runs on the package compiled to
.mpy instead: lib/wizfi360, host/wizfi360_host and the test helpers (harness,
board) are compiled once per run with mpy-cross (-march of the micropython
binary, for the viper code) into build/mpy/, and
MICROPYPATH=build/mpy:tests_device:.frozen:build/mplib.
A file's result is its harness's last `RESULT <passed> <failed>` line; a
timeout, a crash or a missing RESULT line counts as one more failure. A file
that prints `SKIP FILE: <why>` (board.skip_file) and `RESULT 0 0` is reported
as skipped, with the reason, and fails nothing.
The last line printed is `N passed, N failed`; the exit status is 1 on any failure.
"""

import argparse
import os
import re
import shutil
import signal
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools"
LIB = ROOT / "lib"
HOST = ROOT / "host"  # wizfi360_host: the UART stand-ins (never on a board)
TESTS = ROOT / "tests_device"
SSID = "WizFiTest"
KEY = "wizfi360pass"
DEFAULT_HEAP = "256K"
HEAP_RE = re.compile(r"#\s*heapsize:\s*(\d+[KkMm]?)\s*$")
MPY_RE = re.compile(r"#\s*mpy:\s*yes\s*$")
BAUD_RE = re.compile(r"#\s*baud:\s*(\d+)\s*$")
PEERS_RE = re.compile(r"#\s*peers:\s*(.*?)\s*$")
# the peers a file may ask for: name -> (testservers class, its port's variable)
OPTIONAL_PEERS = {"mqtt": ("MqttBroker", "WIZFI_MQTT_PORT"), "ntp": ("NtpServer", "WIZFI_NTP_PORT")}
BUILD_MPY = ROOT / "build" / "mpy"
# MicroPython libraries from PyPI (requirements-mplib.txt), put there by the Makefile
MPLIB = ROOT / "build" / "mplib"
# tests_device modules compiled along with the package
MPY_HELPERS = ("harness.py", "board.py", "emucontrol.py")
RESULT_RE = re.compile(r"^RESULT (\d+) (\d+)\s*$", re.M)
SKIP_RE = re.compile(r"^SKIP FILE: (.*?)\s*$", re.M)
BOARD_TEST_SUPPORT = ("harness.py", "board.py", "emucontrol.py", "board_config.py", "parsertwin.py")


# --- the servers a test file talks to ---------------------------------------------


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self):
        while True:
            try:
                data = self.request.recv(65536)
            except OSError:
                return
            if not data:  # the client closed or half-closed: close our side
                return
            try:
                self.request.sendall(data)
            except OSError:
                return


class TcpServer(socketserver.ThreadingTCPServer):
    """Serves `handler` on 127.0.0.1:<ephemeral>, one thread per connection."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler):
        super().__init__(("127.0.0.1", 0), handler)
        self.port = self.server_address[1]
        self._thread = threading.Thread(target=self.serve_forever, args=(0.1,), daemon=True)
        self._thread.start()

    def stop(self):
        self.shutdown()
        self.server_close()


class EchoServer(TcpServer):
    """Echoes everything."""

    def __init__(self):
        super().__init__(_EchoHandler)


class RefusedPort:
    """A 127.0.0.1 port where connections are refused.

    The socket stays bound but never listens, so Linux answers a SYN with RST,
    and no one else can take the port while the test runs."""

    def __init__(self):
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]

    def stop(self):
        self._sock.close()


def start_emulator(baud=None, quirks=None):
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    from wizfi360_emu import AccessPoint, Emulator

    # The second AP's name and password need every escape of manual 3.2.2.15;
    # tests_device/test_station.py joins it (a board's test AP can mimic it).
    aps = [AccessPoint(SSID, KEY), AccessPoint('a"b\\c,d', 'p"w\\d,1', bssid="02:00:00:00:00:02")]
    emu = Emulator(
        aps=aps,
        tcp_port=0,
        dns_map={"echo.test": "127.0.0.1", "tls.test": "127.0.0.1"},
        control_port=0,
        baud=baud,
        quirks=quirks,
    )
    emu.start()
    return emu


# --- running one file ---------------------------------------------------------------


class FileResult:
    def __init__(self, path, passed, failed, status, output, seconds, skipped=None):
        self.path = path
        self.passed = passed
        self.failed = failed
        self.status = status  # "ok", "failed", "timeout after N s", "exit status N, no RESULT line"...
        self.output = output
        self.seconds = seconds
        self.skipped = skipped  # why the whole file was skipped (status "ok"), or None

    @property
    def ok(self):
        return self.status == "ok"


def leading_comment(path, regex):
    """The match of regex on a line of the file's leading comment block, or None."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                break
            m = regex.match(line)
            if m:
                return m
    return None


def heapsize(path):
    """The `# heapsize: 64K` from the file's leading comment block, else the default."""
    m = leading_comment(path, HEAP_RE)
    return m.group(1).upper() if m else DEFAULT_HEAP


def baud(path):
    """The `# baud: 921600` from the file's leading comment block (the emulator's
    line is then paced to that rate), else None (unpaced)."""
    m = leading_comment(path, BAUD_RE)
    return int(m.group(1)) if m else None


def peers(path):
    """The optional peers the file's leading comments ask for (`# peers: mqtt ntp`);
    ValueError for a name OPTIONAL_PEERS lacks."""
    m = leading_comment(path, PEERS_RE)
    names = m.group(1).replace(",", " ").split() if m else []
    unknown = [n for n in names if n not in OPTIONAL_PEERS]
    if unknown:
        raise ValueError("unknown peers %s (known: %s)" % (", ".join(unknown), ", ".join(OPTIONAL_PEERS)))
    return names


def wants_mpy(path):
    """True if the file's leading comments say `# mpy: yes`."""
    return leading_comment(path, MPY_RE) is not None


def find_tool(name, explicit=None):
    """explicit, else name next to the running python (the project's .venv/bin), else on PATH."""
    if explicit:
        return explicit
    sibling = Path(sys.executable).parent / name
    if sibling.exists():
        return str(sibling)
    return shutil.which(name)


def native_arch(micropython):
    """mpy-cross's -march name for the native code micropython runs (x64 here)."""
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    from deploy import decode_mpy

    out = subprocess.run(
        [micropython, "-c", "import sys; print(sys.implementation._mpy)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return decode_mpy(int(out.strip()))[2] or "x64"


def build_mpy(micropython, out=BUILD_MPY, mpy_cross=None):
    """Compile lib/wizfi360, host/wizfi360_host and the MPY_HELPERS with mpy-cross into out/ (emptied
    first, so nothing stale shadows a removed module). Returns out; raises
    RuntimeError saying what failed."""
    cross = find_tool("mpy-cross", mpy_cross)
    if not cross:
        raise RuntimeError("mpy-cross not found: run through `make test-device`")
    arch = native_arch(micropython)
    shutil.rmtree(out, ignore_errors=True)
    sources = [
        (p, p.relative_to(root))
        for root, pkg in ((LIB, "wizfi360"), (HOST, "wizfi360_host"))
        for p in sorted((root / pkg).rglob("*.py"))
        if "__pycache__" not in p.parts
    ]
    sources += [(TESTS / name, Path(name)) for name in MPY_HELPERS]
    for src, rel in sources:
        dst = out / rel.with_suffix(".mpy")
        dst.parent.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(
            [cross, "-march=" + arch, "-s", rel.as_posix(), "-o", str(dst), str(src)],
            capture_output=True,
            text=True,
        )
        if r.returncode:
            raise RuntimeError("mpy-cross %s: %s" % (rel, (r.stderr or r.stdout).strip()))
    return out


def judge(path, output, returncode, timed_out, timeout, seconds):
    """Turn a file's output and exit into a FileResult."""
    results = RESULT_RE.findall(output)
    if timed_out:
        passed = len(re.findall(r"^PASS ", output, re.M))
        failed = len(re.findall(r"^FAIL ", output, re.M)) + 1
        status = "timeout after %g s (killed)" % timeout
    elif not results:
        passed = len(re.findall(r"^PASS ", output, re.M))
        failed = len(re.findall(r"^FAIL ", output, re.M)) + 1
        status = "exit status %s, no RESULT line" % returncode
    else:
        passed, failed = (int(n) for n in results[-1])
        if failed:
            status = "failed"
        elif returncode != 0:
            failed = 1
            status = "exit status %s after RESULT" % returncode
        else:
            status = "ok"
    skip = SKIP_RE.search(output)
    skipped = skip.group(1) if skip and status == "ok" and passed == 0 else None
    return FileResult(path, passed, failed, status, output, seconds, skipped)


def run_process(cmd, env, timeout):
    """Run cmd in its own process group; kill the group on timeout.
    Returns (output, returncode, timed_out)."""
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = proc.communicate(timeout=timeout)
        return out.decode("utf-8", "replace"), proc.returncode, False
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        out, _ = proc.communicate()
        return out.decode("utf-8", "replace"), proc.returncode, True


def device_env(emu, mpy_dir=None):
    """The environment of a program on the unix port against emu: os.environ with
    MICROPYPATH (the package, or mpy_dir, tests_device, build/mplib), the emulator's
    ports and its access point; no optional peer's port (OPTIONAL_PEERS) left over."""
    env = dict(os.environ)
    for _, var in OPTIONAL_PEERS.values():
        env.pop(var, None)
    env.update(
        {
            "MICROPYPATH": os.pathsep.join(
                [str(mpy_dir) if mpy_dir else "%s%s%s" % (LIB, os.pathsep, HOST)]
                + [str(TESTS), ".frozen", str(MPLIB)]
            ),
            "WIZFI_EMU_PORT": str(emu.tcp_port),
            "WIZFI_EMU_CONTROL": str(emu.control_port),
            "WIZFI_SSID": SSID,
            "WIZFI_KEY": KEY,
        }
    )
    return env


def run_file_unix(path, micropython, timeout, k, heap=None, mpy_dir=None, quirks=None):
    """Run one file against fresh servers. heap overrides its `# heapsize:`;
    mpy_dir (from build_mpy) puts the compiled package first on MICROPYPATH;
    quirks names the emulator's quirks profile (None: the manual's)."""
    t0 = time.monotonic()
    emu = echo = refused = udp = tls = http = https = blast = load = None
    extra = {}  # optional peers: their port's variable -> the server
    try:
        try:
            emu = start_emulator(baud(path), quirks)
            echo = EchoServer()
            refused = RefusedPort()
            from testservers import Blast, HttpLoad, HttpServer, TlsEcho, UdpEcho

            udp = UdpEcho()
            tls = TlsEcho()
            http = HttpServer()
            https = HttpServer(tls=True)
            blast = Blast()
            load = HttpLoad()
            import testservers

            for name in peers(path):
                cls, var = OPTIONAL_PEERS[name]
                extra[var] = getattr(testservers, cls)()
        except Exception as e:  # a broken emulator fails the file, not the run
            return FileResult(
                path,
                0,
                1,
                "could not start the test servers",
                "%s: %s\n" % (type(e).__name__, e),
                time.monotonic() - t0,
            )
        env = device_env(emu, mpy_dir)
        env.update(
            {
                "WIZFI_ECHO_PORT": str(echo.port),
                "WIZFI_REFUSED_PORT": str(refused.port),
                "WIZFI_UDP_ECHO_PORT": str(udp.port),
                "WIZFI_TLS_PORT": str(tls.port),
                "WIZFI_HTTP_PORT": str(http.port),
                "WIZFI_HTTPS_PORT": str(https.port),
                "WIZFI_BLAST_PORT": str(blast.port),
                "WIZFI_HTTP_LOAD_PORT": str(load.port),
            }
        )
        env.update({var: str(server.port) for var, server in extra.items()})
        env.pop("WIZFI_TEST_K", None)
        env.pop("WIZFI_QUIRKS", None)
        if quirks:
            env["WIZFI_QUIRKS"] = quirks
        if k and k not in path.name:
            env["WIZFI_TEST_K"] = k
        cmd = [micropython, "-X", "heapsize=" + (heap or heapsize(path)), str(path)]
        out, rc, timed_out = run_process(cmd, env, timeout)
        return judge(path, out, rc, timed_out, timeout, time.monotonic() - t0)
    finally:
        for server in [*extra.values(), load, blast, https, http, tls, udp, refused, echo, emu]:
            if server is not None:
                try:
                    server.stop()
                except Exception as e:
                    print("warning: stopping %s: %s" % (type(server).__name__, e), file=sys.stderr)


# --- on a real board through mpremote -------------------------------------------------


def board_setup(mpremote):
    """Copy lib/wizfi360 to :/lib/wizfi360 and the test support files to :/tests_device."""
    missing = [n for n in BOARD_TEST_SUPPORT if not (TESTS / n).exists()]
    if missing:
        sys.exit(
            "missing %s (board_config.py fields are described in tests_device/board.py)"
            % ", ".join("tests_device/" + n for n in missing)
        )
    pkg = sorted(p for p in (LIB / "wizfi360").rglob("*.py") if "__pycache__" not in p.parts)
    dirs = {"/lib", "/tests_device"}
    for p in pkg:
        rel = p.parent.relative_to(LIB).as_posix()
        parts = rel.split("/")
        dirs.update("/lib/" + "/".join(parts[: i + 1]) for i in range(len(parts)))
    mkdirs = (
        "import os\nfor d in %r:\n    try:\n        os.mkdir(d)\n"
        "    except OSError:\n        pass\n" % sorted(dirs)
    )
    cmd = mpremote + ["exec", mkdirs]
    for p in pkg:
        cmd += ["+", "fs", "cp", str(p), ":/lib/" + p.relative_to(LIB).as_posix()]
    for name in BOARD_TEST_SUPPORT:
        cmd += ["+", "fs", "cp", str(TESTS / name), ":/tests_device/" + name]
    subprocess.run(cmd, cwd=ROOT, check=True)


def run_file_board(path, mpremote, timeout):
    # The firmware has its own board.py at the board's root: put ours first
    # (one line, so line numbers in tracebacks are off by just one).
    source = path.read_text(encoding="utf-8")
    preamble = "import sys; sys.path.insert(0, '/tests_device'); sys.modules.pop('board', None)\n"
    t0 = time.monotonic()
    with tempfile.NamedTemporaryFile("w", suffix="_" + path.name, delete=False) as f:
        f.write(preamble + source)
    try:
        out, rc, timed_out = run_process(mpremote + ["run", f.name], dict(os.environ), timeout)
    finally:
        os.unlink(f.name)
    return judge(path, out, rc, timed_out, timeout, time.monotonic() - t0)


# --- driver -----------------------------------------------------------------------------


def find_micropython(explicit):
    found = find_tool("micropython", explicit)
    if not found:
        sys.exit("micropython not found: run through `make test-device` or pass --micropython")
    return found


def select_files(names):
    if not names:
        files = sorted(TESTS.glob("test_*.py"))
    else:
        files = []
        for name in names:
            p = Path(name)
            if not p.exists():
                p = TESTS / (name if name.endswith(".py") else name + ".py")
            if not p.exists():
                sys.exit("no such test file: %s" % name)
            files.append(p.resolve())
    return files


def report(result, verbose):
    rel = os.path.relpath(result.path, ROOT)
    if result.skipped is not None:
        print("skip  %s  [%s]" % (rel, result.skipped), flush=True)
    elif result.ok:
        print(
            "ok    %s  [%d test%s, %.1f s]"
            % (rel, result.passed, "" if result.passed == 1 else "s", result.seconds),
            flush=True,
        )
    else:
        print(
            "FAIL  %s  [%s: %d ok, %d failing, %.1f s]"
            % (rel, result.status, result.passed, result.failed, result.seconds),
            flush=True,
        )
    if verbose:
        print(result.output.rstrip("\n"), flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    ap.add_argument("files", nargs="*", help="test files (paths or names in tests_device/)")
    ap.add_argument("-k", metavar="SUBSTR", help="select files / tests whose name contains SUBSTR")
    ap.add_argument("-j", "--jobs", type=int, default=2, help="files run at once (default 2)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per file (default 120)")
    ap.add_argument("--micropython", help="micropython binary (default: next to python, or PATH)")
    ap.add_argument("--board", metavar="PORT", help="run on a board at PORT through mpremote")
    ap.add_argument(
        "--quirks",
        metavar="PROFILE",
        default=os.environ.get("WIZFI_QUIRKS") or None,
        help="the emulator's quirks profile: manual or real (default: $WIZFI_QUIRKS, else manual)",
    )
    ap.add_argument("-v", "--verbose", action="store_true", help="print every file's output")
    args = ap.parse_args(argv)
    if args.quirks:
        if str(TOOLS) not in sys.path:
            sys.path.insert(0, str(TOOLS))
        from wizfi360_emu.quirks import PROFILES

        if args.quirks not in PROFILES:
            ap.error("--quirks: no profile %r (%s)" % (args.quirks, ", ".join(PROFILES)))
        if args.board:
            ap.error("--quirks is for the emulator, not a board")

    files = select_files(args.files)
    if args.board:
        # No environment variables reach a board, so -k selects files only there.
        if args.k:
            files = [p for p in files if args.k in p.name]
        mpremote = [sys.executable, "-m", "mpremote", "connect", args.board]
        board_setup(mpremote)
        results = []
        for p in files:
            results.append(run_file_board(p, mpremote, args.timeout))
            report(results[-1], args.verbose)
    else:
        micropython = find_micropython(args.micropython)
        results = []
        mpy_dir = None
        compiled = [p for p in files if wants_mpy(p)]
        if compiled:
            try:
                mpy_dir = build_mpy(micropython)
            except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
                for p in compiled:
                    results.append(FileResult(p, 0, 1, "could not compile the package to .mpy", str(e), 0.0))
                    report(results[-1], args.verbose)
                files = [p for p in files if p not in compiled]
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [
                pool.submit(
                    run_file_unix,
                    p,
                    micropython,
                    args.timeout,
                    args.k,
                    None,
                    mpy_dir if wants_mpy(p) else None,
                    args.quirks,
                )
                for p in files
            ]
            for fut in as_completed(futures):
                results.append(fut.result())
                report(results[-1], args.verbose)
        results.sort(key=lambda r: str(r.path))

    bad = [r for r in results if not r.ok]
    for r in bad:
        print("\n===== %s: %s =====" % (os.path.relpath(r.path, ROOT), r.status))
        print(r.output.rstrip("\n"))
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    skipped = sum(1 for r in results if r.skipped is not None)
    if passed + failed == 0 and not skipped:
        print("\nno test ran", file=sys.stderr)
        failed_run = True
    else:
        failed_run = bool(bad)
    print()
    if args.quirks:
        print("emulator quirks: %s" % args.quirks)
    if skipped:
        print("%d file%s skipped (see above why)" % (skipped, "" if skipped == 1 else "s"))
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed_run else 0


if __name__ == "__main__":
    sys.exit(main())
