#!/usr/bin/env python3
"""Install the MicroPython libraries pinned in requirements-mplib.txt into a directory.

    python tools/install_mplib.py [--target build/mplib] [requirements-mplib.txt]

Each line pins one package, `name==version`, optionally followed by
`--hash=sha256:<hex>` (then the downloaded file must have that digest) and a comment.
Releases with a wheel, and sdists that are Python projects, are installed by pip
(--no-deps --no-compile --target). micropython-lib's older releases on PyPI (for
example micropython-umqtt.simple) are source-only sdists made for upip: the module
and a PKG-INFO, no setup.py or pyproject.toml, which pip refuses ("does not appear to
be a Python project"). Those are fetched from the package index as pip would (PEP 691
JSON, the index of $PIP_INDEX_URL or PyPI), checked against the index's sha256 and the
pinned one, and their .py files copied into the target as they are: what `upip` did.
The target directory is emptied first, so nothing is left over from an older pin.
"""

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from pathlib import Path

DEFAULT_INDEX = "https://pypi.org/simple"
PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)((?:\s+--hash=sha256:[0-9a-f]{64})?)\s*(?:#.*)?$")
TIMEOUT_S = 60


class InstallError(Exception):
    pass


def parse(text):
    """[(name, version, sha256 or None)] of the requirement lines; InstallError on a line
    that is not an exact pin."""
    pins = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = PIN_RE.match(line)
        if not m:
            raise InstallError("line %d: expected `name==version [--hash=sha256:...]`: %r" % (n, raw))
        digest = m.group(3).strip()[len("--hash=sha256:") :] if m.group(3) else None
        pins.append((m.group(1), m.group(2), digest))
    return pins


def normalize(name):
    """PEP 503's project name: lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def release_files(name, version, index):
    """[(filename, url, sha256)] of the release's files on the index (PEP 691)."""
    url = "%s/%s/" % (index.rstrip("/"), normalize(name))
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as r:
        files = json.load(r)["files"]
    return [
        (f["filename"], f["url"], f["hashes"].get("sha256"))
        for f in files
        if file_release(f["filename"]) == (normalize(name), version)
    ]


def file_release(filename):
    """(normalized name, version) a wheel's or a .tar.gz sdist's filename names, else None."""
    if filename.endswith(".whl"):
        parts = filename.split("-")
        return (normalize(parts[0]), parts[1]) if len(parts) >= 5 else None
    if filename.endswith(".tar.gz"):
        stem, _, version = filename[: -len(".tar.gz")].rpartition("-")
        return (normalize(stem), version) if stem else None
    return None


def fetch(url, digests):
    """The bytes at url; InstallError unless their sha256 is each of digests (None: not pinned)."""
    with urllib.request.urlopen(url, timeout=TIMEOUT_S) as r:
        data = r.read()
    got = hashlib.sha256(data).hexdigest()
    for want in digests:
        if want is not None and want != got:
            raise InstallError("%s: sha256 %s, expected %s" % (url.rsplit("/", 1)[-1], got, want))
    return data


def copy_sources(sdist, target):
    """Copy the .py files of a source-only sdist (a .tar.gz) below its top folder into
    target, leaving out the *.egg-info metadata; returns their relative paths."""
    copied = []
    with tarfile.open(fileobj=io.BytesIO(sdist), mode="r:gz") as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts[1:]
            if not member.isfile() or not parts or not parts[-1].endswith(".py"):
                continue
            if any(p.endswith(".egg-info") or p in ("..", "") for p in parts):
                continue
            dst = target.joinpath(*parts)
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_bytes(tar.extractfile(member).read())
            copied.append("/".join(parts))
    return copied


def is_python_project(sdist):
    with tarfile.open(fileobj=io.BytesIO(sdist), mode="r:gz") as tar:
        names = {Path(m.name).parts[-1] for m in tar.getmembers() if len(Path(m.name).parts) == 2}
    return bool(names & {"setup.py", "pyproject.toml"})


def pip_install(spec, version, digest, target):
    """pip installs spec (a name, with version; or a file, version None) into target,
    checking the sha256 digest if one is pinned."""
    line = spec if version is None else "%s==%s" % (spec, version)
    if digest is not None:
        line += " --hash=sha256:" + digest
    reqs = target.parent / ".install_mplib-requirements.txt"
    reqs.write_text(line + "\n")
    cmd = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    cmd += ["--no-deps", "--no-compile", "--target", str(target), "-r", str(reqs)]
    try:
        if subprocess.run(cmd).returncode:
            raise InstallError("pip could not install %s" % line)
    finally:
        reqs.unlink()


def install(pins, target, index):
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for name, version, digest in pins:
        files = release_files(name, version, index)
        if not files:
            raise InstallError("%s==%s: no such release on %s" % (name, version, index))
        if any(f[0].endswith(".whl") for f in files):
            pip_install(name, version, digest, target)
            continue
        sdists = [f for f in files if f[0].endswith(".tar.gz")]
        if not sdists:
            raise InstallError("%s==%s: no wheel and no .tar.gz sdist" % (name, version))
        filename, url, index_digest = sdists[0]
        data = fetch(url, (index_digest, digest))
        if is_python_project(data):
            path = target.parent / filename
            path.write_bytes(data)
            try:
                pip_install(str(path.resolve()), None, None, target)
            finally:
                path.unlink()
        else:
            copied = copy_sources(data, target)
            if not copied:
                raise InstallError("%s: no .py files in it" % filename)
            print("%s==%s: source-only sdist, copied %s" % (name, version, ", ".join(copied)))


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    ap.add_argument("requirements", nargs="?", default="requirements-mplib.txt")
    ap.add_argument("--target", default="build/mplib")
    args = ap.parse_args(argv)
    index = os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX
    try:
        pins = parse(Path(args.requirements).read_text(encoding="utf-8"))
        install(pins, Path(args.target), index)
    except (InstallError, OSError, ValueError, KeyError) as e:
        print("install_mplib: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
