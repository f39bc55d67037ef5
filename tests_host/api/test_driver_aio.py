"""The non-blocking join and the asyncio layer (wizfi360/aio.py) on CPython against the
emulator: the same core and errors as the blocking calls, other tasks running meanwhile.
aio.open_connection needs MicroPython's asyncio streams: tests_device/test_aio.py."""

import asyncio
import errno

import pytest
from conftest import KEY, SSID

import wizfi360


def test_connect_without_blocking_returns_at_once_and_status_tells(driver):
    driver.connect(SSID, KEY, block=False)
    assert driver.status() == wizfi360.STAT_CONNECTING  # the emulator takes its time
    for _ in range(2000):
        if driver.status() != wizfi360.STAT_CONNECTING:
            break
        driver.poll()
        asyncio.run(asyncio.sleep(0.001))
    assert driver.status() == wizfi360.STAT_GOT_IP and driver.isconnected()


@pytest.mark.parametrize(
    ("ssid", "key", "err", "status"),
    [
        (SSID, "wrong-key", errno.EACCES, wizfi360.STAT_WRONG_PASSWORD),
        ("NoSuchAP", KEY, errno.ENOENT, wizfi360.STAT_NO_AP_FOUND),
    ],
)
def test_aconnect_raises_what_connect_raises(driver, ssid, key, err, status):
    with pytest.raises(OSError) as e:
        asyncio.run(driver.aconnect(ssid, key))
    assert e.value.errno == err
    assert driver.status() == status


def test_aconnect_and_aresolve_let_other_tasks_run(driver):
    beats = []

    async def beat():
        while True:
            await asyncio.sleep(0.005)
            beats.append(1)

    async def main():
        t = asyncio.create_task(beat())
        await driver.aconnect(SSID, KEY)
        joined = len(beats)
        ip = await driver.aresolve("peer.test")
        with pytest.raises(OSError) as e:
            await driver.aresolve("nowhere.invalid")
        t.cancel()
        return joined, ip, e.value.errno

    joined, ip, err = asyncio.run(main())
    assert joined > 0  # the loop ran while the module joined
    assert ip == "127.0.0.1" and err == -2
    assert driver.isconnected()
