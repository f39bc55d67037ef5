"""What the examples' device test (tests_device/test_examples.py) stands on: the SoftAP's
waiting phone (control channel station-join), the NTP server checked with a real client
(ntplib), the runner's `# peers:` comment, and tools/install_mplib.py's parts."""

import io
import tarfile
import time

import ntplib
import pytest
import run_device_tests
import testservers
from install_mplib import InstallError, copy_sources, file_release, is_python_project, parse
from test_emulator import OK


@pytest.fixture
def emu(control_emulator):
    return control_emulator


# --- station-join: a phone that joins the SoftAP once it is there ---------------------------------
def test_a_waiting_station_joins_once_the_softap_has_its_name_and_key(emu, ctl, c):
    assert ctl("station-join 02:aa:bb:cc:dd:01 %s %s" % (b"setup-ap".hex(), b"secret123".hex())) == "ok"
    c.cmd(b"AT+CWMODE_CUR=3")
    c.expect(OK)
    c.cmd(b'AT+CWSAP_CUR="setup-ap","wrong-key",5,3')  # the name, another key: no join
    c.expect(OK)
    c.quiet(0.2)
    c.cmd(b'AT+CWSAP_CUR="setup-ap","secret123",5,3')
    c.expect(OK)
    c.read_until(b'+STA_CONNECTED:"02:aa:bb:cc:dd:01"\r\n')
    c.read_until(b'+DIST_STA_IP:"02:aa:bb:cc:dd:01","192.168.4.')
    assert ctl("station-leave 02:aa:bb:cc:dd:01") == "ok"
    c.read_until(b'+STA_DISCONNECTED:"02:aa:bb:cc:dd:01"\r\n')
    assert ctl("station-leave 02:aa:bb:cc:dd:01").startswith("error")


def test_station_join_refuses_bad_arguments(ctl):
    assert ctl("station-join 02:aa:bb:cc:dd:01").startswith("error")
    assert ctl("station-join nonsense %s" % b"ap".hex()).startswith("error")
    assert ctl("station-join 02:aa:bb:cc:dd:01 zz").startswith("error")


# --- the NTP server, as a real client sees it ---------------------------------------------------------
def test_ntp_server_answers_a_real_client_with_its_instant():
    server = testservers.NtpServer(unix_s=1773500966)
    try:
        reply = ntplib.NTPClient().request("127.0.0.1", port=server.port, version=4, timeout=5)
        assert reply.mode == 4 and reply.stratum == 1 and reply.version == 4
        assert reply.tx_time == 1773500966
        assert time.gmtime(reply.tx_time)[:6] == (2026, 3, 14, 15, 9, 26)
        assert server.reply(b"\x1b" * 47) is None  # not 48 bytes
        assert server.reply(b"\x1c" + bytes(47)) is None  # mode 4: not a client's request
    finally:
        server.stop()


# --- the runner's optional peers -----------------------------------------------------------------------
def test_peers_comment(tmp_path):
    f = tmp_path / "test_x.py"
    f.write_text("# heapsize: 64K\n# peers: mqtt, ntp\nimport harness\n")
    assert run_device_tests.peers(f) == ["mqtt", "ntp"]
    f.write_text("import harness\n# peers: mqtt\n")  # not in the leading comments
    assert run_device_tests.peers(f) == []
    f.write_text("# peers: mqtt smtp\n")
    with pytest.raises(ValueError, match="smtp"):
        run_device_tests.peers(f)


# --- tools/install_mplib.py ------------------------------------------------------------------------------
def test_requirement_lines():
    text = (
        "# a comment\n\nmicrodot==2.7.0   # why\n"
        "micropython-umqtt.simple==1.3.4 --hash=sha256:" + "ab" * 32 + "  # why\n"
    )
    assert parse(text) == [("microdot", "2.7.0", None), ("micropython-umqtt.simple", "1.3.4", "ab" * 32)]
    for bad in ("microdot\n", "microdot>=2\n", "microdot==2.7.0 --hash=md5:00\n"):
        with pytest.raises(InstallError, match="line 1"):
            parse(bad)


def test_file_names_of_a_release():
    assert file_release("micropython-umqtt.simple-1.3.4.tar.gz") == ("micropython-umqtt-simple", "1.3.4")
    assert file_release("microdot-2.7.0-py3-none-any.whl") == ("microdot", "2.7.0")
    assert file_release("microdot-2.7.0.zip") is None


def sdist(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_a_source_only_sdist_is_copied_without_its_metadata(tmp_path):
    data = sdist(
        {
            "pkg-1.0/umqtt/simple.py": b"x = 1\n",
            "pkg-1.0/pkg.egg-info/PKG-INFO": b"Name: pkg\n",
            "pkg-1.0/pkg.egg-info/notes.py": b"",
        }
    )
    assert not is_python_project(data)
    assert copy_sources(data, tmp_path) == ["umqtt/simple.py"]
    assert (tmp_path / "umqtt" / "simple.py").read_bytes() == b"x = 1\n"
    assert is_python_project(sdist({"pkg-1.0/setup.py": b"", "pkg-1.0/pkg.py": b""}))
