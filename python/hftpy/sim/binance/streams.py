"""Binance market-data stream connections: stream names, who listens to which stream, and the
live control messages (`SUBSCRIBE` / `UNSUBSCRIBE` / `LIST_SUBSCRIPTIONS` / `SET_PROPERTY` /
`GET_PROPERTY`) with Binance's acks and error frames (reference/binance.md §1-2)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, Final

import msgspec

from ..market import MarketVenue, StreamConnection
from ..wire import decode_json, encode_json

__all__ = [
    "MAX_STREAMS",
    "BinanceConnection",
    "StreamName",
    "Subscriptions",
    "parse_stream",
    "valid_request_id",
]

MAX_STREAMS: Final = 1024
_METHODS: Final = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
_REQUEST_ID: Final = re.compile(r"[A-Za-z0-9-]{0,36}")


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


class StreamName:
    """A parsed stream name: `btcusdt@depth10@100ms` -> symbol, kind `depth10`, speed `100ms`."""

    __slots__ = ("kind", "levels", "name", "speed", "symbol")

    def __init__(self, name: str, symbol: str, kind: str, speed: str, levels: int) -> None:
        self.name = name
        self.symbol = symbol
        self.kind = kind
        self.speed = speed
        self.levels = levels


def parse_stream(name: str) -> StreamName | None:
    """A stream this simulator knows how to name (any symbol); None when malformed."""
    symbol, sep, rest = name.partition("@")
    if not sep or not symbol or symbol != symbol.lower():
        return None  # stream names carry lower-case symbols
    kind, _, speed = rest.partition("@")
    if kind == "depth" or (kind.startswith("depth") and kind[5:] in ("5", "10", "20")):
        if speed not in ("", "100ms", "1000ms"):
            return None
        levels = int(kind[5:]) if kind != "depth" else 0
        return StreamName(name, symbol.upper(), kind, speed or "1000ms", levels)
    if kind in ("trade", "aggTrade", "bookTicker") and not speed:
        return StreamName(name, symbol.upper(), kind, "", 0)
    return StreamName(name, symbol.upper(), "other", speed, 0)  # named correctly, never served


class Subscriptions:
    """Stream name -> the connections subscribed to it, in the order they subscribed.

    `on_added(conn)` runs after every subscribe (the venue starts a replay from there).
    """

    def __init__(self, on_added: Callable[[BinanceConnection], None]) -> None:
        self.listeners: dict[str, dict[BinanceConnection, None]] = {}
        self._on_added = on_added

    def __contains__(self, stream: str) -> bool:
        """True while anyone listens to `stream`."""
        return bool(self.listeners.get(stream))

    def of(self, stream: str) -> Iterator[BinanceConnection]:
        return iter(self.listeners.get(stream, ()))

    def add(self, conn: BinanceConnection, names: list[str]) -> None:
        for name in names:
            stream = parse_stream(name)
            if stream is None or name in conn.streams:
                continue
            conn.streams[name] = stream
            self.listeners.setdefault(name, {})[conn] = None
        self._on_added(conn)

    def remove(self, conn: BinanceConnection, names: list[str]) -> None:
        for name in names:
            conn.streams.pop(name, None)
            subs = self.listeners.get(name)
            if subs is not None:
                subs.pop(conn, None)
                if not subs:
                    del self.listeners[name]

    def fan_out(self, stream: str, data: bytes) -> None:
        """`data` to every live subscriber of `stream` (a replaying one gets the capture)."""
        for conn in list(self.listeners.get(stream, ())):
            if not conn.replaying:
                conn.push(stream, data)


class BinanceConnection(StreamConnection):
    """One stream socket: raw (`/ws/...`) or combined (`/stream?streams=...`, each frame
    wrapped as `{"stream","data"}`), with the streams it named in its URL."""

    def __init__(
        self,
        venue: MarketVenue,
        subscriptions: Subscriptions,
        path: str,
        combined: bool,
        streams: list[str],
    ) -> None:
        super().__init__(venue, path)
        self.subscriptions = subscriptions
        self.combined = combined
        self.streams: dict[str, StreamName] = {}
        self.initial = streams
        self.replaying = False

    def connected(self) -> None:
        if self.initial:
            self.subscriptions.add(self, self.initial)

    def closed(self) -> None:
        self.subscriptions.remove(self, list(self.streams))

    def push(self, stream: str, data: bytes) -> None:
        if self.combined:
            self.send(b'{"stream":"%s","data":%s}' % (stream.encode(), data))
        else:
            self.send(data)

    def on_message(self, payload: bytes) -> None:
        """A control message; its ack or error goes back as a text frame."""
        try:
            message = decode_json(payload)
        except msgspec.DecodeError:
            self.send_text(
                _error(3, "Invalid JSON: expected value at line 1 column 1", with_id=False)
            )
            return
        if not isinstance(message, dict):
            self.send_text(_error(2, "Invalid request: expected a JSON object", with_id=False))
            return
        req_id = message.get("id")
        if "id" not in message or not valid_request_id(req_id):
            self.send_text(
                _error(2, "Invalid request: request ID must be an unsigned integer", with_id=False)
            )
            return
        method = message.get("method")
        if method is None:
            self.send_text(_error(2, "Invalid request: missing field `method`", req_id))
            return
        if method not in _METHODS:
            expected = ", ".join(_METHODS)
            self.send_text(
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
            self.send_text(_error(2, "Invalid request: invalid type for params", req_id))
            return
        reply = self._control(method, params, req_id)
        self.send_text(reply)

    def _control(self, method: str, params: Any, req_id: Any) -> bytes:
        """The answer to a well-formed control message."""
        if method == "SUBSCRIBE":
            bad = [p for p in params if parse_stream(p) is None]
            if bad:
                return _error(2, f"Invalid request: invalid stream name {bad[0]}", req_id)
            if len(set(self.streams) | set(params)) > MAX_STREAMS:
                return _error(2, "Invalid request: too many streams", req_id)
            self.subscriptions.add(self, params)
            result: Any = None
        elif method == "UNSUBSCRIBE":
            self.subscriptions.remove(self, params)
            result = None
        elif method == "LIST_SUBSCRIPTIONS":
            result = list(self.streams)
        else:
            if not params or params[0] != "combined":
                return _error(0, "Unknown property", req_id)
            if method == "GET_PROPERTY":
                result = self.combined
            else:
                if len(params) != 2 or not isinstance(params[1], bool):
                    return _error(1, "Invalid value type: expected Boolean", req_id)
                self.combined = params[1]
                result = None
        return encode_json({"result": result, "id": req_id})
