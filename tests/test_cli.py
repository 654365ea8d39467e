"""The `hftpy` command as a user runs it: the demo, and `hftpy sim` driving unchanged user
code through the environment it prints."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys

import pytest

from hftpy.common import CurrencyPair, Exchange, Side
from hftpy.exchange import create_exchange_api, create_exchange_ws_api

HFTPY = [sys.executable, "-m", "hftpy.cli"]


def test_demo_places_rejects_and_cancels() -> None:
    done = subprocess.run(
        [*HFTPY, "demo", "--rounds", "20"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert re.search(r"WebSocket Request - ID: \d+ \| Method: add_order \| Latency: \d+μs", out)
    assert "'error': 'EGeneral:Invalid arguments:volume minimum not met'" in out
    assert "Method: cancel_order" in out and "'token': '***'" in out
    assert "Latency over 20 add_order round trips" in out


async def test_sim_command_serves_what_its_environment_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proc = await asyncio.create_subprocess_exec(
        *HFTPY,
        "sim",
        "--ports",
        "free",
        "--no-flow",
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    try:
        env: dict[str, str] = {}
        while True:
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode().strip()
            if line == "ready":
                break
            name, _, value = line.removeprefix("export ").partition("=")
            env[name] = value.strip("'")
        assert env["HFTPY_KRAKEN_WS_AUTH_URL"].startswith("ws://127.0.0.1:")
        for name, value in env.items():  # what eval "$(...)" does
            monkeypatch.setenv(name, value)
        create_exchange_api(exchange=Exchange.KRAKEN)
        ws_api = create_exchange_ws_api(exchange=Exchange.KRAKEN)
        runner = asyncio.create_task(ws_api.start())
        await ws_api.wait_ready(10)
        reply = await ws_api.place_order(
            symbol=CurrencyPair.BTC_USD,
            side=Side.BUY,
            amount=0.001,
            price=80000.0,
            post_only=True,
            wait=True,
        )
        assert reply.ok and reply.response["result"]["order_id"]
        await ws_api.close()
        await runner
    finally:
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
