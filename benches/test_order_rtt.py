"""Order round trip: `place_order` → venue ack, over loopback to a minimal server in another
process. Side by side in one run: hftpy's Kraken WS API, a raw picows client sending the
identical bytes, and a `websockets` client. Each benchmark round is a batch of sequential
round trips; per-request p50/p99 go to `extra_info`. Target: hftpy ≤ 1.2× raw picows.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import websockets
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from conftest import percentiles
from hftpy.common import CurrencyPair, Side
from hftpy.exchange.codec import ENCODER
from hftpy.exchange.kraken import KrakenRestApi, KrakenWsApi

BATCH = 200
ROUNDS = 15
CL_ORD_ID = "636a0574df7c4aa09c3b119a97f7c58b"


def frame_bytes(req_id: int) -> bytes:
    """The add_order frame hftpy sends for the benchmark's order, byte for byte."""
    return ENCODER.encode(
        {
            "method": "add_order",
            "params": {
                "token": "benchtoken",
                "order_type": "limit",
                "post_only": True,
                "symbol": "BTC/USD",
                "order_qty": 0.001,
                "side": "buy",
                "limit_price": 80000.0,
                "cl_ord_id": CL_ORD_ID,
                "time_in_force": "gtc",
            },
            "req_id": req_id,
        }
    )


def run_batches(benchmark: Any, loop: asyncio.AbstractEventLoop, one_rtt: Any) -> None:
    samples: list[int] = []

    async def batch() -> None:
        for _ in range(BATCH):
            start = time.monotonic_ns()
            await one_rtt()
            samples.append(time.monotonic_ns() - start)

    loop.run_until_complete(batch())  # warm-up: connections, caches
    samples.clear()
    benchmark.pedantic(lambda: loop.run_until_complete(batch()), rounds=ROUNDS, iterations=1)
    benchmark.extra_info.update(percentiles(samples))
    benchmark.extra_info["round_trips_per_round"] = BATCH


@pytest.mark.benchmark(group="order-rtt")
def test_rtt_hftpy_kraken(benchmark: Any, loop: asyncio.AbstractEventLoop, ack_server: Any) -> None:
    ws_port, http_port = ack_server

    async def setup() -> tuple[KrakenWsApi, asyncio.Task[None]]:
        rest = KrakenRestApi(
            api_key="benchkey", api_secret="c2VjcmV0", url=f"http://127.0.0.1:{http_port}"
        )
        api = KrakenWsApi(url=f"ws://127.0.0.1:{ws_port}/v2", rest_api=rest, executions=False)
        task = asyncio.ensure_future(api.start())
        await api.wait_ready(10)
        return api, task

    api, task = loop.run_until_complete(setup())

    async def one_rtt() -> None:
        reply = await api.place_order(
            symbol=CurrencyPair.BTC_USD,
            side=Side.BUY,
            amount=0.001,
            price=80000.0,
            order_type="limit",
            post_only=True,
            cl_ord_id=CL_ORD_ID,
            wait=True,
        )
        assert reply.ok

    try:
        run_batches(benchmark, loop, one_rtt)
    finally:
        loop.run_until_complete(api.close())
        loop.run_until_complete(task)


class _RawListener(WSListener):
    def __init__(self) -> None:
        self.waiter: asyncio.Future[bytes] | None = None

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT and self.waiter is not None:
            self.waiter.set_result(frame.get_payload_as_bytes())


@pytest.mark.benchmark(group="order-rtt")
def test_rtt_raw_picows(benchmark: Any, loop: asyncio.AbstractEventLoop, ack_server: Any) -> None:
    ws_port, _ = ack_server
    transport, listener = loop.run_until_complete(
        ws_connect(_RawListener, f"ws://127.0.0.1:{ws_port}/v2")
    )
    req_ids = iter(range(1, 10**9))

    async def one_rtt() -> None:
        listener.waiter = loop.create_future()
        transport.send(WSMsgType.TEXT, frame_bytes(next(req_ids)))
        reply = await listener.waiter
        assert reply.startswith(b'{"method":"add_order"')

    try:
        run_batches(benchmark, loop, one_rtt)
    finally:
        transport.disconnect()


@pytest.mark.benchmark(group="order-rtt")
def test_rtt_websockets(benchmark: Any, loop: asyncio.AbstractEventLoop, ack_server: Any) -> None:
    ws_port, _ = ack_server
    conn = loop.run_until_complete(
        websockets.connect(f"ws://127.0.0.1:{ws_port}/v2", compression=None)
    )
    req_ids = iter(range(1, 10**9))

    async def one_rtt() -> None:
        await conn.send(frame_bytes(next(req_ids)).decode())
        reply = await conn.recv()
        assert reply.startswith('{"method":"add_order"')

    try:
        run_batches(benchmark, loop, one_rtt)
    finally:
        loop.run_until_complete(conn.close())
