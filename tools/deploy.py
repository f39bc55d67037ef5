#!/usr/bin/env python3
"""Put the driver and the sensor firmware on a board: what `make deploy` runs.

    python tools/deploy.py                      the first board mpremote finds
    python tools/deploy.py --port /dev/ttyACM0  this one
    python tools/deploy.py --dry-run            print the commands, run nothing

Steps:
 1. check config.json with the firmware's own checks (fwconfig.py, on the unix
    port): an error, or a key the firmware does not know (a typo in an
    optional key would leave that setting at its default), stops here;
 2. ask the board which .mpy files it loads: `sys.implementation._mpy` holds
    the bytecode version (bits 0-7), its sub-version (bits 8-9) and the
    native architecture (bits 10-15, e.g. armv6m for the RP2040);
 3. compile lib/wizfi360/**/*.py with mpy-cross into build/deploy/: native
    (viper) modules with -march=<the board's arch>; a .mpy with native code
    loads only on a firmware of the same sub-version, so when the board's
    differs from mpy-cross's such a module is copied as .py (the board
    compiles it itself);
 4. with mpremote: remove the old /lib/wizfi360 (a stale .py would shadow
    its .mpy), copy the .mpy files, the firmware (FIRMWARE_FILES) and
    config.json, install the micropython-lib packages the config needs with
    mip (requests for "endpoint", umqtt.simple for "mqtt"; --no-mip if the
    board has them or this computer has no internet), then reset the board
    so the firmware starts.
Only lib/wizfi360 goes to the board: host-side code (host/wizfi360_host) never does.
"""

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LIB = REPO / "lib"
PACKAGE = "wizfi360"
BUILD = Path("build") / "deploy"  # under REPO; commands run there, with relative paths
FIRMWARE_FILES = ("boot.py", "board.py", "main.py", "fwconfig.py", "senders.py", "backlog.py")

# sys.implementation._mpy >> 10, as mpy-cross's -march names them.
ARCHS = (
    None,
    "x86",
    "x64",
    "armv6",
    "armv6m",
    "armv7m",
    "armv7em",
    "armv7emsp",
    "armv7emdp",
    "xtensa",
    "xtensawin",
    "rv32imc",
    "rv64imc",
)
# What a Raspberry Pi Pico with MicroPython 1.23 or newer answers (6.3, armv6m):
# assumed by --dry-run when no board is asked.
PICO_MPY = 6 | 3 << 8 | 4 << 10
NATIVE_RE = re.compile(r"^\s*@micropython\.(viper|native|asm_thumb)\b", re.M)
QUERY = 'import sys; i = sys.implementation; print("MPY", getattr(i, "_mpy", 0), *i.version[:3])'


class DeployError(Exception):
    """Something a person has to fix; the message says what."""


def decode_mpy(value):
    """sys.implementation._mpy -> (version, sub_version, arch or None)."""
    if not isinstance(value, int) or value <= 0:
        raise DeployError(
            "the board reports no .mpy version (sys.implementation._mpy): its MicroPython is too old"
        )
    index = value >> 10
    if index >= len(ARCHS):
        raise DeployError("unknown native architecture %d in sys.implementation._mpy = %d" % (index, value))
    return value & 0xFF, (value >> 8) & 3, ARCHS[index]


def parse_board_answer(text):
    """The QUERY's output -> (mpy value, (major, minor, micro))."""
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 5 and parts[0] == "MPY":
            try:
                nums = [int(p) for p in parts[1:]]
            except ValueError:
                break
            return nums[0], tuple(nums[1:])
    raise DeployError("unexpected answer from the board: %r" % text.strip()[:200])


def check_board_version(version):
    if tuple(version) < (1, 20, 0):
        raise DeployError(
            "the board runs MicroPython %d.%d.%d; wizfi360 needs 1.20 or newer (it uses bytearray.find):"
            " flash a current firmware first" % tuple(version)
        )


def parse_mpy_cross_version(text):
    """`mpy-cross --version` output -> (version, sub_version)."""
    m = re.search(r"mpy v(\d+)(?:\.(\d+))?", text)
    if not m:
        raise DeployError("cannot tell which .mpy version mpy-cross writes from: %r" % text.strip())
    return int(m.group(1)), int(m.group(2) or 0)


def package_sources():
    """The package's .py files, relative to REPO."""
    pkg = LIB / PACKAGE
    return sorted(p.relative_to(REPO) for p in pkg.rglob("*.py") if "__pycache__" not in p.parts)


def is_native(path):
    return NATIVE_RE.search(path.read_text(encoding="utf-8")) is not None


def plan_build(sources, board, cross, mpy_cross, build=BUILD):
    """[(source, built file, command or None)]: what to compile, what to copy as .py.

    sources are paths relative to REPO; board is (version, sub, arch) decoded
    from the board, cross the (version, sub) mpy-cross writes. A command of
    None means the .py is copied as it is."""
    version, sub, arch = board
    if version != cross[0]:
        raise DeployError(
            "the board loads .mpy version %d, mpy-cross writes version %d: use --source to copy .py files"
            % (version, cross[0])
        )
    plan = []
    for src in sources:
        rel = src.relative_to("lib")
        native = is_native(REPO / src)
        if native and (arch is None or sub != cross[1]):
            plan.append((src, build / "lib" / rel, None))
            continue
        out = build / "lib" / rel.with_suffix(".mpy")
        cmd = [mpy_cross, "-o", out.as_posix(), "-s", rel.as_posix()]
        if native:
            cmd.append("-march=" + arch)
        cmd.append(src.as_posix())
        plan.append((src, out, cmd))
    return plan


def mpremote_base(python, port):
    base = [python, "-m", "mpremote"]
    return base + ["connect", port] if port else base


def upload_command(base, built, config, reset=True, build=BUILD, mip=()):
    """One mpremote run (chained with +) that replaces the package and the firmware,
    and installs the mip packages named in mip."""
    clean = (
        "import os\n"
        "def rm(d):\n"
        "    try:\n"
        "        names = os.listdir(d)\n"
        "    except OSError:\n"
        "        return\n"
        "    for n in names:\n"
        "        p = d + '/' + n\n"
        "        if os.stat(p)[0] & 0x4000:\n"
        "            rm(p)\n"
        "        else:\n"
        "            os.remove(p)\n"
        "    os.rmdir(d)\n"
        "rm('/lib/%s')\n"
        "for d in %r:\n"
        "    try:\n"
        "        os.mkdir(d)\n"
        "    except OSError:\n"
        "        pass\n"
    )
    dirs = {"/lib"}
    for path in built:
        rel = path.relative_to(build / "lib").parent
        for i in range(1, len(rel.parts) + 1):
            dirs.add("/lib/" + "/".join(rel.parts[:i]))
    cmd = base + ["exec", clean % (PACKAGE, sorted(dirs))]
    for path in built:
        cmd += ["+", "fs", "cp", path.as_posix(), ":/lib/" + path.relative_to(build / "lib").as_posix()]
    for name in FIRMWARE_FILES:
        cmd += ["+", "fs", "cp", name, ":/" + name]
    if config is not None:
        cmd += ["+", "fs", "cp", _rel(config), ":/config.json"]
    for name in mip:
        cmd += ["+", "mip", "install", name]
    if reset:
        cmd += ["+", "reset"]
    return cmd


def _rel(path):
    """path relative to REPO when it is inside, else as given."""
    try:
        return Path(path).resolve().relative_to(REPO).as_posix()
    except ValueError:
        return str(path)


def find_tool(name):
    here = Path(sys.executable).parent / name
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    venv = REPO / ".venv" / "bin" / name
    if venv.is_file() and os.access(venv, os.X_OK):
        return str(venv)
    return shutil.which(name)


def config_problems(path, micropython):
    """(error or None, [unknown keys]) by the firmware's own checks, fwconfig.load_config:
    on the unix port, as the board runs them, or under CPython without a micropython."""
    if micropython is None:
        fwconfig = _fwconfig()
        try:
            return None, fwconfig.load_config(str(path))[1]
        except fwconfig.ConfigError as e:
            return str(e), []
    code = (
        "import fwconfig, json\n"
        "try:\n"
        "    print('UNKNOWN KEYS:', json.dumps(fwconfig.load_config(%r)[1]))\n"
        "except fwconfig.ConfigError as e:\n"
        "    print('CONFIG ERROR:', e)\n" % str(path)
    )
    proc = subprocess.run(
        [micropython, "-c", code], cwd=str(REPO), capture_output=True, text=True, timeout=60
    )
    out = proc.stdout + proc.stderr
    if proc.returncode == 0 and "UNKNOWN KEYS:" in out:
        return None, json.loads(out.split("UNKNOWN KEYS:", 1)[1])
    return out.split("CONFIG ERROR:", 1)[-1].strip(), []


def unknown_key_message(path, unknown):
    """What to say about keys the firmware does not know: the nearest known ones."""
    fwconfig = _fwconfig()
    parts = []
    for name in unknown:
        near = difflib.get_close_matches(name, fwconfig.KNOWN_KEYS, n=1)
        parts.append("%r%s" % (name, " (did you mean %r?)" % near[0] if near else ""))
    return "%s: unknown key%s %s; the firmware knows: %s" % (
        path,
        "s" if len(parts) > 1 else "",
        ", ".join(parts),
        ", ".join(fwconfig.KNOWN_KEYS),
    )


def _fwconfig():
    """The firmware's fwconfig.py, imported here (plain Python: it runs under CPython too)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import fwconfig

    return fwconfig


def check_config(path, micropython):
    """Raise DeployError if the config is missing, wrong, or has a key the firmware does not know."""
    if not path.is_file():
        raise DeployError(
            "no %s: copy config.example.json to config.json and fill in your network and endpoint"
            " (or pass --config FILE, or --no-config to keep the board's)" % path
        )
    error, unknown = config_problems(path, micropython)
    if error:
        raise DeployError("%s: %s" % (path, error))
    if unknown:
        raise DeployError(unknown_key_message(path, unknown))


def mip_packages(config):
    """The micropython-lib packages the firmware needs for this config (checked before)."""
    try:
        cfg = json.loads(Path(config).read_text()) if config is not None else None
    except (OSError, ValueError):  # a dry run goes on past a broken config
        cfg = None
    if not isinstance(cfg, dict):
        return ("requests",)  # the board's own config is unknown here: HTTP's, the default
    return tuple(name for key, name in (("endpoint", "requests"), ("mqtt", "umqtt.simple")) if key in cfg)


def say(text):
    print("deploy: " + text, flush=True)


def show(cmd):
    print("  $ " + " ".join(_quote(c) for c in cmd), flush=True)


def _quote(arg):
    if arg and re.fullmatch(r"[\w./:=+@,-]+", arg):
        return arg
    return "'" + arg.replace("'", "'\\''") + "'"


def ask_board(base):
    cmd = base + ["exec", QUERY]
    show(cmd)
    try:
        proc = subprocess.run(cmd, cwd=str(REPO), capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        raise DeployError(
            "the board did not answer within 30 s: is a program holding it busy? Press reset and retry"
        )
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise DeployError(
            "no board found (%s). Plug the board in by USB, close other programs using its port"
            " (Thonny, a serial terminal), or name the port: make deploy PORT=/dev/ttyACM0"
            % (detail[-1] if detail else "mpremote exit status %d" % proc.returncode)
        )
    return parse_board_answer(proc.stdout)


def deploy(args):
    python = sys.executable
    base = mpremote_base(python, args.port)
    config = None if args.no_config else Path(args.config).resolve()
    if config is not None and args.dry_run:
        try:
            check_config(config, find_tool("micropython"))
        except DeployError as e:  # a dry run shows what a real one would stop at
            say("warning: %s. A real deploy stops here." % e)
            config = config if config.is_file() else None
    elif config is not None and not args.build_only:
        check_config(config, find_tool("micropython"))

    mpy_cross = args.mpy_cross or find_tool("mpy-cross")
    if not args.source and mpy_cross is None:
        raise DeployError("mpy-cross not found: run `make .venv`, or use --source to copy .py files")

    if args.board_mpy is not None:
        mpy_value, version = args.board_mpy, None
    elif args.dry_run:
        say("would ask the board for its .mpy version:")
        show(base + ["exec", QUERY])
        say("assuming a Pico with MicroPython 1.23+ (.mpy 6.3, armv6m); --board-mpy N to choose")
        mpy_value, version = PICO_MPY, None
    else:
        say("asking the board which .mpy files it loads ...")
        mpy_value, version = ask_board(base)
    if version is not None:
        check_board_version(version)
        say("board: MicroPython %d.%d.%d" % version)
    board = decode_mpy(mpy_value)
    say("board loads .mpy v%d.%d, native code for %s" % (board[0], board[1], board[2] or "no architecture"))

    build = Path(args.build_dir)
    sources = package_sources()
    if args.source:
        plan = [(src, build / "lib" / src.relative_to("lib"), None) for src in sources]
    else:
        cross = parse_mpy_cross_version(_run_text([mpy_cross, "--version"]))
        plan = plan_build(sources, board, cross, mpy_cross, build)
        if any(cmd is None for _, _, cmd in plan) and board[2] is not None:
            say(
                "mpy-cross writes v%d.%d, the board loads v%d.%d: native modules go as .py"
                " (compiled on the board)" % (cross + board[:2])
            )

    if args.dry_run:
        say("would compile:")
    else:
        if (REPO / build).exists():
            shutil.rmtree(REPO / build)
        say("compiling %d modules into %s" % (len(plan), build))
    for i, (src, out, cmd) in enumerate(plan, 1):
        if cmd is None:
            if args.dry_run:
                print("  copy %s as it is" % src, flush=True)
            else:
                (REPO / out).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(REPO / src, REPO / out)
            continue
        if args.dry_run:
            show(cmd)
            continue
        (REPO / out).parent.mkdir(parents=True, exist_ok=True)
        print("  [%d/%d] %s" % (i, len(plan), out), flush=True)
        proc = subprocess.run(cmd, cwd=str(REPO), capture_output=True, text=True)
        if proc.returncode != 0:
            raise DeployError("mpy-cross failed on %s:\n%s" % (src, proc.stderr.strip()))
    if args.build_only:
        return 0

    built = [out for _, out, _ in plan]
    mip = () if args.no_mip else mip_packages(config)
    upload = upload_command(base, built, config, reset=not args.no_reset, build=build, mip=mip)
    if args.dry_run:
        say("would copy to the board (one mpremote run):")
        show(upload)
        return 0
    size = sum((REPO / p).stat().st_size for p in built + list(FIRMWARE_FILES))
    say(
        "copying %d files (%.1f KB) to the board%s"
        % (
            len(built) + len(FIRMWARE_FILES) + (config is not None),
            size / 1024.0,
            " with config.json" if config else "",
        )
    )
    proc = subprocess.run(upload, cwd=str(REPO))
    if proc.returncode != 0:
        raise DeployError("mpremote failed (exit status %d): see its message above" % proc.returncode)
    if args.no_reset:
        say("done. Start the firmware with: mpremote reset   (or press the board's reset button)")
    else:
        say("done: the board restarted and runs main.py. Watch it with: make repl")
    return 0


def _run_text(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    return proc.stdout + proc.stderr


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="\n".join(__doc__.splitlines()[2:]),
    )
    ap.add_argument("--port", "-p", help="serial port of the board (default: the first one mpremote finds)")
    ap.add_argument(
        "--config", default=str(REPO / "config.json"), help="config file to copy (default config.json)"
    )
    ap.add_argument("--no-config", action="store_true", help="leave the board's config.json as it is")
    ap.add_argument("--source", action="store_true", help="copy the package as .py files, compile nothing")
    ap.add_argument("--no-reset", action="store_true", help="do not reset the board at the end")
    ap.add_argument(
        "--no-mip",
        action="store_true",
        help="do not install requests / umqtt.simple with mip (the board has them, or no internet here)",
    )
    ap.add_argument("--dry-run", "-n", action="store_true", help="print the commands, touch nothing")
    ap.add_argument("--build-only", action="store_true", help="compile into build/deploy and stop")
    ap.add_argument(
        "--board-mpy",
        type=_int,
        metavar="N",
        help="the board's sys.implementation._mpy (instead of asking it), e.g. %d or %s"
        % (PICO_MPY, hex(PICO_MPY)),
    )
    ap.add_argument("--mpy-cross", help="mpy-cross binary (default: the .venv's)")
    ap.add_argument(
        "--build-dir",
        default=str(BUILD),
        help="where to compile, relative to the repository (default %(default)s)",
    )
    args = ap.parse_args(argv)
    if args.build_only and args.board_mpy is None and not args.dry_run:
        ap.error("--build-only needs --board-mpy (there is no board to ask)")
    try:
        return deploy(args)
    except DeployError as e:
        print("deploy: error: %s" % e, file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("deploy: stopped", file=sys.stderr)
        return 130


def _int(text):
    return int(text, 0)


if __name__ == "__main__":
    sys.exit(main())
