# The late "<id>,CLOSED" of a refused AT+CIPSTART (issue 15 #2; module-notes "Late
# or doubled results", "Link IDs after a failed AT+CIPSTART"): real firmware
# answers ERROR and frees the ID at once, and the stray CLOSED comes tens of ms
# later, when the ID may name a new connection already: one the host opened
# again, or a client the module's own server was given. The stray must end
# neither. The emulator writes the stray here (control channel `inject`, the
# bytes the quirk cipstart_fail=error-closed writes) at the moment that matters,
# so the order is the same on every run: off-board only.
import errno

import emucontrol
from emucontrol import client_eof, client_open, client_recv, client_send, emu

import board
import harness
from harness import eq, raises, true
from wizfi360 import socket

LONG = 5  # s: the timeout that bounds a call that would otherwise hang
STRAY = b"0,CLOSED\r\n"  # what the module writes after a refused AT+CIPSTART=0


def _wifi():
    # A module fresh from reset and a new driver, with a refused AT+CIPSTART
    # answered ERROR only: the test writes the stray itself.
    if board._fresh_uart is not None:
        board._fresh_uart.close()
        board._fresh_uart = None
    emu("reboot")
    emucontrol.quirk("cipstart_fail", "error")
    return board.fresh_wifi()


def _refused_on_link_0():
    # A connect nobody accepts. No server listens yet, so the driver takes the
    # lowest free ID: 0, which the module frees again with its ERROR.
    s = board.settings()
    sock = socket.socket()
    sock.settimeout(LONG)
    e = raises(OSError, sock.connect, (s["echo_host"], s["refused_port"]))
    eq(e.errno, errno.ECONNREFUSED)
    sock.close()
    eq(emucontrol.emu_state()["links"], "")


def test_stray_closed_spares_the_server_client_given_its_id():
    # The module's server gives the freed ID 0 to a new client, which sends
    # "hello"; then the stray "0,CLOSED" comes. The client's connection lives
    # on: its data, answers both ways, no EOF on either side.
    _wifi()
    _refused_on_link_0()
    srv = socket.socket()
    board.listen_somewhere(srv)
    srv.settimeout(LONG)
    n, link = client_open(b"hello")
    eq(link, 0)
    emu("inject " + STRAY.hex())
    conn, _ = srv.accept()
    conn.settimeout(LONG)
    eq(conn.read(5), b"hello")
    conn.send(b"still here?")
    eq(client_recv(n, 11), b"still here?")
    client_send(n, b"yes")
    eq(conn.read(3), b"yes")
    true(not client_eof(n), "the client's connection was closed")
    eq(emucontrol.emu_state()["links"], "0")
    conn.close()
    true(client_eof(n, 3000), "close() did not close the client's connection")
    srv.close()


def test_stray_closed_spares_the_connection_opened_again_on_its_id():
    # The program connects again at once and gets ID 0 again; its OK comes
    # before the stray (a near peer answers faster than the module's stray).
    # The new connection lives on.
    _wifi()
    _refused_on_link_0()
    s = board.settings()
    sock = socket.socket()
    sock.settimeout(LONG)
    sock.connect((s["echo_host"], s["echo_port"]))
    eq(emucontrol.emu_state()["links"], "0")
    emu("inject " + STRAY.hex())
    sock.send(b"ping")
    eq(sock.read(4), b"ping")
    eq(emucontrol.emu_state()["links"], "0")
    sock.close()
    eq(emucontrol.emu_state()["links"], "")


if board.has_emulator():
    harness.main(globals())
else:
    board.skip_file("the stray CLOSED is made by the emulator (its control channel); none on a board")
