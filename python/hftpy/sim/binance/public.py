"""Binance spot market data on loopback: streams (raw and combined) and the public REST calls.

Streams (`binance_stream` port): `/ws/<stream>[/<stream>...]` raw, `/stream?streams=a/b`
combined (`{"stream","data"}` wrapper), bare `/ws` or `/stream` plus `SUBSCRIBE`; live
`SUBSCRIBE` / `UNSUBSCRIBE` / `LIST_SUBSCRIPTIONS` / `SET_PROPERTY` / `GET_PROPERTY` with
Binance's acks and error frames (reference/binance.md §1-2; streams.py). Streams:
`<sym>@depth[@100ms]` (diff `depthUpdate`), `<sym>@depth5|10|20[@100ms]` (partial book),
`@trade`, `@aggTrade`, `@bookTicker`. The server pings every 20 s and drops a peer whose pong
is 20 s late (Binance: 60 s).

REST (`binance_rest` port): `/api/v3/depth`, `/api/v3/exchangeInfo`, `/api/v3/time`,
`/api/v3/ping` (public_rest.py). Update ids are one counter per symbol (see `DepthFeed`), so a
client that follows Binance's documented sync procedure (buffer, snapshot, drop
`u <= lastUpdateId`, apply) keeps an exact book. Alone, this venue answers 404 on the
`binance_ws_api` port; `BinanceTradingVenue` (venue.py) serves the WS API there.

Replay (`replay=[files]`): each connection gets the recorded frames of the streams it
subscribes to, paced by their receive stamps; `/api/v3/depth` serves the capture's snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar, Final

from aiohttp import web
from picows import WSUpgradeRequest

from ..engine import Engine, Instrument, Trade
from ..faults import MARKET_FAULTS, SKIP_SEQUENCE, SNAPSHOT_FAULTS, Fault, FaultTable, fault_table
from ..market import DepthFeed, MarketVenue, StreamConnection, call_soon_once, periodic
from ..replay import Pacer, binance_frames, binance_snapshot
from ..wire import now_ms
from .public_rest import MarketRest
from .streams import BinanceConnection, Subscriptions
from .text import levels_json, price_text, qty_text

__all__ = ["FAULTS", "BinanceVenue"]

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
PARTIAL_LEVELS: Final = (5, 10, 20)
_SPEEDS: Final = ("100ms", "1000ms")


class BinanceVenue(MarketVenue):
    """Binance market data: engine book and trade events out as stream frames."""

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
        self.subs = Subscriptions(self._start_replay)
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
        self.market_rest = MarketRest(self, self.feeds, self.replay_snapshot)
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
            stream = f"{symbol.lower()}@bookTicker"
            if stream not in self.subs:
                continue
            inst = self.engine.instrument(symbol)
            data = b'{"u":%d,"s":"%s","b":"%s","B":"%s","a":"%s","A":"%s"}' % (
                self.feeds[symbol].update_id,
                symbol.encode(),
                price_text(inst, bbo[0]).encode(),
                qty_text(inst, bbo[1]).encode(),
                price_text(inst, bbo[2]).encode(),
                qty_text(inst, bbo[3]).encode(),
            )
            self.subs.fan_out(stream, data)

    def _publish_trade(self, trade: Trade) -> None:
        inst = trade.instrument
        lower = inst.symbol.lower()
        now = now_ms()
        stamp = trade.ts_ns // 1_000_000
        price = price_text(inst, trade.price).encode()
        qty = qty_text(inst, trade.qty).encode()
        buyer_maker = b"true" if trade.taker_side == "sell" else b"false"
        if f"{lower}@trade" in self.subs:
            data = (
                b'{"e":"trade","E":%d,"s":"%s","t":%d,"p":"%s","q":"%s","T":%d,"m":%s,"M":true}'
                % (now, inst.symbol.encode(), trade.trade_id, price, qty, stamp, buyer_maker)
            )
            self.subs.fan_out(f"{lower}@trade", data)
        self.agg_ids[inst.symbol] += 1
        if f"{lower}@aggTrade" in self.subs:
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
            self.subs.fan_out(f"{lower}@aggTrade", data)

    def background(self) -> list[Any]:
        # Diff and partial-depth streams on their 100 ms / 1000 ms cadences.
        return [periodic(0.1, self._publish)]

    def _publish(self, tick: int) -> None:
        speeds = ("100ms", "1000ms") if tick % 10 == 0 else ("100ms",)
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
                now_ms(),
                symbol.encode(),
                first,
                last,
                self._with_extra(symbol, "bid", levels_json(inst, bids)),
                self._with_extra(symbol, "ask", levels_json(inst, asks)),
            )
            for conn, name in subs:
                if conn.replaying:
                    continue
                if self.skip.hit():
                    continue  # skip_sequence: this client never sees these ids
                conn.push(name, data)
        for levels in PARTIAL_LEVELS:
            name = f"{lower}@depth{levels}" + ("@100ms" if speed == "100ms" else "")
            if name not in self.subs:
                continue
            book = self.engine.book(symbol)
            data = b'{"lastUpdateId":%d,"bids":%s,"asks":%s}' % (
                feed.update_id,
                levels_json(inst, book.bids.depth(levels)),
                levels_json(inst, book.asks.depth(levels)),
            )
            self.subs.fan_out(name, data)

    def _diff_subs(self, lower: str, speed: str) -> list[tuple[BinanceConnection, str]]:
        names = (
            (f"{lower}@depth@100ms",)
            if speed == "100ms"
            else (f"{lower}@depth", f"{lower}@depth@1000ms")
        )
        return [(conn, name) for name in names for conn in self.subs.of(name)]

    # ----- connections -----

    def listener(self, endpoint: str, request: WSUpgradeRequest) -> StreamConnection | None:
        if endpoint != "stream":
            return None  # binance_ws_api: served by BinanceTradingVenue
        path, _, query = request.path.decode("latin-1").partition("?")
        path = path.rstrip("/")
        if path == "/ws" or path.startswith("/ws/"):
            names = [n for n in path[4:].split("/") if n]
            return BinanceConnection(self, self.subs, path, False, names)
        if path == "/stream":
            names = []
            for part in query.split("&"):
                key, _, value = part.partition("=")
                if key == "streams":
                    names = [n for n in value.split("/") if n]
            return BinanceConnection(self, self.subs, path, True, names)
        return None

    # ----- replay -----

    def _start_replay(self, conn: BinanceConnection) -> None:
        """A connection that subscribed to something gets the capture, once."""
        if self.replay and conn.streams and not conn.replaying:
            conn.replaying = True
            conn.spawn(self._replay(conn), f"hftpy-sim-binance-replay {conn.path}")

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
        self.market_rest.routes(app)
