"""Matching engine: priority, fills, funds, amend and cancel rules, event hooks, synthetic flow."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from hftpy.sim.engine import (
    AMOUNT_DECIMALS,
    Account,
    Engine,
    OrderEvent,
    OrderRejected,
    RejectReason,
    Trade,
)
from hftpy.sim.flow import SyntheticFlow

BTC = "BTC/USD"  # price 1 decimal, qty 8 decimals


def usd(text: str) -> int:
    return int(Decimal(text).scaleb(AMOUNT_DECIMALS))


def px(text: str) -> int:
    return int(Decimal(text).scaleb(1))


def lots(text: str) -> int:
    return int(Decimal(text).scaleb(8))


@pytest.fixture
def engine() -> Engine:
    return Engine(seed=1)


@pytest.fixture
def alice(engine: Engine) -> Account:
    return engine.add_account(
        "alice", {"USD": "100000", "BTC": "2"}, maker_fee="0.0025", taker_fee="0.004"
    )


@pytest.fixture
def bob(engine: Engine) -> Account:
    return engine.add_account("bob", {"USD": "100000", "BTC": "2"})


def events(account: Account) -> list[OrderEvent]:
    seen: list[OrderEvent] = []
    account.order_listeners.append(seen.append)
    return seen


def test_order_ids_have_krakens_form(engine: Engine, alice: Account) -> None:
    order = engine.place(alice, BTC, "buy", lots("0.01"), price=px("90000"))
    assert re.fullmatch(r"O[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{6}", order.order_id)


def test_price_then_time_priority(engine: Engine, alice: Account, bob: Account) -> None:
    first = engine.place(alice, BTC, "sell", lots("0.1"), price=px("100001"))
    second = engine.place(bob, BTC, "sell", lots("0.1"), price=px("100001"))
    better = engine.place(bob, BTC, "sell", lots("0.1"), price=px("100000.5"))
    taker = engine.place(bob, BTC, "buy", lots("0.15"), price=px("100001"))
    assert better.status == "filled"
    assert first.filled == lots("0.05") and first.status == "partially_filled"
    assert second.filled == 0
    assert taker.status == "filled"
    assert engine.book(BTC).asks.depth(5) == [(px("100001"), lots("0.15"))]


def test_partial_fill_rests_the_remainder_with_events(
    engine: Engine, alice: Account, bob: Account
) -> None:
    seen = events(alice)
    engine.place(bob, BTC, "sell", lots("0.3"), price=px("100000"))
    order = engine.place(alice, BTC, "buy", lots("0.5"), price=px("100000"))
    assert [e.kind for e in seen] == ["new", "trade"]
    fill = seen[1].fill
    assert fill is not None and not fill.maker and fill.qty == lots("0.3")
    assert order.status == "partially_filled" and order.remaining == lots("0.2")
    assert engine.book(BTC).bids.depth(1) == [(px("100000"), lots("0.2"))]
    assert engine.open_orders(alice) == [order]


def test_post_only_that_would_cross_is_rejected_before_resting(
    engine: Engine, alice: Account, bob: Account
) -> None:
    engine.place(bob, BTC, "sell", lots("0.1"), price=px("100000"))
    with pytest.raises(OrderRejected) as caught:
        engine.place(alice, BTC, "buy", lots("0.1"), price=px("100000"), post_only=True)
    assert caught.value.reason is RejectReason.POST_ONLY
    assert engine.open_orders(alice) == []
    assert alice.balance("USD").held == 0
    resting = engine.place(alice, BTC, "buy", lots("0.1"), price=px("99999.9"), post_only=True)
    assert resting.is_open


def test_buy_holds_cost_plus_taker_fee_and_cancel_releases(engine: Engine, alice: Account) -> None:
    order = engine.place(alice, BTC, "buy", lots("0.5"), price=px("90000"))
    usd_balance = alice.balance("USD")
    assert usd_balance.held == usd("45000") + usd("180")  # 0.4 % taker fee reserved
    assert usd_balance.available == usd("100000") - usd("45180")
    engine.cancel(order)
    assert usd_balance.held == 0 and order.status == "canceled"
    sell = engine.place(alice, BTC, "sell", lots("1.5"), price=px("110000"))
    assert alice.balance("BTC").held == usd("1.5")  # same 18-decimal scale for every asset
    engine.cancel(sell)
    assert alice.balance("BTC").held == 0


def test_fills_move_balances_and_charge_maker_and_taker_fees(
    engine: Engine, alice: Account, bob: Account
) -> None:
    engine.place(alice, BTC, "buy", lots("0.5"), price=px("90000"))  # alice is the maker
    engine.place(bob, BTC, "sell", lots("0.5"), price=px("89000"))
    assert alice.balance("USD").total == usd("100000") - usd("45000") - usd("112.5")
    assert alice.balance("USD").held == 0
    assert alice.balance("BTC").total == usd("2.5")
    assert bob.balance("USD").total == usd("145000")  # bob pays no fees
    assert bob.balance("BTC").total == usd("1.5") and bob.balance("BTC").held == 0


def test_insufficient_funds(engine: Engine, alice: Account) -> None:
    with pytest.raises(OrderRejected) as caught:
        engine.place(alice, BTC, "buy", lots("1"), price=px("100000"))  # 100000 + fee > funds
    assert caught.value.reason is RejectReason.INSUFFICIENT_FUNDS
    with pytest.raises(OrderRejected):
        engine.place(alice, BTC, "sell", lots("2.00000001"), price=px("100000"))


def test_market_and_ioc_remainders_are_canceled(
    engine: Engine, alice: Account, bob: Account
) -> None:
    engine.place(bob, BTC, "sell", lots("0.1"), price=px("100000"))
    engine.place(bob, BTC, "sell", lots("0.1"), price=px("100010"))
    seen = events(alice)
    market = engine.place(alice, BTC, "buy", lots("0.5"), order_type="market")
    assert market.filled == lots("0.2") and market.status == "canceled"
    assert [e.kind for e in seen] == ["new", "trade", "trade", "canceled"]
    assert alice.balance("USD").held == 0
    engine.place(bob, BTC, "buy", lots("0.1"), price=px("99000"))
    ioc = engine.place(alice, BTC, "sell", lots("0.3"), price=px("99000"), time_in_force="ioc")
    assert ioc.filled == lots("0.1") and ioc.status == "canceled"
    assert engine.book(BTC).bids.best() is None


def test_amend_quantity_down_keeps_priority(engine: Engine, alice: Account, bob: Account) -> None:
    first = engine.place(alice, BTC, "sell", lots("0.5"), price=px("100000"))
    engine.place(bob, BTC, "sell", lots("0.5"), price=px("100000"))
    engine.amend(first, qty=lots("0.2"))
    assert engine.book(BTC).asks.depth(1) == [(px("100000"), lots("0.7"))]
    engine.place(bob, BTC, "buy", lots("0.2"), price=px("100000"))
    assert first.status == "filled"


def test_amend_price_or_quantity_up_loses_priority(
    engine: Engine, alice: Account, bob: Account
) -> None:
    first = engine.place(alice, BTC, "sell", lots("0.5"), price=px("100000"))
    second = engine.place(bob, BTC, "sell", lots("0.5"), price=px("100000"))
    engine.amend(first, qty=lots("0.6"))
    engine.place(bob, BTC, "buy", lots("0.5"), price=px("100000"))
    assert second.status == "filled" and first.filled == 0
    third = engine.place(bob, BTC, "sell", lots("0.5"), price=px("100000.1"))
    engine.amend(first, price=px("100000.1"))
    engine.place(bob, BTC, "buy", lots("0.5"), price=px("100000.1"))
    assert third.status == "filled" and first.filled == 0
    assert engine.book(BTC).asks.depth(2) == [(px("100000.1"), lots("0.6"))]


def test_amend_rules_and_events(engine: Engine, alice: Account, bob: Account) -> None:
    order = engine.place(alice, BTC, "buy", lots("0.5"), price=px("90000"))
    seen = events(alice)
    engine.amend(order, price=px("91000"))
    assert seen[-1].kind == "amended" and order.price == px("91000")
    assert alice.balance("USD").held == usd("45500") + usd("182")
    engine.place(bob, BTC, "sell", lots("0.1"), price=px("95000"))
    with pytest.raises(OrderRejected) as caught:
        engine.amend(order, price=px("95000"), post_only=True)
    assert caught.value.reason is RejectReason.POST_ONLY
    engine.amend(order, price=px("95000"))  # crosses: matches as a taker, then rests
    assert order.filled == lots("0.1") and order.is_open
    engine.amend(order, qty=lots("0.1"))  # at the filled quantity: the rest is canceled
    assert order.status == "canceled" and alice.balance("USD").held == 0


def test_cancel_variants(engine: Engine, alice: Account) -> None:
    by_cl = engine.place(alice, BTC, "buy", lots("0.1"), price=px("90000"), cl_ord_id="c-1")
    tagged = [
        engine.place(alice, BTC, "buy", lots("0.1"), price=px("90000"), userref=7) for _ in range(2)
    ]
    with pytest.raises(OrderRejected) as caught:
        engine.place(alice, BTC, "buy", lots("0.1"), price=px("90000"), cl_ord_id="c-1")
    assert caught.value.reason is RejectReason.DUPLICATE_CL_ORD_ID
    assert engine.find_by_cl_ord_id(alice, "c-1") is by_cl
    assert engine.find_by_userref(alice, 7) == tagged
    engine.cancel(by_cl)
    assert engine.find_by_cl_ord_id(alice, "c-1") is None
    with pytest.raises(OrderRejected):
        engine.cancel(by_cl)
    assert engine.cancel_all(alice) == 2
    assert engine.book(BTC).bids.best() is None


def test_replace_gives_a_new_order(engine: Engine, alice: Account) -> None:
    order = engine.place(alice, BTC, "buy", lots("0.1"), price=px("90000"))
    new = engine.replace(order, qty=lots("0.2"), price=px("90500"), post_only=False, userref=3)
    assert order.status == "canceled" and new.is_open and new.order_id != order.order_id
    assert (new.qty, new.price, new.userref) == (lots("0.2"), px("90500"), 3)


def test_level_and_trade_hooks(engine: Engine, alice: Account, bob: Account) -> None:
    levels: list[tuple[str, str, int, int]] = []
    trades: list[Trade] = []
    engine.level_listeners.append(lambda i, side, p, q: levels.append((i.symbol, side, p, q)))
    engine.trade_listeners.append(trades.append)
    engine.place(alice, BTC, "sell", lots("0.3"), price=px("100000"))
    engine.place(bob, BTC, "buy", lots("0.1"), price=px("100000"))
    engine.place(bob, BTC, "buy", lots("0.2"), price=px("100000"))
    assert levels == [
        (BTC, "ask", px("100000"), lots("0.3")),
        (BTC, "ask", px("100000"), lots("0.2")),
        (BTC, "ask", px("100000"), 0),
    ]
    assert [(t.price, t.qty, t.taker_side, t.trade_id) for t in trades] == [
        (px("100000"), lots("0.1"), "buy", 1),
        (px("100000"), lots("0.2"), "buy", 2),
    ]


def test_synthetic_flow_keeps_a_ladder_and_spares_far_orders(engine: Engine) -> None:
    maker = engine.add_account("maker", unlimited=True)
    taker = engine.add_account("taker", unlimited=True)
    user = engine.add_account("user", {"USD": "100000", "BTC": "1"})
    low = engine.place(user, BTC, "buy", lots("0.01"), price=px("80000"), post_only=True)
    high = engine.place(user, BTC, "sell", lots("0.01"), price=px("120000"), post_only=True)
    trades: list[Trade] = []
    engine.trade_listeners.append(trades.append)
    flow = SyntheticFlow(engine, BTC, maker, taker, seed=0)
    for _ in range(300):
        flow.step()
    book = engine.book(BTC)
    assert len(book.bids.prices) >= 11 and len(book.asks.prices) >= 11  # 12 + the user's
    assert len(trades) >= 90
    assert low.filled == 0 and high.filled == 0
    for t in trades:
        assert abs(t.price - px("100000")) <= px("2000")
