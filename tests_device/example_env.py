# How the programs of examples/ run off the board, on the unix port against
# the emulator: for tests_device/test_examples.py and tools/run_example.py
# (`make example NAME=...`). They import `machine` and `settings` as they would
# on a board; install() makes `machine` tests_device/machine_standin.py (the
# emulator's UART, and its reset line on GP20) and `settings` an object holding
# this run's values in place of examples/settings.py, as a user edits that file
# for their network: the emulator's access point, and the servers that
# tools/run_device_tests.py (or run_example.py) started on 127.0.0.1, whose
# ports come from the environment.
import sys

import board
import machine_standin


class Settings:
    """examples/settings.py, edited for the emulator and the peers on 127.0.0.1."""


settings = Settings()


def port(name):
    """The port in environment variable name (0 if unset)."""
    return int(board._env(name, "0"))


def reset():
    """Every setting back to its value for this run; returns the settings object."""
    s = board.settings()
    values = {
        "SSID": s["ssid"],
        "KEY": s["key"],
        "WEB_HOST": "echo.test",  # the emulator resolves it to 127.0.0.1
        "WEB_PORT": port("WIZFI_HTTP_PORT"),
        "HTTP_URL": s["http_url"] + "/hello.txt",
        "TLS_HOST": "tls.test",
        "TLS_PORT": port("WIZFI_HTTPS_PORT"),
        "TLS_PATH": "/secret.txt",
        "MQTT_BROKER": "127.0.0.1",
        "MQTT_PORT": port("WIZFI_MQTT_PORT"),
        "MQTT_TOPIC": "wizfi360/examples/test",
        "NTP_HOST": "127.0.0.1",
        "NTP_PORT": port("WIZFI_NTP_PORT"),
        "SERVER_PORT": port("WIZFI_SERVER_PORT") or 8000,
        "AP_SSID": "wizfi360-setup",
        "AP_KEY": "change-me-123",
        "AP_CHANNEL": 6,
        "AP_WAIT_S": 20,
    }
    for name, value in values.items():
        setattr(settings, name, value)
    return settings


def install(examples_dir="examples"):
    """`machine` and `settings` as above, and examples_dir on sys.path."""
    machine_standin.install()
    sys.modules["settings"] = reset()
    if examples_dir not in sys.path:
        sys.path.insert(0, examples_dir)


def run_main(name, examples_dir="examples"):
    """Run examples_dir/<name>.py as `mpremote run` would: as __main__."""
    install(examples_dir)
    path = "%s/%s.py" % (examples_dir, name)
    with open(path) as f:
        code = compile(f.read(), path, "exec")
    exec(code, {"__name__": "__main__", "__file__": path})


if __name__ == "__main__":  # micropython tests_device/example_env.py NAME (tools/run_example.py)
    run_main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "examples")
