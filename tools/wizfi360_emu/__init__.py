"""WizFi360 Wi-Fi module emulator: AT commands over a TCP port or a pty, real sockets behind.

    import sys; sys.path.insert(0, "<repo>/tools")
    from wizfi360_emu import Emulator, AccessPoint
    with Emulator(aps=[AccessPoint("WizFiTest", "wizfi360pass")]) as emu:
        ...connect a client to ("127.0.0.1", emu.tcp_port)...
"""

from .config import AccessPoint, load_config
from .core import Emulator

__all__ = ["Emulator", "AccessPoint", "load_config"]
