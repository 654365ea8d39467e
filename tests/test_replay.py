"""Real captures replayed through the Python API of the Rust decoders and books
(`hftpy._core.KrakenFeed`, `BinanceFeed`, `UpbitFeed`): the same checks as the Rust replay
tests, on the objects a strategy sees."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from hftpy._core import (
    BinanceFeed,
    BookEvent,
    KrakenFeed,
    QuoteEvent,
    ResyncEvent,
    TradeEvent,
    UpbitFeed,
)
from hftpy.errors import FeedError, HftpyError, UnknownSymbolError
from replay_data import (
    UPBIT_MARKETS,
    binance_day1,
    binance_day2,
    corrupt_kraken_checksum,
    kraken_book_messages,
    upbit_frames,
)


def mantissa(value: Any, scale: int) -> int:
    exact = Decimal(str(value)).scaleb(scale)
    assert exact == exact.to_integral_value(), (value, scale)
    return int(exact)


def test_kraken_all_509_checksums_verify() -> None:
    init, updates = kraken_book_messages()
    assert len(updates) == 509
    feed = KrakenFeed()
    btc = feed.add_instrument("BTC/USD", 1, 8, 10)
    event = feed.feed(memoryview(init), 1)
    assert type(event) is BookEvent
    assert (event.symbol, event.snapshot, event.checksum) == ("BTC/USD", True, 2_785_033_588)
    verified = 0
    for i, update in enumerate(updates):
        event = feed.feed(memoryview(update), 2 + i)
        assert type(event) is BookEvent, event
        assert not event.snapshot
        assert event.checksum == json.loads(update)["data"][0]["checksum"]
        assert event.recv_ns == 2 + i
        assert event.exch_ns is not None and event.exch_ns > 1_690_000_000 * 10**9
        verified += 1
    assert verified == 509
    state = feed.state(btc)
    assert (state.valid, state.resyncs, state.updates) == (True, 0, 510)
    book = feed.book(btc)
    assert book.depth() == (10, 10)
    bids, asks = book.top(10)
    assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
    assert [p for p, _ in asks] == sorted(p for p, _ in asks)
    assert bids[0] == book.best_bid() and asks[0] == book.best_ask()
    assert bids[0][0] < asks[0][0]


def test_kraken_corrupted_checksum_invalidates_only_that_symbol() -> None:
    init, updates = kraken_book_messages()
    feed = KrakenFeed()
    faulted = feed.add_instrument("BTC/USD", 1, 8)
    clean = feed.add_instrument("XBT/EUR", 1, 8)
    other = [m.replace(b"BTC/USD", b"XBT/EUR") for m in (init, *updates)]
    feed.feed(init, 0)
    feed.feed(other[0], 0)
    corrupted = corrupt_kraken_checksum(updates[100])
    for i, update in enumerate(updates[:100]):
        feed.feed(update, i)
        feed.feed(other[i + 1], i)
    event = feed.feed(corrupted, 100)
    assert type(event) is ResyncEvent
    assert (event.symbol, event.reason, event.action) == (
        "BTC/USD",
        "checksum_mismatch",
        "resubscribe",
    )
    assert event.detail is not None and event.detail[0] != event.detail[1]
    assert not feed.state(faulted).valid and feed.book(faulted).best_bid() is None
    assert feed.feed(updates[101], 101) is None  # ignored until the next snapshot
    assert type(feed.feed(other[101], 101)) is BookEvent
    assert feed.state(clean).valid and feed.state(clean).resyncs == 0


def test_feed_errors_are_typed() -> None:
    feed = KrakenFeed()
    feed.add_instrument("BTC/USD", 1, 8)
    with pytest.raises(FeedError):
        feed.feed(b'{"channel":"book","data":[{', 0)
    with pytest.raises(FeedError) as info:
        feed.feed(
            b'{"channel":"trade","type":"update","data":[{"symbol":"ETH/USD","side":"buy",'
            b'"price":1,"qty":1,"trade_id":1,"timestamp":"2024-05-27T12:33:10Z"}]}',
            0,
        )
    assert isinstance(info.value, HftpyError) and isinstance(info.value, ValueError)
    with pytest.raises(FeedError):
        feed.add_instrument("BTC/USD", 1, 8)
    with pytest.raises(UnknownSymbolError):
        feed.state(7)
    assert feed.symbol_id("BTC/USD") == 0 and feed.symbols() == ["BTC/USD"]


class BinanceReplay:
    """Checks each `bookTicker` against the book once the book has applied its update id."""

    def __init__(self, feed: BinanceFeed) -> None:
        self.feed = feed
        self.pending: dict[int, QuoteEvent] = {}
        self.depth_updates = 0
        self.trades = 0
        self.quotes_checked = 0
        self.resyncs: list[str] = []

    def check(self, quote: QuoteEvent) -> None:
        book = self.feed.book(quote.symbol_id)
        assert book.best_bid() == (quote.bid_price, quote.bid_qty), quote
        assert book.best_ask() == (quote.ask_price, quote.ask_qty), quote
        self.quotes_checked += 1

    def on_event(self, event: Any) -> None:
        kind = type(event)
        if kind is BookEvent:
            self.depth_updates += 1
            sequence = event.sequence
            quote = self.pending.pop(sequence, None)
            if quote is not None:
                self.check(quote)
            self.pending = {u: q for u, q in self.pending.items() if u > sequence}
        elif kind is QuoteEvent:
            state = self.feed.state(event.symbol_id)
            u = event.update_id
            assert u is not None
            if state.valid and state.sequence == u:
                self.check(event)
            elif state.sequence is None or u > state.sequence:
                self.pending[u] = event
        elif kind is TradeEvent:
            assert event.price > 0 and event.qty > 0 and event.exch_ns > 1_723_000_000 * 10**9
            assert event.side in ("buy", "sell") and (event.price_scale, event.qty_scale) == (8, 8)
            self.trades += 1
        elif kind is ResyncEvent:
            self.resyncs.append(event.reason)
        else:
            assert event is None, event

    def run(self, lines: tuple[tuple[int, bytes], ...]) -> None:
        for recv_ns, frame in lines:
            if frame.startswith(b'{"lastUpdateId"'):
                self.on_event(self.feed.apply_snapshot(0, frame, recv_ns))
            else:
                self.on_event(self.feed.feed(memoryview(frame), recv_ns))


def test_binance_btcusdt_syncs_without_a_gap_and_agrees_with_book_ticker() -> None:
    day1, day2 = binance_day1(), binance_day2()
    feed = BinanceFeed()
    feed.add_instrument("BTCUSDT", 2, 8)
    replay = BinanceReplay(feed)
    replay.run(day1)
    assert replay.resyncs == ["initial"], "only the initial snapshot request"
    assert (replay.quotes_checked, replay.trades) == (564, 9757)
    replay.run(day2)
    assert replay.resyncs == ["initial"], "no gap across both files"
    assert replay.quotes_checked == 564 + 508
    assert replay.trades == 9757 + 10147
    assert replay.depth_updates == 1 + (3451 - 3) + 3044
    state = feed.state(0)
    assert state.valid and state.resyncs == 0 and state.sequence is not None
    assert state.recv_ns == day2[-1][0] or state.recv_ns <= day2[-1][0]


def test_upbit_every_simple_message_decodes_with_the_right_fields() -> None:
    frames = upbit_frames()
    feed = UpbitFeed()
    ids = {market: feed.add_instrument(market, 8, 8, 15) for market in UPBIT_MARKETS}
    trades = books = 0
    for recv_ns, frame in enumerate(frames):
        message = json.loads(frame, parse_float=Decimal, parse_int=Decimal)
        event = feed.feed(frame, recv_ns)
        symbol_id = ids[message["cd"]]
        exch_ns = int(message["tms"]) * 1_000_000
        if message["ty"] == "trade":
            assert type(event) is TradeEvent
            assert (event.symbol, event.symbol_id, event.exch_ns) == (
                message["cd"],
                symbol_id,
                exch_ns,
            )
            assert event.price == mantissa(message["tp"], 8)
            assert event.qty == mantissa(message["tv"], 8)
            assert event.side == {"BID": "buy", "ASK": "sell"}[message["ab"]]
            assert event.trade_id == int(message["sid"])
            assert event.recv_ns == recv_ns
            trades += 1
        else:
            assert message["ty"] == "orderbook"
            assert type(event) is BookEvent
            assert (event.symbol_id, event.snapshot, event.exch_ns) == (symbol_id, True, exch_ns)
            book = feed.book(symbol_id)
            units = message["obu"]
            bids, asks = book.top(15)
            assert bids == tuple((mantissa(u["bp"], 8), mantissa(u["bs"], 8)) for u in units[:15])
            assert asks == tuple((mantissa(u["ap"], 8), mantissa(u["as"], 8)) for u in units[:15])
            assert book.state.exch_ns == exch_ns and book.state.valid
            books += 1
    assert (trades, books) == (304, 145)
    assert all(feed.state(i).resyncs == 0 for i in ids.values())
