"""Kraken WS v2 public channels on the simulator: book, trade, ticker, instrument.

Engine level changes are coalesced per event-loop tick. Book subscribers are grouped by
(symbol, depth); each group keeps the top-`depth` view it last published, and an update holds
exactly what changed inside that view: new and changed levels, plus `qty: 0` for levels that
left the book. A level that merely falls below the subscribed depth is not sent (Kraken does
not either): the client truncates. Deletions come before insertions in each side's list, so a
client that truncates after every level (python-kraken-sdk does) stays in sync as well as one
that truncates after every message.

The checksum is Kraken's v2 CRC32 (reference/kraken.md §2) over the top 10 asks then bids.
With integer ticks and lots, "format at the instrument's precision, drop the '.', strip leading
zeros" is exactly `str(units)`, which is what is hashed here.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from ..engine import Book, Instrument, Trade
from ..errors import VenueError
from ..market import FrameFault, MarketVenue, TradeStats, call_soon_once
from ..replay import KrakenBookCapture, Pacer
from ..wire import encode_json, fixed_number, fixed_text, plain_number, rfc3339_us
from .connection import KrakenConnection, Request
from .protocol import array, asset_codes, boolean, integer, string

__all__ = ["BOOK_DEPTHS", "KrakenMarketData", "KrakenTickers", "book_checksum"]

BOOK_DEPTHS: Final = (10, 25, 100, 500, 1000)
TRADE_SNAPSHOT: Final = 50
_INSTRUMENT_WARNINGS: Final = ("tick_size is deprecated, use price_increment",)

Levels = Sequence[tuple[int, int]]


def book_checksum(asks: Levels, bids: Levels) -> int:
    """Kraken v2 book CRC32 of the best 10 asks (ascending) then best 10 bids (descending)."""
    text = "".join(f"{p}{q}" for p, q in asks[:10]) + "".join(f"{p}{q}" for p, q in bids[:10])
    return zlib.crc32(text.encode())


def _diff(old: dict[int, int], new: Levels, live: Iterable[int], is_bid: bool) -> Levels:
    """Changes turning the published view `old` into `new`: removals first, best first."""
    present = dict(new)
    live_prices = set(live)
    gone = [(p, 0) for p in old if p not in present and p not in live_prices]
    changed = [(p, q) for p, q in new if old.get(p) != q]
    gone.sort(reverse=is_bid)
    return gone + changed  # `new` is already best first


def _levels_json(levels: Iterable[tuple[str, str]]) -> bytes:
    """`[{"price":p,"qty":q},...]` from price and quantity texts."""
    return (
        b"["
        + b",".join(b'{"price":%s,"qty":%s}' % (p.encode(), q.encode()) for p, q in levels)
        + b"]"
    )


def _unit_levels(inst: Instrument, levels: Levels) -> bytes:
    pd, qd = inst.price_decimals, inst.qty_decimals
    return _levels_json((fixed_text(p, pd), fixed_text(q, qd)) for p, q in levels)


def _decimal_levels(levels: list[tuple[Decimal, Decimal]], pd: int, qd: int) -> bytes:
    return _levels_json((f"{p:.{pd}f}", f"{q:.{qd}f}") for p, q in levels)


def _book_head(kind: bytes, inst: Instrument, bids: bytes, asks: bytes) -> bytes:
    return b'{"channel":"book","type":"%s","data":[{"symbol":"%s","bids":%s,"asks":%s,' % (
        kind,
        inst.symbol.encode(),
        bids,
        asks,
    )


def _trade_item(trade: Trade) -> dict[str, Any]:
    inst = trade.instrument
    return {
        "symbol": inst.symbol,
        "side": trade.taker_side,
        "price": fixed_number(trade.price, inst.price_decimals),
        "qty": fixed_number(trade.qty, inst.qty_decimals),
        "ord_type": trade.taker_type,
        "trade_id": trade.trade_id,
        "timestamp": rfc3339_us(trade.ts_ns),
    }


def _instrument_message(instruments: list[Instrument]) -> bytes:
    assets = sorted({a for i in instruments for a in (i.base, i.quote)})
    asset_items = []
    for asset in assets:
        decimals = asset_codes(asset)[2]
        asset_items.append(
            {
                "id": asset,
                "status": "enabled",
                "precision": decimals,
                "precision_display": min(decimals, 5),
                "borrowable": False,
                "collateral_value": 1.0 if asset in ("USD", "EUR") else 0.95,
                "margin_rate": 0.0,
            }
        )
    pairs = [
        {
            "symbol": i.symbol,
            "base": i.base,
            "quote": i.quote,
            "status": "online",
            "qty_precision": i.qty_decimals,
            "qty_increment": fixed_number(1, i.qty_decimals),
            "price_precision": i.price_decimals,
            "cost_precision": i.cost_decimals,
            "marginable": False,
            "has_index": True,
            "cost_min": plain_number(i.min_cost),
            "tick_size": fixed_number(i.tick_units, i.price_decimals),
            "price_increment": fixed_number(i.tick_units, i.price_decimals),
            "qty_min": plain_number(i.min_qty),
        }
        for i in instruments
    ]
    data = encode_json({"assets": asset_items, "pairs": pairs})
    return b'{"channel":"instrument","type":"snapshot","data":%s}' % data


class _BookGroup:
    __slots__ = ("asks", "bids", "checksum", "conns", "depth", "inst")

    def __init__(self, inst: Instrument, depth: int, book: Book) -> None:
        self.inst = inst
        self.depth = depth
        self.conns: dict[KrakenConnection, None] = {}
        bids, asks = book.bids.depth(depth), book.asks.depth(depth)
        self.bids = dict(bids)
        self.asks = dict(asks)
        self.checksum = book_checksum(asks, bids)


@dataclass(slots=True)
class _Sub:
    channel: str
    symbol: str
    depth: int = 0
    event_trigger: str = "trades"
    task: asyncio.Task[None] | None = None


class KrakenTickers:
    """Each pair's running figures and best bid/offer: the `ticker` channel and REST `Ticker`."""

    def __init__(self, venue: MarketVenue) -> None:
        self.engine = venue.engine
        self.stats: dict[str, TradeStats] = {}
        self.subs: dict[str, dict[KrakenConnection, str]] = {}  # symbol -> conn -> trigger
        self.bbo: dict[str, tuple[int, int, int, int]] = {}

    def on_trade(self, trade: Trade) -> None:
        self._stats(trade.instrument).add(trade.price, trade.qty)

    def _stats(self, inst: Instrument) -> TradeStats:
        stats = self.stats.get(inst.symbol)
        if stats is None:
            stats = self.stats[inst.symbol] = TradeStats(self.engine.mids[inst.symbol])
        return stats

    def _bbo(self, symbol: str) -> tuple[int, int, int, int]:
        book = self.engine.book(symbol)
        (bid, bid_qty), (ask, ask_qty) = (
            (book.bids.depth(1) or [(0, 0)])[0],
            (book.asks.depth(1) or [(0, 0)])[0],
        )
        return bid, bid_qty, ask, ask_qty

    def add(self, conn: KrakenConnection, inst: Instrument, trigger: str, snapshot: bool) -> None:
        self.subs.setdefault(inst.symbol, {})[conn] = trigger
        self.bbo.setdefault(inst.symbol, self._bbo(inst.symbol))
        if snapshot:
            conn.send_md(self._message(inst, b"snapshot"))

    def remove(self, conn: KrakenConnection, symbol: str) -> None:
        self.subs.get(symbol, {}).pop(conn, None)

    def flush(self, inst: Instrument, traded: bool) -> None:
        """Updates for this tick: `trades` subscribers if it traded, `bbo` ones if that moved."""
        tickers = self.subs.get(inst.symbol)
        if not tickers:
            return
        bbo = self._bbo(inst.symbol)
        bbo_changed = bbo != self.bbo.get(inst.symbol)
        self.bbo[inst.symbol] = bbo
        if not traded and not bbo_changed:
            return
        message = self._message(inst, b"update")
        for conn, trigger in list(tickers.items()):
            if (trigger == "trades" and traded) or (trigger == "bbo" and bbo_changed):
                conn.send_md(message)

    def _message(self, inst: Instrument, kind: bytes) -> bytes:
        stats = self._stats(inst)
        bid, bid_qty, ask, ask_qty = self._bbo(inst.symbol)
        pd, qd = inst.price_decimals, inst.qty_decimals
        vwap = stats.vwap
        change = stats.last - stats.open
        pct = (Decimal(change) * 100 / Decimal(stats.open)).quantize(Decimal("0.01"))
        item = {
            "symbol": inst.symbol,
            "bid": fixed_number(bid, pd),
            "bid_qty": fixed_number(bid_qty, qd),
            "ask": fixed_number(ask, pd),
            "ask_qty": fixed_number(ask_qty, qd),
            "last": fixed_number(stats.last, pd),
            "volume": fixed_number(stats.volume, qd),
            "vwap": fixed_number(vwap, pd),
            "low": fixed_number(stats.low, pd),
            "high": fixed_number(stats.high, pd),
            "change": fixed_number(change, pd),
            "change_pct": fixed_number(int(pct * 100), 2),
        }
        return b'{"channel":"ticker","type":"%s","data":%s}' % (kind, encode_json([item]))

    def rest_ticker(self, inst: Instrument) -> dict[str, Any]:
        """A `Ticker` entry: figures since the simulator started stand for both "today" and
        "last 24 hours"; prices at the pair's decimals, volumes at its lot decimals."""
        stats = self._stats(inst)
        bid, bid_qty, ask, ask_qty = self._bbo(inst.symbol)
        pd, qd = inst.price_decimals, inst.qty_decimals
        vwap = stats.vwap

        def price(units: int) -> str:
            return fixed_text(units, pd)

        def lots(units: int, decimals: int = qd) -> str:
            return fixed_text(units // 10 ** (qd - decimals), decimals)

        volume = lots(stats.volume)
        return {
            "a": [price(ask), lots(ask_qty, 0), lots(ask_qty, 3)],
            "b": [price(bid), lots(bid_qty, 0), lots(bid_qty, 3)],
            "c": [price(stats.last), lots(stats.last_qty)],
            "v": [volume, volume],
            "p": [price(vwap), price(vwap)],
            "t": [stats.count, stats.count],
            "l": [price(stats.low), price(stats.low)],
            "h": [price(stats.high), price(stats.high)],
            "o": price(stats.open),
        }


class KrakenMarketData:
    """The public channels of one Kraken venue, and the REST views of its books."""

    def __init__(self, venue: MarketVenue) -> None:
        self.venue = venue
        self.engine = venue.engine
        self.tickers = KrakenTickers(venue)
        self.groups: dict[tuple[str, int], _BookGroup] = {}
        self.subs: dict[KrakenConnection, dict[tuple[str, str], _Sub]] = {}
        self.trade_subs: dict[str, dict[KrakenConnection, None]] = {}
        self.recent: dict[str, deque[Trade]] = {}
        self.checksum_fault = FrameFault()
        self.replay: KrakenBookCapture | None = None
        self.replay_rate = 1.0
        # symbol -> (bid levels, ask levels): price -> epoch second of its last change (REST Depth)
        self.level_times: dict[str, tuple[dict[int, int], dict[int, int]]] = {}
        self._dirty: set[str] = set()
        self._trades: dict[str, list[Trade]] = {}
        self._scheduled = False
        self.engine.level_listeners.append(self._on_level)
        self.engine.trade_listeners.append(self._on_trade)

    # ----- engine events -----

    def _on_level(self, inst: Instrument, side: str, price: int, qty: int) -> None:
        if inst.venue == "kraken":
            times = self.level_times.setdefault(inst.symbol, ({}, {}))[side == "ask"]
            if qty:
                times[price] = int(time.time())
            else:
                times.pop(price, None)
            self._dirty.add(inst.symbol)
            self._schedule()

    def _on_trade(self, trade: Trade) -> None:
        inst = trade.instrument
        if inst.venue != "kraken":
            return
        self.recent.setdefault(inst.symbol, deque(maxlen=TRADE_SNAPSHOT)).append(trade)
        self.tickers.on_trade(trade)
        self._trades.setdefault(inst.symbol, []).append(trade)
        self._schedule()

    def _schedule(self) -> None:
        # Engine driven outside a loop: published with the next change.
        call_soon_once(self, "_scheduled", self.flush)

    def flush(self) -> None:
        """Publish what changed since the last tick: book updates, then trades, then tickers."""
        self._scheduled = False
        dirty, self._dirty = self._dirty, set()
        trades, self._trades = self._trades, {}
        for symbol in dirty:
            self._flush_book(symbol)
        for symbol in dirty | set(trades):
            self._flush_trades(symbol, trades.get(symbol, []))

    def _flush_book(self, symbol: str) -> None:
        groups = [g for (s, _), g in self.groups.items() if s == symbol]
        if not groups:
            return
        book = self.engine.book(symbol)
        checksum = book_checksum(book.asks.depth(10), book.bids.depth(10))
        stamp = rfc3339_us(time.time_ns())
        for group in groups:
            bids, asks = book.bids.depth(group.depth), book.asks.depth(group.depth)
            bid_changes = _diff(group.bids, bids, book.bids.levels, is_bid=True)
            ask_changes = _diff(group.asks, asks, book.asks.levels, is_bid=False)
            group.bids, group.asks, group.checksum = dict(bids), dict(asks), checksum
            if bid_changes or ask_changes:
                self._send_book(
                    group.conns, group.inst, b"update", bid_changes, ask_changes, checksum, stamp
                )

    def _send_book(
        self,
        conns: Iterable[KrakenConnection],
        inst: Instrument,
        kind: bytes,
        bids: Levels,
        asks: Levels,
        checksum: int,
        stamp: str,
    ) -> None:
        head = _book_head(kind, inst, _unit_levels(inst, bids), _unit_levels(inst, asks))
        tail = b',"timestamp":"%s"}]}' % stamp.encode()
        good = head + b'"checksum":%d' % checksum + tail
        for conn in list(conns):
            if self.checksum_fault.hit():
                conn.send_md(head + b'"checksum":%d' % (checksum ^ 0x5A5A5A5A) + tail)
            else:
                conn.send_md(good)

    def _flush_trades(self, symbol: str, trades: list[Trade]) -> None:
        if trades and (subs := self.trade_subs.get(symbol)):
            data = encode_json([_trade_item(t) for t in trades])
            message = b'{"channel":"trade","type":"update","data":%s}' % data
            for conn in list(subs):
                conn.send_md(message)
        self.tickers.flush(self.engine.instrument(symbol), bool(trades))

    # ----- REST view (`/0/public/Depth`) -----

    def rest_depth(self, inst: Instrument, count: int) -> dict[str, Any]:
        """A `Depth` entry: the best `count` levels a side as [price, volume, timestamp]."""
        book = self.engine.book(inst.symbol)
        bid_times, ask_times = self.level_times.get(inst.symbol, ({}, {}))
        now = int(time.time())
        pd, qd = inst.price_decimals, inst.qty_decimals

        def rows(levels: Levels, times: dict[int, int]) -> list[list[Any]]:
            return [[fixed_text(p, pd), fixed_text(q, qd), times.get(p, now)] for p, q in levels]

        return {
            "asks": rows(book.asks.depth(count), ask_times),
            "bids": rows(book.bids.depth(count), bid_times),
        }

    # ----- subscribe / unsubscribe -----

    def has_subscriptions(self, conn: KrakenConnection) -> bool:
        return bool(self.subs.get(conn))

    def subscribe(self, conn: KrakenConnection, req: Request, channel: str) -> None:
        params = req.params
        if channel == "instrument":
            snapshot = boolean(params, "snapshot", True)
            self._add(conn, _Sub("instrument", ""))
            warnings = list(_INSTRUMENT_WARNINGS)
            conn.reply(req, {"channel": "instrument", "snapshot": snapshot, "warnings": warnings})
            if snapshot:
                conn.send_md(_instrument_message(self.venue.instruments))
            return
        if channel not in ("book", "trade", "ticker"):
            raise VenueError(f"EGeneral:Internal error:channel {channel} is not simulated yet")
        symbols = array(params, "symbol")
        if not symbols:
            raise VenueError("Symbol field must be an array")
        depth = 0
        if channel == "book":
            depth = integer(params, "depth") or 10
            if depth not in BOOK_DEPTHS:
                raise VenueError("Subscription depth not supported")
        snapshot = boolean(params, "snapshot", True)
        trigger = "trades"
        if channel == "ticker":
            trigger = string(params, "event_trigger") or "trades"
            if trigger not in ("trades", "bbo"):
                raise VenueError("EGeneral:Invalid arguments:event_trigger")
        for symbol in symbols:
            try:
                inst = self._instrument(symbol)
                sub = _Sub(channel, inst.symbol, depth, trigger)
                self._check_replay_depth(sub)
                self._add(conn, sub)
            except VenueError as exc:
                conn.reply_error(req, exc.message)
                continue
            ack: dict[str, Any] = {"channel": channel}
            if channel == "book":
                ack["depth"] = depth
            if channel == "ticker":
                ack["event_trigger"] = trigger
            ack["snapshot"] = snapshot
            ack["symbol"] = inst.symbol
            conn.reply(req, ack)
            self._start(conn, sub, inst, snapshot)

    def unsubscribe(self, conn: KrakenConnection, req: Request, channel: str) -> None:
        if channel == "instrument":
            if self.subs.get(conn, {}).pop(("instrument", ""), None) is None:
                raise VenueError("Subscription Not Found")
            conn.reply(req, {"channel": "instrument"})
            return
        symbols = array(req.params, "symbol")
        if not symbols:
            raise VenueError("Symbol field must be an array")
        for symbol in symbols:
            sub = self.subs.get(conn, {}).get((channel, str(symbol)))
            if sub is None:
                conn.reply_error(req, "Subscription Not Found")
                continue
            self._remove(conn, sub)
            result: dict[str, Any] = {"channel": channel}
            if channel == "book":
                result["depth"] = integer(req.params, "depth") or sub.depth
            result["symbol"] = sub.symbol
            conn.reply(req, result)

    def forget(self, conn: KrakenConnection) -> None:
        for sub in list(self.subs.get(conn, {}).values()):
            self._remove(conn, sub)
        self.subs.pop(conn, None)

    def _instrument(self, symbol: Any) -> Instrument:
        inst = self.engine.instruments.get(symbol) if isinstance(symbol, str) else None
        if inst is None or inst.venue != "kraken":
            raise VenueError(f"Currency pair not supported {symbol}")
        return inst

    def _check_replay_depth(self, sub: _Sub) -> None:
        replay = self.replay
        book = sub.channel == "book" and replay is not None and sub.symbol == replay.symbol
        if book and replay is not None and sub.depth != replay.depth:
            raise VenueError("Subscription depth not supported")

    def _add(self, conn: KrakenConnection, sub: _Sub) -> None:
        subs = self.subs.setdefault(conn, {})
        key = (sub.channel, sub.symbol)
        if key in subs:
            raise VenueError("Already subscribed")
        subs[key] = sub

    def _start(self, conn: KrakenConnection, sub: _Sub, inst: Instrument, snapshot: bool) -> None:
        symbol = inst.symbol
        if sub.channel == "book":
            if self.replay is not None and symbol == self.replay.symbol:
                sub.task = asyncio.get_running_loop().create_task(
                    self._replay_book(conn, inst, self.replay, snapshot),
                    name=f"hftpy-sim-kraken-replay {symbol}",
                )
                return
            key = (symbol, sub.depth)
            group = self.groups.get(key)
            if group is None:
                group = self.groups[key] = _BookGroup(inst, sub.depth, self.engine.book(symbol))
            group.conns[conn] = None
            if snapshot:
                bids = sorted(group.bids.items(), reverse=True)
                asks = sorted(group.asks.items())
                stamp = rfc3339_us(time.time_ns())
                self._send_book((conn,), inst, b"snapshot", bids, asks, group.checksum, stamp)
        elif sub.channel == "trade":
            self.trade_subs.setdefault(symbol, {})[conn] = None
            if snapshot:
                items = [_trade_item(t) for t in self.recent.get(symbol, ())]
                data = encode_json(items)
                conn.send_md(b'{"channel":"trade","type":"snapshot","data":%s}' % data)
        elif sub.channel == "ticker":
            self.tickers.add(conn, inst, sub.event_trigger, snapshot)

    def _remove(self, conn: KrakenConnection, sub: _Sub) -> None:
        self.subs.get(conn, {}).pop((sub.channel, sub.symbol), None)
        if sub.task is not None:
            sub.task.cancel()
        if sub.channel == "book":
            key = (sub.symbol, sub.depth)
            group = self.groups.get(key)
            if group is not None:
                group.conns.pop(conn, None)
                if not group.conns:
                    del self.groups[key]
        elif sub.channel == "trade":
            self.trade_subs.get(sub.symbol, {}).pop(conn, None)
        elif sub.channel == "ticker":
            self.tickers.remove(conn, sub.symbol)

    # ----- replay of a recorded book -----

    async def _replay_book(
        self, conn: KrakenConnection, inst: Instrument, capture: KrakenBookCapture, snapshot: bool
    ) -> None:
        pacer = Pacer(self.replay_rate)
        pd, qd = inst.price_decimals, inst.qty_decimals
        for ns, kind, bids, asks, checksum, stamp in capture.messages:
            if kind == "snapshot" and not snapshot:
                continue
            await pacer.wait(ns)
            bid_json, ask_json = _decimal_levels(bids, pd, qd), _decimal_levels(asks, pd, qd)
            head = _book_head(kind.encode(), inst, bid_json, ask_json)
            tail = b',"timestamp":"%s"}]}' % stamp.encode() if stamp else b"}]}"
            if self.checksum_fault.hit():
                checksum ^= 0x5A5A5A5A
            conn.send_md(head + b'"checksum":%d' % checksum + tail)
