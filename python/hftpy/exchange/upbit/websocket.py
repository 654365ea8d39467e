"""`UpbitWebSocket`: python-upbit's WebSocket interface (seed 004) on picows.

    sock = UpbitWebSocket()                      # uri defaults to HFTPY_UPBIT_WS_URL / Upbit
    payload = UpbitWebSocket.generate_payload(type="trade", codes=["KRW-BTC", "KRW-ETH"])
    async with sock.Connection as conn:          # a fresh connection on every access
        await conn.send(payload)
        data = await conn.recv()                 # the frame's raw bytes
        print(json.loads(data.decode("utf8")))

Sending the text `PING` makes Upbit answer `{"status":"UP"}`. `conn.send` keeps to Upbit's
per-connection message limits (5 a second, 100 a minute) by waiting. With `access_key` and
`secret_key` (and the private URI) the upgrade carries a fresh JWT.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from hftpy._core import RateLimiter, UpbitSigner
from hftpy.common import Exchange
from hftpy.errors import DisconnectedError
from hftpy.exchange.endpoints import endpoint
from hftpy.exchange.rest_orders import acquire
from hftpy.exchange.upbit.rest import new_nonce
from hftpy.exchange.upbit.ws_api import _WS_COSTS, WS_MESSAGE_LIMITS
from hftpy.redact import Secret

_CLOSED = object()


class _Listener(WSListener):
    def __init__(self, queue: asyncio.Queue[Any]) -> None:
        self._queue = queue
        self._fragments: bytearray | None = None

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is WSMsgType.TEXT or msg_type is WSMsgType.BINARY:
            if frame.fin:
                self._queue.put_nowait(frame.get_payload_as_bytes())
            else:
                self._fragments = bytearray(frame.get_payload_as_bytes())
        elif msg_type is WSMsgType.CONTINUATION and self._fragments is not None:
            self._fragments += frame.get_payload_as_memoryview()
            if frame.fin:
                self._queue.put_nowait(bytes(self._fragments))
                self._fragments = None
        elif msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._queue.put_nowait(_CLOSED)


class UpbitConnection:
    """An open connection: `send(message)` and `recv()` (raw bytes of the next frame)."""

    def __init__(self, transport: WSTransport, queue: asyncio.Queue[Any]) -> None:
        self._transport = transport
        self._queue = queue
        self._limiter = RateLimiter(list(WS_MESSAGE_LIMITS))
        self.closed = False

    async def send(self, message: str | bytes) -> None:
        """Sends `message` as a text frame (waiting while the message limits are used up)."""
        if self.closed or self._transport.is_disconnected:
            raise DisconnectedError("upbit websocket: connection closed")
        await acquire(self._limiter, _WS_COSTS, "wait")
        data = message.encode() if isinstance(message, str) else bytes(message)
        self._transport.send(WSMsgType.TEXT, data)

    async def recv(self) -> bytes:
        """The next frame's payload as bytes; raises `DisconnectedError` once closed."""
        if self.closed and self._queue.empty():
            raise DisconnectedError("upbit websocket: connection closed")
        item = await self._queue.get()
        if item is _CLOSED:
            self.closed = True
            self._queue.put_nowait(_CLOSED)  # every later recv() fails the same way
            raise DisconnectedError("upbit websocket: connection closed")
        data: bytes = item
        return data

    def __aiter__(self) -> UpbitConnection:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.recv()
        except DisconnectedError:
            raise StopAsyncIteration from None

    async def close(self) -> None:
        """Sends a close frame and disconnects (forcibly after 2 s). Later `send()` calls raise
        `DisconnectedError`; `recv()` returns the frames already received, then raises it."""
        if not self._transport.is_disconnected:
            self._transport.send_close(WSCloseCode.OK)
            self._transport.disconnect()
            try:
                await asyncio.wait_for(self._transport.wait_disconnected(), 2.0)
            except TimeoutError:
                self._transport.disconnect(graceful=False)
        self.closed = True


class _Connect:
    """`sock.Connection`: an async context manager opening one connection."""

    def __init__(self, sock: UpbitWebSocket) -> None:
        self._sock = sock
        self._conn: UpbitConnection | None = None

    async def __aenter__(self) -> UpbitConnection:
        if self._conn is not None:
            raise RuntimeError("this Connection is already open; use sock.Connection again")
        self._conn = await self._sock.connect()
        return self._conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._conn is not None:
            await self._conn.close()


class UpbitWebSocket:
    """python-upbit's `UpbitWebSocket(uri, ping_interval, ping_timeout)`."""

    def __init__(
        self,
        uri: str | None = None,
        ping_interval: float | None = None,
        ping_timeout: float | None = None,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> None:
        self.uri = endpoint(Exchange.UPBIT, "ws", uri)
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self._signer = UpbitSigner(access_key, secret_key) if access_key and secret_key else None

    def __repr__(self) -> str:
        return f"UpbitWebSocket(uri={self.uri!r})"

    @property
    def Connection(self) -> _Connect:
        """A fresh async context manager yielding an open connection."""
        return _Connect(self)

    async def connect(self) -> UpbitConnection:
        """Opens a connection to `uri` and returns it (`Connection` wraps this in an async context
        manager). The upgrade carries a fresh JWT when keys were given; with `ping_interval`, a ping
        goes out after that many seconds idle and the connection drops without a pong within
        `ping_timeout` s (default: `ping_interval`)."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        kwargs: dict[str, Any] = {}
        if self._signer is not None:
            token = Secret(self._signer.token(new_nonce()))
            kwargs["extra_headers"] = {"Authorization": f"Bearer {token.reveal()}"}
        if self.ping_interval:
            kwargs["enable_auto_ping"] = True
            kwargs["auto_ping_idle_timeout"] = self.ping_interval
            kwargs["auto_ping_reply_timeout"] = self.ping_timeout or self.ping_interval
        transport, _ = await ws_connect(lambda: _Listener(queue), self.uri, **kwargs)
        return UpbitConnection(transport, queue)

    @staticmethod
    def generate_payload(
        type: str,
        codes: Sequence[str],
        ticket: str | None = None,
        isOnlySnapshot: bool | None = None,
        isOnlyRealtime: bool | None = None,
        format: str = "DEFAULT",
    ) -> str:
        """The request as a JSON string: `[{"ticket"},{"type","codes",..},{"format"}]`."""
        field: dict[str, Any] = {"type": type, "codes": list(codes)}
        if isOnlySnapshot is not None:
            field["isOnlySnapshot"] = isOnlySnapshot
        if isOnlyRealtime is not None:
            field["isOnlyRealtime"] = isOnlyRealtime
        payload = [{"ticket": ticket or str(uuid.uuid4())}, field, {"format": format}]
        return json.dumps(payload)

    @staticmethod
    def generate_orderbook_codes(
        currencies: Sequence[str], counts: Sequence[int] | None = None
    ) -> list[str]:
        """`["KRW-BTC", "KRW-ETH"], [5, 5]` -> `["KRW-BTC.5", "KRW-ETH.5"]`."""
        if counts is None:
            return list(currencies)
        if len(counts) != len(currencies):
            raise ValueError("currencies and counts must have the same length")
        return [f"{code}.{count}" for code, count in zip(currencies, counts, strict=True)]
