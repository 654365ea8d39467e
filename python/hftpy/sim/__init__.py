"""Embedded exchange simulator: a matching engine plus each venue's wire protocol on loopback.

Independent of the client side on purpose (it never imports `hftpy._core` or `hftpy.exchange`):
signatures are checked with the standard library, so one bug cannot pass both ends.
"""

from .engine import DEFAULT_INSTRUMENTS, Account, Engine, Instrument, Order
from .simulator import DEFAULT_PORTS, KRAKEN_API_KEY, KRAKEN_API_SECRET, Simulator

__all__ = [
    "DEFAULT_INSTRUMENTS",
    "DEFAULT_PORTS",
    "KRAKEN_API_KEY",
    "KRAKEN_API_SECRET",
    "Account",
    "Engine",
    "Instrument",
    "Order",
    "Simulator",
]
