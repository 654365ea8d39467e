"""Binance spot WebSocket API (`wss://ws-api.binance.com:443/ws-api/v3`): order entry.

Frames are `{"id","method","params"}`; replies `{"id","status","result"|"error","rateLimits"}`
(reference/binance.md §3). Authentication, per connection:

* with an Ed25519 key, `session.logon` on every (re)connect, then requests carry only
  `timestamp` (and `recvWindow`);
* otherwise (HMAC secret, or `logon=False`) every signed request carries `apiKey`,
  `timestamp`, `recvWindow` and a `signature` over the sorted `k=v&...` of its params (§4).

Signing runs in Rust (`hftpy._core`). `timestamp` is the local clock plus the server-time
offset measured with `time` at each connect and again after a `-1021` reply. Every reply's
`rateLimits` tightens the process-wide limiter; a 429/418 `retryAfter` blocks it until then,
and the reply itself reaches the caller as the venue's error. The user data stream
(`executionReport`, `outboundAccountPosition`, ...) is subscribed on every connect and handed
to listeners and queues.

Local outcomes keep Binance's error shape: `{"id": req_id, "method": ..., "status": 0,
"error": {"code": 0, "msg": "hftpy:timeout" | "hftpy:disconnected" | "hftpy:rate_limited"}}`.
With `on_rate_limit="wait"` a refused request waits for its budget (never longer than its
timeout); requests that had to wait may leave in another order than they were made (a cancel
issued meanwhile, which costs no ORDERS budget, goes first). Requests that never wait keep
call order.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, overload

import msgspec

from hftpy._core import BinanceFrames, RateLimiter, number_text, parse_natural
from hftpy.common import CurrencyPair, Exchange, OrderType, Side, TimeInForce, venue_symbol
from hftpy.errors import AuthError, ConfigError, DecimalError, HftpyError, InvalidOrderError
from hftpy.exchange.binance.events import parse as parse_execution_report
from hftpy.exchange.binance.limits import BinanceRateLimits
from hftpy.exchange.binance.rest import (
    AUTH_CODES,
    TESTNET_WS_API_URL,
    BinanceRestApi,
    load_ed25519_key,
    make_signer,
)
from hftpy.exchange.codec import DECODER, ENCODER
from hftpy.exchange.endpoints import credentials, credentials_error, endpoint
from hftpy.exchange.frames import STYLE_BINANCE
from hftpy.exchange.ids import new_client_order_id
from hftpy.exchange.orders import OrderStatus, OrderUpdate, decimal_or_none, id_text
from hftpy.exchange.tracker import TrackedOrder
from hftpy.exchange.ws_api import WsApiBase, WsCallback, WsResponse, _Pending
from hftpy.redact import Secret

__all__ = ["BinanceWsApi"]

log = logging.getLogger("hftpy.binance")

Number = int | float | Decimal | str


_time_ns = time.time_ns
_INF = math.inf

_SIDES = {"buy": "BUY", "sell": "SELL", "BUY": "BUY", "SELL": "SELL"}
_ORDER_TYPES: dict[str, str] = {
    OrderType.LIMIT.value: "LIMIT",
    OrderType.MARKET.value: "MARKET",
    OrderType.STOP_LOSS.value: "STOP_LOSS",
    OrderType.STOP_LOSS_LIMIT.value: "STOP_LOSS_LIMIT",
    OrderType.TAKE_PROFIT.value: "TAKE_PROFIT",
    OrderType.TAKE_PROFIT_LIMIT.value: "TAKE_PROFIT_LIMIT",
    "limit_maker": "LIMIT_MAKER",
}
_ORDER_TYPES |= {v: v for v in list(_ORDER_TYPES.values())}
_TIME_IN_FORCE = {
    "gtc": "GTC",
    "ioc": "IOC",
    "fok": "FOK",
    "GTC": "GTC",
    "IOC": "IOC",
    "FOK": "FOK",
}
_NEEDS_PRICE = frozenset(("LIMIT", "LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"))
_NEEDS_TIF = frozenset(("LIMIT", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"))
_STOPS = frozenset(("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"))

#: Methods that need `timestamp` (+ `apiKey`/`signature` unless the session is logged on).
_SIGNED = frozenset(
    (
        "order.place",
        "order.cancel",
        "order.cancelReplace",
        "order.amend.keepPriority",
        "openOrders.cancelAll",
        "openOrders.status",
        "order.status",
        "session.logon",
        "userDataStream.subscribe.signature",
    )
)
#: Signed in full even on a logged-on session.
_ALWAYS_SIGNED = frozenset(("session.logon", "userDataStream.subscribe.signature"))
#: Refusals that mean the credentials are wrong (a bad key, format or signature, a key not
#: allowed the method): `AuthError`, retried slowly. -1002 is "not authorized".
_AUTH_CODES = AUTH_CODES | {-1002}
_FINAL_STATUSES = frozenset(("FILLED", "CANCELED", "REJECTED", "EXPIRED", "EXPIRED_IN_MATCH"))
#: Binance's order statuses in hftpy's terms.
STATUSES: dict[str, OrderStatus] = {
    "PENDING_NEW": OrderStatus.PENDING,
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "PENDING_CANCEL": OrderStatus.NEW,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}
_TYPE_NAMES = {"LIMIT": "limit", "MARKET": "market", "LIMIT_MAKER": "limit_maker"}
# Read on the order path as globals (an enum member costs ~60 ns to look up on CPython 3.11).
_SIDE_OF = {"BUY": Side.BUY, "SELL": Side.SELL}
_NEW = OrderStatus.NEW


def _decimal_text(value: Number, name: str) -> str:
    """A positive price or quantity as the exact decimal text sent and signed (floats by
    their shortest repr, `Decimal`/`str` digit for digit; no exponent)."""
    text = number_text(value, STYLE_BINANCE)  # Rust, the same rules, the common forms
    if text is not None:
        return text
    if type(value) is float:
        if not 0.0 < value < _INF:
            raise InvalidOrderError(f"{name} must be positive and finite, got {value!r}")
        text = repr(value)
        return text if "e" not in text else format(Decimal(text), "f")
    if isinstance(value, bool):
        raise InvalidOrderError(f"{name} must be a number, got {value!r}")
    if isinstance(value, int):
        if value <= 0:
            raise InvalidOrderError(f"{name} must be positive, got {value!r}")
        return str(value)
    if isinstance(value, float):
        return _decimal_text(float(value), name)
    if not isinstance(value, str | Decimal):
        raise InvalidOrderError(f"{name} must be a number, got {type(value).__name__}")
    text = str(value).strip()
    try:
        parse_natural(text)  # the Rust reader: exact digits, typed error on junk or overflow
        number = Decimal(text)
    except (DecimalError, InvalidOperation):
        raise InvalidOrderError(f"{name}={value!r} is not a decimal number") from None
    if not number.is_finite() or number <= 0:
        raise InvalidOrderError(f"{name} must be positive, got {value!r}")
    return text if text.replace(".", "", 1).isdigit() else format(number, "f")


def _order_ref(
    order_id: int | str | None, cl_ord_id: str | None, id_name: str, cl_name: str
) -> dict[str, Any]:
    if (order_id is None) == (cl_ord_id is None):
        raise InvalidOrderError("give exactly one of order_id, cl_ord_id")
    if order_id is not None:
        if isinstance(order_id, bool) or not str(order_id).isdigit():
            raise InvalidOrderError(f"Binance order ids are integers, got {order_id!r}")
        return {id_name: int(order_id)}
    return {cl_name: str(cl_ord_id)}


def _order_update(item: dict[str, Any]) -> OrderUpdate:
    """An `order.status` / `openOrders.status` entry as an `OrderUpdate`."""
    filled = decimal_or_none(item.get("executedQty"))
    quote = decimal_or_none(item.get("cummulativeQuoteQty"))
    amount = decimal_or_none(item.get("origQty"))
    status = STATUSES.get(item.get("status", ""), OrderStatus.NEW)
    return OrderUpdate(
        exchange=Exchange.BINANCE,
        symbol=item.get("symbol", ""),
        order_id=id_text(item.get("orderId")),
        client_order_id=id_text(item.get("clientOrderId")),
        side=Side.BUY if item.get("side") == "BUY" else Side.SELL,
        status=status,
        price=decimal_or_none(item.get("price")),
        amount=amount,
        filled=filled,
        remaining=None
        if amount is None
        else (amount - (filled or 0) if status.is_open else Decimal(0)),
        order_type=_TYPE_NAMES.get(item.get("type", ""), str(item.get("type", "")).lower()),
        avg_price=quote / filled if quote is not None and filled else None,
        exch_ns=int(item.get("updateTime") or item.get("time") or 0) * 1_000_000,
        recv_ns=_time_ns(),
        raw=item,
    )


def _open_quantity(order: TrackedOrder, new_total: str | None) -> Decimal:
    """What a replacing order must be for: the new total (or the old one) less what filled."""
    total = Decimal(new_total) if new_total is not None else order.amount
    if total is None:
        raise InvalidOrderError("binance: the order's quantity is unknown here: pass amount=")
    remaining = total - (order.filled or 0)
    if remaining <= 0:
        raise InvalidOrderError(
            f"binance: amount {total} is not above the {order.filled} already filled"
        )
    return remaining


class BinanceWsApi(WsApiBase):
    """Binance WS API trading. Create through `hftpy.exchange.create_exchange_ws_api`."""

    exchange = Exchange.BINANCE
    #: User data events are delivered by their `e`: `executionReport`,
    #: `outboundAccountPosition`, `balanceUpdate`, `listStatus`, `eventStreamTerminated`, ...
    execution_channel = "executionReport"
    order_event_parser = staticmethod(parse_execution_report)
    order_event_channels = ("executionReport",)

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        ed25519_key: str | None = None,
        url: str | None = None,
        rest_url: str | None = None,
        testnet: bool = False,
        account: str = "default",
        request_timeout: float = 10.0,
        rest_api: BinanceRestApi | None = None,
        user_data: bool = True,
        logon: bool | None = None,
        recv_window: int | None = 5000,
        on_rate_limit: Literal["wait", "raise"] = "wait",
        rate_limiter: RateLimiter | None = None,
        public_only: bool = False,
    ) -> None:
        """Credentials: `api_key` and `api_secret` (HMAC) or `ed25519_key`, else the
        `HFTPY_BINANCE_*` environment; without them `ConfigError`. `public_only=True` makes
        the one key-less WS API, for the unsigned methods only (`ping`, `time`; no user
        data stream): it reads no credentials, and a signed request (`order.place`, ...)
        raises `ConfigError` before it takes a req_id or rate-limit budget.
        `ed25519_key`: PEM, PEM path or base64 seed (else `HFTPY_BINANCE_ED25519_KEY`);
        with it the connection logs on (`logon=False`: per-request Ed25519 signatures).
        `testnet=True` selects Binance's spot testnet unless `url` is given.
        `on_rate_limit`: when the limiter is exhausted, `"wait"` for budget (at most the
        request's timeout) or `"raise"` at once (`hftpy:rate_limited`). `rate_limiter`:
        a `RateLimiter` with cells named like `ORDERS_10S`, `ORDERS_1D`,
        `REQUEST_WEIGHT_1M`; default the process-wide one."""
        ws_url = url or (TESTNET_WS_API_URL if testnet else endpoint(self.exchange, "ws_api"))
        super().__init__(url=ws_url, account=account, request_timeout=request_timeout)
        if on_rate_limit not in ("wait", "raise"):
            raise ConfigError(f"on_rate_limit must be 'wait' or 'raise', not {on_rate_limit!r}")
        if recv_window is not None and not 0 < recv_window <= 60000:
            raise ConfigError("recv_window must be in (0, 60000] ms")
        if not public_only:
            self.api_key, secret = credentials(self.exchange, api_key, api_secret)
            ed_key = load_ed25519_key(ed25519_key)
            missing = [] if self.api_key is not None else ["api_key"]
            if secret is None and ed_key is None:
                missing.append("api_secret")
            if missing:
                raise credentials_error(
                    self.exchange, missing, note="public_only=True for the unsigned methods only"
                )
        else:
            given = [
                name
                for name, value in (
                    ("api_key", api_key),
                    ("api_secret", api_secret),
                    ("ed25519_key", ed25519_key),
                )
                if value is not None
            ]
            if given:
                raise ConfigError(f"binance public_only=True takes no {', '.join(given)}")
            self.api_key, secret, ed_key = None, None, None
        #: Whether this API is for the unsigned methods only (made without credentials).
        self.public_only = public_only
        if logon and ed_key is None:
            raise ConfigError("binance session.logon needs an Ed25519 key (ed25519_key=)")
        self._signer = make_signer(secret, ed_key)
        # Every signed method needs both (a session is logged on only with them).
        self._can_sign = self._signer is not None and self.api_key is not None
        self._logon_enabled = ed_key is not None and logon is not False
        self._api_key_text = self.api_key.reveal() if self.api_key is not None else ""
        self._rest = rest_api
        self.testnet = testnet
        self.recv_window = recv_window
        self.on_rate_limit = on_rate_limit
        self.rate_limits = BinanceRateLimits(rate_limiter)
        self.rate_limiter = self.rate_limits
        self._user_data = user_data
        self._logged_on = False
        #: Server time minus local time in ms, added to every `timestamp`.
        self.time_offset_ms = 0
        self._internal: dict[int, asyncio.Future[dict[str, Any]]] = {}
        #: Frames written in Rust, signed with the key held there (see `_encode`).
        self._frames = BinanceFrames(self._api_key_text or None, self._signer)
        self._tasks: set[asyncio.Task[None]] = set()
        self._remeasuring = False
        self._relogging = False
        #: The user data stream's `subscriptionId` on the current connection.
        self.subscription_id: int | None = None
        #: The `rateLimits` of the latest reply that had them.
        self.last_rate_limits: list[dict[str, Any]] | None = None

    @property
    def logged_on(self) -> bool:
        """Whether the current connection is authenticated by `session.logon`."""
        return self._logged_on

    # -- connection hooks --------------------------------------------------------------
    async def _on_connected(self) -> None:
        self._logged_on = False
        self.subscription_id = None
        await self.measure_time_offset()
        if self._logon_enabled:
            await self._logon()
        if self._user_data and self.api_key is not None and self._signer is not None:
            await self._subscribe_user_data()

    def _on_disconnected(self) -> None:
        super()._on_disconnected()
        self._logged_on = False
        self.subscription_id = None
        for future in self._internal.values():
            if not future.done():
                future.set_exception(ConnectionError("binance: disconnected"))

    async def _internal_request(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 10.0
    ) -> dict[str, Any]:
        """A request of the API's own (time, logon, subscribe), outside the user callbacks
        and their id sequence."""
        params = params if params is not None else {}
        self._validate(method, params)
        req_id = self._next_internal_id()
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._internal[req_id] = future
        self.rate_limits.limiter.try_acquire(self.rate_limits.costs(method))
        try:
            self._conn.send(self._encode(method, params, req_id))
            return await asyncio.wait_for(future, timeout)
        finally:
            self._internal.pop(req_id, None)

    async def measure_time_offset(self) -> int:
        """Measures `time_offset_ms` with the `time` method (midpoint of the round trip)."""
        before = _time_ns()
        reply = await self._internal_request("time")
        after = _time_ns()
        if reply.get("status") != 200:
            raise HftpyError(f"binance time failed: {reply.get('error')}")
        server_ms = int(reply["result"]["serverTime"])
        self.time_offset_ms = server_ms - (before + after) // 2_000_000
        return self.time_offset_ms

    async def _logon(self) -> None:
        for attempt in range(2):
            reply = await self._internal_request("session.logon")
            if reply.get("status") == 200:
                self._logged_on = True
                return
            error = reply.get("error") or {}
            if error.get("code") == -1021 and attempt == 0:
                await self.measure_time_offset()
                continue
            message = f"binance session.logon refused: {error.get('code')} {error.get('msg')}"
            if error.get("code") in _AUTH_CODES:
                raise AuthError(message)
            raise HftpyError(message)  # e.g. the clock still off: retried as a network error

    async def _subscribe_user_data(self) -> None:
        method = (
            "userDataStream.subscribe" if self._logged_on else "userDataStream.subscribe.signature"
        )
        reply = await self._internal_request(method)
        if reply.get("status") != 200:
            error = reply.get("error") or {}
            message = f"binance {method} refused: {error.get('code')} {error.get('msg')}"
            if error.get("code") in _AUTH_CODES:
                raise AuthError(message)
            raise HftpyError(message)
        self.subscription_id = reply["result"]["subscriptionId"]

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _remeasure(self) -> None:
        try:
            offset = await self.measure_time_offset()
            log.info("binance: server time offset re-measured after -1021: %d ms", offset)
        except Exception as exc:
            log.warning("binance: time offset re-measure failed: %s", exc)
        finally:
            self._remeasuring = False

    async def _relogon(self) -> None:
        """The session's key was refused (-2015): log on again, or reconnect."""
        try:
            await self._logon()
            if self._user_data and self.subscription_id is None:
                await self._subscribe_user_data()
            log.info("binance: logged on again after -2015")
        except Exception as exc:
            log.warning("binance: re-logon failed (%s); reconnecting", exc)
            self._conn.drop()
        finally:
            self._relogging = False

    # -- order bookkeeping -----------------------------------------------------------------
    reply_id_key = "id"
    order_methods = frozenset(
        (
            "order.place",
            "order.cancel",
            "order.cancelReplace",
            "order.amend.keepPriority",
            "openOrders.cancelAll",
        )
    )

    def _order_sent(self, method: str, params: dict[str, Any]) -> None:
        if method in ("order.place", "order.cancelReplace"):
            self.orders.sent(
                params["symbol"],
                params.get("newClientOrderId"),
                _SIDE_OF[params["side"]],
                _TYPE_NAMES.get(params["type"]) or params["type"].lower(),
                params.get("price"),
                params.get("quantity"),
            )

    def _order_reply(
        self, pending: _Pending, response: dict[str, Any]
    ) -> tuple[str | None, str | None, OrderStatus | None] | None:
        method = pending.method
        request = pending.params
        ok = response.get("status") == 200
        result = response.get("result")
        if method == "openOrders.cancelAll":
            for report in result if ok and isinstance(result, list) else ():
                order = self.orders.find(id_text(report.get("orderId")), None)
                if order is not None:
                    self.orders.cancelled(order)
            return None
        if method == "order.cancelReplace":
            data = result if ok else (response.get("error") or {}).get("data")
            data = data if isinstance(data, dict) else {}
            cancelled = data.get("cancelResponse") or {}
            if data.get("cancelResult") == "SUCCESS":
                old = self.orders.find(id_text(cancelled.get("orderId")), None)
                if old is not None:
                    self.orders.cancelled(old)
            new = data.get("newOrderResponse") or {}
            result = new
            ok = data.get("newOrderResult") == "SUCCESS"
            method = "order.place"
        item = result if isinstance(result, dict) else {}
        if method == "order.amend.keepPriority":
            item = item.get("amendedOrder") or {}
        order_id = id_text(item.get("orderId"))
        client_id = id_text(item.get("clientOrderId"))
        status = STATUSES.get(item.get("status", "")) if ok else None
        if method == "order.place":
            status = status or (_NEW if ok else None)  # an ACK reply has none
            client_id = client_id or id_text(request.get("newClientOrderId"))
            if ok:
                self.orders.acked(client_id, order_id, status, request["symbol"])
            else:
                self.orders.rejected(client_id, str(response.get("error")))
                status = OrderStatus.REJECTED
        elif method == "order.cancel" and ok:
            status = status or OrderStatus.CANCELLED
            order = self.orders.find(order_id, id_text(item.get("origClientOrderId")))
            if order is not None:
                self.orders.cancelled(order)
        elif method == "order.amend.keepPriority" and ok:
            order = self.orders.find(order_id, id_text(item.get("origClientOrderId")))
            if order is not None:
                self.orders.amended(order, None, item.get("qty") or request.get("newQty"))
                if client_id is not None and client_id != order.client_order_id:
                    self.orders.acked(client_id, order_id)
        return order_id, client_id, status

    async def _venue_open_orders(self) -> list[OrderUpdate]:
        reply = await self._internal_request("openOrders.status")
        if reply.get("status") != 200:
            raise HftpyError(f"binance openOrders.status failed: {reply.get('error')}")
        return [_order_update(item) for item in reply.get("result") or ()]

    async def _venue_order(self, order: TrackedOrder) -> OrderUpdate | None:
        params: dict[str, Any] = {"symbol": order.symbol}
        if order.order_id is not None:
            params["orderId"] = int(order.order_id)
        elif order.client_order_id is not None:
            params["origClientOrderId"] = order.client_order_id
        else:
            return None
        reply = await self._internal_request("order.status", params)
        if reply.get("status") != 200:  # -2013: the venue never saw it
            return None
        return _order_update(reply["result"])

    # -- inbound -------------------------------------------------------------------------
    def _on_frame(self, payload: memoryview | bytes, recv_ns: int, recv_mono: int) -> None:
        try:
            msg = DECODER.decode(payload)
        except msgspec.DecodeError:
            log.warning("binance: ignoring non-JSON frame %r", bytes(payload[:80]))
            return
        if type(msg) is not dict:
            return
        event = msg.get("event")
        if event is not None:
            self._on_event(event, recv_ns)
            return
        limits = msg.get("rateLimits")
        if limits:
            self.last_rate_limits = limits
            self.rate_limits.resync(limits)
        status = msg.get("status")
        if status != 200:
            self._on_error_reply(msg, status)
        req_id = msg.get("id")
        if req_id is None or self._complete(req_id, msg, recv_ns, recv_mono):
            return
        future = self._internal.get(req_id)
        if future is not None and not future.done():
            future.set_result(msg)

    def _on_error_reply(self, msg: dict[str, Any], status: Any) -> None:
        error = msg.get("error")
        if not isinstance(error, dict):
            return
        code = error.get("code")
        if code == -1021:
            if not self._remeasuring:
                self._remeasuring = True
                self._spawn(self._remeasure())
        elif status in (429, 418):
            self._honour_retry_after(code, error, status)
        elif code == -2015 and self._logged_on and self._logon_enabled:
            # Sign every request in full until the new logon succeeds.
            self._logged_on = False
            if not self._relogging:
                self._relogging = True
                self._spawn(self._relogon())

    def _honour_retry_after(self, code: Any, error: dict[str, Any], status: int) -> None:
        data = error.get("data") if isinstance(error.get("data"), dict) else {}
        assert isinstance(data, dict)
        now_ms = _time_ns() // 1_000_000 + self.time_offset_ms
        server_ms = data.get("serverTime", now_ms)
        retry_after = data.get("retryAfter")
        names: list[str] | None
        if code == -1015:  # too many new orders: the order windows
            names = ["ORDERS_1D"] if "DAY" in str(error.get("msg")) else ["ORDERS_10S"]
            window = 86_400_000 if names == ["ORDERS_1D"] else 10_000
            until = retry_after or (server_ms // window + 1) * window
        else:  # -1003 weight (429) or an IP ban (418): every request costs weight
            has_weight = self.rate_limits.index("REQUEST_WEIGHT_1M") is not None
            names = ["REQUEST_WEIGHT_1M"] if has_weight else None
            until = retry_after or server_ms + 1000
        seconds = max(0.0, (int(until) - int(server_ms)) / 1000)
        log.warning("binance: %s %s, blocking %s for %.3fs", status, code, names or "all", seconds)
        self.rate_limits.block(names, seconds)

    def _on_event(self, event: Any, recv_ns: int) -> None:
        if not isinstance(event, dict):
            return
        kind = event.get("e")
        if kind == "executionReport":
            self._remember(event)
        elif kind == "eventStreamTerminated":
            self.subscription_id = None
        elif kind == "serverShutdown":
            log.warning("binance: serverShutdown announced; the connection will be replaced")
        if isinstance(kind, str):
            self._deliver(kind, event, recv_ns)

    def _remember(self, report: dict[str, Any]) -> None:
        # Orders placed elsewhere (another session, the web UI) become known by their
        # reports, so they can be cancelled here without symbol=.
        self.orders.acked(id_text(report.get("c")), id_text(report.get("i")), None, report.get("s"))

    # -- the request path ----------------------------------------------------------------
    def _validate(self, method: str, params: dict[str, Any]) -> None:
        # Refused before the limiter is charged: a request that cannot be signed costs
        # no budget and takes no req_id.
        if method in _SIGNED and not self._can_sign:
            raise ConfigError(f"binance {method} needs api_key and api_secret or an Ed25519 key")

    async def _rate_limit_wait(
        self, method: str, params: dict[str, Any], timeout: float | None
    ) -> bool:
        if self.on_rate_limit == "raise":
            return False
        budget = self.request_timeout if timeout is None else timeout
        return await self.rate_limits.acquire(method, budget)

    def _encode(self, method: str, params: dict[str, Any], req_id: int) -> bytes:
        # Signing needs the final params, so it happens here, just before the send: one Rust
        # call writes the frame from the params as they are, signing the sorted `k=v&...` when
        # the session is not logged on; the generic encoding only for what it leaves out. The
        # Secrets go into `params` (what callbacks see) after.
        if method not in _SIGNED:
            frame = self._frames.build(method, params, req_id, False)
            return frame if frame is not None else self._encode_generic(method, params, req_id)
        params["timestamp"] = _time_ns() // 1_000_000 + self.time_offset_ms  # `_stamp` inline
        if self.recv_window is not None:
            params["recvWindow"] = self.recv_window
        if self._logged_on and method not in _ALWAYS_SIGNED:
            frame = self._frames.build(method, params, req_id, False)
            return frame if frame is not None else self._encode_plain(method, params, req_id)
        built = self._frames.build(method, params, req_id, True)
        if built is None:
            return self._encode_signed(method, params, req_id)
        frame, signature = built
        params["apiKey"] = self.api_key
        params["signature"] = Secret(signature)
        return frame

    def _stamp(self, params: dict[str, Any]) -> None:
        params["timestamp"] = _time_ns() // 1_000_000 + self.time_offset_ms
        if self.recv_window is not None:
            params["recvWindow"] = self.recv_window

    def _encode_generic(self, method: str, params: dict[str, Any], req_id: int) -> bytes:
        """The frame by the Python path alone (what `_encode` gives, the reference for it)."""
        if method not in _SIGNED:
            return self._encode_plain(method, params, req_id)
        self._stamp(params)
        if self._logged_on and method not in _ALWAYS_SIGNED:
            return self._encode_plain(method, params, req_id)
        return self._encode_signed(method, params, req_id)

    def _encode_signed(self, method: str, params: dict[str, Any], req_id: int) -> bytes:
        signer = self._signer
        if signer is None or self.api_key is None:
            raise ConfigError(f"binance {method} needs api_key and api_secret or an Ed25519 key")
        params["apiKey"] = self._api_key_text
        payload = "&".join([f"{k}={params[k]}" for k in sorted(params)])
        signature = signer.sign(payload.encode())
        params["signature"] = signature
        body = ENCODER.encode(params)
        params["apiKey"] = self.api_key
        params["signature"] = Secret(signature)
        return b'{"id":%d,"method":"%s","params":%s}' % (req_id, method.encode(), body)

    @staticmethod
    def _encode_plain(method: str, params: dict[str, Any], req_id: int) -> bytes:
        if not params:
            return b'{"id":%d,"method":"%s"}' % (req_id, method.encode())
        body = ENCODER.encode(params)
        return b'{"id":%d,"method":"%s","params":%s}' % (req_id, method.encode(), body)

    def _reply_ok(self, response: dict[str, Any]) -> bool:
        return response.get("status") == 200

    def _local_response(self, pending: _Pending, error: str) -> dict[str, Any]:
        # Binance's error shape, with the method so a shared callback can tell them apart.
        return {
            "id": pending.request_id,
            "method": pending.method,
            "status": 0,
            "error": {"code": 0, "msg": error},
        }

    def _order_params(
        self,
        params: dict[str, Any],
        side: Side | str,
        order_type: OrderType | str,
        quantity: Number | None,
        quote_order_qty: Number | None,
        price: Number | None,
        time_in_force: TimeInForce | str | None,
        post_only: bool | None,
        stop_price: Number | None,
        cl_ord_id: str | None,
        cl_ord_id_name: str,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        """A new order's params in Binance's names, validated locally (positional arguments
        on the order path: this runs before every send). Prices and quantities become their
        exact text, by Rust for the common forms (`_decimal_text` for the others)."""
        side_text = _SIDES.get(side)
        if side_text is None:
            side_text = _SIDES.get(str(side).lower())
            if side_text is None:
                raise InvalidOrderError(f"side must be buy or sell, got {side!r}")
        kind = _ORDER_TYPES.get(order_type) or _ORDER_TYPES.get(str(order_type).lower())
        if kind is None:
            raise InvalidOrderError(f"unknown order_type {order_type!r} for Binance")
        if post_only:
            if kind not in ("LIMIT", "LIMIT_MAKER"):
                raise InvalidOrderError("post_only needs a limit order (Binance LIMIT_MAKER)")
            kind = "LIMIT_MAKER"
        params["side"] = side_text
        params["type"] = kind
        if kind in _NEEDS_TIF:
            if time_in_force is None:
                params["timeInForce"] = "GTC"
            else:
                tif = _TIME_IN_FORCE.get(time_in_force) or _TIME_IN_FORCE.get(
                    str(time_in_force).lower()
                )
                if tif is None:
                    raise InvalidOrderError(f"time_in_force {time_in_force!r}: GTC, IOC or FOK")
                params["timeInForce"] = tif
        elif time_in_force is not None and str(time_in_force).lower() != "gtc":
            raise InvalidOrderError(f"a Binance {kind} order takes no time_in_force")
        if price is not None:
            if kind not in _NEEDS_PRICE:
                raise InvalidOrderError(f"a Binance {kind} order takes no price")
            params["price"] = number_text(price, STYLE_BINANCE) or _decimal_text(price, "price")
        elif kind in _NEEDS_PRICE:
            raise InvalidOrderError(f"a {kind} order needs a price")
        if quantity is not None:
            text = number_text(quantity, STYLE_BINANCE)
            params["quantity"] = text or _decimal_text(quantity, "quantity")
        if quote_order_qty is not None:
            if kind != "MARKET":
                raise InvalidOrderError("quote_order_qty is for MARKET orders")
            params["quoteOrderQty"] = _decimal_text(quote_order_qty, "quote_order_qty")
        if quantity is None and quote_order_qty is None:
            raise InvalidOrderError("place_order needs amount= (or quantity=/quote_order_qty=)")
        if stop_price is not None:
            params["stopPrice"] = _decimal_text(stop_price, "stop_price")
        elif kind in _STOPS and "trailingDelta" not in extra:
            raise InvalidOrderError(f"a {kind} order needs stop_price= (or trailingDelta=)")
        # Assigned when absent, so a strategy can find its order again from any reply.
        client_id = cl_ord_id or new_client_order_id()
        params[cl_ord_id_name] = client_id
        for name, value in extra.items():
            params[name] = ("true" if value else "false") if isinstance(value, bool) else value
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
        quantity: Number | None = None,
        quote_order_qty: Number | None = None,
        cl_ord_id: str | None = None,
        stop_price: Number | None = None,
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
        quantity: Number | None = None,
        quote_order_qty: Number | None = None,
        cl_ord_id: str | None = None,
        stop_price: Number | None = None,
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
        quantity: Number | None = None,
        quote_order_qty: Number | None = None,
        cl_ord_id: str | None = None,
        stop_price: Number | None = None,
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
        quantity: Number | None = None,
        quote_order_qty: Number | None = None,
        cl_ord_id: str | None = None,
        stop_price: Number | None = None,
        **extra: Any,
    ) -> int | WsResponse:
        """`order.place`: `amount` (base currency, Binance's `quantity`) at `price` (quote
        currency); `post_only` makes a LIMIT a LIMIT_MAKER; `client_order_id` is
        `newClientOrderId` (a uuid4 hex when absent). Any other Binance parameter passes
        through by its own name (`newOrderRespType`, `icebergQty`,
        `selfTradePreventionMode`, `strategyId`, `trailingDelta`, ...). Returns the
        `req_id` once the frame is on the socket, or with `wait=True` the `WsResponse`
        (`.order_id` is Binance's `orderId` as a string)."""
        params = self._place_params(
            symbol,
            side,
            quantity if quantity is not None else amount,
            price,
            order_type,
            post_only,
            time_in_force,
            client_order_id if client_order_id is not None else cl_ord_id,
            quote_order_qty,
            stop_price,
            extra,
        )
        return await self._request("order.place", params, req_id, callback, wait, timeout)

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
        quantity: Number | None = None,
        quote_order_qty: Number | None = None,
        cl_ord_id: str | None = None,
        stop_price: Number | None = None,
        **extra: Any,
    ) -> int:
        """`place_order` without awaiting: the same `order.place` frame (signed the same way),
        on the socket when this returns its `req_id`; `RateLimitError` at once when the
        limiter has no room (whatever `on_rate_limit` says: waiting needs an await)."""
        params = self._place_params(
            symbol,
            side,
            quantity if quantity is not None else amount,
            price,
            order_type,
            post_only,
            time_in_force,
            client_order_id if client_order_id is not None else cl_ord_id,
            quote_order_qty,
            stop_price,
            extra,
        )
        return self._request_nowait("order.place", params, req_id, callback, timeout)

    def _place_params(
        self,
        symbol: CurrencyPair | str,
        side: Side | str,
        quantity: Number | None,
        price: Number | None,
        order_type: OrderType | str,
        post_only: bool,
        time_in_force: TimeInForce | str | None,
        cl_ord_id: str | None,
        quote_order_qty: Number | None,
        stop_price: Number | None,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        params: dict[str, Any] = {
            "symbol": symbol._symbols["binance"]  # venue_symbol() inline for the common case
            if type(symbol) is CurrencyPair
            else venue_symbol(self.exchange, symbol)
        }
        return self._order_params(
            params,
            side,
            order_type,
            quantity,
            quote_order_qty,
            price,
            time_in_force,
            post_only,
            stop_price,
            cl_ord_id,
            "newClientOrderId",
            extra,
        )

    @overload
    async def cancel_order(
        self,
        order_id: int | str | None = None,
        *,
        client_order_id: str | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[False] = False,
        timeout: float | None = None,
        cl_ord_id: str | None = None,
        new_cl_ord_id: str | None = None,
        cancel_restrictions: str | None = None,
    ) -> int: ...
    @overload
    async def cancel_order(
        self,
        order_id: int | str | None = None,
        *,
        client_order_id: str | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: Literal[True],
        timeout: float | None = None,
        cl_ord_id: str | None = None,
        new_cl_ord_id: str | None = None,
        cancel_restrictions: str | None = None,
    ) -> WsResponse: ...
    @overload
    async def cancel_order(
        self,
        order_id: int | str | None = None,
        *,
        client_order_id: str | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
        cl_ord_id: str | None = None,
        new_cl_ord_id: str | None = None,
        cancel_restrictions: str | None = None,
    ) -> int | WsResponse: ...
    async def cancel_order(
        self,
        order_id: int | str | None = None,
        *,
        client_order_id: str | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
        cl_ord_id: str | None = None,
        new_cl_ord_id: str | None = None,
        cancel_restrictions: str | None = None,
    ) -> int | WsResponse:
        """`order.cancel` by `order_id` (Binance's integer `orderId`) or `client_order_id`
        (`origClientOrderId`). `symbol` may be left out for every order placed through this
        API (remembered from the moment it is sent) or reported on its user data stream."""
        params = self._cancel_params(
            order_id, client_order_id, symbol, cl_ord_id, new_cl_ord_id, cancel_restrictions
        )
        return await self._request("order.cancel", params, req_id, callback, wait, timeout)

    def cancel_order_nowait(
        self,
        order_id: int | str | None = None,
        *,
        client_order_id: str | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        timeout: float | None = None,
        cl_ord_id: str | None = None,
        new_cl_ord_id: str | None = None,
        cancel_restrictions: str | None = None,
    ) -> int:
        """`cancel_order` without awaiting (the same `order.cancel` frame)."""
        params = self._cancel_params(
            order_id, client_order_id, symbol, cl_ord_id, new_cl_ord_id, cancel_restrictions
        )
        return self._request_nowait("order.cancel", params, req_id, callback, timeout)

    def _cancel_params(
        self,
        order_id: int | str | None,
        client_order_id: str | None,
        symbol: CurrencyPair | str | None,
        cl_ord_id: str | None,
        new_cl_ord_id: str | None,
        cancel_restrictions: str | None,
    ) -> dict[str, Any]:
        client_id = client_order_id if client_order_id is not None else cl_ord_id
        ref = _order_ref(order_id, client_id, "orderId", "origClientOrderId")
        params: dict[str, Any] = {
            "symbol": self._symbol_for(symbol, id_text(order_id), client_id),
            **ref,
        }
        if new_cl_ord_id is not None:
            params["newClientOrderId"] = new_cl_ord_id
        if cancel_restrictions is not None:
            params["cancelRestrictions"] = cancel_restrictions
        return params

    @overload
    async def amend_order(
        self,
        order_id: int | str | None = None,
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
        order_id: int | str | None = None,
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
        order_id: int | str | None = None,
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
        order_id: int | str | None = None,
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
        """Changes an order's price and/or quantity (`amount`: the new total, filled part
        included). A quantity decrease at the same price is native and keeps queue priority
        and the order id (`order.amend.keepPriority`); anything else is
        `order.cancelReplace` (STOP_ON_FAILURE): a new order, with a new `orderId` and client
        id, for the quantity still open, that `WsResponse.order_id` names. The cancel-replace
        needs the order's side and type, so it works for orders placed or reported here."""
        method, params = self._amend_params(
            order_id, client_order_id, price, amount, symbol, post_only
        )
        return await self._request(method, params, req_id, callback, wait, timeout)

    def amend_order_nowait(
        self,
        order_id: int | str | None = None,
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
        """`amend_order` without awaiting: the same `order.amend.keepPriority` or
        `order.cancelReplace` frame."""
        method, params = self._amend_params(
            order_id, client_order_id, price, amount, symbol, post_only
        )
        return self._request_nowait(method, params, req_id, callback, timeout)

    def _amend_params(
        self,
        order_id: int | str | None,
        client_order_id: str | None,
        price: Number | None,
        amount: Number | None,
        symbol: CurrencyPair | str | None,
        post_only: bool | None,
    ) -> tuple[str, dict[str, Any]]:
        if (order_id is None) == (client_order_id is None):
            raise InvalidOrderError("amend_order takes exactly one of order_id, client_order_id")
        if price is None and amount is None:
            raise InvalidOrderError("amend_order needs price= or amount=")
        oid = id_text(order_id)
        known = self.orders.find(oid, client_order_id)
        pair = self._symbol_for(symbol, oid, client_order_id)
        ref = _order_ref(order_id, client_order_id, "orderId", "origClientOrderId")
        new_qty = None if amount is None else _decimal_text(amount, "amount")
        same_price = price is None or (
            known is not None
            and known.price is not None
            and Decimal(_decimal_text(price, "price")) == known.price
        )
        decrease = new_qty is not None and (
            known is None or known.amount is None or Decimal(new_qty) < known.amount
        )
        if same_price and decrease and not post_only:
            return "order.amend.keepPriority", {"symbol": pair, **ref, "newQty": new_qty}
        if known is None or known.side is None:
            raise InvalidOrderError(
                f"binance: amending {oid or client_order_id!r} to a new price is a "
                "cancel-replace, which needs the order's side and type: it was not placed or "
                "reported through this API (use cancel_replace())"
            )
        open_qty = _open_quantity(known, new_qty)
        cancel_ref = _order_ref(
            order_id, client_order_id, "cancelOrderId", "cancelOrigClientOrderId"
        )
        params: dict[str, Any] = {
            "symbol": pair,
            "cancelReplaceMode": "STOP_ON_FAILURE",
            **cancel_ref,
        }
        kind = known.order_type or "limit"
        self._order_params(
            params,
            side=known.side,
            order_type="limit" if kind == "limit_maker" else kind,
            quantity=open_qty,
            quote_order_qty=None,
            price=price if price is not None else known.price,
            time_in_force=None,
            post_only=post_only if post_only is not None else kind == "limit_maker",
            stop_price=None,
            cl_ord_id=None,
            cl_ord_id_name="newClientOrderId",
            extra={},
        )
        return "order.cancelReplace", params

    async def cancel_replace(
        self,
        symbol: CurrencyPair | str,
        side: Side | str,
        amount: Number | None = None,
        price: Number | None = None,
        order_type: OrderType | str = OrderType.LIMIT,
        *,
        order_id: int | str | None = None,
        cl_ord_id: str | None = None,
        new_cl_ord_id: str | None = None,
        mode: Literal["STOP_ON_FAILURE", "ALLOW_FAILURE"] = "STOP_ON_FAILURE",
        quantity: Number | None = None,
        quote_order_qty: Number | None = None,
        time_in_force: TimeInForce | str | None = None,
        post_only: bool | None = None,
        stop_price: Number | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
        **extra: Any,
    ) -> Any:
        """`order.cancelReplace`: cancels `order_id`/`cl_ord_id` and places the new order
        (`new_cl_ord_id` assigned when absent). Not atomic at the venue: a 409 (-2021) reply
        is a partial success; its `error.data` tells which half failed."""
        if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
            raise InvalidOrderError(f"mode must be STOP_ON_FAILURE or ALLOW_FAILURE, not {mode!r}")
        ref = _order_ref(order_id, cl_ord_id, "cancelOrderId", "cancelOrigClientOrderId")
        params: dict[str, Any] = {
            "symbol": venue_symbol(self.exchange, symbol),
            "cancelReplaceMode": mode,
            **ref,
        }
        self._order_params(
            params,
            side=side,
            order_type=order_type,
            quantity=quantity if quantity is not None else amount,
            quote_order_qty=quote_order_qty,
            price=price,
            time_in_force=time_in_force,
            post_only=post_only,
            stop_price=stop_price,
            cl_ord_id=new_cl_ord_id,
            cl_ord_id_name="newClientOrderId",
            extra=extra,
        )
        return await self._request("order.cancelReplace", params, req_id, callback, wait, timeout)

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
        """`openOrders.cancelAll` on `symbol`. Binance has no all-symbols cancel: without a
        symbol this is emulated as one `openOrders.cancelAll` per symbol with open orders
        known here, answered as one reply whose `result` lists every cancel report."""
        if symbol is not None:
            params = {"symbol": venue_symbol(self.exchange, symbol)}
            return await self._request(
                "openOrders.cancelAll", params, req_id, callback, wait, timeout
            )

        async def run(budget: float) -> dict[str, Any]:
            symbols = self.orders.open_symbols()
            done: list[WsResponse] = await asyncio.gather(
                *(
                    self._sub_request("openOrders.cancelAll", {"symbol": pair}, budget)
                    for pair in symbols
                )
            )
            result: list[Any] = []
            errors = []
            for response in done:
                if response.ok:
                    result.extend(response.response.get("result") or [])
                else:
                    errors.append(response.response.get("error"))
            reply: dict[str, Any] = {"method": "openOrders.cancelAll", "status": 200}
            if errors:
                reply["status"] = 400
                reply["error"] = errors[0]
            reply["result"] = result
            return reply

        return await self._composite(
            "openOrders.cancelAll", {"symbol": None}, req_id, callback, wait, timeout, run
        )

    async def order_status(
        self,
        order_id: int | str | None = None,
        *,
        cl_ord_id: str | None = None,
        symbol: CurrencyPair | str | None = None,
        req_id: int | None = None,
        callback: WsCallback | None = None,
        wait: bool = False,
        timeout: float | None = None,
    ) -> Any:
        """`order.status` by `order_id` or `cl_ord_id` (weight 4)."""
        ref = _order_ref(order_id, cl_ord_id, "orderId", "origClientOrderId")
        params: dict[str, Any] = {
            "symbol": self._symbol_for(symbol, id_text(order_id), cl_ord_id),
            **ref,
        }
        return await self._request("order.status", params, req_id, callback, wait, timeout)

    async def ping(self, timeout: float = 5.0) -> dict[str, Any]:
        """The `ping` method; returns the venue's reply."""
        return await self._internal_request("ping", None, timeout)

    async def close(self) -> None:
        """Closes as `WsApiBase.close()` does, and cancels the background tasks started by error
        replies (the clock-offset re-measure after -1021, the re-logon after -2015)."""
        await super().close()
        for task in list(self._tasks):
            task.cancel()
