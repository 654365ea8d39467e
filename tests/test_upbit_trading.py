"""Upbit trading end to end against the embedded simulator over loopback: REST orders with
JWT + query_hash behind the WS API interface, the private WS (`myOrder`, `myAsset`) with the
JWT on the upgrade, and python-upbit's `UpbitWebSocket` as seed 004 uses it."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from hftpy._core import UpbitSigner
from hftpy.common import CurrencyPair, Exchange, Side
from hftpy.errors import (
    AuthError,
    ConfigError,
    DisconnectedError,
    InvalidOrderError,
    RateLimitError,
    RequestTimeoutError,
)
from hftpy.exchange import create_exchange_api, create_exchange_stream, create_exchange_ws_api
from hftpy.exchange.upbit import UpbitRestApi, UpbitWebSocket, UpbitWsApi
from hftpy.exchange.upbit.rest import query_string
from hftpy.exchange.ws_api import WsResponse
from hftpy.net import ReconnectPolicy
from hftpy.sim import Simulator
from support import Replies

BTC = CurrencyPair.BTC_KRW
NONCE = "00000000-0000-4000-8000-000000000000"


def api_args(sim: Simulator, **overrides: Any) -> dict[str, Any]:
    env = sim.env
    args = {
        "exchange": Exchange.UPBIT,
        "api_key": env["HFTPY_UPBIT_API_KEY"],
        "api_secret": env["HFTPY_UPBIT_API_SECRET"],
        "url": env["HFTPY_UPBIT_WS_PRIVATE_URL"],
        "rest_url": env["HFTPY_UPBIT_REST_URL"],
        "request_timeout": 2.0,
    }
    return args | overrides


async def start(sim: Simulator, **overrides: Any) -> tuple[UpbitWsApi, asyncio.Task[None]]:
    api: UpbitWsApi = create_exchange_ws_api(**api_args(sim, **overrides))
    api._conn._policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.05)
    return api, asyncio.create_task(api.start())


@pytest.fixture
async def ws_api(sim: Simulator) -> AsyncIterator[UpbitWsApi]:
    api, runner = await start(sim)
    await api.wait_ready(timeout=5)
    yield api
    await api.close()
    await runner


async def place(api: UpbitWsApi, **overrides: Any) -> WsResponse:
    order: dict[str, Any] = {
        "symbol": BTC,
        "side": Side.BUY,
        "amount": "0.001",
        "price": 130_000_000,
        "wait": True,
    }
    order.update(overrides)
    reply: WsResponse = await api.place_order(**order)
    return reply


def test_jwt_and_query_hash_match_the_reference_vectors() -> None:
    query = "market=KRW-BTC&side=bid&volume=0.01&price=100000000&ord_type=limit"
    params = {"market": "KRW-BTC", "side": "bid", "volume": "0.01", "price": "100000000"}
    assert query_string(params | {"ord_type": "limit"}) == query
    assert query_string({"market": "KRW-BTC", "states": ["wait", "watch"]}) == (
        "market=KRW-BTC&states[]=wait&states[]=watch"
    )
    hs512 = UpbitSigner("test-access-key", "test-secret-key", "HS512")
    assert hs512.token(NONCE).endswith(
        ".IRJz1h69PFYpG6JidEP0Y7SNH2i1SnvFduGtOARTFPBx0pCfnB-MV5ZWqAKjTvoF7jTUs6VoVvORZD91huR9gA"
    )
    assert hs512.token(NONCE, query).endswith(
        ".aVoy6HoFYDipG1OnDxqyjCKbAVWxTSlUCUqNxuybIj29k8DnHONMpGAfVHeDwlykAqgzbU0AejRuIDEvaSYomw"
    )
    hs256 = UpbitSigner("test-access-key", "test-secret-key", "HS256")
    assert hs256.token(NONCE, query).endswith(".AcmkWuf-_1KCbeALUXlW72hKSTa21Uz9yLxZ6GmGjwY")


async def test_place_order_callback_request_and_latency(ws_api: UpbitWsApi) -> None:
    replies = Replies()
    req_id = await ws_api.place_order(
        symbol=BTC, side=Side.BUY, amount=0.001, price=130_000_000, callback=replies
    )
    await replies.wait_for(1)
    request_id, method, request, response, latency = replies.calls[0]
    assert (request_id, method) == (req_id, "place_order")
    assert response["success"] is True and response["status"] == 201
    result = response["result"]
    assert result["state"] == "wait" and result["market"] == "KRW-BTC"
    assert request == {
        "market": "KRW-BTC",
        "side": "bid",
        "volume": "0.001",
        "price": "130000000",
        "ord_type": "limit",
        "identifier": request["identifier"],
    }
    assert result["identifier"] == request["identifier"] and len(request["identifier"]) == 32
    assert isinstance(latency, int) and latency > 0


async def test_venue_errors_keep_the_venue_shape(ws_api: UpbitWsApi) -> None:
    small = await place(ws_api, amount="0.00001")
    assert small.response["status"] == 400 and not small.ok
    assert small.response["error"]["name"] == "under_min_total_bid"
    off_tick = await place(ws_api, price=130_000_500)
    assert off_tick.response["error"]["name"] == "invalid_price_bid"
    broke = await place(ws_api, side=Side.SELL, amount=1000)
    assert broke.response["error"]["name"] == "insufficient_funds_ask"
    reused = await place(ws_api, identifier="mine-1")
    assert reused.ok
    again = await place(ws_api, identifier="mine-1")
    assert again.response["error"]["name"] == "validation_error"
    missing = await ws_api.cancel_order(str(uuid.uuid4()), wait=True)
    assert missing.response["status"] == 404
    assert missing.response["error"]["name"] == "order_not_found"


async def test_cancel_by_uuid_and_identifier(ws_api: UpbitWsApi) -> None:
    first = await place(ws_api)
    second = await place(ws_api, identifier="strategy-7", post_only=True)
    assert second.request["time_in_force"] == "post_only"
    by_uuid = await ws_api.cancel_order(first.response["result"]["uuid"], wait=True)
    assert by_uuid.ok and by_uuid.response["result"]["uuid"] == first.response["result"]["uuid"]
    by_identifier = await ws_api.cancel_order(identifier="strategy-7", wait=True)
    assert by_identifier.ok
    assert by_identifier.response["result"]["uuid"] == second.response["result"]["uuid"]
    twice = await ws_api.cancel_order(identifier="strategy-7", wait=True)
    assert twice.response["error"]["name"] == "order_not_found"
    # characters the URL must percent-encode: the query_hash is of the unencoded text
    odd = await place(ws_api, identifier="a:b+c d/é")
    assert odd.ok
    assert (await ws_api.cancel_order(identifier="a:b+c d/é", wait=True)).ok


async def test_private_stream_reports_order_fill_and_assets(ws_api: UpbitWsApi) -> None:
    orders = ws_api.channel_queue("myOrder")
    assets = ws_api.channel_queue("myAsset")
    await asyncio.sleep(0.05)
    maker = await place(ws_api, side=Side.SELL, amount="0.01", price=131_000_000)
    taker = await place(ws_api, side=Side.BUY, order_type="market", amount=None, price=655_000)
    assert taker.ok and taker.request["ord_type"] == "price" and "volume" not in taker.request
    states: dict[str, list[str]] = {}
    while states.get(taker.response["result"]["uuid"], [])[-1:] != ["done"]:
        message, recv_ns = await asyncio.wait_for(orders.get(), 5)
        assert recv_ns > 0 and message["type"] == "myOrder" and message["code"] == "KRW-BTC"
        states.setdefault(message["uuid"], []).append(message["state"])
    assert states[maker.response["result"]["uuid"]][:2] == ["wait", "trade"]
    assert states[taker.response["result"]["uuid"]] == ["wait", "trade", "done"]
    seen: set[str] = set()
    while not {"BTC", "KRW"} <= seen:
        message, _ = await asyncio.wait_for(assets.get(), 5)
        seen |= {a["currency"] for a in message["assets"]}


async def test_subscription_codes_and_reconnect_with_a_fresh_jwt(
    ws_api: UpbitWsApi, sim: Simulator
) -> None:
    assert len(sim.upbit.connect_log) == 1
    await ws_api.subscribe(["myOrder"], codes=["KRW-ETH"])
    orders = ws_api.channel_queue("myOrder")
    await asyncio.sleep(0.05)
    await place(ws_api)  # KRW-BTC: filtered out by the codes
    sim.inject("upbit", "drop_connection")
    for _ in range(200):
        if ws_api._conn.connects >= 2 and ws_api.ready:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.05)
    (_, nonce1), (_, nonce2) = sim.upbit.connect_log
    assert nonce1 != nonce2
    eth = await place(ws_api, symbol=CurrencyPair.ETH_KRW, amount="0.01", price=5_000_000)
    message, _ = await asyncio.wait_for(orders.get(), 5)
    assert message["uuid"] == eth.response["result"]["uuid"] and orders.empty()


async def test_bad_credentials_are_refused_at_connect_and_on_orders(sim: Simulator) -> None:
    api, runner = await start(sim, api_secret="not-the-secret")
    with pytest.raises(AuthError, match="401 jwt_verification"):  # the venue's error, at once
        await api.wait_ready(timeout=5)
    refused = await place(api)
    assert refused.response["status"] == 401
    assert refused.response["error"]["name"] == "jwt_verification"
    await api.close()
    await runner
    rest = UpbitRestApi(api_key="nobody", api_secret="x", url=sim.env["HFTPY_UPBIT_REST_URL"])
    with pytest.raises(AuthError, match="invalid_access_key"):
        await rest.accounts()
    await rest.close()


async def test_rest_api_object_and_hs256(sim: Simulator) -> None:
    env = sim.env
    rest: UpbitRestApi = create_exchange_api(
        Exchange.UPBIT,
        api_key=env["HFTPY_UPBIT_API_KEY"],
        api_secret=env["HFTPY_UPBIT_API_SECRET"],
        url=env["HFTPY_UPBIT_REST_URL"],
        alg="HS256",
    )
    balances = {row["currency"]: Decimal(row["balance"]) for row in await rest.accounts()}
    assert balances["KRW"] > 0
    params = {
        "market": "KRW-BTC",
        "side": "bid",
        "volume": "0.001",
        "price": "120000000",
        "ord_type": "limit",
    }
    order = await rest.order(params)
    cancelled = await rest.cancel_order(uuid=order["uuid"])
    assert cancelled["uuid"] == order["uuid"]
    ws_api = create_exchange_ws_api(**api_args(sim))
    assert ws_api.rest is rest


async def test_timeout_is_the_one_outcome_even_when_the_reply_comes_later(
    sim: Simulator,
) -> None:
    api, runner = await start(sim, request_timeout=0.3)
    await api.wait_ready(5)
    replies = Replies()
    sim.inject("upbit", "stall", seconds=0.8)
    await api.place_order(symbol=BTC, side="buy", amount=0.001, price=1e8, callback=replies)
    with pytest.raises(RequestTimeoutError):
        await place(api)
    await replies.wait_for(1)
    await asyncio.sleep(0.9)
    assert [r["error"] for r in replies.responses] == ["hftpy:timeout"]
    assert not api._pending
    await api.close()
    await runner


async def test_a_dropped_http_connection_is_hftpy_disconnected(
    ws_api: UpbitWsApi, sim: Simulator
) -> None:
    replies = Replies()
    sim.inject("upbit", "drop_request", count=2)
    await ws_api.place_order(BTC, "buy", 0.001, 130_000_000, callback=replies)
    with pytest.raises(DisconnectedError):
        await place(ws_api)
    await replies.wait_for(1)
    await asyncio.sleep(0.05)
    assert [r["error"] for r in replies.responses] == ["hftpy:disconnected"]
    assert (await place(ws_api)).ok


async def test_rate_limiter_waits_by_default_or_raises(ws_api: UpbitWsApi) -> None:
    ws_api.limiter.block_for(ws_api.limiter.index("order"), 0.3)
    ws_api.on_rate_limit = "raise"
    with pytest.raises(RateLimitError) as info:
        await place(ws_api)
    assert info.value.response is not None
    assert info.value.response["error"] == "hftpy:rate_limited"
    # cancels count against the `default` group, which still has room
    assert (await ws_api.cancel_order(identifier="none", wait=True)).response["status"] == 404
    ws_api.on_rate_limit = "wait"
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await place(ws_api)).ok and loop.time() - started > 0.15


async def test_missing_credentials_are_refused_at_create(sim: Simulator) -> None:
    # Every Upbit request is signed: an API object without credentials cannot exist, so
    # nothing can reach the limiter (or the venue) without them.
    with pytest.raises(ConfigError, match="HFTPY_UPBIT_API_KEY and HFTPY_UPBIT_API_SECRET"):
        create_exchange_ws_api(**api_args(sim, api_key=None, api_secret=None, account="bare"))
    with pytest.raises(ConfigError, match=r"missing: api_secret\)"):
        create_exchange_ws_api(**api_args(sim, api_secret=None, account="bare"))


async def test_secrets_never_printed(
    ws_api: UpbitWsApi, sim: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    reply = await place(ws_api, callback=ws_api.default_ws_callback)
    out = capsys.readouterr().out
    assert f"WebSocket Request - ID: {reply.request_id} | Method: place_order | Latency: " in out
    secret = sim.env["HFTPY_UPBIT_API_SECRET"]
    assert secret not in out and secret not in repr(ws_api.rest.__dict__)
    assert "eyJ" not in out  # no JWT either
    prepared = ws_api.rest.prepare("DELETE", "/v1/order", {"uuid": "abc"})
    assert "eyJ" not in repr(prepared) and "uuid=abc" in repr(prepared)


async def test_bad_input_is_refused_locally(ws_api: UpbitWsApi) -> None:
    for bad in (
        {"side": "long"},
        {"amount": -1},
        {"amount": None},
        {"price": "1e8x"},
        {"order_type": "stop-loss"},
        {"order_type": "best", "time_in_force": None},
        {"post_only": True, "smp_type": "cancel_maker"},
        {"order_type": "market", "side": "sell", "price": 1},
    ):
        with pytest.raises(InvalidOrderError):
            await place(ws_api, **bad)
    with pytest.raises(InvalidOrderError):
        await ws_api.cancel_order("a", identifier="b")
    assert not ws_api._pending


async def test_subscribe_without_types_or_channels_is_refused_locally(
    ws_api: UpbitWsApi, sim: Simulator
) -> None:
    orders = ws_api.channel_queue("myOrder")
    (venue_conn,) = sim.upbit.private_conns
    subscribed = dict(venue_conn.types)
    assert set(subscribed) == {"myOrder", "myAsset"}
    for empty in ([], (), iter([])):
        with pytest.raises(ConfigError, match="at least one private type"):
            await ws_api.subscribe(empty, codes=["KRW-ETH"])
    await asyncio.sleep(0.1)
    # nothing was sent: the venue saw no request without a type (it answers NO_TYPE) and
    # keeps the subscription, which also survives a reconnect unchanged
    assert not ws_api.stream_errors and venue_conn.types == subscribed
    assert ws_api.subscription().count(b'"type"') == 2 and b"KRW-ETH" not in ws_api.subscription()
    order = await place(ws_api)
    message, _ = await asyncio.wait_for(orders.get(), 5)
    assert message["uuid"] == order.response["result"]["uuid"]

    stream = create_exchange_stream(
        Exchange.UPBIT, url=sim.env["HFTPY_UPBIT_WS_URL"], rest_url=sim.env["HFTPY_UPBIT_REST_URL"]
    )
    runner = asyncio.create_task(stream.start())
    await stream.wait_ready(5)
    events: list[Any] = []
    with pytest.raises(ConfigError, match="at least one channel"):
        await stream.subscribe([], BTC, callback=events.append)
    with pytest.raises(ConfigError, match="at least one symbol"):
        await stream.subscribe(["trade"], [], callback=events.append)
    assert not stream.subscriptions and not stream._listeners
    await stream.close()
    await runner


async def test_upbit_websocket_seed_flow(sim: Simulator) -> None:
    account = sim.upbit.demo_account
    sim.engine.place(account, "KRW-BTC", "sell", 100_000, price=140_000_000)
    sim.engine.place(account, "KRW-BTC", "buy", 50_000, price=140_000_000)  # one trade
    sock = UpbitWebSocket(uri=sim.env["HFTPY_UPBIT_WS_URL"], ping_interval=None, ping_timeout=None)
    assert sock.Connection is not sock.Connection  # a fresh context manager every access

    async with sock.Connection as conn:
        await conn.send("PING")
        data = await conn.recv()
        assert isinstance(data, bytes)
        pattern = re.compile(r'{"\S+":"\S+"}')
        result = json.loads(pattern.search(data.decode("utf8")).group())  # type: ignore[union-attr]
        assert result == {"status": "UP"}

    currencies = ["KRW-BTC", "KRW-ETH"]
    payload = sock.generate_payload(type="trade", codes=currencies)
    ticket, field, fmt = json.loads(payload)
    assert uuid.UUID(ticket["ticket"]).version == 4
    assert field == {"type": "trade", "codes": currencies} and fmt == {"format": "DEFAULT"}
    async with sock.Connection as conn:
        await conn.send(payload)
        trade = json.loads((await conn.recv()).decode("utf8"))
        assert trade["type"] == "trade" and trade["code"] == "KRW-BTC"
        assert trade["trade_price"] == 140_000_000 and trade["stream_type"] == "SNAPSHOT"

    codes = UpbitWebSocket.generate_orderbook_codes(currencies, [5, 5])
    assert codes == ["KRW-BTC.5", "KRW-ETH.5"]
    simple = UpbitWebSocket.generate_payload(
        "orderbook", codes[:1], ticket="t-1", isOnlySnapshot=True, format="SIMPLE"
    )
    assert json.loads(simple) == [
        {"ticket": "t-1"},
        {"type": "orderbook", "codes": ["KRW-BTC.5"], "isOnlySnapshot": True},
        {"format": "SIMPLE"},
    ]
    async with sock.Connection as conn:
        await conn.send(simple)
        book = json.loads(await conn.recv())
        assert book["ty"] == "orderbook" and book["obu"][0]["ap"] == 140_000_000
    with pytest.raises(DisconnectedError):
        await conn.recv()


async def test_upbit_websocket_private_with_keys(sim: Simulator) -> None:
    env = sim.env
    sock = UpbitWebSocket(
        env["HFTPY_UPBIT_WS_PRIVATE_URL"],
        access_key=env["HFTPY_UPBIT_API_KEY"],
        secret_key=env["HFTPY_UPBIT_API_SECRET"],
    )
    async with sock.Connection as conn:
        await conn.send('[{"ticket":"p"},{"type":"myAsset","codes":["KRW-BTC"]}]')
        error = json.loads(await conn.recv())
        assert error["error"]["name"] == "WRONG_FORMAT"
        await conn.send('[{"ticket":"p"},{"type":"myOrder"}]')
        await asyncio.sleep(0.05)
        sim.engine.place(sim.upbit.demo_account, "KRW-BTC", "buy", 100_000, price=100_000_000)
        # placed outside the REST API: the order has no uuid of Upbit's but still streams
        message = json.loads(await conn.recv())
        assert message["type"] == "myOrder" and message["state"] == "wait"
