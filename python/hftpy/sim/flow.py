"""Synthetic order flow: a market maker keeps a ladder around the mid and a taker trades against it.

Each symbol gets its own seeded RNG, so a given seed replays the same flow (wall-clock timing
aside). The maker only posts post-only orders and skips a price that would cross, so it never
trades against anyone; the taker only hits the best level while that level lies within ±2 % of
the mid, so resting orders further away are never filled by synthetic flow.

Behind the moving ladder the maker also rests a deep book (`DEEP_LEVELS` a side, per venue:
enough for every documented depth, Kraken's 1000, Binance's snapshot `limit` 5000, Backpack's
1000, Upbit's 30 units). Its levels start beyond the reach of the ladder's random walk, so the
ladder never crosses them, and stay put; one that a trade consumed is re-posted a few steps
later, and the whole deep book moves when the venue's mid is set anew.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Final

from .engine import Account, Engine, Order, OrderRejected, Side

__all__ = ["SyntheticFlow"]

LEVELS: Final = 12  # maker levels per side
# Deep levels a side, per venue (see the module docstring).
DEEP_LEVELS: Final[dict[str, int]] = {
    "kraken": 1000,
    "binance": 5000,
    "backpack": 1000,
    "upbit": 30,
}
DEEP_CHECKS_PER_STEP: Final = 25  # deep levels checked (and re-posted if gone) per step
STEP_SECONDS: Final = 0.04  # 25 steps/s: each requotes one level (2 book changes)
TRADE_EVERY: Final = 3  # steps per taker trade: ~8 trades/s
WALK_PROBABILITY: Final = 0.05  # chance per step that the mid moves one ladder step
WALK_LIMIT_PPM: Final = 5_000  # the mid wanders within ±0.5 % of the configured mid
TAKER_BAND_PPM: Final = 20_000  # the taker trades only within ±2 % of the configured mid


def _never() -> bool:
    return False


class SyntheticFlow:
    """Drives one symbol: `step()` is one tick, `run()` ticks forever."""

    def __init__(self, engine: Engine, symbol: str, maker: Account, taker: Account, seed: int):
        self.engine = engine
        self.symbol = symbol
        self.instrument = engine.instrument(symbol)
        self.maker = maker
        self.taker = taker
        self.rng = random.Random(f"flow:{seed}:{symbol}")
        self.anchor = engine.mids[symbol]
        self.mid = self.anchor
        self.quotes: dict[tuple[Side, int], Order] = {}
        self.deep: dict[tuple[Side, int], Order | None] = {}  # None: to be (re-)posted
        self._deep_keys: list[tuple[Side, int]] = []
        self._deep_cursor = 0
        self._deep_anchor: int | None = None  # the mid the deep book was laid around
        self.steps = 0
        self.paused: Callable[[], bool] = _never  # the venue is in maintenance: no steps
        self.step_seconds = STEP_SECONDS  # a soak or a load test may speed the flow up
        inst = self.instrument
        # Size unit: 20x the larger of the minimum cost and the minimum quantity's value.
        unit_notional = max(inst.min_cost, inst.mid * inst.min_qty) * 20
        self.unit_lots = max(
            inst.min_lots, int((unit_notional / inst.mid).scaleb(inst.qty_decimals))
        )

    async def run(self) -> None:
        while True:
            if not self.paused():
                self.step()
            await asyncio.sleep(self.step_seconds)

    def step(self) -> None:
        anchor = self.engine.mids[self.symbol]
        if anchor != self.anchor:
            self.anchor = self.mid = anchor
            for order in self.quotes.values():  # the old ladder goes before the new deep book
                if order.is_open:
                    self.engine.cancel(order)
            self.quotes.clear()
        elif self.rng.random() < WALK_PROBABILITY:
            limit = self.anchor * WALK_LIMIT_PPM // 1_000_000
            moved = self.mid + self.rng.choice((-1, 1)) * self._spacing()
            if abs(moved - self.anchor) <= limit:
                self.mid = moved
        if self._deep_anchor != self.anchor:
            self._seed_deep()
        self._reconcile()
        self._requote_one()
        self._refill_deep()
        self.steps += 1
        if self.steps % TRADE_EVERY == 0:
            self._trade()

    def _spacing(self) -> int:
        """One basis point of the mid, in whole ticks (at least one tick)."""
        tick = self.instrument.tick_units
        return max(tick, round(self.anchor / 10_000 / tick) * tick)

    def _wanted(self) -> list[tuple[Side, int]]:
        spacing = self._spacing()
        bids: list[tuple[Side, int]] = [
            ("buy", self.mid - k * spacing) for k in range(1, LEVELS + 1)
        ]
        asks: list[tuple[Side, int]] = [
            ("sell", self.mid + k * spacing) for k in range(1, LEVELS + 1)
        ]
        return [key for key in bids + asks if key[1] > 0]

    def _deep_prices(self) -> list[tuple[Side, int]]:
        """The deep book's levels: from one step past the ladder's furthest reach outwards."""
        count = DEEP_LEVELS.get(self.instrument.venue, 0)
        spacing = self._spacing()
        walk = self.anchor * WALK_LIMIT_PPM // 1_000_000
        start = walk + (LEVELS + 1) * spacing
        keys: list[tuple[Side, int]] = []
        for k in range(count):
            offset = start + k * spacing
            keys.append(("sell", self.anchor + offset))
            if self.anchor - offset > 0:
                keys.append(("buy", self.anchor - offset))
        return keys

    def _seed_deep(self) -> None:
        for order in self.deep.values():
            if order is not None and order.is_open:
                self.engine.cancel(order)
        self._deep_anchor = self.anchor
        self._deep_keys = self._deep_prices()
        self.deep = dict.fromkeys(self._deep_keys)
        self._deep_cursor = 0
        for key in self._deep_keys:
            self.deep[key] = self._post(*key)

    def _refill_deep(self) -> None:
        """Check a few deep levels per step; re-post one a trade took away."""
        keys = self._deep_keys
        if not keys:
            return
        for _ in range(min(DEEP_CHECKS_PER_STEP, len(keys))):
            key = keys[self._deep_cursor]
            self._deep_cursor = (self._deep_cursor + 1) % len(keys)
            order = self.deep[key]
            if order is None or not order.is_open:
                self.deep[key] = self._post(*key)

    def _reconcile(self) -> None:
        wanted = self._wanted()
        keep = set(wanted)
        for key, order in list(self.quotes.items()):
            if not order.is_open:
                del self.quotes[key]
            elif key not in keep:
                self.engine.cancel(order)
                del self.quotes[key]
        for key in wanted:
            if key not in self.quotes:
                self._quote(*key)

    def _quote(self, side: Side, price: int) -> None:
        order = self._post(side, price)
        if order is not None:
            self.quotes[(side, price)] = order

    def _post(self, side: Side, price: int) -> Order | None:
        qty = self.unit_lots * self.rng.randint(1, 10)
        try:
            return self.engine.place(
                self.maker, self.symbol, side, qty, price=price, post_only=True
            )
        except OrderRejected:  # someone else's order sits at or through this price
            return None

    def _requote_one(self) -> None:
        if not self.quotes:
            return
        key = self.rng.choice(sorted(self.quotes))
        order = self.quotes.pop(key)
        if order.is_open:
            self.engine.cancel(order)
        self._quote(*key)

    def _trade(self) -> None:
        side: Side = self.rng.choice(("buy", "sell"))
        book = self.engine.book(self.symbol)
        opposite = book.opposite(side)
        best = opposite.best()
        if best is None or abs(best - self.anchor) * 1_000_000 > self.anchor * TAKER_BAND_PPM:
            return
        qty = min(opposite.levels[best].qty, self.unit_lots * self.rng.randint(1, 5))
        self.engine.place(self.taker, self.symbol, side, qty, price=best, time_in_force="ioc")
