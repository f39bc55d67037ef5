"""UDP links (manual 3.2.3.5 b): a real datagram socket, one +IPD per datagram.

<UDP mode> says what happens to the link's remote when a datagram arrives from another
peer: 0 it stays, 1 it changes to the first such peer (once), 2 it follows every sender.
Datagrams are delivered from any sender in every mode, each with its sender's address.
"""

import ipaddress
import socket

from .links import Guarded, Link

MAX_DATAGRAM = 65507


def open_udp(remote_ip, local_port, local_host):
    """A datagram socket bound to local_port (0: any). It binds to local_host when the
    remote is a loopback address (so it stays off the network), else to every interface.
    None if the port is taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    host = local_host if ipaddress.IPv4Address(remote_ip).is_loopback else ""
    try:
        sock.bind((host, local_port))
        return sock
    except OSError:
        sock.close()
        return None


class UdpLink(Link):
    kind = "UDP"

    def peer_closed(self):
        """A datagram link has no peer that closes."""
        return False

    def __init__(self, link_id, sock, remote_ip, remote_port, mode=0):
        super().__init__(link_id, sock, remote_ip, remote_port)
        self.mode = mode
        self._guard = Guarded(sock)
        self._changed = False  # mode 1: the remote changed already

    def receive(self, bufsize):
        while True:
            try:
                data, sender = self._guard.call(self.conn.recvfrom, MAX_DATAGRAM)
            except ConnectionRefusedError:  # an ICMP error for an earlier send
                continue
            if sender is None or self.closed:
                return b"", None  # shut down
            if not data:
                continue  # an empty datagram: nothing to deliver
            self._follow(sender)
            return data, sender

    def _follow(self, sender):
        if sender == (self.remote_ip, self.remote_port):
            return
        if self.mode == 2 or (self.mode == 1 and not self._changed):
            self.remote_ip, self.remote_port = sender
            self._changed = True

    def send(self, data, addr=None):
        """One datagram, to addr or else the link's remote. Lost datagrams are not errors."""
        if self.closed:
            return False
        try:
            self.conn.sendto(data, addr or (self.remote_ip, self.remote_port))
        except (ConnectionRefusedError, BlockingIOError):
            pass
        except OSError:
            return False
        return True

    def shutdown(self):
        self._guard.close()
