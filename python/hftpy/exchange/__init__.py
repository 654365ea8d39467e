"""Factories for the venue APIs: one REST and one WS API object per exchange per account
per process, created once and fetched anywhere.

    create_exchange_api(exchange=Exchange.KRAKEN, api_key=..., api_secret=...)
    ws_api = create_exchange_ws_api(exchange=Exchange.KRAKEN, api_key=..., api_secret=...)
    ...
    ws_api = get_exchange_ws_api(Exchange.KRAKEN)      # the same object

`create_*` again with the same arguments returns the same object; with different arguments
it raises `ConfigError`. `get_*` before `create_*` raises `NotCreatedError`.

The factories are typed per venue: with a literal exchange (`Exchange.KRAKEN` or `"kraken"`)
`create_exchange_ws_api` returns a `KrakenWsApi` and its keyword arguments are checked
against `KrakenWsApi`'s constructor (`KrakenWsApiArgs`); with an exchange known only at run
time it returns the base class (`WsApiBase`, `RestApiBase`, `StreamBase`). Likewise the REST
and stream factories and the `get_*` functions.

A WS API that trades needs credentials: `create_exchange_ws_api` raises `ConfigError`
(naming the `HFTPY_<VENUE>_API_KEY` / `_API_SECRET` variables) when neither the arguments nor
the environment supply them; `BinanceWsApi(public_only=True)` is the one key-less WS API.
REST API and stream objects need no keys (public data).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, TypedDict, Unpack, overload

from hftpy._core import RateLimiter
from hftpy.common import CurrencyPair, Exchange
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
from hftpy.net.connection import ReconnectPolicy

__all__ = [
    "BackpackRestApi",
    "BackpackStream",
    "BackpackWsApi",
    "BinanceRestApi",
    "BinanceStream",
    "BinanceWsApi",
    "KrakenRestApi",
    "KrakenStream",
    "KrakenWsApi",
    "RestApiBase",
    "StreamBase",
    "UpbitRestApi",
    "UpbitStream",
    "UpbitWsApi",
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

Kraken = Literal[Exchange.KRAKEN, "kraken"]
Binance = Literal[Exchange.BINANCE, "binance"]
Backpack = Literal[Exchange.BACKPACK, "backpack"]
Upbit = Literal[Exchange.UPBIT, "upbit"]
OnRateLimit = Literal["wait", "raise"]


# -- the keyword arguments of each constructor, for the factories' signatures -----------------
# (tests/test_typing.py checks that they name exactly each constructor's parameters)


class _WsApiArgs(TypedDict, total=False):
    api_key: str | None
    api_secret: str | None
    url: str | None
    rest_url: str | None
    account: str
    request_timeout: float
    on_rate_limit: OnRateLimit


class KrakenWsApiArgs(_WsApiArgs, total=False):
    """`KrakenWsApi`'s keyword arguments."""

    rest_api: KrakenRestApi | None
    executions: bool
    snap_trades: bool
    rate_tier: str | None


class BinanceWsApiArgs(_WsApiArgs, total=False):
    """`BinanceWsApi`'s keyword arguments."""

    rest_api: BinanceRestApi | None
    ed25519_key: str | None
    testnet: bool
    user_data: bool
    logon: bool | None
    recv_window: int | None
    rate_limiter: RateLimiter | None
    public_only: bool


class BackpackWsApiArgs(_WsApiArgs, total=False):
    """`BackpackWsApi`'s keyword arguments."""

    rest_api: BackpackRestApi | None
    streams: Iterable[str]
    window: int | None


class UpbitWsApiArgs(_WsApiArgs, total=False):
    """`UpbitWsApi`'s keyword arguments."""

    rest_api: UpbitRestApi | None
    types: Iterable[str]
    codes: Iterable[CurrencyPair | str] | None
    alg: str


class AnyWsApiArgs(_WsApiArgs, total=False):
    """The keyword arguments of any venue's WS API (each venue takes its own subset)."""

    rest_api: RestApiBase | None
    executions: bool
    snap_trades: bool
    rate_tier: str | None
    ed25519_key: str | None
    testnet: bool
    user_data: bool
    logon: bool | None
    recv_window: int | None
    rate_limiter: RateLimiter | None
    public_only: bool
    streams: Iterable[str]
    window: int | None
    types: Iterable[str]
    codes: Iterable[CurrencyPair | str] | None
    alg: str


class _RestApiArgs(TypedDict, total=False):
    api_key: str | None
    api_secret: str | None
    url: str | None
    account: str
    timeout: float


class KrakenRestApiArgs(_RestApiArgs, total=False):
    """`KrakenRestApi`'s keyword arguments."""


class BinanceRestApiArgs(_RestApiArgs, total=False):
    """`BinanceRestApi`'s keyword arguments."""

    ed25519_key: str | None
    testnet: bool
    recv_window: int


class BackpackRestApiArgs(_RestApiArgs, total=False):
    """`BackpackRestApi`'s keyword arguments."""

    window: int


class UpbitRestApiArgs(_RestApiArgs, total=False):
    """`UpbitRestApi`'s keyword arguments."""

    alg: str


class AnyRestApiArgs(_RestApiArgs, total=False):
    """The keyword arguments of any venue's REST API (each venue takes its own subset)."""

    ed25519_key: str | None
    testnet: bool
    recv_window: int
    window: int
    alg: str


class StreamArgs(TypedDict, total=False):
    """The keyword arguments of every venue's stream (`StreamBase`)."""

    url: str | None
    rest_url: str | None
    account: str
    scales: dict[CurrencyPair | str, tuple[int, int]] | None
    depth: int | None
    reconnect: ReconnectPolicy | None
    rest_timeout: float
    ping_idle_timeout: float
    ping_reply_timeout: float
    liveness: dict[str, float | None] | None
    max_frame_size: int


class BinanceStreamArgs(StreamArgs, total=False):
    """`BinanceStream`'s keyword arguments."""

    snapshot_limit: int


class AnyStreamArgs(BinanceStreamArgs, total=False):
    """The keyword arguments of any venue's stream (each venue takes its own subset)."""


_REST_CLASSES: dict[Exchange, type[RestApiBase]] = {
    Exchange.KRAKEN: KrakenRestApi,
    Exchange.BINANCE: BinanceRestApi,
    Exchange.BACKPACK: BackpackRestApi,
    Exchange.UPBIT: UpbitRestApi,
}
_WS_CLASSES: dict[Exchange, type[WsApiBase]] = {
    Exchange.KRAKEN: KrakenWsApi,
    Exchange.BINANCE: BinanceWsApi,
    Exchange.BACKPACK: BackpackWsApi,
    Exchange.UPBIT: UpbitWsApi,
}
_STREAM_CLASSES: dict[Exchange, type[StreamBase]] = {
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


# -- REST ----------------------------------------------------------------------------------
@overload
def create_exchange_api(exchange: Kraken, **kwargs: Unpack[KrakenRestApiArgs]) -> KrakenRestApi: ...
@overload
def create_exchange_api(
    exchange: Binance, **kwargs: Unpack[BinanceRestApiArgs]
) -> BinanceRestApi: ...
@overload
def create_exchange_api(
    exchange: Backpack, **kwargs: Unpack[BackpackRestApiArgs]
) -> BackpackRestApi: ...
@overload
def create_exchange_api(exchange: Upbit, **kwargs: Unpack[UpbitRestApiArgs]) -> UpbitRestApi: ...
@overload
def create_exchange_api(
    exchange: Exchange | str, **kwargs: Unpack[AnyRestApiArgs]
) -> RestApiBase: ...
def create_exchange_api(exchange: Exchange | str, **kwargs: Any) -> RestApiBase:
    """The REST API of `exchange` (credentials default to the HFTPY_* environment; without
    them only the public calls work)."""
    result: RestApiBase = _create("rest", _REST_CLASSES, exchange, kwargs)
    return result


@overload
def get_exchange_api(exchange: Kraken, account: str = "default") -> KrakenRestApi: ...
@overload
def get_exchange_api(exchange: Binance, account: str = "default") -> BinanceRestApi: ...
@overload
def get_exchange_api(exchange: Backpack, account: str = "default") -> BackpackRestApi: ...
@overload
def get_exchange_api(exchange: Upbit, account: str = "default") -> UpbitRestApi: ...
@overload
def get_exchange_api(exchange: Exchange | str, account: str = "default") -> RestApiBase: ...
def get_exchange_api(exchange: Exchange | str, account: str = "default") -> RestApiBase:
    """The REST API `create_exchange_api` made for `exchange` and `account`."""
    result: RestApiBase = _get("rest", exchange, account)
    return result


# -- WS API --------------------------------------------------------------------------------
@overload
def create_exchange_ws_api(exchange: Kraken, **kwargs: Unpack[KrakenWsApiArgs]) -> KrakenWsApi: ...
@overload
def create_exchange_ws_api(
    exchange: Binance, **kwargs: Unpack[BinanceWsApiArgs]
) -> BinanceWsApi: ...
@overload
def create_exchange_ws_api(
    exchange: Backpack, **kwargs: Unpack[BackpackWsApiArgs]
) -> BackpackWsApi: ...
@overload
def create_exchange_ws_api(exchange: Upbit, **kwargs: Unpack[UpbitWsApiArgs]) -> UpbitWsApi: ...
@overload
def create_exchange_ws_api(
    exchange: Exchange | str, **kwargs: Unpack[AnyWsApiArgs]
) -> WsApiBase: ...
def create_exchange_ws_api(exchange: Exchange | str, **kwargs: Any) -> WsApiBase:
    """The WebSocket API of `exchange`. It uses the REST API of the same account (created
    with `create_exchange_api`) for tokens, or makes its own from the same credentials.
    Raises `ConfigError` when the venue needs credentials and neither the arguments nor the
    environment give them (the message names the variables).

    Start it as a task and wait until it is ready, or let `async with` do both (and close
    it at the end of the block):

        async with create_exchange_ws_api(Exchange.KRAKEN) as ws_api:
            await ws_api.place_order(...)
    """
    result: WsApiBase = _create("ws", _WS_CLASSES, exchange, kwargs)
    return result


@overload
def get_exchange_ws_api(exchange: Kraken, account: str = "default") -> KrakenWsApi: ...
@overload
def get_exchange_ws_api(exchange: Binance, account: str = "default") -> BinanceWsApi: ...
@overload
def get_exchange_ws_api(exchange: Backpack, account: str = "default") -> BackpackWsApi: ...
@overload
def get_exchange_ws_api(exchange: Upbit, account: str = "default") -> UpbitWsApi: ...
@overload
def get_exchange_ws_api(exchange: Exchange | str, account: str = "default") -> WsApiBase: ...
def get_exchange_ws_api(exchange: Exchange | str, account: str = "default") -> WsApiBase:
    """The WS API `create_exchange_ws_api` made for `exchange` and `account`."""
    result: WsApiBase = _get("ws", exchange, account)
    return result


# -- streams -------------------------------------------------------------------------------
@overload
def create_exchange_stream(exchange: Kraken, **kwargs: Unpack[StreamArgs]) -> KrakenStream: ...
@overload
def create_exchange_stream(
    exchange: Binance, **kwargs: Unpack[BinanceStreamArgs]
) -> BinanceStream: ...
@overload
def create_exchange_stream(exchange: Backpack, **kwargs: Unpack[StreamArgs]) -> BackpackStream: ...
@overload
def create_exchange_stream(exchange: Upbit, **kwargs: Unpack[StreamArgs]) -> UpbitStream: ...
@overload
def create_exchange_stream(
    exchange: Exchange | str, **kwargs: Unpack[AnyStreamArgs]
) -> StreamBase: ...
def create_exchange_stream(exchange: Exchange | str, **kwargs: Any) -> StreamBase:
    """The market-data stream of `exchange` (books, trades, tickers). Start it as a task, or
    `async with create_exchange_stream(...) as stream:` (started, ready, closed at the end)."""
    result: StreamBase = _create("stream", _STREAM_CLASSES, exchange, kwargs)
    return result


@overload
def get_exchange_stream(exchange: Kraken, account: str = "default") -> KrakenStream: ...
@overload
def get_exchange_stream(exchange: Binance, account: str = "default") -> BinanceStream: ...
@overload
def get_exchange_stream(exchange: Backpack, account: str = "default") -> BackpackStream: ...
@overload
def get_exchange_stream(exchange: Upbit, account: str = "default") -> UpbitStream: ...
@overload
def get_exchange_stream(exchange: Exchange | str, account: str = "default") -> StreamBase: ...
def get_exchange_stream(exchange: Exchange | str, account: str = "default") -> StreamBase:
    """The stream `create_exchange_stream` made for `exchange` and `account`."""
    result: StreamBase = _get("stream", exchange, account)
    return result


def _get(kind: str, exchange: Exchange | str, account: str) -> Any:
    ex = Exchange.parse(exchange)
    entry = _registry.get((kind, ex, account))
    if entry is None:
        raise NotCreatedError(
            f"no {kind} API for {ex.value} account {account!r}: call {_CREATORS[kind]}() first"
        )
    return entry[0]


async def close_all() -> None:
    """Closes and forgets every API and stream object (WS first, then the REST sessions)."""
    entries = sorted(_registry.items(), key=lambda item: item[0][0] != "ws")
    _registry.clear()
    for _, (instance, _) in entries:
        await instance.close()
