"""Backpack market data on loopback: the public WS streams (reference A1-A3).

WS (`backpack_ws` port, path `/`): `{"method":"SUBSCRIBE"|"UNSUBSCRIBE","params":[...]}` with
streams `depth.<sym>` (real time, coalesced per loop tick), `depth.200ms|600ms|1000ms.<sym>`,
`trade.<sym>`, `bookTicker.<sym>`, `ticker.<sym>` (about once a second). Every frame is
wrapped as `{"stream","data"}`; `E`/`T` are microseconds, prices and sizes decimal strings at
the market's precision. No ack on success (none is documented); a bad stream name gets
`{"id":…,"error":{"code":4006,"message":"Invalid stream"}}`. The server pings every 60 s and
closes a peer that has not answered within two minutes.

The public REST endpoints are `BackpackMarketRest`'s (`public_rest.py`), over the same depth
feeds and tickers.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

import msgspec
from aiohttp import web
from picows import WSUpgradeRequest

from ..engine import Engine, Instrument, Trade
from ..faults import MARKET_FAULTS, SKIP_SEQUENCE, SNAPSHOT_FAULTS, FaultTable, fault_table
from ..market import DepthFeed, MarketVenue, StreamConnection, call_soon_once, periodic
from ..wire import decode_json, encode_json, fixed_text, now_us
from .public_rest import BackpackMarketRest, Ticker, levels

__all__ = ["FAULTS", "BackpackConnection", "BackpackVenue"]

FAULTS: Final = fault_table(MARKET_FAULTS, SKIP_SEQUENCE, SNAPSHOT_FAULTS)
_SPEEDS: Final = ("rt", "200ms", "600ms", "1000ms")
_KINDS: Final = ("depth", "trade", "bookTicker", "ticker")
_ORDER_ID_BASE: Final = 111_063_114_000_000_000


class BackpackConnection(StreamConnection):
    def __init__(self, venue: BackpackVenue, path: str) -> None:
        super().__init__(venue, path)
        self.bvenue = venue
        self.streams: dict[str, None] = {}

    def closed(self) -> None:
        self.bvenue.unsubscribe(self, list(self.streams))

    def on_message(self, payload: bytes) -> None:
        self.bvenue.control(self, payload)


class BackpackVenue(MarketVenue):
    name: ClassVar[str] = "backpack"
    FAULTS: ClassVar[FaultTable] = FAULTS
    WS_ENDPOINTS: ClassVar[tuple[tuple[str, float, float], ...]] = (("ws", 60.0, 60.0),)

    def __init__(self, engine: Engine, *, host: str = "127.0.0.1") -> None:
        super().__init__(engine, host=host)
        self.feeds = {i.symbol: DepthFeed(_SPEEDS) for i in self.instruments}
        self.subs: dict[str, dict[BackpackConnection, None]] = {}
        self.bbo: dict[str, tuple[int, int, int, int]] = {}
        self.tickers = {i.symbol: Ticker(engine.mids[i.symbol]) for i in self.instruments}
        self.market_rest = BackpackMarketRest(self, self.feeds, self.tickers)
        self._dirty: set[str] = set()
        self._trades: list[Trade] = []
        self._tick_scheduled = False
        engine.level_listeners.append(self._on_level)
        engine.trade_listeners.append(self._on_trade)

    # ----- engine events -----

    def _on_level(self, inst: Instrument, side: str, price: int, qty: int) -> None:
        feed = self.feeds.get(inst.symbol)
        if feed is not None and inst.venue == self.name:
            feed.change(side, price, qty)
            self._dirty.add(inst.symbol)
            call_soon_once(self, "_tick_scheduled", self._tick)

    def _on_trade(self, trade: Trade) -> None:
        inst = trade.instrument
        if inst.venue != self.name:
            return
        self.tickers[inst.symbol].add(trade.price, trade.qty)
        self._trades.append(trade)
        call_soon_once(self, "_tick_scheduled", self._tick)

    def _tick(self) -> None:
        self._tick_scheduled = False
        dirty, self._dirty = self._dirty, set()
        for symbol in dirty:
            self._publish_depth(symbol, "rt")
        trades, self._trades = self._trades, []
        for trade in trades:
            self._publish_trade(trade)
        for symbol in dirty:
            self._publish_bbo(symbol)

    def _publish_depth(self, symbol: str, speed: str) -> None:
        taken = self.feeds[symbol].take(speed)
        name = f"depth.{symbol}" if speed == "rt" else f"depth.{speed}.{symbol}"
        subs = self.subs.get(name)
        if taken is None or not subs:
            return
        first, last, bids, asks = taken
        inst = self.engine.instrument(symbol)
        now = now_us()
        data = b'{"e":"depth","E":%d,"s":"%s","a":%s,"b":%s,"U":%d,"u":%d,"T":%d}' % (
            now,
            symbol.encode(),
            levels(inst, sorted(asks)),
            levels(inst, sorted(bids)),
            first,
            last,
            now,
        )
        frame = _wrap(name, data)
        for conn in list(subs):
            if not self.skip.hit():  # skip_sequence: this client never sees these ids
                conn.send(frame)

    def _publish_trade(self, trade: Trade) -> None:
        inst = trade.instrument
        name = f"trade.{inst.symbol}"
        if not self.subs.get(name):
            return
        stamp = trade.ts_ns // 1000
        maker_id = _ORDER_ID_BASE + 2 * trade.trade_id
        buyer, seller = (
            (maker_id + 1, maker_id)
            if trade.taker_side == "buy"
            else (
                maker_id,
                maker_id + 1,
            )
        )
        data = (
            b'{"e":"trade","E":%d,"s":"%s","p":"%s","q":"%s","b":"%d","a":"%d","t":%d,'
            b'"T":%d,"m":%s}'
            % (
                now_us(),
                inst.symbol.encode(),
                fixed_text(trade.price, inst.price_decimals).encode(),
                fixed_text(trade.qty, inst.qty_decimals).encode(),
                buyer,
                seller,
                trade.trade_id,
                stamp,
                b"true" if trade.taker_side == "sell" else b"false",
            )
        )
        self._fan_out(name, data)

    def _publish_bbo(self, symbol: str) -> None:
        book = self.engine.book(symbol)
        bid = (book.bids.depth(1) or [(0, 0)])[0]
        ask = (book.asks.depth(1) or [(0, 0)])[0]
        bbo = (*bid, *ask)
        if bbo == self.bbo.get(symbol):
            return
        self.bbo[symbol] = bbo
        name = f"bookTicker.{symbol}"
        if not self.subs.get(name):
            return
        inst = self.engine.instrument(symbol)
        pd, qd = inst.price_decimals, inst.qty_decimals
        now = now_us()
        data = (
            b'{"e":"bookTicker","E":%d,"s":"%s","a":"%s","A":"%s","b":"%s","B":"%s",'
            b'"u":"%d","T":%d}'
            % (
                now,
                symbol.encode(),
                fixed_text(bbo[2], pd).encode(),
                fixed_text(bbo[3], qd).encode(),
                fixed_text(bbo[0], pd).encode(),
                fixed_text(bbo[1], qd).encode(),
                self.feeds[symbol].update_id,
                now,
            )
        )
        self._fan_out(name, data)

    def _fan_out(self, name: str, data: bytes) -> None:
        frame = _wrap(name, data)
        for conn in list(self.subs.get(name, ())):
            conn.send(frame)

    def background(self) -> list[Any]:
        return [periodic(0.2, self._periodic)]

    def _periodic(self, tick: int) -> None:
        """Buffered depth streams on 200/600/1000 ms, tickers every second."""
        for symbol in self.feeds:
            self._publish_depth(symbol, "200ms")
            if tick % 3 == 0:
                self._publish_depth(symbol, "600ms")
            if tick % 5 == 0:
                self._publish_depth(symbol, "1000ms")
                self._publish_ticker(symbol)

    def _publish_ticker(self, symbol: str) -> None:
        name = f"ticker.{symbol}"
        if not self.subs.get(name):
            return
        inst = self.engine.instrument(symbol)
        t = self.tickers[symbol]
        pd, qd = inst.price_decimals, inst.qty_decimals
        data = encode_json(
            {
                "e": "ticker",
                "E": now_us(),
                "s": symbol,
                "o": fixed_text(t.open, pd),
                "c": fixed_text(t.last, pd),
                "h": fixed_text(t.high, pd),
                "l": fixed_text(t.low, pd),
                "v": fixed_text(t.volume, qd),
                "V": fixed_text(t.quote_volume, pd + qd),
                "n": t.count,
            }
        )
        self._fan_out(name, data)

    # ----- connections -----

    def listener(self, endpoint: str, request: WSUpgradeRequest) -> StreamConnection | None:
        path = request.path.decode("latin-1").partition("?")[0]
        if path.rstrip("/"):
            return None
        return BackpackConnection(self, path)

    def _valid_stream(self, name: Any) -> bool:
        if not isinstance(name, str):
            return False
        kind, _, rest = name.partition(".")
        if kind not in _KINDS:
            return False
        speed, dot, symbol = rest.partition(".")
        if not dot:
            symbol = rest
        elif kind != "depth" or speed not in _SPEEDS[1:]:
            return False
        return self.instrument(symbol) is not None

    def control(self, conn: BackpackConnection, payload: bytes) -> None:
        try:
            message = decode_json(payload)
        except msgspec.DecodeError:
            message = None
        req_id = message.get("id") if isinstance(message, dict) else None
        method = message.get("method") if isinstance(message, dict) else None
        params = message.get("params") if isinstance(message, dict) else None
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            error = {"code": 4000, "message": "Invalid request"}
            conn.send(encode_json({"id": req_id, "error": error}))
            return
        if not all(self._valid_stream(p) for p in params):
            error = {"code": 4006, "message": "Invalid stream"}
            conn.send(encode_json({"id": req_id, "error": error}))
            return
        if method == "SUBSCRIBE":
            for name in params:
                conn.streams[name] = None
                self.subs.setdefault(name, {})[conn] = None
        else:
            self.unsubscribe(conn, params)

    def unsubscribe(self, conn: BackpackConnection, names: list[str]) -> None:
        for name in names:
            conn.streams.pop(name, None)
            subs = self.subs.get(name)
            if subs is not None:
                subs.pop(conn, None)
                if not subs:
                    del self.subs[name]

    # ----- REST -----

    def routes(self, app: web.Application) -> None:
        self.market_rest.routes(app)


def _wrap(name: str, data: bytes) -> bytes:
    return b'{"stream":"%s","data":%s}' % (name.encode(), data)
