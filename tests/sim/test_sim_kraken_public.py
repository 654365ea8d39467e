"""Kraken WS v2 public channels: books verified with an independent checksum, trade, ticker,
instrument, status, heartbeat, errors, the book_checksum fault, and python-kraken-sdk's book."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from hftpy.sim import Simulator

from .md import first, frames, kraken_apply, kraken_checksum

PRECISION = {"BTC/USD": (1, 8), "ETH/USD": (2, 8), "EUR/USD": (5, 8)}


@pytest.fixture
async def live() -> AsyncIterator[Simulator]:
    async with Simulator(ports="free") as simulator:
        yield simulator


async def public(sim: Simulator) -> ClientConnection:
    ws = await connect(sim.env["HFTPY_KRAKEN_WS_URL"])
    status = json.loads(await ws.recv())
    assert status["channel"] == "status" and status["data"][0]["system"] == "online"
    return ws


async def subscribe(ws: ClientConnection, params: dict[str, Any], req_id: int = 1) -> None:
    await ws.send(json.dumps({"method": "subscribe", "params": params, "req_id": req_id}))


Books = dict[str, dict[str, dict[Decimal, Decimal]]]


async def verify_books(
    ws: ClientConnection, depth: int, seconds: float, books: Books | None = None
) -> tuple[int, int]:
    """(messages, checksum mismatches) over `seconds` of book traffic."""
    books = {} if books is None else books
    messages = mismatches = 0
    async for m in frames(ws, seconds):
        if m.get("channel") != "book":
            continue
        item = m["data"][0]
        symbol = item["symbol"]
        if m["type"] == "snapshot":
            books[symbol] = {"bids": {}, "asks": {}}
        book = books[symbol]
        kraken_apply(book, item, depth)
        assert len(book["bids"]) <= depth and len(book["asks"]) <= depth
        if book["bids"] and book["asks"]:
            assert max(book["bids"]) < min(book["asks"])
        messages += 1
        if kraken_checksum(book, *PRECISION[symbol]) != item["checksum"]:
            mismatches += 1
    return messages, mismatches


async def test_books_verify_at_depth_10_and_25(live: Simulator) -> None:
    symbols = list(PRECISION)
    ten, twenty_five = await public(live), await public(live)
    await subscribe(ten, {"channel": "book", "symbol": symbols, "depth": 10})
    await subscribe(twenty_five, {"channel": "book", "symbol": symbols, "depth": 25})
    results = await asyncio.gather(verify_books(ten, 10, 5.0), verify_books(twenty_five, 25, 5.0))
    for messages, mismatches in results:
        assert mismatches == 0
        assert messages > 3 * 5 * 10  # every symbol updates many times a second
    await ten.close()
    await twenty_five.close()


async def test_book_wire_format_and_acks(live: Simulator) -> None:
    ws = await public(live)
    await subscribe(ws, {"channel": "book", "symbol": ["BTC/USD", "DOGE/USD"], "depth": 10}, 7)
    seen = [m async for m in frames(ws, 1.0)]
    acks = [m for m in seen if m.get("method") == "subscribe"]
    m = next(m for m in seen if m.get("channel") == "book" and m["type"] == "snapshot")
    ok = next(a for a in acks if a["success"])
    assert ok["result"] == {"channel": "book", "depth": 10, "snapshot": True, "symbol": "BTC/USD"}
    assert ok["req_id"] == 7
    bad = next(a for a in acks if not a["success"])
    assert "DOGE/USD" in bad["error"]
    item = m["data"][0]
    assert len(item["bids"]) == 10 and len(item["asks"]) == 10
    assert isinstance(item["checksum"], int) and "timestamp" in item
    async with connect(live.env["HFTPY_KRAKEN_WS_URL"]) as raw_ws:
        await raw_ws.recv()
        await subscribe(raw_ws, {"channel": "book", "symbol": ["BTC/USD"]})
        while '"type":"snapshot"' not in (text := str(await raw_ws.recv())):
            pass
        price = text.split('"price":', 1)[1].split(",", 1)[0]
        qty = text.split('"qty":', 1)[1].split("}", 1)[0]
        assert len(price.split(".")[1]) == 1 and len(qty.split(".")[1]) == 8  # fixed precision
    await subscribe(ws, {"channel": "book", "symbol": ["ETH/USD"], "depth": 42}, 8)
    reply = await first(ws, lambda x: x.get("req_id") == 8)
    assert reply["success"] is False and reply["error"] == "Subscription depth not supported"
    await subscribe(ws, {"channel": "book", "symbol": ["BTC/USD"]}, 9)
    again = await first(ws, lambda x: x.get("req_id") == 9)
    assert again["error"] == "Already subscribed"
    await ws.send(
        json.dumps({"method": "unsubscribe", "params": {"channel": "book", "symbol": ["BTC/USD"]}})
    )
    gone = await first(ws, lambda x: x.get("method") == "unsubscribe")
    assert gone["success"] and gone["result"]["symbol"] == "BTC/USD"
    await ws.close()


async def test_book_checksum_fault_hits_exactly_count_messages(live: Simulator) -> None:
    ws = await public(live)
    live.inject("kraken", "book_checksum", count=3)
    await subscribe(ws, {"channel": "book", "symbol": ["BTC/USD"], "depth": 10})
    books: Books = {}
    messages, mismatches = await verify_books(ws, 10, 2.0, books)
    assert mismatches == 3 and messages > 20  # the book itself stays valid
    live.inject("kraken", "book_checksum", rate=0.25)
    messages, mismatches = await verify_books(ws, 10, 1.0, books)
    assert mismatches == messages // 4
    await ws.close()


async def test_trade_ticker_instrument_and_heartbeat(live: Simulator) -> None:
    ws = await public(live)
    await asyncio.sleep(0.5)  # some trades for the snapshot
    await subscribe(ws, {"channel": "trade", "symbol": ["BTC/USD"], "snapshot": True}, 1)
    await subscribe(ws, {"channel": "ticker", "symbol": ["EUR/USD"], "event_trigger": "bbo"}, 2)
    await subscribe(ws, {"channel": "instrument"}, 3)
    seen: dict[str, list[dict[str, Any]]] = {}
    async for m in frames(ws, 1.3):
        key = m.get("channel") or m.get("method")
        seen.setdefault(f"{key}:{m.get('type', '')}", []).append(m)
    snapshot = seen["trade:snapshot"][0]["data"]
    assert snapshot and set(snapshot[0]) == {
        "symbol",
        "side",
        "price",
        "qty",
        "ord_type",
        "trade_id",
        "timestamp",
    }
    updates = [t for m in seen["trade:update"] for t in m["data"]]
    ids = [t["trade_id"] for t in snapshot + updates]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert len(updates) >= 5
    ticker = seen["ticker:update"][0]["data"][0]
    assert ticker["symbol"] == "EUR/USD" and ticker["bid"] < ticker["ask"]
    assert {"last", "volume", "vwap", "low", "high", "change", "change_pct"} <= set(ticker)
    acks = {a["result"]["channel"]: a["result"] for a in seen["subscribe:"]}
    assert acks["ticker"]["event_trigger"] == "bbo" and acks["trade"]["symbol"] == "BTC/USD"
    assert acks["instrument"]["warnings"]
    instrument = seen["instrument:snapshot"][0]["data"]
    assert isinstance(instrument, dict)
    btc = next(p for p in instrument["pairs"] if p["symbol"] == "BTC/USD")
    assert (btc["price_precision"], btc["qty_precision"]) == (1, 8)
    assert btc["price_increment"] == Decimal("0.1") and btc["qty_min"] == Decimal("0.0001")
    assert btc["cost_min"] == Decimal("0.5") and btc["qty_increment"] == Decimal("1E-8")
    await ws.close()

    quiet = Simulator(ports="free", synthetic_flow=False)
    async with quiet:
        ws = await public(quiet)
        await subscribe(ws, {"channel": "trade", "symbol": ["BTC/USD"], "snapshot": False})
        await first(ws, lambda m: m == {"channel": "heartbeat"}, timeout=2.5)
        await ws.close()


async def test_private_channels_are_refused_on_the_public_host(live: Simulator) -> None:
    ws = await public(live)
    await subscribe(ws, {"channel": "executions", "token": "x"}, 5)
    reply = await first(ws, lambda m: m.get("req_id") == 5)
    assert reply["error"] == (
        "Private data and trading are unavailable on this endpoint. Try ws-auth.kraken.com"
    )
    await ws.close()


def test_python_kraken_sdk_order_book_stays_valid() -> None:
    """The SDK fetches precisions with blocking `requests` from inside its event loop, so the
    simulator runs on a loop of its own in a thread here."""
    from kraken.spot import Market, SpotOrderBookClient

    ready = threading.Event()
    done = threading.Event()
    env: dict[str, str] = {}

    async def serve() -> None:
        async with Simulator(ports="free") as sim:
            env.update(sim.env)
            ready.set()
            while not done.is_set():
                await asyncio.sleep(0.05)

    server = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    server.start()
    assert ready.wait(10)
    updates: list[dict[str, Any]] = []

    class SimBook(SpotOrderBookClient):  # type: ignore[misc]
        WS_URL = env["HFTPY_KRAKEN_WS_URL"].removesuffix("/v2")  # the SDK appends /v2

        async def on_book_update(self, pair: str, message: dict[str, Any]) -> None:
            updates.append(message)

    async def client() -> dict[str, Any] | None:
        book = SimBook(depth=10)
        book._SpotOrderBookClient__market = Market(url=env["HFTPY_KRAKEN_REST_URL"])
        await book.start()
        try:
            await book.add_book(pairs=["BTC/USD", "EUR/USD"])
            await asyncio.sleep(2.5)
            result: dict[str, Any] | None = book.get("BTC/USD")
            return result
        finally:
            await book.close()

    try:
        btc = asyncio.run(client())
    finally:
        done.set()
        server.join(10)
    errors = [u for u in updates if "error" in u]
    assert not errors, errors[:1]
    assert len(updates) > 20
    assert btc is not None and btc["valid"] and len(btc["bid"]) == 10
