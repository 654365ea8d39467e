"""The fault matrix (issue 12): each fault the simulator can produce, on every venue where it
applies, over real loopback sockets. Every row asserts the same invariants: recovered books
equal the simulator's books, every request got exactly one terminal outcome, the pending
tables drain to empty, and the process stays up. Recovery times are printed (`-s`) for the
report, never asserted.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from hftpy.common import CurrencyPair, Exchange, Side
from hftpy.errors import FrameTooLargeError
from hftpy.exchange import create_exchange_api, create_exchange_stream, create_exchange_ws_api
from hftpy.exchange.ws_api import WsApiBase
from hftpy.sim import Simulator
from support import Replies, books_equal_the_engine, until

SYMBOLS = {
    Exchange.KRAKEN: ("BTC/USD", "ETH/USD"),
    Exchange.BINANCE: ("BTCUSDT", "ETHUSDT"),
    Exchange.BACKPACK: ("SOL_USDC", "BTC_USDC"),
    Exchange.UPBIT: ("KRW-BTC", "KRW-ETH"),
}
ORDERS = {
    Exchange.KRAKEN: (CurrencyPair.BTC_USD, "0.001", "50000"),
    Exchange.BINANCE: (CurrencyPair.BTC_USDT, "0.001", "50000.00"),
    Exchange.BACKPACK: (CurrencyPair.SOL_USDC, "0.10", "10.00"),
    Exchange.UPBIT: (CurrencyPair.BTC_KRW, "0.0001", "100000000"),
}
TICKS = {
    Exchange.KRAKEN: Decimal(1),
    Exchange.BINANCE: Decimal(1),
    Exchange.BACKPACK: Decimal("0.01"),
    Exchange.UPBIT: Decimal(1000),
}
MIB = 1024 * 1024
HUGE_FRAME = "<html>" + "x" * (16 * MIB) + "</html>"  # 16 MiB of proxy garbage
# One frame of each kind a venue (or a proxy in front of it) has been seen to send wrong.
BAD_FRAMES = {
    "html": "<html><body>502 Bad Gateway</body></html>",
    "empty": "",
    "null": "null",
    "array": "[1,2,3]",
    "truncated": '{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"pri',
    "wrong type": '{"stream":"btcusdt@depth@100ms","data":"depthUpdate"}',
    "absurd number": '{"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD",'
    '"bid":1e400,"ask":-0.0,"last":99999999999999999999999999999999999}]}',
    "unknown channel": '{"channel":"fancy_new_feed","type":"update","data":[{}]}',
    "binary junk": "\x00\x01\x02\xff",
}


@pytest.fixture
async def sim(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Simulator]:
    async with Simulator(ports="free") as simulator:  # synthetic flow: books keep moving
        for name, value in simulator.env.items():
            monkeypatch.setenv(name, value)
        yield simulator


async def started_stream(exchange: Exchange, **kwargs: Any) -> tuple[Any, asyncio.Task[None]]:
    stream = create_exchange_stream(exchange, **kwargs)
    runner = asyncio.create_task(stream.start())
    await stream.wait_ready(10)
    await stream.subscribe(["book"], list(SYMBOLS[exchange]))
    await until(lambda: all(stream.book(s).valid for s in SYMBOLS[exchange]), 15)
    return stream, runner


async def started_api(exchange: Exchange, **kwargs: Any) -> tuple[WsApiBase, asyncio.Task[None]]:
    if exchange is Exchange.KRAKEN:
        create_exchange_api(exchange)  # the WS token comes from REST
    api = create_exchange_ws_api(exchange, request_timeout=3.0, **kwargs)
    runner = asyncio.create_task(api.start())
    await api.wait_ready(10)
    return api, runner


async def stopped(thing: Any, runner: asyncio.Task[None]) -> None:
    await thing.close()
    await asyncio.gather(runner, return_exceptions=True)


# -- frames ----------------------------------------------------------------------------------


@pytest.mark.parametrize("exchange", list(SYMBOLS), ids=str)
async def test_a_frame_over_the_size_limit_drops_the_connection_and_books_come_back(
    sim: Simulator, exchange: Exchange
) -> None:
    stream, runner = await started_stream(exchange)
    connects = stream.connection.connects
    started = time.monotonic()
    sim.inject(exchange.value, "malformed_frame", text=HUGE_FRAME)
    await until(lambda: stream.connection.connects > connects, 15)
    error = stream.connection.last_error
    assert isinstance(error, FrameTooLargeError)
    assert "max_frame_size=10485760" in str(error)
    await until(lambda: all(stream.book(s).valid for s in SYMBOLS[exchange]), 15)
    print(f"{exchange.value}: 16 MiB frame -> valid again after {time.monotonic() - started:.2f}s")
    await books_equal_the_engine(sim, stream, SYMBOLS[exchange])
    await stopped(stream, runner)


async def test_a_larger_size_limit_takes_the_frame_as_a_bad_frame_without_a_reconnect(
    sim: Simulator,
) -> None:
    stream, runner = await started_stream(Exchange.KRAKEN, max_frame_size=32 * MIB)
    connects, errors = stream.connection.connects, stream.decode_errors
    sim.inject("kraken", "malformed_frame", text=HUGE_FRAME)
    await until(lambda: stream.decode_errors > errors, 15)
    assert stream.connection.connects == connects
    await books_equal_the_engine(sim, stream, SYMBOLS[Exchange.KRAKEN])
    await stopped(stream, runner)


@pytest.mark.parametrize("exchange", list(SYMBOLS), ids=str)
async def test_bad_frames_of_every_kind_are_counted_and_books_stay_right(
    sim: Simulator, exchange: Exchange
) -> None:
    stream, runner = await started_stream(exchange)
    connects = stream.connection.connects
    for text in BAD_FRAMES.values():
        sim.inject(exchange.value, "malformed_frame", text=text)
    await asyncio.sleep(0.5)
    # Each frame is either refused (counted) or, where it happens to be a well-formed message
    # of a kind the stream does not follow, skipped; none takes the connection down.
    assert stream.decode_errors >= 4
    assert stream.connection.connects == connects
    await until(lambda: all(stream.book(s).valid for s in SYMBOLS[exchange]), 15)
    await books_equal_the_engine(sim, stream, SYMBOLS[exchange])
    await stopped(stream, runner)


# -- requests in flight ------------------------------------------------------------------------


def pending(api: WsApiBase) -> int:
    return len(api._pending)


@pytest.mark.parametrize("exchange", list(ORDERS), ids=str)
async def test_a_drop_with_500_requests_in_flight_ends_each_exactly_once(
    sim: Simulator, exchange: Exchange
) -> None:
    api, runner = await started_api(exchange)
    pair, amount, price = ORDERS[exchange]
    replies = Replies()
    sim.inject(exchange.value, "stall", seconds=3)  # nothing is answered until the drop

    async def one(i: int) -> None:
        await api.place_order(
            pair,
            Side.BUY,
            Decimal(amount),
            Decimal(price) - i * TICKS[exchange],
            callback=replies,
            timeout=10,
        )

    senders = [asyncio.create_task(one(i)) for i in range(500)]
    await asyncio.sleep(0.5)
    sim.inject(exchange.value, "drop_connection")
    await asyncio.gather(*senders, return_exceptions=True)
    try:
        await replies.wait_for(500, timeout=30)
    except TimeoutError:
        got = Counter(str(r.get("error") or "ok") for r in replies.responses)
        pytest.fail(f"{len(replies.calls)} outcomes of 500 ({dict(got)}), {pending(api)} pending")
    await asyncio.sleep(0.2)
    by_id = Counter(call[0] for call in replies.calls)
    assert len(by_id) == 500 and set(by_id.values()) == {1}, "an outcome twice or missing"
    outcomes = Counter(str(r.get("error") or "ok") for r in replies.responses)
    print(f"{exchange.value}: 500 in flight at a drop -> {dict(outcomes)}")
    assert pending(api) == 0
    sim.clear_faults()
    await api.wait_ready(15)
    after = await api.place_order(pair, Side.BUY, Decimal(amount), Decimal(price), wait=True)
    assert after.ok, after.response
    await api.cancel_all(wait=True)
    await asyncio.sleep(0.3)
    assert len(replies.calls) == 500  # nothing answered twice after the reconnect
    assert pending(api) == 0
    await stopped(api, runner)


# -- stalls, closes, maintenance -----------------------------------------------------------------


@pytest.mark.parametrize("exchange", list(SYMBOLS), ids=str)
async def test_a_stall_without_pongs_is_dropped_and_books_come_back(
    sim: Simulator, exchange: Exchange
) -> None:
    """The venue stops sending and stops answering pings: the liveness watchdog or picows's
    ping timeout (3 s + 2 s) drops the socket, whichever is first; books recover after."""
    stream, runner = await started_stream(exchange)
    connects = stream.connection.connects
    started = time.monotonic()
    sim.inject(exchange.value, "stall", seconds=4.0, pongs=False)
    await until(lambda: stream.connection.connects > connects, 20)
    dropped = time.monotonic() - started
    await until(lambda: all(stream.book(s).valid for s in SYMBOLS[exchange]), 20)
    print(
        f"{exchange.value}: stall without pongs -> reconnected after {dropped:.2f}s, "
        f"valid after {time.monotonic() - started:.2f}s"
    )
    await books_equal_the_engine(sim, stream, SYMBOLS[exchange])
    await stopped(stream, runner)


@pytest.mark.parametrize("code", [1000, 1001, 1011, 1012, 1013])
@pytest.mark.parametrize("exchange", list(SYMBOLS), ids=str)
async def test_a_close_frame_of_any_code_reconnects_and_resyncs(
    sim: Simulator, exchange: Exchange, code: int
) -> None:
    stream, runner = await started_stream(exchange)
    connects = stream.connection.connects
    started = time.monotonic()
    sim.inject(exchange.value, "close", code=code)
    await until(lambda: stream.connection.connects > connects, 15)
    await until(lambda: all(stream.book(s).valid for s in SYMBOLS[exchange]), 15)
    print(f"{exchange.value}: close {code} -> valid after {time.monotonic() - started:.2f}s")
    await books_equal_the_engine(sim, stream, SYMBOLS[exchange])
    await stopped(stream, runner)


@pytest.mark.parametrize("exchange", list(ORDERS), ids=str)
async def test_a_close_frame_ends_pending_requests_once_and_the_api_comes_back(
    sim: Simulator, exchange: Exchange
) -> None:
    api, runner = await started_api(exchange)
    pair, amount, price = ORDERS[exchange]
    replies = Replies()
    sim.inject(exchange.value, "stall", seconds=2)
    for i in range(5):
        bid = Decimal(price) - i * TICKS[exchange]
        await api.place_order(pair, Side.BUY, Decimal(amount), bid, callback=replies)
    sim.inject(exchange.value, "close", code=1012)
    await replies.wait_for(5, timeout=15)
    await asyncio.sleep(0.2)
    assert sorted(Counter(c[0] for c in replies.calls).values()) == [1] * 5
    assert pending(api) == 0
    sim.clear_faults()
    await api.wait_ready(15)
    assert (await api.place_order(pair, Side.BUY, Decimal(amount), Decimal(price), wait=True)).ok
    await api.cancel_all(wait=True)
    await stopped(api, runner)


@pytest.mark.parametrize("exchange", [Exchange.BINANCE, Exchange.BACKPACK, Exchange.UPBIT], ids=str)
async def test_maintenance_refuses_reconnects_without_a_storm_then_books_come_back(
    sim: Simulator, exchange: Exchange
) -> None:
    """In maintenance the venue refuses the upgrade (503): the stream keeps trying with its
    backoff, not in a loop, and recovers once the venue is online."""
    stream, runner = await started_stream(exchange)
    attempts = stream.connection.attempts
    sim.inject(exchange.value, "maintenance")
    sim.inject(exchange.value, "drop_connection")
    await asyncio.sleep(3.0)
    tried = stream.connection.attempts - attempts
    assert 1 <= tried <= 10, f"{tried} connection attempts in 3 s of maintenance"
    assert not any(stream.book(s).valid for s in SYMBOLS[exchange])
    started = time.monotonic()
    sim.inject(exchange.value, "online")
    await until(lambda: all(stream.book(s).valid for s in SYMBOLS[exchange]), 20)
    print(
        f"{exchange.value}: maintenance 3 s -> {tried} attempts, valid "
        f"{time.monotonic() - started:.2f}s after online"
    )
    await books_equal_the_engine(sim, stream, SYMBOLS[exchange])
    await stopped(stream, runner)


# -- book continuity and REST snapshots -----------------------------------------------------------

CONTINUITY = {
    Exchange.KRAKEN: "book_checksum",
    Exchange.BINANCE: "skip_sequence",
    Exchange.BACKPACK: "skip_sequence",
}


@pytest.mark.parametrize("exchange", list(CONTINUITY), ids=str)
async def test_a_broken_book_resyncs_alone_and_is_valid_again(
    sim: Simulator, exchange: Exchange
) -> None:
    stream, runner = await started_stream(exchange)
    symbols = SYMBOLS[exchange]
    before = {s: stream.state(s).resyncs for s in symbols}
    started = time.monotonic()
    sim.inject(exchange.value, CONTINUITY[exchange], count=1)
    await until(lambda: any(stream.state(s).resyncs > before[s] for s in symbols), 15)
    hit = [s for s in symbols if stream.state(s).resyncs > before[s]]
    assert len(hit) == 1, hit  # that symbol alone
    await until(lambda: stream.book(hit[0]).valid, 15)
    print(
        f"{exchange.value}: {CONTINUITY[exchange]} -> valid after {time.monotonic() - started:.2f}s"
    )
    await books_equal_the_engine(sim, stream, symbols)
    await stopped(stream, runner)


@pytest.mark.parametrize("exchange", [Exchange.BINANCE, Exchange.BACKPACK], ids=str)
async def test_slow_and_failing_snapshots_during_a_resync_delay_the_book_only(
    sim: Simulator, exchange: Exchange
) -> None:
    stream, runner = await started_stream(exchange)
    symbols = SYMBOLS[exchange]
    sim.inject(exchange.value, "slow_snapshot", seconds=1.0, count=2)
    sim.inject(exchange.value, "snapshot_fail", count=2)
    started = time.monotonic()
    sim.inject(exchange.value, "skip_sequence", count=1)
    await until(lambda: not all(stream.book(s).valid for s in symbols), 10)
    await until(lambda: all(stream.book(s).valid for s in symbols), 30)
    print(
        f"{exchange.value}: gap + 2 failed + 2 slow (1 s) snapshots -> valid after "
        f"{time.monotonic() - started:.2f}s, {stream.snapshot_failures} failed fetches"
    )
    assert stream.snapshot_failures >= 1
    await books_equal_the_engine(sim, stream, symbols)
    await stopped(stream, runner)


async def test_kraken_cancel_only_and_post_only_status_refuse_what_they_forbid(
    sim: Simulator,
) -> None:
    """Kraken's system status: in `cancel_only` cancels work and new orders get the venue's
    error; in `post_only` only post-only limit orders are taken; the connection stays up and
    everything works again once `online`."""
    api, runner = await started_api(Exchange.KRAKEN)
    pair, amount, price = ORDERS[Exchange.KRAKEN]
    resting = await api.place_order(pair, Side.BUY, Decimal(amount), Decimal(price), wait=True)
    assert resting.ok
    connects = api._conn.connects
    sim.inject("kraken", "cancel_only")
    refused = await api.place_order(pair, Side.BUY, Decimal(amount), Decimal(price), wait=False)
    replies = Replies()
    await api.place_order(pair, Side.BUY, Decimal(amount), Decimal(price), callback=replies)
    await replies.wait_for(1)
    assert replies.responses[0]["error"] == "EService:Market in cancel_only mode"
    assert (await api.cancel_order(resting.order_id, wait=True)).ok
    sim.inject("kraken", "post_only")
    plain = Replies()
    await api.place_order(pair, Side.BUY, Decimal(amount), Decimal(price), callback=plain)
    await plain.wait_for(1)
    assert plain.responses[0]["error"] == "EService:Market in post_only mode"
    maker = await api.place_order(
        pair, Side.BUY, Decimal(amount), Decimal(price), post_only=True, wait=True
    )
    assert maker.ok
    sim.inject("kraken", "online")
    assert (await api.place_order(pair, Side.BUY, Decimal(amount), Decimal(price), wait=True)).ok
    assert api._conn.connects == connects and refused > 0
    await api.cancel_all(wait=True)
    assert pending(api) == 0
    await stopped(api, runner)
