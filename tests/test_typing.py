"""The public API's types, as a user's `mypy --strict` sees them: the factories return each
venue's class for a literal exchange (the base class otherwise, never `Any`), the venue
classes import from `hftpy.exchange`, and a typo in a user's program is an error.

One mypy run checks every program below (a cold cache in tmp: a few seconds); its output is
split per file."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import hftpy.exchange as exchange_module
from hftpy.exchange import (
    BackpackRestApi,
    BackpackStream,
    BackpackWsApi,
    BinanceRestApi,
    BinanceStream,
    BinanceWsApi,
    KrakenRestApi,
    KrakenStream,
    KrakenWsApi,
    UpbitRestApi,
    UpbitStream,
    UpbitWsApi,
)
from hftpy.exchange.stream import StreamBase

PYTHON_DIR = Path(__file__).resolve().parent.parent / "python"

CORRECT = """
import asyncio
from typing import assert_type

from hftpy.common import CurrencyPair, Exchange, Side
from hftpy.exchange.orders import OrderStatus, OrderUpdate
from hftpy.exchange.ws_api import WsResponse
from hftpy.exchange import (
    BackpackRestApi, BackpackStream, BackpackWsApi, BinanceRestApi, BinanceStream,
    BinanceWsApi, KrakenRestApi, KrakenStream, KrakenWsApi, RestApiBase, StreamBase,
    UpbitRestApi, UpbitStream, UpbitWsApi, WsApiBase, create_exchange_api,
    create_exchange_stream, create_exchange_ws_api, get_exchange_api, get_exchange_stream,
    get_exchange_ws_api,
)


def on_response(
    request_id: int, method: str, request: dict[str, object], response: dict[str, object],
    latency: int,
) -> None:
    print(request_id, method, latency)


async def main(configured: str) -> None:
    assert_type(create_exchange_api(Exchange.KRAKEN, api_key="k", api_secret="s"), KrakenRestApi)
    assert_type(create_exchange_api("binance", testnet=True), BinanceRestApi)
    assert_type(create_exchange_api(Exchange.BACKPACK, window=5000), BackpackRestApi)
    assert_type(create_exchange_api("upbit", alg="HS256"), UpbitRestApi)
    assert_type(create_exchange_api(configured), RestApiBase)
    assert_type(get_exchange_api(Exchange.KRAKEN), KrakenRestApi)
    assert_type(get_exchange_api(configured, account="hedge"), RestApiBase)

    kraken = create_exchange_ws_api(Exchange.KRAKEN, rate_tier="pro", on_rate_limit="raise")
    assert_type(kraken, KrakenWsApi)
    assert_type(create_exchange_ws_api("binance", public_only=True), BinanceWsApi)
    assert_type(create_exchange_ws_api(exchange=Exchange.BACKPACK), BackpackWsApi)
    assert_type(create_exchange_ws_api(Exchange.UPBIT, codes=["KRW-BTC"]), UpbitWsApi)
    assert_type(create_exchange_ws_api(configured, request_timeout=5.0), WsApiBase)
    assert_type(get_exchange_ws_api("kraken"), KrakenWsApi)
    assert_type(get_exchange_ws_api(Exchange.UPBIT, "hedge"), UpbitWsApi)
    assert_type(get_exchange_ws_api(configured), WsApiBase)

    assert_type(create_exchange_stream(Exchange.KRAKEN, depth=10), KrakenStream)
    assert_type(create_exchange_stream("binance", snapshot_limit=100), BinanceStream)
    assert_type(create_exchange_stream(Exchange.BACKPACK), BackpackStream)
    assert_type(create_exchange_stream("upbit"), UpbitStream)
    assert_type(create_exchange_stream(configured), StreamBase)
    assert_type(get_exchange_stream(Exchange.BINANCE), BinanceStream)
    assert_type(get_exchange_stream(configured), StreamBase)

    # The order API: the same typed calls on every venue and on the base class.
    generic = create_exchange_ws_api(configured)
    for ws in (generic, kraken, create_exchange_ws_api("binance")):
        reply = await ws.place_order("BTC/USD", Side.BUY, "0.001", 80000.0, wait=True)
        assert_type(reply, WsResponse)
        assert_type(reply.order_id, str | None)
        assert_type(reply.status, OrderStatus | None)
        assert_type(await ws.cancel_order(reply.order_id), int)
        assert_type(await ws.amend_order(reply.order_id, price=1, wait=True), WsResponse)
        assert_type(await ws.cancel_all(wait=True), WsResponse)
        assert_type(ws.open_orders(), list[OrderUpdate])

    async with create_exchange_ws_api(Exchange.KRAKEN) as ws_api:
        assert_type(ws_api, KrakenWsApi)
        await ws_api.wait_ready(timeout=5.0)
        await ws_api.place_order(
            symbol=CurrencyPair.BTC_USD, side=Side.BUY, amount=0.001, price=80000.0,
            post_only=True, callback=on_response,
        )
    async with create_exchange_stream(Exchange.BINANCE) as stream:
        assert_type(stream, BinanceStream)


asyncio.run(main("kraken"))
"""

# Each program has one mistake: (source, the mypy error code it must give, text in the message)
MISTAKES: dict[str, tuple[str, str, str]] = {
    "typo_reply_field": (
        """
from hftpy.common import Side
from hftpy.exchange import create_exchange_ws_api


async def main() -> None:
    ws = create_exchange_ws_api("backpack")
    reply = await ws.place_order("SOL_USDC", Side.BUY, 1, 140, wait=True)
    print(reply.ordr_id)
""",
        "attr-defined",
        '"WsResponse" has no attribute "ordr_id"',
    ),
    "typo_method": (
        """
from hftpy.common import CurrencyPair, Exchange, Side
from hftpy.exchange import create_exchange_ws_api


async def main() -> None:
    ws = create_exchange_ws_api(Exchange.KRAKEN)
    await ws.place_ordr(symbol=CurrencyPair.BTC_USD, side=Side.BUY, amount=0.001, price=1.0)
""",
        "attr-defined",
        '"KrakenWsApi" has no attribute "place_ordr"',
    ),
    "wrong_argument_type": (
        """
from hftpy.exchange import create_exchange_ws_api


async def main() -> None:
    ws = create_exchange_ws_api("upbit")
    await ws.wait_ready(timeout="soon")
""",
        "arg-type",
        'Argument "timeout" to "wait_ready"',
    ),
    "misspelled_keyword": (
        """
from hftpy.exchange import create_exchange_ws_api


async def main() -> None:
    ws = create_exchange_ws_api("binance", api_key="k", api_secret="s")
    await ws.wait_ready(timout=5.0)
""",
        "call-arg",
        'Unexpected keyword argument "timout"',
    ),
    "misspelled_factory_keyword": (
        """
from hftpy.common import Exchange
from hftpy.exchange import create_exchange_ws_api

ws = create_exchange_ws_api(Exchange.KRAKEN, api_kye="k", api_secret="s")
""",
        "call-overload",
        'Unexpected keyword argument "api_kye"',
    ),
    "misspelled_resync_reason": (
        """
from hftpy._core import ResyncEvent


def on_resync(event: ResyncEvent) -> None:
    if event.reason == "checksum_mismach":
        print(event.detail)
""",
        "comparison-overlap",
        "Non-overlapping equality check",
    ),
    "wrong_factory_argument_type": (
        """
from hftpy.exchange import create_exchange_stream

stream = create_exchange_stream("kraken", depth="ten")
""",
        "call-overload",
        "No overload variant",
    ),
}

_ERROR = re.compile(
    r"^(?P<file>[^:]+\.py):(?P<line>\d+): error: (?P<message>.*?)  \[(?P<code>[\w-]+)\]$"
)


def _run_mypy(tmp_path: Path, programs: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """mypy --strict over every program at once: {file stem: [(code, message), ...]}."""
    for name, source in programs.items():
        (tmp_path / f"{name}.py").write_text(source.lstrip())
    env = dict(os.environ)
    env["MYPYPATH"] = str(PYTHON_DIR)
    env.pop("MYPY_CACHE_DIR", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--python-version=3.11",
            "--show-error-codes",
            "--no-error-summary",
            "--hide-error-context",
            "--no-pretty",
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            *(f"{name}.py" for name in programs),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 2: mypy itself failed
    errors: dict[str, list[tuple[str, str]]] = {name: [] for name in programs}
    for line in result.stdout.splitlines():
        match = _ERROR.match(line)
        if match is None:
            continue
        stem = Path(match["file"]).stem
        # errors inside hftpy itself belong to `.venv/bin/mypy`, not to this test
        if Path(match["file"]).parent == Path(".") and stem in errors:
            errors[stem].append((match["code"], match["message"]))
    return errors


def test_user_programs_under_mypy_strict(tmp_path: Path) -> None:
    programs = {"correct": CORRECT} | {name: src for name, (src, _, _) in MISTAKES.items()}
    errors = _run_mypy(tmp_path, programs)
    assert errors["correct"] == [], errors["correct"]
    for name, (_, code, text) in MISTAKES.items():
        found = errors[name]
        assert found, f"{name}: mypy --strict accepted it"
        assert {c for c, _ in found} == {code}, (name, found)
        assert any(text in message for _, message in found), (name, found)


# The factories' keyword arguments are written out per venue (typing.Unpack[TypedDict]): they
# must name exactly what each constructor takes, or a user is refused a valid argument (or
# allowed a wrong one) by the type checker.
FACTORY_ARGS: list[tuple[type[Any], str]] = [
    (KrakenWsApi, "KrakenWsApiArgs"),
    (BinanceWsApi, "BinanceWsApiArgs"),
    (BackpackWsApi, "BackpackWsApiArgs"),
    (UpbitWsApi, "UpbitWsApiArgs"),
    (KrakenRestApi, "KrakenRestApiArgs"),
    (BinanceRestApi, "BinanceRestApiArgs"),
    (BackpackRestApi, "BackpackRestApiArgs"),
    (UpbitRestApi, "UpbitRestApiArgs"),
    (KrakenStream, "StreamArgs"),
    (BinanceStream, "BinanceStreamArgs"),
    (BackpackStream, "StreamArgs"),
    (UpbitStream, "StreamArgs"),
]


def _keywords(cls: type[Any]) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(vars(klass)["__init__"]).parameters.values()
        names |= {p.name for p in params if p.kind is p.KEYWORD_ONLY}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break  # this __init__ takes no more than it names
    return names


@pytest.mark.parametrize(
    ("cls", "args_name"), FACTORY_ARGS, ids=lambda x: getattr(x, "__name__", x)
)
def test_factory_keywords_match_the_constructors(cls: type[Any], args_name: str) -> None:
    typed = getattr(exchange_module, args_name)
    assert set(typed.__optional_keys__) == _keywords(cls)
    assert not typed.__required_keys__


@pytest.mark.parametrize(
    ("kind", "any_name"),
    [("WsApi", "AnyWsApiArgs"), ("RestApi", "AnyRestApiArgs"), ("Stream", "AnyStreamArgs")],
)
def test_the_fallback_takes_every_venues_keywords(kind: str, any_name: str) -> None:
    every: set[str] = set()
    for cls, _ in FACTORY_ARGS:
        if cls.__name__.endswith(kind):
            every |= _keywords(cls)
    assert set(getattr(exchange_module, any_name).__optional_keys__) == every


def test_venue_classes_are_exported() -> None:
    for cls, _ in FACTORY_ARGS:
        assert cls.__name__ in exchange_module.__all__
        assert getattr(exchange_module, cls.__name__) is cls
    assert issubclass(KrakenStream, StreamBase)
