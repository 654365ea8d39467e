"""`OrderTracker`: what a WS API object knows about the account's orders.

An order is tracked from the moment its frame is sent (symbol, side, price, amount and client
id as sent), linked to the venue's order id by the reply or the first event that carries
both ids, and updated by every `OrderUpdate` of the venue's private channel. That is what
lets `cancel_order(order_id)` find the symbol a venue needs right after `place_order`, lets
`amend_order(order_id, price=...)` fill in the quantity Kraken requires, and what
`open_orders()` returns. Final orders are forgotten after a while (bounded memory).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from hftpy.common import Exchange, Side
from hftpy.exchange.orders import OrderStatus, OrderUpdate

#: Final orders kept for late lookups (a cancel racing a fill, a late event).
_FINAL_KEPT = 10_000
# Members read on the order path, as module constants (an enum class attribute costs ~60 ns
# on CPython 3.11, a global ~10).
_PENDING = OrderStatus.PENDING
_NEW = OrderStatus.NEW

_RANK = {
    OrderStatus.PENDING: 0,
    OrderStatus.NEW: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
}


def exact(value: Any) -> Decimal | None:
    """A number the user passed (float by its shortest repr, as it went on the wire)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value))


class TrackedOrder:
    """One order as known locally. Decimal fields are None until known.

    What a send records is kept as given (the float or text the user passed) and turned
    into `Decimal` when first read: the send path stays a few attribute stores."""

    __slots__ = (
        "_amount",
        "_price",
        "avg_price",
        "client_order_id",
        "exch_ns",
        "filled",
        "order_id",
        "order_type",
        "reason",
        "recv_ns",
        "side",
        "status",
        "symbol",
    )

    def __init__(
        self,
        symbol: str,
        client_order_id: str | None = None,
        order_id: str | None = None,
        side: Side | None = None,
        order_type: str | None = None,
        price: Any = None,
        amount: Any = None,
    ) -> None:
        self.symbol = symbol
        self.client_order_id = client_order_id
        self.order_id = order_id
        self.side = side
        self.order_type = order_type
        self._price = price
        self._amount = amount
        self.filled: Decimal | None = None
        self.status = _PENDING
        self.avg_price: Decimal | None = None
        self.reason: str | None = None
        self.exch_ns = 0
        self.recv_ns = 0

    def __repr__(self) -> str:
        return (
            f"TrackedOrder({self.symbol!r}, order_id={self.order_id!r}, "
            f"client_order_id={self.client_order_id!r}, {self.status.value})"
        )

    @property
    def price(self) -> Decimal | None:
        """The limit price in quote currency as a `Decimal` (as sent, or the venue's latest), None
        until known."""
        price = self._price
        if price is not None and type(price) is not Decimal:
            price = self._price = exact(price)
        return price

    @price.setter
    def price(self, value: Any) -> None:
        self._price = value

    @property
    def amount(self) -> Decimal | None:
        """The order's total quantity in base currency as a `Decimal` (as sent, or the venue's
        latest), None until known."""
        amount = self._amount
        if amount is not None and type(amount) is not Decimal:
            amount = self._amount = exact(amount)
        return amount

    @amount.setter
    def amount(self, value: Any) -> None:
        self._amount = value

    @property
    def remaining(self) -> Decimal | None:
        """Quantity still open in base currency: `amount - filled` (an unknown `filled` counts as
        0), 0 once final, None while `amount` is unknown."""
        if self.amount is None:
            return None
        if self.status.is_final:
            return Decimal(0)
        return self.amount - (self.filled or 0)

    def view(self, exchange: Exchange, raw: dict[str, Any] | None = None) -> OrderUpdate:
        """This order now, as an `OrderUpdate` of `exchange` (with `raw` as its venue message, `{}`
        when None)."""
        return OrderUpdate(
            exchange=exchange,
            symbol=self.symbol,
            order_id=self.order_id,
            client_order_id=self.client_order_id,
            side=self.side,
            status=self.status,
            price=self.price,
            amount=self.amount,
            filled=self.filled,
            remaining=self.remaining,
            order_type=self.order_type,
            avg_price=self.avg_price,
            reason=self.reason,
            exch_ns=self.exch_ns,
            recv_ns=self.recv_ns,
            raw=raw or {},
        )


class OrderTracker:
    """Orders of one WS API object, by client id and by venue order id."""

    __slots__ = ("_by_client", "_by_id", "_final", "exchange", "final_kept", "on_sent")

    def __init__(self, exchange: Exchange) -> None:
        self.exchange = exchange
        #: How many finished orders stay findable (the oldest are forgotten first): memory
        #: grows with the orders until this many have finished, then stays flat.
        self.final_kept = _FINAL_KEPT
        self._by_client: dict[str, TrackedOrder] = {}
        self._by_id: dict[str, TrackedOrder] = {}
        self._final: OrderedDict[int, TrackedOrder] = OrderedDict()
        #: Called with each order `sent()` records, synchronously, in the context of the call
        #: that placed it (the service runner learns so which service placed which order).
        self.on_sent: Callable[[TrackedOrder], None] | None = None

    def __len__(self) -> int:
        return sum(1 for order in self._orders() if order.status.is_open)

    @property
    def finished(self) -> int:
        """Finished orders still kept (at most `final_kept`)."""
        return len(self._final)

    def _orders(self) -> list[TrackedOrder]:
        seen: dict[int, TrackedOrder] = {}
        for order in (*self._by_client.values(), *self._by_id.values()):
            seen[id(order)] = order
        return list(seen.values())

    # -- recording -------------------------------------------------------------------------
    def sent(
        self,
        symbol: str,
        client_order_id: str | None,
        side: Side | None,
        order_type: str | None,
        price: Any,
        amount: Any,
    ) -> TrackedOrder:
        """An order whose frame is on its way: known by its client id from now on."""
        order = TrackedOrder(symbol, client_order_id, None, side, order_type, price, amount)
        if client_order_id is not None:
            self._by_client[client_order_id] = order
        if self.on_sent is not None:
            self.on_sent(order)
        return order

    def link(self, order: TrackedOrder, order_id: str | None) -> None:
        """Files `order` under the venue's `order_id` (None: no change); a new id replaces the one
        it had (the new order of an emulated amend)."""
        if order_id is not None and order.order_id != order_id:
            if order.order_id is not None:
                self._by_id.pop(order.order_id, None)
            order.order_id = order_id
            self._by_id[order_id] = order

    def acked(
        self,
        client_order_id: str | None,
        order_id: str | None,
        status: OrderStatus | None = None,
        symbol: str | None = None,
    ) -> TrackedOrder | None:
        """The venue's reply to a place: links its order id (and status) to the order."""
        order = self.find(order_id, client_order_id)
        if order is None:
            if symbol is None:
                return None
            order = TrackedOrder(symbol=symbol, client_order_id=client_order_id)
            if client_order_id is not None:
                self._by_client[client_order_id] = order
        self.link(order, order_id)
        if status is not None:
            self._set_status(order, status)
        return order

    def accepted(self, client_order_id: str | None, order_id: str | None, symbol: str) -> None:
        """The venue accepted a place: `acked(..., NEW)`, straight for an order sent here
        (the order path's common case)."""
        order = self._by_client.get(client_order_id) if client_order_id is not None else None
        if order is None or order_id is None or order.order_id is not None:
            self.acked(client_order_id, order_id, _NEW, symbol)
            return
        order.order_id = order_id
        self._by_id[order_id] = order
        if order.status is _PENDING:
            order.status = _NEW

    def rejected(self, client_order_id: str | None, reason: str | None = None) -> None:
        """A place that the venue (or the local path) refused."""
        order = self.find(None, client_order_id)
        if order is not None and not order.status.is_final:
            order.reason = reason
            self._set_status(order, OrderStatus.REJECTED)

    def cancelled(self, order: TrackedOrder) -> None:
        """The venue confirmed a cancel."""
        self._set_status(order, OrderStatus.CANCELLED)

    def amended(self, order: TrackedOrder, price: Any, amount: Any) -> None:
        """The venue confirmed an amend to `price` / `amount` (None: unchanged)."""
        if price is not None:
            order.price = price
        if amount is not None:
            order.amount = amount

    def apply(self, event: OrderUpdate) -> TrackedOrder:
        """Merges a venue event into the order it is about (absent fields keep their value)."""
        order = self.find(event.order_id, event.client_order_id)
        if order is None:
            order = TrackedOrder(symbol=event.symbol, client_order_id=event.client_order_id)
            if event.client_order_id is not None:
                self._by_client[event.client_order_id] = order
        elif order.client_order_id is None and event.client_order_id is not None:
            order.client_order_id = event.client_order_id
            self._by_client[event.client_order_id] = order
        self.link(order, event.order_id)
        if event.symbol:
            order.symbol = event.symbol
        for name in ("side", "order_type", "price", "amount", "avg_price", "reason"):
            value = getattr(event, name)
            if value is not None:
                setattr(order, name, value)
        if event.filled is not None and (order.filled is None or event.filled >= order.filled):
            order.filled = event.filled
        if event.exch_ns:
            order.exch_ns = event.exch_ns
        if event.recv_ns:
            order.recv_ns = event.recv_ns
        self._set_status(order, event.status)
        return order

    def _set_status(self, order: TrackedOrder, status: OrderStatus) -> None:
        if order.status.is_final:
            return  # final is final: a late or replayed event cannot reopen an order
        if status.is_open and _RANK[status] < _RANK[order.status]:
            return  # e.g. a late "new" after a fill
        order.status = status
        if status.is_final:
            self._final[id(order)] = order
            while len(self._final) > self.final_kept:
                _, old = self._final.popitem(last=False)
                self._forget(old)

    def _forget(self, order: TrackedOrder) -> None:
        if (
            order.client_order_id is not None
            and self._by_client.get(order.client_order_id) is order
        ):
            del self._by_client[order.client_order_id]
        if order.order_id is not None and self._by_id.get(order.order_id) is order:
            del self._by_id[order.order_id]

    # -- lookups -----------------------------------------------------------------------------
    def find(
        self, order_id: str | None = None, client_order_id: str | None = None
    ) -> TrackedOrder | None:
        """The order known by the venue's `order_id`, else by `client_order_id`; None when neither
        is known."""
        if order_id is not None:
            order = self._by_id.get(order_id)
            if order is not None:
                return order
        if client_order_id is not None:
            return self._by_client.get(client_order_id)
        return None

    def open_orders(self, symbol: str | None = None) -> list[TrackedOrder]:
        """Orders that may still trade (sent, acknowledged or partly filled): those with a
        client id in the order they were sent or became known, then those known only by the
        venue's id."""
        return [
            order
            for order in self._orders()
            if order.status.is_open and (symbol is None or order.symbol == symbol)
        ]

    def open_symbols(self) -> list[str]:
        """The venue symbols with an open order, each once, in `open_orders()` order."""
        return list(dict.fromkeys(order.symbol for order in self.open_orders()))
