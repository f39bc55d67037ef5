#!/usr/bin/env python3
"""Regenerate package.json (mip's package format) from the .py files in lib/wizfi360.

    python tools/gen_package_json.py           rewrite package.json
    python tools/gen_package_json.py --check   exit 1 if package.json is out of date

The version is lib/wizfi360/__init__.py's __version__, the one place it is set
(manifest.py reads it there too; CHANGELOG.md names it). Each entry maps the
installed path to a URL relative to package.json, e.g.
["wizfi360/socket.py", "lib/wizfi360/socket.py"].
"""

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "wizfi360"
VERSION_LINE = re.compile(r'^__version__ = "([^"]+)"$', re.M)


def package_version(root=ROOT):
    """The package's __version__, read from the text of its __init__.py (not imported)."""
    init = root / "lib" / PACKAGE / "__init__.py"
    found = VERSION_LINE.findall(init.read_text())
    if len(found) != 1:
        raise SystemExit('%s: expected one line __version__ = "X.Y.Z", found %d' % (init, len(found)))
    return found[0]


def package_urls(root=ROOT):
    lib = root / "lib"
    files = sorted(p.relative_to(lib).as_posix() for p in (lib / PACKAGE).rglob("*.py"))
    return [[f, "lib/" + f] for f in files if "__pycache__" not in f]


def render(urls, version):
    lines = ",\n".join("    " + json.dumps(pair) for pair in urls)
    body = "\n" + lines + "\n  " if urls else ""
    return '{\n  "urls": [%s],\n  "version": %s\n}\n' % (body, json.dumps(version))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only check, do not write")
    args = ap.parse_args(argv)

    path = ROOT / "package.json"
    old_text = path.read_text() if path.exists() else ""
    new_text = render(package_urls(), package_version())

    if args.check:
        if new_text != old_text:
            print("package.json is out of date: run `make package-json`", file=sys.stderr)
            return 1
        return 0
    if new_text != old_text:
        path.write_text(new_text)
        print("wrote %s (%d files)" % (path.relative_to(ROOT), len(json.loads(new_text)["urls"])))
    else:
        print("package.json is up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
