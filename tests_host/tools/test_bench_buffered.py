"""tools/bench/buffered.py, the bench's bare client with several sends in flight (issue 16):
it uploads through the emulator's buffered send, byte-exact (the bench's data server checks
every byte), finding the command's name whichever the module takes, holding back when the
module's buffer is full, and says so when the module takes neither name. Not its speed:
run.py measures that."""

import sys

import pytest
from conftest import KEY, ROOT, SSID

sys.path.insert(0, str(ROOT / "tools" / "bench"))

import buffered  # noqa: E402
import run  # noqa: E402
import run_device_tests as rdt  # noqa: E402
from pattern import pattern  # noqa: E402

from wizfi360_emu import AccessPoint, Emulator  # noqa: E402
from wizfi360_emu.sendbuf import SIZE  # noqa: E402


@pytest.fixture
def data_server():
    server = rdt.TcpServer(run.DataHandler)
    yield server
    server.stop()


class Watched(buffered.BufferedSender):
    """Keeps the most the module's buffer held of this client's bytes at once."""

    most = 0

    def write(self, data):
        super().write(data)
        Watched.most = max(Watched.most, self.used)


@pytest.mark.parametrize("name", ["CIPSENDERBUF", "CIPSENDBUF"])
def test_uploads_through_the_buffer_within_its_size(monkeypatch, data_server, name):
    # A round trip of 20 ms carrying 1460 bytes: the unpaced line fills the buffer long
    # before the network drains it, so the client must wait for reports to write more.
    quirks = {"sendbuf_name": name, "net_latency_ms": 20, "net_window": 1460}
    monkeypatch.setattr(buffered, "BufferedSender", Watched)
    Watched.most = 0
    with Emulator(aps=[AccessPoint(SSID, KEY)], join_delay_s=0.01, quirks=quirks) as emu:
        rate = buffered.upload(emu.tcp_port, data_server.port, 40 * 1024, bytes(pattern()))
        assert rate > 0
        sent = [line for line in emu.commands if line.startswith(b"AT+CIPSEND")]
    assert sent[0].startswith(b"AT+CIPSENDBUF=")  # ESP's name tried first
    assert {line.split(b"=")[0] for line in sent[1:]} == {b"AT+" + name.encode()}
    assert SIZE - 2048 < Watched.most <= SIZE  # the buffer filled up, and no more


def test_says_so_when_the_module_takes_no_buffered_send(monkeypatch, data_server):
    monkeypatch.setattr(buffered, "NAMES", (b"AT+CIPSENDNOTHING", b"AT+CIPSENDBUFX"))
    with Emulator(aps=[AccessPoint(SSID, KEY)], join_delay_s=0.01) as emu:
        with pytest.raises(RuntimeError, match="takes no buffered send"):
            buffered.upload(emu.tcp_port, data_server.port, 1024, bytes(pattern()))
