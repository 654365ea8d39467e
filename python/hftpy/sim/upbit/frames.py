"""What Upbit's quotation and private WebSockets share (reference B1-B2, seed 004).

A request is one JSON array (a `{"ticket"}` object, type objects, an optional `{"format"}`).
Pushes are binary frames of JSON with DEFAULT keys or SIMPLE abbreviations, each message alone
(`DEFAULT`, `SIMPLE`) or as a one-item list (`JSON_LIST`, `SIMPLE_LIST`). Text `PING` is
answered with `{"status":"UP"}`, repeated every 10 s from then on. A refused request is answered
with an `{"error": {"name", "message"}}` frame.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

import msgspec
from picows import WSUpgradeRequest

from ..errors import VenueError
from ..market import MarketVenue, StreamConnection, periodic
from ..wire import decode_json, encode_json, rename_keys
from .errors import error_frame, request_error

__all__ = [
    "DEFAULT_KEYS",
    "FORMATS",
    "SIMPLE_KEYS",
    "STATUS_UP",
    "KeepAlive",
    "UpbitSocket",
    "decode_request",
    "read_format",
    "ws_path",
]

FORMATS: Final = ("DEFAULT", "SIMPLE", "JSON_LIST", "SIMPLE_LIST")
STATUS_UP: Final = b'{"status":"UP"}'
STATUS_UP_EVERY_S: Final = 10.0

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
    "myOrder": {
        "type": "ty",
        "code": "cd",
        "uuid": "uid",
        "ask_bid": "ab",
        "order_type": "ot",
        "state": "s",
        "trade_uuid": "tuid",
        "price": "p",
        "avg_price": "ap",
        "volume": "v",
        "remaining_volume": "rv",
        "executed_volume": "ev",
        "trades_count": "tc",
        "reserved_fee": "rsf",
        "remaining_fee": "rmf",
        "paid_fee": "pf",
        "locked": "l",
        "executed_funds": "ef",
        "time_in_force": "tif",
        "trade_fee": "tf",
        "is_maker": "im",
        "identifier": "id",
        "smp_type": "smpt",
        "prevented_volume": "pv",
        "prevented_locked": "pl",
        "trade_timestamp": "ttms",
        "order_timestamp": "otms",
        "timestamp": "tms",
        "stream_type": "st",
    },
    "myAsset": {
        "type": "ty",
        "asset_uuid": "astuid",
        "assets": "ast",
        "currency": "cu",
        "balance": "b",
        "locked": "l",
        "asset_timestamp": "asttms",
        "timestamp": "tms",
        "stream_type": "st",
    },
}
DEFAULT_KEYS: Final = {t: {v: k for k, v in m.items()} for t, m in SIMPLE_KEYS.items()}


def ws_path(request: WSUpgradeRequest) -> str:
    """The upgrade request's path without its query string or a trailing slash."""
    return request.path.decode("latin-1").partition("?")[0].rstrip("/")


def decode_request(payload: bytes) -> list[dict[str, Any]]:
    """A request's items; anything but a JSON array of objects is `WRONG_FORMAT`."""
    try:
        message = decode_json(payload)
    except msgspec.DecodeError:
        raise request_error("WRONG_FORMAT", "요청 형식이 올바르지 않습니다.") from None
    if not isinstance(message, list) or not all(isinstance(m, dict) for m in message):
        raise request_error("WRONG_FORMAT", "요청 형식이 올바르지 않습니다.")
    return message


def read_format(item: dict[str, Any]) -> str:
    """The format a `{"format"}` item asks for (case-insensitive)."""
    fmt = str(item["format"]).upper()
    if fmt not in FORMATS:
        raise request_error("WRONG_FORMAT", f"지원하지 않는 포맷입니다: {fmt}")
    return fmt


class KeepAlive:
    """The connections that sent `PING`: each gets `{"status":"UP"}` every 10 s from then on."""

    def __init__(self) -> None:
        self.connections: set[StreamConnection] = set()

    async def run(self) -> None:
        await periodic(STATUS_UP_EVERY_S, self._beat)

    def _beat(self, tick: int) -> None:
        for conn in list(self.connections):
            conn.send(STATUS_UP)


class UpbitSocket(StreamConnection):
    """One Upbit WS client: PING, error frames, and pushes in the connection's format."""

    binary: ClassVar[bool] = True

    def __init__(self, venue: MarketVenue, path: str, keepalive: KeepAlive) -> None:
        super().__init__(venue, path)
        self.keepalive = keepalive
        self.format = "DEFAULT"

    def closed(self) -> None:
        self.keepalive.connections.discard(self)

    def on_message(self, payload: bytes) -> None:
        if payload.strip() == b"PING":
            self.send(STATUS_UP)
            self.keepalive.connections.add(self)
            return
        try:
            self.request(payload)
        except VenueError as exc:
            self.send(error_frame(exc))

    def request(self, payload: bytes) -> None:
        """One request (a JSON array); raise a VenueError to refuse it."""

    def push(self, kind: str, message: dict[str, Any]) -> None:
        """One message (DEFAULT keys) in this connection's format."""
        if self.format.startswith("SIMPLE"):
            message = rename_keys(message, SIMPLE_KEYS[kind])
        self._send_message(message)

    def push_recorded(self, kind: str, message: dict[str, Any]) -> None:
        """One recorded message (SIMPLE keys, as captured) in this connection's format."""
        if not self.format.startswith("SIMPLE"):
            message = rename_keys(message, DEFAULT_KEYS[kind])
        self._send_message(message)

    def _send_message(self, message: dict[str, Any]) -> None:
        data = encode_json(message)
        self.send(b"[" + data + b"]" if self.format.endswith("_LIST") else data)
