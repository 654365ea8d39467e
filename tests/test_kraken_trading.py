"""Kraken WS v2 trading end to end: hftpy's client against the embedded simulator over real
loopback sockets. Each method with success and venue-error replies, and the request
contract (one terminal outcome per item, in order, secrets never printed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from hftpy.common import CurrencyPair, Exchange, Side
from hftpy.errors import InvalidOrderError
from hftpy.exchange import create_exchange_api, create_exchange_ws_api
from hftpy.exchange.kraken import KrakenWsApi
from hftpy.exchange.ws_api import WsResponse
from hftpy.sim import Simulator
from support import Replies

BTC = CurrencyPair.BTC_USD


def api_args(sim: Simulator) -> dict[str, Any]:
    env = sim.env
    return {
        "exchange": Exchange.KRAKEN,
        "api_key": env["HFTPY_KRAKEN_API_KEY"],
        "api_secret": env["HFTPY_KRAKEN_API_SECRET"],
    }


@pytest.fixture
async def ws_api(sim: Simulator) -> AsyncIterator[KrakenWsApi]:
    env = sim.env
    create_exchange_api(**api_args(sim), url=env["HFTPY_KRAKEN_REST_URL"])
    api = create_exchange_ws_api(
        **api_args(sim), url=env["HFTPY_KRAKEN_WS_AUTH_URL"], request_timeout=2.0
    )
    runner = asyncio.create_task(api.start())
    await api.wait_ready(timeout=5)
    yield api
    await api.close()
    await runner


async def place(api: KrakenWsApi, **overrides: Any) -> WsResponse:
    order: dict[str, Any] = {
        "symbol": BTC,
        "side": Side.BUY,
        "amount": 0.001,
        "price": 80000.0,
        "order_type": "limit",
        "post_only": True,
        "wait": True,
    }
    order.update(overrides)
    reply: WsResponse = await api.place_order(**order)
    return reply


async def test_place_order_reply_request_and_latency(ws_api: KrakenWsApi) -> None:
    replies = Replies()
    req_id = await ws_api.place_order(
        symbol=BTC,
        side=Side.BUY,
        amount=0.001,
        price=80000.0,
        order_type="limit",
        post_only=True,
        callback=replies,
    )
    await replies.wait_for(1)
    request_id, method, request, response, latency = replies.calls[0]
    assert (request_id, method) == (req_id, "add_order")
    assert response["success"] is True and response["req_id"] == req_id
    assert response["result"]["order_id"]
    # the request dict holds the params as sent, in Kraken's names
    assert request["symbol"] == "BTC/USD" and request["order_qty"] == 0.001
    assert request["limit_price"] == 80000.0 and request["side"] == "buy"
    assert request["time_in_force"] == "gtc" and request["post_only"] is True
    assert len(request["cl_ord_id"]) == 32
    assert response["result"]["cl_ord_id"] == request["cl_ord_id"]
    assert repr(request["token"]) == "'***'"
    assert isinstance(latency, int) and latency > 0


async def test_wait_gives_stamped_response(ws_api: KrakenWsApi) -> None:
    reply = await place(ws_api, cl_ord_id="my-order-1")
    assert reply.ok and reply.method == "add_order"
    assert reply.response["result"]["cl_ord_id"] == "my-order-1"
    assert reply.recv_ns > reply.sent_ns > 1_600_000_000 * 10**9
    assert 0 < reply.latency_ns < 5 * 10**9


async def test_exact_decimal_prices_reach_the_venue(ws_api: KrakenWsApi, sim: Simulator) -> None:
    reply = await place(ws_api, amount=Decimal("0.00123457"), price="80000.1")
    assert reply.ok
    assert reply.request["order_qty"] == Decimal("0.00123457")
    too_fine = await place(ws_api, price=Decimal("80000.15"))
    assert not too_fine.ok
    assert "price can only be specified up to 1 decimals" in too_fine.response["error"]


async def test_venue_errors_keep_the_seed_shape(ws_api: KrakenWsApi) -> None:
    replies = Replies()
    await ws_api.place_order(
        symbol=BTC,
        side=Side.BUY,
        amount=0.00001,
        price=80000.0,
        post_only=True,
        callback=replies,
    )
    await replies.wait_for(1)
    _, _, request, response, _ = replies.calls[0]
    assert response["success"] is False
    assert response["error"] == "EGeneral:Invalid arguments:volume minimum not met"
    assert "result" not in response
    # a strategy finds its order again by the cl_ord_id it was given in `request`
    assert len(request["cl_ord_id"]) == 32

    broke = await place(ws_api, amount=1000.0, price=90000.0)  # far beyond the demo balance
    assert broke.response["error"] == "EOrder:Insufficient funds"


async def test_post_only_that_would_cross_is_rejected(ws_api: KrakenWsApi) -> None:
    resting = await place(ws_api, side=Side.SELL, price=100500.0, post_only=False)
    assert resting.ok
    crossing = await place(ws_api, side=Side.BUY, price=100600.0, post_only=True)
    assert not crossing.ok and crossing.response["error"] == "EOrder:Post only order"


async def test_cancel_by_id_cl_ord_id_and_several_ids(ws_api: KrakenWsApi) -> None:
    first, second, third = [await place(ws_api, price=79000.0 + i) for i in range(3)]
    ids = [r.response["result"]["order_id"] for r in (first, second)]
    replies = Replies()
    await ws_api.cancel_order(order_id=ids, callback=replies)
    await replies.wait_for(2)
    assert [r["result"]["order_id"] for r in replies.responses] == ids
    assert all(r["success"] for r in replies.responses)
    by_client = await ws_api.cancel_order(cl_ord_id=third.request["cl_ord_id"], wait=True)
    assert by_client.ok and by_client.response["result"]["cl_ord_id"] == third.request["cl_ord_id"]
    unknown = await ws_api.cancel_order(order_id="OAAAAA-BBBBB-CCCCCC", wait=True)
    assert not unknown.ok and unknown.response["error"] == "EOrder:Unknown order"


async def test_cancel_with_mixed_outcomes_waits_for_every_reply(ws_api: KrakenWsApi) -> None:
    live = await place(ws_api)
    reply = await ws_api.cancel_order(
        order_id=[live.response["result"]["order_id"], "OAAAAA-BBBBB-CCCCCC"], wait=True
    )
    assert len(reply.replies) == 2 and not reply.ok
    assert sorted(r["success"] for r in reply.replies) == [False, True]


async def test_amend_cancel_all_and_dead_mans_switch(ws_api: KrakenWsApi, sim: Simulator) -> None:
    order = await place(ws_api)
    order_id = order.response["result"]["order_id"]
    amended = await ws_api.amend_order(
        order_id=order_id, order_qty=0.002, limit_price=79500.0, wait=True
    )
    assert amended.ok and amended.response["result"]["amend_id"]
    await place(ws_api, price=79000.0)
    cancelled = await ws_api.cancel_all(wait=True)
    assert cancelled.ok and cancelled.response["result"]["count"] == 2

    armed = await ws_api.cancel_all_orders_after(1, wait=True)
    assert armed.ok and {"currentTime", "triggerTime"} <= armed.response["result"].keys()
    survivor = await place(ws_api)
    assert survivor.ok
    await asyncio.sleep(1.3)  # the switch fires and cancels it
    gone = await ws_api.cancel_order(order_id=survivor.response["result"]["order_id"], wait=True)
    assert gone.response["error"] == "EOrder:Unknown order"


async def test_batch_add_and_batch_cancel(ws_api: KrakenWsApi) -> None:
    batch = await ws_api.batch_add(
        symbol=BTC,
        orders=[
            {"side": "buy", "amount": 0.001, "price": 78000.0, "post_only": True},
            {"side": "buy", "amount": 0.002, "price": 78100.0, "order_userref": 7},
        ],
        wait=True,
    )
    assert batch.ok and len(batch.response["result"]) == 2
    ids = [item["order_id"] for item in batch.response["result"]]
    assert batch.response["result"][1]["order_userref"] == 7
    cancelled = await ws_api.batch_cancel(orders=ids, wait=True)
    assert cancelled.ok
    refused = await ws_api.batch_add(
        symbol=BTC,
        orders=[
            {"side": "buy", "amount": 0.001, "price": 78000.0},
            {"side": "buy", "amount": 0.00000001, "price": 78000.0},  # below the minimum
        ],
        wait=True,
    )
    assert not refused.ok  # a validation failure rejects the whole batch


async def test_executions_channel_reports_order_life(ws_api: KrakenWsApi) -> None:
    queue = ws_api.channel_queue("executions")
    order = await place(ws_api)
    order_id = order.response["result"]["order_id"]
    await ws_api.cancel_order(order_id=order_id, wait=True)
    seen: list[str] = []
    while "canceled" not in seen:
        message, recv_ns = await asyncio.wait_for(queue.get(), 5)
        assert recv_ns > 0 and message["channel"] == "executions"
        seen += [r["exec_type"] for r in message["data"] if r.get("order_id") == order_id]
    assert seen.index("new") < seen.index("canceled")


async def test_requests_leave_in_call_order_with_increasing_ids(ws_api: KrakenWsApi) -> None:
    replies = Replies()
    ids = [
        await ws_api.place_order(
            symbol=BTC,
            side=Side.BUY,
            amount=0.001,
            price=70000.0 + i,
            post_only=True,
            callback=replies,
        )
        for i in range(20)
    ]
    await replies.wait_for(20)
    assert ids == sorted(ids)
    assert [call[0] for call in replies.calls] == ids  # the venue answers in order
    explicit = ws_api.get_next_request_id()
    await ws_api.place_order(
        symbol=BTC, side="buy", amount=0.001, price=70000.0, req_id=explicit, callback=replies
    )
    await replies.wait_for(21)
    assert replies.calls[-1][0] == explicit


async def test_own_requests_do_not_take_user_req_ids(ws_api: KrakenWsApi) -> None:
    # the `executions` subscribe at connect and `ping` are the API's own requests
    replies = Replies()
    first = await ws_api.place_order(BTC, Side.BUY, 0.001, 70000.0, callback=replies)
    pong = await ws_api.ping()
    # Kraken's own ids stay positive and 32-bit, in a range no user id may take.
    assert pong["method"] == "pong"
    assert KrakenWsApi.USER_IDS_BELOW is not None
    assert KrakenWsApi.USER_IDS_BELOW <= pong["req_id"] < 2**31
    second = await ws_api.place_order(BTC, Side.BUY, 0.001, 70001.0, callback=replies)
    assert second == first + 1
    await replies.wait_for(2)
    await asyncio.sleep(0.05)
    assert [call[0] for call in replies.calls] == [first, second]
    assert all(call[1] == "add_order" for call in replies.calls)
    for taken in (-5, pong["req_id"], KrakenWsApi.USER_IDS_BELOW):
        with pytest.raises(InvalidOrderError, match="the others are hftpy's own"):
            await ws_api.place_order(BTC, Side.BUY, 0.001, 70000.0, req_id=taken)


async def test_an_id_in_use_is_never_handed_out_again(ws_api: KrakenWsApi, sim: Simulator) -> None:
    # A user-chosen id just ahead of the sequence, still pending (the venue stalls) when the
    # sequence reaches it: the sequence skips it, and the same id chosen again is refused.
    replies = Replies()
    sim.inject("kraken", "stall", seconds=1)
    ahead = ws_api.get_next_request_id() + 1
    chosen = await ws_api.place_order(
        BTC, Side.BUY, 0.001, 70000.0, req_id=ahead, callback=replies, timeout=0.3
    )
    assert chosen == ahead
    with pytest.raises(InvalidOrderError, match="already pending"):
        await ws_api.place_order(BTC, Side.BUY, 0.001, 70000.0, req_id=ahead)
    skipped = await ws_api.place_order(BTC, Side.BUY, 0.001, 70001.0, callback=replies, timeout=0.3)
    assert skipped == ahead + 1
    await replies.wait_for(2)
    await asyncio.sleep(0.05)
    # One outcome each (the stalled venue lets both time out), under its own id.
    assert [response["req_id"] for response in replies.responses] == [ahead, ahead + 1]


async def test_bad_input_is_refused_locally_and_nothing_is_sent(ws_api: KrakenWsApi) -> None:
    for bad in (
        {"side": "long"},
        {"amount": -1},
        {"amount": float("nan")},
        {"amount": True},
        {"price": "80k"},
        {"order_type": "limit", "price": None},
        {"cl_ord_id": "x", "order_userref": 1},
    ):
        with pytest.raises(InvalidOrderError):
            await place(ws_api, **bad)
    with pytest.raises(InvalidOrderError):
        await ws_api.cancel_order(order_id="A", cl_ord_id="B")
    with pytest.raises(InvalidOrderError):
        await ws_api.batch_add(symbol=BTC, orders=[{"side": "buy", "amount": 1, "price": 1}])
    assert not ws_api._pending


async def test_default_callback_prints_the_seed_format_without_secrets(
    ws_api: KrakenWsApi, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    reply = await place(ws_api, callback=ws_api.default_ws_callback)
    out = capsys.readouterr().out
    assert f"WebSocket Request - ID: {reply.request_id} | Method: add_order | Latency: " in out
    assert "Request Params: {\n    'token': '***',\n    'order_type': 'limit'," in out
    assert "Response Data: {\n    'method': 'add_order'," in out
    assert "'success': True" in out
    assert sim.env["HFTPY_KRAKEN_API_SECRET"] not in out
    assert ws_api._token is not None and ws_api._token.reveal() not in out


async def test_every_method_relays_venue_errors(ws_api: KrakenWsApi, sim: Simulator) -> None:
    unknown = await ws_api.amend_order(order_id="OAAAAA-BBBBB-CCCCCC", order_qty=0.002, wait=True)
    assert unknown.response["error"] == "EOrder:Unknown order"
    sim.inject("kraken", "maintenance")
    calls = {
        "add_order": place(ws_api),
        "amend_order": ws_api.amend_order(cl_ord_id="x", order_qty=0.002, wait=True),
        "cancel_order": ws_api.cancel_order(order_id="OAAAAA-BBBBB-CCCCCC", wait=True),
        "cancel_all": ws_api.cancel_all(wait=True),
        "cancel_all_orders_after": ws_api.cancel_all_orders_after(30, wait=True),
        "batch_add": ws_api.batch_add(
            symbol=BTC,
            orders=[{"side": "buy", "amount": 0.001, "price": 70000.0 + i} for i in range(2)],
            wait=True,
        ),
        "batch_cancel": ws_api.batch_cancel(orders=["OAAAAA-BBBBB-CCCCCC", "1"], wait=True),
    }
    for method, call in calls.items():
        reply = await call
        assert reply.method == method and reply.response["method"] == method
        assert not reply.ok and reply.response["success"] is False
        assert reply.response["error"] == "EService:Unavailable", method
        assert reply.response["req_id"] == reply.request_id


async def test_local_trading_counter_keeps_the_venue_from_refusing(sim: Simulator) -> None:
    """The simulator enforces Kraken's Pro-tier counter (180, decaying 3.75/s). hftpy reads
    the tier from the executions ack and refuses locally before the venue would."""
    env = sim.env
    api = create_exchange_ws_api(
        **api_args(sim),
        url=env["HFTPY_KRAKEN_WS_AUTH_URL"],
        rest_url=env["HFTPY_KRAKEN_REST_URL"],
        on_rate_limit="raise",
    )
    runner = asyncio.create_task(api.start())
    await api.wait_ready(5)
    assert api.max_rate_count == 180 and api.rate_limits is not None
    assert api.rate_limits.tier == "pro"
    replies = Replies()
    for i in range(200):
        await api.place_order(
            symbol=BTC,
            side=Side.BUY,
            amount=0.001,
            price=60000.0 + i,
            validate=True,
            callback=replies,
        )
    await replies.wait_for(200)
    errors = [r.get("error") for r in replies.responses]
    assert "EOrder:Rate limit exceeded" not in errors  # the venue never had to refuse
    limited = errors.count("hftpy:rate_limited")
    assert 15 <= limited <= 20  # 180 fit, plus what decayed meanwhile
    assert errors.count(None) == 200 - limited
    await api.close()
    await runner


async def test_waiting_for_the_counter_instead_of_failing(sim: Simulator) -> None:
    env = sim.env
    api = create_exchange_ws_api(
        **api_args(sim),
        url=env["HFTPY_KRAKEN_WS_AUTH_URL"],
        rest_url=env["HFTPY_KRAKEN_REST_URL"],
        rate_tier="pro",
    )
    runner = asyncio.create_task(api.start())
    await api.wait_ready(5)
    replies = [
        await api.place_order(
            symbol=BTC, side=Side.BUY, amount=0.001, price=60000.0 + i, validate=True, wait=True
        )
        for i in range(183)
    ]
    # Three orders past the threshold: sent without waiting, the venue would refuse them.
    assert all(reply.ok for reply in replies)
    await api.close()
    await runner


async def test_balances_stay_subscribed_across_reconnects(ws_api: KrakenWsApi) -> None:
    queue = ws_api.channel_queue("balances")
    await ws_api.subscribe_balances()
    message, _ = await asyncio.wait_for(queue.get(), 2)
    assert message["type"] == "snapshot"
    connects = ws_api._conn.connects
    ws_api._conn.drop()
    async with asyncio.timeout(5):
        while not (ws_api._conn.connects > connects and ws_api.ready):
            await asyncio.sleep(0.01)
    message, _ = await asyncio.wait_for(queue.get(), 2)
    assert message["type"] == "snapshot"  # subscribed again by itself
