"""tools/bench/memuse.py, the bench's memory steps, on the MicroPython unix port.

The same steps run on the 32-bit WebAssembly port under `make bench`
(tools/bench/mem32.mjs); here they run as a script, with the package as .py.
"""

import os
import subprocess

from fwrun import micropython  # noqa: F401  # fixture: the unix port binary

LAZY = ("stream", "server", "udp", "ssl", "station_info", "services", "softap")


def test_memuse_measures_every_step(micropython, repo_root):  # noqa: F811
    env = dict(os.environ)
    env["MICROPYPATH"] = os.pathsep.join([str(repo_root / "lib"), str(repo_root / "tools" / "bench")])
    out = subprocess.run(
        [micropython, str(repo_root / "tools" / "bench" / "memuse.py")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    mem = {}
    for ln in out.splitlines():
        words = ln.split()
        assert words[0] == "MEM", ln
        mem[words[1]] = words[2:]
    assert list(mem) == ["import", "device", "socket", "cycle", "lazy"]
    # The package's modules, compiled from source: well over 10 KB of heap.
    assert int(mem["import"][0]) > 10 * 1024
    # A started WizFi360 holds its 1024-byte UART buffer at least.
    assert int(mem["device"][0]) >= 1024
    # Each of five sockets holds its link's 2048-byte receive ring.
    sockets = [int(n) for n in mem["socket"]]
    assert len(sockets) == 5
    assert all(n >= 2048 for n in sockets), sockets
    # Sockets opened and closed give their memory back (rings are reused).
    assert int(mem["cycle"][0]) < 1024
    lazy = dict(pair.split("=") for pair in mem["lazy"])
    assert tuple(lazy) == LAZY
    assert all(int(n) > 0 for n in lazy.values()), lazy
