"""A WebSocket connection that stays up: picows underneath, reconnect with capped
exponential backoff and jitter, hooks to re-authenticate and resubscribe, and a receive
stamp taken before anything else looks at a frame.

Knows no venue: the owner passes a frame handler and connect/disconnect hooks.

What ends an attempt decides what happens next:

* a network failure (refused, reset, handshake timeout, a hook that lost its socket):
  reconnect fast (`ReconnectPolicy.delay`, 50 ms doubling to 10 s by default);
* an `AuthError` (from the connect hook, from `fail()`, or a 401/403 answer to the upgrade):
  reconnect slowly (`ReconnectPolicy.auth_delay`, about 1-2 s doubling to 30-60 s), and every
  `wait_ready()` in progress raises it at once;
* a `ConfigError` (nothing a retry can fix): `run()` raises it and stops, and every
  `wait_ready()`, in progress or later, raises it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from picows import (
    WSAutoPingStrategy,
    WSCloseCode,
    WSFrame,
    WSInvalidStatusError,
    WSListener,
    WSMsgType,
    WSProtocolError,
    WSTransport,
    ws_connect,
)

from hftpy.errors import AuthError, ConfigError, DisconnectedError, FrameTooLargeError

log = logging.getLogger("hftpy.net")

#: `on_frame(payload, recv_ns, recv_mono_ns)`: payload is a memoryview valid only during the
#: call (zero copy out of picows' read buffer), or bytes for reassembled fragmented messages.
FrameHandler = Callable[[memoryview | bytes, int, int], None]
#: Extra handshake headers, or a function called before every connect for fresh ones (a
#: venue that authenticates the upgrade with a one-use token).
Headers = dict[str, str] | Callable[[], dict[str, str]]
#: `upgrade_refused(status, body)`: the error for an upgrade the server answered with
#: `status` instead of 101 (`body` as far as it arrived, possibly None), or None for the
#: default (AuthError for 401/403, the handshake error otherwise).
UpgradeRefused = Callable[[int, bytes | None], BaseException | None]

_time_ns = time.time_ns
_monotonic_ns = time.monotonic_ns
#: The largest frame a connection takes by default (picows's default): a venue frame beyond
#: it drops the connection with FrameTooLargeError rather than buffering without bound.
DEFAULT_MAX_FRAME_SIZE = 10 * 1024 * 1024
_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY

# What a refused upgrade's body may echo back of the request: a bearer token or a JWT.
_BEARER = re.compile(r"(?i)bearer\s+[^\s\"',}]+")
_JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*")


@dataclass(frozen=True, slots=True)
class ReconnectPolicy:
    """Delay before reconnect attempt n (n = 0, 1, ...): `min(max_delay, initial * 2**n)`,
    scaled by a random factor in `[1 - jitter, 1]` so a fleet of clients does not reconnect
    in lockstep. The attempt count resets once a connection has stayed up `stable_after` s.

    After an authentication failure the same doubling runs from `auth_initial_delay` to
    `auth_max_delay` instead (defaults: 1-2 s, 2-4 s, ... capped at 30-60 s), with its own
    count, reset only once a connection becomes ready: a refused key is not retried at the
    speed of a network drop, and a venue that locks out a key after repeated bad logins is
    not given the chance."""

    initial_delay: float = 0.05
    max_delay: float = 10.0
    jitter: float = 0.5
    stable_after: float = 10.0
    auth_initial_delay: float = 2.0
    auth_max_delay: float = 60.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reconnect `attempt` after a network failure."""
        return self._jittered(self.initial_delay, self.max_delay, attempt)

    def auth_delay(self, attempt: int) -> float:
        """Seconds to wait before reconnect `attempt` after an authentication failure."""
        return self._jittered(self.auth_initial_delay, self.auth_max_delay, attempt)

    def _jittered(self, initial: float, cap: float, attempt: int) -> float:
        base = min(cap, initial * (2 ** min(attempt, 30)))
        return float(base * (1.0 - self.jitter * random.random()))


class _PicowsLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """picows' logger for our connections, without its below-DEBUG level (9): there it logs
    the whole upgrade request, headers and all, and a venue that authenticates the upgrade
    (Upbit's JWT) would have its secret written out."""

    def isEnabledFor(self, level: int) -> bool:
        return level >= logging.DEBUG and self.logger.isEnabledFor(level)


class _Listener(WSListener):
    __slots__ = ("_conn", "_deliver", "_fragments")

    def __init__(self, conn: WsConnection) -> None:
        self._conn = conn
        self._deliver = conn._on_frame
        self._fragments: bytearray | None = None

    def on_ws_connected(self, transport: WSTransport) -> None:
        self._conn._transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        recv_ns = _time_ns()  # first: the stamp is the point of this library
        msg_type = frame.msg_type
        if (msg_type is _TEXT or msg_type is _BINARY) and frame.fin:
            self._deliver(frame.get_payload_as_memoryview(), recv_ns, _monotonic_ns())
        elif msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()
        elif msg_type is _TEXT or msg_type is _BINARY:
            self._fragments = bytearray(frame.get_payload_as_memoryview())
        elif msg_type is WSMsgType.CONTINUATION and self._fragments is not None:
            self._fragments += frame.get_payload_as_memoryview()
            if frame.fin:
                payload, self._fragments = bytes(self._fragments), None
                self._deliver(payload, recv_ns, _monotonic_ns())

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._conn._transport = None
        self._conn._ready.clear()
        self._conn.is_ready = False
        # At once, not when run() gets round to it: an auth hook awaiting a reply on this
        # socket learns it is gone from the owner's disconnect handler (which fails such
        # waits) instead of sitting out its own timeout.
        self._conn._notify_disconnected()


class WsConnection:
    """One logical connection to `url`, reconnecting until `close()`.

    `on_connected` runs after every (re)connect, before the connection counts as ready: the
    place to authenticate and resubscribe. It may send and await replies. If it raises, the
    connection is dropped and retried (see the module doc for how an `AuthError` or a
    `ConfigError` is treated). `on_disconnected` runs once per lost connection.
    `upgrade_refused` turns a non-101 answer to the upgrade into the venue's error.

    Dead sockets: picows sends a ping after `ping_idle_timeout` s without a received frame
    and drops the connection when no pong follows within `ping_reply_timeout` s, so a peer
    that stops answering is found within their sum (5 s by default; 0 idle disables the
    pings). A peer that answers pings but sends no data is its owner's watchdog's business.
    """

    def __init__(
        self,
        url: str,
        on_frame: FrameHandler,
        *,
        name: str = "ws",
        on_connected: Callable[[], Awaitable[None]] | None = None,
        on_disconnected: Callable[[], None] | None = None,
        reconnect: ReconnectPolicy | None = None,
        ping_idle_timeout: float = 3.0,
        ping_reply_timeout: float = 2.0,
        handshake_timeout: float = 10.0,
        extra_headers: Headers | None = None,
        upgrade_refused: UpgradeRefused | None = None,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    ) -> None:
        if max_frame_size < 1024:
            raise ConfigError(f"max_frame_size must be at least 1024 bytes, not {max_frame_size}")
        self.url = url
        self.name = name
        self._on_frame = on_frame
        self._on_connected = on_connected
        self._on_disconnected = on_disconnected
        self._policy = reconnect or ReconnectPolicy()
        self._ping_idle_timeout = ping_idle_timeout
        self._ping_reply_timeout = ping_reply_timeout
        self._handshake_timeout = handshake_timeout
        self.max_frame_size = max_frame_size
        self._extra_headers = extra_headers
        #: See `UpgradeRefused`; an owner may set it after construction.
        self.upgrade_refused = upgrade_refused
        self._transport: WSTransport | None = None
        self._ready = asyncio.Event()
        #: `ready` as a plain attribute, for the send path (no method calls).
        self.is_ready = False
        self._closed = False
        self._wake = asyncio.Event()
        self._disconnect_notified = True  # no connection yet
        #: Count of successful connects (1 after the first); tests and metrics read it.
        self.connects = 0
        #: Count of connection attempts, successful or not.
        self.attempts = 0
        #: Count of attempts that ended in an `AuthError`.
        self.auth_failures = 0
        #: What ended the latest failed attempt (None before any failure).
        self.last_error: BaseException | None = None
        # wait_ready() calls in progress: each gets None (ready) or the error that ends it.
        self._waiters: set[asyncio.Future[BaseException | None]] = set()
        # A ConfigError that stopped run(): every wait_ready() raises it from then on.
        self._fatal: ConfigError | None = None
        # The error `fail()` gave the current connection.
        self._failure: BaseException | None = None

    # -- state -------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """Whether a socket is open (it may still be authenticating: see `ready`)."""
        return self._transport is not None

    @property
    def ready(self) -> bool:
        """Whether the socket is open and `on_connected` has finished (authenticated,
        subscribed)."""
        return self._ready.is_set()

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Returns once the connection is ready. Raises the `AuthError` of an attempt that
        fails after the wait began (at once, not at the timeout), the `ConfigError` that
        stopped `run()`, `DisconnectedError` once `close()` ran, or `TimeoutError` after
        `timeout` s."""
        if self._ready.is_set():
            return
        if self._fatal is not None:
            raise self._fatal.with_traceback(None)
        if self._closed:
            raise DisconnectedError(f"{self.name}: closed")
        waiter: asyncio.Future[BaseException | None] = asyncio.get_running_loop().create_future()
        self._waiters.add(waiter)
        try:
            outcome = await asyncio.wait_for(waiter, timeout)
        finally:
            self._waiters.discard(waiter)
        if outcome is not None:
            raise outcome.with_traceback(None)

    def _resolve_waiters(self, outcome: BaseException | None) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(outcome)
        self._waiters.clear()

    # -- sending -----------------------------------------------------------------------
    def send(self, payload: bytes) -> None:
        """Hands a text frame to the socket now (synchronously, so call order is send order)."""
        transport = self._transport
        if transport is None:
            raise DisconnectedError(f"{self.name}: not connected")
        transport.send(_TEXT, payload)

    def send_binary(self, payload: bytes) -> None:
        """Hands a binary frame to the socket now (synchronously, like `send`); raises
        `DisconnectedError` when not connected."""
        transport = self._transport
        if transport is None:
            raise DisconnectedError(f"{self.name}: not connected")
        transport.send(_BINARY, payload)

    # -- lifecycle ---------------------------------------------------------------------
    async def run(self) -> None:
        """Connects and reconnects until `close()`; raises a `ConfigError` that an attempt
        ran into (without retrying it)."""
        attempt = 0
        auth_attempt = 0
        while not self._closed:
            up_since = 0.0
            failure: BaseException | None = None
            self.attempts += 1
            try:
                transport = await self._connect()
                if self._closed:
                    # close() ran during the handshake, before there was a socket to close.
                    self._transport = None
                    transport.disconnect()
                    break
                self.connects += 1
                self._disconnect_notified = False
                self._failure = None
                up_since = time.monotonic()
                try:
                    if self._on_connected is not None:
                        await self._on_connected()
                    if not transport.is_disconnected:
                        self._ready.set()
                        self.is_ready = True
                        auth_attempt = 0
                        self._resolve_waiters(None)
                        log.info("%s: connected to %s", self.name, self.url)
                    await transport.wait_disconnected()
                finally:
                    self._ready.clear()
                    self.is_ready = False
                    if not transport.is_disconnected:
                        transport.disconnect(graceful=False)
                    self._transport = None
                    self._notify_disconnected()
                # A hook that failed because `fail()` dropped its socket: the reason wins.
                failure, self._failure = self._failure, None
            except asyncio.CancelledError:
                raise
            except WSProtocolError as exc:  # the peer broke the protocol; picows closed
                failure, self._failure = self._failure or self._protocol_error(exc), None
            except Exception as exc:  # connect refused, handshake failed, hook failed
                failure, self._failure = self._failure or exc, None
            if failure is not None:
                self.last_error = failure
                if isinstance(failure, ConfigError):
                    log.error("%s: %s (not retried)", self.name, failure)
                    self._fatal = failure
                    self._resolve_waiters(failure)
                    raise failure
                if isinstance(failure, AuthError):
                    self.auth_failures += 1
                    log.warning("%s: authentication refused: %s", self.name, failure)
                    self._resolve_waiters(failure)
                else:
                    log.warning("%s: connection to %s failed: %s", self.name, self.url, failure)
            if self._closed:
                break
            if isinstance(failure, AuthError):
                delay = self._policy.auth_delay(auth_attempt)
                auth_attempt += 1
            else:
                if up_since and time.monotonic() - up_since >= self._policy.stable_after:
                    attempt = 0
                delay = self._policy.delay(attempt)
                attempt += 1
            log.info("%s: reconnecting in %.3fs", self.name, delay)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _protocol_error(self, exc: WSProtocolError) -> BaseException:
        """A frame over `max_frame_size` as an error that says which setting to change."""
        if exc.args and exc.args[0] == WSCloseCode.MESSAGE_TOO_BIG:
            return FrameTooLargeError(
                f"{self.name}: the venue sent a frame larger than max_frame_size="
                f"{self.max_frame_size} bytes ({exc.args[-1]}); the connection was dropped "
                "(close code 1009) and reconnects; pass a larger max_frame_size if such "
                "frames are expected"
            )
        return exc

    def fail(self, error: BaseException) -> None:
        """Ends the current connection because of `error` (e.g. an auth refusal that arrives
        as a frame): it counts as what ended the attempt, as if the connect hook raised it."""
        if self._transport is None:
            return
        self._failure = error
        self.drop()

    def _notify_disconnected(self) -> None:
        """Tells the owner once per connection that it is gone."""
        if self._disconnect_notified:
            return
        self._disconnect_notified = True
        if self._on_disconnected is not None:
            self._on_disconnected()

    async def _connect(self) -> WSTransport:
        kwargs: dict[str, Any] = {}
        headers = self._extra_headers
        if callable(headers):
            headers = headers()
        if headers:
            kwargs["extra_headers"] = headers
        try:
            transport, _ = await ws_connect(
                lambda: _Listener(self),
                self.url,
                websocket_handshake_timeout=self._handshake_timeout,
                enable_auto_ping=self._ping_idle_timeout > 0,
                auto_ping_idle_timeout=self._ping_idle_timeout or 10.0,
                auto_ping_reply_timeout=self._ping_reply_timeout,
                auto_ping_strategy=WSAutoPingStrategy.PING_WHEN_IDLE,
                max_frame_size=self.max_frame_size,
                logger_name=_PicowsLog(logging.getLogger(f"picows.hftpy.{self.name}"), {}),
                **kwargs,
            )
        except WSInvalidStatusError as exc:
            raise self._refused(exc, headers or {}) from None
        self._transport = transport
        return transport

    def _refused(self, exc: WSInvalidStatusError, headers: dict[str, str]) -> BaseException:
        """The error for an upgrade answered without 101: the owner's translation, else an
        `AuthError` for 401/403 with the body's text (what was sent redacted), else `exc`."""
        status = int(exc.response.status) if exc.response is not None else 0
        body = exc.raw_body or None
        if self.upgrade_refused is not None:
            translated = self.upgrade_refused(status, body)
            if translated is not None:
                return translated
        if status in (401, 403):
            detail = f": {redacted_text(body, headers.values())}" if body else ""
            return AuthError(f"{self.name}: upgrade refused with HTTP {status}{detail}")
        return exc

    def drop(self) -> None:
        """Drops the current connection (it will reconnect), e.g. after a stale reply stream."""
        transport = self._transport
        if transport is not None:
            transport.disconnect(graceful=False)

    async def close(self) -> None:
        """Closes for good: a close frame, then the socket; `run()` returns."""
        self._closed = True
        self._wake.set()
        self._resolve_waiters(DisconnectedError(f"{self.name}: closed"))
        transport = self._transport
        if transport is not None:
            # Already half-closed is fine: the disconnect below still happens.
            with contextlib.suppress(Exception):
                transport.send_close(WSCloseCode.OK)
            transport.disconnect()
            try:
                await asyncio.wait_for(transport.wait_disconnected(), 2.0)
            except TimeoutError:
                transport.disconnect(graceful=False)


def redacted_text(body: bytes, sent: Iterable[str] = (), limit: int = 300) -> str:
    """`body` as text for an error message: at most `limit` characters, with every value
    in `sent` (the request's headers) and anything like a bearer token or a JWT as ***."""
    text = body.decode("utf-8", "replace").strip()
    for value in sent:
        if len(value) >= 8:
            text = text.replace(value, "***")
    text = _JWT.sub("***", _BEARER.sub("Bearer ***", text))
    return text if len(text) <= limit else text[:limit] + "..."
