"""The private copies of parser.py's and engine.py's constants match the public values.

parser.py and engine.py define their constants privately (`_EV_OK = const(1)`):
MicroPython folds them at compile time and keeps no global and no interned name.
Every other module holds private copies of the ones it uses, and
host/wizfi360_host/consts.py (host-side: never on a board) the public names, for
tests and tools. Copies can drift; these tests read every `_NAME = const(N)` in
lib/wizfi360 and compare.
"""

import re

import wizfi360.at.engine
import wizfi360.wire.parser
import wizfi360_host.consts

DEFINED_BY = {
    **{n: "parser" for n in vars(wizfi360_host.consts) if re.fullmatch(r"EV_[A-Z_]+|RECORD", n)},
    **{
        n: "engine"
        for n in (
            "LINKS OPENING OPEN CLOSED BROKEN WAITING TIMED_OUT GONE".split()
            + "WIFI_DOWN WIFI_ASSOCIATED WIFI_UP".split()
        )
    },
}
PATHS = {"parser": "wire/parser.py", "engine": "at/engine.py"}
PRIVATE = re.compile(r"^_([A-Z][A-Z0-9_]*) = const\((-?\d+)\)", re.M)


def sources(repo_root):
    return sorted((repo_root / "lib" / "wizfi360").rglob("*.py"))


def test_every_public_constant_is_in_consts():
    public = {n for n in vars(wizfi360_host.consts) if re.fullmatch(r"[A-Z][A-Z0-9_]*", n)}
    assert public == set(DEFINED_BY)


def test_defining_modules_define_each_one(repo_root):
    for name, mod in DEFINED_BY.items():
        src = (repo_root / "lib" / "wizfi360" / PATHS[mod]).read_text()
        found = dict(PRIVATE.findall(src))
        assert name in found, "%s.py does not define _%s" % (mod, name)


def test_private_copies_equal_the_public_values(repo_root):
    checked = 0
    for path in sources(repo_root):
        for name, value in PRIVATE.findall(path.read_text()):
            if name in DEFINED_BY:
                public = getattr(wizfi360_host.consts, name)
                assert int(value) == public, "%s: _%s = %s, but %s.%s = %d" % (
                    path.name,
                    name,
                    value,
                    DEFINED_BY[name],
                    name,
                    public,
                )
                checked += 1
    assert checked >= len(DEFINED_BY)


def test_no_module_imports_the_public_names(repo_root):
    # An import would bring back the global and the interned name; consts.py
    # is for code and tests outside the driver.
    imports = re.compile(r"^\s*from \.(?:parser|engine|consts)? import (\([^)]*\)|[^\n]*)", re.M)
    for path in sources(repo_root):
        src = path.read_text()
        for m in imports.finditer(src):
            names = {n.strip(" ()\n") for n in m.group(1).split(",")}
            assert not names & (set(DEFINED_BY) | {"consts"}), "%s: %s" % (path.name, m.group(0))


def test_private_copies_of_the_status_values_match(repo_root):
    # wizfi360.STAT_* (network.WLAN's status() values) are copied as _STAT_*.
    import wizfi360

    seen = 0
    for path in sources(repo_root):
        for name, value in PRIVATE.findall(path.read_text()):
            if name.startswith("STAT_"):
                assert getattr(wizfi360, name) == int(value), "%s: _%s" % (path.name, name)
                seen += 1
    assert seen


def test_the_modules_have_no_public_names(repo_root):
    # The names live in wizfi360_host.consts alone: engine.OPEN is an
    # AttributeError (hasattr is False), with or without the host package.
    assert not hasattr(wizfi360.at.engine, "OPEN")  # here, with the host package
    assert not hasattr(wizfi360.wire.parser, "EV_OK")
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    code = (
        "import wizfi360.at.engine as e, wizfi360.wire.parser as p;"
        " print(hasattr(e, 'OPEN'), hasattr(p, 'EV_OK'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root / "lib", capture_output=True, text=True, check=True
    ).stdout
    assert out.split() == ["False", "False"]


def test_the_parser_twin_names_the_damage_event_as_the_parser_does(repo_root):
    # tests_device/parsertwin.py runs on boards too, where wizfi360_host is not installed.
    import wizfi360_host.consts as consts

    text = (repo_root / "tests_device" / "parsertwin.py").read_text()
    assert re.search(r"^EV_DAMAGED = (\d+)", text, re.M).group(1) == str(consts.EV_DAMAGED)
