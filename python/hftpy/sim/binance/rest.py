"""Binance spot REST trading on loopback (`binance_rest` port), per rest-api.md.

Signed endpoints, answered by the WS API's own order logic (`api.BinanceApiVenue`:
one engine, one account, one set of order ids, so an order placed over REST can be cancelled
over the WS API and shows in its user data stream):

| endpoint | WS API method | weight |
|---|---|---|
| `POST /api/v3/order` | `order.place` | 1 (0 when it succeeds) |
| `GET /api/v3/order` | `order.status` | 4 |
| `DELETE /api/v3/order` | `order.cancel` | 1 (0 when it succeeds) |
| `POST /api/v3/order/cancelReplace` | `order.cancelReplace` | 1 (0 when it succeeds) |
| `PUT /api/v3/order/amend/keepPriority` | `order.amend.keepPriority` | 4 |
| `GET /api/v3/openOrders` | `openOrders.status` | 6, 80 without `symbol` |
| `DELETE /api/v3/openOrders` | `openOrders.cancelAll` | 1 (0 when it succeeds) |
| `GET /api/v3/account` | `account.status` | 20 |
| `GET /api/v3/myTrades` | `myTrades` | 20, 5 with `orderId` |

Parameters come in the query string or (POST, PUT, DELETE) a form-encoded body; a parameter
in both is taken from the query string, one repeated within either is -1101. The key is the
`X-MBX-APIKEY` header (missing or malformed: 401 / -2014, unknown: 401 / -2015). The
`signature` (HMAC-SHA256 hex in any case, or Ed25519 base64, percent-encoded) covers
`totalParams`: the query string followed by the body, exactly as sent, without the `signature`
parameter; a wrong one is 400 / -1022. `timestamp` (ms or µs) and `recvWindow` (default 5000,
at most 60000) are checked as the WS API checks them (-1021, -1131). Numeric parameters are
plain text here, so every form the WS API takes as a string is accepted the same way.

Every response carries `X-MBX-USED-WEIGHT-1M` (the IP's REQUEST_WEIGHT, shared with the WS API
and the public endpoints: `depth` 5/25/50/250 by `limit`, `exchangeInfo` 20, `time` and `ping`
1); order placements carry `X-MBX-ORDER-COUNT-10S` and `X-MBX-ORDER-COUNT-1D`. Past the weight
limit (or during the `rate_limit` fault) the answer is 429 (418 when banned) / -1003 with a
`Retry-After` header in seconds; past the order limit 429 / -1015 without one. Errors are
`{"code", "msg"}` (cancelReplace adds `data`), with the HTTP status the WS API gives the same
error. In maintenance every endpoint answers 503 / -1016.

Not in the reference, from replies users quote (ccxt issues 3057 and 10198): HTTP 401 for
-2014 and -2015. UNVERIFIED (chosen to be plausible): -2014 for a request with no
`X-MBX-APIKEY` header at all; that a successful REST order call costs no weight, as the WS
API's do since 2026-04-02 (the CHANGELOG names the WS methods only); the 24 h and
`fromId`-with-times checks of myTrades (-1127, -1128), and `limit` above 1000 served at 1000.

Independent of the client on purpose: nothing here imports `hftpy._core` or `hftpy.exchange`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol
from urllib.parse import parse_qsl

from aiohttp import web

from ..errors import VenueError
from ..wire import json_response
from .request import RestSignature
from .text import UNAVAILABLE

__all__ = ["ENDPOINTS", "BinanceRest", "RestOutcome", "RestSignature", "TradingApi"]

# (HTTP method, path) -> the WS API method that answers it
ENDPOINTS: Final[Mapping[tuple[str, str], str]] = {
    ("POST", "/api/v3/order"): "order.place",
    ("GET", "/api/v3/order"): "order.status",
    ("DELETE", "/api/v3/order"): "order.cancel",
    ("POST", "/api/v3/order/cancelReplace"): "order.cancelReplace",
    ("PUT", "/api/v3/order/amend/keepPriority"): "order.amend.keepPriority",
    ("GET", "/api/v3/openOrders"): "openOrders.status",
    ("DELETE", "/api/v3/openOrders"): "openOrders.cancelAll",
    ("GET", "/api/v3/account"): "account.status",
    ("GET", "/api/v3/myTrades"): "myTrades",
}
_PUBLIC_WEIGHTS: Final = {"/api/v3/exchangeInfo": 20, "/api/v3/time": 1, "/api/v3/ping": 1}
# `GET /api/v3/depth` by `limit`: up to 100, 500, 1000, 5000
_DEPTH_WEIGHTS: Final = ((100, 5), (500, 25), (1000, 50), (5000, 250))


@dataclass(frozen=True, slots=True)
class RestOutcome:
    """A REST call's result: `result` on success, else `status` / `code` / `msg` (+ `data`)."""

    status: int
    result: Any = None
    code: int | str | None = 0
    msg: str = ""
    data: Any = None
    order_counts: tuple[int, int] | None = None  # ORDERS (10 s, day) when the call counted one

    @classmethod
    def refused(cls, error: VenueError, order_counts: tuple[int, int] | None = None) -> RestOutcome:
        return cls(error.status, None, error.code, error.message, error.data, order_counts)


class TradingApi(Protocol):
    """The part of the WS API venue the REST front-end calls."""

    def now_ms(self) -> int: ...

    def call_rest(
        self, method: str, params: dict[str, Any], signature: RestSignature
    ) -> RestOutcome:
        """Run WS API `method` for a REST request; its outcome."""
        ...

    def charge_rest(self, weight: int) -> RestOutcome | None:
        """Count `weight` of a public REST request; the refusal when over the limit."""
        ...

    def used_weight(self, now_ms: int) -> int: ...


def _without_signature(text: str) -> str:
    return "&".join(part for part in text.split("&") if not part.startswith("signature="))


def _depth_weight(query: Mapping[str, str]) -> int:
    try:
        limit = int(query.get("limit", "100"))
    except ValueError:
        return 5  # refused by the handler (-1100), at the smallest weight
    return next((weight for top, weight in _DEPTH_WEIGHTS if limit <= top), 250)


class BinanceRest:
    """The signed REST endpoints and the weight headers of every REST reply."""

    def __init__(self, api: TradingApi, available: Callable[[], bool]) -> None:
        self.api = api
        self.available = available

    def routes(self, app: web.Application) -> None:
        for method, path in ENDPOINTS:
            app.router.add_route(method, path, self._call)
        app.middlewares.append(self._weights)

    @web.middleware
    async def _weights(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        """Charge the public endpoints' weight; stamp every reply with the used weight."""
        path = request.path
        weight = _PUBLIC_WEIGHTS.get(path, 0)
        if path == "/api/v3/depth":
            weight = _depth_weight(request.query)
        refused = self.api.charge_rest(weight) if weight else None
        response: web.StreamResponse
        if refused is not None:
            response = self._respond(refused)
        else:
            response = await handler(request)
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(self.api.used_weight(self.api.now_ms()))
        return response

    async def _call(self, request: web.Request) -> web.Response:
        method = ENDPOINTS[(request.method, request.path)]
        if not self.available():
            return json_response(UNAVAILABLE, 503)
        query = request.rel_url.raw_query_string
        body = ""
        if request.method != "GET":  # GET parameters go in the query string only
            body = (await request.read()).decode("latin-1")
        params: dict[str, Any] = {}
        for text in (query, body):
            pairs = parse_qsl(text, keep_blank_values=True)
            names = [name for name, _ in pairs]
            if len(names) != len(set(names)):
                return json_response(
                    {"code": -1101, "msg": "Duplicate values for a parameter detected."}, 400
                )
            params = {**dict(pairs), **params}  # the query string (parsed first) wins
        payload = (_without_signature(query) + _without_signature(body)).encode("latin-1")
        signature = RestSignature(request.headers.get("X-MBX-APIKEY"), payload)
        return self._respond(self.api.call_rest(method, params, signature))

    def _respond(self, outcome: RestOutcome) -> web.Response:
        headers: dict[str, str] = {}
        if outcome.order_counts is not None:
            ten, day = outcome.order_counts
            headers["X-MBX-ORDER-COUNT-10S"] = str(ten)
            headers["X-MBX-ORDER-COUNT-1D"] = str(day)
        if outcome.status == 200:
            response = json_response(outcome.result)
        else:
            body: dict[str, Any] = {"code": outcome.code, "msg": outcome.msg}
            data = outcome.data
            if outcome.code == -1003 and isinstance(data, dict):
                # REST gives the wait as a Retry-After header in seconds, not in the body
                wait_ms = int(data["retryAfter"]) - int(data["serverTime"])
                headers["Retry-After"] = str(max(1, math.ceil(wait_ms / 1000)))
            elif data is not None:
                body["data"] = data
            response = json_response(body, outcome.status)
        response.headers.update(headers)
        return response
