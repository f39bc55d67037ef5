# heapsize: 512K
# (100 KB to write in one call, and tens of KB of frames built for the emulator:
# 256K leaves too little room once the heap is cut up by the tests before.)
# Concurrency (issue 14): what MicroPython's own lwIP sockets do, asked of the
# driver where links, commands and unread data meet: a link ID reused by the
# module's server right after CLOSED, a command whose answer sits behind unread
# data (the receive budget, rx_budget=), non-blocking connect/write/send that
# return at once, and an asyncio loop that keeps running during a connect.
# The emulator makes each case happen on purpose (emucontrol: connect-delay,
# before-result, inject-later, busy, the test clients of the module's server and
# link-reuse): off-board only; on a board the file is skipped.
#
# Each test names the failure it covers. Calls that would hang on a driver
# without the behaviour are bounded by a socket timeout; the assertions are
# the expected behaviour all the same.
import errno
import select

import emucontrol
from emucontrol import client_eof, client_open, client_recv, emu, emu_state, link_reuse

import board
import harness
import wizfi360
from harness import eq, raises, true

wizfi360.install()  # for asyncio's streams (test_event_loop_...)
from wizfi360 import socket  # noqa: E402

try:
    from time import sleep_ms, ticks_diff, ticks_ms
except ImportError:  # CPython
    from harness import ticks_diff, ticks_ms

    def sleep_ms(ms):
        import time

        time.sleep(ms / 1000)


AT_ONCE_MS = 500  # "at once": far below any deadline in this file, far above a few commands
LONG = 5  # s: the timeout that bounds a call that would otherwise hang


# --- helpers ------------------------------------------------------------------


def _wifi(**kw):
    # A module fresh from reset and a new driver for each test: no link, server,
    # test client or fault left over from the one before. The last test's UART
    # is closed first: a test that failed half way may have left the emulator
    # writing to it (tens of KB nobody read), which would hold up the reset.
    if board._fresh_uart is not None:
        board._fresh_uart.close()
        board._fresh_uart = None
    emu("reboot")
    return board.fresh_wifi(**kw)


def _echo_addr():
    s = board.settings()
    return s["echo_host"], s["echo_port"]


def _links():
    links = emu_state()["links"]
    return set(int(i) for i in links.split(",")) if links else set()


def _echo_socket(timeout=LONG):
    # A connected socket to the echo server, and the link ID the module gave it
    # (to aim +IPD frames at it).
    before = _links()
    s = socket.socket()
    s.settimeout(timeout)
    s.connect(_echo_addr())
    (link,) = _links() - before
    return s, link


def _pattern(n, seed):
    buf = bytearray(n)
    for i in range(n):
        buf[i] = (seed * 31 + i * 7 + (i >> 8)) & 0xFF
    return buf


def _frames(link, payloads):
    # +IPD frames as the module sends them with AT+CIPDINFO=1 (the driver's
    # setting), from the echo server's address.
    host, port = _echo_addr()
    return b"".join(b"\r\n+IPD,%d,%d,%s,%d:" % (link, len(p), host, port) + p for p in payloads)


def _unit(seed, frames=4, size=1000):
    # 4 frames of 1000 bytes each, all different: 4 KB per unit (the control
    # line carries it as hex, and the test's heap holds a few copies of that).
    return [_pattern(size, seed + k) for k in range(frames)]


def _read_exactly(sock, n):
    buf = bytearray(n)
    mv = memoryview(buf)
    got = 0
    while got < n:
        k = sock.recv_into(mv[got:])
        if not k:
            break
        got += k
    return bytes(buf[:got])


def _read_to_eof(sock, limit=100000):
    chunks = []
    while True:
        data = sock.recv(2048)
        if not data:
            return b"".join(chunks)
        chunks.append(data)
        true(sum(len(c) for c in chunks) <= limit, "no EOF after %d bytes" % limit)


def _expect_unit_data(sock, payloads, times):
    # Reads len(payloads) * times payloads back and compares them byte for byte.
    for _ in range(times):
        for p in payloads:
            eq(_read_exactly(sock, len(p)), p, "unread data lost or reordered")


def _server():
    # A listening socket on the module (AT+CIPSERVER); returns (it, its port).
    srv = socket.socket()
    port = board.listen_somewhere(srv)
    srv.settimeout(LONG)
    return srv, port


def _elapsed(t0):
    return ticks_diff(ticks_ms(), t0)


def _poll_for(sock, flags, ms=LONG * 1000):
    p = select.poll()
    p.register(sock, flags)
    ready = p.poll(ms)
    p.unregister(sock)
    return ready[0][1] if ready else 0


# --- 1, 2: a link ID the module's server reuses right after CLOSED --------------


def test_reused_link_id_old_socket_reads_only_its_own_bytes():
    # Failure 1: link 0's peer closed ("0,CLOSED") while the program still holds
    # that socket, and a new client arrives on the same ID ("0,CONNECT") and
    # sends data. The old socket must read exactly its own bytes then EOF;
    # accept() gives a NEW socket for the new client, with exactly its bytes,
    # and it can answer that client.
    w = _wifi()
    srv, _ = _server()
    n_old, link = client_open(b"old client's bytes")
    eq(link, 0)
    old, _ = srv.accept()
    old.settimeout(LONG)
    n_new, link = link_reuse(0, b"new client's bytes")  # 0,CLOSED 0,CONNECT +IPD,0,...
    eq(link, 0)
    for _ in range(10):  # the program does other things: the driver takes it all in
        w.poll()
        sleep_ms(10)
    eq(_read_to_eof(old), b"old client's bytes")
    new, _ = srv.accept()
    true(new is not old)
    new.settimeout(LONG)
    eq(_read_exactly(new, 18), b"new client's bytes")
    new.send(b"to the new client")
    eq(client_recv(n_new, 17), b"to the new client")
    eq(client_recv(n_old), b"")  # the old client got nothing of it
    new.close()
    old.close()
    srv.close()


def test_reused_link_id_closing_the_old_socket_spares_the_new_client():
    # Failure 2: close() of the old socket (its peer gone, the ID already given
    # to a new client) must not close the new client's connection (today
    # _drop_link sends AT+CIPCLOSE=<id>, which closes the new one). The program
    # closes it before it has seen the CLOSED: the driver reads the UART only
    # inside its calls.
    _wifi()
    srv, _ = _server()
    client_open(b"old")
    old, _ = srv.accept()
    n_new, _ = link_reuse(0, b"new client's bytes")
    old.close()
    new, _ = srv.accept()
    new.settimeout(LONG)
    eq(_read_exactly(new, 18), b"new client's bytes")
    new.send(b"still there?")
    eq(client_recv(n_new, 12), b"still there?")
    emucontrol.client_send(n_new, b"yes")
    eq(_read_exactly(new, 3), b"yes")
    true(not client_eof(n_new), "the new client's connection was closed")
    new.close()
    srv.close()


# --- 3, 6: a call whose answer sits behind unread data: the receive budget ---------


def test_command_behind_unread_data_within_and_over_budget():
    # Failure 3: while a command waits for its result, data for links nobody
    # reads fills their buffers; today the call waits out its whole deadline and
    # raises ETIMEDOUT though the module answered. Expected: the driver takes
    # such data into memory within rx_budget (bytes the rings may grow beyond
    # link_size, in all); past it a blocking call fails at once with ENOBUFS;
    # no byte is lost, and once the data is read the same command works.
    _wifi(link_size=2048, link_max=8192, rx_budget=16384)
    a, link_a = _echo_socket()
    c, link_c = _echo_socket()
    b, _ = _echo_socket()
    # Within budget: 6 KB for each of two unread links between AT+CIPSEND and
    # its SEND OK (2 x 4 KB beyond link_size), frames for A and C taking turns:
    # the send just succeeds.
    data_a, data_c = _unit(1, 1), _unit(2, 1)
    emucontrol.before_result(_frames(link_a, data_a) + _frames(link_c, data_c), 6)
    eq(b.send(b"ping"), 4)
    eq(_read_exactly(b, 4), b"ping")
    _expect_unit_data(a, data_a, 6)
    _expect_unit_data(c, data_c, 6)
    # Over budget: 40 KB for link A between AT+CIPSTART and its OK.
    unit = _unit(3)
    emucontrol.before_result(_frames(link_a, unit), 10)
    d = socket.socket()
    d.settimeout(LONG)
    t0 = ticks_ms()
    e = raises(OSError, d.connect, _echo_addr())
    took = _elapsed(t0)
    eq(e.errno, errno.ENOBUFS, "connect behind 40 KB of unread data: %r after %d ms" % (e, took))
    true(took < AT_ONCE_MS, "ENOBUFS after %d ms, not at once" % took)
    _expect_unit_data(a, unit, 10)
    d.close()
    d = socket.socket()  # the same command again, now that the data is read
    d.settimeout(LONG)
    d.connect(_echo_addr())
    d.send(b"works")
    eq(_read_exactly(d, 5), b"works")
    for s in (a, b, c, d):
        s.close()


def test_recv_behind_another_links_data_over_budget():
    # Failure 6: a blocking recv (no timeout) whose data sits behind more of
    # another link's unread data than the budget holds hangs forever today.
    # Expected: OSError(ENOBUFS) at once; after the other link's data is read,
    # the recv gets its data. (The timeout set here only bounds the hang.)
    _wifi(link_size=2048, link_max=8192, rx_budget=16384)
    a, link_a = _echo_socket()
    b, link_b = _echo_socket()
    unit = _unit(4)
    emucontrol.inject_later(_frames(link_a, unit), 10)  # 40 KB for A, nobody reads it
    emucontrol.inject_later(_frames(link_b, [b"for B"]))  # then B's data
    b.settimeout(LONG)  # bounds today's hang; the expected answer comes at once
    t0 = ticks_ms()
    e = raises(OSError, b.recv, 100)
    eq(e.errno, errno.ENOBUFS, "%r after %d ms" % (e, _elapsed(t0)))
    _expect_unit_data(a, unit, 10)
    eq(b.recv(100), b"for B")
    a.close()
    b.close()


# --- 4, 5, 7: non-blocking connect, write and send return at once ------------------


def test_nonblocking_connect_einprogress_then_pollout():
    # Failure 4: with setblocking(False), connect() must raise EINPROGRESS at
    # once (a peer that accepts after 1 s: the emulator's connect-delay); poll
    # reports POLLOUT once connected, then send/recv work.
    _wifi()
    emu("connect-delay 1000")
    s = socket.socket()
    s.setblocking(False)
    e = raises(OSError, s.connect, _echo_addr())
    eq(e.errno, errno.EINPROGRESS)
    # The AT+CIPSTART went out as connect() returned; the emulator takes it
    # in a moment later, then holds its answer for 1 s.
    for _ in range(100):
        state = emu_state()
        if state["running"] == "1":
            break
        sleep_ms(5)
    eq(state["running"], "1", "connect returned after the module answered its AT+CIPSTART")
    true(emucontrol.emu_last_command().startswith(b"AT+CIPSTART"))
    true(_poll_for(s, select.POLLOUT) & select.POLLOUT, "no POLLOUT once connected")
    eq(emu_state()["running"], "0")
    eq(s.send(b"hello"), 5)
    true(_poll_for(s, select.POLLIN) & select.POLLIN)
    eq(s.recv(10), b"hello")
    s.close()


def test_nonblocking_connect_refused_reports_error():
    # Failure 4, refused: a non-blocking connect to a port nobody listens on
    # raises EINPROGRESS; poll then reports POLLERR or POLLHUP, and the next
    # send/recv raises OSError(ECONNREFUSED).
    _wifi()
    s = socket.socket()
    s.setblocking(False)
    e = raises(OSError, s.connect, (_echo_addr()[0], board.settings()["refused_port"]))
    eq(e.errno, errno.EINPROGRESS)
    flags = _poll_for(s, select.POLLOUT | select.POLLIN)
    true(flags & (select.POLLERR | select.POLLHUP), "poll flags %r" % flags)
    e = raises(OSError, s.send, b"x")
    eq(e.errno, errno.ECONNREFUSED)
    s.close()


def test_nonblocking_write_is_partial_then_poll_loop_delivers_exactly():
    # Failure 5: on a non-blocking socket write(100 KB) must return at once a
    # partial count (1 <= n < len) or None; poll reports POLLOUT when more can
    # be taken, and a write/read loop on poll delivers every byte exactly (the
    # echo server sends them back). send() takes what it can or raises EAGAIN.
    _wifi()
    s, _ = _echo_socket()
    s.setblocking(False)
    data = _pattern(100 * 1024, 5)
    t0 = ticks_ms()
    n = s.write(data)
    took = _elapsed(t0)
    true(n is None or 1 <= n < len(data), "write(100 KB) returned %r" % (n,))
    true(took < AT_ONCE_MS, "write took %d ms" % took)
    sent = n or 0
    back = 0  # bytes echoed back so far, each compared as it comes
    buf = bytearray(2048)
    p = select.poll()
    p.register(s, select.POLLIN | select.POLLOUT)
    t0 = ticks_ms()
    while back < len(data):
        true(_elapsed(t0) < 30000, "stuck at %d sent, %d back" % (sent, back))
        if sent == len(data):
            p.modify(s, select.POLLIN)
        for _, flags in p.poll(1000):
            true(not flags & (select.POLLERR | select.POLLHUP), "poll flags %r" % flags)
            if flags & select.POLLIN:
                k = s.readinto(buf) or 0
                true(back + k <= len(data), "more bytes back than sent")
                eq(bytes(buf[:k]), bytes(data[back : back + k]), "echo differs at %d" % back)
                back += k
            if flags & select.POLLOUT and sent < len(data):
                sent += s.write(memoryview(data)[sent:]) or 0
    # send(): the count taken, or EAGAIN when nothing can be taken now.
    try:
        k = s.send(b"s" * 3000)
        true(1 <= k <= 3000, "send returned %r" % (k,))
    except OSError as e:
        eq(e.errno, errno.EAGAIN)
        k = 0
    if k:
        s.settimeout(LONG)
        eq(_read_exactly(s, k), b"s" * k)
    s.close()


def test_nonblocking_calls_while_the_module_is_busy():
    # Failure 7: while the module answers "busy p..." non-blocking send and
    # connect must return at once (send: the count taken or EAGAIN; connect:
    # EINPROGRESS), the work completing later, as poll() reports.
    _wifi()
    s, _ = _echo_socket()
    s.setblocking(False)
    emu("busy 1000000")
    t0 = ticks_ms()
    try:
        taken = s.send(b"while busy")
    except OSError as e:
        eq(e.errno, errno.EAGAIN, "send while busy: %r after %d ms" % (e, _elapsed(t0)))
        taken = 0
    true(_elapsed(t0) < AT_ONCE_MS, "send took %d ms" % _elapsed(t0))
    c = socket.socket()
    c.setblocking(False)
    t0 = ticks_ms()
    e = raises(OSError, c.connect, _echo_addr())
    eq(e.errno, errno.EINPROGRESS, "connect while busy: %r after %d ms" % (e, _elapsed(t0)))
    true(_elapsed(t0) < AT_ONCE_MS, "connect took %d ms" % _elapsed(t0))
    emu("busy 0")
    true(_poll_for(c, select.POLLOUT) & select.POLLOUT, "the connect never completed")
    if not taken:
        true(_poll_for(s, select.POLLOUT) & select.POLLOUT)
        taken = s.send(b"while busy")
    true(_poll_for(s, select.POLLIN) & select.POLLIN)
    eq(s.recv(100), b"while busy"[:taken])
    eq(c.send(b"later"), 5)
    true(_poll_for(c, select.POLLIN) & select.POLLIN)
    eq(c.recv(100), b"later")
    s.close()
    c.close()


# --- 8: asyncio keeps running while a connect is pending ---------------------------


def test_event_loop_runs_while_a_connect_is_pending():
    # Failure 8: the event loop stalls for the whole AT exchange. A heartbeat
    # task (sleep 10 ms, count) must keep running while open_connection() waits
    # for a peer that accepts after 1 s: its count grows by at least 10 while
    # the connect is pending.
    _wifi()
    import asyncio

    beats = [0]

    async def heartbeat():
        while True:
            await asyncio.sleep_ms(10)
            beats[0] += 1

    async def main():
        hb = asyncio.create_task(heartbeat())
        await asyncio.sleep_ms(30)
        emu("connect-delay 1000")
        before = beats[0]
        r, w = await asyncio.open_connection(*_echo_addr())
        during = beats[0] - before
        w.write(b"beat")
        await w.drain()
        echoed = await r.readexactly(4)
        w.close()
        await w.wait_closed()
        hb.cancel()
        return during, echoed

    during, echoed = asyncio.run(main())
    true(during >= 10, "heartbeat ran %d times during a 1 s connect" % during)
    eq(echoed, b"beat")


if board.has_emulator():
    harness.main(globals())
else:
    board.skip_file("the cases are made by the emulator (its control channel); none on a board")
