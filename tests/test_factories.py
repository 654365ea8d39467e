"""Factory and singleton contracts of DESIGN.md (no connection is opened here)."""

from __future__ import annotations

import pytest

import hftpy.exchange as exchange_module
from hftpy.common import Exchange
from hftpy.errors import ConfigError, NotCreatedError
from hftpy.exchange import (
    close_all,
    create_exchange_api,
    create_exchange_ws_api,
    get_exchange_api,
    get_exchange_ws_api,
)
from hftpy.exchange.kraken import KrakenRestApi, KrakenWsApi

KEY = "demo-key"
SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQ="


async def test_create_once_get_anywhere() -> None:
    rest = create_exchange_api(exchange=Exchange.KRAKEN, api_key=KEY, api_secret=SECRET)
    ws = create_exchange_ws_api(exchange=Exchange.KRAKEN, api_key=KEY, api_secret=SECRET)
    assert isinstance(rest, KrakenRestApi) and isinstance(ws, KrakenWsApi)
    assert get_exchange_api(Exchange.KRAKEN) is rest
    assert get_exchange_ws_api(Exchange.KRAKEN) is ws
    assert get_exchange_ws_api("kraken") is ws
    # the WS API gets its tokens through the account's REST API object
    assert ws._rest is rest


async def test_same_arguments_same_object_different_arguments_raise() -> None:
    ws = create_exchange_ws_api(exchange=Exchange.KRAKEN, api_key=KEY, api_secret=SECRET)
    assert create_exchange_ws_api(exchange="kraken", api_key=KEY, api_secret=SECRET) is ws
    with pytest.raises(ConfigError, match="different arguments") as info:
        create_exchange_ws_api(exchange=Exchange.KRAKEN, api_key=KEY, api_secret="b3RoZXI=")
    assert "b3RoZXI=" not in str(info.value) and SECRET not in str(info.value)


async def test_accounts_are_separate_singletons() -> None:
    main = create_exchange_ws_api(exchange=Exchange.KRAKEN, api_key=KEY, api_secret=SECRET)
    hedge = create_exchange_ws_api(
        exchange=Exchange.KRAKEN, api_key="k2", api_secret=SECRET, account="hedge"
    )
    assert main is not hedge
    assert get_exchange_ws_api(Exchange.KRAKEN, account="hedge") is hedge
    # one request-id sequence per exchange, shared across accounts
    ids = [main.get_next_request_id(), hedge.get_next_request_id(), main.get_next_request_id()]
    assert ids == sorted(ids) and len(set(ids)) == 3


async def test_get_before_create_and_after_close_all() -> None:
    with pytest.raises(NotCreatedError, match="create_exchange_ws_api"):
        get_exchange_ws_api(Exchange.KRAKEN)
    with pytest.raises(NotCreatedError, match="create_exchange_api"):
        get_exchange_api(Exchange.KRAKEN)
    create_exchange_ws_api(exchange=Exchange.KRAKEN, api_key=KEY, api_secret=SECRET)
    await close_all()
    with pytest.raises(NotCreatedError):
        get_exchange_ws_api(Exchange.KRAKEN)


async def test_endpoints_and_credentials_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HFTPY_KRAKEN_REST_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("HFTPY_KRAKEN_WS_AUTH_URL", "ws://127.0.0.1:2/v2")
    monkeypatch.setenv("HFTPY_KRAKEN_API_KEY", "env-key")
    monkeypatch.setenv("HFTPY_KRAKEN_API_SECRET", SECRET)
    rest = create_exchange_api(exchange=Exchange.KRAKEN)
    ws = create_exchange_ws_api(exchange=Exchange.KRAKEN)
    assert rest.url == "http://127.0.0.1:1"
    assert ws.url == "ws://127.0.0.1:2/v2"
    assert rest.api_key == "env-key"
    assert "env-key" not in repr(rest.api_key)


async def test_defaults_are_the_real_venue() -> None:
    ws = create_exchange_ws_api(exchange=Exchange.KRAKEN, api_key=KEY, api_secret=SECRET)
    assert ws.url == "wss://ws-auth.kraken.com/v2"
    assert ws._rest.url == "https://api.kraken.com"


async def test_unknown_exchange_and_unsupported_venue(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="unknown exchange"):
        create_exchange_ws_api(exchange="ftx")
    # every venue has a WS API now: take one away to see the message
    monkeypatch.delitem(exchange_module._WS_CLASSES, Exchange.UPBIT)
    with pytest.raises(ConfigError, match="not available"):
        create_exchange_ws_api(exchange=Exchange.UPBIT)


def test_streams_refuse_a_book_depth_their_venue_does_not_offer() -> None:
    from hftpy.exchange import KrakenStream, UpbitStream

    with pytest.raises(ConfigError, match="depth must be one of"):
        KrakenStream(depth=7)
    with pytest.raises(ConfigError, match="depth must be one of"):
        UpbitStream(depth=10)
    assert KrakenStream(depth=25).depth == 25 and UpbitStream(depth=30).depth == 30
