"""Kraken WS v2 on the simulator, driven by a plain `websockets` client."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from hftpy.sim import Simulator

from .helpers import WsClient, channel

RFC3339_US = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")
RFC3339_S = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
KRAKEN_ID = re.compile(r"[A-Z][A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{6}")
UNKNOWN_ID = "OAAAAA-AAAAA-AAAAAA"


def order(session: str, **overrides: Any) -> dict[str, Any]:
    """The seed document's maker order: buy 0.001 BTC at 80000, post only."""
    params: dict[str, Any] = {
        "order_type": "limit",
        "side": "buy",
        "order_qty": 0.001,
        "symbol": "BTC/USD",
        "limit_price": 80000.0,
        "post_only": True,
        "time_in_force": "gtc",
        "token": session,
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


async def place(ws: WsClient, token: str, **overrides: Any) -> str:
    reply = await ws.request("add_order", order(token, **overrides))
    assert reply["success"], reply
    order_id: str = reply["result"]["order_id"]
    return order_id


async def test_status_on_connect_and_ping(sim: Simulator) -> None:
    client = WsClient(await connect(sim.env["HFTPY_KRAKEN_WS_AUTH_URL"]))
    _, status = await client.take(channel("status", "update"))
    info = status["data"][0]
    assert info["api_version"] == "v2" and info["system"] == "online"
    assert info["connection_id"] >= 2**63
    pong = await client.request("ping")
    assert set(pong) == {"method", "req_id", "time_in", "time_out"}
    assert pong["method"] == "pong"
    assert RFC3339_US.fullmatch(pong["time_in"]) and RFC3339_US.fullmatch(pong["time_out"])
    error = await client.request("ping", {})
    assert error["success"] is False and error["method"] == "ping"
    assert error["error"] == "Unsupported field: 'params' for the given msg type: ping"
    unknown = await client.request("frobnicate")
    assert unknown["error"] == "Unsupported event" and unknown["success"] is False
    await client.close()


async def test_unknown_path_is_refused(sim: Simulator) -> None:
    url = sim.env["HFTPY_KRAKEN_WS_AUTH_URL"].replace("/v2", "/v3")
    with pytest.raises(InvalidStatus):
        await connect(url)


async def test_post_only_order_then_cancel_with_executions(
    sim: Simulator, ws: WsClient, token: str
) -> None:
    ack = await ws.request("subscribe", {"channel": "executions", "token": token})
    assert ack["success"] and ack["result"]["channel"] == "executions"
    assert ack["result"]["maxratecount"] == 180 and ack["result"]["snapshot"] is True
    _, snapshot = await ws.take(channel("executions", "snapshot"))
    assert snapshot["data"] == [] and snapshot["sequence"] == 1

    cl_ord_id = "636a0574df7c4aa09c3b119a97f7c58b"
    reply = await ws.request("add_order", order(token, cl_ord_id=cl_ord_id))
    assert set(reply) == {"method", "req_id", "result", "success", "time_in", "time_out"}
    assert reply["method"] == "add_order" and reply["success"] is True
    order_id = reply["result"]["order_id"]
    assert reply["result"] == {"order_id": order_id, "cl_ord_id": cl_ord_id}
    assert KRAKEN_ID.fullmatch(order_id) and order_id.startswith("O")

    raw, pending = await ws.take(channel("executions", "update"))
    item = pending["data"][0]
    assert item["exec_type"] == "pending_new" and item["order_id"] == order_id
    assert '"order_qty":0.00100000' in raw and '"limit_price":80000.0' in raw
    assert item["time_in_force"] == "GTC" and item["cl_ord_id"] == cl_ord_id
    new = await ws.execution("new")
    assert new["order_status"] == "new"
    assert pending["sequence"] == 2

    resting = sim.engine.open_orders(sim.kraken_account)
    assert [o.order_id for o in resting] == [order_id]
    usd = sim.kraken_account.balance("USD")
    assert usd.held == int(Decimal("80.32").scaleb(18))  # 80 USD + 0.4 % taker fee reserve

    cancel = await ws.request("cancel_order", {"order_id": [order_id], "token": token})
    assert cancel["result"] == {"order_id": order_id} and cancel["success"] is True
    canceled = await ws.execution("canceled")
    assert canceled["reason"] == "User requested" and canceled["cum_qty"] == 0
    assert usd.held == 0

    gone = await ws.request("unsubscribe", {"channel": "executions", "token": token})
    assert gone["result"] == {"channel": "executions"}
    again = await ws.request("unsubscribe", {"channel": "executions", "token": token})
    assert again["error"] == "Subscription Not Found"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        (
            {"symbol": "EUR/USD", "order_qty": 0.1, "limit_price": 1.01},
            "EGeneral:Invalid arguments:volume minimum not met",
        ),
        (
            {"limit_price": 80000.05},
            "EOrder:Invalid price:BTC/USD price can only be specified up to 1 decimals.",
        ),
        ({"order_qty": "0.001"}, "Order_qty field must be a number_float"),
        ({"limit_price": "80000"}, "Limit_price field must be a number_float"),
        ({"symbol": "DOGE/USD"}, "EQuery:Unknown asset pair"),
        ({"token": "not-a-token"}, "ESession:Invalid session"),
        ({"token": None}, "ESession:Invalid session"),
        ({"cl_ord_id": "abc", "order_userref": 5}, "EGeneral:Invalid arguments"),
        ({"cl_ord_id": "x" * 19}, "EGeneral:Invalid arguments"),
        ({"order_qty": 100}, "EOrder:Insufficient funds"),
        ({"order_qty": 0.0001, "limit_price": 1000.0}, "EOrder:Cost minimum not met"),
        ({"order_type": "market"}, "EGeneral:Invalid arguments:post_only"),
        ({"time_in_force": "GTC"}, "EGeneral:Invalid arguments:time_in_force"),
    ],
)
async def test_add_order_rejections(
    sim: Simulator, ws: WsClient, token: str, overrides: dict[str, Any], error: str
) -> None:
    reply = await ws.request("add_order", order(token, **overrides))
    assert reply["error"] == error
    assert reply["success"] is False and reply["method"] == "add_order"
    assert "result" not in reply and "req_id" in reply
    assert sim.engine.open_orders(sim.kraken_account) == []


async def test_post_only_that_would_cross(sim: Simulator, ws: WsClient, token: str) -> None:
    other = sim.engine.add_account("other", unlimited=True)
    sim.engine.place(other, "BTC/USD", "sell", 1000, price=1_000_000)
    reply = await ws.request("add_order", order(token, limit_price=100000.0))
    assert reply["error"] == "EOrder:Post only order"
    validated = await ws.request("add_order", order(token, validate=True))
    assert validated["success"] is True and "order_id" not in validated["result"]
    assert sim.engine.open_orders(sim.kraken_account) == []


async def test_cancel_order_answers_once_per_id(ws: WsClient, token: str) -> None:
    first = await place(ws, token)
    second = await place(ws, token, cl_ord_id="client-2")
    await place(ws, token, order_userref=42)
    await place(ws, token, order_userref=42)
    await ws.send(
        {
            "method": "cancel_order",
            "params": {"order_id": [first, UNKNOWN_ID], "token": token},
            "req_id": 900,
        }
    )
    replies = [await ws.reply(900), await ws.reply(900)]
    assert replies[0]["success"] is True and replies[0]["result"] == {"order_id": first}
    assert replies[1]["success"] is False and replies[1]["error"] == "EOrder:Unknown order"
    by_cl = await ws.request("cancel_order", {"cl_ord_id": ["client-2"], "token": token})
    assert by_cl["result"] == {"cl_ord_id": "client-2"}
    by_ref = await ws.request("cancel_order", {"order_userref": [42], "token": token})
    assert by_ref["result"] == {"order_userref": 42}
    mixed = await ws.request(
        "cancel_order", {"order_id": [second], "cl_ord_id": ["x"], "token": token}
    )
    assert mixed["error"] == "EGeneral:Invalid arguments"
    await ws.send(
        {
            "method": "cancel_order",
            "params": {"order_id": [first, second], "token": "stale"},
            "req_id": 901,
        }
    )
    for _ in range(2):
        assert (await ws.reply(901))["error"] == "ESession:Invalid session"


async def test_batch_add_and_batch_cancel(sim: Simulator, ws: WsClient, token: str) -> None:
    entries = [
        {"order_type": "limit", "side": "buy", "order_qty": 0.001, "limit_price": 80000.0},
        {
            "order_type": "limit",
            "side": "sell",
            "order_qty": 0.002,
            "limit_price": 120000.0,
            "cl_ord_id": "sell-1",
        },
    ]
    params = {"symbol": "BTC/USD", "orders": entries, "token": token}
    reply = await ws.request("batch_add", params)
    assert reply["success"] is True
    first, second = reply["result"]
    assert set(first) == {"order_id"} and second["cl_ord_id"] == "sell-1"
    too_small = {"order_type": "limit", "side": "buy", "order_qty": 0.00001, "limit_price": 9e4}
    bad = [*entries, too_small]
    rejected = await ws.request("batch_add", {**params, "orders": bad})
    assert rejected["error"] == "EGeneral:Invalid arguments:volume minimum not met"
    unfunded = {"order_type": "limit", "side": "buy", "order_qty": 100, "limit_price": 9e4}
    partial = await ws.request("batch_add", {**params, "orders": [entries[0], unfunded]})
    assert partial["success"] is True and set(partial["result"][0]) == {"order_id"}
    assert partial["result"][1] == {"error": "EOrder:Insufficient funds"}
    too_few = await ws.request("batch_add", {**params, "orders": entries[:1]})
    assert too_few["error"] == "EGeneral:Invalid arguments:orders"
    assert len(sim.engine.open_orders(sim.kraken_account)) == 3

    cancel = await ws.request(
        "batch_cancel",
        {
            "orders": [first["order_id"], partial["result"][0]["order_id"], UNKNOWN_ID],
            "cl_ord_id": ["sell-1"],
            "token": token,
        },
    )
    assert cancel["result"] == {"count": 3}
    assert sim.engine.open_orders(sim.kraken_account) == []


async def test_amend_and_edit(ws: WsClient, token: str) -> None:
    await ws.request("subscribe", {"channel": "executions", "token": token, "snap_orders": False})
    order_id = await place(ws, token, cl_ord_id="amend-me")
    amend = await ws.request(
        "amend_order",
        {"cl_ord_id": "amend-me", "order_qty": 0.0005, "limit_price": 80100.5, "token": token},
    )
    assert amend["success"] is True and amend["result"]["cl_ord_id"] == "amend-me"
    assert KRAKEN_ID.fullmatch(amend["result"]["amend_id"])
    amended = await ws.execution("amended")
    assert amended["order_id"] == order_id and amended["amended"] is True
    assert amended["order_qty"] == Decimal("0.00050000")
    assert amended["limit_price"] == Decimal("80100.5")
    stringly = await ws.request(
        "amend_order",
        {"order_id": order_id, "order_qty": 0.0005, "limit_price": "1", "token": token},
    )
    assert stringly["error"] == "Limit_price field must be a number_float"

    edit = await ws.request(
        "edit_order",
        {"order_id": order_id, "symbol": "BTC/USD", "limit_price": 80000.0, "token": token},
    )
    assert edit["result"]["original_order_id"] == order_id
    assert edit["result"]["order_id"] != order_id
    assert (await ws.execution("canceled"))["order_id"] == order_id
    replacement = await ws.execution("pending_new", edit["result"]["order_id"])
    assert replacement["limit_price"] == Decimal("80000.0")
    missing = await ws.request(
        "amend_order", {"order_id": UNKNOWN_ID, "order_qty": 0.001, "token": token}
    )
    assert missing["error"] == "EOrder:Unknown order"


async def test_cancel_all_and_dead_mans_switch(sim: Simulator, ws: WsClient, token: str) -> None:
    await ws.request("subscribe", {"channel": "executions", "token": token})
    await place(ws, token)
    await place(ws, token)
    assert (await ws.request("cancel_all", {"token": token}))["result"] == {"count": 2}

    order_id = await place(ws, token)
    armed = await ws.request("cancel_all_orders_after", {"timeout": 1, "token": token})
    assert set(armed["result"]) == {"currentTime", "triggerTime"}
    assert RFC3339_S.fullmatch(armed["result"]["currentTime"])
    assert RFC3339_S.fullmatch(armed["result"]["triggerTime"])
    canceled = await ws.execution("canceled", order_id, timeout=3.0)
    assert canceled["reason"] == "Dead man's switch triggered"
    assert sim.engine.open_orders(sim.kraken_account) == []
    off = await ws.request("cancel_all_orders_after", {"timeout": 0, "token": token})
    assert off["result"]["triggerTime"] == "0"


async def test_fills_stream_trades_and_ledger_entries(
    sim: Simulator, ws: WsClient, token: str
) -> None:
    await ws.request("subscribe", {"channel": "executions", "token": token})
    await ws.request("subscribe", {"channel": "balances", "token": token})
    raw, snapshot = await ws.take(channel("balances", "snapshot"))
    assert '"asset":"USD","asset_class":"currency","balance":1000000.0000' in raw
    assert {b["asset"] for b in snapshot["data"]} == {"BTC", "ETH", "EUR", "USD"}
    order_id = await place(ws, token, order_qty=0.01, limit_price=99000.0)
    other = sim.engine.add_account("other", unlimited=True)
    sim.engine.place(other, "BTC/USD", "sell", 1_000_000, price=990_000)  # 0.01 @ 99000.0

    raw, message = await ws.take(
        lambda m: channel("executions", "update")(m) and m["data"][0]["exec_type"] == "trade"
    )
    trade = message["data"][0]
    assert trade["order_id"] == order_id and trade["liquidity_ind"] == "m"
    assert trade["order_status"] == "filled" and trade["trade_id"] == 1
    assert '"last_qty":0.01000000' in raw and '"last_price":99000.0' in raw
    assert '"cost":990.00000' in raw and '"fees":[{"asset":"USD","qty":2.47500}]' in raw
    filled = await ws.execution("filled")
    assert filled["avg_price"] == Decimal("99000.0") and filled["cum_qty"] == Decimal("0.01")

    entries = [(await ws.take(channel("balances", "update")))[1]["data"][0] for _ in range(2)]
    by_asset = {e["asset"]: e for e in entries}
    assert by_asset["BTC"]["amount"] == Decimal("0.01") and by_asset["BTC"]["fee"] == 0
    assert by_asset["USD"]["amount"] == Decimal("-990") and by_asset["USD"]["fee"] == Decimal(
        "2.475"
    )
    assert by_asset["USD"]["balance"] == Decimal("999007.525")
    assert by_asset["USD"]["ref_id"] == trade["exec_id"]


async def test_heartbeat_once_subscribed(ws: WsClient, token: str) -> None:
    await ws.request("subscribe", {"channel": "balances", "token": token, "snapshot": False})
    await ws.take(lambda m: m == {"channel": "heartbeat"}, timeout=2.5)


async def test_endpoints_keep_public_and_private_apart(
    sim: Simulator, ws: WsClient, token: str
) -> None:
    public = WsClient(await connect(sim.env["HFTPY_KRAKEN_WS_URL"]))
    await public.take(channel("status"))
    private_error = (
        "Private data and trading are unavailable on this endpoint. Try ws-auth.kraken.com"
    )
    assert (await public.request("add_order", order(token)))["error"] == private_error
    subscribe = await public.request("subscribe", {"channel": "executions", "token": token})
    assert subscribe["error"] == private_error
    book = await ws.request("subscribe", {"channel": "book", "symbol": ["BTC/USD"]})
    assert book["error"] == (
        "Public market data subscriptions are unavailable on this endpoint. Try ws.kraken.com"
    )
    await public.close()


async def test_trading_rate_counter(sim: Simulator, ws: WsClient, token: str) -> None:
    count = 190
    for req_id in range(1000, 1000 + count):
        await ws.send(
            {
                "method": "add_order",
                "params": order(token, order_qty=0.0001, limit_price=50000.0),
                "req_id": req_id,
            }
        )
    replies = [await ws.reply(req_id) for req_id in range(1000, 1000 + count)]
    accepted = sum(r["success"] for r in replies)
    limited = [r["error"] for r in replies if not r["success"]]
    assert 175 <= accepted <= 180
    assert set(limited) == {"EOrder:Rate limit exceeded"}
    assert len(sim.engine.open_orders(sim.kraken_account)) == accepted


async def test_gtd_order_expires(ws: WsClient, token: str) -> None:
    await ws.request("subscribe", {"channel": "executions", "token": token, "snap_orders": False})
    expire = datetime.now(UTC) + timedelta(seconds=0.3)
    order_id = await place(
        ws, token, time_in_force="gtd", expire_time=expire.isoformat().replace("+00:00", "Z")
    )
    expired = await ws.execution("expired", order_id)
    assert expired["order_status"] == "expired"
    past = await ws.request(
        "add_order", order(token, time_in_force="gtd", expire_time="2020-01-01T00:00:00Z")
    )
    assert past["error"] == "EGeneral:Invalid arguments:expire_time"


async def test_malformed_request(ws: WsClient) -> None:
    await ws.send("{not json")
    _, reply = await ws.take(lambda m: isinstance(m, dict) and "error" in m)
    assert reply["error"] == "Malformed request" and reply["success"] is False
    assert "method" not in reply
