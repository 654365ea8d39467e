"""Binance's public REST market data: `/api/v3/depth`, `/api/v3/exchangeInfo`, `/api/v3/time`,
`/api/v3/ping` (reference/binance.md). The depth snapshot carries the update id of the diff
streams (`DepthFeed`), so Binance's documented sync procedure keeps an exact book; in replay
the capture's snapshot stands in for BTCUSDT."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aiohttp import web

from ..engine import Instrument
from ..market import DepthFeed, MarketVenue
from ..wire import json_response, now_ms
from .limits import rate_limit_json
from .text import MAX_PRICE, MAX_QTY, UNAVAILABLE, WIRE_DECIMALS, levels_json

__all__ = ["MarketRest", "symbol_info"]


class MarketRest:
    """The public REST endpoints of one Binance market-data venue."""

    def __init__(
        self,
        venue: MarketVenue,
        feeds: Mapping[str, DepthFeed],
        replay_snapshot: dict[str, Any] | None,
    ) -> None:
        self.venue = venue
        self.feeds = feeds
        self.replay_snapshot = replay_snapshot

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v3/depth", self._depth)
        app.router.add_get("/api/v3/exchangeInfo", self._exchange_info)
        app.router.add_get("/api/v3/time", self._time)
        app.router.add_get("/api/v3/ping", self._ping)

    def _unavailable(self) -> web.Response | None:
        if self.venue.system == "online":
            return None
        return json_response(UNAVAILABLE, 503)

    def _symbol(self, request: web.Request) -> Instrument | web.Response:
        symbol = request.query.get("symbol")
        if not symbol:
            return json_response(
                {
                    "code": -1102,
                    "msg": "Mandatory parameter 'symbol' was not sent, was empty/null, or "
                    "malformed.",
                },
                400,
            )
        inst = self.venue.instrument(symbol)
        if inst is None:
            return json_response({"code": -1121, "msg": "Invalid symbol."}, 400)
        return inst

    async def _depth(self, request: web.Request) -> web.Response:
        if (down := self._unavailable()) is not None:
            return down
        found = self._symbol(request)
        if isinstance(found, web.Response):
            return found
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            limit = -1
        if not 1 <= limit <= 5000:
            return json_response(
                {
                    "code": -1100,
                    "msg": "Illegal characters found in parameter 'limit'; legal range is "
                    "'^[0-9]{1,20}$'.",
                },
                400,
            )
        snapshot = self.replay_snapshot
        if snapshot is not None and found.symbol == "BTCUSDT":
            body = {
                "lastUpdateId": snapshot["lastUpdateId"],
                "bids": snapshot["bids"][:limit],
                "asks": snapshot["asks"][:limit],
            }
            return json_response(body)
        await self.venue.snapshot_pause()
        fault = self.venue.snapshot_fault.hit()
        if fault == "snapshot_fail":
            return json_response({"code": -1001, "msg": "Internal error; unable to process."}, 503)
        book = self.venue.engine.book(found.symbol)
        data = b'{"lastUpdateId":%d,"bids":%s,"asks":%s}' % (
            self.feeds[found.symbol].update_id - (1000 if fault == "stale_snapshot" else 0),
            levels_json(found, book.bids.depth(limit)),
            levels_json(found, book.asks.depth(limit)),
        )
        return web.Response(body=data, content_type="application/json")

    async def _exchange_info(self, request: web.Request) -> web.Response:
        if (down := self._unavailable()) is not None:
            return down
        instruments = self.venue.instruments
        wanted = request.query.get("symbol")
        if wanted is not None:
            inst = self.venue.instrument(wanted)
            if inst is None:
                return json_response({"code": -1121, "msg": "Invalid symbol."}, 400)
            instruments = [inst]
        body = {
            "timezone": "UTC",
            "serverTime": now_ms(),
            "rateLimits": [
                rate_limit_json("REQUEST_WEIGHT", "MINUTE", 1, 6000),
                rate_limit_json("ORDERS", "SECOND", 10, 100),
                rate_limit_json("ORDERS", "DAY", 1, 200000),
                rate_limit_json("RAW_REQUESTS", "MINUTE", 5, 61000),
            ],
            "exchangeFilters": [],
            "symbols": [symbol_info(i) for i in instruments],
        }
        return json_response(body)

    async def _time(self, request: web.Request) -> web.Response:
        return json_response({"serverTime": now_ms()})

    async def _ping(self, request: web.Request) -> web.Response:
        return json_response({})


def _wire(value: Decimal) -> str:
    return f"{value.quantize(Decimal(10) ** -WIRE_DECIMALS):f}"


def symbol_info(inst: Instrument) -> dict[str, Any]:
    """One symbol of `exchangeInfo`: the simulated order types and the three filters."""
    tick = Decimal(inst.tick_units).scaleb(-inst.price_decimals)
    step = Decimal(1).scaleb(-inst.qty_decimals)
    return {
        "symbol": inst.symbol,
        "status": "TRADING",
        "baseAsset": inst.base,
        "baseAssetPrecision": WIRE_DECIMALS,
        "quoteAsset": inst.quote,
        "quotePrecision": WIRE_DECIMALS,
        "quoteAssetPrecision": WIRE_DECIMALS,
        "baseCommissionPrecision": WIRE_DECIMALS,
        "quoteCommissionPrecision": WIRE_DECIMALS,
        "orderTypes": [
            "LIMIT",
            "LIMIT_MAKER",
            "MARKET",
            "STOP_LOSS",
            "STOP_LOSS_LIMIT",
            "TAKE_PROFIT",
            "TAKE_PROFIT_LIMIT",
        ],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "amendAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": _wire(tick),
                "maxPrice": _wire(MAX_PRICE),
                "tickSize": _wire(tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": _wire(inst.min_qty),
                "maxQty": _wire(MAX_QTY),
                "stepSize": _wire(step),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": _wire(inst.min_cost),
                "applyMinToMarket": True,
                "maxNotional": _wire(Decimal(9_000_000)),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }
