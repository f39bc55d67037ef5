"""AT command-line parsing: split a line into name, form and parameters.

A line is the bytes the host sent before CRLF, e.g. b'AT+CWJAP_CUR="a\\"b","pw"'.
Quoted strings are un-escaped as the manual (3.2.2.15) describes: a backslash makes
the next character literal, so \\" \\\\ and \\, carry a quote, a backslash and a comma.
"""

# Command forms (manual 2.1)
EXEC, QUERY, SET, TEST = "exec", "query", "set", "test"


class ParamError(Exception):
    """Malformed command or parameter: the module answers ERROR."""


class Arg:
    """One parameter: its text and whether it was written as a quoted string."""

    __slots__ = ("text", "quoted")

    def __init__(self, text, quoted):
        self.text = text
        self.quoted = quoted

    def __repr__(self):
        return "Arg(%r, quoted=%r)" % (self.text, self.quoted)

    def int(self, lo, hi):
        t = self.text
        if self.quoted or not t or not (t.isdigit() or (t[0] == "-" and t[1:].isdigit())):
            raise ParamError("not an integer: %r" % t)
        v = int(t)
        if not lo <= v <= hi:
            raise ParamError("out of range: %d" % v)
        return v

    def str(self, minlen=0, maxlen=1024):
        if not self.quoted:
            raise ParamError("string must be quoted: %r" % self.text)
        if not minlen <= len(self.text) <= maxlen:
            raise ParamError("bad length: %r" % self.text)
        return self.text


class Command:
    """A parsed line: name (b'+CWJAP_CUR', b'E0', b'' for plain AT), form, args."""

    __slots__ = ("line", "name", "form", "args")

    def __init__(self, line, name, form, args):
        self.line = line
        self.name = name
        self.form = form
        self.args = args

    def __repr__(self):
        return "Command(%r, %s, %r)" % (self.name, self.form, self.args)

    def nargs(self, lo, hi=None):
        """The args, checked to number between lo and hi (inclusive)."""
        hi = lo if hi is None else hi
        if not lo <= len(self.args) <= hi:
            raise ParamError("expected %d..%d parameters" % (lo, hi))
        return self.args


def _name_end(line):
    """Index where the command name ends (at '=', '?' or end of line)."""
    for i in range(2, len(line)):
        if line[i] in b"=?":
            return i
    return len(line)


def parse_line(line):
    """Parse one command line (without CRLF). Raises ParamError if malformed."""
    line = bytes(line)
    if not line.startswith(b"AT"):
        raise ParamError("not a command")
    if b"\r" in line or b"\n" in line:
        raise ParamError("raw CR/LF inside a command line")
    end = _name_end(line)
    name = line[2:end]
    rest = line[end:]
    if name.startswith(b"+"):
        body = name[1:]
        if not body or not all(c in b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_" for c in body):
            raise ParamError("bad command name")
    if rest == b"":
        return Command(line, name, EXEC, [])
    if rest == b"?":
        return Command(line, name, QUERY, [])
    if rest == b"=?":
        return Command(line, name, TEST, [])
    if rest.startswith(b"="):
        return Command(line, name, SET, split_params(rest[1:]))
    raise ParamError("bad command form")


def split_params(data):
    """Split b'1,"a\\,b",x' into [Arg('1'), Arg('a,b', quoted), Arg('x')]."""
    text = data.decode("utf-8", "surrogateescape")
    args = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] == '"':
            i, value = _quoted(text, i + 1)
            args.append(Arg(value, True))
        else:
            j = text.find(",", i)
            j = n if j < 0 else j
            token = text[i:j]
            if '"' in token or "\\" in token or not token:
                raise ParamError("bad bare parameter: %r" % token)
            args.append(Arg(token, False))
            i = j
        if i == n:
            return args
        if text[i] != ",":
            raise ParamError("junk after a quoted string")
        i += 1


def _quoted(text, i):
    """Read a quoted string starting after its opening quote; returns (index after
    the closing quote, un-escaped value)."""
    out = []
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 >= n:
                break
            out.append(text[i + 1])
            i += 2
        elif c == '"':
            return i + 1, "".join(out)
        else:
            out.append(c)
            i += 1
    raise ParamError("unterminated string")


def quote(s):
    """Escape a string for use inside a command (inverse of the parser)."""
    return '"' + "".join("\\" + c if c in '"\\,' else c for c in s) + '"'
