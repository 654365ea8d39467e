"""Binance spot market data on loopback: streams (raw and combined) and the public REST calls.

Streams (`binance_stream` port): `/ws/<stream>[/<stream>...]` raw, `/stream?streams=a/b`
combined (`{"stream","data"}` wrapper), bare `/ws` or `/stream` plus `SUBSCRIBE`; live
`SUBSCRIBE` / `UNSUBSCRIBE` / `LIST_SUBSCRIPTIONS` / `SET_PROPERTY` / `GET_PROPERTY` with
Binance's acks and error frames (reference/binance.md §1-2). Streams: `<sym>@depth[@100ms]`
(diff `depthUpdate`), `<sym>@depth5|10|20[@100ms]` (partial book), `@trade`, `@aggTrade`,
`@bookTicker`. The server pings every 20 s and drops a peer whose pong is 20 s late (Binance: 60 s).

REST (`binance_rest` port): `/api/v3/depth`, `/api/v3/exchangeInfo`, `/api/v3/time`,
`/api/v3/ping`. Update ids are one counter per symbol (see `DepthFeed`), so a client that
follows Binance's documented sync procedure (buffer, snapshot, drop `u <= lastUpdateId`, apply)
keeps an exact book. The `binance_ws_api` port is reserved (answers 404) until the WS API lands.

Replay (`replay=[files]`): each connection gets the recorded frames of the streams it
subscribes to, paced by their receive stamps; `/api/v3/depth` serves the capture's snapshot.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Final

import msgspec
from aiohttp import web
from picows import WSUpgradeRequest

from .engine import Engine, Instrument, Trade
from .faults import MARKET_FAULTS, SKIP_SEQUENCE, SNAPSHOT_FAULTS, Fault, FaultTable, fault_table
from .market import (
    DepthFeed,
    MarketVenue,
    StreamConnection,
    call_soon_once,
)
from .replay import Pacer, binance_frames, binance_snapshot
from .wire import decode_json, encode_json, fixed_text

__all__ = ["FAULTS", "BinanceVenue", "valid_request_id"]

FAULTS: Final = fault_table(
    MARKET_FAULTS,
    SKIP_SEQUENCE,
    SNAPSHOT_FAULTS,
    # Real books hold sizes finer than today's stepSize (`qty="25.42618900"`, stepSize 0.00001).
    Fault(
        "extra_level",
        ("side", "price", "qty", "symbol"),
        "the next diff of SYMBOL (any by default) also carries this level as text (default: "
        "the 2024-08-08 capture's ask 200000.00000000 x 25.42618900, finer than the lot step)",
    ),
)
WIRE_DECIMALS: Final = 8  # Binance prints every price and quantity with 8 decimals
PARTIAL_LEVELS: Final = (5, 10, 20)
MAX_STREAMS: Final = 1024
_METHODS: Final = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
_SPEEDS: Final = ("100ms", "1000ms")
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9-]{0,36}")


def _ms() -> int:
    return time.time_ns() // 1_000_000


def valid_request_id(req_id: Any) -> bool:
    """A control message's `id`: a 64-bit signed integer, a string of up to 36 letters, digits
    and hyphens (the docs say "alphanumeric"; the official SDKs send uuid4 text, which spot
    accepts), or null. It is echoed back exactly as sent."""
    if req_id is None:
        return True
    if isinstance(req_id, bool):
        return False
    if isinstance(req_id, int):
        return -(2**63) <= req_id < 2**63
    return isinstance(req_id, str) and _REQUEST_ID.fullmatch(req_id) is not None


def _error(code: int, msg: str, req_id: Any = None, with_id: bool = True) -> bytes:
    body: dict[str, Any] = {"code": code, "msg": msg}
    if with_id:
        body["id"] = req_id
    return encode_json(body)


class _Stream:
    """A parsed stream name: `btcusdt@depth10@100ms` -> symbol, kind `depth10`, speed `100ms`."""

    __slots__ = ("kind", "levels", "name", "speed", "symbol")

    def __init__(self, name: str, symbol: str, kind: str, speed: str, levels: int) -> None:
        self.name = name
        self.symbol = symbol
        self.kind = kind
        self.speed = speed
        self.levels = levels


def parse_stream(name: str) -> _Stream | None:
    """A stream this simulator knows how to name (any symbol); None when malformed."""
    symbol, sep, rest = name.partition("@")
    if not sep or not symbol or symbol != symbol.lower():
        return None  # stream names carry lower-case symbols
    kind, _, speed = rest.partition("@")
    if kind == "depth" or (kind.startswith("depth") and kind[5:] in ("5", "10", "20")):
        if speed not in ("", "100ms", "1000ms"):
            return None
        levels = int(kind[5:]) if kind != "depth" else 0
        return _Stream(name, symbol.upper(), kind, speed or "1000ms", levels)
    if kind in ("trade", "aggTrade", "bookTicker") and not speed:
        return _Stream(name, symbol.upper(), kind, "", 0)
    return _Stream(name, symbol.upper(), "other", speed, 0)  # named correctly, never served


class BinanceConnection(StreamConnection):
    def __init__(self, venue: BinanceVenue, path: str, combined: bool, streams: list[str]):
        super().__init__(venue, path)
        self.bvenue = venue
        self.combined = combined
        self.streams: dict[str, _Stream] = {}
        self.initial = streams
        self.replaying = False

    def connected(self) -> None:
        if self.initial:
            self.bvenue.add_streams(self, self.initial)

    def closed(self) -> None:
        self.bvenue.remove_streams(self, list(self.streams))

    def on_message(self, payload: bytes) -> None:
        self.bvenue.control(self, payload)

    def push(self, stream: str, data: bytes) -> None:
        if self.combined:
            self.send(b'{"stream":"%s","data":%s}' % (stream.encode(), data))
        else:
            self.send(data)


class BinanceVenue(MarketVenue):
    name: ClassVar[str] = "binance"
    FAULTS: ClassVar[FaultTable] = FAULTS
    WS_ENDPOINTS: ClassVar[tuple[tuple[str, float, float], ...]] = (
        ("stream", 20.0, 20.0),  # picows: the pong deadline cannot exceed the period
        ("ws_api", 0.0, 0.0),
    )
    MALFORMED_DEFAULT: ClassVar[str] = '{"e":"depthUpdate","E":'

    def __init__(
        self,
        engine: Engine,
        *,
        host: str = "127.0.0.1",
        replay: Sequence[Path] = (),
        replay_rate: float = 1.0,
    ) -> None:
        super().__init__(engine, host=host)
        self.feeds = {i.symbol: DepthFeed(_SPEEDS) for i in self.instruments}
        self.subs: dict[str, dict[BinanceConnection, None]] = {}
        self.agg_ids = {i.symbol: 0 for i in self.instruments}
        self.bbo: dict[str, tuple[int, int, int, int]] = {}
        self._trades: list[Trade] = []
        self._bbo_dirty: set[str] = set()
        self._tick_scheduled = False
        self.replay = tuple(replay)
        self.replay_rate = replay_rate
        self.replay_snapshot: dict[str, Any] | None = None
        self.extra_level: tuple[str, str, bytes] | None = None  # (symbol or "", side, level)
        if self.replay:
            self.replay_snapshot = binance_snapshot(self.replay)
        engine.level_listeners.append(self._on_level)
        engine.trade_listeners.append(self._on_trade)

    # ----- engine events -----

    def _on_level(self, inst: Instrument, side: str, price: int, qty: int) -> None:
        feed = self.feeds.get(inst.symbol)
        if feed is None or inst.venue != self.name:
            return
        feed.change(side, price, qty)
        self._bbo_dirty.add(inst.symbol)
        call_soon_once(self, "_tick_scheduled", self._tick)

    def _on_trade(self, trade: Trade) -> None:
        if trade.instrument.venue == self.name:
            self._trades.append(trade)
            call_soon_once(self, "_tick_scheduled", self._tick)

    def _tick(self) -> None:
        """End of a loop tick: trades, then best bid/offer changes (real-time streams)."""
        self._tick_scheduled = False
        trades, self._trades = self._trades, []
        for trade in trades:
            self._publish_trade(trade)
        dirty, self._bbo_dirty = self._bbo_dirty, set()
        for symbol in dirty:
            book = self.engine.book(symbol)
            best_bid = (book.bids.depth(1) or [(0, 0)])[0]
            best_ask = (book.asks.depth(1) or [(0, 0)])[0]
            bbo = (*best_bid, *best_ask)
            if bbo == self.bbo.get(symbol):
                continue
            self.bbo[symbol] = bbo
            subs = self.subs.get(f"{symbol.lower()}@bookTicker")
            if not subs:
                continue
            inst = self.engine.instrument(symbol)
            data = b'{"u":%d,"s":"%s","b":"%s","B":"%s","a":"%s","A":"%s"}' % (
                self.feeds[symbol].update_id,
                symbol.encode(),
                self._price(inst, bbo[0]),
                self._qty(inst, bbo[1]),
                self._price(inst, bbo[2]),
                self._qty(inst, bbo[3]),
            )
            self._fan_out(f"{symbol.lower()}@bookTicker", data)

    def _publish_trade(self, trade: Trade) -> None:
        inst = trade.instrument
        lower = inst.symbol.lower()
        now = _ms()
        stamp = trade.ts_ns // 1_000_000
        price, qty = self._price(inst, trade.price), self._qty(inst, trade.qty)
        buyer_maker = b"true" if trade.taker_side == "sell" else b"false"
        if self.subs.get(f"{lower}@trade"):
            data = (
                b'{"e":"trade","E":%d,"s":"%s","t":%d,"p":"%s","q":"%s","T":%d,"m":%s,"M":true}'
                % (now, inst.symbol.encode(), trade.trade_id, price, qty, stamp, buyer_maker)
            )
            self._fan_out(f"{lower}@trade", data)
        self.agg_ids[inst.symbol] += 1
        if self.subs.get(f"{lower}@aggTrade"):
            data = (
                b'{"e":"aggTrade","E":%d,"s":"%s","a":%d,"p":"%s","q":"%s","f":%d,"l":%d,'
                b'"T":%d,"m":%s,"M":true}'
                % (
                    now,
                    inst.symbol.encode(),
                    self.agg_ids[inst.symbol],
                    price,
                    qty,
                    trade.trade_id,
                    trade.trade_id,
                    stamp,
                    buyer_maker,
                )
            )
            self._fan_out(f"{lower}@aggTrade", data)

    def background(self) -> list[Any]:
        return [self._publisher()]

    async def _publisher(self) -> None:
        """Diff and partial-depth streams on their 100 ms / 1000 ms cadences."""
        ticks = 0
        while True:
            await asyncio.sleep(0.1)
            ticks += 1
            speeds = ("100ms", "1000ms") if ticks % 10 == 0 else ("100ms",)
            for symbol, feed in self.feeds.items():
                for speed in speeds:
                    self._publish_depth(symbol, feed, speed)

    def fault_extra_level(
        self,
        side: str = "ask",
        price: str = "200000.00000000",
        qty: str = "25.42618900",
        symbol: str = "",
    ) -> None:
        if side not in ("bid", "ask"):
            raise ValueError("extra_level takes side=bid|ask, price=, qty= (text), symbol=")
        level = b'["%s","%s"]' % (str(price).encode(), str(qty).encode())
        self.extra_level = (str(symbol), side, level)

    def clear_faults(self) -> None:
        super().clear_faults()
        self.extra_level = None

    def _with_extra(self, symbol: str, side: str, levels: bytes) -> bytes:
        extra = self.extra_level
        if extra is None or extra[0] not in ("", symbol) or extra[1] != side:
            return levels
        self.extra_level = None
        return b"[" + extra[2] + (b"]" if levels == b"[]" else b"," + levels[1:])

    def _publish_depth(self, symbol: str, feed: DepthFeed, speed: str) -> None:
        lower = symbol.lower()
        taken = feed.take(speed)
        inst = self.engine.instrument(symbol)
        if taken is not None and (subs := self._diff_subs(lower, speed)):
            first, last, bids, asks = taken
            data = b'{"e":"depthUpdate","E":%d,"s":"%s","U":%d,"u":%d,"b":%s,"a":%s}' % (
                _ms(),
                symbol.encode(),
                first,
                last,
                self._with_extra(symbol, "bid", self._levels(inst, bids)),
                self._with_extra(symbol, "ask", self._levels(inst, asks)),
            )
            for conn, name in subs:
                if conn.replaying:
                    continue
                if self.skip.hit():
                    continue  # skip_sequence: this client never sees these ids
                conn.push(name, data)
        for levels in PARTIAL_LEVELS:
            name = f"{lower}@depth{levels}" + ("@100ms" if speed == "100ms" else "")
            subs_partial = self.subs.get(name)
            if not subs_partial:
                continue
            book = self.engine.book(symbol)
            data = b'{"lastUpdateId":%d,"bids":%s,"asks":%s}' % (
                feed.update_id,
                self._levels(inst, book.bids.depth(levels)),
                self._levels(inst, book.asks.depth(levels)),
            )
            self._fan_out(name, data)

    def _diff_subs(self, lower: str, speed: str) -> list[tuple[BinanceConnection, str]]:
        names = (
            (f"{lower}@depth@100ms",)
            if speed == "100ms"
            else (f"{lower}@depth", f"{lower}@depth@1000ms")
        )
        return [(conn, name) for name in names for conn in self.subs.get(name, ())]

    def _fan_out(self, stream: str, data: bytes) -> None:
        for conn in list(self.subs.get(stream, ())):
            if not conn.replaying:
                conn.push(stream, data)

    @staticmethod
    def _price(inst: Instrument, units: int) -> bytes:
        return fixed_text(
            units * 10 ** (WIRE_DECIMALS - inst.price_decimals), WIRE_DECIMALS
        ).encode()

    @staticmethod
    def _qty(inst: Instrument, units: int) -> bytes:
        return fixed_text(units * 10 ** (WIRE_DECIMALS - inst.qty_decimals), WIRE_DECIMALS).encode()

    def _levels(self, inst: Instrument, levels: Sequence[tuple[int, int]]) -> bytes:
        return (
            b"["
            + b",".join(
                b'["%s","%s"]' % (self._price(inst, p), self._qty(inst, q)) for p, q in levels
            )
            + b"]"
        )

    # ----- connections and control messages -----

    def listener(self, endpoint: str, request: WSUpgradeRequest) -> StreamConnection | None:
        if endpoint != "stream":
            return None  # binance_ws_api: reserved
        path, _, query = request.path.decode("latin-1").partition("?")
        path = path.rstrip("/")
        if path == "/ws" or path.startswith("/ws/"):
            names = [n for n in path[4:].split("/") if n]
            return BinanceConnection(self, path, False, names)
        if path == "/stream":
            names = []
            for part in query.split("&"):
                key, _, value = part.partition("=")
                if key == "streams":
                    names = [n for n in value.split("/") if n]
            return BinanceConnection(self, path, True, names)
        return None

    def add_streams(self, conn: BinanceConnection, names: list[str]) -> None:
        for name in names:
            stream = parse_stream(name)
            if stream is None or name in conn.streams:
                continue
            conn.streams[name] = stream
            self.subs.setdefault(name, {})[conn] = None
        if self.replay and conn.streams and not conn.replaying:
            conn.replaying = True
            conn.spawn(self._replay(conn), f"hftpy-sim-binance-replay {conn.path}")

    def remove_streams(self, conn: BinanceConnection, names: list[str]) -> None:
        for name in names:
            conn.streams.pop(name, None)
            subs = self.subs.get(name)
            if subs is not None:
                subs.pop(conn, None)
                if not subs:
                    del self.subs[name]

    def control(self, conn: BinanceConnection, payload: bytes) -> None:
        try:
            message = decode_json(payload)
        except msgspec.DecodeError:
            conn.send_text(
                _error(3, "Invalid JSON: expected value at line 1 column 1", with_id=False)
            )
            return
        if not isinstance(message, dict):
            conn.send_text(_error(2, "Invalid request: expected a JSON object", with_id=False))
            return
        req_id = message.get("id")
        if "id" not in message or not valid_request_id(req_id):
            conn.send_text(
                _error(2, "Invalid request: request ID must be an unsigned integer", with_id=False)
            )
            return
        method = message.get("method")
        if method is None:
            conn.send_text(_error(2, "Invalid request: missing field `method`", req_id))
            return
        if method not in _METHODS:
            expected = ", ".join(_METHODS)
            conn.send_text(
                _error(
                    2,
                    f"Invalid request: unknown variant {method}, expected one of {expected}",
                    req_id,
                )
            )
            return
        params = message.get("params", [])
        strings = isinstance(params, list) and all(isinstance(p, str) for p in params)
        if not strings and method != "SET_PROPERTY":
            conn.send_text(_error(2, "Invalid request: invalid type for params", req_id))
            return
        if method == "SUBSCRIBE":
            bad = [p for p in params if parse_stream(p) is None]
            if bad:
                conn.send_text(_error(2, f"Invalid request: invalid stream name {bad[0]}", req_id))
                return
            if len(set(conn.streams) | set(params)) > MAX_STREAMS:
                conn.send_text(_error(2, "Invalid request: too many streams", req_id))
                return
            self.add_streams(conn, params)
            result: Any = None
        elif method == "UNSUBSCRIBE":
            self.remove_streams(conn, params)
            result = None
        elif method == "LIST_SUBSCRIPTIONS":
            result = list(conn.streams)
        else:
            if not params or params[0] != "combined":
                conn.send_text(_error(0, "Unknown property", req_id))
                return
            if method == "GET_PROPERTY":
                result = conn.combined
            else:
                if len(params) != 2 or not isinstance(params[1], bool):
                    conn.send_text(_error(1, "Invalid value type: expected Boolean", req_id))
                    return
                conn.combined = params[1]
                result = None
        conn.send_text(encode_json({"result": result, "id": req_id}))

    # ----- replay -----

    async def _replay(self, conn: BinanceConnection) -> None:
        pacer = Pacer(self.replay_rate)
        for stamp, recorded, frame, data in binance_frames(self.replay):
            stream = recorded
            if stream not in conn.streams:
                # a `@depth` subscriber gets the recorded `@depth@100ms` diffs
                alias = stream.removesuffix("@100ms") if stream.endswith("@depth@100ms") else ""
                if not alias or alias not in conn.streams:
                    continue
                stream = alias
            await pacer.wait(stamp, conn.writable)
            if conn.transport is None:
                return
            if "@depth@" in recorded and self.skip.hit():
                continue
            if not conn.combined:
                conn.send(data)
            elif stream == recorded:
                conn.send(frame)
            else:
                conn.send(b'{"stream":"%s","data":%s}' % (stream.encode(), data))

    # ----- REST -----

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v3/depth", self._rest_depth)
        app.router.add_get("/api/v3/exchangeInfo", self._rest_exchange_info)
        app.router.add_get("/api/v3/time", self._rest_time)
        app.router.add_get("/api/v3/ping", self._rest_ping)

    def _json(self, body: Any, status: int = 200) -> web.Response:
        return web.Response(body=encode_json(body), status=status, content_type="application/json")

    def _unavailable(self) -> web.Response | None:
        if self.system == "online":
            return None
        return self._json({"code": -1016, "msg": "This service is no longer available."}, 503)

    def _symbol(self, request: web.Request) -> Instrument | web.Response:
        symbol = request.query.get("symbol")
        if not symbol:
            return self._json(
                {
                    "code": -1102,
                    "msg": "Mandatory parameter 'symbol' was not sent, was empty/null, or "
                    "malformed.",
                },
                400,
            )
        inst = self.instrument(symbol)
        if inst is None:
            return self._json({"code": -1121, "msg": "Invalid symbol."}, 400)
        return inst

    async def _rest_depth(self, request: web.Request) -> web.Response:
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
            return self._json(
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
            return self._json(body)
        fault = self.snapshot_fault.hit()
        if fault == "snapshot_fail":
            return self._json({"code": -1001, "msg": "Internal error; unable to process."}, 503)
        book = self.engine.book(found.symbol)
        data = b'{"lastUpdateId":%d,"bids":%s,"asks":%s}' % (
            self.feeds[found.symbol].update_id - (1000 if fault == "stale_snapshot" else 0),
            self._levels(found, book.bids.depth(limit)),
            self._levels(found, book.asks.depth(limit)),
        )
        return web.Response(body=data, content_type="application/json")

    async def _rest_exchange_info(self, request: web.Request) -> web.Response:
        if (down := self._unavailable()) is not None:
            return down
        instruments = self.instruments
        wanted = request.query.get("symbol")
        if wanted is not None:
            inst = self.instrument(wanted)
            if inst is None:
                return self._json({"code": -1121, "msg": "Invalid symbol."}, 400)
            instruments = [inst]
        body = {
            "timezone": "UTC",
            "serverTime": _ms(),
            "rateLimits": [
                _limit("REQUEST_WEIGHT", "MINUTE", 1, 6000),
                _limit("ORDERS", "SECOND", 10, 100),
                _limit("ORDERS", "DAY", 1, 200000),
                _limit("RAW_REQUESTS", "MINUTE", 5, 61000),
            ],
            "exchangeFilters": [],
            "symbols": [_symbol_info(i) for i in instruments],
        }
        return self._json(body)

    async def _rest_time(self, request: web.Request) -> web.Response:
        return self._json({"serverTime": _ms()})

    async def _rest_ping(self, request: web.Request) -> web.Response:
        return self._json({})


def _limit(kind: str, interval: str, num: int, limit: int) -> dict[str, Any]:
    return {"rateLimitType": kind, "interval": interval, "intervalNum": num, "limit": limit}


def _wire(value: Decimal) -> str:
    return f"{value.quantize(Decimal(10) ** -WIRE_DECIMALS):f}"


def _symbol_info(inst: Instrument) -> dict[str, Any]:
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
                "maxPrice": _wire(Decimal(1_000_000)),
                "tickSize": _wire(tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": _wire(inst.min_qty),
                "maxQty": _wire(Decimal(9000)),
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
