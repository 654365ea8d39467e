"""Helpers shared by the venue test modules."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from hftpy.sim import Simulator

Level = tuple[Decimal, Decimal]


class Replies:
    """A callback that records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str, dict[str, Any], dict[str, Any], int]] = []
        self.arrived = asyncio.Event()

    def __call__(
        self,
        request_id: int,
        method: str,
        request: dict[str, Any],
        response: dict[str, Any],
        latency: int,
    ) -> None:
        self.calls.append((request_id, method, request, response, latency))
        self.arrived.set()

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async def enough() -> None:
            while len(self.calls) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), timeout)

    @property
    def responses(self) -> list[dict[str, Any]]:
        return [call[3] for call in self.calls]


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Returns once `condition()` holds; TimeoutError after `timeout` s."""

    async def poll() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), timeout)


def engine_top(sim: Simulator, symbol: str, n: int) -> tuple[list[Level], list[Level]]:
    """The matching engine's best `n` levels per side as exact decimals."""
    inst = sim.engine.instrument(symbol)
    book = sim.engine.book(symbol)

    def side(levels: list[tuple[int, int]]) -> list[Level]:
        return [
            (Decimal(p).scaleb(-inst.price_decimals), Decimal(q).scaleb(-inst.qty_decimals))
            for p, q in levels
        ]

    return side(book.bids.depth(n)), side(book.asks.depth(n))


def local_top(view: Any, levels: Any) -> list[Level]:
    """hftpy's levels (int mantissas at the stream's scales) as exact decimals."""
    return [
        (Decimal(p).scaleb(-view.price_scale), Decimal(q).scaleb(-view.qty_scale))
        for p, q in levels
    ]


async def books_equal_the_engine(sim: Simulator, stream: Any, symbols: Iterable[str]) -> None:
    """Freezes the market, lets the last updates land, and compares each valid local book
    with the matching engine's."""
    for flow in sim.flows:
        flow.paused = lambda: True
    await asyncio.sleep(0.4)
    for symbol in symbols:
        view = stream.book(symbol)
        assert view.valid, symbol
        depth = min(10, stream.depth)
        bids, asks = engine_top(sim, symbol, depth)
        assert local_top(view, view.bids(depth)) == bids, symbol
        assert local_top(view, view.asks(depth)) == asks, symbol
