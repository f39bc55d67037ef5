# Heap the driver holds, run by tools/bench/run.py on the MicroPython unix port
# with the package as .py (MICROPYPATH=lib:tools/bench) or as .mpy
# (MICROPYPATH=<mpy-cross output>:tools/bench). Live heap is gc.mem_alloc()
# right after gc.collect(). Prints
#
#   MEM import <bytes>      import wizfi360 + from wizfi360 import socket
#   MEM device <bytes>      one WizFi360 on a MemModule, started up
#   MEM socket <bytes>...   each of five sockets opened in turn (connect())
#   MEM cycle <bytes>       growth over 20 more sockets opened and closed
#   MEM lazy <name>=<bytes>...  each optional module, imported in turn after
#                           all of the above (what it costs when first used)
#
# With the path of a ROMFS image (mpremote romfs build) as its argument it
# mounts that at /rom first and imports the package from there, as a board
# whose firmware has ROMFS does after `mpremote romfs deploy`: the bytecode
# runs in place. The image stands for flash: it is read before the baseline.
import gc
import sys


def live():
    gc.collect()
    return gc.mem_alloc()


def main():
    if len(sys.argv) > 1:
        import vfs

        with open(sys.argv[1], "rb") as f:
            image = f.read()
        vfs.mount(vfs.VfsRom(image), "/rom")
        sys.path.insert(0, "/rom")
    base = live()
    import wizfi360
    from wizfi360 import socket

    print("MEM import %d" % (live() - base))
    from memmodule import MemModule

    mod = MemModule()
    base = live()
    wizfi360.WizFi360(mod)
    print("MEM device %d" % (live() - base))
    socks = []
    each = []
    for i in range(5):
        base = live()
        s = socket.socket()
        s.connect(("10.0.0.%d" % (i + 2), 80))
        socks.append(s)
        each.append(live() - base)
    print("MEM socket %s" % " ".join("%d" % n for n in each))
    socks.pop().close()
    s = None
    base = live()
    for _ in range(20):
        s = socket.socket()
        s.connect(("10.0.0.9", 80))
        s.close()
    s = None
    print("MEM cycle %d" % (live() - base))
    lazy = []
    for name in LAZY:
        base = live()
        __import__("wizfi360." + name)
        lazy.append("%s=%d" % (name, live() - base))
    print("MEM lazy %s" % " ".join(lazy))


# The package's optional modules, loaded by the driver on first use.
LAZY = ("stream", "sockopt", "server", "udp", "ssl", "station_info", "services", "softap")


main()
