"""Per-message market-data cost on the real captures, side by side in one run: hftpy's decode +
apply + verify (Rust, through the Python API) against stdlib `json.loads` and msgspec's
untyped decode of the same bytes (decode only, no book), and the peer a user would pick
instead: python-kraken-sdk's `SpotOrderBookClient.on_message` (REST precision lookup stubbed),
cryptofeed's Binance `message_handler` (REST snapshot fetch stubbed with the capture's own
snapshot), cryptofeed's Upbit `message_handler` (the capture comes from cryptofeed's own
sample data), and ccxt pro (`ccxt.pro.kraken` / `ccxt.pro.binance`): each text frame handed
to its WS client's `handle_text_or_binary_message` (orjson decode, then the exchange's
`handle_message` and its order-book code), for Binance with the depth snapshot ccxt fetches
over REST answered by the capture's own and the market ccxt's `load_markets` would give set
locally; both books are checked against hftpy's at the end. ccxt's Kraken book runs with its
default `watchOrderBook.checksum=False`: with True, ccxt 4.5's v2 handler raises
AttributeError on the first message (its checksum formatter takes the numbers as text, its
WS client decodes them to floats), so that row verifies no checksum while hftpy and
python-kraken-sdk verify all 509. Nothing touches the network. Backpack has no capture to
measure on.

Each contender has its own benchmark (a round replays the whole message set;
`extra_info["messages"]` gives the count, so per-message cost = round time / messages), and
`test_*_interleaved` runs one round of every contender in turn, so that load from other
processes hits them alike: its `extra_info` holds each contender's per-message median and
its cost relative to hftpy. Targets: hftpy cheaper than msgspec's bare decode; ≥ 25× faster
than python-kraken-sdk, ≥ 20× faster than cryptofeed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from hftpy._core import BinanceFeed, BookEvent, KrakenFeed, TradeEvent, UpbitFeed
from replay_data import UPBIT_MARKETS, binance_day1, kraken_book_messages, upbit_frames

BINANCE_FRAMES = 5000

#: A contender: `setup()` builds fresh state, `run(state)` replays every message once.
Case = tuple[Callable[[], Any], Callable[[Any], None]]


def drive(coro: Coroutine[Any, Any, Any]) -> None:
    """Runs a coroutine that never suspends to completion, without an event loop."""
    try:
        coro.send(None)
    except StopIteration:
        return
    raise AssertionError("the handler suspended")


def decode_case(messages: list[bytes], decode: Callable[[bytes], Any]) -> Case:
    def run(_: Any) -> None:
        for message in messages:
            decode(message)

    return (lambda: None), run


def bench(benchmark: Any, group: str, count: int, case: Case, rounds: int) -> None:
    setup, run = case
    benchmark.group = group
    benchmark.extra_info["messages"] = count
    benchmark.pedantic(run, setup=lambda: ((setup(),), {}), rounds=rounds)


def interleave(benchmark: Any, count: int, cases: dict[str, Case], cycles: int) -> None:
    """One round of each case per cycle; per-message medians and ratios to hftpy."""
    seconds: dict[str, list[float]] = {name: [] for name in cases}

    def cycle() -> None:
        for name, (setup, run) in cases.items():
            state = setup()
            start = time.perf_counter()
            run(state)
            seconds[name].append(time.perf_counter() - start)

    benchmark.pedantic(cycle, rounds=cycles, warmup_rounds=1)
    per_message = {name: statistics.median(s) / count * 1e6 for name, s in seconds.items()}
    for name, us in per_message.items():
        benchmark.extra_info[f"{name}_us_per_message"] = round(us, 3)
        benchmark.extra_info[f"{name}_vs_hftpy"] = round(us / per_message["hftpy"], 2)


# -- Kraken: BTC/USD book snapshot + 509 checksummed updates ----------------------------------

KRAKEN_GROUP = "kraken book: per round of 510 messages"


def kraken_messages() -> list[bytes]:
    init, updates = kraken_book_messages()
    return [init, *updates]


def kraken_hftpy_case(messages: list[bytes]) -> Case:
    def setup() -> KrakenFeed:
        feed = KrakenFeed()
        feed.add_instrument("BTC/USD", 1, 8, 10)
        return feed

    def run(feed: KrakenFeed) -> None:
        feed_one = feed.feed
        for message in messages:
            feed_one(message, 0)
        assert feed.state(0).valid and feed.state(0).resyncs == 0

    return setup, run


class _StubMarket:
    """python-kraken-sdk's REST `Market`, answering the precision lookup locally."""

    def get_asset_pairs(self, pair: str) -> dict[str, dict[str, int]]:
        return {pair: {"pair_decimals": 1, "lot_decimals": 8}}


@pytest.fixture
def kraken_sdk_case() -> Iterator[Callable[[list[bytes]], Case]]:
    from kraken.spot import SpotOrderBookClient

    loop = asyncio.new_event_loop()
    clients: list[Any] = []
    invalid: list[str] = []

    def on_book(pair: str, message: dict[str, Any]) -> None:
        if "error" in message:
            invalid.append(pair)

    async def build() -> SpotOrderBookClient:
        return SpotOrderBookClient(depth=10, callback=on_book)

    def make(messages: list[bytes]) -> Case:
        def setup() -> Any:
            client = loop.run_until_complete(build())
            client._SpotOrderBookClient__market = _StubMarket()
            clients.append(client)
            return client

        def run(client: Any) -> None:
            on_message = client.on_message
            loads = json.loads
            for message in messages:
                # The SDK's socket loop decodes with json.loads before on_message.
                drive(on_message(loads(message)))

        return setup, run

    yield make
    for client in clients:
        # The SDK's close may complain about a socket it never opened.
        with contextlib.suppress(Exception):
            loop.run_until_complete(client.close())
    loop.close()
    assert invalid == [], "python-kraken-sdk found checksum errors"


@pytest.fixture
def ccxt_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A private loop for ccxt pro's exchange objects (its WS client wants one at creation);
    every exchange made on it is closed at the end."""
    loop = asyncio.new_event_loop()
    loop.exchanges = []  # type: ignore[attr-defined]
    yield loop
    for exchange in loop.exchanges:  # type: ignore[attr-defined]
        loop.run_until_complete(exchange.close())
    loop.close()


def ccxt_client(loop: asyncio.AbstractEventLoop, exchange: Any, url: str) -> Any:
    """ccxt's WS client of `url` (not connected): what the exchange's watch methods read."""

    async def make() -> Any:
        return exchange.client(url)

    loop.exchanges.append(exchange)  # type: ignore[attr-defined]
    return loop.run_until_complete(make())


def scaled(level: Any, price_scale: int, qty_scale: int) -> tuple[int, int]:
    """A ccxt `[price, amount]` level as hftpy's mantissas."""
    return round(level[0] * 10**price_scale), round(level[1] * 10**qty_scale)


def kraken_ccxt_case(loop: asyncio.AbstractEventLoop, messages: list[bytes]) -> Case:
    import ccxt.pro

    texts = [message.decode() for message in messages]
    feed = kraken_hftpy_case(messages)[0]()
    for message in messages:
        feed.feed(message, 0)
    expected = feed.top(0, 10)

    def setup() -> Any:
        exchange = ccxt.pro.kraken({"enableRateLimit": False})
        return exchange, ccxt_client(loop, exchange, exchange.urls["api"]["ws"]["publicV2"])

    def run(state: Any) -> None:
        exchange, client = state
        handle = client.handle_text_or_binary_message
        for text in texts:
            handle(text)
        book = exchange.orderbooks["BTC/USD"]
        top = (
            tuple(scaled(level, 1, 8) for level in book["bids"][:10]),
            tuple(scaled(level, 1, 8) for level in book["asks"][:10]),
        )
        assert top == expected, "ccxt's book differs from hftpy's"

    return setup, run


def test_kraken_hftpy(benchmark: Any) -> None:
    messages = kraken_messages()
    bench(benchmark, KRAKEN_GROUP, len(messages), kraken_hftpy_case(messages), 200)
    feed = kraken_hftpy_case(messages)[0]()
    assert type(feed.feed(messages[0], 0)) is BookEvent


def test_kraken_json_loads(benchmark: Any) -> None:
    messages = kraken_messages()
    bench(benchmark, KRAKEN_GROUP, len(messages), decode_case(messages, json.loads), 100)


def test_kraken_msgspec_decode(benchmark: Any) -> None:
    messages = kraken_messages()
    decode = msgspec.json.Decoder().decode
    bench(benchmark, KRAKEN_GROUP, len(messages), decode_case(messages, decode), 200)


def test_kraken_python_kraken_sdk(benchmark: Any, kraken_sdk_case: Any) -> None:
    messages = kraken_messages()
    bench(benchmark, KRAKEN_GROUP, len(messages), kraken_sdk_case(messages), 15)


def test_kraken_ccxt_pro(benchmark: Any, ccxt_loop: asyncio.AbstractEventLoop) -> None:
    messages = kraken_messages()
    bench(benchmark, KRAKEN_GROUP, len(messages), kraken_ccxt_case(ccxt_loop, messages), 15)


def test_kraken_interleaved(
    benchmark: Any, kraken_sdk_case: Any, ccxt_loop: asyncio.AbstractEventLoop
) -> None:
    messages = kraken_messages()
    cases = {
        "hftpy": kraken_hftpy_case(messages),
        "msgspec": decode_case(messages, msgspec.json.Decoder().decode),
        "json": decode_case(messages, json.loads),
        "python_kraken_sdk": kraken_sdk_case(messages),
        "ccxt_pro": kraken_ccxt_case(ccxt_loop, messages),
    }
    benchmark.group = "kraken book: interleaved"
    interleave(benchmark, len(messages), cases, 15)


# -- Binance: btcusdt depth@100ms + bookTicker frames, with the inline REST snapshot -----------

BINANCE_GROUP = "binance depth+bookTicker: per round of 5000 messages"


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


def binance_hftpy_case(snapshot: bytes, frames: list[bytes]) -> Case:
    def setup() -> BinanceFeed:
        feed = BinanceFeed()
        feed.add_instrument("BTCUSDT", 2, 8)
        return feed

    def run(feed: BinanceFeed) -> None:
        feed_one = feed.feed
        applied = False
        for frame in frames:
            event = feed_one(frame, 0)
            if not applied and event is not None:
                # The REST snapshot a stream fetches on the first diff (the capture's own).
                feed.apply_snapshot(0, snapshot, 0)
                applied = True
        state = feed.state(0)
        assert state.valid and state.resyncs == 0

    return setup, run


def binance_cryptofeed_case(snapshot: bytes, frames: list[bytes]) -> Case:
    from cryptofeed.defines import BINANCE, L2_BOOK, TICKER
    from cryptofeed.exchanges import Binance
    from cryptofeed.symbols import Symbols

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

    def setup() -> Any:
        feed = Binance(
            symbols=["BTC-USDT"],
            channels=[L2_BOOK, TICKER],
            callbacks={L2_BOOK: on_book, TICKER: on_ticker},
        )
        feed.http_conn = StubHttp()
        return feed

    def run(feed: Any) -> None:
        books.clear()
        handler = feed.message_handler
        for text in texts:
            drive(handler(text, None, 0.0))
        assert books, "cryptofeed applied no book update"

    return setup, run


def binance_ccxt_case(
    loop: asyncio.AbstractEventLoop, snapshot: bytes, frames: list[bytes]
) -> Case:
    import ccxt.pro

    texts = [frame.decode() for frame in frames]
    feed = binance_hftpy_case(snapshot, frames)[0]()
    binance_hftpy_case(snapshot, frames)[1](feed)
    expected = (feed.best_bid(0), feed.best_ask(0))
    symbol = "BTC/USDT"
    # What ccxt's load_markets gives for the pair (exchangeInfo is not fetched).
    market = {
        "id": "BTCUSDT",
        "symbol": symbol,
        "base": "BTC",
        "quote": "USDT",
        "baseId": "BTC",
        "quoteId": "USDT",
        "type": "spot",
        "spot": True,
        "active": True,
        "precision": {"amount": 0.00001, "price": 0.01},
    }
    subscription = {"symbol": symbol, "limit": 1000, "type": "spot", "params": {}}

    def setup() -> Any:
        exchange = ccxt.pro.binance({"enableRateLimit": False})
        exchange.set_markets([exchange.safe_market_structure(market)])

        async def depth(params: dict[str, Any]) -> Any:  # REST GET /api/v3/depth
            return json.loads(snapshot)

        exchange.publicGetDepth = depth
        client = ccxt_client(loop, exchange, "wss://stream.binance.com:9443/stream")
        # what watch_order_book's subscription sets up before the first diff arrives
        exchange.orderbooks[symbol] = exchange.order_book({}, 1000)
        return exchange, client

    def run(state: Any) -> None:
        exchange, client = state
        handle = client.handle_text_or_binary_message
        fetched = False
        for text in texts:
            handle(text)
            if not fetched and exchange.orderbooks[symbol].cache:
                # the snapshot fetch watch_order_book starts, answered at once
                drive(exchange.fetch_order_book_snapshot(client, None, subscription))
                fetched = True
        book = exchange.orderbooks[symbol]
        # hftpy keeps Binance levels at 8 decimals (what Binance prints)
        top = (scaled(book["bids"][0], 8, 8), scaled(book["asks"][0], 8, 8))
        assert top == expected, "ccxt's book differs from hftpy's"

    return setup, run


def test_binance_hftpy(benchmark: Any) -> None:
    snapshot, frames = binance_frames()
    bench(benchmark, BINANCE_GROUP, len(frames), binance_hftpy_case(snapshot, frames), 40)


def test_binance_json_loads(benchmark: Any) -> None:
    _, frames = binance_frames()
    bench(benchmark, BINANCE_GROUP, len(frames), decode_case(frames, json.loads), 20)


def test_binance_msgspec_decode(benchmark: Any) -> None:
    _, frames = binance_frames()
    decode = msgspec.json.Decoder().decode
    bench(benchmark, BINANCE_GROUP, len(frames), decode_case(frames, decode), 40)


def test_binance_cryptofeed(benchmark: Any) -> None:
    snapshot, frames = binance_frames()
    bench(benchmark, BINANCE_GROUP, len(frames), binance_cryptofeed_case(snapshot, frames), 5)


def test_binance_ccxt_pro(benchmark: Any, ccxt_loop: asyncio.AbstractEventLoop) -> None:
    snapshot, frames = binance_frames()
    case = binance_ccxt_case(ccxt_loop, snapshot, frames)
    bench(benchmark, BINANCE_GROUP, len(frames), case, 5)


def test_binance_interleaved(benchmark: Any, ccxt_loop: asyncio.AbstractEventLoop) -> None:
    snapshot, frames = binance_frames()
    cases = {
        "hftpy": binance_hftpy_case(snapshot, frames),
        "msgspec": decode_case(frames, msgspec.json.Decoder().decode),
        "json": decode_case(frames, json.loads),
        "cryptofeed": binance_cryptofeed_case(snapshot, frames),
        "ccxt_pro": binance_ccxt_case(ccxt_loop, snapshot, frames),
    }
    benchmark.group = "binance depth+bookTicker: interleaved"
    interleave(benchmark, len(frames), cases, 10)


# -- Upbit: SIMPLE-format trades and 15-unit orderbooks for 10 markets -----------------------

UPBIT_GROUP = "upbit trade+orderbook (SIMPLE): per round of 449 messages"


def upbit_hftpy_case(frames: tuple[bytes, ...]) -> Case:
    booked = {
        m for m in UPBIT_MARKETS if any(b'"orderbook","cd":"' + m.encode() in f for f in frames)
    }

    def setup() -> UpbitFeed:
        feed = UpbitFeed()
        for market in UPBIT_MARKETS:
            feed.add_instrument(market, 8, 8, 15)
        return feed

    def run(feed: UpbitFeed) -> None:
        feed_one = feed.feed
        for frame in frames:
            feed_one(frame, 0)
        assert booked and all(feed.state(feed.symbol_id(m)).valid for m in booked)

    return setup, run


def upbit_cryptofeed_case(frames: tuple[bytes, ...]) -> Case:
    from cryptofeed.defines import L2_BOOK, TRADES, UPBIT
    from cryptofeed.exchanges import Upbit
    from cryptofeed.symbols import Symbols

    # The symbol table cryptofeed would fetch from market/all (`KRW-LAMB` is `LAMB-KRW`).
    normalized = {"-".join(reversed(market.split("-"))): market for market in UPBIT_MARKETS}
    Symbols.set(
        UPBIT,
        normalized,
        {"instrument_type": dict.fromkeys(normalized, "spot")},
    )
    texts = [frame.decode() for frame in frames]
    seen: list[int] = [0, 0]

    async def on_book(book: Any, receipt_timestamp: float) -> None:
        seen[0] += 1

    async def on_trade(trade: Any, receipt_timestamp: float) -> None:
        seen[1] += 1

    def setup() -> Any:
        return Upbit(
            symbols=list(normalized),
            channels=[L2_BOOK, TRADES],
            callbacks={L2_BOOK: on_book, TRADES: on_trade},
        )

    def run(feed: Any) -> None:
        seen[:] = [0, 0]
        handler = feed.message_handler
        for text in texts:
            drive(handler(text, None, 0.0))
        assert seen == [145, 304], seen

    return setup, run


def test_upbit_hftpy(benchmark: Any) -> None:
    frames = upbit_frames()
    bench(benchmark, UPBIT_GROUP, len(frames), upbit_hftpy_case(frames), 200)
    feed = upbit_hftpy_case(frames)[0]()
    assert type(feed.feed(frames[0], 0)) is TradeEvent


def test_upbit_json_loads(benchmark: Any) -> None:
    frames = upbit_frames()
    bench(benchmark, UPBIT_GROUP, len(frames), decode_case(list(frames), json.loads), 100)


def test_upbit_msgspec_decode(benchmark: Any) -> None:
    frames = upbit_frames()
    decode = msgspec.json.Decoder().decode
    bench(benchmark, UPBIT_GROUP, len(frames), decode_case(list(frames), decode), 200)


def test_upbit_cryptofeed(benchmark: Any) -> None:
    frames = upbit_frames()
    bench(benchmark, UPBIT_GROUP, len(frames), upbit_cryptofeed_case(frames), 20)


def test_upbit_interleaved(benchmark: Any) -> None:
    frames = upbit_frames()
    cases = {
        "hftpy": upbit_hftpy_case(frames),
        "msgspec": decode_case(list(frames), msgspec.json.Decoder().decode),
        "json": decode_case(list(frames), json.loads),
        "cryptofeed": upbit_cryptofeed_case(frames),
    }
    benchmark.group = "upbit trade+orderbook: interleaved"
    interleave(benchmark, len(frames), cases, 15)
