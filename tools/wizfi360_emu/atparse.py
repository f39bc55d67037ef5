"""AT command-line parsing: split a line into name, form and parameters.

A line is what the host sent before CRLF, e.g. b'AT+CWJAP_CUR="a\\"b","pw"'. Quoted
strings are un-escaped as the manual (3.2.2.15) describes: a backslash makes the next
character literal, so \\" \\\\ and \\, carry a quote, a backslash and a comma.
"""

import ipaddress
import re

EXEC, QUERY, SET, TEST = "exec", "query", "set", "test"  # command forms (manual 2.1)

_LINE = re.compile(rb"AT(\+[A-Z0-9_]+|[A-Z0-9&]*)(\?|=\?|=(.*))?\Z", re.S)
_INT = re.compile(r"-?[0-9]+\Z")
_MAC = re.compile(r"[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}\Z")


class ParamError(Exception):
    """Malformed command or parameter: the module answers ERROR."""


class Arg:
    """One parameter: its text and whether it was written as a quoted string."""

    def __init__(self, text, quoted):
        self.text = text
        self.quoted = quoted

    def int(self, lo, hi):
        if self.quoted or not _INT.match(self.text) or not lo <= int(self.text) <= hi:
            raise ParamError("bad number %r (%d..%d)" % (self.text, lo, hi))
        return int(self.text)

    def str(self, minlen=0, maxlen=1024):
        if not self.quoted or not minlen <= len(self.text) <= maxlen:
            raise ParamError("bad string %r (quoted, %d..%d chars)" % (self.text, minlen, maxlen))
        return self.text

    def ip(self):
        """A quoted dotted-quad IPv4 address."""
        try:
            return str(ipaddress.IPv4Address(self.str(7, 15)))
        except ValueError:
            raise ParamError("bad IPv4 address %r" % self.text) from None

    def netmask(self):
        mask = self.ip()
        bits = int(ipaddress.IPv4Address(mask))
        if bits and (bits ^ 0xFFFFFFFF) & ((bits ^ 0xFFFFFFFF) + 1):
            raise ParamError("bad netmask %r" % mask)
        return mask

    def mac(self):
        """A quoted unicast MAC address aa:bb:cc:dd:ee:ff, lower-cased (manual 3.2.2.9:
        bit 0 of the first byte, the multicast bit, must be 0)."""
        mac = self.str(17, 17)
        if not _MAC.match(mac) or int(mac[:2], 16) & 1:
            raise ParamError("bad or multicast MAC address %r" % mac)
        return mac.lower()


class Command:
    """A parsed line: name (b'+CWJAP_CUR', b'E0', b'' for plain AT), form, args."""

    def __init__(self, name, form, args):
        self.name = name
        self.form = form
        self.args = args

    def nargs(self, lo, hi=None):
        """The args, checked to number between lo and hi (inclusive)."""
        if not lo <= len(self.args) <= (lo if hi is None else hi):
            raise ParamError("wrong number of parameters")
        return self.args


def parse_line(line):
    """Parse one command line (without CRLF). Raises ParamError if malformed."""
    m = _LINE.match(bytes(line))
    if not m or b"\r" in line or b"\n" in line:
        raise ParamError("malformed command line")
    name, tail, params = m.groups()
    form = {None: EXEC, b"?": QUERY, b"=?": TEST}.get(tail, SET)
    return Command(name, form, split_params(params) if form == SET else [])


def split_params(data):
    """Split b'1,"a\\,b",x' into [Arg('1'), Arg('a,b', quoted), Arg('x')]."""
    text = data.decode("utf-8", "surrogateescape")
    args, i, n = [], 0, len(text)
    while True:
        if i < n and text[i] == '"':
            out, i = [], i + 1
            while i < n and text[i] != '"':
                if text[i] == "\\":
                    i += 1
                    if i == n:
                        break
                out.append(text[i])
                i += 1
            if i >= n:
                raise ParamError("unterminated string")
            args.append(Arg("".join(out), True))
            i += 1
        else:
            j = text.find(",", i)
            j = n if j < 0 else j
            token = text[i:j]
            if not token or '"' in token or "\\" in token:
                raise ParamError("bad bare parameter %r" % token)
            args.append(Arg(token, False))
            i = j
        if i == n:
            return args
        if text[i] != ",":
            raise ParamError("junk after a quoted string")
        i += 1


def quote(s):
    """Escape a string for use inside a command (inverse of the parser)."""
    return '"' + "".join("\\" + c if c in '"\\,' else c for c in s) + '"'
