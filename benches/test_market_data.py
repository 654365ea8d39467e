"""Per-message market-data cost on the real captures, side by side in one run: hftpy's decode +
apply + verify (Rust, through the Python API) against stdlib `json.loads` and msgspec's
untyped decode of the same bytes (decode only, no book), and the peer a user would pick
instead: python-kraken-sdk's `SpotOrderBookClient.on_message` (REST precision lookup stubbed)
and cryptofeed's Binance `message_handler` (REST snapshot fetch stubbed with the capture's own
snapshot). Nothing touches the network.

Each round replays the whole message set; `extra_info["messages"]` gives the count, so
per-message cost = round time / messages. Run with
`pytest benches/test_market_data.py --benchmark-enable -o addopts=""`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from hftpy._core import BinanceFeed, BookEvent, KrakenFeed
from replay_data import binance_day1, kraken_book_messages

BINANCE_FRAMES = 5000


def drive(coro: Coroutine[Any, Any, Any]) -> None:
    """Runs a coroutine that never suspends to completion, without an event loop."""
    try:
        coro.send(None)
    except StopIteration:
        return
    raise AssertionError("the handler suspended")


# -- Kraken: BTC/USD book snapshot + 509 checksummed updates ----------------------------------


def kraken_messages() -> list[bytes]:
    init, updates = kraken_book_messages()
    return [init, *updates]


def test_kraken_hftpy(benchmark: Any) -> None:
    messages = kraken_messages()
    feed = KrakenFeed()
    feed.add_instrument("BTC/USD", 1, 8, 10)
    feed_one = feed.feed

    def run() -> None:
        for message in messages:
            feed_one(message, 0)

    benchmark.group = "kraken book: per round of 510 messages"
    benchmark.extra_info["messages"] = len(messages)
    benchmark(run)
    assert feed.state(0).valid and feed.state(0).resyncs == 0
    assert type(feed.feed(messages[0], 0)) is BookEvent


def test_kraken_json_loads(benchmark: Any) -> None:
    messages = kraken_messages()
    loads = json.loads

    def run() -> None:
        for message in messages:
            loads(message)

    benchmark.group = "kraken book: per round of 510 messages"
    benchmark.extra_info["messages"] = len(messages)
    benchmark(run)


def test_kraken_msgspec_decode(benchmark: Any) -> None:
    messages = kraken_messages()
    decode = msgspec.json.Decoder().decode

    def run() -> None:
        for message in messages:
            decode(message)

    benchmark.group = "kraken book: per round of 510 messages"
    benchmark.extra_info["messages"] = len(messages)
    benchmark(run)


class _StubMarket:
    """python-kraken-sdk's REST `Market`, answering the precision lookup locally."""

    def get_asset_pairs(self, pair: str) -> dict[str, dict[str, int]]:
        return {pair: {"pair_decimals": 1, "lot_decimals": 8}}


def test_kraken_python_kraken_sdk(benchmark: Any) -> None:
    from kraken.spot import SpotOrderBookClient

    messages = kraken_messages()
    loads = json.loads
    invalid: list[str] = []

    def on_book(pair: str, message: dict[str, Any]) -> None:
        if "error" in message:
            invalid.append(pair)

    async def build() -> SpotOrderBookClient:
        return SpotOrderBookClient(depth=10, callback=on_book)

    loop = asyncio.new_event_loop()
    clients: list[Any] = []
    try:

        def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
            client = loop.run_until_complete(build())
            client._SpotOrderBookClient__market = _StubMarket()
            clients.append(client)
            return (client,), {}

        def run(client: Any) -> None:
            on_message = client.on_message
            for message in messages:
                # The SDK's socket loop decodes with json.loads before on_message.
                drive(on_message(loads(message)))

        benchmark.group = "kraken book: per round of 510 messages"
        benchmark.extra_info["messages"] = len(messages)
        benchmark.pedantic(run, setup=setup, rounds=15)
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                loop.run_until_complete(client.close())
        loop.close()
    assert invalid == []


# -- Binance: btcusdt depth@100ms + bookTicker frames, with the inline REST snapshot -----------


def binance_frames() -> tuple[bytes, list[bytes]]:
    """The capture's REST snapshot body and the first frames the peer handles too (depth diffs
    and bookTicker; cryptofeed 2.4 subscribes aggTrade rather than trade)."""
    snapshot = b""
    frames = []
    for _, frame in binance_day1():
        if frame.startswith(b'{"lastUpdateId"'):
            snapshot = frame
        elif b"@depth" in frame or b"@bookTicker" in frame:
            frames.append(frame)
        if len(frames) == BINANCE_FRAMES:
            break
    assert snapshot
    return snapshot, frames


def binance_feed() -> tuple[tuple[Any, ...], dict[str, Any]]:
    feed = BinanceFeed()
    feed.add_instrument("BTCUSDT", 2, 8)
    return (feed,), {}


def test_binance_hftpy(benchmark: Any) -> None:
    snapshot, frames = binance_frames()
    last: list[Any] = []

    def run(feed: BinanceFeed) -> None:
        feed_one = feed.feed
        applied = False
        for frame in frames:
            event = feed_one(frame, 0)
            if not applied and event is not None:
                # The REST snapshot a stream fetches on the first diff (the capture's own).
                feed.apply_snapshot(0, snapshot, 0)
                applied = True
        last[:] = [feed]

    benchmark.group = "binance depth+bookTicker: per round of 5000 messages"
    benchmark.extra_info["messages"] = len(frames)
    benchmark.pedantic(run, setup=binance_feed, rounds=40)
    state = last[0].state(0)
    assert state.valid and state.resyncs == 0


def test_binance_json_loads(benchmark: Any) -> None:
    _, frames = binance_frames()
    loads = json.loads

    def run() -> None:
        for frame in frames:
            loads(frame)

    benchmark.group = "binance depth+bookTicker: per round of 5000 messages"
    benchmark.extra_info["messages"] = len(frames)
    benchmark(run)


def test_binance_msgspec_decode(benchmark: Any) -> None:
    _, frames = binance_frames()
    decode = msgspec.json.Decoder().decode

    def run() -> None:
        for frame in frames:
            decode(frame)

    benchmark.group = "binance depth+bookTicker: per round of 5000 messages"
    benchmark.extra_info["messages"] = len(frames)
    benchmark(run)


def test_binance_cryptofeed(benchmark: Any) -> None:
    from cryptofeed.defines import BINANCE, L2_BOOK, TICKER
    from cryptofeed.exchanges import Binance
    from cryptofeed.symbols import Symbols

    snapshot, frames = binance_frames()
    texts = [frame.decode() for frame in frames]
    # The symbol table cryptofeed would fetch from exchangeInfo, set locally.
    Symbols.set(
        BINANCE,
        {"BTC-USDT": "BTCUSDT"},
        {"tick_size": {"BTC-USDT": "0.01"}, "instrument_type": {"BTC-USDT": "spot"}},
    )
    books: list[Any] = []

    async def on_book(book: Any, receipt_timestamp: float) -> None:
        books.append(book)

    async def on_ticker(ticker: Any, receipt_timestamp: float) -> None:
        pass

    class StubHttp:
        async def read(self, address: str, **kwargs: Any) -> bytes:
            return snapshot

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        feed = Binance(
            symbols=["BTC-USDT"],
            channels=[L2_BOOK, TICKER],
            callbacks={L2_BOOK: on_book, TICKER: on_ticker},
        )
        feed.http_conn = StubHttp()
        return (feed,), {}

    def run(feed: Any) -> None:
        handler = feed.message_handler
        for text in texts:
            drive(handler(text, None, 0.0))

    benchmark.group = "binance depth+bookTicker: per round of 5000 messages"
    benchmark.extra_info["messages"] = len(frames)
    benchmark.pedantic(run, setup=setup, rounds=5)
    assert books, "cryptofeed applied no book update"
