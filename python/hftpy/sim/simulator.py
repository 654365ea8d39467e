"""The embedded exchange simulator: one matching engine, each venue's front-end, fault control."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any, Final, Literal

from . import backpack, binance, kraken, upbit
from .backpack import BACKPACK_API_KEY, BACKPACK_API_SECRET, BackpackPrivateVenue
from .binance import (
    BINANCE_API_KEY,
    BINANCE_API_SECRET,
    BINANCE_ED25519_KEY,
    BinanceTradingVenue,
)
from .engine import DEFAULT_INSTRUMENTS, Account, Engine, Instrument
from .faults import FaultTable
from .flow import SyntheticFlow
from .kraken import KRAKEN_API_KEY, KRAKEN_API_SECRET, MAKER_FEE, TAKER_FEE, KrakenVenue
from .market import MarketVenue
from .replay import KrakenBookCapture, parse_rate
from .upbit import UPBIT_API_KEY, UPBIT_API_SECRET, UpbitPrivateVenue

__all__ = [
    "DEFAULT_PORTS",
    "KRAKEN_API_KEY",
    "KRAKEN_API_SECRET",
    "REPLAY_VENUES",
    "SERVED_VENUES",
    "VENUE_FAULTS",
    "Simulator",
]

# One fixed loopback port per endpoint.
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
SERVED_VENUES: Final = ("kraken", "binance", "backpack", "upbit")
# venue -> fault name -> accepted keyword parameters (the first is the CLI's `=value`)
VENUE_FAULTS: Final[Mapping[str, FaultTable]] = MappingProxyType(
    {
        "kraken": kraken.FAULTS,
        "binance": binance.FAULTS,
        "backpack": backpack.FAULTS,
        "upbit": upbit.FAULTS,
    }
)
# Venues with a recorded capture format (shared/data/README.md).
REPLAY_VENUES: Final = ("binance", "kraken", "upbit")

ReplayPath = str | os.PathLike[str]


_KRAKEN_DEMO_BALANCES: Final = {"USD": "1000000", "EUR": "1000000", "BTC": "10", "ETH": "200"}


class Simulator:
    """Serve every simulated venue on loopback.

    `ports="default"` binds the fixed DEFAULT_PORTS, `ports="free"` lets the OS pick (tests).
    `env` maps the HFTPY_* variables to this simulator's URLs and demo credentials.
    `replay={"binance": path}` serves that venue's market data from a recorded capture instead
    of synthetic flow (Binance: one or more `.gz` files in order; Kraken: `orderbook-v2.json`;
    Upbit: `UPBIT.ws.62.0`), each connection paced at `replay_rate` times the recorded speed
    (`0` or `"max"`: as fast as the socket takes it).
    """

    def __init__(
        self,
        ports: Literal["free", "default"] = "default",
        synthetic_flow: bool = True,
        seed: int = 0,
        host: str = "127.0.0.1",
        instruments: Iterable[Instrument] = DEFAULT_INSTRUMENTS,
        replay: Mapping[str, ReplayPath | Sequence[ReplayPath]] | None = None,
        replay_rate: float | str = 1.0,
    ) -> None:
        if ports not in ("free", "default"):
            raise ValueError(f"ports must be 'free' or 'default', not {ports!r}")
        rate = parse_rate(replay_rate)
        replays = {venue: _replay_paths(venue, paths) for venue, paths in (replay or {}).items()}
        self.ports_mode = ports
        self.host = host
        self.engine = Engine(instruments, seed)
        self.kraken_account: Account = self.engine.add_account(
            "kraken-demo", _KRAKEN_DEMO_BALANCES, maker_fee=MAKER_FEE, taker_fee=TAKER_FEE
        )
        self.kraken = KrakenVenue(self.engine, host=host, seed=seed)
        self.kraken.add_api_key(KRAKEN_API_KEY, KRAKEN_API_SECRET, self.kraken_account)
        if "kraken" in replays:
            self.kraken.market.replay = KrakenBookCapture.load(replays["kraken"][0])
            self.kraken.market.replay_rate = rate
        self.binance = BinanceTradingVenue(
            self.engine, host=host, seed=seed, replay=replays.get("binance", ()), replay_rate=rate
        )
        self.backpack = BackpackPrivateVenue(self.engine, host=host)
        upbit_replay = replays.get("upbit")
        self.upbit = UpbitPrivateVenue(
            self.engine,
            host=host,
            replay=upbit_replay[0] if upbit_replay else None,
            replay_rate=rate,
        )
        self.venues: dict[str, MarketVenue] = {
            "binance": self.binance,
            "backpack": self.backpack,
            "upbit": self.upbit,
        }
        self.flows: list[SyntheticFlow] = []
        if synthetic_flow:
            maker = self.engine.add_account("flow-maker", unlimited=True)
            taker = self.engine.add_account("flow-taker", unlimited=True)
            for symbol, inst in self.engine.instruments.items():
                if inst.venue in replays:
                    continue  # the capture stands in for this venue's flow
                flow = SyntheticFlow(self.engine, symbol, maker, taker, seed)
                venue = self.venues.get(inst.venue)
                flow.paused = venue.paused if venue is not None else self.kraken.paused
                self.flows.append(flow)
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
            await self.kraken.start({e: port(f"kraken_{e}") for e in ("rest", "ws", "ws_auth")})
            for name, venue in self.venues.items():
                endpoints = ["rest", *(e for e, _, _ in venue.WS_ENDPOINTS)]
                await venue.start({e: port(f"{name}_{e}") for e in endpoints})
        except BaseException:
            await self._stop_venues()
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
        await self._stop_venues()
        self.running = False
        for outcome in outcomes:
            if isinstance(outcome, BaseException) and not isinstance(
                outcome, asyncio.CancelledError
            ):
                raise outcome

    async def _stop_venues(self) -> None:
        await self.kraken.stop()
        for venue in self.venues.values():
            await venue.stop()

    @property
    def env(self) -> dict[str, str]:
        """HFTPY_* variables pointing client code at this simulator."""
        if self.running:
            ports = {f"kraken_{name}": port for name, port in self.kraken.ports.items()}
            for venue_name, venue in self.venues.items():
                ports.update({f"{venue_name}_{n}": p for n, p in venue.ports.items()})
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
            "HFTPY_BINANCE_REST_URL": f"http://{host}:{ports['binance_rest']}",
            "HFTPY_BINANCE_STREAM_URL": f"ws://{host}:{ports['binance_stream']}/stream",
            "HFTPY_BINANCE_WS_API_URL": f"ws://{host}:{ports['binance_ws_api']}/ws-api/v3",
            "HFTPY_BINANCE_API_KEY": BINANCE_API_KEY,
            "HFTPY_BINANCE_API_SECRET": BINANCE_API_SECRET,
            "HFTPY_BINANCE_ED25519_KEY": BINANCE_ED25519_KEY,
            "HFTPY_BACKPACK_REST_URL": f"http://{host}:{ports['backpack_rest']}",
            "HFTPY_BACKPACK_WS_URL": f"ws://{host}:{ports['backpack_ws']}",
            "HFTPY_BACKPACK_API_KEY": BACKPACK_API_KEY,
            "HFTPY_BACKPACK_API_SECRET": BACKPACK_API_SECRET,
            "HFTPY_UPBIT_REST_URL": f"http://{host}:{ports['upbit_rest']}",
            "HFTPY_UPBIT_WS_URL": f"ws://{host}:{ports['upbit_ws']}/websocket/v1",
            "HFTPY_UPBIT_WS_PRIVATE_URL": f"ws://{host}:{ports['upbit_ws_private']}/websocket/v1/private",
            "HFTPY_UPBIT_API_KEY": UPBIT_API_KEY,
            "HFTPY_UPBIT_API_SECRET": UPBIT_API_SECRET,
        }

    def env_lines(self) -> list[str]:
        """`export NAME='value'` lines for a POSIX shell's eval."""
        return [f"export {name}='{value}'" for name, value in self.env.items()]

    def inject(self, venue: str, fault: str, **params: Any) -> None:
        """Start a fault on one venue, e.g. `inject("binance", "skip_sequence", count=1)`."""
        if venue not in SERVED_VENUES:
            raise ValueError(f"venue {venue!r} is not simulated; served: {SERVED_VENUES}")
        if venue == "kraken":
            self.kraken.inject(fault, **params)
        else:
            self.venues[venue].inject(fault, **params)

    def clear_faults(self) -> None:
        self.kraken.clear_faults()
        for venue in self.venues.values():
            venue.clear_faults()


def _replay_paths(venue: str, paths: ReplayPath | Sequence[ReplayPath]) -> tuple[Path, ...]:
    if venue not in REPLAY_VENUES:
        raise ValueError(f"no capture format for {venue!r}; replayable: {REPLAY_VENUES}")
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    resolved = tuple(Path(p) for p in items)
    if not resolved:
        raise ValueError(f"replay of {venue}: no file given")
    for path in resolved:
        if not path.is_file():
            raise FileNotFoundError(f"replay of {venue}: no such file {path}")
    return resolved
