"""Upbit on loopback (reference B1-B6): quotation WS and REST, JWT-authenticated REST orders,
the private WS, rate limits with `Remaining-Req`.

public.py: quotation WS (ticker / trade / orderbook, replay); frames.py: what both WebSockets
share (formats, the SIMPLE key table, PING); rest.py: REST market data and the exchange
endpoints; orders.py: the order ledger, order JSON and endpoint work; checks.py: a new
order's checks; auth.py: JWT, query hash, nonces; limits.py: rate windows and `Remaining-Req`;
private.py: myOrder / myAsset; errors.py: Upbit's error body; venue.py: the composition.
"""

from .auth import UPBIT_API_KEY, UPBIT_API_SECRET, UpbitAuth, query_string
from .frames import FORMATS, SIMPLE_KEYS, STATUS_UP
from .limits import QUOTATION_GROUPS, RATE_GROUPS, RateWindows, rate_group
from .orders import CANCEL_AND_NEW_KEYS
from .private import PRIVATE_PATH, UpbitPrivateConnection
from .public import QUOTATION_PATH, UpbitConnection
from .venue import FAULTS, QUOTATION_FAULTS, UpbitPrivateVenue, UpbitVenue

__all__ = [
    "CANCEL_AND_NEW_KEYS",
    "FAULTS",
    "FORMATS",
    "PRIVATE_PATH",
    "QUOTATION_FAULTS",
    "QUOTATION_GROUPS",
    "QUOTATION_PATH",
    "RATE_GROUPS",
    "SIMPLE_KEYS",
    "STATUS_UP",
    "UPBIT_API_KEY",
    "UPBIT_API_SECRET",
    "RateWindows",
    "UpbitAuth",
    "UpbitConnection",
    "UpbitPrivateConnection",
    "UpbitPrivateVenue",
    "UpbitVenue",
    "query_string",
    "rate_group",
]
