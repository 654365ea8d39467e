"""Stub for the Rust extension `hftpy._core` (rust/py/)."""

from typing import final

from typing_extensions import Buffer

__all__ = [
    "BackpackFeed",
    "BinanceFeed",
    "BookEvent",
    "BookState",
    "BookView",
    "Ed25519Signer",
    "HeartbeatEvent",
    "HmacSha256Signer",
    "InstrumentsEvent",
    "KrakenFeed",
    "KrakenSigner",
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
    "UpbitSigner",
    "__version__",
    "format_fixed",
    "hmac_sha256_hex",
    "mono_ns",
    "parse_fixed",
    "parse_natural",
    "sha512_hex",
    "wall_ns",
]

__version__: str

def wall_ns() -> int:
    """Wall-clock nanoseconds since the Unix epoch (CLOCK_REALTIME)."""

def mono_ns() -> int:
    """Monotonic nanoseconds (CLOCK_MONOTONIC, the clock of `time.monotonic_ns()`)."""

def parse_fixed(text: str | bytes, scale: int) -> int:
    """Decimal text as an integer mantissa at `scale`; raises `hftpy.errors.DecimalError`
    when digits would be lost or the value overflows 64 bits."""

def parse_natural(text: str | bytes) -> tuple[int, int]:
    """Decimal text at its own scale: `(mantissa, scale)`."""

def format_fixed(mantissa: int, scale: int) -> str:
    """Plain decimal text with exactly `scale` fraction digits."""

def hmac_sha256_hex(key: bytes, message: bytes) -> str:
    """HMAC-SHA256 of `message`, lower-case hex."""

@final
class KrakenSigner:
    """Kraken REST `API-Sign` signer holding the decoded secret; prints as `***`."""

    def __new__(cls, secret: str) -> KrakenSigner: ...
    def sign(self, uri_path: str, nonce: str, body: bytes) -> str:
        """HMAC-SHA512(secret, uri_path + SHA256(nonce + body)), base64."""

# -- market data (rust/py/market.rs) ------------------------------------------------------------
# Prices and sizes are int mantissas at the instrument's scales; stamps are int nanoseconds.

@final
class BookEvent:
    """A symbol's book changed and is valid."""

    @property
    def symbol(self) -> str: ...
    @property
    def symbol_id(self) -> int: ...
    @property
    def snapshot(self) -> bool: ...
    @property
    def sequence(self) -> int | None: ...
    @property
    def checksum(self) -> int | None: ...
    @property
    def exch_ns(self) -> int | None: ...
    @property
    def recv_ns(self) -> int: ...

@final
class TradeEvent:
    """One public trade; `side` is the aggressor, `"buy"` or `"sell"`."""

    @property
    def symbol(self) -> str: ...
    @property
    def symbol_id(self) -> int: ...
    @property
    def price(self) -> int: ...
    @property
    def qty(self) -> int: ...
    @property
    def side(self) -> str: ...
    @property
    def trade_id(self) -> int: ...
    @property
    def aggregated(self) -> bool: ...
    @property
    def price_scale(self) -> int: ...
    @property
    def qty_scale(self) -> int: ...
    @property
    def exch_ns(self) -> int: ...
    @property
    def recv_ns(self) -> int: ...

@final
class TradeBatchEvent:
    """Several trades in one frame (Kraken)."""

    @property
    def trades(self) -> tuple[TradeEvent, ...]: ...
    @property
    def recv_ns(self) -> int: ...

@final
class QuoteEvent:
    """Best bid and offer as the venue publishes it (`bookTicker`)."""

    @property
    def symbol(self) -> str: ...
    @property
    def symbol_id(self) -> int: ...
    @property
    def bid_price(self) -> int: ...
    @property
    def bid_qty(self) -> int: ...
    @property
    def ask_price(self) -> int: ...
    @property
    def ask_qty(self) -> int: ...
    @property
    def update_id(self) -> int | None: ...
    @property
    def price_scale(self) -> int: ...
    @property
    def qty_scale(self) -> int: ...
    @property
    def exch_ns(self) -> int | None: ...
    @property
    def recv_ns(self) -> int: ...

@final
class TickerEvent:
    """Rolling statistics; fields the venue omits are None."""

    @property
    def symbol(self) -> str: ...
    @property
    def symbol_id(self) -> int: ...
    @property
    def last(self) -> int: ...
    @property
    def open(self) -> int | None: ...
    @property
    def high(self) -> int | None: ...
    @property
    def low(self) -> int | None: ...
    @property
    def volume(self) -> int | None: ...
    @property
    def bid(self) -> tuple[int, int] | None: ...
    @property
    def ask(self) -> tuple[int, int] | None: ...
    @property
    def price_scale(self) -> int: ...
    @property
    def qty_scale(self) -> int: ...
    @property
    def exch_ns(self) -> int | None: ...
    @property
    def recv_ns(self) -> int: ...

@final
class ResyncEvent:
    """A symbol's book cannot be trusted. `action`: `"resubscribe"` | `"fetch_snapshot"`;
    `reason`: `initial`, `checksum_mismatch`, `sequence_gap`, `stale_snapshot`, `crossed`,
    `buffer_overflow`; `detail` the two numbers involved, where there are any."""

    @property
    def symbol(self) -> str: ...
    @property
    def symbol_id(self) -> int: ...
    @property
    def reason(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def detail(self) -> tuple[int, int] | None: ...
    @property
    def exch_ns(self) -> int | None: ...
    @property
    def recv_ns(self) -> int: ...

@final
class StatusEvent:
    """`online`, `cancel_only`, `post_only`, `maintenance`, `shutting_down` or `other`."""

    @property
    def status(self) -> str: ...
    @property
    def recv_ns(self) -> int: ...

@final
class HeartbeatEvent:
    @property
    def recv_ns(self) -> int: ...

@final
class ReplyEvent:
    """A reply to a request sent on the connection (subscribe ack, pong, error)."""

    @property
    def method(self) -> str | None: ...
    @property
    def req_id(self) -> int | None: ...
    @property
    def success(self) -> bool: ...
    @property
    def error(self) -> str | None: ...
    @property
    def recv_ns(self) -> int: ...

@final
class InstrumentsEvent:
    """Kraken `instrument` channel; read `KrakenFeed.pair_precisions()`."""

    @property
    def count(self) -> int: ...
    @property
    def recv_ns(self) -> int: ...

@final
class OtherEvent:
    """A frame the decoder does not handle: `kind` is `"unrecognized"` or `"unparsable"`."""

    @property
    def kind(self) -> str: ...
    @property
    def recv_ns(self) -> int: ...

@final
class BookState:
    """Health of one symbol's book."""

    @property
    def valid(self) -> bool: ...
    @property
    def sequence(self) -> int | None: ...
    @property
    def checksum(self) -> int | None: ...
    @property
    def resyncs(self) -> int: ...
    @property
    def updates(self) -> int: ...
    @property
    def exch_ns(self) -> int | None: ...
    @property
    def recv_ns(self) -> int: ...

@final
class BookView:
    """A live view of one symbol's book: each call reads the Rust book as it is now."""

    @property
    def symbol(self) -> str: ...
    @property
    def symbol_id(self) -> int: ...
    @property
    def price_scale(self) -> int: ...
    @property
    def qty_scale(self) -> int: ...
    @property
    def state(self) -> BookState: ...
    @property
    def valid(self) -> bool: ...
    @property
    def exch_ns(self) -> int | None: ...
    @property
    def recv_ns(self) -> int: ...
    def best_bid(self) -> tuple[int, int] | None: ...
    def best_ask(self) -> tuple[int, int] | None: ...
    def top(
        self, n: int = 10
    ) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]: ...
    def bids(self, n: int = 10) -> tuple[tuple[int, int], ...]: ...
    def asks(self, n: int = 10) -> tuple[tuple[int, int], ...]: ...
    def depth(self) -> tuple[int, int]: ...

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
    """Kraken spot WS v2 decoder and books (CRC32-verified after every message)."""

    def __new__(cls) -> KrakenFeed: ...
    def add_instrument(
        self, symbol: str, price_scale: int, qty_scale: int, depth: int = ...
    ) -> int:
        """Registers a symbol (venue spelling); returns its id."""
    def feed(self, payload: Buffer, recv_ns: int) -> _Event | None:
        """Decodes one frame (not copied) and applies it; raises `hftpy.errors.FeedError`."""
    def symbol_id(self, symbol: str) -> int: ...
    def symbols(self) -> list[str]: ...
    def scales(self, symbol_id: int) -> tuple[int, int]: ...
    def best_bid(self, symbol_id: int) -> tuple[int, int] | None: ...
    def best_ask(self, symbol_id: int) -> tuple[int, int] | None: ...
    def top(
        self, symbol_id: int, n: int = 10
    ) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]: ...
    def state(self, symbol_id: int) -> BookState: ...
    def book(self, symbol_id: int) -> BookView: ...
    def __len__(self) -> int: ...
    def reset(self) -> None:
        """Forgets every book and its state (same symbols and ids)."""
    def pair_precisions(self) -> list[tuple[str, int, int]]:
        """(symbol, price_precision, qty_precision) of the last `instrument` message."""

@final
class BinanceFeed:
    """Binance spot market streams: diff depth synced with a REST snapshot, trades, bookTicker."""

    def __new__(cls) -> BinanceFeed: ...
    def add_instrument(
        self, symbol: str, price_scale: int, qty_scale: int, depth: int = ...
    ) -> int:
        """Registers a symbol (venue spelling); returns its id."""
    def feed(self, payload: Buffer, recv_ns: int) -> _Event | None:
        """Decodes one frame (not copied) and applies it; raises `hftpy.errors.FeedError`."""
    def symbol_id(self, symbol: str) -> int: ...
    def symbols(self) -> list[str]: ...
    def scales(self, symbol_id: int) -> tuple[int, int]: ...
    def best_bid(self, symbol_id: int) -> tuple[int, int] | None: ...
    def best_ask(self, symbol_id: int) -> tuple[int, int] | None: ...
    def top(
        self, symbol_id: int, n: int = 10
    ) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]: ...
    def state(self, symbol_id: int) -> BookState: ...
    def book(self, symbol_id: int) -> BookView: ...
    def __len__(self) -> int: ...
    def reset(self) -> None:
        """Forgets every book and its state (same symbols and ids)."""
    def apply_snapshot(self, symbol_id: int, body: Buffer, recv_ns: int) -> _Event:
        """Applies a REST depth snapshot body and replays the diffs buffered meanwhile."""

@final
class BackpackFeed:
    """Backpack public streams: depth synced with a REST snapshot, trades, bookTicker, ticker."""

    def __new__(cls) -> BackpackFeed: ...
    def add_instrument(
        self, symbol: str, price_scale: int, qty_scale: int, depth: int = ...
    ) -> int:
        """Registers a symbol (venue spelling); returns its id."""
    def feed(self, payload: Buffer, recv_ns: int) -> _Event | None:
        """Decodes one frame (not copied) and applies it; raises `hftpy.errors.FeedError`."""
    def symbol_id(self, symbol: str) -> int: ...
    def symbols(self) -> list[str]: ...
    def scales(self, symbol_id: int) -> tuple[int, int]: ...
    def best_bid(self, symbol_id: int) -> tuple[int, int] | None: ...
    def best_ask(self, symbol_id: int) -> tuple[int, int] | None: ...
    def top(
        self, symbol_id: int, n: int = 10
    ) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]: ...
    def state(self, symbol_id: int) -> BookState: ...
    def book(self, symbol_id: int) -> BookView: ...
    def __len__(self) -> int: ...
    def reset(self) -> None:
        """Forgets every book and its state (same symbols and ids)."""
    def apply_snapshot(self, symbol_id: int, body: Buffer, recv_ns: int) -> _Event:
        """Applies a REST depth snapshot body and replays the diffs buffered meanwhile."""

@final
class UpbitFeed:
    """Upbit quotation stream (DEFAULT or SIMPLE keys); each orderbook message replaces the book."""

    def __new__(cls) -> UpbitFeed: ...
    def add_instrument(
        self, symbol: str, price_scale: int, qty_scale: int, depth: int = ...
    ) -> int:
        """Registers a symbol (venue spelling); returns its id."""
    def feed(self, payload: Buffer, recv_ns: int) -> _Event | None:
        """Decodes one frame (not copied) and applies it; raises `hftpy.errors.FeedError`."""
    def symbol_id(self, symbol: str) -> int: ...
    def symbols(self) -> list[str]: ...
    def scales(self, symbol_id: int) -> tuple[int, int]: ...
    def best_bid(self, symbol_id: int) -> tuple[int, int] | None: ...
    def best_ask(self, symbol_id: int) -> tuple[int, int] | None: ...
    def top(
        self, symbol_id: int, n: int = 10
    ) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]: ...
    def state(self, symbol_id: int) -> BookState: ...
    def book(self, symbol_id: int) -> BookView: ...
    def __len__(self) -> int: ...
    def reset(self) -> None:
        """Forgets every book and its state (same symbols and ids)."""

# -- signing and rate limiting (rust/py/auth.rs) -------------------------------------------

@final
class Ed25519Signer:
    """Ed25519 signer from a PKCS#8 PEM, a base64 32-byte seed (or 64-byte keypair) or a
    hex seed; prints as `***`."""

    def __new__(cls, key: str) -> Ed25519Signer: ...
    def sign(self, message: bytes) -> str:
        """Base64 signature (computed with the GIL released)."""

    @property
    def public_key(self) -> str:
        """The base64 public key (Backpack's `X-API-Key`)."""

@final
class HmacSha256Signer:
    """HMAC-SHA256 signer (Binance); prints as `***`."""

    def __new__(cls, secret: str) -> HmacSha256Signer: ...
    def sign(self, message: bytes) -> str:
        """Lower-case hex signature."""

@final
class UpbitSigner:
    """Upbit JWT signer (HS256 or HS512); prints as `***`."""

    def __new__(cls, access_key: str, secret: str, alg: str = "HS512") -> UpbitSigner: ...
    def token(self, nonce: str, query: str | None = None) -> str:
        """A JWT for one request; `query` is the unencoded query string as sent."""

def sha512_hex(message: bytes) -> str:
    """SHA-512 of `message`, lower-case hex."""

@final
class RateLimiter:
    """Lock-free limits shared across threads and event loops. Each limit is
    `("bucket", name, capacity, refill_per_s)` or `("window", name, limit, period_s, burst)`."""

    def __new__(
        cls, limits: list[tuple[str, str, int, float] | tuple[str, str, int, float, int]]
    ) -> RateLimiter: ...
    def index(self, name: str) -> int:
        """The index of the limit called `name`."""

    @property
    def names(self) -> list[str]: ...
    def try_acquire(self, costs: list[tuple[int, int]]) -> int:
        """Takes `units` from every `(index, units)` or nothing: 0 when granted, else the ns
        to wait before the same request could be granted."""

    def resync(self, index: int, used: int) -> None:
        """Tightens a limit to the venue's count of `used` units (never loosens it)."""

    def block_for(self, index: int, seconds: float) -> None:
        """Empties a limit for `seconds` (a venue's Retry-After)."""

    def available(self, index: int) -> int:
        """Units of a limit that could be taken now."""
