"""Binance user-data `executionReport` events as `OrderUpdate`s and `Fill`s (reference
binance.md §6).

Each report gives one `OrderUpdate`; an `x: TRADE` report gives its `Fill` first. Binance
writes every price and quantity as a string, so they are exact as they arrive. A cancel's
report carries a fresh `c` and the order's own client id in `C`: the latter is the one
reported. `E` is the event time, `T` the transaction time (ms); events carry `T`.
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
    ms_ns,
    positive_or_none,
    remaining_of,
)

__all__ = ["parse"]

_BINANCE = Exchange.BINANCE
#: `X` -> status; PENDING_CANCEL (documented as unused) leaves the order open.
_STATUSES: Final[dict[Any, OrderStatus]] = {
    "PENDING_NEW": OrderStatus.PENDING,
    "NEW": OrderStatus.NEW,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELLED,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,  # expired by self-trade prevention
}
_SIDES: Final[dict[Any, Side]] = {"BUY": Side.BUY, "SELL": Side.SELL}
#: Binance order types in hftpy's spelling (`hftpy.common.OrderType`).
_ORDER_TYPES: Final[dict[Any, str]] = {
    "LIMIT": "limit",
    "MARKET": "market",
    "STOP_LOSS": "stop-loss",
    "STOP_LOSS_LIMIT": "stop-loss-limit",
    "TAKE_PROFIT": "take-profit",
    "TAKE_PROFIT_LIMIT": "take-profit-limit",
    "LIMIT_MAKER": "limit_maker",
}


def parse(message: dict[str, Any], recv_ns: int) -> list[OrderEvent]:
    """The events of one `executionReport` (bare, or in the WS API's `{"event": ...}`)."""
    event = message.get("event", message) if "e" not in message else message
    if not isinstance(event, dict) or event.get("e") != "executionReport":
        return []
    symbol = event.get("s") or ""
    order_id = id_text(event.get("i"))
    client_order_id = id_text(event.get("C")) or id_text(event.get("c"))
    side = _SIDES.get(event.get("S"))
    exch_ns = ms_ns(event.get("T", event.get("E")))
    events: list[OrderEvent] = []
    if event.get("x") == "TRADE":
        price = decimal_or_none(event.get("L"))
        amount = decimal_or_none(event.get("l"))
        if price is None or amount is None:
            raise ValueError("binance TRADE report without L/l")
        trade_id = event.get("t")
        events.append(
            Fill(
                exchange=_BINANCE,
                symbol=symbol,
                trade_id=None if trade_id == -1 else id_text(trade_id),
                order_id=order_id,
                client_order_id=client_order_id,
                side=side,
                price=price,
                amount=amount,
                fee=decimal_or_none(event.get("n")),
                fee_currency=event.get("N") or None,
                maker=event.get("m"),
                exch_ns=exch_ns,
                recv_ns=recv_ns,
                raw=event,
            )
        )
    filled = decimal_or_none(event.get("z"))
    status = _status(event.get("X"), filled)
    amount = positive_or_none(event.get("q"))
    order_type = event.get("o")
    reason = event.get("r")
    events.append(
        OrderUpdate(
            exchange=_BINANCE,
            symbol=symbol,
            order_id=order_id,
            client_order_id=client_order_id,
            side=side,
            status=status,
            price=positive_or_none(event.get("p")),
            amount=amount,
            filled=filled,
            remaining=remaining_of(status, amount, filled),
            order_type=_ORDER_TYPES.get(order_type, order_type.lower() if order_type else None),
            avg_price=average_of(decimal_or_none(event.get("Z")), filled),
            reason=reason if reason and reason != "NONE" else event.get("eR"),
            exch_ns=exch_ns,
            recv_ns=recv_ns,
            raw=event,
        )
    )
    return events


def _status(value: Any, filled: Any) -> OrderStatus:
    status = _STATUSES.get(value)
    if status is not None:
        return status
    if value == "PENDING_CANCEL":
        return OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.NEW
    raise ValueError(f"unknown binance order status {value!r}")
