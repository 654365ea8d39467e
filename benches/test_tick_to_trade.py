"""The outbound path against its floor, one uvloop process against the loopback venue in
`ack_server.py` (another process), every contender measured in the same run:

* `place_order_nowait` call -> frame handed to the transport, Kraken and Binance (HMAC signed
  per request), against `transport.send` of the identical bytes. Both go through the same
  stamping wrapper around the picows transport (the stamp is taken when `send` returns), one
  sample of each in turn, each after the previous ack is back (a warm, idle socket).
* tick-to-trade in-process: the venue's quote frame is received (picows' `recv_ns` stamp,
  taken first in `on_ws_frame`) -> the strategy's listener on the API's channel ->
  `place_order_nowait` -> the order frame handed to the transport (wall clock, the same
  stamping wrapper); against a raw picows listener sending prebuilt bytes from `on_ws_frame`.
* tick-to-trade cross-process, measured by the server: quote frame out -> order frame in,
  for the same clients, against the raw picows client echoing prebuilt bytes.

Percentiles come from `hftpy._core.LatencyStats` (HDR histograms, 3 significant digits);
`extra_info` holds them, the ratios, and percentile curves for `benches/report.py`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from hftpy._core import LatencyStats
from hftpy.common import CurrencyPair, Side
from hftpy.exchange.binance import BinanceWsApi
from hftpy.exchange.kraken import KrakenRestApi, KrakenWsApi

SAMPLES = 2000
T2T_SAMPLES = 1500
CURVE = [50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9]
TEXT = WSMsgType.TEXT


def summary(samples_ns: list[int]) -> dict[str, float]:
    """p50/p90/p99/p99.9/max in µs from an HDR histogram, and a percentile curve."""
    stats = LatencyStats()
    key = stats.key("x")
    for value in samples_ns:
        stats.record(key, value)
    count, p50, p90, p99, p999, high, _, _ = stats.summary()["x"]
    ordered = sorted(samples_ns)
    curve = [ordered[min(len(ordered) - 1, int(q / 100 * len(ordered)))] / 1000 for q in CURVE]
    return {
        "n": count,
        "p50_us": p50 / 1000,
        "p90_us": p90 / 1000,
        "p99_us": p99 / 1000,
        "p999_us": p999 / 1000,
        "max_us": high / 1000,
        "curve_us": curve,  # type: ignore[dict-item]
    }


class StampingTransport:
    """The picows transport, with a stamp when `send` returns (perf_counter and wall ns)."""

    def __init__(self, transport: WSTransport) -> None:
        self._transport = transport
        self.at = 0
        self.wall = 0
        self.last: bytes = b""

    def send(self, kind: WSMsgType, payload: bytes) -> None:
        self._transport.send(kind, payload)
        self.at = time.perf_counter_ns()
        self.wall = time.time_ns()
        self.last = payload

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class Apis:
    def __init__(self, kraken: KrakenWsApi, binance: BinanceWsApi, ws_url: str) -> None:
        self.kraken = kraken
        self.binance = binance
        self.ws_url = ws_url


@pytest.fixture(scope="module")
def apis(loop: asyncio.AbstractEventLoop, ack_server: Any) -> Iterator[Apis]:
    ws_port, http_port = ack_server
    url = f"ws://127.0.0.1:{ws_port}/v2"

    async def connect() -> tuple[Apis, list[asyncio.Future[None]]]:
        rest = KrakenRestApi(
            api_key="benchkey", api_secret="c2VjcmV0", url=f"http://127.0.0.1:{http_port}"
        )
        kraken = KrakenWsApi(url=url, rest_api=rest, executions=False, rate_tier=None)
        binance = BinanceWsApi(
            api_key="benchkey", api_secret="benchsecret", url=url, user_data=False
        )
        kraken.reconcile_orders = binance.reconcile_orders = False
        binance.rate_limiter = None  # the bench sends more than a real account may
        runners = [asyncio.ensure_future(api.start()) for api in (kraken, binance)]
        for api in (kraken, binance):
            await api.wait_ready(10)
            api._conn._transport = StampingTransport(api._conn._transport)  # type: ignore[assignment]
        return Apis(kraken, binance, url), runners

    apis, runners = loop.run_until_complete(connect())
    yield apis

    async def disconnect() -> None:
        for api in (apis.kraken, apis.binance):
            await api.close()
        await asyncio.gather(*runners, return_exceptions=True)
        await apis.kraken._rest.close()

    loop.run_until_complete(disconnect())


def place(api: Any, callback: Any) -> int:
    if isinstance(api, KrakenWsApi):
        return api.place_order_nowait(
            CurrencyPair.BTC_USD,
            Side.BUY,
            0.001,
            80000.0,
            post_only=True,
            callback=callback,
        )
    return int(
        api.place_order_nowait(
            CurrencyPair.BTC_USDT, Side.BUY, 0.001, 80000.0, post_only=True, callback=callback
        )
    )


def nowait_vs_send(benchmark: Any, loop: asyncio.AbstractEventLoop, api: Any) -> None:
    stamp: StampingTransport = api._conn._transport
    hftpy_ns: list[int] = []
    raw_ns: list[int] = []

    async def one_pair() -> None:
        done: asyncio.Future[None] = loop.create_future()

        def acked(*_: Any) -> None:
            if not done.done():
                done.set_result(None)

        start = time.perf_counter_ns()
        req_id = place(api, acked)
        hftpy_ns.append(stamp.at - start)
        await done
        # the identical bytes again, raw; the ack is awaited as an internal reply
        payload = stamp.last
        internal: asyncio.Future[dict[str, Any]] = loop.create_future()
        api._internal[req_id] = internal
        start = time.perf_counter_ns()
        stamp.send(TEXT, payload)
        raw_ns.append(stamp.at - start)
        await internal
        del api._internal[req_id]

    async def batch(size: int) -> None:
        for _ in range(size):
            await one_pair()

    loop.run_until_complete(batch(200))  # warm-up
    hftpy_ns.clear()
    raw_ns.clear()
    benchmark.pedantic(
        lambda: loop.run_until_complete(batch(SAMPLES // 10)), rounds=10, iterations=1
    )
    hftpy, raw = summary(hftpy_ns), summary(raw_ns)
    benchmark.extra_info["hftpy"] = hftpy
    benchmark.extra_info["raw_send"] = raw
    benchmark.extra_info["ratio_p50"] = round(hftpy["p50_us"] / raw["p50_us"], 3)
    benchmark.extra_info["ratio_p99"] = round(hftpy["p99_us"] / raw["p99_us"], 3)
    benchmark.extra_info["target"] = "p50 ratio <= 1.5"


@pytest.mark.benchmark(group="nowait-vs-send")
def test_nowait_vs_send_kraken(benchmark: Any, loop: asyncio.AbstractEventLoop, apis: Apis) -> None:
    nowait_vs_send(benchmark, loop, apis.kraken)


@pytest.mark.benchmark(group="nowait-vs-send")
def test_nowait_vs_send_binance(
    benchmark: Any, loop: asyncio.AbstractEventLoop, apis: Apis
) -> None:
    nowait_vs_send(benchmark, loop, apis.binance)


# -- tick to trade -----------------------------------------------------------------------------
class RawListener(WSListener):
    """The floor: sends prebuilt order bytes from `on_ws_frame` on every quote."""

    def __init__(self, order: bytes) -> None:
        self.order = order
        self.samples: list[int] = []
        self.done: asyncio.Future[list[int]] | None = None

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        recv_ns = time.time_ns()
        if frame.msg_type is not TEXT:
            return
        payload = frame.get_payload_as_bytes()
        if b"t2t_done" in payload[:40]:
            message = json.loads(payload)
            if self.done is not None:
                self.done.set_result(message.get("data") or message["event"]["data"])
            return
        if payload.startswith(b'{"channel":"quotes"') or payload.startswith(b'{"event"'):
            transport.send(TEXT, self.order)
            self.samples.append(time.time_ns() - recv_ns)


async def raw_drill(url: str, kind: str, order: bytes) -> tuple[list[int], list[int]]:
    transport, listener = await ws_connect(lambda: RawListener(order), url)
    listener.done = asyncio.get_running_loop().create_future()
    transport.send(TEXT, json.dumps({"t2t": T2T_SAMPLES, "kind": kind}).encode())
    server = await asyncio.wait_for(listener.done, 60)
    transport.disconnect()
    await transport.wait_disconnected()
    return listener.samples, server


async def hftpy_drill(api: Any, kind: str) -> tuple[list[int], list[int]]:
    stamp: StampingTransport = api._conn._transport
    samples: list[int] = []
    loop = asyncio.get_running_loop()
    done: asyncio.Future[list[int]] = loop.create_future()

    def on_quote(message: dict[str, Any], recv_ns: int) -> None:
        place(api, None)  # the strategy reacts inside the callback: no task, no await
        samples.append(stamp.wall - recv_ns)

    def on_done(message: dict[str, Any], recv_ns: int) -> None:
        done.set_result(message["data"])

    channel = "quotes" if kind == "kraken" else "quote"
    api.add_listener(channel, on_quote)
    api.add_listener("t2t_done", on_done)
    try:
        stamp.send(TEXT, json.dumps({"t2t": T2T_SAMPLES, "kind": kind}).encode())
        server = await asyncio.wait_for(done, 60)
    finally:
        api.remove_listener(channel, on_quote)
        api.remove_listener("t2t_done", on_done)
    await asyncio.sleep(0.05)  # the last acks
    return samples, server


def tick_to_trade(
    benchmark: Any, loop: asyncio.AbstractEventLoop, apis: Apis, api: Any, kind: str
) -> None:
    stamp: StampingTransport = api._conn._transport
    # the raw client sends the bytes hftpy sends (one sample of them)
    place(api, None)
    order = stamp.last
    loop.run_until_complete(asyncio.sleep(0.05))
    results: dict[str, list[int]] = {}

    def cycle() -> None:
        for name, drill in (
            ("hftpy", lambda: hftpy_drill(api, kind)),
            ("raw", lambda: raw_drill(apis.ws_url, kind, order)),
        ):
            inproc, server = loop.run_until_complete(drill())
            results.setdefault(f"{name}_inproc", []).extend(inproc[50:])
            results.setdefault(f"{name}_server", []).extend(server[50:])

    benchmark.pedantic(cycle, rounds=2, iterations=1)
    for name, values in results.items():
        benchmark.extra_info[name] = summary(values)
    info = benchmark.extra_info
    for where in ("inproc", "server"):
        for q in ("p50", "p99"):
            ratio = info[f"hftpy_{where}"][f"{q}_us"] / info[f"raw_{where}"][f"{q}_us"]
            info[f"ratio_{where}_{q}"] = round(ratio, 3)
    info["target"] = "inproc ratio <= 2.0, server ratio <= 1.1 (p50 and p99)"


@pytest.mark.benchmark(group="tick-to-trade")
def test_tick_to_trade_kraken(benchmark: Any, loop: asyncio.AbstractEventLoop, apis: Apis) -> None:
    tick_to_trade(benchmark, loop, apis, apis.kraken, "kraken")


@pytest.mark.benchmark(group="tick-to-trade")
def test_tick_to_trade_binance(benchmark: Any, loop: asyncio.AbstractEventLoop, apis: Apis) -> None:
    tick_to_trade(benchmark, loop, apis, apis.binance, "binance")
