"""Backpack's orders over the engine: placing (`orderExecute`), finding by `orderId` /
`clientId`, and every shape Backpack shows an order in (the order object, an order-history
item, a fill-history item, an `account.orderUpdate` event).

Backpack order ids are its own (18 digits), kept beside the engine's ids; `clientId` is a
u32. An IOC (FOK) remainder or an unfilled market remainder ends `Expired` with
`expiryReason` `ImmediateOrCancel` (`FillOrKill`) / `InsufficientLiquidity`, where the engine
ends it as a cancel.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from typing import Any, Final

from ..engine import Account, Engine, Instrument, Order, OrderEvent, OrderRejected, RejectReason
from ..errors import VenueError
from ..market import fillable
from ..wire import amount_text, exact_units, fixed_text, now_us
from .errors import api_error

__all__ = ["BackpackOrders"]

_SIDES: Final = {"Bid": "buy", "Ask": "sell"}
_TYPES: Final = {"Limit": "limit", "Market": "market"}
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
_STATUS: Final = {
    "new": "New",
    "partially_filled": "PartiallyFilled",
    "filled": "Filled",
    "canceled": "Cancelled",
    "expired": "Expired",
}

#: The fields of an order object and of an order-history item, in Backpack's order; the
#: run in the middle is the same in both.
_TERMS: Final = (
    "selfTradePrevention",
    "status",
    "side",
    "symbol",
    "timeInForce",
    "triggerPrice",
    "triggerQuantity",
)
_ORDER_FIELDS: Final = (
    *("orderType", "id", "clientId", "createdAt", "executedQuantity", "executedQuoteQuantity"),
    *("postOnly", "price", "quantity", "reduceOnly", *_TERMS, "triggeredAt", "relatedOrderId"),
)
_HISTORY_FIELDS: Final = (
    *("id", "createdAt", "executedQuantity", "executedQuoteQuantity", "expiryReason"),
    *("orderType", "postOnly", "price", "quantity", "quoteQuantity", *_TERMS),
    *("clientId", "systemOrderType", "strategyId"),
)

Fill = tuple[int, dict[str, Any]]  # (engine time in ns, fill-history item)


class BackpackOrders:
    """The Backpack view of the engine's orders: ids, time in force as placed, expiry reasons
    and each account's fill history."""

    def __init__(self, engine: Engine, instrument: Callable[[str], Instrument | None]) -> None:
        self.engine = engine
        self._instrument = instrument
        self._venue_ids: dict[str, str] = {}  # engine order id -> Backpack order id
        self._orders: dict[str, Order] = {}  # Backpack order id -> order
        self._client_ids: dict[str, int] = {}  # engine order id -> clientId
        self._tifs: dict[str, str] = {}  # engine order id -> GTC | IOC | FOK as placed
        self._expiry: dict[str, str] = {}  # engine order id -> expiryReason, once Expired
        self._fill_log: dict[str, list[Fill]] = {}  # account name -> fills
        self._next_id = itertools.count(112_000_000_000_000_000)
        self._placing: tuple[str, int | None, str] | None = None

    # ----- engine events -----

    def record(self, event: OrderEvent) -> str | None:
        """Note what `event` tells about its order; the `orderUpdate` event name it is sent
        as, or None when Backpack sends none for it."""
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
            return None  # the fill event already says Filled
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
            log.append((event.ts_ns, self.fill_entry(event)))
        return kind

    # ----- lookups -----

    def venue_id(self, order: Order) -> str:
        return self._venue_ids.get(order.order_id, order.order_id)

    def placed(self, account: Account) -> list[Order]:
        """Every order the account placed here, open or done (the order history)."""
        return [o for o in self._orders.values() if o.account is account]

    def fills(self, account: Account) -> list[Fill]:
        return self._fill_log.get(account.name, [])

    def find(self, account: Account, params: Any) -> Order:
        """The open order named by `symbol` and exactly one of `orderId` / `clientId` (a query
        string's `clientId` is text), else 404."""
        if not isinstance(params, Mapping) or not isinstance(params.get("symbol"), str):
            raise api_error("INVALID_CLIENT_REQUEST", "symbol is required")
        order_id, client_id = params.get("orderId"), params.get("clientId")
        if (order_id is None) == (client_id is None):
            raise api_error("INVALID_CLIENT_REQUEST", "Exactly one of orderId or clientId")
        if isinstance(client_id, str):
            if not client_id.isdigit():
                raise api_error("INVALID_CLIENT_REQUEST", "clientId must be a u32")
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
            raise api_error("RESOURCE_NOT_FOUND", "Order not found", 404)
        return order

    # ----- placing -----

    def execute(self, account: Account, params: dict[str, Any]) -> dict[str, Any]:
        """Place one `orderExecute` order; the order object, else a VenueError."""
        symbol = params.get("symbol")
        inst = self._instrument(symbol) if isinstance(symbol, str) else None
        if inst is None:
            raise api_error("INVALID_MARKET", "Invalid market")
        side = _SIDES.get(params.get("side"))  # type: ignore[arg-type]
        kind = _TYPES.get(params.get("orderType"))  # type: ignore[arg-type]
        if side is None or kind is None:
            raise api_error("INVALID_ORDER", "Invalid side or orderType")
        if params.get("quoteQuantity") is not None:
            raise api_error("INVALID_ORDER", "quoteQuantity orders are not simulated")
        lots = exact_units(params.get("quantity"), inst.qty_decimals)
        if lots is None or lots <= 0:
            raise api_error("INVALID_QUANTITY", "Invalid quantity")
        if lots < inst.min_lots:
            raise api_error("INVALID_QUANTITY", "Quantity is below the minimum")
        price = None
        if kind == "limit":
            price = exact_units(params.get("price"), inst.price_decimals)
            if price is None or price <= 0 or price % inst.tick_units:
                raise api_error("INVALID_PRICE", "Invalid price")
        tif = str(params.get("timeInForce", "GTC"))
        if tif not in ("GTC", "IOC", "FOK"):
            raise api_error("INVALID_ORDER", "Invalid timeInForce")
        post_only = params.get("postOnly") is True
        client_id = params.get("clientId")
        if client_id is not None and (
            isinstance(client_id, bool)
            or not isinstance(client_id, int)
            or not 0 <= client_id < 2**32
        ):
            raise api_error("INVALID_CLIENT_REQUEST", "clientId must be a u32")
        if tif == "FOK" and fillable(self.engine.book(inst.symbol), side, price) < lots:
            raise api_error("INVALID_ORDER", "Fill or kill order would not fill completely")
        venue_id = str(next(self._next_id))
        # The accept event is emitted inside `place`: `record` takes the ids from here.
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
        return self.order_body(placed)

    # ----- what Backpack shows -----

    def _status(self, order: Order) -> str:
        return "Expired" if order.order_id in self._expiry else _STATUS[order.status]

    def _tif(self, order: Order) -> str:
        return self._tifs.get(order.order_id, "IOC" if order.time_in_force == "ioc" else "GTC")

    def order_body(self, order: Order) -> dict[str, Any]:
        """The order object of the `/api/v1/order(s)` answers (`createdAt` in ms)."""
        return self._shape(order, _ORDER_FIELDS, order.created_ns // 1_000_000)

    def history_entry(self, order: Order) -> dict[str, Any]:
        """One `GET /wapi/v1/history/orders` item (`createdAt` a naive UTC date-time)."""
        return self._shape(order, _HISTORY_FIELDS, naive_utc(order.created_ns))

    def _shape(self, order: Order, fields: tuple[str, ...], created_at: Any) -> dict[str, Any]:
        """The order's `fields`, in that order (each endpoint has its own)."""
        inst = order.instrument
        pd, qd = inst.price_decimals, inst.qty_decimals
        values: dict[str, Any] = {
            "orderType": "Limit" if order.order_type == "limit" else "Market",
            "id": self.venue_id(order),
            "clientId": self._client_ids.get(order.order_id),
            "createdAt": created_at,
            "executedQuantity": fixed_text(order.filled, qd),
            "executedQuoteQuantity": amount_text(order.cum_cost),
            "expiryReason": self._expiry.get(order.order_id),
            "postOnly": order.post_only,
            "price": None if order.price is None else fixed_text(order.price, pd),
            "quantity": fixed_text(order.qty, qd),
            "selfTradePrevention": "RejectTaker",
            "status": self._status(order),
            "side": "Bid" if order.side == "buy" else "Ask",
            "symbol": inst.symbol,
            "timeInForce": self._tif(order),
        }
        return {name: values.get(name) for name in fields}  # the rest are always null here

    def fill_entry(self, event: OrderEvent) -> dict[str, Any]:
        """One `GET /wapi/v1/history/fills` item (`clientId` is text there)."""
        order, fill = event.order, event.fill
        assert fill is not None
        inst = order.instrument
        client_id = self._client_ids.get(order.order_id)
        return {
            "clientId": None if client_id is None else str(client_id),
            "fee": amount_text(fill.fee),
            "feeSymbol": inst.quote,
            "isMaker": fill.maker,
            "orderId": self._venue_ids[order.order_id],
            "price": fixed_text(fill.price, inst.price_decimals),
            "quantity": fixed_text(fill.qty, inst.qty_decimals),
            "side": "Bid" if order.side == "buy" else "Ask",
            "symbol": inst.symbol,
            "systemOrderType": None,
            "timestamp": naive_utc(event.ts_ns),
            "tradeId": fill.trade_id,
        }

    def order_update(self, kind: str, event: OrderEvent) -> dict[str, Any]:
        """The `data` of an `account.orderUpdate` frame (`kind` from `record`)."""
        order = event.order
        inst = order.instrument
        pd, qd = inst.price_decimals, inst.qty_decimals
        data: dict[str, Any] = {"e": kind, "E": now_us(), "s": inst.symbol}
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
        data["i"] = self.venue_id(order)
        fill = event.fill
        if fill is not None:
            data["t"] = fill.trade_id
            data["l"] = fixed_text(fill.qty, qd)
            data["L"] = fixed_text(fill.price, pd)
            data["m"] = fill.maker
            data["n"] = amount_text(fill.fee)
            data["N"] = inst.quote
        data["z"] = fixed_text(order.filled, qd)
        data["Z"] = amount_text(order.cum_cost)
        data["V"] = "RejectTaker"
        data["O"] = "USER"
        data["r"] = False
        data["y"] = order.post_only
        data["T"] = event.ts_ns // 1000
        return data


def _reject(reason: RejectReason) -> VenueError:
    if reason is RejectReason.INSUFFICIENT_FUNDS:
        return api_error("INSUFFICIENT_FUNDS", "Insufficient funds")
    if reason is RejectReason.POST_ONLY:
        return api_error("INVALID_ORDER", "Order would immediately match and take")
    if reason is RejectReason.DUPLICATE_CL_ORD_ID:
        return api_error("INVALID_CLIENT_REQUEST", "Duplicate clientId")
    return api_error("INVALID_ORDER", reason.value)


def naive_utc(ns: int) -> str:
    """A naive UTC date-time with milliseconds, as Backpack's history endpoints give it."""
    seconds, rest = divmod(ns, 10**9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest // 10**6:03d}"
