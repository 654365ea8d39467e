"""Backpack's public REST market data in the simulator beyond the depth snapshot, checked with
plain aiohttp: `/api/v1/status`, `/api/v1/ticker(s)`, `/api/v1/assets`, `/api/v1/securities`
(Backpack API docs: System, Markets, Assets, Stocks). Third-party clients (ccxt's
`load_markets`, `fetch_status`, `fetch_ticker`) call these before anything else."""

from __future__ import annotations

from typing import Any

import aiohttp

from hftpy.sim import Simulator

from .test_sim_backpack_orders import outside, rest_outside


async def public(sim: Simulator, path: str, **query: str) -> tuple[int, Any]:
    url = sim.env["HFTPY_BACKPACK_REST_URL"] + path
    async with aiohttp.ClientSession() as http, http.get(url, params=query) as resp:
        return resp.status, await resp.json()


async def test_status_follows_maintenance(sim: Simulator) -> None:
    assert await public(sim, "/api/v1/status") == (200, {"status": "Ok", "message": None})
    sim.inject("backpack", "maintenance")
    status, body = await public(sim, "/api/v1/status")
    assert (status, body["status"]) == (200, "Maintenance")
    status, body = await public(sim, "/api/v1/ticker", symbol="SOL_USDC")
    assert (status, body["code"]) == (503, "SERVICE_UNAVAILABLE")
    sim.inject("backpack", "online")
    assert (await public(sim, "/api/v1/status"))[1]["status"] == "Ok"


async def test_ticker_counts_the_trades(sim: Simulator) -> None:
    rest_outside(sim, "sell", "3", "151.00")
    outside(sim, "buy", "1", "151.00")
    outside(sim, "buy", "1", "151.00")
    status, ticker = await public(sim, "/api/v1/ticker", symbol="SOL_USDC")
    assert status == 200
    assert ticker == {
        "symbol": "SOL_USDC",
        "firstPrice": "150.00",  # the market's starting mid: nothing traded before
        "lastPrice": "151.00",
        "priceChange": "1.00",
        "priceChangePercent": "0.006667",  # a fraction, as Backpack sends it
        "high": "151.00",
        "low": "150.00",
        "volume": "2.00",
        "quoteVolume": "302.0000",
        "trades": "2",
    }
    status, tickers = await public(sim, "/api/v1/tickers")
    assert status == 200 and [t["symbol"] for t in tickers] == ["SOL_USDC", "BTC_USDC"]
    assert tickers[0] == ticker and tickers[1]["trades"] == "0"
    status, body = await public(sim, "/api/v1/ticker", symbol="ETH_USDC")
    assert status == 400 and body == {"code": "INVALID_CLIENT_REQUEST", "message": "Invalid market"}


async def test_assets_and_securities(sim: Simulator) -> None:
    status, assets = await public(sim, "/api/v1/assets")
    assert status == 200
    assert assets == [
        {"symbol": symbol, "displayName": symbol, "tokens": []} for symbol in ("SOL", "USDC", "BTC")
    ]
    assert await public(sim, "/api/v1/securities") == (200, [])
