"""Plumbing shared by the market-data front-ends: fault gates, WS connections, venue lifecycle.

A `MarketVenue` owns one aiohttp REST app and a few picows WebSocket servers; its connections
are `StreamConnection`s. It handles the faults the venues share (faults.py describes each): the
socket faults of `ConnectionFaults`, `maintenance`/`online` (synthetic flow pauses, REST answers
the venue's unavailable error), `skip_sequence` (diff frames never sent, so the client sees a
gap) and the REST depth snapshot's `snapshot_fail` / `stale_snapshot`. A venue's `FAULTS` table
says which of them it offers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from aiohttp import web
from picows import (
    WSAutoPingStrategy,
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)

from .engine import Book, Engine, Instrument
from .faults import MARKET_FAULTS, ConnectionFaults, FaultTable, answer_ping, fault_table
from .wire import decimal_text, json_decimal

__all__ = [
    "FrameFault",
    "MarketVenue",
    "StreamConnection",
    "TradeStats",
    "decimal_text",
    "fillable",
    "json_decimal",
    "periodic",
]


class FrameFault:
    """Which frames a fault hits: the next `count` ones, or a fraction `rate` spread evenly.

    The rate is applied deterministically (every 1/rate-th frame), so a test gets exactly
    `floor(n * rate)` hits out of `n` frames.
    """

    __slots__ = ("_acc", "count", "rate")

    def __init__(self) -> None:
        self.count = 0
        self.rate = 0.0
        self._acc = 0.0

    def arm(self, count: int | None = None, rate: float | None = None) -> None:
        """`count=n` and/or `rate=r`; neither means the next frame only."""
        if count is not None or rate is None:
            self.count = 1 if count is None else int(count)
        if rate is not None:
            rate = float(rate)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rate must lie in [0, 1], not {rate}")
            self.rate = rate
            self._acc = 0.0

    def hit(self) -> bool:
        if self.count > 0:
            self.count -= 1
            return True
        if self.rate > 0.0:
            self._acc += self.rate
            if self._acc >= 1.0 - 1e-9:
                self._acc -= 1.0
                return True
        return False

    @property
    def armed(self) -> bool:
        return self.count > 0 or self.rate > 0.0

    def clear(self) -> None:
        self.count = 0
        self.rate = 0.0
        self._acc = 0.0


class SnapshotFault:
    """Which REST depth snapshots a fault hits: the next `count`, or all for `seconds`."""

    __slots__ = ("count", "kind", "until")

    def __init__(self) -> None:
        self.kind = ""
        self.count = 0
        self.until = 0.0

    def arm(self, kind: str, count: int | None = None, seconds: float | None = None) -> None:
        """The next `count` snapshots and/or all for `seconds`; neither: the next one."""
        self.kind = kind
        self.count = int(count) if count is not None else (0 if seconds is not None else 1)
        self.until = time.monotonic() + float(seconds or 0.0)

    def hit(self) -> str | None:
        """The fault for this request (`snapshot_fail` / `stale_snapshot`), or None."""
        if self.count > 0:
            self.count -= 1
            return self.kind
        if time.monotonic() < self.until:
            return self.kind
        return None

    def clear(self) -> None:
        self.count = 0
        self.until = 0.0


class StreamConnection(WSListener):
    """One client socket of a market-data venue; subclasses handle the venue's requests."""

    binary: ClassVar[bool] = False  # Upbit pushes binary frames

    def __init__(self, venue: MarketVenue, path: str) -> None:
        super().__init__()
        self.venue = venue
        self.path = path
        self.transport: WSTransport | None = None
        self.held: list[bytes] = []
        self.writable = asyncio.Event()
        self.writable.set()
        self.tasks: set[asyncio.Task[None]] = set()

    # picows callbacks

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.venue.connections.add(self)
        self.connected()

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.venue.connections.discard(self)
        self.transport = None
        for task in self.tasks:
            task.cancel()
        self.closed()

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type in (WSMsgType.TEXT, WSMsgType.BINARY):
            if not self.venue.stalled():
                self.on_message(frame.get_payload_as_bytes())
        elif frame.msg_type == WSMsgType.PING:
            answer_ping(self.venue, transport, frame)
        elif frame.msg_type == WSMsgType.CLOSE:
            for task in self.tasks:
                task.cancel()  # a replay must not keep the close handshake waiting
            self.held.clear()
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    # hooks

    def connected(self) -> None:
        """The socket is up."""

    def closed(self) -> None:
        """The socket is gone: forget its subscriptions."""

    def on_message(self, payload: bytes) -> None:
        """One text or binary frame from the client."""

    # output

    def send(self, data: bytes) -> None:
        if self.transport is None:
            return
        if self.venue.stalled():
            self.held.append(data)
            self.venue.release_later()
            return
        self.transport.send(WSMsgType.BINARY if self.binary else WSMsgType.TEXT, data)

    def send_text(self, data: bytes) -> None:
        """A text frame whatever the venue's data frames are (control replies, garbage)."""
        if self.transport is not None and not self.venue.stalled():
            self.transport.send(WSMsgType.TEXT, data)

    def release(self) -> None:
        held, self.held = self.held, []
        for data in held:
            self.send(data)

    def spawn(self, coro: Any, name: str) -> None:
        """Run a per-connection task (replay), cancelled when the socket goes."""
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


class MarketVenue(ConnectionFaults):
    """Lifecycle, connections and common faults of one market-data venue."""

    name: ClassVar[str] = ""
    FAULTS: ClassVar[FaultTable] = fault_table(MARKET_FAULTS)
    # (port name, auto-ping interval s or 0, pong deadline s) per WebSocket endpoint
    WS_ENDPOINTS: ClassVar[tuple[tuple[str, float, float], ...]] = ()
    MALFORMED_DEFAULT: ClassVar[str] = "<html><body>502 Bad Gateway</body></html>"
    # Off the line means no connects (503); Kraken connects and says so on its status channel.
    REFUSE_WHEN_DOWN: ClassVar[bool] = True

    def __init__(self, engine: Engine, *, host: str = "127.0.0.1") -> None:
        self.engine = engine
        self.host = host
        self.ports: dict[str, int] = {}
        self.connections: set[StreamConnection] = set()
        self.system = "online"
        self.skip = FrameFault()
        self.snapshot_fault = SnapshotFault()
        self._snapshot_delay_s = 0.0
        self._slow_snapshots_left = 0  # -1: every snapshot until cleared
        self._runner: web.AppRunner | None = None
        self._servers: list[asyncio.Server] = []
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def instruments(self) -> list[Instrument]:
        return [i for i in self.engine.instruments.values() if i.venue == self.name]

    def instrument(self, symbol: str) -> Instrument | None:
        inst = self.engine.instruments.get(symbol)
        return inst if inst is not None and inst.venue == self.name else None

    # ----- lifecycle -----

    def routes(self, app: web.Application) -> None:
        """Add the REST routes."""

    def listener(
        self, endpoint: str, request: WSUpgradeRequest
    ) -> StreamConnection | WSUpgradeResponseWithListener | None:
        """The connection for an upgrade request on `endpoint`, an error answer (a refused
        login), or None (404)."""
        return None

    def background(self) -> list[Any]:
        """Coroutines that run while serving (periodic publishers)."""
        return []

    async def start(self, ports: Mapping[str, int]) -> None:
        """Listen on `ports[rest]` and each WS endpoint's port; 0 picks a free one."""
        try:
            app = web.Application()
            self.routes(app)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            await web.TCPSite(self._runner, self.host, ports["rest"]).start()
            self.ports["rest"] = self._runner.addresses[0][1]
            for endpoint, ping_every, pong_within in self.WS_ENDPOINTS:
                server = await ws_create_server(
                    self._factory(endpoint),
                    self.host,
                    ports[endpoint],
                    enable_auto_ping=ping_every > 0,
                    auto_ping_idle_timeout=ping_every or 20,
                    auto_ping_reply_timeout=pong_within or 20,
                    auto_ping_strategy=WSAutoPingStrategy.PING_PERIODICALLY,
                    enable_auto_pong=False,  # see answer_ping
                )
                self._servers.append(server)
                self.ports[endpoint] = server.sockets[0].getsockname()[1]
            loop = asyncio.get_running_loop()
            self._tasks = [
                loop.create_task(coro, name=f"hftpy-sim-{self.name}") for coro in self.background()
            ]
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self.cancel_release()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.send_close(WSCloseCode.GOING_AWAY)
                conn.transport.disconnect()
        for server in self._servers:
            server.close()
            await server.wait_closed()
        self._servers.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _factory(
        self, endpoint: str
    ) -> Callable[[WSUpgradeRequest], StreamConnection | WSUpgradeResponseWithListener | None]:
        def factory(
            request: WSUpgradeRequest,
        ) -> StreamConnection | WSUpgradeResponseWithListener | None:
            if self.system != "online" and self.REFUSE_WHEN_DOWN:
                response = WSUpgradeResponse.create_error_response(503, b"Service Unavailable")
                return WSUpgradeResponseWithListener(response, None)
            return self.listener(endpoint, request)

        return factory

    # ----- faults -----

    def fault_maintenance(self) -> None:
        self.system = "maintenance"

    def fault_online(self) -> None:
        self.system = "online"

    def fault_skip_sequence(self, count: int | None = None, rate: float | None = None) -> None:
        self.skip.arm(count, rate)

    def fault_snapshot_fail(self, count: int | None = None, seconds: float | None = None) -> None:
        self.snapshot_fault.arm("snapshot_fail", count, seconds)

    def fault_stale_snapshot(self, count: int | None = None, seconds: float | None = None) -> None:
        self.snapshot_fault.arm("stale_snapshot", count, seconds)

    def fault_slow_snapshot(self, seconds: float = 2.0, count: int | None = None) -> None:
        self._snapshot_delay_s = max(0.0, float(seconds))
        self._slow_snapshots_left = -1 if count is None else int(count)

    async def snapshot_pause(self) -> None:
        """Where a REST depth snapshot is served: waits out `slow_snapshot`."""
        if self._slow_snapshots_left == 0:
            return
        if self._slow_snapshots_left > 0:
            self._slow_snapshots_left -= 1
        await asyncio.sleep(self._snapshot_delay_s)

    def clear_faults(self) -> None:
        super().clear_faults()
        self.system = "online"
        self.skip.clear()
        self.snapshot_fault.clear()
        self._slow_snapshots_left = 0

    def paused(self) -> bool:
        """True while the venue's engine is frozen (maintenance): synthetic flow skips steps."""
        return self.system != "online"


class DepthFeed:
    """One symbol's update-id counter and the level changes each diff stream has yet to send.

    Every engine level change takes the next id; a diff event of speed `s` covers the ids since
    the previous event of that speed (`U` = previous `u` + 1) with the final quantity of every
    level changed in between, so snapshot + diffs rebuild the book exactly.
    """

    __slots__ = ("last_u", "pending", "update_id")

    def __init__(self, speeds: tuple[str, ...], first_id: int = 1_000_000) -> None:
        self.update_id = first_id
        self.pending: dict[str, dict[tuple[str, int], int]] = {s: {} for s in speeds}
        self.last_u = dict.fromkeys(speeds, first_id)

    def change(self, side: str, price: int, qty: int) -> None:
        self.update_id += 1
        for pending in self.pending.values():
            pending[(side, price)] = qty

    def take(
        self, speed: str
    ) -> tuple[int, int, list[tuple[int, int]], list[tuple[int, int]]] | None:
        """(U, u, bid changes best first, ask changes best first), or None when nothing moved."""
        pending = self.pending[speed]
        if not pending:
            return None
        first = self.last_u[speed] + 1
        self.last_u[speed] = self.update_id
        self.pending[speed] = {}
        bids = sorted(((p, q) for (s, p), q in pending.items() if s == "bid"), reverse=True)
        asks = sorted((p, q) for (s, p), q in pending.items() if s == "ask")
        return first, self.update_id, bids, asks


def call_soon_once(flag_owner: Any, attr: str, callback: Callable[[], None]) -> None:
    """Schedule `callback` for the end of this loop tick unless `flag_owner.<attr>` says so."""
    if getattr(flag_owner, attr):
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    setattr(flag_owner, attr, True)
    loop.call_soon(callback)


async def periodic(period_s: float, step: Callable[[int], None]) -> None:
    """Call `step(tick)` every `period_s` seconds (tick 1, 2, ...) until cancelled: a venue's
    publisher derives its slower cadences from the tick count."""
    tick = 0
    while True:
        await asyncio.sleep(period_s)
        tick += 1
        step(tick)


def fillable(book: Book, side: str, price: int | None) -> int:
    """How much a taker order on `side` limited at `price` (None: any price) could fill from
    `book` right now: the fill-or-kill check."""
    opposite = book.asks if side == "buy" else book.bids
    total = 0
    for level_price, qty in opposite.depth(len(opposite.prices)):
        if price is not None and (level_price > price if side == "buy" else level_price < price):
            break
        total += qty
    return total


class TradeStats:
    """A market's running trade figures since the simulator started (standing in for "24 h"),
    in engine units: what a venue's ticker shows."""

    __slots__ = ("count", "high", "last", "last_qty", "low", "notional", "open", "volume")

    def __init__(self, mid: int) -> None:
        self.open = self.last = self.low = self.high = mid
        self.volume = 0  # lots
        self.notional = 0  # price units x lots
        self.count = 0
        self.last_qty = 0  # lots of the last trade

    def add(self, price: int, qty: int) -> None:
        """One trade."""
        self.last = price
        self.low = min(self.low, price)
        self.high = max(self.high, price)
        self.volume += qty
        self.notional += price * qty
        self.count += 1
        self.last_qty = qty

    @property
    def vwap(self) -> int:
        """The volume-weighted average price in ticks, rounded half up (0 before a trade)."""
        volume = self.volume
        return (2 * self.notional + volume) // (2 * volume) if volume else 0
