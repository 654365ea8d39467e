"""Backpack trading end to end: hftpy's client against the embedded simulator over real
loopback sockets. Orders go over Ed25519-signed REST behind the WS API interface (same
callback, `wait=True`, one terminal outcome per item); private streams over the WebSocket
with a signed subscribe, re-signed on every reconnect."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from hftpy._core import Ed25519Signer
from hftpy.common import CurrencyPair, Exchange, Side
from hftpy.errors import (
    AuthError,
    ConfigError,
    DisconnectedError,
    InvalidOrderError,
    RateLimitError,
    RequestTimeoutError,
)
from hftpy.exchange import create_exchange_api, create_exchange_ws_api, get_exchange_ws_api
from hftpy.exchange.backpack import BackpackRestApi, BackpackWsApi
from hftpy.exchange.backpack.rest import signing_string
from hftpy.exchange.ws_api import WsResponse
from hftpy.net import ReconnectPolicy
from hftpy.sim import Simulator
from support import Replies

SOL = CurrencyPair.SOL_USDC
# reference A5: RFC 8032 test 1 key and the self-computed vectors.
RFC_SEED = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
RFC_PUBLIC = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="


def api_args(sim: Simulator, **overrides: Any) -> dict[str, Any]:
    env = sim.env
    args = {
        "exchange": Exchange.BACKPACK,
        "api_key": env["HFTPY_BACKPACK_API_KEY"],
        "api_secret": env["HFTPY_BACKPACK_API_SECRET"],
        "url": env["HFTPY_BACKPACK_WS_URL"],
        "rest_url": env["HFTPY_BACKPACK_REST_URL"],
        "request_timeout": 2.0,
    }
    return args | overrides


async def start(sim: Simulator, **overrides: Any) -> tuple[BackpackWsApi, asyncio.Task[None]]:
    api: BackpackWsApi = create_exchange_ws_api(**api_args(sim, **overrides))
    api._conn._policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.05)
    return api, asyncio.create_task(api.start())


@pytest.fixture
async def ws_api(sim: Simulator) -> AsyncIterator[BackpackWsApi]:
    api, runner = await start(sim)
    await api.wait_ready(timeout=5)
    yield api
    await api.close()
    await runner


async def place(api: BackpackWsApi, **overrides: Any) -> WsResponse:
    order: dict[str, Any] = {
        "symbol": SOL,
        "side": Side.BUY,
        "amount": 1,
        "price": 140.0,
        "post_only": True,
        "wait": True,
    }
    order.update(overrides)
    reply: WsResponse = await api.place_order(**order)
    return reply


def test_signing_matches_the_reference_vectors() -> None:
    signer = Ed25519Signer(RFC_SEED)
    assert signer.public_key == RFC_PUBLIC
    cancel = signing_string("orderCancel", {"orderId": 28, "symbol": "BTC_USDT"}, 1614550000000)
    assert cancel == (
        "instruction=orderCancel&orderId=28&symbol=BTC_USDT&timestamp=1614550000000&window=5000"
    )
    assert signer.sign(cancel.encode()) == (
        "wLQaGPszkXrEWaIm6RsnVLJv70Uuw62SXxmdso6cadUmR0NWzFhfhvuCWMl+jbBNJ5gZRfCPjvXI29H7JeW6Ag=="
    )
    order = {
        "symbol": "SOL_USDC",
        "side": "Bid",
        "orderType": "Limit",
        "price": "180.50",
        "quantity": "1.5",
        "timeInForce": "GTC",
        "postOnly": True,
        "clientId": 1001,
        "selfTradePrevention": "RejectTaker",
    }
    text = signing_string("orderExecute", order, 1735689600000)
    assert "&postOnly=true&" in text
    assert signer.sign(text.encode()) == (
        "/tB6Z42mcMMYlSvk7TI6nizHFm+o9Rx9s/vaUsd86FRphtaOG6AigxoEi/Smr4OkjRTC5u7x7XZGj/WCnj12AA=="
    )
    batch = [
        {"symbol": "SOL_USDC_PERP", "side": "Bid", "orderType": "Limit", "price": p, "quantity": q}
        for p, q in (("141", "12"), ("140", "11"))
    ]
    assert signer.sign(signing_string("orderExecute", batch, 1750793021519).encode()) == (
        "vPFtn5Js/Bow3UsENNogoyaEcTqy8fxLH2ASbpAcTSClJf1v4VAj7+61T7IRwMt9kvGvGxhtlXqlvtCzzbFxAQ=="
    )
    subscribe = signing_string("subscribe", None, 1614550000000)
    assert signer.sign(subscribe.encode()) == (
        "nnH9lOoIF3v72vbmeopqLLUggbPuhAuXgYbQc6qJnYSsFW0ZM3hUVK4feOAmIHQA02vH16oz+C3+6HQmPkggDA=="
    )


async def test_place_order_callback_request_and_latency(ws_api: BackpackWsApi) -> None:
    replies = Replies()
    req_id = await ws_api.place_order(
        symbol=SOL, side=Side.BUY, amount=1, price=140.0, post_only=True, callback=replies
    )
    await replies.wait_for(1)
    request_id, method, request, response, latency = replies.calls[0]
    assert (request_id, method) == (req_id, "orderExecute")
    assert response["success"] is True and response["req_id"] == req_id
    assert response["status"] == 200 and response["result"]["status"] == "New"
    assert request == {
        "symbol": "SOL_USDC",
        "side": "Bid",
        "orderType": "Limit",
        "quantity": "1",
        "price": "140.0",
        "postOnly": True,
        "clientId": request["clientId"],
    }
    assert response["result"]["clientId"] == request["clientId"]
    assert isinstance(latency, int) and latency > 0


async def test_wait_gives_a_stamped_response_with_exact_prices(ws_api: BackpackWsApi) -> None:
    reply = await place(ws_api, amount=Decimal("1.25"), price="139.99", client_id=7)
    assert reply.ok and reply.method == "orderExecute"
    assert reply.response["result"]["price"] == "139.99"
    assert reply.response["result"]["quantity"] == "1.25"
    assert reply.response["result"]["clientId"] == 7
    assert reply.recv_ns > reply.sent_ns > 1_600_000_000 * 10**9
    assert 0 < reply.latency_ns < 5 * 10**9
    assert get_exchange_ws_api(Exchange.BACKPACK) is ws_api


async def test_venue_errors_keep_the_venue_shape(ws_api: BackpackWsApi) -> None:
    too_fine = await place(ws_api, amount="0.001")
    assert not too_fine.ok and too_fine.response["status"] == 400
    assert too_fine.response["error"]["code"] == "INVALID_QUANTITY"
    broke = await place(ws_api, amount=1_000_000, price=140, post_only=False)
    assert broke.response["error"] == {
        "code": "INSUFFICIENT_FUNDS",
        "message": "Insufficient funds",
    }
    resting = await place(ws_api, side=Side.SELL, price=150, post_only=False)
    assert resting.ok
    crossing = await place(ws_api, price=151)
    assert crossing.response["error"]["code"] == "INVALID_ORDER"
    unknown = await ws_api.cancel_order("1", symbol=SOL, wait=True)
    assert unknown.response["status"] == 404
    assert unknown.response["error"]["code"] == "RESOURCE_NOT_FOUND"


async def test_every_method_relays_maintenance(ws_api: BackpackWsApi, sim: Simulator) -> None:
    sim.inject("backpack", "maintenance")
    calls = {
        "orderExecute": place(ws_api),
        "orderCancel": ws_api.cancel_order(client_order_id=1, symbol=SOL, wait=True),
        "orderCancelAll": ws_api.cancel_all(SOL, wait=True),
    }
    for method, call in calls.items():
        reply = await call
        assert reply.method == method and reply.response["method"] == method
        assert reply.response["status"] == 503 and not reply.ok
        assert reply.response["error"]["code"] == "SERVICE_UNAVAILABLE"
    sim.inject("backpack", "online")


async def test_cancel_by_order_id_client_id_and_cancel_all(ws_api: BackpackWsApi) -> None:
    first = await place(ws_api, price=130)
    second = await place(ws_api, price=131, client_id=4242)
    by_id = await ws_api.cancel_order(first.order_id, wait=True)
    assert by_id.ok and by_id.response["result"]["status"] == "Cancelled"
    by_client = await ws_api.cancel_order(client_order_id="4242", wait=True)
    assert by_client.ok and by_client.response["result"]["id"] == second.response["result"]["id"]
    await place(ws_api, price=132)
    await place(ws_api, price=133)
    everything = await ws_api.cancel_all(SOL, wait=True)
    assert everything.ok and len(everything.response["result"]) == 2
    assert {o["status"] for o in everything.response["result"]} == {"Cancelled"}


async def test_batch_fires_once_per_order(ws_api: BackpackWsApi) -> None:
    replies = Replies()
    await ws_api.batch_place(
        [
            {"symbol": SOL, "side": "buy", "amount": 1, "price": 120},
            {"symbol": SOL, "side": "buy", "amount": "0.001", "price": 120},
            {"symbol": "BTC_USDC", "side": "sell", "amount": "0.001", "price": 110000},
        ],
        callback=replies,
    )
    await replies.wait_for(3)
    outcomes = [(r["success"], r["status"]) for r in replies.responses]
    assert outcomes == [(True, 200), (False, 400), (True, 200)]
    assert replies.responses[1]["error"]["code"] == "INVALID_QUANTITY"
    assert len({call[0] for call in replies.calls}) == 1
    waited = await ws_api.batch_place(
        [{"symbol": SOL, "side": "buy", "amount": 1, "price": p} for p in (121, 122)], wait=True
    )
    assert waited.ok and len(waited.replies) == 2


async def test_order_updates_stream_accept_fill_and_cancel(ws_api: BackpackWsApi) -> None:
    everything = ws_api.channel_queue("account.orderUpdate")
    await ws_api.subscribe("account.orderUpdate.SOL_USDC")
    per_symbol = ws_api.channel_queue("account.orderUpdate.SOL_USDC")
    await asyncio.sleep(0.1)  # no ack is documented: give the subscribe a moment
    maker = await place(ws_api, side=Side.SELL, price=150, amount=2, post_only=False)
    taker = await place(ws_api, side=Side.BUY, price=150, amount=1, post_only=False)
    await ws_api.cancel_order(maker.order_id, wait=True)
    events: list[tuple[str, str, str]] = []
    while ("orderCancelled", maker.response["result"]["id"]) not in [(e, i) for e, i, _ in events]:
        message, recv_ns = await asyncio.wait_for(everything.get(), 5)
        assert recv_ns > 0 and message["stream"] == "account.orderUpdate"
        data = message["data"]
        events.append((data["e"], data["i"], data["X"]))
    maker_id, taker_id = maker.response["result"]["id"], taker.response["result"]["id"]
    assert events[0] == ("orderAccepted", maker_id, "New")
    assert ("orderFill", taker_id, "Filled") in events
    assert ("orderFill", maker_id, "PartiallyFilled") in events
    symbol_message, _ = await asyncio.wait_for(per_symbol.get(), 5)
    assert symbol_message["stream"] == "account.orderUpdate.SOL_USDC"


async def test_subscribe_is_signed_afresh_after_a_reconnect(
    ws_api: BackpackWsApi, sim: Simulator
) -> None:
    assert len(sim.backpack.subscribe_log) == 1
    queue = ws_api.channel_queue("account.orderUpdate")
    sim.inject("backpack", "drop_connection")
    for _ in range(200):
        if ws_api._conn.connects >= 2 and ws_api.ready:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    assert len(ws_api.subscribes) == 2 and len(sim.backpack.subscribe_log) == 2
    (_, ts1, sig1), (_, ts2, sig2) = sim.backpack.subscribe_log
    assert sig1 != sig2 and int(ts2) > int(ts1)
    order = await place(ws_api)
    message, _ = await asyncio.wait_for(queue.get(), 5)
    assert message["data"]["i"] == order.response["result"]["id"]


async def test_wrong_secret_is_refused_everywhere(sim: Simulator) -> None:
    wrong = "TDSkv44jf/iD/QCKkyCdixO+p1sfLXxk+PZH7mW/ams="  # seed 001's demo secret
    api, runner = await start(sim, api_secret=wrong)
    with pytest.raises(AuthError, match="INVALID_SIGNATURE") as refusal:  # checked at connect
        await api.wait_ready(5)
    assert wrong not in str(refusal.value)
    refused = await place(api)
    assert refused.response["status"] == 400
    assert refused.response["error"]["code"] == "INVALID_SIGNATURE"
    await api.close()
    await runner
    rest = BackpackRestApi(api_secret=wrong, url=sim.env["HFTPY_BACKPACK_REST_URL"])
    with pytest.raises(AuthError, match="UNAUTHORIZED") as info:  # its own key is unknown
        await rest.balances()
    assert wrong not in str(info.value)
    await rest.close()


async def test_missing_credentials_are_refused_at_create(sim: Simulator) -> None:
    # Every Backpack request is signed: an API object without credentials cannot exist, so
    # nothing can reach the limiter (or the venue) without them.
    with pytest.raises(ConfigError, match=r"HFTPY_BACKPACK_API_SECRET.*missing: api_secret"):
        create_exchange_ws_api(**api_args(sim, api_key=None, api_secret=None, account="bare"))


async def test_rest_api_object_signs_requests(sim: Simulator) -> None:
    env = sim.env
    rest: BackpackRestApi = create_exchange_api(
        Exchange.BACKPACK,
        api_key=env["HFTPY_BACKPACK_API_KEY"],
        api_secret=env["HFTPY_BACKPACK_API_SECRET"],
        url=env["HFTPY_BACKPACK_REST_URL"],
    )
    balances = await rest.balances()
    assert Decimal(balances["USDC"]["available"]) > 0
    order = await rest.execute_order(
        {"symbol": "SOL_USDC", "side": "Bid", "orderType": "Limit", "price": "100", "quantity": "1"}
    )
    assert [o["id"] for o in await rest.open_orders("SOL_USDC")] == [order["id"]]
    assert (await rest.cancel_order("SOL_USDC", order_id=order["id"]))["status"] == "Cancelled"
    # the WS API object of the same account shares it
    ws_api = create_exchange_ws_api(**api_args(sim))
    assert ws_api.rest is rest


async def test_timeout_is_the_one_outcome_even_when_the_reply_comes_later(
    sim: Simulator,
) -> None:
    api, runner = await start(sim, request_timeout=0.3)
    await api.wait_ready(5)
    replies = Replies()
    sim.inject("backpack", "stall", seconds=0.8)
    await api.place_order(symbol=SOL, side="buy", amount=1, price=140.0, callback=replies)
    with pytest.raises(RequestTimeoutError) as info:
        await place(api, price=141)
    assert info.value.response is not None and info.value.response["error"] == "hftpy:timeout"
    await replies.wait_for(1)
    await asyncio.sleep(0.9)  # the stall ends and the venue's late replies arrive
    assert [r["error"] for r in replies.responses] == ["hftpy:timeout"]
    assert replies.responses[0]["method"] == "orderExecute"
    assert not api._pending
    await api.close()
    await runner


async def test_a_dropped_http_connection_is_hftpy_disconnected(
    ws_api: BackpackWsApi, sim: Simulator
) -> None:
    replies = Replies()
    sim.inject("backpack", "drop_request", count=2)
    # (aiohttp retries an idempotent DELETE once on a fresh connection: POSTs show the drop)
    await ws_api.place_order(SOL, "buy", 1, 140.0, callback=replies)
    with pytest.raises(DisconnectedError):
        await place(ws_api)
    await replies.wait_for(1)
    await asyncio.sleep(0.05)
    assert [r["error"] for r in replies.responses] == ["hftpy:disconnected"]
    assert (await place(ws_api)).ok  # the next request goes through


async def test_rate_limiter_waits_by_default_or_raises(ws_api: BackpackWsApi) -> None:
    ws_api.limiter.block_for(0, 0.3)
    ws_api.on_rate_limit = "raise"
    replies = Replies()
    await ws_api.place_order(symbol=SOL, side="buy", amount=1, price=140.0, callback=replies)
    assert replies.responses[0]["error"] == "hftpy:rate_limited"
    with pytest.raises(RateLimitError):
        await place(ws_api)
    ws_api.on_rate_limit = "wait"
    loop = asyncio.get_running_loop()
    started = loop.time()
    reply = await place(ws_api)
    assert reply.ok and loop.time() - started > 0.15


async def test_a_rate_limit_wait_never_outlasts_the_request_timeout(
    ws_api: BackpackWsApi,
) -> None:
    ws_api.limiter.block_for(0, 30.0)  # the venue said: nothing for 30 s
    with pytest.raises(RateLimitError):  # instead of sleeping 30 s on a 0.2 s request
        await asyncio.wait_for(place(ws_api, timeout=0.2), 5)


async def test_secrets_never_printed(
    ws_api: BackpackWsApi, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    reply = await place(ws_api, callback=ws_api.default_ws_callback)
    out = capsys.readouterr().out
    assert f"WebSocket Request - ID: {reply.request_id} | Method: orderExecute | Latency: " in out
    assert "'success': True" in out
    secret = sim.env["HFTPY_BACKPACK_API_SECRET"]
    assert secret not in out and secret not in repr(ws_api) and secret not in repr(ws_api.rest)
    assert secret not in repr(ws_api.rest.__dict__)
    prepared = ws_api.rest.prepare("orderCancelAll", "DELETE", "/api/v1/orders", {"symbol": "X"})
    assert prepared.headers["X-Signature"] not in repr(prepared)


async def test_bad_input_is_refused_locally(ws_api: BackpackWsApi) -> None:
    for bad in (
        {"side": "long"},
        {"amount": -1},
        {"amount": float("nan")},
        {"amount": True},
        {"price": "80k"},
        {"price": None},
        {"order_type": "stop-loss"},
        {"client_id": 2**32},
    ):
        with pytest.raises(InvalidOrderError):
            await place(ws_api, **bad)
    with pytest.raises(InvalidOrderError):
        await ws_api.cancel_order("1", client_order_id=1, symbol=SOL)
    with pytest.raises(InvalidOrderError):
        await ws_api.batch_place([])
    assert not ws_api._pending
