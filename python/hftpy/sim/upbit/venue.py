"""The Upbit venue on loopback, composed: quotation WS and REST (`UpbitVenue`), plus the
exchange side, JWT-authenticated REST orders and the private WS (`UpbitPrivateVenue`).

Ports: `upbit_rest`, `upbit_ws` (`/websocket/v1`), `upbit_ws_private`
(`/websocket/v1/private`, 404 on the quotation-only venue).

Faults beyond the public ones: `reject_auth` (the next `count` JWTs fail verification),
`drop_request` (the next `count` REST requests lose their connection without a reply);
`stall` also freezes REST replies until it ends.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Final

from aiohttp import web
from picows import WSUpgradeRequest, WSUpgradeResponseWithListener

from ..engine import Account, Engine, OrderEvent
from ..faults import (
    DROP_REQUEST,
    MARKET_FAULTS,
    REJECT_AUTH,
    FaultTable,
    RequestFaults,
    fault_table,
)
from ..market import MarketVenue, StreamConnection
from .auth import UPBIT_API_KEY, UPBIT_API_SECRET, UpbitAuth
from .frames import KeepAlive, ws_path
from .limits import RateWindows
from .orders import UpbitOrders
from .private import UpbitPrivateConnection, UpbitPrivateStreams
from .public import QUOTATION_PATH, UpbitQuotation
from .rest import UpbitExchangeRest, UpbitMarketRest

__all__ = ["FAULTS", "QUOTATION_FAULTS", "UpbitPrivateVenue", "UpbitVenue"]

QUOTATION_FAULTS: Final = fault_table(MARKET_FAULTS)
FAULTS: Final = fault_table(QUOTATION_FAULTS.values(), REJECT_AUTH, DROP_REQUEST)
_DEMO_BALANCES: Final = {"KRW": "100000000000", "BTC": "100", "ETH": "1000"}


class UpbitVenue(MarketVenue):
    """Upbit's quotation: WS ticker / trade / orderbook and REST market data."""

    name: ClassVar[str] = "upbit"
    FAULTS: ClassVar[FaultTable] = QUOTATION_FAULTS
    WS_ENDPOINTS: ClassVar[tuple[tuple[str, float, float], ...]] = (
        ("ws", 0.0, 0.0),
        ("ws_private", 0.0, 0.0),
    )

    def __init__(
        self,
        engine: Engine,
        *,
        host: str = "127.0.0.1",
        replay: Path | None = None,
        replay_rate: float = 1.0,
    ) -> None:
        super().__init__(engine, host=host)
        self.keepalive = KeepAlive()
        self.quotation = UpbitQuotation(self, self.keepalive, replay, replay_rate)
        self.market_rest = UpbitMarketRest(self, self.quotation)

    def listener(
        self, endpoint: str, request: WSUpgradeRequest
    ) -> StreamConnection | WSUpgradeResponseWithListener | None:
        path = ws_path(request)
        if endpoint != "ws" or path != QUOTATION_PATH:
            return None  # upbit_ws_private: reserved
        return self.quotation.connect(path)

    def routes(self, app: web.Application) -> None:
        self.market_rest.routes(app)

    def background(self) -> list[Any]:
        return [self.keepalive.run()]


class UpbitPrivateVenue(RequestFaults, UpbitVenue):
    """Upbit with its exchange side: accounts, API keys, orders, private streams."""

    FAULTS: ClassVar[FaultTable] = FAULTS

    def __init__(self, engine: Engine, **kwargs: Any) -> None:
        super().__init__(engine, **kwargs)
        self.auth = UpbitAuth(self.take_reject_auth)
        self.limits = RateWindows()
        self.orders = UpbitOrders(self)
        self.private = UpbitPrivateStreams(self, self.keepalive, self.auth, self.orders)
        self.exchange_rest = UpbitExchangeRest(self, self.auth, self.limits, self.orders)
        self.demo_account = engine.add_account("upbit-demo", _DEMO_BALANCES)
        self.add_api_key(UPBIT_API_KEY, UPBIT_API_SECRET, self.demo_account)

    @property
    def private_conns(self) -> set[UpbitPrivateConnection]:
        return self.private.connections

    @property
    def connect_log(self) -> list[tuple[str, str]]:
        """Every private WS connect accepted: (account name, nonce)."""
        return self.private.connect_log

    def add_api_key(self, access_key: str, secret_key: str, account: Account) -> None:
        self.auth.add_key(access_key, secret_key, account)
        account.order_listeners.append(self._on_order)
        account.balance_listeners.append(self.private.on_balance)

    def verify(self, authorization: str | None, query: str | None) -> tuple[Account, str]:
        """(account, nonce) of a valid `Bearer` token for a request hashing `query`."""
        return self.auth.verify(authorization, query)

    def _on_order(self, event: OrderEvent) -> None:
        # the ledger first: the myOrder push shows the uuid and trade it has just recorded
        self.private.on_order(event, self.orders.record(event))

    def listener(
        self, endpoint: str, request: WSUpgradeRequest
    ) -> StreamConnection | WSUpgradeResponseWithListener | None:
        if endpoint != "ws_private":
            return super().listener(endpoint, request)
        return self.private.connect(request)

    def routes(self, app: web.Application) -> None:
        super().routes(app)
        self.exchange_rest.routes(app)
