"""Market-data throughput over loopback: `hftpy sim --replay binance=<capture> --rate max` in
another process serves the recorded Binance frames as fast as it can; a bare picows client
that merely receives them sets the bar, and hftpy's BinanceStream (decode, sync, apply every
frame and hand events to a callback) is measured on the same replay. Each round is one whole
replay on a fresh connection; `extra_info` has frames/s. Target: hftpy ≥ 0.7× bare picows,
with the book valid and never resynced.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from hftpy.exchange.binance.stream import BinanceStream

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from replay_data import capture

STREAMS = "btcusdt@depth@100ms/btcusdt@bookTicker/btcusdt@trade"
IDLE = 0.3  # the replay is over once nothing arrives for this long


@pytest.fixture(scope="module")
def replay_sim() -> Iterator[dict[str, str]]:
    recorded = capture("binance/spot_btcusdt_20240808.gz")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hftpy.cli",
            "sim",
            "--ports",
            "free",
            "--no-flow",
            "--replay",
            f"binance={recorded}",
            "--rate",
            "max",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    env: dict[str, str] = {}
    for line in proc.stdout:
        if line.strip() == "ready":
            break
        name, _, value = line.strip().removeprefix("export ").partition("=")
        env[name] = value.strip("'")
    yield env
    proc.terminate()
    proc.wait(timeout=10)
    proc.stdout.close()


class _Counter(WSListener):
    def __init__(self) -> None:
        self.frames = 0
        self.first = self.last = 0.0

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            self.last = time.perf_counter()
            if not self.frames:
                self.first = self.last
            self.frames += 1


async def until_idle(progress: Any) -> None:
    seen = -1
    while progress() != seen or seen <= 0:
        seen = progress()
        await asyncio.sleep(IDLE)


def test_throughput_bare_picows(benchmark: Any, replay_sim: dict[str, str]) -> None:
    url = f"{replay_sim['HFTPY_BINANCE_STREAM_URL']}?streams={STREAMS}"
    rates: list[float] = []

    async def one_replay() -> None:
        transport, counter = await ws_connect(_Counter, url)
        await until_idle(lambda: counter.frames)
        transport.disconnect()
        await transport.wait_disconnected()
        rates.append(counter.frames / (counter.last - counter.first))
        benchmark.extra_info["frames"] = counter.frames

    benchmark.pedantic(lambda: asyncio.run(one_replay()), rounds=3, iterations=1)
    benchmark.extra_info["frames_per_s"] = round(max(rates))


def test_throughput_hftpy_stream(benchmark: Any, replay_sim: dict[str, str]) -> None:
    rates: list[float] = []

    async def one_replay() -> None:
        stream = BinanceStream(
            url=replay_sim["HFTPY_BINANCE_STREAM_URL"],
            rest_url=replay_sim["HFTPY_BINANCE_REST_URL"],
            scales={"BTCUSDT": (2, 8)},
        )
        runner = asyncio.create_task(stream.start())
        await stream.wait_ready(10)
        events = 0
        first = last = 0.0

        def on_event(event: Any) -> None:
            nonlocal events, first, last
            last = time.perf_counter()
            if not events:
                first = last
            events += 1

        await stream.subscribe(["book", "trade", "quote"], ["BTCUSDT"], callback=on_event)
        await until_idle(lambda: events)
        state = stream.state("BTCUSDT")
        assert stream.book("BTCUSDT").valid and state.resyncs == 0
        await stream.close()
        await runner
        rates.append(events / (last - first))
        benchmark.extra_info["events"] = events

    benchmark.pedantic(lambda: asyncio.run(one_replay()), rounds=3, iterations=1)
    benchmark.extra_info["events_per_s"] = round(max(rates))
