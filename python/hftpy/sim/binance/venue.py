"""The whole Binance venue the `Simulator` serves: the market data of `BinanceVenue`, the WS API
on its `ws_api` endpoint and the signed REST endpoints on the REST port, over one demo account
and the demo key."""

from __future__ import annotations

from typing import Any, ClassVar, Final

from aiohttp import web
from picows import WSUpgradeRequest

from ..engine import Engine
from ..faults import FaultTable, fault_table
from .api import FAULTS as API_FAULTS
from .api import BinanceApiVenue
from .auth import BINANCE_API_KEY, BINANCE_API_SECRET, BINANCE_ED25519_KEY
from .limits import Limits
from .public import FAULTS as STREAM_FAULTS
from .public import BinanceVenue
from .rest import BinanceRest

__all__ = ["VENUE_FAULTS", "BinanceTradingVenue"]

_DEMO_BALANCES: Final = {"USDT": "1000000", "BTC": "10", "ETH": "200"}
_DEMO_FEE: Final = "0.001"  # Binance's regular spot maker/taker fee
#: The `binance` venue's faults: market data (public.py) and the WS API (api.py) together.
VENUE_FAULTS: Final = fault_table(STREAM_FAULTS.values(), API_FAULTS.values())


class BinanceTradingVenue(BinanceVenue):
    """The whole Binance venue for `Simulator`: the market data of `BinanceVenue` plus the
    WS API on its reserved `ws_api` endpoint and the signed REST endpoints (rest.py) on the
    REST port, over one demo account and the demo key."""

    FAULTS: ClassVar[FaultTable] = VENUE_FAULTS

    def __init__(
        self, engine: Engine, *, seed: int = 0, limits: Limits | None = None, **kwargs: Any
    ) -> None:
        super().__init__(engine, **kwargs)
        self.api = BinanceApiVenue(engine, host=self.host, seed=seed, limits=limits)
        self.demo_account = engine.add_account(
            "binance-demo", _DEMO_BALANCES, maker_fee=_DEMO_FEE, taker_fee=_DEMO_FEE
        )
        self.api.add_api_key(
            BINANCE_API_KEY,
            self.demo_account,
            hmac_secret=BINANCE_API_SECRET,
            ed25519_seed_b64=BINANCE_ED25519_KEY,
        )
        self.rest = BinanceRest(self.api, lambda: self.system == "online")

    def routes(self, app: web.Application) -> None:
        super().routes(app)
        self.rest.routes(app)

    def listener(self, endpoint: str, request: WSUpgradeRequest) -> Any:
        if endpoint == "ws_api":
            return self.api.connect(request)
        return super().listener(endpoint, request)

    # The socket faults hit the streams and the WS API alike; the others are the WS API's.
    def fault_drop_connection(self) -> None:
        super().fault_drop_connection()
        self.api.fault_drop_connection()

    def fault_close(self, code: int = 1001) -> None:
        super().fault_close(code)
        self.api.fault_close(code)

    def fault_stall(self, seconds: float | None = None, pongs: bool = True) -> None:
        super().fault_stall(seconds, pongs)
        self.api.fault_stall(seconds, pongs)

    def fault_malformed_frame(self, text: str | None = None) -> None:
        super().fault_malformed_frame(text)
        self.api.fault_malformed_frame('{"id":' if text is None else text)

    def fault_reject_auth(self) -> None:
        self.api.fault_reject_auth()

    def fault_rate_limit(self, seconds: float = 1.0, status: int = 429) -> None:
        self.api.fault_rate_limit(seconds, status)

    def fault_skew_clock(self, seconds: float = 5.0) -> None:
        self.api.fault_skew_clock(seconds)

    def clear_faults(self) -> None:
        super().clear_faults()
        self.api.clear_faults()

    async def stop(self) -> None:
        await self.api.stop()
        await super().stop()
