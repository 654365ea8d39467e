"""Backpack's private side on loopback: Ed25519-signed REST orders and signed private streams
(reference A4, A5), on top of the public venue in `backpack.py`.

REST (`backpack_rest` port), every call signed with `X-API-Key` / `X-Signature` /
`X-Timestamp` / `X-Window` over `instruction=<instr>&<sorted params>&timestamp=..&window=..`
(a batch: one `instruction=orderExecute&...` chunk per order):
`POST /api/v1/order` (`orderExecute`), `POST /api/v1/orders` (batch, one entry per order:
the order or its `{"code","message"}`), `DELETE /api/v1/order` (`orderCancel`, body
`{symbol, orderId|clientId}`), `DELETE /api/v1/orders` (`orderCancelAll`),
`GET /api/v1/orders` (`orderQueryAll`), `GET /api/v1/capital` (`balanceQuery`).
Errors are `{"code","message"}`: 401 `UNAUTHORIZED` (missing headers, unknown key), 400
`INVALID_SIGNATURE`, 400 `INVALID_CLIENT_REQUEST` (expired or bad window), 400
`INVALID_ORDER` / `INVALID_PRICE` / `INVALID_QUANTITY` / `INSUFFICIENT_FUNDS` /
`INVALID_MARKET`, 404 `RESOURCE_NOT_FOUND`, 503 `SERVICE_UNAVAILABLE` (maintenance).

WS (the public `backpack_ws` endpoint): `SUBSCRIBE` to `account.orderUpdate[.<sym>]`,
`account.positionUpdate[.<sym>]`, `account.rfqUpdate[.<sym>]` needs
`"signature": [key, sig, ts, window]` over `instruction=subscribe&timestamp=..&window=..`.
Backpack documents no frame for a refused signature; this one answers like its other errors:
`{"id": <id or null>, "error": {"code": 4001, "message": "..."}}`. Order events
(`orderAccepted`, `orderFill`, `orderCancelled`, `orderExpired`) go to the account's
subscribers; spot accounts hold no positions, so `positionUpdate` stays quiet.

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
from .wire import decode_json, encode_json, fixed_text

__all__ = [
    "BACKPACK_API_KEY",
    "BACKPACK_API_SECRET",
    "FAULTS",
    "BackpackPrivateVenue",
    "signing_string",
]

FAULTS: Final = {**PUBLIC_FAULTS, "reject_auth": ("count",), "drop_request": ("count",)}
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


class BackpackPrivateVenue(BackpackVenue):
    FAULTS: ClassVar[dict[str, tuple[str, ...]]] = FAULTS

    def __init__(self, engine: Engine, *, host: str = "127.0.0.1") -> None:
        super().__init__(engine, host=host)
        self.keys: dict[str, tuple[Ed25519PublicKey, Account]] = {}
        self.private: dict[BackpackConnection, tuple[Account, dict[str, None]]] = {}
        self._venue_ids: dict[str, str] = {}  # engine order id -> Backpack order id
        self._orders: dict[str, Order] = {}  # Backpack order id -> order
        self._client_ids: dict[str, int] = {}  # engine order id -> clientId
        self._next_id = itertools.count(112_000_000_000_000_000)
        #: Every private subscribe accepted: (account name, timestamp, signature).
        self.subscribe_log: list[tuple[str, str, str]] = []
        self.reject_auth = 0
        self.drop_requests = 0
        self._placing: tuple[str, int | None] | None = None
        self.demo_account = engine.add_account("backpack-demo", _DEMO_BALANCES)
        self.add_api_key(BACKPACK_API_KEY, self.demo_account)

    def add_api_key(self, public_key_b64: str, account: Account) -> None:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        self.keys[public_key_b64] = (key, account)
        account.order_listeners.append(self._on_order)

    # ----- faults -----

    def inject_other(self, fault: str, params: Mapping[str, Any]) -> None:
        if fault == "reject_auth":
            self.reject_auth = int(params.get("count", 1))
        elif fault == "drop_request":
            self.drop_requests = int(params.get("count", 1))
        else:
            super().inject_other(fault, params)

    def clear_faults(self) -> None:
        super().clear_faults()
        self.reject_auth = 0
        self.drop_requests = 0

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
            if self.reject_auth > 0:
                self.reject_auth -= 1
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
            venue_id, client_id = self._placing
            self._placing = None
            self._venue_ids[order.order_id] = venue_id
            self._orders[venue_id] = order
            if client_id is not None:
                self._client_ids[order.order_id] = client_id
        if event.kind == "filled" or event.kind == "amended":
            return  # the fill event already says Filled
        kinds = {
            "new": "orderAccepted",
            "trade": "orderFill",
            "canceled": "orderCancelled",
            "expired": "orderExpired",
        }
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
        data = self._order_update(kinds[event.kind], event)
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
        data["f"] = "IOC" if order.time_in_force == "ioc" else "GTC"
        data["q"] = fixed_text(order.qty, qd)
        if order.price is not None:
            data["p"] = fixed_text(order.price, pd)
        data["X"] = _STATUS[order.status]
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
        app.router.add_get("/api/v1/orders", self._rest_open_orders)
        app.router.add_get("/api/v1/capital", self._rest_capital)

    async def _signed(
        self, request: web.Request, instruction: str, from_query: bool = False
    ) -> tuple[Account, Any]:
        """Waits out a stall, applies faults, checks the signature: (account, params)."""
        while self.stalled():
            await asyncio.sleep(0.02)
        if self.drop_requests > 0:
            self.drop_requests -= 1
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

    async def _rest_open_orders(self, request: web.Request) -> web.Response:
        try:
            account, params = await self._signed(request, "orderQueryAll", from_query=True)
            symbol = params.get("symbol")
            return _json([self._order_body(o) for o in self.engine.open_orders(account, symbol)])
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
        if not isinstance(params, dict) or not isinstance(params.get("symbol"), str):
            raise _ApiError(400, "INVALID_CLIENT_REQUEST", "symbol is required")
        order_id, client_id = params.get("orderId"), params.get("clientId")
        if (order_id is None) == (client_id is None):
            raise _ApiError(400, "INVALID_CLIENT_REQUEST", "Exactly one of orderId or clientId")
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
        self._placing = (venue_id, client_id)
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
            "status": _STATUS[order.status],
            "side": "Bid" if order.side == "buy" else "Ask",
            "symbol": inst.symbol,
            "timeInForce": "IOC" if order.time_in_force == "ioc" else "GTC",
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


def _amount_text(amount: int) -> str:
    """An engine amount (18 decimals) as plain text without trailing zeros."""
    value = Decimal(amount).scaleb(-18).normalize()
    return f"{value:f}"


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=encode_json(body), status=status, content_type="application/json")
