"""Shared fixtures: a fresh embedded simulator per test on free loopback ports, and API
objects pointed at it through explicit arguments (never the process environment)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from hftpy.exchange import close_all

HFTPY_VARS = [name for name in os.environ if name.startswith("HFTPY_")]


@pytest.fixture(autouse=True)
def _clean_hftpy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests must not depend on a developer's HFTPY_* variables."""
    for name in HFTPY_VARS:
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(autouse=True)
async def _forget_apis() -> AsyncIterator[None]:
    yield
    await close_all()
