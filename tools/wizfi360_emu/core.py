"""The Emulator: turns UART bytes into command lines (echo, busy, CIPSEND data),
runs the handlers one at a time, and writes link data back as +IPD frames.

Threads: the UART reader(s) call _on_rx; one executor thread runs the handlers; one
reader thread per link calls _on_link_data/_on_link_closed; while AT+CIPSERVER=1, the
server's threads call _on_server_client and _on_server_tick (idle timeout). Every UART
write goes through the UartPort lock, so frames never interleave. Lock order: UART lock,
then self._lock. With the module_buffer quirk, link readers queue their frames in a
modbuf.ModuleBuffer (its lock is a leaf) and its writer thread writes them; writes due
later (write_later: a doubled SEND OK, a late CLOSED) run on timer threads that take the
UART lock like any writer.

Quirks (quirks.py, Emulator(quirks="real" | Quirks | dict), emu.quirks, set_quirk): how
the module departs from the manual, one documented field each, in named profiles.

Options beyond the wire basics: ssl_reboot_below (an SSL AT+CIPSTART reboots the module
while AT+CIPSSLSIZE is below it; 0 never), server_host (where AT+CIPSERVER listens, at the
port asked for), cipsto_unit_s (real seconds per AT+CIPSTO second), cwlif_quoted (AT+CWLIF
lines "<ip>","<mac>" as in the manual's example, or <ip>,<mac>), control_port (None:
no control channel; 0: any free port on 127.0.0.1; see control.py). Test hooks: inject,
inject_later, reboot, ap_drop, add_station, remove_station, factory_reset, link_close, faults (see
faults.py: busy answers, CIPSEND failures, a hung module, line noise, a late connect,
bytes before a result, +IPD frames cut by a reboot or short of bytes); clients (clients.py:
test-side clients of the TCP server, and a link ID reused at once); server_port,
control_port, flash, dropped (what the module_buffer quirk dropped).
"""

import logging
import queue
import threading
import time

from . import (
    handlers,
    handlers_uart,  # noqa: F401  (registers AT+UART_CUR)
)
from .atparse import ParamError, parse_line
from .clients import Clients
from .config import default_aps, match_ap
from .control import ControlServer
from .faults import Faults
from .links import Link, kill
from .modbuf import ModuleBuffer
from .quirks import make as make_quirks
from .server import TcpServer
from .softap import check_mac, free_ip, joined_events, left_event
from .state import MAX_LINKS, ModuleState
from .uart import UartPort

log = logging.getLogger("wizfi360_emu")

MAX_LINE = 1024
_BACKSLASH, _ZERO = 0x5C, 0x30  # AT+CIPSENDEX's data: \0 ends it, a backslash escapes
FIN_FIRST_S = 0.1  # how long a new client waits for a link whose peer closed to be reported
BUSY = b"busy p...\r\n"
ERR_CODE = b"ERR CODE:0x01090000\r\n"  # the quirk err_code's line before ERROR


class Ctx:
    """What a handler may do while running one command (see handlers.py)."""

    def __init__(self, emu, gen):
        self.emu = emu
        self.gen = gen
        self.state = emu.state  # the state this command started with
        self.done = False

    def live(self):
        """False once the module rebooted (or stopped) since the command arrived."""
        return self.gen == self.emu._gen and not self.emu._stopping

    def out(self, data):
        with self.emu._uart.lock:
            if self.live():
                self.emu._write(data)

    def final(self, data):
        """Write the final result (after the before-result fault's bytes, if it is on);
        from then on a new command is accepted. b"": no result at all (the module just
        stops being busy)."""
        self.done = True
        emu = self.emu
        if data == handlers.ERROR and emu.quirks.err_code:  # quirks.py: ERR CODE lines
            data = ERR_CODE + data
        with emu._uart.lock:
            with emu._lock:
                before = emu.faults.take_before_result() if self.gen == emu._gen else b""
            self.out(before)
            with emu._lock:
                if self.gen == emu._gen:
                    emu._busy = False
            self.out(data)

    def sleep(self, seconds):
        """Wait; False if the module rebooted meanwhile (then give up silently)."""
        with self.emu._cond:
            self.emu._cond.wait_for(lambda: not self.live(), timeout=seconds)
        return self.live()

    def receive(self, n, escaped=False):
        """CIPSEND: prompt, then collect exactly n raw bytes from the UART. escaped
        (AT+CIPSENDEX): a backslash makes the next byte literal and the two bytes \\0 end
        the data early; n counts the bytes as they come on the line."""
        emu = self.emu
        with emu._lock:
            if not self.live():
                return None
            emu._rx_line.clear()
            emu._rx_data = bytearray()
            emu._rx_need = n
            emu._rx_escaped = escaped
            emu._rx_backslash = False
        self.out(handlers.OK)
        delay = emu.quirks.prompt_delay_ms  # quirks.py: a late ">", the data counts already
        if delay and not self.sleep(delay / 1000):
            return None
        self.out(emu.prompt)  # separate write: +IPD may come in between
        with emu._cond:
            emu._cond.wait_for(lambda: emu._rx_need == 0 or not self.live())
            return bytes(emu._rx_data) if self.live() else None


class Emulator:
    def __init__(
        self,
        aps=None,
        host="127.0.0.1",
        tcp_port=0,
        pty=False,
        prompt=b">",
        ipd_max=1460,
        join_delay_s=0.2,
        cwjap_code=True,
        dns_quoted=False,
        dns_map=None,
        boot_garbage=b"",
        connect_timeout_s=5.0,
        ssl_reboot_below=0,
        server_host="127.0.0.1",
        cipsto_unit_s=1.0,
        cwlif_quoted=True,
        baud=None,
        control_port=None,
        quirks=None,
    ):
        self.aps = list(default_aps() if aps is None else aps)
        self.host = host
        self.prompt = prompt
        self.ipd_max = ipd_max
        self.join_delay_s = join_delay_s
        self.cwjap_code = cwjap_code
        self.dns_quoted = dns_quoted
        self.dns_map = dict(dns_map or {})
        self.boot_garbage = boot_garbage
        self.connect_timeout_s = connect_timeout_s
        self.ssl_reboot_below = ssl_reboot_below  # SSL start with CIPSSLSIZE below: reboot
        self.server_host = server_host  # where AT+CIPSERVER listens
        self.cipsto_unit_s = cipsto_unit_s  # length of one AT+CIPSTO second
        self.cwlif_quoted = cwlif_quoted
        self.quirks = make_quirks(quirks)  # quirks.py; None: the manual's module
        self._modbuf = None  # modbuf.ModuleBuffer, once the module_buffer quirk is used
        self.commands = []  # every AT line received, without CRLF
        self.flash = ModuleState()  # what the _DEF commands saved
        self.state = self.flash.booted()
        self.links = {}  # link id -> links.Link
        self.server = None  # server.TcpServer while AT+CIPSERVER=1
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._gen = 0  # bumped by each reboot
        self._busy = False
        self._rx_line = bytearray()
        self._rx_need = 0  # > 0 while collecting CIPSEND data
        self._rx_data = bytearray()
        self._rx_escaped = False  # the data is AT+CIPSENDEX's (Ctx.receive)
        self._rx_backslash = False  # ... and its last byte was an escaping backslash
        self._queue = queue.Queue()
        self._stopping = False
        self._uart = UartPort(self._on_rx, host, tcp_port, pty, baud)  # baud: pace the line
        self._executor = None
        self.faults = Faults()  # guarded by self._lock
        self.clients = Clients(self)
        self._parked = {}  # client port -> None (expected) or (sock, addr); under the UART lock
        self._later = None  # inject_later's queue, once used
        self._control = None if control_port is None else ControlServer(self, port=control_port)

    # --- lifecycle -------------------------------------------------------------------------
    @property
    def tcp_port(self):
        return self._uart.tcp_port

    @property
    def pty_path(self):
        return self._uart.pty_path

    @property
    def server_port(self):
        """The port AT+CIPSERVER listens on (on server_host), or None."""
        return None if self.server is None else self.server.port

    @property
    def control_port(self):
        """The port of the control channel on 127.0.0.1, or None."""
        return None if self._control is None else self._control.port

    def start(self):
        self._uart.start()
        self._executor = threading.Thread(target=self._exec_loop, name="emu-exec", daemon=True)
        self._executor.start()
        if self._control is not None:
            self._control.start()
        return self

    def stop(self):
        with self._lock:
            self._stopping = True
            self._cond.notify_all()
        self._queue.put(None)
        if self._later is not None:
            self._later.put(None)
        if self._modbuf is not None:
            self._modbuf.stop()
        if self._control is not None:
            self._control.stop()
        self._uart.stop()  # first, so that no writer stays blocked on the host
        self.clients.close_all()
        for entry in self._parked.values():
            if entry is not None:
                kill(entry[0])
        self.stop_server(notify=False)
        for link in list(self.links.values()):
            self.close_link(link, notify=False)
        if self._executor is not None and self._executor is not threading.current_thread():
            self._executor.join(2)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- test hooks ------------------------------------------------------------------------
    def inject(self, data):
        """Write raw bytes to the host, as if the module had sent them (also while muted)."""
        self._uart.write(bytes(data))

    def inject_later(self, data):
        """Queue raw bytes for the host and return at once: one writer thread sends them,
        in the order queued, as fast as the host reads (inject() waits for that)."""
        with self._lock:
            if self._later is None:
                self._later = queue.Queue()
                threading.Thread(
                    target=self._later_loop, args=(self._later,), name="emu-inject-later", daemon=True
                ).start()
            self._later.put(bytes(data))

    def _later_loop(self, later):
        while True:
            data = later.get()
            if data is None or self._stopping:
                return
            self._uart.write(data)

    def reboot(self, garbage=None):
        """Module reset: links gone, settings at power-up values, faults cleared, then
        (garbage) ready."""
        with self._uart.lock:
            with self._lock:
                self._gen += 1
                self.faults.clear()
                self.state = self.flash.booted()
                self._uart.reset_line()
                self._busy = False
                self._rx_line.clear()
                self._rx_need = 0
                while not self._queue.empty():
                    self._queue.get_nowait()
                self._cond.notify_all()
            self.stop_server(notify=False)
            for link in list(self.links.values()):
                self.close_link(link, notify=False)
            log.info("reboot")
            if garbage is None:
                garbage = self.boot_garbage or self.quirks.boot_noise
            # quirks.py ready_same_line: the noise runs into "ready" (no line end between)
            self._write(garbage + (b"ready\r\n" if self.quirks.ready_same_line else b"\r\nready\r\n"))
            saved = self.state.saved_ap
            if self.state.autoconn and saved and self.state.station():
                threading.Thread(
                    target=self._autoconnect, args=(self._gen, saved), name="emu-autoconnect", daemon=True
                ).start()

    def factory_reset(self):
        """AT+RESTORE: flash back to factory settings, then reboot."""
        self.flash = ModuleState()
        self.reboot()

    def add_station(self, mac, ip=None):
        """A fake Wi-Fi client joins the SoftAP: +STA_CONNECTED, and +DIST_STA_IP with the
        address it gets (ip, else the lowest free one of the DHCP pool; none when the
        SoftAP's DHCP server is off). Returns that address. RuntimeError if the SoftAP is
        off or full (max conn); ValueError for a bad or already connected MAC."""
        mac = check_mac(mac)
        with self._uart.lock:
            st = self.state
            if not st.softap_on():
                raise RuntimeError("the SoftAP is off (AT+CWMODE_CUR=2 or 3)")
            if mac in st.stations:
                raise ValueError("%s is already connected" % mac)
            if len(st.stations) >= st.softap[4]:
                raise RuntimeError("the SoftAP is full (%d stations)" % st.softap[4])
            if ip is None and st.dhcp & 1:
                ip = free_ip(st.dhcp_pool(), st.stations.values())
            st.stations[mac] = ip
            self._write(joined_events(mac, ip))
            return ip

    def station_waits(self, mac, ssid, key="", timeout_s=60.0, poll_s=0.02):
        """A fake Wi-Fi client (a phone) set to join the SoftAP named ssid with key: it
        joins (add_station) as soon as the SoftAP is on with that name and, unless the
        SoftAP is open, that key; until then it keeps looking, for timeout_s at most, as
        a phone does. Returns at once. ValueError for a bad MAC."""
        mac = check_mac(mac)

        def matches(st):
            ap_ssid, ap_key, _, ecn = st.softap[:4]
            return st.softap_on() and ap_ssid == ssid and (ecn == 0 or ap_key == key)

        def look():
            until = time.monotonic() + timeout_s
            while not self._stopping and time.monotonic() < until:
                with self._uart.lock:
                    ready = matches(self.state) and mac not in self.state.stations
                if ready:
                    try:
                        self.add_station(mac)
                        return
                    except (RuntimeError, ValueError):
                        pass  # full, or switched off meanwhile: keep looking
                time.sleep(poll_s)

        threading.Thread(target=look, name="emu-station", daemon=True).start()

    def remove_station(self, mac):
        """The fake client leaves: +STA_DISCONNECTED. KeyError if it is not connected."""
        mac = check_mac(mac)
        with self._uart.lock:
            del self.state.stations[mac]
            self._write(left_event(mac))

    def ap_drop(self):
        """The AP went away: WIFI DISCONNECT, every link CLOSED."""
        self.drop_wifi()

    def link_close(self, link_id):
        """The peer closes link link_id: <id>,CLOSED. KeyError if it is not open."""
        with self._uart.lock:
            link = self.links.get(link_id)
            if link is None:
                raise KeyError("link %d is not open" % link_id)
            self.close_link(link, notify=True)

    def set_faults(self, **values):
        """Switch faults on or off: set_faults(busy=2), set_faults(muted=True), ... (the
        fields of faults.Faults). AttributeError for an unknown one."""
        with self._cond:
            for name in values:
                if not hasattr(self.faults, name):
                    raise AttributeError("no fault named %r" % name)
            for name, value in values.items():
                setattr(self.faults, name, value)
            self._cond.notify_all()  # link readers held back by a mute

    def set_quirk(self, name, text):
        """Set one quirk from its text form (quirks.Quirks.set); ValueError if unknown or
        bad. set_quirk("profile", "real") loads a whole profile."""
        from .quirks import profile

        with self._cond:
            if name == "profile":
                self.quirks = profile(text)
            else:
                self.quirks.set(name, text)

    @property
    def dropped(self):
        """(frames, bytes) the module buffer (quirk module_buffer) has dropped so far."""
        return tuple(self._modbuf.dropped) if self._modbuf is not None else (0, 0)

    def write_later(self, seconds, data, gen):
        """Write data to the host in `seconds`, from a timer thread, unless the module
        has rebooted (or stopped) by then: a result or event that comes late."""

        def fire():
            with self._uart.lock:
                if gen == self._gen and not self._stopping:
                    self._write(data)

        timer = threading.Timer(seconds, fire)
        timer.daemon = True
        timer.start()

    def clear_faults(self):
        with self._cond:
            self.faults.clear()
            self._cond.notify_all()

    def take_connect_delay(self):
        """For AT+CIPSTART: seconds to wait before connecting, once (0: none)."""
        with self._lock:
            return self.faults.take_connect_delay()

    def take_send_fault(self):
        """For AT+CIPSEND: the fault its data stage is to have, once (or None)."""
        with self._lock:
            return self.faults.take_send_fault()

    def _wait_unmuted(self, link):
        """Block a link reader while the module is muted (its data waits, as in a hung
        module's buffers, and so does the peer: TCP backpressure)."""
        with self._cond:
            self._cond.wait_for(lambda: not self.faults.muted or self._stopping or link.closed)

    # --- services for handlers -------------------------------------------------------------
    def _autoconnect(self, gen, saved):
        """After a reboot with a saved AP (CWJAP_DEF) and AT+CWAUTOCONN=1: join it."""
        with self._cond:
            self._cond.wait_for(lambda: gen != self._gen or self._stopping, timeout=self.join_delay_s)
        ap, _ = match_ap(self.aps, *saved)
        with self._uart.lock:
            if gen == self._gen and not self._stopping and ap and self.state.joined is None:
                self.state.joined = ap
                self._write(b"WIFI CONNECTED\r\nWIFI GOT IP\r\n")

    def start_server(self, port):
        """AT+CIPSERVER=1: listen on server_host:port (OSError if taken)."""
        self.server = TcpServer(self.server_host, port, self._on_server_client, self._on_server_tick)
        log.info("server listening on %s:%d", self.server_host, self.server.port)

    def stop_server(self, notify):
        """AT+CIPSERVER=0 (and reboot): stop listening, close the links it accepted."""
        with self._uart.lock:
            server, self.server = self.server, None
            if server is None:
                return
            server.close()
            for link in sorted(self.links.values(), key=lambda k: k.id):
                if link.server:
                    self.close_link(link, notify)

    def _on_server_client(self, sock, addr):
        """A client connected to the server: the lowest free link id, <id>,CONNECT; or,
        for a client park_client() expects, kept back for replace_link()."""
        deadline = time.monotonic() + FIN_FIRST_S
        while True:
            with self._uart.lock:
                if addr[1] in self._parked and self._parked[addr[1]] is None:
                    self._parked[addr[1]] = (sock, addr)
                    return
                if not self._closing_soon() or time.monotonic() > deadline:
                    link = self._admit(sock, addr)
                    break
            time.sleep(0.001)  # the link's reader reports its CLOSED meanwhile
        if link is not None:
            self.start_link(link)

    def _closing_soon(self):
        """Every ID is taken but a link's peer has already closed (its FIN waits in the
        socket, the link's reader has not got to it yet). A module handles a peer's FIN
        before a SYN that came after it, so a client that closes and connects again at
        once finds its old ID free; here the two are different threads."""
        if len(self.links) < MAX_LINKS:
            return False
        return any(link.peer_closed() for link in self.links.values())

    def _admit(self, sock, addr):
        """Give an accepted client the lowest free link id and announce it; None (and
        the client refused) if the server is off or all links are taken. Called with the
        UART lock held; the caller starts the link's reader."""
        free = [i for i in range(MAX_LINKS) if i not in self.links]
        if self.server is None or self._stopping or not free:
            kill(sock)
            return None
        link = Link(free[0], sock, addr[0], addr[1], server=True)
        self.links[link.id] = link
        self.state.had_link = True
        self._write(self.link_event(link.id, b"CONNECT"))
        return link

    def park_client(self, port):
        """The next client to connect to the server from local port `port` is accepted
        but not announced: parked() hands it over, replace_link() lets it in."""
        with self._uart.lock:
            self._parked[port] = None

    def parked(self, port):
        """True once the client park_client(port) expects has connected."""
        with self._uart.lock:
            return self._parked.get(port) is not None

    def replace_link(self, link, port):
        """When server link `link` closes, the parked client from `port` comes in at
        once: "<id>,CLOSED" then, with nothing in between, "<new id>,CONNECT" (the
        lowest free id: the same one unless a lower one is free)."""
        with self._uart.lock:
            link.successor = self._parked.pop(port)

    def _on_server_tick(self, server):
        """AT+CIPSTO: close server links idle for that long."""
        timeout = self.state.cipsto * self.cipsto_unit_s
        if not timeout or server is not self.server:
            return
        now = time.monotonic()
        for link in list(self.links.values()):
            if link.server and now - link.last_active >= timeout:
                log.info("link %d idle for %.1f s: closed", link.id, now - link.last_active)
                self.close_link(link, notify=True)

    def drop_wifi(self):
        """Leave the AP if joined: WIFI DISCONNECT, then <id>,CLOSED per link."""
        with self._uart.lock:
            if self.state.joined is None:
                return
            self.state.joined = None
            self._write(b"WIFI DISCONNECT\r\n")
            for link in sorted(self.links.values(), key=lambda k: k.id):
                self.close_link(link, notify=True)

    def add_link(self, ctx, link):
        """Register a freshly connected link and announce it (CONNECT)."""
        with self._uart.lock:
            if not ctx.live() or link.id in self.links:
                link.shutdown()
                return False
            self.links[link.id] = link
            self.state.had_link = True
            self._write(self.link_event(link.id, b"CONNECT"))
            return True

    def start_link(self, link):
        link.start_reader(self._on_link_data, self._on_link_closed, self.ipd_max)

    def close_link(self, link, notify):
        """Close a link (from our side); False if it was not open. A client waiting to
        replace it (replace_link) is let in right behind its CLOSED."""
        successor = None
        with self._uart.lock:
            if link is None or link.closed:
                return False
            link.closed = True
            if self.links.get(link.id) is link:
                del self.links[link.id]
            if notify:
                self._write(self.link_event(link.id, b"CLOSED"))
            if link.successor is not None:
                sock, addr = link.successor
                link.successor = None
                successor = self._admit(sock, addr) if notify else kill(sock)
        link.shutdown()
        if link.sendbuf is not None:
            link.sendbuf.close()  # sendbuf.py: what it still holds fails
        if successor is not None:
            self.start_link(successor)
        return True

    # --- UART output -----------------------------------------------------------------------
    def _write(self, data):
        if self.faults.muted:  # a hung module says nothing
            log.debug("muted, dropped -> %r", data)
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug("-> %r", data)
        self._uart.write(data)

    def link_event(self, link_id, what):
        """The line "<id>,CONNECT" (or CLOSED); just "CONNECT" in single-link mode."""
        if self.state.mux:
            return b"%d,%s\r\n" % (link_id, what)
        return what + b"\r\n"

    def _ipd_header(self, link, n, sender):
        st = self.state
        head = b"\r\n+IPD,%d,%d" % (link.id, n) if st.mux else b"\r\n+IPD,%d" % n
        if st.dinfo:
            ip = b'"%s"' if self.quirks.ipd_ip_quoted else b"%s"  # quirks.py
            head += b"," + ip % sender[0].encode() + b",%d" % sender[1]
        return head + b":"

    def _on_link_data(self, link, data, sender):
        limit = self.quirks.module_buffer
        if limit:  # the module takes the data into its own buffer (modbuf.py)
            self._module_buffer().put_frame(self._gen, link, data, sender, limit)
            return
        self._wait_unmuted(link)
        self._write_frame(link, data, sender)

    def _write_frame(self, link, data, sender):
        """One +IPD frame to the host, with the frame faults (faults.py) if any are due."""
        with self._uart.lock:  # blocks while the host is not reading
            if link.closed:
                return
            with self._lock:
                cut, drop, after = self.faults.take_frame_faults()
            frame = self._ipd_header(link, len(data), sender)
            log.info("+IPD link %d, %d bytes: %r", link.id, len(data), data[:64])
            if cut is not None:  # a reboot inside the payload: the rest never comes
                k = len(data) // 2 if cut < 0 else min(cut, len(data) - 1)
                self._uart.write(self.faults.noise + frame + data[:k])
                self.reboot()
                return
            body = data
            if drop:  # bytes lost from the middle of the payload
                n = min(drop, len(data))
                start = (len(data) - n) // 2
                body = data[:start] + data[start + n :]
            self._uart.write(self.faults.noise + frame + body + after)
            link.to_host += len(data)

    def _on_link_closed(self, link):
        if self._modbuf is not None and (self.quirks.module_buffer or self._modbuf.busy(link)):
            self._modbuf.put_close(self._gen, link)  # after the link's queued frames
            return
        self._wait_unmuted(link)
        log.info("link %d closed by peer", link.id)
        self.close_link(link, notify=True)

    def _module_buffer(self):
        with self._lock:
            if self._modbuf is None:
                self._modbuf = ModuleBuffer(self)
            return self._modbuf

    def _buffered_item(self, gen, link, data, sender):
        """The module buffer's writer: a queued frame, or (data None) the link's CLOSED;
        nothing for a module that rebooted since."""
        if gen != self._gen:
            return
        self._wait_unmuted(link)
        if data is None:
            log.info("link %d closed by peer", link.id)
            self.close_link(link, notify=True)
        else:
            self._write_frame(link, data, sender)

    # --- UART input ------------------------------------------------------------------------
    def _on_rx(self, data):
        actions = []
        with self._lock:
            while data:
                if self._rx_need and self._rx_escaped:  # CIPSENDEX payload
                    data = self._take_escaped(data)
                    continue
                if self._rx_need:  # CIPSEND payload: raw bytes
                    take = data[: self._rx_need]
                    self._rx_data += take
                    self._rx_need -= len(take)
                    data = data[len(take) :]
                    if not self._rx_need:
                        self._cond.notify_all()
                    continue
                self._rx_line += data
                data = b""
                self._take_lines(actions)
        for kind, line, gen in actions:
            if kind == "busy":
                self._write(BUSY)
            else:
                if kind == "echo":
                    self._write(line + b"\r\n")
                self._queue.put((gen, line))

    def _take_escaped(self, data):
        """AT+CIPSENDEX's data (manual 3.2.3.9; module-notes "Sends"): up to _rx_need
        bytes of the line, a backslash making the next byte literal (dropped when the
        length ends right after it) and \\0 ending the data early. Returns what comes
        after the data (called with self._lock held)."""
        out = self._rx_data
        for i, byte in enumerate(data):
            self._rx_need -= 1
            if self._rx_backslash:
                self._rx_backslash = False
                if byte == _ZERO:
                    self._rx_need = 0
                else:
                    out.append(byte)
            elif byte == _BACKSLASH:
                self._rx_backslash = True
            else:
                out.append(byte)
            if not self._rx_need:
                self._cond.notify_all()
                return data[i + 1 :]
        return b""

    def _take_lines(self, actions):
        """Cut complete lines out of _rx_line (called with self._lock held)."""
        while True:
            i = self._rx_line.find(b"\r\n")
            if i < 0:
                if len(self._rx_line) > MAX_LINE:  # runaway junk: forget it
                    del self._rx_line[:-1]
                return
            line = bytes(self._rx_line[:i])
            del self._rx_line[: i + 2]
            if not line.startswith(b"AT"):
                continue  # not a command line: ignored
            log.info("<- %r", line)
            self.commands.append(line)
            if self.faults.muted:
                continue  # read, counted, never answered
            if self.faults.take_busy() or self._busy:
                actions.append(("busy", line, self._gen))
            else:
                self._busy = True
                actions.append(("echo" if self.state.echo else "run", line, self._gen))

    # --- command execution -----------------------------------------------------------------
    def _exec_loop(self):
        while True:
            item = self._queue.get()
            if item is None or self._stopping:
                return
            gen, line = item
            if gen != self._gen:
                continue
            ctx = Ctx(self, gen)
            result = handlers.OK
            try:
                handlers.dispatch(ctx, parse_line(line))
            except ParamError as e:
                log.info("ERROR for %r: %s", line, e)
                result = handlers.ERROR
            except Exception:
                log.exception("handler failed for %r", line)
                result = handlers.ERROR
            if not ctx.done:
                ctx.final(result)
