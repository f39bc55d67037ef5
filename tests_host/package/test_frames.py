"""The receive path's functions keep their frames off the heap.

MicroPython runs a bytecode function in a frame of n_state words (its locals plus its
deepest expression stack) and three more words per nested try; a frame over 11 words
(py/objfun.c, VM_MAX_STATE_ON_STACK: 11 machine words on every port) is taken from the
heap at every call and given back at its return. Nothing is left allocated, so neither
heap_lock() (the allocation falls back to the C stack when it fails) nor gc.mem_alloc()
sees it, but each call pays an allocation: on the unix port it took up to 40% of the
instructions per 1460-byte frame (docs/performance.md). The sizes are read from the
compiler's own dump (`micropython -v -v -v`), which mpy-cross shares.
"""

import re
import subprocess

import pytest

from fwrun import micropython  # noqa: F401  # fixture: the unix port binary

ON_STACK_WORDS = 11  # py/objfun.c: VM_MAX_STATE_ON_STACK = 11 * sizeof(mp_uint_t)
EXC_WORDS = 3  # mp_exc_stack_t: handler, value stack pointer, previous exception

# What runs for every +IPD frame, every UART read and every socket read.
HOT = {
    "wire/ring.py": ("put", "get_into", "commit", "__len__", "free"),
    "wire/parser.py": ("step", "fill", "parse", "_full", "settle", "pending", "in_frame"),
    "at/engine.py": ("poll", "wait", "_ring_full", "idle"),
    "socket.py": ("recv_into", "recv", "_wait", "_until", "_live", "ioctl", "_ready"),
}

BLOCK = re.compile(r"code block '([^']+)'.*?\(N_STATE (\d+)\)\n\(N_EXC_STACK (\d+)\)", re.S)


def frames(micropython, path):  # noqa: F811
    """{function name: frame words} of every code block in the file at path."""
    source = path.read_text()
    code = "compile(%r, %r, 'exec')" % (source, path.name)
    out = subprocess.run(
        [micropython, "-v", "-v", "-v", "-c", code], capture_output=True, text=True, timeout=60
    ).stdout
    found = {}
    for name, n_state, n_exc in BLOCK.findall(out):
        words = int(n_state) + EXC_WORDS * int(n_exc)
        found[name] = max(words, found.get(name, 0))  # a name defined twice: the larger
    return found


@pytest.mark.parametrize("module", sorted(HOT))
def test_hot_functions_keep_their_frames_on_the_c_stack(repo_root, micropython, module):  # noqa: F811
    sizes = frames(micropython, repo_root / "lib" / "wizfi360" / module)
    for name in HOT[module]:
        assert name in sizes, "%s has no function %s" % (module, name)
        assert sizes[name] <= ON_STACK_WORDS, "%s:%s needs %d words: its frame comes from the heap" % (
            module,
            name,
            sizes[name],
        )


def test_the_dump_tells_a_large_frame(micropython, tmp_path):  # noqa: F811
    # The check itself: a function with many locals, and one with a try, are seen.
    src = tmp_path / "m.py"
    src.write_text(
        "def small(a, b):\n    return a + b\n"
        "def big(a, b, c, d, e, f, g, h, i, j, k, l):\n    return a\n"
        "def guarded(a):\n    try:\n        return a()\n    finally:\n        pass\n"
    )
    sizes = frames(micropython, src)
    assert sizes["small"] <= ON_STACK_WORDS
    assert sizes["big"] > ON_STACK_WORDS
    assert sizes["guarded"] >= 1 + EXC_WORDS
