# Self-test of the device test harness and runner; needs no driver.
# heapsize: 64K
import board
import harness


def test_settings_arrive():
    s = board.settings()
    harness.true(s["ssid"] and s["key"], "no SSID/key: %r" % (s,))
    harness.true(s["echo_port"] > 0, "no echo port: %r" % (s,))
    harness.true(s["refused_port"] > 0, "no refused port: %r" % (s,))
    if not board.ON_BOARD:
        harness.true(int(harness.env("WIZFI_EMU_PORT", "0")) > 0, "no emulator port")


def test_failures_are_reported():
    def test_bad():
        harness.eq(1 + 1, 3)

    def test_good():
        pass

    lines = []
    result = harness.run_tests(
        [("test_bad", test_bad), ("test_good", test_good)], out=lines.append, tracebacks=False
    )
    harness.eq(result, (1, 1))
    harness.eq(lines, ["FAIL test_bad: AssertionError: 2 != 3", "PASS test_good"])
    harness.raises(AssertionError, harness.eq, 1, 2)


harness.main(globals())
