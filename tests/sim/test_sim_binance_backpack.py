"""Binance streams + REST and Backpack WS + REST: books synced with the documented procedure,
skip_sequence gaps, control messages, payload shapes, and the common market-data faults."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosedError, InvalidStatus

from hftpy.sim import Simulator

from .md import DiffBook, first, frames


@pytest.fixture
async def live() -> AsyncIterator[Simulator]:
    async with Simulator(ports="free") as simulator:
        yield simulator


async def get(url: str) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        return resp.status, json.loads(await resp.text())


async def sync_book(
    ws: ClientConnection, snapshot_url: str, seconds: float, unwrap: bool
) -> DiffBook:
    """Buffer diffs, fetch the snapshot once one is buffered, then apply for `seconds`."""
    book = DiffBook()
    fetch: asyncio.Task[tuple[int, Any]] | None = None
    async for m in frames(ws, seconds):
        data = m["data"] if unwrap else m
        if data.get("e") not in ("depthUpdate", "depth"):
            continue
        book.on_event(data)
        if fetch is None:
            fetch = asyncio.create_task(get(snapshot_url))
        elif book.last is None and fetch.done():
            book.load(fetch.result()[1])
        assert not book.crossed()
    assert book.last is not None and book.applied > 5
    return book


def assert_matches_engine(book: DiffBook, sim: Simulator, symbol: str) -> None:
    """The synced book is the engine's over the price range it knows (the snapshot's and the
    diffs' since: levels beyond the snapshot stay unknown until they change, binance.md §2)."""
    inst = sim.engine.instrument(symbol)
    engine = sim.engine.book(symbol)

    def side(levels: Any, inside: Callable[[Decimal], bool]) -> dict[Decimal, Decimal]:
        known = {
            Decimal(p).scaleb(-inst.price_decimals): Decimal(q).scaleb(-inst.qty_decimals)
            for p, q in levels.depth(len(levels.prices))
        }
        return {p: q for p, q in known.items() if inside(p)}

    lowest_bid, highest_ask = min(book.bids), max(book.asks)
    assert book.bids == side(engine.bids, lambda p: p >= lowest_bid)
    assert book.asks == side(engine.asks, lambda p: p <= highest_ask)


async def test_binance_diff_stream_syncs_exactly(live: Simulator) -> None:
    base = live.env["HFTPY_BINANCE_STREAM_URL"]
    rest = live.env["HFTPY_BINANCE_REST_URL"]
    async with connect(f"{base}?streams=btcusdt@depth@100ms/btcusdt@trade") as ws:
        book = await sync_book(ws, f"{rest}/api/v3/depth?symbol=BTCUSDT&limit=5000", 2.0, True)
        assert book.gaps == 0
        live.inject("binance", "maintenance")  # flow pauses: let the last diff arrive
        async for m in frames(ws, 0.35):
            if m["data"].get("e") == "depthUpdate":
                book.on_event(m["data"])
        assert_matches_engine(book, live, "BTCUSDT")
        status, body = await get(f"{rest}/api/v3/depth?symbol=BTCUSDT")
        assert status == 503 and body["code"] == -1016
        live.inject("binance", "online")
        live.inject("binance", "skip_sequence", count=1)
        async for m in frames(ws, 1.0):
            if m["data"].get("e") == "depthUpdate":
                book.on_event(m["data"])
        assert book.gaps == 1


async def test_binance_payloads_and_control_messages(live: Simulator) -> None:
    base = live.env["HFTPY_BINANCE_STREAM_URL"].removesuffix("/stream")
    async with connect(f"{base}/ws/ethusdt@bookTicker") as ws:
        ticker = await first(ws, lambda m: "u" in m)
        assert set(ticker) == {"u", "s", "b", "B", "a", "A"} and ticker["s"] == "ETHUSDT"
        assert Decimal(ticker["b"]) < Decimal(ticker["a"]) and len(ticker["b"].split(".")[1]) == 8
        await ws.send(
            json.dumps(
                {"method": "SUBSCRIBE", "params": ["ethusdt@trade", "ethusdt@depth5"], "id": 1}
            )
        )
        assert await first(ws, lambda m: m.get("id") == 1) == {"result": None, "id": 1}
        await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}))
        listed = await first(ws, lambda m: m.get("id") == 2)
        assert listed["result"] == ["ethusdt@bookTicker", "ethusdt@trade", "ethusdt@depth5"]
        trade = await first(ws, lambda m: m.get("e") == "trade")
        assert set(trade) == {"e", "E", "s", "t", "p", "q", "T", "m", "M"}
        partial = await first(ws, lambda m: "lastUpdateId" in m, timeout=2.5)
        assert len(partial["bids"]) == 5 and len(partial["asks"]) == 5
        await ws.send(json.dumps({"method": "UNSUBSCRIBE", "params": ["ethusdt@trade"], "id": 3}))
        await first(ws, lambda m: m.get("id") == 3)
        await ws.send(json.dumps({"method": "GET_PROPERTY", "params": ["combined"], "id": 4}))
        assert (await first(ws, lambda m: m.get("id") == 4))["result"] is False
        await ws.send(json.dumps({"method": "FROB", "id": 5}))
        error = await first(ws, lambda m: m.get("id") == 5)
        assert error["code"] == 2 and "unknown variant" in error["msg"]
        await ws.send("{nope")
        assert (await first(ws, lambda m: "code" in m and "id" not in m))["code"] == 3
    async with connect(f"{base}/stream") as ws:
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 9}))
        agg = await first(ws, lambda m: m.get("stream") == "btcusdt@aggTrade")
        assert agg["data"]["e"] == "aggTrade" and agg["data"]["f"] <= agg["data"]["l"]
    rest = live.env["HFTPY_BINANCE_REST_URL"]
    status, info = await get(f"{rest}/api/v3/exchangeInfo?symbol=BTCUSDT")
    filters = {f["filterType"]: f for f in info["symbols"][0]["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert filters["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert (await get(f"{rest}/api/v3/ping"))[1] == {}
    assert isinstance((await get(f"{rest}/api/v3/time"))[1]["serverTime"], int)
    status, error = await get(f"{rest}/api/v3/depth?symbol=NOPE")
    assert status == 400 and error == {"code": -1121, "msg": "Invalid symbol."}
    with pytest.raises(InvalidStatus):  # the WS API (binance/api.py) serves /ws-api/v3 only
        await connect(live.env["HFTPY_BINANCE_WS_API_URL"].replace("/v3", "/v2"))


async def test_backpack_depth_syncs_and_skip_sequence(live: Simulator) -> None:
    url = live.env["HFTPY_BACKPACK_WS_URL"]
    rest = live.env["HFTPY_BACKPACK_REST_URL"]
    async with connect(url) as ws:
        streams = ["depth.SOL_USDC", "trade.SOL_USDC", "bookTicker.SOL_USDC", "ticker.SOL_USDC"]
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": streams}))
        book = await sync_book(ws, f"{rest}/api/v1/depth?symbol=SOL_USDC", 1.5, True)
        assert book.gaps == 0
        live.inject("backpack", "skip_sequence", count=1)
        kinds: dict[str, dict[str, Any]] = {}
        async for m in frames(ws, 1.2):
            kinds[m["stream"].split(".")[0]] = m["data"]
            if m["data"]["e"] == "depth":
                book.on_event(m["data"])
        assert book.gaps == 1
        assert set(kinds) == {"depth", "trade", "bookTicker", "ticker"}
        trade = kinds["trade"]
        assert set(trade) == {"e", "E", "s", "p", "q", "b", "a", "t", "T", "m"}
        assert trade["E"] > 10**15  # microseconds
        assert isinstance(kinds["bookTicker"]["u"], str)
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["depth.NOPE"], "id": 4}))
        error = await first(ws, lambda m: "error" in m)
        assert error == {"id": 4, "error": {"code": 4006, "message": "Invalid stream"}}
    status, depth = await get(f"{rest}/api/v1/depth?symbol=SOL_USDC")
    assert status == 200
    assert isinstance(depth["lastUpdateId"], str)
    assert [Decimal(p) for p, _ in depth["bids"]] == sorted(Decimal(p) for p, _ in depth["bids"])
    _, markets = await get(f"{rest}/api/v1/markets")
    sol = next(m for m in markets if m["symbol"] == "SOL_USDC")
    assert sol["filters"]["price"]["tickSize"] == "0.01"
    assert isinstance((await get(f"{rest}/api/v1/time"))[1], int)


async def test_common_faults_on_market_data(live: Simulator) -> None:
    url = live.env["HFTPY_BACKPACK_WS_URL"]
    async with connect(url) as ws:
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["depth.BTC_USDC"]}))
        book = await sync_book(
            ws, f"{live.env['HFTPY_BACKPACK_REST_URL']}/api/v1/depth?symbol=BTC_USDC", 1.0, True
        )
        stalled_us = time.time_ns() // 1000
        live.inject("backpack", "stall", seconds=0.5)
        quiet = [m async for m in frames(ws, 0.4)]
        # Only frames already on their way when the stall began (a loaded machine reads late).
        assert all(m["data"]["E"] <= stalled_us for m in quiet), quiet
        for m in quiet:
            book.on_event(m["data"])
        applied = book.applied
        async for m in frames(ws, 1.0):  # held frames arrive afterwards, in order
            book.on_event(m["data"])
        assert book.gaps == 0 and book.applied > applied
        live.inject("backpack", "malformed_frame")
        raw = await ws.recv()
        while str(raw).startswith('{"stream"'):
            raw = await ws.recv()
        assert "502 Bad Gateway" in str(raw)
        live.inject("backpack", "drop_connection")
        with pytest.raises(ConnectionClosedError):
            while True:
                await asyncio.wait_for(ws.recv(), 2)
    live.inject("upbit", "maintenance")
    with pytest.raises(InvalidStatus):
        await connect(live.env["HFTPY_UPBIT_WS_URL"])
    live.clear_faults()
    async with connect(live.env["HFTPY_UPBIT_WS_URL"]):
        pass
