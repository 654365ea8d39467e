"""Order entry shared by Kraken's WS v2 methods and its REST endpoints: one set of checks, one
rate counter, one engine, so an order is the same order whichever way it came in.

Kraken's trading counter (reference/kraken.md §6, Pro tier) is kept per account and pair,
shared by REST and WS: a fixed charge on receipt (even when validation then fails) plus, for a
cancel, amend or edit, points that fall with the order's age since it was placed or amended.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, NamedTuple

from ..engine import (
    Account,
    Engine,
    Instrument,
    Order,
    OrderRejected,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
    kraken_id,
)
from ..errors import VenueError
from ..wire import rfc3339_s
from .connection import KrakenGateway
from .protocol import (
    E_CANCEL_ONLY,
    E_INVALID_ARGS,
    E_POST_ONLY,
    E_RATE_LIMIT,
    E_UNAVAILABLE,
    E_UNKNOWN_ORDER,
)

__all__ = [
    "AMEND_PENALTY",
    "CANCEL_PENALTY",
    "EDIT_PENALTY",
    "MAX_RATE_COUNT",
    "ORDER_TYPES",
    "SIDES",
    "UNSUPPORTED_ORDER_TYPES",
    "FieldReader",
    "KrakenTrading",
    "OrderKind",
    "OrderSpec",
    "RateCounter",
    "age_penalty",
    "order_kind",
    "rejected",
]

MAX_RATE_COUNT: Final = 180
RATE_DECAY_PER_S: Final = 3.75
MAX_OPEN_ORDERS_PER_PAIR: Final = 225
_AGE_LIMITS_S: Final = (5, 10, 15, 45, 90, 300)
CANCEL_PENALTY: Final = (8, 6, 5, 4, 2, 1)
AMEND_PENALTY: Final = (3, 2, 1, 0, 0, 0)
EDIT_PENALTY: Final = (6, 5, 4, 2, 1, 0)

ORDER_TYPES: Final[dict[str, OrderType]] = {"limit": "limit", "market": "market"}
SIDES: Final[dict[str, Side]] = {"buy": "buy", "sell": "sell"}
UNSUPPORTED_ORDER_TYPES: Final = frozenset(
    {
        "iceberg",
        "stop-loss",
        "stop-loss-limit",
        "take-profit",
        "take-profit-limit",
        "trailing-stop",
        "trailing-stop-limit",
        "settle-position",
    }
)
_CL_ORD_ID: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{32}|[\x20-\x7e]{1,18}"
)
FieldReader = Callable[[dict[str, Any], str], str | None]  # protocol.string / form_str
_REJECT_ERRORS: Final = {
    RejectReason.INSUFFICIENT_FUNDS: "EOrder:Insufficient funds",
    RejectReason.POST_ONLY: "EOrder:Post only order",
    RejectReason.UNKNOWN_ORDER: E_UNKNOWN_ORDER,
    RejectReason.DUPLICATE_CL_ORD_ID: f"{E_INVALID_ARGS}:duplicate cl_ord_id",
}


def age_penalty(table: tuple[int, ...], order: Order, now_ns: int) -> int:
    """Points a cancel/amend/edit adds for an order this young."""
    age_s = (now_ns - order.amended_ns) / 1e9
    for limit, points in zip(_AGE_LIMITS_S, table, strict=True):
        if age_s < limit:
            return points
    return 0


def order_kind(
    params: dict[str, Any], read: FieldReader, type_field: str, side_field: str
) -> tuple[OrderType, Side]:
    """An order entry's type and side, read and checked in Kraken's order."""
    raw_type = read(params, type_field)
    if raw_type in UNSUPPORTED_ORDER_TYPES:
        raise VenueError(f"{E_INVALID_ARGS}:{type_field} {raw_type} is not simulated")
    order_type = ORDER_TYPES.get(raw_type or "")
    if order_type is None:
        raise VenueError(f"{E_INVALID_ARGS}:{type_field}")
    side = SIDES.get(read(params, side_field) or "")
    if side is None:
        raise VenueError(f"{E_INVALID_ARGS}:{side_field}")
    return order_type, side


def rejected(exc: OrderRejected) -> VenueError:
    """The engine's refusal in Kraken's words."""
    return VenueError(_REJECT_ERRORS[exc.reason])


class RateCounter:
    """Kraken's per-pair trading counter: decays continuously, refuses what would exceed."""

    __slots__ = ("stamp", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.stamp = time.monotonic()

    def try_add(self, points: float) -> bool:
        now = time.monotonic()
        self.value = max(0.0, self.value - (now - self.stamp) * RATE_DECAY_PER_S)
        self.stamp = now
        if self.value + points > MAX_RATE_COUNT:
            return False
        self.value += points
        return True


class OrderKind(NamedTuple):
    """What kind of order an entry asks for, as its front-end read it."""

    side: Side
    order_type: OrderType
    time_in_force: TimeInForce
    expire_ns: int | None
    post_only: bool


@dataclass(slots=True)
class OrderSpec:
    """A validated order entry (add_order, one batch_add item, or REST AddOrder)."""

    side: Side
    order_type: OrderType
    qty: int
    price: int | None
    time_in_force: TimeInForce
    post_only: bool
    cl_ord_id: str | None
    userref: int | None
    expire_ns: int | None


class KrakenTrading:
    """The checks and engine calls behind every Kraken trading request."""

    def __init__(self, gateway: KrakenGateway, rng: random.Random) -> None:
        self.gateway = gateway
        self.engine: Engine = gateway.engine
        self.rng = rng
        self.forced_rate_limits = 0  # the `rate_limit` fault
        self._counters: dict[tuple[str, str], RateCounter] = {}
        self._dead_man: dict[str, asyncio.TimerHandle] = {}

    def stop(self) -> None:
        for handle in self._dead_man.values():
            handle.cancel()
        self._dead_man.clear()

    def admit(self) -> None:
        """After authentication: system status, then the injected rate-limit fault. In
        `cancel_only` and `post_only` requests are admitted; `place` and `amend` refuse what
        the status forbids."""
        if self.gateway.system == "maintenance":
            raise VenueError(E_UNAVAILABLE)
        if self.forced_rate_limits > 0:
            self.forced_rate_limits -= 1
            raise VenueError(E_RATE_LIMIT)

    def charge(self, account: Account, inst: Instrument, points: float) -> None:
        key = (account.name, inst.symbol)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = RateCounter()
        if not counter.try_add(points):
            raise VenueError(E_RATE_LIMIT)

    def charge_change(self, account: Account, order: Order, penalties: tuple[int, ...]) -> None:
        """An amend's or an edit's charge: 1, and more the younger the order is."""
        self.charge(account, order.instrument, 1 + age_penalty(penalties, order, time.time_ns()))

    def check_open_limit(self, account: Account, inst: Instrument, adding: int) -> None:
        if account.open_count(inst.symbol) + adding > MAX_OPEN_ORDERS_PER_PAIR:
            raise VenueError("EOrder:Orders limit exceeded")

    # ----- order entry -----

    @staticmethod
    def price(inst: Instrument, value: Decimal) -> int:
        ticks = inst.price_units(value)
        if ticks is None:
            raise VenueError(
                f"EOrder:Invalid price:{inst.symbol} price can only be specified up to "
                f"{inst.price_decimals} decimals."
            )
        if ticks <= 0:
            raise VenueError("EOrder:Invalid price")
        return ticks

    @staticmethod
    def qty(inst: Instrument, value: Decimal) -> int:
        lots = inst.qty_units(value)
        if lots is None:
            raise VenueError(f"{E_INVALID_ARGS}:volume")
        if lots < inst.min_lots:
            raise VenueError(f"{E_INVALID_ARGS}:volume minimum not met")
        return lots

    def spec(
        self,
        inst: Instrument,
        kind: OrderKind,
        qty_value: Decimal,
        price_value: Decimal | None,
        cl_ord_id: str | None,
        userref: int | None,
    ) -> OrderSpec:
        """The checks every front-end's order entry shares, once its fields are read."""
        side, order_type, time_in_force, expire_ns, post_only = kind
        if cl_ord_id is not None and (userref is not None or not _CL_ORD_ID.fullmatch(cl_ord_id)):
            raise VenueError(E_INVALID_ARGS)
        price = None
        if order_type == "limit":
            if price_value is None:
                raise VenueError(f"{E_INVALID_ARGS}:limit_price")
            price = self.price(inst, price_value)
        elif post_only:
            raise VenueError(f"{E_INVALID_ARGS}:post_only")
        qty = self.qty(inst, qty_value)
        if price is not None and inst.cost(price, qty) < inst.min_cost_amount:
            raise VenueError("EOrder:Cost minimum not met")
        return OrderSpec(
            side, order_type, qty, price, time_in_force, post_only, cl_ord_id, userref, expire_ns
        )

    def place(self, account: Account, inst: Instrument, spec: OrderSpec, validate: bool) -> Order:
        system = self.gateway.system
        if system == "cancel_only":
            raise VenueError(E_CANCEL_ONLY)
        if system == "post_only" and not (spec.post_only and spec.price is not None):
            raise VenueError(E_POST_ONLY)
        try:
            order = self.engine.place(
                account,
                inst.symbol,
                spec.side,
                spec.qty,
                price=spec.price,
                order_type=spec.order_type,
                time_in_force=spec.time_in_force,
                post_only=spec.post_only,
                cl_ord_id=spec.cl_ord_id,
                userref=spec.userref,
                expire_ns=spec.expire_ns,
                validate_only=validate,
            )
        except OrderRejected as exc:
            raise rejected(exc) from None
        if order.is_open and spec.expire_ns is not None and not validate:
            delay = (spec.expire_ns - time.time_ns()) / 1e9
            asyncio.get_running_loop().call_later(delay, self.engine.expire, order)
        return order

    def amend(
        self, account: Account, order: Order, qty: int, price: int | None, post_only: bool
    ) -> str:
        """Change an open order in place (already charged); its new amend id."""
        if self.gateway.system == "cancel_only":
            raise VenueError(E_CANCEL_ONLY)
        try:
            self.engine.amend(order, qty=qty, price=price, post_only=post_only)
        except OrderRejected as exc:
            raise rejected(exc) from None
        return kraken_id(self.rng, "T")

    def editable(self, account: Account, inst: Instrument, order_id: str) -> Order:
        """The open limit order on `inst` an edit names, charged for the edit."""
        order = self.engine.find_order(account, order_id)
        if order is None or order.instrument is not inst or order.price is None:
            raise VenueError(E_UNKNOWN_ORDER)
        self.charge_change(account, order, EDIT_PENALTY)
        return order

    def edited(
        self, order: Order, qty_value: Decimal | None, price_value: Decimal | None
    ) -> tuple[int, int]:
        """An edit's quantity and price: the order's own where not given."""
        inst = order.instrument
        qty = order.qty if qty_value is None else self.qty(inst, qty_value)
        price = order.price if price_value is None else self.price(inst, price_value)
        assert price is not None  # editable() takes limit orders only
        return qty, price

    def replace(
        self, order: Order, *, qty: int, price: int, post_only: bool, userref: int | None
    ) -> Order:
        """Cancel-and-replace (edit): the new order."""
        try:
            return self.engine.replace(
                order,
                qty=qty,
                price=price,
                post_only=post_only,
                userref=order.userref if userref is None else userref,
            )
        except OrderRejected as exc:
            raise rejected(exc) from None

    def cancel(self, account: Account, orders: list[Order]) -> None:
        """Charge each order's cancel penalty, then cancel it."""
        for order in orders:
            penalty = age_penalty(CANCEL_PENALTY, order, time.time_ns())
            self.charge(account, order.instrument, penalty)
            self.engine.cancel(order)

    def find(self, account: Account, kind: str, ref: object) -> list[Order]:
        """The open orders `ref` names: an `order_id`, a `cl_ord_id` or an `order_userref`."""
        if kind == "order_userref":
            if isinstance(ref, bool) or not isinstance(ref, int):
                raise VenueError(f"{E_INVALID_ARGS}:order_userref")
            orders = self.engine.find_by_userref(account, ref)
        elif not isinstance(ref, str):
            raise VenueError(f"{E_INVALID_ARGS}:{kind}")
        else:
            find = self.engine.find_order if kind == "order_id" else self.engine.find_by_cl_ord_id
            order = find(account, ref)
            orders = [] if order is None else [order]
        if not orders:
            raise VenueError(E_UNKNOWN_ORDER)
        return orders

    def cancel_all(self, account: Account) -> int:
        return self.engine.cancel_all(account)

    def cancel_all_after(self, account: Account, timeout: int) -> dict[str, str]:
        """Arm (or, with 0, disarm) the dead man's switch: `currentTime`, `triggerTime`."""
        if not 0 <= timeout < 86400:
            raise VenueError(f"{E_INVALID_ARGS}:timeout")
        previous = self._dead_man.pop(account.name, None)
        if previous is not None:
            previous.cancel()
        now = time.time_ns()
        trigger = "0"
        if timeout > 0:
            loop = asyncio.get_running_loop()
            self._dead_man[account.name] = loop.call_later(timeout, self._dead_man_fire, account)
            trigger = rfc3339_s(now + timeout * 1_000_000_000)
        return {"currentTime": rfc3339_s(now), "triggerTime": trigger}

    def _dead_man_fire(self, account: Account) -> None:
        self._dead_man.pop(account.name, None)
        self.engine.cancel_all(account, reason="Dead man's switch triggered")
