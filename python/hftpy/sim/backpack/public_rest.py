"""Backpack's public REST market data on the `backpack_rest` port (no signature).

`GET /api/v1/depth` (`symbol`, `limit` one of 5..1000; `lastUpdateId` a string, both sides
ascending, `timestamp` in µs; update ids work as on Binance, see `DepthFeed`),
`/api/v1/markets`, `/api/v1/market` (`symbol`), `/api/v1/ticker` (`symbol`) and
`/api/v1/tickers` (every market: first / last / high / low price, base and quote volume and
trade count since the simulator started, whatever `interval` asks), `/api/v1/assets` (each
asset of the markets, on no blockchain: nothing here deposits or withdraws),
`/api/v1/securities` (none: no tokenized stocks), `/api/v1/status` (`Ok`, or `Maintenance`
during the `maintenance` fault, when the others answer 503) and `/api/v1/time` (ms, plain
text).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, Final

from aiohttp import web

from ..engine import Instrument
from ..errors import VenueError
from ..market import DepthFeed, MarketVenue
from ..wire import fixed_text, json_response, now_ms, now_us, text_pairs
from .errors import answering, api_error

__all__ = ["DEPTH_LIMITS", "BackpackMarketRest", "Ticker", "levels", "unavailable"]

DEPTH_LIMITS: Final = (5, 10, 20, 50, 100, 500, 1000)


class Ticker:
    """One market's rolling statistics (here: since the simulator started), in engine units."""

    __slots__ = ("count", "high", "last", "low", "open", "quote_volume", "volume")

    def __init__(self, mid: int) -> None:
        self.open = self.last = self.low = self.high = mid
        self.volume = 0  # lots
        self.quote_volume = 0  # price units x lots
        self.count = 0

    def add(self, price: int, qty: int) -> None:
        """One trade."""
        self.last = price
        self.low = min(self.low, price)
        self.high = max(self.high, price)
        self.volume += qty
        self.quote_volume += price * qty
        self.count += 1

    def body(self, inst: Instrument) -> dict[str, Any]:
        """The `/api/v1/ticker` object (`priceChangePercent` is a fraction: -0.03 is -3%)."""
        pd, qd = inst.price_decimals, inst.qty_decimals
        change = Decimal(self.last - self.open) / Decimal(self.open) if self.open else Decimal(0)
        return {
            "symbol": inst.symbol,
            "firstPrice": fixed_text(self.open, pd),
            "lastPrice": fixed_text(self.last, pd),
            "priceChange": fixed_text(self.last - self.open, pd),
            "priceChangePercent": f"{change.quantize(Decimal('1e-6')).normalize():f}",
            "high": fixed_text(self.high, pd),
            "low": fixed_text(self.low, pd),
            "volume": fixed_text(self.volume, qd),
            "quoteVolume": fixed_text(self.quote_volume, pd + qd),
            "trades": str(self.count),
        }


class BackpackMarketRest:
    """The public endpoints over the venue's books, depth feeds and tickers."""

    def __init__(
        self, venue: MarketVenue, feeds: dict[str, DepthFeed], tickers: dict[str, Ticker]
    ) -> None:
        self.venue = venue
        self.feeds = feeds
        self.tickers = tickers

    def routes(self, app: web.Application) -> None:
        add = app.router.add_get
        add("/api/v1/depth", answering(self._depth))
        add("/api/v1/markets", answering(self._markets))
        add("/api/v1/market", answering(self._market))
        add("/api/v1/ticker", answering(self._ticker))
        add("/api/v1/tickers", answering(self._tickers))
        add("/api/v1/assets", answering(self._assets))
        add("/api/v1/securities", answering(self._securities))
        add("/api/v1/status", self._status)
        add("/api/v1/time", self._time)

    def _online(self) -> None:
        if self.venue.system != "online":
            raise unavailable()

    def _market_of(self, request: web.Request) -> Instrument:
        """The `symbol` asked for, once the venue is known to be up."""
        self._online()
        inst = self.venue.instrument(request.query.get("symbol", ""))
        if inst is None:
            raise api_error("INVALID_CLIENT_REQUEST", "Invalid market")
        return inst

    async def _depth(self, request: web.Request) -> web.Response:
        inst = self._market_of(request)
        try:
            limit = int(request.query.get("limit", "1000"))
        except ValueError:
            limit = 0
        if limit not in DEPTH_LIMITS:
            raise api_error("INVALID_CLIENT_REQUEST", "Invalid limit")
        await self.venue.snapshot_pause()
        fault = self.venue.snapshot_fault.hit()
        if fault == "snapshot_fail":
            raise unavailable()
        book = self.venue.engine.book(inst.symbol)
        body = b'{"asks":%s,"bids":%s,"lastUpdateId":"%d","timestamp":%d}' % (
            levels(inst, book.asks.depth(limit)),
            levels(inst, sorted(book.bids.depth(limit))),
            self.feeds[inst.symbol].update_id - (1000 if fault == "stale_snapshot" else 0),
            now_us(),
        )
        return web.Response(body=body, content_type="application/json")

    async def _markets(self, request: web.Request) -> web.Response:
        self._online()
        return json_response([_market(i) for i in self.venue.instruments])

    async def _market(self, request: web.Request) -> web.Response:
        return json_response(_market(self._market_of(request)))

    async def _ticker(self, request: web.Request) -> web.Response:
        inst = self._market_of(request)
        return json_response(self.tickers[inst.symbol].body(inst))

    async def _tickers(self, request: web.Request) -> web.Response:
        self._online()
        return json_response([self.tickers[i.symbol].body(i) for i in self.venue.instruments])

    async def _assets(self, request: web.Request) -> web.Response:
        self._online()
        assets = dict.fromkeys(a for i in self.venue.instruments for a in (i.base, i.quote))
        return json_response([{"symbol": a, "displayName": a, "tokens": []} for a in assets])

    async def _securities(self, request: web.Request) -> web.Response:
        self._online()
        return json_response([])

    async def _status(self, request: web.Request) -> web.Response:
        up = self.venue.system == "online"
        return json_response({"status": "Ok" if up else "Maintenance", "message": None})

    async def _time(self, request: web.Request) -> web.Response:
        return web.Response(text=str(now_ms()), content_type="text/plain")


def unavailable() -> VenueError:
    """Maintenance (or a failed snapshot): Backpack's 503."""
    return api_error("SERVICE_UNAVAILABLE", "Service unavailable", 503)


def levels(inst: Instrument, rows: Iterable[tuple[int, int]]) -> bytes:
    """`[["price","size"],...]` at the market's precision."""
    pd, qd = inst.price_decimals, inst.qty_decimals
    return text_pairs((fixed_text(p, pd), fixed_text(q, qd)) for p, q in rows)


def _market(inst: Instrument) -> dict[str, Any]:
    tick = Decimal(inst.tick_units).scaleb(-inst.price_decimals)
    step = Decimal(1).scaleb(-inst.qty_decimals)
    return {
        "symbol": inst.symbol,
        "baseSymbol": inst.base,
        "quoteSymbol": inst.quote,
        "marketType": "SPOT",
        "filters": {
            "price": {
                "minPrice": f"{tick:f}",
                "maxPrice": None,
                "tickSize": f"{tick:f}",
                "maxMultiplier": "1.25",
                "minMultiplier": "0.75",
            },
            "quantity": {
                "minQuantity": f"{inst.min_qty:f}",
                "maxQuantity": None,
                "stepSize": f"{step:f}",
            },
        },
        "imfFunction": None,
        "mmfFunction": None,
        "fundingInterval": None,
        "openInterestLimit": "0",
        "orderBookState": "Open",
        "createdAt": "2024-01-01T00:00:00",
        "visible": True,
    }
