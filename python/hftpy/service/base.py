"""`ServiceBase`: a strategy run by `hftpy run` (or `run_services`).

    class MMDemoService(ServiceBase):
        async def on_start(self):                      # members exist and are ready here
            await self.kraken_ws_api.place_order(..., callback=self.on_ws_place_order_callback)
        def on_book(self, venue, event, book): ...     # book: the live BookView
        def on_fill(self, venue, fill): ...

Members, per venue of the config: `self.<venue>_api` (REST), `self.<venue>_ws_api`,
`self.<venue>_stream` (e.g. `self.kraken_ws_api`): the factories' objects, so
`get_exchange_ws_api(Exchange.KRAKEN)` anywhere returns the same one. They are set, started
and ready before `on_start`.

Handlers are all optional and may be plain or `async def`: a plain one runs inside the
frame handler (keep it short, never block), an async one runs as its own task. Every handler
gets the venue first. A handler that raises is logged with the service's name, counted in
`handler_errors` and passed to `on_error`; the other handlers, services and sockets go on.
Events reach a service from the moment its `on_start` is called until it stops.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, Protocol

from hftpy._core import (
    BookEvent,
    BookView,
    QuoteEvent,
    ResyncEvent,
    StatusEvent,
    TickerEvent,
    TradeEvent,
)
from hftpy.common import Exchange
from hftpy.exchange.orders import Fill, OrderUpdate
from hftpy.service.config import is_identifier

__all__ = ["HANDLERS", "ServiceBase", "current_service"]

log = logging.getLogger("hftpy.service")

#: The service whose code is running now (its handlers, timers and the tasks they start):
#: how the runner knows which service placed an order.
_current: contextvars.ContextVar[ServiceBase | None] = contextvars.ContextVar(
    "hftpy_service", default=None
)

#: The handler names a service may define.
HANDLERS: Final = (
    "on_start",
    "on_stop",
    "on_book",
    "on_trade",
    "on_quote",
    "on_ticker",
    "on_resync",
    "on_status",
    "on_order_update",
    "on_fill",
    "on_balance",
    "on_error",
)
_MEMBER = re.compile(rf"({'|'.join(e.value for e in Exchange)})_(api|ws_api|stream)")
_KINDS: Final = {"api": "apis", "ws_api": "ws_apis", "stream": "streams"}


def current_service() -> ServiceBase | None:
    """The service whose handler, timer or task is running now (None outside any)."""
    return _current.get()


class _Runner(Protocol):
    def request_stop(self, exit_code: int, reason: str) -> None: ...


class ServiceBase:
    """Base class of services. The runner builds it as `cls(name, setting)`; override
    `__init__` with the same two parameters (and call `super().__init__(name, setting)`) to
    set up state. `setting` holds the strategy's own keys of the config's `setting`; those that
    are identifiers (`symbol`, `spread_bps`) are also attributes, unless that would hide a
    method, property or member of the class (then read them from `self.setting`)."""

    #: The `<name>` of the config's `service.<name>`.
    name: str
    #: The strategy's own setting keys, read-only.
    setting: Mapping[str, Any]
    #: `logging.getLogger("hftpy.service.<name>")`.
    log: logging.Logger
    #: The venues of the config (REST, WS API or stream), in config order.
    venues: list[Exchange]
    #: Client order ids of the orders this service placed (with `cancel_on_stop`, those
    #: still open are cancelled when it stops).
    orders_opened: set[str]
    #: Orders this service placed so far.
    orders_placed: int
    #: Handler calls that raised so far.
    handler_errors: int

    def __init__(self, name: str, setting: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self.setting = MappingProxyType(dict(setting or {}))
        self.log = logging.getLogger(f"hftpy.service.{name}")
        self.venues = []
        self.orders_opened = set()
        self.orders_placed = 0
        self.handler_errors = 0
        self._runner: _Runner | None = None
        self._live = False
        self._stopped = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._context = contextvars.copy_context()
        self._context.run(_current.set, self)
        for key, value in self.setting.items():
            if is_identifier(key) and not self._clashes(key):
                setattr(self, key, value)

    def _clashes(self, key: str) -> bool:
        if key in self.__dict__ or _MEMBER.fullmatch(key) or key in HANDLERS:
            return True
        found = inspect.getattr_static(type(self), key, None)
        if found is None:
            return False
        if callable(found) or hasattr(found, "__get__"):
            log.warning(
                "service %s: setting %r is not an attribute (it would hide %s.%s); "
                "read it as self.setting[%r]",
                self.name,
                key,
                type(self).__name__,
                key,
                key,
            )
            return True
        return False  # a plain class-level default: the config's value replaces it

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

    def __getattr__(self, name: str) -> Any:
        # Only called for attributes that do not exist: explain a missing venue member.
        match = _MEMBER.fullmatch(name)
        if match is not None:
            venue, kind = match.groups()
            raise AttributeError(
                f"service {self.__dict__.get('name', '?')!r} has no {name}: its config has no "
                f'{venue} entry in setting.{_KINDS[kind]} (add {{"exchange": "{venue}", ...}})'
                " or it is not started yet (members are set before on_start)"
            )
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- lifecycle -----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether handlers are being called (from `on_start` until the service stops)."""
        return self._live

    def stop(self, exit_code: int = 0) -> None:
        """Asks for a clean shutdown of the run (every service): `on_stop`, cancelling open
        orders when `cancel_on_stop` is set, closing the connections. `exit_code` is the
        process's (nonzero: the service failed). Returns at once; callable from any handler."""
        if self._runner is not None:
            self._runner.request_stop(exit_code, f"service {self.name} called stop({exit_code})")
        else:
            self._stopped = True

    def every(self, seconds: float, fn: Callable[[], Awaitable[None] | None]) -> asyncio.Task[None]:
        """Calls `fn()` (plain or async) every `seconds` until the service stops, the first
        time `seconds` from now (a call that overruns skips the ticks it missed). A call that
        raises is logged and passed to `on_error` (`where` = `every(<name>)`); the timer goes on.
        Cancel the returned task to end it earlier. Call it from `on_start` or later."""
        if not seconds > 0:
            raise ValueError(f"every() needs a positive interval, not {seconds!r}")
        where = f"every({getattr(fn, '__name__', repr(fn))})"
        loop = asyncio.get_running_loop()

        async def tick() -> None:
            next_at = loop.time() + seconds
            while True:
                await asyncio.sleep(max(0.0, next_at - loop.time()))
                now = loop.time()
                while next_at <= now:
                    next_at += seconds
                try:
                    result = fn()
                    if result is not None and inspect.isawaitable(result):
                        await result
                except Exception as exc:
                    self._failed(where, None, exc)

        return self._spawn(tick(), f"hftpy-service {self.name} {where}")

    # -- handlers (all optional; plain or async) -----------------------------------------------
    def on_start(self) -> Awaitable[None] | None:
        """Members exist and are ready; start quoting, timers (`every`), ..."""
        return None

    def on_stop(self) -> Awaitable[None] | None:
        """The run is stopping: no more events arrive; the members are still open."""
        return None

    def on_book(self, venue: Exchange, event: BookEvent, book: BookView) -> Awaitable[None] | None:
        """A subscribed book changed and is valid; `book` is its live view."""
        return None

    def on_trade(self, venue: Exchange, event: TradeEvent) -> Awaitable[None] | None:
        """A public trade of a subscribed symbol."""
        return None

    def on_quote(self, venue: Exchange, event: QuoteEvent) -> Awaitable[None] | None:
        """Best bid and offer (Binance, Backpack `bookTicker`)."""
        return None

    def on_ticker(self, venue: Exchange, event: TickerEvent) -> Awaitable[None] | None:
        """Rolling ticker statistics (Kraken, Backpack, Upbit)."""
        return None

    def on_resync(self, venue: Exchange, event: ResyncEvent) -> Awaitable[None] | None:
        """A subscribed book cannot be trusted until it is rebuilt (`event.reason`)."""
        return None

    def on_status(self, venue: Exchange, event: StatusEvent) -> Awaitable[None] | None:
        """The venue's market status changed (`online`, `maintenance`, ...)."""
        return None

    def on_order_update(self, venue: Exchange, update: OrderUpdate) -> Awaitable[None] | None:
        """An order's new state (`update.raw`: the venue's message). Orders this service placed
        come to it alone; others (placed elsewhere) to every service of that WS API."""
        return None

    def on_fill(self, venue: Exchange, fill: Fill) -> Awaitable[None] | None:
        """An execution of an order (routed as `on_order_update`)."""
        return None

    def on_balance(
        self, venue: Exchange, message: dict[str, Any], recv_ns: int
    ) -> Awaitable[None] | None:
        """A balance message of the venue's private channel, as the venue sends it: Kraken
        `balances` (subscribed when this handler exists), Binance `outboundAccountPosition`
        and `balanceUpdate`, Upbit `myAsset` (Backpack has no balance stream)."""
        return None

    def on_error(
        self, venue: Exchange | None, error: BaseException, where: str
    ) -> Awaitable[None] | None:
        """A handler or timer raised `error` (`where`: its name, e.g. `on_book`); it was logged.
        `venue` is None for timers and `on_start` / `on_stop`."""
        return None

    # -- for the runner ------------------------------------------------------------------------
    def _defines(self, handler: str) -> bool:
        """Whether this service's class overrides `handler`."""
        return getattr(type(self), handler, None) is not getattr(ServiceBase, handler)

    def _call(self, fn: Callable[..., Any], where: str, venue: Exchange | None, *args: Any) -> None:
        """Calls a handler as this service; an async one becomes a task."""
        token = _current.set(self)
        try:
            result = fn(*args)
        except Exception as exc:
            self._failed(where, venue, exc)
        else:
            if result is not None and inspect.isawaitable(result):
                self._spawn(self._guard(result, where, venue), f"hftpy-service {self.name} {where}")
        finally:
            _current.reset(token)

    async def _guard(self, awaitable: Awaitable[Any], where: str, venue: Exchange | None) -> None:
        try:
            await awaitable
        except Exception as exc:
            self._failed(where, venue, exc)

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name, context=self._context.copy())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _failed(self, where: str, venue: Exchange | None, exc: BaseException) -> None:
        self.handler_errors += 1
        on = f" on {venue.value}" if venue is not None else ""
        self.log.error(
            "service %s: %s%s raised %s: %s",
            self.name,
            where,
            on,
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
        if where != "on_error" and self._defines("on_error"):
            self._call(self.on_error, "on_error", venue, venue, exc, where)
