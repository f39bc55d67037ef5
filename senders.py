# How the sensor firmware sends a reading: an HTTP POST with micropython-lib's
# `requests`, or an MQTT publish with micropython-lib's `umqtt.simple`, called
# as a user's own program would call them, on the WizFi360's sockets.
#
# Both libraries import `socket` (umqtt.simple: `usocket`). A plain Pico
# firmware has no such module, and the unix port's would bypass the module,
# so the firmware puts a stand-in under those names before importing them:
# wizfi360.socket, whose sockets never wait longer than net_timeout_s.
# umqtt.simple's connect() calls settimeout(None) (micropython-lib 1.5 and
# later), and its wait_msg() setblocking(True), both meaning "wait for ever":
# a broker that takes the TCP connection and never answers would then hang
# the firmware until the watchdog resets the board. Here they mean "wait up
# to net_timeout_s" (a shorter timeout stays as asked).
#
# Heap: requests' import costs 1.2 KB on the unix port (frozen there, as its
# bytecode is not in the heap); installed as .mpy by mip on a board its code
# is loaded into the heap (about 3 KB more, see docs/firmware.md, "MQTT and HTTP"). A
# post allocates its request lines and the response's header dict, freed
# after it; the firmware's own HTTP code used about the same per post.

import sys


class Refused(Exception):
    """The server answered, but not with success."""


class NetSockets:
    """What requests and umqtt.simple see as the `socket` module."""

    def __init__(self, wsock, timeout_s):
        self.AF_INET = wsock.AF_INET
        self.SOCK_STREAM = wsock.SOCK_STREAM
        self.IPPROTO_TCP = wsock.IPPROTO_TCP
        self.getaddrinfo = wsock.getaddrinfo
        opened = self.opened = []  # every socket made, until close_all()

        class Socket(wsock.socket):
            def __init__(self, *args):
                super().__init__(*args)
                opened.append(self)
                self.settimeout(timeout_s)

            def settimeout(self, value):
                # None (for ever) or longer than the firmware allows: its limit.
                super().settimeout(timeout_s if value is None or value > timeout_s else value)

            def setblocking(self, flag):
                self.settimeout(None if flag else 0)

        self.socket = Socket

    def install(self):
        """Make `import socket` / `import usocket` give this (before importing the libraries)."""
        sys.modules["socket"] = self  # pyright: ignore[reportArgumentType]
        sys.modules["usocket"] = self  # pyright: ignore[reportArgumentType]

    def close_all(self):
        """Close every socket made so far: requests and umqtt.simple close theirs
        on OSError only, and each one left open would hold one of the module's
        five links."""
        opened = self.opened
        while opened:
            try:
                opened.pop().close()
            except OSError:
                pass


class HttpSender:
    """One requests.post per reading (HTTP/1.0: one connection each)."""

    def __init__(self, requests, sockets, url, timeout_s):
        self.requests = requests
        self.sockets = sockets
        self.where = url
        self.timeout_s = timeout_s

    def send(self, body):
        """POST body; return the status, e.g. '200 OK'; Refused if it is not 2xx."""
        try:
            # A new headers dict each time: requests adds Host, Content-Length
            # and Connection to the one it is given.
            headers = {"Content-Type": "application/json"}
            r = self.requests.post(self.where, data=body, headers=headers, timeout=self.timeout_s)
            r.close()
        finally:
            self.sockets.close_all()
        reason = r.reason
        status = "%d %s" % (r.status_code, reason.decode() if isinstance(reason, bytes) else reason)
        if not 200 <= r.status_code < 300:
            raise Refused(status)
        return status

    def close(self):
        pass  # one connection per post: nothing stays open


class MqttSender:
    """QoS 0 publishes over one MQTT connection, opened again after any error."""

    def __init__(self, client_class, sockets, mqtt, log):
        self.client_class = client_class
        self.sockets = sockets
        self.cfg = mqtt
        self.log = log
        self.topic = mqtt["topic"].encode()
        self.where = "mqtt://%s:%d/%s" % (mqtt["host"], mqtt["port"], mqtt["topic"])
        self.client = None

    def send(self, body):
        if self.client is None:
            c = self.cfg
            client = self.client_class(c["client_id"], c["host"], c["port"])
            try:
                client.connect()  # OSError, or MQTTException when refused
            except BaseException:
                self.sockets.close_all()
                raise
            self.client = client
            self.log("connected to the MQTT broker %s:%d" % (c["host"], c["port"]))
        self.client.publish(self.topic, body)
        return "published"

    def close(self):
        client, self.client = self.client, None
        if client is not None:
            try:
                client.disconnect()
            except Exception:  # the link is already gone: just free it
                pass
        self.sockets.close_all()


def make_sender(cfg, wsock, log):
    """The sender the config asks for, or None (logged) if its library is missing."""
    sockets = NetSockets(wsock, cfg["net_timeout_s"])
    sockets.install()
    if "mqtt" in cfg:
        try:
            from umqtt.simple import MQTTClient  # pyright: ignore[reportMissingImports]  (optional)

            return MqttSender(MQTTClient, sockets, cfg["mqtt"], log)
        except ImportError:
            pass
        if "endpoint" not in cfg:
            log(
                "'mqtt' is set but umqtt.simple is not installed:"
                " run `mpremote mip install umqtt.simple`, or set 'endpoint' instead"
            )
            return None
        log("umqtt.simple is not installed: posting to 'endpoint' instead of MQTT")
    try:
        import requests  # pyright: ignore[reportMissingImports]  (installed apart: mip)
    except ImportError:
        log("'endpoint' needs micropython-lib's requests: run `mpremote mip install requests`")
        return None
    return HttpSender(requests, sockets, cfg["endpoint"], cfg["net_timeout_s"])
