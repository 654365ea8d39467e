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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from hftpy.common import Exchange
from hftpy.errors import (
    DisconnectedError,
    HftpyError,
    InvalidOrderError,
    RateLimitError,
    RequestError,
    RequestTimeoutError,
)
from hftpy.net import WsConnection
from hftpy.net.connection import Headers

log = logging.getLogger("hftpy.ws_api")

_time_ns = time.time_ns
_monotonic_ns = time.monotonic_ns

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
    """A finished request. Stamps are wall-clock ns; `latency_ns` is from monotonic clocks.
    For a request answered once per item, `response` is the first reply and `replies` all."""

    request_id: int
    method: str
    request: dict[str, Any]
    response: dict[str, Any]
    ok: bool
    sent_ns: int
    recv_ns: int
    latency_ns: int
    replies: tuple[dict[str, Any], ...] = ()

    @property
    def latency_us(self) -> int:
        return self.latency_ns // 1000


@dataclass(slots=True, eq=False)
class _Pending:
    request_id: int
    method: str
    request: dict[str, Any]
    callback: WsCallback | None
    future: asyncio.Future[WsResponse] | None
    sent_ns: int
    sent_mono: int
    deadline_mono: int
    remaining: int
    replies: list[dict[str, Any]] = field(default_factory=list)


class WsApiBase:
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
        if request_timeout <= 0:
            raise ValueError("request_timeout must be positive")
        self.url = url
        self.account = account
        self.request_timeout = request_timeout
        self._pending: dict[int, _Pending] = {}
        self._taken: set[int] = set()  # ids of requests not yet tracked (see _take_req_id)
        self._listeners: dict[str, list[ChannelListener]] = {}
        self._request_ids = _request_ids(self.exchange)
        self._internal_ids = _internal_ids(self.exchange, self.INTERNAL_IDS_FROM)
        self._conn = WsConnection(
            url,
            self._on_frame,
            name=connection_name or f"{self.exchange.value}.ws_api",
            on_connected=self._on_connected,
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

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account={self.account!r}, url={self.url!r})"

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
        """Waits until connected and authenticated (raises TimeoutError after `timeout`)."""
        try:
            await self._conn.wait_ready(timeout)
        except TimeoutError:
            detail = f": {self._conn.last_error}" if self._conn.last_error else ""
            raise RequestTimeoutError(f"{self!r} not ready after {timeout}s{detail}") from None

    @property
    def ready(self) -> bool:
        return self._conn.ready

    async def close(self) -> None:
        self._closed = True
        await self._conn.close()
        self._fail_all(DISCONNECTED)
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
        listeners = self._listeners.get(channel)
        if not listeners:
            return False
        for listener in listeners:
            try:
                listener(message, recv_ns)
            except Exception:  # one listener's bug must not cost the others their message
                log.exception("%s %s listener raised", self.exchange.value, channel)
        return True

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
            req_id = next(self._request_ids)
            while req_id in self._pending or req_id in self._taken:
                req_id = next(self._request_ids)
        else:
            limit = self.USER_IDS_BELOW
            valid = isinstance(req_id, int) and not isinstance(req_id, bool) and req_id >= 0
            if not valid or (limit is not None and req_id >= limit):
                bound = "" if limit is None else f" below {limit}"
                raise InvalidOrderError(
                    f"req_id must be an int from 0{bound} (the others are hftpy's own), "
                    f"got {req_id!r}"
                )
            if req_id in self._pending or req_id in self._taken:
                raise InvalidOrderError(f"req_id {req_id} is already pending")
        self._taken.add(req_id)
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

    def _request_view(self, params: dict[str, Any]) -> dict[str, Any]:
        """The `request` dict callbacks see: the params as sent (secrets as `Secret`)."""
        return params

    async def _request(
        self,
        method: str,
        params: dict[str, Any],
        req_id: int | None,
        callback: WsCallback | None,
        wait: bool,
        timeout: float | None,
        replies: int = 1,
    ) -> Any:
        """Sends `params` as `method` and tracks the request until `replies` venue replies or
        a local outcome. Returns the req_id once the frame is on the socket, or with `wait`
        the `WsResponse`.

        Only validation, the rate limit (which may wait) and encoding happen before the
        send; the bookkeeping runs after it, while the frame is on the wire (no reply can be
        read before this coroutine yields). A request refused by validation raises before it
        takes a req_id or rate-limit budget.
        """
        self._validate(method, params)
        req_id = self._take_req_id(req_id)
        try:
            limiter = self.rate_limiter
            local_error = None
            sent_ns = sent_mono = 0
            if (
                limiter is not None
                and not limiter(method, params)
                and not await self._rate_limit_wait(method, params, timeout)
            ):
                local_error = RATE_LIMITED
            elif not self._conn.is_ready:
                local_error = DISCONNECTED
            else:
                payload = self._encode(method, params, req_id)
                sent_ns = _time_ns()
                sent_mono = _monotonic_ns()
                try:
                    self._conn.send(payload)
                except DisconnectedError:
                    local_error = DISCONNECTED
            future = self._track(
                req_id,
                method,
                params,
                callback,
                wait,
                timeout,
                replies,
                local_error,
                sent_ns,
                sent_mono,
            )
        finally:
            self._taken.discard(req_id)  # tracked now (or failed): `_pending` holds it
        if future is not None:
            return await future
        return req_id

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
        sent_ns: int = 0,
        sent_mono: int = 0,
    ) -> asyncio.Future[WsResponse] | None:
        """The bookkeeping after a send, shared with transports other than this socket
        (REST-backed venues): registers the request as pending until `replies` venue replies
        or its deadline, or ends it at once with `local_error`. Returns the future of a
        `wait=True` request."""
        future: asyncio.Future[WsResponse] | None = (
            asyncio.get_running_loop().create_future() if wait else None
        )
        if local_error is None:
            budget = self.request_timeout if timeout is None else timeout
            self._pending[req_id] = _Pending(
                req_id,
                method,
                self._request_view(params),
                callback,
                future,
                sent_ns,
                sent_mono,
                sent_mono + int(budget * 1e9),
                replies,
            )
        else:
            pending = _Pending(
                req_id, method, self._request_view(params), callback, future, 0, 0, 0, replies
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
        pending.remaining -= 1
        if pending.remaining <= 0:
            del self._pending[req_id]
        latency_ns = recv_mono - pending.sent_mono
        if pending.callback is not None:
            self._invoke(pending, response, latency_ns)
        if pending.future is not None:
            pending.replies.append(response)
            if pending.remaining <= 0 and not pending.future.done():
                replies = tuple(pending.replies)
                if len(replies) == 1:
                    ok = self._reply_ok(response)
                else:
                    ok = all(self._reply_ok(r) for r in replies)
                pending.future.set_result(
                    WsResponse(
                        req_id,
                        pending.method,
                        pending.request,
                        replies[0],
                        ok,
                        pending.sent_ns,
                        recv_ns,
                        latency_ns,
                        replies,
                    )
                )
        return True

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
