"""Factories for the venue APIs: one REST and one WS API object per exchange per account
per process, created once and fetched anywhere.

    create_exchange_api(exchange=Exchange.KRAKEN, api_key=..., api_secret=...)
    ws_api = create_exchange_ws_api(exchange=Exchange.KRAKEN, api_key=..., api_secret=...)
    ...
    ws_api = get_exchange_ws_api(Exchange.KRAKEN)      # the same object

`create_*` again with the same arguments returns the same object; with different arguments
it raises `ConfigError`. `get_*` before `create_*` raises `NotCreatedError`.
"""

from __future__ import annotations

from typing import Any

from hftpy.common import Exchange
from hftpy.errors import ConfigError, NotCreatedError
from hftpy.exchange.backpack import BackpackRestApi, BackpackWsApi
from hftpy.exchange.backpack.stream import BackpackStream
from hftpy.exchange.binance import BinanceRestApi, BinanceWsApi
from hftpy.exchange.binance.stream import BinanceStream
from hftpy.exchange.kraken import KrakenRestApi, KrakenWsApi
from hftpy.exchange.kraken.stream import KrakenStream
from hftpy.exchange.rest_api import RestApiBase
from hftpy.exchange.stream import StreamBase
from hftpy.exchange.upbit import UpbitRestApi, UpbitWsApi
from hftpy.exchange.upbit.stream import UpbitStream
from hftpy.exchange.ws_api import WsApiBase, WsResponse

__all__ = [
    "RestApiBase",
    "StreamBase",
    "WsApiBase",
    "WsResponse",
    "close_all",
    "create_exchange_api",
    "create_exchange_stream",
    "create_exchange_ws_api",
    "get_exchange_api",
    "get_exchange_stream",
    "get_exchange_ws_api",
]

_REST_CLASSES: dict[Exchange, type[Any]] = {
    Exchange.KRAKEN: KrakenRestApi,
    Exchange.BINANCE: BinanceRestApi,
    Exchange.BACKPACK: BackpackRestApi,
    Exchange.UPBIT: UpbitRestApi,
}
_WS_CLASSES: dict[Exchange, type[Any]] = {
    Exchange.KRAKEN: KrakenWsApi,
    Exchange.BINANCE: BinanceWsApi,
    Exchange.BACKPACK: BackpackWsApi,
    Exchange.UPBIT: UpbitWsApi,
}
_STREAM_CLASSES: dict[Exchange, type[Any]] = {
    Exchange.KRAKEN: KrakenStream,
    Exchange.BINANCE: BinanceStream,
    Exchange.BACKPACK: BackpackStream,
    Exchange.UPBIT: UpbitStream,
}
_CREATORS = {
    "rest": "create_exchange_api",
    "ws": "create_exchange_ws_api",
    "stream": "create_exchange_stream",
}

# (kind, exchange, account) -> (instance, the arguments it was created with)
_registry: dict[tuple[str, Exchange, str], tuple[Any, dict[str, Any]]] = {}


def _create(
    kind: str, classes: dict[Exchange, type[Any]], exchange: Exchange | str, kwargs: dict[str, Any]
) -> Any:
    ex = Exchange.parse(exchange)
    account = kwargs.pop("account", "default")
    key = (kind, ex, account)
    existing = _registry.get(key)
    if existing is not None:
        instance, created_with = existing
        if created_with != kwargs:
            changed = sorted(
                k
                for k in created_with.keys() | kwargs.keys()
                if created_with.get(k) != kwargs.get(k)
            )
            raise ConfigError(
                f"{kind} API for {ex.value} account {account!r} already exists with different "
                f"arguments ({', '.join(changed)}); close_all() first or use another account="
            )
        return instance
    cls = classes.get(ex)
    if cls is None:
        raise ConfigError(f"{ex.value}: {kind} API not available yet")
    build_kwargs = dict(kwargs)
    rest = _registry.get(("rest", ex, account))
    if kind == "ws" and rest is not None:
        build_kwargs.setdefault("rest_api", rest[0])
    instance = cls(account=account, **build_kwargs)
    _registry[key] = (instance, kwargs)
    return instance


def create_exchange_api(exchange: Exchange | str, **kwargs: Any) -> Any:
    """The REST API of `exchange` (credentials default to the HFTPY_* environment)."""
    return _create("rest", _REST_CLASSES, exchange, kwargs)


def create_exchange_ws_api(exchange: Exchange | str, **kwargs: Any) -> Any:
    """The WebSocket API of `exchange`. It uses the REST API of the same account (created
    with `create_exchange_api`) for tokens, or makes its own from the same credentials."""
    return _create("ws", _WS_CLASSES, exchange, kwargs)


def _get(kind: str, exchange: Exchange | str, account: str) -> Any:
    ex = Exchange.parse(exchange)
    entry = _registry.get((kind, ex, account))
    if entry is None:
        raise NotCreatedError(
            f"no {kind} API for {ex.value} account {account!r}: call {_CREATORS[kind]}() first"
        )
    return entry[0]


def get_exchange_api(exchange: Exchange | str, account: str = "default") -> Any:
    return _get("rest", exchange, account)


def get_exchange_ws_api(exchange: Exchange | str, account: str = "default") -> Any:
    return _get("ws", exchange, account)


def create_exchange_stream(exchange: Exchange | str, **kwargs: Any) -> Any:
    """The market-data stream of `exchange` (books, trades, tickers); start it as a task."""
    return _create("stream", _STREAM_CLASSES, exchange, kwargs)


def get_exchange_stream(exchange: Exchange | str, account: str = "default") -> Any:
    return _get("stream", exchange, account)


async def close_all() -> None:
    """Closes and forgets every API and stream object (WS first, then the REST sessions)."""
    entries = sorted(_registry.items(), key=lambda item: item[0][0] != "ws")
    _registry.clear()
    for _, (instance, _) in entries:
        await instance.close()
