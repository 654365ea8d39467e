"""Binance WS API trading end to end: hftpy's client against the embedded simulator over real
loopback sockets. Every method with success and venue-error replies; HMAC and Ed25519
(`session.logon`) authentication; server-time offset and -1021; `rateLimits` feeding the
limiter, waiting vs raising, 429 `retryAfter`; the user data stream; disconnects with requests
in flight; secrets never printed."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import pytest

from hftpy._core import RateLimiter
from hftpy.common import CurrencyPair, Exchange, Side
from hftpy.errors import (
    AuthError,
    ConfigError,
    DisconnectedError,
    InvalidOrderError,
    RateLimitError,
)
from hftpy.exchange import create_exchange_api, create_exchange_ws_api, get_exchange_ws_api
from hftpy.exchange.binance import BinanceRestApi, BinanceWsApi
from hftpy.exchange.ws_api import WsResponse
from hftpy.net import ReconnectPolicy
from hftpy.sim import Simulator
from support import Replies

BTC = CurrencyPair.BTC_USDT


def hmac_args(sim: Simulator, **overrides: Any) -> dict[str, Any]:
    env = sim.env
    args = {
        "exchange": Exchange.BINANCE,
        "api_key": env["HFTPY_BINANCE_API_KEY"],
        "api_secret": env["HFTPY_BINANCE_API_SECRET"],
        "url": env["HFTPY_BINANCE_WS_API_URL"],
        "request_timeout": 2.0,
        # a limiter per test: the process-wide one would carry counts between tests
        "rate_limiter": RateLimiter(
            [
                ("window", "ORDERS_10S", 50, 10.0, 40),
                ("window", "ORDERS_1D", 160_000, 86_400.0, 128_000),
                ("window", "REQUEST_WEIGHT_1M", 6000, 60.0, 4800),
            ]
        ),
    }
    return args | overrides


def ed25519_args(sim: Simulator, **overrides: Any) -> dict[str, Any]:
    args = hmac_args(sim, api_secret=None, ed25519_key=sim.env["HFTPY_BINANCE_ED25519_KEY"])
    return args | overrides


async def start(args: dict[str, Any]) -> tuple[BinanceWsApi, asyncio.Task[None]]:
    api: BinanceWsApi = create_exchange_ws_api(**args)
    api._conn._policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.05)
    runner = asyncio.create_task(api.start())
    return api, runner


async def stop(api: BinanceWsApi, runner: asyncio.Task[None]) -> None:
    await api.close()
    await runner


@pytest.fixture
async def ws_api(sim: Simulator) -> AsyncIterator[BinanceWsApi]:
    api, runner = await start(hmac_args(sim))
    await api.wait_ready(timeout=5)
    yield api
    await stop(api, runner)


@pytest.fixture
async def ed_api(sim: Simulator) -> AsyncIterator[BinanceWsApi]:
    api, runner = await start(ed25519_args(sim))
    await api.wait_ready(timeout=5)
    yield api
    await stop(api, runner)


async def place(api: BinanceWsApi, **overrides: Any) -> WsResponse:
    order: dict[str, Any] = {
        "symbol": BTC,
        "side": Side.BUY,
        "amount": 0.001,
        "price": 90000.0,
        "order_type": "limit",
        "post_only": True,
        "wait": True,
    }
    order.update(overrides)
    reply: WsResponse = await api.place_order(**order)
    return reply


def error_of(reply: WsResponse) -> tuple[int, str]:
    error = reply.response["error"]
    return error["code"], error["msg"]


async def test_place_order_reply_request_and_latency(ws_api: BinanceWsApi) -> None:
    replies = Replies()
    req_id = await ws_api.place_order(
        symbol=BTC,
        side=Side.BUY,
        amount=0.001,
        price=90000.0,
        order_type="limit",
        post_only=True,
        callback=replies,
    )
    await replies.wait_for(1)
    request_id, method, request, response, latency = replies.calls[0]
    assert (request_id, method) == (req_id, "order.place")
    assert response["id"] == req_id and response["status"] == 200
    result = response["result"]
    assert isinstance(result["orderId"], int)
    # the request dict holds the params as sent, in Binance's names
    assert request["symbol"] == "BTCUSDT" and request["side"] == "BUY"
    assert request["type"] == "LIMIT_MAKER" and "timeInForce" not in request
    assert request["price"] == "90000.0" and request["quantity"] == "0.001"
    assert len(request["newClientOrderId"]) == 32
    assert result["clientOrderId"] == request["newClientOrderId"]
    assert request["recvWindow"] == 5000 and abs(request["timestamp"] - time.time() * 1000) < 2000
    assert repr(request["apiKey"]) == "'***'" and repr(request["signature"]) == "'***'"
    assert isinstance(latency, int) and latency > 0
    kinds = [(r["rateLimitType"], r["interval"]) for r in response["rateLimits"]]
    assert kinds == [("ORDERS", "SECOND"), ("ORDERS", "DAY"), ("REQUEST_WEIGHT", "MINUTE")]
    assert response["rateLimits"][0]["count"] == 1


async def test_wait_gives_stamped_response_and_exact_decimals(ws_api: BinanceWsApi) -> None:
    reply = await place(ws_api, amount=Decimal("0.00123"), price="90000.01", cl_ord_id="mine-1")
    assert reply.ok and reply.method == "order.place"
    assert reply.request["quantity"] == "0.00123" and reply.request["price"] == "90000.01"
    assert reply.response["result"]["clientOrderId"] == "mine-1"
    assert reply.recv_ns > reply.sent_ns > 1_600_000_000 * 10**9
    assert 0 < reply.latency_ns < 5 * 10**9
    gtc = await place(ws_api, post_only=None, time_in_force="gtc", newOrderRespType="RESULT")
    assert gtc.request["type"] == "LIMIT" and gtc.request["timeInForce"] == "GTC"
    assert gtc.response["result"]["status"] == "NEW"
    assert gtc.response["result"]["origQty"] == "0.00100000"


async def test_ed25519_logon_then_requests_carry_no_signature(ed_api: BinanceWsApi) -> None:
    assert ed_api.logged_on and ed_api.subscription_id == 0
    reply = await place(ed_api)
    assert reply.ok
    assert "signature" not in reply.request and "apiKey" not in reply.request
    assert "timestamp" in reply.request


async def test_per_request_ed25519_signatures_without_logon(sim: Simulator) -> None:
    api, runner = await start(ed25519_args(sim, logon=False))
    await api.wait_ready(5)
    assert not api.logged_on and api.subscription_id == 0  # subscribed by signature
    reply = await place(api)
    assert reply.ok and repr(reply.request["signature"]) == "'***'"
    # an Ed25519 signature is base64 of 64 bytes, not hex
    assert len(reply.request["signature"].reveal()) == 88
    await stop(api, runner)


async def test_cancel_status_and_cancel_all(ws_api: BinanceWsApi) -> None:
    first, second, third = [await place(ws_api, price=89000.0 + i) for i in range(3)]
    order_id = first.response["result"]["orderId"]
    status = await ws_api.order_status(order_id, symbol=BTC, wait=True)
    assert status.ok and status.response["result"]["status"] == "NEW"
    # a symbol is remembered for orders placed here
    by_client = await ws_api.order_status(cl_ord_id=second.request["newClientOrderId"], wait=True)
    assert by_client.response["result"]["orderId"] == second.response["result"]["orderId"]
    cancelled = await ws_api.cancel_order(order_id, symbol=BTC, wait=True)
    assert cancelled.ok and cancelled.response["result"]["status"] == "CANCELED"
    assert cancelled.request == {"symbol": "BTCUSDT", "orderId": order_id} | {
        k: cancelled.request[k] for k in ("timestamp", "recvWindow", "apiKey", "signature")
    }
    again = await ws_api.cancel_order(order_id, symbol=BTC, wait=True)
    assert not again.ok and again.response["status"] == 400
    assert error_of(again) == (-2011, "Unknown order sent.")
    after = await ws_api.order_status(order_id, symbol=BTC, wait=True)
    assert after.response["result"]["status"] == "CANCELED"
    missing = await ws_api.order_status(123, symbol=BTC, wait=True)
    assert error_of(missing) == (-2013, "Order does not exist.")
    by_cl = await ws_api.cancel_order(cl_ord_id=third.request["newClientOrderId"], wait=True)
    assert (
        by_cl.ok
        and by_cl.response["result"]["origClientOrderId"] == (third.request["newClientOrderId"])
    )
    everything = await ws_api.cancel_all(BTC, wait=True)
    assert everything.ok and [r["status"] for r in everything.response["result"]] == ["CANCELED"]
    nothing = await ws_api.cancel_all(BTC, wait=True)
    assert error_of(nothing) == (-2011, "Unknown order sent.")


async def test_cancel_replace_success_and_failures(ws_api: BinanceWsApi) -> None:
    original = await place(ws_api, price=88000.0)
    order_id = original.response["result"]["orderId"]
    replaced = await ws_api.cancel_replace(
        BTC, Side.BUY, 0.002, 88100.0, order_id=order_id, post_only=True, wait=True
    )
    assert replaced.ok, replaced.response
    result = replaced.response["result"]
    assert result["cancelResult"] == result["newOrderResult"] == "SUCCESS"
    assert result["cancelResponse"]["orderId"] == order_id
    assert result["newOrderResponse"]["clientOrderId"] == replaced.request["newClientOrderId"]
    assert replaced.request["cancelReplaceMode"] == "STOP_ON_FAILURE"
    # the cancelled order is gone: STOP_ON_FAILURE places nothing
    failed = await ws_api.cancel_replace(
        BTC, Side.BUY, 0.002, 88200.0, order_id=order_id, post_only=True, wait=True
    )
    assert failed.response["status"] == 400
    assert error_of(failed) == (-2022, "Order cancel-replace failed.")
    data = failed.response["error"]["data"]
    assert data["cancelResult"] == "FAILURE" and data["newOrderResult"] == "NOT_ATTEMPTED"
    # ALLOW_FAILURE places the new order anyway: a partial success (409)
    partial = await ws_api.cancel_replace(
        BTC, "buy", 0.002, 88300.0, order_id=order_id, mode="ALLOW_FAILURE", wait=True
    )
    assert partial.response["status"] == 409 and not partial.ok
    assert error_of(partial) == (-2021, "Order cancel-replace partially failed.")
    assert partial.response["error"]["data"]["newOrderResult"] == "SUCCESS"


async def test_venue_errors_keep_binance_shape(ws_api: BinanceWsApi) -> None:
    for overrides, expected in (
        ({"amount": 0.000001}, "Filter failure: LOT_SIZE"),
        ({"price": 90000.001}, "Filter failure: PRICE_FILTER"),
        ({"amount": 0.00002, "price": 100.0}, "Filter failure: NOTIONAL"),
    ):
        reply = await place(ws_api, **overrides)
        assert reply.response["status"] == 400
        assert error_of(reply) == (-1013, expected), reply.response
    broke = await place(ws_api, amount=100.0, price=90000.0)
    assert error_of(broke) == (-2010, "Account has insufficient balance for requested action.")
    unknown = await place(ws_api, symbol="NOPEUSDT")
    assert error_of(unknown) == (-1121, "Invalid symbol.")
    # a LIMIT_MAKER that would cross is rejected; the reply still carries rateLimits
    resting = await place(ws_api, side=Side.SELL, price=100500.0, post_only=None)
    assert resting.ok
    crossing = await place(ws_api, price=100600.0, post_only=True)
    assert error_of(crossing) == (-2010, "Order would immediately match and take.")
    assert crossing.response["rateLimits"]


async def test_market_ioc_and_fok(ws_api: BinanceWsApi) -> None:
    await place(ws_api, side=Side.SELL, amount=0.002, price=100500.0, post_only=None)
    market = await ws_api.place_order(BTC, Side.BUY, 0.001, order_type="market", wait=True)
    assert market.ok and market.response["result"]["status"] == "FILLED"
    assert market.response["result"]["fills"][0]["price"] == "100500.00000000"
    fok = await place(ws_api, amount=0.01, price=100500.0, post_only=None, time_in_force="FOK")
    assert fok.ok and fok.response["result"]["status"] == "EXPIRED"
    ioc = await place(ws_api, amount=0.01, price=100500.0, post_only=None, time_in_force="ioc")
    assert ioc.response["result"]["status"] == "EXPIRED"
    assert ioc.response["result"]["executedQty"] == "0.00100000"


async def test_user_data_stream_after_a_fill(ws_api: BinanceWsApi) -> None:
    reports = ws_api.channel_queue("executionReport")
    positions = ws_api.channel_queue("outboundAccountPosition")
    seen: list[dict[str, Any]] = []
    ws_api.on_execution(lambda event, recv_ns: seen.append(event))
    sell = await place(ws_api, side=Side.SELL, price=100500.0, post_only=None)
    buy = await place(ws_api, price=100500.0, post_only=None)
    assert buy.response["result"]["status"] == "FILLED"
    trades: list[dict[str, Any]] = []
    while len(trades) < 2:
        event, recv_ns = await asyncio.wait_for(reports.get(), 5)
        assert recv_ns > 0 and event["e"] == "executionReport"
        if event["x"] == "TRADE":
            trades.append(event)
    by_side = {t["S"]: t for t in trades}
    assert by_side["SELL"]["i"] == sell.response["result"]["orderId"]
    assert by_side["BUY"]["c"] == buy.request["newClientOrderId"]
    assert by_side["BUY"]["X"] == "FILLED" and by_side["BUY"]["L"] == "100500.00000000"
    assert by_side["BUY"]["l"] == "0.00100000" and by_side["BUY"]["m"] is False
    assert by_side["SELL"]["m"] is True and by_side["BUY"]["N"] == "USDT"
    event, _ = await asyncio.wait_for(positions.get(), 5)
    assert {b["a"] for b in event["B"]} == {"BTC", "USDT"}
    assert set(event["B"][0]) == {"a", "f", "l"}
    assert seen and seen[0]["x"] == "NEW"


async def test_user_data_stream_on_ed25519_session(ed_api: BinanceWsApi) -> None:
    reports = ed_api.channel_queue()
    order = await place(ed_api)
    await ed_api.cancel_order(order.response["result"]["orderId"], symbol=BTC, wait=True)
    kinds = []
    while "CANCELED" not in kinds:
        event, _ = await asyncio.wait_for(reports.get(), 5)
        kinds.append(event["x"])
    assert kinds == ["NEW", "CANCELED"]


async def test_bad_signature_wrong_key_and_bad_key_format(sim: Simulator) -> None:
    wrong = "A" * 64
    api, runner = await start(hmac_args(sim, api_secret=wrong))
    with pytest.raises(AuthError, match="Signature for this request is not valid"):
        await api.wait_ready(timeout=5)  # at the first refusal, not at the timeout
    assert isinstance(api._conn.last_error, AuthError)
    await stop(api, runner)

    quiet, runner = await start(hmac_args(sim, api_secret=wrong, user_data=False, account="q"))
    await quiet.wait_ready(5)
    assert error_of(await place(quiet)) == (-1022, "Signature for this request is not valid.")
    await stop(quiet, runner)

    for key, expected in (
        ("B" * 64, (-2015, "Invalid API-key, IP, or permissions for action.")),
        ("not-a-key", (-2014, "API-key format invalid.")),
    ):
        other, runner = await start(hmac_args(sim, api_key=key, user_data=False, account=key))
        await other.wait_ready(5)
        reply = await place(other)
        assert reply.response["status"] == 401 and error_of(reply) == expected
        await stop(other, runner)


async def test_wrong_ed25519_key_is_refused_at_logon(sim: Simulator) -> None:
    other_seed = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
    api, runner = await start(ed25519_args(sim, ed25519_key=other_seed))
    with pytest.raises(AuthError, match=r"session\.logon refused: -1022"):
        await api.wait_ready(timeout=5)
    await stop(api, runner)


async def test_skewed_clock_gives_1021_then_the_offset_is_remeasured(sim: Simulator) -> None:
    api, runner = await start(hmac_args(sim))
    await api.wait_ready(5)
    assert abs(api.time_offset_ms) < 100
    sim.inject("binance", "skew_clock", seconds=10)  # the venue's clock jumps 10 s ahead
    late = await place(api)
    assert error_of(late) == (-1021, "Timestamp for this request is outside of the recvWindow.")
    for _ in range(200):
        if api.time_offset_ms > 9000:
            break
        await asyncio.sleep(0.01)
    assert 9900 < api.time_offset_ms < 10100
    assert (await place(api)).ok  # the retry is inside the window
    await stop(api, runner)


async def test_logon_measures_the_offset_first(sim: Simulator) -> None:
    sim.inject("binance", "skew_clock", seconds=-30)
    api, runner = await start(ed25519_args(sim))
    await api.wait_ready(5)
    assert api.logged_on and -30100 < api.time_offset_ms < -29900
    assert (await place(api)).ok
    await stop(api, runner)


async def test_rate_limits_from_replies_tighten_the_limiter(sim: Simulator) -> None:
    api, runner = await start(hmac_args(sim))
    other, other_runner = await start(hmac_args(sim, account="other"))
    await api.wait_ready(5)
    await other.wait_ready(5)
    orders = api.rate_limits.index("ORDERS_10S")
    assert orders is not None
    before = api.rate_limits.limiter.available(orders)
    for i in range(5):  # the same account, another connection and limiter
        assert (await place(other, price=80000.0 + i)).ok
    reply = await place(api)
    assert reply.response["rateLimits"][0]["count"] == 6
    assert api.last_rate_limits == reply.response["rateLimits"]
    # one order taken locally, but the venue counted six: the cell follows the venue
    assert api.rate_limits.limiter.available(orders) == before - 6
    await stop(other, other_runner)
    await stop(api, runner)


def tight_limiter() -> RateLimiter:
    # 2 orders at once, then one per 0.5 s
    return RateLimiter(
        [("window", "ORDERS_10S", 3, 0.5, 2), ("window", "REQUEST_WEIGHT_1M", 6000, 60.0, 4800)]
    )


async def test_exhausted_limiter_raises_or_waits(sim: Simulator) -> None:
    strict, runner = await start(
        hmac_args(sim, on_rate_limit="raise", rate_limiter=tight_limiter())
    )
    await strict.wait_ready(5)
    assert (await place(strict)).ok and (await place(strict)).ok
    with pytest.raises(RateLimitError) as info:
        await place(strict)
    assert info.value.response is not None
    assert info.value.response["error"]["msg"] == "hftpy:rate_limited"
    replies = Replies()
    await strict.place_order(BTC, Side.BUY, 0.001, 90000.0, post_only=True, callback=replies)
    assert replies.responses[0]["error"]["msg"] == "hftpy:rate_limited"
    assert replies.responses[0]["method"] == "order.place"
    await stop(strict, runner)

    patient, runner = await start(hmac_args(sim, account="p", rate_limiter=tight_limiter()))
    await patient.wait_ready(5)
    started = time.monotonic()
    results = [await place(patient) for _ in range(3)]
    assert all(r.ok for r in results)
    assert time.monotonic() - started > 0.3  # the third waited for its budget
    # a wait longer than the request's timeout is refused at once
    with pytest.raises(RateLimitError):
        await place(patient, timeout=0.01)
    await stop(patient, runner)


async def test_a_req_id_taken_while_waiting_for_budget_is_refused(sim: Simulator) -> None:
    # Two requests with the same req_id both wait for the limiter; the second must not
    # replace the first's pending entry (the first would then never end, not even by timeout).
    limiter = RateLimiter(
        [("window", "ORDERS_10S", 20, 0.2, 2), ("window", "REQUEST_WEIGHT_1M", 6000, 60.0, 4800)]
    )
    api, runner = await start(hmac_args(sim, rate_limiter=limiter))
    await api.wait_ready(5)
    assert (await place(api)).ok and (await place(api)).ok  # the burst is used up
    sim.inject("binance", "stall", seconds=2.0)  # the first stays pending
    both = asyncio.gather(
        place(api, req_id=777_000, timeout=0.3),
        place(api, req_id=777_000, timeout=0.3),
        return_exceptions=True,
    )
    outcomes = await asyncio.wait_for(both, 2.0)
    # whichever got its budget first is sent (and times out); the other is refused
    assert sorted(type(o).__name__ for o in outcomes) == [
        "InvalidOrderError",
        "RequestTimeoutError",
    ]
    assert not api._pending
    await stop(api, runner)


async def test_429_retry_after_blocks_the_limiter(sim: Simulator) -> None:
    strict, runner = await start(hmac_args(sim, on_rate_limit="raise"))
    await strict.wait_ready(5)
    sim.inject("binance", "rate_limit", seconds=0.6)
    limited = await place(strict)
    assert limited.response["status"] == 429 and not limited.ok
    code, msg = error_of(limited)
    assert code == -1003 and msg.startswith("Too much request weight used")
    data = limited.response["error"]["data"]
    assert 500 <= data["retryAfter"] - data["serverTime"] <= 600
    with pytest.raises(RateLimitError):  # refused locally until retryAfter
        await place(strict)
    await asyncio.sleep(0.8)
    assert (await place(strict)).ok
    await stop(strict, runner)

    patient, runner = await start(hmac_args(sim, account="p2"))
    await patient.wait_ready(5)
    sim.inject("binance", "rate_limit", seconds=0.5, status=418)
    banned = await place(patient)
    assert banned.response["status"] == 418 and "IP banned until" in error_of(banned)[1]
    started = time.monotonic()
    assert (await place(patient)).ok  # waited for the ban to end instead of hitting it again
    assert time.monotonic() - started > 0.3
    await stop(patient, runner)


async def test_disconnect_fails_every_pending_request_once_then_relogs_on(sim: Simulator) -> None:
    api, runner = await start(ed25519_args(sim))
    await api.wait_ready(5)
    resting = await place(api)
    replies = Replies()
    sim.inject("binance", "stall", seconds=5)
    await api.place_order(BTC, Side.BUY, 0.001, 90000.0, post_only=True, callback=replies)
    await api.cancel_order(resting.response["result"]["orderId"], symbol=BTC, callback=replies)
    waiter = asyncio.create_task(place(api))
    await asyncio.sleep(0.05)
    assert not replies.calls  # stalled: nothing answered yet
    sim.inject("binance", "drop_connection")
    await replies.wait_for(2)
    with pytest.raises(DisconnectedError):
        await waiter
    assert [r["error"]["msg"] for r in replies.responses] == ["hftpy:disconnected"] * 2
    assert [r["method"] for r in replies.responses] == ["order.place", "order.cancel"]
    sim.clear_faults()
    await api.wait_ready(5)
    assert api._conn.connects == 2 and api.logged_on  # a new session.logon
    assert (await place(api)).ok
    await asyncio.sleep(0.1)
    assert len(replies.calls) == 2  # nothing answered twice, nothing re-sent
    await stop(api, runner)


async def test_revoked_session_logs_on_again(ed_api: BinanceWsApi, sim: Simulator) -> None:
    sim.inject("binance", "reject_auth")
    refused = await place(ed_api)
    assert refused.response["status"] == 401 and error_of(refused)[0] == -2015
    # It logs on again by itself (on this connection, or on a new one when the simulator also
    # refuses the re-logon); orders go through once it is ready again.
    for _ in range(500):
        if ed_api.logged_on and ed_api.ready:
            break
        await asyncio.sleep(0.01)
    assert ed_api.logged_on and ed_api.ready
    assert (await place(ed_api)).ok


async def test_requests_while_down_fail_at_once(sim: Simulator) -> None:
    api, runner = await start(hmac_args(sim))
    await api.wait_ready(5)
    await sim.stop()
    while api.ready:
        await asyncio.sleep(0.01)
    replies = Replies()
    req_id = await api.cancel_all(BTC, callback=replies)
    assert replies.calls[0][0] == req_id
    assert replies.responses[0]["error"]["msg"] == "hftpy:disconnected"
    with pytest.raises(DisconnectedError):
        await api.cancel_all(BTC, wait=True)
    await stop(api, runner)
    await sim.start()


async def test_bad_input_is_refused_locally_and_nothing_is_sent(ws_api: BinanceWsApi) -> None:
    for bad in (
        {"side": "long"},
        {"amount": -1},
        {"amount": float("nan")},
        {"amount": True},
        {"price": "90k"},
        {"price": None, "post_only": None},
        {"order_type": "market"},  # a market order takes no price
        {"order_type": "trailing-stop"},
        {"time_in_force": "gtd", "post_only": None},
        {"amount": None},
    ):
        with pytest.raises(InvalidOrderError):
            await place(ws_api, **bad)
    with pytest.raises(InvalidOrderError):
        await ws_api.cancel_order(1, cl_ord_id="x", symbol=BTC)
    with pytest.raises(InvalidOrderError, match="symbol"):
        await ws_api.cancel_order(cl_ord_id="never-placed-here")
    with pytest.raises(InvalidOrderError):
        await ws_api.order_status("OABC", symbol=BTC)
    assert not ws_api._pending


async def test_every_method_relays_the_ban(ws_api: BinanceWsApi, sim: Simulator) -> None:
    ws_api.on_rate_limit = "raise"
    live = await place(ws_api)
    order_id = live.response["result"]["orderId"]
    calls = {
        "order.cancel": lambda: ws_api.cancel_order(order_id, symbol=BTC, wait=True),
        "order.status": lambda: ws_api.order_status(order_id, symbol=BTC, wait=True),
        "openOrders.cancelAll": lambda: ws_api.cancel_all(BTC, wait=True),
        "order.cancelReplace": lambda: ws_api.cancel_replace(
            BTC, Side.BUY, 0.001, 90000.0, order_id=order_id, wait=True
        ),
        "order.place": lambda: place(ws_api),
    }
    for method, call in calls.items():
        sim.inject("binance", "rate_limit", seconds=0.05)
        reply = await call()
        assert reply.method == method and reply.response["id"] == reply.request_id
        assert reply.response["status"] == 429 and error_of(reply)[0] == -1003, method
        # after retryAfter the weight cell refills from empty (20 units/s here)
        await asyncio.sleep(0.3)


async def test_no_secret_reaches_logs_or_output(
    sim: Simulator, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    env = sim.env
    shown_parts: list[str] = []
    for args in (hmac_args(sim), ed25519_args(sim, account="ed")):
        api, runner = await start(args)
        await api.wait_ready(5)
        replies = Replies()
        await api.place_order(
            BTC, Side.BUY, 0.00001, 1.0, post_only=True, callback=api.default_ws_callback
        )
        await api.place_order(BTC, Side.BUY, 0.001, 90000.0, post_only=True, callback=replies)
        await replies.wait_for(1)
        request = replies.calls[0][2]
        logging.getLogger("test").info("request %s", request)
        signatures = [request["signature"].reveal()] if "signature" in request else []
        sim.inject("binance", "drop_connection")
        await api.wait_ready(5)
        await stop(api, runner)
        shown_parts.append(caplog.text + capsys.readouterr().out + repr(api) + repr(request))
        for secret in signatures:
            assert secret not in "".join(shown_parts)
    shown = "".join(shown_parts)
    for secret in (env["HFTPY_BINANCE_API_SECRET"], env["HFTPY_BINANCE_ED25519_KEY"]):
        assert secret not in shown
    assert env["HFTPY_BINANCE_API_KEY"] not in shown
    assert "'signature': '***'" in shown and "WebSocket Request - ID:" in shown


async def test_factories_testnet_and_environment(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = {"api_key": "k" * 64, "api_secret": "s" * 64}
    ws = create_exchange_ws_api(exchange=Exchange.BINANCE, testnet=True, **keys)
    assert ws.url == "wss://ws-api.testnet.binance.vision/ws-api/v3"
    assert get_exchange_ws_api("binance") is ws
    assert create_exchange_ws_api(exchange="binance", testnet=True, **keys) is ws
    with pytest.raises(ConfigError, match="different arguments"):
        create_exchange_ws_api(exchange=Exchange.BINANCE, **keys)
    # one limiter per process, whatever the account
    hedge = create_exchange_ws_api(exchange=Exchange.BINANCE, account="hedge", public_only=True)
    assert hedge.rate_limits.limiter is ws.rate_limits.limiter
    rest = BinanceRestApi(testnet=True)
    assert rest.url == "https://testnet.binance.vision"
    with pytest.raises(ConfigError):
        BinanceWsApi(on_rate_limit="later")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="Ed25519"):
        BinanceWsApi(api_key="k", api_secret="s", logon=True)
    # credentials and URLs from the environment, as `hftpy sim --print-env` exports them
    for name, value in sim.env.items():
        monkeypatch.setenv(name, value)
    from_env = create_exchange_ws_api(exchange=Exchange.BINANCE, account="env")
    assert from_env.url == sim.env["HFTPY_BINANCE_WS_API_URL"]
    runner = asyncio.create_task(from_env.start())
    await from_env.wait_ready(5)
    assert from_env.logged_on  # the Ed25519 key from the environment wins
    assert (await place(from_env)).ok
    await stop(from_env, runner)


async def test_rest_time_exchange_info_and_signed_query(sim: Simulator) -> None:
    env = sim.env
    rest = create_exchange_api(
        exchange=Exchange.BINANCE,
        api_key=env["HFTPY_BINANCE_API_KEY"],
        api_secret=env["HFTPY_BINANCE_API_SECRET"],
        url=env["HFTPY_BINANCE_REST_URL"],
    )
    assert isinstance(rest, BinanceRestApi)
    assert abs(await rest.server_time() - time.time() * 1000) < 2000
    assert abs(await rest.measure_time_offset()) < 100
    info = await rest.exchange_info(["BTCUSDT"])
    assert info["symbols"][0]["symbol"] == "BTCUSDT"
    query = rest.sign_query({"symbol": "BTCUSDT", "side": "BUY"})
    head, _, signature = query.rpartition("&signature=")
    assert [k for k, _ in parse_qsl(head)] == ["symbol", "side", "recvWindow", "timestamp"]
    secret = env["HFTPY_BINANCE_API_SECRET"].encode()
    assert signature == hmac.new(secret, head.encode(), hashlib.sha256).hexdigest()


def slow_limiter() -> RateLimiter:
    # windows of an hour: nothing refills while a test reads the budget
    return RateLimiter(
        [
            ("window", "ORDERS_10S", 50, 3600.0, 40),
            ("window", "ORDERS_1D", 160_000, 3600.0, 128_000),
            ("window", "REQUEST_WEIGHT_1M", 6000, 3600.0, 4800),
        ]
    )


async def test_missing_credentials_are_refused_before_the_limiter(sim: Simulator) -> None:
    api, runner = await start(
        hmac_args(sim, api_key=None, api_secret=None, rate_limiter=slow_limiter(), public_only=True)
    )
    await api.wait_ready(5)  # `time` needs no key; no user data stream without one
    limiter = api.rate_limits.limiter

    def budget() -> list[int]:
        return [limiter.available(i) for i in range(len(limiter.names))]

    before = budget()
    last_id = api.get_next_request_id()
    replies = Replies()
    with pytest.raises(ConfigError, match=r"order\.place needs api_key"):
        await api.place_order(BTC, Side.BUY, 0.001, 90000.0, post_only=True, callback=replies)
    with pytest.raises(ConfigError, match=r"openOrders\.cancelAll needs api_key"):
        await api.cancel_all(BTC, wait=True)
    with pytest.raises(ConfigError, match=r"order\.cancel needs api_key"):
        await api.cancel_order(1, symbol=BTC)
    assert budget() == before  # nothing charged for requests refused locally
    assert api.get_next_request_id() == last_id + 1  # nor a req_id taken
    assert not replies.calls and not api._pending
    # an unsigned request on the same connection still works and costs its weight
    assert (await api.ping())["status"] == 200
    weight = limiter.index("REQUEST_WEIGHT_1M")
    assert budget()[weight] == before[weight] - 1
    await stop(api, runner)


async def test_own_requests_do_not_take_user_req_ids(ed_api: BinanceWsApi) -> None:
    # the connection already did `time`, `session.logon` and the user data subscribe
    assert ed_api.logged_on
    replies = Replies()

    async def order(**overrides: Any) -> int:
        req_id: int = await ed_api.place_order(
            BTC, Side.BUY, 0.001, 90000.0, post_only=True, callback=replies, **overrides
        )
        return req_id

    first = await order()
    await ed_api.ping()
    await ed_api.measure_time_offset()
    second = await order()
    await ed_api._logon()  # a re-logon, as after a -2015
    third = await order()
    assert [second, third] == [first + 1, first + 2]
    await replies.wait_for(3)
    assert [call[0] for call in replies.calls] == [first, second, third]
    # The API's own request goes out first; then the user picks the id that follows in
    # their sequence. The pong must reach the ping, and only the order's reply the callback.
    chosen = ed_api.get_next_request_id() + 1
    ping = asyncio.create_task(ed_api.ping(timeout=2.0))
    await asyncio.sleep(0)  # the ping's frame is on the socket
    assert not ping.done()
    await order(req_id=chosen)
    assert (await ping)["status"] == 200
    await replies.wait_for(4)
    await asyncio.sleep(0.05)
    assert len(replies.calls) == 4
    request_id, method, _, response, _ = replies.calls[3]
    assert (request_id, method) == (chosen, "order.place")
    assert response["id"] == chosen and "orderId" in response["result"]
    # negative ids are the API's own: a user may not pick one
    with pytest.raises(InvalidOrderError, match="the others are hftpy's own"):
        await order(req_id=-1)
    assert all(call[3]["id"] >= 0 for call in replies.calls)
