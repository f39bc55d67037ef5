# bind() and setsockopt() of wizfi360.socket, loaded by socket.__getattr__ on
# first use and added to the socket class at the bottom.

import errno

from .socket import SO_REUSEADDR, SOL_SOCKET, _port, socket


def bind(self: socket, address):
    # The local port: for UDP the port datagrams are sent from and received
    # on (manual 3.2.3.5 b), for listen() the server's port (3.2.3.4).
    self._local = _port(address[1])


def setsockopt(self: socket, level, optname, value):
    # Accepted for code written for lwIP; the module has no such options.
    if level == SOL_SOCKET and optname == SO_REUSEADDR:
        return
    raise OSError(errno.EOPNOTSUPP, "socket option not supported")


socket.bind = bind
socket.setsockopt = setsockopt
