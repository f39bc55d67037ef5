#!/usr/bin/env python3
"""Regenerate package.json (mip's package format) from the .py files in lib/wizfi360.

    python tools/gen_package_json.py           rewrite package.json
    python tools/gen_package_json.py --check   exit 1 if package.json is out of date

The "version" already in package.json is kept (0.1.0 when there is none).
Each entry maps the installed path to a URL relative to package.json, e.g.
["wizfi360/socket.py", "lib/wizfi360/socket.py"].
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "wizfi360"
DEFAULT_VERSION = "0.1.0"


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
    version = json.loads(old_text).get("version", DEFAULT_VERSION) if old_text else DEFAULT_VERSION
    new_text = render(package_urls(), version)

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
