"""Backpack trading: orders over signed REST behind the WS API interface, private streams
over the WebSocket (`wss://ws.backpack.exchange`).

    ws_api = create_exchange_ws_api(Exchange.BACKPACK, api_key=..., api_secret=...)
    asyncio.create_task(ws_api.start())
    await ws_api.wait_ready()
    await ws_api.place_order(symbol=CurrencyPair.SOL_USDC, side=Side.BUY, amount=1,
                             price=150, post_only=True, callback=on_response)
    queue = ws_api.channel_queue("account.orderUpdate")

Methods and their REST calls (the callback's `method` is the signed instruction):
`place_order` -> `POST /api/v1/order` (`orderExecute`), `batch_place` -> `POST /api/v1/orders`
(`orderExecute` per order; the callback fires once per order), `cancel_order` ->
`DELETE /api/v1/order` (`orderCancel`), `cancel_all` -> `DELETE /api/v1/orders`
(`orderCancelAll`).

Private streams (`account.orderUpdate`, `account.orderUpdate.<symbol>`,
`account.positionUpdate`, ...) are subscribed with
`{"method":"SUBSCRIBE","params":[...],"signature":[key, sig, ts, window]}` signing
`instruction=subscribe&timestamp=..&window=..`, with a fresh timestamp on every (re)connect.
Messages `{"stream", "data"}` go to the listeners of their stream name; error frames
`{"id", "error"}` go to `error`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, ClassVar, Literal, overload

import msgspec

from hftpy.common import CurrencyPair, Exchange, OrderType, Side, TimeInForce, venue_symbol
from hftpy.errors import AuthError, ConfigError, InvalidOrderError
from hftpy.exchange.backpack.events import parse as parse_order_update
from hftpy.exchange.backpack.rest import BackpackRestApi, sign_value
from hftpy.exchange.codec import DECODER, ENCODER
from hftpy.exchange.endpoints import endpoint
from hftpy.exchange.ids import new_client_id_u32
from hftpy.exchange.orders import OrderStatus, OrderUpdate, decimal_or_none, id_text
from hftpy.exchange.rest_orders import (
    HttpRequest,
    Limit,
    RateLimitMode,
    RestOrderApiBase,
    decimal_text,
)
from hftpy.exchange.tracker import TrackedOrder
from hftpy.exchange.ws_api import WsCallback, WsResponse, _Pending

log = logging.getLogger("hftpy.backpack")

Number = int | float | Decimal | str

ORDER_UPDATE = "account.orderUpdate"
#: Per subaccount, about 2000 requests a minute on the standard endpoints (reference A6).
REST_LIMITS: list[Limit] = [("window", "rest_minute", 2000, 60.0, 100)]

_SIDES = {"buy": "Bid", "sell": "Ask", "bid": "Bid", "ask": "Ask"}
_ORDER_TYPES = {"limit": "Limit", "market": "Market"}
_TIME_IN_FORCE = {"gtc": "GTC", "ioc": "IOC", "fok": "FOK"}
_U32 = 2**32


#: Backpack's order statuses in hftpy's terms.
STATUSES: dict[str, OrderStatus] = {
    "New": OrderStatus.NEW,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "Expired": OrderStatus.EXPIRED,
    "TriggerPending": OrderStatus.NEW,
    "TriggerFailed": OrderStatus.REJECTED,
}


def _client_id(client_order_id: str | int | None, client_id: int | None) -> int | None:
    """Backpack's u32 `clientId` from the venue-neutral `client_order_id` (or its alias)."""
    value = client_order_id if client_order_id is not None else client_id
    if value is None:
        return None
    text = str(value)
    if isinstance(value, bool) or not text.isdigit() or int(text) >= _U32:
        raise InvalidOrderError(f"a Backpack client_order_id is a u32, got {value!r}")
    return int(text)


def new_client_id() -> int:
    """A fresh Backpack `clientId` (u32) from the process-wide sequence."""
    return new_client_id_u32()  # Rust: a process-wide sequence, random start, fresh per fork


def _plain(value: Any) -> Any:
    """Extra fields as they are signed and sent (numbers as decimal strings)."""
    if isinstance(value, float | Decimal):
        return sign_value(value)
    return value


class BackpackWsApi(RestOrderApiBase):
    """Backpack trading. Create through `hftpy.exchange.create_exchange_ws_api`."""

    exchange = Exchange.BACKPACK
    rest_limits: ClassVar[list[Limit]] = REST_LIMITS
    #: `on_execution` / `channel_queue()`: the all-symbols order stream.
    execution_channel = ORDER_UPDATE
    order_event_parser = staticmethod(parse_order_update)
    #: `account.orderUpdate` and the per-symbol `account.orderUpdate.<symbol>`.
    order_event_channels = (ORDER_UPDATE,)

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        url: str | None = None,
        rest_url: str | None = None,
        account: str = "default",
        request_timeout: float = 10.0,
        rest_api: BackpackRestApi | None = None,
        streams: Iterable[str] = (ORDER_UPDATE,),
        on_rate_limit: RateLimitMode = "wait",
        window: int | None = None,
    ) -> None:
        rest = rest_api or BackpackRestApi(
            api_key=api_key,
            api_secret=api_secret,
            url=rest_url,
            account=account,
            timeout=request_timeout,
            **({"window": window} if window is not None else {}),
        )
        super().__init__(
            url=endpoint(self.exchange, "ws", url),
            rest_api=rest,
            own_rest=rest_api is None,
            account=account,
            request_timeout=request_timeout,
            on_rate_limit=on_rate_limit,
        )
        self._bp: BackpackRestApi = rest
        # Orders and private streams are all signed: refused now rather than never working.
        rest.check_credentials(
            "WS API",
            "the REST API passed as rest_api= (create_exchange_api for this account) has none"
            if rest_api is not None
            else "",
        )
        self._streams: dict[str, None] = dict.fromkeys(self._check_streams(streams))
        #: The last error frames the stream endpoint sent (a refused signature, a bad stream).
        self.stream_errors: deque[dict[str, Any]] = deque(maxlen=100)
        #: The last signed subscribes sent, one per (re)connect: (timestamp ms, streams).
        self.subscribes: deque[tuple[int, tuple[str, ...]]] = deque(maxlen=100)

    # -- private streams ---------------------------------------------------------------------
    @staticmethod
    def _check_streams(streams: Iterable[str] | str) -> list[str]:
        names = [streams] if isinstance(streams, str) else list(streams)
        for name in names:
            if not isinstance(name, str) or not name.startswith("account."):
                raise ConfigError(f"not a private Backpack stream: {name!r}")
        return names

    @property
    def streams(self) -> list[str]:
        """The private streams subscribed, in subscription order (all re-subscribed, freshly signed,
        on every reconnect)."""
        return list(self._streams)

    def _is_order_channel(self, channel: str) -> bool:
        # Backpack sends an event once per subscribed stream it belongs to: with the
        # all-symbols stream subscribed, a per-symbol one would repeat its events.
        if channel == ORDER_UPDATE:
            return True
        return channel.startswith(ORDER_UPDATE) and ORDER_UPDATE not in self._streams

    def _subscribe_frame(self, method: str, streams: list[str]) -> bytes:
        signature, ts = self._bp.sign("subscribe")
        self.subscribes.append((ts, tuple(streams)))
        key = self._bp.api_key.reveal() if self._bp.api_key is not None else ""
        frame = {
            "method": method,
            "params": streams,
            "signature": [key, signature, str(ts), str(self._bp.window)],
        }
        return ENCODER.encode(frame)

    async def _on_connected(self) -> None:
        # An accepted private subscribe gets no answer, a refused one perhaps an error frame
        # and perhaps not: a signed REST call checks the credentials first, so a refused key
        # or signature ends this attempt with the venue's AuthError (retried slowly) rather
        # than a connection that silently carries no order updates. Whatever else stops the
        # check (REST slow or down, maintenance) leaves the streams to try on their own.
        try:
            await asyncio.wait_for(self._bp.balances(), 5.0)
        except AuthError as exc:
            raise AuthError(f"backpack refused the credentials: {exc}") from None
        except Exception as exc:
            log.warning("backpack: credential check failed (%s); subscribing anyway", exc)
        # Signed afresh on every connect: a replayed subscribe would be outside its window.
        if self._streams:
            self._conn.send(self._subscribe_frame("SUBSCRIBE", list(self._streams)))

    async def subscribe(self, streams: Iterable[str] | str) -> None:
        """Adds private streams (`account.orderUpdate.SOL_USDC`, `account.positionUpdate`)."""
        new = [s for s in self._check_streams(streams) if s not in self._streams]
        self._streams.update(dict.fromkeys(new))
        self._order_channel_memo.clear()  # _is_order_channel reads the streams
        if new and self._conn.ready:
            self._conn.send(self._subscribe_frame("SUBSCRIBE", new))

    async def unsubscribe(self, streams: Iterable[str] | str) -> None:
        """Drops private streams (names not subscribed are ignored; a name outside `account.*` is a
        `ConfigError`). Listeners stay until `remove_listener`."""
        gone = [s for s in self._check_streams(streams) if s in self._streams]
        for name in gone:
            del self._streams[name]
        self._order_channel_memo.clear()  # _is_order_channel reads the streams
        if gone and self._conn.ready:
            self._conn.send(ENCODER.encode({"method": "UNSUBSCRIBE", "params": gone}))

    def _on_frame(self, payload: memoryview | bytes, recv_ns: int, recv_mono: int) -> None:
        try:
            msg = DECODER.decode(payload)
        except msgspec.DecodeError:
            log.warning("backpack: ignoring non-JSON frame %r", bytes(payload[:80]))
            return
        if type(msg) is not dict:
            return
        stream = msg.get("stream")
        if isinstance(stream, str):
            self._deliver(stream, msg, recv_ns)
            return
        if "error" in msg:
            self.stream_errors.append(msg)
            log.warning("backpack stream error: %s", msg.get("error"))
            self._deliver("error", msg, recv_ns)

    # -- requests ----------------------------------------------------------------------------
    def _build(self, method: str, params: dict[str, Any]) -> HttpRequest:
        if method == "orderExecute":
            orders = params.get("orders")
            if orders is not None:
                return self._bp.prepare(method, "POST", "/api/v1/orders", orders)
            return self._bp.prepare(method, "POST", "/api/v1/order", params)
        if method == "orderCancel":
            return self._bp.prepare(method, "DELETE", "/api/v1/order", params)
        if method == "orderCancelAll":
            return self._bp.prepare(method, "DELETE", "/api/v1/orders", params)
        raise InvalidOrderError(f"unknown Backpack method {method!r}")

    def _rate_costs(self, method: str, params: dict[str, Any]) -> list[tuple[int, int]]:
        return [(0, 1)]

    def _replies(
        self, method: str, req_id: int, status: int, body: Any, items: int
    ) -> list[dict[str, Any]]:
        if items > 1 and 200 <= status < 300 and isinstance(body, list) and len(body) == items:
            # A batch answers with one entry per order: the order, or its error.
            replies = []
            for entry in body:
                refused = isinstance(entry, dict) and "code" in entry and "id" not in entry
                replies.append(self._envelope(method, req_id, 400 if refused else status, entry))
            return replies
        return super()._replies(method, req_id, status, body, items)

    def _order_fields(
        self,
        symbol: CurrencyPair | str,
        side: Side | str,
        amount: Number | None,
        price: Number | None,
        order_type: OrderType | str,
        quote_quantity: Number | None,
        time_in_force: TimeInForce | str | None,
        post_only: bool | None,
        reduce_only: bool | None,
        client_id: int | None,
        self_trade_prevention: str | None,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        side_text = _SIDES.get(str(side).lower())
        if side_text is None:
            raise InvalidOrderError(f"side must be buy or sell, got {side!r}")
        kind = _ORDER_TYPES.get(str(order_type).lower())
        if kind is None:
            raise InvalidOrderError(f"Backpack order_type is limit or market, not {order_type!r}")
        fields: dict[str, Any] = {
            "symbol": venue_symbol(self.exchange, symbol),
            "side": side_text,
            "orderType": kind,
        }
        if amount is not None:
            fields["quantity"] = decimal_text(amount, "amount")
        if quote_quantity is not None:
            if kind != "Market":
                raise InvalidOrderError("quote_quantity is for market orders")
            fields["quoteQuantity"] = decimal_text(quote_quantity, "quote_quantity")
        if amount is None and quote_quantity is None:
            raise InvalidOrderError("an order needs amount= (or quote_quantity= when market)")
        if kind == "Limit":
            if price is None:
                raise InvalidOrderError("a limit order needs price=")
            fields["price"] = decimal_text(price, "price")
        elif price is not None:
            raise InvalidOrderError("a market order takes no price")
        if time_in_force is not None:
            tif = _TIME_IN_FORCE.get(str(time_in_force).lower())
            if tif is None:
                raise InvalidOrderError(f"unknown time_in_force {time_in_force!r}")
            fields["timeInForce"] = tif
        if post_only is not None:
            fields["postOnly"] = bool(post_only)
        if reduce_only is not None:
            fields["reduceOnly"] = bool(reduce_only)
        if client_id is None:
            # Assigned when absent, so a strategy can find its order again from any update.
            client_id = new_client_id()
        elif isinstance(client_id, bool) or not 0 <= int(client_id) < _U32:
            raise InvalidOrderError(f"client_id must be a u32, got {client_id!r}")
        fields["clientId"] = int(client_id)
        if self_trade_prevention is not None:
            fields["selfTradePrevention"] = self_trade_prevention
        fields.update({k: _plain(v) for k, v in extra.items()})
        return fields

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
        client_order_id: str | int | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[False] = False,
        timeout: float | None = None,
        quote_quantity: Number | None = None,
        reduce_only: bool | None = None,
        client_id: int | None = None,
        self_trade_prevention: str | None = None,
        **extra: Any,
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
        client_order_id: str | int | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[True],
        timeout: float | None = None,
        quote_quantity: Number | None = None,
        reduce_only: bool | None = None,
        client_id: int | None = None,
        self_trade_prevention: str | None = None,
        **extra: Any,
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
        client_order_id: str | int | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
        quote_quantity: Number | None = None,
        reduce_only: bool | None = None,
        client_id: int | None = None,
        self_trade_prevention: str | None = None,
        **extra: Any,
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
        client_order_id: str | int | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
        quote_quantity: Number | None = None,
        reduce_only: bool | None = None,
        client_id: int | None = None,
        self_trade_prevention: str | None = None,
        **extra: Any,
    ) -> int | WsResponse:
        """`orderExecute` (`POST /api/v1/order`): `amount` (base currency) at `price` (quote
        currency). `client_order_id` is Backpack's `clientId`, a u32 (a number, or its
        decimal text), assigned when absent. Other order fields (`triggerPrice`,
        `autoLend`, ...) pass through as keywords in Backpack's spelling. Returns the
        `req_id` once the HTTP request is started, or with `wait=True` the `WsResponse`."""
        params = self._order_fields(
            symbol,
            side,
            amount,
            price,
            order_type,
            quote_quantity,
            time_in_force,
            post_only or None,
            reduce_only,
            _client_id(client_order_id, client_id),
            self_trade_prevention,
            extra,
        )
        return await self._request("orderExecute", params, req_id, callback, wait, timeout)

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
        client_order_id: str | int | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        timeout: float | None = None,
        quote_quantity: Number | None = None,
        reduce_only: bool | None = None,
        client_id: int | None = None,
        self_trade_prevention: str | None = None,
        **extra: Any,
    ) -> int:
        """`place_order` without awaiting. Backpack takes orders over REST only: "sent" here
        means the request is signed (the same body and signature as `place_order`) and its
        HTTP task started on the kept-alive session; the bytes leave when the loop next
        runs. `RateLimitError` at once when the REST limiter has no room."""
        params = self._order_fields(
            symbol,
            side,
            amount,
            price,
            order_type,
            quote_quantity,
            time_in_force,
            post_only or None,
            reduce_only,
            _client_id(client_order_id, client_id),
            self_trade_prevention,
            extra,
        )
        return self._request_nowait("orderExecute", params, req_id, callback, timeout)

    async def batch_place(
        self,
        orders: Sequence[dict[str, Any]],
        *,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """Several orders in one `POST /api/v1/orders`; each dict takes `place_order`'s
        arguments. The callback fires once per order, in order."""
        if not orders:
            raise InvalidOrderError("batch_place needs at least one order")
        built = []
        for order in orders:
            spec = dict(order)
            try:
                symbol = spec.pop("symbol")
                side = spec.pop("side")
            except KeyError as exc:
                raise InvalidOrderError(f"batch order without {exc}: {order!r}") from None
            built.append(
                self._order_fields(
                    symbol,
                    side,
                    spec.pop("amount", None),
                    spec.pop("price", None),
                    spec.pop("order_type", OrderType.LIMIT),
                    spec.pop("quote_quantity", None),
                    spec.pop("time_in_force", None),
                    spec.pop("post_only", None),
                    spec.pop("reduce_only", None),
                    spec.pop("client_id", None),
                    spec.pop("self_trade_prevention", None),
                    spec,
                )
            )
        return await self._request(
            "orderExecute", {"orders": built}, req_id, callback, wait, timeout, len(built)
        )

    @overload
    async def cancel_order(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | int | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[False] = False,
        timeout: float | None = None,
        client_id: int | None = None,
    ) -> int: ...
    @overload
    async def cancel_order(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | int | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[True],
        timeout: float | None = None,
        client_id: int | None = None,
    ) -> WsResponse: ...
    @overload
    async def cancel_order(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | int | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
        client_id: int | None = None,
    ) -> int | WsResponse: ...
    async def cancel_order(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | int | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
        client_id: int | None = None,
    ) -> int | WsResponse:
        """`orderCancel` (`DELETE /api/v1/order`) by exactly one of `order_id` and
        `client_order_id` (`clientId`). Backpack needs the symbol: it may be left out for
        orders placed through this API or reported on its private stream."""
        params = self._cancel_params(order_id, client_order_id, symbol, client_id)
        return await self._request("orderCancel", params, req_id, callback, wait, timeout)

    def cancel_order_nowait(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | int | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        timeout: float | None = None,
        client_id: int | None = None,
    ) -> int:
        """`cancel_order` without awaiting (REST: the HTTP task is started, see
        `place_order_nowait`)."""
        params = self._cancel_params(order_id, client_order_id, symbol, client_id)
        return self._request_nowait("orderCancel", params, req_id, callback, timeout)

    def _cancel_params(
        self,
        order_id: str | None,
        client_order_id: str | int | None,
        symbol: CurrencyPair | str | None,
        client_id: int | None,
    ) -> dict[str, Any]:
        cid = _client_id(client_order_id, client_id)
        if (order_id is None) == (cid is None):
            raise InvalidOrderError("cancel_order takes exactly one of order_id, client_order_id")
        pair = self._symbol_for(symbol, id_text(order_id), id_text(cid))
        params: dict[str, Any] = {"symbol": pair}
        if order_id is not None:
            params["orderId"] = str(order_id)
        else:
            params["clientId"] = cid
        return params

    @overload
    async def amend_order(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | int | None = None,
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
        client_order_id: str | int | None = None,
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
        client_order_id: str | int | None = None,
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
        client_order_id: str | int | None = None,
        price: Number | None = None,
        amount: Number | None = None,
        symbol: CurrencyPair | str | None = None,
        post_only: bool | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> int | WsResponse:
        """Backpack has no amend: emulated as `orderCancel`, then, once the cancel is
        confirmed, `orderExecute` of the same order for the quantity still open (`amount`:
        the new total, filled part included) at the new price, with a new `clientId`. One
        callback (`method` `amend_order`): `result` is the new order (`WsResponse.order_id`
        its id) and `cancel` the cancel's reply; a refused cancel places nothing; a refused
        place after a done cancel reports `success: False` with the order gone
        (`cancelled: True`). Works for orders placed or reported here (side and type)."""
        view, run = self._amend_parts(order_id, client_order_id, price, amount, symbol, post_only)
        return await self._composite("amend_order", view, req_id, callback, wait, timeout, run)

    def amend_order_nowait(
        self,
        order_id: str | None = None,
        *,
        client_order_id: str | int | None = None,
        price: Number | None = None,
        amount: Number | None = None,
        symbol: CurrencyPair | str | None = None,
        post_only: bool | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        timeout: float | None = None,
    ) -> int:
        """`amend_order` without awaiting: the emulation (cancel, then place) is started as a
        task and the `req_id` returned; its one outcome reaches the callback as there."""
        view, run = self._amend_parts(order_id, client_order_id, price, amount, symbol, post_only)
        return self._composite_nowait("amend_order", view, req_id, callback, timeout, run)

    def _amend_parts(
        self,
        order_id: str | None,
        client_order_id: str | int | None,
        price: Number | None,
        amount: Number | None,
        symbol: CurrencyPair | str | None,
        post_only: bool | None,
    ) -> tuple[dict[str, Any], Callable[[float], Awaitable[dict[str, Any]]]]:
        cid = _client_id(client_order_id, None)
        if (order_id is None) == (cid is None):
            raise InvalidOrderError("amend_order takes exactly one of order_id, client_order_id")
        if price is None and amount is None:
            raise InvalidOrderError("amend_order needs price= or amount=")
        known = self.orders.find(id_text(order_id), id_text(cid))
        if known is None or known.side is None:
            raise InvalidOrderError(
                f"backpack: amend of {order_id or cid!r} is a cancel and a new order, which "
                "needs the order's side and type: it was not placed or reported here"
            )
        pair = self._symbol_for(symbol, id_text(order_id), id_text(cid))
        total = Decimal(decimal_text(amount, "amount")) if amount is not None else known.amount
        if total is None:
            raise InvalidOrderError("backpack: the order's quantity is unknown here: pass amount=")
        open_qty = total - (known.filled or 0)
        if open_qty <= 0:
            raise InvalidOrderError(f"amount {total} is not above the {known.filled} filled")
        new_order = self._order_fields(
            pair,
            known.side,
            open_qty,
            price if price is not None else known.price,
            known.order_type or "limit",
            None,
            None,
            post_only,
            None,
            None,
            None,
            {},
        )
        cancel: dict[str, Any] = {"symbol": pair}
        if order_id is not None:
            cancel["orderId"] = str(order_id)
        else:
            cancel["clientId"] = cid

        async def run(budget: float) -> dict[str, Any]:
            done = await self._sub_request("orderCancel", cancel, budget)
            if not done.ok:
                return {**done.response, "method": "amend_order", "cancel": done.response}
            placed = await self._sub_request("orderExecute", new_order, budget)
            reply = {**placed.response, "method": "amend_order", "cancel": done.response}
            if not placed.ok:
                reply["cancelled"] = True
            return reply

        return {"cancel": cancel, "order": new_order}, run

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
        """`orderCancelAll` (`DELETE /api/v1/orders`) on `symbol`; the reply lists the
        cancelled orders. Backpack cancels one symbol at a time: without `symbol` this is
        emulated as one `orderCancelAll` per symbol with open orders known here, answered
        as one reply whose `result` lists them all."""
        if symbol is not None:
            params = {"symbol": venue_symbol(self.exchange, symbol)}
            return await self._request("orderCancelAll", params, req_id, callback, wait, timeout)

        async def run(budget: float) -> dict[str, Any]:
            done = await asyncio.gather(
                *(
                    self._sub_request("orderCancelAll", {"symbol": pair}, budget)
                    for pair in self.orders.open_symbols()
                )
            )
            result: list[Any] = []
            reply: dict[str, Any] = {"method": "orderCancelAll", "success": True, "status": 200}
            for response in done:
                body = response.response.get("result")
                if response.ok and isinstance(body, list):
                    result.extend(body)
                elif not response.ok:
                    reply.update(success=False, status=response.response.get("status"))
                    reply["error"] = response.response.get("error")
            reply["result"] = result
            return reply

        return await self._composite(
            "orderCancelAll", {"symbol": None}, req_id, callback, wait, timeout, run
        )

    # -- order bookkeeping -----------------------------------------------------------------
    order_methods = frozenset(("orderExecute", "orderCancel", "orderCancelAll", "amend_order"))

    def _order_sent(self, method: str, params: dict[str, Any]) -> None:
        if method == "orderExecute":
            for order in params.get("orders") or (params,):
                self.orders.sent(
                    order["symbol"],
                    id_text(order.get("clientId")),
                    Side.BUY if order["side"] == "Bid" else Side.SELL,
                    order["orderType"].lower(),
                    order.get("price"),
                    order.get("quantity"),
                )

    def _order_reply(
        self, pending: _Pending, response: dict[str, Any]
    ) -> tuple[str | None, str | None, OrderStatus | None] | None:
        body = response.get("result")
        ok = response.get("success") is True
        if pending.method == "orderCancelAll":
            for item in body if ok and isinstance(body, list) else ():
                order = self.orders.find(id_text(item.get("id")), id_text(item.get("clientId")))
                if order is not None:
                    self.orders.cancelled(order)
            return None
        item = body if isinstance(body, dict) else {}
        order_id = id_text(item.get("id"))
        client_id = id_text(item.get("clientId"))
        status = STATUSES.get(item.get("status", "")) if ok else None
        request = pending.params
        if pending.method == "orderExecute":
            if "orders" not in request:
                client_id = client_id or id_text(request.get("clientId"))
            if ok:
                self.orders.acked(client_id, order_id, status, item.get("symbol"))
            elif "orders" not in request:
                self.orders.rejected(client_id, str(response.get("error")))
                status = OrderStatus.REJECTED
        elif pending.method == "orderCancel" and ok:
            order = self.orders.find(order_id, client_id)
            if order is not None:
                self.orders.cancelled(order)
        return order_id, client_id, status

    async def _venue_open_orders(self) -> list[OrderUpdate]:
        return [_order_update(item) for item in await self._bp.open_orders() or ()]

    async def _venue_order(self, order: TrackedOrder) -> OrderUpdate | None:
        if order.order_id is None:
            return None
        params = {"orderId": order.order_id, "symbol": order.symbol}
        found = await self._bp.request(
            "orderHistoryQueryAll", "GET", "/wapi/v1/history/orders", params
        )
        for item in found if isinstance(found, list) else ():
            if id_text(item.get("id")) == order.order_id:
                return _order_update(item)
        return None


def _order_update(item: dict[str, Any]) -> OrderUpdate:
    """An open-orders or order-history entry as an `OrderUpdate`."""
    amount = decimal_or_none(item.get("quantity"))
    filled = decimal_or_none(item.get("executedQuantity"))
    quote = decimal_or_none(item.get("executedQuoteQuantity"))
    status = STATUSES.get(item.get("status", ""), OrderStatus.NEW)
    if status is OrderStatus.NEW and filled:
        status = OrderStatus.PARTIALLY_FILLED
    created = item.get("createdAt")
    return OrderUpdate(
        exchange=Exchange.BACKPACK,
        symbol=item.get("symbol", ""),
        order_id=id_text(item.get("id")),
        client_order_id=id_text(item.get("clientId")),
        side=Side.BUY if item.get("side") == "Bid" else Side.SELL,
        status=status,
        price=decimal_or_none(item.get("price")),
        amount=amount,
        filled=filled,
        remaining=None
        if amount is None
        else (amount - (filled or 0) if status.is_open else Decimal(0)),
        order_type=str(item.get("orderType", "")).lower() or None,
        avg_price=quote / filled if quote is not None and filled else None,
        exch_ns=int(created) * 1_000_000 if isinstance(created, int) else 0,
        recv_ns=time.time_ns(),
        raw=item,
    )
