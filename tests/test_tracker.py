"""The order tracker's merging rules: ids linked from either side, absent fields keep their
value, final is final, a late event never reopens an order, memory stays bounded."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hftpy.common import Exchange, Side
from hftpy.exchange import tracker as tracker_module
from hftpy.exchange.orders import OrderStatus, OrderUpdate
from hftpy.exchange.tracker import OrderTracker


def update(status: OrderStatus, **fields: object) -> OrderUpdate:
    base: dict[str, object] = {
        "exchange": Exchange.BINANCE,
        "symbol": "BTCUSDT",
        "order_id": "7",
        "client_order_id": "c1",
        "side": None,
        "status": status,
    }
    return OrderUpdate(**(base | fields))  # type: ignore[arg-type]


def test_a_sent_order_is_found_by_either_id_once_acked() -> None:
    tracker = OrderTracker(Exchange.BINANCE)
    order = tracker.sent("BTCUSDT", "c1", Side.BUY, "limit", 90000.5, "0.001")
    assert tracker.find(None, "c1") is order and tracker.find("7") is None
    assert order.price == Decimal("90000.5") and order.amount == Decimal("0.001")
    tracker.acked("c1", "7", OrderStatus.NEW)
    assert tracker.find("7") is order
    assert [o.order_id for o in tracker.open_orders("BTCUSDT")] == ["7"]
    assert tracker.open_orders("ETHUSDT") == []


def test_events_merge_and_final_is_final() -> None:
    tracker = OrderTracker(Exchange.BINANCE)
    order = tracker.sent("BTCUSDT", "c1", Side.BUY, "limit", "100", "2")
    tracker.apply(update(OrderStatus.PARTIALLY_FILLED, filled=Decimal("1")))
    assert (order.order_id, order.status, order.filled) == ("7", OrderStatus.PARTIALLY_FILLED, 1)
    assert order.remaining == Decimal("1") and order.price == Decimal("100")  # kept
    tracker.apply(update(OrderStatus.NEW))  # a late "new" does not undo the fill
    assert order.status is OrderStatus.PARTIALLY_FILLED
    tracker.apply(update(OrderStatus.FILLED, filled=Decimal("2")))
    tracker.apply(update(OrderStatus.CANCELLED))  # nor does anything reopen or re-end it
    assert order.status is OrderStatus.FILLED and order.remaining == 0
    assert tracker.open_orders() == [] and len(tracker) == 0


def test_an_order_placed_elsewhere_becomes_known_from_its_events() -> None:
    tracker = OrderTracker(Exchange.BINANCE)
    tracker.apply(update(OrderStatus.NEW, order_id="9", client_order_id="web", side=Side.SELL))
    (order,) = tracker.open_orders()
    assert (order.symbol, order.side, tracker.find(None, "web")) == ("BTCUSDT", Side.SELL, order)


def test_final_orders_are_forgotten_beyond_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracker_module, "_FINAL_KEPT", 3)
    tracker = OrderTracker(Exchange.KRAKEN)
    for n in range(5):
        order = tracker.sent("BTC/USD", f"c{n}", Side.BUY, "limit", 1, 1)
        tracker.link(order, f"O{n}")
        tracker.cancelled(order)
    assert tracker.find("O0") is None and tracker.find(None, "c1") is None
    assert tracker.find("O4") is not None
