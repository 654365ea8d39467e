"""Kraken's WebSocket v2 sockets: one connection class for both endpoints, and the gateway that
owns them (the status channel, heartbeats, request dispatch, the order of channel output).

Envelopes follow Kraken's (reference/kraken.md §1): keys in alphabetical order, `result` only on
success, `error` only on failure, `time_in`/`time_out` stamps.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any, ClassVar, Final

import msgspec
from picows import WSMsgType, WSUpgradeRequest

from ..engine import Account, Engine
from ..errors import VenueError
from ..market import MarketVenue, StreamConnection
from ..wire import decode_json, encode_json, rfc3339_us
from .protocol import E_INVALID_ARGS, E_PRIVATE_ON_PUBLIC

__all__ = ["Handler", "KrakenConnection", "KrakenGateway", "Request", "envelope"]

log = logging.getLogger(__name__)

WS_API_VERSION: Final = "2.0.10"
_HEARTBEAT: Final = b'{"channel":"heartbeat"}'
_CLOUDFLARE_RESTART: Final = "CloudFlare WebSocket proxy restarting"


class Request:
    __slots__ = ("method", "params", "req_id", "time_in")

    def __init__(self, method: str, req_id: int | None, params: dict[str, Any], time_in: int):
        self.method = method
        self.req_id = req_id
        self.params = params
        self.time_in = time_in


def envelope(req: Request, *, result: Any = None, error: str | None = None) -> bytes:
    """A method's reply: `result` only on success, `error` only on failure."""
    reply: dict[str, Any] = {}
    if error is not None:
        reply["error"] = error
    if req.method:  # empty when the frame was not a JSON request at all
        reply["method"] = req.method
    if req.req_id is not None:
        reply["req_id"] = req.req_id
    if error is None:
        reply["result"] = result
    reply["success"] = error is None
    reply["time_in"] = rfc3339_us(req.time_in)
    reply["time_out"] = rfc3339_us(time.time_ns())
    return encode_json(reply)


class KrakenConnection(StreamConnection):
    """One client WebSocket on the public (`private=False`) or the auth endpoint."""

    venue: KrakenGateway

    def __init__(self, venue: KrakenGateway, path: str, private: bool) -> None:
        super().__init__(venue, path)
        self.private = private
        self.sequence = 0  # private channel messages, per connection
        self.executions: Account | None = None
        self.balances: Account | None = None
        self.active = False  # sent something since the last heartbeat tick

    def connected(self) -> None:
        self.send(self.venue.status_message())

    def closed(self) -> None:
        self.venue.forget(self)

    def on_message(self, payload: bytes) -> None:
        time_in = time.time_ns()
        if self.venue.delay_s:
            loop = asyncio.get_running_loop()
            loop.call_later(self.venue.delay_s, self.venue.handle, self, payload, time_in)
        else:
            self.venue.handle(self, payload, time_in)

    # output

    def send(self, data: bytes) -> None:
        """Replies, status and private channel data; a stalled gateway loses them."""
        if self.transport is None or self.venue.stalled():
            return
        self.transport.send(WSMsgType.TEXT, data)
        self.active = True

    def send_md(self, data: bytes) -> None:
        """Market data: held during a stall and delivered when it ends, so books stay valid."""
        if self.venue.stalled():
            super().send(data)  # holds it; `release` sends it through `send`
        else:
            self.send(data)

    def reply(self, req: Request, result: Any) -> None:
        self.send(envelope(req, result=result))

    def reply_error(self, req: Request, error: str) -> None:
        self.send(envelope(req, error=error))

    def push_private(self, channel: bytes, kind: bytes, items: bytes) -> None:
        """Queue a private channel message; `items` is the encoded `data` array."""
        self.sequence += 2 if self.venue.skip.hit() else 1
        self.venue.push(
            self,
            b'{"channel":"%s","type":"%s","data":%s,"sequence":%d}'
            % (channel, kind, items, self.sequence),
        )


Handler = Callable[[KrakenConnection, Request], None]


class KrakenGateway(MarketVenue):
    """Kraken's REST app and its two WS v2 endpoints (`ws` public, `ws_auth` private).

    Methods are routed by name (`route`); a private one asked on the public endpoint is refused.
    Channel messages a request causes go out after that request's replies (`push`). The `delay`
    fault (`delay_s`) holds every request back; `skip` (the `skip_sequence` fault) drops private
    channel sequence numbers.
    """

    name: ClassVar[str] = "kraken"
    # Kraken's server sends no pings: clients ping (`ping` method) and watch the heartbeats.
    WS_ENDPOINTS: ClassVar[tuple[tuple[str, float, float], ...]] = (
        ("ws", 0.0, 0.0),
        ("ws_auth", 0.0, 0.0),
    )
    REFUSE_WHEN_DOWN: ClassVar[bool] = False  # in maintenance it connects and says so
    MALFORMED_DEFAULT: ClassVar[str] = _CLOUDFLARE_RESTART

    def __init__(self, engine: Engine, *, host: str) -> None:
        super().__init__(engine, host=host)
        self.delay_s = 0.0
        self._methods: dict[str, Handler] = {"ping": self._ping}
        self._private_methods: set[str] = set()
        self._deferred: list[tuple[KrakenConnection, bytes]] | None = None

    def route(self, method: str, handler: Handler, *, private: bool = False) -> None:
        self._methods[method] = handler
        if private:
            self._private_methods.add(method)

    def listener(self, endpoint: str, request: WSUpgradeRequest) -> KrakenConnection | None:
        path = request.path.split(b"?", 1)[0]
        if path.rstrip(b"/") != b"/v2":
            return None  # picows answers 404
        return KrakenConnection(self, path.decode("latin-1"), private=endpoint == "ws_auth")

    def background(self) -> list[Any]:
        return [self._heartbeats()]

    def sockets(self) -> list[KrakenConnection]:
        return [conn for conn in self.connections if isinstance(conn, KrakenConnection)]

    # hooks of the composed venue

    def forget(self, conn: KrakenConnection) -> None:
        """The socket is gone: drop its subscriptions."""

    def subscribed(self, conn: KrakenConnection) -> bool:
        """True while the socket has a channel subscription (it then gets heartbeats)."""
        return False

    # status channel

    def status_message(self) -> bytes:
        status = {
            "api_version": "v2",
            "connection_id": secrets.randbits(63) | 1 << 63,
            "system": self.system,
            "version": WS_API_VERSION,
        }
        return encode_json({"channel": "status", "type": "update", "data": [status]})

    def set_system(self, system: str) -> None:
        """Change the system status; every socket is told."""
        if system != self.system:
            self.system = system
            self.broadcast_status()

    def broadcast_status(self) -> None:
        message = self.status_message()
        for conn in self.sockets():
            conn.send(message)

    # dispatch

    def handle(self, conn: KrakenConnection, payload: bytes, time_in: int) -> None:
        try:
            message = decode_json(payload)
        except msgspec.DecodeError:
            message = None
        if not isinstance(message, dict):
            conn.reply_error(Request("", None, {}, time_in), "Malformed request")
            return
        method = message.get("method")
        req_id = message.get("req_id")
        if isinstance(req_id, bool) or not isinstance(req_id, int):
            req_id = None
        params = message.get("params", {})
        req = Request(method if isinstance(method, str) else "", req_id, params, time_in)
        handler = self._methods.get(req.method)
        if handler is None:
            conn.reply_error(req, "Unsupported event")
            return
        if not isinstance(params, dict):
            conn.reply_error(req, f"{E_INVALID_ARGS}:params")
            return
        if req.method == "ping" and "params" in message:
            conn.reply_error(req, "Unsupported field: 'params' for the given msg type: ping")
            return
        if req.method in self._private_methods and not conn.private:
            conn.reply_error(req, E_PRIVATE_ON_PUBLIC)
            return
        # Channel events caused by this request go out after its reply(ies).
        deferred: list[tuple[KrakenConnection, bytes]] = []
        self._deferred = deferred
        try:
            handler(conn, req)
        except VenueError as exc:
            conn.reply_error(req, exc.message)
        except Exception:
            log.exception("kraken sim: %s failed", req.method)
            conn.reply_error(req, "EGeneral:Internal error")
        finally:
            self._deferred = None
            for target, data in deferred:
                target.send(data)

    def push(self, conn: KrakenConnection, data: bytes) -> None:
        if self._deferred is not None:
            self._deferred.append((conn, data))
        else:
            conn.send(data)

    def _ping(self, conn: KrakenConnection, req: Request) -> None:
        pong: dict[str, Any] = {"method": "pong"}
        if req.req_id is not None:
            pong["req_id"] = req.req_id
        pong["time_in"] = rfc3339_us(req.time_in)
        pong["time_out"] = rfc3339_us(time.time_ns())
        conn.send(encode_json(pong))

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for conn in self.sockets():
                if self.subscribed(conn) and not conn.active:
                    conn.send(_HEARTBEAT)
                conn.active = False
