"""Order round trip: `place_order` → venue ack, over loopback to a minimal server in another
process. Side by side in one run: hftpy's Kraken WS API, a raw picows client sending the
identical bytes, a `websockets` client, and ccxt pro's `create_order_ws` (`ccxt.pro.kraken`
with its REST and WS v2 URLs pointed at the same server, which also serves the token and
the BTC/USD reference data ccxt's `load_markets` reads; ccxt's own request throttle off,
`enableRateLimit=False`, as hftpy's limiter is off here: no client waits for budget).

Each client has its own benchmark (a round is a batch of sequential round trips;
per-request p50/p99 go to `extra_info`), and `test_rtt_interleaved` alternates short
batches of all of them so that load from other processes hits them alike: its `extra_info`
holds the per-client medians and the ratios to raw picows. Target: hftpy ≤ 1.05× raw picows.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import ccxt.pro
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

RoundTrip = Callable[[], Awaitable[None]]


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


class _RawListener(WSListener):
    def __init__(self) -> None:
        self.waiter: asyncio.Future[bytes] | None = None

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT and self.waiter is not None:
            self.waiter.set_result(frame.get_payload_as_bytes())


@pytest.fixture(scope="session")
def clients(loop: asyncio.AbstractEventLoop, ack_server: Any) -> Iterator[dict[str, RoundTrip]]:
    """One connected client of each kind, as a function doing one order round trip."""
    ws_port, http_port = ack_server
    url = f"ws://127.0.0.1:{ws_port}/v2"

    async def connect() -> tuple[Any, ...]:
        rest = KrakenRestApi(
            api_key="benchkey", api_secret="c2VjcmV0", url=f"http://127.0.0.1:{http_port}"
        )
        api = KrakenWsApi(url=url, rest_api=rest, executions=False)
        runner = asyncio.ensure_future(api.start())
        await api.wait_ready(10)
        transport, listener = await ws_connect(_RawListener, url)
        conn = await websockets.connect(url, compression=None)
        ccxt_kraken = ccxt.pro.kraken(
            {"apiKey": "benchkey", "secret": "c2VjcmV0", "enableRateLimit": False}
        )
        ccxt_kraken.urls["api"]["public"] = f"http://127.0.0.1:{http_port}"
        ccxt_kraken.urls["api"]["private"] = f"http://127.0.0.1:{http_port}"
        for name in ("public", "private", "publicV2", "privateV2"):
            ccxt_kraken.urls["api"]["ws"][name] = url
        await ccxt_kraken.load_markets()
        return api, runner, transport, listener, conn, ccxt_kraken

    api, runner, transport, listener, conn, ccxt_kraken = loop.run_until_complete(connect())
    req_ids = iter(range(1, 10**9))

    async def hftpy_rtt() -> None:
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

    async def raw_rtt() -> None:
        listener.waiter = loop.create_future()
        transport.send(WSMsgType.TEXT, frame_bytes(next(req_ids)))
        reply = await listener.waiter
        assert reply.startswith(b'{"method":"add_order"')

    async def websockets_rtt() -> None:
        await conn.send(frame_bytes(next(req_ids)).decode())
        reply = await conn.recv()
        assert reply.startswith('{"method":"add_order"')

    async def ccxt_pro_rtt() -> None:
        order = await ccxt_kraken.create_order_ws(
            "BTC/USD", "limit", "buy", 0.001, 80000.0, {"postOnly": True}
        )
        assert order["id"]

    yield {
        "hftpy": hftpy_rtt,
        "raw_picows": raw_rtt,
        "websockets": websockets_rtt,
        "ccxt_pro": ccxt_pro_rtt,
    }

    async def disconnect() -> None:
        await api.close()
        await runner
        await api._rest.close()
        transport.disconnect()
        await transport.wait_disconnected()
        await conn.close()
        await ccxt_kraken.close()

    loop.run_until_complete(disconnect())


def batch_of(
    loop: asyncio.AbstractEventLoop, one_rtt: RoundTrip, size: int, samples: list[int]
) -> None:
    async def batch() -> None:
        for _ in range(size):
            start = time.monotonic_ns()
            await one_rtt()
            samples.append(time.monotonic_ns() - start)

    loop.run_until_complete(batch())


def run_client(benchmark: Any, loop: asyncio.AbstractEventLoop, one_rtt: RoundTrip) -> None:
    samples: list[int] = []
    batch_of(loop, one_rtt, BATCH, samples)  # warm-up
    samples.clear()
    benchmark.pedantic(lambda: batch_of(loop, one_rtt, BATCH, samples), rounds=ROUNDS, iterations=1)
    benchmark.extra_info.update(percentiles(samples))
    benchmark.extra_info["round_trips_per_round"] = BATCH


@pytest.mark.benchmark(group="order-rtt")
def test_rtt_hftpy_kraken(
    benchmark: Any, loop: asyncio.AbstractEventLoop, clients: dict[str, RoundTrip]
) -> None:
    run_client(benchmark, loop, clients["hftpy"])


@pytest.mark.benchmark(group="order-rtt")
def test_rtt_raw_picows(
    benchmark: Any, loop: asyncio.AbstractEventLoop, clients: dict[str, RoundTrip]
) -> None:
    run_client(benchmark, loop, clients["raw_picows"])


@pytest.mark.benchmark(group="order-rtt")
def test_rtt_websockets(
    benchmark: Any, loop: asyncio.AbstractEventLoop, clients: dict[str, RoundTrip]
) -> None:
    run_client(benchmark, loop, clients["websockets"])


@pytest.mark.benchmark(group="order-rtt")
def test_rtt_ccxt_pro(
    benchmark: Any, loop: asyncio.AbstractEventLoop, clients: dict[str, RoundTrip]
) -> None:
    run_client(benchmark, loop, clients["ccxt_pro"])


@pytest.mark.benchmark(group="order-rtt-interleaved")
def test_rtt_interleaved(
    benchmark: Any, loop: asyncio.AbstractEventLoop, clients: dict[str, RoundTrip]
) -> None:
    """One round = a batch of 50 round trips per client, in turn; ratios of medians."""
    samples: dict[str, list[int]] = {name: [] for name in clients}

    def cycle() -> None:
        for name, one_rtt in clients.items():
            batch_of(loop, one_rtt, 50, samples[name])

    cycle()  # warm-up
    for values in samples.values():
        values.clear()
    benchmark.pedantic(cycle, rounds=40, iterations=1)
    medians = {name: statistics.median(values) / 1000 for name, values in samples.items()}
    for name, values in samples.items():
        for key, value in percentiles(values).items():
            benchmark.extra_info[f"{name}_{key}"] = value
    for name, median in medians.items():
        benchmark.extra_info[f"{name}_vs_raw_picows"] = round(median / medians["raw_picows"], 3)
