"""Venue-neutral vocabulary: exchanges, order sides and types, and currency pairs with each
venue's symbol spelling."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar, Final

from hftpy.errors import ConfigError


class Exchange(StrEnum):
    """The venues hftpy connects to; `Exchange.parse("KRAKEN")` accepts any case."""

    KRAKEN = "kraken"
    BINANCE = "binance"
    BACKPACK = "backpack"
    UPBIT = "upbit"

    @classmethod
    def parse(cls, value: Exchange | str) -> Exchange:
        """The member for `value`: an `Exchange`, or its value in any case (`"kraken"`, `"KRAKEN"`).
        Raises `ConfigError` naming the known exchanges otherwise."""
        try:
            return cls(value.lower() if isinstance(value, str) else value)
        except ValueError:
            names = ", ".join(e.value for e in cls)
            raise ConfigError(f"unknown exchange {value!r}; expected one of {names}") from None


class Side(StrEnum):
    """An order's side, spelled per venue on the wire (Kraken buy, Binance BUY, Backpack Bid)."""

    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    """Order types in Kraken's spelling; each venue maps those it supports to its own."""

    LIMIT = "limit"
    MARKET = "market"
    ICEBERG = "iceberg"
    STOP_LOSS = "stop-loss"
    STOP_LOSS_LIMIT = "stop-loss-limit"
    TAKE_PROFIT = "take-profit"
    TAKE_PROFIT_LIMIT = "take-profit-limit"
    TRAILING_STOP = "trailing-stop"
    TRAILING_STOP_LIMIT = "trailing-stop-limit"
    SETTLE_POSITION = "settle-position"


class TimeInForce(StrEnum):
    """Time in force; each venue maps those it supports (GTD is Kraken's only)."""

    GTC = "gtc"
    IOC = "ioc"
    GTD = "gtd"
    FOK = "fok"


class CurrencyPair:
    """A base/quote pair, e.g. `CurrencyPair.BTC_USD`, spelled per venue by `symbol()`:
    Kraken v2 `BTC/USD`, Binance `BTCUSDT`, Backpack `BTC_USDC`, Upbit `KRW-BTC`."""

    __slots__ = ("_symbols", "base", "quote")

    BTC_USD: ClassVar[CurrencyPair]
    ETH_USD: ClassVar[CurrencyPair]
    EUR_USD: ClassVar[CurrencyPair]
    SOL_USD: ClassVar[CurrencyPair]
    BTC_USDT: ClassVar[CurrencyPair]
    ETH_USDT: ClassVar[CurrencyPair]
    BTC_USDC: ClassVar[CurrencyPair]
    ETH_USDC: ClassVar[CurrencyPair]
    SOL_USDC: ClassVar[CurrencyPair]
    BTC_KRW: ClassVar[CurrencyPair]
    ETH_KRW: ClassVar[CurrencyPair]

    base: str
    quote: str
    _symbols: dict[str, str]

    def __init__(self, base: str, quote: str) -> None:
        if not base or not quote or not base.isalnum() or not quote.isalnum():
            raise ConfigError(f"invalid currency pair {base!r}/{quote!r}")
        object.__setattr__(self, "base", base.upper())
        object.__setattr__(self, "quote", quote.upper())
        base, quote = self.base, self.quote
        # Every venue's spelling, worked out once: `symbol()` sits on every order's path.
        # Keyed by the plain venue name, which an `Exchange` member hashes and compares as.
        spellings = {
            Exchange.KRAKEN.value: f"{base}/{quote}",
            Exchange.BINANCE.value: f"{base}{quote}",
            Exchange.BACKPACK.value: f"{base}_{quote}",
            Exchange.UPBIT.value: f"{quote}-{base}",
        }
        object.__setattr__(self, "_symbols", spellings)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("CurrencyPair is immutable")

    @classmethod
    def parse(cls, text: str) -> CurrencyPair:
        """Reads `BTC/USD`, `BTC_USD`, `BTC-USD` (base first) or a venue-specific spelling
        for which `symbol()` would produce it (`KRW-BTC` is read via `from_symbol`)."""
        for sep in ("/", "_", "-"):
            if sep in text:
                base, _, quote = text.partition(sep)
                return cls(base, quote)
        raise ConfigError(f"cannot read currency pair {text!r}: use BASE/QUOTE")

    @classmethod
    def from_symbol(cls, exchange: Exchange | str, symbol: str) -> CurrencyPair:
        """Inverse of `symbol()` for one venue."""
        ex = Exchange.parse(exchange)
        if ex is Exchange.UPBIT:
            quote, _, base = symbol.partition("-")
            return cls(base, quote)
        if ex is Exchange.BINANCE:
            for quote in _BINANCE_QUOTES:
                if symbol.upper().endswith(quote) and len(symbol) > len(quote):
                    return cls(symbol[: -len(quote)], quote)
            raise ConfigError(f"cannot split Binance symbol {symbol!r} into base and quote")
        return cls.parse(symbol)

    def symbol(self, exchange: Exchange | str) -> str:
        """This pair as `exchange` spells it."""
        spelled = self._symbols.get(exchange)
        return spelled if spelled is not None else self._symbols[Exchange.parse(exchange).value]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CurrencyPair):
            return NotImplemented
        return self.base == other.base and self.quote == other.quote

    def __hash__(self) -> int:
        return hash((self.base, self.quote))

    def __repr__(self) -> str:
        return f"CurrencyPair({self.base!r}, {self.quote!r})"

    def __str__(self) -> str:
        return f"{self.base}/{self.quote}"


# Longest first, so BTCUSDT splits as BTC + USDT rather than BTCUSD + T.
_BINANCE_QUOTES: Final = (
    "FDUSD",
    "USDT",
    "USDC",
    "TUSD",
    "BUSD",
    "BTC",
    "ETH",
    "BNB",
    "EUR",
    "TRY",
)

for _name in [
    "BTC_USD",
    "ETH_USD",
    "EUR_USD",
    "SOL_USD",
    "BTC_USDT",
    "ETH_USDT",
    "BTC_USDC",
    "ETH_USDC",
    "SOL_USDC",
    "BTC_KRW",
    "ETH_KRW",
]:
    _base, _quote = _name.split("_")
    setattr(CurrencyPair, _name, CurrencyPair(_base, _quote))


def venue_symbol(exchange: Exchange, symbol: CurrencyPair | str) -> str:
    """The venue's spelling of `symbol`; a plain string is taken as already venue-spelled."""
    if type(symbol) is CurrencyPair:
        return symbol._symbols[exchange]
    if isinstance(symbol, CurrencyPair):
        return symbol.symbol(exchange)
    if not isinstance(symbol, str) or not symbol:
        raise ConfigError(f"symbol must be a CurrencyPair or a non-empty str, got {symbol!r}")
    return symbol
