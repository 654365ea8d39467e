"""A third-party Kraken client (python-kraken-sdk) pointed at the simulator: it signs its own
token request and speaks WS v2 with its own code, so the simulator must match the wire
format Kraken documents, not just what hftpy sends."""

from __future__ import annotations

import asyncio
from typing import Any

from kraken.spot import SpotWSClient

from hftpy.sim import Simulator


async def test_python_kraken_sdk_trades_against_the_simulator() -> None:
    async with Simulator(ports="free", synthetic_flow=False) as sim:
        env = sim.env
        messages: list[dict[str, Any]] = []

        async def on_message(message: dict[str, Any]) -> None:
            messages.append(message)

        client = SpotWSClient(
            key=env["HFTPY_KRAKEN_API_KEY"],
            secret=env["HFTPY_KRAKEN_API_SECRET"],
            callback=on_message,
            no_public=True,
            rest_url=env["HFTPY_KRAKEN_REST_URL"],
            # the SDK appends /v2 itself
            auth_ws_url=env["HFTPY_KRAKEN_WS_AUTH_URL"].removesuffix("/v2"),
        )
        await client.start()
        try:
            await client.send_message(
                message={
                    "method": "add_order",
                    "params": {
                        "order_type": "limit",
                        "side": "buy",
                        "order_qty": 0.001,
                        "symbol": "BTC/USD",
                        "limit_price": 80000.0,
                        "post_only": True,
                    },
                    "req_id": 42,
                }
            )
            await client.subscribe(params={"channel": "executions", "snap_orders": True})

            def replies(method: str) -> list[dict[str, Any]]:
                return [m for m in messages if m.get("method") == method]

            for _ in range(500):
                if replies("add_order") and any(m.get("channel") == "executions" for m in messages):
                    break
                await asyncio.sleep(0.01)
            (added,) = replies("add_order")
            assert added["success"] is True and added["req_id"] == 42
            assert added["result"]["order_id"]
            snapshot = next(m for m in messages if m.get("channel") == "executions")
            assert any(r["order_id"] == added["result"]["order_id"] for r in snapshot["data"])
        finally:
            await client.close()
