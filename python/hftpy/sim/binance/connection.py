"""One client socket on the Binance WS API and the session it carries (logged-on key, user data
stream subscriptions)."""

from __future__ import annotations

from typing import Any, Protocol

from picows import WSFrame, WSListener, WSMsgType, WSTransport

from ..engine import Account
from ..faults import answer_ping
from .auth import ApiKey

__all__ = ["ApiServer", "BinanceApiConnection"]


class ApiServer(Protocol):
    """What a connection needs of the WS API venue that accepted it."""

    connections: set[Any]

    def now_ms(self) -> int: ...

    def stalled(self) -> bool: ...

    def answers_pings(self) -> bool: ...

    def handle(self, conn: BinanceApiConnection, payload: bytes) -> None: ...

    def forget(self, conn: BinanceApiConnection) -> None: ...


class BinanceApiConnection(WSListener):
    """One client socket on the WS API."""

    def __init__(self, venue: ApiServer, return_rate_limits: bool) -> None:
        super().__init__()
        self.venue = venue
        self.transport: WSTransport | None = None
        self.return_rate_limits = return_rate_limits
        self.session: ApiKey | None = None
        self.authorized_since: int | None = None
        self.connected_since = venue.now_ms()
        self.subs: dict[int, Account] = {}
        self.next_sub_id = 0
        self.revoked = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.venue.connections.add(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.transport = None
        self.venue.forget(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT:
            if not self.venue.stalled():
                self.venue.handle(self, frame.get_payload_as_bytes())
        elif frame.msg_type == WSMsgType.PING:
            answer_ping(self.venue, transport, frame)
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.venue.stalled():
            self.transport.send(WSMsgType.TEXT, data)

    def release(self) -> None:
        """Nothing to send: a stalled WS API drops its replies rather than holding them."""

    def log_out(self) -> None:
        self.session = None
        self.authorized_since = None
