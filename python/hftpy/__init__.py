"""hftpy: low-latency exchange connectivity for Python.

Validated local order books and WebSocket order entry on Kraken, Binance, Backpack and
Upbit, with the per-message work (decoding, books, checksums, signing) in Rust.
"""

from hftpy._core import __version__
from hftpy.common import CurrencyPair, Exchange, OrderType, Side, TimeInForce
from hftpy.errors import HftpyError

__all__ = [
    "CurrencyPair",
    "Exchange",
    "HftpyError",
    "OrderType",
    "Side",
    "TimeInForce",
    "__version__",
]
