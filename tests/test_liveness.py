"""The market-data liveness watchdog against the simulator's `stall` fault, every venue, over
real loopback sockets: a venue that stops sending data but still answers pings is reported
stale (a `LivenessEvent` on the `status` channel, `stream.stale()`) and reconnected; books are
valid again once the stall ends; a healthy stream is never reconnected by the watchdog."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from picows import WSListener, ws_create_server

from hftpy.common import Exchange
from hftpy.errors import ConfigError
from hftpy.exchange import create_exchange_stream
from hftpy.exchange.stream import LivenessEvent, StreamBase
from hftpy.net import ReconnectPolicy, WsConnection
from hftpy.sim import Simulator

SYMBOLS = {
    Exchange.KRAKEN: ("BTC/USD", "ETH/USD"),
    Exchange.BINANCE: ("BTCUSDT", "ETHUSDT"),
    Exchange.BACKPACK: ("SOL_USDC", "BTC_USDC"),
    Exchange.UPBIT: ("KRW-BTC", "KRW-ETH"),
}


@pytest.fixture
async def sim(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Simulator]:
    async with Simulator(ports="free") as simulator:
        for name, value in simulator.env.items():
            monkeypatch.setenv(name, value)
        yield simulator


async def until(condition: Any, timeout: float = 15.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


@pytest.mark.parametrize("exchange", list(SYMBOLS))
async def test_a_stall_is_reported_stale_then_reconnected_and_books_recover(
    sim: Simulator, exchange: Exchange
) -> None:
    stream = create_exchange_stream(exchange)
    interval = min(stream.liveness.values())
    runner = asyncio.create_task(stream.start())
    await stream.wait_ready(10)
    symbols = SYMBOLS[exchange]
    events: list[tuple[float, LivenessEvent]] = []

    def on_status(event: Any) -> None:
        if isinstance(event, LivenessEvent):
            events.append((time.monotonic(), event))

    stream.add_listener(on_status, channel="status")
    await stream.subscribe(["book", "trade"], list(symbols))
    await until(lambda: all(stream.book(s).valid for s in symbols))
    assert events == [] and stream.liveness_reconnects == 0
    connects = stream.connection.connects

    # Longer than 3x: the first reconnect lands inside the stall (its subscribe is ignored).
    stalled_at = time.monotonic()
    sim.inject(exchange.value, "stall", seconds=3.5 * interval)
    await until(lambda: any(e.status == "reconnect" for _, e in events))
    assert all(stream.stale(s) for s in symbols)
    # The book's own state says so too (in Rust, readable wherever the book is).
    assert all(stream.book(s).stale and stream.state(s).stale for s in symbols)
    await until(
        lambda: (
            stream.ready
            and all(stream.book(s).valid and not stream.stale(s) for s in symbols)
            and sum(e.status == "live" for _, e in events) >= len(symbols)
        ),
        timeout=20.0,
    )
    assert not any(stream.book(s).stale or stream.state(s).stale for s in symbols)
    statuses = [e.status for _, e in events]
    first_reconnect = statuses.index("reconnect")
    # Every watched subscription went stale before the first reconnect, each exactly once.
    stale = [e for _, e in events if e.status == "stale"]
    assert sorted((e.channel, e.symbol) for e in stale) == sorted(
        (c, s) for c, subs in stream.watched_subscriptions.items() for s in subs
    )
    assert statuses[:first_reconnect] == ["stale"] * len(stale)
    # Then one or two reconnects (one more when the new socket's subscribe fell into the
    # stall), and each subscription live again, once, at the end.
    reconnects = statuses.count("reconnect")
    assert 1 <= reconnects <= 2 and stream.liveness_reconnects == reconnects
    assert stream.connection.connects == connects + reconnects
    assert statuses[first_reconnect:] == ["reconnect"] * reconnects + ["live"] * len(stale)

    t_stale = next(t for t, e in events if e.status == "stale") - stalled_at
    t_reconnect = next(t for t, e in events if e.status == "reconnect") - stalled_at
    t_live = events[-1][0] - stalled_at
    print(
        f"{exchange.value}: interval {interval}s, stale after {t_stale:.2f}s, reconnect after "
        f"{t_reconnect:.2f}s, {reconnects} reconnect(s), live after {t_live:.2f}s"
    )
    await stream.close()
    await runner


@pytest.mark.parametrize("exchange", list(SYMBOLS))
async def test_a_healthy_stream_is_never_stale_nor_reconnected(
    sim: Simulator, exchange: Exchange
) -> None:
    stream = create_exchange_stream(exchange)
    interval = min(stream.liveness.values())
    runner = asyncio.create_task(stream.start())
    await stream.wait_ready(10)
    symbols = SYMBOLS[exchange]
    events: list[Any] = []
    stream.add_listener(
        lambda e: events.append(e) if isinstance(e, LivenessEvent) else None, channel="status"
    )
    await stream.subscribe(["book", "trade"], list(symbols))
    await asyncio.sleep(4 * interval)
    assert events == []
    assert stream.liveness_reconnects == 0 and stream.connection.connects == 1
    assert stream.stale_subscriptions == {}
    assert all(stream.book(s).valid for s in symbols)
    await stream.close()
    await runner


async def test_liveness_is_configurable_and_checked(sim: Simulator) -> None:
    stream = create_exchange_stream(Exchange.BINANCE, liveness={"book": None, "trade": 5.0})
    assert stream.liveness == {"trade": 5.0}
    with pytest.raises(ConfigError):
        create_exchange_stream(Exchange.BINANCE, account="x", liveness={"nope": 1.0})
    with pytest.raises(ConfigError):
        create_exchange_stream(Exchange.BINANCE, account="y", liveness={"book": 0})
    await stream.close()


@pytest.mark.parametrize("exchange", list(SYMBOLS))
async def test_a_quiet_market_is_stale_but_not_reconnected(
    sim: Simulator, exchange: Exchange
) -> None:
    """The synthetic flow stops (a quiet market, the venue healthy): books may be reported
    stale, but the venue answers the watchdog's probe, so the stream is not reconnected, and
    the books are live again once the market moves. Backpack has no request to probe with:
    it is reconnected at 3x, again 3x later, then after 6x, 12x, ... 30x: no storm."""
    stream = create_exchange_stream(exchange)
    interval = min(stream.liveness.values())
    runner = asyncio.create_task(stream.start())
    await stream.wait_ready(10)
    symbols = SYMBOLS[exchange]
    events: list[LivenessEvent] = []
    stream.add_listener(
        lambda e: events.append(e) if isinstance(e, LivenessEvent) else None, channel="status"
    )
    await stream.subscribe(["book"], list(symbols))
    await until(lambda: all(stream.book(s).valid for s in symbols))
    for flow in sim.flows:
        flow.paused = lambda: True
    await asyncio.sleep(7 * interval)
    statuses = [e.status for e in events]
    print(exchange.value, statuses, stream.stale_subscriptions)
    has_probe = type(stream)._probe_frame is not StreamBase._probe_frame
    # Kraken's heartbeats keep flowing in a quiet market; Binance and Upbit answer the probe.
    expected = 0 if has_probe or "connection" in stream.liveness else 2
    assert statuses.count("reconnect") == expected == stream.liveness_reconnects
    assert stream.connection.connects == 1 + expected
    for flow in sim.flows:
        flow.paused = lambda: False
    await until(lambda: all(not stream.stale(s) and stream.book(s).valid for s in symbols))
    await stream.close()
    await runner


class _Mute(WSListener):
    """Accepts the socket and never says anything (with auto-pong off: not even pongs)."""


async def _mute_server(pongs: bool) -> tuple[asyncio.Server, str]:
    server = await ws_create_server(lambda _: _Mute(), "127.0.0.1", 0, enable_auto_pong=pongs)
    return server, f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/"


@pytest.mark.parametrize("pongs", [False, True])
async def test_a_peer_that_stops_answering_pings_is_dropped(pongs: bool) -> None:
    """picows pings after `ping_idle_timeout` s of silence and drops the socket when no pong
    comes within `ping_reply_timeout` s; a silent peer that still answers stays connected
    (that case is the stream watchdog's)."""
    server, url = await _mute_server(pongs)
    conn = WsConnection(
        url,
        lambda *_: None,
        reconnect=ReconnectPolicy(initial_delay=0.01, max_delay=0.05),
        ping_idle_timeout=0.2,
        ping_reply_timeout=0.2,
    )
    task = asyncio.create_task(conn.run())
    await conn.wait_ready(5)
    if pongs:
        await asyncio.sleep(1.0)  # 2+ ping rounds, each answered
        assert conn.connects == 1
    else:
        await until(lambda: conn.connects >= 2, timeout=5.0)
    await conn.close()
    await task
    server.close()


def test_ping_timeouts_default_to_a_few_seconds() -> None:
    conn = WsConnection("ws://127.0.0.1:9/", lambda *_: None)
    assert (conn._ping_idle_timeout, conn._ping_reply_timeout) == (3.0, 2.0)
    stream = create_exchange_stream(Exchange.KRAKEN, url="ws://127.0.0.1:9/", account="ping")
    inner = stream.connection
    assert (inner._ping_idle_timeout, inner._ping_reply_timeout) == (3.0, 2.0)
