# Heap the driver holds, run by tools/bench/run.py on the MicroPython unix port
# with the package as .py (MICROPYPATH=lib:tools/bench) or as .mpy
# (MICROPYPATH=<mpy-cross output>:tools/bench), and imported as a module by
# tools/bench/mem32.mjs on the 32-bit WebAssembly port. Live heap is
# gc.mem_alloc() right after gc.collect(). Prints
#
#   MEM import <bytes>      import wizfi360 + from wizfi360 import socket
#   MEM device <bytes>      one WizFi360 on a MemModule, started up
#   MEM socket <bytes>...   each of five sockets opened in turn (connect())
#   MEM cycle <bytes>       growth over 20 more sockets opened and closed
#   MEM lazy <name>=<bytes>...  each optional module, imported in turn after
#                           all of the above (what it costs when first used)
#
# Each measurement is a step: set-up that is not counted (prepare), the live
# heap taken (begin), the work counted (act), the live heap again (end). Run
# as a script, main() runs them one after another. The WebAssembly port's
# collector also keeps what stale words on its stack still point at while a
# call from JavaScript runs, so mem32.mjs makes each of begin, act and end a
# call of its own, and only the live objects are counted there too.
#
# With the path of a ROMFS image (mpremote romfs build) as its argument it
# mounts that at /rom first and imports the package from there, as a board
# whose firmware has ROMFS does after `mpremote romfs deploy`: the bytecode
# runs in place. The image stands for flash: it is read before the baseline.
import gc
import sys

# The package's optional modules, loaded by the driver on first use.
LAZY = ("stream", "server", "udp", "ssl", "station_info", "services", "softap")

_pkg = None
_socket = None
_module = None
_socks = []
_base = 0
_found = {}  # "socket" -> ["2560", ...], in the order measured


def live():
    gc.collect()
    return gc.mem_alloc()


def _load():
    global _pkg, _socket
    import wizfi360
    from wizfi360 import socket

    _pkg = wizfi360
    _socket = socket


def _make_module():
    global _module
    from memmodule import MemModule

    _module = MemModule()


def _start():
    _pkg.WizFi360(_module)


def _open(host="10.0.0.2"):
    s = _socket.socket()
    s.connect((host, 80))
    return s


def _open_kept():
    _socks.append(_open("10.0.0.%d" % (len(_socks) + 2)))


def _close_one():
    _socks.pop().close()


def _cycle():
    for _ in range(20):
        _open("10.0.0.9").close()


def _lazy(name):
    return lambda: __import__("wizfi360." + name)


# (what, label, prepare, act): a step's figure is printed on the line of its
# `what`, as <label>=<bytes> when it has a label.
STEPS = (
    [("import", None, None, _load), ("device", None, _make_module, _start)]
    + [("socket", None, None, _open_kept)] * 5
    + [("cycle", None, _close_one, _cycle)]
    + [("lazy", name, None, _lazy(name)) for name in LAZY]
)


def prepare(i):
    if STEPS[i][2] is not None:
        STEPS[i][2]()


def begin():
    global _base
    _base = live()


def act(i):
    STEPS[i][3]()


def end(i):
    what, label, _, _ = STEPS[i]
    n = live() - _base
    _found.setdefault(what, []).append("%d" % n if label is None else "%s=%d" % (label, n))


def report():
    for what in ("import", "device", "socket", "cycle", "lazy"):
        if what in _found:
            print("MEM %s %s" % (what, " ".join(_found[what])))


def main():
    if len(sys.argv) > 1:
        import vfs

        with open(sys.argv[1], "rb") as f:
            image = f.read()
        vfs.mount(vfs.VfsRom(image), "/rom")
        sys.path.insert(0, "/rom")
    for i in range(len(STEPS)):
        prepare(i)
        begin()
        act(i)
        end(i)
    report()


if __name__ == "__main__":
    main()
