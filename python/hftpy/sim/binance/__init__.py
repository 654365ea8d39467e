"""Binance spot on loopback (reference/binance.md, rest-api.md).

| module | what |
|---|---|
| `public.py` | `BinanceVenue`: market-data streams from the engine's book and trades, replay |
| `streams.py` | stream names, subscriptions, the live control messages |
| `public_rest.py` | `/api/v3/depth`, `exchangeInfo`, `time`, `ping` |
| `api.py` | `BinanceApiVenue`: the WS API's connections, dispatch, sessions, faults |
| `connection.py` | one WS API socket and its session |
| `request.py` | a request, its parameters as Binance reads them, refusals, the clock |
| `auth.py` | API keys, demo credentials, HMAC / Ed25519 signatures, recvWindow |
| `limits.py` | request weight and order counts |
| `orders.py` | the order methods (place, cancel, cancelReplace, amend, status) |
| `registry.py` | Binance's view of each order: ids, fills, replies, execution reports |
| `account.py` | user data streams, `account.status`, `myTrades` |
| `rest.py` | the signed REST endpoints over the WS API's methods |
| `venue.py` | `BinanceTradingVenue`: all of it over one demo account |
| `text.py` | prices, quantities and amounts with Binance's 8 decimals |
"""

from .api import FAULTS as API_FAULTS
from .api import WS_API_PATH, BinanceApiVenue
from .auth import BINANCE_API_KEY, BINANCE_API_SECRET, BINANCE_ED25519_KEY, demo_credentials
from .connection import BinanceApiConnection
from .limits import Limits
from .public import FAULTS as STREAM_FAULTS
from .public import BinanceVenue
from .streams import parse_stream, valid_request_id
from .venue import VENUE_FAULTS, BinanceTradingVenue

FAULTS = VENUE_FAULTS  # what the venue's `inject` takes: its streams' and its WS API's faults

__all__ = [
    "API_FAULTS",
    "BINANCE_API_KEY",
    "BINANCE_API_SECRET",
    "BINANCE_ED25519_KEY",
    "FAULTS",
    "STREAM_FAULTS",
    "VENUE_FAULTS",
    "WS_API_PATH",
    "BinanceApiConnection",
    "BinanceApiVenue",
    "BinanceTradingVenue",
    "BinanceVenue",
    "Limits",
    "demo_credentials",
    "parse_stream",
    "valid_request_id",
]
