"""Kraken spot WebSocket v2 trading API (`wss://ws-auth.kraken.com/v2`).

Every private call carries a WS token from REST `GetWebSocketsToken`: a fresh one per
connection, and a new one after `ESession:Invalid session`. The private `executions` channel
(order status and fills) is subscribed on every connect and handed to listeners and queues.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Literal, overload

import msgspec

from hftpy._core import KrakenFrames, number_text, parse_natural
from hftpy.common import CurrencyPair, Exchange, OrderType, Side, TimeInForce, venue_symbol
from hftpy.errors import (
    AuthError,
    ConfigError,
    DecimalError,
    HftpyError,
    InvalidOrderError,
    VenueError,
)
from hftpy.exchange.codec import ENCODER
from hftpy.exchange.endpoints import endpoint
from hftpy.exchange.frames import STYLE_KRAKEN
from hftpy.exchange.ids import new_client_order_id
from hftpy.exchange.kraken.events import parse as parse_executions
from hftpy.exchange.kraken.limits import TIER_BY_MAX_RATE_COUNT, KrakenRateLimits
from hftpy.exchange.kraken.rest import KrakenRestApi
from hftpy.exchange.orders import OrderStatus, OrderUpdate, decimal_or_none, id_text
from hftpy.exchange.tracker import TrackedOrder
from hftpy.exchange.ws_api import WsApiBase, WsCallback, WsResponse, _Pending
from hftpy.redact import Secret

log = logging.getLogger("hftpy.kraken")

Number = int | float | Decimal | str

# Canonical plain-str spellings; StrEnum members hash like their values, so both look up.
_SIDES = {"buy": "buy", "sell": "sell"}
_SIDE_OF = {"buy": Side.BUY, "sell": Side.SELL}
_NEW = OrderStatus.NEW  # a global: an enum member costs ~60 ns to look up on CPython 3.11
_INF = math.inf
_ORDER_TYPES = {t.value: t.value for t in OrderType}
_TIME_IN_FORCE = {t.value: t.value for t in TimeInForce}
_LIMIT_PRICED = frozenset(("limit", "iceberg", "stop-loss-limit", "take-profit-limit"))

#: Kraken writes prices and quantities as JSON numbers: decoded as `Decimal`s they keep their
#: exact wire text (`0.00100000` stays that, never a float).
_DECODER = msgspec.json.Decoder(float_hook=Decimal)

# Replies after which the token must be replaced before private calls can succeed.
_SESSION_ERRORS = ("ESession:Invalid session", "Token(s) not found")


def _number(value: Number, name: str) -> int | float | Decimal:
    """A price or quantity as it will be written on the wire: JSON number text exactly as
    given (floats by their shortest repr, `Decimal`/`str` digit for digit, never through
    float). Rejects bools, NaN, infinities and non-numeric text locally."""
    kind = type(value)
    if kind is float:
        if not math.isfinite(value):  # type: ignore[arg-type]
            raise InvalidOrderError(f"{name} must be finite, got {value!r}")
        return value  # type: ignore[return-value]
    if isinstance(value, bool):
        raise InvalidOrderError(f"{name} must be a number, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):  # a float subclass
        return _number(float(value), name)
    text = str(value).strip() if isinstance(value, str | Decimal) else None
    if text is None:
        raise InvalidOrderError(f"{name} must be a number, got {type(value).__name__}")
    try:
        parse_natural(text)  # the Rust reader: exact digits, typed error on junk or overflow
    except DecimalError as exc:
        raise InvalidOrderError(f"{name}={value!r}: {exc}") from None
    return Decimal(text)


def _positive(value: Number, name: str) -> int | float | Decimal:
    if type(value) is float and 0.0 < value < _INF:  # the common case, checked inline
        return value
    if type(value) is Decimal and number_text(value, STYLE_KRAKEN) is not None:
        return value  # exact, positive, readable: what the checks below would return
    number = _number(value, name)
    if number <= 0:
        raise InvalidOrderError(f"{name} must be positive, got {value!r}")
    return number


def _ids(value: Any, name: str) -> list[Any]:
    if value is None:
        return []
    items = list(value) if isinstance(value, list | tuple) else [value]
    if not items:
        raise InvalidOrderError(f"{name} is empty")
    return items


_REST_STATUSES = {
    "pending": OrderStatus.PENDING,
    "canceled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
}


def _rest_order(txid: str, item: dict[str, Any], names: dict[str, str]) -> OrderUpdate:
    """A REST `OpenOrders` / `QueryOrders` entry as an `OrderUpdate`."""
    descr = item.get("descr") or {}
    amount = decimal_or_none(item.get("vol"))
    filled = decimal_or_none(item.get("vol_exec"))
    status = _REST_STATUSES.get(item.get("status", ""))
    if status is None:
        if item.get("status") == "closed":
            status = OrderStatus.FILLED
        elif filled:
            status = OrderStatus.PARTIALLY_FILLED
        else:
            status = OrderStatus.NEW
    price = decimal_or_none(descr.get("price"))
    avg = decimal_or_none(item.get("price"))
    return OrderUpdate(
        exchange=Exchange.KRAKEN,
        symbol=names.get(descr.get("pair", ""), descr.get("pair", "")),
        order_id=txid,
        client_order_id=id_text(item.get("cl_ord_id")),
        side=Side.BUY if descr.get("type") == "buy" else Side.SELL,
        status=status,
        price=price if price else None,
        amount=amount,
        filled=filled,
        remaining=None
        if amount is None
        else (amount - (filled or 0) if status.is_open else Decimal(0)),
        order_type=descr.get("ordertype"),
        avg_price=avg if avg else None,
        reason=item.get("reason"),
        exch_ns=int(Decimal(str(item.get("closetm") or item.get("opentm") or 0)) * 10**9),
        recv_ns=time.time_ns(),
        raw=item,
    )


class KrakenWsApi(WsApiBase):
    """Kraken WS v2 trading. Create through `hftpy.exchange.create_exchange_ws_api`."""

    exchange = Exchange.KRAKEN
    #: `message["data"]` holds execution reports; `message["type"]` is snapshot or update.
    execution_channel = "executions"
    order_event_parser = staticmethod(parse_executions)
    order_event_channels = ("executions",)
    #: Kraken documents `req_id` only as an integer, so the API's own ids stay positive and
    #: inside 32 bits: they count down from 2^31 - 1, and user ids keep below 2^31 - 2^24.
    INTERNAL_IDS_FROM = 2**31 - 1
    USER_IDS_BELOW = 2**31 - 2**24

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        url: str | None = None,
        rest_url: str | None = None,
        account: str = "default",
        request_timeout: float = 10.0,
        rest_api: KrakenRestApi | None = None,
        executions: bool = True,
        snap_trades: bool = False,
        rate_tier: str | None = "auto",
        on_rate_limit: Literal["wait", "raise"] = "wait",
    ) -> None:
        """`rate_tier` (`starter`, `intermediate`, `pro`) keeps Kraken's per-pair trading
        counter locally; `"auto"` reads the tier from the `executions` ack, None turns the
        local limit off. When a request would exceed it, `on_rate_limit` waits for the
        counter to decay (within the request's timeout) or fails it at once as
        `hftpy:rate_limited` (`RateLimitError` with `wait=True`)."""
        super().__init__(
            url=endpoint(self.exchange, "ws_auth", url),
            account=account,
            request_timeout=request_timeout,
        )
        self._rest = rest_api or KrakenRestApi(
            api_key=api_key, api_secret=api_secret, url=rest_url, account=account
        )
        self._own_rest = rest_api is None
        # Every call here carries a token from a signed REST call: without credentials
        # nothing could ever work, so it is refused now rather than retried in start().
        self._rest.check_credentials(
            "WS API",
            "the REST API passed as rest_api= (create_exchange_api for this account) has none"
            if rest_api is not None
            else "",
        )
        self._token: Secret | None = None
        self._token_json = b'""'  # the token as a JSON string, spliced into frames
        self._frame_heads: dict[str, bytes] = {}
        #: The frames of the current token, written in Rust (see `_encode`).
        self._frames = KrakenFrames(self._token_json)
        self._set_token(None)
        self._token_refresh: asyncio.Task[None] | None = None
        self._subscribe_executions = executions
        self._subscribe_balances = False  # set by subscribe_balances(), kept across reconnects
        self._snap_trades = snap_trades
        if on_rate_limit not in ("wait", "raise"):
            raise ConfigError(f"on_rate_limit must be 'wait' or 'raise', not {on_rate_limit!r}")
        self.on_rate_limit = on_rate_limit
        self._rate_tier = rate_tier
        self.rate_limits: KrakenRateLimits | None = None
        if rate_tier not in (None, "auto"):
            self._use_rate_tier(rate_tier)
        self._internal: dict[int, asyncio.Future[dict[str, Any]]] = {}
        #: `system` of the last status message: online, maintenance, cancel_only, post_only.
        self.system_status: str | None = None
        #: The trading-counter ceiling from the executions ack (tier dependent).
        self.max_rate_count: int | None = None
        self.last_heartbeat_ns = 0
        self._pair_names: dict[str, str] | None = None

    # -- connection hooks --------------------------------------------------------------
    async def _on_connected(self) -> None:
        # A fresh token per connection: a reused one is the classic post-reconnect failure.
        self._set_token(await self._rest.get_websockets_token())
        if self._subscribe_executions:
            await self._subscribe_private("executions")
        if self._subscribe_balances:
            await self._subscribe_private("balances")

    async def _subscribe_private(self, channel: str) -> None:
        params: dict[str, Any] = {"channel": channel, "token": self._token}
        if channel == "executions":
            params |= {"snap_orders": True, "snap_trades": self._snap_trades}
        ack = await self._internal_request("subscribe", params)
        if not ack.get("success"):
            error = str(ack.get("error"))
            if error.startswith(_SESSION_ERRORS):
                raise AuthError(f"kraken {channel} subscribe refused: {error}")
            raise HftpyError(f"kraken {channel} subscribe refused: {error}")
        result = ack.get("result") or {}
        if "maxratecount" in result:
            self.max_rate_count = result["maxratecount"]
            tier = TIER_BY_MAX_RATE_COUNT.get(result["maxratecount"])
            if self._rate_tier == "auto" and tier is not None:
                self._use_rate_tier(tier)

    def _use_rate_tier(self, tier: str) -> None:
        if self.rate_limits is None or self.rate_limits.tier != tier:
            self.rate_limits = KrakenRateLimits(tier)
            self.rate_limiter = self.rate_limits

    async def _rate_limit_wait(
        self, method: str, params: dict[str, Any], timeout: float | None
    ) -> bool:
        if self.on_rate_limit == "raise" or self.rate_limits is None:
            return False
        budget = self.request_timeout if timeout is None else timeout
        return await self.rate_limits.acquire(method, params, budget)

    async def _internal_request(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """A request of the API's own (subscribe, ping), answered outside the user callbacks
        and their id sequence."""
        req_id = self._next_internal_id()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._internal[req_id] = future
        frame: dict[str, Any] = {"method": method, "req_id": req_id}
        if params is not None:
            frame["params"] = params
        try:
            self._conn.send(ENCODER.encode(frame))
            return await asyncio.wait_for(future, timeout)
        finally:
            self._internal.pop(req_id, None)

    def _on_disconnected(self) -> None:
        super()._on_disconnected()
        for future in self._internal.values():
            if not future.done():
                future.set_exception(ConnectionError("kraken: disconnected"))
        self._set_token(None)

    def _on_frame(self, payload: memoryview | bytes, recv_ns: int, recv_mono: int) -> None:
        try:
            msg = _DECODER.decode(payload)
        except msgspec.DecodeError:
            # Kraken's proxy sometimes sends bare text ("CloudFlare WebSocket proxy restarting").
            log.warning("kraken: ignoring non-JSON frame %r", bytes(payload[:80]))
            return
        if type(msg) is not dict:
            return
        channel = msg.get("channel")
        if channel is None:
            req_id = msg.get("req_id")
            if req_id is None:
                return
            success = msg.get("success")
            if success is False and str(msg.get("error")).startswith(_SESSION_ERRORS):
                self._refresh_token()
            elif success is True and self.rate_limits is not None:
                pending = self._pending.get(req_id)
                if pending is not None:  # learn the venue's order ids for cancel pricing
                    self.rate_limits.on_reply(pending.method, pending.params, msg)
            if self._complete(req_id, msg, recv_ns, recv_mono):
                return
            future = self._internal.get(req_id)
            if future is not None and not future.done():
                future.set_result(msg)
            return
        if channel == "heartbeat":
            self.last_heartbeat_ns = recv_ns
        elif channel == "status":
            data = msg.get("data") or [{}]
            self.system_status = data[0].get("system")
        self._deliver(channel, msg, recv_ns)

    def _set_token(self, token: Secret | None) -> None:
        self._token = token
        self._token_json = ENCODER.encode(token.reveal() if token is not None else "")
        self._frame_heads.clear()
        self._frames = KrakenFrames(self._token_json)

        # The `request` callbacks see: the token leads, as in the request dicts the seed
        # documents print (the token of the request's own connection, not a later one's).
        def with_token(params: dict[str, Any]) -> dict[str, Any]:
            return {"token": token, **params}

        self._request_viewer = with_token

    def _refresh_token(self) -> None:
        """Fetches a new token in the background (once, however many replies asked)."""
        if self._token_refresh is not None and not self._token_refresh.done():
            return

        async def refresh() -> None:
            try:
                self._set_token(await self._rest.get_websockets_token())
                log.info("kraken: WS token refreshed after a session error")
            except Exception as exc:
                log.warning("kraken: token refresh failed (%s); reconnecting", exc)
                self._conn.drop()

        self._token_refresh = asyncio.create_task(refresh())

    # -- order bookkeeping -----------------------------------------------------------------
    order_methods = frozenset(("add_order", "batch_add", "cancel_order", "amend_order"))

    def _order_sent(self, method: str, params: dict[str, Any]) -> None:
        if method == "add_order":
            client_id = params.get("cl_ord_id")
            if client_id is None and "order_userref" in params:
                client_id = str(params["order_userref"])
            self.orders.sent(
                params["symbol"],
                client_id,
                _SIDE_OF[params["side"]],
                params["order_type"],
                params.get("limit_price"),
                params["order_qty"],
            )
        elif method == "batch_add":
            for order in params["orders"]:
                self._track_sent(order, params["symbol"])

    def _track_sent(self, order: dict[str, Any], symbol: str) -> None:
        client_id = order.get("cl_ord_id")
        if client_id is None and "order_userref" in order:
            client_id = str(order["order_userref"])
        self.orders.sent(
            symbol,
            client_id,
            _SIDE_OF[order["side"]],
            order["order_type"],
            order.get("limit_price"),
            order["order_qty"],
        )

    def _order_reply(
        self, pending: _Pending, response: dict[str, Any]
    ) -> tuple[str | None, str | None, OrderStatus | None] | None:
        method = pending.method
        request = pending.params
        ok = response.get("success") is True
        result = response.get("result")
        if ok and method == "add_order" and type(result) is dict:  # the common case, short
            order_id = result.get("order_id")
            client_id = result.get("cl_ord_id") or request.get("cl_ord_id")
            self.orders.accepted(client_id, order_id, request["symbol"])
            return order_id, client_id, _NEW
        item = result if isinstance(result, dict) else {}
        order_id = id_text(item.get("order_id"))
        client_id = id_text(item.get("cl_ord_id"))
        if method == "add_order":
            client_id = client_id or id_text(request.get("cl_ord_id"))
            if ok:
                self.orders.acked(client_id, order_id, OrderStatus.NEW, request["symbol"])
                return order_id, client_id, OrderStatus.NEW
            self.orders.rejected(client_id, str(response.get("error")))
            return None, client_id, OrderStatus.REJECTED
        if method == "cancel_order":
            order = self.orders.find(order_id, client_id)
            if ok and order is not None:
                self.orders.cancelled(order)
            return order_id, client_id, OrderStatus.CANCELLED if ok else None
        if method == "amend_order":
            order_id = order_id or id_text(request.get("order_id"))
            client_id = client_id or id_text(request.get("cl_ord_id"))
            order = self.orders.find(order_id, client_id)
            if ok and order is not None:
                self.orders.amended(order, request.get("limit_price"), request.get("order_qty"))
            return order_id, client_id, order.status if ok and order is not None else None
        return None  # batch_add: per order in `result`; the executions events track them

    async def _venue_open_orders(self) -> list[OrderUpdate]:
        result = await self._rest.private("OpenOrders")
        names = await self._ws_names()
        return [_rest_order(txid, item, names) for txid, item in (result.get("open") or {}).items()]

    async def _venue_order(self, order: TrackedOrder) -> OrderUpdate | None:
        if order.order_id is None:
            return None  # QueryOrders takes only Kraken's ids
        try:
            result = await self._rest.private("QueryOrders", {"txid": order.order_id})
        except VenueError:  # EOrder:Invalid order: the venue does not know it
            return None
        item = result.get(order.order_id)
        return None if item is None else _rest_order(order.order_id, item, await self._ws_names())

    async def _ws_names(self) -> dict[str, str]:
        """REST pair names (`XBTUSD`) to WS v2 symbols (`BTC/USD`), fetched once."""
        if self._pair_names is None:
            pairs = await self._rest.asset_pairs()
            self._pair_names = {
                info.get("altname", name): info.get("wsname", name) for name, info in pairs.items()
            }
        return self._pair_names

    # -- private channels ----------------------------------------------------------------
    async def subscribe_balances(self) -> None:
        """Subscribes the private `balances` channel (a snapshot, then every change), delivered
        to `add_listener("balances", ...)` and `channel_queue("balances")`, now and again after
        every reconnect. Raises `AuthError` / `HftpyError` when Kraken refuses."""
        self._subscribe_balances = True
        if self._conn.ready:
            await self._subscribe_private("balances")

    # -- requests -------------------------------------------------------------------------
    def _encode(self, method: str, params: dict[str, Any], req_id: int) -> bytes:
        # One Rust call writes the whole frame from the params as they are (the token laid
        # out once per connection); the generic encoding only for what it leaves out.
        frame = self._frames.build(method, params, req_id)
        if frame is not None:
            return frame
        return self._encode_generic(method, params, req_id)

    def _encode_generic(self, method: str, params: dict[str, Any], req_id: int) -> bytes:
        # The token is spliced in as bytes rather than encoded from the Secret (msgspec would
        # call back into Python for it) and each method's head is built once per token:
        # this runs before the send.
        head = self._frame_heads.get(method)
        if head is None:
            head = b'{"method":"%s","params":{"token":%s' % (method.encode(), self._token_json)
            self._frame_heads[method] = head
        body = ENCODER.encode(params)
        if len(body) > 2:
            return b'%s,%s},"req_id":%d}' % (head, body[1:-1], req_id)
        return b'%s},"req_id":%d}' % (head, req_id)

    def _order_fields(
        self,
        side: Side | str,
        order_qty: Number,
        order_type: OrderType | str,
        limit_price: Number | None,
        time_in_force: TimeInForce | str | None,
        post_only: bool | None,
        reduce_only: bool | None,
        cl_ord_id: str | None,
        order_userref: int | None,
        extra: dict[str, Any],
        symbol: str | None = None,
    ) -> dict[str, Any]:
        """One order's params in Kraken's names, validated locally (positional arguments on
        the order path: this runs before every send)."""
        side_text = _SIDES.get(side) or _SIDES.get(str(side).lower())
        if side_text is None:
            raise InvalidOrderError(f"side must be buy or sell, got {side!r}")
        kind = _ORDER_TYPES.get(order_type) or _ORDER_TYPES.get(str(order_type).lower())
        if kind is None:
            raise InvalidOrderError(f"unknown order_type {order_type!r}")
        if cl_ord_id is not None and order_userref is not None:
            raise InvalidOrderError("cl_ord_id and order_userref cannot be combined on Kraken")
        fields: dict[str, Any] = {"order_type": kind}
        if post_only is not None:
            fields["post_only"] = bool(post_only)
        if symbol is not None:
            fields["symbol"] = symbol
        # a positive finite float (the common case) is checked inline, anything else by rule
        ok_qty = type(order_qty) is float and 0.0 < order_qty < _INF
        fields["order_qty"] = order_qty if ok_qty else _positive(order_qty, "order_qty")
        fields["side"] = side_text
        if type(limit_price) is float and 0.0 < limit_price < _INF:
            fields["limit_price"] = limit_price
        elif limit_price is not None:
            fields["limit_price"] = _positive(limit_price, "limit_price")
        elif kind in _LIMIT_PRICED:
            raise InvalidOrderError(f"a {kind} order needs a price (price= or limit_price=)")
        if reduce_only is not None:
            fields["reduce_only"] = bool(reduce_only)
        if order_userref is not None:
            fields["order_userref"] = int(order_userref)
        else:
            # Assigned when absent, so a strategy can find its order again from any reply.
            fields["cl_ord_id"] = cl_ord_id or new_client_order_id()
        if time_in_force is None:
            fields["time_in_force"] = "gtc"
        else:
            tif = _TIME_IN_FORCE.get(time_in_force) or _TIME_IN_FORCE.get(
                str(time_in_force).lower()
            )
            if tif is None:
                raise InvalidOrderError(f"unknown time_in_force {time_in_force!r}")
            fields["time_in_force"] = tif
        fields.update(extra)
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
        client_order_id: str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[False] = False,
        timeout: float | None = None,
        order_qty: Number | None = None,
        limit_price: Number | None = None,
        reduce_only: bool | None = None,
        cl_ord_id: str | None = None,
        order_userref: int | None = None,
        validate: bool | None = None,
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
        client_order_id: str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[True],
        timeout: float | None = None,
        order_qty: Number | None = None,
        limit_price: Number | None = None,
        reduce_only: bool | None = None,
        cl_ord_id: str | None = None,
        order_userref: int | None = None,
        validate: bool | None = None,
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
        client_order_id: str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
        order_qty: Number | None = None,
        limit_price: Number | None = None,
        reduce_only: bool | None = None,
        cl_ord_id: str | None = None,
        order_userref: int | None = None,
        validate: bool | None = None,
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
        client_order_id: str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
        order_qty: Number | None = None,
        limit_price: Number | None = None,
        reduce_only: bool | None = None,
        cl_ord_id: str | None = None,
        order_userref: int | None = None,
        validate: bool | None = None,
        **extra: Any,
    ) -> int | WsResponse:
        """`add_order`: `amount` (base currency) at `price` (quote currency); Kraken's own
        names `order_qty` / `limit_price` / `cl_ord_id` work too. `client_order_id` (Kraken's
        `cl_ord_id`) is a uuid4 hex when absent. Any other add_order field (`triggers`,
        `expire_time`, `deadline`, `display_qty`, `fee_preference`, `stp_type`, `margin`,
        ...) passes through as a keyword. Returns the `req_id` once the frame is on the
        socket, or with `wait=True` the `WsResponse` (`.order_id` is Kraken's order id)."""
        params = self._add_order_params(
            symbol,
            side,
            order_qty if order_qty is not None else amount,
            limit_price if limit_price is not None else price,
            order_type,
            post_only,
            time_in_force,
            client_order_id if client_order_id is not None else cl_ord_id,
            reduce_only,
            order_userref,
            validate,
            extra,
        )
        return await self._request("add_order", params, req_id, callback, wait, timeout)

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
        order_qty: Number | None = None,
        limit_price: Number | None = None,
        reduce_only: bool | None = None,
        cl_ord_id: str | None = None,
        order_userref: int | None = None,
        validate: bool | None = None,
        **extra: Any,
    ) -> int:
        """`place_order` without awaiting: the same `add_order` frame, on the socket when this
        returns its `req_id`; `RateLimitError` at once when the local trading counter has no
        room (whatever `on_rate_limit` says: waiting needs an await)."""
        params = self._add_order_params(
            symbol,
            side,
            order_qty if order_qty is not None else amount,
            limit_price if limit_price is not None else price,
            order_type,
            post_only,
            time_in_force,
            client_order_id if client_order_id is not None else cl_ord_id,
            reduce_only,
            order_userref,
            validate,
            extra,
        )
        return self._request_nowait("add_order", params, req_id, callback, timeout)

    def _add_order_params(
        self,
        symbol: CurrencyPair | str,
        side: Side | str,
        qty: Number | None,
        price: Number | None,
        order_type: OrderType | str,
        post_only: bool,
        time_in_force: TimeInForce | str | None,
        cl_ord_id: str | None,
        reduce_only: bool | None,
        order_userref: int | None,
        validate: bool | None,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        if qty is None:
            raise InvalidOrderError("place_order needs amount= (or order_qty=)")
        params = self._order_fields(
            side,
            qty,
            order_type,
            price,
            time_in_force,
            post_only or None,
            reduce_only,
            cl_ord_id,
            order_userref,
            extra,
            symbol._symbols["kraken"]  # venue_symbol() inline for the common case
            if type(symbol) is CurrencyPair
            else venue_symbol(self.exchange, symbol),
        )
        if validate is not None:
            params["validate"] = bool(validate)
        return params

    @overload
    async def cancel_order(
        self,
        order_id: str | Sequence[str] | None = None,
        *,
        client_order_id: str | Sequence[str] | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[False] = False,
        timeout: float | None = None,
        cl_ord_id: str | Sequence[str] | None = None,
        order_userref: int | Sequence[int] | None = None,
    ) -> int: ...
    @overload
    async def cancel_order(
        self,
        order_id: str | Sequence[str] | None = None,
        *,
        client_order_id: str | Sequence[str] | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[True],
        timeout: float | None = None,
        cl_ord_id: str | Sequence[str] | None = None,
        order_userref: int | Sequence[int] | None = None,
    ) -> WsResponse: ...
    @overload
    async def cancel_order(
        self,
        order_id: str | Sequence[str] | None = None,
        *,
        client_order_id: str | Sequence[str] | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
        cl_ord_id: str | Sequence[str] | None = None,
        order_userref: int | Sequence[int] | None = None,
    ) -> int | WsResponse: ...
    async def cancel_order(
        self,
        order_id: str | Sequence[str] | None = None,
        *,
        client_order_id: str | Sequence[str] | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
        cl_ord_id: str | Sequence[str] | None = None,
        order_userref: int | Sequence[int] | None = None,
    ) -> int | WsResponse:
        """`cancel_order` by one kind of id: `order_id`, `client_order_id` (Kraken's
        `cl_ord_id`) or `order_userref`, each a single id or a list. Kraken answers once per
        id, so the callback fires once per id. `symbol` is not needed on Kraken (accepted for
        the same call on every venue)."""
        params, items = self._cancel_params(order_id, client_order_id, cl_ord_id, order_userref)
        return await self._request("cancel_order", params, req_id, callback, wait, timeout, items)

    def cancel_order_nowait(
        self,
        order_id: str | Sequence[str] | None = None,
        *,
        client_order_id: str | Sequence[str] | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        timeout: float | None = None,
        cl_ord_id: str | Sequence[str] | None = None,
        order_userref: int | Sequence[int] | None = None,
    ) -> int:
        """`cancel_order` without awaiting (one callback per id, as there)."""
        params, items = self._cancel_params(order_id, client_order_id, cl_ord_id, order_userref)
        return self._request_nowait("cancel_order", params, req_id, callback, timeout, items)

    @staticmethod
    def _cancel_params(
        order_id: str | Sequence[str] | None,
        client_order_id: str | Sequence[str] | None,
        cl_ord_id: str | Sequence[str] | None,
        order_userref: int | Sequence[int] | None,
    ) -> tuple[dict[str, Any], int]:
        client_ids = client_order_id if client_order_id is not None else cl_ord_id
        kinds = {
            "order_id": _ids(order_id, "order_id"),
            "cl_ord_id": _ids(client_ids, "client_order_id"),
            "order_userref": _ids(order_userref, "order_userref"),
        }
        given = {name: ids for name, ids in kinds.items() if ids}
        if len(given) != 1:
            raise InvalidOrderError(
                "cancel_order takes exactly one of order_id, client_order_id, order_userref"
            )
        ((name, ids),) = given.items()
        return {name: ids}, len(ids)

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
        cl_ord_id: str | None = None,
        order_qty: Number | None = None,
        limit_price: Number | None = None,
        **extra: Any,
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
        cl_ord_id: str | None = None,
        order_qty: Number | None = None,
        limit_price: Number | None = None,
        **extra: Any,
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
        cl_ord_id: str | None = None,
        order_qty: Number | None = None,
        limit_price: Number | None = None,
        **extra: Any,
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
        cl_ord_id: str | None = None,
        order_qty: Number | None = None,
        limit_price: Number | None = None,
        **extra: Any,
    ) -> int | WsResponse:
        """`amend_order` in place: keeps the order id and, where possible, queue priority.
        `amount` is the new total quantity (base currency, filled part included) and
        `price` the new limit price; either may be left out. Kraken requires the quantity
        on every amend, so when `amount` is absent the order's current quantity is sent, as
        known from its place, replies and `executions` events (an order this API never saw
        needs `amount=`)."""
        params = self._amend_params(
            order_id, client_order_id, cl_ord_id, order_qty, amount, limit_price, price, post_only
        )
        params.update(extra)
        return await self._request("amend_order", params, req_id, callback, wait, timeout)

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
        cl_ord_id: str | None = None,
        order_qty: Number | None = None,
        limit_price: Number | None = None,
        **extra: Any,
    ) -> int:
        """`amend_order` without awaiting (the same native `amend_order` frame)."""
        params = self._amend_params(
            order_id, client_order_id, cl_ord_id, order_qty, amount, limit_price, price, post_only
        )
        params.update(extra)
        return self._request_nowait("amend_order", params, req_id, callback, timeout)

    def _amend_params(
        self,
        order_id: str | None,
        client_order_id: str | None,
        cl_ord_id: str | None,
        order_qty: Number | None,
        amount: Number | None,
        limit_price: Number | None,
        price: Number | None,
        post_only: bool | None,
    ) -> dict[str, Any]:
        client_id = client_order_id if client_order_id is not None else cl_ord_id
        if (order_id is None) == (client_id is None):
            raise InvalidOrderError("amend_order takes exactly one of order_id, client_order_id")
        params: dict[str, Any] = {}
        if order_id is not None:
            params["order_id"] = order_id
        else:
            params["cl_ord_id"] = client_id
        qty = order_qty if order_qty is not None else amount
        new_price = limit_price if limit_price is not None else price
        if qty is None:
            known = self.orders.find(order_id, client_id)
            if known is None or known.amount is None:
                raise InvalidOrderError(
                    "Kraken's amend_order needs the order quantity: pass amount= (the order "
                    f"{order_id or client_id!r} was not placed or reported through this API)"
                )
            qty = known.amount
        if new_price is None and qty is None:
            raise InvalidOrderError("amend_order needs price= or amount=")
        params["order_qty"] = _positive(qty, "order_qty")
        if new_price is not None:
            params["limit_price"] = _positive(new_price, "limit_price")
        if post_only is not None:
            params["post_only"] = bool(post_only)
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
        """`cancel_all`: every open order of the account. With `symbol`, emulated: one
        `cancel_order` for the open orders known on that symbol, answered as one
        `cancel_all`-shaped reply (`result.count`)."""
        if symbol is None:
            return await self._request("cancel_all", {}, req_id, callback, wait, timeout)
        pair = venue_symbol(self.exchange, symbol)

        async def run(budget: float) -> dict[str, Any]:
            ids = [o.order_id for o in self.orders.open_orders(pair) if o.order_id is not None]
            reply: dict[str, Any] = {"method": "cancel_all", "success": True}
            if ids:
                done = await self._sub_request("cancel_order", {"order_id": ids}, budget, len(ids))
                failed = [r.get("error") for r in done.replies if not r.get("success")]
                reply["result"] = {"count": len(ids) - len(failed)}
                if failed:
                    reply["success"] = False
                    reply["error"] = "; ".join(map(str, failed))
            else:
                reply["result"] = {"count": 0}
            return reply

        return await self._composite(
            "cancel_all", {"symbol": pair}, req_id, callback, wait, timeout, run
        )

    async def cancel_all_orders_after(
        self,
        timeout_seconds: int,
        *,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """Dead man's switch: cancels everything `timeout_seconds` from now unless renewed;
        0 disarms it."""
        if isinstance(timeout_seconds, bool) or not 0 <= int(timeout_seconds) < 86400:
            raise InvalidOrderError("timeout_seconds must be in [0, 86400)")
        params = {"timeout": int(timeout_seconds)}
        return await self._request(
            "cancel_all_orders_after", params, req_id, callback, wait, timeout
        )

    async def batch_add(
        self,
        symbol: CurrencyPair | str,
        orders: Sequence[dict[str, Any]],
        *,
        validate: bool | None = None,
        deadline: str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """`batch_add`: 2..15 orders on one symbol. Each order is a dict with `side`,
        `amount`/`order_qty`, `price`/`limit_price`, `order_type` (default limit) and any
        add_order field. Kraken answers once with the results in request order."""
        if not 2 <= len(orders) <= 15:
            raise InvalidOrderError("batch_add takes 2 to 15 orders")
        built = []
        for order in orders:
            spec = dict(order)
            qty = spec.pop("order_qty", None)
            qty = spec.pop("amount", None) if qty is None else qty
            price = spec.pop("limit_price", None)
            price = spec.pop("price", None) if price is None else price
            if qty is None:
                raise InvalidOrderError(f"batch_add order without amount: {order!r}")
            built.append(
                self._order_fields(
                    side=spec.pop("side", ""),
                    order_qty=qty,
                    order_type=spec.pop("order_type", OrderType.LIMIT),
                    limit_price=price,
                    time_in_force=spec.pop("time_in_force", None),
                    post_only=spec.pop("post_only", None),
                    reduce_only=spec.pop("reduce_only", None),
                    cl_ord_id=spec.pop("cl_ord_id", None),
                    order_userref=spec.pop("order_userref", None),
                    extra=spec,
                )
            )
        params: dict[str, Any] = {"symbol": venue_symbol(self.exchange, symbol), "orders": built}
        if validate is not None:
            params["validate"] = bool(validate)
        if deadline is not None:
            params["deadline"] = deadline
        return await self._request("batch_add", params, req_id, callback, wait, timeout)

    async def batch_cancel(
        self,
        orders: Sequence[str] | None = None,
        *,
        cl_ord_id: Sequence[str] | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """`batch_cancel`: 2..50 order ids (or userrefs as strings) and/or client ids."""
        ids = [str(o) for o in orders or []]
        client_ids = list(cl_ord_id or [])
        if not 2 <= len(ids) + len(client_ids) <= 50:
            raise InvalidOrderError("batch_cancel takes 2 to 50 ids")
        params: dict[str, Any] = {}
        if ids:
            params["orders"] = ids
        if client_ids:
            params["cl_ord_id"] = client_ids
        return await self._request("batch_cancel", params, req_id, callback, wait, timeout)

    async def ping(self, timeout: float = 5.0) -> dict[str, Any]:
        """Application-level ping; returns Kraken's pong."""
        return await self._internal_request("ping", None, timeout)

    async def close(self) -> None:
        """Closes as `WsApiBase.close()` does, stops a token refresh in progress, and closes the
        REST API when this object made it (not one passed as `rest_api=`)."""
        await super().close()
        if self._token_refresh is not None:
            self._token_refresh.cancel()
        if self._own_rest:
            await self._rest.close()
