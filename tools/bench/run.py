#!/usr/bin/env python3
"""Measure the driver's speed and memory; write docs/bench.md and docs/bench.png (`make bench`).

    python tools/bench/run.py [--runs N] [--e2e-runs N] [--stall-runs N] [--quick] [--out DIR]
                              [--only PART[,PART...]]

1. Receive path: bytes/s through the socket API for a pre-built +IPD stream
   (tools/bench/recvpath.py) on the MicroPython unix port and on CPython.
2. Allocation: heap bytes per received frame and per send() (unix port).
3. End to end: download and upload through the emulator paced at 115200,
   921600 and 2000000 baud (tools/bench/e2e.py on the unix port).
4. Memory: heap used by the import (.py and .mpy), the WizFi360 object, each
   socket, the peak during the transfers, and the smallest -X heapsize under
   which tests_device/test_echo_1mb.py passes with .mpy files; the import also
   on a 32-bit MicroPython (the WebAssembly port, tools/bench/mem32.mjs, with
   Node.js; npm installs it into build/).
4b. Network model: the same downloads and uploads, by the driver and by the bare
   client (tools/bench/ceiling.py), with the emulator's network model on
   (net_latency_ms and net_window of the "real" quirks profile: a send's SEND OK
   only after ceil(n / window) round trips), at 115200, 921600 and 2000000 baud
   (smaller transfers: the model makes uploads 4x slower); the driver's figure
   as a share of the bare client's. Beside them, a bare client that keeps several
   sends in flight through the module's send buffer (tools/bench/buffered.py:
   AT+CIPSENDBUF or AT+CIPSENDERBUF, as much in flight as the buffer's 21900 bytes
   hold): its upload rate against the one-at-a-time client's and the driver's.
5. Event loop: the longest stall of a 10 ms asyncio heartbeat while asyncio's
   streams, through the driver, connect to a peer that accepts after 1 s, write
   100 KB, download 100 KB, and all three at once, the emulator paced at 921600
   baud (tools/bench/stalls.py on the unix port); and how long a DNS lookup
   blocks the loop (by design).

--only runs some of the parts (recv, e2e, netmodel, memory, heap, stalls; e.g.
`make bench ARGS="--only stalls"`): it prints their rows and writes
docs/bench.md and docs/bench.png only if --out is given.

Every figure is the median of several runs. Prints the table; the exit status
is 1 only when a measurement could not be made (missed targets are reported,
not failed).
"""

import argparse
import json
import os
import platform
import re
import shutil
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
TOOLS = BENCH.parent
ROOT = TOOLS.parent
sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(BENCH))

import buffered  # noqa: E402
import ceiling  # noqa: E402
import report  # noqa: E402
import run_device_tests as rdt  # noqa: E402
from pattern import PATTERN_LEN, pattern  # noqa: E402

from wizfi360_emu.quirks import REAL as REAL_QUIRKS  # noqa: E402

BAUDS = (115200, 921600, 2000000)
MB = 1024 * 1024
E2E_SIZE = {115200: MB, 921600: MB, 2000000: MB}
CEILING_SIZE = {115200: 64 * 1024, 921600: 256 * 1024, 2000000: 256 * 1024}
# At these rates a run takes minutes (1 MB each way at 115200 baud: 3 minutes)
# and mostly waits for the line, so their runs go side by side, each with its
# own emulator and driver process, for the bench to stay within ten minutes.
# On 2 cores that costs the upload about one point (docs/bench.md says more).
SIDE_BY_SIDE = (115200,)
E2E_HEAP = "256K"
STALL_BAUD = 921600
STALL_SIZE = 100 * 1024  # the write's and the download's bytes
STALL_DNS = {"peer.test": "127.0.0.1"}  # a name the emulator resolves (its dns_map)
# The network model (issue 15 item 5): the "real" profile's values of its two quirks
# only, so that the figures measure the model and nothing else the profile turns on.
NET_QUIRKS = {name: REAL_QUIRKS[name] for name in ("net_latency_ms", "net_window")}
# Under the model an upload runs at about a quarter of the line rate (2048-byte sends:
# 22 KB/s at 921600 baud), so the transfers are smaller than E2E_SIZE for the bench to
# stay within ten minutes; the driver and the bare client carry the same bytes.
NET_SIZE = {115200: 32 * 1024, 921600: 128 * 1024, 2000000: 128 * 1024}
PARTS = ("recv", "e2e", "netmodel", "memory", "heap", "stalls")


def say(text):
    print(text, file=sys.stderr, flush=True)


# --- the data server the e2e script talks to (through the emulator's links) ---------------


class DataHandler(socketserver.StreamRequestHandler):
    """One connection: "GET <n>\\n" -> n pattern bytes; "PUT <n>\\n" + n bytes ->
    "OK <n>\\n" once all arrived and matched the pattern (else "BAD <offset>\\n")."""

    stream = bytes(pattern()) * 32  # longer than PATTERN_LEN + one read

    def handle(self):
        words = self.rfile.readline().split()
        if len(words) != 2:
            return
        n = int(words[1])
        if words[0] == b"GET":
            self.get(n)
        elif words[0] == b"PUT":
            self.put(n)

    def get(self, n):
        sent = 0
        while sent < n:
            r = sent % PATTERN_LEN
            k = min(n - sent, len(self.stream) - r)
            self.request.sendall(self.stream[r : r + k])
            sent += k
        self.rfile.read()  # until the client closes

    def put(self, n):
        got = 0
        bad = -1
        while got < n:
            data = self.rfile.read1(65536)
            if not data:
                break
            r = got % PATTERN_LEN
            if bad < 0 and data != self.stream[r : r + len(data)]:
                bad = got
            got += len(data)
        self.request.sendall(b"OK %d\n" % got if bad < 0 and got == n else b"BAD %d\n" % max(bad, got))


def start_emulator(baud, control=False, config=None, quirks=None):
    """tools/emulator.py --baud in its own process; returns (process, UART port).
    control: also its control channel, whose port is then process.control_port;
    config: a JSON file of Emulator options (--config); quirks: {name: value} of
    quirks to turn on (--quirk name=value, wizfi360_emu/quirks.py)."""
    cmd = [sys.executable, str(TOOLS / "emulator.py"), "--port", "0", "--baud", str(baud)]
    if control:
        cmd += ["--control-port", "0"]
    if config:
        cmd += ["--config", str(config)]
    for name, value in (quirks or {}).items():
        cmd += ["--quirk", "%s=%s" % (name, value)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    m = re.search(r"tcp://[\d.]+:(\d+)", line)
    if control and m:
        more = proc.stdout.readline()
        c = re.search(r"control on tcp://[\d.]+:(\d+)", more)
        line += more
        proc.control_port = int(c.group(1)) if c else None
        if not c:
            m = None
    if not m:
        proc.kill()
        raise RuntimeError("emulator did not start: %r" % (line + proc.stdout.read()))
    return proc, int(m.group(1))


def stop_emulator(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# --- running MicroPython and CPython scripts -------------------------------------------


def run(cmd, env_path=None, path_var="MICROPYPATH", timeout=600):
    env = dict(os.environ)
    if env_path is not None:
        env[path_var] = os.pathsep.join(str(p) for p in env_path)
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if r.returncode:
        raise RuntimeError(
            "%s failed (%d):\n%s%s" % (" ".join(map(str, cmd)), r.returncode, r.stdout, r.stderr)
        )
    return r.stdout


def lines(out, tag):
    return [ln.split()[1:] for ln in out.splitlines() if ln.startswith(tag + " ")]


def machine(micropython):
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for ln in f:
                if ln.startswith("model name"):
                    cpu = ln.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    # "1.29.0 (9458e3a23f on 2026-07-05)": the version, and the build sys.version names
    mp = run(
        [micropython, "-c", "import sys; print('%d.%d.%d' % sys.implementation.version[:3], sys.version)"]
    )
    version, _, build = mp.strip().partition(" ")
    build = build.split("MicroPython ", 1)[-1]
    try:
        sha = run(["git", "rev-parse", "--short", "HEAD"]).strip()
        dirty = run(["git", "status", "--porcelain", "lib"]).strip()
        driver = "lib/wizfi360 at commit %s%s" % (sha, " with uncommitted changes" if dirty else "")
    except (RuntimeError, OSError):
        driver = "lib/wizfi360 (not a git checkout)"
    return {
        "driver": driver,
        "cpu": cpu,
        "cores": os.cpu_count(),
        "micropython": "%s (%s)" % (version, build) if build else version,
        "cpython": platform.python_version(),
        "mpy_cross": run([rdt.find_tool("mpy-cross"), "--version"]).strip(),
        "date": time.strftime("%Y-%m-%d"),
    }


# --- the measurements ---------------------------------------------------------------------


def receive_path(micropython, mpy_dir, runs, results):
    say("receive path and allocation: MicroPython unix port")
    out = run([micropython, str(BENCH / "recvpath.py"), str(runs)], [mpy_dir, BENCH])
    say("receive path: CPython")
    out += run([sys.executable, str(BENCH / "recvpath.py"), str(runs)], [ROOT / "lib", BENCH], "PYTHONPATH")
    for impl, method, size, *rates in lines(out, "RECV"):
        results["recv"][(impl, method, int(size))] = [float(r) for r in rates]
    for method, size, rx_size, *rates in lines(out, "RXSIZE"):
        results["recv_rx"][(method, int(size), int(rx_size))] = [float(r) for r in rates]
    for size, frame_len in lines(out, "WIRE"):
        results["wire"][int(size)] = int(frame_len)
    for kind, *rest in lines(out, "ALLOC"):
        if kind == "frame":
            results["alloc_frame"][(rest[0], int(rest[1]))] = float(rest[2])
        else:
            results["alloc_send"][int(rest[0])] = float(rest[1])


# Instruction counts (valgrind): what the wall clock of a shared machine cannot
# give, a figure that moves only when the code does. Frame sizes and methods counted,
# and the rounds of the two runs whose difference is taken.
COUNT_SIZES = (64, 1460)
COUNT_ROUNDS = (50, 250)


def instructions_per_frame(micropython, mpy_dir, results):
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        say("valgrind not found: no instruction counts")
        return
    out_file = ROOT / "build" / "bench" / "callgrind.out"
    for size in COUNT_SIZES:
        for method in ("recv_into", "readinto"):
            got = []
            total = []
            for rounds in COUNT_ROUNDS:
                cmd = [valgrind, "--tool=callgrind", "--callgrind-out-file=%s" % out_file, micropython]
                cmd += [str(BENCH / "recvpath.py"), "count", str(size), method, str(rounds)]
                got.append(int(lines(run(cmd, [mpy_dir, BENCH]), "GOT")[0][0]))
                total.append(callgrind_total(out_file))
            frames = (got[1] - got[0]) / size
            results["instr"][(method, size)] = (total[1] - total[0]) / frames
            say("instructions a %d-byte frame, %s: %.0f" % (size, method, results["instr"][(method, size)]))


def callgrind_total(path):
    with open(path, encoding="utf-8") as f:
        for ln in f:
            if ln.startswith("summary:") or ln.startswith("totals:"):
                return int(ln.split()[1])
    raise RuntimeError("no instruction total in %s" % path)


MEASURE_ERRORS = (RuntimeError, OSError, EOFError, subprocess.SubprocessError)


def with_emulator(baud, what, measure, results, **options):
    """measure(UART port) against a fresh emulator paced at baud; a failure is noted in
    results["errors"] and the bench goes on. Returns what measure returned, or None.
    options go to start_emulator; with control=True measure gets (UART port,
    control port)."""
    proc, port = start_emulator(baud, **options)
    try:
        if options.get("control"):
            return measure(port, proc.control_port)
        return measure(port)
    except MEASURE_ERRORS as e:
        say("error: %s at %d baud: %s" % (what, baud, e))
        results["errors"].append("%s at %d baud: %s" % (what, baud, str(e).splitlines()[0]))
        return None
    finally:
        stop_emulator(proc)


def end_to_end(
    micropython, mpy_dir, runs, sizes, ceiling_sizes, results, keys=("e2e", "ceiling"), quirks=None
):
    """The driver (e2e.py) and the bare client (ceiling.py) at each of BAUDS: their
    rates go to results[keys[0]] and results[keys[1]], by (baud, way). quirks: the
    emulator's (start_emulator), the same for both."""
    server = rdt.TcpServer(DataHandler)
    e2e_key, ceiling_key = keys
    model = " (network model)" if quirks else ""
    data = bytes(pattern())
    cmd = [micropython, "-X", "heapsize=" + E2E_HEAP, str(BENCH / "e2e.py")]

    def one_run(baud, i):
        size, top = sizes[baud], ceiling_sizes[baud]
        say(
            "emulator's ceiling%s: %d baud, %d bytes each way, run %d of %d" % (model, baud, top, i + 1, runs)
        )
        rates = with_emulator(
            baud,
            "the ceiling" + model,
            lambda port: ceiling.transfer(port, server.port, top, data),
            results,
            quirks=quirks,
        )
        for way, rate in zip(("down", "up"), rates or ()):
            entry = results[ceiling_key].setdefault((baud, way), {"size": top, "rates": []})
            entry["rates"].append(rate)
        say("end to end%s: %d baud, %d bytes each way, run %d of %d" % (model, baud, size, i + 1, runs))
        out = with_emulator(
            baud,
            "end to end" + model,
            lambda port: run(cmd + [str(port), str(server.port), str(size)], [mpy_dir, BENCH]),
            results,
            quirks=quirks,
        )
        for way, n, us, peak in lines(out or "", "E2E"):
            entry = results[e2e_key].setdefault((baud, way), {"size": int(n), "rates": [], "peaks": []})
            entry["rates"].append(int(n) / (int(us) / 1e6))
            entry["peaks"].append(int(peak))

    try:
        for baud in BAUDS:
            if baud in SIDE_BY_SIDE:
                threads = [threading.Thread(target=one_run, args=(baud, i)) for i in range(runs)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
            else:
                for i in range(runs):
                    one_run(baud, i)
    finally:
        server.stop()


def network_model(micropython, mpy_dir, runs, sizes, results):
    """Part 4b: the driver and the one-at-a-time bare client (end_to_end), then the
    buffered bare client, all under the network model."""
    end_to_end(
        micropython, mpy_dir, runs, sizes, sizes, results, keys=("net_e2e", "net_ceiling"), quirks=NET_QUIRKS
    )
    buffered_uploads(runs, sizes, results)


def buffered_uploads(runs, sizes, results):
    """tools/bench/buffered.py at each of BAUDS, a fresh emulator with the network model
    each run: upload rates in results["net_buffered"][baud], and the seconds the whole
    took in results["net_buffered_s"]."""
    server = rdt.TcpServer(DataHandler)
    data = bytes(pattern())
    rates = results.setdefault("net_buffered", {})
    t0 = time.monotonic()
    try:
        for baud in BAUDS:
            size = sizes[baud]
            for i in range(runs):
                say(
                    "buffered sends (network model): %d baud, %d bytes up, run %d of %d"
                    % (baud, size, i + 1, runs)
                )
                rate = with_emulator(
                    baud,
                    "buffered sends (network model)",
                    lambda port, size=size: buffered.upload(port, server.port, size, data),
                    results,
                    quirks=NET_QUIRKS,
                )
                if rate:
                    rates.setdefault(baud, {"size": size, "rates": []})["rates"].append(rate)
    finally:
        server.stop()
    results["net_buffered_s"] = time.monotonic() - t0
    say("buffered sends: %.0f s" % results["net_buffered_s"])


def stalls(micropython, mpy_dir, runs, size, results, txbuf=None):
    """tools/bench/stalls.py: each run a fresh emulator (paced, with its control
    channel) and a fresh MicroPython process; results["stalls"][case] collects each
    run's longest stall, heartbeat count and window (us), and "blocked" for dns.
    txbuf: the UART's write() waits as a Pico's does, with a transmit buffer of
    that many bytes (stalls.py's TxWait)."""
    server = rdt.TcpServer(DataHandler)
    config = ROOT / "build" / "bench" / "stalls-emulator.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"dns_map": STALL_DNS}), encoding="utf-8")
    name = next(iter(STALL_DNS))
    # ".frozen": the port's own frozen modules (asyncio), which MICROPYPATH replaces otherwise
    path = [mpy_dir, BENCH, ".frozen"]
    cmd = [micropython, "-X", "heapsize=" + E2E_HEAP, str(BENCH / "stalls.py")]
    wait = [str(txbuf), str(STALL_BAUD)] if txbuf else []
    results["stall_baud"] = STALL_BAUD
    results["stall_size"] = size
    results["stall_txbuf"] = txbuf
    try:
        for i in range(runs):
            say("event loop stalls: %d baud, %d bytes, run %d of %d" % (STALL_BAUD, size, i + 1, runs))
            out = with_emulator(
                STALL_BAUD,
                "event loop stalls",
                lambda port, ctl: run(
                    cmd + [str(port), str(ctl), str(server.port), str(size), name] + wait, path, timeout=180
                ),
                results,
                control=True,
                config=config,
            )
            for case, worst, beats, us, _at in lines(out or "", "STALL"):
                entry = results["stalls"].setdefault(case, {"worst": [], "beats": [], "window": []})
                entry["worst"].append(int(worst))
                entry["beats"].append(int(beats))
                entry["window"].append(int(us))
            for case, us in lines(out or "", "BLOCK"):
                results["stalls"].setdefault(case, {}).setdefault("blocked", []).append(int(us))
    finally:
        server.stop()


def romfs_image(mpy_dir):
    """A ROMFS image (mpremote romfs build) of the package's .mpy files."""
    out = ROOT / "build" / "bench" / "wizfi360.romfs"
    src = ROOT / "build" / "bench" / "romfs"
    shutil.rmtree(src, ignore_errors=True)
    shutil.copytree(Path(mpy_dir) / "wizfi360", src / "wizfi360")
    mpremote = rdt.find_tool("mpremote")
    subprocess.run([mpremote, "romfs", "-o", str(out), "build", str(src)], check=True, capture_output=True)
    return out


def wasm_port():
    """The node_modules folder holding the 32-bit WebAssembly port of MicroPython for the
    memory figures (report.WASM_PACKAGE; the unix port here is 64-bit, a Pico is not),
    installed with npm into build/ on first use."""
    modules = ROOT / "build" / "bench" / "wasm32"
    if not (modules / "node_modules" / report.WASM_PACKAGE.rpartition("@")[0] / "micropython.mjs").exists():
        say("installing %s (npm)" % report.WASM_PACKAGE)
        npm = ["npm", "install", "--no-save", "--no-package-lock", "--prefix", str(modules)]
        run(npm + [report.WASM_PACKAGE])
    return modules / "node_modules"


def memuse(kind, micropython, mpy_dir):
    """tools/bench/memuse.py's output for the package as .py, .mpy, .mpy in a ROMFS
    image (unix port), or .mpy on the 32-bit WebAssembly port ("mpy32")."""
    script = str(BENCH / "memuse.py")
    if kind == "py":
        return run([micropython, script], [ROOT / "lib", BENCH])
    if kind == "mpy":
        return run([micropython, script], [mpy_dir, BENCH])
    if kind == "romfs":
        return run([micropython, script, str(romfs_image(mpy_dir))], [BENCH])
    return run(["node", str(BENCH / "mem32.mjs"), str(wasm_port()), str(mpy_dir), str(BENCH)])


def memory(micropython, mpy_dir, results):
    for kind in ("py", "mpy", "romfs", "mpy32"):
        say("memory: import, WizFi360, sockets (%s)" % kind)
        try:
            out = memuse(kind, micropython, mpy_dir)
        except MEASURE_ERRORS as e:  # e.g. no Node.js or npm registry for mpy32: noted, the bench goes on
            say("error: memory (%s): %s" % (kind, e))
            results["errors"].append("memory (%s): %s" % (kind, str(e).splitlines()[0]))
            continue
        for what, *values in lines(out, "MEM"):
            if what == "lazy":  # name=bytes pairs
                for pair in values:
                    name, n = pair.split("=")
                    results["mem"].setdefault((kind, "lazy"), {}).setdefault(name, []).append(int(n))
                continue
            results["mem"][(kind, what)] = [int(v) for v in values]


def smallest_heap(micropython, mpy_dir, results, lo=16, hi=256):
    """Bisect (4K steps) the smallest -X heapsize under which the 1 MB echo passes."""
    test = rdt.TESTS / "test_echo_1mb.py"

    def passes(kb):
        r = rdt.run_file_unix(test, micropython, 120, None, heap="%dK" % kb, mpy_dir=mpy_dir)
        say("1 MB echo, .mpy, -X heapsize=%dK: %s" % (kb, "passes" if r.ok else "fails (%s)" % r.status))
        return r.ok

    if not passes(hi):
        results["min_heap"] = None
        return
    while hi - lo > 4:
        mid = (lo + hi) // 2 // 4 * 4
        if passes(mid):
            hi = mid
        else:
            lo = mid
    while not passes(hi):  # confirm; heap fragmentation can make one run differ
        hi += 4
    results["min_heap"] = hi * 1024


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5, help="timed runs per receive-path figure (default 5)")
    ap.add_argument("--e2e-runs", type=int, default=3, help="runs per end-to-end figure (default 3)")
    ap.add_argument("--stall-runs", type=int, default=3, help="runs of the event-loop stalls (default 3)")
    ap.add_argument(
        "--quick", action="store_true", help="development: 1 run each, 64 KB transfers (stalls: 100 KB)"
    )
    ap.add_argument(
        "--only",
        metavar="PART[,PART...]",
        help="run only these parts: %s (prints their rows; writes docs only with --out)" % ", ".join(PARTS),
    )
    ap.add_argument(
        "--tx-wait",
        type=int,
        metavar="BYTES",
        help="stalls: the UART's write() waits as a Pico's does, with this transmit buffer "
        "(256: a Pico's default); not for the published figures",
    )
    ap.add_argument("--out", help="where bench.md and bench.png go (default docs/, not with --only)")
    args = ap.parse_args(argv)
    parts = PARTS
    if args.only:
        parts = tuple(p.strip() for p in args.only.split(",") if p.strip())
        unknown = [p for p in parts if p not in PARTS]
        if unknown or not parts:
            ap.error("--only: unknown part %s (choose from %s)" % (", ".join(unknown), ", ".join(PARTS)))
    out_dir = args.out or (None if args.only else str(ROOT / "docs"))
    sizes = dict(E2E_SIZE)
    ceiling_sizes = dict(CEILING_SIZE)
    net_sizes = dict(NET_SIZE)
    if args.quick:
        args.runs = args.e2e_runs = args.stall_runs = 1
        sizes = ceiling_sizes = {b: 64 * 1024 for b in BAUDS}
        net_sizes = {b: min(64 * 1024, n) for b, n in NET_SIZE.items()}

    t0 = time.monotonic()
    micropython = rdt.find_micropython(None)
    mpy_dir = rdt.build_mpy(micropython, out=ROOT / "build" / "bench" / "mpy")
    results = {
        "machine": machine(micropython),
        "runs": args.runs,
        "e2e_runs": args.e2e_runs,
        "recv": {},
        "recv_rx": {},
        "instr": {},
        "wire": {},
        "alloc_frame": {},
        "alloc_send": {},
        "e2e": {},
        "ceiling": {},
        "net_e2e": {},
        "net_ceiling": {},
        "net_quirks": dict(NET_QUIRKS),
        "mem": {},
        "min_heap": None,
        "stall_runs": args.stall_runs,
        "stalls": {},
        "parts": parts,
        "errors": [],
    }
    steps = {
        "recv": lambda: (
            receive_path(micropython, mpy_dir, args.runs, results),
            instructions_per_frame(micropython, mpy_dir, results),
        ),
        "e2e": lambda: end_to_end(micropython, mpy_dir, args.e2e_runs, sizes, ceiling_sizes, results),
        "netmodel": lambda: network_model(micropython, mpy_dir, args.e2e_runs, net_sizes, results),
        "memory": lambda: memory(micropython, mpy_dir, results),
        "heap": lambda: smallest_heap(micropython, mpy_dir, results),
        "stalls": lambda: stalls(micropython, mpy_dir, args.stall_runs, STALL_SIZE, results, args.tx_wait),
    }
    for name in PARTS:
        if name not in parts:
            continue
        try:
            steps[name]()
        except MEASURE_ERRORS as e:
            say("error: %s" % e)
            results["errors"].append(str(e).splitlines()[0])
    results["seconds"] = time.monotonic() - t0
    rows = report.rows(results)
    print(report.table(rows))
    if out_dir is None:
        say("--only: docs/bench.md and docs/bench.png left as they are (%.0f s)" % results["seconds"])
    else:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        report.write_markdown(results, rows, out / "bench.md", quick=args.quick)
        report.write_chart(results, out / "bench.png")
        say("wrote %s and %s (%.0f s)" % (out / "bench.md", out / "bench.png", results["seconds"]))
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
