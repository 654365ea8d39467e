"""Binance WS API order queries and in-place amends on the simulator, over real loopback sockets:
`order.amend.keepPriority`, `openOrders.status`, and `order.status` of orders already final.
Written from Binance's web-socket-api / errors.md pages, signed with the standard library."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from hftpy.sim import Simulator

from .helpers import WsClient
from .test_sim_binance_api import Client, error, order

AMENDED_ORDER_KEYS = {
    "symbol",
    "orderId",
    "orderListId",
    "origClientOrderId",
    "clientOrderId",
    "price",
    "qty",
    "executedQty",
    "preventedQty",
    "quoteOrderQty",
    "cumulativeQuoteQty",
    "status",
    "timeInForce",
    "type",
    "side",
    "workingTime",
    "selfTradePreventionMode",
}
STATUS_KEYS = {
    "symbol",
    "orderId",
    "orderListId",
    "clientOrderId",
    "price",
    "origQty",
    "executedQty",
    "origQuoteOrderQty",
    "cummulativeQuoteQty",
    "status",
    "timeInForce",
    "type",
    "side",
    "stopPrice",
    "icebergQty",
    "time",
    "updateTime",
    "isWorking",
    "workingTime",
    "selfTradePreventionMode",
}
PRICE = 9_000_000  # 90000.00 in BTCUSDT ticks (2 decimals)


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[Client]:
    ws = WsClient(await connect(sim.env["HFTPY_BINANCE_WS_API_URL"]))
    yield Client(ws, sim.env["HFTPY_BINANCE_API_KEY"], sim.env["HFTPY_BINANCE_API_SECRET"])
    with contextlib.suppress(ConnectionClosed):
        await ws.close()


async def place(client: Client, **overrides: Any) -> dict[str, Any]:
    reply = await client.call("order.place", order(**overrides), sign=True)
    assert reply["status"] == 200, reply
    result: dict[str, Any] = reply["result"]
    return result


async def amend(client: Client, **params: Any) -> dict[str, Any]:
    return await client.call("order.amend.keepPriority", {"symbol": "BTCUSDT", **params}, sign=True)


async def status(client: Client, **params: Any) -> dict[str, Any]:
    return await client.call("order.status", {"symbol": "BTCUSDT", **params}, sign=True)


def weight(reply: dict[str, Any]) -> int:
    counts = [r["count"] for r in reply["rateLimits"] if r["rateLimitType"] == "REQUEST_WEIGHT"]
    assert len(counts) == 1
    return counts[0]


def charged(before: dict[str, Any], after: dict[str, Any]) -> int:
    """Weight `after` cost, whether or not a new minute window began in between."""
    used = weight(after) - weight(before)
    return used if used >= 0 else weight(after)


async def report(client: Client, exec_type: str) -> dict[str, Any]:
    while True:
        event = await client.event("executionReport")
        if event["x"] == exec_type:
            return event


async def test_amend_keep_priority_reduces_in_place_and_keeps_the_queue(
    sim: Simulator, client: Client
) -> None:
    assert (await client.call("userDataStream.subscribe.signature", {}, sign=True))["status"] == 200
    first = await place(client, quantity="0.00200", newClientOrderId="amend-a")
    second = await place(client, quantity="0.00100", newClientOrderId="amend-b")
    before = await client.call("ping")
    reply = await amend(
        client, orderId=first["orderId"], newQty="0.00100", newClientOrderId="amend-a2"
    )
    assert reply["status"] == 200, reply
    assert charged(before, reply) == 4  # weight 4, not refunded on success
    assert [r["rateLimitType"] for r in reply["rateLimits"]] == ["REQUEST_WEIGHT"]  # 0 ORDERS
    result = reply["result"]
    assert set(result) == {"transactTime", "executionId", "amendedOrder"}
    amended = result["amendedOrder"]
    assert set(amended) == AMENDED_ORDER_KEYS
    assert amended["orderId"] == first["orderId"] and amended["orderListId"] == -1
    assert amended["origClientOrderId"] == "amend-a" and amended["clientOrderId"] == "amend-a2"
    assert amended["qty"] == "0.00100000" and amended["executedQty"] == "0.00000000"
    assert amended["price"] == "90000.00000000" and amended["status"] == "NEW"
    assert amended["cumulativeQuoteQty"] == "0.00000000" and amended["preventedQty"] == "0.00000000"
    assert (amended["type"], amended["side"], amended["timeInForce"]) == ("LIMIT", "BUY", "GTC")
    assert amended["workingTime"] == first["workingTime"]

    replaced = await report(client, "REPLACED")
    assert replaced["i"] == first["orderId"] and replaced["X"] == "NEW"
    assert replaced["q"] == "0.00100000" and replaced["z"] == "0.00000000"
    assert replaced["c"] == "amend-a2" and replaced["C"] == "amend-a"
    assert replaced["I"] == result["executionId"] and replaced["w"] is True

    # In the engine: the same order, first in its level, the level 0.001 smaller.
    level = sim.engine.book("BTCUSDT").bids.levels[PRICE]
    resting = list(level.orders.values())
    assert [o.qty for o in resting] == [100, 100] and level.qty == 200
    assert resting[0] is sim.engine.find_by_cl_ord_id(sim.binance.demo_account, "amend-a2")
    usdt = sim.binance.demo_account.balance("USDT")
    assert usdt.held == 2 * 90_090_000_000_000_000_000  # 90 USDT + 0.1 % each, not 180 + fee

    # A seller takes the amended order first, by time priority, and only 0.001 of it.
    other = sim.engine.add_account("binance-other", unlimited=True)
    sim.engine.place(other, "BTCUSDT", "sell", 100, price=PRICE)
    fill = await report(client, "TRADE")
    assert fill["i"] == first["orderId"] and fill["X"] == "FILLED" and fill["l"] == "0.00100000"
    by_new_id = await status(client, origClientOrderId="amend-a2")
    assert by_new_id["result"]["status"] == "FILLED"
    assert by_new_id["result"]["origQty"] == "0.00100000"
    assert (await status(client, orderId=second["orderId"]))["result"]["status"] == "NEW"
    # The old client id was freed: a new order may take it.
    assert (await place(client, newClientOrderId="amend-a"))["clientOrderId"] == "amend-a"


async def test_amend_keep_priority_refusals(client: Client) -> None:
    placed = await place(client, quantity="0.00200", newClientOrderId="keep-1")
    await place(client, newClientOrderId="keep-2")
    order_id = placed["orderId"]
    for params, expected in (
        ({"orderId": order_id}, (400, -1102, "Mandatory parameter 'newQty' was not sent, "
                                 "was empty/null, or malformed.")),
        ({"newQty": "0.00100"}, (400, -1102, "Param 'origClientOrderId' or 'orderId' must be "
                                  "sent, but both were empty/null!")),
        ({"orderId": 1, "newQty": "0.00100"}, (400, -2038, "Unknown order sent.")),
        ({"orderId": order_id, "newQty": "0.00300"},
         (400, -2038, "Order amend (quantity increase) is not supported.")),
        ({"orderId": order_id, "newQty": "0.00200"},
         (400, -2038, "The requested action would change no state; rejecting.")),
        ({"orderId": order_id, "newQty": "0"}, (400, -1013, "Filter failure: LOT_SIZE")),
        ({"orderId": order_id, "newQty": "0.000015"}, (400, -1013, "Filter failure: LOT_SIZE")),
        ({"orderId": order_id, "newQty": "0.00100", "newClientOrderId": "keep-2"},
         (400, -2038, "Duplicate order sent.")),
        ({"orderId": order_id, "newQty": "0.00100", "newClientOrderId": "bad id!"},
         (400, -1100, "Illegal characters found in parameter 'newClientOrderId'; legal range "
                      "is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")),
        ({"symbol": "BTCEUR", "orderId": order_id, "newQty": "0.001"},
         (400, -1121, "Invalid symbol.")),
    ):  # fmt: skip
        reply = await amend(client, **params)
        assert error(reply) == expected, (params, reply)
    before = await client.call("ping")
    failed = await amend(client, orderId=order_id, newQty="0.00300")
    assert charged(before, failed) == 4  # a refused amend is charged its weight too
    # Keeping the current client id is allowed; the order is unchanged by all of the above.
    kept = await amend(
        client, origClientOrderId="keep-1", newQty="0.00150", newClientOrderId="keep-1"
    )
    assert kept["result"]["amendedOrder"]["clientOrderId"] == "keep-1"
    assert kept["result"]["amendedOrder"]["qty"] == "0.00150000"
    cancel = await client.call(
        "order.cancel", {"symbol": "BTCUSDT", "orderId": order_id}, sign=True
    )
    assert cancel["status"] == 200
    closed = await amend(client, orderId=order_id, newQty="0.00100")
    assert error(closed) == (400, -2038, "Unknown order sent.")


async def test_amend_of_a_partly_filled_order(sim: Simulator, client: Client) -> None:
    """The new quantity counts what is executed: above it the order stays PARTIALLY_FILLED;
    at it (or below) the remainder is cancelled."""
    assert (await client.call("userDataStream.subscribe.signature", {}, sign=True))["status"] == 200
    placed = await place(client, quantity="0.00400")
    other = sim.engine.add_account("binance-other", unlimited=True)
    sim.engine.place(other, "BTCUSDT", "sell", 100, price=PRICE)  # 0.001 of 0.004
    assert (await report(client, "TRADE"))["X"] == "PARTIALLY_FILLED"
    reply = await amend(client, orderId=placed["orderId"], newQty="0.00300")
    amended = reply["result"]["amendedOrder"]
    assert amended["status"] == "PARTIALLY_FILLED" and amended["qty"] == "0.00300000"
    assert amended["executedQty"] == "0.00100000" and amended["cumulativeQuoteQty"] == "90.00000000"
    replaced = await report(client, "REPLACED")
    assert replaced["X"] == "PARTIALLY_FILLED" and replaced["q"] == "0.00300000"
    assert replaced["z"] == "0.00100000"
    assert sim.engine.book("BTCUSDT").bids.levels[PRICE].qty == 200  # 0.002 left to fill

    ended = await amend(client, orderId=placed["orderId"], newQty="0.00100", newClientOrderId="end")
    assert ended["status"] == 200, ended
    assert ended["result"]["amendedOrder"]["status"] == "CANCELED"
    assert ended["result"]["amendedOrder"]["executedQty"] == "0.00100000"
    cancelled = await report(client, "CANCELED")
    assert cancelled["X"] == "CANCELED" and cancelled["c"] == "end"
    assert cancelled["I"] == ended["result"]["executionId"]
    assert PRICE not in sim.engine.book("BTCUSDT").bids.levels
    final = (await status(client, orderId=placed["orderId"]))["result"]
    assert final["status"] == "CANCELED" and final["executedQty"] == "0.00100000"


async def test_open_orders_status(client: Client) -> None:
    assert (await client.call("openOrders.status", {}, sign=True))["result"] == []
    btc = await place(client, newClientOrderId="open-btc")
    eth = await place(client, symbol="ETHUSDT", price="3000.00", quantity="0.0100")
    gone = await place(client, price="89000.00")
    await client.call("order.cancel", {"symbol": "BTCUSDT", "orderId": gone["orderId"]}, sign=True)

    before = await client.call("ping")
    one = await client.call("openOrders.status", {"symbol": "BTCUSDT"}, sign=True)
    assert one["status"] == 200 and charged(before, one) == 6
    assert [o["orderId"] for o in one["result"]] == [btc["orderId"]]
    entry = one["result"][0]
    assert set(entry) == STATUS_KEYS
    assert entry["clientOrderId"] == "open-btc" and entry["status"] == "NEW"
    assert entry["origQty"] == "0.00100000" and entry["isWorking"] is True
    single = await status(client, orderId=btc["orderId"])
    assert entry == single["result"]  # the same report as order.status

    before = await client.call("ping")
    every = await client.call("openOrders.status", {}, sign=True)
    assert charged(before, every) == 80
    assert [(o["symbol"], o["orderId"]) for o in every["result"]] == [
        ("BTCUSDT", btc["orderId"]),
        ("ETHUSDT", eth["orderId"]),
    ]
    assert error(await client.call("openOrders.status", {"symbol": "DOGEUSDT"}, sign=True)) == (
        400,
        -1121,
        "Invalid symbol.",
    )
    assert error(await client.call("openOrders.status", {}))[:2] == (400, -1102)  # not signed


async def test_order_status_of_final_orders(sim: Simulator, client: Client) -> None:
    """FILLED, CANCELED and EXPIRED orders answer with their final state, not -2013."""
    resting = await place(client, side="SELL", price="100500.00", quantity="0.00100")
    market = await place(
        client, type="MARKET", timeInForce=None, price=None, newClientOrderId="mkt"
    )
    cancelled = await place(client, price="80000.00", newClientOrderId="gone")
    await client.call("order.cancel", {"symbol": "BTCUSDT", "origClientOrderId": "gone"}, sign=True)
    ioc = await place(client, price="80000.00", timeInForce="IOC")

    filled = (await status(client, origClientOrderId="mkt"))["result"]
    assert set(filled) == STATUS_KEYS and filled["orderId"] == market["orderId"]
    assert filled["status"] == "FILLED" and filled["executedQty"] == "0.00100000"
    assert filled["cummulativeQuoteQty"] == "100.50000000" and filled["type"] == "MARKET"
    maker = (await status(client, orderId=resting["orderId"]))["result"]
    assert maker["status"] == "FILLED" and maker["isWorking"] is True
    assert maker["updateTime"] >= maker["time"]
    by_id = (await status(client, orderId=cancelled["orderId"]))["result"]
    by_client = (await status(client, origClientOrderId="gone"))["result"]
    assert by_id["status"] == by_client["status"] == "CANCELED"
    assert by_id["orderId"] == by_client["orderId"] and by_id["executedQty"] == "0.00000000"
    expired = (await status(client, orderId=ioc["orderId"]))["result"]
    assert expired["status"] == "EXPIRED" and expired["timeInForce"] == "IOC"
    assert error(await status(client, orderId=123)) == (400, -2013, "Order does not exist.")
    assert error(await status(client, origClientOrderId="never"))[1] == -2013
    # Closed orders are not open ones.
    assert (await client.call("openOrders.status", {}, sign=True))["result"] == []
    assert sim.engine.open_orders(sim.binance.demo_account) == []
