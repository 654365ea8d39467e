"""The simulated Kraken: spot REST and WebSocket v2 (see venue.py for how it is put together)."""

from .auth import KRAKEN_API_KEY, KRAKEN_API_SECRET
from .connection import KrakenConnection
from .protocol import MAKER_FEE, TAKER_FEE
from .public import BOOK_DEPTHS, KrakenMarketData, book_checksum
from .venue import FAULTS, KrakenVenue

__all__ = [
    "BOOK_DEPTHS",
    "FAULTS",
    "KRAKEN_API_KEY",
    "KRAKEN_API_SECRET",
    "MAKER_FEE",
    "TAKER_FEE",
    "KrakenConnection",
    "KrakenMarketData",
    "KrakenVenue",
    "book_checksum",
]
