"""Backpack `account.orderUpdate[.<symbol>]` stream messages as `OrderUpdate`s and `Fill`s
(reference backpack_upbit.md §A4).

    {"stream": "account.orderUpdate", "data": {"e": "orderFill", "E": 1694687692980000, ...}}

Each message gives one `OrderUpdate`; an `orderFill` gives its `Fill` first. Numbers are
strings; times (`E` event, `T` engine) are in microseconds. Backpack adds enum values now and
then (speedbump `PendingRelease`, `speedbumped` events): an event type not known here still
maps by its status `X`.
"""

from __future__ import annotations

from typing import Any, Final

from hftpy.common import Exchange, Side
from hftpy.exchange.orders import (
    Fill,
    OrderEvent,
    OrderStatus,
    OrderUpdate,
    average_of,
    decimal_or_none,
    id_text,
    positive_or_none,
    remaining_of,
    us_ns,
)

__all__ = ["parse"]

_BACKPACK = Exchange.BACKPACK
_STATUSES: Final[dict[Any, OrderStatus]] = {
    "PendingRelease": OrderStatus.PENDING,  # held by the speedbump, not yet on the book
    "New": OrderStatus.NEW,
    "TriggerPending": OrderStatus.NEW,  # accepted, waiting for its trigger
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Cancelled": OrderStatus.CANCELLED,
    "Expired": OrderStatus.EXPIRED,
    "TriggerFailed": OrderStatus.REJECTED,  # the triggered order could not be placed
}
#: A message without `X`: the status its event type implies (None: open, by filled qty).
_EVENT_STATUSES: Final[dict[str, OrderStatus | None]] = {
    "orderAccepted": OrderStatus.NEW,
    "triggerPlaced": OrderStatus.NEW,
    "orderCancelled": OrderStatus.CANCELLED,
    "orderExpired": OrderStatus.EXPIRED,
    "triggerFailed": OrderStatus.REJECTED,
    "orderFill": None,
    "orderModified": None,
}
_SIDES: Final[dict[Any, Side]] = {"Bid": Side.BUY, "Ask": Side.SELL}


def parse(message: dict[str, Any], recv_ns: int) -> list[OrderEvent]:
    """The events of one stream message (or of its bare `data` object)."""
    data = message.get("data", message) if "stream" in message else message
    if not isinstance(data, dict):
        raise ValueError("backpack order update without a data object")
    kind = data.get("e")
    symbol = data.get("s") or ""
    order_id = id_text(data.get("i"))
    client_order_id = id_text(data.get("c"))
    side = _SIDES.get(data.get("S"))
    exch_ns = us_ns(data.get("T", data.get("E")))
    events: list[OrderEvent] = []
    if kind == "orderFill":
        price = decimal_or_none(data.get("L"))
        amount = decimal_or_none(data.get("l"))
        if price is None or amount is None:
            raise ValueError("backpack orderFill without L/l")
        events.append(
            Fill(
                exchange=_BACKPACK,
                symbol=symbol,
                trade_id=id_text(data.get("t")),
                order_id=order_id,
                client_order_id=client_order_id,
                side=side,
                price=price,
                amount=amount,
                fee=decimal_or_none(data.get("n")),
                fee_currency=data.get("N") or None,
                maker=data.get("m"),
                exch_ns=exch_ns,
                recv_ns=recv_ns,
                raw=data,
            )
        )
    amount = decimal_or_none(data.get("q"))
    filled = decimal_or_none(data.get("z"))
    status = _status(data.get("X"), kind, amount, filled)
    order_type = data.get("o")
    events.append(
        OrderUpdate(
            exchange=_BACKPACK,
            symbol=symbol,
            order_id=order_id,
            client_order_id=client_order_id,
            side=side,
            status=status,
            price=positive_or_none(data.get("p")),
            amount=amount,
            filled=filled,
            remaining=remaining_of(status, amount, filled),
            order_type=order_type.lower() if isinstance(order_type, str) else None,
            avg_price=average_of(decimal_or_none(data.get("Z")), filled),
            reason=data.get("R") or None,
            exch_ns=exch_ns,
            recv_ns=recv_ns,
            raw=data,
        )
    )
    return events


def _status(value: Any, kind: Any, amount: Any, filled: Any) -> OrderStatus:
    if value is not None:
        status = _STATUSES.get(value)
        if status is None:
            raise ValueError(f"unknown backpack order status {value!r}")
        return status
    if kind not in _EVENT_STATUSES:
        raise ValueError(f"backpack {kind!r} event without a status")
    implied = _EVENT_STATUSES[kind]
    if implied is not None:
        return implied
    if filled and amount is not None and filled >= amount:
        return OrderStatus.FILLED
    return OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.NEW
