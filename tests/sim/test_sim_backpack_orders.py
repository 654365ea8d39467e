"""Backpack order queries and history in the simulator, checked with a plain client
(`cryptography` Ed25519 signing, aiohttp, `websockets`): `GET /api/v1/order` (`orderQuery`),
`GET /api/v1/orders` (`orderQueryAll`), `GET /wapi/v1/history/orders`
(`orderHistoryQueryAll`), `GET /wapi/v1/history/fills` (`fillHistoryQueryAll`) and the fields
of `account.orderUpdate` events (reference A4, A5; Backpack API docs)."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
from websockets.asyncio.client import connect

from hftpy.sim import Simulator
from hftpy.sim.engine import Side, TimeInForce

from .helpers import WsClient
from .test_sim_backpack_private import ORDER, call, headers, stream, subscribe_frame

NAIVE_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$")
# The documented `account.orderUpdate` keys (reference A4), every one a single letter.
UPDATE_KEYS = frozenset("eEscSofqQpPBabjkdgYXRitlzZLmnNVTOIrHy")
ALWAYS = frozenset("eEsSofqXizZVTO")  # on every event the simulator sends
ON_FILL = frozenset("tlLmnN")  # on orderFill only
OPEN_ORDER_REQUIRED = {
    "orderType",
    "id",
    "createdAt",
    "executedQuantity",
    "executedQuoteQuantity",
    "timeInForce",
    "selfTradePrevention",
    "side",
    "status",
    "symbol",
}
HISTORY_KEYS = {
    "id",
    "createdAt",
    "executedQuantity",
    "executedQuoteQuantity",
    "expiryReason",
    "orderType",
    "postOnly",
    "price",
    "quantity",
    "quoteQuantity",
    "selfTradePrevention",
    "status",
    "side",
    "symbol",
    "timeInForce",
    "triggerPrice",
    "triggerQuantity",
    "clientId",
    "systemOrderType",
    "strategyId",
}
FILL_KEYS = {
    "clientId",
    "fee",
    "feeSymbol",
    "isMaker",
    "orderId",
    "price",
    "quantity",
    "side",
    "symbol",
    "systemOrderType",
    "timestamp",
    "tradeId",
}


async def get(
    sim: Simulator,
    path: str,
    instruction: str,
    params: dict[str, str] | None = None,
    **override: str,
) -> tuple[int, Any, dict[str, str]]:
    """A signed GET: the query's parameters are signed like a body's (reference A5)."""
    params = params or {}
    url = sim.env["HFTPY_BACKPACK_REST_URL"] + path
    if params:
        url += "?" + urlencode(params)
    hdrs = headers(sim, instruction, params, **override)
    async with aiohttp.ClientSession() as http, http.get(url, headers=hdrs) as resp:
        return resp.status, await resp.json(), dict(resp.headers)


async def place(sim: Simulator, **changes: Any) -> dict[str, Any]:
    """ORDER with `changes`; a change to None leaves the field out."""
    params = {k: v for k, v in (ORDER | changes).items() if v is not None}
    status, order = await call(sim, "POST", "/api/v1/order", "orderExecute", params)
    assert status == 200, order
    return order  # type: ignore[no-any-return]


def outside(sim: Simulator, side: Side, quantity: str, price: str, rest: bool = False) -> None:
    """Another trader's SOL_USDC order (2 price, 2 quantity decimals): IOC unless `rest`."""
    account = sim.engine.accounts.get("outside") or sim.engine.add_account(
        "outside", unlimited=True
    )
    lots, units = int(Decimal(quantity).scaleb(2)), int(Decimal(price).scaleb(2))
    tif: TimeInForce = "gtc" if rest else "ioc"
    sim.engine.place(account, "SOL_USDC", side, lots, price=units, time_in_force=tif)


def rest_outside(sim: Simulator, side: Side, quantity: str, price: str) -> None:
    outside(sim, side, quantity, price, rest=True)


async def test_get_open_order_by_order_id_or_client_id(sim: Simulator) -> None:
    order = await place(sim)
    query = {"symbol": "SOL_USDC", "orderId": order["id"]}
    status, found, _ = await get(sim, "/api/v1/order", "orderQuery", query)
    assert (status, found) == (200, order)
    status, found, _ = await get(
        sim, "/api/v1/order", "orderQuery", {"symbol": "SOL_USDC", "clientId": "77"}
    )
    assert status == 200 and found["id"] == order["id"] and found["clientId"] == 77
    assert set(found) >= OPEN_ORDER_REQUIRED and isinstance(found["createdAt"], int)
    # signed as another instruction: refused as a bad signature
    status, body, _ = await get(sim, "/api/v1/order", "orderQueryAll", query)
    assert (status, body["code"]) == (400, "INVALID_SIGNATURE")
    for bad in (query | {"clientId": "77"}, {"orderId": order["id"]}, {"symbol": "SOL_USDC"}):
        status, body, _ = await get(sim, "/api/v1/order", "orderQuery", bad)
        assert (status, body["code"]) == (400, "INVALID_CLIENT_REQUEST"), bad
    not_found = {"code": "RESOURCE_NOT_FOUND", "message": "Order not found"}
    status, body, _ = await get(sim, "/api/v1/order", "orderQuery", query | {"symbol": "BTC_USDC"})
    assert (status, body) == (404, not_found)
    await call(
        sim, "DELETE", "/api/v1/order", "orderCancel", {"symbol": "SOL_USDC", "clientId": 77}
    )
    status, body, _ = await get(sim, "/api/v1/order", "orderQuery", query)
    assert (status, body) == (404, not_found)  # only resting orders are found
    filled = await place(sim, clientId=78, postOnly=False)
    outside(sim, "sell", "2", "140")
    status, body, _ = await get(
        sim, "/api/v1/order", "orderQuery", query | {"orderId": filled["id"]}
    )
    assert (status, body) == (404, not_found)


async def test_open_orders_symbol_is_optional(sim: Simulator) -> None:
    sol = await place(sim)
    btc = await place(sim, symbol="BTC_USDC", price="90000.0", quantity="0.01", clientId=None)
    status, every, _ = await get(sim, "/api/v1/orders", "orderQueryAll")
    assert status == 200 and {o["id"] for o in every} == {sol["id"], btc["id"]}
    assert all(set(o) >= OPEN_ORDER_REQUIRED for o in every)
    status, only, _ = await get(sim, "/api/v1/orders", "orderQueryAll", {"symbol": "BTC_USDC"})
    assert status == 200 and [o["id"] for o in only] == [btc["id"]]
    assert only[0]["clientId"] is None and only[0]["price"] == "90000.0"
    status, spot, _ = await get(sim, "/api/v1/orders", "orderQueryAll", {"marketType": "SPOT"})
    assert status == 200 and len(spot) == 2
    status, perp, _ = await get(sim, "/api/v1/orders", "orderQueryAll", {"marketType": "PERP"})
    assert (status, perp) == (200, [])


async def test_order_history_has_finished_orders_and_pages(sim: Simulator) -> None:
    cancelled = await place(sim, clientId=1)
    await call(sim, "DELETE", "/api/v1/order", "orderCancel", {"symbol": "SOL_USDC", "clientId": 1})
    filled = await place(sim, clientId=2, postOnly=False, price="141.00", quantity="1")
    outside(sim, "sell", "1", "141")
    rest_outside(sim, "sell", "1", "150")
    ioc = await place(
        sim, clientId=3, postOnly=False, price="150.00", quantity="3", timeInForce="IOC"
    )
    market = await place(sim, clientId=4, postOnly=False, orderType="Market", price=None)
    resting = await place(sim, clientId=5)
    assert (ioc["status"], market["status"]) == ("Expired", "Expired")

    status, rows, hdrs = await get(sim, "/wapi/v1/history/orders", "orderHistoryQueryAll")
    assert status == 200 and hdrs["X-TOTAL"] == "5" and hdrs["X-PAGE-SIZE"] == "100"
    assert [r["clientId"] for r in rows] == [5, 4, 3, 2, 1]  # newest first
    assert all(set(r) == HISTORY_KEYS and NAIVE_UTC.match(r["createdAt"]) for r in rows)
    by_client = {r["clientId"]: r for r in rows}
    assert (by_client[1]["status"], by_client[1]["executedQuantity"]) == ("Cancelled", "0.00")
    assert (by_client[2]["status"], by_client[2]["executedQuoteQuantity"]) == ("Filled", "141")
    assert (by_client[3]["status"], by_client[3]["expiryReason"]) == (
        "Expired",
        "ImmediateOrCancel",
    )
    assert by_client[3]["executedQuantity"] == "1.00" and by_client[3]["timeInForce"] == "IOC"
    assert (by_client[4]["orderType"], by_client[4]["price"]) == ("Market", None)
    assert by_client[4]["expiryReason"] == "InsufficientLiquidity"
    assert (by_client[5]["status"], by_client[5]["expiryReason"]) == ("New", None)
    assert by_client[5]["id"] == resting["id"] and by_client[5]["postOnly"] is True

    page = {"limit": "2", "offset": "2", "sortDirection": "Asc"}
    status, rows, hdrs = await get(sim, "/wapi/v1/history/orders", "orderHistoryQueryAll", page)
    assert status == 200 and [r["clientId"] for r in rows] == [3, 4]
    assert (hdrs["X-PAGE-COUNT"], hdrs["X-CURRENT-PAGE"], hdrs["X-PAGE-SIZE"]) == ("3", "2", "2")
    assert "X-TOTAL" in hdrs["Access-Control-Expose-Headers"]
    status, rows, _ = await get(
        sim, "/wapi/v1/history/orders", "orderHistoryQueryAll", {"orderId": filled["id"]}
    )
    assert status == 200 and [r["id"] for r in rows] == [filled["id"]]
    status, rows, _ = await get(
        sim, "/wapi/v1/history/orders", "orderHistoryQueryAll", {"symbol": "BTC_USDC"}
    )
    assert (status, rows) == (200, [])
    _, rows, _ = await get(sim, "/wapi/v1/history/orders", "orderHistoryQueryAll")
    assert cancelled["id"] in {r["id"] for r in rows}
    for bad in ({"limit": "1001"}, {"offset": "-1"}, {"sortDirection": "Up"}):
        status, body, _ = await get(sim, "/wapi/v1/history/orders", "orderHistoryQueryAll", bad)
        assert (status, body["code"]) == (400, "INVALID_CLIENT_REQUEST"), bad


async def test_fill_history(sim: Simulator) -> None:
    maker = await place(sim, clientId=9, postOnly=False, price="141.00", quantity="2")
    outside(sim, "sell", "0.5", "141")
    outside(sim, "sell", "0.25", "141")
    rest_outside(sim, "sell", "1", "150")
    await place(sim, clientId=None, postOnly=False, price="150.00", quantity="1", timeInForce="IOC")
    status, fills, hdrs = await get(sim, "/wapi/v1/history/fills", "fillHistoryQueryAll")
    assert status == 200 and hdrs["X-TOTAL"] == "3"
    assert all(set(f) == FILL_KEYS and NAIVE_UTC.match(f["timestamp"]) for f in fills)
    taker, second, first = fills  # newest first
    assert (first["orderId"], first["clientId"], first["quantity"]) == (maker["id"], "9", "0.50")
    assert (first["price"], first["side"], first["isMaker"]) == ("141.00", "Bid", True)
    assert (second["quantity"], second["feeSymbol"], second["fee"]) == ("0.25", "USDC", "0")
    assert isinstance(first["tradeId"], int) and second["tradeId"] > first["tradeId"]
    assert (taker["clientId"], taker["isMaker"], taker["price"]) == (None, False, "150.00")
    status, mine, _ = await get(
        sim, "/wapi/v1/history/fills", "fillHistoryQueryAll", {"orderId": maker["id"]}
    )
    assert [f["quantity"] for f in mine] == ["0.25", "0.50"]
    status, asc, _ = await get(
        sim, "/wapi/v1/history/fills", "fillHistoryQueryAll", {"sortDirection": "Asc", "limit": "1"}
    )
    assert [f["tradeId"] for f in asc] == [first["tradeId"]]
    status, none, _ = await get(
        sim, "/wapi/v1/history/fills", "fillHistoryQueryAll", {"to": "1000", "symbol": "SOL_USDC"}
    )
    assert (status, none) == (200, [])


async def test_order_update_events_carry_the_documented_fields(sim: Simulator) -> None:
    client = WsClient(await connect(sim.env["HFTPY_BACKPACK_WS_URL"]))
    await client.send(subscribe_frame(sim, ["account.orderUpdate"]))
    await asyncio.sleep(0.05)  # no ack is documented

    async def next_update() -> dict[str, Any]:
        _, message = await client.take(stream("account.orderUpdate"))
        data: dict[str, Any] = message["data"]
        assert set(data) <= UPDATE_KEYS and set(data) >= ALWAYS, data
        assert isinstance(data["E"], int) and isinstance(data["T"], int)
        return data

    maker = await place(sim)  # post-only limit bid 2 @ 140, clientId 77
    accepted = await next_update()
    assert (accepted["e"], accepted["X"], accepted["i"], accepted["c"]) == (
        "orderAccepted",
        "New",
        maker["id"],
        77,
    )
    assert (accepted["o"], accepted["f"], accepted["p"], accepted["q"]) == (
        "LIMIT",
        "GTC",
        "140.00",
        "2.00",
    )
    assert accepted["y"] is True and accepted["O"] == "USER" and not ON_FILL & set(accepted)
    outside(sim, "sell", "0.5", "140")
    fill = await next_update()
    assert (fill["e"], fill["X"], fill["l"], fill["L"], fill["z"]) == (
        "orderFill",
        "PartiallyFilled",
        "0.50",
        "140.00",
        "0.50",
    )
    assert fill["m"] is True and fill["N"] == "USDC" and isinstance(fill["t"], int)
    assert fill["Z"] == "70" and set(fill) >= ON_FILL
    await call(
        sim,
        "DELETE",
        "/api/v1/order",
        "orderCancel",
        {"symbol": "SOL_USDC", "orderId": maker["id"]},
    )
    cancelled = await next_update()
    assert (cancelled["e"], cancelled["X"], cancelled["z"]) == (
        "orderCancelled",
        "Cancelled",
        "0.50",
    )
    assert "R" not in cancelled

    rest_outside(sim, "sell", "1", "150")
    ioc = await place(
        sim, clientId=None, postOnly=False, price="150.00", quantity="3", timeInForce="IOC"
    )
    kinds = [(u["e"], u["X"]) for u in [await next_update() for _ in range(3)]]
    assert kinds == [
        ("orderAccepted", "New"),
        ("orderFill", "PartiallyFilled"),
        ("orderExpired", "Expired"),
    ]
    _, history, _ = await get(
        sim, "/wapi/v1/history/orders", "orderHistoryQueryAll", {"orderId": ioc["id"]}
    )
    assert history[0]["status"] == "Expired"

    rest_outside(sim, "sell", "5", "150")
    fok = await place(
        sim, clientId=5, postOnly=False, price="150.00", quantity="2", timeInForce="FOK"
    )
    updates = [await next_update() for _ in range(2)]
    assert [(u["e"], u["f"], u["i"]) for u in updates] == [
        ("orderAccepted", "FOK", fok["id"]),
        ("orderFill", "FOK", fok["id"]),
    ]
    assert updates[1]["X"] == "Filled" and fok["timeInForce"] == "FOK"
    outside(sim, "buy", "3", "150")  # take what is left of the ask
    rest_outside(sim, "sell", "1", "150")
    await place(sim, clientId=6, postOnly=False, price="150.00", quantity="3", timeInForce="IOC")
    await place(sim, clientId=7, postOnly=False, orderType="Market", price=None, quantity="1")
    expired = [u for u in [await next_update() for _ in range(5)] if u["e"] == "orderExpired"]
    assert [(u["c"], u["R"]) for u in expired] == [
        (6, "ImmediateOrCancel"),
        (7, "InsufficientLiquidity"),
    ]
    await client.close()
