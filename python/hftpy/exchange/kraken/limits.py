"""Kraken's trading rate counter, kept locally so a strategy never trips
`EOrder:Rate limit exceeded` (reference/kraken.md §6).

The venue keeps one counter per pair: each transaction adds to it, it decays every second,
and a transaction that would cross the tier's threshold is refused. Here each pair is a
lock-free leaky-bucket cell (`hftpy._core.RateLimiter`) with the tier's threshold and decay,
shared by the whole process. Costs follow Kraken's table: add +1, batch_add +n/2, amend +1
plus an age penalty, cancel a penalty by the order's age (+8 under 5 s ... +1 under 300 s).
An order's age counts from the moment it was sent or last amended (Kraken prices amends and
cancels "by how long since the order was created or last amended"); an order this process did
not place is charged the highest penalty, so the local count can only run ahead of the venue's.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Final

from hftpy._core import RateLimiter
from hftpy.errors import ConfigError

#: tier -> (threshold, decay per second), reference/kraken.md §6.
TIERS: Final = {"starter": (60, 1.0), "intermediate": (125, 2.34), "pro": (180, 3.75)}
#: The threshold the `executions` ack reports as `maxratecount`, back to its tier.
TIER_BY_MAX_RATE_COUNT: Final = {threshold: tier for tier, (threshold, _) in TIERS.items()}

# Kraken charges halves (batch_add: n/2), so the cells count hundredths of a unit.
UNIT: Final = 100
# (age below, penalty): cancel and batch_cancel per order; amend on top of its fixed +1.
_CANCEL_BY_AGE: Final = ((5.0, 8), (10.0, 6), (15.0, 5), (45.0, 4), (90.0, 2), (300.0, 1))
_AMEND_BY_AGE: Final = ((5.0, 3), (10.0, 2), (15.0, 1))
_FORGET_AFTER_S: Final = 300.0  # no penalty past this age

# One cell per (tier, pair) per process: every API object of the exchange shares them.
_CELLS: dict[tuple[str, str], RateLimiter] = {}


def _penalty(table: tuple[tuple[float, int], ...], age_s: float | None) -> int:
    if age_s is None:
        return table[0][1]
    return next((cost for below, cost in table if age_s < below), 0)


class KrakenRateLimits:
    """The seam `WsApiBase.rate_limiter` calls before each send (True: go ahead)."""

    __slots__ = ("_placed", "last_wait_ns", "tier")

    def __init__(self, tier: str) -> None:
        if tier not in TIERS:
            raise ConfigError(f"Kraken rate tier must be one of {', '.join(TIERS)}, not {tier!r}")
        self.tier = tier
        # order_id / cl_ord_id / order_userref -> [pair, monotonic seconds when sent or last
        # amended]; an order's ids share one record, so an amend by one id re-ages them all.
        self._placed: dict[str, list[Any]] = {}
        self.last_wait_ns = 0

    def cell(self, pair: str) -> RateLimiter:
        """The process-wide counter of `pair` at this tier (made on first use): a leaky bucket
        holding the tier's threshold and decaying at its rate per second, counted in hundredths of a
        unit (`UNIT`)."""
        key = (self.tier, pair)
        cell = _CELLS.get(key)
        if cell is None:
            threshold, decay = TIERS[self.tier]
            cell = _CELLS[key] = RateLimiter([("bucket", pair, threshold * UNIT, decay * UNIT)])
        return cell

    def costs(self, method: str, params: dict[str, Any]) -> dict[str, int]:
        """Hundredths of a counter unit per pair for one request."""
        now = time.monotonic()
        if method == "add_order":
            return {params["symbol"]: UNIT}
        if method == "batch_add":
            return {params["symbol"]: len(params["orders"]) * UNIT // 2}
        if method == "amend_order":
            key = str(params.get("order_id") or params.get("cl_ord_id"))
            pair, age = self._age(key, now)
            extra = _penalty(_AMEND_BY_AGE, age)
            return {pair: (1 + extra) * UNIT} if pair else {}
        if method in ("cancel_order", "batch_cancel"):
            ids = [*params.get("order_id", ()), *params.get("orders", ())]
            ids += [*params.get("cl_ord_id", ()), *params.get("order_userref", ())]
            costs: dict[str, int] = {}
            for key in map(str, ids):
                pair, age = self._age(key, now)
                if pair:
                    costs[pair] = costs.get(pair, 0) + _penalty(_CANCEL_BY_AGE, age) * UNIT
            return costs
        return {}

    def _age(self, key: str, now: float) -> tuple[str | None, float | None]:
        placed = self._placed.get(key)
        if placed is None:
            return None, None  # not ours: the pair is unknown, the venue charges it elsewhere
        return placed[0], now - float(placed[1])

    def __call__(self, method: str, params: dict[str, Any]) -> bool:
        """Takes the request's cost now, or refuses it (remembering how long to wait).
        A request over several pairs may leave earlier pairs charged when a later one
        refuses: the local count then runs ahead of the venue's, never behind."""
        self.last_wait_ns = 0
        for pair, units in self.costs(method, params).items():
            wait = self.cell(pair).try_acquire([(0, units)]) if units else 0
            if wait:
                self.last_wait_ns = wait
                return False
        if method == "add_order":
            self._remember(params, params["symbol"])
        elif method == "batch_add":
            for order in params["orders"]:
                self._remember(order, params["symbol"])
        elif method == "amend_order":
            record = self._placed.get(str(params.get("order_id") or params.get("cl_ord_id")))
            if record is not None:
                record[1] = time.monotonic()  # the venue ages the order from this amend
        return True

    def _remember(self, order: dict[str, Any], pair: str) -> None:
        now = time.monotonic()
        record = [pair, now]
        for field in ("cl_ord_id", "order_userref"):
            if field in order:
                self._placed[str(order[field])] = record
        if len(self._placed) > 10_000:  # orders older than the last penalty cost nothing
            self._placed = {
                key: value
                for key, value in self._placed.items()
                if now - float(value[1]) < _FORGET_AFTER_S
            }

    def on_reply(self, method: str, request: dict[str, Any], response: dict[str, Any]) -> None:
        """Links the venue's order ids to the orders sent, so cancels by id are priced by age."""
        result = response.get("result")
        if method == "add_order" and isinstance(result, dict):
            results = [result]
        elif method == "batch_add" and isinstance(result, list):
            results = result
        else:
            return
        for item in results:
            if not isinstance(item, dict):
                continue
            order_id = item.get("order_id")
            client = item.get("cl_ord_id") or item.get("order_userref")
            placed = self._placed.get(str(client)) if client is not None else None
            if order_id and placed is not None:
                self._placed[str(order_id)] = placed

    async def acquire(self, method: str, params: dict[str, Any], budget_s: float) -> bool:
        """Waits until the request fits; False when that would take longer than `budget_s`."""
        deadline = time.monotonic() + budget_s
        while self.last_wait_ns:
            wait_s = self.last_wait_ns / 1e9
            if time.monotonic() + wait_s > deadline:
                return False
            await asyncio.sleep(wait_s)
            if self(method, params):
                return True
        return True


def reset_kraken_limits() -> None:
    """Forgets every pair's counter (tests: each starts from zero)."""
    _CELLS.clear()
