# Reference sensor firmware for the WizFi360-EVB-Pico.
#
# Every interval_s seconds it reads the RP2040's temperature sensor and sends
# {"device", "seq", "temp_c", "uptime_ms"} as JSON: an HTTP POST to
# "endpoint", or an MQTT publish to "mqtt" when umqtt.simple is installed.
# It joins the Wi-Fi network with exponential backoff, joins again when the
# network drops or the module restarts, resets a module that stops answering,
# feeds the watchdog, shows its state on the LED and logs one line per event.
# Everything board-specific is in board.py.
#
# On the board: copy lib/wizfi360/, board.py, boot.py, main.py and your
# config.json (`make deploy` does it). On the MicroPython unix port it talks
# to the emulator instead (see `make demo`); WIZFI_CONFIG may name the config.

import sys

if sys.platform != "rp2":
    # Off-board: the driver in lib/ next to this file, the emulator's UART in host/.
    _here = sys.path[0] or "."
    sys.path.insert(1, _here + "/host")
    sys.path.insert(1, _here + "/lib")

import gc
import json
import time

import board

DEFAULT_DEVICE = "pico-1"
JOIN_TIMEOUT_MS = 20000
NET_TIMEOUT_S = 10  # each connect, send or read of an HTTP post or MQTT publish
START_ATTEMPTS = 3  # tries to get an answer from the module at start-up
RECOVERIES = 3  # failed module resets in a row before the board restarts
CRASH_PAUSE_S = 10  # after an unexpected error, before the board restarts
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
)
UART_KEYS = ("id", "baudrate", "tx", "rx", "rxbuf", "reset")
MQTT_KEYS = ("host", "port", "topic", "client_id")


class ConfigError(ValueError):
    pass


# -- log lines ------------------------------------------------------------

_clock = [0, time.ticks_ms()]  # [uptime_ms, ticks at the last update]


def uptime_ms():
    """Milliseconds since start; summed step by step, so ticks_ms may wrap."""
    now = time.ticks_ms()
    _clock[0] += time.ticks_diff(now, _clock[1])
    _clock[1] = now
    return _clock[0]


def log(text):
    ms = uptime_ms()
    print("[%6d.%03d] %s" % (ms // 1000, ms % 1000, text))


def why(exc):
    text = str(exc)
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


# What to do about the errors wifi.connect() raises (errno -> advice).
JOIN_ADVICE = {
    13: "check 'key' in config.json",  # EACCES: wrong password
    2: "check 'ssid'; the module sees 2.4 GHz networks only",  # ENOENT: AP not found
}


# -- config -----------------------------------------------------------------


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


def check_config(cfg):
    """Check a loaded config dict; return it completed with defaults and parsed fields."""
    if not isinstance(cfg, dict):
        raise ConfigError("the config must be a JSON object")
    for name in cfg:
        if name not in KNOWN_KEYS:
            log("config: ignoring unknown key %r" % name)

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
    interval = cfg.get("interval_s", 0)
    if not is_number(interval) or interval <= 0:
        raise ConfigError("'interval_s' must be a number of seconds above 0, got %r" % (interval,))
    retry = cfg.setdefault("retry_max_s", 60)
    if not is_number(retry) or retry <= 0:
        raise ConfigError("'retry_max_s' must be a number of seconds above 0, got %r" % (retry,))
    attempts = cfg.setdefault("join_attempts", 0)
    if not is_count(attempts) or attempts < 0:
        raise ConfigError("'join_attempts' must be a whole number (0: keep trying forever)")
    wd = cfg.setdefault("watchdog_s", 120)
    if isinstance(wd, bool) or not isinstance(wd, (int, float)) or not (wd == 0 or 30 <= wd <= 3600):
        raise ConfigError("'watchdog_s' must be 0 (off) or 30..3600 seconds, got %r" % (wd,))

    uart = cfg.get("uart")
    if uart is not None:
        if not isinstance(uart, dict):
            raise ConfigError("'uart' must be an object like {\"baudrate\": 115200}")
        for name in uart:
            value = uart[name]
            if name not in UART_KEYS:
                raise ConfigError("uart: unknown setting %r (known: %s)" % (name, ", ".join(UART_KEYS)))
            if not is_count(value) or value < 0:
                raise ConfigError("uart: %r must be a whole number, got %r" % (name, value))

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


def backoff_ms(attempt, cap_ms):
    """Pause after failed attempt number `attempt` (1, 2, ...): 1 s, 2 s, 4 s ... up to cap_ms."""
    if attempt > 20:
        return cap_ms
    ms = 1000 << (attempt - 1)
    return ms if ms < cap_ms else cap_ms


# -- sending readings ---------------------------------------------------------


class Refused(Exception):
    """The server answered, but not with success."""


class HttpSender:
    def __init__(self, wsock, endpoint_parts):
        self.wsock = wsock
        self.host, self.port, self.path = endpoint_parts
        self.where = "http://%s:%d%s" % endpoint_parts

    def send(self, body):
        """POST body with HTTP/1.0; return the status line's text, e.g. '200 OK'."""
        wsock = self.wsock
        addr = wsock.getaddrinfo(self.host, self.port)[0][-1]
        s = wsock.socket()
        try:
            s.settimeout(NET_TIMEOUT_S)
            s.connect(addr)
            head = (
                "POST %s HTTP/1.0\r\nHost: %s:%d\r\n"
                "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                % (self.path, self.host, self.port, len(body))
            )
            s.write(head.encode() + body)
            line = s.readline()
        finally:
            s.close()
        if not line:
            raise OSError("the server closed the connection without answering")
        parts = line.decode().strip().split(None, 1)  # HTTP/1.0 200 OK
        if len(parts) < 2 or not parts[0].startswith("HTTP/"):
            raise ValueError("not an HTTP status line: %r" % line)
        if not 200 <= int(parts[1].split()[0]) < 300:
            raise Refused(parts[1])
        return parts[1]

    def close(self):
        pass  # one connection per post: nothing stays open


class SocketModule:
    """What umqtt.simple sees as `socket`/`usocket`: wizfi360.socket, with a
    timeout on every new socket so that a silent broker cannot hang it."""

    def __init__(self, wsock, timeout_s):
        self._wsock = wsock
        self._timeout = timeout_s
        self.AF_INET = wsock.AF_INET
        self.SOCK_STREAM = wsock.SOCK_STREAM
        self.IPPROTO_TCP = wsock.IPPROTO_TCP
        self.getaddrinfo = wsock.getaddrinfo

    def socket(self, *args):
        s = self._wsock.socket(*args)
        s.settimeout(self._timeout)
        return s


class MqttSender:
    """QoS 0 publishes over one MQTT connection, opened again after any error."""

    def __init__(self, client_class, mqtt):
        self.client_class = client_class
        self.cfg = mqtt
        self.topic = mqtt["topic"].encode()
        self.where = "mqtt://%s:%d/%s" % (mqtt["host"], mqtt["port"], mqtt["topic"])
        self.client = None

    def send(self, body):
        if self.client is None:
            c = self.cfg
            client = self.client_class(c["client_id"], c["host"], c["port"])
            client.connect()  # raises OSError, or MQTTException when refused
            sock = getattr(client, "sock", None)
            if sock is not None:
                sock.settimeout(NET_TIMEOUT_S)
            self.client = client
            log("connected to the MQTT broker %s:%d" % (c["host"], c["port"]))
        self.client.publish(self.topic, body)
        return "published"

    def close(self):
        client, self.client = self.client, None
        if client is None:
            return
        try:
            client.disconnect()
        except Exception:  # the link is already gone: just free it
            sock = getattr(client, "sock", None)
            if sock is not None:
                try:
                    sock.close()
                except OSError:
                    pass


def mqtt_client_class(wsock):
    """umqtt.simple.MQTTClient running on wizfi360 sockets, or None if not installed."""
    sockets = SocketModule(wsock, NET_TIMEOUT_S)
    # umqtt.simple does `import usocket as socket` (newer: `import socket`).
    # On the board there is no socket module; on the unix port there is one,
    # but it would bypass the module. Either way: ours, before importing it.
    sys.modules["socket"] = sockets  # pyright: ignore[reportArgumentType]
    sys.modules["usocket"] = sockets  # pyright: ignore[reportArgumentType]
    try:
        from umqtt.simple import MQTTClient  # pyright: ignore[reportMissingImports]  (optional)
    except ImportError:
        return None
    return MQTTClient


# -- the firmware ---------------------------------------------------------------


def reboots_of(wifi):
    """How often the module restarted unasked."""
    return wifi.stats()["reboots"]


def pause(hb, ms, wifi=None):
    """Wait ms, feeding the watchdog and taking in what the module sends."""
    until = time.ticks_add(time.ticks_ms(), ms)
    while True:
        left = time.ticks_diff(until, time.ticks_ms())
        if left <= 0:
            return
        hb.feed()
        if wifi is not None:
            try:
                wifi.poll()
            except OSError:
                pass  # the next command reports it
        time.sleep_ms(left if left < 500 else 500)


def start_module(driver, uart, reset_pin, hb, retry_cap_ms):
    """The WizFi360 once it answers (a few tries, with backoff), or None."""
    for attempt in range(1, START_ATTEMPTS + 1):
        hb.feed()
        try:
            wifi = driver.WizFi360(uart, reset=reset_pin)
            log("module found, firmware %s" % wifi.version())
            wifi.active(True)
            return wifi
        except OSError as e:
            log("the WizFi360 does not answer: %s" % why(e))
        if attempt < START_ATTEMPTS:
            pause(hb, backoff_ms(attempt, retry_cap_ms))
    log(
        "giving up on the module: check the wiring (module RXD1 to GP4, TXD1 to GP5, RST to GP20),"
        " that it runs at 115200 baud, and that its PB13 pin is not held low (SPI mode)"
    )
    return None


def make_sender(cfg, wsock):
    """The HttpSender or MqttSender the config asks for, or None if it cannot be had."""
    if "mqtt" in cfg:
        client_class = mqtt_client_class(wsock)
        if client_class is not None:
            return MqttSender(client_class, cfg["mqtt"])
        if "endpoint" not in cfg:
            log(
                "'mqtt' is set but umqtt.simple is not installed:"
                " run `mpremote mip install umqtt.simple`, or set 'endpoint' instead"
            )
            return None
        log("umqtt.simple is not installed: posting to 'endpoint' instead of MQTT")
    return HttpSender(wsock, cfg["endpoint_parts"])


def run(cfg, hb):
    """Bring the module up, join, then send readings; returns the exit status."""
    gc.collect()  # compiling the driver needs large free blocks
    try:
        import wizfi360  # noqa: I001  (the core first: compiling it from .py takes the most heap)
        from wizfi360 import socket as wsock

        # The driver loads the modules of its less used methods on first use.
        # This firmware uses some of them all along: write()/readline() (ours
        # and umqtt's) from stream, ifconfig() from station_info, version()
        # and stats() from services. Loaded now, while the heap is still in
        # one piece, they leave no holes between later buffers (and compiling
        # them from .py cannot fail halfway through a join for want of memory).
        import wizfi360.services  # noqa: F401
        import wizfi360.station_info  # noqa: F401
        import wizfi360.stream  # noqa: F401
    except ImportError as e:
        log("cannot import the wizfi360 driver (%s): copy lib/wizfi360 to the board" % e)
        return 1
    except MemoryError:
        log("not enough memory to compile the wizfi360 driver: install it as .mpy files (make deploy)")
        return 1

    try:
        uart, reset_pin = board.open_module(cfg)
    except OSError as e:
        where = "the UART" if board.ON_BOARD else "the emulator at %s:%d" % cfg["emulator"]
        log("cannot reach the module through %s: %s" % (where, why(e)))
        if not board.ON_BOARD:
            log("(start it with: python tools/emulator.py --port %d)" % cfg["emulator"][1])
        return 1
    wifi = start_module(wizfi360, uart, reset_pin, hb, int(cfg["retry_max_s"] * 1000))
    if wifi is None:
        return 1
    sender = make_sender(cfg, wsock)
    if sender is None:
        return 2
    log("sending to %s every %s s" % (sender.where, cfg["interval_s"]))
    node = Node(cfg, hb, wizfi360, uart, reset_pin, wifi, sender)
    if not node.join():
        return 1
    return node.loop()


class Node:
    """The running sensor: the module, the network, the sender and the loop."""

    def __init__(self, cfg, hb, driver, uart, reset_pin, wifi, sender):
        self.cfg = cfg
        self.hb = hb
        self.driver = driver
        self.uart = uart
        self.reset_pin = reset_pin
        self.wifi = wifi
        self.sender = sender
        self.retry_cap_ms = int(cfg["retry_max_s"] * 1000)
        self.reboots_seen = reboots_of(wifi)

    def pause(self, ms):
        pause(self.hb, ms, self.wifi)

    def join(self):
        """Join the network, retrying with exponential backoff; False once join_attempts ran out."""
        cfg = self.cfg
        ssid, limit = cfg["ssid"], cfg["join_attempts"]
        self.hb.show("joining")
        attempt = 0
        while True:
            attempt += 1
            self.hb.feed()
            of = " of %d" % limit if limit else ""
            log("joining %s (attempt %d%s) ..." % (ssid, attempt, of))
            try:
                self.wifi.connect(ssid, cfg["key"], timeout_ms=JOIN_TIMEOUT_MS)
                ip, mask, gw, dns = self.wifi.ifconfig()
                log("joined %s: ip %s, netmask %s, gateway %s, dns %s" % (ssid, ip, mask, gw, dns))
                self.hb.show("online")
                return True
            except OSError as e:
                advice = JOIN_ADVICE.get(e.args[0]) if e.args else None
                log("join failed: %s%s" % (why(e), " (%s)" % advice if advice else ""))
            if limit and attempt >= limit:
                log("giving up: could not join %s" % ssid)
                return False
            ms = backoff_ms(attempt, self.retry_cap_ms)
            log("next try in %d.%d s" % (ms // 1000, ms % 1000 // 100))
            self.pause(ms)

    def module_answers(self):
        try:
            self.wifi.ifconfig()  # one command round trip
            return True
        except OSError as e:
            log("the module does not answer: %s" % why(e))
            return False

    def recover(self):
        """Reset the module and join again. False means stop: the module stays
        silent (on the board, that restarts the board instead) or joining gave up."""
        self.sender.close()
        self.hb.show("trouble")
        for attempt in range(1, RECOVERIES + 1):
            self.hb.feed()
            log("resetting the module (%d of %d)" % (attempt, RECOVERIES))
            try:
                wifi = self.driver.WizFi360(self.uart, reset=self.reset_pin)
                wifi.active(True)
            except OSError as e:
                log("the module still does not answer: %s" % why(e))
                self.pause(backoff_ms(attempt, self.retry_cap_ms))
                continue
            self.wifi = wifi
            self.reboots_seen = reboots_of(wifi)
            return self.join()
        if board.ON_BOARD:
            log("the module cannot be brought back: restarting the board")
            board.restart()
        log("the module cannot be brought back: giving up")
        return False

    def ensure_network(self):
        """Before each reading: notice a module restart or a lost network and
        join again. False means stop (see recover and join)."""
        wifi = self.wifi
        try:
            joined = wifi.isconnected()  # takes in WIFI DISCONNECT, ready, ...
        except OSError as e:
            log("lost the module: %s" % why(e))
            return self.recover()
        reboots = reboots_of(wifi)
        if reboots != self.reboots_seen:
            log("the module restarted by itself (restart %d)" % reboots)
            self.reboots_seen = reboots
        if joined:
            return True
        log("lost the network, joining again")
        self.sender.close()  # its link died with the network
        self.hb.show("trouble")
        if not self.join():
            return False
        log("joined %s again" % self.cfg["ssid"])
        return True

    def loop(self):
        cfg = self.cfg
        limit = cfg.get("readings")
        interval_ms = int(cfg["interval_s"] * 1000)
        due = time.ticks_ms()
        seq = sent = 0
        while limit is None or seq < limit:
            self.pause(time.ticks_diff(due, time.ticks_ms()))
            now = time.ticks_ms()
            due = time.ticks_add(due, interval_ms)
            if time.ticks_diff(due, now) < 0:  # fell behind: do not try to catch up
                due = now
            self.hb.feed()
            if not self.ensure_network():
                return 1

            seq += 1
            gc.collect()  # each reading needs a few KB in one piece: defragment first
            temp = round(board.read_temp_c(), 1)
            reading = {"device": cfg["device"], "seq": seq, "temp_c": temp, "uptime_ms": uptime_ms()}
            try:
                status = self.sender.send(json.dumps(reading).encode())
            except Refused as e:
                log("reading %d refused: %.1f C -> %s" % (seq, temp, e))
                continue
            except Exception as e:  # keep measuring whatever went wrong
                log("reading %d failed: %s" % (seq, why(e)))
                self.sender.close()
                self.hb.show("trouble")
                if not self.module_answers() and not self.recover():
                    return 1
                continue
            sent += 1
            self.hb.show("online")
            log("reading %d sent: %.1f C -> %s" % (seq, temp, status))

        self.sender.close()
        log("done: %d of %d readings sent" % (sent, seq))
        return 0 if sent == seq else 1


def main():
    v = sys.implementation.version
    log("wizfi360 sensor firmware on %s, MicroPython %d.%d.%d" % (sys.platform, v[0], v[1], v[2]))
    path = config_path()
    hb = None
    try:
        cfg = load_config(path)
        log("config %s: device %s, network %s" % (path, cfg["device"], cfg["ssid"]))
        hb = board.heartbeat(cfg["watchdog_s"])
        rc = run(cfg, hb)
    except ConfigError as e:
        log("config error: %s" % e)
        hb = board.heartbeat(0)  # no watchdog: only the LED, to show it stopped
        rc = 2
    except BaseException:
        if hb is not None:
            hb.stop()  # Ctrl-C or a crash: no watchdog reset under the REPL
        raise
    if hb is not None:
        hb.stop("failed" if rc else None)
    return rc


if __name__ == "__main__":
    try:
        rc = main()
    except KeyboardInterrupt:
        log("stopped (Ctrl-C)")
        rc = 130
    except Exception as e:  # a bug: say where, and on the board start over
        sys.print_exception(e)  # type: ignore[attr-defined]  # MicroPython only
        if board.ON_BOARD:
            log("unexpected error: restarting the board in %d s (Ctrl-C for the REPL)" % CRASH_PAUSE_S)
            time.sleep(CRASH_PAUSE_S)
            board.restart()
        rc = 1
    if rc and sys.platform != "rp2":
        sys.exit(rc)  # on the board, fall back to the REPL instead of rebooting
