# Minimal test harness for tests_device/, runs on MicroPython (unix port or a
# board) and on CPython.  No unittest, no typing.
#
# A test file defines functions named test_* and ends with
#
#     harness.main(globals())
#
# Tests run in alphabetical order of their names (MicroPython's module dicts
# keep no definition order), so keep them independent of each other.
# Output, one line per test, then a summary line the runner parses:
#
#     PASS test_name
#     FAIL test_name: AssertionError: 1 != 2
#     RESULT <passed> <failed>
#
# A failure is followed by its traceback.  If the environment variable
# WIZFI_TEST_K is set, only tests whose name contains it run.

import gc
import sys

try:
    import os
except ImportError:  # pragma: no cover
    os = None

try:
    from time import ticks_diff, ticks_ms
except ImportError:  # CPython
    import time as _time

    def ticks_ms():
        return int(_time.monotonic() * 1000)

    def ticks_diff(a, b):
        return a - b


def env(name, default=None):
    """os.getenv where the port has it (unix, CPython); default elsewhere."""
    getenv = getattr(os, "getenv", None)
    if getenv is None:
        return default
    value = getenv(name)
    return default if value is None else value


def describe(exc):
    """'TypeName: message' for an exception (just the type name if no message)."""
    msg = str(exc)
    name = type(exc).__name__
    return name + ": " + msg if msg else name


def print_traceback(exc):
    if hasattr(sys, "print_exception"):  # MicroPython
        sys.print_exception(exc)
    else:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stdout)


# --- assertion helpers ------------------------------------------------------


def eq(actual, expected, msg=None):
    if actual != expected:
        raise AssertionError(msg or "%r != %r" % (actual, expected))


def true(value, msg=None):
    if not value:
        raise AssertionError(msg or "expected a true value, got %r" % (value,))


def raises(exc_type, fn, *args, **kwargs):
    """Call fn(*args, **kwargs); it must raise exc_type. Returns the exception."""
    try:
        fn(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError("%s not raised by %s" % (exc_type.__name__, getattr(fn, "__name__", fn)))


# --- running ------------------------------------------------------------------


def collect(namespace, filt=None):
    """Sorted (name, function) pairs of the test_* callables in namespace."""
    names = sorted(k for k in namespace if k.startswith("test_") and callable(namespace[k]))
    if filt:
        names = [k for k in names if filt in k]
    return [(k, namespace[k]) for k in names]


def run_tests(tests, out=print, tracebacks=True):
    """Run (name, fn) pairs; report each through out(line). Returns (passed, failed)."""
    passed = failed = 0
    for name, fn in tests:
        gc.collect()  # each test starts from a collected heap
        try:
            fn()
        except Exception as e:
            failed += 1
            gc.collect()  # a test that ran out of memory leaves garbage behind
            try:
                out("FAIL %s: %s" % (name, describe(e)))
            except MemoryError:  # the message itself is too big for what is left
                out("FAIL " + name + ": " + type(e).__name__)
            if tracebacks:
                print_traceback(e)
        else:
            passed += 1
            out("PASS %s" % name)
    return passed, failed


def main(namespace):
    t0 = ticks_ms()
    passed, failed = run_tests(collect(namespace, env("WIZFI_TEST_K")))
    print("(%d ms)" % ticks_diff(ticks_ms(), t0))
    print("RESULT %d %d" % (passed, failed))
    # A non-zero exit status off-board only: on a board, SystemExit would soft-reset it.
    if failed and sys.platform in ("linux", "darwin", "win32"):
        sys.exit(1)
