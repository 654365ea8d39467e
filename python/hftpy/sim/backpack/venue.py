"""Backpack's private side on loopback: Ed25519-signed REST orders and signed private streams
(reference A4, A5), on top of the public venue in `backpack.py`.

REST (`backpack_rest` port), every call signed with `X-API-Key` / `X-Signature` /
`X-Timestamp` / `X-Window` over `instruction=<instr>&<sorted params>&timestamp=..&window=..`
(a batch: one `instruction=orderExecute&...` chunk per order):
`POST /api/v1/order` (`orderExecute`), `POST /api/v1/orders` (batch, one entry per order:
the order or its `{"code","message"}`), `DELETE /api/v1/order` (`orderCancel`, body
`{symbol, orderId|clientId}`), `DELETE /api/v1/orders` (`orderCancelAll`),
`GET /api/v1/order` (`orderQuery`: query `symbol` and exactly one of `orderId` / `clientId`;
the order only while it rests on the book, else 404), `GET /api/v1/orders` (`orderQueryAll`,
`symbol` and `marketType` optional), `GET /api/v1/capital` (`balanceQuery`),
`GET /wapi/v1/history/orders` (`orderHistoryQueryAll`: `orderId`, `symbol`, `limit` <= 1000,
`offset`, `sortDirection`; every order of the account with `createdAt` a naive UTC date-time,
`status` and `expiryReason`) and `GET /wapi/v1/history/fills` (`fillHistoryQueryAll`: also
`from` / `to` in ms); both histories newest first and with `X-TOTAL`, `X-PAGE-SIZE`,
`X-PAGE-COUNT`, `X-CURRENT-PAGE`. An IOC (FOK) remainder or an unfilled market remainder ends
`Expired` with `expiryReason` `ImmediateOrCancel` (`FillOrKill`) / `InsufficientLiquidity`.
Errors are `{"code","message"}`: 401 `UNAUTHORIZED` (missing headers, unknown key), 400
`INVALID_SIGNATURE`, 400 `INVALID_CLIENT_REQUEST` (expired or bad window), 400
`INVALID_ORDER` / `INVALID_PRICE` / `INVALID_QUANTITY` / `INSUFFICIENT_FUNDS` /
`INVALID_MARKET`, 404 `RESOURCE_NOT_FOUND`, 503 `SERVICE_UNAVAILABLE` (maintenance).

WS (the public `backpack_ws` endpoint): `SUBSCRIBE` to `account.orderUpdate[.<sym>]`,
`account.positionUpdate[.<sym>]`, `account.rfqUpdate[.<sym>]` needs
`"signature": [key, sig, ts, window]` over `instruction=subscribe&timestamp=..&window=..`.
Backpack documents no frame for a refused signature; this one answers like its other errors:
`{"id": <id or null>, "error": {"code": 4001, "message": "..."}}`. Order events
(`orderAccepted`, `orderFill`, `orderCancelled`, `orderExpired` with `R`) go to the account's
subscribers with `e,E,s,c?,S,o,f,q,p?,X,R?,i,t/l/L/m/n/N (fills),z,Z,V,O,r,y,T`; `Q` and `P`
(quote-quantity and trigger orders) never occur, the simulator takes neither. Spot accounts
hold no positions, so `positionUpdate` stays quiet.

Faults beyond the public ones: `reject_auth` (the next `count` signed requests or subscribes
fail as a bad signature), `drop_request` (the next `count` REST requests lose their TCP
connection without a reply). `stall` also freezes REST replies until it ends.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import itertools
import time
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Final

import msgspec
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .backpack import FAULTS as PUBLIC_FAULTS
from .backpack import BackpackConnection, BackpackVenue
from .engine import Account, Engine, Order, OrderEvent, OrderRejected, RejectReason
from .faults import DROP_REQUEST, REJECT_AUTH, FaultTable, RequestFaults, fault_table
from .wire import decode_json, encode_json, fixed_text

__all__ = [
    "BACKPACK_API_KEY",
    "BACKPACK_API_SECRET",
    "FAULTS",
    "BackpackPrivateVenue",
    "signing_string",
]

FAULTS: Final = fault_table(PUBLIC_FAULTS.values(), REJECT_AUTH, DROP_REQUEST)
MAX_WINDOW: Final = 60_000
DEFAULT_WINDOW: Final = 5_000
AUTH_ERROR_CODE: Final = 4001
PRIVATE_KINDS: Final = ("account.orderUpdate", "account.positionUpdate", "account.rfqUpdate")

_SEED: Final = hashlib.sha512(b"hftpy sim backpack demo api secret").digest()[:32]
#: Demo credentials: the base64 Ed25519 seed and its base64 public key.
BACKPACK_API_SECRET: Final = base64.b64encode(_SEED).decode()
BACKPACK_API_KEY: Final = base64.b64encode(
    Ed25519PrivateKey.from_private_bytes(_SEED).public_key().public_bytes_raw()
).decode()
_DEMO_BALANCES: Final = {"USDC": "10000000", "SOL": "100000", "BTC": "100"}

_SIDES: Final = {"Bid": "buy", "Ask": "sell"}
_EVENTS: Final = {
    "new": "orderAccepted",
    "trade": "orderFill",
    "canceled": "orderCancelled",
    "expired": "orderExpired",
}
#: Engine cancel reasons that Backpack reports as `Expired` with this `expiryReason`.
_EXPIRING: Final = {
    "IOC remainder": "ImmediateOrCancel",
    "Market order remainder not filled": "InsufficientLiquidity",
}
_PAGE_HEADERS: Final = ("X-PAGE-COUNT", "X-CURRENT-PAGE", "X-PAGE-SIZE", "X-TOTAL")
MAX_HISTORY_LIMIT: Final = 1000
_TYPES: Final = {"Limit": "limit", "Market": "market"}
_STATUS: Final = {
    "new": "New",
    "partially_filled": "PartiallyFilled",
    "filled": "Filled",
    "canceled": "Cancelled",
    "expired": "Expired",
}


def _sign_value(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def signing_string(
    instruction: str, params: Mapping[str, Any] | list[Any], timestamp: str, window: str
) -> str:
    """Backpack's signed text (reference A5), written independently of the client."""
    items = params if isinstance(params, list) else [params]
    chunks = []
    for item in items:
        text = f"instruction={instruction}"
        if isinstance(item, Mapping):
            for key in sorted(item):
                if item[key] is not None:
                    text += f"&{key}={_sign_value(item[key])}"
        chunks.append(text)
    return "&".join(chunks) + f"&timestamp={timestamp}&window={window}"


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class BackpackPrivateVenue(RequestFaults, BackpackVenue):
    FAULTS: ClassVar[FaultTable] = FAULTS

    def __init__(self, engine: Engine, *, host: str = "127.0.0.1") -> None:
        super().__init__(engine, host=host)
        self.keys: dict[str, tuple[Ed25519PublicKey, Account]] = {}
        self.private: dict[BackpackConnection, tuple[Account, dict[str, None]]] = {}
        self._venue_ids: dict[str, str] = {}  # engine order id -> Backpack order id
        self._orders: dict[str, Order] = {}  # Backpack order id -> order
        self._client_ids: dict[str, int] = {}  # engine order id -> clientId
        self._tifs: dict[str, str] = {}  # engine order id -> GTC | IOC | FOK as placed
        self._expiry: dict[str, str] = {}  # engine order id -> expiryReason, once Expired
        self._fill_log: dict[str, list[tuple[int, dict[str, Any]]]] = {}  # account -> fills
        self._next_id = itertools.count(112_000_000_000_000_000)
        #: Every private subscribe accepted: (account name, timestamp, signature).
        self.subscribe_log: list[tuple[str, str, str]] = []
        self._placing: tuple[str, int | None, str] | None = None
        self.demo_account = engine.add_account("backpack-demo", _DEMO_BALANCES)
        self.add_api_key(BACKPACK_API_KEY, self.demo_account)

    def add_api_key(self, public_key_b64: str, account: Account) -> None:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        self.keys[public_key_b64] = (key, account)
        account.order_listeners.append(self._on_order)

    # ----- authentication -----

    def _verify(
        self,
        key_b64: str | None,
        signature: str | None,
        timestamp: str | None,
        window: str | None,
        instruction: str,
        params: Mapping[str, Any] | list[Any],
    ) -> Account:
        if not key_b64 or not signature or not timestamp:
            raise _ApiError(401, "UNAUTHORIZED", "Missing authentication headers")
        entry = self.keys.get(key_b64)
        if entry is None:
            raise _ApiError(401, "UNAUTHORIZED", "API key not found")
        window = window or str(DEFAULT_WINDOW)
        try:
            ts, win = int(timestamp), int(window)
        except ValueError:
            raise _ApiError(400, "INVALID_CLIENT_REQUEST", "Invalid timestamp or window") from None
        if not 0 < win <= MAX_WINDOW:
            raise _ApiError(400, "INVALID_CLIENT_REQUEST", f"Window must be at most {MAX_WINDOW}")
        now = time.time_ns() // 1_000_000
        if now > ts + win or ts > now + win:
            raise _ApiError(400, "INVALID_CLIENT_REQUEST", "Request has expired")
        text = signing_string(instruction, params, timestamp, window)
        public_key, account = entry
        try:
            if self.take_reject_auth():
                raise InvalidSignature
            public_key.verify(base64.b64decode(signature, validate=True), text.encode())
        except (InvalidSignature, ValueError):
            raise _ApiError(400, "INVALID_SIGNATURE", "Invalid signature") from None
        return account

    # ----- private streams -----

    def control(self, conn: BackpackConnection, payload: bytes) -> None:
        try:
            message = decode_json(payload)
        except msgspec.DecodeError:
            message = None
        params = message.get("params") if isinstance(message, dict) else None
        if not isinstance(params, list) or not any(
            isinstance(p, str) and p.startswith("account.") for p in params
        ):
            super().control(conn, payload)
            return
        assert isinstance(message, dict)
        req_id = message.get("id")
        method = message.get("method")
        private = [p for p in params if isinstance(p, str) and p.startswith("account.")]
        public = [p for p in params if p not in private]
        if not all(self._valid_private(p) for p in private):
            conn.send(
                encode_json({"id": req_id, "error": {"code": 4006, "message": "Invalid stream"}})
            )
            return
        if method == "SUBSCRIBE":
            signature = message.get("signature")
            if not isinstance(signature, list) or len(signature) != 4:
                error = {"code": AUTH_ERROR_CODE, "message": "Signature required"}
                conn.send(encode_json({"id": req_id, "error": error}))
                return
            key, sig, ts, window = (str(s) for s in signature)
            try:
                account = self._verify(key, sig, ts, window, "subscribe", {})
            except _ApiError as exc:
                error = {"code": AUTH_ERROR_CODE, "message": exc.message}
                conn.send(encode_json({"id": req_id, "error": error}))
                return
            self.subscribe_log.append((account.name, ts, sig))
            held = self.private.get(conn)
            if held is None or held[0] is not account:
                held = self.private[conn] = (account, {})
            for name in private:
                held[1][name] = None
                conn.streams[name] = None  # so the public side's cleanup on close sees it
        elif method == "UNSUBSCRIBE":
            self.unsubscribe(conn, private)
        if public:
            super().control(conn, encode_json({**message, "params": public}))

    @staticmethod
    def _valid_private(name: str) -> bool:
        kind, _, _ = name.rpartition(".") if name.count(".") >= 2 else (name, "", "")
        return kind in PRIVATE_KINDS

    def unsubscribe(self, conn: BackpackConnection, names: list[str]) -> None:
        held = self.private.get(conn)
        if held is not None:
            for name in names:
                held[1].pop(name, None)
            if not held[1] or conn.transport is None:
                del self.private[conn]
        super().unsubscribe(conn, names)

    def _on_order(self, event: OrderEvent) -> None:
        order = event.order
        if event.kind == "new" and self._placing is not None:
            venue_id, client_id, tif = self._placing
            self._placing = None
            self._venue_ids[order.order_id] = venue_id
            self._orders[venue_id] = order
            self._tifs[order.order_id] = tif
            if client_id is not None:
                self._client_ids[order.order_id] = client_id
        if event.kind == "filled" or event.kind == "amended":
            return  # the fill event already says Filled
        kind = _EVENTS[event.kind]
        if event.kind == "canceled" and event.reason in _EXPIRING:
            # What the engine ends as a cancel, Backpack reports as an expiry with its reason.
            kind = "orderExpired"
            reason = _EXPIRING[event.reason]
            if reason == "ImmediateOrCancel" and self._tifs.get(order.order_id) == "FOK":
                reason = "FillOrKill"
            self._expiry[order.order_id] = reason
        elif event.kind == "expired":
            self._expiry[order.order_id] = "Unknown"
        if event.fill is not None and order.order_id in self._venue_ids:
            log = self._fill_log.setdefault(order.account.name, [])
            log.append((event.ts_ns, self._fill_entry(event)))
        symbol = order.instrument.symbol
        names = ("account.orderUpdate", f"account.orderUpdate.{symbol}")
        targets = [
            (conn, name)
            for conn, (account, streams) in self.private.items()
            if account is order.account
            for name in names
            if name in streams
        ]
        if not targets:
            return
        data = self._order_update(kind, event)
        for conn, name in targets:
            conn.send(encode_json({"stream": name, "data": data}))

    def _order_update(self, kind: str, event: OrderEvent) -> dict[str, Any]:
        order = event.order
        inst = order.instrument
        pd, qd = inst.price_decimals, inst.qty_decimals
        now = time.time_ns() // 1000
        data: dict[str, Any] = {"e": kind, "E": now, "s": inst.symbol}
        client_id = self._client_ids.get(order.order_id)
        if client_id is not None:
            data["c"] = client_id
        data["S"] = "Bid" if order.side == "buy" else "Ask"
        data["o"] = order.order_type.upper()
        data["f"] = self._tif(order)
        data["q"] = fixed_text(order.qty, qd)
        if order.price is not None:
            data["p"] = fixed_text(order.price, pd)
        data["X"] = self._status(order)
        if kind == "orderExpired":
            data["R"] = self._expiry.get(order.order_id, "Unknown")
        data["i"] = self._venue_ids.get(order.order_id, order.order_id)
        fill = event.fill
        if fill is not None:
            data["t"] = fill.trade_id
            data["l"] = fixed_text(fill.qty, qd)
            data["L"] = fixed_text(fill.price, pd)
            data["m"] = fill.maker
            data["n"] = _amount_text(fill.fee)
            data["N"] = inst.quote
        data["z"] = fixed_text(order.filled, qd)
        data["Z"] = _amount_text(order.cum_cost)
        data["V"] = "RejectTaker"
        data["O"] = "USER"
        data["r"] = False
        data["y"] = order.post_only
        data["T"] = event.ts_ns // 1000
        return data

    # ----- REST -----

    def routes(self, app: web.Application) -> None:
        super().routes(app)
        app.router.add_post("/api/v1/order", self._rest_execute)
        app.router.add_post("/api/v1/orders", self._rest_execute_batch)
        app.router.add_delete("/api/v1/order", self._rest_cancel)
        app.router.add_delete("/api/v1/orders", self._rest_cancel_all)
        app.router.add_get("/api/v1/order", self._rest_open_order)
        app.router.add_get("/api/v1/orders", self._rest_open_orders)
        app.router.add_get("/api/v1/capital", self._rest_capital)
        app.router.add_get("/wapi/v1/history/orders", self._rest_order_history)
        app.router.add_get("/wapi/v1/history/fills", self._rest_fill_history)

    async def _signed(
        self, request: web.Request, instruction: str, from_query: bool = False
    ) -> tuple[Account, Any]:
        """Waits out a stall, applies faults, checks the signature: (account, params)."""
        while self.stalled():
            await asyncio.sleep(0.02)
        if self.take_drop_request():
            if request.transport is not None:
                request.transport.abort()
            raise _ApiError(500, "SERVER_ERROR", "connection dropped")
        if self.system != "online":
            raise _ApiError(503, "SERVICE_UNAVAILABLE", "Service unavailable")
        if from_query:
            params: Any = dict(request.query)
        else:
            try:
                raw = await request.read()
            except ConnectionError:
                raise _ApiError(499, "CLIENT_CLOSED", "client closed the connection") from None
            try:
                params = decode_json(raw) if raw else {}
            except msgspec.DecodeError:
                raise _ApiError(400, "INVALID_CLIENT_REQUEST", "Invalid JSON body") from None
        h = request.headers
        account = self._verify(
            h.get("X-API-Key"),
            h.get("X-Signature"),
            h.get("X-Timestamp"),
            h.get("X-Window"),
            instruction,
            params if isinstance(params, list | dict) else {},
        )
        return account, params

    @staticmethod
    def _error(exc: _ApiError) -> web.Response:
        return _json({"code": exc.code, "message": exc.message}, exc.status)

    async def _rest_execute(self, request: web.Request) -> web.Response:
        try:
            account, params = await self._signed(request, "orderExecute")
            if not isinstance(params, dict):
                raise _ApiError(400, "INVALID_CLIENT_REQUEST", "Expected one order")
            return _json(self._execute(account, params))
        except _ApiError as exc:
            return self._error(exc)

    async def _rest_execute_batch(self, request: web.Request) -> web.Response:
        try:
            account, params = await self._signed(request, "orderExecute")
            if not isinstance(params, list) or not params:
                raise _ApiError(400, "INVALID_CLIENT_REQUEST", "Expected a list of orders")
        except _ApiError as exc:
            return self._error(exc)
        results: list[Any] = []
        for item in params:
            try:
                if not isinstance(item, dict):
                    raise _ApiError(400, "INVALID_CLIENT_REQUEST", "Expected an order")
                results.append(self._execute(account, item))
            except _ApiError as exc:
                results.append({"code": exc.code, "message": exc.message})
        return _json(results)

    async def _rest_cancel(self, request: web.Request) -> web.Response:
        try:
            account, params = await self._signed(request, "orderCancel")
            order = self._find(account, params)
            try:
                self.engine.cancel(order)
            except OrderRejected:
                raise _ApiError(404, "RESOURCE_NOT_FOUND", "Order not found") from None
            return _json(self._order_body(order))
        except _ApiError as exc:
            return self._error(exc)

    async def _rest_cancel_all(self, request: web.Request) -> web.Response:
        try:
            account, params = await self._signed(request, "orderCancelAll")
            symbol = params.get("symbol") if isinstance(params, dict) else None
            if not isinstance(symbol, str) or self.instrument(symbol) is None:
                raise _ApiError(400, "INVALID_MARKET", "Invalid market")
            orders = self.engine.open_orders(account, symbol)
            for order in orders:
                self.engine.cancel(order)
            return _json([self._order_body(o) for o in orders])
        except _ApiError as exc:
            return self._error(exc)

    async def _rest_open_order(self, request: web.Request) -> web.Response:
        try:
            account, params = await self._signed(request, "orderQuery", from_query=True)
            return _json(self._order_body(self._find(account, params)))
        except _ApiError as exc:
            return self._error(exc)

    async def _rest_open_orders(self, request: web.Request) -> web.Response:
        try:
            account, params = await self._signed(request, "orderQueryAll", from_query=True)
            symbol = params.get("symbol")
            orders = [o for o in self.engine.open_orders(account, symbol) if self._spot(params)]
            return _json([self._order_body(o) for o in orders])
        except _ApiError as exc:
            return self._error(exc)

    async def _rest_order_history(self, request: web.Request) -> web.Response:
        try:
            account, params = await self._signed(request, "orderHistoryQueryAll", from_query=True)
            orders = [
                o
                for o in self._orders.values()
                if o.account is account
                and params.get("orderId") in (None, self._venue_ids[o.order_id])
                and params.get("symbol") in (None, o.instrument.symbol)
                and self._spot(params)
            ]
            rows = [(o.created_ns, self._history_entry(o)) for o in orders]
            return _page(rows, params)
        except _ApiError as exc:
            return self._error(exc)

    async def _rest_fill_history(self, request: web.Request) -> web.Response:
        try:
            account, params = await self._signed(request, "fillHistoryQueryAll", from_query=True)
            since = _int_param(params, "from", 0, 0, None) * 1_000_000
            until = _int_param(params, "to", 2**62, 0, None) * 1_000_000
            rows = [
                (ts, fill)
                for ts, fill in self._fill_log.get(account.name, [])
                if params.get("orderId") in (None, fill["orderId"])
                and params.get("symbol") in (None, fill["symbol"])
                and params.get("fillType") in (None, "User")
                and since <= ts <= until
                and self._spot(params)
            ]
            return _page(rows, params)
        except _ApiError as exc:
            return self._error(exc)

    async def _rest_capital(self, request: web.Request) -> web.Response:
        try:
            account, _ = await self._signed(request, "balanceQuery", from_query=True)
        except _ApiError as exc:
            return self._error(exc)
        body = {
            asset: {
                "available": _amount_text(bal.available),
                "locked": _amount_text(bal.held),
                "staked": "0",
            }
            for asset, bal in account.balances.items()
        }
        return _json(body)

    # ----- orders -----

    def _find(self, account: Account, params: Any) -> Order:
        """The open order named by `symbol` and exactly one of `orderId` / `clientId` (a query
        string's `clientId` is text), else 404."""
        if not isinstance(params, Mapping) or not isinstance(params.get("symbol"), str):
            raise _ApiError(400, "INVALID_CLIENT_REQUEST", "symbol is required")
        order_id, client_id = params.get("orderId"), params.get("clientId")
        if (order_id is None) == (client_id is None):
            raise _ApiError(400, "INVALID_CLIENT_REQUEST", "Exactly one of orderId or clientId")
        if isinstance(client_id, str):
            if not client_id.isdigit():
                raise _ApiError(400, "INVALID_CLIENT_REQUEST", "clientId must be a u32")
            client_id = int(client_id)
        if order_id is not None:
            order = self._orders.get(str(order_id))
        else:
            order = self.engine.find_by_cl_ord_id(account, f"bp:{client_id}")
        if (
            order is None
            or order.account is not account
            or order.instrument.symbol != params["symbol"]
            or not order.is_open
        ):
            raise _ApiError(404, "RESOURCE_NOT_FOUND", "Order not found")
        return order

    def _execute(self, account: Account, params: dict[str, Any]) -> dict[str, Any]:
        symbol = params.get("symbol")
        inst = self.instrument(symbol) if isinstance(symbol, str) else None
        if inst is None:
            raise _ApiError(400, "INVALID_MARKET", "Invalid market")
        side = _SIDES.get(params.get("side"))  # type: ignore[arg-type]
        kind = _TYPES.get(params.get("orderType"))  # type: ignore[arg-type]
        if side is None or kind is None:
            raise _ApiError(400, "INVALID_ORDER", "Invalid side or orderType")
        if params.get("quoteQuantity") is not None:
            raise _ApiError(400, "INVALID_ORDER", "quoteQuantity orders are not simulated")
        lots = _units(params.get("quantity"), inst.qty_decimals)
        if lots is None or lots <= 0:
            raise _ApiError(400, "INVALID_QUANTITY", "Invalid quantity")
        if lots < inst.min_lots:
            raise _ApiError(400, "INVALID_QUANTITY", "Quantity is below the minimum")
        price = None
        if kind == "limit":
            price = _units(params.get("price"), inst.price_decimals)
            if price is None or price <= 0 or price % inst.tick_units:
                raise _ApiError(400, "INVALID_PRICE", "Invalid price")
        tif = str(params.get("timeInForce", "GTC"))
        if tif not in ("GTC", "IOC", "FOK"):
            raise _ApiError(400, "INVALID_ORDER", "Invalid timeInForce")
        post_only = params.get("postOnly") is True
        client_id = params.get("clientId")
        if client_id is not None and (
            isinstance(client_id, bool)
            or not isinstance(client_id, int)
            or not 0 <= client_id < 2**32
        ):
            raise _ApiError(400, "INVALID_CLIENT_REQUEST", "clientId must be a u32")
        if tif == "FOK" and not self._fillable(inst.symbol, side, price, lots):
            raise _ApiError(400, "INVALID_ORDER", "Fill or kill order would not fill completely")
        venue_id = str(next(self._next_id))
        # The accept event is emitted inside `place`: `_on_order` takes the ids from here.
        self._placing = (venue_id, client_id, tif)
        try:
            placed = self.engine.place(
                account,
                inst.symbol,
                side,  # type: ignore[arg-type]
                lots,
                price=price,
                order_type=kind,  # type: ignore[arg-type]
                time_in_force="gtc" if tif == "GTC" else "ioc",
                post_only=post_only,
                cl_ord_id=None if client_id is None else f"bp:{client_id}",
            )
        except OrderRejected as exc:
            raise _reject(exc.reason) from None
        finally:
            self._placing = None
        return self._order_body(placed)

    def _fillable(self, symbol: str, side: str, price: int | None, lots: int) -> bool:
        book = self.engine.book(symbol)
        opposite = book.asks if side == "buy" else book.bids
        available = 0
        for level_price, qty in opposite.depth(len(opposite.prices)):
            if price is not None and (
                level_price > price if side == "buy" else level_price < price
            ):
                break
            available += qty
        return available >= lots

    def _status(self, order: Order) -> str:
        return "Expired" if order.order_id in self._expiry else _STATUS[order.status]

    def _tif(self, order: Order) -> str:
        return self._tifs.get(order.order_id, "IOC" if order.time_in_force == "ioc" else "GTC")

    @staticmethod
    def _spot(params: Mapping[str, Any]) -> bool:
        """False when a `marketType` filter leaves out spot markets (the only kind here)."""
        market_type = params.get("marketType")
        return market_type is None or "SPOT" in str(market_type).upper().split(",")

    def _history_entry(self, order: Order) -> dict[str, Any]:
        """One `GET /wapi/v1/history/orders` item (`createdAt` a naive UTC date-time)."""
        inst = order.instrument
        pd, qd = inst.price_decimals, inst.qty_decimals
        return {
            "id": self._venue_ids.get(order.order_id, order.order_id),
            "createdAt": _naive_utc(order.created_ns),
            "executedQuantity": fixed_text(order.filled, qd),
            "executedQuoteQuantity": _amount_text(order.cum_cost),
            "expiryReason": self._expiry.get(order.order_id),
            "orderType": "Limit" if order.order_type == "limit" else "Market",
            "postOnly": order.post_only,
            "price": None if order.price is None else fixed_text(order.price, pd),
            "quantity": fixed_text(order.qty, qd),
            "quoteQuantity": None,
            "selfTradePrevention": "RejectTaker",
            "status": self._status(order),
            "side": "Bid" if order.side == "buy" else "Ask",
            "symbol": inst.symbol,
            "timeInForce": self._tif(order),
            "triggerPrice": None,
            "triggerQuantity": None,
            "clientId": self._client_ids.get(order.order_id),
            "systemOrderType": None,
            "strategyId": None,
        }

    def _fill_entry(self, event: OrderEvent) -> dict[str, Any]:
        """One `GET /wapi/v1/history/fills` item (`clientId` is text there)."""
        order, fill = event.order, event.fill
        assert fill is not None
        inst = order.instrument
        client_id = self._client_ids.get(order.order_id)
        return {
            "clientId": None if client_id is None else str(client_id),
            "fee": _amount_text(fill.fee),
            "feeSymbol": inst.quote,
            "isMaker": fill.maker,
            "orderId": self._venue_ids[order.order_id],
            "price": fixed_text(fill.price, inst.price_decimals),
            "quantity": fixed_text(fill.qty, inst.qty_decimals),
            "side": "Bid" if order.side == "buy" else "Ask",
            "symbol": inst.symbol,
            "systemOrderType": None,
            "timestamp": _naive_utc(event.ts_ns),
            "tradeId": fill.trade_id,
        }

    def _order_body(self, order: Order) -> dict[str, Any]:
        inst = order.instrument
        pd, qd = inst.price_decimals, inst.qty_decimals
        return {
            "orderType": "Limit" if order.order_type == "limit" else "Market",
            "id": self._venue_ids.get(order.order_id, order.order_id),
            "clientId": self._client_ids.get(order.order_id),
            "createdAt": order.created_ns // 1_000_000,
            "executedQuantity": fixed_text(order.filled, qd),
            "executedQuoteQuantity": _amount_text(order.cum_cost),
            "postOnly": order.post_only,
            "price": None if order.price is None else fixed_text(order.price, pd),
            "quantity": fixed_text(order.qty, qd),
            "reduceOnly": None,
            "selfTradePrevention": "RejectTaker",
            "status": self._status(order),
            "side": "Bid" if order.side == "buy" else "Ask",
            "symbol": inst.symbol,
            "timeInForce": self._tif(order),
            "triggerPrice": None,
            "triggerQuantity": None,
            "triggeredAt": None,
            "relatedOrderId": None,
        }


def _reject(reason: RejectReason) -> _ApiError:
    if reason is RejectReason.INSUFFICIENT_FUNDS:
        return _ApiError(400, "INSUFFICIENT_FUNDS", "Insufficient funds")
    if reason is RejectReason.POST_ONLY:
        return _ApiError(400, "INVALID_ORDER", "Order would immediately match and take")
    if reason is RejectReason.DUPLICATE_CL_ORD_ID:
        return _ApiError(400, "INVALID_CLIENT_REQUEST", "Duplicate clientId")
    return _ApiError(400, "INVALID_ORDER", reason.value)


def _units(value: Any, decimals: int) -> int | None:
    """Exact decimal text (or number) at `decimals`, or None when it does not fit."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    scaled = number.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        return None
    return int(scaled)


def _int_param(
    params: Mapping[str, Any], key: str, default: int, low: int, high: int | None
) -> int:
    value = params.get(key)
    if value is None:
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise _ApiError(400, "INVALID_CLIENT_REQUEST", f"Invalid {key}") from None
    if number < low or (high is not None and number > high):
        raise _ApiError(400, "INVALID_CLIENT_REQUEST", f"{key} is out of range")
    return number


def _page(rows: list[tuple[int, dict[str, Any]]], params: Mapping[str, Any]) -> web.Response:
    """`limit` (default 100, max 1000) rows from `offset`, newest first unless
    `sortDirection=Asc`, with Backpack's paging headers."""
    limit = _int_param(params, "limit", 100, 1, MAX_HISTORY_LIMIT)
    offset = _int_param(params, "offset", 0, 0, None)
    direction = params.get("sortDirection", "Desc")
    if direction not in ("Asc", "Desc"):
        raise _ApiError(400, "INVALID_CLIENT_REQUEST", "Invalid sortDirection")
    rows = sorted(rows, key=lambda row: row[0], reverse=direction == "Desc")
    response = _json([row for _, row in rows[offset : offset + limit]])
    total = len(rows)
    response.headers.update(
        {
            "X-PAGE-COUNT": str(-(-total // limit)),
            "X-CURRENT-PAGE": str(offset // limit + 1),
            "X-PAGE-SIZE": str(limit),
            "X-TOTAL": str(total),
            "Access-Control-Expose-Headers": ", ".join(_PAGE_HEADERS),
        }
    )
    return response


def _naive_utc(ns: int) -> str:
    """A naive UTC date-time with milliseconds, as Backpack's history endpoints give it."""
    seconds, rest = divmod(ns, 10**9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest // 10**6:03d}"


def _amount_text(amount: int) -> str:
    """An engine amount (18 decimals) as plain text without trailing zeros."""
    value = Decimal(amount).scaleb(-18).normalize()
    return f"{value:f}"


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=encode_json(body), status=status, content_type="application/json")
