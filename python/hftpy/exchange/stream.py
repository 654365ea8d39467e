"""`StreamBase`: market-data streams shared by every venue.

One stream object per venue (per account label) owns one reconnecting WebSocket connection
and one Rust feed (`hftpy._core.KrakenFeed`, ...) holding a local L2 book per symbol:

    stream = create_exchange_stream(Exchange.KRAKEN, scales={"BTC/USD": (1, 8)})
    asyncio.create_task(stream.start())
    await stream.subscribe(["book", "trade"], CurrencyPair.BTC_USD, callback=on_event)
    queue = stream.queue(channel="trade")                    # or an asyncio.Queue consumer
    book = stream.book(CurrencyPair.BTC_USD)                 # live view: best_bid(), top(n), state

Every frame is stamped on arrival (wall-clock ns), decoded and applied in Rust, and becomes at
most one small event object (`BookEvent`, `TradeEvent`, `QuoteEvent`, `TickerEvent`,
`ResyncEvent`, ...) handed to the listeners of its channel and symbol. When a book cannot be
trusted (checksum mismatch, sequence gap, crossed), its listeners get a `ResyncEvent` and that
symbol alone is rebuilt: resubscribed (Kraken, Upbit) or re-snapshotted over REST (Binance,
Backpack). A reconnect forgets every book, resubscribes everything and resyncs.

A watchdog (`liveness=`, per venue defaults in `default_liveness`) reports a subscription
silent for 2x its expected interval as stale (`stale(symbol)`, a `LivenessEvent` on `status`)
and reconnects at 3x unless the venue answers a probe (a quiet market, not a stall).

Channels: `book`, `trade`, `ticker`, and `quote` (best bid/offer, Binance/Backpack
`bookTicker`; on Binance `ticker` means `quote`). Events without a symbol (`StatusEvent`,
`ReplyEvent`, `HeartbeatEvent`) go to the `status` channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import time
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import aiohttp

from hftpy._core import (
    BackpackFeed,
    BinanceFeed,
    BookEvent,
    BookState,
    BookView,
    HeartbeatEvent,
    InstrumentsEvent,
    KrakenFeed,
    LatencyStats,
    OtherEvent,
    QuoteEvent,
    ReplyEvent,
    ResyncEvent,
    StatusEvent,
    TickerEvent,
    TradeBatchEvent,
    TradeEvent,
    UpbitFeed,
)
from hftpy.common import CurrencyPair, Exchange, venue_symbol
from hftpy.errors import ConfigError, FeedError, HftpyError, RequestTimeoutError
from hftpy.exchange.codec import DECODER
from hftpy.exchange.endpoints import endpoint
from hftpy.exchange.lifecycle import AsyncLifecycle
from hftpy.exchange.rest_api import USER_AGENT
from hftpy.exchange.stats import LatencySummary, summaries
from hftpy.net import WsConnection
from hftpy.net.connection import DEFAULT_MAX_FRAME_SIZE, ReconnectPolicy

log = logging.getLogger("hftpy.stream")

MarketEvent = (
    BookEvent
    | TradeEvent
    | TradeBatchEvent
    | QuoteEvent
    | TickerEvent
    | ResyncEvent
    | StatusEvent
    | HeartbeatEvent
    | ReplyEvent
    | InstrumentsEvent
    | OtherEvent
)
Feed = KrakenFeed | BinanceFeed | BackpackFeed | UpbitFeed
#: `callback(event)`; runs inside the frame handler, so it must not block.
EventCallback = Callable[[Any], None]
SymbolLike = CurrencyPair | str

CHANNELS = frozenset({"book", "trade", "ticker", "quote"})
#: The channel each event type is delivered on.
_CHANNEL_OF: dict[type, str] = {
    BookEvent: "book",
    ResyncEvent: "book",
    TradeEvent: "trade",
    QuoteEvent: "quote",
    TickerEvent: "ticker",
    StatusEvent: "status",
    ReplyEvent: "status",
    HeartbeatEvent: "status",
    InstrumentsEvent: "status",
    OtherEvent: "status",
}
#: The event types that carry the venue's event time (`exch_ns`), looked up once per type.
_HAS_EXCH_NS = frozenset(kind for kind in _CHANNEL_OF if hasattr(kind, "exch_ns"))


@dataclass(frozen=True, slots=True, eq=False)
class Listener:
    """A consumer of events: `channel`/`symbol` None means every channel / every symbol.
    Returned by `add_listener`; pass it to `remove_listener`."""

    deliver: EventCallback
    channel: str | None
    symbol: str | None


@dataclass(frozen=True, slots=True)
class LivenessEvent:
    """The liveness watchdog's verdict on one subscription, on the `status` channel.

    `status` is `stale` (no frame for 2x the subscription's expected interval: do not trust
    its book or quotes), `live` (frames again after `stale`) or `reconnect` (no frame for 3x
    the interval: the stream drops the connection, which reconnects, resubscribes and
    resyncs every book). `silent_ns` is how long the subscription had been silent,
    `interval_s` its expected interval (the stream's `liveness`), `recv_ns` the wall-clock
    time of the verdict (ns since the epoch)."""

    status: str
    channel: str
    symbol: str
    silent_ns: int
    interval_s: float
    recv_ns: int


def scale_of(step: str | float | Decimal) -> int:
    """Decimal places of a tick or lot size (`"0.01000000"` -> 2, `"1"` -> 0)."""
    exponent = Decimal(str(step)).normalize().as_tuple().exponent
    if not isinstance(exponent, int):
        raise ConfigError(f"bad step size {step!r}")
    return max(0, -exponent)


class StreamBase(AsyncLifecycle):
    """Base of the venue streams. Subclasses set `exchange`, `feed_class`, build the
    subscribe/unsubscribe frames and look up instrument scales."""

    exchange: ClassVar[Exchange]
    feed_class: ClassVar[type[Any]]
    #: Channel names this venue accepts, mapped to the channel they are kept under.
    channel_aliases: ClassVar[dict[str, str]] = {c: c for c in CHANNELS}
    default_depth: ClassVar[int] = 10

    #: The market-data socket's entry in the endpoint table (`HFTPY_<VENUE>_WS_URL` or, for
    #: Binance, `..._STREAM_URL`).
    url_key: ClassVar[str] = "ws"
    #: The book depths the venue accepts (None: any).
    depths: ClassVar[tuple[int, ...] | None] = None
    #: Default expected interval between frames, s, per channel (`liveness=` overrides):
    #: a subscription silent for 2x is stale, for 3x reconnected. The key `connection`
    #: watches any frame on the socket (Kraken's 1 s heartbeats) for the channels without
    #: their own entry; a channel in neither is not watched.
    default_liveness: ClassVar[dict[str, float]] = {}

    def __init__(
        self,
        *,
        url: str | None = None,
        rest_url: str | None = None,
        account: str = "default",
        scales: dict[SymbolLike, tuple[int, int]] | None = None,
        depth: int | None = None,
        reconnect: ReconnectPolicy | None = None,
        rest_timeout: float = 10.0,
        ping_idle_timeout: float = 3.0,
        ping_reply_timeout: float = 2.0,
        liveness: dict[str, float | None] | None = None,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    ) -> None:
        if depth is not None and self.depths is not None and depth not in self.depths:
            raise ConfigError(
                f"{self.exchange.value} book depth must be one of {self.depths}, got {depth}"
            )
        self.url = endpoint(self.exchange, self.url_key, url)
        self.rest_url = endpoint(self.exchange, "rest", rest_url).rstrip("/")
        self.account = account
        self.depth = depth if depth is not None else self.default_depth
        if self.depth < 1:
            raise ConfigError("depth must be at least 1")
        self.rest_timeout = rest_timeout
        self._scales: dict[str, tuple[int, int]] = {
            self.symbol_of(symbol): (int(p), int(q)) for symbol, (p, q) in (scales or {}).items()
        }
        self._feed: Any = self.feed_class()
        self._ids: dict[str, int] = {}
        #: channel -> subscribed symbols, in subscription order.
        self._subs: dict[str, dict[str, None]] = {}
        self._listeners: list[Listener] = []
        self._routes: dict[tuple[str, str | None], tuple[EventCallback, ...]] = {}
        self._resyncing: dict[str, asyncio.Task[None]] = {}
        self._req_ids = itertools.count(1)
        self._http: aiohttp.ClientSession | None = None
        self._conn = WsConnection(
            self.url,
            self._on_frame,
            name=f"{self.exchange.value}.stream",
            on_connected=self._on_connected,
            on_disconnected=self._on_disconnected,
            reconnect=reconnect,
            ping_idle_timeout=ping_idle_timeout,
            ping_reply_timeout=ping_reply_timeout,
            max_frame_size=max_frame_size,
        )
        self._init_liveness(liveness)
        self._runner: asyncio.Task[None] | None = None
        self._closed = False
        #: Counters for tests and metrics.
        self.resyncs = 0
        #: Frames refused by the decoder or not JSON at all (each logged as a warning).
        self.decode_errors = 0
        #: Failed REST snapshot fetches (HTTP errors, timeouts, unreadable bodies).
        self.snapshot_failures = 0
        #: (first, cap) pause in s between REST snapshot attempts of one book (doubling).
        self.resync_backoff: tuple[float, float] = (0.1, 5.0)
        # Stream delays per channel (`latency_stats()`): event type -> (channel, key id of
        # `exch_to_recv:<channel>` or -1 when the type has no `exch_ns`, key id of
        # `recv_to_handler:<channel>`), so the hot path does one lookup per event.
        self._latency = LatencyStats()
        self._event_keys: dict[type, tuple[str, int, int]] = {
            kind: (
                channel,
                self._latency.key(f"exch_to_recv:{channel}") if kind in _HAS_EXCH_NS else -1,
                self._latency.key(f"recv_to_handler:{channel}"),
            )
            for kind, channel in _CHANNEL_OF.items()
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account={self.account!r}, url={self.url!r})"

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        """Runs the connection (reconnecting, resubscribing) until `close()`. Start it as a task."""
        if self._closed:
            raise HftpyError(f"{self!r} is closed; create a new one")
        if self._runner is not None and not self._runner.done():
            raise HftpyError(f"{self!r} already started")
        self._runner = asyncio.current_task()
        await self._conn.run()

    async def wait_ready(self, timeout: float | None = 30.0) -> None:
        """Waits until connected and subscribed."""
        try:
            await self._conn.wait_ready(timeout)
        except TimeoutError:
            detail = f": {self._conn.last_error}" if self._conn.last_error else ""
            raise RequestTimeoutError(f"{self!r} not ready after {timeout}s{detail}") from None

    @property
    def ready(self) -> bool:
        """Whether the connection is up and the subscriptions are sent (what `wait_ready()` waits
        for); each book is valid only once synced: see `book(symbol).valid`."""
        return self._conn.ready

    @property
    def connection(self) -> WsConnection:
        """The underlying `WsConnection` (its counters and `last_error`)."""
        return self._conn

    async def close(self) -> None:
        """Closes for good: cancels book resyncs in progress, closes the socket, waits up to 2 s for
        `start()` to return (then cancels it) and closes the REST session. A closed stream cannot be
        started again."""
        self._closed = True
        self._stop_watchdog()
        for task in list(self._resyncing.values()):
            task.cancel()
        self._resyncing.clear()
        await self._conn.close()
        if self._runner is not None and self._runner is not asyncio.current_task():
            try:
                await asyncio.wait_for(asyncio.shield(self._runner), 2.0)
            except (TimeoutError, asyncio.CancelledError):
                self._runner.cancel()
            except Exception:
                pass
        if self._http is not None:
            await self._http.close()
            self._http = None

    # -- subscriptions -----------------------------------------------------------------------
    def symbol_of(self, symbol: SymbolLike) -> str:
        """The venue's spelling of `symbol`."""
        return venue_symbol(self.exchange, symbol)

    def _channels(self, channels: str | Iterable[str]) -> list[str]:
        names = [channels] if isinstance(channels, str) else list(channels)
        out = []
        for name in names:
            channel = self.channel_aliases.get(name)
            if channel is None:
                known = ", ".join(sorted(self.channel_aliases))
                raise ConfigError(f"{self.exchange.value}: unknown channel {name!r} ({known})")
            if channel not in out:
                out.append(channel)
        return out

    def _symbols(self, symbols: SymbolLike | Iterable[SymbolLike]) -> list[str]:
        items = [symbols] if isinstance(symbols, CurrencyPair | str) else list(symbols)
        return list(dict.fromkeys(self.symbol_of(s) for s in items))

    async def subscribe(
        self,
        channels: str | Iterable[str],
        symbols: SymbolLike | Iterable[SymbolLike],
        *,
        callback: EventCallback | None = None,
        queue: asyncio.Queue[Any] | None = None,
    ) -> None:
        """Subscribes `channels` for `symbols` (incrementally: what is already subscribed
        stays). With `callback` or `queue`, also adds a listener for exactly these channels
        and symbols. Instrument scales come from `scales=` or the venue's REST reference data.
        An empty `channels` or `symbols` is a `ConfigError` (it would subscribe nothing)."""
        chans = self._channels(channels)
        syms = self._symbols(symbols)
        if not chans or not syms:
            empty = "channel" if not chans else "symbol"
            raise ConfigError(f"{self.exchange.value}: subscribe needs at least one {empty}")
        await self._register(syms)
        for channel in chans:
            for symbol in syms:
                if callback is not None or queue is not None:
                    self.add_listener(callback, queue=queue, channel=channel, symbol=symbol)
        added: dict[str, list[str]] = {}
        for channel in chans:
            current = self._subs.setdefault(channel, {})
            new = [s for s in syms if s not in current]
            for symbol in new:
                current[symbol] = None
            if new:
                added[channel] = new
        if added and self._conn.ready:
            self._send_frames(self._subscribe_frames(added))

    async def unsubscribe(
        self, channels: str | Iterable[str], symbols: SymbolLike | Iterable[SymbolLike]
    ) -> None:
        """Stops `channels` for `symbols`; listeners stay until `remove_listener`."""
        removed: dict[str, list[str]] = {}
        for channel in self._channels(channels):
            current = self._subs.get(channel, {})
            gone = [s for s in self._symbols(symbols) if s in current]
            for symbol in gone:
                del current[symbol]
            if gone:
                removed[channel] = gone
        if removed and self._conn.ready:
            self._send_frames(self._unsubscribe_frames(removed))

    @property
    def subscriptions(self) -> dict[str, list[str]]:
        """channel -> subscribed symbols."""
        return {channel: list(symbols) for channel, symbols in self._subs.items() if symbols}

    # -- consumers ---------------------------------------------------------------------------
    def add_listener(
        self,
        callback: EventCallback | None = None,
        *,
        queue: asyncio.Queue[Any] | None = None,
        channel: str | None = None,
        symbol: SymbolLike | None = None,
    ) -> Listener:
        """Delivers events of `channel` (None: all, including `status`) for `symbol` (None:
        all) to `callback(event)` or `queue.put_nowait(event)`."""
        if (callback is None) == (queue is None):
            raise ConfigError("pass exactly one of callback= or queue=")
        if channel is not None and channel != "status":
            channel = self._channels(channel)[0]
        deliver: EventCallback = callback if callback is not None else queue.put_nowait  # type: ignore[union-attr]
        listener = Listener(deliver, channel, None if symbol is None else self.symbol_of(symbol))
        self._listeners.append(listener)
        self._routes.clear()
        return listener

    def remove_listener(self, listener: Listener) -> None:
        """Stops deliveries to a listener `add_listener` returned (nothing happens when it is
        already gone)."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)
        self._routes.clear()

    def queue(
        self, channel: str | None = None, symbol: SymbolLike | None = None, maxsize: int = 0
    ) -> asyncio.Queue[Any]:
        """A new `asyncio.Queue` receiving the events of `channel` / `symbol`."""
        queue: asyncio.Queue[Any] = asyncio.Queue(maxsize)
        self.add_listener(queue=queue, channel=channel, symbol=symbol)
        return queue

    def _route(self, channel: str, symbol: str | None) -> tuple[EventCallback, ...]:
        route = tuple(
            listener.deliver
            for listener in self._listeners
            if (listener.channel is None or listener.channel == channel)
            and (listener.symbol is None or listener.symbol == symbol)
        )
        self._routes[(channel, symbol)] = route
        return route

    # -- latency ---------------------------------------------------------------------------
    def latency_stats(self) -> dict[str, LatencySummary]:
        """Delays per channel, ns: `exch_to_recv:<channel>` (the event's `exch_ns` → `recv_ns`,
        wall clock, for events that carry a venue time; negative samples are clock skew, counted
        in `negative`) and `recv_to_handler:<channel>` (receive → just before the listeners run,
        monotonic). Keys with at least one sample since the start or `reset_latency_stats()`."""
        return summaries(self._latency)

    def reset_latency_stats(self) -> None:
        """Forgets the samples behind `latency_stats()`."""
        self._latency.reset()

    # -- books -------------------------------------------------------------------------------
    def book(self, symbol: SymbolLike) -> BookView:
        """A live view of `symbol`'s book (best_bid(), best_ask(), top(n), state, ...)."""
        return self._feed.book(self._id(symbol))  # type: ignore[no-any-return]

    def state(self, symbol: SymbolLike) -> BookState:
        """The health of `symbol`'s book (`BookState`: valid, sequence, checksum, resyncs, updates,
        `exch_ns` / `recv_ns` in ns); raises `ConfigError` when `symbol` was never subscribed."""
        return self._feed.state(self._id(symbol))  # type: ignore[no-any-return]

    @property
    def feed(self) -> Feed:
        """The Rust feed (decoder and books) of this stream."""
        return self._feed  # type: ignore[no-any-return]

    def _id(self, symbol: SymbolLike) -> int:
        name = self.symbol_of(symbol)
        try:
            return self._ids[name]
        except KeyError:
            raise ConfigError(f"{name} is not subscribed on {self!r}") from None

    async def _register(self, symbols: list[str]) -> None:
        missing = [s for s in symbols if s not in self._ids]
        if not missing:
            return
        unknown = [s for s in missing if s not in self._scales]
        if unknown:
            self._scales.update(await self._lookup_scales(unknown))
        for symbol in missing:
            if symbol in self._ids:
                continue
            price_scale, qty_scale = self._scales[symbol]
            self._ids[symbol] = self._feed.add_instrument(
                symbol, price_scale, qty_scale, self.depth
            )

    # -- the hot path ------------------------------------------------------------------------
    def _on_frame(self, payload: memoryview | bytes, recv_ns: int, recv_mono: int) -> None:
        self._frame_mono = recv_mono
        try:
            event = self._feed.feed(payload, recv_ns)
        except FeedError as exc:
            self.decode_errors += 1
            log.warning("%s: undecodable frame (%s): %r", self, exc, bytes(payload[:200]))
            return
        if event is None:
            return
        kind = type(event)
        latency = self._latency
        if kind is TradeBatchEvent:
            _, exch_key, recv_key = self._event_keys[TradeEvent]
            for trade in event.trades:
                latency.record_event(exch_key, recv_key, trade.exch_ns, recv_ns, recv_mono)
                self._dispatch("trade", trade.symbol, trade)
            return
        channel, exch_key, recv_key = self._event_keys[kind]
        if kind is ResyncEvent:
            self._on_resync(event)
        elif kind is ReplyEvent and not event.success:
            log.warning("%s: venue error reply: %s", self, event.error)
        elif kind is OtherEvent:
            if event.kind == "unparsable":  # not JSON: a proxy's error page, garbage
                self.decode_errors += 1
                log.warning("%s: frame is not JSON: %r", self, bytes(payload[:200]))
            self._on_other(payload, event)
        if exch_key < 0:
            latency.record_since(recv_key, recv_mono)
        else:
            latency.record_event(exch_key, recv_key, event.exch_ns, recv_ns, recv_mono)
        self._dispatch(channel, getattr(event, "symbol", None), event)

    def _dispatch(self, channel: str, symbol: str | None, event: Any) -> None:
        seen = self._seen.get(channel)
        if seen is not None and symbol is not None:
            seen[symbol] = self._frame_mono
        route = self._routes.get((channel, symbol))
        if route is None:
            route = self._route(channel, symbol)
        for deliver in route:
            try:
                deliver(event)
            except Exception:
                log.exception("%s: listener %r raised on %r", self, deliver, event)

    def _on_other(self, payload: memoryview | bytes, event: OtherEvent) -> None:
        """A frame the decoder does not handle (venue-specific control frames)."""

    # -- liveness ----------------------------------------------------------------------------
    def _init_liveness(self, liveness: dict[str, float | None] | None) -> None:
        merged: dict[str, float | None] = {**self.default_liveness, **(liveness or {})}
        for key, interval in merged.items():
            if key != "connection" and key not in CHANNELS:
                raise ConfigError(f"{self.exchange.value}: liveness for unknown channel {key!r}")
            if interval is not None and not interval > 0:
                raise ConfigError(f"liveness[{key!r}] must be a positive number of seconds")
        #: Expected interval between frames, s, per channel (and `connection`).
        self.liveness: dict[str, float] = {k: v for k, v in merged.items() if v is not None}
        #: Reconnects the watchdog made (a subscription silent for 3x its interval).
        self.liveness_reconnects = 0
        # Watchdog reconnects since a subscription was last live: from the second on, each
        # doubles the silence that makes the next one (up to 30 intervals), so a quiet market
        # on a venue without a probe is not reconnected every 3 intervals.
        self._quiet_level = 0
        self._frame_mono = 0
        # channel -> symbol -> monotonic ns of its latest event (watched channels only).
        self._seen: dict[str, dict[str, int]] = {
            channel: {} for channel in self.liveness if channel != "connection"
        }
        self._stale: set[tuple[str, str]] = set()
        self._watchdog: asyncio.Task[None] | None = None

    def stale(self, symbol: SymbolLike, channel: str | None = None) -> bool:
        """Whether the watchdog found `symbol`'s subscription (on `channel`, or on any channel)
        silent for 2x its expected interval and no frame came since. A stale book may still say
        `valid`: it is the venue's book as it was when the data stopped."""
        name = self.symbol_of(symbol)
        chans = [self._channels(channel)[0]] if channel is not None else list(self._subs)
        return any((c, name) in self._stale for c in chans)

    @property
    def stale_subscriptions(self) -> dict[str, list[str]]:
        """channel -> the subscribed symbols the watchdog currently finds stale."""
        out: dict[str, list[str]] = {}
        for channel, symbol in sorted(self._stale):
            out.setdefault(channel, []).append(symbol)
        return out

    @property
    def watched_subscriptions(self) -> dict[str, list[str]]:
        """channel -> the subscribed symbols the watchdog watches (their channel has an interval
        in `liveness`, or `connection` has one)."""
        every = "connection" in self.liveness
        return {c: s for c, s in self.subscriptions.items() if every or c in self.liveness}

    def _start_watchdog(self) -> None:
        self._stop_watchdog()
        for seen in self._seen.values():
            seen.clear()
        if self.liveness:
            self._watchdog = asyncio.get_running_loop().create_task(
                self._watch(), name=f"{self.exchange.value}.stream.watchdog"
            )

    def _stop_watchdog(self) -> None:
        task, self._watchdog = self._watchdog, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _watch(self) -> None:
        """Runs while connected: every tenth of the shortest interval, marks subscriptions
        silent for 2x their interval stale (a `LivenessEvent`), live again once a frame
        comes, and drops the connection when one is silent for 3x. The thresholds are one
        tick early, so the verdicts land at the latest 2x and 3x after the last frame."""
        intervals = self.liveness
        connection = intervals.get("connection")
        tick = max(0.01, min(intervals.values()) / 10)
        since = time.monotonic_ns()
        # When this connection's watchdog first saw each subscription: the clock starts there.
        first_seen: dict[tuple[str, str], int] = {}
        # The venue's answer to a probe (`_probe_frame`) sent when a subscription went silent
        # tells a quiet market (answered: no reconnect) from a stalled venue (unanswered).
        probe = self._probe_frame()
        probe_at = 0
        # x the interval before a reconnect: 3, 3, 6, 12, 24, 30, ... while nothing comes back
        patience = min(3 * 2 ** max(0, self._quiet_level - 1), 30)
        probed: set[tuple[str, str]] = set()
        # When each subscription went stale (on this connection): live needs a later frame.
        stale_at: dict[tuple[str, str], int] = {}
        while True:
            await asyncio.sleep(tick)
            now = time.monotonic_ns()
            worst: tuple[float, str, str, int, float] | None = None
            current: set[tuple[str, str]] = set()
            for channel, symbols in self._subs.items():
                interval = intervals.get(channel)
                seen = self._seen.get(channel)
                for symbol in symbols:
                    if interval is not None and seen is not None:
                        expected = interval
                        got = seen.get(symbol)
                        resync = self._resyncing.get(symbol) if channel == "book" else None
                        if resync is not None and not resync.done() and self._frame_mono > since:
                            # Diffs buffered while a snapshot is fetched make no event: any
                            # frame on the socket keeps the book's subscription alive.
                            got = max(got or 0, self._frame_mono)
                    elif connection is not None:
                        expected = connection
                        got = self._frame_mono if self._frame_mono > since else None
                    else:
                        continue
                    key = (channel, symbol)
                    current.add(key)
                    first = first_seen.setdefault(key, now)
                    window = first if got is None else max(got, first)
                    silent = now - window
                    if silent >= (2 * expected - tick) * 1e9:
                        if key not in self._stale:
                            self._stale.add(key)
                            stale_at[key] = now
                            self._liveness_event("stale", channel, symbol, silent, expected)
                        if probe is not None and key not in probed:
                            probed.add(key)
                            if probe_at == 0 or self._frame_mono > probe_at:
                                probe_at = now
                                self._send_probe(probe)
                        if silent >= (3 * expected - tick) * 1e9 and (
                            probe is not None and window <= probe_at < self._frame_mono
                        ):
                            # The socket is alive (the venue answered): a quiet market, or a
                            # subscription the venue lost. Subscribing again costs nothing in
                            # the first case and mends the second; the window starts again.
                            first_seen[key] = now
                            probed.discard(key)
                            with contextlib.suppress(HftpyError):
                                self._send_frames(self._subscribe_frames({channel: [symbol]}))
                            continue
                        ratio = silent / (1e9 * expected)
                        if silent >= (patience * expected - tick) * 1e9 and (
                            worst is None or ratio > worst[0]
                        ):
                            worst = (ratio, channel, symbol, silent, expected)
                    elif key in self._stale and got is not None and got > stale_at.get(key, since):
                        self._quiet_level = 0
                        self._stale.discard(key)
                        self._liveness_event("live", channel, symbol, silent, expected)
            for channel, symbol in self._stale - current:  # unsubscribed while stale
                if channel == "book" and symbol in self._ids:
                    self._feed.set_stale(self._ids[symbol], False)
            self._stale &= current
            if worst is not None:
                _, channel, symbol, silent, expected = worst
                log.warning(
                    "%s: no %s frame for %s in %.2fs (expected every %.2fs): reconnecting",
                    self,
                    channel,
                    symbol,
                    silent / 1e9,
                    expected,
                )
                self.liveness_reconnects += 1
                self._quiet_level += 1
                self._liveness_event("reconnect", channel, symbol, silent, expected)
                self._conn.drop()
                return

    def _probe_frame(self) -> bytes | None:
        """A request the venue answers at once on this socket, or None when there is none. Sent
        when a subscription goes stale; answered, it proves the socket alive, and the
        subscription is sent again instead of reconnecting (a quiet market, or a subscription
        the venue dropped). Not for a venue watched on `connection`: the reply itself would
        count as the frame that proves the subscriptions alive."""
        return None

    def _send_probe(self, frame: bytes) -> None:
        with contextlib.suppress(HftpyError):
            self._conn.send(frame)

    def _liveness_event(
        self, status: str, channel: str, symbol: str, silent_ns: int, interval: float
    ) -> None:
        if status != "live":
            log.warning("%s: %s %s %s", self, channel, symbol, status)
        if channel == "book" and status != "reconnect" and symbol in self._ids:
            self._feed.set_stale(self._ids[symbol], status == "stale")  # BookState.stale
        event = LivenessEvent(status, channel, symbol, silent_ns, interval, time.time_ns())
        self._dispatch("status", symbol, event)

    # -- resync ------------------------------------------------------------------------------
    def _on_resync(self, event: ResyncEvent) -> None:
        if event.reason != "initial":
            self.resyncs += 1
            log.warning(
                "%s: %s book invalid (%s %s): %s",
                self,
                event.symbol,
                event.reason,
                event.detail,
                event.action,
            )
        symbol = event.symbol
        running = self._resyncing.get(symbol)
        if running is not None and not running.done():
            return
        if event.action == "fetch_snapshot":
            job: Coroutine[Any, Any, None] = self._fetch_snapshot(symbol)
        else:
            job = self._resubscribe_book(symbol)
        self._resyncing[symbol] = asyncio.get_running_loop().create_task(job)

    async def _resubscribe_book(self, symbol: str) -> None:
        if "book" in self._subs and symbol in self._subs["book"] and self._conn.ready:
            self._send_frames(self._resubscribe_frames(symbol))

    async def _fetch_snapshot(self, symbol: str) -> None:
        """Fetches the REST depth snapshot and hands it to the feed until the book is valid,
        for as long as the connection is up and the book subscribed: a failed fetch or a
        snapshot older than the buffered diffs is tried again after a pause doubling from
        `resync_backoff[0]` to `resync_backoff[1]` s, with jitter (a venue whose REST is down
        for minutes gets one request every few seconds, and the book is valid again within
        one pause of REST coming back)."""
        symbol_id = self._ids[symbol]
        first, cap = self.resync_backoff
        delay = first
        while not self._closed and self._conn.connected and symbol in self._subs.get("book", {}):
            try:
                body = await self._get(self._snapshot_path(symbol))
                event = self._feed.apply_snapshot(symbol_id, body, time.time_ns())
            except (aiohttp.ClientError, TimeoutError, HftpyError) as exc:  # FeedError too
                self.snapshot_failures += 1
                log.warning("%s: %s snapshot fetch failed: %s", self, symbol, exc)
                self._dispatch(
                    "book", symbol, self._feed.snapshot_failed(symbol_id, time.time_ns())
                )
            else:
                if type(event) is BookEvent:
                    self._dispatch("book", symbol, event)
                    return
                if type(event) is ResyncEvent:
                    self.resyncs += 1
                    self._dispatch("book", symbol, event)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, cap)

    # -- connection hooks --------------------------------------------------------------------
    async def _on_connected(self) -> None:
        for task in list(self._resyncing.values()):
            task.cancel()
        self._resyncing.clear()
        self._feed.reset()
        subs = self.subscriptions
        if subs:
            self._send_frames(self._subscribe_frames(subs))
        self._start_watchdog()

    def _on_disconnected(self) -> None:
        # The books are stale from here on: invalid until resynced after the reconnect.
        self._feed.reset()
        self._stop_watchdog()

    def _send_frames(self, frames: list[bytes]) -> None:
        for frame in frames:
            self._conn.send(frame)

    # -- REST --------------------------------------------------------------------------------
    async def _get(self, path: str, params: dict[str, str] | None = None) -> bytes:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.rest_timeout),
                headers={"User-Agent": USER_AGENT},
            )
        async with self._http.get(self.rest_url + path, params=params) as resp:
            body = await resp.read()
            if resp.status != 200:
                raise HftpyError(f"GET {path}: HTTP {resp.status}: {body[:200]!r}")
            return body

    async def _get_json(self, path: str, params: dict[str, str] | None = None) -> Any:
        return DECODER.decode(await self._get(path, params))

    # -- venue specifics -----------------------------------------------------------------------
    def _next_id(self) -> int:
        return next(self._req_ids)

    def _subscribe_frames(self, subs: dict[str, list[str]]) -> list[bytes]:
        raise NotImplementedError

    def _unsubscribe_frames(self, subs: dict[str, list[str]]) -> list[bytes]:
        raise NotImplementedError

    def _resubscribe_frames(self, symbol: str) -> list[bytes]:
        """Frames that make the venue send `symbol`'s book snapshot again."""
        book = {"book": [symbol]}
        return self._unsubscribe_frames(book) + self._subscribe_frames(book)

    def _snapshot_path(self, symbol: str) -> str:
        raise NotImplementedError(f"{self.exchange.value} books are not synced over REST")

    async def _lookup_scales(self, symbols: list[str]) -> dict[str, tuple[int, int]]:
        raise ConfigError(
            f"{self.exchange.value}: no scales for {', '.join(symbols)}; "
            f"pass scales={{symbol: (price_decimals, qty_decimals)}}"
        )
