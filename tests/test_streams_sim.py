"""hftpy's market-data streams against the embedded simulator, every venue, over real loopback
sockets: books become valid, trades arrive, an injected checksum or sequence fault resyncs
that symbol only, and afterwards the local book equals the matching engine's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientSession, web

from hftpy._core import OtherEvent, ResyncEvent, TradeEvent
from hftpy.common import Exchange
from hftpy.exchange import create_exchange_stream
from hftpy.sim import Simulator
from support import books_equal_the_engine, until

SYMBOLS = {
    Exchange.KRAKEN: ("BTC/USD", "ETH/USD"),
    Exchange.BINANCE: ("BTCUSDT", "ETHUSDT"),
    Exchange.BACKPACK: ("SOL_USDC", "BTC_USDC"),
    Exchange.UPBIT: ("KRW-BTC", "KRW-ETH"),
}
# The fault that breaks a book's continuity on each venue (Upbit replaces books whole).
FAULTS = {
    Exchange.KRAKEN: "book_checksum",
    Exchange.BINANCE: "skip_sequence",
    Exchange.BACKPACK: "skip_sequence",
}


@pytest.fixture
async def sim(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Simulator]:
    async with Simulator(ports="free") as simulator:
        for name, value in simulator.env.items():
            monkeypatch.setenv(name, value)  # streams find the simulator as a user's would
        yield simulator


@pytest.mark.parametrize("exchange", list(SYMBOLS))
async def test_books_trades_fault_and_resync(sim: Simulator, exchange: Exchange) -> None:
    stream = create_exchange_stream(exchange)
    runner = asyncio.create_task(stream.start())
    await stream.wait_ready(10)
    symbols = SYMBOLS[exchange]
    trades: list[TradeEvent] = []
    resyncs: list[ResyncEvent] = []

    def on_event(event: Any) -> None:
        if isinstance(event, TradeEvent):
            trades.append(event)
        elif isinstance(event, ResyncEvent):
            resyncs.append(event)

    await stream.subscribe(["book", "trade"], list(symbols), callback=on_event)
    stream.add_listener(on_event, channel="status")
    await until(lambda: all(stream.book(s).valid for s in symbols) and len(trades) >= 2)
    for symbol in symbols:
        bid, ask = stream.book(symbol).best_bid(), stream.book(symbol).best_ask()
        assert bid is not None and ask is not None and bid[0] < ask[0]
    assert all(t.recv_ns > 0 and t.exch_ns > 0 for t in trades)

    fault = FAULTS.get(exchange)
    if fault is not None:
        counts_before = {s: stream.state(s).resyncs for s in symbols}
        sim.inject(exchange.value, fault, count=1)
        await until(lambda: any(stream.state(s).resyncs > counts_before[s] for s in symbols))
        hit = [s for s in symbols if stream.state(s).resyncs > counts_before[s]]
        assert len(hit) == 1  # that symbol alone
        await until(lambda: stream.book(hit[0]).valid)

    await books_equal_the_engine(sim, stream, symbols)
    await stream.close()
    await runner


async def test_an_unreadable_snapshot_is_fetched_again(sim: Simulator) -> None:
    # A 200 reply whose body is not a snapshot (a proxy's error page, a cut-off body) is a
    # failed fetch like any other: the resync retries instead of leaving the book invalid.
    upstream = sim.env["HFTPY_BINANCE_REST_URL"].rstrip("/")
    depth_requests = 0

    async def proxy(request: web.Request) -> web.Response:
        nonlocal depth_requests
        if request.path == "/api/v3/depth":
            depth_requests += 1
            if depth_requests == 1:
                return web.Response(body=b'{"lastUpdateId":', content_type="application/json")
        async with ClientSession() as session, session.get(upstream + request.path_qs) as resp:
            body = await resp.read()
        return web.Response(body=body, status=resp.status, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", proxy)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    stream = create_exchange_stream(Exchange.BINANCE, rest_url=f"http://127.0.0.1:{port}")
    task = asyncio.create_task(stream.start())
    try:
        await stream.wait_ready(10)
        await stream.subscribe("book", "BTCUSDT")
        await until(lambda: stream.book("BTCUSDT").valid)
        assert depth_requests >= 2
    finally:
        await stream.close()
        await task
        await runner.cleanup()


@pytest.mark.parametrize("exchange", list(SYMBOLS))
async def test_a_dropped_connection_reconnects_resubscribes_and_resyncs(
    sim: Simulator, exchange: Exchange
) -> None:
    stream = create_exchange_stream(exchange)
    runner = asyncio.create_task(stream.start())
    await stream.wait_ready(10)
    symbols = SYMBOLS[exchange]
    trades: list[TradeEvent] = []
    await stream.subscribe(
        ["book", "trade"],
        list(symbols),
        callback=lambda e: trades.append(e) if isinstance(e, TradeEvent) else None,
    )
    await until(lambda: all(stream.book(s).valid for s in symbols))
    connects = stream.connection.connects

    # A frame that is not JSON (a proxy's error page, or Binance's cut-off diff) is reported,
    # as an event or a decode error, and is not fatal.
    unparsable: list[OtherEvent] = []
    stream.add_listener(
        lambda e: unparsable.append(e) if isinstance(e, OtherEvent) else None, channel="status"
    )
    decode_errors = stream.decode_errors
    sim.inject(exchange.value, "malformed_frame")
    await until(
        lambda: (
            stream.decode_errors > decode_errors or any(e.kind == "unparsable" for e in unparsable)
        )
    )
    await until(lambda: all(stream.book(s).valid for s in symbols))
    sim.inject(exchange.value, "drop_connection")
    await until(lambda: stream.connection.connects > connects)
    # The old books were forgotten with the connection; fresh ones sync again.
    await until(lambda: stream.ready and all(stream.book(s).valid for s in symbols))
    before = len(trades)
    await until(lambda: len(trades) > before)  # trades flow again: the resubscribe took
    assert stream.subscriptions == {"book": list(symbols), "trade": list(symbols)}
    await books_equal_the_engine(sim, stream, symbols)
    await stream.close()
    await runner


@pytest.mark.parametrize(
    ("exchange", "fault"),
    [
        (Exchange.BINANCE, "snapshot_fail"),
        (Exchange.BACKPACK, "snapshot_fail"),
        (Exchange.BINANCE, "stale_snapshot"),
        (Exchange.BACKPACK, "stale_snapshot"),
    ],
)
async def test_a_book_comes_back_once_rest_snapshots_do(
    sim: Simulator, exchange: Exchange, fault: str
) -> None:
    # A gap while the REST snapshot fails (or is older than the buffered diffs) 25 times in a
    # row: the resync keeps trying (no attempt limit) and the book is valid again afterwards.
    stream = create_exchange_stream(exchange)
    stream.resync_backoff = (0.005, 0.02)  # the retry schedule itself is not under test
    symbol = SYMBOLS[exchange][0]
    resyncs: list[ResyncEvent] = []
    async with stream:
        await stream.subscribe(
            "book",
            symbol,
            callback=lambda e: resyncs.append(e) if isinstance(e, ResyncEvent) else None,
        )
        await until(lambda: stream.book(symbol).valid)
        sim.inject(exchange.value, fault, count=25)
        sim.inject(exchange.value, "skip_sequence", count=1)
        await until(lambda: not stream.book(symbol).valid)
        await until(lambda: stream.book(symbol).valid, timeout=15)
        assert sim.venues[exchange.value].snapshot_fault.count == 0
        if fault == "snapshot_fail":
            assert stream.snapshot_failures >= 25
            # Every failed attempt is reported to the book's listeners.
            assert sum(e.reason == "snapshot_failed" for e in resyncs) >= 25
        else:
            assert sum(e.reason == "stale_snapshot" for e in resyncs) >= 25
        await books_equal_the_engine(sim, stream, [symbol])
