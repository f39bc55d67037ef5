# Text to and from the module: quoting of user strings for AT commands, the
# IPv4 literals they may be, and the text and numbers of its answers.
#
# Manual 3.2.2.15: inside a quoted parameter, `"`, `\` and `,` must be
# preceded by a backslash. CR, LF and NUL cannot be escaped at all (CR/LF
# would end the command line and start another), so they are refused with
# ValueError before anything is sent (module-notes, bug 8).


def to_bytes(value, what):
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError("%s must be str or bytes" % what)


def quote(value, what, max_len, min_len=1):
    # value as a quoted, escaped AT string parameter: b'"..."'.
    raw = to_bytes(value, what)
    n = len(raw)
    if n < min_len or n > max_len:
        raise ValueError("%s must be %d to %d bytes long" % (what, min_len, max_len))
    out = bytearray(b'"')
    for c in raw:
        if c == 13 or c == 10 or c == 0:
            raise ValueError("%s must not contain CR, LF or NUL" % what)
        if c == 34 or c == 92 or c == 44:  # " \ ,
            out.append(92)
        out.append(c)
    out.append(34)
    return bytes(out)


def unquote(b, s, e):
    # The string field b[s:e] as bytes: surrounding quotes removed and
    # backslash escapes undone; unquoted fields are returned as they are.
    if e - s >= 2 and b[s] == 34 and b[e - 1] == 34:
        s += 1
        e -= 1
    out = bytearray()
    while s < e:
        c = b[s]
        if c == 92 and s + 1 < e:
            s += 1
            c = b[s]
        out.append(c)
        s += 1
    return bytes(out)


def text(b):
    # An answer's field (bytes) as str. Line noise can put bytes there that
    # are not UTF-8: that is a garbled answer, OSError(EIO), never a
    # UnicodeError (module-notes, "The wire").
    try:
        return bytes(b).decode()
    except ValueError:  # UnicodeError is one
        raise OSError(5, "garbled answer from the module")  # EIO


def number(b):
    # An answer's numeric field (bytes) as int; OSError(EIO) if it is not one.
    try:
        return int(b)
    except ValueError:
        raise OSError(5, "garbled answer from the module")  # EIO


def is_ip(host):
    # True for a dotted-quad IPv4 literal such as "192.168.1.10".
    parts = host.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p or len(p) > 3 or not p.isdigit() or int(p) > 255:
            return False
    return True
