"""Kraken's public REST endpoints: what a client loads at start (ccxt's every call loads `Assets`
and `AssetPairs` first), and the answer format every REST endpoint shares.

`GET /0/public/Time`, `SystemStatus`, `Assets` (`asset`, `aclass`), `AssetPairs` (`pair`),
`Ticker` (`pair`) and `Depth` (`pair`, `count` 1-500, default 100; `[price, volume,
timestamp]` rows). Kraken answers errors with HTTP 200, an `error` list and no `result`.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any, Final

import msgspec
from aiohttp import web

from ..engine import Instrument
from ..errors import VenueError
from ..market import MarketVenue
from ..wire import fixed_text, json_response, plain_number, rfc3339_s
from .protocol import (
    E_INVALID_ARGS,
    E_UNKNOWN_ASSET,
    E_UNKNOWN_PAIR,
    MAKER_FEE,
    TAKER_FEE,
    asset_codes,
    find_pair,
    form_int,
    pair_key,
    pair_wsname,
)
from .public import KrakenMarketData

__all__ = ["KrakenPublicRest", "rest_error", "rest_reply", "unknown_method"]

DEPTH_DEFAULT: Final = 100  # REST Depth `count`: default and maximum
DEPTH_MAX: Final = 500


def rest_reply(result: Any) -> web.Response:
    return json_response({"error": [], "result": result})


def rest_error(message: str) -> web.Response:
    return json_response({"error": [message]})


def _asset_info(asset: str) -> dict[str, Any]:
    """One `Assets` entry (the key order of Kraken's example)."""
    _, altname, decimals = asset_codes(asset)
    fiat = asset in ("USD", "EUR")
    return {
        "aclass": "currency",
        "altname": altname,
        "decimals": decimals,
        "display_decimals": 2 if fiat else 5,
        "collateral_value": msgspec.Raw(b"1.0" if fiat else b"0.95"),
        "status": "enabled",
    }


def _percent(fraction: Decimal) -> msgspec.Raw:
    return plain_number(fraction * 100)


def _asset_pair_info(inst: Instrument) -> dict[str, Any]:
    wsname = pair_wsname(inst)
    return {
        "altname": wsname.replace("/", ""),
        "wsname": wsname,
        "aclass_base": "currency",
        "base": asset_codes(inst.base)[0],
        "aclass_quote": "currency",
        "quote": asset_codes(inst.quote)[0],
        "lot": "unit",
        "cost_decimals": inst.cost_decimals,
        "pair_decimals": inst.price_decimals,
        "lot_decimals": inst.qty_decimals,
        "lot_multiplier": 1,
        "leverage_buy": [],
        "leverage_sell": [],
        "fees": [[0, _percent(TAKER_FEE)]],
        "fees_maker": [[0, _percent(MAKER_FEE)]],
        "fee_volume_currency": "ZUSD",
        "margin_call": 80,
        "margin_stop": 40,
        "ordermin": str(inst.min_qty),
        "costmin": str(inst.min_cost),
        "tick_size": fixed_text(inst.tick_units, inst.price_decimals),
        "status": "online",
    }


class KrakenPublicRest:
    """The `/0/public/...` endpoints of one Kraken venue."""

    def __init__(self, venue: MarketVenue, market: KrakenMarketData) -> None:
        self.venue = venue
        self.market = market

    def routes(self, app: web.Application) -> None:
        endpoints = {
            "Time": self._time,
            "SystemStatus": self._system_status,
            "AssetPairs": self._asset_pairs,
            "Assets": self._assets,
            "Ticker": self._ticker,
            "Depth": self._depth,
        }
        for name, handler in endpoints.items():
            app.router.add_get(f"/0/public/{name}", handler)

    async def _time(self, request: web.Request) -> web.Response:
        now = time.time()
        rfc1123 = time.strftime("%a, %d %b %y %H:%M:%S +0000", time.gmtime(now))
        return rest_reply({"unixtime": int(now), "rfc1123": rfc1123})

    async def _system_status(self, request: web.Request) -> web.Response:
        return rest_reply({"status": self.venue.system, "timestamp": rfc3339_s(time.time_ns())})

    def _select_pairs(self, request: web.Request, required: bool) -> dict[str, Instrument]:
        """The pairs named by `pair` (comma-separated; any of Kraken's names), keyed as Kraken
        keys them; every pair when `pair` is absent and not `required`."""
        pairs = {pair_key(i): i for i in self.venue.instruments}
        wanted = request.query.get("pair")
        if not wanted:
            if required:
                raise VenueError(f"{E_INVALID_ARGS}:pair")  # UNVERIFIED wording
            return pairs
        selected = {}
        for name in wanted.split(","):
            name = name.strip()
            found = find_pair(pairs.values(), name)
            if found is None:
                raise VenueError(E_UNKNOWN_PAIR)
            # Kraken keys a pair asked for in its slash form by that name (python-kraken-sdk's
            # order book reads `result["BTC/USD"]`), other names by the pair key.
            selected[name if "/" in name else pair_key(found)] = found
        return selected

    async def _asset_pairs(self, request: web.Request) -> web.Response:
        try:
            pairs = self._select_pairs(request, required=False)
        except VenueError as exc:
            return rest_error(exc.message)
        return rest_reply({key: _asset_pair_info(inst) for key, inst in pairs.items()})

    async def _assets(self, request: web.Request) -> web.Response:
        """`{code: {aclass, altname, decimals, display_decimals, collateral_value, status}}`
        for every asset of the simulated pairs, or those named by `asset` (code or altname)."""
        assets = sorted({a for i in self.venue.instruments for a in (i.base, i.quote)})
        aclass = request.query.get("aclass", "currency")
        wanted = request.query.get("asset")
        if wanted:
            selected = []
            for name in (n.strip() for n in wanted.split(",")):
                found = next((a for a in assets if name in (a, *asset_codes(a)[:2])), None)
                if found is None:
                    return rest_error(E_UNKNOWN_ASSET)
                selected.append(found)
            assets = selected
        if aclass != "currency":
            return rest_reply({})  # only currencies are simulated
        return rest_reply({asset_codes(a)[0]: _asset_info(a) for a in assets})

    async def _ticker(self, request: web.Request) -> web.Response:
        try:
            pairs = self._select_pairs(request, required=False)
        except VenueError as exc:
            return rest_error(exc.message)
        tickers = self.market.tickers
        return rest_reply({key: tickers.rest_ticker(inst) for key, inst in pairs.items()})

    async def _depth(self, request: web.Request) -> web.Response:
        """`{pair: {asks, bids}}`, `count` levels a side (1 to 500, default 100)."""
        try:
            pairs = self._select_pairs(request, required=True)
            count = form_int(dict(request.query), "count")
        except VenueError as exc:
            return rest_error(exc.message)
        if count is None:
            count = DEPTH_DEFAULT
        if count < 1:
            return rest_error(f"{E_INVALID_ARGS}:count")
        count = min(count, DEPTH_MAX)  # UNVERIFIED: a larger count is served at the maximum
        return rest_reply({key: self.market.rest_depth(inst, count) for key, inst in pairs.items()})


async def unknown_method(request: web.Request) -> web.Response:
    """Any other `/0/public/...` or `/0/private/...` path (route it last)."""
    return rest_error("EGeneral:Unknown method")
