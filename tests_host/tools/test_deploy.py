"""tools/deploy.py without a board: .mpy version decoding, the build plan, the
commands a dry run prints, a real build for the unix port's architecture that
the unix port then imports (viper included), and its errors.

The upload itself needs a board: it is not tested here (see docs/install.md, "make deploy").
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

import deploy  # noqa: E402

PICO = 6 | 3 << 8 | 4 << 10  # what MicroPython 1.23+ on an RP2040 answers
UNIX_X64 = 6 | 3 << 8 | 2 << 10


def run_deploy(*args, timeout=120):
    proc = subprocess.run(
        [sys.executable, str(REPO / "tools" / "deploy.py"), *args],
        cwd=str(REPO),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    print(proc.stdout + proc.stderr)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.mark.parametrize(
    "value, expected",
    [
        (PICO, (6, 3, "armv6m")),
        (0x1306, (6, 3, "armv6m")),
        (UNIX_X64, (6, 3, "x64")),
        (6 | 1 << 8 | 4 << 10, (6, 1, "armv6m")),  # MicroPython 1.20-1.21 on a Pico
        (6 | 3 << 8 | 7 << 10, (6, 3, "armv7emsp")),  # RP2350 (Pico 2)
        (6 | 3 << 8 | 10 << 10, (6, 3, "xtensawin")),  # ESP32
        (6 | 3 << 8, (6, 3, None)),  # no native emitter
    ],
)
def test_decode_mpy(value, expected):
    assert deploy.decode_mpy(value) == expected


@pytest.mark.parametrize("value", [0, -1, 6 | 3 << 8 | 40 << 10])
def test_decode_mpy_refuses_nonsense(value):
    with pytest.raises(deploy.DeployError):
        deploy.decode_mpy(value)


def test_the_query_decodes_on_the_unix_port():
    # The line deploy.py sends to the board, run on the unix port: the same
    # sys.implementation fields exist there.
    micropython = deploy.find_tool("micropython")
    if micropython is None:
        pytest.skip("no micropython binary")
    out = subprocess.run([micropython, "-c", deploy.QUERY], capture_output=True, text=True).stdout
    value, version = deploy.parse_board_answer(out)
    assert version >= (1, 20, 0)
    assert deploy.decode_mpy(value)[0] == 6


def test_parse_board_answer():
    assert deploy.parse_board_answer("MPY 4870 1 24 1\r\n") == (4870, (1, 24, 1))
    assert deploy.parse_board_answer("noise\nMPY 4870 1 22 2\n") == (4870, (1, 22, 2))
    with pytest.raises(deploy.DeployError, match="unexpected answer"):
        deploy.parse_board_answer("Traceback (most recent call last):\n")


def test_old_boards_are_refused():
    deploy.check_board_version((1, 20, 0))
    with pytest.raises(deploy.DeployError, match="needs 1.20 or newer"):
        deploy.check_board_version((1, 19, 1))


def test_parse_mpy_cross_version():
    text = "MicroPython v1.29.0 on 2026-08-29; mpy-cross emitting mpy v6.3\n"
    assert deploy.parse_mpy_cross_version(text) == (6, 3)
    with pytest.raises(deploy.DeployError):
        deploy.parse_mpy_cross_version("mpy-cross: command not found")


def plan_for(board, cross=(6, 3)):
    return deploy.plan_build(deploy.package_sources(), board, cross, "mpy-cross")


def test_plan_compiles_everything_and_marches_only_native_modules():
    plan = plan_for((6, 3, "armv6m"))
    assert len(plan) == len(deploy.package_sources()) > 5
    native = [src.name for src, _, cmd in plan if any(a.startswith("-march=") for a in cmd)]
    assert native == ["_copy_viper.py", "_ipd_viper.py"]
    for src, out, cmd in plan:
        assert out.suffix == ".mpy"
        assert cmd[0] == "mpy-cross" and cmd[-1] == src.as_posix()
        assert cmd[cmd.index("-s") + 1] == src.relative_to("lib").as_posix()  # names in tracebacks
    viper = next(cmd for src, _, cmd in plan if src.name == "_copy_viper.py")
    assert "-march=armv6m" in viper


def test_plan_copies_native_modules_as_source_on_another_sub_version():
    plan = plan_for((6, 1, "armv6m"))  # MicroPython 1.20 on the board, mpy-cross 1.29
    as_is = [src.name for src, out, cmd in plan if cmd is None]
    assert as_is == ["_copy_viper.py", "_ipd_viper.py"]
    assert all(out.suffix == ".mpy" for src, out, cmd in plan if cmd is not None)


def test_plan_refuses_another_major_version():
    with pytest.raises(deploy.DeployError, match="use --source"):
        plan_for((5, 0, "armv6m"))


def write_config(folder, **changes):
    cfg = {"ssid": "x", "key": "y", "endpoint": "http://a/", "interval_s": 5}
    cfg.update(changes)
    path = folder / "config.json"
    path.write_text(json.dumps(cfg))
    return path


def test_dry_run_prints_every_command_and_touches_nothing(tmp_path):
    config = write_config(tmp_path)
    rc, out, err = run_deploy(
        "--dry-run", "--port", "/dev/ttyACM0", "--build-dir", "build/dry-run-test", "--config", str(config)
    )
    assert rc == 0, err
    assert not (REPO / "build" / "dry-run-test").exists()
    lines = out.splitlines()
    query = [ln for ln in lines if " exec " in ln and "_mpy" in ln]
    assert query and "-m mpremote connect /dev/ttyACM0 exec" in query[0]
    compiles = [ln for ln in lines if "mpy-cross -o " in ln]
    assert len(compiles) == len(deploy.package_sources())
    assert [ln for ln in compiles if "-march=armv6m" in ln] == [
        ln for ln in compiles if ln.split()[-1].endswith("_viper.py")
    ]
    upload = [ln for ln in lines if "fs cp" in ln]
    assert len(upload) == 1  # one mpremote run
    for part in (
        ":/lib/wizfi360/__init__.mpy",
        ":/lib/wizfi360/wire/_copy_viper.mpy",
        "fs cp boot.py :/boot.py",
        "fs cp board.py :/board.py",
        "fs cp main.py :/main.py",
        "fs cp fwconfig.py :/fwconfig.py",
        "fs cp senders.py :/senders.py",
        "fs cp backlog.py :/backlog.py",
        "fs cp %s :/config.json" % config,
        "+ mip install requests + reset",  # the endpoint's library, from micropython-lib
    ):
        assert part in upload[0] or part in out, part
    assert upload[0].rstrip().endswith("+ reset")
    assert "warning" not in out
    # Host-side modules never go to a board.
    assert "hostuart" not in out and "consts" not in out and "wizfi360_host" not in out
    assert "rm(" in out and "os.rmdir(d)" in out  # the old package goes first


def test_dry_run_options():
    rc, out, _ = run_deploy("-n", "--no-config", "--no-reset", "--board-mpy", "0x1106")
    assert rc == 0
    assert "board loads .mpy v6.1, native code for armv6m" in out
    assert "copy lib/wizfi360/wire/_copy_viper.py as it is" in out
    assert "config.json" not in out.split("would copy")[-1]
    assert not out.rstrip().endswith("reset")
    assert " connect " not in out  # no --port: mpremote picks the board

    rc, out, _ = run_deploy("-n", "--source", "--board-mpy", str(PICO))
    assert rc == 0 and "mpy-cross -o" not in out
    assert ":/lib/wizfi360/at/engine.py" in out


def test_build_for_the_unix_port_imports_there(tmp_path):
    # Compile for x64 (the unix port's own .mpy flavour) and import every
    # module from the .mpy files: the same pipeline as for armv6m.
    micropython = deploy.find_tool("micropython")
    if micropython is None:
        pytest.skip("no micropython binary")
    build = "build/test-deploy-x64"
    try:
        rc, out, err = run_deploy("--build-only", "--board-mpy", str(UNIX_X64), "--build-dir", build)
        assert rc == 0, err
        pkg = REPO / build / "lib" / "wizfi360"
        names = sorted(".".join(p.relative_to(pkg).with_suffix("").parts) for p in pkg.rglob("*.mpy"))
        assert len(names) == len(deploy.package_sources())
        assert not list(pkg.rglob("*.py"))
        head = (pkg / "wire" / "_copy_viper.mpy").read_bytes()[:4]
        assert head[:2] == b"M\x06" and head[2] >> 2 == 2 and head[2] & 3 == 3  # x64, 6.3
        assert (pkg / "wire" / "ring.mpy").read_bytes()[2] == 0  # bytecode only: loads on any 6.x
        code = (
            "import wizfi360, wizfi360.wire.bufcopy as b\n"
            "for n in %r:\n"
            "    if n != '__init__':\n"
            "        __import__('wizfi360.' + n)\n"
            "print('viper', b.VIPER, wizfi360.__file__)\n" % names
        )
        # .frozen: the port's own frozen modules (asyncio, which aio.py imports)
        env = dict(os.environ, MICROPYPATH=str(REPO / build / "lib") + ":.frozen")
        proc = subprocess.run([micropython, "-c", code], env=env, capture_output=True, text=True, timeout=60)
        assert proc.stdout.strip().endswith("viper True %s/lib/wizfi360/__init__.mpy" % (REPO / build)), (
            proc.stdout + proc.stderr
        )
    finally:
        import shutil

        shutil.rmtree(REPO / build, ignore_errors=True)


def test_without_a_board_it_says_so():
    rc, out, err = run_deploy("--no-config", "--port", "/dev/ttyWIZFI-NONE", timeout=60)
    assert rc == 1
    assert "deploy: error: no board found" in err
    assert "PORT=/dev/ttyACM0" in err
    assert "Traceback" not in err


def test_a_missing_config_is_explained(tmp_path):
    rc, out, err = run_deploy("--config", str(tmp_path / "config.json"))
    assert rc == 1
    assert "copy config.example.json to config.json" in err


def test_a_bad_config_is_caught_before_the_board_is_asked(tmp_path):
    if deploy.find_tool("micropython") is None:
        pytest.skip("no micropython binary")
    bad = tmp_path / "config.json"
    bad.write_text('{"ssid": "x", "key": "y", "endpoint": "https://a/", "interval_s": 5}')
    rc, out, err = run_deploy("--config", str(bad))
    assert rc == 1
    assert "endpoint: https is not supported" in err
    assert "asking the board" not in out


def test_a_typo_in_an_optional_key_is_caught_before_the_board_is_asked(tmp_path):
    # The firmware itself would only log "ignoring unknown key" and run with
    # the default watchdog: deploy refuses it, naming the key it meant.
    config = write_config(tmp_path, watchdg_s=60)
    rc, out, err = run_deploy("--config", str(config))
    assert rc == 1
    assert "unknown key 'watchdg_s' (did you mean 'watchdog_s'?); the firmware knows: ssid, key," in err
    assert "asking the board" not in out


def test_the_known_keys_are_the_firmwares_own(tmp_path):
    # One list (fwconfig.KNOWN_KEYS): deploy's check is the firmware's check, on
    # the unix port or, without a micropython binary, under CPython.
    sys.path.insert(0, str(REPO))
    import fwconfig  # noqa: PLC0415

    micropython = deploy.find_tool("micropython")
    for mp in (micropython, None):
        good = write_config(tmp_path, watchdog_s=60, queue_max=5)
        assert deploy.config_problems(good, mp) == (None, [])
        bad = write_config(tmp_path, colour="blue", watchdg_s=1)
        assert deploy.config_problems(bad, mp) == (None, ["colour", "watchdg_s"])
        wrong = write_config(tmp_path, queue_max=0)
        assert deploy.config_problems(wrong, mp)[0].startswith("'queue_max' must be a whole number")
    message = deploy.unknown_key_message("c.json", ["colour"])
    assert message == "c.json: unknown key 'colour'; the firmware knows: " + ", ".join(fwconfig.KNOWN_KEYS)


def test_dry_run_warns_about_a_missing_or_bad_config(tmp_path):
    rc, out, err = run_deploy("-n", "--config", str(tmp_path / "config.json"))
    assert rc == 0
    assert "deploy: warning: no %s: copy config.example.json" % (tmp_path / "config.json") in out
    assert "A real deploy stops here." in out
    assert ":/config.json" not in out  # nothing to copy

    config = write_config(tmp_path, watchdg_s=60)
    rc, out, err = run_deploy("-n", "--config", str(config))
    assert rc == 0
    assert "deploy: warning: %s: unknown key 'watchdg_s' (did you mean 'watchdog_s'?)" % config in out


def test_mip_installs_what_the_config_needs(tmp_path):
    mqtt = {"host": "broker.lan"}
    for changes, wanted in (
        ({}, ["requests"]),
        ({"mqtt": mqtt}, ["requests", "umqtt.simple"]),
        ({"mqtt": mqtt, "endpoint": None}, ["umqtt.simple"]),
    ):
        cfg = {k: v for k, v in changes.items() if v is not None}
        config = write_config(tmp_path, **cfg)
        if changes.get("endpoint", "") is None:
            data = json.loads(config.read_text())
            del data["endpoint"]
            config.write_text(json.dumps(data))
        rc, out, _ = run_deploy("-n", "--board-mpy", str(PICO), "--config", str(config))
        assert rc == 0 and "warning" not in out
        upload = out.split("would copy")[-1]
        assert re.findall(r"\+ mip install (\S+)", upload) == wanted
    rc, out, _ = run_deploy("-n", "--board-mpy", str(PICO), "--config", str(config), "--no-mip")
    assert "mip install" not in out.split("would copy")[-1]


def test_every_firmware_module_is_deployed():
    # The modules the firmware imports from the repository's root are copied.
    import ast  # noqa: PLC0415

    local = {p.stem for p in REPO.glob("*.py")} - {"manifest"}
    shipped = {Path(name).stem for name in deploy.FIRMWARE_FILES}
    todo, seen = ["main", "boot"], set()
    while todo:
        name = todo.pop()
        seen.add(name)
        for node in ast.walk(ast.parse((REPO / (name + ".py")).read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            todo += [n for n in names if n in local and n not in seen]
    assert seen == shipped


def test_build_only_needs_the_board_mpy():
    rc, out, err = run_deploy("--build-only")
    assert rc == 2 and "--build-only needs --board-mpy" in err
