"""Latency statistics: the Rust histograms through the Python API (known distributions,
negative samples, reset), request latencies against the simulator with a known added delay,
stream delays on synthetic flow for every venue, and the summary table.

No timing thresholds: the checks are relations (a latency is at least the injected delay,
the extremes equal the values the events and replies themselves carry, counts match)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hftpy._core import LatencyStats, TradeEvent
from hftpy.common import CurrencyPair, Exchange, Side
from hftpy.errors import UnknownLatencyKeyError
from hftpy.exchange import create_exchange_api, create_exchange_stream, create_exchange_ws_api
from hftpy.exchange.kraken import KrakenWsApi
from hftpy.exchange.stats import LatencySummary, format_table, summaries
from hftpy.sim import Simulator
from support import Replies


def within_precision(reported: int, exact: int) -> bool:
    """hftpy reports the top of the sample's 3-significant-digit bucket: never below the true
    value, at most 0.1% above (exact below 2048 ns)."""
    return exact <= reported <= exact + exact // 1000


# -- the histograms through the Python API ------------------------------------------------------


def test_percentiles_of_a_known_distribution() -> None:
    stats = LatencyStats()
    key = stats.key("request:add_order")
    for micros in range(1, 10_001):  # 1 µs .. 10 ms, once each
        stats.record(key, micros * 1000)
    s = summaries(stats)["request:add_order"]
    assert s.count == 10_000 and s.negative == 0
    assert within_precision(s.p50_ns, 5_000_000), s
    assert within_precision(s.p90_ns, 9_000_000), s
    assert within_precision(s.p99_ns, 9_900_000), s
    assert within_precision(s.p999_ns, 9_990_000), s
    assert (s.min_ns, s.max_ns) == (1000, 10_000_000)  # exact


def test_small_values_are_exact_and_keys_are_separate() -> None:
    stats = LatencyStats()
    fast, slow = stats.key("fast"), stats.key("slow")
    assert stats.key("fast") == fast != slow and len(stats) == 2
    assert (stats.name(fast), stats.name(slow)) == ("fast", "slow")
    for value in (0, 7, 7, 7, 1500, 2047):
        stats.record(fast, value)
    stats.record(slow, 123_456_789)
    got = summaries(stats)
    assert got["fast"] == LatencySummary(6, 7, 2047, 2047, 2047, 2047, 0, 0)
    assert got["slow"].count == 1 and within_precision(got["slow"].p50_ns, 123_456_789)
    assert got["slow"].max_ns == 123_456_789


def test_negative_samples_are_counted_apart_not_clamped() -> None:
    stats = LatencyStats()
    key = stats.key("exch_to_recv:book")
    for value in (100, 200, 300, -5, -1_000_000):
        stats.record(key, value)
    s = summaries(stats)["exch_to_recv:book"]
    assert s.count == 3  # the histogram holds the non-negative samples only
    assert s.negative == 2
    assert s.min_ns == -1_000_000  # the most negative sample is kept
    assert s.p50_ns == 200  # no zeros were added
    assert s.max_ns == 300


def test_only_negative_samples() -> None:
    stats = LatencyStats()
    key = stats.key("k")
    stats.record(key, -3)
    stats.record(key, -9)
    assert summaries(stats)["k"] == LatencySummary(0, 0, 0, 0, 0, -3, -9, 2)


def test_reset_keeps_key_ids_and_empty_keys_are_left_out() -> None:
    stats = LatencyStats()
    used, unused = stats.key("used"), stats.key("unused")
    stats.record(used, 10)
    assert set(stats.summary()) == {"used"}
    stats.reset()
    assert stats.summary() == {}
    assert stats.key("used") == used and stats.key("unused") == unused
    stats.record(used, 42)
    assert summaries(stats)["used"] == LatencySummary(1, 42, 42, 42, 42, 42, 42, 0)


def test_unknown_key_ids_raise() -> None:
    stats = LatencyStats()
    with pytest.raises(UnknownLatencyKeyError):
        stats.record(0, 1)
    with pytest.raises(UnknownLatencyKeyError):
        stats.record_since(3, time.monotonic_ns())
    with pytest.raises(UnknownLatencyKeyError):
        stats.name(0)
    with pytest.raises(OverflowError):
        stats.record(-1, 1)


def test_record_since_and_record_event_use_the_clocks_given() -> None:
    stats = LatencyStats()
    since, exch, recv = stats.key("since"), stats.key("exch"), stats.key("recv")
    start = time.monotonic_ns()
    time.sleep(0.002)
    stats.record_since(since, start)
    elapsed = time.monotonic_ns() - start
    s = summaries(stats)["since"]
    assert 2_000_000 <= s.min_ns == s.max_ns <= elapsed
    # one event with a venue time 1.5 ms before its receive stamp, one without (None, 0)
    recv_mono = time.monotonic_ns()
    stats.record_event(exch, recv, 1_000_000_000_000, 1_000_001_500_000, recv_mono)
    stats.record_event(exch, recv, None, 1_000_001_500_000, recv_mono)
    stats.record_event(exch, recv, 0, 1_000_001_500_000, recv_mono)
    after = time.monotonic_ns()
    got = summaries(stats)
    assert (got["exch"].count, got["exch"].min_ns, got["exch"].max_ns) == (1, 1_500_000, 1_500_000)
    assert got["recv"].count == 3 and 0 <= got["recv"].min_ns <= got["recv"].max_ns
    assert got["recv"].max_ns <= after - recv_mono


# -- request latency against the simulator ------------------------------------------------------

DELAY_S = 0.05
DELAY_NS = int(DELAY_S * 1e9)


@pytest.fixture
async def kraken_ws_api(sim: Simulator) -> AsyncIterator[KrakenWsApi]:
    env = sim.env
    creds = {
        "exchange": Exchange.KRAKEN,
        "api_key": env["HFTPY_KRAKEN_API_KEY"],
        "api_secret": env["HFTPY_KRAKEN_API_SECRET"],
    }
    create_exchange_api(**creds, url=env["HFTPY_KRAKEN_REST_URL"])
    api = create_exchange_ws_api(**creds, url=env["HFTPY_KRAKEN_WS_AUTH_URL"], request_timeout=5)
    async with api:
        yield api


async def test_request_latency_is_at_least_the_injected_delay(
    sim: Simulator, kraken_ws_api: KrakenWsApi
) -> None:
    api = kraken_ws_api
    api.reset_latency_stats()
    assert api.latency_stats() == {}
    sim.inject("kraken", "delay", seconds=DELAY_S)
    order: dict[str, Any] = {
        "symbol": CurrencyPair.BTC_USD,
        "side": Side.BUY,
        "amount": 0.001,
        "order_type": "limit",
        "post_only": True,
    }
    placed = [await api.place_order(**order, price=80000.0 + i, wait=True) for i in range(4)]
    replies = Replies()
    await api.place_order(**order, price=80010.0, callback=replies)  # a callback request too
    await replies.wait_for(1)
    latencies = [r.latency_ns for r in placed]
    assert all(r.ok for r in placed) and min(latencies) >= DELAY_NS

    stats = api.latency_stats()
    s = stats["request:add_order"]
    assert s.count == 5 and s.negative == 0
    assert s.p50_ns >= DELAY_NS and s.min_ns >= DELAY_NS
    assert s.min_ns <= min(latencies) and s.max_ns >= max(latencies)
    assert s.min_ns <= s.p50_ns <= s.p90_ns <= s.p99_ns <= s.p999_ns
    assert s.p999_ns <= s.max_ns + s.max_ns // 1000

    # One cancel request for three orders: Kraken answers per item, one sample per reply.
    ids = [r.response["result"]["order_id"] for r in placed[:3]]
    cancels = Replies()
    await api.cancel_order(order_id=ids, callback=cancels)
    await cancels.wait_for(3)
    c = api.latency_stats()["request:cancel_order"]
    assert c.count == 3 and c.min_ns >= DELAY_NS
    assert api.latency_stats()["request:add_order"] == s  # methods are kept apart

    sim.clear_faults()
    api.reset_latency_stats()
    assert api.latency_stats() == {}
    await api.cancel_order(order_id=placed[3].response["result"]["order_id"], wait=True)
    assert api.latency_stats()["request:cancel_order"].count == 1


# -- stream delays on synthetic flow ------------------------------------------------------------

SYMBOLS = {
    Exchange.KRAKEN: ("BTC/USD", "ETH/USD"),
    Exchange.BINANCE: ("BTCUSDT", "ETHUSDT"),
    Exchange.BACKPACK: ("SOL_USDC", "BTC_USDC"),
    Exchange.UPBIT: ("KRW-BTC", "KRW-ETH"),
}


@pytest.fixture
async def flow_sim(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Simulator]:
    async with Simulator(ports="free") as simulator:
        for name, value in simulator.env.items():
            monkeypatch.setenv(name, value)
        yield simulator


@pytest.mark.parametrize("exchange", list(SYMBOLS), ids=lambda e: e.value)
async def test_stream_stats_on_synthetic_flow(flow_sim: Simulator, exchange: Exchange) -> None:
    delivered: dict[str, int] = {"book": 0, "trade": 0}
    trade_skews: list[int] = []  # recv_ns - exch_ns of every trade, as the listener sees it
    started_mono = time.monotonic_ns()

    def on_event(event: Any) -> None:
        if isinstance(event, TradeEvent):
            delivered["trade"] += 1
            if event.exch_ns:
                trade_skews.append(event.recv_ns - event.exch_ns)
        else:
            delivered["book"] += 1

    async with create_exchange_stream(exchange) as stream:
        await stream.subscribe(["book", "trade"], list(SYMBOLS[exchange]), callback=on_event)
        while delivered["trade"] < 5 or delivered["book"] < 20:
            await asyncio.sleep(0.05)
        stats = stream.latency_stats()
        elapsed = time.monotonic_ns() - started_mono

    for key in ("recv_to_handler:book", "recv_to_handler:trade", "exch_to_recv:trade"):
        assert key in stats, sorted(stats)
    # Every trade came from a frame, so each was recorded just before the listener saw it.
    trade = stats["recv_to_handler:trade"]
    assert trade.count == delivered["trade"] and trade.negative == 0
    # Book events applied from a REST snapshot (Binance, Backpack) come from no frame.
    book = stats["recv_to_handler:book"]
    assert 0 < book.count <= delivered["book"] and book.negative == 0
    for s in (trade, book):
        assert 0 <= s.min_ns <= s.p50_ns <= s.p99_ns <= s.max_ns + s.max_ns // 1000
        assert s.max_ns <= elapsed
    # The venue-time delay of trades: exactly the values the events carry.
    skew = stats["exch_to_recv:trade"]
    assert skew.count + skew.negative == len(trade_skews) > 0
    assert (skew.min_ns, skew.max_ns) == (min(trade_skews), max(trade_skews))
    assert skew.negative == sum(1 for v in trade_skews if v < 0)
    # Heartbeats and status frames are timed on the status channel, without a venue time.
    assert "exch_to_recv:status" not in stats

    stream.reset_latency_stats()
    assert stream.latency_stats() == {}


# -- the table ----------------------------------------------------------------------------------


def test_format_table() -> None:
    request = LatencySummary(120, 210_340, 250_060, 400_249, 410_000, 410_999, 150_000, 0)
    cancel = LatencySummary(3, 1_000, 2_000, 3_000, 3_000, 3_000, 900, 0)
    book = LatencySummary(5000, 1_250, 2_000, 9_990, 12_000, 15_500, -400, 0)
    table = format_table(
        {
            "kraken.ws_api": {"request:cancel_order": cancel, "request:add_order": request},
            "kraken.stream": {"exch_to_recv:book": book},
        }
    )
    assert table.splitlines() == [
        "source         key                   count  p50 µs  p90 µs  p99 µs  p99.9 µs  max µs",
        "kraken.ws_api  request:add_order       120   210.3   250.1   400.2     410.0   411.0",
        "kraken.ws_api  request:cancel_order      3     1.0     2.0     3.0       3.0     3.0",
        "kraken.stream  exch_to_recv:book      5000     1.2     2.0    10.0      12.0    15.5",
    ]


def test_format_table_shows_negative_counts_when_there_are_any() -> None:
    skewed = LatencySummary(10, 1_000, 1_000, 1_000, 1_000, 1_000, -2_000, 4)
    lines = format_table({"binance.stream": {"exch_to_recv:trade": skewed}}).splitlines()
    assert lines[0].split()[-1] == "neg" and lines[1].split()[-1] == "4"
    assert format_table({}).splitlines() == [
        "source  key  count  p50 µs  p90 µs  p99 µs  p99.9 µs  max µs"
    ]
