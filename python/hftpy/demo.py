"""`hftpy demo`: the seed document's Kraken flow against the embedded simulator.

Starts the simulator in-process, creates the REST and WS APIs from the environment it
exports, places a post-only limit order and one below Kraken's volume minimum (which the
venue rejects), cancels the first, then measures order round trips.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from hftpy.common import CurrencyPair, Exchange, Side
from hftpy.exchange import (
    close_all,
    create_exchange_api,
    create_exchange_ws_api,
    get_exchange_ws_api,
)
from hftpy.exchange.ws_api import WsApiBase


def _percentile(sorted_values: list[int], q: float) -> int:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


async def run_demo(rounds: int = 200) -> int:
    """Starts the embedded simulator, points the environment at it and trades `rounds` Kraken
    orders through the public API; returns the exit code (0 when every order got its reply)."""
    from hftpy.sim import Simulator

    async with Simulator(ports="free") as sim:
        os.environ.update(sim.env)  # what `eval "$(hftpy sim --print-env)"` does for a user
        try:
            return await _trade(rounds)
        finally:
            await close_all()


async def _trade(rounds: int) -> int:
    latencies: list[int] = []

    def on_response(
        request_id: int,
        method: str,
        request: dict[str, Any],
        response: dict[str, Any],
        latency: int,
    ) -> None:
        latencies.append(latency)
        WsApiBase.default_ws_callback(request_id, method, request, response, latency)
        print()

    create_exchange_api(Exchange.KRAKEN)  # key and secret from HFTPY_KRAKEN_API_KEY/_SECRET
    ws_api = create_exchange_ws_api(Exchange.KRAKEN)
    runner = asyncio.create_task(ws_api.start())
    await ws_api.wait_ready(timeout=10)

    ws_api = get_exchange_ws_api(Exchange.KRAKEN)  # the same object, from anywhere
    placed = await ws_api.place_order(
        symbol=CurrencyPair.BTC_USD,
        side=Side.BUY,
        amount=0.001,
        price=80000.0,
        order_type="limit",
        post_only=True,
        callback=on_response,
        wait=True,
    )
    rejected = await ws_api.place_order(
        symbol=CurrencyPair.BTC_USD,
        side=Side.BUY,
        amount=0.00001,  # below BTC/USD's 0.0001 minimum: Kraken refuses it
        price=80000.0,
        order_type="limit",
        post_only=True,
        callback=on_response,
        wait=True,
    )
    if not placed.ok or rejected.ok:
        print("demo: unexpected outcome", placed.response, rejected.response)
        return 1
    order_id = placed.response["result"]["order_id"]
    cancelled = await ws_api.cancel_order(order_id=order_id, callback=on_response, wait=True)
    if not cancelled.ok:
        print("demo: cancel failed", cancelled.response)
        return 1

    # Round trips without printing: validate-only orders exercise the full path
    # (frame build, socket, venue checks, reply routing) without filling the book.
    samples: list[int] = []
    for _ in range(rounds):
        reply = await ws_api.place_order(
            symbol=CurrencyPair.BTC_USD,
            side=Side.BUY,
            amount=0.001,
            price=80000.0,
            post_only=True,
            validate=True,
            wait=True,
        )
        samples.append(reply.latency_ns // 1000)
    samples.sort()
    print(
        f"Latency over {rounds} add_order round trips (validate=true, in-process simulator): "
        f"p50 {_percentile(samples, 0.5)}μs  p99 {_percentile(samples, 0.99)}μs  "
        f"min {samples[0]}μs  max {samples[-1]}μs"
    )
    print(f"Printed requests: {', '.join(f'{v}μs' for v in latencies)}")

    await ws_api.close()
    await runner
    return 0
