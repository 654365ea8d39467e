"""The synchronous order API (`place_order_nowait`, `cancel_order_nowait`,
`amend_order_nowait`) keeps the request contract on every venue, against the simulator over
loopback: called from plain loop callbacks (no coroutine), it returns the `req_id` and every
request ends in exactly one outcome (the venue's reply, `hftpy:timeout`,
`hftpy:disconnected`) reaching the callback and the tracker; a rate-limit refusal raises
`RateLimitError` at once, takes no budget and no req_id, and fires no callback."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from hftpy._core import RateLimiter
from hftpy.common import Exchange, Side
from hftpy.errors import RateLimitError
from hftpy.exchange.binance.limits import DEFAULT_LIMITS
from hftpy.exchange.kraken import KrakenWsApi
from hftpy.exchange.kraken.limits import UNIT
from hftpy.exchange.ws_api import WsApiBase
from hftpy.net import ReconnectPolicy
from hftpy.sim import Simulator
from support import Replies
from test_order_api import VENUES, eventually, started, venue_orders

WS_VENUES = [Exchange.KRAKEN, Exchange.BINANCE]
REST_VENUES = [Exchange.BACKPACK, Exchange.UPBIT]


def local_error(response: dict[str, Any]) -> str | None:
    """The local outcome (`hftpy:...`) a reply stands for, in any venue's shape."""
    error = response.get("error")
    if isinstance(error, dict):
        error = error.get("msg")
    return error if isinstance(error, str) and error.startswith("hftpy:") else None


def in_callback(call: Callable[[], Any]) -> asyncio.Future[Any]:
    """Runs `call` from a plain loop callback (not inside any coroutine), as a stream
    callback would; its result or exception lands in the future."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def run() -> None:
        assert asyncio.current_task() is None  # really outside every coroutine
        try:
            future.set_result(call())
        except Exception as exc:
            future.set_exception(exc)

    loop.call_soon(run)
    return future


def limiter_of(ws_api: WsApiBase, venue: Exchange) -> tuple[RateLimiter, int]:
    """The limiter (and its order cell) a venue's order requests are charged to."""
    if isinstance(ws_api, KrakenWsApi):
        assert ws_api.rate_limits is not None
        return ws_api.rate_limits.cell(VENUES[venue][0].symbol(venue)), 0
    limits = getattr(ws_api, "rate_limits", None)
    if limits is not None:  # Binance
        index = limits.index("ORDERS_10S")
        assert index is not None
        return limits.limiter, index
    limiter: RateLimiter = ws_api.limiter  # type: ignore[attr-defined]
    return limiter, 0


def venue_kwargs(venue: Exchange, **kwargs: Any) -> dict[str, Any]:
    if venue is Exchange.BINANCE:  # a limiter of the test's own, not the process-wide one
        kwargs.setdefault("rate_limiter", RateLimiter(list(DEFAULT_LIMITS)))
    if venue is Exchange.KRAKEN:
        kwargs.setdefault("rate_tier", "pro")
    return kwargs


@pytest.mark.parametrize("venue", list(VENUES), ids=str)
async def test_place_amend_cancel_from_a_plain_callback(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, venue: Exchange
) -> None:
    pair, amount, price, new_price = VENUES[venue]
    ws_api = await started(sim, monkeypatch, venue, **venue_kwargs(venue))
    symbol = pair.symbol(venue)
    replies = Replies()
    req_id = await in_callback(
        lambda: ws_api.place_order_nowait(
            pair, Side.BUY, Decimal(amount), Decimal(price), post_only=True, callback=replies
        )
    )
    assert isinstance(req_id, int)
    await replies.wait_for(1)
    (call,) = replies.calls
    assert call[0] == req_id and ws_api._reply_ok(call[3]), call[3]
    (order,) = ws_api.open_orders()
    assert (order.symbol, order.side, order.price, order.amount) == (
        symbol,
        Side.BUY,
        Decimal(price),
        Decimal(amount),
    )
    assert order.order_id is not None and order.client_order_id is not None
    assert len(venue_orders(sim, symbol)) == 1

    amend_id = await in_callback(
        lambda: ws_api.amend_order_nowait(order.order_id, price=new_price, callback=replies)
    )
    await replies.wait_for(2)
    assert replies.calls[1][0] == amend_id and ws_api._reply_ok(replies.calls[1][3])
    await eventually(lambda: [o.price for o in ws_api.open_orders()] == [Decimal(new_price)])
    (live,) = ws_api.open_orders()

    cancel_id = await in_callback(
        lambda: ws_api.cancel_order_nowait(live.order_id, callback=replies)
    )
    await replies.wait_for(3)
    assert replies.calls[2][0] == cancel_id and ws_api._reply_ok(replies.calls[2][3])
    await eventually(lambda: ws_api.open_orders() == [] and venue_orders(sim, symbol) == [])
    await asyncio.sleep(0.05)
    assert [c[0] for c in replies.calls] == [req_id, amend_id, cancel_id]  # one outcome each
    assert not ws_api._pending


@pytest.mark.parametrize("venue", list(VENUES), ids=str)
async def test_nowait_and_awaitable_share_one_id_sequence(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, venue: Exchange
) -> None:
    pair, amount, price, _ = VENUES[venue]
    ws_api = await started(sim, monkeypatch, venue, **venue_kwargs(venue))
    replies = Replies()
    first = ws_api.place_order_nowait(pair, "buy", amount, price, callback=replies)
    second = await ws_api.place_order(pair, "buy", amount, price, callback=replies)
    third = ws_api.place_order_nowait(pair, "buy", amount, price, callback=replies, req_id=10**6)
    assert second == first + 1 and third == 10**6
    await replies.wait_for(3)
    assert sorted(c[0] for c in replies.calls) == sorted([first, second, third])
    assert all(ws_api._reply_ok(c[3]) for c in replies.calls)
    assert len(ws_api.open_orders()) == 3


@pytest.mark.parametrize("venue", list(VENUES), ids=str)
async def test_rate_limit_refusal_raises_at_once_and_takes_nothing(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, venue: Exchange
) -> None:
    pair, amount, price, _ = VENUES[venue]
    # on_rate_limit="wait" (the default) still raises: waiting needs an await
    ws_api = await started(sim, monkeypatch, venue, **venue_kwargs(venue))
    limiter, index = limiter_of(ws_api, venue)
    others = [i for i in range(len(limiter.names)) if i != index]
    limiter.block_for(index, 0.5)
    before = {i: limiter.available(i) for i in others}
    next_id = ws_api.get_next_request_id() + 1
    replies = Replies()
    with pytest.raises(RateLimitError) as info:
        await in_callback(
            lambda: ws_api.place_order_nowait(pair, Side.BUY, amount, price, callback=replies)
        )
    assert info.value.response is not None
    assert local_error(info.value.response) == "hftpy:rate_limited"
    assert all(limiter.available(i) >= before[i] for i in others)  # no other cell charged
    await asyncio.sleep(0.05)
    assert replies.calls == [] and not ws_api._pending and ws_api.open_orders() == []
    assert venue_orders(sim, pair.symbol(venue)) == []
    cost = UNIT if venue is Exchange.KRAKEN else 1
    await eventually(lambda: limiter.available(index) >= cost)
    # the refused request used no id: the sequence goes on where it was
    assert ws_api.place_order_nowait(pair, Side.BUY, amount, price, callback=replies) == next_id
    await replies.wait_for(1)
    assert ws_api._reply_ok(replies.calls[0][3])


@pytest.mark.parametrize("venue", WS_VENUES, ids=str)
async def test_drop_with_requests_in_flight_ends_each_once(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, venue: Exchange
) -> None:
    pair, amount, price, _ = VENUES[venue]
    ws_api = await started(sim, monkeypatch, venue, **venue_kwargs(venue))
    ws_api._conn._policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.05)
    replies = Replies()
    sim.inject(venue.value, "stall", seconds=5)
    ids = [
        ws_api.place_order_nowait(pair, Side.BUY, amount, str(Decimal(price) - i), callback=replies)
        for i in range(5)
    ]
    await asyncio.sleep(0.05)
    assert replies.calls == []
    sim.inject(venue.value, "drop_connection")
    await replies.wait_for(5)
    assert sorted(c[0] for c in replies.calls) == ids
    assert {local_error(c[3]) for c in replies.calls} == {"hftpy:disconnected"}
    # while the connection is down, a request ends at once as disconnected
    if not ws_api.ready:
        down = ws_api.place_order_nowait(pair, Side.BUY, amount, price, callback=replies)
        assert replies.calls[-1][0] == down
        assert local_error(replies.calls[-1][3]) == "hftpy:disconnected"
    sim.clear_faults()
    await ws_api.wait_ready(5)
    ok = ws_api.place_order_nowait(pair, Side.BUY, amount, price, callback=replies)
    await eventually(lambda: replies.calls[-1][0] == ok)
    assert ws_api._reply_ok(replies.calls[-1][3])
    await asyncio.sleep(0.1)
    counts = Counter(c[0] for c in replies.calls)
    assert set(counts.values()) == {1}  # nothing answered twice, nothing re-sent


@pytest.mark.parametrize("venue", list(VENUES), ids=str)
async def test_timeout_is_the_one_outcome(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, venue: Exchange
) -> None:
    pair, amount, price, _ = VENUES[venue]
    ws_api = await started(sim, monkeypatch, venue, **venue_kwargs(venue, request_timeout=0.3))
    replies = Replies()
    sim.inject(venue.value, "stall", seconds=0.8)
    ids = [
        ws_api.place_order_nowait(pair, Side.BUY, amount, price, callback=replies) for _ in range(3)
    ]
    await replies.wait_for(3)
    assert [c[0] for c in replies.calls] == ids
    assert {local_error(c[3]) for c in replies.calls} == {"hftpy:timeout"}
    await asyncio.sleep(0.9)  # the stall ends and the venue's late replies arrive: dropped
    assert len(replies.calls) == 3 and not ws_api._pending


@pytest.mark.parametrize("venue", REST_VENUES, ids=str)
async def test_rest_drops_and_a_closed_api(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch, venue: Exchange
) -> None:
    pair, amount, price, _ = VENUES[venue]
    ws_api = await started(sim, monkeypatch, venue)
    replies = Replies()
    sim.inject(venue.value, "drop_request", count=2)
    ids = [
        ws_api.place_order_nowait(pair, Side.BUY, amount, price, callback=replies) for _ in range(3)
    ]
    await replies.wait_for(3)
    outcomes = {c[0]: local_error(c[3]) for c in replies.calls}
    assert sorted(outcomes) == ids
    assert sorted(outcomes.values(), key=str) == [None, "hftpy:disconnected", "hftpy:disconnected"]
    await ws_api.close()
    closed = ws_api.place_order_nowait(pair, Side.BUY, amount, price, callback=replies)
    assert replies.calls[-1][0] == closed
    assert local_error(replies.calls[-1][3]) == "hftpy:disconnected"
    assert len(replies.calls) == 4


async def test_needs_a_running_loop_on_rest_venues(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair, amount, price, _ = VENUES[Exchange.UPBIT]
    ws_api = await started(sim, monkeypatch, Exchange.UPBIT)
    loop = asyncio.get_running_loop()
    with pytest.raises(RuntimeError):
        await loop.run_in_executor(
            None, lambda: ws_api.place_order_nowait(pair, Side.BUY, amount, price)
        )
    assert not ws_api._pending
