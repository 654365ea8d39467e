"""The simulated Kraken venue: its endpoints composed over one engine, and its faults.

REST (aiohttp) serves the public reference and market data (rest.py) and the signed private
endpoints: account data (rest_private.py) and trading (rest_trading.py). WebSocket v2 (picows)
has a public endpoint for the market-data channels (public.py) and an auth endpoint for the
trading methods and the `executions` and `balances` channels (private.py); both share one
connection class (connection.py). Orders go through one set of checks and one rate counter
(trading.py), whichever way they come in: an order placed over REST is on `executions`.
Envelopes, field names and error strings follow Kraken's (see shared/reference/kraken.md).

Fault injection (`KrakenVenue.inject`) drives the failure modes client code must survive.
"""

from __future__ import annotations

import random
from typing import ClassVar, Final

from aiohttp import web

from ..engine import Account, Engine
from ..errors import VenueError
from ..faults import (
    CLOSE,
    DROP_CONNECTION,
    MAINTENANCE,
    MALFORMED_FRAME,
    ONLINE,
    SKIP_SEQUENCE,
    STALL,
    Fault,
    FaultTable,
    fault_table,
)
from ..market import FrameFault
from .auth import KrakenAuth
from .connection import KrakenConnection, KrakenGateway, Request
from .orders import OrderHistory
from .private import KrakenPrivateChannels, KrakenWsTrading
from .protocol import E_INVALID_ARGS, E_PRIVATE_ON_PUBLIC, E_PUBLIC_ON_PRIVATE, string
from .public import KrakenMarketData
from .rest import KrakenPublicRest, unknown_method
from .rest_private import KrakenPrivateRest
from .rest_trading import KrakenRestTrading
from .trading import KrakenTrading

__all__ = ["FAULTS", "KrakenVenue"]

FAULTS: Final = fault_table(
    DROP_CONNECTION,
    STALL,
    Fault(
        "delay", ("seconds",), "handle every request SECONDS late (0: off); replies stay in order"
    ),
    Fault("reject_auth", (), "invalidate every WS token: the next private request gets ESession"),
    Fault(
        "rate_limit", ("count",), "the next COUNT trading requests get EOrder:Rate limit exceeded"
    ),
    MAINTENANCE.with_doc("system status maintenance: status update sent, trading refused"),
    Fault(
        "cancel_only",
        (),
        "system status cancel_only: cancels allowed, new orders and amends refused, no matching",
    ),
    Fault("post_only", (), "system status post_only: only post-only limit orders, no matching"),
    ONLINE,
    CLOSE,
    MALFORMED_FRAME,
    Fault(
        "book_checksum",
        ("rate", "count"),
        "corrupt the checksum of the next COUNT book messages, or that share of them",
    ),
    SKIP_SEQUENCE.with_doc("skip the private channels' `sequence` numbers (COUNT or share)"),
)

_PRIVATE_CHANNELS: Final = frozenset({"executions", "balances"})
_PUBLIC_CHANNELS: Final = frozenset({"book", "ticker", "trade", "ohlc", "instrument", "level3"})


class KrakenVenue(KrakenGateway):
    """Kraken's REST and WS v2 endpoints over one engine."""

    FAULTS: ClassVar[FaultTable] = FAULTS

    def __init__(self, engine: Engine, *, host: str = "127.0.0.1", seed: int = 0) -> None:
        super().__init__(engine, host=host)
        self.rng = random.Random(f"kraken:{seed}")  # amend and ledger ids
        self.auth = KrakenAuth()
        self.history = OrderHistory()
        self.market = KrakenMarketData(self)
        self.trading = KrakenTrading(self, self.rng)
        self.channels = KrakenPrivateChannels(self.auth, self.history, self.rng)
        self.public_rest = KrakenPublicRest(self, self.market)
        self.private_rest = KrakenPrivateRest(self.auth, self.history, engine)
        self.rest_trading = KrakenRestTrading(self.trading, self.auth)
        self.route("subscribe", self._subscribe)
        self.route("unsubscribe", self._unsubscribe)
        for method, handler in KrakenWsTrading(self.trading, self.auth).methods().items():
            self.route(method, handler, private=True)

    @property
    def skip_private(self) -> FrameFault:
        """The `skip_sequence` fault: Kraken's sequence numbers are on its private channels."""
        return self.skip

    def add_api_key(self, api_key: str, api_secret: str, account: Account) -> None:
        """Register a key pair; `api_secret` is base64, as Kraken issues it."""
        self.auth.add_key(api_key, api_secret, account)
        self.channels.attach(account)

    def routes(self, app: web.Application) -> None:
        self.public_rest.routes(app)
        self.private_rest.routes(app)
        self.rest_trading.routes(app)
        app.router.add_route("*", "/0/{access:public|private}/{name}", unknown_method)

    async def stop(self) -> None:
        self.trading.stop()
        await super().stop()

    def forget(self, conn: KrakenConnection) -> None:
        self.market.forget(conn)
        self.channels.forget(conn)

    def subscribed(self, conn: KrakenConnection) -> bool:
        return (
            conn.executions is not None
            or conn.balances is not None
            or self.market.has_subscriptions(conn)
        )

    # ----- faults -----

    def fault_delay(self, seconds: float = 0.05) -> None:
        self.delay_s = max(0.0, float(seconds))

    def fault_reject_auth(self) -> None:
        self.auth.revoke_tokens()

    def fault_rate_limit(self, count: int = 1) -> None:
        self.trading.forced_rate_limits = int(count)

    def fault_maintenance(self) -> None:
        self.set_system("maintenance")

    def fault_cancel_only(self) -> None:
        self.set_system("cancel_only")

    def fault_post_only(self) -> None:
        self.set_system("post_only")

    def fault_online(self) -> None:
        self.set_system("online")

    def fault_book_checksum(self, rate: float | None = None, count: int | None = None) -> None:
        self.market.checksum_fault.arm(count, rate)

    def clear_faults(self) -> None:
        was_online = self.system == "online"
        super().clear_faults()  # back online, stall and skipped sequences over
        self.delay_s = 0.0
        self.trading.forced_rate_limits = 0
        self.market.checksum_fault.clear()
        if not was_online:
            self.broadcast_status()

    # ----- channel routing -----

    def _subscribe(self, conn: KrakenConnection, req: Request) -> None:
        public = self._public_channel(conn, req)
        if public is not None:
            self.market.subscribe(conn, req, public)
        else:
            self.channels.subscribe(conn, req, self._private_channel(conn, req))

    def _unsubscribe(self, conn: KrakenConnection, req: Request) -> None:
        public = self._public_channel(conn, req)
        if public is not None:
            self.market.unsubscribe(conn, req, public)
        else:
            self.channels.unsubscribe(conn, req, self._private_channel(conn, req))

    @staticmethod
    def _public_channel(conn: KrakenConnection, req: Request) -> str | None:
        """The market-data channel of a subscribe on the public endpoint, else None."""
        channel = req.params.get("channel")
        if conn.private or channel not in _PUBLIC_CHANNELS or channel == "level3":
            return None
        assert isinstance(channel, str)
        return channel

    @staticmethod
    def _private_channel(conn: KrakenConnection, req: Request) -> str:
        channel = string(req.params, "channel")
        if channel in _PRIVATE_CHANNELS:
            if not conn.private:
                raise VenueError(E_PRIVATE_ON_PUBLIC)
            return channel
        if channel in _PUBLIC_CHANNELS:
            if conn.private and channel != "level3":
                raise VenueError(E_PUBLIC_ON_PRIVATE)
            raise VenueError(f"EGeneral:Internal error:channel {channel} is not simulated yet")
        raise VenueError(f"{E_INVALID_ARGS}:channel")
