"""Backpack Exchange on loopback (reference A1-A5).

- `public.py`: `BackpackVenue`, the public WS streams (depth, bookTicker, trade, ticker).
- `public_rest.py`: the public REST market data over the same feeds and tickers.
- `auth.py`: the demo credentials, the signed text and its Ed25519 check with the window.
- `orders.py`: Backpack's orders over the engine and every shape it shows them in.
- `rest.py`: the signed order, balance and history endpoints.
- `private.py`: the signed `account.*` streams.
- `venue.py`: `BackpackPrivateVenue`, all of it composed, and its fault table.
"""

from .auth import BACKPACK_API_KEY, BACKPACK_API_SECRET, signing_string
from .public import BackpackConnection, BackpackVenue
from .venue import FAULTS, BackpackPrivateVenue

__all__ = [
    "BACKPACK_API_KEY",
    "BACKPACK_API_SECRET",
    "FAULTS",
    "BackpackConnection",
    "BackpackPrivateVenue",
    "BackpackVenue",
    "signing_string",
]
