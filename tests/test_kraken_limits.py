"""Kraken's trading-counter costs (reference/kraken.md §6), priced locally."""

from __future__ import annotations

import time

import pytest

from hftpy.errors import ConfigError
from hftpy.exchange.kraken.limits import UNIT, KrakenRateLimits


def test_costs_follow_kraken_table() -> None:
    limits = KrakenRateLimits("intermediate")
    add = {"symbol": "BTC/USD", "cl_ord_id": "a1", "order_qty": 1}
    assert limits.costs("add_order", add) == {"BTC/USD": UNIT}
    batch = {"symbol": "ETH/USD", "orders": [{"cl_ord_id": f"b{i}"} for i in range(5)]}
    assert limits.costs("batch_add", batch) == {"ETH/USD": 5 * UNIT // 2}
    assert limits("add_order", add) and limits("batch_add", batch)
    limits.on_reply("add_order", add, {"result": {"order_id": "OAAAAA", "cl_ord_id": "a1"}})
    # a cancel right after placing costs the top penalty, per order, on its own pair
    cancel = {"order_id": ["OAAAAA"], "cl_ord_id": ["b0", "b1"]}
    assert limits.costs("cancel_order", cancel) == {"BTC/USD": 8 * UNIT, "ETH/USD": 16 * UNIT}
    assert limits.costs("amend_order", {"order_id": "OAAAAA"}) == {"BTC/USD": 4 * UNIT}
    # orders this process did not place: the pair is unknown, nothing is charged here
    assert limits.costs("cancel_order", {"order_id": ["OTHER"]}) == {}


def test_penalty_falls_with_age(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = KrakenRateLimits("pro")
    assert limits("add_order", {"symbol": "BTC/USD", "cl_ord_id": "x"})
    placed = time.monotonic()
    for age, penalty in ((6, 6), (12, 5), (30, 4), (60, 2), (200, 1), (400, 0)):
        monkeypatch.setattr(time, "monotonic", lambda age=age: placed + age)
        assert limits.costs("cancel_order", {"cl_ord_id": ["x"]}) == {"BTC/USD": penalty * UNIT}


def test_threshold_refuses_and_reports_the_wait() -> None:
    limits = KrakenRateLimits("starter")  # 60, decaying 1/s
    orders = [{"symbol": "XRP/USD", "cl_ord_id": f"o{i}"} for i in range(61)]
    assert all(limits("add_order", order) for order in orders[:60])
    assert not limits("add_order", orders[60])
    assert 0 < limits.last_wait_ns <= 1_000_000_000
    with pytest.raises(ConfigError):
        KrakenRateLimits("whale")
