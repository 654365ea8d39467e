"""Upbit trading: orders over JWT-signed REST behind the WS API interface, private streams
over `wss://api.upbit.com/websocket/v1/private` (JWT in the upgrade's `Authorization`).

    ws_api = create_exchange_ws_api(Exchange.UPBIT, api_key=..., api_secret=...)
    asyncio.create_task(ws_api.start())
    await ws_api.wait_ready()
    await ws_api.place_order(symbol=CurrencyPair.BTC_KRW, side=Side.BUY, amount=0.001,
                             price=130_000_000, callback=on_response)
    queue = ws_api.channel_queue("myOrder")

`place_order` -> `POST /v1/orders`, `cancel_order` -> `DELETE /v1/order?uuid=` (or
`identifier=`); the callback's `method` is `place_order` / `cancel_order`. A market buy is
`order_type="market"` with `price=` the KRW amount (Upbit's `ord_type: price`); a market sell
takes `amount=` (`ord_type: market`).

Private types `myOrder` (optionally for some `codes`) and `myAsset` are requested in one
message on every connect (Upbit replaces a connection's subscription with each request);
messages go to the listeners of their `type`, error frames to `error`; `{"status":"UP"}` is
dropped. Upbit allows 5 messages a second and 100 a minute per connection, and 8 orders a
second per account.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, ClassVar, Literal, overload

import msgspec

from hftpy._core import RateLimiter
from hftpy.common import CurrencyPair, Exchange, OrderType, Side, TimeInForce, venue_symbol
from hftpy.errors import AuthError, ConfigError, InvalidOrderError, VenueError
from hftpy.exchange.codec import ENCODER
from hftpy.exchange.endpoints import endpoint
from hftpy.exchange.ids import new_client_order_id
from hftpy.exchange.orders import OrderStatus, OrderUpdate, decimal_or_none, id_text
from hftpy.exchange.rest_orders import (
    HttpRequest,
    Limit,
    RateLimitMode,
    RestOrderApiBase,
    acquire,
    decimal_text,
)
from hftpy.exchange.tracker import TrackedOrder
from hftpy.exchange.upbit.events import parse as parse_my_order
from hftpy.exchange.upbit.rest import AUTH_ERRORS, UpbitRestApi, new_nonce
from hftpy.exchange.ws_api import WsCallback, WsResponse, _Pending

log = logging.getLogger("hftpy.upbit")

Number = int | float | Decimal | str

PRIVATE_TYPES = ("myOrder", "myAsset")
#: Per account: `order` 8/s (POST /v1/orders, cancel_and_new), `default` 30/s (everything
#: else), `order-cancel-all` one per 2 s (DELETE /v1/orders/open).
REST_LIMITS: list[Limit] = [
    # A window cell lets `burst` go at once and spreads `limit - burst` per period after:
    # half the limit at once keeps half of it as the sustained rate, and no window ever
    # holds more than the limit (a burst of limit - 1 would sustain 1 a period).
    ("window", "order", 8, 1.0, 4),
    ("window", "default", 30, 1.0, 15),
    ("window", "order_cancel_all", 1, 2.0, 1),
]
#: Per connection: 5 messages a second and 100 a minute.
WS_MESSAGE_LIMITS: list[Limit] = [
    ("window", "ws_second", 5, 1.0, 3),
    ("window", "ws_minute", 100, 60.0, 50),
]
_WS_COSTS = [(0, 1), (1, 1)]
#: Upbit writes prices and volumes as JSON numbers: decoded as `Decimal`s they keep their
#: exact wire text (never a float).
_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_SIDES = {"buy": "bid", "sell": "ask", "bid": "bid", "ask": "ask"}
_TIME_IN_FORCE = {"ioc": "ioc", "fok": "fok", "post_only": "post_only"}


def _upgrade_refused(status: int, body: bytes | None) -> BaseException | None:
    """Upbit refuses the private upgrade with HTTP 401 and its REST error body,
    `{"error": {"name": "invalid_access_key", "message": ...}}`: an `AuthError` with both."""
    error: Any = None
    if body:
        try:
            error = _DECODER.decode(body).get("error")
        except (msgspec.DecodeError, AttributeError):
            error = None
    name = error.get("name") if isinstance(error, dict) else None
    if status != 401 and name not in AUTH_ERRORS:
        return None  # the connection's default (and a plain retry for other statuses)
    detail = f" {name}: {error.get('message')}" if isinstance(error, dict) and name else ""
    return AuthError(f"upbit private WebSocket refused: HTTP {status}{detail}")


class UpbitWsApi(RestOrderApiBase):
    """Upbit trading. Create through `hftpy.exchange.create_exchange_ws_api`."""

    exchange = Exchange.UPBIT
    rest_limits: ClassVar[list[Limit]] = REST_LIMITS
    #: `on_execution` / `channel_queue()`: order and fill messages.
    execution_channel = "myOrder"
    order_event_parser = staticmethod(parse_my_order)
    order_event_channels = ("myOrder",)

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        url: str | None = None,
        rest_url: str | None = None,
        account: str = "default",
        request_timeout: float = 10.0,
        rest_api: UpbitRestApi | None = None,
        types: Iterable[str] = PRIVATE_TYPES,
        codes: Iterable[CurrencyPair | str] | None = None,
        on_rate_limit: RateLimitMode = "wait",
        alg: str = "HS512",
    ) -> None:
        rest = rest_api or UpbitRestApi(
            api_key=api_key,
            api_secret=api_secret,
            url=rest_url,
            account=account,
            timeout=request_timeout,
            alg=alg,
        )
        super().__init__(
            url=endpoint(self.exchange, "ws_private", url),
            rest_api=rest,
            own_rest=rest_api is None,
            account=account,
            request_timeout=request_timeout,
            on_rate_limit=on_rate_limit,
            # A fresh JWT (fresh nonce) for every connect.
            extra_headers=lambda: self._up.authorization(),
        )
        self._up: UpbitRestApi = rest
        # Orders and the private WebSocket are all signed: refused now, not retried forever.
        rest.check_credentials(
            "WS API",
            "the REST API passed as rest_api= (create_exchange_api for this account) has none"
            if rest_api is not None
            else "",
        )
        self._conn.upgrade_refused = _upgrade_refused
        self._types = [t for t in types]
        for kind in self._types:
            if kind not in PRIVATE_TYPES:
                raise ConfigError(f"Upbit private types are {PRIVATE_TYPES}, not {kind!r}")
        self._codes = [venue_symbol(self.exchange, c) for c in codes] if codes else []
        self._ws_limiter = RateLimiter(list(WS_MESSAGE_LIMITS))
        #: Error frames the private endpoint sent (`WRONG_FORMAT`, `INVALID_AUTH`, ...).
        self.stream_errors: deque[dict[str, Any]] = deque(maxlen=100)

    # -- private streams ---------------------------------------------------------------------
    def subscription(self) -> bytes:
        """The request carrying every private type: `[{"ticket"},{"type":"myOrder",..},..]`."""
        items: list[dict[str, Any]] = [{"ticket": f"hftpy-{new_nonce()}"}]
        for kind in self._types:
            item: dict[str, Any] = {"type": kind}
            if kind == "myOrder" and self._codes:
                item["codes"] = self._codes
            items.append(item)
        items.append({"format": "DEFAULT"})
        return ENCODER.encode(items)

    async def _send_subscription(self) -> None:
        await acquire(self._ws_limiter, _WS_COSTS, "wait")
        self._conn.send(self.subscription())

    async def _on_connected(self) -> None:
        # A fresh connection has fresh per-connection message limits.
        self._ws_limiter = RateLimiter(list(WS_MESSAGE_LIMITS))
        if self._types:
            await self._send_subscription()

    async def subscribe(
        self, types: Iterable[str] | str, codes: Iterable[CurrencyPair | str] | None = None
    ) -> None:
        """Sets the private types (and `myOrder` codes); re-sends the whole request.
        Everything is checked before anything changes or is sent: Upbit refuses a request
        without a type (`NO_TYPE`), so an empty `types` is a `ConfigError` here."""
        kinds = [types] if isinstance(types, str) else list(types)
        if not kinds:
            raise ConfigError(f"Upbit subscribe needs at least one private type {PRIVATE_TYPES}")
        for kind in kinds:
            if kind not in PRIVATE_TYPES:
                raise ConfigError(f"Upbit private types are {PRIVATE_TYPES}, not {kind!r}")
        if codes is not None:
            self._codes = [venue_symbol(self.exchange, c) for c in codes]
        self._types = kinds
        if self._conn.ready:
            await self._send_subscription()

    def _on_frame(self, payload: memoryview | bytes, recv_ns: int, recv_mono: int) -> None:
        try:
            msg = _DECODER.decode(payload)
        except msgspec.DecodeError:
            log.warning("upbit: ignoring non-JSON frame %r", bytes(payload[:80]))
            return
        if type(msg) is not dict:
            return
        kind = msg.get("type") or msg.get("ty")
        if isinstance(kind, str):
            self._deliver(kind, msg, recv_ns)
        elif "error" in msg:
            self.stream_errors.append(msg)
            log.warning("upbit private stream error: %s", msg.get("error"))
            self._deliver("error", msg, recv_ns)
        # {"status":"UP"} keep-alives are dropped.

    # -- requests ----------------------------------------------------------------------------
    def _build(self, method: str, params: dict[str, Any]) -> HttpRequest:
        if method == "place_order":
            return self._up.prepare("POST", "/v1/orders", params)
        if method == "cancel_order":
            return self._up.prepare("DELETE", "/v1/order", params)
        if method == "cancel_and_new":
            return self._up.prepare("POST", "/v1/orders/cancel_and_new", params)
        if method == "cancel_all":
            return self._up.prepare("DELETE", "/v1/orders/open", params)
        if method == "open_orders":
            return self._up.prepare("GET", "/v1/orders/open", params)
        raise InvalidOrderError(f"unknown Upbit method {method!r}")

    def _rate_costs(self, method: str, params: dict[str, Any]) -> list[tuple[int, int]]:
        if method in ("place_order", "cancel_and_new"):
            return [(0, 1)]
        if method == "cancel_all":
            return [(2, 1)]
        return [(1, 1)]

    def _error_of(self, body: Any) -> Any:
        error = body.get("error") if isinstance(body, dict) else None
        return error if isinstance(error, dict) else body

    def _order_params(
        self,
        symbol: CurrencyPair | str,
        side: Side | str,
        amount: Number | None,
        price: Number | None,
        order_type: OrderType | str,
        time_in_force: TimeInForce | str | None,
        post_only: bool | None,
        smp_type: str | None,
        identifier: str | None,
    ) -> dict[str, Any]:
        """One order's body in Upbit's names, validated locally."""
        side_text = _SIDES.get(str(side).lower())
        if side_text is None:
            raise InvalidOrderError(f"side must be buy or sell, got {side!r}")
        kind = str(order_type).lower()
        if kind == "market" and side_text == "bid":
            kind = "price"
        if kind not in ("limit", "market", "price", "best"):
            raise InvalidOrderError(f"unknown Upbit order_type {order_type!r}")
        params: dict[str, Any] = {"market": venue_symbol(self.exchange, symbol)}
        params["side"] = side_text
        needs_volume = kind in ("limit", "market") or (kind == "best" and side_text == "ask")
        needs_price = kind in ("limit", "price") or (kind == "best" and side_text == "bid")
        if needs_volume:
            if amount is None:
                raise InvalidOrderError(f"a {kind} {side_text} order needs amount=")
            params["volume"] = decimal_text(amount, "amount")
        elif amount is not None:
            raise InvalidOrderError(f"a {kind} {side_text} order takes no amount (price= spends)")
        if needs_price:
            if price is None:
                raise InvalidOrderError(f"a {kind} {side_text} order needs price=")
            params["price"] = decimal_text(price, "price")
        elif price is not None:
            raise InvalidOrderError(f"a {kind} {side_text} order takes no price")
        params["ord_type"] = kind
        tif = None
        if post_only:
            tif = "post_only"
        elif time_in_force is not None and str(time_in_force).lower() != "gtc":
            tif = _TIME_IN_FORCE.get(str(time_in_force).lower())
            if tif is None:
                raise InvalidOrderError(f"unknown Upbit time_in_force {time_in_force!r}")
        if kind == "best" and tif not in ("ioc", "fok"):
            raise InvalidOrderError("a best order needs time_in_force ioc or fok")
        if tif is not None:
            params["time_in_force"] = tif
        if smp_type is not None:
            if tif == "post_only":
                raise InvalidOrderError("post_only cannot be combined with smp_type")
            params["smp_type"] = smp_type
        params["identifier"] = identifier or new_client_order_id()
        return params

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
        smp_type: str | None = None,
        identifier: str | None = None,
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
        smp_type: str | None = None,
        identifier: str | None = None,
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
        smp_type: str | None = None,
        identifier: str | None = None,
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
        smp_type: str | None = None,
        identifier: str | None = None,
    ) -> int | WsResponse:
        """`POST /v1/orders`: `amount` (base currency, Upbit's `volume`) at `price` (KRW).
        `order_type`: `limit`, `market` (a buy spends `price` KRW, a sell sells `amount`),
        or Upbit's own `price` / `best`. `client_order_id` is Upbit's `identifier` (unique
        forever per account), assigned when absent. Returns the `req_id` once the HTTP
        request is started, or with `wait=True` the `WsResponse` (`.order_id`: the uuid)."""
        params = self._order_params(
            symbol,
            side,
            amount,
            price,
            order_type,
            time_in_force,
            post_only,
            smp_type,
            client_order_id if client_order_id is not None else identifier,
        )
        return await self._request("place_order", params, req_id, callback, wait, timeout)

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
        smp_type: str | None = None,
        identifier: str | None = None,
    ) -> int:
        """`place_order` without awaiting. Upbit takes orders over REST only: "sent" here means
        the request is signed (the same body and JWT as `place_order`) and its HTTP task
        started on the kept-alive session; the bytes leave when the loop next runs.
        `RateLimitError` at once when the order limiter has no room."""
        params = self._order_params(
            symbol,
            side,
            amount,
            price,
            order_type,
            time_in_force,
            post_only,
            smp_type,
            client_order_id if client_order_id is not None else identifier,
        )
        return self._request_nowait("place_order", params, req_id, callback, timeout)

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
        uuid: str | None = None,
        identifier: str | None = None,
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
        uuid: str | None = None,
        identifier: str | None = None,
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
        uuid: str | None = None,
        identifier: str | None = None,
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
        uuid: str | None = None,
        identifier: str | None = None,
    ) -> int | WsResponse:
        """`DELETE /v1/order` by exactly one of `order_id` (Upbit's `uuid`) and
        `client_order_id` (`identifier`). Upbit needs no symbol (accepted for the same call
        on every venue)."""
        params = self._cancel_params(order_id, client_order_id, uuid, identifier)
        return await self._request("cancel_order", params, req_id, callback, wait, timeout)

    def cancel_order_nowait(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        timeout: float | None = None,
        uuid: str | None = None,
        identifier: str | None = None,
    ) -> int:
        """`cancel_order` without awaiting (REST: the HTTP task is started, see
        `place_order_nowait`)."""
        params = self._cancel_params(order_id, client_order_id, uuid, identifier)
        return self._request_nowait("cancel_order", params, req_id, callback, timeout)

    @staticmethod
    def _cancel_params(
        order_id: str | None, client_order_id: str | None, uuid: str | None, identifier: str | None
    ) -> dict[str, Any]:
        oid = order_id if order_id is not None else uuid
        cid = client_order_id if client_order_id is not None else identifier
        if (oid is None) == (cid is None):
            raise InvalidOrderError("cancel_order takes exactly one of order_id, client_order_id")
        return {"uuid": oid} if oid is not None else {"identifier": cid}

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
        """Native `POST /v1/orders/cancel_and_new`: cancels the order and places a limit
        order at `price` (default: the old price) for the quantity still open (`amount`: the
        new total, filled part included; default: what remains, Upbit's `remain_only`),
        with a new `identifier`. `WsResponse.order_id` is the new order's uuid."""
        params = self._amend_params(order_id, client_order_id, price, amount, post_only)
        return await self._request("cancel_and_new", params, req_id, callback, wait, timeout)

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
        """`amend_order` without awaiting: the same `cancel_and_new` request, its HTTP task
        started (see `place_order_nowait`)."""
        params = self._amend_params(order_id, client_order_id, price, amount, post_only)
        return self._request_nowait("cancel_and_new", params, req_id, callback, timeout)

    def _amend_params(
        self,
        order_id: str | None,
        client_order_id: str | None,
        price: Number | None,
        amount: Number | None,
        post_only: bool | None,
    ) -> dict[str, Any]:
        if (order_id is None) == (client_order_id is None):
            raise InvalidOrderError("amend_order takes exactly one of order_id, client_order_id")
        if price is None and amount is None:
            raise InvalidOrderError("amend_order needs price= or amount=")
        known = self.orders.find(order_id, client_order_id)
        params: dict[str, Any] = (
            {"prev_order_uuid": order_id}
            if order_id is not None
            else {"prev_order_identifier": client_order_id}
        )
        new_price = price if price is not None else (known.price if known else None)
        if new_price is None:
            raise InvalidOrderError("upbit: the order's price is unknown here: pass price=")
        params["new_ord_type"] = "limit"
        params["new_price"] = decimal_text(new_price, "price")
        if amount is None:
            params["new_volume"] = "remain_only"
        else:
            open_qty = Decimal(decimal_text(amount, "amount"))
            if known is not None and known.filled:
                open_qty -= known.filled
            if open_qty <= 0:
                raise InvalidOrderError(f"amount {amount} is not above what already filled")
            params["new_volume"] = decimal_text(open_qty, "amount")
        if post_only:
            params["new_time_in_force"] = "post_only"
        params["new_identifier"] = new_client_order_id()
        return params

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
        """Native `DELETE /v1/orders/open`: every open order (at most 300 a call, Upbit's
        limit), or those of `symbol`. Upbit allows one such call per 2 s; the reply's
        `result` has `success` and `failed`, each with `count` and `orders`."""
        params: dict[str, Any] = {"cancel_side": "all", "count": 300}  # Upbit's default: 20
        if symbol is not None:
            params["pairs"] = venue_symbol(self.exchange, symbol)
        return await self._request("cancel_all", params, req_id, callback, wait, timeout)

    async def _venue_open_orders(self) -> list[OrderUpdate]:
        orders: list[OrderUpdate] = []
        for page in range(1, 100):  # 100 per page, Upbit's maximum
            params = {"states[]": ["wait", "watch"], "page": page, "limit": 100}
            found = await self._up.request("GET", "/v1/orders/open", params)
            items = found if isinstance(found, list) else []
            orders.extend(_order_update(item) for item in items)
            if len(items) < 100:
                break
        return orders

    async def _venue_order(self, order: TrackedOrder) -> OrderUpdate | None:
        if order.order_id is not None:
            params = {"uuid": order.order_id}
        elif order.client_order_id is not None:
            params = {"identifier": order.client_order_id}
        else:
            return None
        try:
            return _order_update(await self._up.request("GET", "/v1/order", params))
        except VenueError:  # order_not_found
            return None

    # -- order bookkeeping -----------------------------------------------------------------
    order_methods = frozenset(("place_order", "cancel_order", "cancel_and_new", "cancel_all"))

    def _order_sent(self, method: str, params: dict[str, Any]) -> None:
        side = Side.BUY if params.get("side") == "bid" else Side.SELL
        if method == "place_order":
            self.orders.sent(
                params["market"],
                params["identifier"],
                side,
                params["ord_type"],
                params.get("price"),
                params.get("volume"),
            )
        elif method == "cancel_and_new":
            old = self.orders.find(
                params.get("prev_order_uuid"), params.get("prev_order_identifier")
            )
            if old is not None:
                volume = params["new_volume"]
                self.orders.sent(
                    old.symbol,
                    params["new_identifier"],
                    old.side,
                    "limit",
                    params["new_price"],
                    old.remaining if volume == "remain_only" else volume,
                )

    def _order_reply(
        self, pending: _Pending, response: dict[str, Any]
    ) -> tuple[str | None, str | None, OrderStatus | None] | None:
        body = response.get("result")
        ok = response.get("success") is True
        item = body if isinstance(body, dict) else {}
        request = pending.params
        method = pending.method
        if method == "cancel_all":
            done = item.get("success") if ok else None
            for entry in (done or {}).get("orders") or ():
                order = self.orders.find(
                    id_text(entry.get("uuid")), id_text(entry.get("identifier"))
                )
                if order is not None:
                    self.orders.cancelled(order)
            return None
        order_id = id_text(item.get("uuid"))
        client_id = id_text(item.get("identifier"))
        if method == "place_order":
            client_id = client_id or request.get("identifier")
            status = _status(item) if ok else OrderStatus.REJECTED
            if ok:
                self.orders.acked(client_id, order_id, status, item.get("market"))
            else:
                self.orders.rejected(client_id, str(response.get("error")))
            return order_id, client_id, status
        if method == "cancel_order":
            order = self.orders.find(order_id, client_id)
            if ok and order is not None:
                self.orders.cancelled(order)
            return order_id, client_id, OrderStatus.CANCELLED if ok else None
        # cancel_and_new: the old order is being cancelled; the reply names the new one
        new_id = id_text(item.get("new_order_uuid"))
        new_client = id_text(item.get("new_order_identifier")) or request.get("new_identifier")
        if ok:
            old = self.orders.find(order_id, client_id)
            if old is not None:
                self.orders.cancelled(old)
            self.orders.acked(new_client, new_id, OrderStatus.NEW, item.get("market"))
            return new_id, new_client, OrderStatus.NEW
        self.orders.rejected(new_client, str(response.get("error")))
        return None, new_client, OrderStatus.REJECTED


def _order_update(item: dict[str, Any]) -> OrderUpdate:
    """A `GET /v1/order` or `/v1/orders/open` entry as an `OrderUpdate`."""
    amount = decimal_or_none(_text(item.get("volume")))
    filled = decimal_or_none(_text(item.get("executed_volume")))
    status = _status(item)
    return OrderUpdate(
        exchange=Exchange.UPBIT,
        symbol=item.get("market", ""),
        order_id=id_text(item.get("uuid")),
        client_order_id=id_text(item.get("identifier")),
        side=Side.BUY if item.get("side") == "bid" else Side.SELL,
        status=status,
        price=decimal_or_none(_text(item.get("price"))),
        amount=amount,
        filled=filled,
        remaining=decimal_or_none(_text(item.get("remaining_volume"))),
        order_type=item.get("ord_type"),
        recv_ns=time.time_ns(),
        raw=item,
    )


def _text(value: Any) -> Any:
    """REST numbers are strings; a JSON number (if any) is read back by its text."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


#: Upbit's order states in hftpy's terms (`wait`/`watch` by what has filled).
STATES: dict[str, OrderStatus] = {
    "done": OrderStatus.FILLED,
    "cancel": OrderStatus.CANCELLED,
    "prevented": OrderStatus.CANCELLED,
}


def _status(order: dict[str, Any]) -> OrderStatus:
    state = order.get("state")
    final = STATES.get(state) if isinstance(state, str) else None
    if final is not None:
        return final
    executed = order.get("executed_volume")
    if executed not in (None, "0", 0) and Decimal(str(executed)) > 0:
        return OrderStatus.PARTIALLY_FILLED
    return OrderStatus.NEW
