"""`WsApiBase`: request/response plumbing shared by every venue's WebSocket API.

The request contract (DESIGN.md): a request method returns its `req_id` once the frame is
handed to the socket; the callback fires once per venue reply (a request the venue answers
per item fires once per item); every item ends in exactly one terminal outcome: the venue's
reply, or a local one in the venue's dict shape (`hftpy:timeout`, `hftpy:disconnected`,
`hftpy:rate_limited`). `wait=True` returns a `WsResponse` instead and raises the matching
`HftpyError` for local outcomes.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar, Literal, overload

from hftpy._core import LatencyStats
from hftpy.common import CurrencyPair, Exchange, OrderType, Side, TimeInForce, venue_symbol
from hftpy.errors import (
    DisconnectedError,
    HftpyError,
    InvalidOrderError,
    RateLimitError,
    RequestError,
    RequestTimeoutError,
)
from hftpy.exchange.lifecycle import AsyncLifecycle
from hftpy.exchange.orders import Fill, OrderEvent, OrderStatus, OrderUpdate
from hftpy.exchange.stats import LatencySummary, summaries
from hftpy.exchange.tracker import OrderTracker, TrackedOrder
from hftpy.net import WsConnection
from hftpy.net.connection import Headers

log = logging.getLogger("hftpy.ws_api")

_time_ns = time.time_ns
_monotonic_ns = time.monotonic_ns

#: A price or amount: exact text from `Decimal`/`str`, floats by their shortest repr.
Number = int | float | Decimal | str
#: `callback(request_id, method, request, response, latency_us)`, as in the seed documents.
WsCallback = Callable[[int, str, dict[str, Any], dict[str, Any], int], None]
#: `listener(message, recv_ns)` for a private channel message (orders, fills, balances).
ChannelListener = Callable[[dict[str, Any], int], None]

TIMEOUT = "hftpy:timeout"
DISCONNECTED = "hftpy:disconnected"
RATE_LIMITED = "hftpy:rate_limited"

_LOCAL_ERRORS: dict[str, type[RequestError]] = {
    TIMEOUT: RequestTimeoutError,
    DISCONNECTED: DisconnectedError,
    RATE_LIMITED: RateLimitError,
}

# One request-id sequence per exchange per process, shared by every account's API object,
# so ids never collide in logs or on a shared venue session. The user's requests count up
# from 1 and stay consecutive: the API's own requests (logon, time sync, private
# subscriptions, pings) count down in a sequence of their own, from an id no user request
# may take (`WsApiBase.INTERNAL_IDS_FROM`), so a reply to one kind can never reach the other.
_REQUEST_IDS: dict[Exchange, Iterator[int]] = {}
_INTERNAL_IDS: dict[Exchange, Iterator[int]] = {}


async def _value(value: int) -> int:
    return value


def _local_error_of(exc: RequestError) -> str:
    """The local outcome (`hftpy:timeout`, ...) a `RequestError` stands for."""
    for error, exc_type in _LOCAL_ERRORS.items():
        if isinstance(exc, exc_type):
            return error
    return DISCONNECTED


def _request_ids(exchange: Exchange) -> Iterator[int]:
    counter = _REQUEST_IDS.get(exchange)
    if counter is None:
        counter = _REQUEST_IDS[exchange] = itertools.count(1)
    return counter


def _internal_ids(exchange: Exchange, start: int) -> Iterator[int]:
    counter = _INTERNAL_IDS.get(exchange)
    if counter is None:
        counter = _INTERNAL_IDS[exchange] = itertools.count(start, -1)
    return counter


@dataclass(slots=True)
class WsResponse:
    """A finished request. For a request answered once per item, `response` is the first
    reply and `replies` all of them.

    `response` is the venue's own reply dict (or the local outcome in the venue's shape);
    `order_id`, `client_order_id` and `status` are the same answer normalised across venues
    (strings; None where the reply has none, e.g. `cancel_all`)."""

    #: The request's `req_id` (the user's sequence, or the one passed).
    request_id: int
    #: The venue method (Kraken `add_order`, Binance `order.place`, ...).
    method: str
    #: The params as sent (secrets as `Secret`, printing `***`).
    request: dict[str, Any]
    #: The venue's reply (the first one when the venue answers per item).
    response: dict[str, Any]
    #: Whether every reply reports success.
    ok: bool
    #: Wall-clock ns when the frame was handed to the socket: `recv_ns - latency_ns` (the
    #: send path reads one clock, the monotonic one; the wall time follows from the reply's).
    sent_ns: int
    #: Wall-clock ns when the (last) reply was read.
    recv_ns: int
    #: Send to reply, ns, from monotonic stamps.
    latency_ns: int
    #: Every venue reply, in arrival order (one for a request answered once).
    replies: tuple[dict[str, Any], ...] = ()
    #: The venue's order id the reply names (the new order's after an emulated amend).
    order_id: str | None = None
    #: The client order id the reply names (or the one sent).
    client_order_id: str | None = None
    #: The order's status after this reply, when the reply tells.
    status: OrderStatus | None = None

    @property
    def latency_us(self) -> int:
        """`latency_ns` in whole µs (what callbacks receive as `latency`)."""
        return self.latency_ns // 1000


class _Pending:
    """A request in flight: what its replies and local outcome need, and nothing built
    before they need it (the `request` view, the replies list)."""

    __slots__ = (
        "_view",
        "_viewer",
        "callback",
        "deadline_mono",
        "future",
        "method",
        "params",
        "remaining",
        "replies",
        "request_id",
        "sent_mono",
    )

    def __init__(
        self,
        request_id: int,
        method: str,
        params: dict[str, Any],
        callback: WsCallback | None,
        future: asyncio.Future[WsResponse] | None,
        sent_mono: int,
        deadline_mono: int,
        remaining: int,
        viewer: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.request_id = request_id
        self.method = method
        #: The params as sent (what `_order_reply` reads; `request` is the user's view).
        self.params = params
        self.callback = callback
        self.future = future
        #: Monotonic ns when the frame was handed to the transport (0: never sent).
        self.sent_mono = sent_mono
        self.deadline_mono = deadline_mono
        self.remaining = remaining
        #: Venue replies so far (a `wait=True` request answered per item collects them).
        self.replies: list[dict[str, Any]] | None = None
        self._viewer = viewer
        self._view: dict[str, Any] | None = None

    @property
    def request(self) -> dict[str, Any]:
        """The `request` dict callbacks and `WsResponse` see: the params as sent, secrets as
        `Secret` (Kraken's token leading), built on first use."""
        view = self._view
        if view is None:
            viewer = self._viewer
            view = self._view = self.params if viewer is None else viewer(self.params)
        return view


class WsApiBase(AsyncLifecycle):
    """Base of the venue WS APIs. Subclasses set `exchange`, build frames and route replies
    to `_complete(req_id, response, recv_ns, recv_mono)`."""

    exchange: ClassVar[Exchange]
    #: The private channel of order status and fills: what `on_execution` and
    #: `channel_queue()` use when no channel is named.
    execution_channel: ClassVar[str] = ""
    #: Where the API's own request ids start (they count down). Negative by default: the
    #: venue takes any signed 64-bit id (Binance documents `id` so).
    INTERNAL_IDS_FROM: ClassVar[int] = -1
    #: A user-chosen req_id must be below this (None: any non-negative int).
    USER_IDS_BELOW: ClassVar[int | None] = None

    def __init__(
        self,
        *,
        url: str,
        account: str = "default",
        request_timeout: float = 10.0,
        connection_name: str | None = None,
        extra_headers: Headers | None = None,
    ) -> None:
        self.url = url
        self.account = account
        self.request_timeout = request_timeout
        self._pending: dict[int, _Pending] = {}
        #: Builds the `request` view of a request's params (None: the params themselves);
        #: a venue whose view adds the session's token sets one per token.
        self._request_viewer: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        self._taken: set[int] = set()  # ids of requests not yet tracked (see _take_req_id)
        self._listeners: dict[str, list[ChannelListener]] = {}
        self._order_channel_memo = {}
        self._request_ids = _request_ids(self.exchange)
        self._internal_ids = _internal_ids(self.exchange, self.INTERNAL_IDS_FROM)
        self._conn = WsConnection(
            url,
            self._on_frame,
            name=connection_name or f"{self.exchange.value}.ws_api",
            on_connected=self._connected,
            on_disconnected=self._on_disconnected,
            extra_headers=extra_headers,
        )
        self._sweeper: asyncio.Task[None] | None = None
        self._runner: asyncio.Task[None] | None = None
        self._closed = False
        #: Seam for the process-wide rate limiter: called with the method and the request
        #: params before a frame is sent; returns False to refuse (then `_rate_limit_wait`
        #: decides between waiting and `hftpy:rate_limited`).
        self.rate_limiter: Callable[[str, dict[str, Any]], bool] | None = None
        self._rate_wait_log: dict[str, tuple[int, int]] = {}
        self._composites: set[asyncio.Task[None]] = set()
        #: The account's orders as known here: from sends, replies and private-channel
        #: events (`open_orders()` reads it).
        self.orders = OrderTracker(self.exchange)
        if self.order_event_parser is not None:
            self._add_order_event_sink(self._track_event)
        # Request -> reply latency per method (`latency_stats()`); key ids cached per method.
        self._latency = LatencyStats()
        self._latency_keys: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account={self.account!r}, url={self.url!r})"

    @property
    def request_timeout(self) -> float:
        """Seconds a request may wait for its reply (`timeout=` overrides it per request)."""
        return self._request_timeout

    @request_timeout.setter
    def request_timeout(self, seconds: float) -> None:
        if not seconds > 0:
            raise ValueError("request_timeout must be positive")
        self._request_timeout = seconds
        self._timeout_ns = int(seconds * 1e9)

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Runs the connection (reconnecting) until `close()`. Start it as a task."""
        if self._closed:
            raise HftpyError(f"{self!r} is closed; create a new one")
        if self._runner is not None and not self._runner.done():
            raise HftpyError(f"{self!r} already started")
        self._runner = asyncio.current_task()
        self._sweeper = asyncio.create_task(self._sweep_timeouts())
        try:
            await self._conn.run()
        finally:
            self._sweeper.cancel()
            self._fail_all(DISCONNECTED)

    async def wait_ready(self, timeout: float | None = 30.0) -> None:
        """Waits until connected and authenticated. Raises `AuthError` (the venue's message,
        secrets redacted) as soon as the venue refuses the credentials on an attempt made
        after the wait began (`start()` keeps retrying, slowly: the API becomes ready by
        itself once the venue accepts them); `ConfigError` when a configuration problem
        stopped `start()` (never retried); `DisconnectedError` once closed;
        `RequestTimeoutError` (a `TimeoutError`, with the last connection error) after
        `timeout` s."""
        try:
            await self._conn.wait_ready(timeout)
        except TimeoutError:
            detail = f": {self._conn.last_error}" if self._conn.last_error else ""
            raise RequestTimeoutError(f"{self!r} not ready after {timeout}s{detail}") from None

    @property
    def ready(self) -> bool:
        """Whether the connection is up and authenticated (what `wait_ready()` waits for)."""
        return self._conn.ready

    async def close(self) -> None:
        """Closes for good: closes the connection, ends every pending request at once with
        `hftpy:disconnected` (`DisconnectedError` with `wait=True`), and waits up to 2 s for
        `start()` to return (then cancels it). A closed object cannot be started again."""
        self._closed = True
        await self._conn.close()
        self._fail_all(DISCONNECTED)
        # Emulated operations still running have had their outcome (disconnected) just now.
        composites = list(self._composites)
        for task in composites:
            task.cancel()
        await asyncio.gather(*composites, return_exceptions=True)
        if self._runner is not None and self._runner is not asyncio.current_task():
            try:
                await asyncio.wait_for(asyncio.shield(self._runner), 2.0)
            except (TimeoutError, asyncio.CancelledError):
                self._runner.cancel()
            except Exception:  # the runner's failure was logged where it happened
                pass

    def get_next_request_id(self) -> int:
        """The next id of the user's sequence (the API's own requests never take one)."""
        return next(self._request_ids)

    def _next_internal_id(self) -> int:
        """An id for a request of the API's own, apart from every user id."""
        return next(self._internal_ids)

    # -- private channels ------------------------------------------------------------------
    def add_listener(self, channel: str, listener: ChannelListener) -> None:
        """Calls `listener(message, recv_ns)` for each message of a private `channel`."""
        self._listeners.setdefault(channel, []).append(listener)

    def remove_listener(self, channel: str, listener: ChannelListener) -> None:
        """Stops calling a listener `add_listener` registered for `channel`; raises `ValueError`
        when it is not registered there."""
        self._listeners.get(channel, []).remove(listener)

    def on_execution(self, listener: ChannelListener) -> None:
        """Order status and fills: `listener(message, recv_ns)` per message of the venue's
        execution channel."""
        self.add_listener(self.execution_channel, listener)

    def channel_queue(
        self, channel: str | None = None, maxsize: int = 0
    ) -> asyncio.Queue[tuple[dict[str, Any], int]]:
        """An asyncio queue fed with `(message, recv_ns)` for every message of `channel`
        (default: the execution channel). When a bounded queue is full the oldest message
        is dropped, with a warning, so a slow consumer never stalls the socket."""
        name = channel or self.execution_channel
        queue: asyncio.Queue[tuple[dict[str, Any], int]] = asyncio.Queue(maxsize)

        def put(message: dict[str, Any], recv_ns: int) -> None:
            try:
                queue.put_nowait((message, recv_ns))
            except asyncio.QueueFull:
                log.warning("%s %s queue full: dropping the oldest", self.exchange.value, name)
                queue.get_nowait()
                queue.put_nowait((message, recv_ns))

        self.add_listener(name, put)
        return queue

    def _deliver(self, channel: str, message: dict[str, Any], recv_ns: int) -> bool:
        """Hands `message` to `channel`'s listeners; False when it has none."""
        if self._order_listeners is not None:  # someone listens to typed order events
            # whether the channel carries order events, worked out once per channel name
            ordered = self._order_channel_memo.get(channel)
            if ordered is None:
                ordered = self._is_order_channel(channel)
                if len(self._order_channel_memo) < 256:  # names are the venue's, bounded
                    self._order_channel_memo[channel] = ordered
            if ordered:
                self._deliver_order_events(channel, message, recv_ns)
        listeners = self._listeners.get(channel)
        if not listeners:
            return False
        for listener in listeners:
            try:
                listener(message, recv_ns)
            except Exception:  # one listener's bug must not cost the others their message
                log.exception("%s %s listener raised", self.exchange.value, channel)
        return True

    # -- order events ----------------------------------------------------------------------
    #: The venue's parser of its private order channel: `parse(message, recv_ns)` gives the
    #: `OrderUpdate`s and `Fill`s of one message (`hftpy.exchange.<venue>.events.parse`).
    order_event_parser: ClassVar[staticmethod[[dict[str, Any], int], list[OrderEvent]] | None] = (
        None
    )
    #: The channels it applies to: every channel whose name starts with one of these.
    order_event_channels: ClassVar[tuple[str, ...]] = ()
    #: Typed listeners by kind (`sinks`, `updates`, `fills`), each a tuple replaced on every
    #: change (a listener may add or remove listeners meanwhile). None until the first one:
    #: nothing is parsed before.
    _order_listeners: dict[str, tuple[Callable[[Any], None], ...]] | None = None
    #: Channel name -> whether `_is_order_channel` holds for it (filled as names are seen).
    _order_channel_memo: dict[str, bool]
    #: id(queue) -> (queue, its feeding listener), for `remove_order_listener(queue)`.
    _order_queues: dict[int, tuple[asyncio.Queue[Any], Callable[[Any], None]]] | None = None

    def on_order_update(self, listener: Callable[[OrderUpdate], None]) -> None:
        """Calls `listener(update)` with each `OrderUpdate` of the venue's order channel."""
        self._add_order_listener("updates", listener)

    def on_fill(self, listener: Callable[[Fill], None]) -> None:
        """Calls `listener(fill)` with each `Fill` of the venue's order channel."""
        self._add_order_listener("fills", listener)

    def order_updates(self, maxsize: int = 0) -> asyncio.Queue[OrderUpdate]:
        """An asyncio queue of every `OrderUpdate`; a full bounded queue drops its oldest
        (with a warning), as `channel_queue` does. `remove_order_listener(queue)` ends it."""
        queue: asyncio.Queue[OrderUpdate] = asyncio.Queue(maxsize)
        self._add_order_listener("updates", self._order_queue_put(queue, "order update"), queue)
        return queue

    def fills(self, maxsize: int = 0) -> asyncio.Queue[Fill]:
        """An asyncio queue of every `Fill` (drop-oldest when bounded and full)."""
        queue: asyncio.Queue[Fill] = asyncio.Queue(maxsize)
        self._add_order_listener("fills", self._order_queue_put(queue, "fill"), queue)
        return queue

    def remove_order_listener(self, listener: Callable[[Any], None] | asyncio.Queue[Any]) -> None:
        """Removes a listener of `on_order_update` / `on_fill`, a queue of `order_updates` /
        `fills`, or an internal sink. Raises ValueError when it is not registered."""
        listeners, queues = self._order_listeners or {}, self._order_queues or {}
        if isinstance(listener, asyncio.Queue):
            entry = queues.pop(id(listener), None)
            listener = entry[1] if entry is not None else listener
        found = False
        for kind, registered in listeners.items():
            if listener in registered:
                position = registered.index(listener)
                listeners[kind] = registered[:position] + registered[position + 1 :]
                found = True
        if not found:
            raise ValueError(f"{listener!r} is not an order event listener of {self!r}")

    def _add_order_event_sink(self, sink: Callable[[OrderEvent], None]) -> None:
        """Calls `sink(event)` with every `OrderUpdate` and `Fill`, before any user listener
        sees it (an order tracker keeps its state so, whatever the user listens to)."""
        self._add_order_listener("sinks", sink)

    def _is_order_channel(self, channel: str) -> bool:
        """Whether `channel`'s messages are parsed into order events (`_deliver` remembers the
        answer per channel name: an override whose answer changes clears
        `_order_channel_memo` when it does)."""
        prefixes = self.order_event_channels
        return bool(prefixes) and channel.startswith(prefixes)

    def _add_order_listener(
        self, kind: str, listener: Callable[[Any], None], queue: asyncio.Queue[Any] | None = None
    ) -> None:
        if self.order_event_parser is None:
            raise HftpyError(f"{type(self).__name__} has no order event parser")
        if self._order_listeners is None:
            self._order_listeners = {"sinks": (), "updates": (), "fills": ()}
            self._order_queues = {}
        self._order_listeners[kind] += (listener,)
        if queue is not None and self._order_queues is not None:
            self._order_queues[id(queue)] = (queue, listener)

    def _order_queue_put(self, queue: asyncio.Queue[Any], what: str) -> Callable[[Any], None]:
        def put(event: Any) -> None:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                log.warning("%s %s queue full: dropping the oldest", self.exchange.value, what)
                queue.get_nowait()
                queue.put_nowait(event)

        return put

    def _deliver_order_events(self, channel: str, message: dict[str, Any], recv_ns: int) -> None:
        """Parses one order-channel message and hands its events to the sinks, then to the
        update or fill listeners. A parser error is logged once and costs only this message;
        a listener's error costs no other listener its event."""
        listeners, parser = self._order_listeners, self.order_event_parser
        if listeners is None or parser is None or not self._is_order_channel(channel):
            return
        sinks, updates, fills = listeners["sinks"], listeners["updates"], listeners["fills"]
        if not (sinks or updates or fills):
            return
        try:
            events = parser(message, recv_ns)
        except Exception:
            log.exception(
                "%s: cannot read order events from a %s message: %.300r",
                self.exchange.value,
                channel,
                message,
            )
            return
        for event in events:
            for listener in sinks + (updates if isinstance(event, OrderUpdate) else fills):
                try:
                    listener(event)
                except Exception:
                    name = type(event).__name__
                    log.exception("%s %s listener raised", self.exchange.value, name)

    # -- hooks for subclasses ------------------------------------------------------------
    async def _on_connected(self) -> None:
        """Authenticate / resubscribe after each connect."""

    def _on_frame(self, payload: memoryview | bytes, recv_ns: int, recv_mono: int) -> None:
        raise NotImplementedError

    def _on_disconnected(self) -> None:
        self._fail_all(DISCONNECTED)

    # -- the request path ----------------------------------------------------------------
    def _validate(self, method: str, params: dict[str, Any]) -> None:
        """Raises for a request to refuse locally (e.g. credentials it needs are missing)
        before it takes a req_id or any rate-limit budget."""

    def _take_req_id(self, req_id: int | None) -> int:
        """The id of a new request, held from now until the request is tracked (or fails),
        so that no other request can take it meanwhile, not even while this one waits for
        rate-limit budget. An id the user chose is refused when it is in use or in the API's
        own id space; a sequence id that a user-chosen id already holds is skipped."""
        if req_id is None:
            req_id = self._free_req_id()
        else:
            self._check_user_req_id(req_id)
        self._taken.add(req_id)
        return req_id

    def _free_req_id(self) -> int:
        """The next sequence id that no request holds (a user-chosen id may hold one)."""
        req_id = next(self._request_ids)
        while req_id in self._pending or req_id in self._taken:
            req_id = next(self._request_ids)
        return req_id

    def _encode(self, method: str, params: dict[str, Any], req_id: int) -> bytes:
        """The frame for `params` in the venue's request envelope."""
        raise NotImplementedError

    async def _rate_limit_wait(
        self, method: str, params: dict[str, Any], timeout: float | None
    ) -> bool:
        """The limiter refused `method`: True once it may go after all (a venue API that
        waits for its budget overrides this), False to fail it with `hftpy:rate_limited`."""
        return False

    def _request(
        self,
        method: str,
        params: dict[str, Any],
        req_id: int | None,
        callback: WsCallback | None,
        wait: bool,
        timeout: float | None,
        replies: int = 1,
    ) -> Awaitable[int | WsResponse]:
        """Sends `params` as `method` and tracks the request until `replies` venue replies or
        a local outcome. Awaited, gives the req_id once the frame is on the socket, or with
        `wait` the `WsResponse`.

        Only validation, the rate limit (which may wait) and encoding happen before the
        send; the bookkeeping runs after it, while the frame is on the wire (no reply can be
        read before the caller yields). A request refused by validation (or by its `req_id`)
        raises before it takes a req_id or rate-limit budget. The common case (budget at
        hand, on this socket) runs here, synchronously, and a `wait` request hands back its
        reply's future itself: no coroutine of its own between the caller and the reply.
        """
        self._validate(method, params)
        if req_id is not None:
            self._check_user_req_id(req_id)
        limiter = self.rate_limiter
        if self._sends_on_socket and (limiter is None or limiter(method, params)):
            # Nothing is awaited between taking the id and tracking the request, so no other
            # request can take the id meanwhile.
            if req_id is None:
                req_id = self._free_req_id()
            future = self._send_now(method, params, req_id, callback, wait, timeout, replies)
            return future if future is not None else _value(req_id)
        return self._request_waiting(method, params, req_id, callback, wait, timeout, replies)

    async def _request_waiting(
        self,
        method: str,
        params: dict[str, Any],
        req_id: int | None,
        callback: WsCallback | None,
        wait: bool,
        timeout: float | None,
        replies: int,
    ) -> int | WsResponse:
        """`_request` for a request the limiter refused (it may wait for budget) or that goes
        out on a transport of its own."""
        req_id = self._take_req_id(req_id)
        try:
            future = await self._send(method, params, req_id, callback, wait, timeout, replies)
        finally:
            self._taken.discard(req_id)  # tracked now (or failed): `_pending` holds it
        if future is not None:
            return await future
        return req_id

    def _request_nowait(
        self,
        method: str,
        params: dict[str, Any],
        req_id: int | None,
        callback: WsCallback | None,
        timeout: float | None,
        replies: int = 1,
    ) -> int:
        """The synchronous request path of the `*_nowait` methods: validates, takes the
        rate-limit budget or raises `RateLimitError` at once (nothing taken, no req_id
        used, no callback), sends and tracks; returns the `req_id`. Every other outcome
        (the venue's replies, `hftpy:timeout`, `hftpy:disconnected`) reaches the callback
        exactly as for the awaitable methods. Nothing here suspends: a stream callback or
        any plain function running on the loop may call it."""
        self._validate(method, params)
        if req_id is not None:
            self._check_user_req_id(req_id)
        if not self._sends_on_socket:
            self._admit_nowait(method, params)
            if req_id is None:
                req_id = self._free_req_id()
            self._start_nowait(method, params, req_id, callback, timeout, replies)
            return req_id
        limiter = self.rate_limiter
        if limiter is not None and not limiter(method, params):
            raise self._rate_limit_error(method)
        if req_id is None:
            req_id = next(self._request_ids)
            pending = self._pending
            while req_id in pending or req_id in self._taken:
                req_id = next(self._request_ids)
        # `_send_now` inline (the path of a strategy's reaction to a quote: one call less)
        conn = self._conn
        if conn.is_ready:
            payload = self._encode(method, params, req_id)
            sent_mono = _monotonic_ns()
            try:
                conn.send(payload)
            except DisconnectedError:
                pass
            else:
                self._track(
                    req_id, method, params, callback, False, timeout, replies, None, sent_mono
                )
                return req_id
        self._track(req_id, method, params, callback, False, timeout, replies, DISCONNECTED)
        return req_id

    def _admit_nowait(self, method: str, params: dict[str, Any]) -> None:
        """For a transport other than this socket: takes the request's rate-limit budget now
        or raises `RateLimitError` (the socket's requests are charged to `rate_limiter`)."""
        limiter = self.rate_limiter
        if limiter is not None and not limiter(method, params):
            raise self._rate_limit_error(method)

    def _rate_limit_error(self, method: str) -> RateLimitError:
        """The error a `*_nowait` request refused by the limiter raises; its `response` is the
        `hftpy:rate_limited` reply in the venue's shape (`req_id` 0: none was taken)."""
        stub = _Pending(0, method, {}, None, None, 0, 0, 1)
        response = self._local_response(stub, RATE_LIMITED)
        return RateLimitError(
            f"{self.exchange.value} {method}: rate limit reached (nothing sent, no budget taken)",
            response,
        )

    def _check_user_req_id(self, req_id: int) -> None:
        """Refuses a user-chosen req_id outside the user's id space or in use."""
        limit = self.USER_IDS_BELOW
        valid = isinstance(req_id, int) and not isinstance(req_id, bool) and req_id >= 0
        if not valid or (limit is not None and req_id >= limit):
            bound = "" if limit is None else f" below {limit}"
            raise InvalidOrderError(
                f"req_id must be an int from 0{bound} (the others are hftpy's own), got {req_id!r}"
            )
        if req_id in self._pending or req_id in self._taken:
            raise InvalidOrderError(f"req_id {req_id} is already pending")

    def _start_nowait(
        self,
        method: str,
        params: dict[str, Any],
        req_id: int,
        callback: WsCallback | None,
        timeout: float | None,
        replies: int,
    ) -> None:
        """Starts a request on a transport other than this socket (REST-backed venues)."""
        raise NotImplementedError

    #: Whether requests go out on this object's WebSocket (False: `_send` has a transport of
    #: its own, as the REST-backed venues do).
    _sends_on_socket: ClassVar[bool] = True

    async def _send(
        self,
        method: str,
        params: dict[str, Any],
        req_id: int,
        callback: WsCallback | None,
        wait: bool,
        timeout: float | None,
        replies: int,
    ) -> asyncio.Future[WsResponse] | None:
        """A request the limiter refused: waits for budget (or fails it as rate limited),
        then sends it. The future of a `wait` request (None otherwise). Transports other than
        this socket (REST-backed venues) override it and take every request here."""
        started = _monotonic_ns()
        allowed = await self._rate_limit_wait(method, params, timeout)
        self._rate_waited(method, _monotonic_ns() - started, allowed)
        if not allowed:
            return self._track(
                req_id, method, params, callback, wait, timeout, replies, RATE_LIMITED
            )
        return self._send_now(method, params, req_id, callback, wait, timeout, replies)

    def _send_now(
        self,
        method: str,
        params: dict[str, Any],
        req_id: int,
        callback: WsCallback | None,
        wait: bool,
        timeout: float | None,
        replies: int,
    ) -> asyncio.Future[WsResponse] | None:
        """Encodes, sends and tracks one request whose budget is taken. One clock read: the
        monotonic send stamp (`WsResponse.sent_ns` follows from the reply's wall stamp)."""
        conn = self._conn
        if conn.is_ready:
            payload = self._encode(method, params, req_id)
            sent_mono = _monotonic_ns()
            try:
                conn.send(payload)
            except DisconnectedError:
                pass
            else:
                return self._track(
                    req_id, method, params, callback, wait, timeout, replies, None, sent_mono
                )
        return self._track(req_id, method, params, callback, wait, timeout, replies, DISCONNECTED)

    def _rate_waited(self, method: str, waited_ns: int, allowed: bool) -> None:
        """Says so when a request waited for rate-limit budget for more than 100 ms: once per
        method per 5 s, with the count of such waits since, so a throttled strategy is never
        slowed down silently and the log is never flooded."""
        if waited_ns < 100_000_000:
            return
        now = _monotonic_ns()
        last, count = self._rate_wait_log.get(method, (0, 0))
        count += 1
        if now - last < 5_000_000_000 and last:
            self._rate_wait_log[method] = (last, count)
            return
        self._rate_wait_log[method] = (now, 0)
        log.warning(
            "%s %s waited %.0f ms for rate-limit budget%s (%d such waits in the last 5 s); "
            "on_rate_limit='raise' fails such requests at once instead",
            self.exchange.value,
            method,
            waited_ns / 1e6,
            "" if allowed else " and was refused",
            count,
        )

    async def _sub_request(
        self, method: str, params: dict[str, Any], timeout: float | None, replies: int = 1
    ) -> WsResponse:
        """A step of a composite operation: the full request path (validation, limiter,
        signing, tracking) under an id of the API's own, so it fires no user callback and
        takes no user id. Raises the `RequestError` of a local outcome like `wait=True`."""
        self._validate(method, params)
        req_id = self._next_internal_id()
        limiter = self.rate_limiter
        if self._sends_on_socket and (limiter is None or limiter(method, params)):
            future = self._send_now(method, params, req_id, None, True, timeout, replies)
        else:
            future = await self._send(method, params, req_id, None, True, timeout, replies)
        assert future is not None
        return await future

    async def _composite(
        self,
        method: str,
        params: dict[str, Any],
        req_id: int | None,
        callback: WsCallback | None,
        wait: bool,
        timeout: float | None,
        run: Callable[[float], Awaitable[dict[str, Any]]],
    ) -> int | WsResponse:
        """An operation the venue has no single request for (an emulated amend, a cancel_all
        over several symbols): `run(budget_s)` makes the sub-requests and returns the one
        reply the caller gets, in the venue's reply shape. The outcome contract holds as for
        any request: one callback, a local outcome on timeout or disconnect, the `req_id`
        returned at once (or the `WsResponse` with `wait`)."""
        req_id, future = self._start_composite(method, params, req_id, callback, wait, timeout, run)
        if future is not None:
            return await future
        return req_id

    def _composite_nowait(
        self,
        method: str,
        params: dict[str, Any],
        req_id: int | None,
        callback: WsCallback | None,
        timeout: float | None,
        run: Callable[[float], Awaitable[dict[str, Any]]],
    ) -> int:
        """`_composite` for the `*_nowait` methods: the operation's task is started now (its
        sub-requests go out when the loop runs it) and the `req_id` returned."""
        asyncio.get_running_loop()  # the operation runs as a task: refuse early without a loop
        return self._start_composite(method, params, req_id, callback, False, timeout, run)[0]

    def _start_composite(
        self,
        method: str,
        params: dict[str, Any],
        req_id: int | None,
        callback: WsCallback | None,
        wait: bool,
        timeout: float | None,
        run: Callable[[float], Awaitable[dict[str, Any]]],
    ) -> tuple[int, asyncio.Future[WsResponse] | None]:
        req_id = self._take_req_id(req_id)
        try:
            budget = self.request_timeout if timeout is None else timeout
            local_error = None if (self._conn.is_ready or self._transport_ready()) else DISCONNECTED
            future = self._track(
                req_id, method, params, callback, wait, timeout, 1, local_error, _monotonic_ns()
            )
            if local_error is None:
                task = asyncio.get_running_loop().create_task(
                    self._run_composite(req_id, method, run, budget)
                )
                self._composites.add(task)
                task.add_done_callback(self._composites.discard)
        finally:
            self._taken.discard(req_id)
        return req_id, future

    def _transport_ready(self) -> bool:
        """Whether requests can go out although the WebSocket is down (REST venues: yes)."""
        return False

    async def _run_composite(
        self,
        req_id: int,
        method: str,
        run: Callable[[float], Awaitable[dict[str, Any]]],
        budget: float,
    ) -> None:
        try:
            async with asyncio.timeout(budget):
                reply = await run(budget)
        except TimeoutError:
            self._end_locally(req_id, TIMEOUT)
            return
        except RequestError as exc:  # a step ended locally: the whole operation does too
            error = _local_error_of(exc)
            self._end_locally(req_id, error)
            return
        except Exception:
            log.exception("%s %s req_id=%s failed", self.exchange.value, method, req_id)
            self._end_locally(req_id, DISCONNECTED)
            return
        reply.setdefault(self.reply_id_key, req_id)
        self._complete(req_id, reply, _time_ns(), _monotonic_ns())

    def _end_locally(self, req_id: int, error: str) -> None:
        """Ends a pending request with a local outcome (nothing when already ended)."""
        pending = self._pending.pop(req_id, None)
        if pending is not None:
            self._finish_locally(pending, error)

    def _track(
        self,
        req_id: int,
        method: str,
        params: dict[str, Any],
        callback: WsCallback | None,
        wait: bool,
        timeout: float | None,
        replies: int,
        local_error: str | None,
        sent_mono: int = 0,
    ) -> asyncio.Future[WsResponse] | None:
        """The bookkeeping after a send, shared with transports other than this socket
        (REST-backed venues): registers the request as pending until `replies` venue replies
        or its deadline, or ends it at once with `local_error`. Returns the future of a
        `wait=True` request. The `request` view is built only when something reads it."""
        future: asyncio.Future[WsResponse] | None = (
            asyncio.get_running_loop().create_future() if wait else None
        )
        if local_error is None:
            if method in self.order_methods:
                self._order_sent(method, params)
            budget_ns = self._timeout_ns if timeout is None else int(timeout * 1e9)
            self._pending[req_id] = _Pending(
                req_id,
                method,
                params,
                callback,
                future,
                sent_mono,
                sent_mono + budget_ns,
                replies,
                self._request_viewer,
            )
        else:
            pending = _Pending(
                req_id, method, params, callback, future, 0, 0, replies, self._request_viewer
            )
            self._finish_locally(pending, local_error)
        return future

    def _complete(
        self, req_id: int, response: dict[str, Any], recv_ns: int, recv_mono: int
    ) -> bool:
        """Routes one venue reply to its request. False when no request is waiting for it."""
        pending = self._pending.get(req_id)
        if pending is None:
            return False
        remaining = pending.remaining = pending.remaining - 1
        if remaining <= 0:
            del self._pending[req_id]
        method = pending.method
        latency_ns = recv_mono - pending.sent_mono
        key = self._latency_keys.get(method)
        if key is None:
            key = self._latency_keys[method] = self._latency.key(f"request:{method}")
        self._latency.record(key, latency_ns)
        info = self._order_reply(pending, response) if method in self.order_methods else None
        if pending.callback is not None:
            self._invoke(pending, response, latency_ns)
        future = pending.future
        if future is not None:
            earlier = pending.replies
            if remaining > 0:  # more replies to come: collect this one
                if earlier is None:
                    pending.replies = [response]
                else:
                    earlier.append(response)
            elif not future.done():
                if earlier is None:  # the common case: one reply
                    replies: tuple[dict[str, Any], ...] = (response,)
                    ok = self._reply_ok(response)
                else:
                    replies = (*earlier, response)
                    ok = all(self._reply_ok(r) for r in replies)
                    info = self._order_reply(pending, replies[0]) if info else None
                order_id, client_order_id, status = info or (None, None, None)
                future.set_result(
                    WsResponse(
                        req_id,
                        method,
                        pending.request,
                        replies[0],
                        ok,
                        recv_ns - latency_ns,
                        recv_ns,
                        latency_ns,
                        replies,
                        order_id,
                        client_order_id,
                        status,
                    )
                )
        return True

    def latency_stats(self) -> dict[str, LatencySummary]:
        """Request → venue reply latency per method, monotonic ns: `{"request:<method>":
        LatencySummary}` (one sample per venue reply; local outcomes such as timeouts are not
        counted), since the start or the last `reset_latency_stats()`."""
        return summaries(self._latency)

    def reset_latency_stats(self) -> None:
        """Forgets the samples behind `latency_stats()`."""
        self._latency.reset()

    def _order_sent(self, method: str, params: dict[str, Any]) -> None:
        """An order method's frame is on its way: record new orders in `orders`."""

    def open_orders(self, symbol: CurrencyPair | str | None = None) -> list[OrderUpdate]:
        """The account's open orders as tracked here (all symbols, or one): from what this
        API sent, the venue's replies and its private order channel, reconciled with the
        venue's own list on every (re)connect. Each is an `OrderUpdate` snapshot."""
        venue_sym = None if symbol is None else venue_symbol(self.exchange, symbol)
        return [order.view(self.exchange) for order in self.orders.open_orders(venue_sym)]

    # -- the order API every venue implements -------------------------------------------
    # The same calls on every venue (venue extras are keyword arguments of each venue's
    # class). Each returns the `req_id` once the request is sent, or with `wait=True` the
    # `WsResponse` (`order_id`, `client_order_id`, `status` normalised on top of the venue's
    # reply); local outcomes raise then (`RequestTimeoutError`, `DisconnectedError`,
    # `RateLimitError`). Prices are in quote currency, amounts in base currency.
    @overload
    async def place_order(
        self,
        symbol: CurrencyPair | str,
        side: Side | str,
        amount: Number | None = None,
        price: Number | None = None,
        order_type: OrderType | str = OrderType.LIMIT,
        *,
        post_only: bool = False,
        time_in_force: TimeInForce | str | None = None,
        client_order_id: str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[False] = False,
        timeout: float | None = None,
    ) -> int: ...
    @overload
    async def place_order(
        self,
        symbol: CurrencyPair | str,
        side: Side | str,
        amount: Number | None = None,
        price: Number | None = None,
        order_type: OrderType | str = OrderType.LIMIT,
        *,
        post_only: bool = False,
        time_in_force: TimeInForce | str | None = None,
        client_order_id: str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[True],
        timeout: float | None = None,
    ) -> WsResponse: ...
    @overload
    async def place_order(
        self,
        symbol: CurrencyPair | str,
        side: Side | str,
        amount: Number | None = None,
        price: Number | None = None,
        order_type: OrderType | str = OrderType.LIMIT,
        *,
        post_only: bool = False,
        time_in_force: TimeInForce | str | None = None,
        client_order_id: str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> int | WsResponse: ...
    async def place_order(
        self,
        symbol: CurrencyPair | str,
        side: Side | str,
        amount: Number | None = None,
        price: Number | None = None,
        order_type: OrderType | str = OrderType.LIMIT,
        *,
        post_only: bool = False,
        time_in_force: TimeInForce | str | None = None,
        client_order_id: str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> int | WsResponse:
        """A new order: `amount` of `symbol` at `price` (None for market orders);
        `client_order_id` is assigned when absent."""
        raise NotImplementedError

    @overload
    async def cancel_order(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[False] = False,
        timeout: float | None = None,
    ) -> int: ...
    @overload
    async def cancel_order(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[True],
        timeout: float | None = None,
    ) -> WsResponse: ...
    @overload
    async def cancel_order(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> int | WsResponse: ...
    async def cancel_order(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> int | WsResponse:
        """Cancels one order by exactly one of `order_id` and `client_order_id`; `symbol`
        is needed only for an order this API never saw, on venues that want it."""
        raise NotImplementedError

    @overload
    async def amend_order(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | None = None,
        price: Number | None = None,
        amount: Number | None = None,
        symbol: CurrencyPair | str | None = None,
        post_only: bool | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[False] = False,
        timeout: float | None = None,
    ) -> int: ...
    @overload
    async def amend_order(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | None = None,
        price: Number | None = None,
        amount: Number | None = None,
        symbol: CurrencyPair | str | None = None,
        post_only: bool | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[True],
        timeout: float | None = None,
    ) -> WsResponse: ...
    @overload
    async def amend_order(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | None = None,
        price: Number | None = None,
        amount: Number | None = None,
        symbol: CurrencyPair | str | None = None,
        post_only: bool | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> int | WsResponse: ...
    async def amend_order(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | None = None,
        price: Number | None = None,
        amount: Number | None = None,
        symbol: CurrencyPair | str | None = None,
        post_only: bool | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> int | WsResponse:
        """Changes an order's `price` and/or `amount` (the new total, filled part
        included): native where the venue has it, else cancel + place (see the README)."""
        raise NotImplementedError

    @overload
    async def cancel_all(
        self,
        symbol: CurrencyPair | str | None = None,
        *,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[False] = False,
        timeout: float | None = None,
    ) -> int: ...
    @overload
    async def cancel_all(
        self,
        symbol: CurrencyPair | str | None = None,
        *,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[True],
        timeout: float | None = None,
    ) -> WsResponse: ...
    @overload
    async def cancel_all(
        self,
        symbol: CurrencyPair | str | None = None,
        *,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> int | WsResponse: ...
    async def cancel_all(
        self,
        symbol: CurrencyPair | str | None = None,
        *,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> int | WsResponse:
        """Cancels every open order of the account, or of `symbol`."""
        raise NotImplementedError

    # -- the synchronous order API ------------------------------------------------------
    # The same calls without `wait`, for code that cannot or need not await: a stream
    # callback reacting to a quote, a service handler. Same arguments (each venue's extras
    # too), same validation, same outcome contract: exactly one terminal outcome per item
    # (the venue's reply, `hftpy:timeout`, `hftpy:disconnected`) reaches the callback, the
    # order events and `orders`, as for the awaitable methods, which build the identical
    # frame. They return the `req_id` once the frame is handed to the transport: on the
    # WebSocket venues (Kraken, Binance) the frame has been written to the socket (or
    # queued by it) when the call returns; on the REST-backed ones (Backpack, Upbit) the
    # request is signed and its HTTP task started on the API's kept-alive session, and its
    # bytes leave when the loop next runs (the caller returns to the loop). A local
    # refusal by the rate limiter raises `RateLimitError` at once, never waits, and takes
    # no budget and no req_id (no callback fires for it). They need a running event loop
    # (the one the API runs on), not a running coroutine.
    def place_order_nowait(
        self,
        symbol: CurrencyPair | str,
        side: Side | str,
        amount: Number | None = None,
        price: Number | None = None,
        order_type: OrderType | str = OrderType.LIMIT,
        *,
        post_only: bool = False,
        time_in_force: TimeInForce | str | None = None,
        client_order_id: str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        timeout: float | None = None,
    ) -> int:
        """`place_order` without awaiting: returns the `req_id` once the frame is handed to the
        transport (see above); raises `RateLimitError` at once when the limiter refuses."""
        raise NotImplementedError

    def cancel_order_nowait(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        timeout: float | None = None,
    ) -> int:
        """`cancel_order` without awaiting (see `place_order_nowait`)."""
        raise NotImplementedError

    def amend_order_nowait(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | None = None,
        price: Number | None = None,
        amount: Number | None = None,
        symbol: CurrencyPair | str | None = None,
        post_only: bool | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        timeout: float | None = None,
    ) -> int:
        """`amend_order` without awaiting (see `place_order_nowait`). Where the venue has no
        amend (Backpack: cancel, then place) the emulation's task is started and the `req_id`
        returned; its one outcome arrives like any other."""
        raise NotImplementedError

    # -- reconciliation -----------------------------------------------------------------
    #: Whether each (re)connect compares the orders tracked here with the venue's own open
    #: orders (and asks the venue about the ones that closed meanwhile).
    reconcile_orders: bool = True
    #: How long a reconciliation may take before the connection goes ready without it.
    RECONCILE_TIMEOUT: ClassVar[float] = 5.0

    async def _connected(self) -> None:
        await self._on_connected()
        if self.reconcile_orders and self.order_event_parser is not None:
            await self.reconcile()

    async def reconcile(self) -> list[OrderUpdate]:
        """Brings `open_orders()` in line with the venue: every order the venue lists as open
        is tracked (orders placed elsewhere included), and every order tracked as open that
        the venue no longer lists is looked up and closed with its final state (filled,
        cancelled, expired). Each difference is logged and delivered to `on_order_update`
        listeners as an `OrderUpdate` (its `raw` is the venue's answer). Runs on every
        (re)connect, before the API is ready; a venue error is logged and leaves the tracked
        state as it was. Returns the updates delivered."""
        try:
            async with asyncio.timeout(self.RECONCILE_TIMEOUT):
                return await self._reconcile()
        except Exception as exc:
            log.warning("%s: open orders not reconciled: %s", self.exchange.value, exc)
            return []

    async def _reconcile(self) -> list[OrderUpdate]:
        listed = await self._venue_open_orders()
        changes: list[OrderUpdate] = []
        still_open: set[int] = set()
        for update in listed:
            known = self.orders.find(update.order_id, update.client_order_id)
            before = None if known is None else (known.status, known.filled, known.amount)
            order = self.orders.apply(update)
            still_open.add(id(order))
            if before != (order.status, order.filled, order.amount):
                changes.append(update)
        for order in self.orders.open_orders():
            if id(order) in still_open:
                continue
            final = await self._venue_order(order)
            if final is None or final.status.is_open:
                # The venue does not know it (a place lost with the connection) or says it
                # is open although its list did not have it: trust the list.
                final = OrderUpdate(
                    exchange=self.exchange,
                    symbol=order.symbol,
                    order_id=order.order_id,
                    client_order_id=order.client_order_id,
                    side=order.side,
                    status=(
                        OrderStatus.REJECTED if order.order_id is None else OrderStatus.CANCELLED
                    ),
                    reason="hftpy: not open at the venue after a reconnect",
                    recv_ns=_time_ns(),
                )
            self.orders.apply(final)
            changes.append(final)
        for update in changes:
            log.info(
                "%s: reconciled %s %s (%s) -> %s",
                self.exchange.value,
                update.symbol,
                update.order_id,
                update.client_order_id,
                update.status.value,
            )
        self._publish_order_updates(changes)
        return changes

    async def _venue_open_orders(self) -> list[OrderUpdate]:
        """The venue's list of the account's open orders (a venue implements it)."""
        raise NotImplementedError

    async def _venue_order(self, order: TrackedOrder) -> OrderUpdate | None:
        """The venue's current state of one order (None: the venue does not know it)."""
        return None

    def _publish_order_updates(self, updates: list[OrderUpdate]) -> None:
        """Hands updates made here (not parsed from a channel) to the user's listeners."""
        listeners = self._order_listeners
        if not updates or listeners is None:
            return
        for update in updates:
            for listener in listeners["updates"]:
                try:
                    listener(update)
                except Exception:
                    log.exception("%s OrderUpdate listener raised", self.exchange.value)

    def _track_event(self, event: OrderUpdate | Fill) -> None:
        if isinstance(event, OrderUpdate):
            self.orders.apply(event)

    def _known_order(
        self, order_id: str | None, client_order_id: str | None
    ) -> TrackedOrder | None:
        return self.orders.find(order_id, client_order_id)

    def _symbol_for(
        self,
        symbol: CurrencyPair | str | None,
        order_id: str | None,
        client_order_id: str | None,
    ) -> str:
        """The venue symbol of an order: as given, else remembered from its place or events."""
        if symbol is not None:
            return venue_symbol(self.exchange, symbol)
        order = self.orders.find(order_id, client_order_id)
        if order is not None:
            return order.symbol
        ref = order_id if order_id is not None else client_order_id
        raise InvalidOrderError(
            f"{self.exchange.value} needs symbol= to cancel or amend order {ref!r}: "
            "it was not placed or reported through this API"
        )

    #: The key of the request id in the venue's replies (composite replies carry it too).
    reply_id_key: ClassVar[str] = "req_id"
    #: Methods whose replies `_order_reply` reads (places, cancels, amends).
    order_methods: ClassVar[frozenset[str]] = frozenset()

    def _order_reply(
        self, pending: _Pending, response: dict[str, Any]
    ) -> tuple[str | None, str | None, OrderStatus | None] | None:
        """Reads one reply to an order method: updates `orders` and returns the reply's
        `(order_id, client_order_id, status)` in hftpy's terms."""
        return None

    def _invoke(self, pending: _Pending, response: dict[str, Any], latency_ns: int) -> None:
        try:
            pending.callback(  # type: ignore[misc]
                pending.request_id, pending.method, pending.request, response, latency_ns // 1000
            )
        except Exception:
            log.exception("callback for %s req_id=%s raised", pending.method, pending.request_id)

    def _reply_ok(self, response: dict[str, Any]) -> bool:
        """Whether a venue reply reports success (Kraken's `success`; venues differ)."""
        return response.get("success") is True

    def _local_response(self, pending: _Pending, error: str) -> dict[str, Any]:
        return {
            "method": pending.method,
            "req_id": pending.request_id,
            "success": False,
            "error": error,
        }

    def _finish_locally(self, pending: _Pending, error: str) -> None:
        """Ends every remaining item of `pending` with a local outcome."""
        response = self._local_response(pending, error)
        latency_ns = _monotonic_ns() - pending.sent_mono if pending.sent_mono else 0
        if pending.callback is not None:
            for _ in range(max(pending.remaining, 1)):
                self._invoke(pending, response, latency_ns)
        pending.remaining = 0
        if pending.future is not None and not pending.future.done():
            exc_type = _LOCAL_ERRORS.get(error, RequestError)
            pending.future.set_exception(
                exc_type(f"{pending.method} req_id={pending.request_id}: {error}", response)
            )

    def _fail_all(self, error: str) -> None:
        if not self._pending:
            return
        pending_items = list(self._pending.values())
        self._pending.clear()
        for pending in pending_items:
            self._finish_locally(pending, error)

    async def _sweep_timeouts(self) -> None:
        # One coarse sweeper instead of a timer per request keeps the send path free of
        # timer-heap work; resolution is the sweep interval.
        while True:
            await asyncio.sleep(0.02)
            if not self._pending:
                continue
            now = time.monotonic_ns()
            expired = [p for p in self._pending.values() if p.deadline_mono <= now]
            for pending in expired:
                self._pending.pop(pending.request_id, None)
                self._finish_locally(pending, TIMEOUT)

    # -- the default callback --------------------------------------------------------------
    @staticmethod
    def default_ws_callback(
        request_id: int,
        method: str,
        request: dict[str, Any],
        response: dict[str, Any],
        latency: int,
    ) -> None:
        """Prints a reply the way the seed documents show it; secrets print as ***."""
        print(f"WebSocket Request - ID: {request_id} | Method: {method} | Latency: {latency}μs")
        print(f"Request Params: {_pformat(request)}")
        print(f"Response Data: {_pformat(response)}")


def _pformat(obj: Any) -> str:
    """One key per line, nested values inline, as in the seed documents' printed output."""
    if not isinstance(obj, dict) or not obj:
        return repr(obj)
    lines = ",\n".join(f"    {key!r}: {value!r}" for key, value in obj.items())
    return "{\n" + lines + "\n}"
