"""Upbit private `myOrder` messages as `OrderUpdate`s and `Fill`s (reference
backpack_upbit.md §B4), in the DEFAULT format's keys or the SIMPLE abbreviations.

`state` -> status: `wait` / `watch` (a reserved order) are open, NEW or PARTIALLY_FILLED by
`executed_volume`; `trade` is one fill (its `price` / `volume` are the fill's, so the update
reports no limit price and an amount of executed + remaining) and gives a `Fill` first;
`done` is FILLED; `cancel` is CANCELLED, however much had filled; `prevented` (self-match
prevention) is CANCELLED with the reason `prevented` (and the `smp_type`).

Upbit writes numbers as JSON numbers: they must be decoded with a `Decimal` float hook (as
the Upbit WS API does) to keep their exact text. Fees are charged in the market's quote
currency (`KRW` of `KRW-BTC`). Times are ms.
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
    ms_ns,
    positive_or_none,
)

__all__ = ["parse"]

_UPBIT = Exchange.UPBIT
#: The DEFAULT keys read here and their SIMPLE abbreviations.
SIMPLE: Final = {
    "type": "ty",
    "code": "cd",
    "uuid": "uid",
    "ask_bid": "ab",
    "order_type": "ot",
    "state": "s",
    "trade_uuid": "tuid",
    "price": "p",
    "avg_price": "ap",
    "volume": "v",
    "remaining_volume": "rv",
    "executed_volume": "ev",
    "trade_fee": "tf",
    "is_maker": "im",
    "identifier": "id",
    "smp_type": "smpt",
    "trade_timestamp": "ttms",
    "timestamp": "tms",
}
_FINAL_STATES: Final[dict[Any, OrderStatus]] = {
    "done": OrderStatus.FILLED,
    "cancel": OrderStatus.CANCELLED,
    "prevented": OrderStatus.CANCELLED,
}
_SIDES: Final[dict[Any, Side]] = {"BID": Side.BUY, "ASK": Side.SELL}
#: `price` is a market buy spending KRW, `market` a market sell, `best` a best-price order.
_ORDER_TYPES: Final[dict[Any, str]] = {
    "limit": "limit",
    "price": "market",
    "market": "market",
    "best": "best",
}


def parse(message: dict[str, Any], recv_ns: int) -> list[OrderEvent]:
    """The events of one `myOrder` message."""
    simple = "type" not in message and "ty" in message

    def get(key: str) -> Any:
        return message.get(SIMPLE[key] if simple else key)

    if get("type") != "myOrder":
        return []
    state = get("state")
    symbol = get("code") or ""
    order_id = id_text(get("uuid"))
    client_order_id = id_text(get("identifier"))
    side = _SIDES.get(get("ask_bid"))
    kind = get("order_type")
    exch_ns = ms_ns(get("timestamp"))
    filled = decimal_or_none(get("executed_volume"))
    left = decimal_or_none(get("remaining_volume"))
    events: list[OrderEvent] = []
    reason = None
    if state == "trade":
        price = decimal_or_none(get("price"))
        volume = decimal_or_none(get("volume"))
        if price is None or volume is None:
            raise ValueError("upbit trade message without price/volume")
        fee = decimal_or_none(get("trade_fee"))
        events.append(
            Fill(
                exchange=_UPBIT,
                symbol=symbol,
                trade_id=id_text(get("trade_uuid")),
                order_id=order_id,
                client_order_id=client_order_id,
                side=side,
                price=price,
                amount=volume,
                fee=fee,
                fee_currency=(symbol.partition("-")[0] or None) if fee is not None else None,
                maker=get("is_maker"),
                exch_ns=ms_ns(get("trade_timestamp")) or exch_ns,
                recv_ns=recv_ns,
                raw=message,
            )
        )
        done = left is not None and not left
        status = OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED
        limit_price = None
        amount = filled + left if filled is not None and left is not None else None
    else:
        final = _FINAL_STATES.get(state)
        if final is not None:
            status = final
        elif state in ("wait", "watch"):
            status = OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.NEW
        else:
            raise ValueError(f"unknown upbit order state {state!r}")
        if state == "prevented":
            smp_type = get("smp_type")
            reason = f"prevented ({smp_type})" if smp_type else "prevented"
        # Only a limit order's `price` is a limit price (a market buy's is the KRW to spend).
        limit_price = positive_or_none(get("price")) if kind == "limit" else None
        amount = positive_or_none(get("volume"))
    events.append(
        OrderUpdate(
            exchange=_UPBIT,
            symbol=symbol,
            order_id=order_id,
            client_order_id=client_order_id,
            side=side,
            status=status,
            price=limit_price,
            amount=amount,
            filled=filled,
            remaining=Decimal(0) if status.is_final else left,
            order_type=_ORDER_TYPES.get(kind, kind),
            avg_price=positive_or_none(get("avg_price")) if filled else None,
            reason=reason,
            exch_ns=exch_ns,
            recv_ns=recv_ns,
            raw=message,
        )
    )
    return events
