"""Upbit's exchange side of the simulator, checked with a plain client: a stdlib JWT
(hmac/hashlib) written from reference B4/B6, aiohttp and `websockets`."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from hftpy.sim import Simulator
from hftpy.sim.errors import VenueError

NONCE = "00000000-0000-4000-8000-000000000000"
LIMIT_QUERY = "market=KRW-BTC&side=bid&volume=0.01&price=100000000&ord_type=limit"
# reference B6: HS512 no-params token and the limit-order token
NO_PARAMS_HS512 = (
    "eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9.eyJhY2Nlc3Nfa2V5IjoidGVzdC1hY2Nlc3Mta2V5Iiwibm9uY2UiOiIwM"
    "DAwMDAwMC0wMDAwLTQwMDAtODAwMC0wMDAwMDAwMDAwMDAifQ.IRJz1h69PFYpG6JidEP0Y7SNH2i1SnvFduGtOARTFPBx"
    "0pCfnB-MV5ZWqAKjTvoF7jTUs6VoVvORZD91huR9gA"
)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(access: str, secret: str, query: str | None = None, alg: str = "HS512") -> str:
    payload: dict[str, Any] = {"access_key": access, "nonce": str(uuid.uuid4())}
    if query:
        payload["query_hash"] = hashlib.sha512(query.encode()).hexdigest()
        payload["query_hash_alg"] = "SHA512"
    head = b64url(json.dumps({"alg": alg, "typ": "JWT"}, separators=(",", ":")).encode())
    body = b64url(json.dumps(payload, separators=(",", ":")).encode())
    digest = hashlib.sha512 if alg == "HS512" else hashlib.sha256
    signature = hmac.new(secret.encode(), f"{head}.{body}".encode(), digest).digest()
    return f"{head}.{body}.{b64url(signature)}"


def demo_jwt(sim: Simulator, query: str | None = None, alg: str = "HS512") -> str:
    env = sim.env
    return jwt(env["HFTPY_UPBIT_API_KEY"], env["HFTPY_UPBIT_API_SECRET"], query, alg)


async def post_order(sim: Simulator, order: dict[str, str], token: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            sim.env["HFTPY_UPBIT_REST_URL"] + "/v1/orders",
            data=json.dumps(order),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        ) as resp,
    ):
        return resp.status, await resp.json()


async def delete_order(sim: Simulator, params: dict[str, str], token: str) -> tuple[int, Any]:
    url = f"{sim.env['HFTPY_UPBIT_REST_URL']}/v1/order?{urlencode(params, quote_via=quote)}"
    async with (
        aiohttp.ClientSession() as http,
        http.delete(url, headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        return resp.status, await resp.json()


ORDER = {
    "market": "KRW-BTC",
    "side": "bid",
    "volume": "0.01",
    "price": "100000000",
    "ord_type": "limit",
}


def test_reference_tokens_verify_and_nonces_are_single_use(sim: Simulator) -> None:
    venue = sim.upbit
    venue.add_api_key("test-access-key", "test-secret-key", venue.demo_account)
    account, nonce = venue.verify("Bearer " + NO_PARAMS_HS512, None)
    assert account is venue.demo_account and nonce == NONCE
    with pytest.raises(VenueError, match="nonce") as info:
        venue.verify("Bearer " + NO_PARAMS_HS512, None)
    assert (info.value.code, info.value.status) == ("nonce_used", 401)
    token = jwt("test-access-key", "test-secret-key", LIMIT_QUERY)
    venue.verify("Bearer " + token, LIMIT_QUERY)
    wrong_order = jwt("test-access-key", "test-secret-key", LIMIT_QUERY)
    with pytest.raises(VenueError) as info:
        venue.verify("Bearer " + wrong_order, LIMIT_QUERY.replace("0.01", "0.02"))
    assert (info.value.code, info.value.status) == ("invalid_query_payload", 401)
    hs256 = jwt("test-access-key", "test-secret-key", LIMIT_QUERY, "HS256")
    venue.verify("Bearer " + hs256, LIMIT_QUERY)


async def test_order_and_cancel_with_query_hash(sim: Simulator) -> None:
    query = "&".join(f"{k}={v}" for k, v in ORDER.items())
    status, order = await post_order(sim, ORDER, demo_jwt(sim, query))
    assert status == 201 and order["state"] == "wait" and order["market"] == "KRW-BTC"
    assert order["price"] == "100000000" and order["volume"] == "0.01"
    cancel = {"uuid": order["uuid"]}
    status, cancelled = await delete_order(sim, cancel, demo_jwt(sim, f"uuid={order['uuid']}"))
    assert status == 200 and cancelled["uuid"] == order["uuid"]
    status, again = await delete_order(sim, cancel, demo_jwt(sim, f"uuid={order['uuid']}"))
    assert status == 404 and again["error"]["name"] == "order_not_found"
    # an identifier with characters that need percent-encoding: the hash is of the raw text
    ident = {"identifier": "a:b+c d"}
    status, body = await delete_order(sim, ident, demo_jwt(sim, "identifier=a:b+c d"))
    assert status == 404 and body["error"]["name"] == "order_not_found"


async def test_jwt_failures_are_401_with_upbit_names(sim: Simulator) -> None:
    env = sim.env
    query = "&".join(f"{k}={v}" for k, v in ORDER.items())
    cases = {
        "jwt_verification": jwt(env["HFTPY_UPBIT_API_KEY"], "wrong-secret", query),
        "invalid_access_key": jwt("unknown-key", env["HFTPY_UPBIT_API_SECRET"], query),
        "invalid_query_payload": demo_jwt(sim),  # parameters but no query_hash
    }
    for name, token in cases.items():
        status, body = await post_order(sim, ORDER, token)
        assert (status, body["error"]["name"]) == (401, name)
    # hashing the JSON text instead of the query string (a classic client bug)
    status, body = await post_order(sim, ORDER, demo_jwt(sim, json.dumps(ORDER)))
    assert (status, body["error"]["name"]) == (401, "invalid_query_payload")
    async with (
        aiohttp.ClientSession() as http,
        http.post(env["HFTPY_UPBIT_REST_URL"] + "/v1/orders", json=ORDER) as resp,
    ):
        assert resp.status == 401
        assert (await resp.json())["error"]["name"] == "no_authorization_token"


async def test_order_validation_errors(sim: Simulator) -> None:
    def order_with(**changes: str) -> dict[str, str]:
        return ORDER | changes

    cases = {
        "under_min_total_bid": order_with(volume="0.00001"),
        "invalid_price_bid": order_with(price="100000500"),
        "insufficient_funds_ask": order_with(side="ask", volume="5000"),
        "validation_error": order_with(ord_type="stop"),
    }
    for name, order in cases.items():
        query = "&".join(f"{k}={v}" for k, v in order.items())
        status, body = await post_order(sim, order, demo_jwt(sim, query))
        assert (status, body["error"]["name"]) == (400, name), body


async def test_private_ws_needs_a_valid_jwt_and_streams_my_order(sim: Simulator) -> None:
    url = sim.env["HFTPY_UPBIT_WS_PRIVATE_URL"]
    with pytest.raises(InvalidStatus) as info:
        await connect(url)
    assert info.value.response.status_code == 401
    assert json.loads(info.value.response.body)["error"]["name"] == "no_authorization_token"
    bad = jwt(sim.env["HFTPY_UPBIT_API_KEY"], "wrong-secret")
    with pytest.raises(InvalidStatus) as info:
        await connect(url, additional_headers={"Authorization": f"Bearer {bad}"})
    assert json.loads(info.value.response.body)["error"]["name"] == "jwt_verification"

    ws = await connect(url, additional_headers={"Authorization": f"Bearer {demo_jwt(sim)}"})
    await ws.send("PING")
    assert json.loads(await ws.recv()) == {"status": "UP"}
    await ws.send(json.dumps([{"ticket": "t"}, {"type": "myAsset", "codes": ["KRW-BTC"]}]))
    assert json.loads(await ws.recv())["error"]["name"] == "WRONG_FORMAT"
    request = [{"ticket": "t"}, {"type": "myOrder", "codes": ["KRW-BTC"]}, {"format": "SIMPLE"}]
    await ws.send(json.dumps(request))
    await asyncio.sleep(0.05)
    query = "&".join(f"{k}={v}" for k, v in ORDER.items())
    status, order = await post_order(sim, ORDER, demo_jwt(sim, query))
    assert status == 201
    frame = await asyncio.wait_for(ws.recv(), 2)
    assert isinstance(frame, bytes)  # Upbit pushes binary frames
    message = json.loads(frame)
    assert message["ty"] == "myOrder" and message["uid"] == order["uuid"]
    assert message["s"] == "wait" and message["ab"] == "BID" and message["st"] == "REALTIME"
    await ws.close()
