"""Shared pytest setup: lib/ (the wizfi360 package) and tools/ are importable."""

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

for _p in (ROOT / "lib", ROOT / "tools"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))


@pytest.fixture(scope="session")
def repo_root():
    """The repository's root directory (a pathlib.Path)."""
    return ROOT
