"""Backpack's signed REST endpoints (reference A4, A5) on the `backpack_rest` port.

`POST /api/v1/order` (`orderExecute`), `POST /api/v1/orders` (batch, one entry per order: the
order or its `{"code","message"}`), `DELETE /api/v1/order` (`orderCancel`, body
`{symbol, orderId|clientId}`), `DELETE /api/v1/orders` (`orderCancelAll`), `GET /api/v1/order`
(`orderQuery`: query `symbol` and exactly one of `orderId` / `clientId`; the order only while
it rests on the book, else 404), `GET /api/v1/orders` (`orderQueryAll`, `symbol` and
`marketType` optional), `GET /api/v1/capital` (`balanceQuery`), `GET /wapi/v1/history/orders`
(`orderHistoryQueryAll`: `orderId`, `symbol`, `limit` <= 1000, `offset`, `sortDirection`;
every order of the account with `status` and `expiryReason`) and `GET /wapi/v1/history/fills`
(`fillHistoryQueryAll`: also `from` / `to` in ms); both histories newest first and with
`X-TOTAL`, `X-PAGE-SIZE`, `X-PAGE-COUNT`, `X-CURRENT-PAGE`.

Errors are `{"code","message"}`: 401 `UNAUTHORIZED` (missing headers, unknown key), 400
`INVALID_SIGNATURE`, 400 `INVALID_CLIENT_REQUEST` (expired or bad window), 400
`INVALID_ORDER` / `INVALID_PRICE` / `INVALID_QUANTITY` / `INSUFFICIENT_FUNDS` /
`INVALID_MARKET`, 404 `RESOURCE_NOT_FOUND`, 503 `SERVICE_UNAVAILABLE` (maintenance).
`drop_request` aborts the connection before any answer; a `stall` holds the answers until it
ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Final, Protocol

import msgspec
from aiohttp import web

from ..engine import Account, Engine, Instrument, OrderRejected
from ..errors import VenueError
from ..wire import amount_text, decode_json, int_param, json_response
from .auth import BackpackAuth
from .errors import answering, api_error, error_body
from .orders import BackpackOrders
from .public_rest import unavailable

__all__ = ["MAX_HISTORY_LIMIT", "BackpackTradingRest", "TradingVenue"]

MAX_HISTORY_LIMIT: Final = 1000
_PAGE_HEADERS: Final = ("X-PAGE-COUNT", "X-CURRENT-PAGE", "X-PAGE-SIZE", "X-TOTAL")


class TradingVenue(Protocol):
    """What the endpoints need of their venue: its engine, markets and request faults."""

    engine: Engine
    system: str

    def instrument(self, symbol: str) -> Instrument | None: ...

    def stalled(self) -> bool: ...

    def take_drop_request(self) -> bool: ...


class BackpackTradingRest:
    """The signed endpoints: each checks the signature, then acts on `BackpackOrders`."""

    def __init__(self, venue: TradingVenue, auth: BackpackAuth, orders: BackpackOrders) -> None:
        self.venue = venue
        self.auth = auth
        self.orders = orders

    def routes(self, app: web.Application) -> None:
        add = app.router
        add.add_post("/api/v1/order", answering(self._execute))
        add.add_post("/api/v1/orders", answering(self._execute_batch))
        add.add_delete("/api/v1/order", answering(self._cancel))
        add.add_delete("/api/v1/orders", answering(self._cancel_all))
        add.add_get("/api/v1/order", answering(self._open_order))
        add.add_get("/api/v1/orders", answering(self._open_orders))
        add.add_get("/api/v1/capital", answering(self._capital))
        add.add_get("/wapi/v1/history/orders", answering(self._order_history))
        add.add_get("/wapi/v1/history/fills", answering(self._fill_history))

    async def _signed(
        self, request: web.Request, instruction: str, from_query: bool = False
    ) -> tuple[Account, Any]:
        """Waits out a stall, applies faults, checks the signature: (account, params)."""
        venue = self.venue
        while venue.stalled():
            await asyncio.sleep(0.02)
        if venue.take_drop_request():
            if request.transport is not None:
                request.transport.abort()
            raise api_error("SERVER_ERROR", "connection dropped", 500)
        if venue.system != "online":
            raise unavailable()
        if from_query:
            params: Any = dict(request.query)
        else:
            try:
                raw = await request.read()
            except ConnectionError:
                raise api_error("CLIENT_CLOSED", "client closed the connection", 499) from None
            try:
                params = decode_json(raw) if raw else {}
            except msgspec.DecodeError:
                raise api_error("INVALID_CLIENT_REQUEST", "Invalid JSON body") from None
        h = request.headers
        account = self.auth.verify(
            h.get("X-API-Key"),
            h.get("X-Signature"),
            h.get("X-Timestamp"),
            h.get("X-Window"),
            instruction,
            params if isinstance(params, list | dict) else {},
        )
        return account, params

    async def _execute(self, request: web.Request) -> web.Response:
        account, params = await self._signed(request, "orderExecute")
        if not isinstance(params, dict):
            raise api_error("INVALID_CLIENT_REQUEST", "Expected one order")
        return json_response(self.orders.execute(account, params))

    async def _execute_batch(self, request: web.Request) -> web.Response:
        account, params = await self._signed(request, "orderExecute")
        if not isinstance(params, list) or not params:
            raise api_error("INVALID_CLIENT_REQUEST", "Expected a list of orders")
        results: list[Any] = []
        for item in params:
            try:
                if not isinstance(item, dict):
                    raise api_error("INVALID_CLIENT_REQUEST", "Expected an order")
                results.append(self.orders.execute(account, item))
            except VenueError as exc:
                results.append(error_body(exc))
        return json_response(results)

    async def _cancel(self, request: web.Request) -> web.Response:
        account, params = await self._signed(request, "orderCancel")
        order = self.orders.find(account, params)
        try:
            self.venue.engine.cancel(order)
        except OrderRejected:
            raise api_error("RESOURCE_NOT_FOUND", "Order not found", 404) from None
        return json_response(self.orders.order_body(order))

    async def _cancel_all(self, request: web.Request) -> web.Response:
        account, params = await self._signed(request, "orderCancelAll")
        symbol = params.get("symbol") if isinstance(params, dict) else None
        if not isinstance(symbol, str) or self.venue.instrument(symbol) is None:
            raise api_error("INVALID_MARKET", "Invalid market")
        engine = self.venue.engine
        orders = engine.open_orders(account, symbol)
        for order in orders:
            engine.cancel(order)
        return json_response([self.orders.order_body(o) for o in orders])

    async def _open_order(self, request: web.Request) -> web.Response:
        account, params = await self._signed(request, "orderQuery", from_query=True)
        return json_response(self.orders.order_body(self.orders.find(account, params)))

    async def _open_orders(self, request: web.Request) -> web.Response:
        account, params = await self._signed(request, "orderQueryAll", from_query=True)
        symbol = params.get("symbol")
        orders = [o for o in self.venue.engine.open_orders(account, symbol) if _spot(params)]
        return json_response([self.orders.order_body(o) for o in orders])

    async def _order_history(self, request: web.Request) -> web.Response:
        account, params = await self._signed(request, "orderHistoryQueryAll", from_query=True)
        orders = [
            o
            for o in self.orders.placed(account)
            if params.get("orderId") in (None, self.orders.venue_id(o))
            and params.get("symbol") in (None, o.instrument.symbol)
            and _spot(params)
        ]
        return _page([(o.created_ns, self.orders.history_entry(o)) for o in orders], params)

    async def _fill_history(self, request: web.Request) -> web.Response:
        account, params = await self._signed(request, "fillHistoryQueryAll", from_query=True)
        since = int_param(params, "from", 0, 0, None, _bad_param) * 1_000_000
        until = int_param(params, "to", 2**62, 0, None, _bad_param) * 1_000_000
        rows = [
            (ts, fill)
            for ts, fill in self.orders.fills(account)
            if params.get("orderId") in (None, fill["orderId"])
            and params.get("symbol") in (None, fill["symbol"])
            and params.get("fillType") in (None, "User")
            and since <= ts <= until
            and _spot(params)
        ]
        return _page(rows, params)

    async def _capital(self, request: web.Request) -> web.Response:
        account, _ = await self._signed(request, "balanceQuery", from_query=True)
        body = {
            asset: {
                "available": amount_text(bal.available),
                "locked": amount_text(bal.held),
                "staked": "0",
            }
            for asset, bal in account.balances.items()
        }
        return json_response(body)


def _spot(params: Mapping[str, Any]) -> bool:
    """False when a `marketType` filter leaves out spot markets (the only kind here)."""
    market_type = params.get("marketType")
    return market_type is None or "SPOT" in str(market_type).upper().split(",")


def _bad_param(key: str, out_of_range: bool) -> VenueError:
    message = f"{key} is out of range" if out_of_range else f"Invalid {key}"
    return api_error("INVALID_CLIENT_REQUEST", message)


def _page(rows: list[tuple[int, dict[str, Any]]], params: Mapping[str, Any]) -> web.Response:
    """`limit` (default 100, max 1000) rows from `offset`, newest first unless
    `sortDirection=Asc`, with Backpack's paging headers."""
    limit = int_param(params, "limit", 100, 1, MAX_HISTORY_LIMIT, _bad_param)
    offset = int_param(params, "offset", 0, 0, None, _bad_param)
    direction = params.get("sortDirection", "Desc")
    if direction not in ("Asc", "Desc"):
        raise api_error("INVALID_CLIENT_REQUEST", "Invalid sortDirection")
    rows = sorted(rows, key=lambda row: row[0], reverse=direction == "Desc")
    total = len(rows)
    return json_response(
        [row for _, row in rows[offset : offset + limit]],
        headers={
            "X-PAGE-COUNT": str(-(-total // limit)),
            "X-CURRENT-PAGE": str(offset // limit + 1),
            "X-PAGE-SIZE": str(limit),
            "X-TOTAL": str(total),
            "Access-Control-Expose-Headers": ", ".join(_PAGE_HEADERS),
        },
    )
