"""Fixtures: a simulator on free ports without synthetic flow, a token, an auth WS client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect

from hftpy.sim import Simulator

from .helpers import WsClient, channel, get_token


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    async with Simulator(ports="free", synthetic_flow=False) as simulator:
        yield simulator


@pytest.fixture
async def token(sim: Simulator) -> str:
    return await get_token(sim)


@pytest.fixture
async def ws(sim: Simulator) -> AsyncIterator[WsClient]:
    client = WsClient(await connect(sim.env["HFTPY_KRAKEN_WS_AUTH_URL"]))
    await client.take(channel("status"))
    yield client
    await client.close()
