"""Kraken order state on the simulator over real sockets: REST `OpenOrders` / `QueryOrders`
(signed with the standard library, shapes from Kraken's REST reference), the WS v2
`executions` snapshot, and `amend_order` of the price or of the quantity alone."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import aiohttp
from websockets.asyncio.client import connect

from hftpy.sim import Simulator

from .helpers import WsClient, _nonces, channel, get_token, kraken_sign

OPEN_ORDERS = "/0/private/OpenOrders"
QUERY_ORDERS = "/0/private/QueryOrders"
EPOCH_4 = re.compile(r"\d{10}\.\d{4}")
BTC = 10**8  # lots per BTC (8 decimals)
TICK = 10  # ticks per USD on BTC/USD (1 decimal)


async def rest(
    sim: Simulator, path: str, params: dict[str, Any] | None = None, *, as_json: bool = False
) -> tuple[str, dict[str, Any]]:
    """POST a signed private call; (raw body, parsed body)."""
    env = sim.env
    nonce = str(next(_nonces))
    fields = {"nonce": nonce, **(params or {})}
    if as_json:
        body = json.dumps(fields, separators=(",", ":")).encode()
        content_type = "application/json"
    else:
        body = "&".join(f"{k}={v}" for k, v in fields.items()).encode()
        content_type = "application/x-www-form-urlencoded; charset=utf-8"
    headers = {
        "API-Key": env["HFTPY_KRAKEN_API_KEY"],
        "API-Sign": kraken_sign(env["HFTPY_KRAKEN_API_SECRET"], path, nonce, body),
        "Content-Type": content_type,
    }
    async with (
        aiohttp.ClientSession() as http,
        http.post(env["HFTPY_KRAKEN_REST_URL"] + path, data=body, headers=headers) as resp,
    ):
        assert resp.status == 200
        raw = await resp.text()
    parsed: dict[str, Any] = json.loads(raw)
    return raw, parsed


async def add(ws: WsClient, token: str, **params: Any) -> str:
    message = {
        "order_type": "limit",
        "side": "buy",
        "order_qty": 0.002,
        "symbol": "BTC/USD",
        "limit_price": 99000.0,
        "token": token,
        **params,
    }
    reply = await ws.request("add_order", message)
    assert reply["success"], reply
    order_id: str = reply["result"]["order_id"]
    return order_id


def sell_into(sim: Simulator, lots: int, price_usd: int) -> None:
    """Another account's sell at `price_usd`, filling the demo account's bids."""
    other = sim.engine.accounts.get("kraken-other") or sim.engine.add_account(
        "kraken-other", unlimited=True
    )
    sim.engine.place(other, "BTC/USD", "sell", lots, price=price_usd * TICK)


async def test_open_orders_shape_filters_and_trades(
    sim: Simulator, ws: WsClient, token: str
) -> None:
    await ws.request("subscribe", {"channel": "executions", "token": token, "snap_orders": False})
    older = await add(ws, token, cl_ord_id="rest-open-1")
    newer = await add(ws, token, limit_price=98000.0, order_userref=42, post_only=True)
    sell_into(sim, BTC // 1000, 99000)  # 0.001 of the older order's 0.002
    trade = await ws.execution("trade", older)

    raw, reply = await rest(sim, OPEN_ORDERS, {"trades": "true"})
    assert reply["error"] == []
    assert list(reply["result"]) == ["open"]
    opened = reply["result"]["open"]
    assert list(opened) == [newer, older]  # newest first, as in Kraken's example
    partly = opened[older]
    assert list(partly) == [
        "refid",
        "userref",
        "cl_ord_id",
        "status",
        "opentm",
        "starttm",
        "expiretm",
        "descr",
        "vol",
        "vol_exec",
        "cost",
        "fee",
        "price",
        "stopprice",
        "limitprice",
        "misc",
        "oflags",
        "trades",
    ]
    assert partly["refid"] is None and partly["userref"] == 0
    assert partly["cl_ord_id"] == "rest-open-1" and partly["status"] == "open"
    assert partly["descr"] == {
        "pair": "XBTUSD",
        "type": "buy",
        "ordertype": "limit",
        "price": "99000.0",
        "price2": "0",
        "leverage": "none",
        "order": "buy 0.00200000 XBTUSD @ limit 99000.0",
        "close": "",
    }
    assert (partly["vol"], partly["vol_exec"]) == ("0.00200000", "0.00100000")
    assert (partly["cost"], partly["fee"], partly["price"]) == ("99.00000", "0.24750", "99000.0")
    assert partly["trades"] == [trade["exec_id"]]
    assert partly["starttm"] == 0 and partly["expiretm"] == 0 and partly["oflags"] == "fciq"
    # Numbers are strings, times are epoch seconds as JSON numbers.
    assert '"vol":"0.00200000"' in raw and '"cost":"99.00000"' in raw
    assert EPOCH_4.search(raw) and isinstance(partly["opentm"], float)
    fresh = opened[newer]
    assert fresh["userref"] == 42 and "cl_ord_id" not in fresh and "trades" not in fresh
    assert fresh["vol_exec"] == "0.00000000" and fresh["price"] == "0.00000"
    assert fresh["oflags"] == "fciq,post" and "reason" not in fresh and "closetm" not in fresh

    _, no_trades = await rest(sim, OPEN_ORDERS)
    assert "trades" not in no_trades["result"]["open"][older]
    _, by_userref = await rest(sim, OPEN_ORDERS, {"userref": 42})
    assert list(by_userref["result"]["open"]) == [newer]
    _, by_client = await rest(sim, OPEN_ORDERS, {"cl_ord_id": "rest-open-1"}, as_json=True)
    assert list(by_client["result"]["open"]) == [older]
    _, nothing = await rest(sim, OPEN_ORDERS, {"userref": 7})
    assert nothing == {"error": [], "result": {"open": {}}}
    _, bad = await rest(sim, OPEN_ORDERS, {"userref": "x"})
    assert bad == {"error": ["EGeneral:Invalid arguments:userref"]}


async def test_query_orders_open_closed_and_canceled(
    sim: Simulator, ws: WsClient, token: str
) -> None:
    await ws.request("subscribe", {"channel": "executions", "token": token, "snap_orders": False})
    filled = await add(ws, token, order_qty=0.001, order_userref=5)
    canceled = await add(ws, token, limit_price=90000.0, order_userref=5)
    resting = await add(ws, token, limit_price=95000.0)
    sell_into(sim, BTC // 1000, 99000)
    await ws.execution("filled", filled)
    assert (await ws.request("cancel_order", {"order_id": [canceled], "token": token}))["success"]
    await ws.execution("canceled", canceled)

    txids = f"{filled}, {canceled},{resting}"  # Kraken's own example puts a space after commas
    _, reply = await rest(sim, QUERY_ORDERS, {"txid": txids, "trades": "True"})
    assert reply["error"] == []
    result = reply["result"]
    assert list(result) == [filled, canceled, resting]
    done = result[filled]
    assert done["status"] == "closed" and done["reason"] is None
    assert done["vol_exec"] == "0.00100000" and done["price"] == "99000.0"
    assert done["closetm"] >= done["opentm"] and len(done["trades"]) == 1
    assert done["descr"]["order"] == "buy 0.00100000 XBTUSD @ limit 99000.0"
    gone = result[canceled]
    assert gone["status"] == "canceled" and gone["reason"] == "User requested"
    assert gone["vol_exec"] == "0.00000000" and "trades" not in gone
    assert list(gone)[:6] == ["refid", "userref", "status", "reason", "opentm", "closetm"]
    assert result[resting]["status"] == "open" and "closetm" not in result[resting]

    _, tagged = await rest(sim, QUERY_ORDERS, {"txid": txids, "userref": 5}, as_json=True)
    assert list(tagged["result"]) == [filled, canceled]
    _, unknown = await rest(sim, QUERY_ORDERS, {"txid": f"{resting},OAAAAA-AAAAA-AAAAAA"})
    assert unknown == {"error": ["EOrder:Invalid order"]}
    _, missing = await rest(sim, QUERY_ORDERS)
    assert missing == {"error": ["EGeneral:Invalid arguments:txid"]}
    too_many = ",".join([resting] * 51)
    _, refused = await rest(sim, QUERY_ORDERS, {"txid": too_many})
    assert refused == {"error": ["EGeneral:Invalid arguments:txid"]}


async def test_order_queries_check_key_signature_and_nonce(sim: Simulator) -> None:
    env = sim.env
    url = env["HFTPY_KRAKEN_REST_URL"]
    secret = env["HFTPY_KRAKEN_API_SECRET"]

    async def post(path: str, api_key: str, signature: str, body: bytes) -> dict[str, Any]:
        headers = {"API-Key": api_key, "API-Sign": signature}
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        async with (
            aiohttp.ClientSession() as http,
            http.post(url + path, data=body, headers=headers) as resp,
        ):
            parsed: dict[str, Any] = await resp.json()
            return parsed

    for path in (OPEN_ORDERS, QUERY_ORDERS):
        nonce = str(next(_nonces))
        body = f"nonce={nonce}&txid=OAAAAA-AAAAA-AAAAAA".encode()
        good = kraken_sign(secret, path, nonce, body)
        key = env["HFTPY_KRAKEN_API_KEY"]
        assert await post(path, "no-such-key", good, body) == {"error": ["EAPI:Invalid key"]}
        other_path = kraken_sign(secret, "/0/private/GetWebSocketsToken", nonce, body)
        assert await post(path, key, other_path, body) == {"error": ["EAPI:Invalid signature"]}
        accepted = await post(path, key, good, body)
        assert accepted["error"] in ([], ["EOrder:Invalid order"])  # past the auth checks
        assert await post(path, key, good, body) == {"error": ["EAPI:Invalid nonce"]}


async def test_executions_snapshot_lists_open_orders_and_recent_fills(
    sim: Simulator, ws: WsClient, token: str
) -> None:
    await ws.request("subscribe", {"channel": "executions", "token": token, "snap_orders": False})
    order_id = await add(ws, token, order_qty=0.003, cl_ord_id="snap-me")
    amend = {"order_id": order_id, "order_qty": 0.004, "limit_price": 99000.0, "token": token}
    assert (await ws.request("amend_order", amend))["success"]
    sell_into(sim, BTC // 1000, 99000)  # 0.001 of 0.004
    first_fill = await ws.execution("trade", order_id)

    async def snapshot(**flags: bool) -> tuple[str, list[dict[str, Any]]]:
        client = WsClient(await connect(sim.env["HFTPY_KRAKEN_WS_AUTH_URL"]))
        await client.take(channel("status"))
        ack = await client.request(
            "subscribe", {"channel": "executions", "token": await get_token(sim), **flags}
        )
        assert ack["success"], ack
        raw, message = await client.take(channel("executions", "snapshot"))
        await client.close()
        items: list[dict[str, Any]] = message["data"]
        return raw, items

    raw, items = await snapshot(snap_orders=True, snap_trades=True)
    orders = [i for i in items if i["exec_type"] != "trade"]
    trades = [i for i in items if i["exec_type"] == "trade"]
    assert [o["order_id"] for o in orders] == [order_id]
    snap = orders[0]
    assert snap["order_status"] == "partially_filled" and snap["cl_ord_id"] == "snap-me"
    assert snap["order_qty"] == Decimal("0.004") and snap["cum_qty"] == Decimal("0.001")
    assert snap["limit_price"] == Decimal("99000.0") and snap["symbol"] == "BTC/USD"
    assert '"order_qty":0.00400000' in raw and '"cum_qty":0.00100000' in raw
    assert [t["exec_id"] for t in trades] == [first_fill["exec_id"]]
    assert trades[0]["last_qty"] == Decimal("0.001") and trades[0]["order_id"] == order_id

    sell_into(sim, 3 * BTC // 1000, 99000)  # the other 0.003: the order is filled
    await ws.execution("filled", order_id)
    _, items = await snapshot(snap_orders=False, snap_trades=True)
    # Each fill as it was then: the first left the order partly filled, the second filled it.
    assert [(t["exec_type"], t["order_status"]) for t in items] == [
        ("trade", "partially_filled"),
        ("trade", "filled"),
    ]
    assert [t["cum_qty"] for t in items] == [Decimal("0.001"), Decimal("0.004")]
    _, only_orders = await snapshot()  # the defaults: open orders, no trades
    assert only_orders == []


async def test_amend_order_price_alone_or_quantity_alone(
    sim: Simulator, ws: WsClient, token: str
) -> None:
    await ws.request("subscribe", {"channel": "executions", "token": token, "snap_orders": False})
    first = await add(ws, token, order_qty=0.002, limit_price=97000.0)
    second = await add(ws, token, order_qty=0.002, limit_price=97000.0)
    level = sim.engine.book("BTC/USD").bids.levels[97000 * TICK]

    # Quantity alone (no limit_price): smaller, and still first in its level.
    by_qty = {"order_id": first, "order_qty": 0.001, "token": token}
    assert (await ws.request("amend_order", by_qty))["success"]
    amended = await ws.execution("amended", first)
    assert amended["order_qty"] == Decimal("0.001") and amended["limit_price"] == Decimal("97000.0")
    assert [o.order_id for o in level.orders.values()] == [first, second]
    assert level.qty == 3 * BTC // 1000

    # The price alone, with order_qty restated (the docs mark order_qty required).
    missing = await ws.request(
        "amend_order", {"order_id": second, "limit_price": 97100.0, "token": token}
    )
    assert missing["success"] is False
    assert missing["error"] == "EGeneral:Invalid arguments:order_qty"
    by_price = {"order_id": second, "order_qty": 0.002, "limit_price": 97100.0, "token": token}
    reply = await ws.request("amend_order", by_price)
    assert reply["success"] and reply["result"]["order_id"] == second
    moved = await ws.execution("amended", second)
    assert moved["limit_price"] == Decimal("97100.0") and moved["order_qty"] == Decimal("0.002")
    book = sim.engine.book("BTC/USD").bids
    assert [o.order_id for o in book.levels[97100 * TICK].orders.values()] == [second]
    assert [o.order_id for o in level.orders.values()] == [first]
    _, queried = await rest(sim, QUERY_ORDERS, {"txid": f"{first},{second}"})
    assert queried["result"][second]["descr"]["price"] == "97100.0"
    assert queried["result"][second]["misc"] == "amended"
    assert queried["result"][first]["vol"] == "0.00100000"
