"""Upbit REST (`upbit_rest` port): quotation (`/v1/market/all`, `/v1/orderbook?markets=`) and
the exchange endpoints behind the JWT (`/v1/orders`, `/v1/order`, `/v1/orders/open`,
`/v1/orders/cancel_and_new`, `/v1/accounts`; orders.py says what each does).

An exchange request's parameters are its JSON body (POST) or query string; `GET` and
`DELETE /v1/order` also take `uuid` / `identifier` in a JSON (or form) body, as older clients
send them, the query hash then covering the query string's pairs followed by the body's.
`stall` holds exchange replies until it ends; `drop_request` cuts the connection unanswered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Final, Protocol
from urllib.parse import parse_qsl, unquote

import msgspec
from aiohttp import web
from aiohttp.typedefs import Handler

from ..engine import Account
from ..errors import VenueError
from ..market import MarketVenue
from ..wire import amount_text, decode_json, json_response
from .auth import UpbitAuth, query_string
from .errors import error_response, invalid, maintenance, upbit_error
from .limits import RateWindows, charge, rate_group, stamp
from .orders import UpbitOrders
from .public import UpbitQuotation

__all__ = ["UpbitExchangeRest", "UpbitMarketRest"]

_NAMES: Final = {"KRW-BTC": ("비트코인", "Bitcoin"), "KRW-ETH": ("이더리움", "Ethereum")}
_STALL_POLL_S: Final = 0.02

Endpoint = Callable[[Account, Any], Any]  # (account, parameters) -> the JSON answer


def _check_online(venue: MarketVenue) -> None:
    if venue.system != "online":
        raise maintenance()


class UpbitMarketRest:
    """The quotation endpoints: markets and order books."""

    def __init__(self, venue: MarketVenue, quotation: UpbitQuotation) -> None:
        self.venue = venue
        self.quotation = quotation

    def routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/market/all", self._markets)
        app.router.add_get("/v1/orderbook", self._orderbook)

    async def _markets(self, request: web.Request) -> web.Response:
        try:
            _check_online(self.venue)
        except VenueError as exc:
            return error_response(exc)
        details = request.query.get("isDetails", "false").lower() == "true"
        markets = []
        for inst in self.venue.instruments:
            korean, english = _NAMES.get(inst.symbol, (inst.base, inst.base))
            entry: dict[str, Any] = {"market": inst.symbol}
            if details:
                entry["market_warning"] = "NONE"
            entry["korean_name"] = korean
            entry["english_name"] = english
            markets.append(entry)
        return json_response(markets)

    async def _orderbook(self, request: web.Request) -> web.Response:
        try:
            _check_online(self.venue)
            wanted = [m for m in request.query.get("markets", "").split(",") if m]
            if not wanted:
                raise invalid("markets is missing")
            books = [self._book(market) for market in wanted]
        except VenueError as exc:
            return error_response(exc)
        return json_response(books)

    def _book(self, market: str) -> dict[str, Any]:
        if self.venue.instrument(market) is None:
            raise upbit_error(404, "404", "Code not found")
        book = self.quotation.orderbook(market, 30, "SNAPSHOT")
        return {
            "market": market,
            "timestamp": book["timestamp"],
            "total_ask_size": book["total_ask_size"],
            "total_bid_size": book["total_bid_size"],
            "orderbook_units": book["orderbook_units"],
            "level": 0,
        }


class RequestGate(Protocol):
    """What the exchange endpoints need of their venue: whether it is up, and the faults that
    hold or drop a request."""

    system: str

    def stalled(self) -> bool: ...

    def take_drop_request(self) -> bool: ...


class UpbitExchangeRest:
    """The endpoints behind the JWT: authenticate, charge the account's rate budget, answer."""

    def __init__(
        self, gate: RequestGate, auth: UpbitAuth, limits: RateWindows, orders: UpbitOrders
    ) -> None:
        self.gate = gate
        self.auth = auth
        self.limits = limits
        self.orders = orders

    def routes(self, app: web.Application) -> None:
        app.middlewares.append(stamp(self.limits))
        orders, router = self.orders, app.router
        router.add_post("/v1/orders", self._endpoint(orders.place, body=True, status=201))
        router.add_post(
            "/v1/orders/cancel_and_new",
            self._endpoint(orders.cancel_and_new, body=True, status=201),
        )
        router.add_delete("/v1/order", self._endpoint(orders.cancel, body_too=True))
        router.add_get("/v1/order", self._endpoint(orders.get, body_too=True))
        router.add_get("/v1/orders/open", self._endpoint(orders.open_orders))
        router.add_delete("/v1/orders/open", self._endpoint(orders.cancel_open))
        router.add_get("/v1/accounts", self._endpoint(_balances))

    def _endpoint(
        self, answer: Endpoint, *, body: bool = False, body_too: bool = False, status: int = 200
    ) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                account, params = await self._authorized(request, body, body_too)
                return json_response(answer(account, params), status)
            except VenueError as exc:
                return error_response(exc)

        return handle

    async def _authorized(
        self, request: web.Request, body: bool, body_too: bool = False
    ) -> tuple[Account, Any]:
        """Verify the JWT; the request's parameters. `body`: a JSON body holds them (POST).
        `body_too`: the query string, plus a JSON (or form) body if one is sent."""
        while self.gate.stalled():
            await asyncio.sleep(_STALL_POLL_S)
        if self.gate.take_drop_request():
            if request.transport is not None:
                request.transport.abort()
            raise upbit_error(500, "server_error", "connection dropped")
        if self.gate.system != "online":
            raise maintenance()
        params: Any
        if body:
            params = _json_params(await _read(request))
            query = query_string(params)
        else:
            params = request.query  # a multidict: `states[]` may repeat
            query = unquote(request.rel_url.raw_query_string)
            if body_too and request.can_read_body:
                extra, extra_query = _body_params(request, await _read(request))
                if extra:
                    params = {**extra, **params}  # a name in both: the query string's
                    query = f"{query}&{extra_query}" if query else extra_query
        account, _ = self.auth.verify(request.headers.get("Authorization"), query or None)
        group = rate_group(request.method, request.path) or "default"
        charge(self.limits, request, f"account:{account.name}", group)
        return account, params


async def _read(request: web.Request) -> bytes:
    try:
        return await request.read()
    except ConnectionError:
        raise upbit_error(499, "client_closed", "client closed the connection") from None


def _json_params(raw: bytes) -> dict[str, Any]:
    """A JSON body's parameters (an empty body has none)."""
    if not raw:
        return {}
    try:
        params = decode_json(raw)
    except msgspec.DecodeError:
        raise invalid("잘못된 요청입니다.") from None
    if not isinstance(params, dict):
        raise invalid("잘못된 요청입니다.")
    return params


def _body_params(request: web.Request, raw: bytes) -> tuple[dict[str, Any], str]:
    """A GET/DELETE body's parameters and their hashed `k=v&...` text."""
    if not raw.strip():
        return {}, ""
    if request.content_type == "application/x-www-form-urlencoded":
        text = raw.decode("latin-1")
        return dict(parse_qsl(text, keep_blank_values=True)), unquote(text)
    params = _json_params(raw)
    return params, query_string(params)


def _balances(account: Account, params: Any) -> list[dict[str, Any]]:
    """`GET /v1/accounts`: every balance of the account."""
    return [
        {
            "currency": asset,
            "balance": amount_text(bal.available),
            "locked": amount_text(bal.held),
            "avg_buy_price": "0",
            "avg_buy_price_modified": False,
            "unit_currency": "KRW",
        }
        for asset, bal in account.balances.items()
    ]
