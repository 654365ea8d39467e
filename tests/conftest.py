"""Shared fixtures: a fresh embedded simulator per test on free loopback ports, and API
objects pointed at it through explicit arguments (never the process environment)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from hftpy.exchange import close_all
from hftpy.exchange.kraken.limits import reset_kraken_limits
from hftpy.exchange.rest_orders import reset_limiters
from hftpy.sim import Simulator

HFTPY_VARS = [name for name in os.environ if name.startswith("HFTPY_")]


@pytest.fixture(autouse=True)
def _clean_hftpy_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests must not depend on a developer's HFTPY_* variables."""
    for name in HFTPY_VARS:
        monkeypatch.delenv(name, raising=False)
    yield


@pytest.fixture(autouse=True)
async def _forget_apis() -> AsyncIterator[None]:
    # Rate limits are process-wide, as in production; each test's simulator starts its
    # counters from zero, so the local ones must too.
    reset_kraken_limits()
    reset_limiters()
    yield
    await close_all()


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """A fresh simulator on free ports, without synthetic flow (tests place their own orders)."""
    async with Simulator(ports="free", synthetic_flow=False) as simulator:
        yield simulator
