"""Kraken fidelity, as real clients hit it (issue 11): the public REST endpoints a client loads
at start (`Assets`, `AssetPairs`, `Ticker`, `Depth`, `SystemStatus`, `Time`) in Kraken's shapes,
and a book deep enough that every documented WS depth (10, 25, 100, 500, 1000) is served full,
each message's checksum verified by an independent CRC32 (reference/kraken.md §2)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from websockets.asyncio.client import ClientConnection, connect

from hftpy.sim import Simulator

from .md import frames, kraken_apply, kraken_checksum

DEPTHS = (10, 25, 100, 500, 1000)
PRECISION = {"BTC/USD": (1, 8), "EUR/USD": (5, 8)}


# One simulator with synthetic flow (and its deep book) for the whole module.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live() -> AsyncIterator[Simulator]:
    async with Simulator(ports="free") as simulator:
        yield simulator


async def get(sim: Simulator, path: str) -> dict[str, Any]:
    url = sim.env["HFTPY_KRAKEN_REST_URL"] + path
    async with aiohttp.ClientSession() as http, http.get(url) as resp:
        assert resp.status == 200  # Kraken answers errors with 200 too
        body: dict[str, Any] = json.loads(await resp.text(), parse_float=Decimal)
        return body


async def test_assets(live: Simulator) -> None:
    every = await get(live, "/0/public/Assets")
    assert every["error"] == [] and sorted(every["result"]) == ["XETH", "XXBT", "ZEUR", "ZUSD"]
    assert every["result"]["XXBT"] == {
        "aclass": "currency",
        "altname": "XBT",
        "decimals": 10,
        "display_decimals": 5,
        "collateral_value": Decimal("0.95"),
        "status": "enabled",
    }
    assert every["result"]["ZUSD"]["decimals"] == 4
    assert every["result"]["ZUSD"]["display_decimals"] == 2
    some = await get(live, "/0/public/Assets?asset=XBT,ZUSD")
    assert sorted(some["result"]) == ["XXBT", "ZUSD"]
    assert await get(live, "/0/public/Assets?asset=DOGE") == {"error": ["EQuery:Unknown asset"]}


async def test_asset_pairs_time_and_status(live: Simulator) -> None:
    pairs = await get(live, "/0/public/AssetPairs")
    btc = pairs["result"]["XXBTZUSD"]
    assert btc["altname"] == "XBTUSD" and btc["wsname"] == "XBT/USD"
    assert (btc["base"], btc["quote"], btc["pair_decimals"], btc["lot_decimals"]) == (
        "XXBT",
        "ZUSD",
        1,
        8,
    )
    assert btc["ordermin"] == "0.0001" and btc["status"] == "online"
    assert await get(live, "/0/public/AssetPairs?pair=DOGEUSD") == {
        "error": ["EQuery:Unknown asset pair"]
    }
    clock = (await get(live, "/0/public/Time"))["result"]
    assert isinstance(clock["unixtime"], int)
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d\d \d\d:\d\d:\d\d \+0000", clock["rfc1123"])
    status = (await get(live, "/0/public/SystemStatus"))["result"]
    assert status["status"] == "online"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", status["timestamp"])


async def test_ticker(live: Simulator) -> None:
    body = await get(live, "/0/public/Ticker?pair=XBTUSD")
    ticker = body["result"]["XXBTZUSD"]
    assert sorted(ticker) == ["a", "b", "c", "h", "l", "o", "p", "t", "v"]
    ask, bid = ticker["a"], ticker["b"]
    assert len(ask) == 3 and len(bid) == 3 and len(ticker["c"]) == 2
    assert Decimal(bid[0]) < Decimal(ask[0])
    assert re.fullmatch(r"\d+\.\d", ask[0]) and re.fullmatch(r"\d+", ask[1])  # price, whole lots
    assert re.fullmatch(r"\d+\.\d{3}", ask[2])  # lot volume
    for key in ("v", "p", "l", "h"):
        assert len(ticker[key]) == 2 and all(isinstance(x, str) for x in ticker[key])
    assert all(isinstance(n, int) for n in ticker["t"]) and isinstance(ticker["o"], str)
    every = await get(live, "/0/public/Ticker")
    assert sorted(every["result"]) == ["XETHZUSD", "XXBTZUSD", "ZEURZUSD"]
    assert await get(live, "/0/public/Ticker?pair=DOGEUSD") == {
        "error": ["EQuery:Unknown asset pair"]
    }


async def test_depth(live: Simulator) -> None:
    default = (await get(live, "/0/public/Depth?pair=XBTUSD"))["result"]["XXBTZUSD"]
    assert len(default["bids"]) == 100 and len(default["asks"]) == 100
    deep = (await get(live, "/0/public/Depth?pair=XBTUSD&count=500"))["result"]["XXBTZUSD"]
    bids, asks = deep["bids"], deep["asks"]
    assert len(bids) == 500 and len(asks) == 500
    price, volume, stamp = asks[0]
    assert isinstance(price, str) and isinstance(volume, str) and isinstance(stamp, int)
    assert re.fullmatch(r"\d+\.\d", price) and re.fullmatch(r"\d+\.\d{8}", volume)
    bid_prices = [Decimal(b[0]) for b in bids]
    ask_prices = [Decimal(a[0]) for a in asks]
    assert bid_prices == sorted(bid_prices, reverse=True) and ask_prices == sorted(ask_prices)
    assert bid_prices[0] < ask_prices[0]
    slash = await get(live, "/0/public/Depth?pair=XBT/USD&count=5")
    assert len(slash["result"]["XBT/USD"]["asks"]) == 5
    assert (await get(live, "/0/public/Depth"))["error"] == ["EGeneral:Invalid arguments:pair"]


async def _book_at(sim: Simulator, depth: int, seconds: float) -> tuple[int, int, int]:
    """(snapshot levels a side, update messages, checksum mismatches) of a `depth` book."""
    ws: ClientConnection = await connect(sim.env["HFTPY_KRAKEN_WS_URL"])
    params = {"channel": "book", "symbol": list(PRECISION), "depth": depth}
    await ws.send(json.dumps({"method": "subscribe", "params": params, "req_id": depth}))
    books: dict[str, dict[str, dict[Decimal, Decimal]]] = {}
    snapshot_levels = depth * 2
    updates = mismatches = 0
    async for m in frames(ws, seconds):
        if m.get("channel") != "book":
            continue
        item = m["data"][0]
        symbol = item["symbol"]
        if m["type"] == "snapshot":
            snapshot_levels = min(snapshot_levels, len(item["bids"]), len(item["asks"]))
            books[symbol] = {"bids": {}, "asks": {}}
        else:
            updates += 1
        book = books[symbol]
        kraken_apply(book, item, depth)
        if kraken_checksum(book, *PRECISION[symbol]) != item["checksum"]:
            mismatches += 1
        assert len(book["bids"]) == depth and len(book["asks"]) == depth  # always full
    await ws.close()
    assert sorted(books) == sorted(PRECISION)
    return snapshot_levels, updates, mismatches


async def test_every_documented_depth_is_full_with_valid_checksums(live: Simulator) -> None:
    results = await asyncio.gather(*(_book_at(live, depth, 1.5) for depth in DEPTHS))
    for depth, (levels, updates, mismatches) in zip(DEPTHS, results, strict=True):
        assert levels == depth, f"depth {depth}: snapshot has {levels} levels a side"
        assert mismatches == 0, f"depth {depth}: {mismatches} checksum mismatches"
        assert updates > 10, f"depth {depth}: only {updates} updates"
