"""Tests of the emulator's fault injection and its control channel (wizfi360_emu/faults.py,
control.py): commands on the control port, their effect as raw bytes on the UART."""

import socket
import time

import emulator as cli
import pytest
from test_emulator import ERROR, OK, Client, start_link

from wizfi360_emu import Emulator
from wizfi360_emu.control import COMMANDS

BUSY = b"busy p...\r\n"


# --- helpers ---------------------------------------------------------------------------------
class Control:
    """A client of the control channel: ctl("busy 2") -> the reply line."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.file = self.sock.makefile("rwb")

    def __call__(self, line, end=b"\n"):
        self.file.write(line.encode() + end)
        self.file.flush()
        reply = self.file.readline()
        assert reply.endswith(b"\n"), reply
        return reply[:-1].decode()

    def close(self):
        self.file.close()
        self.sock.close()


@pytest.fixture
def emu(control_emulator):
    return control_emulator


def state(ctl):
    """The control channel's state reply as a dict of strings."""
    reply = ctl("state")
    assert reply.startswith("ok ")
    return dict(item.split("=", 1) for item in reply[3:].split())


def prompt(c, link_id, n):
    c.cmd(b"AT+CIPSEND=%d,%d" % (link_id, n))
    c.expect(OK + b">")


# --- the channel itself ------------------------------------------------------------------------
def test_no_control_channel_unless_asked():
    with Emulator() as e:
        assert e.control_port is None


def test_replies_one_line_per_command(ctl):
    assert ctl("help") == "ok " + " ".join(COMMANDS)
    assert ctl("no-such-thing").startswith("error unknown command 'no-such-thing'")
    assert ctl("") == "error empty command"
    assert ctl("busy") == "error want one number"
    assert ctl("busy x") == "error bad number 'x'"
    assert ctl("busy -1").startswith("error -1 is out of range")
    assert ctl("mute now") == "error takes no arguments"
    assert ctl("inject zz") == "error bad hex 'zz'"
    assert ctl("inject") == "error nothing to inject"
    assert ctl("send-fault maybe") == "error want one of fail, error, closed, vanish, off"
    assert ctl("busy 0", end=b"\r\n") == "ok"  # CR LF line ends too


def test_several_commands_in_one_write_and_several_clients(emu, ctl):
    ctl.file.write(b"busy 3\nstate\nbusy 0\n")
    ctl.file.flush()
    replies = [ctl.file.readline() for _ in range(3)]
    assert replies[0] == b"ok\n"
    assert b" busy=3 " in replies[1]
    assert replies[2] == b"ok\n"
    other = Control(emu.control_port)
    assert other("commands") == "ok 0"
    other.close()
    assert ctl("commands") == "ok 0"  # the first client is still served


def test_control_port_option():
    kwargs = cli.build_kwargs(cli.parse_args(["--control-port", "0"]))
    assert kwargs["control_port"] == 0
    assert "control_port" not in cli.build_kwargs(cli.parse_args([]))


# --- counting what the host sent -------------------------------------------------------------------
def test_commands_and_last_command(emu, ctl):
    assert ctl("last-command") == "error no command received yet"
    assert ctl("command 0") == "error no command received yet"
    client = Client(emu.tcp_port)
    client.cmd(b"AT")
    client.expect(b"AT\r\n" + OK)
    client.cmd(b"not a command")  # ignored, not counted
    client.cmd(b'AT+CWJAP_CUR="a\x00b","\rx"')  # NUL and a lone CR inside the line
    client.expect(b'AT+CWJAP_CUR="a\x00b","\rx"\r\n' + ERROR)
    assert ctl("commands") == "ok 2"
    assert ctl("last-command") == "ok " + b'AT+CWJAP_CUR="a\x00b","\rx"'.hex()
    assert ctl("command 1") == ctl("command -1") == ctl("last-command")
    assert ctl("command 0") == ctl("command -2") == "ok " + b"AT".hex()
    assert ctl("command 2").startswith("error 2 is out of range -2..1")
    client.close()


def test_state(emu, ctl, c, peer):
    assert state(ctl) == {
        "echo": "0",
        "mux": "1",
        "dinfo": "1",
        "cwmode": "1",
        "joined": "1",
        "links": "",
        "busy": "0",
        "muted": "0",
        "running": "0",
        "server": "0",
    }
    start_link(c, peer.port, 1)
    start_link(c, peer.port, 3)
    assert state(ctl)["links"] == "1,3"
    from test_emulator_switches import serve  # it imports this file: not at the top

    port = serve(c)
    assert state(ctl)["server"] == str(port)


# --- reboot, Wi-Fi drop, link close, raw bytes -------------------------------------------------------
def test_reboot_with_boot_noise(emu, ctl, c, peer):
    start_link(c, peer.port, 2)
    conn = peer.accept()
    assert ctl("reboot ff fe 00") == "ok"
    c.expect(b"\xff\xfe\x00\r\nready\r\n")  # no CLOSED: the module just restarted
    conn.settimeout(3)
    assert conn.recv(10) == b""  # the link is gone
    assert state(ctl) == dict(state(ctl), echo="1", mux="0", joined="0", links="")
    assert ctl("reboot") == "ok"
    c.expect(b"\r\nready\r\n")


def test_reboot_clears_faults(emu, ctl, c):
    for line in ("busy 5", "send-fault fail", "noise ff", "mute"):
        assert ctl(line) == "ok"
    assert ctl("reboot") == "ok"
    c.expect(b"\r\nready\r\n")  # also after a mute: a reset cures a hang
    assert emu.faults.send_fault is None and emu.faults.noise == b""
    c.cmd(b"AT")
    c.expect(b"AT\r\n" + OK)  # echo on again, and not busy


def test_wifi_drop(emu, ctl, c, peer):
    start_link(c, peer.port, 0)
    start_link(c, peer.port, 4)
    assert ctl("wifi-drop") == "ok"
    c.expect(b"WIFI DISCONNECT\r\n0,CLOSED\r\n4,CLOSED\r\n")
    assert ctl("wifi-drop") == "error not joined to an AP"
    c.cmd(b"AT+CWJAP_CUR?")
    c.expect(b"No AP\r\n" + OK)


def test_link_close(emu, ctl, c, peer):
    start_link(c, peer.port, 3)
    conn = peer.accept()
    assert ctl("link-close 3") == "ok"
    c.expect(b"3,CLOSED\r\n")
    conn.settimeout(3)
    assert conn.recv(10) == b""
    assert ctl("link-close 3") == "error link 3 is not open"
    assert ctl("link-close 5") == "error 5 is out of range 0..4"


def test_inject(ctl, c):
    assert ctl("inject fffe 0d0a 2b4950") == "ok"  # garbage, a line end, half a line
    c.expect(b"\xff\xfe\r\n+IP")
    c.cmd(b"AT")
    c.expect(OK)


def test_noise_before_every_frame(emu, ctl, c, echo_peer):
    start_link(c, echo_peer.port, 0)
    assert ctl("noise fffe") == "ok"
    for payload in (b"one", b"two"):
        prompt(c, 0, 3)
        c.send(payload)
        c.expect(b"\r\nRecv 3 bytes\r\n\r\nSEND OK\r\n")
        c.expect(b"\xff\xfe\r\n+IPD,0,3,127.0.0.1,%d:%s" % (echo_peer.port, payload))
    assert ctl("noise off") == "ok"
    prompt(c, 0, 3)
    c.send(b"end")
    c.expect(b"\r\nRecv 3 bytes\r\n\r\nSEND OK\r\n\r\n+IPD,0,3,")


# --- busy --------------------------------------------------------------------------------------
def test_busy_answers_then_takes(emu, ctl, c):
    assert ctl("busy 2") == "ok"
    for _ in range(2):
        c.cmd(b"AT+CIPMUX=0")  # not taken: no echo, no effect
        c.expect(BUSY)
    c.cmd(b"AT+CIPMUX?")
    c.expect(b"+CIPMUX:1\r\n" + OK)
    assert ctl("commands") == "ok %d" % len(emu.commands)
    assert emu.commands[-3:] == [b"AT+CIPMUX=0", b"AT+CIPMUX=0", b"AT+CIPMUX?"]


def test_busy_zero_ends_it(ctl, c):
    assert ctl("busy 100") == "ok"
    c.cmd(b"AT")
    c.expect(BUSY)
    assert ctl("busy 0") == "ok"
    c.cmd(b"AT")
    c.expect(OK)


# --- failed sends ------------------------------------------------------------------------------------
def test_send_fault_fail(emu, ctl, c, peer):
    start_link(c, peer.port, 1)
    conn = peer.accept()
    assert ctl("send-fault fail") == "ok"
    prompt(c, 1, 5)
    c.send(b"hello")
    c.expect(b"\r\nRecv 5 bytes\r\n\r\nSEND FAIL\r\n")
    assert state(ctl)["links"] == "1"  # the link stays open
    prompt(c, 1, 5)  # the fault was for one send only
    c.send(b"again")
    c.expect(b"\r\nRecv 5 bytes\r\n\r\nSEND OK\r\n")
    conn.settimeout(3)
    assert conn.recv(10) == b"again"  # the failed data never left


def test_send_fault_error_after_prompt(emu, ctl, c, peer):
    start_link(c, peer.port, 0)
    conn = peer.accept()
    assert ctl("send-fault error") == "ok"
    c.cmd(b"AT+CIPSEND=0,5")
    c.expect(OK + b">" + ERROR)
    c.send(b"hello")  # not data now: the start of a command line
    c.cmd(b"AT")  # "helloAT": not a command, ignored
    c.quiet()
    c.cmd(b"AT")
    c.expect(OK)
    assert emu.commands[-1:] == [b"AT"]
    assert state(ctl)["links"] == "0"
    conn.settimeout(0.2)
    with pytest.raises(socket.timeout):
        conn.recv(10)  # nothing was sent


def test_send_fault_error_data_with_line_end(ctl, c, peer):
    start_link(c, peer.port, 0)
    assert ctl("send-fault error") == "ok"
    c.cmd(b"AT+CIPSEND=0,7")
    c.expect(OK + b">" + ERROR)
    c.send(b"data\r\n\xff")  # a garbage line, then the start of the next one
    c.send(b"\r\n")
    c.quiet()
    c.cmd(b"AT")
    c.expect(OK)


def test_send_fault_closed(emu, ctl, c, peer):
    start_link(c, peer.port, 2)
    conn = peer.accept()
    assert ctl("send-fault closed") == "ok"
    prompt(c, 2, 4)
    c.send(b"data")
    c.expect(b"\r\nRecv 4 bytes\r\n2,CLOSED\r\n\r\nSEND FAIL\r\n")
    conn.settimeout(3)
    assert conn.recv(10) == b""  # closed, and the data never arrived
    assert state(ctl)["links"] == ""
    start_link(c, peer.port, 2)  # the id is free again


def test_send_fault_waits_for_a_send_that_gets_to_its_data(ctl, c, peer):
    assert ctl("send-fault fail") == "ok"
    c.cmd(b"AT+CIPSEND=3,5")  # no such link: ERROR, the fault stays armed
    c.expect(ERROR)
    start_link(c, peer.port, 3)
    prompt(c, 3, 1)
    c.send(b"x")
    c.expect(b"\r\nRecv 1 bytes\r\n\r\nSEND FAIL\r\n")
    assert ctl("send-fault fail") == "ok"
    assert ctl("send-fault off") == "ok"
    prompt(c, 3, 1)
    c.send(b"y")
    c.expect(b"\r\nRecv 1 bytes\r\n\r\nSEND OK\r\n")


# --- a hung module -------------------------------------------------------------------------------------
def test_mute_drops_commands_and_holds_link_data(emu, ctl, c, echo_peer):
    start_link(c, echo_peer.port, 0)
    prompt(c, 0, 4)
    assert ctl("mute") == "ok"
    c.send(b"ping")  # taken as data, the answer is never sent
    time.sleep(0.2)  # meanwhile the echo came back to the module and waits there
    n = len(emu.commands)
    c.cmd(b"AT")
    c.cmd(b"AT+GMR")
    c.quiet(0.3)
    assert ctl("commands") == "ok %d" % (n + 2)
    assert ctl("last-command") == "ok " + b"AT+GMR".hex()
    assert state(ctl)["muted"] == "1"
    assert ctl("inject 0d0a") == "ok"  # the test hook still gets through
    c.expect(b"\r\n")
    assert ctl("unmute") == "ok"
    c.expect(b"\r\n+IPD,0,4,127.0.0.1,%d:ping" % echo_peer.port)  # held, not lost
    c.cmd(b"AT")
    c.expect(OK)


def test_mute_holds_a_peer_close(emu, ctl, c, peer):
    start_link(c, peer.port, 1)
    conn = peer.accept()
    assert ctl("mute") == "ok"
    conn.close()
    c.quiet(0.3)
    assert ctl("unmute") == "ok"
    c.expect(b"1,CLOSED\r\n")


def test_clear(emu, ctl, c):
    for line in ("busy 5", "send-fault closed", "noise 00", "mute"):
        assert ctl(line) == "ok"
    assert ctl("clear") == "ok"
    assert state(ctl)["busy"] == "0" and state(ctl)["muted"] == "0"
    assert emu.faults.send_fault is None and emu.faults.noise == b""
    c.cmd(b"AT")
    c.expect(OK)
