# The sensor firmware's config.json: the keys it knows and their checks.
#
# main.py loads the config with load_config(); tools/deploy.py runs the same
# function on the unix port before copying anything, and refuses the keys
# that unknown_keys() names (a typo in an optional key would otherwise leave
# that setting at its default without a word). KNOWN_KEYS is the one list of
# top-level keys both use. Plain Python: it runs on the board, on the unix
# port and under CPython.

import json

DEFAULT_DEVICE = "pico-1"
KNOWN_KEYS = (
    "ssid",
    "key",
    "endpoint",
    "mqtt",
    "interval_s",
    "device",
    "uart",
    "emulator",
    "readings",
    "retry_max_s",
    "join_attempts",
    "watchdog_s",
    "net_timeout_s",
    "queue_max",
    "queue_file",
)
UART_KEYS = ("id", "baudrate", "tx", "rx", "rxbuf", "reset", "flow", "cts", "rts")
MQTT_KEYS = ("host", "port", "topic", "client_id")
# Defaults of the optional keys that have one.
RETRY_MAX_S = 60
WATCHDOG_S = 120
NET_TIMEOUT_S = 10  # each connect, send or read of an HTTP post or MQTT publish
QUEUE_MAX = 100  # readings kept while they cannot be sent (about 100 bytes of heap each)


class ConfigError(ValueError):
    pass


def unknown_keys(cfg):
    """The top-level keys of a config dict that the firmware does not know, sorted."""
    return sorted(name for name in cfg if name not in KNOWN_KEYS)


def split_host_port(text, default_port, what):
    host, port = text, default_port
    i = text.rfind(":")
    if i >= 0:
        host = text[:i]
        try:
            port = int(text[i + 1 :])
        except ValueError:
            raise ConfigError("%s: port must be a number, got %r" % (what, text[i + 1 :]))
    check_host(host, what, text)
    check_port(port, what)
    return host, port


def check_host(host, what, text):
    if not isinstance(host, str) or not host or " " in host:
        raise ConfigError("%s: missing or bad host name in %r" % (what, text))


def check_port(port, what):
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
        raise ConfigError("%s: port must be a whole number 1..65535, got %r" % (what, port))


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


def is_number(value):
    return not isinstance(value, bool) and isinstance(value, (int, float))


def is_count(value):
    return not isinstance(value, bool) and isinstance(value, int)


def _seconds(cfg, name, default):
    value = cfg.setdefault(name, default)
    if not is_number(value) or value <= 0:
        raise ConfigError("'%s' must be a number of seconds above 0, got %r" % (name, value))


def check_mqtt(mqtt, device):
    if not isinstance(mqtt, dict):
        raise ConfigError('\'mqtt\' must be an object like {"host": "broker.lan", "topic": "sensors/pico-1"}')
    for name in mqtt:
        if name not in MQTT_KEYS:
            raise ConfigError("mqtt: unknown setting %r (known: %s)" % (name, ", ".join(MQTT_KEYS)))
    host = mqtt.get("host")
    check_host(host, "mqtt", host)
    check_port(mqtt.setdefault("port", 1883), "mqtt")
    for name, default in (("topic", "sensors/" + device), ("client_id", device)):
        value = mqtt.setdefault(name, default)
        if not isinstance(value, str) or not value:
            raise ConfigError("mqtt: %r must be a non-empty string" % name)


def check_uart(uart):
    if not isinstance(uart, dict):
        raise ConfigError("'uart' must be an object like {\"baudrate\": 115200}")
    for name in uart:
        value = uart[name]
        if name not in UART_KEYS:
            raise ConfigError("uart: unknown setting %r (known: %s)" % (name, ", ".join(UART_KEYS)))
        if name == "flow":
            if not isinstance(value, bool):
                raise ConfigError(
                    "uart: 'flow' must be true (RTS/CTS on GP7/GP6) or false, got %r" % (value,)
                )
        elif not is_count(value) or value < 0:
            raise ConfigError("uart: %r must be a whole number, got %r" % (name, value))


def check_queue(cfg):
    size = cfg.setdefault("queue_max", QUEUE_MAX)
    if not is_count(size) or size < 1:
        raise ConfigError("'queue_max' must be a whole number of readings above 0, got %r" % (size,))
    name = cfg.setdefault("queue_file", "")
    if not isinstance(name, str) or " " in name:
        raise ConfigError(
            '\'queue_file\' must be a file name like "queue.txt" ("": RAM only), got %r' % (name,)
        )


def check_config(cfg):
    """Check a loaded config dict; return it completed with defaults and parsed fields."""
    if not isinstance(cfg, dict):
        raise ConfigError("the config must be a JSON object")

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

    device = cfg.setdefault("device", DEFAULT_DEVICE)
    if not isinstance(device, str) or not device:
        raise ConfigError("'device' must be a non-empty string")

    if "endpoint" not in cfg and "mqtt" not in cfg:
        raise ConfigError("'endpoint' is missing: set it to http://host:port/path (or set 'mqtt')")
    if "endpoint" in cfg:
        cfg["endpoint_parts"] = parse_endpoint(cfg["endpoint"])
    if "mqtt" in cfg:
        check_mqtt(cfg["mqtt"], device)

    if "interval_s" not in cfg:
        raise ConfigError("'interval_s' is missing: set it to the seconds between readings")
    _seconds(cfg, "interval_s", 0)
    _seconds(cfg, "retry_max_s", RETRY_MAX_S)
    _seconds(cfg, "net_timeout_s", NET_TIMEOUT_S)
    attempts = cfg.setdefault("join_attempts", 0)
    if not is_count(attempts) or attempts < 0:
        raise ConfigError("'join_attempts' must be a whole number (0: keep trying forever)")
    wd = cfg.setdefault("watchdog_s", WATCHDOG_S)
    if not is_number(wd) or not (wd == 0 or 30 <= wd <= 3600):
        raise ConfigError("'watchdog_s' must be 0 (off) or 30..3600 seconds, got %r" % (wd,))
    check_queue(cfg)
    if "uart" in cfg:
        check_uart(cfg["uart"])

    emulator = cfg.get("emulator", "127.0.0.1:3600")
    if not isinstance(emulator, str):
        raise ConfigError("'emulator' must be a string like \"127.0.0.1:3600\"")
    cfg["emulator"] = split_host_port(emulator, 3600, "emulator")

    readings = cfg.get("readings")
    if readings is not None:
        if not is_count(readings) or readings < 1:
            raise ConfigError("'readings' must be a whole number above 0 (leave it out to run forever)")
    return cfg


def load_config(path):
    """Read, parse and check the config file: (the checked dict, its unknown keys)."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError:
        raise ConfigError("cannot read %s: copy config.example.json to %s and fill it in" % (path, path))
    try:
        cfg = json.loads(text)
    except ValueError:
        raise ConfigError("%s is not valid JSON" % path)
    unknown = unknown_keys(cfg) if isinstance(cfg, dict) else []
    return check_config(cfg), unknown
