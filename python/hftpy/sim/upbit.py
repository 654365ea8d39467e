"""Upbit quotation on loopback: WS `/websocket/v1` with binary frames, and REST market data.

A request is one JSON array: a `{"ticket"}` object, type objects (`ticker`, `trade`,
`orderbook` with `codes`, `is_only_snapshot` / `is_only_realtime`, camelCase accepted too) and
an optional `{"format"}` object anywhere in the list (`DEFAULT`, `SIMPLE`, `JSON_LIST`,
`SIMPLE_LIST`). Every request replaces the connection's subscriptions. Pushes are binary frames
of JSON with DEFAULT keys or SIMPLE abbreviations (reference B1-B2, seed 004). Text `PING` is
answered with `{"status":"UP"}`, repeated every 10 s from then on. Orderbook messages are the
full top-N (`KRW-BTC.15`: N in 1/5/15/30, default 30) on every change.

REST (`upbit_rest` port): `/v1/market/all`, `/v1/orderbook?markets=`. The `upbit_ws_private`
port is reserved (404) until the private streams land.

Replay (`replay=file`): the recorded SIMPLE frames of the subscribed types and codes, paced,
converted to DEFAULT keys when the request asks for them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Final

import msgspec
from aiohttp import web
from picows import WSUpgradeRequest

from .engine import Engine, Instrument, Trade
from .faults import MARKET_FAULTS, FaultTable, fault_table
from .market import MarketVenue, StreamConnection, call_soon_once, json_decimal
from .replay import Pacer, UpbitCapture
from .wire import decode_json, encode_json

__all__ = ["FAULTS", "SIMPLE_KEYS", "UpbitVenue"]

FAULTS: Final = fault_table(MARKET_FAULTS)
UNITS: Final = (1, 5, 15, 30)
FORMATS: Final = ("DEFAULT", "SIMPLE", "JSON_LIST", "SIMPLE_LIST")
STATUS_UP: Final = b'{"status":"UP"}'

# DEFAULT key -> SIMPLE key, per message type (seed 004, reference B2)
SIMPLE_KEYS: Final[dict[str, dict[str, str]]] = {
    "ticker": {
        "type": "ty",
        "code": "cd",
        "opening_price": "op",
        "high_price": "hp",
        "low_price": "lp",
        "trade_price": "tp",
        "prev_closing_price": "pcp",
        "change": "c",
        "change_price": "cp",
        "signed_change_price": "scp",
        "change_rate": "cr",
        "signed_change_rate": "scr",
        "trade_volume": "tv",
        "acc_trade_volume": "atv",
        "acc_trade_volume_24h": "atv24h",
        "acc_trade_price": "atp",
        "acc_trade_price_24h": "atp24h",
        "trade_date": "tdt",
        "trade_time": "ttm",
        "trade_timestamp": "ttms",
        "ask_bid": "ab",
        "acc_ask_volume": "aav",
        "acc_bid_volume": "abv",
        "highest_52_week_price": "h52wp",
        "highest_52_week_date": "h52wdt",
        "lowest_52_week_price": "l52wp",
        "lowest_52_week_date": "l52wdt",
        "market_state": "ms",
        "is_trading_suspended": "its",
        "delisting_date": "dd",
        "market_warning": "mw",
        "timestamp": "tms",
        "stream_type": "st",
    },
    "trade": {
        "type": "ty",
        "code": "cd",
        "timestamp": "tms",
        "trade_date": "td",
        "trade_time": "ttm",
        "trade_timestamp": "ttms",
        "trade_price": "tp",
        "trade_volume": "tv",
        "ask_bid": "ab",
        "prev_closing_price": "pcp",
        "change": "c",
        "change_price": "cp",
        "sequential_id": "sid",
        "best_ask_price": "bap",
        "best_ask_size": "bas",
        "best_bid_price": "bbp",
        "best_bid_size": "bbs",
        "stream_type": "st",
    },
    "orderbook": {
        "type": "ty",
        "code": "cd",
        "timestamp": "tms",
        "total_ask_size": "tas",
        "total_bid_size": "tbs",
        "orderbook_units": "obu",
        "ask_price": "ap",
        "bid_price": "bp",
        "ask_size": "as",
        "bid_size": "bs",
        "stream_type": "st",
        "level": "lv",
    },
}
_DEFAULT_KEYS: Final = {t: {v: k for k, v in m.items()} for t, m in SIMPLE_KEYS.items()}
_NAMES: Final = {"KRW-BTC": ("비트코인", "Bitcoin"), "KRW-ETH": ("이더리움", "Ethereum")}


def _raw(units: int, decimals: int) -> msgspec.Raw:
    return msgspec.Raw(json_decimal(units, decimals).encode())


def _rename(message: Any, table: Mapping[str, str]) -> Any:
    if isinstance(message, dict):
        return {table.get(k, k): _rename(v, table) for k, v in message.items()}
    if isinstance(message, list):
        return [_rename(v, table) for v in message]
    return message


class _Sub:
    __slots__ = ("codes", "only_realtime", "only_snapshot", "type", "units")

    def __init__(
        self, kind: str, codes: dict[str, int], only_snapshot: bool, only_realtime: bool
    ) -> None:
        self.type = kind
        self.codes = codes  # code -> orderbook units (0 for other types)
        self.only_snapshot = only_snapshot
        self.only_realtime = only_realtime


class UpbitRequestError(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


class UpbitConnection(StreamConnection):
    binary: ClassVar[bool] = True

    def __init__(self, venue: UpbitVenue, path: str) -> None:
        super().__init__(venue, path)
        self.uvenue = venue
        self.subs: list[_Sub] = []
        self.format = "DEFAULT"
        self.status_up = False
        self.ticket = ""

    def closed(self) -> None:
        self.uvenue.connections_up.discard(self)

    def on_message(self, payload: bytes) -> None:
        if payload.strip() == b"PING":
            self.send(STATUS_UP)
            self.uvenue.connections_up.add(self)
            return
        try:
            self.uvenue.request(self, payload)
        except UpbitRequestError as exc:
            self.send(encode_json({"error": {"name": exc.name, "message": exc.message}}))

    def push(self, kind: str, message: dict[str, Any]) -> None:
        """One message (DEFAULT keys) in this connection's format."""
        if self.format in ("SIMPLE", "SIMPLE_LIST"):
            message = _rename(message, SIMPLE_KEYS[kind])
        data = encode_json(message)
        self.send(b"[" + data + b"]" if self.format.endswith("_LIST") else data)

    def push_simple(self, kind: str, message: dict[str, Any]) -> None:
        """One recorded message (SIMPLE keys) in this connection's format."""
        if self.format in ("DEFAULT", "JSON_LIST"):
            message = _rename(message, _DEFAULT_KEYS[kind])
        data = encode_json(message)
        self.send(b"[" + data + b"]" if self.format.endswith("_LIST") else data)


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


class UpbitVenue(MarketVenue):
    name: ClassVar[str] = "upbit"
    FAULTS: ClassVar[FaultTable] = FAULTS
    WS_ENDPOINTS: ClassVar[tuple[tuple[str, float, float], ...]] = (
        ("ws", 0.0, 0.0),
        ("ws_private", 0.0, 0.0),
    )

    def __init__(
        self,
        engine: Engine,
        *,
        host: str = "127.0.0.1",
        replay: Path | None = None,
        replay_rate: float = 1.0,
    ) -> None:
        super().__init__(engine, host=host)
        self.connections_up: set[UpbitConnection] = set()
        self.days = {i.symbol: _Day(engine.mids[i.symbol]) for i in self.instruments}
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
        codes = {i.symbol for i in self.instruments}
        if self.replay is not None:
            codes |= self.replay.codes
        return codes

    # ----- engine events -----

    def _on_level(self, inst: Instrument, side: str, price: int, qty: int) -> None:
        if inst.venue == self.name:
            self._dirty.add(inst.symbol)
            call_soon_once(self, "_tick_scheduled", self._tick)

    def _on_trade(self, trade: Trade) -> None:
        inst = trade.instrument
        if inst.venue != self.name:
            return
        day = self.days[inst.symbol]
        day.last = trade.price
        day.low = min(day.low, trade.price)
        day.high = max(day.high, trade.price)
        day.volume += trade.qty
        day.value += trade.price * trade.qty
        if trade.taker_side == "buy":
            day.bid_volume += trade.qty
        else:
            day.ask_volume += trade.qty
        self.last_trade[inst.symbol] = trade
        self._trades.append(trade)
        call_soon_once(self, "_tick_scheduled", self._tick)

    def _tick(self) -> None:
        self._tick_scheduled = False
        trades, self._trades = self._trades, []
        dirty, self._dirty = self._dirty, set()
        live = [c for c in self.connections if isinstance(c, UpbitConnection) and c.subs]
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
                        books[units] = self._orderbook(symbol, units, "REALTIME")
                    conn.push("orderbook", books[units])

    # ----- messages (DEFAULT keys) -----

    def _orderbook(self, symbol: str, units: int, stream_type: str) -> dict[str, Any]:
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
                    "ask_price": _raw(ask[0], pd),
                    "bid_price": _raw(bid[0], pd),
                    "ask_size": _raw(ask[1], qd),
                    "bid_size": _raw(bid[1], qd),
                }
            )
        return {
            "type": "orderbook",
            "code": symbol,
            "timestamp": time.time_ns() // 1_000_000,
            "total_ask_size": _raw(sum(q for _, q in asks), qd),
            "total_bid_size": _raw(sum(q for _, q in bids), qd),
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
            "timestamp": time.time_ns() // 1_000_000,
            "trade_date": time.strftime("%Y-%m-%d", time.gmtime(ms // 1000)),
            "trade_time": time.strftime("%H:%M:%S", time.gmtime(ms // 1000)),
            "trade_timestamp": ms,
            "trade_price": _raw(trade.price, pd),
            "trade_volume": _raw(trade.qty, qd),
            "ask_bid": "BID" if trade.taker_side == "buy" else "ASK",
            "prev_closing_price": _raw(day.prev, pd),
            "change": "RISE" if change > 0 else "FALL" if change < 0 else "EVEN",
            "change_price": _raw(abs(change), pd),
            "sequential_id": ms * 1000 + trade.trade_id % 1000,
            "best_ask_price": _raw(ask[0], pd),
            "best_ask_size": _raw(ask[1], qd),
            "best_bid_price": _raw(bid[0], pd),
            "best_bid_size": _raw(bid[1], qd),
            "stream_type": stream_type,
        }

    def _ticker(self, symbol: str, stream_type: str) -> dict[str, Any]:
        inst = self.engine.instrument(symbol)
        pd, qd = inst.price_decimals, inst.qty_decimals
        day = self.days[symbol]
        last = self.last_trade.get(symbol)
        ms = last.ts_ns // 1_000_000 if last is not None else time.time_ns() // 1_000_000
        change = day.last - day.prev
        rate = (Decimal(abs(change)) / Decimal(day.prev)).quantize(Decimal("1e-10"))
        signed_rate = rate if change >= 0 else -rate
        value = msgspec.Raw(json_decimal(day.value, pd + qd).encode())
        return {
            "type": "ticker",
            "code": symbol,
            "opening_price": _raw(day.open, pd),
            "high_price": _raw(day.high, pd),
            "low_price": _raw(day.low, pd),
            "trade_price": _raw(day.last, pd),
            "prev_closing_price": _raw(day.prev, pd),
            "change": "RISE" if change > 0 else "FALL" if change < 0 else "EVEN",
            "change_price": _raw(abs(change), pd),
            "signed_change_price": _raw(change, pd),
            "change_rate": msgspec.Raw(f"{rate.normalize():f}".encode()),
            "signed_change_rate": msgspec.Raw(f"{signed_rate.normalize():f}".encode()),
            "trade_volume": _raw(last.qty if last is not None else 0, qd),
            "acc_trade_volume": _raw(day.volume, qd),
            "acc_trade_volume_24h": _raw(day.volume, qd),
            "acc_trade_price": value,
            "acc_trade_price_24h": value,
            "trade_date": time.strftime("%Y%m%d", time.gmtime(ms // 1000)),
            "trade_time": time.strftime("%H%M%S", time.gmtime(ms // 1000)),
            "trade_timestamp": ms,
            "ask_bid": "BID" if last is None or last.taker_side == "buy" else "ASK",
            "acc_ask_volume": _raw(day.ask_volume, qd),
            "acc_bid_volume": _raw(day.bid_volume, qd),
            "highest_52_week_price": _raw(day.high, pd),
            "highest_52_week_date": time.strftime("%Y-%m-%d", time.gmtime(ms // 1000)),
            "lowest_52_week_price": _raw(day.low, pd),
            "lowest_52_week_date": time.strftime("%Y-%m-%d", time.gmtime(ms // 1000)),
            "market_state": "ACTIVE",
            "is_trading_suspended": False,
            "delisting_date": None,
            "market_warning": "NONE",
            "timestamp": time.time_ns() // 1_000_000,
            "stream_type": stream_type,
        }

    # ----- requests -----

    def listener(self, endpoint: str, request: WSUpgradeRequest) -> StreamConnection | None:
        path = request.path.decode("latin-1").partition("?")[0].rstrip("/")
        if endpoint != "ws" or path != "/websocket/v1":
            return None  # upbit_ws_private: reserved
        return UpbitConnection(self, path)

    def request(self, conn: UpbitConnection, payload: bytes) -> None:
        try:
            message = decode_json(payload)
        except msgspec.DecodeError:
            raise UpbitRequestError("WRONG_FORMAT", "요청 형식이 올바르지 않습니다.") from None
        if not isinstance(message, list) or not all(isinstance(m, dict) for m in message):
            raise UpbitRequestError("WRONG_FORMAT", "요청 형식이 올바르지 않습니다.")
        ticket = next((m["ticket"] for m in message if "ticket" in m), None)
        if not isinstance(ticket, str) or not ticket:
            raise UpbitRequestError("NO_TICKET", "티켓이 존재하지 않습니다.")
        fmt = conn.format
        subs: list[_Sub] = []
        list_subscriptions = False
        for item in message:
            if "format" in item:
                fmt = str(item["format"]).upper()
                if fmt not in FORMATS:
                    raise UpbitRequestError("WRONG_FORMAT", f"지원하지 않는 포맷입니다: {fmt}")
            elif item.get("method") == "LIST_SUBSCRIPTIONS":
                list_subscriptions = True
            elif "type" in item:
                subs.append(self._parse_sub(item))
        if list_subscriptions:
            conn.format = fmt
            conn.send(encode_json(self._list_subscriptions(conn, ticket, fmt)))
            return
        if not subs:
            raise UpbitRequestError("NO_TYPE", "type 필드가 존재하지 않습니다.")
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
                    conn.push("orderbook", self._orderbook(code, units, "SNAPSHOT"))
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
        if kind not in SIMPLE_KEYS:
            raise UpbitRequestError("INVALID_PARAM", f"지원하지 않는 타입입니다: {kind}")
        codes = item.get("codes")
        if not isinstance(codes, list) or not codes:
            raise UpbitRequestError("NO_CODES", "codes 필드가 존재하지 않습니다.")
        known = self.codes
        parsed: dict[str, int] = {}
        for raw in codes:
            if not isinstance(raw, str):
                raise UpbitRequestError("INVALID_PARAM", f"잘못된 코드입니다: {raw}")
            code, dot, count = raw.partition(".")
            if code != code.upper() or code not in known:
                raise UpbitRequestError("INVALID_PARAM", f"잘못된 코드입니다: {raw}")
            units = 0
            if kind == "orderbook":
                units = int(count) if dot and count.isdigit() and int(count) in UNITS else 30
            parsed[code] = units
        only_snapshot = bool(item.get("is_only_snapshot", item.get("isOnlySnapshot", False)))
        only_realtime = bool(item.get("is_only_realtime", item.get("isOnlyRealtime", False)))
        return _Sub(kind, parsed, only_snapshot, only_realtime)

    def background(self) -> list[Any]:
        return [self._status_up()]

    async def _status_up(self) -> None:
        while True:
            await asyncio.sleep(10.0)
            for conn in list(self.connections_up):
                conn.send(STATUS_UP)

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
            conn.push_simple(kind, message)

    # ----- REST -----

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/market/all", self._rest_markets)
        app.router.add_get("/v1/orderbook", self._rest_orderbook)

    @staticmethod
    def _json(body: Any, status: int = 200) -> web.Response:
        return web.Response(body=encode_json(body), status=status, content_type="application/json")

    def _unavailable(self) -> web.Response | None:
        if self.system == "online":
            return None
        error = {"name": "server_maintenance", "message": "서버 점검 중입니다."}
        return self._json({"error": error}, 503)

    async def _rest_markets(self, request: web.Request) -> web.Response:
        if (down := self._unavailable()) is not None:
            return down
        details = request.query.get("isDetails", "false").lower() == "true"
        markets = []
        for inst in self.instruments:
            korean, english = _NAMES.get(inst.symbol, (inst.base, inst.base))
            entry: dict[str, Any] = {"market": inst.symbol}
            if details:
                entry["market_warning"] = "NONE"
            entry["korean_name"] = korean
            entry["english_name"] = english
            markets.append(entry)
        return self._json(markets)

    async def _rest_orderbook(self, request: web.Request) -> web.Response:
        if (down := self._unavailable()) is not None:
            return down
        wanted = [m for m in request.query.get("markets", "").split(",") if m]
        if not wanted:
            error = {"name": "validation_error", "message": "markets is missing"}
            return self._json({"error": error}, 400)
        books = []
        for market in wanted:
            if self.instrument(market) is None:
                return self._json({"error": {"name": "404", "message": "Code not found"}}, 404)
            book = self._orderbook(market, 30, "SNAPSHOT")
            books.append(
                {
                    "market": market,
                    "timestamp": book["timestamp"],
                    "total_ask_size": book["total_ask_size"],
                    "total_bid_size": book["total_bid_size"],
                    "orderbook_units": book["orderbook_units"],
                    "level": 0,
                }
            )
        return self._json(books)
