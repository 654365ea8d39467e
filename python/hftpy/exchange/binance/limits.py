"""Binance's request limits on the client side (reference/binance.md §5).

One `RateLimiter` per process (Binance counts REQUEST_WEIGHT per IP and ORDERS per account,
so every API object of the process shares it) with conservative window cells: never more than
the venue's limit in any window however the venue's clock-aligned windows fall, most of it
available as a burst. Venue counts from each reply's `rateLimits` tighten the cells
(`resync`), a 429/418 `retryAfter` empties them until then (`block_for`).

`BinanceRateLimits` is what the WS API installs on its `rate_limiter` seam: a sync check per
request (`__call__`, one Rust call) and, when that refuses, the wait the cells asked for.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

from hftpy._core import RateLimiter

__all__ = [
    "DEFAULT_LIMITS",
    "METHOD_COSTS",
    "BinanceRateLimits",
    "limit_name",
    "shared_limiter",
]

#: (kind, name, limit, period s, burst): the venue's published limits. A window cell lets
#: `burst` go at once and then `limit - burst` per period, never more than `limit` in any
#: window: orders burst at half the limit, so half of it stays the sustained rate.
DEFAULT_LIMITS: Final[list[tuple[str, str, int, float, int]]] = [
    ("window", "ORDERS_10S", 50, 10.0, 25),
    ("window", "ORDERS_1D", 160_000, 86_400.0, 128_000),
    ("window", "REQUEST_WEIGHT_1M", 6000, 60.0, 4800),
]

#: method -> (request weight, orders). Successful order calls cost 0 weight at the venue
#: since 2026-04-02 (failed ones 1); charging 1 locally stays on the safe side.
METHOD_COSTS: Final[dict[str, tuple[int, int]]] = {
    "ping": (1, 0),
    "time": (1, 0),
    "session.logon": (2, 0),
    "session.status": (2, 0),
    "session.logout": (2, 0),
    "order.place": (1, 1),
    "order.cancel": (1, 0),
    "order.cancelReplace": (1, 1),
    "openOrders.cancelAll": (1, 0),
    "order.amend.keepPriority": (4, 0),
    "order.status": (4, 0),
    "openOrders.status": (6, 0),  # with a symbol; 80 without (charged as such by the API)
    "userDataStream.subscribe": (2, 0),
    "userDataStream.subscribe.signature": (2, 0),
    "userDataStream.unsubscribe": (2, 0),
}

_INTERVAL_LETTER: Final = {"SECOND": "S", "MINUTE": "M", "HOUR": "H", "DAY": "D"}

_shared: RateLimiter | None = None


def limit_name(rate_limit_type: str, interval: str, interval_num: int) -> str:
    """The cell name for a `rateLimits` entry: `ORDERS`, `SECOND`, 10 -> `ORDERS_10S`."""
    return f"{rate_limit_type}_{interval_num}{_INTERVAL_LETTER.get(interval, interval[:1])}"


def shared_limiter() -> RateLimiter:
    """The process-wide Binance limiter (created on first use)."""
    global _shared
    if _shared is None:
        _shared = RateLimiter(list(DEFAULT_LIMITS))
    return _shared


class BinanceRateLimits:
    """Maps methods to limiter costs and venue `rateLimits` back onto the cells."""

    __slots__ = ("_costs", "_index", "_weight", "last_wait_ns", "limiter")

    def __init__(self, limiter: RateLimiter | None = None) -> None:
        self.limiter = limiter if limiter is not None else shared_limiter()
        names = self.limiter.names
        self._index = {name: i for i, name in enumerate(names)}
        weight = self._index.get("REQUEST_WEIGHT_1M")
        orders = [i for name, i in self._index.items() if name.startswith("ORDERS_")]
        self._weight = weight
        self._costs: dict[str, list[tuple[int, int]]] = {}
        for method, (units, order_units) in METHOD_COSTS.items():
            costs = [(weight, units)] if weight is not None else []
            if order_units:
                costs += [(i, order_units) for i in orders]
            self._costs[method] = costs
        self.last_wait_ns = 0

    def costs(self, method: str) -> list[tuple[int, int]]:
        """The `(cell index, units)` pairs `method` takes from the limiter: its request weight on
        `REQUEST_WEIGHT_1M`, plus one unit on every `ORDERS_*` cell for a method that places an
        order (`METHOD_COSTS`); a method not listed there weighs 1."""
        costs = self._costs.get(method)
        if costs is None:
            costs = self._costs[method] = [(self._weight, 1)] if self._weight is not None else []
        return costs

    def __call__(self, method: str, params: dict[str, Any]) -> bool:
        """Takes the request's costs now, or refuses (and remembers the wait)."""
        wait = self.limiter.try_acquire(self.costs(method))
        self.last_wait_ns = wait
        return wait == 0

    async def acquire(self, method: str, budget_s: float) -> bool:
        """Waits until the costs can be taken; False when that would take over `budget_s`."""
        deadline = time.monotonic() + budget_s
        costs = self.costs(method)
        wait = self.last_wait_ns
        while wait:
            if time.monotonic() + wait / 1e9 > deadline:
                return False
            await asyncio.sleep(wait / 1e9)
            wait = self.limiter.try_acquire(costs)
        return True

    def index(self, name: str) -> int | None:
        """The limiter index of the cell called `name` (`ORDERS_10S`, ...), or None when the limiter
        has none."""
        return self._index.get(name)

    def resync(self, rate_limits: list[dict[str, Any]]) -> None:
        """Tightens the cells to the venue's counts (entries without a cell are ignored)."""
        for entry in rate_limits:
            try:
                name = limit_name(entry["rateLimitType"], entry["interval"], entry["intervalNum"])
                count = int(entry["count"])
            except (KeyError, TypeError, ValueError):
                continue
            index = self._index.get(name)
            if index is not None and count > 0:
                self.limiter.resync(index, count)

    def block(self, names: list[str] | None, seconds: float) -> None:
        """Empties the named cells (all of them with None) for `seconds`."""
        if seconds <= 0:
            return
        targets = self._index.values() if names is None else (self._index.get(n) for n in names)
        for index in targets:
            if index is not None:
                self.limiter.block_for(index, seconds)
