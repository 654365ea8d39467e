"""What goes wrong, and that nothing is lost when it does: bad credentials, expired tokens,
disconnects with requests in flight, timeouts, reconnect and re-auth, venue faults."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from hftpy.common import Side
from hftpy.errors import AuthError, DisconnectedError, RequestTimeoutError
from hftpy.exchange import create_exchange_api, create_exchange_ws_api
from hftpy.exchange.kraken import KrakenRestApi, KrakenWsApi
from hftpy.net import ReconnectPolicy
from hftpy.sim import Simulator
from support import Replies
from test_kraken_trading import BTC, api_args, place


async def start(sim: Simulator, **overrides: Any) -> tuple[KrakenWsApi, asyncio.Task[None]]:
    env = sim.env
    args = api_args(sim) | overrides
    create_exchange_api(**args, url=env["HFTPY_KRAKEN_REST_URL"])
    api: KrakenWsApi = create_exchange_ws_api(
        **args, url=env["HFTPY_KRAKEN_WS_AUTH_URL"], request_timeout=1.0
    )
    # fast reconnects keep the tests short
    api._conn._policy = ReconnectPolicy(initial_delay=0.01, max_delay=0.05)
    return api, asyncio.create_task(api.start())


async def stop(api: KrakenWsApi, runner: asyncio.Task[None]) -> None:
    await api.close()
    await runner


async def test_wrong_secret_is_an_auth_error_that_does_not_leak(sim: Simulator) -> None:
    wrong = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldA=="
    rest = KrakenRestApi(
        api_key=sim.env["HFTPY_KRAKEN_API_KEY"],
        api_secret=wrong,
        url=sim.env["HFTPY_KRAKEN_REST_URL"],
    )
    with pytest.raises(AuthError, match="EAPI:Invalid signature") as info:
        await rest.get_websockets_token()
    assert wrong not in str(info.value)
    unknown = KrakenRestApi(api_key="nobody", api_secret=wrong, url=rest.url)
    with pytest.raises(AuthError, match="EAPI:Invalid key"):
        await unknown.get_websockets_token()
    await rest.close()
    await unknown.close()


async def test_ws_api_with_bad_credentials_never_becomes_ready(sim: Simulator) -> None:
    api, runner = await start(sim, api_secret="d3Jvbmc=")
    with pytest.raises(AuthError, match="Invalid signature"):  # at once, not at the timeout
        await api.wait_ready(timeout=5)
    assert isinstance(api._conn.last_error, AuthError)
    replies = Replies()
    await api.place_order(symbol=BTC, side=Side.BUY, amount=0.001, price=1.0, callback=replies)
    assert replies.responses[0]["error"] == "hftpy:disconnected"
    await stop(api, runner)


async def test_expired_token_is_replaced(sim: Simulator) -> None:
    api, runner = await start(sim)
    await api.wait_ready(5)
    first_token = api._token
    sim.inject("kraken", "reject_auth")
    refused = await place(api)
    assert refused.response["error"] == "ESession:Invalid session"
    for _ in range(100):  # the refresh runs in the background
        if api._token is not first_token:
            break
        await asyncio.sleep(0.01)
    assert api._token is not first_token
    assert (await place(api)).ok
    await stop(api, runner)


async def test_disconnect_fails_every_pending_item_once_then_recovers(sim: Simulator) -> None:
    api, runner = await start(sim)
    await api.wait_ready(5)
    resting = [await place(api, price=75000.0 + i) for i in range(2)]
    ids = [r.response["result"]["order_id"] for r in resting]
    replies = Replies()
    sim.inject("kraken", "stall", seconds=5)
    await api.place_order(symbol=BTC, side=Side.BUY, amount=0.001, price=1.0, callback=replies)
    await api.cancel_order(order_id=ids, callback=replies)  # two items
    waiter = asyncio.create_task(place(api))
    await asyncio.sleep(0.05)
    assert not replies.calls  # stalled: nothing answered yet
    sim.inject("kraken", "drop_connection")
    await replies.wait_for(3)
    with pytest.raises(DisconnectedError):
        await waiter
    assert [r["error"] for r in replies.responses] == ["hftpy:disconnected"] * 3
    assert [r["method"] for r in replies.responses] == ["add_order"] + ["cancel_order"] * 2
    sim.clear_faults()
    await api.wait_ready(5)
    assert api._conn.connects == 2
    assert (await place(api)).ok
    await asyncio.sleep(0.1)
    assert len(replies.calls) == 3  # nothing answered twice, nothing re-sent
    await stop(api, runner)


async def test_request_timeout(sim: Simulator) -> None:
    api, runner = await start(sim)
    await api.wait_ready(5)
    sim.inject("kraken", "stall", seconds=2)
    replies = Replies()
    await api.place_order(
        symbol=BTC, side=Side.BUY, amount=0.001, price=1.0, callback=replies, timeout=0.2
    )
    with pytest.raises(RequestTimeoutError) as info:
        await place(api, timeout=0.2)
    assert info.value.response is not None
    assert info.value.response["error"] == "hftpy:timeout"
    await replies.wait_for(1)
    assert replies.responses == [
        {
            "method": "add_order",
            "req_id": replies.calls[0][0],
            "success": False,
            "error": "hftpy:timeout",
        }
    ]
    await stop(api, runner)


async def test_requests_while_down_fail_at_once(sim: Simulator) -> None:
    api, runner = await start(sim)
    await api.wait_ready(5)
    await sim.stop()  # the venue goes away entirely
    while api.ready:
        await asyncio.sleep(0.01)
    replies = Replies()
    req_id = await api.cancel_all(callback=replies)
    assert replies.calls[0][0] == req_id
    assert replies.responses[0]["error"] == "hftpy:disconnected"
    with pytest.raises(DisconnectedError):
        await api.cancel_all(wait=True)
    await stop(api, runner)
    await sim.start()  # so the fixture can stop it


async def test_reconnect_reauthenticates_and_resubscribes(sim: Simulator) -> None:
    api, runner = await start(sim)
    await api.wait_ready(5)
    token_before = api._token
    executions = api.channel_queue("executions")
    sim.inject("kraken", "drop_connection")
    while api._conn.connects < 2 or not api.ready:
        await asyncio.sleep(0.01)
    assert api._token is not None and api._token != token_before  # a fresh token per connection
    order = await place(api)
    order_id = order.response["result"]["order_id"]
    while True:  # executions flow again on the new connection
        message, _ = await asyncio.wait_for(executions.get(), 5)
        if any(r.get("order_id") == order_id for r in message["data"]):
            break
    await stop(api, runner)


async def test_venue_faults_pass_through_and_the_connection_survives(sim: Simulator) -> None:
    api, runner = await start(sim)
    await api.wait_ready(5)
    sim.inject("kraken", "malformed_frame")
    await asyncio.sleep(0.05)
    assert (await place(api)).ok

    sim.inject("kraken", "rate_limit", count=1)
    assert (await place(api)).response["error"] == "EOrder:Rate limit exceeded"
    assert (await place(api)).ok

    sim.inject("kraken", "maintenance")
    refused = await place(api)
    assert refused.response["error"] == "EService:Unavailable"
    assert api.system_status == "maintenance"
    sim.inject("kraken", "online")
    await asyncio.sleep(0.05)
    assert api.system_status == "online"
    assert (await place(api)).ok
    assert api._conn.connects == 1
    await stop(api, runner)


async def test_no_secret_reaches_logs_or_output(
    sim: Simulator, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    api, runner = await start(sim)
    await api.wait_ready(5)
    token = api._token
    assert token is not None
    replies = Replies()
    await api.place_order(
        symbol=BTC, side=Side.BUY, amount=0.00001, price=1.0, callback=api.default_ws_callback
    )
    await api.place_order(symbol=BTC, side=Side.BUY, amount=0.001, price=1.0, callback=replies)
    await replies.wait_for(1)
    logging.getLogger("test").info("request %s", replies.calls[0][2])
    sim.inject("kraken", "drop_connection")
    await api.wait_ready(5)
    await stop(api, runner)
    shown = caplog.text + capsys.readouterr().out + repr(api) + repr(api._rest)
    for secret in (sim.env["HFTPY_KRAKEN_API_SECRET"], token.reveal()):
        assert secret not in shown
    assert "'token': '***'" in shown
    assert "KrakenWsApi" in repr(api)
