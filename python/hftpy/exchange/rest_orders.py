"""`RestOrderApiBase`: the WS API object of a venue without WebSocket order entry.

Backpack and Upbit take orders over signed REST only (DESIGN.md, "Venues without WS order
entry"), yet `create_exchange_ws_api` still returns one object per venue whose
`place_order` / `cancel_order` behave exactly like Kraken's: the same
`callback(request_id, method, request, response, latency_us)`, `wait=True` giving a
`WsResponse`, one terminal outcome per item. Requests travel as HTTP; the object's WebSocket
carries the venue's private streams (order and balance updates), handed to listeners and
queues like Kraken's `executions`.

The pending/terminal-outcome machinery is `WsApiBase`'s: an HTTP round trip registers the
request with `_track` and ends it with `_complete` (the venue's reply), or locally when the
HTTP client gives up (`hftpy:timeout`) or loses the connection (`hftpy:disconnected`).
Whichever comes first wins; anything later finds nothing pending and is dropped. A WebSocket
drop does not touch REST requests in flight: their replies still come back over HTTP.

A reply is the venue's body in an envelope shaped like the local outcomes:
`{"method", "req_id", "success", "status": <HTTP status>, "result": <body>}`, or with
`"error": <the venue's error object>` when the venue refused.

Rate limits: one `hftpy._core.RateLimiter` per exchange per process. By default a request
waits for capacity; with `on_rate_limit="raise"` it ends at once with `hftpy:rate_limited`
(`RateLimitError` with `wait=True`).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Literal

from hftpy._core import RateLimiter, number_text
from hftpy.common import Exchange
from hftpy.errors import ConfigError, DisconnectedError, InvalidOrderError, RequestTimeoutError
from hftpy.exchange.frames import STYLE_FIXED
from hftpy.exchange.rest_api import RestApiBase
from hftpy.exchange.ws_api import (
    DISCONNECTED,
    RATE_LIMITED,
    TIMEOUT,
    WsApiBase,
    WsCallback,
    WsResponse,
)
from hftpy.net.connection import Headers

log = logging.getLogger("hftpy.rest_orders")

_time_ns = time.time_ns
_monotonic_ns = time.monotonic_ns

#: A limit as `hftpy._core.RateLimiter` takes it.
Limit = tuple[str, str, int, float] | tuple[str, str, int, float, int]
RateLimitMode = Literal["wait", "raise"]

# One limiter per exchange per process (DESIGN.md: process-wide per exchange).
_LIMITERS: dict[tuple[Exchange, str], RateLimiter] = {}


def shared_limiter(exchange: Exchange, scope: str, limits: list[Limit]) -> RateLimiter:
    """The process-wide limiter of `exchange` for `scope` (`"rest"`, ...), made on first use."""
    key = (exchange, scope)
    limiter = _LIMITERS.get(key)
    if limiter is None:
        limiter = _LIMITERS[key] = RateLimiter(list(limits))
    return limiter


def reset_limiters() -> None:
    """Forgets every shared limiter (tests: each starts with a full budget)."""
    _LIMITERS.clear()


async def acquire(
    limiter: RateLimiter,
    costs: list[tuple[int, int]],
    mode: RateLimitMode,
    budget_s: float | None = None,
) -> bool:
    """Takes `costs` from `limiter`: waits for capacity (`"wait"`, at most `budget_s` when
    given), or returns False when there is none (`"raise"`) or the wait would run past the
    budget, so a request's rate-limit wait never outlasts its own timeout."""
    if not costs:
        return True
    deadline = None if budget_s is None else time.monotonic() + budget_s
    while True:
        wait_ns = limiter.try_acquire(costs)
        if wait_ns == 0:
            return True
        if mode == "raise" or (
            deadline is not None and time.monotonic() + wait_ns / 1e9 > deadline
        ):
            return False
        await asyncio.sleep(wait_ns / 1e9)


def decimal_text(value: int | float | Decimal | str, name: str) -> str:
    """A positive price or quantity as exact decimal text (floats by their shortest repr)."""
    text = number_text(value, STYLE_FIXED)  # Rust, the same rules, the common forms
    if text is not None:
        return text
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise InvalidOrderError(f"{name} must be a number, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidOrderError(f"{name} must be finite, got {value!r}")
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    except ArithmeticError:
        raise InvalidOrderError(f"{name} is not a number: {value!r}") from None
    if not number.is_finite() or number <= 0:
        raise InvalidOrderError(f"{name} must be positive, got {value!r}")
    return format(number, "f")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A signed request ready to send: `path` includes the encoded query string. The headers
    carry the signature or JWT, so they stay out of the repr."""

    verb: str
    path: str
    body: bytes | None
    headers: dict[str, str] = field(repr=False)


class SignedRestApi(RestApiBase):
    """A REST API whose calls are signed per venue; `send` sends a prepared `HttpRequest`."""

    async def send(self, request: HttpRequest) -> tuple[int, Any]:
        """Sends a prepared request as it is; returns (HTTP status, the decoded JSON body, or its
        text when not JSON). A timeout raises `RequestTimeoutError`, a transport failure
        `DisconnectedError`."""
        return await self._send(
            request.verb, request.path, data=request.body, headers=request.headers
        )

    def check_credentials(self) -> None:
        """Raises `ConfigError` when signed calls cannot be made (a key or secret missing)."""


class RestOrderApiBase(WsApiBase):
    """Base of the WS API objects whose requests go over signed REST."""

    _sends_on_socket = False  # requests go over HTTP: `_send` takes every one
    #: The venue's REST limits, and `_rate_costs` maps a method onto them.
    rest_limits: ClassVar[list[Limit]] = []

    def __init__(
        self,
        *,
        url: str,
        rest_api: SignedRestApi,
        own_rest: bool,
        account: str = "default",
        request_timeout: float = 10.0,
        on_rate_limit: RateLimitMode = "wait",
        extra_headers: Headers | None = None,
    ) -> None:
        if on_rate_limit not in ("wait", "raise"):
            raise ConfigError(f"on_rate_limit must be 'wait' or 'raise', not {on_rate_limit!r}")
        super().__init__(
            url=url,
            account=account,
            request_timeout=request_timeout,
            extra_headers=extra_headers,
        )
        self._rest = rest_api
        self._own_rest = own_rest
        self.on_rate_limit: RateLimitMode = on_rate_limit
        self.limiter = shared_limiter(self.exchange, "rest", self.rest_limits)
        self._http_tasks: set[asyncio.Task[None]] = set()

    @property
    def rest(self) -> SignedRestApi:
        """The signed REST API the requests go through (the one passed as `rest_api=`, or this
        object's own)."""
        return self._rest

    # -- hooks for venues ------------------------------------------------------------------
    def _validate(self, method: str, params: dict[str, Any]) -> None:
        # Every request here is signed: one without credentials is refused before it takes
        # a req_id or any rate-limit budget.
        self._rest.check_credentials()

    def _build(self, method: str, params: dict[str, Any]) -> HttpRequest:
        """The signed HTTP request for `method` (signed now: timestamps and nonces are fresh)."""
        raise NotImplementedError

    def _rate_costs(self, method: str, params: dict[str, Any]) -> list[tuple[int, int]]:
        """`(limit index, units)` this request takes from `self.limiter`."""
        return []

    def _replies(
        self, method: str, req_id: int, status: int, body: Any, items: int
    ) -> list[dict[str, Any]]:
        """The venue's answer as `items` replies (one per item of a batch)."""
        # One dict per item: a callback that changes its reply must not change the others'.
        return [self._envelope(method, req_id, status, body) for _ in range(items)]

    def _envelope(self, method: str, req_id: int, status: int, body: Any) -> dict[str, Any]:
        ok = 200 <= status < 300
        reply: dict[str, Any] = {"method": method, "req_id": req_id, "success": ok}
        reply["status"] = status
        reply["result" if ok else "error"] = body if ok else self._error_of(body)
        return reply

    def _error_of(self, body: Any) -> Any:
        """The venue's error object inside an error body."""
        return body

    # -- the request path --------------------------------------------------------------------
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
        local_error = None
        sent_mono = 0
        budget = self.request_timeout if timeout is None else timeout
        started = _monotonic_ns()
        if self._closed:
            local_error = DISCONNECTED
        elif not await acquire(
            self.limiter, self._rate_costs(method, params), self.on_rate_limit, budget
        ):
            local_error = RATE_LIMITED
        waited = _monotonic_ns() - started
        if waited:
            self._rate_waited(method, waited, local_error is None)
        if local_error is None:
            sent_mono = self._launch(method, params, req_id, budget, replies)
        return self._track(
            req_id, method, params, callback, wait, timeout, replies, local_error, sent_mono
        )

    def _launch(
        self, method: str, params: dict[str, Any], req_id: int, budget: float, replies: int
    ) -> int:
        """Signs the request and starts its HTTP round trip as a task on the kept-alive
        session; returns the monotonic send stamp. The task runs once the caller yields to
        the loop, after the request is tracked."""
        request = self._build(method, params)
        sent_mono = _monotonic_ns()
        task = asyncio.get_running_loop().create_task(
            self._round_trip(req_id, method, request, budget, replies)
        )
        self._http_tasks.add(task)
        task.add_done_callback(self._http_tasks.discard)
        return sent_mono

    def _admit_nowait(self, method: str, params: dict[str, Any]) -> None:
        asyncio.get_running_loop()  # the round trip is a task: refuse before taking any budget
        if self._closed:
            return  # ends as hftpy:disconnected in _start_nowait, as the awaitable path does
        costs = self._rate_costs(method, params)
        if costs and self.limiter.try_acquire(costs):
            raise self._rate_limit_error(method)

    def _start_nowait(
        self,
        method: str,
        params: dict[str, Any],
        req_id: int,
        callback: WsCallback | None,
        timeout: float | None,
        replies: int,
    ) -> None:
        if self._closed:
            self._track(req_id, method, params, callback, False, timeout, replies, DISCONNECTED)
            return
        budget = self.request_timeout if timeout is None else timeout
        sent_mono = self._launch(method, params, req_id, budget, replies)
        self._track(req_id, method, params, callback, False, timeout, replies, None, sent_mono)

    def _transport_ready(self) -> bool:
        return not self._closed

    async def _round_trip(
        self, req_id: int, method: str, request: HttpRequest, budget: float, items: int
    ) -> None:
        try:
            async with asyncio.timeout(budget):
                status, body = await self._rest.send(request)
        except (TimeoutError, RequestTimeoutError):
            self._end_locally(req_id, TIMEOUT)
            return
        except DisconnectedError:
            self._end_locally(req_id, DISCONNECTED)
            return
        except Exception:
            log.exception("%s %s req_id=%s failed", self.exchange.value, method, req_id)
            self._end_locally(req_id, DISCONNECTED)
            return
        recv_ns = _time_ns()
        recv_mono = _monotonic_ns()
        for reply in self._replies(method, req_id, status, body, items):
            self._complete(req_id, reply, recv_ns, recv_mono)

    def _on_disconnected(self) -> None:
        # The WebSocket carries only streams here: REST requests in flight are unaffected.
        pass

    # -- lifecycle ---------------------------------------------------------------------------
    async def close(self) -> None:
        """Closes as `WsApiBase.close()` does (pending requests end with `hftpy:disconnected`),
        cancels the HTTP round trips in flight, and closes the REST API when this object made it."""
        await super().close()
        tasks = list(self._http_tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._own_rest:
            await self._rest.close()
