"""Fault injection on the Kraken front-end: each fault as a client sees it."""

from __future__ import annotations

import asyncio

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosedError

from hftpy.sim import Simulator

from .helpers import WsClient, channel, get_token
from .test_sim_kraken_ws import order


async def test_drop_connection_closes_without_a_close_frame(sim: Simulator) -> None:
    ws = await connect(sim.env["HFTPY_KRAKEN_WS_AUTH_URL"])
    await ws.recv()  # status
    sim.inject("kraken", "drop_connection")
    with pytest.raises(ConnectionClosedError) as caught:
        await asyncio.wait_for(ws.recv(), 2)
    assert caught.value.rcvd is None  # no close frame
    assert not sim.kraken.connections


async def test_stall_swallows_requests_but_keeps_the_socket(ws: WsClient, sim: Simulator) -> None:
    sim.inject("kraken", "stall", seconds=0.3)
    await ws.send({"method": "ping", "req_id": 77})
    with pytest.raises(TimeoutError):
        await ws.reply(77, timeout=0.5)  # past the stall: still never answered
    assert (await ws.request("ping"))["method"] == "pong"


async def test_reject_auth_invalidates_issued_tokens(
    sim: Simulator, ws: WsClient, token: str
) -> None:
    sim.inject("kraken", "reject_auth")
    reply = await ws.request("add_order", order(token))
    assert reply["error"] == "ESession:Invalid session"
    fresh = await get_token(sim)
    assert (await ws.request("add_order", order(fresh)))["success"] is True


async def test_rate_limit_rejects_the_next_requests(
    sim: Simulator, ws: WsClient, token: str
) -> None:
    sim.inject("kraken", "rate_limit", count=2)
    errors = [(await ws.request("add_order", order(token))).get("error") for _ in range(3)]
    assert errors == ["EOrder:Rate limit exceeded", "EOrder:Rate limit exceeded", None]


async def test_maintenance_until_online(sim: Simulator, ws: WsClient, token: str) -> None:
    sim.inject("kraken", "maintenance")
    _, status = await ws.take(channel("status"))
    assert status["data"][0]["system"] == "maintenance"
    assert (await ws.request("add_order", order(token)))["error"] == "EService:Unavailable"
    assert (await ws.request("cancel_all", {"token": token}))["error"] == "EService:Unavailable"
    late = WsClient(await connect(sim.env["HFTPY_KRAKEN_WS_AUTH_URL"]))
    _, status = await late.take(channel("status"))
    assert status["data"][0]["system"] == "maintenance"
    await late.close()
    sim.inject("kraken", "online")
    _, status = await ws.take(channel("status"))
    assert status["data"][0]["system"] == "online"
    assert (await ws.request("add_order", order(token)))["success"] is True


async def test_malformed_frame(sim: Simulator, ws: WsClient) -> None:
    sim.inject("kraken", "malformed_frame")
    raw, parsed = await ws.take(lambda m: m is None)
    assert raw == "CloudFlare WebSocket proxy restarting" and parsed is None
    assert (await ws.request("ping"))["method"] == "pong"  # the connection carries on


async def test_stored_faults_clear_faults_and_bad_names(sim: Simulator) -> None:
    sim.inject("kraken", "book_checksum", rate=0.01)
    sim.inject("kraken", "skip_sequence", count=2)
    assert sim.kraken.market.checksum_fault.rate == 0.01
    assert sim.kraken.skip_private.count == 2
    sim.inject("kraken", "maintenance")
    sim.inject("kraken", "stall", seconds=10)
    sim.inject("binance", "stall", seconds=10)
    sim.clear_faults()
    assert not sim.kraken.market.checksum_fault.armed and not sim.kraken.skip_private.armed
    assert not sim.binance.stalled()
    assert sim.kraken.system == "online" and not sim.kraken.stalled()
    with pytest.raises(ValueError, match="unknown kraken fault"):
        sim.inject("kraken", "explode")
    with pytest.raises(ValueError, match="no parameter"):
        sim.inject("kraken", "stall", minutes=1)
    with pytest.raises(ValueError, match="not simulated"):
        sim.inject("bitmex", "stall")
    with pytest.raises(ValueError, match="unknown upbit fault"):
        sim.inject("upbit", "skip_sequence")
    with pytest.raises(ValueError, match="unknown binance fault"):
        sim.inject("binance", "book_checksum")
