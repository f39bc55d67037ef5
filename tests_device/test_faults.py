# Module faults through the public API: an unexpected reboot (with boot noise),
# busy answers, failed sends, a module that stops answering, a Wi-Fi drop, and
# garbage on the line. The emulator makes the faults (emucontrol.emu(), its control
# channel): off-board only; on a board the file is skipped.
import errno

import emucontrol

import board
import harness
from harness import eq, raises, true
from wizfi360 import socket

try:
    from time import sleep_ms, ticks_diff, ticks_ms
except ImportError:  # CPython
    from harness import ticks_diff, ticks_ms

    def sleep_ms(ms):
        import time

        time.sleep(ms / 1000)


SLACK_MS = 3000  # what a deadline may be overrun by: these are not timing tests


# --- helpers ------------------------------------------------------------------


def _wifi():
    # A new driver for each test, joined, with no fault left on: a test that
    # fails half way (a link lost, the module out of step) cannot make the
    # next one fail too. Each driver takes over the emulator's UART.
    emucontrol.emu("clear")
    return board.fresh_wifi()


def _echo_socket(timeout=5):
    s = board.settings()
    sock = socket.socket()
    sock.settimeout(timeout)
    sock.connect((s["echo_host"], s["echo_port"]))
    return sock


def _echo(sock, data):
    sock.write(data)
    eq(sock.read(len(data)), data)


def _close_all(socks):
    for sock in socks:
        sock.close()


def _five_sockets_work():
    # The module has link IDs 0-4: all five can be open at once and carry data
    # (a link ID lost by an error shows up here as ENOMEM or EALREADY).
    socks = []
    try:
        for _ in range(5):
            socks.append(_echo_socket())
        for i, sock in enumerate(socks):
            _echo(sock, b"link %d works" % i)
    finally:
        _close_all(socks)
    eq(emucontrol.emu_state()["links"], "", "links left open on the module")


def _within(t0, deadline_ms, what):
    took = ticks_diff(ticks_ms(), t0)
    true(took <= deadline_ms + SLACK_MS, "%s took %d ms (deadline %d ms)" % (what, took, deadline_ms))


def _times_out(deadline_ms, what, fn, *args):
    # fn(*args) must raise OSError(ETIMEDOUT) by its deadline (loosely).
    t0 = ticks_ms()
    e = raises(OSError, fn, *args)
    _within(t0, deadline_ms, what)
    eq(e.errno, errno.ETIMEDOUT, "%s: %r" % (what, e))


def _fails_fast(what, fn, *args):
    # fn(*args) must raise OSError because the module said so, not because
    # the caller's deadline (the socket's timeout) ran out. Returns the error.
    t0 = ticks_ms()
    e = raises(OSError, fn, *args)
    true(e.errno != errno.ETIMEDOUT, "%s: timed out instead of failing: %r" % (what, e))
    _within(t0, 0, what)
    return e


def _eof_or_error(sock):
    # After the module lost the link: recv gives EOF or raises, at once.
    t0 = ticks_ms()
    try:
        data = sock.recv(100)
    except OSError as e:
        true(e.errno != errno.ETIMEDOUT, "recv waited for its timeout: %r" % e)
        data = b""
    eq(data, b"")
    _within(t0, 0, "recv on a lost link")


# --- unexpected reboot ---------------------------------------------------------


def _reboot_mid_transfer(garbage_hex):
    w = _wifi()
    reboots = w.stats()["reboots"]
    socks = [_echo_socket(), _echo_socket()]
    try:
        _echo(socks[1], b"warm up")
        socks[0].write(b"arrived before the reboot")
        sleep_ms(200)  # the echo reaches the module's UART before "ready"
        emucontrol.emu(("reboot " + garbage_hex).strip())
        # What arrived before is not lost; then the link is gone.
        eq(socks[0].read(25), b"arrived before the reboot")
        for sock in socks:
            _eof_or_error(sock)
            raises(OSError, sock.send, b"after the reboot")
        eq(w.isconnected(), False)
        eq(w.stats()["reboots"], reboots + 1)
    finally:
        _close_all(socks)
    # The driver sets the module up again by itself (manual 3.2.1.2, 3.2.3.3,
    # 3.2.3.14) before its next command.
    true(w.config("hostname"))
    st = emucontrol.emu_state()
    # (The module restarts with echo on and +IPD naming the sender; the driver
    # turns both off.)
    eq((st["echo"], st["mux"], st["dinfo"]), ("0", "1", "0"), "module not set up again: %r" % st)
    eq(w.isconnected(), False)
    s = board.settings()
    w.connect(s["ssid"], s["key"])
    _five_sockets_work()


def test_reboot_mid_transfer():
    _reboot_mid_transfer("")


def test_reboot_mid_transfer_with_boot_noise():
    # Boot noise before "ready" (module-notes): bytes no line starts with.
    _reboot_mid_transfer("fffe00fd 0d0a 657473204a616e")


# --- busy p... ----------------------------------------------------------------


def test_busy_a_few_times_is_retried():
    w = _wifi()
    emucontrol.emu("busy 3")
    n = emucontrol.emu_commands()
    ip = w.ifconfig()[0]
    true(ip != "0.0.0.0", ip)
    true(emucontrol.emu_commands() >= n + 3 + 2, "the busy answers were not retried")
    emucontrol.emu("busy 2")
    sock = _echo_socket()
    try:
        emucontrol.emu("busy 2")
        _echo(sock, b"sent through busy answers")
    finally:
        sock.close()


def test_busy_past_the_deadline_times_out():
    w = _wifi()
    emucontrol.emu("busy 100000")
    old = w.timeout_ms
    w.timeout_ms = 1000
    try:
        _times_out(1000, "ifconfig while busy", w.ifconfig)
        sock = socket.socket()
        sock.settimeout(1)
        s = board.settings()
        _times_out(1000, "connect while busy", sock.connect, (s["echo_host"], s["echo_port"]))
        sock.close()
    finally:
        w.timeout_ms = old
        emucontrol.emu("busy 0")
    true(w.ifconfig()[0] != "0.0.0.0")
    _five_sockets_work()


# --- failed sends -------------------------------------------------------------


def _failed_send(fault, what, send, after=None):
    # One send through an emulator fault must raise at once; the socket's link
    # ID is free for a new socket once it is closed.
    _wifi()
    sock = _echo_socket(timeout=2)
    try:
        _echo(sock, b"before")
        emucontrol.emu("send-fault " + fault)
        _fails_fast(what, getattr(sock, send), b"this send fails")
        if after is not None:
            after(sock)
    finally:
        sock.close()
    _five_sockets_work()


def test_send_fail():
    _failed_send("fail", "send with SEND FAIL", "send")


def test_send_error_after_prompt():
    _failed_send("error", "send with ERROR after >", "send")


def _unusable(sock):
    _eof_or_error(sock)  # the link is gone
    raises(OSError, sock.send, b"again")


def test_send_closed_by_peer():
    _failed_send("closed", "sendall on a link the peer closed", "sendall", _unusable)


# --- a module that stops answering ------------------------------------------------


def test_mute_every_call_ends_by_its_deadline():
    w = _wifi()
    s = board.settings()
    sock = _echo_socket()
    other = socket.socket()
    old = w.timeout_ms
    try:
        _echo(sock, b"before")
        emucontrol.emu("mute")
        w.timeout_ms = 1000
        sock.settimeout(1)
        _times_out(1000, "send", sock.send, b"into the void")
        sock.settimeout(0.5)
        _times_out(500, "recv", sock.recv, 10)
        other.settimeout(1)
        _times_out(1000, "connect", other.connect, (s["echo_host"], s["echo_port"]))
        _times_out(1000, "ifconfig", w.ifconfig)
        _times_out(1000, "status('rssi')", w.status, "rssi")
        _times_out(1000, "connect to the AP", lambda: w.connect(s["ssid"], s["key"], timeout_ms=1000))
        t0 = ticks_ms()
        sock.close()  # gives up on the module, does not hang
        _within(t0, 5000, "close")
    finally:
        w.timeout_ms = old
        emucontrol.emu("unmute")
        sock.close()
        other.close()
    # The send written into the silence may still get its ">" (the module
    # would take the next bytes as its data), so nothing is written until the
    # module speaks: here its own watchdog restarts it (the next test has the
    # driver do it on the RST pin).
    emucontrol.emu("reboot")
    # Back in step: commands work, and every link ID is usable again.
    if not w.isconnected():
        w.connect(s["ssid"], s["key"])
    true(w.ifconfig()[0] != "0.0.0.0")
    _five_sockets_work()


def test_a_module_that_hangs_mid_send_is_reset_on_its_pin():
    # A send written to a module that then hangs: without its ">" nothing may
    # be written (it may still take the next bytes as the data), so after a
    # quiet line the driver restarts the module on its RST pin. The socket is
    # then reset, and everything else works again without the test's help.
    emucontrol.emu("clear")
    pin = emucontrol.ResetLine()
    w = board.fresh_wifi(reset=pin)
    s = board.settings()
    sock = _echo_socket()
    try:
        _echo(sock, b"before")
        emucontrol.emu("mute")
        sock.settimeout(1)
        _times_out(1000, "send", sock.send, b"into the void")
        eq(pin.pulses, 1)  # the one of WizFi360(reset=...)
        # A join waits behind the send until the reset, which ends it.
        e = raises(OSError, w.connect, s["ssid"], s["key"], timeout_ms=15000)
        eq(e.errno, errno.ECONNABORTED)
        eq(pin.pulses, 2)
        w.connect(s["ssid"], s["key"])
        _eof_or_error(sock)  # the link went with the restart
        raises(OSError, sock.send, b"after the restart")
    finally:
        emucontrol.emu("unmute")
        sock.close()
    _five_sockets_work()


# --- the AP goes away ----------------------------------------------------------


def test_wifi_disconnect_fails_open_sockets():
    w = _wifi()
    socks = [_echo_socket(), _echo_socket()]
    try:
        for sock in socks:
            _echo(sock, b"before")
        emucontrol.emu("wifi-drop")
        for sock in socks:
            _eof_or_error(sock)
            raises(OSError, sock.send, b"after")
        eq(w.isconnected(), False)
    finally:
        _close_all(socks)
    s = board.settings()
    w.connect(s["ssid"], s["key"])
    true(w.isconnected())
    _five_sockets_work()


# --- garbage on the line ---------------------------------------------------------

# Each starts a line (after a +IPD payload the module's next bytes are always
# CR LF: what does not follow a frame that way may mean lost bytes instead).
GARBAGE = (
    "0d0afffe",  # bytes no line starts with
    "0d0afffefd0d0a",
    "0d0a0d0a0d0a",  # empty lines
    "0d0a0000ff0d0a",  # NULs
    "0d0a2b4950",  # "+IP": half an +IPD header
    "0d0a41542076657273",  # "AT vers": half a line
    "0d0a5749464920444953434f4e4e",  # "WIFI DISCONN": half a message
    "0d0a657473204a616e20382032303133",  # "ets Jan 8 2013": boot noise
)


def _pattern(n, seed):
    out = bytearray(n)
    x = seed
    for i in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out[i] = x >> 16 & 0xFF
    return out


def test_garbage_between_lines_is_ignored():
    w = _wifi()
    data = _pattern(6144, 7)
    sock = _echo_socket()
    try:
        for k in range(24):  # garbage between the answers, then also between frames
            if k == 12:
                emucontrol.emu("noise 0d0afffe2b4950")  # a garbage line before each frame
            emucontrol.emu("inject " + GARBAGE[k % len(GARBAGE)])
            chunk = data[k * 256 : (k + 1) * 256]
            sock.write(chunk)
            got = sock.read(256)
            if got != chunk:
                where = _diff(got, chunk)
                raise AssertionError("chunk %d: %d bytes back, first difference at %d" % (k, len(got), where))
        emucontrol.emu("noise off")
        eq(w.isconnected(), True)
    finally:
        sock.close()
    _five_sockets_work()


def test_bogus_frames_are_bounded():
    # +IPD headers that cannot be right: a length past 65535, a link ID past 4,
    # no length; and a frame for a link no socket holds. Each is counted and
    # skipped or discarded, allocates nothing that grows with its length, and
    # the data around it still arrives exactly.
    import gc

    w = _wifi()
    sock = _echo_socket()
    try:
        _echo(sock, b"before")
        before = w.stats()  # first, so that loading stats() is not counted below
        gc.collect()
        heap = gc.mem_alloc()
        emucontrol.emu("inject 0d0a2b4950442c302c39393939393a")  # +IPD,0,99999:
        emucontrol.emu("inject 0d0a2b4950442c372c353a6162636465")  # +IPD,7,5:abcde
        emucontrol.emu("inject 0d0a2b4950442c2c3a")  # +IPD,,:
        emucontrol.emu("inject 0d0a2b4950442c332c3430303a" + "58" * 400)  # 400 bytes for link 3
        _echo(sock, b"after the bogus frames")
        after = w.stats()
        true(after["bad_frames"] - before["bad_frames"] >= 3, after)
        eq(after["discarded"] - before["discarded"], 400)
        eq(after["damaged"], before["damaged"])
        gc.collect()
        true(gc.mem_alloc() - heap < 4096, "the heap grew by %d" % (gc.mem_alloc() - heap))
    finally:
        sock.close()


def _diff(a, b):
    for i in range(min(len(a), len(b))):
        if a[i] != b[i]:
            return i
    return min(len(a), len(b))


if board.has_emulator():
    harness.main(globals())
else:
    board.skip_file("the faults are made by the emulator (its control channel); none on a board")
