"""The embedded exchange simulator: one matching engine, each venue's front-end, fault control."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Iterable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any, Final, Literal

from .engine import DEFAULT_INSTRUMENTS, Account, Engine, Instrument
from .flow import SyntheticFlow
from .kraken import MAKER_FEE, TAKER_FEE, KrakenVenue

__all__ = [
    "DEFAULT_PORTS",
    "KRAKEN_API_KEY",
    "KRAKEN_API_SECRET",
    "SERVED_VENUES",
    "Simulator",
]

# One fixed loopback port per endpoint; only the Kraken ones are served so far.
DEFAULT_PORTS: Final[Mapping[str, int]] = MappingProxyType(
    {
        "kraken_rest": 8790,
        "kraken_ws": 8791,
        "kraken_ws_auth": 8792,
        "binance_rest": 8800,
        "binance_stream": 8801,
        "binance_ws_api": 8802,
        "backpack_rest": 8810,
        "backpack_ws": 8811,
        "upbit_rest": 8820,
        "upbit_ws": 8821,
        "upbit_ws_private": 8822,
    }
)
SERVED_VENUES: Final = ("kraken",)


def _derived_b64(label: str, size: int) -> str:
    """Fixed demo credentials: the same on every run and machine, but not hand-typed."""
    return base64.b64encode(hashlib.sha512(label.encode()).digest()[:size]).decode()


# Kraken issues 56-character keys and base64 secrets of 64 bytes.
KRAKEN_API_KEY: Final = _derived_b64("hftpy sim kraken demo api key", 42)
KRAKEN_API_SECRET: Final = _derived_b64("hftpy sim kraken demo api secret", 64)

_KRAKEN_DEMO_BALANCES: Final = {"USD": "1000000", "EUR": "1000000", "BTC": "10", "ETH": "200"}


class Simulator:
    """Serve every simulated venue on loopback.

    `ports="default"` binds the fixed DEFAULT_PORTS, `ports="free"` lets the OS pick (tests).
    `env` maps the HFTPY_* variables to this simulator's URLs and demo credentials.
    """

    def __init__(
        self,
        ports: Literal["free", "default"] = "default",
        synthetic_flow: bool = True,
        seed: int = 0,
        host: str = "127.0.0.1",
        instruments: Iterable[Instrument] = DEFAULT_INSTRUMENTS,
    ) -> None:
        if ports not in ("free", "default"):
            raise ValueError(f"ports must be 'free' or 'default', not {ports!r}")
        self.ports_mode = ports
        self.host = host
        self.engine = Engine(instruments, seed)
        self.kraken_account: Account = self.engine.add_account(
            "kraken-demo", _KRAKEN_DEMO_BALANCES, maker_fee=MAKER_FEE, taker_fee=TAKER_FEE
        )
        self.kraken = KrakenVenue(self.engine, host=host, seed=seed)
        self.kraken.add_api_key(KRAKEN_API_KEY, KRAKEN_API_SECRET, self.kraken_account)
        self.flows: list[SyntheticFlow] = []
        if synthetic_flow:
            maker = self.engine.add_account("flow-maker", unlimited=True)
            taker = self.engine.add_account("flow-taker", unlimited=True)
            self.flows = [
                SyntheticFlow(self.engine, symbol, maker, taker, seed)
                for symbol in self.engine.instruments
            ]
        self._tasks: list[asyncio.Task[None]] = []
        self.running = False

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        if self.running:
            raise RuntimeError("the simulator is already running")

        def port(name: str) -> int:
            return 0 if self.ports_mode == "free" else DEFAULT_PORTS[name]

        try:
            await self.kraken.start(port("kraken_rest"), port("kraken_ws"), port("kraken_ws_auth"))
        except BaseException:
            await self.kraken.stop()
            raise
        for flow in self.flows:
            flow.step()  # books are populated before anyone connects
        self._tasks = [
            asyncio.create_task(flow.run(), name=f"hftpy-sim-flow {flow.symbol}")
            for flow in self.flows
        ]
        self.running = True

    async def stop(self) -> None:
        """Stop serving; re-raises the first error a synthetic-flow task died with."""
        for task in self._tasks:
            task.cancel()
        outcomes = await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.kraken.stop()
        self.running = False
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(
                outcome, asyncio.CancelledError
            ):
                raise outcome

    @property
    def env(self) -> dict[str, str]:
        """HFTPY_* variables pointing client code at this simulator."""
        if self.running:
            ports = {f"kraken_{name}": port for name, port in self.kraken.ports.items()}
        elif self.ports_mode == "default":
            ports = dict(DEFAULT_PORTS)
        else:
            raise RuntimeError("free ports are known once the simulator is started")
        host = self.host
        return {
            "HFTPY_KRAKEN_REST_URL": f"http://{host}:{ports['kraken_rest']}",
            "HFTPY_KRAKEN_WS_URL": f"ws://{host}:{ports['kraken_ws']}/v2",
            "HFTPY_KRAKEN_WS_AUTH_URL": f"ws://{host}:{ports['kraken_ws_auth']}/v2",
            "HFTPY_KRAKEN_API_KEY": KRAKEN_API_KEY,
            "HFTPY_KRAKEN_API_SECRET": KRAKEN_API_SECRET,
        }

    def env_lines(self) -> list[str]:
        """`export NAME='value'` lines for a POSIX shell's eval."""
        return [f"export {name}='{value}'" for name, value in self.env.items()]

    def inject(self, venue: str, fault: str, **params: Any) -> None:
        """Start a fault on one venue, e.g. `inject("kraken", "stall", seconds=2)`."""
        if venue not in SERVED_VENUES:
            raise ValueError(f"venue {venue!r} is not simulated yet; served: {SERVED_VENUES}")
        self.kraken.inject(fault, **params)

    def clear_faults(self) -> None:
        self.kraken.clear_faults()
