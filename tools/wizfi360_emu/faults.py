"""Faults a test can switch on: what a real module does when things go wrong.

The Emulator holds one Faults as emu.faults; tests in this process set it directly
(emu.faults.busy = 2), tests in another process through the control channel
(control.py). Every field is read and written under the emulator's lock (emu._lock);
a reboot clears them all, since a reset module is neither busy nor hung.

- busy: the next n AT command lines are answered "busy p..." and not taken (manual 2.3:
  "previous command is being processed"; module-notes: retry later).
- send_fault: what happens to the next AT+CIPSEND that reaches its data stage (manual
  3.2.3.8), one of SEND_FAULTS (see handlers_links.cipsend).
- muted: the module hangs: command lines are read (and counted) but neither echoed nor
  run; nothing at all is written to the host, and link data waits in the links until
  the module is unmuted (nothing is lost).
- noise: bytes written to the host before every +IPD frame (each frame starts with a
  line end, so they form a garbage line of their own), as a noisy line would.
- connect_delay_ms: the next AT+CIPSTART waits this long before it connects, as to a
  peer that accepts late: its "<id>,CONNECT" and final result come that much later.
  The module stays busy with it meanwhile (command lines get "busy p..."), and the
  data of the other open links keeps coming (core.py: the link readers do not wait
  for the command).
- before_result: (bytes, times) written to the host right before the next final result
  (OK, ERROR, FAIL, SEND OK, SEND FAIL; for send_fault "error", before its ">" prompt),
  the bytes times over: e.g. +IPD frames for an open link, for "data before OK".

One-shot faults of the next +IPD frame (issue 15; module-notes "What drivers written
against real modules record": "A reboot can cut anything"); quirks.py has the module's
habits, which a reboot keeps:
- reboot_mid_frame: None, or how many payload bytes of the next frame go out (-1: half
  of it; at most all but one) before the module reboots: the header announces the whole
  length, the rest never comes, then (boot noise and) "ready" as in every reboot.
- drop_mid_frame: n > 0: the next frame loses n bytes from the middle of its payload
  (a UART without flow control overran); its header still announces the whole length.
- after_frame: bytes written right after the next frame's payload (an unsolicited line
  the host does not know, e.g. b"+NEWEVENT:1\r\n").
"""

# fail: the data is taken, then "Recv <n> bytes" and "SEND FAIL"; the link stays open.
# error: "ERROR" right after the ">" prompt: the module takes no data; bytes the host
#   writes anyway are command-line garbage (up to the next line end, and ignored).
# closed: the peer closes the link while the data comes in: "Recv <n> bytes", then
#   "<id>,CLOSED", then "SEND FAIL", the order ESP-style firmware reports it in (with the
#   dead_link_silent quirk: no SEND FAIL).
# vanish: as closed, and never a SEND OK or SEND FAIL, whatever the quirks (issue 15 #6;
#   module-notes "No result at all").
SEND_FAULTS = ("fail", "error", "closed", "vanish")


class Faults:
    def __init__(self):
        self.clear()

    def clear(self):
        self.busy = 0
        self.send_fault = None
        self.muted = False
        self.noise = b""
        self.connect_delay_ms = 0
        self.before_result = None
        self.reboot_mid_frame = None
        self.drop_mid_frame = 0
        self.after_frame = b""

    def take_busy(self):
        """True if this command line is to be answered busy (one fewer to go)."""
        if self.busy <= 0:
            return False
        self.busy -= 1
        return True

    def take_send_fault(self):
        """The pending CIPSEND fault (or None); it applies to one command only."""
        mode, self.send_fault = self.send_fault, None
        return mode

    def take_connect_delay(self):
        """For AT+CIPSTART: how long (s) it is to wait before connecting, once (or 0)."""
        ms, self.connect_delay_ms = self.connect_delay_ms, 0
        return ms / 1000

    def take_before_result(self):
        """The bytes due before this final result (b"" if none); they go out once."""
        pending, self.before_result = self.before_result, None
        if pending is None:
            return b""
        data, times = pending
        return data * times

    def take_frame_faults(self):
        """(reboot_mid_frame, drop_mid_frame, after_frame) for this +IPD frame; they go
        out once."""
        taken = (self.reboot_mid_frame, self.drop_mid_frame, self.after_frame)
        self.reboot_mid_frame, self.drop_mid_frame, self.after_frame = None, 0, b""
        return taken
