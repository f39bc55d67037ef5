# Freezing the wizfi360 driver into a custom MicroPython firmware.
#
# Frozen modules live in flash: importing them costs no RAM for compiling and
# little for the code itself. Build the rp2 port with this file as its manifest:
#
#   cd micropython/ports/rp2
#   make BOARD=RPI_PICO submodules
#   make BOARD=RPI_PICO FROZEN_MANIFEST=/path/to/wizfi360/manifest.py
#
# It keeps everything the port freezes by default (asyncio, ...) and adds the
# wizfi360 package from lib/. If you already have a manifest of your own, add
# only the package() line to it, with base_path pointing at this lib/ folder.
# Boards with a manifest of their own (RPI_PICO_W, ...) need
# include("$(BOARD_DIR)/manifest.py") in place of the port's one below.
# Syntax: MicroPython 1.20 and newer ("Manifest files" in the MicroPython docs).

# The version is set in one place, lib/wizfi360/__init__.py's __version__ line.
# The manifest tool runs this file from its own folder, so the path is relative to it.
with open("lib/wizfi360/__init__.py") as f:
    version = [line.split('"')[1] for line in f if line.startswith("__version__ = ")][0]

metadata(
    description="MicroPython driver for the WIZnet WizFi360 Wi-Fi module",
    version=version,
    license="MIT",
)

include("$(PORT_DIR)/boards/manifest.py")

package("wizfi360", base_path="lib")
