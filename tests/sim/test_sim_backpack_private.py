"""Backpack's private side of the simulator, checked with a plain client: `cryptography`
Ed25519 signing written from reference A4/A5, aiohttp and `websockets`."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from websockets.asyncio.client import connect

from hftpy.sim import Simulator
from hftpy.sim.backpack import signing_string

from .helpers import WsClient

# reference A5: RFC 8032 test 1 and the self-computed signatures.
RFC_SEED = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
RFC_PUBLIC = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="


def key_of(seed_b64: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(base64.b64decode(seed_b64))


def sign(seed_b64: str, text: str) -> str:
    return base64.b64encode(key_of(seed_b64).sign(text.encode())).decode()


def plain_signing_string(instruction: str, params: dict[str, Any], ts: int, window: int) -> str:
    """The documented recipe, spelled out: sorted keys, lower-case booleans."""
    fields = "".join(
        f"&{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in sorted(params.items())
    )
    return f"instruction={instruction}{fields}&timestamp={ts}&window={window}"


def headers(sim: Simulator, instruction: str, params: Any, **override: str) -> dict[str, str]:
    env = sim.env
    ts = time.time_ns() // 1_000_000
    if isinstance(params, list):
        text = "&".join(
            plain_signing_string(instruction, p, ts, 5000).rsplit("&timestamp=", 1)[0]
            for p in params
        )
        text += f"&timestamp={ts}&window=5000"
    else:
        text = plain_signing_string(instruction, params, ts, 5000)
    out = {
        "X-API-Key": env["HFTPY_BACKPACK_API_KEY"],
        "X-Signature": sign(env["HFTPY_BACKPACK_API_SECRET"], text),
        "X-Timestamp": str(ts),
        "X-Window": "5000",
        "Content-Type": "application/json; charset=utf-8",
    }
    return out | override


async def call(
    sim: Simulator, verb: str, path: str, instruction: str, params: Any, **override: str
) -> tuple[int, Any]:
    url = sim.env["HFTPY_BACKPACK_REST_URL"] + path
    hdrs = headers(sim, instruction, params, **override)
    async with (
        aiohttp.ClientSession() as http,
        http.request(verb, url, data=json.dumps(params), headers=hdrs) as resp,
    ):
        return resp.status, await resp.json()


ORDER = {
    "symbol": "SOL_USDC",
    "side": "Bid",
    "orderType": "Limit",
    "price": "140.00",
    "quantity": "2",
    "postOnly": True,
    "clientId": 77,
}


def test_signing_string_and_reference_signatures() -> None:
    public = key_of(RFC_SEED).public_key().public_bytes_raw()
    assert base64.b64encode(public).decode() == RFC_PUBLIC
    text = signing_string(
        "orderCancel", {"orderId": 28, "symbol": "BTC_USDT"}, "1614550000000", "5000"
    )
    assert text == plain_signing_string(
        "orderCancel", {"orderId": 28, "symbol": "BTC_USDT"}, 1614550000000, 5000
    )
    assert sign(RFC_SEED, text) == (
        "wLQaGPszkXrEWaIm6RsnVLJv70Uuw62SXxmdso6cadUmR0NWzFhfhvuCWMl+jbBNJ5gZRfCPjvXI29H7JeW6Ag=="
    )
    batch = [
        {"symbol": "SOL_USDC_PERP", "side": "Bid", "orderType": "Limit", "price": p, "quantity": q}
        for p, q in (("141", "12"), ("140", "11"))
    ]
    assert sign(RFC_SEED, signing_string("orderExecute", batch, "1750793021519", "5000")) == (
        "vPFtn5Js/Bow3UsENNogoyaEcTqy8fxLH2ASbpAcTSClJf1v4VAj7+61T7IRwMt9kvGvGxhtlXqlvtCzzbFxAQ=="
    )
    assert sign(RFC_SEED, signing_string("balanceQuery", {}, "1700000000000", "5000")) == (
        "BT0fEucf+pN/4SqmbIL5fzaFq76mkKkvFnNT2FOoNFoSpBMQHiDoEnX7O45Cg8csHL7mPBqciUbMTF3+lpSOAQ=="
    )


async def test_order_cancel_and_batch(sim: Simulator) -> None:
    status, order = await call(sim, "POST", "/api/v1/order", "orderExecute", ORDER)
    assert status == 200 and order["status"] == "New" and order["clientId"] == 77
    assert order["price"] == "140.00" and order["quantity"] == "2.00"
    cancel = {"symbol": "SOL_USDC", "clientId": 77}
    status, cancelled = await call(sim, "DELETE", "/api/v1/order", "orderCancel", cancel)
    assert status == 200 and cancelled["id"] == order["id"] and cancelled["status"] == "Cancelled"
    status, again = await call(sim, "DELETE", "/api/v1/order", "orderCancel", cancel)
    assert status == 404 and again == {"code": "RESOURCE_NOT_FOUND", "message": "Order not found"}
    batch = [ORDER | {"clientId": 1}, ORDER | {"clientId": 2, "price": "140.001"}]
    status, results = await call(sim, "POST", "/api/v1/orders", "orderExecute", batch)
    assert status == 200 and results[0]["status"] == "New"
    assert results[1] == {"code": "INVALID_PRICE", "message": "Invalid price"}
    status, everything = await call(
        sim, "DELETE", "/api/v1/orders", "orderCancelAll", {"symbol": "SOL_USDC"}
    )
    assert status == 200 and [o["clientId"] for o in everything] == [1]


async def test_bad_signatures_are_rejected(sim: Simulator) -> None:
    path, instr = "/api/v1/order", "orderExecute"
    status, body = await call(sim, "POST", path, instr, ORDER, **{"X-Signature": "A" * 88})
    assert (status, body["code"]) == (400, "INVALID_SIGNATURE")
    # signed with the right key but another order: the body was tampered with
    tampered = headers(sim, instr, ORDER | {"quantity": "1"})
    status, body = await call(sim, "POST", path, instr, ORDER, **tampered)
    assert (status, body["code"]) == (400, "INVALID_SIGNATURE")
    other = base64.b64encode(key_of(RFC_SEED).public_key().public_bytes_raw()).decode()
    status, body = await call(sim, "POST", path, instr, ORDER, **{"X-API-Key": other})
    assert (status, body["code"]) == (401, "UNAUTHORIZED")
    status, body = await call(sim, "POST", path, instr, ORDER, **{"X-Timestamp": "1614550000000"})
    assert (status, body["code"]) == (400, "INVALID_CLIENT_REQUEST")
    async with aiohttp.ClientSession() as http:
        url = sim.env["HFTPY_BACKPACK_REST_URL"] + path
        async with http.post(url, data=json.dumps(ORDER)) as resp:
            assert resp.status == 401 and (await resp.json())["code"] == "UNAUTHORIZED"
    sim.inject("backpack", "reject_auth", count=1)
    status, body = await call(sim, "POST", path, instr, ORDER)
    assert (status, body["code"]) == (400, "INVALID_SIGNATURE")
    status, _ = await call(sim, "POST", path, instr, ORDER | {"clientId": 78})
    assert status == 200


def subscribe_frame(sim: Simulator, streams: list[str], seed: str | None = None) -> dict[str, Any]:
    env = sim.env
    ts = time.time_ns() // 1_000_000
    signature = sign(
        seed or env["HFTPY_BACKPACK_API_SECRET"],
        f"instruction=subscribe&timestamp={ts}&window=5000",
    )
    return {
        "method": "SUBSCRIBE",
        "params": streams,
        "signature": [env["HFTPY_BACKPACK_API_KEY"], signature, str(ts), "5000"],
    }


def stream(name: str) -> Any:
    return lambda m: isinstance(m, dict) and m.get("stream") == name


async def test_signed_private_subscribe_then_order_events(sim: Simulator) -> None:
    client = WsClient(await connect(sim.env["HFTPY_BACKPACK_WS_URL"]))
    await client.send(subscribe_frame(sim, ["account.orderUpdate.SOL_USDC", "depth.SOL_USDC"]))
    await asyncio.sleep(0.05)  # no ack is documented
    status, order = await call(sim, "POST", "/api/v1/order", "orderExecute", ORDER)
    assert status == 200
    _, message = await client.take(stream("account.orderUpdate.SOL_USDC"))
    data = message["data"]
    assert data["e"] == "orderAccepted" and data["i"] == order["id"] and data["X"] == "New"
    assert data["S"] == "Bid" and data["o"] == "LIMIT" and data["c"] == 77
    assert str(data["p"]) == "140.00" and isinstance(data["E"], int)
    await call(
        sim,
        "DELETE",
        "/api/v1/order",
        "orderCancel",
        {"symbol": "SOL_USDC", "orderId": order["id"]},
    )
    _, message = await client.take(stream("account.orderUpdate.SOL_USDC"))
    assert message["data"]["e"] == "orderCancelled" and message["data"]["X"] == "Cancelled"
    await client.close()


async def test_private_subscribe_refusals(sim: Simulator) -> None:
    client = WsClient(await connect(sim.env["HFTPY_BACKPACK_WS_URL"]))
    await client.send({"method": "SUBSCRIBE", "params": ["account.orderUpdate"], "id": 5})
    _, missing = await client.take(lambda m: isinstance(m, dict) and "error" in m)
    assert missing["id"] == 5 and missing["error"]["code"] == 4001
    await client.send(subscribe_frame(sim, ["account.orderUpdate"], seed=RFC_SEED))
    _, bad = await client.take(lambda m: isinstance(m, dict) and "error" in m)
    assert bad == {"id": None, "error": {"code": 4001, "message": "Invalid signature"}}
    await client.send(subscribe_frame(sim, ["account.nothing"]))
    _, unknown = await client.take(lambda m: isinstance(m, dict) and "error" in m)
    assert unknown["error"] == {"code": 4006, "message": "Invalid stream"}
    # nothing was subscribed: an order produces no frame
    await call(sim, "POST", "/api/v1/order", "orderExecute", ORDER)
    await asyncio.sleep(0.05)
    assert not [m for _, m in client.inbox if isinstance(m, dict) and "stream" in m]
    await client.close()
