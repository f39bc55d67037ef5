# Host-side companions of the wizfi360 driver, for the MicroPython unix port and
# CPython: never installed on a board (package.json, manifest.py and
# `make deploy` ship lib/wizfi360 only).
#   hostuart  UART stand-ins: the emulator over TCP, a serial port, bytes in memory
#   consts    the public names of the driver's private constants (OPEN, EV_OK, ...)
