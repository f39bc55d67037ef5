"""WizFi360 Wi-Fi module emulator: AT commands over a TCP port or a pty, real sockets behind.

    import sys; sys.path.insert(0, "<repo>/tools")
    from wizfi360_emu import Emulator, AccessPoint
    with Emulator(aps=[AccessPoint("WizFiTest", "wizfi360pass")]) as emu:
        ...connect a client to ("127.0.0.1", emu.tcp_port)...

What is real: TCP, UDP (datagram sockets, one +IPD per datagram) and SSL (a TLS client,
no certificate check) links to any host; the TCP server (AT+CIPSERVER listens on
server_host at the port asked for; emu.server_port); AT+PING (a timed TCP connection
attempt); AT+CIPSNTPTIME (the host clock). What is pretend: the APs to join, the SoftAP's
clients (emu.add_station / emu.remove_station), the addresses. Flash is emu.flash: the
_DEF commands write it, and emu.reboot() starts from it. Faults on demand (faults.py):
a reboot, a Wi-Fi drop, busy answers, failed sends, a hung module, line noise; from
another process through the control channel (control.py, Emulator(control_port=0)).
Quirks (quirks.py): how real modules depart from the manual, one documented field each,
in named profiles: Emulator(quirks="real"), tools/emulator.py --quirks real.

Modules: core (the Emulator: UART bytes to commands, link data to +IPD), atparse (command
lines), registry + handlers* (one function per command, table-driven), state (settings
and flash), config (fake APs, options), links/udp/tls (link kinds), server (TCP server),
softap (SoftAP clients), uart (the serial line), faults + control (fault injection),
quirks (the module's habits), modbuf (the module's own buffer, a quirk).
"""

from .config import AccessPoint, load_config
from .core import Emulator

__all__ = ["Emulator", "AccessPoint", "load_config"]
