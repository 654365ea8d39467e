"""Binance WS API on the simulator, driven by a plain `websockets` client that signs with the
standard library and `cryptography` (written from reference/binance.md §3-6, not from hftpy's
client)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import itertools
import time
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from hftpy.sim import Simulator
from hftpy.sim.binance import Limits

from .helpers import WsClient

# The official HMAC example key (reference §4) and python-binance's Ed25519 test key.
DOC_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
ED_PEM = (
    b"-----BEGIN PRIVATE KEY-----\n"
    b"MC4CAQAwBQYDK2VwBCIEIPQmzwVKJETqVd7L9E/DFbkvrOigy1tLL+9QF0mSn6dV\n"
    b"-----END PRIVATE KEY-----\n"
)
ED_KEY = "E" * 64
_ids = itertools.count(1)


class Client:
    """A Binance WS API client in a few lines: sorted `k=v&...`, HMAC hex or Ed25519 base64."""

    def __init__(self, ws: WsClient, api_key: str, secret: str | None = None) -> None:
        self.ws = ws
        self.api_key = api_key
        self.secret = secret
        self.ed25519: Ed25519PrivateKey | None = None

    def sign(self, params: dict[str, Any]) -> dict[str, Any]:
        signed = {**params, "apiKey": self.api_key, "timestamp": int(time.time() * 1000)}
        payload = "&".join(f"{k}={signed[k]}" for k in sorted(signed)).encode()
        if self.ed25519 is not None:
            signed["signature"] = base64.b64encode(self.ed25519.sign(payload)).decode()
        else:
            assert self.secret is not None
            signed["signature"] = hmac.new(self.secret.encode(), payload, "sha256").hexdigest()
        return signed

    async def call(
        self, method: str, params: dict[str, Any] | None = None, sign: bool = False
    ) -> dict[str, Any]:
        req_id = f"r{next(_ids)}"
        message: dict[str, Any] = {"id": req_id, "method": method}
        if params is not None or sign:
            message["params"] = self.sign(params or {}) if sign else params
        await self.ws.send(message)
        _, reply = await self.ws.take(lambda m: isinstance(m, dict) and m.get("id") == req_id)
        assert isinstance(reply, dict)
        return reply

    async def event(self, kind: str, timeout: float = 2.0) -> dict[str, Any]:
        _, frame = await self.ws.take(
            lambda m: isinstance(m, dict) and m.get("event", {}).get("e") == kind, timeout
        )
        assert isinstance(frame, dict) and isinstance(frame["subscriptionId"], int)
        event: dict[str, Any] = frame["event"]
        return event


def order(**overrides: Any) -> dict[str, Any]:
    params = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "price": "90000.00",
        "quantity": "0.00100",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


@pytest.fixture
async def client(sim: Simulator) -> AsyncIterator[Client]:
    ws = WsClient(await connect(sim.env["HFTPY_BINANCE_WS_API_URL"]))
    yield Client(ws, sim.env["HFTPY_BINANCE_API_KEY"], sim.env["HFTPY_BINANCE_API_SECRET"])
    with contextlib.suppress(ConnectionClosed):  # some tests drop it
        await ws.close()


def error(reply: dict[str, Any]) -> tuple[int, int, str]:
    return reply["status"], reply["error"]["code"], reply["error"]["msg"]


async def test_envelope_time_ping_and_unknown_things(sim: Simulator, client: Client) -> None:
    pong = await client.call("ping")
    assert pong["status"] == 200 and pong["result"] == {}
    assert pong["rateLimits"] == [
        {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": "MINUTE",
            "intervalNum": 1,
            "limit": 6000,
            "count": 1,
        }
    ]
    server = await client.call("v3/time")  # the version prefix is accepted
    assert abs(server["result"]["serverTime"] - time.time() * 1000) < 1000
    assert server["rateLimits"][0]["count"] == 2
    quiet = await client.call("time", {"returnRateLimits": False})
    assert "rateLimits" not in quiet
    assert error(await client.call("frobnicate"))[:2] == (400, -1000)
    await client.ws.send("not json")
    _, reply = await client.ws.take(lambda m: isinstance(m, dict) and m.get("id") is None)
    assert reply["status"] == 400
    with pytest.raises(InvalidStatus):
        await connect(sim.env["HFTPY_BINANCE_WS_API_URL"].replace("/ws-api/v3", "/ws"))
    no_limits = WsClient(
        await connect(sim.env["HFTPY_BINANCE_WS_API_URL"] + "?returnRateLimits=false")
    )
    await no_limits.send({"id": 1, "method": "ping"})
    _, reply = await no_limits.take(lambda m: isinstance(m, dict) and m.get("id") == 1)
    assert reply["status"] == 200 and "rateLimits" not in reply
    await no_limits.close()


async def test_official_hmac_vectors_verify(sim: Simulator, client: Client) -> None:
    """The docs' order.place example (W4) verifies, so it fails only on its 2022 timestamp;
    one changed character makes it a bad signature."""
    sim.binance.api.add_api_key(DOC_KEY, sim.binance.demo_account, hmac_secret=DOC_SECRET)
    example = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "price": "23416.10000000",
        "quantity": "0.00847000",
        "apiKey": DOC_KEY,
        "signature": "15af09e41c36f3cc61378c2fbe2c33719a03dd5eba8d0f9206fbda44de717c88",
        "timestamp": 1660801715431,
    }
    stale = await client.call("order.place", example)
    assert error(stale) == (400, -1021, "Timestamp for this request is outside of the recvWindow.")
    upper = await client.call("order.place", example | {"signature": example["signature"].upper()})
    assert error(upper)[1] == -1021  # hex in either case
    tampered = await client.call("order.place", example | {"price": "23416.20000000"})
    assert error(tampered) == (400, -1022, "Signature for this request is not valid.")
    logon = await client.call(
        "session.logon",
        {
            "apiKey": DOC_KEY,
            "signature": "1cf54395b336b0a9727ef27d5d98987962bc47aca6e13fe978612d0adee066ed",
            "timestamp": 1649729878532,
        },
    )
    assert error(logon) == (400, -4056, "HMAC_SHA256 API key is not supported.")


async def test_key_and_parameter_errors(client: Client) -> None:
    missing = await client.call("order.place", order())
    assert error(missing) == (
        400,
        -1102,
        "Mandatory parameter 'apiKey' was not sent, was empty/null, or malformed.",
    )
    client.api_key = "short"
    assert error(await client.call("order.place", order(), sign=True))[:2] == (401, -2014)
    client.api_key = "Z" * 64
    assert error(await client.call("order.place", order(), sign=True)) == (
        401,
        -2015,
        "Invalid API-key, IP, or permissions for action.",
    )


async def test_orders_filters_and_rejections(client: Client) -> None:
    placed = await client.call("order.place", order(newClientOrderId="abc-1"), sign=True)
    assert placed["status"] == 200, placed
    result = placed["result"]
    assert result["clientOrderId"] == "abc-1" and result["status"] == "NEW"
    assert result["price"] == "90000.00000000" and result["origQty"] == "0.00100000"
    assert result["fills"] == [] and result["workingTime"] > 0
    limits = {(r["rateLimitType"], r["interval"]): r["count"] for r in placed["rateLimits"]}
    assert limits[("ORDERS", "SECOND")] == 1 and limits[("ORDERS", "DAY")] == 1
    duplicate = await client.call("order.place", order(newClientOrderId="abc-1"), sign=True)
    assert error(duplicate) == (400, -2010, "Duplicate order sent.")
    for params, expected in (
        (order(quantity="0.000001"), (-1013, "Filter failure: LOT_SIZE")),
        (order(price="90000.005"), (-1013, "Filter failure: PRICE_FILTER")),
        (order(quantity="0.00001", price="100.00"), (-1013, "Filter failure: NOTIONAL")),
        (order(price="1.123456789"), (-1111, "Parameter 'price' has too much precision.")),
        (order(side="LONG"), (-1117, "Invalid side.")),
        (
            order(timeInForce=None),
            (
                -1102,
                "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.",
            ),
        ),
        (order(type="LIMIT_MAKER"), (-1106, "Parameter 'timeInForce' sent when not required.")),
        (order(symbol="BTCEUR"), (-1121, "Invalid symbol.")),
        (order(quantity="100"), (-2010, "Account has insufficient balance for requested action.")),
    ):
        reply = await client.call("order.place", params, sign=True)
        assert error(reply)[1:] == expected, reply
    ack = await client.call(
        "order.place", order(type="LIMIT_MAKER", timeInForce=None, price="90001.00"), sign=True
    )
    assert set(ack["result"]) == {
        "symbol",
        "orderId",
        "orderListId",
        "clientOrderId",
        "transactTime",
    }
    sell = await client.call("order.place", order(side="SELL", price="100500.00"), sign=True)
    assert sell["status"] == 200
    maker = await client.call(
        "order.place", order(type="LIMIT_MAKER", timeInForce=None, price="100600.00"), sign=True
    )
    assert error(maker) == (400, -2010, "Order would immediately match and take.")


async def test_weight_and_order_counts_and_429(sim: Simulator, client: Client) -> None:
    sim.binance.api.limits = Limits(weight_per_minute=12, orders_per_10s=2)
    first = await client.call("order.place", order(), sign=True)
    counts = [r["count"] for r in first["rateLimits"]]
    assert counts == [1, 1, 0]  # a successful order costs no weight (2026-04-02)
    rejected = await client.call("order.place", order(quantity="0.000001"), sign=True)
    # a failed one costs weight, and is not counted as an order
    assert [r["count"] for r in rejected["rateLimits"]] == [1, 1, 1]
    second = await client.call("order.place", order(price="90001.00"), sign=True)
    assert [r["count"] for r in second["rateLimits"]] == [2, 2, 1]
    too_many = await client.call("order.place", order(), sign=True)
    assert error(too_many) == (
        429,
        -1015,
        "Too many new orders; current limit is 2 orders per 10 SECOND.",
    )
    status = await client.call(
        "order.status", {"symbol": "BTCUSDT", "orderId": first["result"]["orderId"]}, sign=True
    )
    assert status["result"]["status"] == "NEW" and status["rateLimits"][-1]["count"] == 6
    await client.call("time")
    await client.call("session.status")
    await client.call("session.status")
    assert (await client.call("ping"))["rateLimits"][0]["count"] == 12  # all of it
    limited = await client.call("ping")
    assert error(limited)[:2] == (429, -1003)
    assert error(limited)[2].startswith("Too much request weight used; current limit is 12")
    data = limited["error"]["data"]
    assert data["retryAfter"] % 60000 == 0 and data["retryAfter"] > data["serverTime"]


async def test_rate_limit_fault_gives_retry_after(sim: Simulator, client: Client) -> None:
    sim.inject("binance", "rate_limit", seconds=2, status=418)
    banned = await client.call("ping")
    status, code, msg = error(banned)
    assert (status, code) == (418, -1003) and msg.startswith("Way too much request weight used")
    assert (
        1900
        <= banned["error"]["data"]["retryAfter"] - banned["error"]["data"]["serverTime"]
        <= 2000
    )
    sim.clear_faults()
    assert (await client.call("ping"))["status"] == 200


async def test_timestamp_window(sim: Simulator, client: Client) -> None:
    sim.inject("binance", "skew_clock", seconds=-3)  # the venue's clock is 3 s behind
    ahead = await client.call("order.place", order(), sign=True)
    assert error(ahead) == (
        400,
        -1021,
        "Timestamp for this request was 1000ms ahead of the server's time.",
    )
    sim.inject("binance", "skew_clock", seconds=6)
    late = await client.call("order.place", order(), sign=True)
    assert error(late)[1] == -1021
    wide = await client.call("order.place", order(recvWindow=10000), sign=True)
    assert wide["status"] == 200
    assert error(await client.call("order.place", order(recvWindow=70000), sign=True))[1] == -1131


async def test_ed25519_logon_session_and_user_data_stream(sim: Simulator, client: Client) -> None:
    private = load_pem_private_key(ED_PEM, None)
    assert isinstance(private, Ed25519PrivateKey)
    public_pem = private.public_key().public_bytes(
        encoding=Encoding.PEM, format=PublicFormat.SubjectPublicKeyInfo
    )
    sim.binance.api.add_api_key(ED_KEY, sim.binance.demo_account, ed25519_public_pem=public_pem)
    client.api_key = ED_KEY
    client.ed25519 = private
    refused = await client.call("userDataStream.subscribe")
    assert error(refused)[:2] == (401, -1002)
    status = await client.call("session.status")
    assert status["result"]["apiKey"] is None and status["result"]["userDataStream"] is False
    logon = await client.call("session.logon", {}, sign=True)
    assert logon["status"] == 200 and logon["result"]["apiKey"] == ED_KEY
    assert logon["result"]["authorizedSince"] >= logon["result"]["connectedSince"]
    sub = await client.call("userDataStream.subscribe")
    assert sub["result"] == {"subscriptionId": 0}
    again = await client.call("userDataStream.subscribe")
    assert error(again)[1:] == (-2035, "User Data Stream subscription already active.")
    # after logon: no apiKey or signature, but a timestamp
    placed = await client.call("order.place", order(timestamp=int(time.time() * 1000)))
    assert placed["status"] == 200, placed
    new = await client.event("executionReport")
    assert new["x"] == "NEW" and new["X"] == "NEW" and new["i"] == placed["result"]["orderId"]
    assert new["s"] == "BTCUSDT" and new["S"] == "BUY" and new["o"] == "LIMIT" and new["f"] == "GTC"
    assert new["q"] == "0.00100000" and new["p"] == "90000.00000000" and new["w"] is True
    position = await client.event("outboundAccountPosition")
    usdt = next(b for b in position["B"] if b["a"] == "USDT")
    assert Decimal(usdt["l"]) == Decimal("90.09")  # 90 USDT plus the worst-case 0.1 % fee
    cancel = await client.call(
        "order.cancel",
        {
            "symbol": "BTCUSDT",
            "orderId": placed["result"]["orderId"],
            "timestamp": int(time.time() * 1000),
        },
    )
    assert cancel["result"]["status"] == "CANCELED"
    cancelled = await client.event("executionReport")
    assert cancelled["x"] == "CANCELED" and cancelled["C"] == placed["result"]["clientOrderId"]
    no_ts = await client.call("order.status", {"symbol": "BTCUSDT", "orderId": 1})
    assert error(no_ts)[1] == -1102
    assert (await client.call("userDataStream.unsubscribe"))["result"] == {}
    await client.event("eventStreamTerminated")
    assert error(await client.call("userDataStream.unsubscribe"))[1] == -2036


async def test_fills_market_fok_and_cancel_replace(sim: Simulator, client: Client) -> None:
    sub = await client.call("userDataStream.subscribe.signature", {}, sign=True)
    assert sub["result"] == {"subscriptionId": 0}
    resting = await client.call(
        "order.place", order(side="SELL", price="100500.00", quantity="0.00200"), sign=True
    )
    market = await client.call(
        "order.place", order(type="MARKET", timeInForce=None, price=None), sign=True
    )
    result = market["result"]
    assert result["status"] == "FILLED" and result["type"] == "MARKET"
    assert (
        result["fills"][0]["price"] == "100500.00000000"
        and result["cummulativeQuoteQty"] == "100.50000000"
    )
    trades = [await client.event("executionReport") for _ in range(4)]
    kinds = sorted((t["S"], t["x"]) for t in trades)
    assert ("BUY", "TRADE") in kinds and ("SELL", "TRADE") in kinds
    fill = next(t for t in trades if t["S"] == "BUY" and t["x"] == "TRADE")
    assert fill["X"] == "FILLED" and fill["l"] == "0.00100000" and fill["Y"] == "100.50000000"
    assert fill["n"] == "0.10050000" and fill["t"] > 0 and fill["m"] is False
    fok = await client.call(
        "order.place", order(price="100500.00", quantity="0.01000", timeInForce="FOK"), sign=True
    )
    assert fok["result"]["status"] == "EXPIRED" and fok["result"]["executedQty"] == "0.00000000"
    replaced = await client.call(
        "order.cancelReplace",
        order(
            cancelReplaceMode="STOP_ON_FAILURE",
            cancelOrderId=resting["result"]["orderId"],
            side="SELL",
            price="101000.00",
        ),
        sign=True,
    )
    assert replaced["status"] == 200
    assert replaced["result"]["cancelResponse"]["status"] == "CANCELED"
    assert replaced["result"]["newOrderResponse"]["price"] == "101000.00000000"
    partial = await client.call(
        "order.cancelReplace",
        order(
            cancelReplaceMode="STOP_ON_FAILURE",
            cancelOrderId=resting["result"]["orderId"],
            quantity="100",
        ),
        sign=True,
    )
    assert error(partial)[:2] == (400, -2022)
    assert partial["error"]["data"]["cancelResponse"] == {
        "code": -2011,
        "msg": "Unknown order sent.",
    }
    cancelled_all = await client.call("openOrders.cancelAll", {"symbol": "BTCUSDT"}, sign=True)
    assert [o["status"] for o in cancelled_all["result"]] == ["CANCELED"]


async def test_faults_drop_reject_auth_malformed(sim: Simulator, client: Client) -> None:
    sim.inject("binance", "reject_auth")
    assert error(await client.call("order.place", order(), sign=True))[:2] == (401, -2015)
    assert (await client.call("order.place", order(), sign=True))["status"] == 200
    sim.inject("binance", "malformed_frame", text="garbage")
    raw, _ = await client.ws.take(lambda m: m is None)
    assert raw == "garbage"
    sim.inject("binance", "drop_connection")
    with contextlib.suppress(ConnectionClosed):  # the reader ends with the socket
        await asyncio.wait_for(client.ws.reader, 2)
    assert client.ws.reader.done()


async def test_demo_credentials_are_fixed(sim: Simulator) -> None:
    env = sim.env
    assert len(env["HFTPY_BINANCE_API_KEY"]) == 64 and env["HFTPY_BINANCE_API_KEY"].isalnum()
    assert len(env["HFTPY_BINANCE_API_SECRET"]) == 64
    assert len(base64.b64decode(env["HFTPY_BINANCE_ED25519_KEY"])) == 32
    assert Simulator(seed=3).env["HFTPY_BINANCE_API_KEY"] == env["HFTPY_BINANCE_API_KEY"]
