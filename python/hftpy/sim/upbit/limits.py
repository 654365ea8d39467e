"""Upbit's request limits (reference B5) and the `Remaining-Req` header.

Every REST reply carries `Remaining-Req: group=<g>; min=1800; sec=<left>`; `order`
(POST /v1/orders, cancel_and_new) 8/s, `order-cancel-all` 1 per 2 s and `default` 30/s per
account, quotation groups 10/s per IP. A window opens with a group's first request; past the
limit the reply is 429 `too_many_requests` (refused requests do not count).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Final

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from ..errors import VenueError
from .errors import error_response, too_many

__all__ = ["QUOTATION_GROUPS", "RATE_GROUPS", "RateWindows", "charge", "rate_group", "stamp"]

#: Rate-limit group -> (requests, per seconds) (reference B5). Exchange groups count per
#: account, quotation groups per client IP.
RATE_GROUPS: Final[dict[str, tuple[int, float]]] = {
    "default": (30, 1.0),
    "order": (8, 1.0),
    "order-cancel-all": (1, 2.0),
    "market": (10, 1.0),
    "candle": (10, 1.0),
    "trade": (10, 1.0),
    "ticker": (10, 1.0),
    "orderbook": (10, 1.0),
}
QUOTATION_GROUPS: Final = frozenset({"market", "candle", "trade", "ticker", "orderbook"})
_QUOTATION_ROUTES: Final = {"/v1/market/all": "market", "/v1/orderbook": "orderbook"}
_ORDER_ROUTES: Final = {
    ("POST", "/v1/orders"): "order",
    ("POST", "/v1/orders/cancel_and_new"): "order",
    ("DELETE", "/v1/orders/open"): "order-cancel-all",
}
# Set on a request while it is charged: whose budget, and what it left.
_SCOPE: Final = web.RequestKey("hftpy_upbit_rate_scope", str)
_LEFT: Final = web.RequestKey("hftpy_upbit_rate_left", int)


def rate_group(method: str, path: str) -> str | None:
    """The rate-limit group of a REST route, or None for paths Upbit does not serve."""
    path = path.rstrip("/") or "/"
    if path in _QUOTATION_ROUTES:
        return _QUOTATION_ROUTES[path]
    group = _ORDER_ROUTES.get((method.upper(), path))
    if group is not None:
        return group
    return "default" if path.startswith("/v1/") else None


class RateWindows:
    """Requests left per (scope, group): a window opens with the first request and admits
    the group's limit until its period has passed (Upbit's user-request guide: counted from
    the first request; refused requests do not count)."""

    def __init__(self, groups: Mapping[str, tuple[int, float]] = RATE_GROUPS) -> None:
        self.groups = dict(groups)
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def limit(self, group: str) -> int:
        return self.groups[group][0]

    def _used(self, scope: str, group: str, now: float) -> tuple[float, int]:
        start, used = self._windows.get((scope, group), (now, 0))
        if now - start >= self.groups[group][1]:
            return now, 0
        return start, used

    def take(self, scope: str, group: str) -> int | None:
        """Charge one request: what is left afterwards, or None when the budget is spent."""
        now = time.monotonic()
        start, used = self._used(scope, group, now)
        limit = self.limit(group)
        if used >= limit:
            return None
        self._windows[(scope, group)] = (start, used + 1)
        return limit - used - 1

    def remaining(self, scope: str, group: str) -> int:
        return self.limit(group) - self._used(scope, group, time.monotonic())[1]


def charge(windows: RateWindows, request: web.Request, scope: str, group: str) -> None:
    """Charge `request` to `scope`'s budget of `group` (`ip:...`, `account:...`); 429 when
    that budget is spent."""
    request[_SCOPE] = scope
    left = windows.take(scope, group)
    if left is None:
        raise too_many()
    request[_LEFT] = left


def stamp(windows: RateWindows) -> Middleware:
    """The middleware that charges quotation requests per IP and stamps every reply with
    `Remaining-Req`.

    Exchange requests are charged per account by their handler, once the JWT says whose they
    are; a request refused before that shows the budget as it stands.
    """

    @web.middleware
    async def remaining_req(request: web.Request, handler: Handler) -> web.StreamResponse:
        group = rate_group(request.method, request.path)
        if group is None:
            return await handler(request)
        response: web.StreamResponse
        if group in QUOTATION_GROUPS:
            try:
                charge(windows, request, f"ip:{request.remote}", group)
            except VenueError as exc:
                response = error_response(exc)
            else:
                response = await handler(request)
        else:
            response = await handler(request)
        left = request.get(_LEFT)
        if left is None:
            scope = request.get(_SCOPE)
            left = windows.remaining(scope, group) if scope else windows.limit(group)
        response.headers["Remaining-Req"] = f"group={group}; min=1800; sec={left}"
        return response

    return remaining_req
