"""Simulator lifecycle, environment, synthetic flow rates, and the `hftpy sim` command."""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import signal
import sys

import aiohttp
import pytest

from hftpy.sim import DEFAULT_PORTS, Simulator
from hftpy.sim.cli import add_arguments, parse_fault, parse_replay, run
from hftpy.sim.engine import Instrument, Trade
from hftpy.sim.replay import parse_rate

KRAKEN_VARS = {
    "HFTPY_KRAKEN_REST_URL",
    "HFTPY_KRAKEN_WS_URL",
    "HFTPY_KRAKEN_WS_AUTH_URL",
    "HFTPY_KRAKEN_API_KEY",
    "HFTPY_KRAKEN_API_SECRET",
}
OTHER_VARS = {
    "HFTPY_BINANCE_REST_URL",
    "HFTPY_BINANCE_STREAM_URL",
    "HFTPY_BINANCE_WS_API_URL",
    "HFTPY_BINANCE_API_KEY",
    "HFTPY_BINANCE_API_SECRET",
    "HFTPY_BINANCE_ED25519_KEY",
    "HFTPY_BACKPACK_REST_URL",
    "HFTPY_BACKPACK_WS_URL",
    "HFTPY_BACKPACK_API_KEY",
    "HFTPY_BACKPACK_API_SECRET",
    "HFTPY_UPBIT_REST_URL",
    "HFTPY_UPBIT_WS_URL",
    "HFTPY_UPBIT_WS_PRIVATE_URL",
    "HFTPY_UPBIT_API_KEY",
    "HFTPY_UPBIT_API_SECRET",
}
ALL_VARS = KRAKEN_VARS | OTHER_VARS


def test_default_env_and_fixed_credentials() -> None:
    env = Simulator().env
    assert set(env) == ALL_VARS
    assert env["HFTPY_BINANCE_STREAM_URL"] == "ws://127.0.0.1:8801/stream"
    assert env["HFTPY_BINANCE_REST_URL"] == "http://127.0.0.1:8800"
    assert env["HFTPY_BACKPACK_WS_URL"] == "ws://127.0.0.1:8811"
    assert env["HFTPY_UPBIT_WS_URL"] == "ws://127.0.0.1:8821/websocket/v1"
    assert env["HFTPY_KRAKEN_REST_URL"] == "http://127.0.0.1:8790"
    assert env["HFTPY_KRAKEN_WS_URL"] == "ws://127.0.0.1:8791/v2"
    assert env["HFTPY_KRAKEN_WS_AUTH_URL"] == "ws://127.0.0.1:8792/v2"
    assert len(base64.b64decode(env["HFTPY_KRAKEN_API_SECRET"])) == 64
    assert len(env["HFTPY_KRAKEN_API_KEY"]) == 56
    assert Simulator(seed=5).env == env  # credentials never depend on the run
    assert DEFAULT_PORTS["binance_rest"] == 8800 and DEFAULT_PORTS["upbit_ws_private"] == 8822
    with pytest.raises(RuntimeError):
        _ = Simulator(ports="free").env


async def test_free_ports_env_lines_and_restartable() -> None:
    sim = Simulator(ports="free", synthetic_flow=False)
    await sim.start()
    ports = {int(v.rsplit(":", 1)[1].split("/")[0]) for k, v in sim.env.items() if "URL" in k}
    assert len(ports) == len(DEFAULT_PORTS) and not ports & set(DEFAULT_PORTS.values())
    lines = sim.env_lines()
    assert lines[0] == f"export HFTPY_KRAKEN_REST_URL='{sim.env['HFTPY_KRAKEN_REST_URL']}'"
    assert len(lines) == len(ALL_VARS)
    await sim.stop()
    await sim.stop()  # idempotent


async def test_synthetic_flow_rates() -> None:
    changes: dict[str, int] = {}
    trades: dict[str, int] = {}

    def on_level(inst: Instrument, side: str, price: int, qty: int) -> None:
        changes[inst.symbol] = changes.get(inst.symbol, 0) + 1

    def on_trade(trade: Trade) -> None:
        trades[trade.instrument.symbol] = trades.get(trade.instrument.symbol, 0) + 1

    async with Simulator(ports="free") as sim:
        sim.engine.level_listeners.append(on_level)
        sim.engine.trade_listeners.append(on_trade)
        await asyncio.sleep(1.0)
        symbols = set(sim.engine.instruments)
        for symbol in symbols:
            book = sim.engine.book(symbol)
            assert len(book.bids.prices) >= 10 and len(book.asks.prices) >= 10, symbol
    assert set(changes) == symbols and min(changes.values()) >= 20, changes
    assert set(trades) == symbols and min(trades.values()) >= 5, trades


def test_parse_fault() -> None:
    assert parse_fault("kraken.book_checksum=0.01") == ("kraken", "book_checksum", {"rate": 0.01})
    assert parse_fault("kraken.rate_limit=3") == ("kraken", "rate_limit", {"count": 3})
    assert parse_fault("kraken.maintenance") == ("kraken", "maintenance", {})
    assert parse_fault("binance.skip_sequence=2") == ("binance", "skip_sequence", {"count": 2})
    assert parse_fault("upbit.stall=1.5") == ("upbit", "stall", {"seconds": 1.5})
    for bad in (
        "kraken",
        "kraken.nope=1",
        "bitmex.stall=1",
        "upbit.skip_sequence",
        "kraken.reject_auth=1",
        "kraken.stall=x",
    ):
        with pytest.raises(ValueError):
            parse_fault(bad)


def parse_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="hftpy sim")
    add_arguments(parser)
    return parser.parse_args(argv)


async def test_print_env_and_refusals(capsys: pytest.CaptureFixture[str]) -> None:
    assert await run(parse_args("--print-env")) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == Simulator().env_lines()
    assert await run(parse_args("--replay", "binance=no-such-capture.gz", "--rate", "10")) == 2
    assert "no such file" in capsys.readouterr().err
    assert await run(parse_args("--replay", "backpack=x.gz")) == 2
    assert "no capture format" in capsys.readouterr().err
    assert await run(parse_args("--fault", "kraken.bogus")) == 2


async def test_serves_until_sigterm() -> None:
    # The subprocess imports hftpy as this test does (the installed wheel under `make test`),
    # never the source tree, which has no built extension in a fresh checkout.
    env = dict(os.environ)
    script = (
        "import argparse, asyncio, sys\n"
        "from hftpy.sim.cli import add_arguments, run\n"
        "parser = argparse.ArgumentParser()\n"
        "add_arguments(parser)\n"
        "sys.exit(asyncio.run(run(parser.parse_args(sys.argv[1:]))))\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        "--ports",
        "free",
        "--no-flow",
        "--fault",
        "kraken.maintenance",
        stdout=asyncio.subprocess.PIPE,
        env=env,
    )
    assert proc.stdout is not None
    lines = []
    while (
        line := (await asyncio.wait_for(proc.stdout.readline(), 10)).decode().strip()
    ) != "ready":
        assert line, "exited before ready"
        lines.append(line)
    exported = dict(line.removeprefix("export ").split("=", 1) for line in lines)
    assert set(exported) == ALL_VARS
    rest_url = exported["HFTPY_KRAKEN_REST_URL"].strip("'")
    async with (
        aiohttp.ClientSession() as http,
        http.get(rest_url + "/0/public/SystemStatus") as resp,
    ):
        assert (await resp.json())["result"]["status"] == "maintenance"
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 10) == 0


def test_parse_replay_and_rate() -> None:
    assert parse_replay(["binance=a.gz", "binance=b.gz", "upbit=u"]) == {
        "binance": ["a.gz", "b.gz"],
        "upbit": ["u"],
    }
    assert parse_rate("max") == 0.0 and parse_rate("0") == 0.0 and parse_rate("10") == 10.0
    assert parse_args("--rate", "max").rate == 0.0
    for bad in (["binance"], ["binance="], ["backpack=x"]):
        with pytest.raises(ValueError):
            parse_replay(bad)
    with pytest.raises(ValueError):
        parse_rate("-1")
