"""WizFi360's less used methods live in modules loaded on first use (WizFi360.__getattr__)."""

import subprocess
import sys

import pytest

import wizfi360

LAZY = {
    "station_info": ("ifconfig", "scan", "config"),
    "services": ("ping", "ntp", "time", "set_uart"),
    "softap": ("softap",),
}


def test_import_loads_none_of_them(repo_root):
    code = (
        "import sys, wizfi360\n"
        "from wizfi360 import socket\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('wizfi360.'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=repo_root / "lib", capture_output=True, text=True, check=True
    ).stdout.split()
    for module in LAZY:
        assert "wizfi360." + module not in out


def test_each_is_an_ordinary_method_once_asked_for(driver):
    for module, names in LAZY.items():
        for name in names:
            method = getattr(driver, name)
            assert method.__self__ is driver
            assert method.__func__ is getattr(sys.modules["wizfi360." + module], name)
            assert getattr(wizfi360.WizFi360, name) is method.__func__  # added to the class
    assert driver.config("mac") and driver.scan() is not None


def test_other_names_are_attribute_errors(driver):
    with pytest.raises(AttributeError):
        driver.no_such_method  # noqa: B018
    assert getattr(driver, "_baud", 115200) == 115200
    assert not hasattr(driver, "connects")
