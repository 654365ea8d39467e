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

import msgspec

from .engine import Book, Instrument, Trade
from .kraken import (
    KrakenConnection,
    KrakenVenue,
    RequestError,
    _asset_codes,
    _boolean,
    _integer,
    _list,
    _Request,
    _string,
)
from .market import FrameFault
from .replay import KrakenBookCapture, Pacer
from .wire import encode_json, fixed_number, fixed_text, rfc3339_us

__all__ = ["BOOK_DEPTHS", "KrakenMarketData", "book_checksum"]

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
class _Stats:
    """Running figures behind the ticker (since the simulator started, standing in for 24 h)."""

    open: int
    last: int
    low: int
    high: int
    volume: int = 0  # lots
    notional: int = 0  # price units x lots
    trades: int = 0
    last_qty: int = 0  # lots of the last trade


@dataclass(slots=True)
class _Sub:
    channel: str
    symbol: str
    depth: int = 0
    event_trigger: str = "trades"
    task: asyncio.Task[None] | None = None


def _levels_json(inst: Instrument, levels: Levels) -> bytes:
    pd, qd = inst.price_decimals, inst.qty_decimals
    return (
        b"["
        + b",".join(
            b'{"price":%s,"qty":%s}' % (fixed_text(p, pd).encode(), fixed_text(q, qd).encode())
            for p, q in levels
        )
        + b"]"
    )


class KrakenMarketData:
    """The public channels of one KrakenVenue."""

    def __init__(self, venue: KrakenVenue) -> None:
        self.venue = venue
        self.engine = venue.engine
        self.groups: dict[tuple[str, int], _BookGroup] = {}
        self.subs: dict[KrakenConnection, dict[tuple[str, str], _Sub]] = {}
        self.trade_subs: dict[str, dict[KrakenConnection, None]] = {}
        self.ticker_subs: dict[str, dict[KrakenConnection, str]] = {}
        self.recent: dict[str, deque[Trade]] = {}
        self.stats: dict[str, _Stats] = {}
        self.bbo: dict[str, tuple[int, int, int, int]] = {}
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
        stats = self._stats(inst)
        stats.last = trade.price
        stats.low = min(stats.low, trade.price)
        stats.high = max(stats.high, trade.price)
        stats.volume += trade.qty
        stats.notional += trade.price * trade.qty
        stats.trades += 1
        stats.last_qty = trade.qty
        self._trades.setdefault(inst.symbol, []).append(trade)
        self._schedule()

    def _stats(self, inst: Instrument) -> _Stats:
        stats = self.stats.get(inst.symbol)
        if stats is None:
            mid = self.engine.mids[inst.symbol]
            stats = self.stats[inst.symbol] = _Stats(mid, mid, mid, mid)
        return stats

    def _schedule(self) -> None:
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # engine driven outside a loop: published with the next change
            return
        self._scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Publish what changed since the last tick: book updates, then trades, then tickers."""
        self._scheduled = False
        dirty, self._dirty = self._dirty, set()
        trades, self._trades = self._trades, {}
        for symbol in dirty:
            self._flush_book(symbol)
        for symbol in dirty | set(trades):
            self._flush_trades_and_ticker(symbol, trades.get(symbol, []))

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
        head = b'{"channel":"book","type":"%s","data":[{"symbol":"%s","bids":%s,"asks":%s,' % (
            kind,
            inst.symbol.encode(),
            _levels_json(inst, bids),
            _levels_json(inst, asks),
        )
        tail = b',"timestamp":"%s"}]}' % stamp.encode()
        good = head + b'"checksum":%d' % checksum + tail
        for conn in list(conns):
            if self.checksum_fault.hit():
                conn.send_md(head + b'"checksum":%d' % (checksum ^ 0x5A5A5A5A) + tail)
            else:
                conn.send_md(good)

    def _flush_trades_and_ticker(self, symbol: str, trades: list[Trade]) -> None:
        inst = self.engine.instrument(symbol)
        if trades and (subs := self.trade_subs.get(symbol)):
            data = encode_json([_trade_item(t) for t in trades])
            message = b'{"channel":"trade","type":"update","data":%s}' % data
            for conn in list(subs):
                conn.send_md(message)
        tickers = self.ticker_subs.get(symbol)
        if not tickers:
            return
        book = self.engine.book(symbol)
        bbo = self._bbo(book)
        bbo_changed = bbo != self.bbo.get(symbol)
        self.bbo[symbol] = bbo
        if not trades and not bbo_changed:
            return
        message = self._ticker_message(inst, b"update")
        for conn, trigger in list(tickers.items()):
            if (trigger == "trades" and trades) or (trigger == "bbo" and bbo_changed):
                conn.send_md(message)

    @staticmethod
    def _bbo(book: Book) -> tuple[int, int, int, int]:
        (bid, bid_qty), (ask, ask_qty) = (
            (book.bids.depth(1) or [(0, 0)])[0],
            (book.asks.depth(1) or [(0, 0)])[0],
        )
        return bid, bid_qty, ask, ask_qty

    def _ticker_message(self, inst: Instrument, kind: bytes) -> bytes:
        stats = self._stats(inst)
        bid, bid_qty, ask, ask_qty = self._bbo(self.engine.book(inst.symbol))
        pd, qd = inst.price_decimals, inst.qty_decimals
        vwap = (2 * stats.notional + stats.volume) // (2 * stats.volume) if stats.volume else 0
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

    # ----- REST views (`/0/public/Ticker`, `/0/public/Depth`) -----

    def rest_ticker(self, inst: Instrument) -> dict[str, Any]:
        """A `Ticker` entry: figures since the simulator started stand for both "today" and
        "last 24 hours"; prices at the pair's decimals, volumes at its lot decimals."""
        stats = self._stats(inst)
        bid, bid_qty, ask, ask_qty = self._bbo(self.engine.book(inst.symbol))
        pd, qd = inst.price_decimals, inst.qty_decimals
        vwap = (2 * stats.notional + stats.volume) // (2 * stats.volume) if stats.volume else 0

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
            "t": [stats.trades, stats.trades],
            "l": [price(stats.low), price(stats.low)],
            "h": [price(stats.high), price(stats.high)],
            "o": price(stats.open),
        }

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

    def subscribe(self, conn: KrakenConnection, req: _Request, channel: str) -> None:
        params = req.params
        if channel == "instrument":
            snapshot = _boolean(params, "snapshot", True)
            self._add(conn, _Sub("instrument", ""))
            warnings = list(_INSTRUMENT_WARNINGS)
            conn.reply(req, {"channel": "instrument", "snapshot": snapshot, "warnings": warnings})
            if snapshot:
                conn.send_md(self._instrument_message())
            return
        if channel not in ("book", "trade", "ticker"):
            raise RequestError(f"EGeneral:Internal error:channel {channel} is not simulated yet")
        symbols = _list(params, "symbol")
        if not symbols:
            raise RequestError("Symbol field must be an array")
        depth = 0
        if channel == "book":
            depth = _integer(params, "depth") or 10
            if depth not in BOOK_DEPTHS:
                raise RequestError("Subscription depth not supported")
        default_snapshot = True
        snapshot = _boolean(params, "snapshot", default_snapshot)
        trigger = "trades"
        if channel == "ticker":
            trigger = _string(params, "event_trigger") or "trades"
            if trigger not in ("trades", "bbo"):
                raise RequestError("EGeneral:Invalid arguments:event_trigger")
        for symbol in symbols:
            try:
                inst = self._instrument(symbol)
                sub = _Sub(channel, inst.symbol, depth, trigger)
                self._check_replay_depth(sub)
                self._add(conn, sub)
            except RequestError as exc:
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

    def unsubscribe(self, conn: KrakenConnection, req: _Request, channel: str) -> None:
        if channel == "instrument":
            if self.subs.get(conn, {}).pop(("instrument", ""), None) is None:
                raise RequestError("Subscription Not Found")
            conn.reply(req, {"channel": "instrument"})
            return
        symbols = _list(req.params, "symbol")
        if not symbols:
            raise RequestError("Symbol field must be an array")
        for symbol in symbols:
            sub = self.subs.get(conn, {}).get((channel, str(symbol)))
            if sub is None:
                conn.reply_error(req, "Subscription Not Found")
                continue
            self._remove(conn, sub)
            result: dict[str, Any] = {"channel": channel}
            if channel == "book":
                result["depth"] = _integer(req.params, "depth") or sub.depth
            result["symbol"] = sub.symbol
            conn.reply(req, result)

    def forget(self, conn: KrakenConnection) -> None:
        for sub in list(self.subs.get(conn, {}).values()):
            self._remove(conn, sub)
        self.subs.pop(conn, None)

    def _instrument(self, symbol: Any) -> Instrument:
        inst = self.engine.instruments.get(symbol) if isinstance(symbol, str) else None
        if inst is None or inst.venue != "kraken":
            raise RequestError(f"Currency pair not supported {symbol}")
        return inst

    def _check_replay_depth(self, sub: _Sub) -> None:
        replay = self.replay
        book = sub.channel == "book" and replay is not None and sub.symbol == replay.symbol
        if book and replay is not None and sub.depth != replay.depth:
            raise RequestError("Subscription depth not supported")

    def _add(self, conn: KrakenConnection, sub: _Sub) -> None:
        subs = self.subs.setdefault(conn, {})
        key = (sub.channel, sub.symbol)
        if key in subs:
            raise RequestError("Already subscribed")
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
            self.ticker_subs.setdefault(symbol, {})[conn] = sub.event_trigger
            self.bbo.setdefault(symbol, self._bbo(self.engine.book(symbol)))
            if snapshot:
                conn.send_md(self._ticker_message(inst, b"snapshot"))

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
            self.ticker_subs.get(sub.symbol, {}).pop(conn, None)

    # ----- instrument -----

    def _instrument_message(self) -> bytes:
        instruments = self.venue.instruments
        assets = sorted({a for i in instruments for a in (i.base, i.quote)})
        asset_items = []
        for asset in assets:
            decimals = _asset_codes(asset)[2]
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
                "cost_min": _plain(i.min_cost),
                "tick_size": fixed_number(i.tick_units, i.price_decimals),
                "price_increment": fixed_number(i.tick_units, i.price_decimals),
                "qty_min": _plain(i.min_qty),
            }
            for i in instruments
        ]
        data = encode_json({"assets": asset_items, "pairs": pairs})
        return b'{"channel":"instrument","type":"snapshot","data":%s}' % data

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
            head = b'{"channel":"book","type":"%s","data":[{"symbol":"%s","bids":%s,"asks":%s,' % (
                kind.encode(),
                inst.symbol.encode(),
                _decimal_levels(bids, pd, qd),
                _decimal_levels(asks, pd, qd),
            )
            tail = b',"timestamp":"%s"}]}' % stamp.encode() if stamp else b"}]}"
            if self.checksum_fault.hit():
                checksum ^= 0x5A5A5A5A
            conn.send_md(head + b'"checksum":%d' % checksum + tail)


def _decimal_levels(levels: list[tuple[Decimal, Decimal]], pd: int, qd: int) -> bytes:
    return (
        b"["
        + b",".join(
            b'{"price":%s,"qty":%s}' % (f"{p:.{pd}f}".encode(), f"{q:.{qd}f}".encode())
            for p, q in levels
        )
        + b"]"
    )


def _plain(value: Decimal) -> msgspec.Raw:
    return msgspec.Raw(f"{value.normalize():f}".encode())


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
