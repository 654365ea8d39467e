"""Upbit quotation WS `/websocket/v1`: ticker, trade and orderbook (reference B1-B2, seed 004).

Type objects (`ticker`, `trade`, `orderbook` with `codes`, `is_only_snapshot` /
`is_only_realtime`, camelCase accepted too) and an optional `{"format"}` object may stand
anywhere in the request; every request replaces the connection's subscriptions, and
`{"method": "LIST_SUBSCRIPTIONS"}` lists them. Orderbook messages are the full top-N
(`KRW-BTC.15`: N in 1/5/15/30, default 30) on every change.

Replay (`replay=file`): the recorded SIMPLE frames of the subscribed types and codes, paced,
converted to DEFAULT keys when the request asks for them.
"""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from ..engine import Instrument, Trade
from ..market import MarketVenue, call_soon_once
from ..replay import Pacer, UpbitCapture
from ..wire import encode_json, now_ms, plain_number
from ..wire import json_decimal_number as _number
from .errors import request_error
from .frames import KeepAlive, UpbitSocket, decode_request, read_format

__all__ = ["QUOTATION_PATH", "QUOTATION_TYPES", "UpbitConnection", "UpbitQuotation"]

QUOTATION_PATH: Final = "/websocket/v1"
QUOTATION_TYPES: Final = ("ticker", "trade", "orderbook")
UNITS: Final = (1, 5, 15, 30)


class _Sub:
    __slots__ = ("codes", "only_realtime", "only_snapshot", "type")

    def __init__(
        self, kind: str, codes: dict[str, int], only_snapshot: bool, only_realtime: bool
    ) -> None:
        self.type = kind
        self.codes = codes  # code -> orderbook units (0 for other types)
        self.only_snapshot = only_snapshot
        self.only_realtime = only_realtime


class UpbitConnection(UpbitSocket):
    """A quotation client: its subscriptions and the ticket of its last request."""

    def __init__(self, quotation: UpbitQuotation, path: str) -> None:
        super().__init__(quotation.venue, path, quotation.keepalive)
        self.quotation = quotation
        self.subs: list[_Sub] = []
        self.ticket = ""

    def request(self, payload: bytes) -> None:
        self.quotation.subscribe(self, payload)


class _Day:
    """Running figures behind the ticker (since start, standing in for the day / 24 h)."""

    __slots__ = (
        "ask_volume",
        "bid_volume",
        "high",
        "last",
        "low",
        "open",
        "prev",
        "value",
        "volume",
    )

    def __init__(self, mid: int) -> None:
        self.open = self.last = self.low = self.high = self.prev = mid
        self.volume = 0  # lots
        self.value = 0  # price units x lots
        self.ask_volume = 0
        self.bid_volume = 0

    def record(self, trade: Trade) -> None:
        price, qty = trade.price, trade.qty
        self.last, self.low, self.high = price, min(self.low, price), max(self.high, price)
        self.volume += qty
        self.value += price * qty
        if trade.taker_side == "buy":
            self.bid_volume += qty
        else:
            self.ask_volume += qty


def _change(change: int) -> str:
    return "RISE" if change > 0 else "FALL" if change < 0 else "EVEN"


def _utc(ms: int, fmt: str) -> str:
    return time.strftime(fmt, time.gmtime(ms // 1000))


class UpbitQuotation:
    """The quotation stream of one venue: subscriptions, and their messages built from the
    engine's books and trades (or a capture replayed in their place)."""

    def __init__(
        self, venue: MarketVenue, keepalive: KeepAlive, replay: Path | None, replay_rate: float
    ) -> None:
        self.venue = venue
        self.engine = engine = venue.engine
        self.keepalive = keepalive
        self.days = {i.symbol: _Day(engine.mids[i.symbol]) for i in venue.instruments}
        self.last_trade: dict[str, Trade] = {}
        self._dirty: set[str] = set()
        self._trades: list[Trade] = []
        self._tick_scheduled = False
        self.replay = UpbitCapture.load(replay) if replay is not None else None
        self.replay_rate = replay_rate
        engine.level_listeners.append(self._on_level)
        engine.trade_listeners.append(self._on_trade)

    @property
    def codes(self) -> set[str]:
        codes = {i.symbol for i in self.venue.instruments}
        if self.replay is not None:
            codes |= self.replay.codes
        return codes

    def connect(self, path: str) -> UpbitConnection:
        return UpbitConnection(self, path)

    # ----- engine events -----

    def _on_level(self, inst: Instrument, side: str, price: int, qty: int) -> None:
        if inst.venue == self.venue.name:
            self._dirty.add(inst.symbol)
            call_soon_once(self, "_tick_scheduled", self._tick)

    def _on_trade(self, trade: Trade) -> None:
        inst = trade.instrument
        if inst.venue != self.venue.name:
            return
        self.days[inst.symbol].record(trade)
        self.last_trade[inst.symbol] = trade
        self._trades.append(trade)
        call_soon_once(self, "_tick_scheduled", self._tick)

    def _tick(self) -> None:
        self._tick_scheduled = False
        trades, self._trades = self._trades, []
        dirty, self._dirty = self._dirty, set()
        live = [c for c in self.venue.connections if isinstance(c, UpbitConnection) and c.subs]
        if not live:
            return
        for trade in trades:
            symbol = trade.instrument.symbol
            trade_msg = self._trade(trade, "REALTIME")
            ticker_msg = self._ticker(symbol, "REALTIME")
            for conn in live:
                for sub in conn.subs:
                    if sub.only_snapshot or symbol not in sub.codes:
                        continue
                    if sub.type == "trade":
                        conn.push("trade", trade_msg)
                    elif sub.type == "ticker":
                        conn.push("ticker", ticker_msg)
        for symbol in dirty:
            books: dict[int, dict[str, Any]] = {}
            for conn in live:
                for sub in conn.subs:
                    if sub.type != "orderbook" or sub.only_snapshot or symbol not in sub.codes:
                        continue
                    units = sub.codes[symbol]
                    if units not in books:
                        books[units] = self.orderbook(symbol, units, "REALTIME")
                    conn.push("orderbook", books[units])

    # ----- messages (DEFAULT keys) -----

    def orderbook(self, symbol: str, units: int, stream_type: str) -> dict[str, Any]:
        """The top `units` levels, as the WS pushes them and REST `/v1/orderbook` answers."""
        inst = self.engine.instrument(symbol)
        book = self.engine.book(symbol)
        asks, bids = book.asks.depth(units), book.bids.depth(units)
        pd, qd = inst.price_decimals, inst.qty_decimals
        rows = []
        for i in range(max(len(asks), len(bids))):
            ask = asks[i] if i < len(asks) else (0, 0)
            bid = bids[i] if i < len(bids) else (0, 0)
            rows.append(
                {
                    "ask_price": _number(ask[0], pd),
                    "bid_price": _number(bid[0], pd),
                    "ask_size": _number(ask[1], qd),
                    "bid_size": _number(bid[1], qd),
                }
            )
        return {
            "type": "orderbook",
            "code": symbol,
            "timestamp": now_ms(),
            "total_ask_size": _number(sum(q for _, q in asks), qd),
            "total_bid_size": _number(sum(q for _, q in bids), qd),
            "orderbook_units": rows,
            "stream_type": stream_type,
            "level": 0,
        }

    def _trade(self, trade: Trade, stream_type: str) -> dict[str, Any]:
        inst = trade.instrument
        pd, qd = inst.price_decimals, inst.qty_decimals
        day = self.days[inst.symbol]
        book = self.engine.book(inst.symbol)
        ask = (book.asks.depth(1) or [(0, 0)])[0]
        bid = (book.bids.depth(1) or [(0, 0)])[0]
        ms = trade.ts_ns // 1_000_000
        change = trade.price - day.prev
        return {
            "type": "trade",
            "code": inst.symbol,
            "timestamp": now_ms(),
            "trade_date": _utc(ms, "%Y-%m-%d"),
            "trade_time": _utc(ms, "%H:%M:%S"),
            "trade_timestamp": ms,
            "trade_price": _number(trade.price, pd),
            "trade_volume": _number(trade.qty, qd),
            "ask_bid": "BID" if trade.taker_side == "buy" else "ASK",
            "prev_closing_price": _number(day.prev, pd),
            "change": _change(change),
            "change_price": _number(abs(change), pd),
            "sequential_id": ms * 1000 + trade.trade_id % 1000,
            "best_ask_price": _number(ask[0], pd),
            "best_ask_size": _number(ask[1], qd),
            "best_bid_price": _number(bid[0], pd),
            "best_bid_size": _number(bid[1], qd),
            "stream_type": stream_type,
        }

    def _ticker(self, symbol: str, stream_type: str) -> dict[str, Any]:
        inst = self.engine.instrument(symbol)
        pd, qd = inst.price_decimals, inst.qty_decimals
        day = self.days[symbol]
        last = self.last_trade.get(symbol)
        ms = last.ts_ns // 1_000_000 if last is not None else now_ms()
        change = day.last - day.prev
        rate = (Decimal(abs(change)) / Decimal(day.prev)).quantize(Decimal("1e-10"))
        value = _number(day.value, pd + qd)
        return {
            "type": "ticker",
            "code": symbol,
            "opening_price": _number(day.open, pd),
            "high_price": _number(day.high, pd),
            "low_price": _number(day.low, pd),
            "trade_price": _number(day.last, pd),
            "prev_closing_price": _number(day.prev, pd),
            "change": _change(change),
            "change_price": _number(abs(change), pd),
            "signed_change_price": _number(change, pd),
            "change_rate": plain_number(rate),
            "signed_change_rate": plain_number(rate if change >= 0 else -rate),
            "trade_volume": _number(last.qty if last is not None else 0, qd),
            "acc_trade_volume": _number(day.volume, qd),
            "acc_trade_volume_24h": _number(day.volume, qd),
            "acc_trade_price": value,
            "acc_trade_price_24h": value,
            "trade_date": _utc(ms, "%Y%m%d"),
            "trade_time": _utc(ms, "%H%M%S"),
            "trade_timestamp": ms,
            "ask_bid": "BID" if last is None or last.taker_side == "buy" else "ASK",
            "acc_ask_volume": _number(day.ask_volume, qd),
            "acc_bid_volume": _number(day.bid_volume, qd),
            "highest_52_week_price": _number(day.high, pd),
            "highest_52_week_date": _utc(ms, "%Y-%m-%d"),
            "lowest_52_week_price": _number(day.low, pd),
            "lowest_52_week_date": _utc(ms, "%Y-%m-%d"),
            "market_state": "ACTIVE",
            "is_trading_suspended": False,
            "delisting_date": None,
            "market_warning": "NONE",
            "timestamp": now_ms(),
            "stream_type": stream_type,
        }

    # ----- requests -----

    def subscribe(self, conn: UpbitConnection, payload: bytes) -> None:
        message = decode_request(payload)
        ticket = next((m["ticket"] for m in message if "ticket" in m), None)
        if not isinstance(ticket, str) or not ticket:
            raise request_error("NO_TICKET", "티켓이 존재하지 않습니다.")
        fmt = conn.format
        subs: list[_Sub] = []
        list_subscriptions = False
        for item in message:
            if "format" in item:
                fmt = read_format(item)
            elif item.get("method") == "LIST_SUBSCRIPTIONS":
                list_subscriptions = True
            elif "type" in item:
                subs.append(self._parse_sub(item))
        if list_subscriptions:
            conn.format = fmt
            conn.send(encode_json(self._list_subscriptions(conn, ticket, fmt)))
            return
        if not subs:
            raise request_error("NO_TYPE", "type 필드가 존재하지 않습니다.")
        # a new request replaces everything this connection had
        for task in list(conn.tasks):
            task.cancel()
        conn.subs = subs
        conn.format = fmt
        conn.ticket = ticket
        if self.replay is not None:
            conn.spawn(self._replay(conn, self.replay), "hftpy-sim-upbit-replay")
            return
        for sub in subs:
            if sub.only_realtime:
                continue
            for code, units in sub.codes.items():
                if sub.type == "orderbook":
                    conn.push("orderbook", self.orderbook(code, units, "SNAPSHOT"))
                elif sub.type == "ticker":
                    conn.push("ticker", self._ticker(code, "SNAPSHOT"))
                elif (trade := self.last_trade.get(code)) is not None:
                    conn.push("trade", self._trade(trade, "SNAPSHOT"))

    @staticmethod
    def _list_subscriptions(conn: UpbitConnection, ticket: str, fmt: str) -> dict[str, Any]:
        simple = fmt.startswith("SIMPLE")
        result = []
        for sub in conn.subs:
            entry: dict[str, Any] = {"type": sub.type, "codes": sorted(sub.codes)}
            if sub.type == "orderbook":
                entry["level"] = 0
            result.append({"ty": entry["type"], "cds": entry["codes"]} if simple else entry)
        if simple:
            return {"mthd": "LIST_SUBSCRIPTIONS", "rslt": result, "tckt": ticket}
        return {"method": "LIST_SUBSCRIPTIONS", "result": result, "ticket": ticket}

    def _parse_sub(self, item: dict[str, Any]) -> _Sub:
        kind = item["type"]
        if kind not in QUOTATION_TYPES:
            raise request_error("INVALID_PARAM", f"지원하지 않는 타입입니다: {kind}")
        codes = item.get("codes")
        if not isinstance(codes, list) or not codes:
            raise request_error("NO_CODES", "codes 필드가 존재하지 않습니다.")
        known = self.codes
        parsed: dict[str, int] = {}
        for raw in codes:
            if not isinstance(raw, str):
                raise request_error("INVALID_PARAM", f"잘못된 코드입니다: {raw}")
            code, dot, count = raw.partition(".")
            if code != code.upper() or code not in known:
                raise request_error("INVALID_PARAM", f"잘못된 코드입니다: {raw}")
            units = 0
            if kind == "orderbook":
                units = int(count) if dot and count.isdigit() and int(count) in UNITS else 30
            parsed[code] = units
        only_snapshot = bool(item.get("is_only_snapshot", item.get("isOnlySnapshot", False)))
        only_realtime = bool(item.get("is_only_realtime", item.get("isOnlyRealtime", False)))
        return _Sub(kind, parsed, only_snapshot, only_realtime)

    async def _replay(self, conn: UpbitConnection, capture: UpbitCapture) -> None:
        pacer = Pacer(self.replay_rate)
        for ns, kind, code, message in capture.frames:
            sub = next(
                (
                    s
                    for s in conn.subs
                    if s.type == kind and code in s.codes and not s.only_snapshot
                ),
                None,
            )
            if sub is None:
                continue
            await pacer.wait(ns, conn.writable)
            if kind == "orderbook" and sub.codes[code] and isinstance(message.get("obu"), list):
                message = {**message, "obu": message["obu"][: sub.codes[code]]}
            conn.push_recorded(kind, message)
