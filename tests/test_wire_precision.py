"""Books are kept at the precision of the venue's own text, not at its trading filters: a real
Binance level such as `["200000.00000000","25.42618900"]` (from the shared 2024-08-08 capture)
has more decimals than BTCUSDT's stepSize (0.00001) and must not make the frame refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from hftpy._core import BackpackFeed, BinanceFeed, BookEvent, ResyncEvent
from hftpy.common import Exchange
from hftpy.exchange import create_exchange_stream
from hftpy.sim import Simulator
from support import until

FINE = ["200000.00000000", "25.42618900"]


def test_the_binance_feed_reads_levels_finer_than_the_step_size() -> None:
    feed = BinanceFeed()
    sid = feed.add_instrument("BTCUSDT", 2, 5)  # tickSize 0.01, stepSize 0.00001
    view = feed.book(sid)
    assert (view.price_scale, view.qty_scale) == (8, 8)  # Binance prints 8 decimals
    diff = (
        b'{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,'
        b'"s":"BTCUSDT","U":1001,"u":1001,"b":[["99999.99000000","1.00000000"]],'
        b'"a":[["200000.00000000","25.42618900"]]}}'
    )
    event = feed.feed(diff, 1)
    assert type(event) is ResyncEvent and event.reason == "initial"
    snapshot = b'{"lastUpdateId":1000,"bids":[],"asks":[["200000.00000000","0.12345678"]]}'
    event = feed.apply_snapshot(sid, snapshot, 2)
    assert type(event) is BookEvent and view.valid
    assert view.best_ask() == (200_000 * 10**8, 2_542_618_900)
    assert view.best_bid() == (9_999_999_000_000, 10**8)


@pytest.fixture
async def sim(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Simulator]:
    async with Simulator(ports="free") as simulator:
        for name, value in simulator.env.items():
            monkeypatch.setenv(name, value)
        yield simulator


async def test_a_binance_stream_keeps_a_level_finer_than_the_step_size(sim: Simulator) -> None:
    # The scales come from the simulator's exchangeInfo (tickSize 0.01, stepSize 0.00001);
    # the diff carrying the finer level is applied, not refused, and the book stays valid.
    resyncs: list[ResyncEvent] = []
    async with create_exchange_stream(Exchange.BINANCE) as stream:
        await stream.subscribe(
            "book",
            "BTCUSDT",
            callback=lambda e: resyncs.append(e) if isinstance(e, ResyncEvent) else None,
        )
        view = stream.book("BTCUSDT")
        await until(lambda: view.valid)
        sim.inject("binance", "extra_level", side="ask", price=FINE[0], qty=FINE[1])
        level = (200_000 * 10**view.price_scale, 25_426_189 * 10 ** (view.qty_scale - 6))
        await until(lambda: level in view.asks(100_000))
        await asyncio.sleep(0.3)  # later diffs continue the book
        assert view.valid and stream.decode_errors == 0
        assert [e.reason for e in resyncs] == ["initial"]


def test_the_backpack_feed_at_its_wire_scale_keeps_levels_finer_than_the_step() -> None:
    """SOL_USDC's filters say 2 decimals; a level left from finer rules must still apply."""
    feed = BackpackFeed()
    sid = feed.add_instrument("SOL_USDC", 8, 8)  # what BackpackStream asks for (MIN_WIRE_SCALE)
    snapshot = (
        b'{"asks":[["150.10","1.2500"]],"bids":[["149.90","2.005"]],'
        b'"lastUpdateId":"10","timestamp":1}'
    )
    event = feed.apply_snapshot(sid, snapshot, 1)
    view = feed.book(sid)
    assert type(event) is BookEvent and view.valid
    assert view.best_bid() == (14_990_000_000, 200_500_000)
    assert view.best_ask() == (15_010_000_000, 125_000_000)


async def test_a_backpack_stream_keeps_its_books_at_8_decimals_at_least(sim: Simulator) -> None:
    async with create_exchange_stream(Exchange.BACKPACK) as stream:
        await stream.subscribe(["book"], ["SOL_USDC"])
        await until(lambda: stream.book("SOL_USDC").valid)
        view = stream.book("SOL_USDC")
        assert (view.price_scale, view.qty_scale) == (8, 8)  # the filters say (2, 2)
        assert stream.decode_errors == 0
