"""A minimal MQTT 3.1.1 broker for the tests: enough to receive QoS 0 publishes.

It answers CONNECT with CONNACK (return code 0, or `refuse_code`), records
every PUBLISH (QoS 0) as (client_id, topic, payload), answers PINGREQ and
closes on DISCONNECT. Anything else closes the connection. Listens on
127.0.0.1 only.

    with MqttBroker() as broker:
        ... broker.port ...
        broker.wait_for(3, timeout=10)
        broker.messages   # [(client_id, "sensors/pico-1", b'{"seq": 1, ...}'), ...]
"""

import socket
import threading

from httpsink import wait_for_count


class MqttBroker:
    def __init__(self, refuse_code=0):
        self.refuse_code = refuse_code
        self.messages = []
        self.connects = []  # client ids, one per CONNECT
        self.disconnects = 0
        self._cond = threading.Condition()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(8)
        self.port = self._sock.getsockname()[1]
        self._stopping = False
        self._clients = []

    def start(self):
        threading.Thread(target=self._accept_loop, name="mqtt-broker", daemon=True).start()
        return self

    def stop(self):
        self._stopping = True
        self._sock.close()
        for c in list(self._clients):
            try:
                c.close()
            except OSError:
                pass

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait_for(self, count, timeout=10.0):
        """Wait until `count` messages arrived; return True if they did."""
        return wait_for_count(self._cond, self.messages, count, timeout)

    def _accept_loop(self):
        while not self._stopping:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self._clients.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        client_id = None
        try:
            while True:
                kind, body = _read_packet(conn)
                if kind is None:
                    return
                if client_id is None and kind != 1:
                    return  # the first packet must be CONNECT [MQTT-3.1.0-1]
                if kind == 1:  # CONNECT
                    client_id = _parse_connect(body)
                    if client_id is None:
                        return
                    with self._cond:
                        self.connects.append(client_id)
                    conn.sendall(bytes((0x20, 2, 0, self.refuse_code)))
                    if self.refuse_code:
                        return
                elif kind == 3:  # PUBLISH, QoS 0 (flags checked by _read_packet)
                    n = (body[0] << 8) | body[1]
                    topic = body[2 : 2 + n].decode()
                    with self._cond:
                        self.messages.append((client_id, topic, bytes(body[2 + n :])))
                        self._cond.notify_all()
                elif kind == 12:  # PINGREQ
                    conn.sendall(b"\xd0\x00")
                elif kind == 14:  # DISCONNECT
                    with self._cond:
                        self.disconnects += 1
                    return
                else:
                    return
        except OSError:
            return
        finally:
            conn.close()


def _recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def _read_packet(conn):
    """(packet type, body) or (None, None) at EOF or on a malformed packet."""
    head = _recv_exact(conn, 1)
    if head is None:
        return None, None
    kind, flags = head[0] >> 4, head[0] & 0x0F
    if kind == 3 and flags & 0x06:
        return None, None  # QoS 1/2 publish: not supported here
    length = shift = 0
    for _ in range(4):
        b = _recv_exact(conn, 1)
        if b is None:
            return None, None
        length |= (b[0] & 0x7F) << shift
        shift += 7
        if not b[0] & 0x80:
            break
    else:
        return None, None
    body = _recv_exact(conn, length) if length else b""
    if body is None:
        return None, None
    return kind, body


def _parse_connect(body):
    """The client id of a CONNECT body, or None if it is not MQTT 3.1.1."""
    if body[:7] != b"\x00\x04MQTT\x04":
        return None
    pos = 10  # protocol name (6), level (1), flags (1), keepalive (2)
    n = (body[pos] << 8) | body[pos + 1]
    return body[pos + 2 : pos + 2 + n].decode()
