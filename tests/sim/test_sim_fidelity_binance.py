"""Binance fidelity, as real clients hit it (issue 11): numeric WS API parameters sent as
strings (the official SDKs send every parameter as text) and as numbers, string request ids on
the market streams, and the signed REST order endpoints with their headers.

The client side is plain: `websockets`, `aiohttp`, signatures with the standard library and
`cryptography`, written from reference/binance.md and rest-api.md (not from hftpy's client).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.asyncio.client import connect

from hftpy.sim import Simulator

from .helpers import WsClient

# The official HMAC example key of rest-api.md and web-socket-api.md (reference §4).
DOC_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
INT_RANGE = "^[0-9]{1,20}$"
_ids = itertools.count(1)


def now_ms() -> int:
    return int(time.time() * 1000)


def hmac_hex(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


class WsApi:
    """A WS API client: params signed as sorted `k=v&...` over their text as sent."""

    def __init__(self, ws: WsClient, api_key: str, secret: str) -> None:
        self.ws = ws
        self.api_key = api_key
        self.secret = secret

    def sign(self, params: dict[str, Any], stamp: Any = None) -> dict[str, Any]:
        signed = {**params, "apiKey": self.api_key}
        signed["timestamp"] = stamp if stamp is not None else str(now_ms())
        text = "&".join(f"{k}={_text(signed[k])}" for k in sorted(signed))
        return signed | {"signature": hmac_hex(self.secret, text)}

    async def call(self, method: str, params: dict[str, Any], stamp: Any = None) -> dict[str, Any]:
        req_id = str(uuid.uuid4())  # the official SDK's default request id
        await self.ws.send({"id": req_id, "method": method, "params": self.sign(params, stamp)})
        _, reply = await self.ws.take(lambda m: isinstance(m, dict) and m.get("id") == req_id)
        assert isinstance(reply, dict)
        return reply


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def error(reply: dict[str, Any]) -> tuple[int, int, str]:
    return reply["status"], reply["error"]["code"], reply["error"]["msg"]


@pytest.fixture
async def api(sim: Simulator) -> AsyncIterator[WsApi]:
    ws = WsClient(await connect(sim.env["HFTPY_BINANCE_WS_API_URL"]))
    yield WsApi(ws, sim.env["HFTPY_BINANCE_API_KEY"], sim.env["HFTPY_BINANCE_API_SECRET"])
    await ws.close()


def limit_buy(**overrides: Any) -> dict[str, Any]:
    """order.place with every value a string, as the official SDK sends it."""
    params = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "price": "90000.00",
        "quantity": "0.00100",
        "recvWindow": "5000",
    }
    return params | overrides


async def test_ws_api_takes_numeric_strings_and_numbers_alike(api: WsApi) -> None:
    placed = await api.call("order.place", limit_buy(strategyId="7", newOrderRespType="RESULT"))
    assert placed["status"] == 200, placed
    order_id = placed["result"]["orderId"]
    as_number = await api.call("order.place", limit_buy(price=89000.5, quantity=0.002))
    assert as_number["status"] == 200 and as_number["result"]["price"] == "89000.50000000"

    for ident in (str(order_id), order_id):  # orderId as a numeric string, then as a number
        status = await api.call("order.status", {"symbol": "BTCUSDT", "orderId": ident})
        assert status["status"] == 200 and status["result"]["orderId"] == order_id, status
    mixed = await api.call(
        "openOrders.status", {"symbol": "BTCUSDT", "recvWindow": "5000.5"}, stamp=now_ms()
    )
    assert mixed["status"] == 200 and mixed["result"][0]["orderId"] == order_id

    amended = await api.call(
        "order.amend.keepPriority",
        {"symbol": "BTCUSDT", "orderId": str(order_id), "newQty": "0.00050"},
    )
    assert amended["status"] == 200 and amended["result"]["amendedOrder"]["qty"] == "0.00050000"
    replaced = await api.call(
        "order.cancelReplace",
        limit_buy(cancelReplaceMode="STOP_ON_FAILURE", cancelOrderId=str(order_id)),
    )
    assert replaced["result"]["cancelResult"] == "SUCCESS", replaced
    new_id = replaced["result"]["newOrderResponse"]["orderId"]
    cancelled = await api.call("order.cancel", {"symbol": "BTCUSDT", "orderId": str(new_id)})
    assert cancelled["status"] == 200 and cancelled["result"]["status"] == "CANCELED"
    everything = await api.call("openOrders.cancelAll", {"symbol": "BTCUSDT"})
    assert [o["status"] for o in everything["result"]] == ["CANCELED"]


async def test_ws_api_non_numeric_values_get_the_documented_errors(api: WsApi) -> None:
    bad_id = await api.call("order.cancel", {"symbol": "BTCUSDT", "orderId": "12ab"})
    assert error(bad_id) == (
        400,
        -1100,
        f"Illegal characters found in parameter 'orderId'; legal range is '{INT_RANGE}'.",
    )
    negative = await api.call("order.status", {"symbol": "BTCUSDT", "orderId": -5})
    assert error(negative)[1] == -1100
    stamp = await api.call("order.status", {"symbol": "BTCUSDT", "orderId": "1"}, stamp="soon")
    assert error(stamp) == (
        400,
        -1100,
        f"Illegal characters found in parameter 'timestamp'; legal range is '{INT_RANGE}'.",
    )
    qty = await api.call("order.place", limit_buy(quantity="0.001x"))
    assert error(qty)[:2] == (400, -1100) and "'quantity'" in error(qty)[2]
    precise = await api.call("order.place", limit_buy(recvWindow="5000.1234"))
    assert error(precise) == (400, -1111, "Parameter 'recvWindow' has too much precision.")
    huge = await api.call("order.status", {"symbol": "BTCUSDT", "orderId": "9" * 20})
    assert error(huge) == (400, -1108, "Parameter 'orderId' overflowed.")
    unknown = await api.call("order.status", {"symbol": "BTCUSDT", "orderId": "123"})
    assert error(unknown) == (400, -2013, "Order does not exist.")
    strategy = await api.call("order.place", limit_buy(strategyId="s1"))
    assert error(strategy)[:2] == (400, -1100) and "'strategyId'" in error(strategy)[2]
    low = await api.call("order.place", limit_buy(strategyType="999"))
    assert error(low) == (400, -1134, "`strategyType` was less than 1000000.")
    stop = await api.call("order.place", limit_buy(stopPrice="80000"))
    assert error(stop) == (400, -1106, "Parameter 'stopPrice' sent when not required.")


async def test_ws_api_user_stream_ids_as_strings(sim: Simulator, api: WsApi) -> None:
    seed = base64.b64decode(sim.env["HFTPY_BINANCE_ED25519_KEY"])
    private = Ed25519PrivateKey.from_private_bytes(seed)
    signed = {"apiKey": api.api_key, "timestamp": str(now_ms())}
    payload = "&".join(f"{k}={signed[k]}" for k in sorted(signed)).encode()
    signed["signature"] = base64.b64encode(private.sign(payload)).decode()
    await api.ws.send(
        {"id": "sub-1", "method": "userDataStream.subscribe.signature", "params": signed}
    )
    _, sub = await api.ws.take(lambda m: isinstance(m, dict) and m.get("id") == "sub-1")
    sub_id = sub["result"]["subscriptionId"]
    request = {"subscriptionId": str(sub_id)}
    await api.ws.send({"id": "unsub-1", "method": "userDataStream.unsubscribe", "params": request})
    _, unsub = await api.ws.take(lambda m: isinstance(m, dict) and m.get("id") == "unsub-1")
    assert unsub["status"] == 200 and unsub["result"] == {}


# ----- market streams: request ids -----


async def test_stream_control_messages_echo_string_ids(sim: Simulator) -> None:
    async with connect(sim.env["HFTPY_BINANCE_STREAM_URL"].replace("/stream", "/ws")) as ws:

        async def control(message: dict[str, Any]) -> Any:
            await ws.send(json.dumps(message))
            while True:
                reply = json.loads(await ws.recv())
                if "result" in reply or "code" in reply:
                    return reply

        sub_id = str(uuid.uuid4())
        subscribe = {"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": sub_id}
        assert await control(subscribe) == {"result": None, "id": sub_id}
        taker = sim.engine.add_account("stream-maker", unlimited=True)
        sim.engine.place(taker, "BTCUSDT", "buy", 100, price=9_990_000)  # moves the best bid
        ticker = json.loads(await ws.recv())
        assert ticker["s"] == "BTCUSDT" and ticker["b"] == "99900.00000000"
        listed = await control({"method": "LIST_SUBSCRIPTIONS", "id": "list-2"})
        assert listed == {"result": ["btcusdt@bookTicker"], "id": "list-2"}
        assert await control({"method": "LIST_SUBSCRIPTIONS", "id": -7}) == {
            "result": ["btcusdt@bookTicker"],
            "id": -7,
        }
        unsub = {"method": "UNSUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": "A" * 36}
        assert await control(unsub) == {"result": None, "id": "A" * 36}
        invalid = {"code": 2, "msg": "Invalid request: request ID must be an unsigned integer"}
        for bad in ("A" * 37, "has_underscore", "sp ace", 2**63, True, 1.5, ["x"]):
            assert await control({"method": "LIST_SUBSCRIPTIONS", "id": bad}) == invalid
        assert await control({"method": "LIST_SUBSCRIPTIONS"}) == invalid  # id is required


# ----- REST -----


class Rest:
    """Signed REST calls: `totalParams` is the query string followed by the body, as sent."""

    def __init__(self, http: aiohttp.ClientSession, base: str, key: str, secret: str) -> None:
        self.http = http
        self.base = base
        self.key = key
        self.secret = secret

    async def call(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        *,
        sign: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, Any]:
        query_text = urlencode(query or {})
        body_text = urlencode(body or {})
        if sign:
            stamp = f"timestamp={now_ms()}"
            if body is not None:
                body_text = f"{body_text}&{stamp}" if body_text else stamp
            else:
                query_text = f"{query_text}&{stamp}" if query_text else stamp
            signature = hmac_hex(self.secret, query_text + body_text)
            if body is not None:
                body_text += f"&signature={signature}"
            else:
                query_text += f"&signature={signature}"
        url = self.base + path + (f"?{query_text}" if query_text else "")
        sent = {"X-MBX-APIKEY": self.key} if headers is None else headers
        if body is not None:
            sent = sent | {"Content-Type": "application/x-www-form-urlencoded"}
        async with self.http.request(method, url, data=body_text or None, headers=sent) as resp:
            return resp.status, await resp.json(), resp.headers


@pytest.fixture
async def rest(sim: Simulator) -> AsyncIterator[Rest]:
    env = sim.env
    async with aiohttp.ClientSession() as http:
        yield Rest(
            http,
            env["HFTPY_BINANCE_REST_URL"],
            env["HFTPY_BINANCE_API_KEY"],
            env["HFTPY_BINANCE_API_SECRET"],
        )


ORDER = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "timeInForce": "GTC",
    "quantity": "0.00100",
    "price": "90000.00",
}


async def test_rest_order_lifecycle_with_headers(sim: Simulator, rest: Rest) -> None:
    status, placed, headers = await rest.call("POST", "/api/v3/order", body=ORDER)
    assert status == 200 and placed["status"] == "NEW" and placed["fills"] == [], placed
    assert headers["X-MBX-ORDER-COUNT-10S"] == "1" and headers["X-MBX-ORDER-COUNT-1D"] == "1"
    assert headers["X-MBX-USED-WEIGHT-1M"] == "0"  # a successful order costs no weight
    order_id = placed["orderId"]

    query = {"symbol": "BTCUSDT", "orderId": order_id}
    status, got, headers = await rest.call("GET", "/api/v3/order", query)
    assert status == 200 and got["orderId"] == order_id and got["isWorking"] is True
    assert headers["X-MBX-USED-WEIGHT-1M"] == "4"
    status, opened, headers = await rest.call("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
    assert [o["orderId"] for o in opened] == [order_id]
    assert headers["X-MBX-USED-WEIGHT-1M"] == "10"  # 4 + 6

    # the order placed over REST is the WS API's: same ids, same account
    assert sim.binance.api.registry.by_id[order_id].account is sim.binance.demo_account

    status, account, _ = await rest.call("GET", "/api/v3/account", {"omitZeroBalances": "true"})
    assert status == 200 and account["accountType"] == "SPOT"
    usdt = next(b for b in account["balances"] if b["asset"] == "USDT")
    assert Decimal(usdt["locked"]) > 0 and account["makerCommission"] == 10

    # cancel with the parameters split between the query string and the body
    status, cancelled, _ = await rest.call(
        "DELETE", "/api/v3/order", {"symbol": "BTCUSDT"}, body={"orderId": str(order_id)}
    )
    assert status == 200 and cancelled["status"] == "CANCELED", cancelled
    status, again, _ = await rest.call("DELETE", "/api/v3/order", query)
    assert (status, again) == (400, {"code": -2011, "msg": "Unknown order sent."})
    status, nothing, _ = await rest.call("DELETE", "/api/v3/openOrders", {"symbol": "BTCUSDT"})
    assert (status, nothing) == (400, {"code": -2011, "msg": "Unknown order sent."})
    status, missing, _ = await rest.call("GET", "/api/v3/order", query | {"orderId": 42})
    assert (status, missing) == (400, {"code": -2013, "msg": "Order does not exist."})


async def test_rest_fills_show_in_my_trades(sim: Simulator, rest: Rest) -> None:
    maker = sim.engine.add_account("rest-maker", unlimited=True)
    sim.engine.place(maker, "BTCUSDT", "sell", 300, price=10_000_000)  # 0.003 BTC at 100000
    market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.002"}
    status, filled, _ = await rest.call("POST", "/api/v3/order", body=market)
    assert status == 200 and filled["status"] == "FILLED", filled
    assert filled["fills"][0]["price"] == "100000.00000000"
    status, trades, headers = await rest.call("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"})
    assert status == 200 and len(trades) == 1 and headers["X-MBX-USED-WEIGHT-1M"] == "20"
    trade = trades[0]
    assert trade["orderId"] == filled["orderId"] and trade["qty"] == "0.00200000"
    assert trade["quoteQty"] == "200.00000000" and trade["isBuyer"] is True
    assert trade["isMaker"] is False and trade["commissionAsset"] == "USDT"
    query = {"symbol": "BTCUSDT", "orderId": filled["orderId"], "fromId": trade["id"] + 1}
    status, later, _ = await rest.call("GET", "/api/v3/myTrades", query)
    assert status == 200 and later == []


async def test_rest_ed25519_signature(sim: Simulator, rest: Rest) -> None:
    seed = base64.b64decode(sim.env["HFTPY_BINANCE_ED25519_KEY"])
    private = Ed25519PrivateKey.from_private_bytes(seed)
    body = urlencode(ORDER) + f"&timestamp={now_ms()}"
    signature = base64.b64encode(private.sign(body.encode())).decode()
    headers = {"X-MBX-APIKEY": rest.key, "Content-Type": "application/x-www-form-urlencoded"}
    sent = body + "&signature=" + quote(signature, safe="")  # percent-encoded, as documented
    async with rest.http.post(rest.base + "/api/v3/order", data=sent, headers=headers) as resp:
        assert resp.status == 200, await resp.text()
    tampered = sent.replace("quantity=0.00100", "quantity=0.00200")
    async with rest.http.post(rest.base + "/api/v3/order", data=tampered, headers=headers) as resp:
        assert resp.status == 400
        assert await resp.json() == {
            "code": -1022,
            "msg": "Signature for this request is not valid.",
        }


async def test_rest_documented_vectors_and_errors(sim: Simulator, rest: Rest) -> None:
    """rest-api.md's examples 1 and 3 verify (the mixed one concatenates the query string and
    the body with no `&`), so they fail only on their 2017 timestamp."""
    sim.binance.api.add_api_key(DOC_KEY, sim.binance.demo_account, hmac_secret=DOC_SECRET)
    doc = {"X-MBX-APIKEY": DOC_KEY, "Content-Type": "application/x-www-form-urlencoded"}
    stale = {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
    body = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000"
        "&timestamp=1499827319559"
        "&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )
    async with rest.http.post(rest.base + "/api/v3/order", data=body, headers=doc) as resp:
        assert (resp.status, await resp.json()) == (400, stale)
    url = rest.base + "/api/v3/order?symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
    mixed = (
        "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
        "&signature=0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
    )
    async with rest.http.post(url, data=mixed, headers=doc) as resp:
        assert (resp.status, await resp.json()) == (400, stale)

    def refused(code: int, msg: str) -> dict[str, Any]:
        return {"code": code, "msg": msg}

    status, body_, _ = await rest.call("GET", "/api/v3/account", headers={})
    assert (status, body_) == (401, refused(-2014, "API-key format invalid."))
    status, body_, _ = await rest.call("GET", "/api/v3/account", headers={"X-MBX-APIKEY": "Z" * 64})
    assert (status, body_) == (
        401,
        refused(-2015, "Invalid API-key, IP, or permissions for action."),
    )
    status, body_, _ = await rest.call("GET", "/api/v3/account", sign=False)
    assert (status, body_) == (
        400,
        refused(
            -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed."
        ),
    )
    rest.secret = "wrong"
    status, body_, _ = await rest.call("GET", "/api/v3/account")
    assert (status, body_) == (400, refused(-1022, "Signature for this request is not valid."))
    status, body_, _ = await rest.call(
        "GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": "x"}
    )
    assert status == 400 and body_["code"] == -1022  # the signature is checked first
    url = rest.base + "/api/v3/account?timestamp=1&timestamp=2&signature=00"
    async with rest.http.get(url, headers={"X-MBX-APIKEY": rest.key}) as resp:
        assert (resp.status, await resp.json()) == (
            400,
            refused(-1101, "Duplicate values for a parameter detected."),
        )


async def test_rest_weight_is_shared_and_limited(sim: Simulator, rest: Rest) -> None:
    status, _, headers = await rest.call(
        "GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 5000}, sign=False
    )
    assert status == 200 and headers["X-MBX-USED-WEIGHT-1M"] == "250"
    _, _, headers = await rest.call("GET", "/api/v3/exchangeInfo", sign=False)
    assert headers["X-MBX-USED-WEIGHT-1M"] == "270"
    ws = WsClient(await connect(sim.env["HFTPY_BINANCE_WS_API_URL"]))
    await ws.send({"id": 1, "method": "ping"})
    _, pong = await ws.take(lambda m: isinstance(m, dict) and m.get("id") == 1)
    assert pong["rateLimits"][0]["count"] == 271  # one REQUEST_WEIGHT for REST and the WS API
    await ws.close()
    sim.inject("binance", "rate_limit", seconds=3, status=418)
    status, body, headers = await rest.call("GET", "/api/v3/time", sign=False)
    assert status == 418 and body["code"] == -1003 and "banned until" in body["msg"]
    assert 1 <= int(headers["Retry-After"]) <= 3 and "data" not in body
    status, body, headers = await rest.call("POST", "/api/v3/order", body=ORDER)
    assert status == 418 and body["code"] == -1003 and "Retry-After" in headers
    sim.clear_faults()
    sim.inject("binance", "maintenance")
    status, body, _ = await rest.call("GET", "/api/v3/account")
    assert (status, body) == (503, {"code": -1016, "msg": "This service is no longer available."})


async def test_rest_order_count_limit(sim: Simulator, rest: Rest) -> None:
    sim.binance.api.limits = type(sim.binance.api.limits)(orders_per_10s=2)
    for expected in ("1", "2"):
        status, _, headers = await rest.call("POST", "/api/v3/order", body=ORDER)
        assert status == 200 and headers["X-MBX-ORDER-COUNT-10S"] == expected
    status, body, headers = await rest.call("POST", "/api/v3/order", body=ORDER)
    assert status == 429 and body == {
        "code": -1015,
        "msg": "Too many new orders; current limit is 2 orders per 10 SECOND.",
    }
    assert "Retry-After" not in headers
