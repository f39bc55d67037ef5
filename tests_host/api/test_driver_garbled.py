"""Line noise in an answer (bytes that are not UTF-8, a number that is not one) ends
every query in a value or an OSError(EIO), never a UnicodeError or ValueError from deep
inside the driver (issue 15, item 15). A scripted module answers each query once with
noise in it and once cleanly."""

import errno

import pytest

import wizfi360
from wizfi360 import socket as wsock

NOISE = b"\xff\xfe\x80"
GARBLED = {
    b"AT+CIPDOMAIN": b'+CIPDOMAIN:"10.0.' + NOISE + b'.1"',
    b"AT+CIPSTA_CUR?": b'+CIPSTA_CUR:ip:"192.168.' + NOISE + b'"',
    b"AT+CWHOSTNAME?": b"+CWHOSTNAME:pico" + NOISE,
    b"AT+CWJAP_CUR?": b'+CWJAP_CUR:"ap' + NOISE + b'","aa:bb:cc:dd:ee:ff",6,-6' + NOISE,
}
CLEAN = {
    b"AT+CIPDOMAIN": b'+CIPDOMAIN:"10.0.0.1"',
    b"AT+CIPSTA_CUR?": b'+CIPSTA_CUR:ip:"192.168.1.2"',
    b"AT+CWHOSTNAME?": b"+CWHOSTNAME:pico",
    b"AT+CWJAP_CUR?": b'+CWJAP_CUR:"ap","aa:bb:cc:dd:ee:ff",6,-60',
}


class NoisyModule:
    """any()/readinto()/write() of a module that answers OK to everything, and the
    queries above with the answer in `answers` (GARBLED first)."""

    def __init__(self):
        self.out = bytearray()
        self.answers = GARBLED

    def write(self, buf):
        line = bytes(buf).rstrip(b"\r\n")
        for cmd, reply in self.answers.items():
            if line.startswith(cmd):
                self.out += reply + b"\r\n\r\nOK\r\n"
                return len(buf)
        if line.startswith(b"AT+CIPSTATUS"):
            self.out += b"STATUS:2\r\n\r\nOK\r\n"
        elif line.startswith(b"AT+GMR"):
            self.out += b"AT version:1.1.1.7(noisy)\r\n\r\nOK\r\n"
        else:
            self.out += b"\r\nOK\r\n"
        return len(buf)

    def any(self):
        return len(self.out)

    def readinto(self, buf, nbytes=None):
        n = min(len(self.out), len(buf) if nbytes is None else nbytes)
        buf[:n] = self.out[:n]
        del self.out[:n]
        return n


@pytest.fixture
def noisy():
    uart = NoisyModule()
    return wizfi360.WizFi360(uart), uart


@pytest.mark.parametrize(
    "query",
    [
        lambda w: w.resolve("example.test"),
        lambda w: w.ifconfig(),
        lambda w: w.config("hostname"),
        lambda w: w.config("ssid"),
        lambda w: w.status("rssi"),
    ],
    ids=["resolve", "ifconfig", "hostname", "ssid", "rssi"],
)
def test_a_garbled_answer_is_an_oserror_and_the_next_clean_one_a_value(noisy, query):
    w, uart = noisy
    with pytest.raises(OSError) as e:
        query(w)
    assert e.value.errno in (errno.EIO, -2)  # -2: resolve's "host not found"
    uart.answers = CLEAN
    assert query(w)  # the driver carries on


def test_getaddrinfo_of_a_garbled_dns_answer_raises_oserror(noisy):
    w, uart = noisy
    with pytest.raises(OSError):
        wsock.getaddrinfo("example.test", 80)
