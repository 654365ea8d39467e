"""The service runner in this process against the embedded simulator over loopback: members
are the factories' singletons and ready before `on_start`; every stream event kind and the
typed order events reach the right handler with the venue on every venue; a raising handler
costs nothing else; `every`, `stop()`, `cancel_on_stop` and the exit codes."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any, ClassVar

import pytest

from hftpy._core import (
    BookEvent,
    BookView,
    QuoteEvent,
    ResyncEvent,
    StatusEvent,
    TickerEvent,
    TradeEvent,
)
from hftpy.common import Exchange, Side
from hftpy.errors import NotCreatedError
from hftpy.exchange import get_exchange_api, get_exchange_stream, get_exchange_ws_api
from hftpy.exchange.orders import Fill, OrderUpdate
from hftpy.service import ServiceBase, ServiceConfig, ServiceRunner, load_config
from hftpy.service.runner import BALANCE_CHANNELS
from hftpy.sim import Simulator
from hftpy.sim.engine import Account

KRAKEN, BINANCE = Exchange.KRAKEN, Exchange.BINANCE
BACKPACK, UPBIT = Exchange.BACKPACK, Exchange.UPBIT
VENUES = (KRAKEN, BINANCE, BACKPACK, UPBIT)
#: venue -> (symbol, order amount, every channel its stream has)
MARKETS = {
    KRAKEN: ("BTC/USD", "0.0002", ["book", "trade", "ticker"]),
    BINANCE: ("BTCUSDT", "0.0001", ["book", "trade", "quote"]),
    BACKPACK: ("SOL_USDC", "0.1", ["book", "trade", "quote", "ticker"]),
    UPBIT: ("KRW-BTC", "0.0001", ["book", "trade", "ticker"]),
}
#: handler -> the venues that produce its events (Upbit books never resync on the simulator:
#: it replaces them whole; only Kraken's stream carries a market status; Backpack has no
#: balance stream)
EXPECTED = {
    "on_book": set(VENUES),
    "on_trade": set(VENUES),
    "on_quote": {BINANCE, BACKPACK},
    "on_ticker": {KRAKEN, BACKPACK, UPBIT},
    "on_resync": {KRAKEN, BINANCE, BACKPACK},
    "on_status": {KRAKEN},
    "on_order_update": set(VENUES),
    "on_fill": set(VENUES),
    "on_balance": {v for v in VENUES if BALANCE_CHANNELS[v]},
}
EVENT_TYPES = {
    "on_book": BookEvent,
    "on_trade": TradeEvent,
    "on_quote": QuoteEvent,
    "on_ticker": TickerEvent,
    "on_resync": ResyncEvent,
    "on_status": StatusEvent,
    "on_order_update": OrderUpdate,
    "on_fill": Fill,
    "on_balance": dict,
}
FAULTS = {KRAKEN: "book_checksum", BINANCE: "skip_sequence", BACKPACK: "skip_sequence"}


@pytest.fixture
async def market() -> AsyncIterator[Simulator]:
    """A simulator with synthetic flow: live books and trades on every symbol."""
    async with Simulator(ports="free") as simulator:
        yield simulator


def demo_accounts(sim: Simulator) -> dict[Exchange, Account]:
    return {
        KRAKEN: sim.kraken_account,
        BINANCE: sim.binance.demo_account,
        BACKPACK: sim.backpack.demo_account,
        UPBIT: sim.upbit.demo_account,
    }


def open_orders(sim: Simulator) -> dict[Exchange, int]:
    return {v: len(sim.engine.open_orders(a)) for v, a in demo_accounts(sim).items()}


def price(sim: Simulator, symbol: str, factor: str) -> Decimal:
    """`factor` x the symbol's mid, rounded down to its tick."""
    inst = sim.engine.instrument(symbol)
    step = inst.tick or Decimal(1).scaleb(-inst.price_decimals)
    return (inst.mid * Decimal(factor) / step).to_integral_value(ROUND_FLOOR) * step


def write_config(folder: Path, services: dict[str, dict[str, Any]]) -> list[ServiceConfig]:
    path = folder / "config.json"
    path.write_text(json.dumps({f"service.{k}": v for k, v in services.items()}))
    return load_config(path, sim=True)


def all_venues(class_name: str, **setting: Any) -> dict[str, Any]:
    return {
        "class_name": class_name,
        "setting": {
            "apis": [{"exchange": v.value} for v in VENUES],
            "ws_apis": [{"exchange": v.value} for v in VENUES],
            "streams": [
                {"exchange": v.value, "channels": MARKETS[v][2], "symbols": [MARKETS[v][0]]}
                for v in VENUES
            ],
            **setting,
        },
    }


def runner_for(sim: Simulator, configs: list[ServiceConfig], **kwargs: Any) -> ServiceRunner:
    return ServiceRunner(configs, sim=sim.env, modules=[__name__], handle_signals=False, **kwargs)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


async def running(runner: ServiceRunner) -> asyncio.Task[int]:
    """Starts `runner.run()` and waits until every service's on_start has been called."""
    task = asyncio.create_task(runner.run())
    await until(
        lambda: task.done() or (bool(runner.services) and all(s.running for s in runner.services))
    )
    assert not task.done(), runner.reason
    return task


# -- members and routing on every venue ------------------------------------------------------------


class Recorder(ServiceBase):
    """Records every handler call as (handler, venue) -> events; places on every venue one
    marketable buy (fills) and one resting buy (stays open for cancel_on_stop)."""

    instances: ClassVar[list[Recorder]] = []
    sim: ClassVar[Simulator]

    def __init__(self, name: str, setting: dict[str, Any]) -> None:
        super().__init__(name, setting)
        self.seen: dict[tuple[str, Exchange], list[Any]] = defaultdict(list)
        self.members_ok = False
        Recorder.instances.append(self)

    def record(self, handler: str, venue: Exchange, event: Any) -> None:
        assert type(venue) is Exchange
        self.seen[handler, venue].append(event)

    async def on_start(self) -> None:
        for venue in self.venues:
            rest = getattr(self, f"{venue.value}_api")
            ws_api = getattr(self, f"{venue.value}_ws_api")
            stream = getattr(self, f"{venue.value}_stream")
            assert rest is get_exchange_api(venue)
            assert ws_api is get_exchange_ws_api(venue) and ws_api.ready
            assert stream is get_exchange_stream(venue) and stream.ready
            assert set(stream.subscriptions) == {
                stream.channel_aliases[c] for c in MARKETS[venue][2]
            }
        self.members_ok = True
        for venue in self.venues:
            symbol, amount, _ = MARKETS[venue]
            ws_api = getattr(self, f"{venue.value}_ws_api")
            for factor in ("1.02", "0.9"):  # crosses the asks / rests far below
                reply = await ws_api.place_order(
                    symbol, Side.BUY, amount, price(self.sim, symbol, factor), wait=True
                )
                assert reply.ok, reply.response

    def on_book(self, venue: Exchange, event: BookEvent, book: BookView) -> None:
        assert book.symbol == event.symbol and book.valid
        self.record("on_book", venue, event)

    def on_trade(self, venue: Exchange, event: TradeEvent) -> None:
        self.record("on_trade", venue, event)

    def on_quote(self, venue: Exchange, event: QuoteEvent) -> None:
        self.record("on_quote", venue, event)

    def on_ticker(self, venue: Exchange, event: TickerEvent) -> None:
        self.record("on_ticker", venue, event)

    def on_resync(self, venue: Exchange, event: ResyncEvent) -> None:
        self.record("on_resync", venue, event)

    def on_status(self, venue: Exchange, event: StatusEvent) -> None:
        self.record("on_status", venue, event)

    async def on_order_update(self, venue: Exchange, update: OrderUpdate) -> None:
        await asyncio.sleep(0)  # async handlers run as tasks
        self.record("on_order_update", venue, update)

    def on_fill(self, venue: Exchange, fill: Fill) -> None:
        self.record("on_fill", venue, fill)

    def on_balance(self, venue: Exchange, message: dict[str, Any], recv_ns: int) -> None:
        assert recv_ns > 0
        self.record("on_balance", venue, message)

    def missing(self) -> dict[str, set[Exchange]]:
        out = {}
        for handler, venues in EXPECTED.items():
            absent = {v for v in venues if not self.seen[handler, v]}
            if absent:
                out[handler] = absent
        return out


async def test_members_and_every_event_kind_on_every_venue(
    market: Simulator, tmp_path: Path
) -> None:
    Recorder.instances.clear()
    Recorder.sim = market
    configs = write_config(tmp_path, {"recorder": all_venues("Recorder", cancel_on_stop=True)})
    runner = runner_for(market, configs)
    task = await running(runner)
    (service,) = Recorder.instances
    assert runner.services == [service] and service.members_ok
    assert service.venues == list(VENUES)
    await until(lambda: set(service.missing()) <= {"on_resync", "on_status"})
    for venue, fault in FAULTS.items():
        market.inject(venue.value, fault, count=1)
    market.inject("kraken", "maintenance")
    market.inject("kraken", "online")
    await until(lambda: not service.missing())
    assert open_orders(market) == dict.fromkeys(VENUES, 1)  # the resting buys

    for (handler, venue), events in service.seen.items():
        assert venue in EXPECTED[handler], (handler, venue)
        assert all(isinstance(e, EVENT_TYPES[handler]) for e in events), handler
        symbol = MARKETS[venue][0]
        if handler in ("on_book", "on_trade", "on_quote", "on_ticker", "on_resync"):
            assert {e.symbol for e in events} == {symbol}
        if handler in ("on_order_update", "on_fill"):
            assert {e.exchange for e in events} == {venue}
            assert {e.client_order_id for e in events} <= service.orders_opened
    assert service.orders_placed == 8 and len(service.orders_opened) == 8
    assert {s.status for s in service.seen["on_status", KRAKEN]} >= {"maintenance", "online"}
    assert service.handler_errors == 0

    service.stop()
    assert await task == 0
    assert runner.reason == "service recorder called stop(0)"
    assert open_orders(market) == dict.fromkeys(VENUES, 0)  # cancel_on_stop
    with pytest.raises(NotCreatedError):
        get_exchange_ws_api(KRAKEN)  # close_all()


# -- services side by side ----------------------------------------------------------------------


class Resting(ServiceBase):
    """Places one resting Kraken buy in on_start; records its order updates."""

    instances: ClassVar[dict[str, Resting]] = {}
    sim: ClassVar[Simulator]

    def __init__(self, name: str, setting: dict[str, Any]) -> None:
        super().__init__(name, setting)
        self.updates: list[OrderUpdate] = []
        self.stopped = False
        Resting.instances[name] = self

    async def on_start(self) -> None:
        await self.kraken_ws_api.place_order(
            "BTC/USD", Side.BUY, "0.0002", price(self.sim, "BTC/USD", self.setting["factor"])
        )

    def on_order_update(self, venue: Exchange, update: OrderUpdate) -> None:
        self.updates.append(update)

    def on_stop(self) -> None:
        assert not self.running  # no more events
        self.stopped = True


async def test_side_by_side_services_share_members_and_own_their_orders(
    market: Simulator, tmp_path: Path
) -> None:
    Resting.instances.clear()
    Resting.sim = market
    ws = {"ws_apis": [{"exchange": "kraken"}]}
    configs = write_config(
        tmp_path,
        {
            "a": {
                "class_name": "Resting",
                "cancel_on_stop": True,
                "setting": {**ws, "factor": "0.9"},
            },
            "b": {"class_name": "Resting", "setting": {**ws, "factor": "0.8"}},
        },
    )
    runner = runner_for(market, configs, duration=30)
    task = await running(runner)
    a, b = Resting.instances["a"], Resting.instances["b"]
    assert a.kraken_ws_api is b.kraken_ws_api
    await until(lambda: bool(a.updates and b.updates) and open_orders(market)[KRAKEN] == 2)
    assert not a.orders_opened & b.orders_opened
    assert {u.client_order_id for u in a.updates} == a.orders_opened
    assert {u.client_order_id for u in b.updates} == b.orders_opened
    runner.request_stop(0, "test over")
    assert await task == 0 and a.stopped and b.stopped
    # a cancelled its order on the way out; b (no cancel_on_stop) left its own alone
    (left,) = market.engine.open_orders(market.kraken_account)
    assert left.cl_ord_id in b.orders_opened


# -- a raising handler ------------------------------------------------------------------------


class Faulty(ServiceBase):
    """Its on_book always raises; its timer raises every other tick."""

    instances: ClassVar[list[Faulty]] = []

    def __init__(self, name: str, setting: dict[str, Any]) -> None:
        super().__init__(name, setting)
        self.errors: list[tuple[Exchange | None, str, BaseException]] = []
        self.trades = 0
        self.ticks = 0
        Faulty.instances.append(self)

    def on_start(self) -> None:
        self.every(0.05, self.tick)

    def tick(self) -> None:
        self.ticks += 1
        if self.ticks % 2:
            raise RuntimeError("timer failure")

    def on_book(self, venue: Exchange, event: BookEvent, book: BookView) -> None:
        raise ValueError("strategy bug")

    def on_trade(self, venue: Exchange, event: TradeEvent) -> None:
        self.trades += 1

    def on_error(self, venue: Exchange | None, error: BaseException, where: str) -> None:
        self.errors.append((venue, where, error))


class Steady(ServiceBase):
    """Counts books on the same stream as `Faulty`."""

    books = 0

    def on_book(self, venue: Exchange, event: BookEvent, book: BookView) -> None:
        Steady.books += 1


async def test_a_raising_handler_is_logged_and_costs_nothing_else(
    market: Simulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    Faulty.instances.clear()
    Steady.books = 0
    stream = {
        "streams": [{"exchange": "kraken", "channels": ["book", "trade"], "symbols": ["BTC/USD"]}]
    }
    configs = write_config(
        tmp_path,
        {
            "faulty": {"class_name": "Faulty", "setting": stream},
            "steady": {"class_name": "Steady", "setting": stream},
        },
    )
    runner = runner_for(market, configs)
    with caplog.at_level(logging.ERROR, logger="hftpy.service"):
        task = await running(runner)
        (faulty,) = Faulty.instances
        await until(lambda: faulty.trades >= 3 and Steady.books >= 20 and faulty.ticks >= 4)
        books_before = Steady.books
        await until(lambda: Steady.books > books_before + 5)  # the socket goes on
        runner.request_stop(0, "test over")
        assert await task == 0  # handler errors are no failure of the run
    ticks = faulty.ticks
    book_errors = [e for e in faulty.errors if e[1] == "on_book"]
    timer_errors = [e for e in faulty.errors if e[1] == "every(tick)"]
    assert book_errors and all(v is KRAKEN and isinstance(x, ValueError) for v, _, x in book_errors)
    assert timer_errors and all(
        v is None and isinstance(x, RuntimeError) for v, _, x in timer_errors
    )
    assert faulty.handler_errors == len(faulty.errors)
    messages = [r.getMessage() for r in caplog.records if r.name == "hftpy.service.faulty"]
    assert any(
        m.startswith("service faulty: on_book on kraken raised ValueError: strategy bug")
        for m in messages
    )
    assert any("every(tick) raised RuntimeError" in m for m in messages)
    await asyncio.sleep(0.15)
    assert faulty.ticks == ticks  # the timer ended with the run


# -- stop, every, exit codes -----------------------------------------------------------------------


class Timed(ServiceBase):
    """Counts plain and async timer ticks, then stops itself with `exit_code` from the
    setting once `ticks` async ticks have run."""

    instances: ClassVar[list[Timed]] = []

    def __init__(self, name: str, setting: dict[str, Any]) -> None:
        super().__init__(name, setting)
        self.plain = 0
        self.async_ticks = 0
        self.stopped = False
        Timed.instances.append(self)

    def on_start(self) -> None:
        self.every(0.02, self.count)
        self.every(0.05, self.async_tick)

    def count(self) -> None:
        self.plain += 1

    async def async_tick(self) -> None:
        await asyncio.sleep(0)
        self.async_ticks += 1
        if self.async_ticks == self.setting["ticks"]:
            self.stop(exit_code=self.setting["exit_code"])

    async def on_stop(self) -> None:
        self.stopped = True


@pytest.mark.parametrize("exit_code", [0, 1])
async def test_every_and_stop(market: Simulator, tmp_path: Path, exit_code: int) -> None:
    Timed.instances.clear()
    setting = {"ws_apis": [{"exchange": "backpack"}], "ticks": 4, "exit_code": exit_code}
    configs = write_config(tmp_path, {"timed": {"class_name": "Timed", "setting": setting}})
    runner = runner_for(market, configs)
    assert await asyncio.wait_for(runner.run(), 10) == exit_code
    (service,) = Timed.instances
    assert service.async_ticks == 4 and service.stopped and not service.running
    assert 3 <= service.plain <= 14  # 0.2 s of 20 ms ticks (a busy machine skips some)
    assert runner.reason == f"service timed called stop({exit_code})"


class FailingStart(ServiceBase):
    stopped = False
    errors: ClassVar[list[tuple[Exchange | None, str]]] = []

    async def on_start(self) -> None:
        raise RuntimeError("cannot start")

    def on_stop(self) -> None:
        FailingStart.stopped = True

    def on_error(self, venue: Exchange | None, error: BaseException, where: str) -> None:
        FailingStart.errors.append((venue, where))


async def test_exit_1_when_on_start_raises(market: Simulator, tmp_path: Path) -> None:
    FailingStart.stopped = False
    FailingStart.errors.clear()
    setting = {"ws_apis": [{"exchange": "kraken"}]}
    configs = write_config(tmp_path, {"bad": {"class_name": "FailingStart", "setting": setting}})
    runner = runner_for(market, configs)
    assert await asyncio.wait_for(runner.run(), 10) == 1
    assert runner.reason == "service bad: on_start raised RuntimeError: cannot start"
    assert FailingStart.stopped  # on_stop still runs
    assert FailingStart.errors == [(None, "on_start")]


async def test_exit_1_when_a_venue_refuses_the_credentials(
    market: Simulator, tmp_path: Path
) -> None:
    market.inject("upbit", "reject_auth", count=100)
    setting = {"ws_apis": [{"exchange": "upbit"}]}
    configs = write_config(tmp_path, {"x": {"class_name": "Steady", "setting": setting}})
    runner = runner_for(market, configs, ready_timeout=5)
    assert await asyncio.wait_for(runner.run(), 10) == 1
    assert runner.reason.startswith("upbit.ws_api not ready: AuthError")


async def test_exit_0_after_duration(market: Simulator, tmp_path: Path) -> None:
    setting = {"streams": [{"exchange": "binance", "channels": ["trade"], "symbols": ["BTCUSDT"]}]}
    configs = write_config(tmp_path, {"x": {"class_name": "Steady", "setting": setting}})
    runner = runner_for(market, configs, duration=0.3)
    assert await asyncio.wait_for(runner.run(), 10) == 0
    assert runner.reason == "--duration 0.3 s elapsed"


async def test_a_paper_run_needs_the_simulators_whole_environment(
    market: Simulator, tmp_path: Path
) -> None:
    configs = write_config(
        tmp_path, {"x": {"class_name": "Steady", "setting": {"ws_apis": [{"exchange": "binance"}]}}}
    )
    partial = {k: v for k, v in market.env.items() if k != "HFTPY_BINANCE_WS_API_URL"}
    runner = ServiceRunner(configs, sim=partial, modules=[__name__], handle_signals=False)
    assert await runner.run() == 2  # rather than Binance's live URL
    assert "has no HFTPY_BINANCE_WS_API_URL" in runner.reason


async def test_exit_2_before_anything_connects(market: Simulator, tmp_path: Path) -> None:
    bad_depth = {
        "streams": [
            {"exchange": "kraken", "channels": ["book"], "symbols": ["BTC/USD"], "depth": 7}
        ]
    }
    unknown = write_config(tmp_path, {"x": {"class_name": "NoSuchService"}})
    depth = write_config(tmp_path, {"x": {"class_name": "Steady", "setting": bad_depth}})
    for configs, key in (
        (unknown, "service.x.class_name"),
        (depth, "service.x.setting.streams[0]"),
    ):
        runner = runner_for(market, configs)
        assert await runner.run() == 2
        assert runner.reason.startswith(f"config error: {tmp_path / 'config.json'}: {key}: ")
    assert "book depth must be one of" in runner.reason
    assert all(not m.connections for m in (market.kraken,))  # nothing connected
