"""Credential errors on every venue, against the simulator: missing keys are a `ConfigError`
when the WS API is created; a venue's refusal of the keys ends `wait_ready` at once with an
`AuthError` carrying the venue's message (no secret in it); refused attempts are retried
slowly (no reconnect storm) and the API becomes ready by itself once the venue accepts the
keys again; a configuration error stops `start()` instead of being retried."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any

import pytest
from picows import (
    WSListener,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)

from hftpy.common import Exchange
from hftpy.errors import AuthError, ConfigError, DisconnectedError, RequestTimeoutError
from hftpy.exchange import (
    BinanceWsApi,
    KrakenWsApi,
    WsApiBase,
    create_exchange_api,
    create_exchange_ws_api,
)
from hftpy.net import ReconnectPolicy, WsConnection
from hftpy.sim import Simulator

VENUES = [Exchange.KRAKEN, Exchange.BINANCE, Exchange.BACKPACK, Exchange.UPBIT]
# Kraken issues base64 secrets; any 64 bytes sign, but not as the simulator's key expects.
WRONG_KRAKEN_SECRET = base64.b64encode(b"w" * 64).decode()
WRONG_BACKPACK_SECRET = base64.b64encode(b"\x01" * 32).decode()
# One bad credential per venue, and (a piece of) the venue's message for it.
WRONG: dict[Exchange, tuple[dict[str, str], str]] = {
    Exchange.KRAKEN: ({"api_secret": WRONG_KRAKEN_SECRET}, "EAPI:Invalid signature"),
    Exchange.BINANCE: ({"api_secret": "A" * 64}, "-1022 Signature for this request is not valid"),
    Exchange.BACKPACK: ({"api_secret": WRONG_BACKPACK_SECRET}, "INVALID_SIGNATURE"),
    Exchange.UPBIT: ({"api_key": "nobody-at-all"}, "401 invalid_access_key"),
}
# The simulator's fault that refuses the next authentication, and what the venue says.
REJECT_AUTH: dict[Exchange, tuple[dict[str, Any], str]] = {
    Exchange.BINANCE: ({}, "-2015 Invalid API-key, IP, or permissions for action"),
    Exchange.BACKPACK: ({"count": 1}, "INVALID_SIGNATURE"),
    Exchange.UPBIT: ({"count": 1}, "401 jwt_verification"),
}


def ws_args(sim: Simulator, venue: Exchange, **overrides: Any) -> dict[str, Any]:
    """The WS API's arguments: the simulator's endpoints and demo credentials."""
    env = sim.env
    name = venue.value.upper()
    url = {
        Exchange.KRAKEN: "HFTPY_KRAKEN_WS_AUTH_URL",
        Exchange.BINANCE: "HFTPY_BINANCE_WS_API_URL",
        Exchange.BACKPACK: "HFTPY_BACKPACK_WS_URL",
        Exchange.UPBIT: "HFTPY_UPBIT_WS_PRIVATE_URL",
    }[venue]
    args: dict[str, Any] = {
        "exchange": venue,
        "api_key": env[f"HFTPY_{name}_API_KEY"],
        "api_secret": env[f"HFTPY_{name}_API_SECRET"],
        "url": env[url],
        "request_timeout": 2.0,
    }
    if venue is not Exchange.BINANCE:
        args["rest_url"] = env[f"HFTPY_{name}_REST_URL"]
    return args | overrides


class Running:
    """WS APIs started as tasks; `close()` stops them all."""

    def __init__(self) -> None:
        self.apis: list[tuple[WsApiBase, asyncio.Task[None]]] = []

    def start(self, api: WsApiBase, policy: ReconnectPolicy | None = None) -> WsApiBase:
        if policy is not None:
            api._conn._policy = policy
        self.apis.append((api, asyncio.create_task(api.start())))
        return api

    async def close(self) -> None:
        for api, runner in self.apis:
            await api.close()
            await asyncio.gather(runner, return_exceptions=True)


@pytest.fixture
async def running() -> AsyncIterator[Running]:
    apis = Running()
    yield apis
    await apis.close()


def assert_no_secret(error: BaseException, *secrets: str) -> None:
    shown = str(error) + repr(error)
    for secret in secrets:
        assert secret not in shown
    assert "eyJ" not in shown  # no JWT (Upbit's bearer token)


# -- missing credentials --------------------------------------------------------------------


@pytest.mark.parametrize("venue", VENUES, ids=lambda v: v.value)
async def test_missing_keys_are_a_config_error_at_create(sim: Simulator, venue: Exchange) -> None:
    name = venue.value.upper()
    with pytest.raises(ConfigError) as info:
        create_exchange_ws_api(**ws_args(sim, venue, api_key=None, api_secret=None))
    assert f"HFTPY_{name}_API_KEY and HFTPY_{name}_API_SECRET" in str(info.value)
    # a half-configured account is told which half is missing
    if venue is not Exchange.BACKPACK:  # Backpack derives the key from the secret
        with pytest.raises(ConfigError, match=r"missing: api_key\)"):
            create_exchange_ws_api(**ws_args(sim, venue, api_key=None, account="half"))
    with pytest.raises(ConfigError, match=r"missing: api_secret\)"):
        create_exchange_ws_api(**ws_args(sim, venue, api_secret=None, account="half"))


async def test_credentials_come_from_the_environment(
    sim: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in sim.env.items():
        monkeypatch.setenv(name, value)
    for venue in VENUES:
        assert isinstance(create_exchange_ws_api(venue), WsApiBase)
    monkeypatch.delenv("HFTPY_KRAKEN_API_SECRET")
    with pytest.raises(ConfigError, match="HFTPY_KRAKEN_API_SECRET"):
        create_exchange_ws_api(Exchange.KRAKEN, account="other")


async def test_a_key_less_rest_api_is_named_as_the_cause(sim: Simulator) -> None:
    # REST objects need no keys (public calls); a WS API on top of a key-less one says so.
    create_exchange_api(Exchange.KRAKEN, url=sim.env["HFTPY_KRAKEN_REST_URL"])
    with pytest.raises(ConfigError, match=r"rest_api=.*has none"):
        create_exchange_ws_api(**ws_args(sim, Exchange.KRAKEN))


async def test_binance_public_only_needs_no_keys_and_signs_nothing(
    sim: Simulator, running: Running
) -> None:
    args = ws_args(sim, Exchange.BINANCE, api_key=None, api_secret=None)
    api = running.start(create_exchange_ws_api(**args, public_only=True))
    assert isinstance(api, BinanceWsApi) and api.public_only
    await api.wait_ready(5)
    assert (await api.ping())["status"] == 200
    with pytest.raises(ConfigError, match=r"order\.place needs api_key"):
        await api.place_order("BTCUSDT", "buy", 0.001, 90000.0)
    with pytest.raises(ConfigError, match="public_only=True takes no api_key"):
        create_exchange_ws_api(**ws_args(sim, Exchange.BINANCE), public_only=True, account="x")


# -- refused credentials -------------------------------------------------------------------


@pytest.mark.parametrize("venue", VENUES, ids=lambda v: v.value)
async def test_refused_keys_end_wait_ready_at_once_with_the_venues_message(
    sim: Simulator, running: Running, venue: Exchange
) -> None:
    wrong, message = WRONG[venue]
    args = ws_args(sim, venue, **wrong)
    api = running.start(create_exchange_ws_api(**args))
    started = time.monotonic()
    with pytest.raises(AuthError, match=message) as info:
        await api.wait_ready(timeout=10)
    assert time.monotonic() - started < 1.5  # the first refusal, not the timeout
    assert api._conn.attempts == 1 and api._conn.auth_failures == 1
    assert_no_secret(info.value, args["api_secret"], args["api_key"])
    assert not api.ready


@pytest.mark.parametrize("venue", list(REJECT_AUTH), ids=lambda v: v.value)
async def test_the_simulators_reject_auth_fault_is_an_auth_error(
    sim: Simulator, running: Running, venue: Exchange
) -> None:
    params, message = REJECT_AUTH[venue]
    sim.inject(venue.value, "reject_auth", **params)
    args = ws_args(sim, venue)
    api = running.start(create_exchange_ws_api(**args))
    with pytest.raises(AuthError, match=message) as info:
        await api.wait_ready(timeout=10)
    assert api._conn.attempts == 1
    assert_no_secret(info.value, args["api_secret"])


async def test_no_reconnect_storm_while_the_keys_are_refused(
    sim: Simulator, running: Running
) -> None:
    # The default policy, every venue at once: a refused key is retried after 1-2 s, then
    # 2-4 s, ... (a network drop after 25-50 ms).
    apis = [
        running.start(create_exchange_ws_api(**ws_args(sim, venue, **WRONG[venue][0])))
        for venue in VENUES
    ]
    await asyncio.sleep(3.0)
    for api in apis:
        assert 2 <= api._conn.attempts <= 3, (api, api._conn.attempts)
        assert api._conn.auth_failures == api._conn.attempts
        assert isinstance(api._conn.last_error, AuthError)
    # a wait that began after the latest refusal waits for the next attempt's outcome
    kraken = apis[0]
    with pytest.raises((AuthError, RequestTimeoutError), match="Invalid signature"):
        await kraken.wait_ready(timeout=0.2)


@pytest.mark.parametrize("venue", VENUES, ids=lambda v: v.value)
async def test_the_api_recovers_by_itself_once_the_venue_accepts_the_keys(
    sim: Simulator, running: Running, venue: Exchange
) -> None:
    fast = ReconnectPolicy(auth_initial_delay=0.2, auth_max_delay=0.4)
    if venue is Exchange.KRAKEN:  # a key the venue does not know yet
        key, secret = "hftpy-test-key", base64.b64encode(os.urandom(64)).decode()
        args = ws_args(sim, venue, api_key=key, api_secret=secret)
        message = "EAPI:Invalid key"
    else:
        params, message = REJECT_AUTH[venue]
        sim.inject(venue.value, "reject_auth", **params)
        args = ws_args(sim, venue)
    api = running.start(create_exchange_ws_api(**args), fast)
    with pytest.raises(AuthError, match=message):
        await api.wait_ready(timeout=10)
    if venue is Exchange.KRAKEN:
        sim.kraken.add_api_key(key, secret, sim.kraken_account)
    await api.wait_ready(timeout=5)
    assert api.ready and api._conn.attempts == 2 and api._conn.connects >= 1


# -- configuration errors in start() ----------------------------------------------------------


async def test_a_config_error_while_connecting_stops_start(sim: Simulator) -> None:
    api = create_exchange_ws_api(**ws_args(sim, Exchange.KRAKEN))
    assert isinstance(api, KrakenWsApi)
    api._rest._signer = None  # the secret is gone by the time it connects
    runner = asyncio.create_task(api.start())
    with pytest.raises(ConfigError, match="HFTPY_KRAKEN_API_SECRET"):
        await api.wait_ready(timeout=5)
    with pytest.raises(ConfigError):
        await runner  # start() ends with it instead of retrying
    assert api._conn.attempts == 1
    with pytest.raises(ConfigError):  # and every later wait says so at once
        await api.wait_ready(timeout=5)


# -- the connection layer: refused upgrades ----------------------------------------------------


class _Silent(WSListener):
    pass


async def test_a_refused_upgrade_is_an_auth_error_with_the_body_redacted() -> None:
    token = "eyJhbGciOiJIUzUxMiJ9.eyJhY2Nlc3Nfa2V5IjoiayJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
    seen: list[str] = []

    def refuse(request: WSUpgradeRequest) -> WSUpgradeResponseWithListener:
        authorization = request.headers.get("Authorization", "")
        seen.append(authorization)
        body = f'{{"error":"bad token","got":"{authorization}"}}'.encode()
        response = WSUpgradeResponse.create_error_response(HTTPStatus.UNAUTHORIZED, body)
        return WSUpgradeResponseWithListener(response, None)

    server = await ws_create_server(refuse, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    conn = WsConnection(
        f"ws://127.0.0.1:{port}/",
        lambda payload, recv_ns, recv_mono: None,
        name="refused",
        extra_headers={"Authorization": f"Bearer {token}"},
        reconnect=ReconnectPolicy(auth_initial_delay=10.0),
    )
    runner = asyncio.create_task(conn.run())
    try:
        with pytest.raises(AuthError, match="HTTP 401") as info:
            await conn.wait_ready(5)
        assert seen == [f"Bearer {token}"]  # the server did get it
        assert "bad token" in str(info.value) and token not in str(info.value)
        assert conn.attempts == 1 and conn.connects == 0
    finally:
        await conn.close()
        await runner
        server.close()
        await server.wait_closed()


async def test_a_network_failure_is_retried_fast_and_keeps_wait_ready_waiting() -> None:
    # nothing listens on the port: connection refused, again and again
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    conn = WsConnection(
        f"ws://127.0.0.1:{port}/",
        lambda payload, recv_ns, recv_mono: None,
        reconnect=ReconnectPolicy(initial_delay=0.01, max_delay=0.02),
    )
    runner = asyncio.create_task(conn.run())
    with pytest.raises(TimeoutError):
        await conn.wait_ready(0.3)
    assert conn.attempts >= 5 and conn.auth_failures == 0
    await conn.close()
    await runner


class _Echo(WSListener):
    pass


async def test_fail_ends_the_attempt_with_that_error_and_close_ends_waits() -> None:
    server = await ws_create_server(lambda _: _Echo(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # A hook that waits for a venue's answer, failed when the socket goes (as the venues' are).
    answers: list[asyncio.Future[None]] = []

    async def on_connected() -> None:
        answers.append(asyncio.get_running_loop().create_future())
        await answers[-1]

    def on_disconnected() -> None:
        if answers and not answers[-1].done():
            answers[-1].set_exception(ConnectionError("socket gone"))

    conn = WsConnection(
        f"ws://127.0.0.1:{port}/",
        lambda payload, recv_ns, recv_mono: None,
        on_connected=on_connected,
        on_disconnected=on_disconnected,
        reconnect=ReconnectPolicy(auth_initial_delay=0.2, auth_max_delay=0.2),
    )
    runner = asyncio.create_task(conn.run())
    try:
        waiting = asyncio.create_task(conn.wait_ready(5))
        while not answers:
            await asyncio.sleep(0.01)
        # e.g. the venue refused the login by a frame the owner read
        conn.fail(AuthError("refused by a frame"))
        with pytest.raises(AuthError, match="refused by a frame"):
            await waiting  # the reason, not the hook's ConnectionError
        assert conn.auth_failures == 1 and not conn.ready
        while len(answers) < 2:  # the next attempt, after the (slow) auth delay
            await asyncio.sleep(0.01)
        answers[-1].set_result(None)
        await conn.wait_ready(5)
        assert conn.attempts == 2
        conn.drop()  # a plain drop: reconnects, and the hook waits again
        while conn.ready:
            await asyncio.sleep(0.001)
        closing_wait = asyncio.create_task(conn.wait_ready(5))
        await asyncio.sleep(0)
        await conn.close()
        with pytest.raises(DisconnectedError, match="closed"):
            await asyncio.wait_for(closing_wait, 1)
        with pytest.raises(DisconnectedError):
            await conn.wait_ready(5)
    finally:
        await conn.close()
        await runner
        server.close()
        await server.wait_closed()
