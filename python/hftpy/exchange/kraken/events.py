"""Kraken WS v2 `executions` messages as `OrderUpdate`s and `Fill`s (reference kraken.md §4).

    {"channel": "executions", "type": "snapshot" | "update", "data": [item, ...]}

Each item gives one `OrderUpdate`; a `trade` item gives its `Fill` first. Kraken sends only
the changed fields on some exec types (a `new` item holds little more than ids and status):
absent fields stay None here (the symbol empty) and the order tracker fills them in from
earlier events. The items' numbers must be decoded with a `Decimal` float hook (as the
Kraken WS API does) so that prices and quantities keep their exact wire text.

A trade item of a snapshot (`snap_trades`) is history: it gives its `Fill` only, since the
order status it carries is the one at the time of that trade, not the order's status now.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from hftpy.common import Exchange, Side
from hftpy.exchange.orders import (
    Fill,
    OrderEvent,
    OrderStatus,
    OrderUpdate,
    decimal_or_none,
    id_text,
    positive_or_none,
    remaining_of,
    rfc3339_ns,
)

__all__ = ["parse", "parse_item"]

_KRAKEN = Exchange.KRAKEN
_STATUSES: Final[dict[Any, OrderStatus]] = {
    "pending_new": OrderStatus.PENDING,
    "new": OrderStatus.NEW,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
}
#: An item without `order_status`: the status its `exec_type` implies. The other exec types
#: (trade, amended, restated, status, iceberg_refill) leave the order open.
_EXEC_STATUSES: Final[dict[Any, OrderStatus]] = {
    "pending_new": OrderStatus.PENDING,
    "new": OrderStatus.NEW,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "expired": OrderStatus.EXPIRED,
}
_OPEN_EXEC_TYPES: Final = frozenset(("trade", "amended", "restated", "status", "iceberg_refill"))
_SIDES: Final[dict[Any, Side]] = {"buy": Side.BUY, "sell": Side.SELL}
_MAKER: Final[dict[Any, bool]] = {"m": True, "t": False}


def parse(message: dict[str, Any], recv_ns: int) -> list[OrderEvent]:
    """The events of one `executions` message, in wire order."""
    data = message.get("data")
    if not isinstance(data, list):
        raise ValueError("kraken executions message without a data list")
    snapshot = message.get("type") == "snapshot"
    events: list[OrderEvent] = []
    for item in data:
        if not isinstance(item, dict):
            raise ValueError(f"kraken execution item is not an object: {item!r}")
        events.extend(parse_item(item, recv_ns, snapshot=snapshot))
    return events


def parse_item(item: dict[str, Any], recv_ns: int, *, snapshot: bool = False) -> list[OrderEvent]:
    """One execution report: `[Fill, OrderUpdate]` for a trade, else `[OrderUpdate]`."""
    exec_type = item.get("exec_type")
    exch_ns = rfc3339_ns(item["timestamp"]) if item.get("timestamp") else 0
    symbol = item.get("symbol") or ""
    order_id = id_text(item.get("order_id"))
    client_order_id = id_text(item.get("cl_ord_id"))
    side = _SIDES.get(item.get("side"))
    events: list[OrderEvent] = []
    if exec_type == "trade":
        events.append(_fill(item, symbol, order_id, client_order_id, side, exch_ns, recv_ns))
        if snapshot:
            return events
    status = _status(item, exec_type)
    amount = decimal_or_none(item.get("order_qty"))
    filled = decimal_or_none(item.get("cum_qty"))
    events.append(
        OrderUpdate(
            exchange=_KRAKEN,
            symbol=symbol,
            order_id=order_id,
            client_order_id=client_order_id,
            side=side,
            status=status,
            price=decimal_or_none(item.get("limit_price")),
            amount=amount,
            filled=filled,
            remaining=remaining_of(status, amount, filled),
            order_type=item.get("order_type"),
            avg_price=positive_or_none(item.get("avg_price")) if filled else None,
            reason=item.get("reason") or None,
            exch_ns=exch_ns,
            recv_ns=recv_ns,
            raw=item,
        )
    )
    return events


def _status(item: dict[str, Any], exec_type: Any) -> OrderStatus:
    order_status = item.get("order_status")
    if order_status is not None:
        status = _STATUSES.get(order_status)
        if status is None:
            raise ValueError(f"unknown kraken order_status {order_status!r}")
        return status
    status = _EXEC_STATUSES.get(exec_type)
    if status is not None:
        return status
    if exec_type not in _OPEN_EXEC_TYPES:
        raise ValueError(f"unknown kraken exec_type {exec_type!r}")
    filled = decimal_or_none(item.get("cum_qty"))
    return OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.NEW


def _fill(
    item: dict[str, Any],
    symbol: str,
    order_id: str | None,
    client_order_id: str | None,
    side: Side | None,
    exch_ns: int,
    recv_ns: int,
) -> Fill:
    price = decimal_or_none(item.get("last_price"))
    amount = decimal_or_none(item.get("last_qty"))
    if price is None or amount is None:
        raise ValueError("kraken trade item without last_price/last_qty")
    fee, fee_currency = _fee(item.get("fees"))
    return Fill(
        exchange=_KRAKEN,
        symbol=symbol,
        trade_id=id_text(item.get("trade_id")),
        order_id=order_id,
        client_order_id=client_order_id,
        side=side,
        price=price,
        amount=amount,
        fee=fee,
        fee_currency=fee_currency,
        maker=_MAKER.get(item.get("liquidity_ind")),
        exch_ns=exch_ns,
        recv_ns=recv_ns,
        raw=item,
    )


def _fee(fees: Any) -> tuple[Decimal | None, str | None]:
    """The fill's fee from `fees: [{asset, qty}]`: Kraken charges one asset per fill; were
    there several entries, those in the first one's asset are added up (`raw` has them all)."""
    if not isinstance(fees, list) or not fees:
        return None, None
    asset = fees[0].get("asset")
    total = Decimal(0)
    for entry in fees:
        if entry.get("asset") == asset:
            qty = decimal_or_none(entry.get("qty"))
            if qty is not None:
                total += qty
    return total, asset
