"""Conformance: ccxt, a widely used third-party client, against the simulator (issue 11).

Each ccxt exchange is configured with nothing but the simulator's base URLs (its whole
`urls['api']` replaced, so no call can leave loopback) and the demo keys from `sim.env`, with
ccxt's client-side pacing off (the simulator enforces the venues' limits itself). ccxt
signs, encodes and parses with its own code, so this checks the simulator against what real
clients send, not against hftpy's client.

- Kraken: load_markets (Assets + AssetPairs), fetch_order_book at Depth's maximum, fetch_ticker,
  fetch_status, fetch_time; fetch_open_orders and fetch_order (REST OpenOrders / QueryOrders)
  on an order placed over WS v2; then ccxt's own trading, all over REST: create_order (limit
  and market: AddOrder), edit_order (AmendOrder), cancel_order (CancelOrder, and its
  OrderNotFound), fetch_balance (BalanceEx), fetch_open_orders, fetch_order, and the
  InsufficientFunds of an order too big.
- Binance: load_markets, fetch_order_book(limit=5000), create_order (limit and market),
  fetch_order, fetch_open_orders, cancel_order, fetch_balance, fetch_my_trades, all over the
  REST endpoints. Options limit ccxt to spot (no futures exchangeInfo, no wallet `sapi` calls:
  the simulator is a spot venue).
- Upbit: load_markets, fetch_order_book, create_order, fetch_order, fetch_open_orders,
  cancel_order, fetch_balance.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import ccxt.async_support as ccxt
import pytest
import pytest_asyncio
from websockets.asyncio.client import connect

from hftpy.sim import Simulator

from .helpers import WsClient, channel

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def live() -> AsyncIterator[Simulator]:
    async with Simulator(ports="free") as simulator:  # synthetic flow: deep, moving books
        yield simulator


def _kraken(env: dict[str, str]) -> ccxt.kraken:
    rest = env["HFTPY_KRAKEN_REST_URL"]
    kraken = ccxt.kraken(
        {
            "apiKey": env["HFTPY_KRAKEN_API_KEY"],
            "secret": env["HFTPY_KRAKEN_API_SECRET"],
            "enableRateLimit": False,  # ccxt's own pacing (1 s a call); the simulator has its own
        }
    )
    kraken.urls["api"] = {"public": rest, "private": rest}
    return kraken


async def test_ccxt_kraken(live: Simulator) -> None:
    env = live.env
    kraken = _kraken(env)
    ws = WsClient(await connect(env["HFTPY_KRAKEN_WS_AUTH_URL"]))
    try:
        markets = await kraken.load_markets()
        assert sorted(markets) == ["BTC/USD", "ETH/USD", "EUR/USD"]
        btc = markets["BTC/USD"]
        assert btc["id"] == "XXBTZUSD" and btc["precision"]["price"] == 0.1
        assert btc["limits"]["amount"]["min"] == 0.0001
        book = await kraken.fetch_order_book("BTC/USD", 500)
        assert len(book["bids"]) == 500 and len(book["asks"]) == 500
        assert book["bids"][0][0] < book["asks"][0][0]
        ticker = await kraken.fetch_ticker("BTC/USD")
        assert ticker["bid"] is not None and ticker["bid"] < ticker["ask"]
        assert (await kraken.fetch_status())["status"] == "ok"
        assert await kraken.fetch_time() > 0

        await ws.take(channel("status"))
        # the WS token through ccxt too: Kraken's nonces must grow per key, and ccxt's are its own
        token = (await kraken.privatePostGetWebSocketsToken())["result"]["token"]
        params = {
            "order_type": "limit",
            "side": "buy",
            "order_qty": 0.002,
            "symbol": "BTC/USD",
            "limit_price": 80000.0,
            "token": token,
        }
        placed = await ws.request("add_order", params)
        assert placed["success"], placed
        order_id = placed["result"]["order_id"]
        opened = await kraken.fetch_open_orders()
        assert [o["id"] for o in opened] == [order_id]
        assert (opened[0]["symbol"], opened[0]["price"], opened[0]["amount"]) == (
            "BTC/USD",
            80000.0,
            0.002,
        )
        cancelled = await ws.request("cancel_order", {"order_id": [order_id], "token": token})
        assert cancelled["success"], cancelled
        closed = await kraken.fetch_order(order_id)
        assert closed["status"] == "canceled" and closed["id"] == order_id
    finally:
        await ws.close()
        await kraken.close()


async def test_ccxt_kraken_trading(live: Simulator) -> None:
    kraken = _kraken(live.env)
    try:
        await kraken.load_markets()
        before = await kraken.fetch_balance()
        assert before["BTC"]["total"] == 10 and before["USD"]["used"] == 0

        limit = await kraken.create_order("BTC/USD", "limit", "buy", 0.002, 80000)
        assert (limit["symbol"], limit["type"], limit["side"]) == ("BTC/USD", "limit", "buy")
        assert (limit["price"], limit["amount"]) == (80000.0, 0.002)
        [opened] = await kraken.fetch_open_orders()
        assert (opened["id"], opened["status"], opened["price"]) == (limit["id"], "open", 80000)
        held = await kraken.fetch_balance()
        assert held["USD"]["used"] == pytest.approx(160.64)  # 160 USD and the taker fee, reserved
        edited = await kraken.edit_order(limit["id"], "BTC/USD", "limit", "buy", 0.003, 80100)
        assert edited["info"]["amend_id"]
        [amended] = await kraken.fetch_open_orders()
        assert (amended["id"], amended["price"], amended["amount"]) == (limit["id"], 80100, 0.003)
        await kraken.cancel_order(limit["id"])
        assert (await kraken.fetch_order(limit["id"]))["status"] == "canceled"
        assert await kraken.fetch_open_orders() == []
        with pytest.raises(ccxt.OrderNotFound):
            await kraken.cancel_order(limit["id"])
        with pytest.raises(ccxt.InsufficientFunds):
            await kraken.create_order("BTC/USD", "limit", "buy", 100, 80000)

        market = await kraken.create_order("BTC/USD", "market", "sell", 0.002)
        assert (market["type"], market["side"], market["amount"]) == ("market", "sell", 0.002)
        filled = await kraken.fetch_order(market["id"])
        assert (filled["status"], filled["filled"]) == ("closed", 0.002)
        assert filled["average"] is not None and filled["fee"]["currency"] == "USD"
        after = await kraken.fetch_balance()
        assert after["BTC"]["total"] == pytest.approx(10 - 0.002)
        assert after["USD"]["total"] > before["USD"]["total"] and after["USD"]["used"] == 0
    finally:
        await kraken.close()


async def test_ccxt_binance(live: Simulator) -> None:
    env = live.env
    base = env["HFTPY_BINANCE_REST_URL"] + "/api/v3"
    binance = ccxt.binance(
        {
            "apiKey": env["HFTPY_BINANCE_API_KEY"],
            "secret": env["HFTPY_BINANCE_API_SECRET"],
            "enableRateLimit": False,
            "options": {
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
            },
        }
    )
    binance.urls["api"] = {"public": base, "private": base}
    try:
        markets = await binance.load_markets()
        assert sorted(markets) == ["BTC/USDT", "ETH/USDT"]
        book = await binance.fetch_order_book("BTC/USDT", 5000)
        assert len(book["bids"]) == 5000 and len(book["asks"]) == 5000
        best_bid = book["bids"][0][0]

        order = await binance.create_order("BTC/USDT", "limit", "buy", 0.001, 90000)
        assert order["status"] == "open" and order["price"] == 90000
        assert order["clientOrderId"]  # ccxt's own broker-prefixed id was accepted
        fetched = await binance.fetch_order(order["id"], "BTC/USDT")
        assert fetched["status"] == "open" and fetched["amount"] == 0.001
        assert [o["id"] for o in await binance.fetch_open_orders("BTC/USDT")] == [order["id"]]
        balance = await binance.fetch_balance()
        assert balance["USDT"]["used"] > 0 and balance["BTC"]["total"] == 10
        cancelled = await binance.cancel_order(order["id"], "BTC/USDT")
        assert cancelled["status"] == "canceled"
        assert await binance.fetch_open_orders("BTC/USDT") == []

        market = await binance.create_order("BTC/USDT", "market", "sell", 0.002)
        assert market["status"] == "closed" and market["filled"] == 0.002
        assert market["average"] is not None and market["average"] <= best_bid * 1.01
        trades = await binance.fetch_my_trades("BTC/USDT")
        assert sum(t["amount"] for t in trades if t["order"] == market["id"]) == 0.002
        assert all(t["side"] == "sell" and t["fee"]["currency"] == "USDT" for t in trades)
        after = await binance.fetch_balance()
        assert after["BTC"]["total"] == pytest.approx(10 - 0.002)
    finally:
        await binance.close()


async def test_ccxt_upbit(live: Simulator) -> None:
    env = live.env
    rest = env["HFTPY_UPBIT_REST_URL"]
    upbit = ccxt.upbit(
        {
            "apiKey": env["HFTPY_UPBIT_API_KEY"],
            "secret": env["HFTPY_UPBIT_API_SECRET"],
            "enableRateLimit": False,
        }
    )
    upbit.urls["api"] = {"public": rest, "private": rest}
    try:
        markets = await upbit.load_markets()
        assert sorted(markets) == ["BTC/KRW", "ETH/KRW"]
        book = await upbit.fetch_order_book("BTC/KRW")
        assert len(book["bids"]) == 30 and len(book["asks"]) == 30  # Upbit's 30 units, full
        assert book["bids"][0][0] < book["asks"][0][0]

        order = await upbit.create_order("BTC/KRW", "limit", "buy", 0.001, 100_000_000)
        assert order["status"] == "open" and order["price"] == 100_000_000
        fetched = await upbit.fetch_order(order["id"])
        assert fetched["status"] == "open" and fetched["amount"] == 0.001
        assert [o["id"] for o in await upbit.fetch_open_orders("BTC/KRW")] == [order["id"]]
        balance = await upbit.fetch_balance()
        assert balance["KRW"]["used"] > 0
        await upbit.cancel_order(order["id"])  # the order as the cancel found it (wait)
        assert (await upbit.fetch_order(order["id"]))["status"] == "canceled"
        assert await upbit.fetch_open_orders("BTC/KRW") == []
    finally:
        await upbit.close()
