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

import itertools
import logging
import os
from collections import deque
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, ClassVar

import msgspec

from hftpy.common import CurrencyPair, Exchange, OrderType, Side, TimeInForce, venue_symbol
from hftpy.errors import ConfigError, InvalidOrderError
from hftpy.exchange.backpack.rest import BackpackRestApi, sign_value
from hftpy.exchange.codec import DECODER, ENCODER
from hftpy.exchange.endpoints import endpoint
from hftpy.exchange.rest_orders import (
    HttpRequest,
    Limit,
    RateLimitMode,
    RestOrderApiBase,
    decimal_text,
)
from hftpy.exchange.ws_api import WsCallback

log = logging.getLogger("hftpy.backpack")

Number = int | float | Decimal | str

ORDER_UPDATE = "account.orderUpdate"
#: Per subaccount, about 2000 requests a minute on the standard endpoints (reference A6).
REST_LIMITS: list[Limit] = [("window", "rest_minute", 2000, 60.0, 100)]

_SIDES = {"buy": "Bid", "sell": "Ask", "bid": "Bid", "ask": "Ask"}
_ORDER_TYPES = {"limit": "Limit", "market": "Market"}
_TIME_IN_FORCE = {"gtc": "GTC", "ioc": "IOC", "fok": "FOK"}
_U32 = 2**32

# clientId is a u32: a process-wide sequence from a random start.
_client_ids = itertools.count(int.from_bytes(os.urandom(4), "big") >> 1)


def new_client_id() -> int:
    return next(_client_ids) % _U32


def _plain(value: Any) -> Any:
    """Extra fields as they are signed and sent (numbers as decimal strings)."""
    if isinstance(value, float | Decimal):
        return sign_value(value)
    return value


class BackpackWsApi(RestOrderApiBase):
    """Backpack trading. Create through `hftpy.exchange.create_exchange_ws_api`."""

    exchange = Exchange.BACKPACK
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
        return list(self._streams)

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
        # Signed afresh on every connect: a replayed subscribe would be outside its window.
        if self._streams:
            self._conn.send(self._subscribe_frame("SUBSCRIBE", list(self._streams)))

    async def subscribe(self, streams: Iterable[str] | str) -> None:
        """Adds private streams (`account.orderUpdate.SOL_USDC`, `account.positionUpdate`)."""
        new = [s for s in self._check_streams(streams) if s not in self._streams]
        self._streams.update(dict.fromkeys(new))
        if new and self._conn.ready:
            self._conn.send(self._subscribe_frame("SUBSCRIBE", new))

    async def unsubscribe(self, streams: Iterable[str] | str) -> None:
        gone = [s for s in self._check_streams(streams) if s in self._streams]
        for name in gone:
            del self._streams[name]
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

    async def place_order(
        self,
        symbol: CurrencyPair | str,
        side: Side | str,
        amount: Number | None = None,
        price: Number | None = None,
        order_type: OrderType | str = OrderType.LIMIT,
        *,
        quote_quantity: Number | None = None,
        time_in_force: TimeInForce | str | None = None,
        post_only: bool | None = None,
        reduce_only: bool | None = None,
        client_id: int | None = None,
        self_trade_prevention: str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
        **extra: Any,
    ) -> Any:
        """`orderExecute`. Other order fields (`triggerPrice`, `autoLend`, ...) pass through
        as keywords in Backpack's spelling."""
        params = self._order_fields(
            symbol,
            side,
            amount,
            price,
            order_type,
            quote_quantity,
            time_in_force,
            post_only,
            reduce_only,
            client_id,
            self_trade_prevention,
            extra,
        )
        return await self._request("orderExecute", params, req_id, callback, wait, timeout)

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

    async def cancel_order(
        self,
        symbol: CurrencyPair | str,
        order_id: str | None = None,
        *,
        client_id: int | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """`orderCancel` by exactly one of `order_id` and `client_id` (Backpack needs the
        symbol too)."""
        if (order_id is None) == (client_id is None):
            raise InvalidOrderError("cancel_order takes exactly one of order_id, client_id")
        params: dict[str, Any] = {"symbol": venue_symbol(self.exchange, symbol)}
        if order_id is not None:
            params["orderId"] = str(order_id)
        else:
            params["clientId"] = int(client_id)  # type: ignore[arg-type]
        return await self._request("orderCancel", params, req_id, callback, wait, timeout)

    async def cancel_all(
        self,
        symbol: CurrencyPair | str,
        *,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """`orderCancelAll` on one symbol; the reply lists the cancelled orders."""
        params = {"symbol": venue_symbol(self.exchange, symbol)}
        return await self._request("orderCancelAll", params, req_id, callback, wait, timeout)
