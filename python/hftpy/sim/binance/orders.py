"""The WS API's order methods (and so the signed REST order endpoints): `order.place` (LIMIT,
LIMIT_MAKER, MARKET; GTC / IOC / FOK), `order.cancel`, `order.cancelReplace`,
`order.amend.keepPriority`, `openOrders.cancelAll`, `order.status` (open and closed orders),
`openOrders.status`.

The numeric order parameters are checked as Binance checks them (request.py):
`strategyId` / `strategyType` are checked (-1134 under 1000000) but not shown back;
`stopPrice` / `trailingDelta` are -1106 (the simulated order types take none); `icebergQty`
and `quoteOrderQty` are not simulated (-1000).

`order.amend.keepPriority` reduces an order in place: it keeps its queue position, counts 0
towards ORDERS, costs weight 4 (also on success) and streams an `executionReport` with
`x: "REPLACED"`. Its refusals carry -2038 ORDER_AMEND_REJECTED with the messages of errors.md:
"Unknown order sent." (unknown or closed order), "Order amend (quantity increase) is not
supported." (`newQty` above the order's quantity), "The requested action would change no state;
rejecting." (`newQty` equal to it), "Duplicate order sent." (`newClientOrderId` held by another
open order); a `newQty` off the lot size or under the minimum fails LOT_SIZE (-1013).
UNVERIFIED: Binance's spot docs do not say what an amend to `newQty <= executedQty` does; the
simulator cancels the remainder (the order ends CANCELED, `x: "CANCELED"`), as Binance documents
for the same case on its futures `order.modify`. The REPLACED report carries the pre-amend
client id in `C`, as a cancel report does.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from ..engine import (
    Account,
    Engine,
    Instrument,
    Order,
    OrderEvent,
    OrderRejected,
    RejectReason,
    Side,
)
from ..errors import VenueError
from ..market import fillable
from .auth import KeyRing, Session
from .limits import RateLimiter
from .registry import OrderMeta, OrderRegistry
from .request import (
    Handler,
    Request,
    api_error,
    client_id_param,
    decimal_param,
    filter_failure,
    instrument_param,
    long_param,
    mandatory,
    not_required,
    random_client_id,
)
from .text import MAX_PRICE, MAX_QTY, price_text, qty_text, wire_amount

__all__ = ["OrderMethods", "OrderSpec", "read_order_spec"]

MSG_UNKNOWN_ORDER: Final = "Unknown order sent."
MSG_NO_SUCH_ORDER: Final = "Order does not exist."
MSG_DUPLICATE: Final = "Duplicate order sent."
MSG_AMEND_INCREASE: Final = "Order amend (quantity increase) is not supported."
MSG_AMEND_NO_CHANGE: Final = "The requested action would change no state; rejecting."
_REJECTS: Final = {
    RejectReason.INSUFFICIENT_FUNDS: "Account has insufficient balance for requested action.",
    RejectReason.POST_ONLY: "Order would immediately match and take.",
    RejectReason.DUPLICATE_CL_ORD_ID: MSG_DUPLICATE,
    RejectReason.UNKNOWN_ORDER: MSG_UNKNOWN_ORDER,
}


@dataclass(slots=True)
class OrderSpec:
    """A new order as checked, before it reaches the engine."""

    inst: Instrument
    side: str  # BUY / SELL
    type: str  # LIMIT / LIMIT_MAKER / MARKET
    tif: str  # GTC / IOC / FOK, "" for LIMIT_MAKER and MARKET
    lots: int
    price: int | None
    client_id: str
    resp_type: str


def read_order_spec(params: dict[str, Any], inst: Instrument) -> OrderSpec:
    """A new order's parameters, checked in Binance's order (side, type, timeInForce, the other
    numeric parameters, quantity, price, filters, client id, response type)."""
    side = params.get("side")
    if side is None:
        raise mandatory("side")
    if side not in ("BUY", "SELL"):
        raise api_error(400, -1117, "Invalid side.")
    type_ = params.get("type")
    if type_ is None:
        raise mandatory("type")
    if type_ not in ("LIMIT", "LIMIT_MAKER", "MARKET"):
        raise api_error(400, -1116, "Invalid orderType.")
    tif = params.get("timeInForce")
    if type_ == "LIMIT":
        if tif is None:
            raise mandatory("timeInForce")
        if tif not in ("GTC", "IOC", "FOK"):
            raise api_error(400, -1115, "Invalid timeInForce.")
    elif tif is not None:
        raise not_required("timeInForce")
    if params.get("quoteOrderQty") is not None:
        raise api_error(400, -1000, "quoteOrderQty is not simulated.")
    # The other numeric order parameters: checked as Binance checks them, then refused
    # where the simulated order types have no use for them.
    long_param(params, "strategyId")
    strategy_type = long_param(params, "strategyType")
    if strategy_type is not None and strategy_type < 1_000_000:
        raise api_error(400, -1134, "`strategyType` was less than 1000000.")
    if decimal_param(params, "stopPrice") is not None:
        raise not_required("stopPrice")  # LIMIT, LIMIT_MAKER and MARKET take none
    if long_param(params, "trailingDelta") is not None:
        raise not_required("trailingDelta")
    if decimal_param(params, "icebergQty") is not None:
        raise api_error(400, -1000, "icebergQty is not simulated.")
    qty = decimal_param(params, "quantity")
    if qty is None:
        raise mandatory("quantity")
    price = decimal_param(params, "price")
    if type_ == "MARKET":
        if price is not None:
            raise not_required("price")
    elif price is None:
        raise mandatory("price")
    lots = inst.qty_units(qty)
    if lots is None or qty < inst.min_qty or qty > MAX_QTY:
        raise filter_failure("LOT_SIZE")
    price_units: int | None = None
    if price is not None:
        price_units = inst.price_units(price)
        if (
            price_units is None
            or price_units <= 0
            or price_units % inst.tick_units
            or price > MAX_PRICE
        ):
            raise filter_failure("PRICE_FILTER")
    reference = price if price is not None else inst.mid
    if reference * qty < inst.min_cost:
        raise filter_failure("NOTIONAL")
    client_id = client_id_param(params, "newClientOrderId")
    resp_type = params.get("newOrderRespType")
    if resp_type is None:
        resp_type = "FULL" if type_ in ("LIMIT", "MARKET") else "ACK"
    elif resp_type not in ("ACK", "RESULT", "FULL"):
        raise api_error(400, -1100, "Invalid newOrderRespType.")
    return OrderSpec(inst, side, type_, tif or "", lots, price_units, client_id, str(resp_type))


class OrderMethods:
    """The order methods of the WS API, over the engine and the registry of Binance's orders.

    `on_event` is where the engine's order events go (the user data streams); an order that
    never reaches the engine (a FOK that cannot fill) has its events sent there directly.
    """

    def __init__(
        self,
        engine: Engine,
        registry: OrderRegistry,
        keys: KeyRing,
        limiter: RateLimiter,
        on_event: Callable[[OrderEvent], None],
    ) -> None:
        self.engine = engine
        self.registry = registry
        self.keys = keys
        self.limiter = limiter
        self.on_event = on_event

    def methods(self) -> dict[str, Handler]:
        return {
            "order.place": self.place,
            "order.cancel": self.cancel,
            "order.cancelReplace": self.cancel_replace,
            "openOrders.cancelAll": self.cancel_all,
            "order.status": self.status,
            "order.amend.keepPriority": self.amend_keep_priority,
            "openOrders.status": self.open_orders_status,
        }

    # ----- methods -----

    def place(self, conn: Session | None, req: Request) -> Any:
        key = self.keys.authenticate(conn, req)
        req.orders_counted = key.account  # the reply shows the ORDERS counts, even on failure
        inst = instrument_param(self.engine, req.params)
        spec = read_order_spec(req.params, inst)
        self.limiter.count_order(key.account, req.now_ms)
        return self._execute(key.account, spec, req.now_ms)

    def cancel(self, conn: Session | None, req: Request) -> Any:
        key = self.keys.authenticate(conn, req)
        inst = instrument_param(self.engine, req.params)
        order = self.registry.find(key.account, req.params, inst, "orderId", "origClientOrderId")
        cancel_id = client_id_param(req.params, "newClientOrderId")
        if order is None or not order.is_open:
            raise api_error(400, -2011, MSG_UNKNOWN_ORDER)
        return self._cancel_one(order, cancel_id)

    def cancel_all(self, conn: Session | None, req: Request) -> Any:
        key = self.keys.authenticate(conn, req)
        inst = instrument_param(self.engine, req.params)
        orders = self.engine.open_orders(key.account, inst.symbol)
        if not orders:
            raise api_error(400, -2011, MSG_UNKNOWN_ORDER)
        return [self._cancel_one(order, random_client_id()) for order in orders]

    def status(self, conn: Session | None, req: Request) -> Any:
        """Open or final (FILLED, CANCELED, EXPIRED): the simulator remembers every order."""
        key = self.keys.authenticate(conn, req)
        inst = instrument_param(self.engine, req.params)
        order = self.registry.find(key.account, req.params, inst, "orderId", "origClientOrderId")
        if order is None:
            raise api_error(400, -2013, MSG_NO_SUCH_ORDER)
        return self.registry.status_report(order, self.registry.meta[order.order_id], req.now_ms)

    def open_orders_status(self, conn: Session | None, req: Request) -> Any:
        """The account's open orders, oldest first; all symbols when `symbol` is left out."""
        key = self.keys.authenticate(conn, req)
        symbol: str | None = None
        if req.params.get("symbol") is not None:
            symbol = instrument_param(self.engine, req.params).symbol
        registry = self.registry
        return [
            registry.status_report(order, registry.meta[order.order_id], req.now_ms)
            for order in self.engine.open_orders(key.account, symbol)
            if order.instrument.venue == "binance" and order.order_id in registry.meta
        ]

    def amend_keep_priority(self, conn: Session | None, req: Request) -> Any:
        """Reduce an open order's quantity in place: same orderId, same place in the queue."""
        key = self.keys.authenticate(conn, req)
        params = req.params
        inst = instrument_param(self.engine, params)
        new_qty = decimal_param(params, "newQty")
        if new_qty is None:
            raise mandatory("newQty")
        order = self.registry.find(key.account, params, inst, "orderId", "origClientOrderId")
        client_id = client_id_param(params, "newClientOrderId")
        lots = inst.qty_units(new_qty)
        if lots is None or lots <= 0 or new_qty < inst.min_qty:
            raise filter_failure("LOT_SIZE")
        if order is None or not order.is_open:
            raise api_error(400, -2038, MSG_UNKNOWN_ORDER)
        if lots == order.qty:
            raise api_error(400, -2038, MSG_AMEND_NO_CHANGE)
        if lots > order.qty:
            raise api_error(400, -2038, MSG_AMEND_INCREASE)
        meta = self.registry.meta[order.order_id]
        holder = self.engine.find_by_cl_ord_id(key.account, client_id)
        if holder is not None and holder is not order:
            raise api_error(400, -2038, MSG_DUPLICATE)
        orig_client_id = meta.client_id
        if lots <= order.filled:
            # The remainder goes: the order ends CANCELED (see the module docstring).
            meta.cancel_client_id = client_id
            self.engine.amend(order, qty=lots)
        else:
            self.engine.set_cl_ord_id(order, client_id)
            meta.orig_client_id, meta.client_id = orig_client_id, client_id
            self.engine.amend(order, qty=lots)  # emits the REPLACED report
        return {
            "transactTime": req.now_ms,
            "executionId": self.registry.execution_id,  # the `I` of the report just built
            "amendedOrder": {
                "symbol": inst.symbol,
                "orderId": meta.order_id,
                "orderListId": -1,
                "origClientOrderId": orig_client_id,
                "clientOrderId": client_id,
                "price": price_text(inst, order.price or 0),
                "qty": qty_text(inst, order.qty),
                "executedQty": qty_text(inst, order.filled),
                "preventedQty": "0.00000000",
                "quoteOrderQty": "0.00000000",
                "cumulativeQuoteQty": wire_amount(order.cum_cost),
                "status": self.registry.status_text(order, meta),
                "timeInForce": meta.tif or "GTC",
                "type": meta.type,
                "side": order.side.upper(),
                "workingTime": meta.working_ms,
                "selfTradePreventionMode": "EXPIRE_MAKER",
            },
        }

    def cancel_replace(self, conn: Session | None, req: Request) -> Any:
        key = self.keys.authenticate(conn, req)
        req.orders_counted = key.account
        params = req.params
        inst = instrument_param(self.engine, params)
        mode = params.get("cancelReplaceMode")
        if mode is None:
            raise mandatory("cancelReplaceMode")
        if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
            raise api_error(400, -1100, "Invalid cancelReplaceMode.")
        spec = read_order_spec(params, inst)
        cancel_id = client_id_param(params, "cancelNewClientOrderId")
        self.limiter.count_order(key.account, req.now_ms)
        order = self.registry.find(
            key.account, params, inst, "cancelOrderId", "cancelOrigClientOrderId"
        )
        cancel_response: dict[str, Any]
        if order is None or not order.is_open:
            cancel_ok = False
            cancel_response = {"code": -2011, "msg": MSG_UNKNOWN_ORDER}
        else:
            cancel_ok = True
            cancel_response = self._cancel_one(order, cancel_id)
        new_response: dict[str, Any] | None = None
        new_ok = False
        if cancel_ok or mode == "ALLOW_FAILURE":
            try:
                new_response = self._execute(key.account, spec, req.now_ms)
                new_ok = True
            except VenueError as exc:
                new_response = {"code": exc.code, "msg": exc.message}
        data = {
            "cancelResult": "SUCCESS" if cancel_ok else "FAILURE",
            "newOrderResult": "SUCCESS"
            if new_ok
            else ("FAILURE" if new_response is not None else "NOT_ATTEMPTED"),
            "cancelResponse": cancel_response,
            "newOrderResponse": new_response,
        }
        if cancel_ok and new_ok:
            return data
        if cancel_ok or new_ok:
            raise api_error(409, -2021, "Order cancel-replace partially failed.", data)
        raise api_error(400, -2022, "Order cancel-replace failed.", data)

    # ----- on the engine -----

    def _execute(self, account: Account, spec: OrderSpec, now_ms: int) -> dict[str, Any]:
        """Enter a validated order; its result in the requested response type."""
        inst = spec.inst
        side: Side = "buy" if spec.side == "BUY" else "sell"
        kwargs: dict[str, Any] = {
            "price": spec.price,
            "order_type": "market" if spec.type == "MARKET" else "limit",
            "time_in_force": "ioc" if spec.tif in ("IOC", "FOK") else "gtc",
            "post_only": spec.type == "LIMIT_MAKER",
            "cl_ord_id": spec.client_id,
        }
        tif_shown = spec.tif or "GTC"
        registry = self.registry
        meta: OrderMeta
        try:
            if (
                spec.tif == "FOK"
                and fillable(self.engine.book(inst.symbol), side, spec.price) < spec.lots
            ):
                order = self.engine.place(
                    account, inst.symbol, side, spec.lots, validate_only=True, **kwargs
                )
                meta = registry.register(order, spec.client_id, spec.type, tif_shown)
                for kind in ("new", "expired"):
                    order.status = "new" if kind == "new" else "expired"
                    self.on_event(OrderEvent(kind, order, time.time_ns()))
            else:
                registry.pending = (spec.client_id, spec.type, tif_shown)
                order = self.engine.place(account, inst.symbol, side, spec.lots, **kwargs)
                meta = registry.meta[order.order_id]
        except OrderRejected as exc:
            raise api_error(400, -2010, _REJECTS[exc.reason]) from None
        finally:
            registry.pending = None
        return registry.order_result(order, meta, spec.resp_type, now_ms)

    def _cancel_one(self, order: Order, cancel_client_id: str) -> dict[str, Any]:
        meta = self.registry.meta[order.order_id]
        meta.cancel_client_id = cancel_client_id
        self.engine.cancel(order)
        result: dict[str, Any] = {
            "symbol": order.instrument.symbol,
            "origClientOrderId": meta.client_id,
            "orderId": meta.order_id,
            "orderListId": -1,
            "clientOrderId": cancel_client_id,
            "transactTime": self.registry.clock.now_ms(),
        }
        result.update(self.registry.order_fields(order, meta))
        result["selfTradePreventionMode"] = "EXPIRE_MAKER"
        return result
