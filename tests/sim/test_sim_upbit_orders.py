"""Upbit order management in the simulator, checked with a plain client (stdlib JWT, aiohttp,
`websockets`): cancel-and-new, bulk cancel, open orders, finished orders and the
`Remaining-Req` budgets (Upbit docs: 취소 후 재주문, 주문 일괄 취소 접수, 체결 대기 주문 목록 조회,
요청 수 제한; reference B4-B6)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
from websockets.asyncio.client import connect

from hftpy.sim import Simulator

from .test_sim_upbit_private import demo_jwt, jwt

Params = dict[str, str] | list[tuple[str, str]]
REMAINING = re.compile(r"^group=([a-z-]+); min=1800; sec=(\d+)$")
BID = {"market": "KRW-BTC", "side": "bid", "volume": "0.01", "price": "100000000"}
CANCEL_AND_NEW_KEYS = {
    "uuid",
    "side",
    "ord_type",
    "price",
    "state",
    "market",
    "created_at",
    "volume",
    "remaining_volume",
    "executed_volume",
    "reserved_fee",
    "remaining_fee",
    "paid_fee",
    "locked",
    "prevented_volume",
    "prevented_locked",
    "smp_type",
    "trades_count",
    "time_in_force",
    "new_order_uuid",
    "new_order_identifier",
}


def hashed(params: Params) -> str:
    """The unencoded `k=v&...` text Upbit hashes, in the order sent (reference B6)."""
    items = params.items() if isinstance(params, dict) else params
    return "&".join(f"{k}={v}" for k, v in items)


class Client:
    """One account's signed REST calls; every reply keeps its `Remaining-Req` header."""

    def __init__(self, sim: Simulator, access: str | None = None, secret: str | None = None):
        self.url = sim.env["HFTPY_UPBIT_REST_URL"]
        self.access = access or sim.env["HFTPY_UPBIT_API_KEY"]
        self.secret = secret or sim.env["HFTPY_UPBIT_API_SECRET"]

    def token(self, query: str | None) -> str:
        return jwt(self.access, self.secret, query or None)

    async def call(
        self, verb: str, path: str, params: Params | None = None, token: str | None = None
    ) -> tuple[int, Any, str]:
        params = params or {}
        url = self.url + path
        kwargs: dict[str, Any] = {}
        if verb == "POST":
            kwargs["data"] = json.dumps(dict(params))
            kwargs["headers"] = {"Content-Type": "application/json"}
        elif params:
            url += "?" + urlencode(params, quote_via=quote)
        headers = kwargs.setdefault("headers", {})
        headers["Authorization"] = f"Bearer {token or self.token(hashed(params))}"
        async with aiohttp.ClientSession() as http, http.request(verb, url, **kwargs) as resp:
            return resp.status, await resp.json(), resp.headers.get("Remaining-Req", "")

    async def order(self, **changes: str) -> dict[str, Any]:
        status, body, _ = await self.call(
            "POST", "/v1/orders", {**BID, "ord_type": "limit"} | changes
        )
        assert status == 201, body
        return body  # type: ignore[no-any-return]

    async def get(self, order_uuid: str) -> dict[str, Any]:
        status, body, _ = await self.call("GET", "/v1/order", {"uuid": order_uuid})
        assert status == 200, body
        return body  # type: ignore[no-any-return]


def fresh_client(sim: Simulator, name: str) -> Client:
    """A client on an account of its own, so it has budgets of its own."""
    account = sim.engine.add_account(name, {"KRW": "100000000000", "BTC": "100", "ETH": "1000"})
    access, secret = f"{name}-access", f"{name}-secret"
    sim.upbit.add_api_key(access, secret, account)
    return Client(sim, access, secret)


def budget(header: str) -> tuple[str, int]:
    match = REMAINING.match(header)
    assert match is not None, header
    return match.group(1), int(match.group(2))


def sell_into(sim: Simulator, symbol: str, volume: str, price: int) -> None:
    """An outside seller takes `volume` (lots of 1e-8) at `price` from the resting bids."""
    taker = sim.engine.accounts.get("outside-taker") or sim.engine.add_account(
        "outside-taker", unlimited=True
    )
    lots = int(Decimal(volume).scaleb(8))
    sim.engine.place(taker, symbol, "sell", lots, price=price, time_in_force="ioc")


async def test_remaining_req_on_every_reply(sim: Simulator) -> None:
    client = Client(sim)
    async with aiohttp.ClientSession() as http:
        async with http.get(client.url + "/v1/market/all") as resp:
            assert resp.status == 200
            assert budget(resp.headers["Remaining-Req"]) == ("market", 9)
        async with http.get(client.url + "/v1/orderbook?markets=KRW-BTC") as resp:
            assert budget(resp.headers["Remaining-Req"]) == ("orderbook", 9)
        async with http.get(client.url + "/v1/accounts") as resp:  # no JWT: refused, uncharged
            assert resp.status == 401
            assert budget(resp.headers["Remaining-Req"]) == ("default", 30)
    order = await client.order()
    status, _, header = await client.call("GET", "/v1/accounts")
    assert status == 200 and budget(header) == ("default", 29)
    status, _, header = await client.call("POST", "/v1/orders", {**BID, "ord_type": "limit"})
    assert status == 201 and budget(header) == ("order", 6)  # the second order this second
    status, _, header = await client.call("GET", "/v1/order", {"uuid": order["uuid"]})
    assert status == 200 and budget(header) == ("default", 28)
    status, _, header = await client.call("DELETE", "/v1/orders/open")
    assert status == 200 and budget(header) == ("order-cancel-all", 0)


async def test_order_group_is_8_per_second_shared_with_cancel_and_new(sim: Simulator) -> None:
    client = Client(sim)
    loop = asyncio.get_running_loop()
    started = loop.time()
    placed = [await client.order() for _ in range(8)]
    status, body, header = await client.call("POST", "/v1/orders", {**BID, "ord_type": "limit"})
    assert loop.time() - started < 0.9, "the burst must fit in one window for this test"
    assert (status, body["error"]["name"]) == (429, "too_many_requests")
    assert budget(header) == ("order", 0)
    replace = {"prev_order_uuid": placed[0]["uuid"], "new_ord_type": "limit"}
    replace |= {"new_volume": "remain_only", "new_price": "99000000"}
    status, body, _ = await client.call("POST", "/v1/orders/cancel_and_new", replace)
    assert (status, body["error"]["name"]) == (429, "too_many_requests")
    assert (await client.get(placed[0]["uuid"]))["state"] == "wait"  # nothing was cancelled
    # the default group is separate, and another account has a budget of its own
    status, _, header = await client.call("DELETE", "/v1/order", {"uuid": placed[1]["uuid"]})
    assert status == 200 and budget(header)[0] == "default"
    assert (await fresh_client(sim, "other").order())["state"] == "wait"
    await asyncio.sleep(max(0.0, started + 1.05 - loop.time()))
    status, body, header = await client.call("POST", "/v1/orders/cancel_and_new", replace)
    assert status == 201 and budget(header) == ("order", 7), body


async def test_cancel_and_new_replaces_and_streams_cancel_then_new(sim: Simulator) -> None:
    client = Client(sim)
    ws = await connect(
        sim.env["HFTPY_UPBIT_WS_PRIVATE_URL"],
        additional_headers={"Authorization": f"Bearer {demo_jwt(sim)}"},
    )
    await ws.send(json.dumps([{"ticket": "t"}, {"type": "myOrder", "codes": ["KRW-BTC"]}]))
    await asyncio.sleep(0.05)
    old = await client.order(identifier="first-leg")
    sell_into(sim, "KRW-BTC", "0.004", 100_000_000)  # fills 0.004 of 0.01
    request = {
        "prev_order_identifier": "first-leg",
        "new_ord_type": "limit",
        "new_volume": "remain_only",
        "new_price": "99000000",
        "new_identifier": "second-leg",
    }
    status, body, header = await client.call("POST", "/v1/orders/cancel_and_new", request)
    assert status == 201 and budget(header)[0] == "order", body
    assert set(body) == CANCEL_AND_NEW_KEYS
    assert body["uuid"] == old["uuid"] and body["state"] == "wait"  # as the cancel found it
    assert body["executed_volume"] == "0.004" and body["remaining_volume"] == "0.006"
    assert body["new_order_identifier"] == "second-leg" and body["new_order_uuid"] != old["uuid"]

    states = []
    while len(states) < 4:  # wait, trade, then the cancel and the new order
        message = json.loads(await asyncio.wait_for(ws.recv(), 2))
        states.append((message["uuid"], message["state"]))
    assert states[:2] == [(old["uuid"], "wait"), (old["uuid"], "trade")]
    assert states[2:4] == [(old["uuid"], "cancel"), (body["new_order_uuid"], "wait")]
    await ws.close()

    cancelled = await client.get(old["uuid"])
    assert cancelled["state"] == "cancel" and cancelled["executed_volume"] == "0.004"
    new = await client.get(body["new_order_uuid"])
    assert new["state"] == "wait" and new["identifier"] == "second-leg"
    assert (new["price"], new["volume"], new["side"]) == ("99000000", "0.006", "bid")
    # without new_identifier the new order has none; a market sell may take remain_only
    ask = await client.order(side="ask", volume="0.5", price="200000000")
    request = {"prev_order_uuid": ask["uuid"], "new_ord_type": "limit"}
    request |= {"new_volume": "0.25", "new_price": "201000000", "new_time_in_force": "post_only"}
    status, body, _ = await client.call("POST", "/v1/orders/cancel_and_new", request)
    assert status == 201 and body["new_order_identifier"] is None
    assert (await client.get(body["new_order_uuid"]))["time_in_force"] == "post_only"


async def test_cancel_and_new_refusals(sim: Simulator) -> None:
    client = Client(sim)
    order = await client.order(identifier="keep-me")
    base = {"prev_order_uuid": order["uuid"], "new_ord_type": "limit"}
    base |= {"new_volume": "0.01", "new_price": "99000000"}
    cases: list[tuple[dict[str, str], int, str]] = [
        (
            {"new_ord_type": "limit", "new_volume": "0.01", "new_price": "1"},
            400,
            "validation_error",
        ),
        (
            base | {"prev_order_uuid": "00000000-0000-4000-8000-000000000000"},
            404,
            "order_not_found",
        ),
        (base | {"new_identifier": "keep-me"}, 400, "validation_error"),  # identifiers never repeat
        (base | {"new_ord_type": "price", "new_volume": "remain_only"}, 400, "validation_error"),
        (base | {"new_ord_type": "stop"}, 400, "validation_error"),
        (base | {"new_price": "99000500"}, 400, "invalid_price_bid"),
        (base | {"new_volume": "0.00001"}, 400, "under_min_total_bid"),
        (base | {"new_volume": "5000000"}, 400, "insufficient_funds_bid"),
    ]
    for request, status, name in cases:
        await asyncio.sleep(0.15)  # refusals count too: stay inside the order group's 8/s
        got, body, _ = await client.call("POST", "/v1/orders/cancel_and_new", request)
        assert (got, body["error"]["name"]) == (status, name), (request, body)
    assert (await client.get(order["uuid"]))["state"] == "wait"  # no refusal cancelled it
    # the body hash is of the JSON's keys and values, not of the JSON text
    status, body, _ = await client.call(
        "POST", "/v1/orders/cancel_and_new", base, token=client.token(json.dumps(base))
    )
    assert (status, body["error"]["name"]) == (401, "invalid_query_payload")
    status, _, _ = await client.call("DELETE", "/v1/order", {"uuid": order["uuid"]})
    assert status == 200
    await asyncio.sleep(1.0)
    status, body, _ = await client.call("POST", "/v1/orders/cancel_and_new", base)
    assert (status, body["error"]["name"]) == (404, "order_not_found")  # already cancelled


async def test_cancel_open_filters_sorts_and_is_1_per_2_seconds(sim: Simulator) -> None:
    client = Client(sim)
    btc_bids = [await client.order(identifier=f"bid-{i}") for i in range(3)]
    btc_ask = await client.order(side="ask", volume="0.01", price="200000000")
    eth_bid = await client.order(market="KRW-ETH", volume="0.1", price="4000000")
    params = {"cancel_side": "bid", "excluded_pairs": "KRW-ETH", "count": "2"}
    params["order_by"] = "asc"
    status, body, header = await client.call("DELETE", "/v1/orders/open", params)
    assert status == 200 and budget(header) == ("order-cancel-all", 0)
    assert body == {
        "success": {
            "count": 2,
            "orders": [
                {"uuid": o["uuid"], "market": "KRW-BTC", "identifier": o["identifier"]}
                for o in btc_bids[:2]  # the two oldest
            ],
        },
        "failed": {"count": 0, "orders": []},
    }
    states = [(await client.get(o["uuid"]))["state"] for o in [*btc_bids, btc_ask, eth_bid]]
    assert states == ["cancel", "cancel", "wait", "wait", "wait"]
    status, body, header = await client.call("DELETE", "/v1/orders/open", {"pairs": "KRW-ETH"})
    assert (status, body["error"]["name"]) == (429, "too_many_requests")
    assert budget(header) == ("order-cancel-all", 0)
    # another account's budget is its own; with no filter it cancels its newest 20 of all
    other = fresh_client(sim, "bulk")
    mine = [await other.order(market="KRW-ETH", volume="0.1", price="4000000") for _ in range(2)]
    status, body, _ = await other.call("DELETE", "/v1/orders/open")
    assert status == 200 and body["success"]["count"] == 2
    assert [o["uuid"] for o in body["success"]["orders"]] == [o["uuid"] for o in mine[::-1]]
    assert "identifier" not in body["success"]["orders"][0]  # placed without one
    assert (await client.get(eth_bid["uuid"]))["state"] == "wait"
    refusals = [
        {"pairs": "KRW-BTC", "quote_currencies": "KRW"},
        {"cancel_side": "both"},
        {"count": "301"},
        {"order_by": "newest"},
        {"pairs": ",".join(f"KRW-C{i}" for i in range(21))},
    ]
    for index, params in enumerate(refusals):
        status, body, _ = await fresh_client(sim, f"bulk-{index}").call(
            "DELETE", "/v1/orders/open", params
        )
        assert (status, body["error"]["name"]) == (400, "validation_error"), params
    await asyncio.sleep(2.0)
    status, body, _ = await client.call("DELETE", "/v1/orders/open", {"quote_currencies": "KRW"})
    assert status == 200 and body["success"]["count"] == 3  # bid-2, the ask and the ETH bid


async def test_open_orders_pages_and_states(sim: Simulator) -> None:
    client = Client(sim)
    placed = [await client.order(identifier=f"open-{i}") for i in range(3)]
    await client.order(market="KRW-ETH", volume="0.1", price="4000000")
    query = [("market", "KRW-BTC"), ("states[]", "wait"), ("states[]", "watch")]
    # reference B6's vector for exactly this query
    assert hashlib.sha512(hashed(query).encode()).hexdigest().startswith("c01bbcb80094d222")
    status, first, header = await client.call("GET", "/v1/orders/open", [*query, ("limit", "2")])
    assert status == 200 and budget(header)[0] == "default"
    assert [o["uuid"] for o in first] == [placed[2]["uuid"], placed[1]["uuid"]]  # newest first
    assert all("trades" not in o for o in first)
    assert first[0] == {
        k: v for k, v in (await client.get(placed[2]["uuid"])).items() if k != "trades"
    }
    status, second, _ = await client.call(
        "GET", "/v1/orders/open", [*query, ("limit", "2"), ("page", "2")]
    )
    assert [o["uuid"] for o in second] == [placed[0]["uuid"]]
    status, oldest, _ = await client.call("GET", "/v1/orders/open", {"order_by": "asc"})
    assert [o["identifier"] for o in oldest[:3]] == ["open-0", "open-1", "open-2"]
    assert len(oldest) == 4 and {o["state"] for o in oldest} == {"wait"}
    status, watching, _ = await client.call("GET", "/v1/orders/open", {"state": "watch"})
    assert (status, watching) == (200, [])  # no reserved orders in the simulator
    for params in (
        [("state", "wait"), ("states[]", "wait")],
        {"limit": "101"},
        {"page": "0"},
        {"state": "done"},
    ):
        status, body, _ = await client.call("GET", "/v1/orders/open", params)
        assert (status, body["error"]["name"]) == (400, "validation_error"), params


async def test_get_order_reports_finished_orders(sim: Simulator) -> None:
    client = Client(sim)
    filled = await client.order(volume="0.002")
    partly = await client.order(volume="0.01", price="99000000")
    sell_into(sim, "KRW-BTC", "0.005", 99_000_000)  # 0.002 at 100M, then 0.003 at 99M
    done = await client.get(filled["uuid"])
    assert (done["state"], done["executed_volume"], done["remaining_volume"]) == (
        "done",
        "0.002",
        "0",
    )
    assert done["locked"] == "0" and done["executed_funds"] == "200000"
    assert done["trades_count"] == 1 and len(done["trades"]) == 1
    trade = done["trades"][0]
    assert (trade["market"], trade["price"], trade["volume"], trade["funds"]) == (
        "KRW-BTC",
        "100000000",
        "0.002",
        "200000",
    )
    assert trade["side"] == "bid" and trade["trend"] == "down"  # the seller was the aggressor
    status, _, _ = await client.call("DELETE", "/v1/order", {"uuid": partly["uuid"]})
    assert status == 200
    cancelled = await client.get(partly["uuid"])
    assert (cancelled["state"], cancelled["executed_volume"]) == ("cancel", "0.003")
    assert cancelled["remaining_volume"] == "0.007" and cancelled["locked"] == "0"
    assert [t["volume"] for t in cancelled["trades"]] == ["0.003"]
    # a finished order cannot be cancelled
    status, body, _ = await client.call("DELETE", "/v1/order", {"uuid": filled["uuid"]})
    assert (status, body["error"]["name"]) == (404, "order_not_found")
