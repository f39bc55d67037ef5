"""The bench's results as a table (stdout), docs/bench.md and docs/bench.png.

`results` is the dict tools/bench/run.py fills; rows() turns it into table rows
(section, what, result, target, verdict), each target marked met or missed with
its margin.
"""

import statistics

MBPS = 1e6  # throughput in MB/s means 10^6 bytes a second
KB = 1024

RECV_TARGETS = {64: 50 * MBPS, 1460: 150 * MBPS}  # unix port, bytes/s, readinto (issue 16)
# The unix port runs the same code 100-250 times faster than an RP2040 at 125 MHz
# (issue 16, measured on bytecode in rp2040js): Pico figures are unix ones divided
# by this, as estimates. Their goal: at every frame size, twice the payload rate
# that a 2,000,000-baud line carries in such frames.
PICO_RATIO = (100, 250)
PICO_BAUD = 2_000_000
PICO_LINE_X = 2  # of the line's payload rate
E2E_TARGETS = {"down": 0.95, "up": 0.90}  # of the line rate (baud / 10)
# Under the emulator's network model (issue 16): the driver's upload within 10% of a bare
# client speaking the raw protocol to the same emulator. Downloads: the share, no target.
NET_TARGETS = {"up": 0.90}  # of the bare client's rate
IMPORT_TARGET = 20 * KB  # core import as .mpy: at most this (issue 16)
HEAP_TARGET = 48 * KB  # the 1 MB echo passes under this -X heapsize
WASM_PACKAGE = "@micropython/micropython-webassembly-pyscript@1.27.0"  # the 32-bit port (run.py)
SEND_SPREAD = 16  # bytes: send() costs "a constant" if sizes differ by at most this
STALL_TARGET_US = 50_000  # the event loop's longest stall in each case: under this (issue 14)
DNS_TIMEOUT_S = 15  # WizFi360.resolve's own deadline for AT+CIPDOMAIN
# run.py's parts; results["parts"] says which ran
PARTS = ("recv", "e2e", "netmodel", "memory", "heap", "stalls")


def med(values):
    return statistics.median(values) if values else None


def at_least(value, target):
    if value is None:
        return "not measured"
    margin = value / target - 1
    return ("met, %+.0f%%" if margin >= 0 else "MISSED by %.0f%%") % (
        abs(margin) * 100 if margin < 0 else margin * 100
    )


def under(value, target, unit=KB, name="KB"):
    if value is None:
        return "not measured"
    if value <= target:
        return "met, %.1f %s to spare" % ((target - value) / unit, name)
    return "MISSED by %.1f %s (%.0f%% over)" % ((value - target) / unit, name, (value / target - 1) * 100)


def below_ms(value_us, target_us):
    """A stall (us) against a target it must stay under (us)."""
    if value_us is None:
        return "not measured"
    if value_us < target_us:
        return "met, %.1f ms to spare" % ((target_us - value_us) / 1000)
    return "MISSED by %.1f ms (%.0f%% over)" % (
        (value_us - target_us) / 1000,
        (value_us / target_us - 1) * 100,
    )


def ms(us):
    return "%.1f ms" % (us / 1000)


def kb(n):
    return "-" if n is None else "%.1f KB" % (n / KB)


def rows(results):
    parts = results.get("parts", PARTS)
    out = []
    if "recv" in parts:
        _receive_rows(results, out)
    if "e2e" in parts:
        _e2e_rows(results, out)
    if "netmodel" in parts:
        _net_rows(results, out)
        _net_buffered_rows(results, out)
    if "memory" in parts:
        _memory_rows(results, out)
    if "e2e" in parts:
        _peak_row(results, out)
    if "heap" in parts:
        _heap_row(results, out)
    if "memory" in parts:
        _memory32_rows(results, out)
    if "stalls" in parts:
        _stall_rows(results, out)
    return out


def _receive_rows(results, out):
    recv = results["recv"]
    for impl, label in (("micropython", "unix port"), ("cpython", "CPython")):
        for size in (64, 536, 1460):
            for method in ("recv_into", "readinto"):
                rate = med(recv.get((impl, method, size), []))
                # Issue 16 sets its targets for readinto; recv_into is shown beside it.
                target = RECV_TARGETS.get(size) if impl == "micropython" and method == "readinto" else None
                out.append(
                    (
                        "Receive path (%s)" % label,
                        "%s, %d-byte frames, 2 links" % (method, size),
                        "-" if rate is None else "%.1f MB/s" % (rate / MBPS),
                        "≥ %d MB/s" % (target / MBPS) if target else "",
                        at_least(rate, target) if target else "",
                    )
                )
        if impl == "micropython":
            _cost_rows(recv, out)
            _instr_rows(results.get("instr", {}), out)
            _rx_rows(results.get("recv_rx", {}), out)
    _pico_rows(results, out)
    frames = results["alloc_frame"]
    for size in (64, 536, 1460):
        per = [frames[k] for k in frames if k[1] == size]
        worst = max(per) if per else None
        out.append(
            (
                "Allocation (unix port)",
                "heap per received %d-byte frame (recv_into, readinto)" % size,
                "-" if worst is None else "%.1f B" % worst,
                "0 B",
                "not measured"
                if worst is None
                else ("met" if worst == 0 else "MISSED by %.1f B/frame" % worst),
            )
        )
    sends = results["alloc_send"]
    if sends:
        spread = max(sends.values()) - min(sends.values())
        verdict = (
            "met, %.0f B each" % med(list(sends.values()))
            if spread <= SEND_SPREAD
            else "MISSED: grows with size"
        )
        values = " / ".join("%.0f" % sends[k] for k in sorted(sends))
        sizes = " / ".join("%d" % k for k in sorted(sends))
        out.append(
            (
                "Allocation (unix port)",
                "heap per send() of %s bytes" % sizes,
                values + " B",
                "constant",
                verdict,
            )
        )


def cost_fit(recv, impl, method):
    """(us per frame, ns per payload byte) of a least-squares line through the time a frame
    takes (payload / rate) at each frame size measured, or None with fewer than two."""
    points = [
        (size, size / med(rates))
        for (i, m, size), rates in sorted(recv.items())
        if i == impl and m == method and rates
    ]
    if len(points) < 2:
        return None
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    b = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
    return (my - b * mx) * 1e6, b * 1e9


# When the larger frames cost more a byte than the smaller ones (a frame split
# across reads, a ring that fills), the line through the sizes crosses zero and
# its cost per frame comes out negative: no split is then printed.
NO_LINE = "no straight line (the per-frame part came out negative); see the instruction counts"


def _cost_rows(recv, out):
    for method in ("recv_into", "readinto"):
        fit = cost_fit(recv, "micropython", method)
        if fit is None:
            continue
        out.append(
            (
                "Receive path (unix port)",
                "%s: cost per frame + per payload byte (fit over the frame sizes)" % method,
                "%.2f us + %.2f ns/B" % fit if fit[0] >= 0 else NO_LINE,
                "",
                "",
            )
        )


def _instr_rows(instr, out):
    # valgrind's instruction counts: steady where the MB/s above move with the machine.
    for size in sorted({k[1] for k in instr}):
        out.append(
            (
                "Receive path (unix port)",
                "instructions a %d-byte frame, recv_into / readinto (valgrind)" % size,
                " / ".join("%.1fk" % (instr[(m, size)] / 1000) for m in ("recv_into", "readinto")),
                "",
                "",
            )
        )


def _rx_rows(rx, out):
    for size in sorted({k[1] for k in rx}):
        sizes = sorted(k[2] for k in rx if k[1] == size)
        out.append(
            (
                "Receive path (unix port)",
                "readinto, %d-byte frames, rx_size=%s" % (size, "/".join("%d" % n for n in sizes)),
                " / ".join("%.1f" % (med(rx[("readinto", size, n)]) / MBPS) for n in sizes) + " MB/s",
                "",
                "",
            )
        )


def pico_verdict(low, high, need):
    """low, high: the estimate's range; need: the goal."""
    if low >= need:
        return "met (est.)"
    if high >= need:
        return "met only at the ratio's low end (est.)"
    return "MISSED (est.)"


def _pico_rows(results, out):
    recv = results["recv"]
    wire = results.get("wire", {})
    lo_r, hi_r = PICO_RATIO
    section = "Receive path on a Pico (estimates: unix port ÷ %d-%d)" % PICO_RATIO
    for size in (64, 536, 1460):
        rate = med(recv.get(("micropython", "readinto", size), []))
        if rate is None or size not in wire:
            continue
        line = PICO_BAUD / 10 * size / wire[size]  # payload bytes/s the line carries
        low, high = rate / hi_r, rate / lo_r
        out.append(
            (
                section,
                "readinto, %d-byte frames, 2 links" % size,
                "%.2f-%.2f MB/s, %.1f-%.1fx 2 Mbaud" % (low / MBPS, high / MBPS, low / line, high / line),
                "≥ %dx 2 Mbaud (%.2f MB/s)" % (PICO_LINE_X, PICO_LINE_X * line / MBPS),
                pico_verdict(low, high, PICO_LINE_X * line),
            )
        )
    for method in ("recv_into", "readinto"):
        fit = cost_fit(recv, "micropython", method)
        if fit is None:
            continue
        frame_us, byte_ns = fit
        out.append(
            (
                section,
                "%s: cost per frame + per payload byte" % method,
                "%.0f-%.0f us + %.2f-%.2f us/B"
                % (frame_us * lo_r, frame_us * hi_r, byte_ns * lo_r / 1000, byte_ns * hi_r / 1000)
                if frame_us >= 0
                else NO_LINE,
                "",
                "",
            )
        )


def _e2e_rows(results, out):
    for (baud, way), entry in sorted(results["e2e"].items(), key=lambda kv: (kv[0][0], kv[0][1] != "down")):
        rate = med(entry["rates"])
        line = baud / 10
        size = entry["size"]
        what = "download" if way == "down" else "upload"
        out.append(
            (
                "End to end (unix port, emulator)",
                "%s %s at %d baud" % (what, _size(size), baud),
                "%.1f%% (%.0f B/s)" % (rate / line * 100, rate),
                "≥ %d%%" % (E2E_TARGETS[way] * 100),
                at_least(rate / line, E2E_TARGETS[way]),
            )
        )
        top = results["ceiling"].get((baud, way))
        if top:
            out.append(
                (
                    "End to end (unix port, emulator)",
                    "  the emulator's ceiling: raw CPython client, %s %s" % (what, _size(top["size"])),
                    "%.1f%%" % (med(top["rates"]) / line * 100),
                    "",
                    "",
                )
            )


def _net_rows(results, out):
    """The driver against the bare client (ceiling.py), both under the network model."""
    section = _net_section(results)
    driver, bare = results.get("net_e2e", {}), results.get("net_ceiling", {})
    if not driver and not bare:  # the part ran and nothing came of it
        target = "≥ %d%% of the bare client" % (NET_TARGETS["up"] * 100)
        out.append((section, "upload, driver / bare client", "-", target, "not measured"))
    for baud, way in sorted(set(driver) | set(bare), key=lambda k: (k[0], k[1] != "down")):
        mine, theirs = driver.get((baud, way)), bare.get((baud, way))
        rate = med(mine["rates"]) if mine else None
        top = med(theirs["rates"]) if theirs else None
        size = (mine or theirs)["size"]
        target = NET_TARGETS.get(way)
        line = baud / 10
        share = rate / top if rate and top else None
        result = "%s / %s KB/s" % (_kbs(rate), _kbs(top))
        if share is not None:
            result += ": %.1f%% (of the line: %.1f%% / %.1f%%)" % (
                share * 100,
                rate / line * 100,
                top / line * 100,
            )
        out.append(
            (
                section,
                "%s %s at %d baud, driver / bare client"
                % ("download" if way == "down" else "upload", _size(size), baud),
                result,
                "≥ %d%% of the bare client" % (target * 100) if target else "",
                at_least(share, target) if target else "",
            )
        )


def _net_section(results):
    quirks = results.get("net_quirks") or {}
    section = (
        "End to end, network model (unix port, emulator: SEND OK after ceil(n / %s) round trips of %s ms)"
    )
    return section % (quirks.get("net_window", "?"), quirks.get("net_latency_ms", "?"))


def _net_buffered_rows(results, out):
    """The bare client with several sends in flight (buffered.py) beside the one at a
    time (ceiling.py) and the driver: uploads, no target (issue 16: measure it)."""
    buffered = results.get("net_buffered") or {}
    for baud in sorted(buffered):
        entry = buffered[baud]
        rate = med(entry["rates"])
        one = (results.get("net_ceiling") or {}).get((baud, "up"))
        driver = (results.get("net_e2e") or {}).get((baud, "up"))
        alone = med(one["rates"]) if one else None
        result = "%s / %s / %s KB/s" % (
            _kbs(rate),
            _kbs(alone),
            _kbs(med(driver["rates"]) if driver else None),
        )
        if rate and alone:
            result += ": %.2fx one at a time (of the line: %.1f%%)" % (rate / alone, rate / (baud / 10) * 100)
        out.append(
            (
                _net_section(results),
                "upload %s at %d baud, bare client with several sends in flight"
                " (buffered send) / one at a time / driver" % (_size(entry["size"]), baud),
                result,
                "",
                "",
            )
        )


def _kbs(rate):
    """A rate in KB/s (1024 B/s), or "-"."""
    return "-" if rate is None else "%.1f" % (rate / KB)


def _memory_rows(results, out):
    mem = results["mem"]
    for kind in ("py", "mpy", "romfs"):
        value = med(mem.get((kind, "import"), []))
        if value is None and kind == "romfs":
            continue
        target = IMPORT_TARGET if kind == "mpy" else None
        out.append(
            (
                "Memory (unix port)",
                "import wizfi360 + wizfi360.socket as .%s" % kind
                if kind != "romfs"
                else "the same, .mpy in a ROMFS image (bytecode runs in place, as from a board's flash)",
                kb(value),
                "≤ 20 KB" if target else "",
                under(value, target) if target else "",
            )
        )
    device = med(mem.get(("mpy", "device"), []))
    out.append(("Memory (unix port)", "one WizFi360, started (default buffers)", kb(device), "", ""))
    per_socket = med(mem.get(("mpy", "socket"), []))
    out.append(("Memory (unix port)", "each open socket (median of 5)", kb(per_socket), "", ""))
    cycle = med(mem.get(("mpy", "cycle"), []))
    growth = kb(cycle) if cycle is None or cycle > 0 else "none (%+d B)" % cycle
    out.append(("Memory (unix port)", "growth over 20 sockets opened and closed", growth, "", ""))
    lazy = mem.get(("mpy", "lazy"), {})
    if lazy:
        out.append(
            (
                "Memory (unix port)",
                "optional modules, each when first used (.mpy)",
                ", ".join("%s %s" % (name, kb(med(v))) for name, v in lazy.items()),
                "",
                "",
            )
        )


def _peak_row(results, out):
    peaks = [p for e in results["e2e"].values() if e["size"] >= 1024 * KB for p in e["peaks"]]
    out.append(
        (
            "Memory (unix port)",
            "peak live heap during the 1 MB transfers (whole program; ~14 KB are the bench's own buffers)",
            kb(max(peaks) if peaks else None),
            "",
            "",
        )
    )


def _heap_row(results, out):
    heap = results["min_heap"]
    out.append(
        (
            "Memory (unix port)",
            "smallest -X heapsize for the 1 MB echo (.mpy)",
            "-" if heap is None else "%dK" % (heap // KB),
            "≤ 48K",
            under(heap, HEAP_TARGET),
        )
    )


def _memory32_rows(results, out):
    value = med(results["mem"].get(("mpy32", "import"), []))
    if value is not None:
        out.append(
            (
                "Memory (32-bit: WebAssembly port)",
                "import wizfi360 + wizfi360.socket as .mpy (within about 2 KB, see below)",
                kb(value),
                "",
                "",
            )
        )


STALL_CASES = (  # (case, what; with a target?)
    ("idle", "longest stall of a 10 ms heartbeat, idle: no I/O (this machine's own jitter)", False),
    ("connect", "longest stall of a 10 ms heartbeat during a connect to a peer that accepts after 1 s", True),
    ("write", "the same during a %s write (2 KB writes, each drained)", True),
    ("download", "the same during a %s download", True),
    ("all", "the same during all three at once", True),
)


def _stall_rows(results, out):
    stalls = results.get("stalls", {})
    baud = results.get("stall_baud", 921600)
    size = _size(results.get("stall_size", 100 * KB))
    section = "Event loop (unix port, asyncio, emulator at %d baud)" % baud
    if results.get("stall_txbuf"):
        section = (
            section[:-1] + "; UART write() waits as on a Pico, %d-byte TX buffer)" % results["stall_txbuf"]
        )
    for case, what, targeted in STALL_CASES:
        entry = stalls.get(case) or {}
        worst = entry.get("worst") or []
        if worst:
            result = "%s median, %s worst (%d beats in %.2f s)" % (
                ms(med(worst)),
                ms(max(worst)),
                med(entry["beats"]),
                med(entry["window"]) / 1e6,
            )
        else:
            result = "-"
        out.append(
            (
                section,
                what % size if "%s" in what else what,
                result,
                "< %d ms" % (STALL_TARGET_US // 1000) if targeted else "",
                below_ms(max(worst) if worst else None, STALL_TARGET_US) if targeted else "",
            )
        )
    blocked = (stalls.get("dns") or {}).get("blocked") or []
    out.append(
        (
            "DNS lookup (unix port, emulator at %d baud)" % baud,
            "getaddrinfo() of a name the emulator resolves: blocks the loop by design,"
            " ends by its own %d s timeout" % DNS_TIMEOUT_S,
            "%s median, %s worst" % (ms(med(blocked)), ms(max(blocked))) if blocked else "-",
            "",
            "blocks by design" if blocked else "not measured",
        )
    )


def _size(n):
    return "%d MB" % (n // (1024 * KB)) if n % (1024 * KB) == 0 else "%d KB" % (n // KB)


def table(rows_):
    head = ("", "measure", "result", "target", "verdict")
    widths = [max(len(str(r[i])) for r in rows_ + [head]) for i in range(5)]
    lines = []
    section = None
    for r in rows_:
        if r[0] != section:
            section = r[0]
            lines.append("")
            lines.append(section)
        lines.append("  " + "  ".join(str(r[i]).ljust(widths[i]) for i in range(1, 5)).rstrip())
    return "\n".join(lines)


def write_markdown(results, rows_, path, quick=False):
    m = results["machine"]
    md = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`tools/bench/run.py`) on %s; do not edit by hand." % m["date"],
        "",
        "Machine: %s, %s cores; MicroPython %s, unix port; CPython %s; mpy-cross: %s."
        % (m["cpu"], m["cores"], m["micropython"], m["cpython"], m["mpy_cross"]),
        "Driver: %s." % m["driver"],
        "Each figure is the median of %d runs (receive path, allocation) or %d runs (end to end);"
        " the event-loop stalls give the median and the worst of %d runs;"
        " the whole bench took %.0f s."
        % (results["runs"], results["e2e_runs"], results.get("stall_runs", 3), results["seconds"]),
    ]
    if quick:
        md += ["", "**Quick run (`--quick`): one run each and 64 KB transfers; not the published figures.**"]
    if results["errors"]:
        md += ["", "**Some measurements failed:** " + "; ".join(results["errors"])]
    md += ["", "| | measure | result | target | verdict |", "|---|---|---|---|---|"]
    section = None
    for r in rows_:
        first = "**%s**" % r[0] if r[0] != section else ""
        section = r[0]
        md.append("| %s | %s | %s | %s | %s |" % (first, r[1], r[2], r[3], r[4]))
    md += ["", "![receive path, end to end and memory](bench.png)", "", METHODS]
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(md) + "\n")


METHODS = (
    """## How the figures are made

- **Receive path**: `tools/bench/recvpath.py`. A `WizFi360` runs on `tools/bench/memmodule.py`, a
  stand-in for the module on a UART with no I/O: it answers the start-up and link commands and then
  hands out a pre-built stream of `+IPD,<id>,<len>:` frames (the driver turns the sender off at
  start-up, `AT+CIPDINFO=0`; 64, 536 or 1460 payload bytes, alternating between two open
  sockets; the payload is made of protocol text such as `OK` and
  `+IPD,`) as fast as the driver reads it, at most 4096 bytes per read; on MicroPython its
  `readinto` is then `io.BytesIO`'s, in C, as a board's `machine.UART.readinto` is (its `any()` is
  Python). The bench reads it through the
  public socket API into a 4096-byte buffer, each link in turn: `recv_into()` of what is there, or
  `readinto()` of the whole buffer. A figure is payload bytes read per second over a run of at least
  0.25 s; the payload is checked byte for byte before and after a warm-up and the byte count against
  what the stand-in handed out after each run. The unix port runs the package compiled by `mpy-cross`,
  as on a board (viper included); CPython runs the `.py` files (no viper there: no fast path, copies go
  through slices). The cost per frame and per payload byte is a least-squares line through the time a
  frame takes (payload / rate) at the three sizes; `rx_size` rows read the same way with other sizes
  of the driver's UART read buffer (`WizFi360(rx_size=...)`). The Pico rows divide the unix port's
  figures by 100-250, the ratio measured between the two on the same code (bytecode; issue 16), and
  compare with the payload a 2,000,000-baud line carries in such frames (`+IPD` header included):
  estimates, not measurements. The instruction counts run the same reads under valgrind
  (callgrind), 50 and 250 rounds, and divide the difference by the frames it read: start-up
  cancels out, and the figure moves only when the code does (the MB/s move with the machine,
  up to a factor of two between runs minutes apart on this one).
- **Allocation**: the same set-up on the unix port with `gc.disable()`: `gc.mem_alloc()` before and
  after 2000 frames (after a warm-up that ends with a round that allocates nothing: the rings
  grow, once, to what reading two links so needs), divided by the frame count; and before and
  after 200 `send()` calls of a 64-, 536- and 2048-byte buffer to the stand-in (which allocates
  nothing itself). "Constant" means the three sizes cost the same to within 16 bytes: the
  caller's data is not copied.
- **End to end**: `tools/bench/e2e.py` on the unix port (package as `.mpy`, `-X heapsize=256K`)
  drives the emulator (`tools/emulator.py --baud N`, its own process) through `SocketUART`; the
  emulator paces its UART to `N / 10` bytes a second each way, in pieces of at most about 1 ms of
  line time. One socket to a local data server: a download with `recv_into()` into a 2048-byte buffer
  (every byte checked), then an upload of 2048-byte `sendall()` calls (the server checks every byte and
  answers once all arrived; the time runs until that answer). The figure is payload bytes per second
  divided by the line rate, `baud / 10`; on the wire `+IPD` headers and the `AT+CIPSEND` exchanges
  also take their share, so 100% is out of reach (a 1460-byte frame carries about 32 header bytes:
  at most 97.9% for downloads; each 2048-byte send costs about 56 bytes of command and answers:
  at most 97.3% for uploads). 1 MB each way at every rate. At 115200 baud a run takes three minutes,
  so its three runs go side by side (each with its own emulator and driver process) for the bench to
  stay within ten minutes; on this 2-core machine that costs the upload about one point (one 1 MB run
  alone: 97.8% down, 96.5% up; three side by side: 97.8% and 95.5%) and the download nothing.
- **The emulator's ceiling**: `tools/bench/ceiling.py`, a CPython client that speaks the raw AT
  protocol to the same paced emulator and does nothing else (256 KB each way, 64 KB at 115200). The
  emulator hands bytes over only once the line has carried them and its threads wake a little late
  at each turn of the line, as a real module takes time to answer; the gap between this line and the
  driver's figure is what the driver itself costs.
- **Network model** (issue 15 item 5, issue 16): the same driver and bare-client runs, the same
  sizes for both (128 KB each way, 32 KB at 115200, where the three runs go side by side as above),
  with the emulator's network model on: `--quirk net_latency_ms=35 --quirk net_window=1460`, the
  values of its "real" profile (`tools/wizfi360_emu/quirks.py`) and nothing else of it. A send's
  `SEND OK` then comes only `ceil(n / 1460)` round trips of 35 ms after its data arrived, as real
  firmware acknowledges a send once the network has (CMSIS-Driver's validation of a WizFi360 at
  921600 baud: ~85 KB/s down, ~23 KB/s up), so a 2048-byte send costs two round trips and uploads run
  at about a quarter of the line rate; downloads are paced by the line alone (but for the `GET`'s
  own `SEND OK`, one round trip inside the timed window: about a point of 32 KB at 115200). The
  row gives both rates (KB/s, 1024 B), the driver's as a share of the bare client's, and each as a
  share of the line rate; the target, from issue 16, is the driver's upload within 10% of the bare
  client's. Beside them (issue 16), `tools/bench/buffered.py`, a bare client that keeps several sends
  in flight with the module's buffered send (`AT+CIPSENDBUF`, else the manual's `AT+CIPSENDERBUF`;
  module-notes "Sends"): each write goes into the module's 21900-byte send buffer and the module
  takes the next command at once, while the network model drains the buffer, a window a round trip,
  and reports each segment (`0,<segment>,SEND OK`); the client writes on while the bytes of its
  segments not yet reported fit in the buffer. Its upload (same sizes, 3 runs) is given beside the
  one-at-a-time client's and the driver's; no target.
  `make bench ARGS="--only netmodel"` runs this part alone (about 2.5 minutes, 35 s of it the
  buffered client's).
- **Memory**: `tools/bench/memuse.py`: live heap (`gc.mem_alloc()` after `gc.collect()`) before and
  after `import wizfi360` plus `from wizfi360 import socket`, with the package as `.py` and as `.mpy`,
  and as `.mpy` in a ROMFS image (`mpremote romfs build`) mounted with `vfs.VfsRom`, which is how a
  board whose firmware has ROMFS runs it after `mpremote romfs deploy` (the image, read into memory
  before the baseline, stands for the flash);
  after creating one `WizFi360` on the stand-in; after each of five `connect()`s; after 20 more sockets
  opened and closed. The peak during the transfers is the largest live heap `e2e.py` saw, sampled
  every 64 KB. The smallest heap is bisected in 4K steps: `tests_device/test_echo_1mb.py` (one link,
  1 MB through an echo server, byte-exact) run with the package as `.mpy` under `-X heapsize=<n>K`.
- **Event loop** (issue 14): `tools/bench/stalls.py` on the unix port (package as `.mpy`,
  `-X heapsize=256K`), after `wizfi360.install()`, so that asyncio's own streams
  (`asyncio.open_connection`) go through the driver; the emulator paced at 921600 baud, with its
  control channel; 3 runs, each with a fresh emulator and MicroPython process. A heartbeat task does
  `await asyncio.sleep_ms(10)` in a loop and keeps the largest gap between two of its wake-ups beyond
  the 10 ms: the loop's longest stall. Each case is a window over which that stall and the heartbeat's
  count are taken (the gap the window ends in included): a connect to a peer that accepts after 1 s
  (the emulator's `connect-delay 1000` holds the module's `AT+CIPSTART` that long), then close; a
  100 KB write to the bench's data server (`PUT`, 2 KB `write()`s each followed by `drain()`, until the
  server says all bytes arrived and matched); a 100 KB download (`GET`, `readinto()` of 2 KB, every
  byte checked); all three at once (the write's and the download's links opened first, so that the
  delayed `AT+CIPSTART` is the connect's). The target, under 50 ms, is judged on the worst run.
  Before the first window `wizfi360.stream` and asyncio's stream module are imported (README advises
  importing early on a board), and each window starts after a `gc.collect()`. The idle row is the
  heartbeat alone: this machine's own jitter (timer wake-ups; the emulator's and the data server's
  threads share its cores). A stall shorter than the 10 ms sleep shows only in part, or not at all,
  when it does not cover a wake-up. **DNS**: `socket.getaddrinfo()` of a name in the emulator's DNS
  map, timed as a call: a lookup is a plain function, not a stream asyncio can wait on, so it blocks
  the loop by design, for as long as the module takes, and ends by its own 15 s timeout
  (`WizFi360.resolve`); the emulator answers at once, so this is the AT round trip only, where a real
  module waits for the network's DNS server.
- **What the stalls mean on a Pico**: Python code runs 100-250x slower on an RP2040 than on this unix
  port (the UART line does not), so a stall measured here is a lower bound for the board, not an
  estimate of it. Also unseen here: a Pico's `machine.UART.write()` returns only once every byte is
  in its transmit buffer (256 bytes unless `txbuf=` says more), and the driver writes a send's data,
  up to 2 KB, in one call, so each send holds the loop for the line time of what does not fit
  (about 19 ms at 921600 baud, 155 ms at 115200). `make bench ARGS="--only stalls --tx-wait 256"`
  runs the cases with a UART that waits so.
- **Memory on 32 bits**: the unix port here is 64-bit; a Pico's pointers, object headers and heap
  blocks are half that size. `tools/bench/mem32.mjs` runs the same steps of `memuse.py`, with the
  same `.mpy` files, on MicroPython's WebAssembly port, which is 32-bit (the npm package
  `"""
    + WASM_PACKAGE
    + """`, installed into `build/` on first use). That port is not a Pico: it is
  built with more features (the "pyscript" variant) and has no viper, so the driver's copy routine
  is the plain Python one there (`bufcopy.py`). Its collector scans the WebAssembly stack
  conservatively: while a call from JavaScript runs it also keeps what stale words there point
  at, so the script takes each reading in a call of its own. Some false retention remains: the
  same import read 24.7 to 26.9 KB with the steps in other orders, where the unix port's figure
  stays within 0.1 KB. Only the import is reported; the smaller figures (a `WizFi360`, a socket)
  move by as much as they measure.
"""
)


def write_chart(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.8), gridspec_kw={"width_ratios": [1.3, 1, 1.2]})
    m = results["machine"]
    fig.suptitle("wizfi360 driver, %s, MicroPython %s" % (m["cpu"], m["micropython"].split()[0]), fontsize=11)

    sizes = (64, 536, 1460)
    series = (
        ("micropython", "recv_into", "unix port, recv_into"),
        ("micropython", "readinto", "unix port, readinto"),
        ("cpython", "recv_into", "CPython, recv_into"),
        ("cpython", "readinto", "CPython, readinto"),
    )
    width = 0.2
    for i, (impl, method, label) in enumerate(series):
        values = [(med(results["recv"].get((impl, method, s), [])) or 0) / MBPS for s in sizes]
        bars = ax1.bar([j + (i - 1.5) * width for j in range(3)], values, width, label=label)
        ax1.bar_label(bars, fmt="%.0f", fontsize=7)
    for j, s in enumerate(sizes):
        if s in RECV_TARGETS:
            ax1.hlines(RECV_TARGETS[s] / MBPS, j - 0.45, j + 0.45, colors="red", linestyles="dashed")
    ax1.set_xticks(range(3), ["%d B frames" % s for s in sizes])
    ax1.set_yscale("log")
    ax1.set_ylabel("MB/s (10^6 B/s), log scale")
    ax1.set_title("Receive path (red: unix port target)")
    ax1.legend(fontsize=8)

    bauds = sorted({b for b, _ in results["e2e"]})
    for i, way in enumerate(("down", "up")):
        values = []
        for b in bauds:
            e = results["e2e"].get((b, way))
            values.append(med(e["rates"]) / (b / 10) * 100 if e else 0)
        label = "download" if i == 0 else "upload"
        xs = [j + (i - 0.5) * 0.35 for j in range(len(bauds))]
        bars = ax2.bar(xs, values, 0.35, label=label)
        ax2.bar_label(bars, fmt="%.1f", fontsize=7, label_type="center")
        for x, b in zip(xs, bauds):
            top = results["ceiling"].get((b, way))
            if top:
                ax2.hlines(med(top["rates"]) / (b / 10) * 100, x - 0.17, x + 0.17, colors="black")
        ax2.axhline(E2E_TARGETS[way] * 100, color="C%d" % i, linestyle="dashed", linewidth=1, zorder=3)
    ax2.set_xticks(range(len(bauds)), ["%d" % b for b in bauds])
    ax2.set_xlabel("baud")
    ax2.set_ylim(0, 105)
    ax2.set_ylabel("% of the line rate (baud / 10)")
    ax2.set_title("End to end, paced emulator (black: its ceiling)")
    ax2.legend(fontsize=8, loc="lower left")

    mem = results["mem"]
    peaks = [p for e in results["e2e"].values() if e["size"] >= 1024 * KB for p in e["peaks"]]
    bars = (
        ("import\n.py", med(mem.get(("py", "import"), [])), None),
        ("import\n.mpy", med(mem.get(("mpy", "import"), [])), IMPORT_TARGET),
        ("import .mpy\n32-bit", med(mem.get(("mpy32", "import"), [])), None),
        ("WizFi360", med(mem.get(("mpy", "device"), [])), None),
        ("per\nsocket", med(mem.get(("mpy", "socket"), [])), None),
        ("peak in\n1 MB", max(peaks) if peaks else None, None),
        ("min heap\n1 MB echo", results["min_heap"], HEAP_TARGET),
    )
    for j, (_label, value, target) in enumerate(bars):
        bar = ax3.bar(j, (value or 0) / KB, 0.6, color="C2" if target is None else "C4")
        ax3.bar_label(bar, fmt="%.1f", fontsize=7)
        if target:
            ax3.hlines(target / KB, j - 0.4, j + 0.4, colors="red", linestyles="dashed")
    ax3.set_xticks(range(len(bars)), [b[0] for b in bars], fontsize=8)
    ax3.set_ylabel("KB of heap")
    ax3.set_title("Memory, unix port unless marked (red: target)")

    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
