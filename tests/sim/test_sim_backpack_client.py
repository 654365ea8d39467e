"""Conformance: ccxt's `backpack` (REST) and `ccxt.pro`'s (WebSocket), a widely used
third-party Backpack client, against the simulator (issue 11).

The client gets nothing but the simulator's base URLs (its whole `urls['api']` replaced, so no
call can leave loopback) and the demo keys from `sim.env`, with its own pacing off. It signs
(Ed25519 over its own sorted, url-encoded text), encodes and parses with its own code, so this
checks the simulator against what a real client sends, not against hftpy's client.

Exercised:
- Public REST: `load_markets` (which also asks `/api/v1/assets` and `/api/v1/securities`),
  `fetch_order_book` (default depth and `limit=5`), `fetch_ticker`, `fetch_tickers`,
  `fetch_status`.
- Private REST: `fetch_balance`; `create_order` (limit with `clientOrderId` and `postOnly`,
  market), `fetch_open_orders`, `fetch_open_order`, `fetch_order` (order history),
  `cancel_order`, `fetch_orders` (order history), `fetch_my_trades` (fill history),
  `create_orders` (the batch, signed as one chunk per order) and `cancel_all_orders`.
- WebSocket: `watch_order_book` (ccxt buffers `depth.<sym>` diffs, then syncs them on its own
  REST snapshot), `watch_trades`, `watch_ticker`, `watch_bids_asks` (`bookTicker`) and
  `watch_orders` (the signed `account.orderUpdate` subscribe, with and without a symbol).

Not exercised, and why: `fetch_time` (ccxt reads the bare-number body of `/api/v1/time` as a
string and returns its first digit, against Backpack too); `fetch_trades`, `fetch_ohlcv`,
funding, positions, deposits, withdrawals, borrow/lend and RFQ / stock calls (the simulator has
no such endpoints: it is a spot venue without recent-trade history or candles); market orders
by cost (`quoteQuantity`, which the engine does not simulate); `watch_balance` and
`watch_positions` (spot accounts hold no positions; no balance stream is simulated).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import ccxt.async_support as ccxt
import ccxt.pro as ccxtpro
import pytest
import pytest_asyncio

from hftpy.sim import Simulator

pytestmark = pytest.mark.asyncio(loop_scope="module")

SYMBOL = "SOL/USDC"
FAR_BELOW = 100  # a bid this low never fills against the synthetic flow around 150


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live() -> AsyncIterator[Simulator]:
    async with Simulator(ports="free") as simulator:  # synthetic flow: deep, moving books
        yield simulator


async def subscribed(sim: Simulator, count: int) -> None:
    """Until the simulator has accepted `count` signed subscribes (Backpack sends no ack)."""
    while len(sim.backpack.subscribe_log) < count:
        await asyncio.sleep(0.01)


def configure(exchange: Any, sim: Simulator) -> Any:
    """The simulator's base URLs in place of every one ccxt knows."""
    env = sim.env
    rest, ws = env["HFTPY_BACKPACK_REST_URL"], env["HFTPY_BACKPACK_WS_URL"]
    exchange.urls["api"] = {"public": rest, "private": rest, "ws": {"public": ws, "private": ws}}
    return exchange


def credentials(sim: Simulator) -> dict[str, Any]:
    env = sim.env
    return {
        "apiKey": env["HFTPY_BACKPACK_API_KEY"],
        "secret": env["HFTPY_BACKPACK_API_SECRET"],
        "enableRateLimit": False,  # ccxt's own pacing; the simulator has its own
    }


@pytest_asyncio.fixture(loop_scope="module")
async def backpack(live: Simulator) -> AsyncIterator[Any]:
    exchange = configure(ccxt.backpack(credentials(live)), live)
    yield exchange
    await exchange.close()


async def test_ccxt_backpack_public(backpack: Any) -> None:
    markets = await backpack.load_markets()
    assert sorted(markets) == ["BTC/USDC", "SOL/USDC"]
    sol = markets[SYMBOL]
    assert (sol["id"], sol["spot"], sol["active"]) == ("SOL_USDC", True, True)
    assert sol["precision"] == {"amount": 0.01, "price": 0.01}
    assert sol["limits"]["amount"]["min"] == 0.01
    assert {"SOL", "USDC", "BTC"} <= set(backpack.currencies)

    book = await backpack.fetch_order_book(SYMBOL)
    assert book["bids"] and book["asks"] and book["bids"][0][0] < book["asks"][0][0]
    assert book["bids"] == sorted(book["bids"], reverse=True)
    assert isinstance(book["nonce"], int) and book["timestamp"] > 0
    top = await backpack.fetch_order_book(SYMBOL, 5)
    assert len(top["bids"]) == 5 and len(top["asks"]) == 5

    ticker = await backpack.fetch_ticker(SYMBOL)
    assert ticker["symbol"] == SYMBOL and ticker["low"] <= ticker["last"] <= ticker["high"]
    assert ticker["open"] > 0 and ticker["baseVolume"] >= 0
    tickers = await backpack.fetch_tickers()
    assert sorted(tickers) == ["BTC/USDC", "SOL/USDC"]
    assert (await backpack.fetch_status())["status"] == "ok"


async def test_ccxt_backpack_private(backpack: Any) -> None:
    before = await backpack.fetch_balance()
    assert before["USDC"]["free"] == 10_000_000 and before["SOL"]["total"] == 100_000

    order = await backpack.create_order(
        SYMBOL, "limit", "buy", 1.5, FAR_BELOW, {"clientOrderId": 4242, "postOnly": True}
    )
    assert order["status"] == "open" and order["clientOrderId"] == "4242"
    assert (order["price"], order["amount"], order["postOnly"]) == (FAR_BELOW, 1.5, True)
    opened = await backpack.fetch_open_orders(SYMBOL)
    assert [o["id"] for o in opened] == [order["id"]]
    assert (await backpack.fetch_open_order(order["id"], SYMBOL))["status"] == "open"
    fetched = await backpack.fetch_order(order["id"], SYMBOL)
    assert fetched["id"] == order["id"] and fetched["status"] == "open"
    assert (await backpack.fetch_balance())["USDC"]["used"] == 150

    cancelled = await backpack.cancel_order(order["id"], SYMBOL)
    assert cancelled["status"] == "canceled"
    assert await backpack.fetch_open_orders(SYMBOL) == []
    history = await backpack.fetch_orders(SYMBOL)
    assert [o["status"] for o in history if o["id"] == order["id"]] == ["canceled"]

    bought = await backpack.create_order(SYMBOL, "market", "buy", 0.5)
    assert bought["status"] == "closed" and bought["filled"] == 0.5
    trades = await backpack.fetch_my_trades(SYMBOL)
    mine = [t for t in trades if t["order"] == bought["id"]]
    assert sum(t["amount"] for t in mine) == pytest.approx(0.5)
    assert all(t["side"] == "buy" and t["takerOrMaker"] == "taker" for t in mine)
    assert (await backpack.fetch_balance())["SOL"]["total"] == pytest.approx(100_000.5)

    batch = await backpack.create_orders(
        [
            {"symbol": SYMBOL, "type": "limit", "side": "buy", "amount": 1, "price": FAR_BELOW},
            {"symbol": SYMBOL, "type": "limit", "side": "sell", "amount": 1, "price": 1000},
        ]
    )
    assert [o["status"] for o in batch] == ["open", "open"]
    gone = await backpack.cancel_all_orders(SYMBOL)
    assert sorted(o["id"] for o in gone) == sorted(o["id"] for o in batch)
    assert await backpack.fetch_open_orders(SYMBOL) == []


async def test_ccxt_pro_backpack_streams(live: Simulator) -> None:
    pro = configure(ccxtpro.backpack(credentials(live)), live)
    try:
        book = await asyncio.wait_for(pro.watch_order_book(SYMBOL), 10)
        book = await asyncio.wait_for(pro.watch_order_book(SYMBOL), 10)  # a diff on the snapshot
        assert book["nonce"] > 0 and book["bids"][0][0] < book["asks"][0][0]
        trades = await asyncio.wait_for(pro.watch_trades(SYMBOL), 10)
        assert trades and all(t["symbol"] == SYMBOL and t["price"] > 0 for t in trades)
        ticker = await asyncio.wait_for(pro.watch_ticker(SYMBOL), 10)
        assert ticker["symbol"] == SYMBOL and ticker["last"] > 0
        quotes = await asyncio.wait_for(pro.watch_bids_asks([SYMBOL]), 10)
        assert quotes[SYMBOL]["bid"] < quotes[SYMBOL]["ask"]

        # the signed private subscribe: the update of an order placed after it
        accepted = len(live.backpack.subscribe_log)
        watching = asyncio.ensure_future(pro.watch_orders(SYMBOL))
        await asyncio.wait_for(subscribed(live, accepted + 1), 10)
        order = await pro.create_order(SYMBOL, "limit", "buy", 1, FAR_BELOW)
        updates = await asyncio.wait_for(watching, 10)
        assert [(u["id"], u["status"]) for u in updates] == [(order["id"], "open")]
        watching = asyncio.ensure_future(pro.watch_orders())  # every market: no symbol
        await asyncio.wait_for(subscribed(live, accepted + 2), 10)
        await pro.cancel_order(order["id"], SYMBOL)
        updates = await asyncio.wait_for(watching, 10)
        assert (updates[-1]["id"], updates[-1]["status"]) == (order["id"], "canceled")
    finally:
        await pro.close()
