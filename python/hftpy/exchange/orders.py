"""One order-event model for every venue: `OrderStatus`, `OrderUpdate`, `Fill`.

Every venue's private channel (Kraken `executions`, Binance `executionReport`, Backpack
`account.orderUpdate`, Upbit `myOrder`) is turned into these, with the venue's own message
attached as `raw`. Prices, amounts and fees are `Decimal`s made from the wire's exact text
(never through float); ids are strings on every venue (Binance's integer `orderId` and
Backpack's u32 `clientId` included), so one strategy's bookkeeping works everywhere.

Times: `exch_ns` is the venue's event time in ns since the epoch (0 when the venue gives
none); `recv_ns` the local wall-clock receive stamp of the frame (`CLOCK_REALTIME`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from hftpy.common import Exchange, Side


class OrderStatus(StrEnum):
    """Where an order stands. `PENDING`: sent, not yet acknowledged as live (set locally, or
    from the venue's own pending state: Kraken `pending_new`, Binance `PENDING_NEW`)."""

    PENDING = "pending"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_open(self) -> bool:
        """Whether the order may still trade (pending, new or partially filled)."""
        return self in _OPEN

    @property
    def is_final(self) -> bool:
        """Whether the order is done for good (filled, cancelled, rejected or expired)."""
        return self not in _OPEN


_OPEN = frozenset((OrderStatus.PENDING, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED))


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """An order's state after a venue event (or, for `open_orders()`, as tracked locally)."""

    #: The venue.
    exchange: Exchange
    #: The venue's spelling of the instrument (`BTC/USD`, `BTCUSDT`, `SOL_USDC`, `KRW-BTC`);
    #: empty when the venue's event leaves it out (Kraken sends only changed fields).
    symbol: str
    #: The venue's order id, as a string (None before the venue has assigned one).
    order_id: str | None
    #: The client order id (Kraken `cl_ord_id`, Binance `clientOrderId`, Backpack
    #: `clientId`, Upbit `identifier`), as a string.
    client_order_id: str | None
    #: Buy or sell (None when the venue's event leaves it out).
    side: Side | None
    #: Where the order stands after this event.
    status: OrderStatus
    #: Limit price in quote currency (None for market orders or when not reported).
    price: Decimal | None = None
    #: The order's total quantity in base currency (filled part included).
    amount: Decimal | None = None
    #: Cumulative filled quantity in base currency.
    filled: Decimal | None = None
    #: Quantity still open in base currency (0 once final).
    remaining: Decimal | None = None
    #: Venue order type in hftpy's spelling (`limit`, `market`, ...), when reported.
    order_type: str | None = None
    #: Average fill price in quote currency, when reported or derivable.
    avg_price: Decimal | None = None
    #: The venue's reason for a reject, cancel or expiry, when it gives one.
    reason: str | None = None
    #: Venue event time, ns since the epoch (0 when the venue gives none).
    exch_ns: int = 0
    #: Local receive time of the frame, wall-clock ns.
    recv_ns: int = 0
    #: The venue's message this update was made from (one item of it on Kraken).
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution of one of the account's orders."""

    #: The venue.
    exchange: Exchange
    #: The venue's spelling of the instrument.
    symbol: str
    #: The venue's trade id, as a string (None when the venue gives none).
    trade_id: str | None
    #: The venue's id of the order that traded, as a string (None when not reported).
    order_id: str | None
    #: That order's client order id, as a string (None when not reported).
    client_order_id: str | None
    #: The order's side, buy or sell (None when not reported).
    side: Side | None
    #: Execution price in quote currency.
    price: Decimal
    #: Executed quantity in base currency.
    amount: Decimal
    #: Fee charged for this fill, in `fee_currency` (None when the venue does not say).
    fee: Decimal | None = None
    #: The currency of `fee` as the venue names it (`USD`, `BNB`, `KRW`, ...), or None.
    fee_currency: str | None = None
    #: True when the order was the maker (resting) side, None when not reported.
    maker: bool | None = None
    #: Venue execution time, ns since the epoch (0 when the venue gives none).
    exch_ns: int = 0
    #: Local receive time of the frame, wall-clock ns.
    recv_ns: int = 0
    #: The venue's message this fill was made from (one item of it on Kraken).
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


#: What a venue's private-channel message turns into: zero or more of each, in wire order.
OrderEvent = OrderUpdate | Fill


def decimal_or_none(value: Any) -> Decimal | None:
    """A wire number as an exact `Decimal` (strings and `Decimal`s digit for digit; ints
    exactly). None for None or empty text. Floats are refused: they have lost the text."""
    if value is None or value == "":
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, str):
        return Decimal(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"not an exact wire number: {value!r}")


def id_text(value: Any) -> str | None:
    """A venue id as a string (None for None or empty)."""
    if value is None or value == "":
        return None
    return str(value)


_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(?:\.(\d+))?([Zz]|[+-]\d\d:\d\d)?")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)


def rfc3339_ns(text: str) -> int:
    """An RFC 3339 time (`2024-05-18T12:01:56.165888Z`; `Z`, an offset, or none for UTC) as
    ns since the epoch, in integers throughout: every digit of the fraction up to ns counts."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError(f"not an RFC 3339 time: {text!r}")
    day, clock, fraction, zone = match.groups()
    if zone is None or zone in "Zz":
        zone = "+00:00"
    seconds = (datetime.fromisoformat(f"{day}T{clock}{zone}") - _EPOCH) // _SECOND
    return seconds * 1_000_000_000 + int((fraction or "")[:9].ljust(9, "0"))


def ms_ns(value: Any) -> int:
    """A venue's millisecond time as ns (0 when absent)."""
    return int(value) * 1_000_000 if value is not None else 0


def us_ns(value: Any) -> int:
    """A venue's microsecond time as ns (0 when absent)."""
    return int(value) * 1_000 if value is not None else 0


def positive_or_none(value: Any) -> Decimal | None:
    """`decimal_or_none`, with a zero read as absent (venues write `0` for "no price" or "no
    average yet")."""
    number = decimal_or_none(value)
    return number if number else None


def remaining_of(
    status: OrderStatus, amount: Decimal | None, filled: Decimal | None
) -> Decimal | None:
    """What is still open: 0 once final, else amount - filled when both are known."""
    if status.is_final:
        return Decimal(0)
    if amount is None or filled is None:
        return None
    return amount - filled


def average_of(quote: Decimal | None, filled: Decimal | None) -> Decimal | None:
    """The average fill price from cumulative quote and base quantities (None before a fill)."""
    if quote is None or not filled:
        return None
    return quote / filled
