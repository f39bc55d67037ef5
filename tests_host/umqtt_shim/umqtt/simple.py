# Test stand-in for micropython-lib's umqtt.simple (see ../README.md):
# the same API and the same socket calls, MQTT 3.1.1, QoS 0 publishing only.

import usocket as socket


class MQTTException(Exception):
    pass


def _length(n):
    # MQTT "remaining length": 7 bits a byte, high bit = more bytes follow.
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


def _field(data):
    if isinstance(data, str):
        data = data.encode()
    return bytes((len(data) >> 8, len(data) & 0xFF)) + data


class MQTTClient:
    def __init__(self, client_id, server, port=0, user=None, password=None, keepalive=0, ssl=None):
        if ssl:
            raise MQTTException("the test shim has no TLS")
        self.client_id = client_id
        self.server = server
        self.port = port or 1883
        self.user = user
        self.pswd = password
        self.keepalive = keepalive
        self.sock = None

    def connect(self, clean_session=True):
        self.sock = socket.socket()
        self.sock.connect(socket.getaddrinfo(self.server, self.port)[0][-1])
        flags = 0x02 if clean_session else 0
        payload = _field(self.client_id)
        if self.user:
            flags |= 0xC0
            payload += _field(self.user) + _field(self.pswd or b"")
        var = _field(b"MQTT") + bytes((4, flags, self.keepalive >> 8, self.keepalive & 0xFF))
        body = var + payload
        self.sock.write(b"\x10" + _length(len(body)))
        self.sock.write(body)
        ack = self.sock.read(4)
        if not ack or len(ack) < 4 or ack[0] != 0x20 or ack[1] != 2:
            raise MQTTException("no CONNACK")
        if ack[3]:
            raise MQTTException(ack[3])
        return ack[2] & 1

    def publish(self, topic, msg, retain=False, qos=0):
        if qos:
            raise MQTTException("the test shim publishes with QoS 0 only")
        if isinstance(msg, str):
            msg = msg.encode()
        body = _field(topic) + msg
        self.sock.write(bytes((0x30 | (1 if retain else 0),)) + _length(len(body)))
        self.sock.write(body)

    def ping(self):
        self.sock.write(b"\xc0\x00")

    def disconnect(self):
        self.sock.write(b"\xe0\x00")
        self.sock.close()
