"""Stub for the Rust extension `hftpy._core` (rust/py/)."""

from typing import Any, Literal, TypeAlias, final, overload

from typing_extensions import Buffer

__all__ = [
    "BackpackFeed",
    "BackpackFrames",
    "BinanceFeed",
    "BinanceFrames",
    "BookEvent",
    "BookState",
    "BookView",
    "Ed25519Signer",
    "HeartbeatEvent",
    "HmacSha256Signer",
    "InstrumentsEvent",
    "KrakenFeed",
    "KrakenFrames",
    "KrakenSigner",
    "LatencyStats",
    "OtherEvent",
    "QuoteEvent",
    "RateLimiter",
    "ReplyEvent",
    "ResyncEvent",
    "StatusEvent",
    "TickerEvent",
    "TradeBatchEvent",
    "TradeEvent",
    "UpbitFeed",
    "UpbitFrames",
    "UpbitSigner",
    "__version__",
    "format_fixed",
    "hmac_sha256_hex",
    "mono_ns",
    "new_client_id_u32",
    "new_client_order_id",
    "number_text",
    "parse_fixed",
    "parse_natural",
    "sha512_hex",
    "wall_ns",
]

__version__: str

# The strings the event classes' enum-like attributes take (rust/py/market.rs writes them;
# tests/test_errors_boundary.py checks the two agree).
_Side: TypeAlias = Literal["buy", "sell"]
_ResyncReason: TypeAlias = Literal[
    "initial",
    "checksum_mismatch",
    "sequence_gap",
    "stale_snapshot",
    "crossed",
    "buffer_overflow",
    "snapshot_failed",
]
_ResyncAction: TypeAlias = Literal["resubscribe", "fetch_snapshot"]
_Status: TypeAlias = Literal[
    "online", "cancel_only", "post_only", "maintenance", "shutting_down", "other"
]
_OtherKind: TypeAlias = Literal["unrecognized", "unparsable"]

def wall_ns() -> int:
    """Wall-clock nanoseconds since the Unix epoch (CLOCK_REALTIME)."""

def mono_ns() -> int:
    """Monotonic nanoseconds (CLOCK_MONOTONIC, the clock of `time.monotonic_ns()`)."""

def parse_fixed(text: str | bytes, scale: int) -> int:
    """Decimal text as an integer mantissa at `scale`; raises `hftpy.errors.DecimalError`
    when digits would be lost or the value overflows 64 bits."""

def parse_natural(text: str | bytes) -> tuple[int, int]:
    """Decimal text at its own scale: `(mantissa, scale)`; raises `hftpy.errors.DecimalError`
    for text that is not a number or does not fit 64 bits."""

def format_fixed(mantissa: int, scale: int) -> str:
    """Plain decimal text with exactly `scale` fraction digits; raises
    `hftpy.errors.DecimalError` for a scale above 18."""

def hmac_sha256_hex(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 of `message`, lower-case hex."""

@final
class KrakenSigner:
    """Kraken REST `API-Sign` signer holding the decoded secret; prints as `***`."""

    def __new__(cls, secret: str) -> KrakenSigner:
        """Raises `hftpy.errors.ConfigError` unless `secret` is non-empty base64."""
    def sign(self, uri_path: str, nonce: str, body: bytes) -> str:
        """HMAC-SHA512(secret, uri_path + SHA256(nonce + body)), base64."""

# -- market data (rust/py/market.rs) ------------------------------------------------------------
# Prices and sizes are int mantissas at the instrument's scales; stamps are int nanoseconds.

@final
class BookEvent:
    """A symbol's book changed and is valid."""

    @property
    def symbol(self) -> str:
        """The instrument as the venue spells it (`BTC/USD`, `BTCUSDT`, `SOL_USDC`, `KRW-BTC`)."""
    @property
    def symbol_id(self) -> int:
        """The feed's id of `symbol` (what `add_instrument` returned)."""
    @property
    def snapshot(self) -> bool:
        """True when the book was replaced as a whole, False when levels changed in place."""
    @property
    def sequence(self) -> int | None:
        """The venue's last applied update id (Binance/Backpack `u`); None where the venue does not
        number updates."""
    @property
    def checksum(self) -> int | None:
        """The venue's checksum, verified against the book (Kraken CRC32); None elsewhere."""
    @property
    def exch_ns(self) -> int | None:
        """The venue's event time, ns since the epoch; None when the message carries none."""
    @property
    def recv_ns(self) -> int:
        """Local wall-clock receive stamp of the frame, ns since the epoch (`CLOCK_REALTIME`)."""

@final
class TradeEvent:
    """One public trade; `side` is the aggressor, `"buy"` or `"sell"`."""

    @property
    def symbol(self) -> str:
        """The instrument as the venue spells it (`BTC/USD`, `BTCUSDT`, `SOL_USDC`, `KRW-BTC`)."""
    @property
    def symbol_id(self) -> int:
        """The feed's id of `symbol` (what `add_instrument` returned)."""
    @property
    def price(self) -> int:
        """Trade price in quote currency, an int mantissa at `price_scale` decimals."""
    @property
    def qty(self) -> int:
        """Traded quantity in base currency, an int mantissa at `qty_scale` decimals."""
    @property
    def side(self) -> _Side:
        """The aggressor (taker) side: `"buy"` or `"sell"`."""
    @property
    def trade_id(self) -> int:
        """The venue's trade id (Binance `aggTrade`: the aggregate id)."""
    @property
    def aggregated(self) -> bool:
        """True for a Binance `aggTrade` (several fills of one taker order at one price)."""
    @property
    def price_scale(self) -> int:
        """Decimals of the prices: a price is `mantissa / 10**price_scale` in quote currency."""
    @property
    def qty_scale(self) -> int:
        """Decimals of the quantities: a quantity is `mantissa / 10**qty_scale` in base currency."""
    @property
    def exch_ns(self) -> int:
        """The venue's trade time, ns since the epoch."""
    @property
    def recv_ns(self) -> int:
        """Local wall-clock receive stamp of the frame, ns since the epoch (`CLOCK_REALTIME`)."""

@final
class TradeBatchEvent:
    """Several trades in one frame (Kraken)."""

    @property
    def trades(self) -> tuple[TradeEvent, ...]:
        """The frame's trades, in wire order (a stream delivers each on the `trade` channel)."""
    @property
    def recv_ns(self) -> int:
        """Local wall-clock receive stamp of the frame, ns since the epoch (`CLOCK_REALTIME`)."""

@final
class QuoteEvent:
    """Best bid and offer as the venue publishes it (`bookTicker`)."""

    @property
    def symbol(self) -> str:
        """The instrument as the venue spells it (`BTC/USD`, `BTCUSDT`, `SOL_USDC`, `KRW-BTC`)."""
    @property
    def symbol_id(self) -> int:
        """The feed's id of `symbol` (what `add_instrument` returned)."""
    @property
    def bid_price(self) -> int:
        """Best bid price in quote currency, a mantissa at `price_scale`."""
    @property
    def bid_qty(self) -> int:
        """Quantity at the best bid in base currency, a mantissa at `qty_scale`."""
    @property
    def ask_price(self) -> int:
        """Best ask price in quote currency, a mantissa at `price_scale`."""
    @property
    def ask_qty(self) -> int:
        """Quantity at the best ask in base currency, a mantissa at `qty_scale`."""
    @property
    def update_id(self) -> int | None:
        """The book update id this quote reflects, where the venue sends one (Binance `u`)."""
    @property
    def price_scale(self) -> int:
        """Decimals of the prices: a price is `mantissa / 10**price_scale` in quote currency."""
    @property
    def qty_scale(self) -> int:
        """Decimals of the quantities: a quantity is `mantissa / 10**qty_scale` in base currency."""
    @property
    def exch_ns(self) -> int | None:
        """The venue's event time, ns since the epoch; None when it sends none (Binance spot
        `bookTicker`)."""
    @property
    def recv_ns(self) -> int:
        """Local wall-clock receive stamp of the frame, ns since the epoch (`CLOCK_REALTIME`)."""

@final
class TickerEvent:
    """Rolling statistics; fields the venue omits are None."""

    @property
    def symbol(self) -> str:
        """The instrument as the venue spells it (`BTC/USD`, `BTCUSDT`, `SOL_USDC`, `KRW-BTC`)."""
    @property
    def symbol_id(self) -> int:
        """The feed's id of `symbol` (what `add_instrument` returned)."""
    @property
    def last(self) -> int:
        """Last trade price in quote currency, a mantissa at `price_scale`."""
    @property
    def open(self) -> int | None:
        """Opening price of the venue's window (24 h; Upbit: the day's), a mantissa at
        `price_scale`; None on Kraken."""
    @property
    def high(self) -> int | None:
        """Highest price of the venue's window, a mantissa at `price_scale`."""
    @property
    def low(self) -> int | None:
        """Lowest price of the venue's window, a mantissa at `price_scale`."""
    @property
    def volume(self) -> int | None:
        """Traded volume over 24 h in base currency, a mantissa at `qty_scale`."""
    @property
    def bid(self) -> tuple[int, int] | None:
        """Best bid as `(price, qty)` mantissas (Kraken only)."""
    @property
    def ask(self) -> tuple[int, int] | None:
        """Best ask as `(price, qty)` mantissas (Kraken only)."""
    @property
    def price_scale(self) -> int:
        """Decimals of the prices: a price is `mantissa / 10**price_scale` in quote currency."""
    @property
    def qty_scale(self) -> int:
        """Decimals of the quantities: a quantity is `mantissa / 10**qty_scale` in base currency."""
    @property
    def exch_ns(self) -> int | None:
        """The venue's event time, ns since the epoch; None when the message carries none."""
    @property
    def recv_ns(self) -> int:
        """Local wall-clock receive stamp of the frame, ns since the epoch (`CLOCK_REALTIME`)."""

@final
class ResyncEvent:
    """A symbol's book cannot be trusted. `action`: `"resubscribe"` | `"fetch_snapshot"`;
    `reason`: `initial`, `checksum_mismatch`, `sequence_gap`, `stale_snapshot`, `crossed`,
    `buffer_overflow`, `snapshot_failed` (a REST snapshot attempt failed; another follows);
    `detail` the two numbers involved, where there are any."""

    @property
    def symbol(self) -> str:
        """The instrument as the venue spells it (`BTC/USD`, `BTCUSDT`, `SOL_USDC`, `KRW-BTC`)."""
    @property
    def symbol_id(self) -> int:
        """The feed's id of `symbol` (what `add_instrument` returned)."""
    @property
    def reason(self) -> _ResyncReason:
        """Why the book is not trusted: `initial`, `checksum_mismatch`, `sequence_gap`,
        `stale_snapshot`, `crossed`, `buffer_overflow` or `snapshot_failed`."""
    @property
    def action(self) -> _ResyncAction:
        """What rebuilds it: `"resubscribe"` (Kraken, Upbit) or `"fetch_snapshot"` (a REST snapshot
        passed to `apply_snapshot`: Binance, Backpack)."""
    @property
    def detail(self) -> tuple[int, int] | None:
        """The two numbers involved: checksums (expected, computed), update ids (expected, received)
        or (snapshot id, first update id), prices (bid, ask) as mantissas; None for `initial`,
        `buffer_overflow` and `snapshot_failed`."""
    @property
    def exch_ns(self) -> int | None:
        """The venue's event time, ns since the epoch; None when the message carries none."""
    @property
    def recv_ns(self) -> int:
        """Local wall-clock receive stamp of the frame, ns since the epoch (`CLOCK_REALTIME`)."""

@final
class StatusEvent:
    """`online`, `cancel_only`, `post_only`, `maintenance`, `shutting_down` or `other`."""

    @property
    def status(self) -> _Status:
        """`online`, `cancel_only`, `post_only`, `maintenance`, `shutting_down` (a reconnect
        follows) or `other`."""
    @property
    def recv_ns(self) -> int:
        """Local wall-clock receive stamp of the frame, ns since the epoch (`CLOCK_REALTIME`)."""

@final
class HeartbeatEvent:
    """A keep-alive frame."""

    @property
    def recv_ns(self) -> int:
        """Local wall-clock receive stamp of the frame, ns since the epoch (`CLOCK_REALTIME`)."""

@final
class ReplyEvent:
    """A reply to a request sent on the connection (subscribe ack, pong, error)."""

    @property
    def method(self) -> str | None:
        """The method the reply names (`subscribe`, `pong`, ...), or None."""
    @property
    def req_id(self) -> int | None:
        """The id of the request answered, or None."""
    @property
    def success(self) -> bool:
        """Whether the venue reports success."""
    @property
    def error(self) -> str | None:
        """The venue's error text, or None."""
    @property
    def recv_ns(self) -> int:
        """Local wall-clock receive stamp of the frame, ns since the epoch (`CLOCK_REALTIME`)."""

@final
class InstrumentsEvent:
    """Kraken `instrument` channel; read `KrakenFeed.pair_precisions()`."""

    @property
    def count(self) -> int:
        """How many pairs the message listed."""
    @property
    def recv_ns(self) -> int:
        """Local wall-clock receive stamp of the frame, ns since the epoch (`CLOCK_REALTIME`)."""

@final
class OtherEvent:
    """A frame the decoder does not handle: `kind` is `"unrecognized"` or `"unparsable"`."""

    @property
    def kind(self) -> _OtherKind:
        """`"unrecognized"` (JSON the decoder does not handle) or `"unparsable"` (not JSON)."""
    @property
    def recv_ns(self) -> int:
        """Local wall-clock receive stamp of the frame, ns since the epoch (`CLOCK_REALTIME`)."""

@final
class BookState:
    """Health of one symbol's book."""

    @property
    def valid(self) -> bool:
        """Whether the book matches the venue's: synced, checksum verified, in sequence."""
    @property
    def stale(self) -> bool:
        """Whether the stream's liveness watchdog found the book's subscription silent for 2x
        its expected interval and no frame came since (the book is as it was then: `valid`
        may still be True)."""
    @property
    def sequence(self) -> int | None:
        """The last applied update id (Binance/Backpack `u`), or None."""
    @property
    def checksum(self) -> int | None:
        """The last verified checksum (Kraken CRC32), or None."""
    @property
    def resyncs(self) -> int:
        """Times the book was thrown away (checksum mismatch, gap, crossed, stale snapshot)."""
    @property
    def updates(self) -> int:
        """Book messages applied."""
    @property
    def exch_ns(self) -> int | None:
        """The venue's time of the last applied book message, ns since the epoch, or None."""
    @property
    def recv_ns(self) -> int:
        """Wall-clock receive stamp of the last book message applied (or found wrong), ns since
        the epoch; 0 before any."""

@final
class BookView:
    """A live view of one symbol's book: each call reads the Rust book as it is now."""

    @property
    def symbol(self) -> str:
        """The instrument as the venue spells it (`BTC/USD`, `BTCUSDT`, `SOL_USDC`, `KRW-BTC`)."""
    @property
    def symbol_id(self) -> int:
        """The feed's id of `symbol` (what `add_instrument` returned)."""
    @property
    def price_scale(self) -> int:
        """Decimals of the prices: a price is `mantissa / 10**price_scale` in quote currency."""
    @property
    def qty_scale(self) -> int:
        """Decimals of the quantities: a quantity is `mantissa / 10**qty_scale` in base currency."""
    @property
    def stale(self) -> bool:
        """Whether the stream's liveness watchdog found this book's subscription silent for 2x
        its expected interval (and no frame came since): the book is as it was then."""
    @property
    def state(self) -> BookState:
        """The book's health now (`BookState`)."""
    @property
    def valid(self) -> bool:
        """Whether the book is valid now (`state.valid`)."""
    @property
    def exch_ns(self) -> int | None:
        """`state.exch_ns`: the venue's time of the last applied book message, ns, or None."""
    @property
    def recv_ns(self) -> int:
        """`state.recv_ns`: wall-clock receive stamp of the last applied book message, ns."""
    def best_bid(self) -> tuple[int, int] | None:
        """Best bid as `(price, qty)` mantissas at `price_scale` / `qty_scale`, or None."""
    def best_ask(self) -> tuple[int, int] | None:
        """Best ask as `(price, qty)` mantissas at `price_scale` / `qty_scale`, or None."""
    def top(self, n: int = 10) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        """The best `n` levels of each side: `((bids...), (asks...))`, each level `(price, qty)`
        mantissas, best first."""
    def bids(self, n: int = 10) -> tuple[tuple[int, int], ...]:
        """The best `n` bids as `(price, qty)` mantissas, best (highest) first."""
    def asks(self, n: int = 10) -> tuple[tuple[int, int], ...]:
        """The best `n` asks as `(price, qty)` mantissas, best (lowest) first."""
    def depth(self) -> tuple[int, int]:
        """Levels held per side now: `(bids, asks)`."""

_Event = (
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

@final
class KrakenFeed:
    """Kraken spot WS v2 decoder and books (CRC32-verified after every message).

    Every method taking a `symbol_id` raises `hftpy.errors.UnknownSymbolError` (a `FeedError`
    and a `LookupError`) for an id that `add_instrument` did not return."""

    def __new__(cls) -> KrakenFeed: ...
    def add_instrument(
        self, symbol: str, price_scale: int, qty_scale: int, depth: int = ...
    ) -> int:
        """Registers a symbol (venue spelling); returns its id. Raises
        `hftpy.errors.InstrumentError` for a symbol already registered, a scale above 18 or a
        depth of 0."""
    def feed(self, payload: Buffer, recv_ns: int) -> _Event | None:
        """Decodes one frame (not copied) and applies it. A frame that cannot be decoded raises
        a `hftpy.errors.FeedError` subclass: `MalformedFrameError` (not well-formed JSON),
        `MissingFieldError`, `BadFieldError`, `BadNumberError` (`TooPreciseError`,
        `NumberOverflowError`: a price or size the symbol's scales cannot hold) or
        `UnknownSymbolError` (a symbol not registered here)."""
    def symbol_id(self, symbol: str) -> int:
        """The id of a registered symbol (any spelling the feed accepts); raises
        `hftpy.errors.UnknownSymbolError` for an unknown one."""
    def symbols(self) -> list[str]:
        """The registered symbols, in id order."""
    def scales(self, symbol_id: int) -> tuple[int, int]:
        """`(price_scale, qty_scale)` of a symbol id: the decimals of its prices and quantities."""
    def best_bid(self, symbol_id: int) -> tuple[int, int] | None:
        """Best bid of a symbol id as `(price, qty)` mantissas, or None."""
    def best_ask(self, symbol_id: int) -> tuple[int, int] | None:
        """Best ask of a symbol id as `(price, qty)` mantissas, or None."""
    def top(
        self, symbol_id: int, n: int = 10
    ) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        """The best `n` levels of each side: `((bids...), (asks...))`, each level `(price, qty)`
        mantissas, best first."""
    def state(self, symbol_id: int) -> BookState:
        """The health of a symbol id's book (`BookState`)."""
    def set_stale(self, symbol_id: int, stale: bool) -> None:
        """Marks the symbol's book stale (its subscription went silent) or live again;
        `state().stale` and `book().stale` say so. The stream's watchdog sets it."""
    def book(self, symbol_id: int) -> BookView:
        """A live view of a symbol id's book (`BookView`)."""
    def __len__(self) -> int: ...
    def reset(self) -> None:
        """Forgets every book and its state (same symbols and ids)."""
    def pair_precisions(self) -> list[tuple[str, int, int]]:
        """(symbol, price_precision, qty_precision) of the last `instrument` message."""

@final
class BinanceFeed:
    """Binance spot market streams: diff depth synced with a REST snapshot, trades, bookTicker.

    Every method taking a `symbol_id` raises `hftpy.errors.UnknownSymbolError` (a `FeedError`
    and a `LookupError`) for an id that `add_instrument` did not return."""

    def __new__(cls) -> BinanceFeed: ...
    def add_instrument(
        self, symbol: str, price_scale: int, qty_scale: int, depth: int = ...
    ) -> int:
        """Registers a symbol (venue spelling); returns its id. Prices and sizes are kept at
        no fewer than 8 decimals (what Binance prints), whatever scales are passed, so levels
        finer than the tick / lot size are read; the views and events say the scale. Raises
        `hftpy.errors.InstrumentError` for a symbol already registered, a scale above 18 or a
        depth of 0."""
    def feed(self, payload: Buffer, recv_ns: int) -> _Event | None:
        """Decodes one frame (not copied) and applies it. A frame that cannot be decoded raises
        a `hftpy.errors.FeedError` subclass: `MalformedFrameError` (not well-formed JSON),
        `MissingFieldError`, `BadFieldError`, `BadNumberError` (`TooPreciseError`,
        `NumberOverflowError`: a price or size the symbol's scales cannot hold) or
        `UnknownSymbolError` (a symbol not registered here)."""
    def symbol_id(self, symbol: str) -> int:
        """The id of a registered symbol (any spelling the feed accepts); raises
        `hftpy.errors.UnknownSymbolError` for an unknown one."""
    def symbols(self) -> list[str]:
        """The registered symbols, in id order."""
    def scales(self, symbol_id: int) -> tuple[int, int]:
        """`(price_scale, qty_scale)` of a symbol id: the decimals of its prices and quantities."""
    def best_bid(self, symbol_id: int) -> tuple[int, int] | None:
        """Best bid of a symbol id as `(price, qty)` mantissas, or None."""
    def best_ask(self, symbol_id: int) -> tuple[int, int] | None:
        """Best ask of a symbol id as `(price, qty)` mantissas, or None."""
    def top(
        self, symbol_id: int, n: int = 10
    ) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        """The best `n` levels of each side: `((bids...), (asks...))`, each level `(price, qty)`
        mantissas, best first."""
    def state(self, symbol_id: int) -> BookState:
        """The health of a symbol id's book (`BookState`)."""
    def set_stale(self, symbol_id: int, stale: bool) -> None:
        """Marks the symbol's book stale (its subscription went silent) or live again;
        `state().stale` and `book().stale` say so. The stream's watchdog sets it."""
    def book(self, symbol_id: int) -> BookView:
        """A live view of a symbol id's book (`BookView`)."""
    def __len__(self) -> int: ...
    def reset(self) -> None:
        """Forgets every book and its state (same symbols and ids)."""
    def apply_snapshot(self, symbol_id: int, body: Buffer, recv_ns: int) -> _Event:
        """Applies a REST depth snapshot body and replays the diffs buffered meanwhile; a body
        that cannot be decoded raises the `hftpy.errors.FeedError` subclasses `feed` does."""
    def snapshot_failed(self, symbol_id: int, recv_ns: int) -> ResyncEvent:
        """The `ResyncEvent` (reason `snapshot_failed`) reporting a failed REST snapshot attempt;
        the book is left as it is."""

@final
class BackpackFeed:
    """Backpack public streams: depth synced with a REST snapshot, trades, bookTicker, ticker.

    Every method taking a `symbol_id` raises `hftpy.errors.UnknownSymbolError` (a `FeedError`
    and a `LookupError`) for an id that `add_instrument` did not return."""

    def __new__(cls) -> BackpackFeed: ...
    def add_instrument(
        self, symbol: str, price_scale: int, qty_scale: int, depth: int = ...
    ) -> int:
        """Registers a symbol (venue spelling); returns its id. Raises
        `hftpy.errors.InstrumentError` for a symbol already registered, a scale above 18 or a
        depth of 0."""
    def feed(self, payload: Buffer, recv_ns: int) -> _Event | None:
        """Decodes one frame (not copied) and applies it. A frame that cannot be decoded raises
        a `hftpy.errors.FeedError` subclass: `MalformedFrameError` (not well-formed JSON),
        `MissingFieldError`, `BadFieldError`, `BadNumberError` (`TooPreciseError`,
        `NumberOverflowError`: a price or size the symbol's scales cannot hold) or
        `UnknownSymbolError` (a symbol not registered here)."""
    def symbol_id(self, symbol: str) -> int:
        """The id of a registered symbol (any spelling the feed accepts); raises
        `hftpy.errors.UnknownSymbolError` for an unknown one."""
    def symbols(self) -> list[str]:
        """The registered symbols, in id order."""
    def scales(self, symbol_id: int) -> tuple[int, int]:
        """`(price_scale, qty_scale)` of a symbol id: the decimals of its prices and quantities."""
    def best_bid(self, symbol_id: int) -> tuple[int, int] | None:
        """Best bid of a symbol id as `(price, qty)` mantissas, or None."""
    def best_ask(self, symbol_id: int) -> tuple[int, int] | None:
        """Best ask of a symbol id as `(price, qty)` mantissas, or None."""
    def top(
        self, symbol_id: int, n: int = 10
    ) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        """The best `n` levels of each side: `((bids...), (asks...))`, each level `(price, qty)`
        mantissas, best first."""
    def state(self, symbol_id: int) -> BookState:
        """The health of a symbol id's book (`BookState`)."""
    def set_stale(self, symbol_id: int, stale: bool) -> None:
        """Marks the symbol's book stale (its subscription went silent) or live again;
        `state().stale` and `book().stale` say so. The stream's watchdog sets it."""
    def book(self, symbol_id: int) -> BookView:
        """A live view of a symbol id's book (`BookView`)."""
    def __len__(self) -> int: ...
    def reset(self) -> None:
        """Forgets every book and its state (same symbols and ids)."""
    def apply_snapshot(self, symbol_id: int, body: Buffer, recv_ns: int) -> _Event:
        """Applies a REST depth snapshot body and replays the diffs buffered meanwhile; a body
        that cannot be decoded raises the `hftpy.errors.FeedError` subclasses `feed` does."""
    def snapshot_failed(self, symbol_id: int, recv_ns: int) -> ResyncEvent:
        """The `ResyncEvent` (reason `snapshot_failed`) reporting a failed REST snapshot attempt;
        the book is left as it is."""

@final
class UpbitFeed:
    """Upbit quotation stream (DEFAULT or SIMPLE keys); each orderbook message replaces the book.

    Every method taking a `symbol_id` raises `hftpy.errors.UnknownSymbolError` (a `FeedError`
    and a `LookupError`) for an id that `add_instrument` did not return."""

    def __new__(cls) -> UpbitFeed: ...
    def add_instrument(
        self, symbol: str, price_scale: int, qty_scale: int, depth: int = ...
    ) -> int:
        """Registers a symbol (venue spelling); returns its id. Raises
        `hftpy.errors.InstrumentError` for a symbol already registered, a scale above 18 or a
        depth of 0."""
    def feed(self, payload: Buffer, recv_ns: int) -> _Event | None:
        """Decodes one frame (not copied) and applies it. A frame that cannot be decoded raises
        a `hftpy.errors.FeedError` subclass: `MalformedFrameError` (not well-formed JSON),
        `MissingFieldError`, `BadFieldError`, `BadNumberError` (`TooPreciseError`,
        `NumberOverflowError`: a price or size the symbol's scales cannot hold) or
        `UnknownSymbolError` (a symbol not registered here)."""
    def symbol_id(self, symbol: str) -> int:
        """The id of a registered symbol (any spelling the feed accepts); raises
        `hftpy.errors.UnknownSymbolError` for an unknown one."""
    def symbols(self) -> list[str]:
        """The registered symbols, in id order."""
    def scales(self, symbol_id: int) -> tuple[int, int]:
        """`(price_scale, qty_scale)` of a symbol id: the decimals of its prices and quantities."""
    def best_bid(self, symbol_id: int) -> tuple[int, int] | None:
        """Best bid of a symbol id as `(price, qty)` mantissas, or None."""
    def best_ask(self, symbol_id: int) -> tuple[int, int] | None:
        """Best ask of a symbol id as `(price, qty)` mantissas, or None."""
    def top(
        self, symbol_id: int, n: int = 10
    ) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        """The best `n` levels of each side: `((bids...), (asks...))`, each level `(price, qty)`
        mantissas, best first."""
    def state(self, symbol_id: int) -> BookState:
        """The health of a symbol id's book (`BookState`)."""
    def set_stale(self, symbol_id: int, stale: bool) -> None:
        """Marks the symbol's book stale (its subscription went silent) or live again;
        `state().stale` and `book().stale` say so. The stream's watchdog sets it."""
    def book(self, symbol_id: int) -> BookView:
        """A live view of a symbol id's book (`BookView`)."""
    def __len__(self) -> int: ...
    def reset(self) -> None:
        """Forgets every book and its state (same symbols and ids)."""

# -- signing and rate limiting (rust/py/auth.rs) -------------------------------------------

@final
class Ed25519Signer:
    """Ed25519 signer from a PKCS#8 PEM, a base64 32-byte seed (or 64-byte keypair) or a
    hex seed; prints as `***`."""

    def __new__(cls, key: str) -> Ed25519Signer:
        """Raises `hftpy.errors.ConfigError` for a key in none of those forms."""
    def sign(self, message: bytes) -> str:
        """Base64 signature (computed with the GIL released)."""

    @property
    def public_key(self) -> str:
        """The base64 public key (Backpack's `X-API-Key`)."""

@final
class HmacSha256Signer:
    """HMAC-SHA256 signer (Binance); prints as `***`."""

    def __new__(cls, secret: str) -> HmacSha256Signer:
        """Raises `hftpy.errors.ConfigError` for an empty secret."""
    def sign(self, message: bytes) -> str:
        """Lower-case hex signature."""

@final
class UpbitSigner:
    """Upbit JWT signer (HS256 or HS512); prints as `***`."""

    def __new__(cls, access_key: str, secret: str, alg: str = "HS512") -> UpbitSigner:
        """Raises `hftpy.errors.ConfigError` for an empty key or secret or another `alg`."""
    def token(self, nonce: str, query: str | None = None) -> str:
        """A JWT for one request; `query` is the unencoded query string as sent."""

def sha512_hex(message: bytes) -> str:
    """SHA-512 of `message`, lower-case hex."""

@final
class KrakenFrames:
    """The request frames of one Kraken WS v2 connection (its token, as a JSON string):
    `build` writes `{"method","params":{"token",...params},"req_id"}` in one call, byte for
    byte the generic msgspec encoding, or None for params it does not cover (nested values,
    text to escape, numbers that are not positive). Prints as `***`."""

    def __new__(cls, token_json: bytes) -> KrakenFrames: ...
    def build(self, method: str, params: dict[str, Any], req_id: int) -> bytes | None:
        """The frame of `method` with `params` in their order, or None."""

@final
class BinanceFrames:
    """The request frames of one Binance WS API connection: `build` writes
    `{"id","method","params"}` in one call, byte for byte the generic msgspec encoding; with
    `signed` it appends `apiKey` and the `signature` over the sorted `k=v&...` (HMAC-SHA256
    hex or Ed25519 base64) and returns `(frame, signature)`. None for params it does not
    cover. Prints as `***`."""

    def __new__(
        cls, api_key: str | None = None, signer: HmacSha256Signer | Ed25519Signer | None = None
    ) -> BinanceFrames: ...
    @overload
    def build(
        self, method: str, params: dict[str, Any], req_id: int, signed: Literal[False]
    ) -> bytes | None: ...
    @overload
    def build(
        self, method: str, params: dict[str, Any], req_id: int, signed: Literal[True]
    ) -> tuple[bytes, str] | None: ...
    @overload
    def build(
        self, method: str, params: dict[str, Any], req_id: int, signed: bool
    ) -> bytes | tuple[bytes, str] | None:
        """The frame (signed: `(frame, signature)`) of `method` with `params`, or None."""

@final
class BackpackFrames:
    """Signed Backpack REST requests: `build` gives the JSON body of `params` and the base64
    Ed25519 signature of `instruction=...&k=v...&timestamp=...&window=...` (keys sorted, None
    left out), byte for byte the Python path, or None for params it does not cover. Prints as
    `***`."""

    def __new__(cls, signer: Ed25519Signer) -> BackpackFrames: ...
    def build(
        self, instruction: str, params: dict[str, Any], timestamp: int, window: int
    ) -> tuple[bytes, str] | None:
        """`(body, signature)`, or None."""

@final
class UpbitFrames:
    """Signed Upbit REST requests with a JSON body: `build` gives the body of `params` and the
    JWT bound to their unencoded `k=v&...` query string by `query_hash` (a fresh nonce unless
    one is given), byte for byte the Python path, or None for params it does not cover.
    Prints as `***`."""

    def __new__(cls, signer: UpbitSigner) -> UpbitFrames: ...
    def build(self, params: dict[str, Any], nonce: str | None = None) -> tuple[bytes, str] | None:
        """`(body, jwt)`, or None."""

def number_text(value: object, style: int) -> str | None:
    """`value` by a venue's number text rule (0 Kraken's JSON number, 1 Binance's text,
    2 positional text), or None when the Python path must decide."""

def new_client_order_id() -> str:
    """A unique client order id: 32 lower-case hex digits shaped like a version-4 UUID."""

def new_client_id_u32() -> int:
    """The next id of the process-wide u32 sequence (Backpack's `clientId`)."""

@final
class RateLimiter:
    """Lock-free limits shared across threads and event loops. Each limit is
    `("bucket", name, capacity, refill_per_s)` or `("window", name, limit, period_s, burst)`;
    a limit of another shape, a zero capacity or a rate or period that is not finite and
    positive raises `hftpy.errors.ConfigError`. The methods taking a limit index raise
    `hftpy.errors.UnknownLimitError` (a `LookupError`) for an index past the last limit."""

    def __new__(
        cls, limits: list[tuple[str, str, int, float] | tuple[str, str, int, float, int]]
    ) -> RateLimiter: ...
    def index(self, name: str) -> int:
        """The index of the limit called `name`; raises `hftpy.errors.UnknownLimitError` (a
        `LookupError`) when there is none."""

    @property
    def names(self) -> list[str]:
        """The limits' names, in index order."""
    def try_acquire(self, costs: list[tuple[int, int]]) -> int:
        """Takes `units` from every `(index, units)` or nothing: 0 when granted, else the ns
        to wait before the same request could be granted."""

    def resync(self, index: int, used: int) -> None:
        """Tightens a limit to the venue's count of `used` units (never loosens it)."""

    def block_for(self, index: int, seconds: float) -> None:
        """Empties a limit for `seconds` (a venue's Retry-After)."""

    def available(self, index: int) -> int:
        """Units of a limit that could be taken now."""

# -- latency statistics (rust/py/stats.rs) ------------------------------------------------------

@final
class LatencyStats:
    """Latency histograms per key (HDR, 3 significant digits: exact below 2048 ns, within
    0.1% above; 1 ns to 1 h, longer samples count as 1 h in the percentiles). Every value is
    int nanoseconds. A negative sample (a venue clock ahead of ours) is counted apart, never
    put into the histogram or clamped to 0. Recording allocates nothing and takes no lock."""

    def __new__(cls) -> LatencyStats: ...
    def key(self, name: str) -> int:
        """The id of key `name`, made on first use; ids stay valid across `reset()`. Look it
        up once and record by id."""

    def name(self, key: int) -> str:
        """The name of key id `key`; raises `hftpy.errors.UnknownLatencyKeyError` (a
        `LookupError`) for an id `key()` never returned."""

    def record(self, key: int, value_ns: int) -> None:
        """Records one sample of `value_ns` nanoseconds (negative allowed) under key id
        `key`; raises `hftpy.errors.UnknownLatencyKeyError` for an unknown id (as do
        `record_since` and `record_event`)."""

    def record_since(self, key: int, start_mono_ns: int) -> None:
        """Records `mono_ns() - start_mono_ns` ns: the time since a monotonic stamp
        (CLOCK_MONOTONIC, the clock of `time.monotonic_ns()`)."""

    def record_event(
        self, exch_key: int, recv_key: int, exch_ns: int | None, recv_ns: int, recv_mono_ns: int
    ) -> None:
        """A stream event's two delays in one call: `recv_ns - exch_ns` (wall-clock ns; skipped
        when `exch_ns` is None or 0) under `exch_key`, then `mono_ns() - recv_mono_ns`
        (monotonic ns) under `recv_key`."""

    def summary(self) -> dict[str, tuple[int, int, int, int, int, int, int, int]]:
        """`{name: (count, p50_ns, p90_ns, p99_ns, p999_ns, max_ns, min_ns, negative)}` for
        every key with a sample, in ns. `count` is the non-negative samples, which the
        percentiles describe (each the top of its 3-digit bucket); `negative` the samples
        below 0; `min_ns` / `max_ns` the exact extremes of all samples, so `min_ns` is the
        most negative one when `negative > 0`. The fields of
        `hftpy.exchange.stats.LatencySummary`, in order."""

    def reset(self) -> None:
        """Forgets every sample; the keys and their ids stay."""

    def __len__(self) -> int:
        """The number of keys."""
