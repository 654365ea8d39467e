"""Backpack as one venue: the public streams and market data (`public.py`) plus the signed
REST endpoints (`rest.py`) and private streams (`private.py`) of the demo account, all over
one set of Backpack orders (`orders.py`) and API keys (`auth.py`).

Faults beyond the public ones: `reject_auth` (the next `count` signed requests or subscribes
fail as a bad signature), `drop_request` (the next `count` REST requests lose their TCP
connection without a reply). `stall` also freezes REST replies until it ends.
"""

from __future__ import annotations

from typing import ClassVar, Final

from aiohttp import web

from ..engine import Account, Engine, OrderEvent
from ..faults import DROP_REQUEST, REJECT_AUTH, FaultTable, RequestFaults, fault_table
from .auth import BACKPACK_API_KEY, BackpackAuth
from .orders import BackpackOrders
from .private import BackpackPrivateStreams
from .public import FAULTS as PUBLIC_FAULTS
from .public import BackpackConnection, BackpackVenue
from .rest import BackpackTradingRest

__all__ = ["FAULTS", "BackpackPrivateVenue"]

FAULTS: Final = fault_table(PUBLIC_FAULTS.values(), REJECT_AUTH, DROP_REQUEST)
_DEMO_BALANCES: Final = {"USDC": "10000000", "SOL": "100000", "BTC": "100"}


class BackpackPrivateVenue(RequestFaults, BackpackVenue):
    """The public venue plus the demo account's keys, orders, signed REST and private streams;
    each engine order event is recorded by `orders`, then sent by `streams`."""

    FAULTS: ClassVar[FaultTable] = FAULTS

    def __init__(self, engine: Engine, *, host: str = "127.0.0.1") -> None:
        super().__init__(engine, host=host)
        self.auth = BackpackAuth(reject_auth=self.take_reject_auth)
        self.orders = BackpackOrders(engine, self.instrument)
        self.streams = BackpackPrivateStreams(self.auth)
        self.trading = BackpackTradingRest(self, self.auth, self.orders)
        self.demo_account = engine.add_account("backpack-demo", _DEMO_BALANCES)
        self.add_api_key(BACKPACK_API_KEY, self.demo_account)

    @property
    def subscribe_log(self) -> list[tuple[str, str, str]]:
        """Every private subscribe accepted: (account name, timestamp, signature)."""
        return self.streams.subscribe_log

    def add_api_key(self, public_key_b64: str, account: Account) -> None:
        self.auth.add_key(public_key_b64, account)
        account.order_listeners.append(self._on_order)

    def _on_order(self, event: OrderEvent) -> None:
        kind = self.orders.record(event)
        if kind is not None:
            self.streams.publish(event.order, lambda: self.orders.order_update(kind, event))

    # ----- the private side on top of the public one -----

    def control(self, conn: BackpackConnection, payload: bytes) -> None:
        public = self.streams.control(conn, payload)
        if public is not None:
            super().control(conn, public)

    def unsubscribe(self, conn: BackpackConnection, names: list[str]) -> None:
        self.streams.forget(conn, names)
        super().unsubscribe(conn, names)

    def routes(self, app: web.Application) -> None:
        super().routes(app)
        self.trading.routes(app)
