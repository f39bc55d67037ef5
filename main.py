# Reference sensor firmware for the WizFi360-EVB-Pico.
#
# Joins the Wi-Fi network named in config.json and POSTs a small JSON
# reading ({"device", "seq", "temp_c", "uptime_ms"}) to an HTTP endpoint
# every interval_s seconds, printing one line per reading.
#
# On the board: copy lib/wizfi360/, board.py, main.py and your config.json
# to the Pico. On the MicroPython unix port it talks to the emulator instead
# (see config.example.json and `make demo`); WIZFI_CONFIG may name the config.

import sys

if sys.platform != "rp2":
    # Off-board: find the driver in lib/ next to this file.
    sys.path.insert(1, (sys.path[0] or ".") + "/lib")

import gc
import json
import time

import board

DEFAULT_DEVICE = "pico-1"
JOIN_ATTEMPTS = 3
JOIN_PAUSE_MS = 2000
HTTP_TIMEOUT_S = 10
KNOWN_KEYS = ("ssid", "key", "endpoint", "interval_s", "device", "uart",
              "emulator", "readings")
UART_KEYS = ("id", "baudrate", "tx", "rx", "rxbuf", "reset")


class ConfigError(ValueError):
    pass


def config_path():
    if sys.platform != "rp2":
        import os

        return os.getenv("WIZFI_CONFIG") or "config.json"
    return "config.json"


def split_host_port(text, default_port, what):
    host, port = text, default_port
    i = text.rfind(":")
    if i >= 0:
        host = text[:i]
        try:
            port = int(text[i + 1:])
        except ValueError:
            raise ConfigError("%s: port must be a number, got %r" % (what, text[i + 1:]))
    if not host or " " in host:
        raise ConfigError("%s: missing or bad host name in %r" % (what, text))
    if not 0 < port < 65536:
        raise ConfigError("%s: port %d is out of range 1..65535" % (what, port))
    return host, port


def parse_endpoint(url):
    """'http://host:port/path' -> (host, port, path)."""
    if not isinstance(url, str) or not url.startswith("http://"):
        if isinstance(url, str) and url.startswith("https://"):
            raise ConfigError("endpoint: https is not supported, use an http:// URL")
        raise ConfigError("endpoint must look like http://host:port/path, got %r" % (url,))
    rest = url[7:]
    i = rest.find("/")
    if i < 0:
        hostport, path = rest, "/"
    else:
        hostport, path = rest[:i], rest[i:]
    host, port = split_host_port(hostport, 80, "endpoint")
    return host, port, path


def check_config(cfg):
    """Check a loaded config dict; return it completed with parsed fields."""
    if not isinstance(cfg, dict):
        raise ConfigError("the config must be a JSON object")
    for name in cfg:
        if name not in KNOWN_KEYS:
            print("config: ignoring unknown key %r" % name)

    ssid = cfg.get("ssid")
    if not isinstance(ssid, str) or not ssid:
        raise ConfigError("'ssid' is missing: set it to the name of your Wi-Fi network")
    if len(ssid) > 32:
        raise ConfigError("'ssid' is longer than 32 characters")
    key = cfg.get("key")
    if not isinstance(key, str):
        raise ConfigError("'key' is missing: set it to the Wi-Fi password (\"\" for an open network)")
    if len(key) > 64:
        raise ConfigError("'key' is longer than 64 characters")
    if "endpoint" not in cfg:
        raise ConfigError("'endpoint' is missing: set it to http://host:port/path")
    cfg["endpoint_parts"] = parse_endpoint(cfg["endpoint"])

    interval = cfg.get("interval_s")
    if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
        raise ConfigError("'interval_s' must be a number of seconds above 0, got %r" % (interval,))

    device = cfg.setdefault("device", DEFAULT_DEVICE)
    if not isinstance(device, str) or not device:
        raise ConfigError("'device' must be a non-empty string")

    uart = cfg.get("uart")
    if uart is not None:
        if not isinstance(uart, dict):
            raise ConfigError("'uart' must be an object like {\"baudrate\": 115200}")
        for name in uart:
            value = uart[name]
            if name not in UART_KEYS:
                raise ConfigError("uart: unknown setting %r (known: %s)" % (name, ", ".join(UART_KEYS)))
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError("uart: %r must be a whole number, got %r" % (name, value))

    emulator = cfg.get("emulator", "127.0.0.1:3600")
    if not isinstance(emulator, str):
        raise ConfigError("'emulator' must be a string like \"127.0.0.1:3600\"")
    cfg["emulator"] = split_host_port(emulator, 3600, "emulator")

    readings = cfg.get("readings")
    if readings is not None:
        if isinstance(readings, bool) or not isinstance(readings, int) or readings < 1:
            raise ConfigError("'readings' must be a whole number above 0 (leave it out to run forever)")
    return cfg


def load_config(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        raise ConfigError("cannot read %s: copy config.example.json to %s and fill it in" % (path, path))
    try:
        cfg = json.loads(text)
    except ValueError:
        raise ConfigError("%s is not valid JSON" % path)
    return check_config(cfg)


def why(exc):
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


def join(wifi, ssid, key):
    for attempt in range(1, JOIN_ATTEMPTS + 1):
        print("joining %s (attempt %d of %d) ..." % (ssid, attempt, JOIN_ATTEMPTS))
        try:
            wifi.connect(ssid, key, timeout_ms=20000)
            return True
        except OSError as e:
            print("join failed:", why(e))
            if attempt < JOIN_ATTEMPTS:
                time.sleep_ms(JOIN_PAUSE_MS)
    return False


def http_post(wsock, host, port, path, body):
    """POST body with HTTP/1.0; return the status, e.g. (200, '200 OK')."""
    addr = wsock.getaddrinfo(host, port)[0][-1]
    s = wsock.socket()
    try:
        s.settimeout(HTTP_TIMEOUT_S)
        s.connect(addr)
        head = ("POST %s HTTP/1.0\r\nHost: %s:%d\r\n"
                "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (path, host, port, len(body)))
        s.write(head.encode() + body)
        line = s.readline()
    finally:
        s.close()
    if not line:
        raise OSError("the server closed the connection without answering")
    parts = line.decode().strip().split(None, 1)  # HTTP/1.0 200 OK
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise ValueError("not an HTTP status line: %r" % line)
    return int(parts[1].split()[0]), parts[1]


def main():
    started = time.ticks_ms()
    path = config_path()
    try:
        cfg = load_config(path)
    except ConfigError as e:
        print("config error:", e)
        return 2
    host, port, url_path = cfg["endpoint_parts"]
    device = cfg["device"]
    limit = cfg.get("readings")
    print("config %s: device %s, network %s, posting to %s every %s s"
          % (path, device, cfg["ssid"], cfg["endpoint"], cfg["interval_s"]))

    try:
        import wizfi360
        from wizfi360 import socket as wsock
    except ImportError as e:
        print("cannot import the wizfi360 driver (%s): copy lib/wizfi360 to the board" % e)
        return 1
    except MemoryError:
        print("not enough memory to compile the wizfi360 driver: install it as .mpy files")
        return 1

    try:
        uart, reset = board.open_module(cfg)
    except OSError as e:
        where = "the UART" if board.ON_BOARD else "the emulator at %s:%d" % cfg["emulator"]
        print("cannot reach the module through %s: %s" % (where, why(e)))
        if not board.ON_BOARD:
            print("(start it with: python tools/emulator.py --port %d)" % cfg["emulator"][1])
        return 1
    try:
        wifi = wizfi360.WizFi360(uart, reset=reset)
        print("module found, firmware", wifi.version())
        wifi.active(True)
    except OSError as e:
        print("the WizFi360 does not answer:", why(e))
        return 1

    if not join(wifi, cfg["ssid"], cfg["key"]):
        print("giving up: could not join %s" % cfg["ssid"])
        return 1
    ip, mask, gw, dns = wifi.ifconfig()
    print("joined %s: ip %s, netmask %s, gateway %s, dns %s" % (cfg["ssid"], ip, mask, gw, dns))

    interval_ms = int(cfg["interval_s"] * 1000)
    due = time.ticks_ms()
    last = started
    uptime_ms = 0  # since main.py started, summed step by step so ticks_ms may wrap
    seq = posted = 0
    while limit is None or seq < limit:
        wait = time.ticks_diff(due, time.ticks_ms())
        if wait > 0:
            time.sleep_ms(wait)
        now = time.ticks_ms()
        uptime_ms += time.ticks_diff(now, last)
        last = now
        due = time.ticks_add(due, interval_ms)
        if time.ticks_diff(due, now) < 0:  # fell behind: do not try to catch up
            due = now

        seq += 1
        gc.collect()  # each post needs a few KB in one piece: defragment first
        temp = round(board.read_temp_c(), 1)
        reading = {"device": device, "seq": seq, "temp_c": temp, "uptime_ms": uptime_ms}
        try:
            code, status = http_post(wsock, host, port, url_path, json.dumps(reading).encode())
        except Exception as e:  # keep measuring whatever went wrong
            print("reading %d failed: %s" % (seq, why(e)))
            try:
                joined = wifi.isconnected()
            except OSError:
                joined = False
            if not joined:
                print("lost the network, joining again")
                if join(wifi, cfg["ssid"], cfg["key"]):
                    print("joined %s again" % cfg["ssid"])
            continue
        if 200 <= code < 300:
            posted += 1
            print("reading %d posted: %.1f C -> %s" % (seq, temp, status))
        else:
            print("reading %d refused: %.1f C -> %s" % (seq, temp, status))

    print("done: %d of %d readings posted" % (posted, seq))
    return 0 if posted == seq else 1


if __name__ == "__main__":
    try:
        rc = main()
    except KeyboardInterrupt:
        print("stopped (Ctrl-C)")
        rc = 130
    if rc and sys.platform != "rp2":
        sys.exit(rc)  # on the board, fall back to the REPL instead of rebooting
