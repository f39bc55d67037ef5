"""Quoting of user strings for AT commands (lib/wizfi360/at/escape.py).

Manual 3.2.2.15: inside a quoted parameter `"`, `\\` and `,` are preceded by
a backslash; CR, LF and NUL cannot be sent at all (module-notes, bug 8).
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wizfi360.at.escape import quote, unquote


def uq(b):
    return unquote(b, 0, len(b))


# --------------------------------------------------------------------------
# quote()


@pytest.mark.parametrize(
    "value,expected",
    [
        ("ab\\c", b'"ab\\\\c"'),  # manual 3.2.2.15: SSID ab\c -> "ab\\c"
        ("12345678\\", b'"12345678\\\\"'),  # ... password 12345678\ -> "12345678\\"
        ('say "hi"', b'"say \\"hi\\""'),
        ("a,b", b'"a\\,b"'),
        ('\\",', b'"\\\\\\"\\,"'),
        ("plain", b'"plain"'),
        ("with space", b'"with space"'),
        ("x", b'"x"'),
        ("caf\u00e9", b'"caf\xc3\xa9"'),  # UTF-8, not escaped
        ("'single'", b"\"'single'\""),
        ("tab\there", b'"tab\there"'),  # only CR, LF and NUL are refused
    ],
)
def test_quote(value, expected):
    assert quote(value, "ssid", 64) == expected


def test_quote_accepts_bytes_like():
    for v in (b"ab\\c", bytearray(b"ab\\c"), memoryview(b"ab\\c")):
        assert quote(v, "ssid", 32) == b'"ab\\\\c"'
    assert quote(b"\xff\xfe,", "pwd", 8) == b'"\xff\xfe\\,"'


def test_quote_returns_bytes():
    assert type(quote("abc", "ssid", 32)) is bytes
    assert type(quote(bytearray(b"abc"), "ssid", 32)) is bytes


@pytest.mark.parametrize(
    "value",
    ["a\rb", "a\nb", "a\0b", "\r\n", "x\r\nAT+RST", b"a\rb", b"a\nb", b"\x00", bytearray(b"ok\n")],
)
def test_quote_refuses_cr_lf_nul(value):
    with pytest.raises(ValueError):
        quote(value, "ssid", 64)


def test_quote_length_limits_count_raw_bytes():
    assert quote("a" * 32, "ssid", 32) == b'"' + b"a" * 32 + b'"'
    with pytest.raises(ValueError):
        quote("a" * 33, "ssid", 32)
    # the limit is on the raw string, not on the escaped form
    assert quote("," * 32, "ssid", 32) == b'"' + b"\\," * 32 + b'"'
    # UTF-8 bytes count: 16 x 2 bytes fits 32, 17 x 2 does not
    assert len(quote("\u00e9" * 16, "ssid", 32)) == 34
    with pytest.raises(ValueError):
        quote("\u00e9" * 17, "ssid", 32)
    with pytest.raises(ValueError):
        quote("", "ssid", 32)  # min_len 1 by default
    with pytest.raises(ValueError):
        quote("short", "pwd", 64, min_len=8)
    assert quote("12345678", "pwd", 64, min_len=8) == b'"12345678"'
    assert quote("", "pwd", 64, min_len=0) == b'""'


@pytest.mark.parametrize("value", [None, 5, 3.0, ["a"], ("a",), object()])
def test_quote_type_error(value):
    with pytest.raises(TypeError):
        quote(value, "ssid", 32)


def test_error_message_names_the_parameter():
    with pytest.raises(ValueError, match="password"):
        quote("a\nb", "password", 64)
    with pytest.raises(ValueError, match="hostname"):
        quote("x" * 40, "hostname", 32)
    with pytest.raises(TypeError, match="ssid"):
        quote(1, "ssid", 32)


# --------------------------------------------------------------------------
# unquote()


ROUND_TRIP = [
    "ab\\c",
    "12345678\\",
    '"',
    '""',
    "\\",
    "\\\\",
    ",",
    ",,,",
    '\\"',
    '"\\,',
    "a b c",
    "caf\u00e9",
    "\u65e5\u672c\u8a9e",  # Japanese
    "\U0001f600 emoji",
    "tab\tand\x7fdel",
    "ends with backslash \\",
    "x" * 63,
]


@pytest.mark.parametrize("s", ROUND_TRIP)
def test_unquote_undoes_quote(s):
    q = quote(s, "ssid", 64)
    assert uq(q).decode() == s


def test_unquote_within_a_line():
    line = b'+CWJAP_CUR:"my\\,net\\"","aa:bb:cc:dd:ee:ff",6,-55'
    s = line.index(b'"')
    e = line.index(b'",', s + 1) + 1
    assert unquote(line, s, e) == b'my,net"'


def test_unquote_leaves_unquoted_fields():
    assert uq(b"1.2.3.4") == b"1.2.3.4"
    assert uq(b"-55") == b"-55"
    assert uq(b"") == b""
    assert uq(b'"') == b'"'
    assert uq(b'""') == b""


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_characters="\r\n\x00", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=40,
    )
)
def test_round_trip_property(s):
    assert uq(quote(s, "ssid", 200)).decode() == s


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=40).filter(lambda b: not (set(b) & {0, 10, 13})))
def test_round_trip_bytes_property(b):
    q = quote(b, "pwd", 200)
    assert not (set(q) & {0, 10, 13})
    assert uq(q) == b
