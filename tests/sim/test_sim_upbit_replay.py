"""Upbit's request format and binary frames, and replay of the recorded captures."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect

from hftpy.sim import Simulator

from .md import DiffBook, data_dir, kraken_apply, kraken_checksum


@pytest.fixture
async def live() -> AsyncIterator[Simulator]:
    async with Simulator(ports="free") as simulator:
        yield simulator


async def binary_frames(ws: ClientConnection, seconds: float) -> list[dict[str, Any]]:
    out = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            raw = await asyncio.wait_for(ws.recv(), left)
        except TimeoutError:
            break
        assert isinstance(raw, bytes), "Upbit pushes binary frames"
        out.append(json.loads(raw, parse_float=Decimal))
    return out


async def test_upbit_request_variants_binary_frames_and_ping(live: Simulator) -> None:
    async with connect(live.env["HFTPY_UPBIT_WS_URL"]) as ws:
        await ws.send("PING")
        assert json.loads(await ws.recv()) == {"status": "UP"}
        # format first, camelCase flags, orderbook units
        await ws.send(
            json.dumps(
                [
                    {"ticket": "t1"},
                    {"format": "SIMPLE"},
                    {"type": "orderbook", "codes": ["KRW-BTC.5"], "isOnlySnapshot": True},
                ]
            )
        )
        (snapshot,) = await binary_frames(ws, 0.5)
        assert snapshot["ty"] == "orderbook" and snapshot["st"] == "SNAPSHOT"
        assert len(snapshot["obu"]) == 5 and set(snapshot["obu"][0]) == {"ap", "bp", "as", "bs"}
        assert snapshot["obu"][0]["bp"] < snapshot["obu"][0]["ap"]
        # a new request replaces the old one: snake_case realtime trades, format last
        await ws.send(
            json.dumps(
                [
                    {"ticket": "t2"},
                    {"type": "trade", "codes": ["KRW-ETH"], "is_only_realtime": True},
                    {"type": "ticker", "codes": ["KRW-ETH"]},
                    {"format": "DEFAULT"},
                ]
            )
        )
        messages = await binary_frames(ws, 1.2)
        types = {m["type"] for m in messages}
        assert types == {"trade", "ticker"}  # no orderbook any more
        trades = [m for m in messages if m["type"] == "trade"]
        assert trades and all(t["stream_type"] == "REALTIME" for t in trades)
        assert {
            "trade_price",
            "trade_volume",
            "ask_bid",
            "sequential_id",
            "trade_timestamp",
        } <= set(trades[0])
        tickers = [m for m in messages if m["type"] == "ticker"]
        assert tickers[0]["stream_type"] == "SNAPSHOT" and tickers[0]["code"] == "KRW-ETH"
        await ws.send(json.dumps([{"ticket": "t3"}, {"method": "LIST_SUBSCRIPTIONS"}]))
        listed = next(m for m in await binary_frames(ws, 0.5) if "method" in m)
        assert [r["type"] for r in listed["result"]] == ["trade", "ticker"]
        await ws.send(json.dumps([{"type": "trade", "codes": ["KRW-BTC"]}]))
        errors = [m for m in await binary_frames(ws, 0.3) if "error" in m]
        assert errors[0]["error"]["name"] == "NO_TICKET"
    rest = live.env["HFTPY_UPBIT_REST_URL"]
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{rest}/v1/market/all") as resp:
            markets = await resp.json()
        async with http.get(f"{rest}/v1/orderbook?markets=KRW-BTC") as resp:
            books = await resp.json()
    assert {m["market"] for m in markets} == {"KRW-BTC", "KRW-ETH"}
    assert books[0]["market"] == "KRW-BTC" and books[0]["orderbook_units"]


async def test_fresh_subscribers_see_book_changes_and_trades_within_two_seconds(
    live: Simulator,
) -> None:
    env = live.env
    async with (
        connect(
            f"{env['HFTPY_BINANCE_STREAM_URL']}?streams=ethusdt@depth@100ms/ethusdt@trade"
        ) as binance,
        connect(env["HFTPY_UPBIT_WS_URL"]) as upbit,
    ):
        await upbit.send(
            json.dumps(
                [
                    {"ticket": "x"},
                    {"type": "orderbook", "codes": ["KRW-BTC"]},
                    {"type": "trade", "codes": ["KRW-BTC"]},
                ]
            )
        )
        seen: set[str] = set()

        async def read(ws: ClientConnection) -> None:
            while True:
                m = json.loads(await ws.recv())
                seen.add(m["stream"] if "stream" in m else f"upbit {m['type']}")

        readers = [asyncio.create_task(read(binance)), asyncio.create_task(read(upbit))]
        await asyncio.sleep(2.0)
        for reader in readers:
            reader.cancel()
        assert seen >= {"ethusdt@depth@100ms", "ethusdt@trade", "upbit orderbook", "upbit trade"}


async def test_binance_replay_serves_frames_in_order_with_the_snapshot() -> None:
    data = data_dir()
    capture = data / "binance" / "spot_btcusdt_20240808.gz"
    with gzip.open(capture, "rt") as lines:
        recorded = [
            line.split(" ", 1)[1].rstrip("\n") for _, line in zip(range(400), lines, strict=False)
        ]
    snapshot = json.loads(next(r for r in recorded if r.startswith('{"lastUpdateId"')))
    expected = [r for r in recorded if r.startswith('{"stream"')][:300]
    async with Simulator(ports="free", replay={"binance": capture}, replay_rate="max") as sim:
        env = sim.env
        streams = "btcusdt@depth@100ms/btcusdt@bookTicker/btcusdt@trade"
        url = f"{env['HFTPY_BINANCE_STREAM_URL']}?streams={streams}"
        async with connect(url, max_queue=None) as ws:  # keep reading while closing
            got = [await asyncio.wait_for(ws.recv(), 2) for _ in range(300)]
        assert got == expected
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{env['HFTPY_BINANCE_REST_URL']}/api/v3/depth?symbol=BTCUSDT&limit=5000"
            ) as resp,
        ):
            served = await resp.json()
        assert served == snapshot
        book = DiffBook()
        for frame in got:
            message = json.loads(frame)
            if message["stream"].startswith("btcusdt@depth"):
                book.on_event(message["data"])
                if book.last is None:
                    book.load(served)
        assert book.gaps == 0 and not book.crossed() and book.applied > 5


async def test_kraken_and_upbit_replay() -> None:
    data = data_dir()
    replay = {
        "kraken": data / "kraken" / "orderbook-v2.json",
        "upbit": data / "upbit" / "UPBIT.ws.62.0",
    }
    async with Simulator(ports="free", replay=replay, replay_rate=0) as sim:
        async with connect(sim.env["HFTPY_KRAKEN_WS_URL"]) as ws:
            await ws.recv()
            await ws.send(
                json.dumps(
                    {"method": "subscribe", "params": {"channel": "book", "symbol": ["BTC/USD"]}}
                )
            )
            book: dict[str, dict[Decimal, Decimal]] = {"bids": {}, "asks": {}}
            verified = 0
            while verified < 510:
                m = json.loads(await asyncio.wait_for(ws.recv(), 2), parse_float=Decimal)
                if m.get("channel") != "book":
                    continue
                kraken_apply(book, m["data"][0], 10)
                assert kraken_checksum(book, 1, 8) == m["data"][0]["checksum"]
                verified += 1
        async with connect(sim.env["HFTPY_UPBIT_WS_URL"]) as ws:
            await ws.send(
                json.dumps(
                    [
                        {"ticket": "r"},
                        {"type": "orderbook", "codes": ["KRW-LAMB.5"]},
                        {"format": "DEFAULT"},
                    ]
                )
            )
            replayed = await binary_frames(ws, 0.5)
        assert replayed and all(m["code"] == "KRW-LAMB" for m in replayed)
        assert (
            len(replayed[0]["orderbook_units"]) == 5
            and "ask_price" in replayed[0]["orderbook_units"][0]
        )
