"""Runs services: `run_services(configs, ...)`, `ServiceRunner`, and the `hftpy run` command.

Start: import the `--module` files, find each `class_name`, (with `--sim`) start the
simulator and point the environment at it, create every member through the factories,
build the services, subscribe the configured streams, start every WS API and stream and wait
until each is ready, then call each service's `on_start`. Any problem up to the members'
creation is a config error (exit 2) and nothing has connected yet.

Stop (`service.stop()`, SIGINT/SIGTERM, `duration` elapsed, a member failing): handlers stop
being called, timers end, each `on_stop` runs, the orders each service opened that are still
open are cancelled when `cancel_on_stop` is set (waiting for the venue's answers at most
`cancel_timeout` s), the latency table is printed, then `close_all()`. A second signal skips
the waits.

Exit code: 2 config error; 1 a service failed (its `__init__`, `on_start` or `on_stop` raised,
a member could not get ready or died, orders were left open although `cancel_on_stop` asked to
cancel them; a service's `stop(n)` with n != 0 gives n); else 130 when interrupted by SIGINT or
SIGTERM; else 0. The reason is printed on stderr as `hftpy run: <reason> (exit N)`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import hashlib
import importlib
import importlib.util
import logging
import os
import re
import signal
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

from hftpy._core import BookEvent, QuoteEvent, ResyncEvent, StatusEvent, TickerEvent, TradeEvent
from hftpy.common import Exchange
from hftpy.errors import ConfigError
from hftpy.exchange import (
    close_all,
    create_exchange_api,
    create_exchange_stream,
    create_exchange_ws_api,
)
from hftpy.exchange.endpoints import CREDENTIALS, ENDPOINTS
from hftpy.exchange.tracker import TrackedOrder
from hftpy.service.base import HANDLERS, ServiceBase, current_service
from hftpy.service.config import (
    SIM_REPLACED_KEYS,
    ApiConfig,
    ServiceConfig,
    ServiceConfigError,
    StreamConfig,
    load_config,
    member_name,
    parse_env_text,
)

if TYPE_CHECKING:
    from hftpy.sim import Simulator

__all__ = [
    "BALANCE_CHANNELS",
    "ServiceRunner",
    "add_arguments",
    "load_modules",
    "resolve_class",
    "run_command",
    "run_services",
    "simulator_env",
]

log = logging.getLogger("hftpy.service")

#: The private channels whose messages go to `on_balance`, per venue.
BALANCE_CHANNELS: Final[Mapping[Exchange, tuple[str, ...]]] = {
    Exchange.KRAKEN: ("balances",),
    Exchange.BINANCE: ("outboundAccountPosition", "balanceUpdate"),
    Exchange.BACKPACK: (),
    Exchange.UPBIT: ("myAsset",),
}
#: Order ids remembered per WS API before final orders are pruned from them.
_PRUNE_AT: Final = 50_000
SimTarget = bool | str | Mapping[str, str]


# -- modules and classes ---------------------------------------------------------------------------


def load_modules(specs: Sequence[str]) -> list[ModuleType]:
    """Imports each `--module`: a `.py` file (its directory goes on `sys.path`, as `python
    FILE` would do) or a dotted module name. Raises `ServiceConfigError`."""
    modules = []
    for spec in specs:
        key = f"--module {spec}"
        path = Path(spec)
        if spec.endswith(".py") or os.sep in spec or path.is_file():
            if not path.is_file():
                raise ServiceConfigError(None, key, "no such file", "check the path")
            modules.append(_import_file(path.resolve(), key))
            continue
        try:
            modules.append(importlib.import_module(spec))
        except Exception as exc:
            log.debug("cannot import %s", spec, exc_info=True)
            raise ServiceConfigError(
                None,
                key,
                f"cannot import it: {type(exc).__name__}: {exc}",
                "give a .py file or a module importable from the current directory",
            ) from exc
    return modules


def _import_file(path: Path, key: str) -> ModuleType:
    for module in list(sys.modules.values()):
        if getattr(module, "__file__", None) == str(path):
            return module
    name = path.stem
    if name in sys.modules or not name.isidentifier():
        digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
        name = f"{name if name.isidentifier() else 'service'}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ServiceConfigError(None, key, "cannot load it as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        detail = "".join(traceback.format_exception(exc)).rstrip()
        raise ServiceConfigError(
            None,
            key,
            f"importing it raised {type(exc).__name__}: {exc}\n{detail}",
            "fix the module",
        ) from exc
    return module


def resolve_class(config: ServiceConfig, modules: Sequence[ModuleType]) -> type[ServiceBase]:
    """The `ServiceBase` subclass a config's `class_name` names: `package.module:Class`, or a
    bare name defined in (or imported into) one of `modules`."""
    name = config.class_name
    key = f"{config.key}.class_name"
    found: Any
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            found = importlib.import_module(module_name)
        except Exception as exc:
            raise ServiceConfigError(
                config.file,
                key,
                f"cannot import {module_name!r}: {type(exc).__name__}: {exc}",
                "make it importable (PYTHONPATH), or give the file with --module and a bare "
                "class name",
            ) from exc
        for part in attribute.split("."):
            found = getattr(found, part, None)
        if found is None:
            raise ServiceConfigError(
                config.file, key, f"{module_name} has no {attribute!r}", "check the class name"
            )
    else:
        matches: dict[int, type[ServiceBase]] = {}
        others: set[str] = set()
        for module in modules:
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, ServiceBase)
                    and value is not ServiceBase
                ):
                    if value.__name__ == name:
                        matches[id(value)] = value
                    else:
                        others.add(value.__name__)
        if not matches:
            where = ", ".join(m.__name__ for m in modules) or "no --module given"
            known = f" (found: {', '.join(sorted(others))})" if others else ""
            raise ServiceConfigError(
                config.file,
                key,
                f"no ServiceBase subclass named {name!r} in the modules ({where}){known}",
                f'pass --module FILE that defines it, or write "package.module:{name}"',
            )
        if len(matches) > 1:
            places = ", ".join(f"{c.__module__}:{c.__qualname__}" for c in matches.values())
            raise ServiceConfigError(
                config.file, key, f"{name!r} is ambiguous ({places})", "write module:Class"
            )
        found = next(iter(matches.values()))
    if not (isinstance(found, type) and issubclass(found, ServiceBase)):
        raise ServiceConfigError(
            config.file,
            key,
            f"{name!r} is not a ServiceBase subclass",
            "derive the strategy from hftpy.service.ServiceBase",
        )
    return found


# -- the simulator ---------------------------------------------------------------------------------


def simulator_env(where: str) -> dict[str, str]:
    """The environment of a running `hftpy sim` on its default ports at `where` (a host, or
    `http://host`): what `hftpy sim --print-env` prints for that host."""
    host = re.sub(r"^[a-z]+://", "", where.strip()).rstrip("/")
    if not host or "/" in host or (re.search(r":\d+$", host) and not host.startswith("[")):
        raise ServiceConfigError(
            None,
            f"--sim-url {where}",
            "expected a host (the simulator's ports are its fixed defaults)",
            "give e.g. 127.0.0.1, or --sim-env FILE with the lines a simulator on other "
            "ports printed",
        )
    from hftpy.sim import Simulator

    return Simulator(ports="default", host=host, synthetic_flow=False).env


def read_sim_env(path: Path | str) -> dict[str, str]:
    """The `export NAME='value'` lines a running `hftpy sim` printed (its `ready` line and
    anything not `NAME=...` skipped)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ServiceConfigError(
            path, "", f"cannot read it: {exc.strerror or exc}", "check the path"
        ) from None
    lines = [line for line in text.splitlines() if "=" in line]
    env = {
        k: v for k, v in parse_env_text("\n".join(lines), path).items() if k.startswith("HFTPY_")
    }
    if not env:
        raise ServiceConfigError(
            path,
            "",
            "holds no HFTPY_* variable",
            "save what `hftpy sim` prints: hftpy sim --ports free > FILE",
        )
    return env


# -- the runner ------------------------------------------------------------------------------------


@dataclass(eq=False)
class _Member:
    """One API or stream object and the services that use it."""

    kind: str  # "apis", "ws_apis" or "streams"
    exchange: Exchange
    account: str
    obj: Any
    services: list[ServiceBase] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    #: client order id -> the service that placed it (WS APIs)
    owners: dict[str, ServiceBase] = field(default_factory=dict)
    prune_at: int = _PRUNE_AT

    @property
    def label(self) -> str:
        name = f"{self.exchange.value}.{member_name(self.exchange, self.kind).split('_', 1)[1]}"
        return name if self.account == "default" else f"{name}[{self.account}]"


class _Failed(Exception):
    """A failure with its reason (exit 1)."""


def _rank(code: int) -> int:
    return 0 if code == 0 else 1 if code == 130 else 2


class ServiceRunner:
    """Runs `configs` side by side in this process: `await ServiceRunner(...).run()` returns
    the exit code. `services` holds the built services (for tests and embedding).

    `sim`: False (live venues), True (an embedded simulator in this process, on free ports),
    a host (a running `hftpy sim` on its default ports there) or a mapping (the `HFTPY_*`
    environment a running simulator printed). With any of them the config's credentials and
    URLs are not used: the simulator's replace them, so a paper run never reaches a venue.
    `cancel_on_stop`: None keeps each config's. `duration`: stop that long after the
    `on_start`s were called. `stats_every`: print the latency table that often."""

    def __init__(
        self,
        configs: Sequence[ServiceConfig],
        *,
        modules: Sequence[str] = (),
        sim: SimTarget = False,
        duration: float | None = None,
        cancel_on_stop: bool | None = None,
        stats_every: float | None = None,
        cancel_timeout: float = 5.0,
        ready_timeout: float = 30.0,
        stop_timeout: float = 10.0,
        handle_signals: bool = True,
    ) -> None:
        self.configs = list(configs)
        self.modules = list(modules)
        self.sim = sim
        self.duration = duration
        self.cancel_on_stop = cancel_on_stop
        self.stats_every = stats_every
        self.cancel_timeout = cancel_timeout
        self.ready_timeout = ready_timeout
        self.stop_timeout = stop_timeout
        self.handle_signals = handle_signals
        self.services: list[ServiceBase] = []
        self._pairs: list[tuple[ServiceConfig, ServiceBase]] = []
        #: The embedded simulator (`sim=True`), once started.
        self.simulator: Simulator | None = None
        self.exit_code: int | None = None
        self.reasons: list[str] = []
        self._members: dict[int, _Member] = {}
        self._of_service: dict[int, list[tuple[ApiConfig | StreamConfig, _Member]]] = {}
        self._started: list[ServiceBase] = []
        self._saved_env: dict[str, str | None] = {}
        self._stop: asyncio.Event | None = None
        self._force: asyncio.Event | None = None
        self._stopping = False
        self._timers: list[asyncio.TimerHandle] = []
        self._stats_task: asyncio.Task[None] | None = None

    # -- outcome -----------------------------------------------------------------------------------
    def request_stop(self, exit_code: int, reason: str) -> None:
        """Stops the run with `exit_code` (a failure's outranks an interrupt's, which
        outranks a clean one) and `reason`."""
        self._outcome(exit_code, reason)
        if self._stop is not None:
            self._stop.set()

    def _outcome(self, code: int, reason: str) -> None:
        if (
            reason in self.reasons
            and self.exit_code is not None
            and _rank(code) <= _rank(self.exit_code)
        ):
            return  # said already (a service calling stop() twice)
        if self.exit_code is None or _rank(code) > _rank(self.exit_code):
            self.exit_code = code
            self.reasons.insert(0, reason)
        else:
            self.reasons.append(reason)

    def _fail(self, reason: str) -> None:
        log.error("%s", reason)
        self.request_stop(1, reason)

    @property
    def reason(self) -> str:
        """Why the run ended (the deciding reason first)."""
        return "; ".join(self.reasons)

    def _on_signal(self, name: str) -> None:
        if self._stop is not None and self._stop.is_set():
            if self._force is not None and not self._force.is_set():
                print(f"hftpy run: {name} again: stopping without waiting", file=sys.stderr)
                self._force.set()
            return
        self.request_stop(130, f"interrupted by {name}")

    # -- run ---------------------------------------------------------------------------------------
    async def run(self) -> int:
        """Runs until stopped; returns the exit code (and prints the reason on stderr)."""
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._force = asyncio.Event()
        installed = self._install_signals(loop)
        try:
            try:
                await self._setup()
            except ConfigError as exc:
                self._outcome(2, f"config error: {exc}")
            except _Failed as exc:
                self._outcome(1, str(exc))
            else:
                if await self._until_stopped(self._start()):
                    self._arm(loop)
                    await self._stop.wait()
        except _Failed as exc:
            self._outcome(1, str(exc))
        except ConfigError as exc:
            self._outcome(2, f"config error: {exc}")
        except Exception as exc:
            log.exception("hftpy run: unexpected error")
            self._outcome(1, f"unexpected error: {type(exc).__name__}: {exc}")
        finally:
            try:
                await self._shutdown()
            finally:
                for sig in installed:
                    loop.remove_signal_handler(sig)
                self._restore_env()
        code = 0 if self.exit_code is None else self.exit_code
        print(f"hftpy run: {self.reason or 'done'} (exit {code})", file=sys.stderr, flush=True)
        return code

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> list[signal.Signals]:
        if not self.handle_signals:
            return []
        installed: list[signal.Signals] = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self._on_signal, sig.name)
            except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
                continue
            installed.append(sig)
        return installed

    async def _until_stopped(self, coro: Any) -> bool:
        """Runs `coro` unless the run is stopped first (then cancels it): True when it ran."""
        assert self._stop is not None
        if self._stop.is_set():
            coro.close()
            return False
        task = asyncio.ensure_future(coro)
        stopper = asyncio.ensure_future(self._stop.wait())
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            return False
        task.result()
        return not self._stop.is_set()

    # -- setup (nothing connects here) -------------------------------------------------------------
    async def _setup(self) -> None:
        if not self.configs:
            raise ServiceConfigError(None, "", "no service to run")
        modules = load_modules(self.modules)
        classes = [resolve_class(config, modules) for config in self.configs]
        await self._point_at_simulator()
        for config in self.configs:
            for name, value in config.env.items():
                self._setenv(name, value, override=False)
        for config in self.configs:
            self._of_service[id(config)] = self._create_members(config)
        for config, cls in zip(self.configs, classes, strict=True):
            try:
                service = cls(config.name, config.setting)
            except Exception as exc:
                log.error("service %s: %s() raised", config.name, cls.__name__, exc_info=exc)
                raise _Failed(
                    f"service {config.name}: {cls.__name__}() raised {type(exc).__name__}: {exc}"
                ) from exc
            self._attach(service, config)
        for member in self._members.values():
            if member.kind == "ws_apis":
                member.obj.orders.on_sent = self._sent_hook(member)

    async def _point_at_simulator(self) -> None:
        sim = self.sim
        if sim is False:
            return
        if sim is True:
            from hftpy.sim import Simulator

            self.simulator = Simulator(ports="free")
            await self.simulator.start()
            env = self.simulator.env
        elif isinstance(sim, str):
            env = simulator_env(sim)
        else:
            env = dict(sim)
        # A paper run must never fall back to a live venue's URL or the live keys.
        venues = {venue for config in self.configs for venue in config.venues}
        needed = [
            name
            for venue in sorted(venues)
            for name in (*(v for v, _ in ENDPOINTS[venue].values()), *CREDENTIALS[venue])
        ]
        missing = [name for name in needed if not env.get(name)]
        if missing:
            raise ServiceConfigError(
                None,
                "the simulator's environment",
                f"has no {', '.join(missing)}",
                "give everything `hftpy sim` prints (it prints every venue's variables)",
            )
        for name, value in env.items():
            self._setenv(name, value, override=True)

    def _setenv(self, name: str, value: str, *, override: bool) -> None:
        if not override and name in os.environ:
            return
        self._saved_env.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def _restore_env(self) -> None:
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_env.clear()

    def _create_members(
        self, config: ServiceConfig
    ) -> list[tuple[ApiConfig | StreamConfig, _Member]]:
        out: list[tuple[ApiConfig | StreamConfig, _Member]] = []
        entries: list[tuple[str, ApiConfig | StreamConfig]] = [
            *(("apis", e) for e in config.apis),
            *(("ws_apis", e) for e in config.ws_apis),
            *(("streams", e) for e in config.streams),
        ]
        factories: dict[str, Callable[..., Any]] = {
            "apis": create_exchange_api,
            "ws_apis": create_exchange_ws_api,
            "streams": create_exchange_stream,
        }
        # REST first: a WS API uses the REST API of its account (Kraken's token, ...).
        for kind in ("apis", "ws_apis", "streams"):
            for entry_kind, entry in entries:
                if entry_kind != kind:
                    continue
                kwargs = dict(entry.kwargs)
                if self.sim is not False:
                    for name in SIM_REPLACED_KEYS & kwargs.keys():
                        del kwargs[name]
                try:
                    obj = factories[kind](entry.exchange, **kwargs)
                except (ConfigError, TypeError, ValueError) as exc:
                    raise ServiceConfigError(
                        config.file, entry.key, str(exc), "check this entry's keys and values"
                    ) from exc
                member = self._members.get(id(obj))
                if member is None:
                    member = _Member(kind, entry.exchange, entry.account, obj)
                    self._members[id(obj)] = member
                out.append((entry, member))
        return out

    def _attach(self, service: ServiceBase, config: ServiceConfig) -> None:
        if not isinstance(service, ServiceBase):
            raise _Failed(f"service {config.name}: {type(service).__name__} is not a ServiceBase")
        service._runner = self
        service.venues = config.venues
        for entry, member in self._of_service[id(config)]:
            setattr(service, member_name(entry.exchange, member.kind), member.obj)
            if service not in member.services:
                member.services.append(service)
        self.services.append(service)
        self._pairs.append((config, service))
        if service._stopped:
            self.request_stop(0, f"service {service.name} called stop() in __init__")

    # -- start -------------------------------------------------------------------------------------
    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        for config, service in self._pairs:
            for entry, member in self._of_service[id(config)]:
                if isinstance(entry, StreamConfig):
                    await self._subscribe(config, service, entry, member)
        for member in self._members.values():
            if member.kind == "ws_apis":
                await self._listen_private(member)
        for member in self._members.values():
            if member.kind == "apis":
                continue
            member.task = loop.create_task(member.obj.start(), name=f"hftpy-run {member.label}")
            member.task.add_done_callback(functools.partial(self._member_ended, member))
        await asyncio.gather(*(self._ready(m) for m in self._members.values() if m.kind != "apis"))
        starts = []
        for service in self.services:
            service._live = True
            self._started.append(service)
            starts.append(service._spawn(self._on_start(service), f"hftpy-run {service.name}"))
        for service, outcome in zip(
            self.services, await asyncio.gather(*starts, return_exceptions=True), strict=True
        ):
            if isinstance(outcome, asyncio.CancelledError):
                continue
            if isinstance(outcome, BaseException):
                log.error("service %s: on_start raised", service.name, exc_info=outcome)
                self._tell(service, outcome, "on_start")
                raise _Failed(
                    f"service {service.name}: on_start raised {type(outcome).__name__}: {outcome}"
                )

    @staticmethod
    async def _on_start(service: ServiceBase) -> None:
        result = service.on_start()
        if result is not None:
            await result

    async def _subscribe(
        self, config: ServiceConfig, service: ServiceBase, entry: StreamConfig, member: _Member
    ) -> None:
        listener = self._stream_listener(service, entry.exchange, member.obj)
        try:
            await member.obj.subscribe(list(entry.channels), list(entry.symbols), callback=listener)
        except ConfigError as exc:
            raise ServiceConfigError(
                config.file, f"{entry.key}.symbols", str(exc), "check the venue's symbols"
            ) from exc
        except Exception as exc:
            raise _Failed(
                f"{member.label}: cannot subscribe {entry.key}: {type(exc).__name__}: {exc}"
            ) from exc
        if service._defines("on_status"):
            member.obj.add_listener(listener, channel="status")

    async def _listen_private(self, member: _Member) -> None:
        ws_api = member.obj
        wanted = {h for s in member.services for h in HANDLERS if s._defines(h)}
        if "on_order_update" in wanted:
            ws_api.on_order_update(functools.partial(self._route_order, member, "on_order_update"))
        if "on_fill" in wanted:
            ws_api.on_fill(functools.partial(self._route_order, member, "on_fill"))
        if "on_balance" in wanted:
            for channel in BALANCE_CHANNELS.get(member.exchange, ()):
                ws_api.add_listener(channel, functools.partial(self._route_balance, member))
            subscribe = getattr(ws_api, "subscribe_balances", None)
            if subscribe is not None:
                await subscribe()  # Kraken: sent on (every) connect

    async def _ready(self, member: _Member) -> None:
        try:
            await member.obj.wait_ready(self.ready_timeout)
        except Exception as exc:
            raise _Failed(f"{member.label} not ready: {type(exc).__name__}: {exc}") from exc

    def _member_ended(self, member: _Member, task: asyncio.Task[None]) -> None:
        if self._stopping or task.cancelled():
            return
        exc = task.exception()
        detail = f"{type(exc).__name__}: {exc}" if exc is not None else "it was closed"
        self._fail(f"{member.label} stopped: {detail}")

    def _arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.duration is not None:
            self._timers.append(
                loop.call_later(
                    self.duration, self.request_stop, 0, f"--duration {self.duration:g} s elapsed"
                )
            )
        if self.stats_every:
            self._stats_task = loop.create_task(self._print_stats_every(self.stats_every))

    # -- routing -----------------------------------------------------------------------------------
    def _stream_listener(
        self, service: ServiceBase, venue: Exchange, stream: Any
    ) -> Callable[[Any], None]:
        def bound(name: str) -> Callable[..., Any] | None:
            return getattr(service, name) if service._defines(name) else None

        on_book, on_trade, on_quote = bound("on_book"), bound("on_trade"), bound("on_quote")
        on_ticker, on_resync, on_status = bound("on_ticker"), bound("on_resync"), bound("on_status")
        books: dict[str, Any] = {}
        call = service._call

        def deliver(event: Any) -> None:
            if not service._live:
                return
            kind = type(event)
            if kind is BookEvent:
                if on_book is not None:
                    symbol = event.symbol
                    book = books.get(symbol)
                    if book is None:
                        book = books[symbol] = stream.book(symbol)
                    call(on_book, "on_book", venue, venue, event, book)
            elif kind is TradeEvent:
                if on_trade is not None:
                    call(on_trade, "on_trade", venue, venue, event)
            elif kind is QuoteEvent:
                if on_quote is not None:
                    call(on_quote, "on_quote", venue, venue, event)
            elif kind is TickerEvent:
                if on_ticker is not None:
                    call(on_ticker, "on_ticker", venue, venue, event)
            elif kind is ResyncEvent:
                if on_resync is not None:
                    call(on_resync, "on_resync", venue, venue, event)
            elif kind is StatusEvent and on_status is not None:
                call(on_status, "on_status", venue, venue, event)

        return deliver

    def _route_order(self, member: _Member, handler: str, event: Any) -> None:
        client_id = event.client_order_id
        if client_id is None and event.order_id is not None:
            order = member.obj.orders.find(event.order_id, None)
            client_id = None if order is None else order.client_order_id
        owner = None if client_id is None else member.owners.get(client_id)
        for service in (owner,) if owner is not None else member.services:
            if service._live and service._defines(handler):
                service._call(
                    getattr(service, handler), handler, member.exchange, member.exchange, event
                )

    def _route_balance(self, member: _Member, message: dict[str, Any], recv_ns: int) -> None:
        for service in member.services:
            if service._live and service._defines("on_balance"):
                service._call(
                    service.on_balance,
                    "on_balance",
                    member.exchange,
                    member.exchange,
                    message,
                    recv_ns,
                )

    def _sent_hook(self, member: _Member) -> Callable[[TrackedOrder], None]:
        """Files each order a WS API sends under the service that placed it: the one whose
        code is running (handler, timer, task), else the WS API's only service."""

        def sent(order: TrackedOrder) -> None:
            try:
                client_id = order.client_order_id
                service = current_service()
                if service is None or service not in member.services:
                    service = member.services[0] if len(member.services) == 1 else None
                if client_id is None or service is None:
                    return
                service.orders_opened.add(client_id)
                service.orders_placed += 1
                member.owners[client_id] = service
                if len(member.owners) >= member.prune_at:
                    self._prune(member)
            except Exception:  # never on the send path's account
                log.exception("hftpy run: order bookkeeping failed")

        return sent

    @staticmethod
    def _prune(member: _Member) -> None:
        """Forgets the ids of final (or long forgotten) orders."""
        tracker = member.obj.orders
        for client_id, service in list(member.owners.items()):
            order = tracker.find(None, client_id)
            if order is None or order.status.is_final:
                del member.owners[client_id]
                service.orders_opened.discard(client_id)
        member.prune_at = max(_PRUNE_AT, 2 * len(member.owners))

    # -- shutdown ----------------------------------------------------------------------------------
    async def _bounded(self, awaitable: Any, timeout: float) -> bool:
        """Awaits `awaitable` at most `timeout` s (less after a second signal): True when it
        finished. Its exception propagates."""
        assert self._force is not None
        task = asyncio.ensure_future(awaitable)
        force = asyncio.ensure_future(self._force.wait())
        await asyncio.wait({task, force}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        force.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
            return False
        task.result()
        return True

    async def _shutdown(self) -> None:
        self._stopping = True
        for timer in self._timers:
            timer.cancel()
        if self._stats_task is not None:
            self._stats_task.cancel()
        for service in self.services:
            service._live = False
        tasks = [t for s in self.services for t in s._tasks]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        for service in self._started:
            await self._stop_service(service)
        cancels = [
            self._cancel_orders(service)
            for config, service in self._pairs
            if service in self._started and self._cancels(config)
        ]
        if cancels:
            await asyncio.gather(*cancels)
        if self._started:
            table = self._stats_table()
            if table:
                print(table, flush=True)
        for service in self.services:
            if service.handler_errors:
                print(
                    f"hftpy run: service {service.name}: {service.handler_errors} handler "
                    "call(s) raised (see the log)",
                    file=sys.stderr,
                )
        for member in self._members.values():
            if member.kind == "ws_apis":
                member.obj.orders.on_sent = None
        await close_all()
        started = [m.task for m in self._members.values() if m.task is not None]
        if started:
            await asyncio.wait(started, timeout=3.0)
        if self.simulator is not None:
            try:
                await self.simulator.stop()
            except Exception as exc:
                self._outcome(1, f"the embedded simulator failed: {type(exc).__name__}: {exc}")

    @staticmethod
    def _tell(service: ServiceBase, error: BaseException, where: str) -> None:
        """Passes an `on_start` / `on_stop` failure to the service's `on_error`."""
        if service._defines("on_error"):
            service._call(service.on_error, "on_error", None, None, error, where)

    def _cancels(self, config: ServiceConfig) -> bool:
        if self.cancel_on_stop is not None:
            return self.cancel_on_stop
        return bool(config.cancel_on_stop)

    async def _stop_service(self, service: ServiceBase) -> None:
        async def on_stop() -> None:
            result = service.on_stop()
            if result is not None:
                await result

        task = service._spawn(on_stop(), f"hftpy-run {service.name} on_stop")
        try:
            if not await self._bounded(task, self.stop_timeout):
                self._outcome(1, f"service {service.name}: on_stop did not end in time")
        except Exception as exc:
            log.error("service %s: on_stop raised", service.name, exc_info=exc)
            self._tell(service, exc, "on_stop")
            self._outcome(1, f"service {service.name}: on_stop raised {type(exc).__name__}: {exc}")

    async def _cancel_orders(self, service: ServiceBase) -> None:
        """Cancels the service's orders that are still open and waits (within
        `cancel_timeout`) until the venues have confirmed it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.cancel_timeout
        members = [
            m for m in self._members.values() if m.kind == "ws_apis" and service in m.services
        ]
        results = await asyncio.gather(
            *(self._cancel_on(member, service, deadline) for member in members)
        )
        cancelled = {m.exchange.value: n for m, (n, _) in zip(members, results, strict=True) if n}
        left = {m.exchange.value: ids for m, (_, ids) in zip(members, results, strict=True) if ids}
        if cancelled:
            counts = ", ".join(f"{venue} {n}" for venue, n in cancelled.items())
            print(
                f"hftpy run: service {service.name}: cancelled {sum(cancelled.values())} open "
                f"order(s) ({counts})",
                file=sys.stderr,
                flush=True,
            )
        if left:
            detail = "; ".join(f"{venue}: {', '.join(ids)}" for venue, ids in left.items())
            self._outcome(
                1,
                f"service {service.name}: orders still open after cancel_on_stop "
                f"({self.cancel_timeout:g} s): {detail}",
            )

    async def _cancel_on(
        self, member: _Member, service: ServiceBase, deadline: float
    ) -> tuple[int, list[str]]:
        loop = asyncio.get_running_loop()
        ws_api = member.obj
        attempts: dict[str, int] = {}
        cancelled: set[str] = set()

        def mine() -> list[Any]:
            return [o for o in ws_api.open_orders() if o.client_order_id in service.orders_opened]

        assert self._force is not None
        while (open_now := mine()) and loop.time() < deadline and not self._force.is_set():
            if not ws_api.ready:
                await asyncio.sleep(0.05)
                continue
            sends = []
            for order in open_now:
                client_id = order.client_order_id
                if order.order_id is None or attempts.get(client_id, 0) >= 3:
                    continue  # not acknowledged yet (its cancel could overtake it) / gave up
                attempts[client_id] = attempts.get(client_id, 0) + 1
                cancelled.add(client_id)
                sends.append(
                    ws_api.cancel_order(
                        order_id=order.order_id,
                        symbol=order.symbol or None,
                        wait=True,
                        timeout=max(0.1, deadline - loop.time()),
                    )
                )
            if sends:
                outcomes = await asyncio.gather(*sends, return_exceptions=True)
                for outcome in outcomes:
                    if isinstance(outcome, BaseException):
                        log.warning("%s: cancel on stop: %s", member.label, outcome)
                    elif not outcome.ok:
                        log.warning(
                            "%s: cancel on stop refused: %s", member.label, outcome.response
                        )
            await asyncio.sleep(0.02)
        still_open = mine()
        left = [o.order_id or o.client_order_id or "?" for o in still_open]
        return len(cancelled - {o.client_order_id for o in still_open}), left

    # -- statistics --------------------------------------------------------------------------------
    def _stats_table(self) -> str | None:
        """The latency summary of every member that keeps one (`latency_stats()`), formatted by
        `hftpy.exchange.stats.format_table`; None when nothing keeps statistics."""
        data: dict[str, Any] = {}
        for member in self._members.values():
            collect = getattr(member.obj, "latency_stats", None)
            if not callable(collect):
                continue
            try:
                stats = collect()
            except Exception:
                log.exception("%s: latency_stats() failed", member.label)
                continue
            if stats:
                data[member.label] = stats
        if not data:
            return None
        try:
            stats_module = importlib.import_module("hftpy.exchange.stats")
        except ImportError:
            stats_module = None
        format_table = getattr(stats_module, "format_table", None)
        if callable(format_table):
            return str(format_table(data))
        return "\n".join(
            f"{source} {key} {summary}"
            for source, table in data.items()
            for key, summary in table.items()
        )

    async def _print_stats_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            table = self._stats_table()
            if table:
                print(table, flush=True)


async def run_services(
    configs: Sequence[ServiceConfig],
    *,
    sim: SimTarget = False,
    duration: float | None = None,
    cancel_on_stop: bool | None = None,
    stats_every: float | None = None,
    modules: Sequence[str] = (),
    cancel_timeout: float = 5.0,
    ready_timeout: float = 30.0,
    handle_signals: bool = True,
) -> int:
    """Runs `configs` (from `load_config`) side by side until stopped and returns the exit
    code (0 clean, 1 a service failed, 2 config error, 130 interrupted), printing the reason.
    See `ServiceRunner` for the arguments."""
    runner = ServiceRunner(
        configs,
        modules=modules,
        sim=sim,
        duration=duration,
        cancel_on_stop=cancel_on_stop,
        stats_every=stats_every,
        cancel_timeout=cancel_timeout,
        ready_timeout=ready_timeout,
        handle_signals=handle_signals,
    )
    return await runner.run()


# -- `hftpy run` -----------------------------------------------------------------------------------


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `hftpy run`."""
    parser.add_argument("config", help="the service config (JSON)")
    parser.add_argument(
        "--module",
        action="append",
        default=[],
        metavar="FILE_OR_MODULE",
        help="a .py file or module defining the services a bare class_name names (repeatable)",
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "--sim",
        action="store_true",
        help="paper trading: start the embedded simulator in this process and use its "
        "URLs and credentials instead of the config's",
    )
    target.add_argument(
        "--sim-url",
        metavar="HOST",
        help="paper trading against a running `hftpy sim` on its default ports at HOST",
    )
    target.add_argument(
        "--sim-env",
        metavar="FILE",
        help="paper trading against a running `hftpy sim` whose printed export lines are in "
        "FILE (e.g. `hftpy sim --ports free > FILE`)",
    )
    parser.add_argument("--duration", type=_positive, metavar="S", help="stop after S seconds")
    parser.add_argument(
        "--cancel-on-stop",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="cancel the orders each service opened that are still open when it stops "
        "(default: the config's cancel_on_stop)",
    )
    parser.add_argument(
        "--cancel-timeout",
        type=_positive,
        default=5.0,
        metavar="S",
        help="how long to wait for the venues to confirm those cancels (default 5)",
    )
    parser.add_argument(
        "--stats-every", type=_positive, metavar="S", help="print the latency table every S s"
    )
    parser.add_argument(
        "--env-file",
        metavar="FILE",
        help="read variables from FILE instead of the .env beside the config (never "
        "overriding those already set)",
    )
    parser.add_argument(
        "--ready-timeout",
        type=_positive,
        default=30.0,
        metavar="S",
        help="how long each connection may take to get ready (default 30)",
    )


async def run_command(args: argparse.Namespace) -> int:
    """`hftpy run`: loads the config and runs its services."""
    sim: SimTarget = False
    try:
        if args.sim:
            sim = True
        elif args.sim_url:
            sim = simulator_env(args.sim_url)
        elif args.sim_env:
            sim = read_sim_env(args.sim_env)
        configs = load_config(args.config, args.env_file, sim=sim is not False)
    except ServiceConfigError as exc:
        print(f"hftpy run: config error: {exc} (exit 2)", file=sys.stderr, flush=True)
        return 2
    return await run_services(
        configs,
        sim=sim,
        duration=args.duration,
        cancel_on_stop=args.cancel_on_stop,
        stats_every=args.stats_every,
        modules=args.module,
        cancel_timeout=args.cancel_timeout,
        ready_timeout=args.ready_timeout,
    )
