"""Property tests: the Rust books, driven through their Python API with venue frames, agree
with a plain Python model (a dict per side) on random deltas. The Kraken frames carry a
checksum the model computes with zlib, so every accepted message is also a verified one."""

from __future__ import annotations

import zlib

from hypothesis import given, settings
from hypothesis import strategies as st

from hftpy._core import BinanceFeed, BookEvent, KrakenFeed, ResyncEvent

Side = dict[int, int]


def top(side: Side, n: int, descending: bool) -> list[tuple[int, int]]:
    return sorted(side.items(), reverse=descending)[:n]


def decimal_text(mantissa: int, scale: int) -> str:
    whole, frac = divmod(mantissa, 10**scale)
    return f"{whole}.{frac:0{scale}d}" if scale else str(whole)


# Bids live below 100, asks above, so a random book never crosses.
bid_changes = st.tuples(st.just("b"), st.integers(1, 99), st.integers(0, 3))
ask_changes = st.tuples(st.just("a"), st.integers(100, 200), st.integers(0, 3))
messages = st.lists(st.lists(st.one_of(bid_changes, ask_changes), max_size=8), max_size=60)


@settings(max_examples=150, deadline=None)
@given(messages, st.integers(1, 12))
def test_binance_book_matches_a_dict_model(diffs: list[list[tuple[str, int, int]]], n: int) -> None:
    feed = BinanceFeed()
    sid = feed.add_instrument("BTCUSDT", 2, 3)
    # The feed reads at Binance's wire scale (8 decimals), finer than the 2 and 3 asked for.
    price_unit = 10 ** (feed.book(sid).price_scale - 2)
    qty_unit = 10 ** (feed.book(sid).qty_scale - 3)
    bids: Side = {}
    asks: Side = {}
    last_id = 1000
    body = b'{"lastUpdateId":1000,"bids":[],"asks":[]}'
    first = True
    for changes in diffs:
        b = [[decimal_text(p, 2), decimal_text(q, 3)] for s, p, q in changes if s == "b"]
        a = [[decimal_text(p, 2), decimal_text(q, 3)] for s, p, q in changes if s == "a"]
        frame = (
            f'{{"stream":"btcusdt@depth@100ms","data":{{"e":"depthUpdate","E":1723161255208,'
            f'"s":"BTCUSDT","U":{last_id + 1},"u":{last_id + 1 + len(changes)},'
            f'"b":{b},"a":{a}}}}}'.replace("'", '"')
        )
        last_id += 1 + len(changes)
        event = feed.feed(frame.encode(), last_id)
        if first:
            assert type(event) is ResyncEvent and event.reason == "initial"
            event = feed.apply_snapshot(sid, body, last_id)
            first = False
        assert type(event) is BookEvent and event.sequence == last_id
        for s, p, q in changes:
            side = bids if s == "b" else asks
            if q:
                side[p * price_unit] = q * qty_unit
            else:
                side.pop(p * price_unit, None)
        view = feed.book(sid)
        got_bids, got_asks = view.top(n)
        assert list(got_bids) == top(bids, n, True)
        assert list(got_asks) == top(asks, n, False)
        assert view.best_bid() == (top(bids, 1, True) or [None])[0]
        assert view.best_ask() == (top(asks, 1, False) or [None])[0]
        assert view.depth() == (len(bids), len(asks))
        assert view.state.valid and view.state.sequence == last_id


def kraken_checksum(bids: Side, asks: Side) -> int:
    text = "".join(f"{p}{q}" for p, q in top(asks, 10, False))
    text += "".join(f"{p}{q}" for p, q in top(bids, 10, True))
    return zlib.crc32(text.encode())


def kraken_levels(changes: list[tuple[str, int, int]], side: str) -> str:
    levels = [
        f'{{"price":{decimal_text(p, 1)},"qty":{decimal_text(q * 12_345_678, 8)}}}'
        for s, p, q in changes
        if s == side
    ]
    return "[" + ",".join(levels) + "]"


@settings(max_examples=150, deadline=None)
@given(messages, st.sampled_from([10, 25]))
def test_kraken_book_matches_a_dict_model_and_its_checksums(
    updates: list[list[tuple[str, int, int]]], depth: int
) -> None:
    feed = KrakenFeed()
    sid = feed.add_instrument("BTC/USD", 1, 8, depth)
    bids: Side = {}
    asks: Side = {}
    for i, changes in enumerate([[("b", 50, 1), ("a", 150, 1)], *updates]):
        for s, p, q in changes:
            side = bids if s == "b" else asks
            if q:
                side[p] = q * 12_345_678
            else:
                side.pop(p, None)
        # Kraken drops what falls out of the subscribed depth.
        bids = dict(top(bids, depth, True))
        asks = dict(top(asks, depth, False))
        kind = "snapshot" if i == 0 else "update"
        frame = (
            f'{{"channel":"book","type":"{kind}","data":[{{"symbol":"BTC/USD",'
            f'"bids":{kraken_levels(changes, "b")},"asks":{kraken_levels(changes, "a")},'
            f'"checksum":{kraken_checksum(bids, asks)},'
            f'"timestamp":"2023-07-30T15:29:58.343415Z"}}]}}'
        )
        event = feed.feed(frame.encode(), i)
        assert type(event) is BookEvent, event
        assert event.checksum == kraken_checksum(bids, asks)
        view = feed.book(sid)
        got_bids, got_asks = view.top(depth + 5)
        assert list(got_bids) == top(bids, depth, True)
        assert list(got_asks) == top(asks, depth, False)
        assert view.state.valid and view.state.resyncs == 0
