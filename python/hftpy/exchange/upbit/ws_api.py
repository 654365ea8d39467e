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
from collections import deque
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, ClassVar

import msgspec

from hftpy._core import RateLimiter
from hftpy.common import CurrencyPair, Exchange, OrderType, Side, TimeInForce, venue_symbol
from hftpy.errors import ConfigError, InvalidOrderError
from hftpy.exchange.codec import DECODER, ENCODER
from hftpy.exchange.endpoints import endpoint
from hftpy.exchange.ids import new_client_order_id
from hftpy.exchange.rest_orders import (
    HttpRequest,
    Limit,
    RateLimitMode,
    RestOrderApiBase,
    acquire,
    decimal_text,
)
from hftpy.exchange.upbit.rest import UpbitRestApi, new_nonce
from hftpy.exchange.ws_api import WsCallback

log = logging.getLogger("hftpy.upbit")

Number = int | float | Decimal | str

PRIVATE_TYPES = ("myOrder", "myAsset")
#: Per account: `order` 8/s (POST /v1/orders), `default` 30/s (everything else).
REST_LIMITS: list[Limit] = [
    ("window", "order", 8, 1.0, 8),
    ("window", "default", 30, 1.0, 30),
]
#: Per connection: 5 messages a second and 100 a minute.
WS_MESSAGE_LIMITS: list[Limit] = [
    ("window", "ws_second", 5, 1.0, 5),
    ("window", "ws_minute", 100, 60.0, 100),
]
_WS_COSTS = [(0, 1), (1, 1)]
_SIDES = {"buy": "bid", "sell": "ask", "bid": "bid", "ask": "ask"}
_TIME_IN_FORCE = {"ioc": "ioc", "fok": "fok", "post_only": "post_only"}


class UpbitWsApi(RestOrderApiBase):
    """Upbit trading. Create through `hftpy.exchange.create_exchange_ws_api`."""

    exchange = Exchange.UPBIT
    rest_limits: ClassVar[list[Limit]] = REST_LIMITS

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
            msg = DECODER.decode(payload)
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
        raise InvalidOrderError(f"unknown Upbit method {method!r}")

    def _rate_costs(self, method: str, params: dict[str, Any]) -> list[tuple[int, int]]:
        return [(0, 1)] if method == "place_order" else [(1, 1)]

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

    async def place_order(
        self,
        symbol: CurrencyPair | str,
        side: Side | str,
        amount: Number | None = None,
        price: Number | None = None,
        order_type: OrderType | str = OrderType.LIMIT,
        *,
        time_in_force: TimeInForce | str | None = None,
        post_only: bool | None = None,
        smp_type: str | None = None,
        identifier: str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """`POST /v1/orders`. `order_type`: `limit`, `market` (a buy spends `price` KRW, a
        sell sells `amount`), or Upbit's own `price` / `best`. `identifier` (unique forever
        per account) is assigned when absent."""
        params = self._order_params(
            symbol,
            side,
            amount,
            price,
            order_type,
            time_in_force,
            post_only,
            smp_type,
            identifier,
        )
        return await self._request("place_order", params, req_id, callback, wait, timeout)

    async def cancel_order(
        self,
        uuid: str | None = None,
        *,
        identifier: str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """`DELETE /v1/order` by exactly one of `uuid` and `identifier`."""
        if (uuid is None) == (identifier is None):
            raise InvalidOrderError("cancel_order takes exactly one of uuid, identifier")
        params = {"uuid": uuid} if uuid is not None else {"identifier": identifier}
        return await self._request("cancel_order", params, req_id, callback, wait, timeout)
