"""Kraken's trading-counter costs (reference/kraken.md §6), priced locally."""

from __future__ import annotations

import asyncio
import time

import pytest

from hftpy.errors import ConfigError
from hftpy.exchange import create_exchange_api, create_exchange_ws_api
from hftpy.exchange.kraken.limits import UNIT, KrakenRateLimits
from hftpy.sim import Simulator


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


async def test_amends_are_aged_from_the_last_amend_as_kraken_does(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 8: a market maker re-quoting one order drew `EOrder:Rate limit exceeded` because
    amends were priced by the order's age since placement (+1 once older than 15 s) while
    Kraken charges +3 for an amend within 5 s of the previous one. Both sides' clocks are
    moved 20 s forward for the order (as if it had rested that long), then it is amended
    as fast as the local limiter lets it: the venue must refuse none."""
    env = sim.env
    keys = {"api_key": env["HFTPY_KRAKEN_API_KEY"], "api_secret": env["HFTPY_KRAKEN_API_SECRET"]}
    create_exchange_api("kraken", url=env["HFTPY_KRAKEN_REST_URL"], **keys)
    ws_api = create_exchange_ws_api("kraken", url=env["HFTPY_KRAKEN_WS_AUTH_URL"], **keys)
    runner = asyncio.create_task(ws_api.start())
    await ws_api.wait_ready(timeout=5)
    placed = await ws_api.place_order("BTC/USD", "buy", "0.001", "90000", wait=True)
    assert placed.ok and ws_api.rate_limits is not None
    order = sim.engine.find_order(sim.kraken_account, placed.order_id)
    assert order is not None
    order.amended_ns -= 20_000_000_000
    ws_api.rate_limits._placed[placed.client_order_id][1] -= 20.0

    refused = []
    for step in range(48):  # 1 + 47 * 4 = 189 units: past Pro's 180 without local pricing
        reply = await ws_api.amend_order(
            placed.order_id, price=90000 + step, wait=True, timeout=30.0
        )
        if not reply.ok:
            refused.append(reply.response.get("error"))
    assert refused == []
    # The local limiter made some of them wait, and said so (once, not per request).
    waits = [r for r in caplog.records if "waited" in r.getMessage()]
    assert len(waits) == 1, [r.getMessage() for r in waits]
    assert "amend_order" in waits[0].getMessage()
    await ws_api.close()
    await runner
