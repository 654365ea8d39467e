"""Upbit fidelity, as real clients hit it (issue 11): `GET` / `DELETE /v1/order` take `uuid` /
`identifier` in a JSON (or form) body as well as in the query string, as older clients send
them; the JWT's `query_hash` then covers the body's `k=v` pairs (reference B6). Every reply
carries `Remaining-Req`. Signed with the standard library (stdlib JWT, aiohttp)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import urlencode

import aiohttp

from hftpy.sim import Simulator

from .test_sim_upbit_private import demo_jwt, post_order

BID = {
    "market": "KRW-BTC",
    "side": "bid",
    "volume": "0.01",
    "price": "100000000",
    "ord_type": "limit",
    "identifier": "fidelity-1",
}
REMAINING = re.compile(r"^group=default; min=1800; sec=\d+$")


async def call(
    sim: Simulator,
    verb: str,
    *,
    query: dict[str, str] | None = None,
    body: str | None = None,
    content_type: str = "application/json",
    hashed: str | None = None,
) -> tuple[int, Any]:
    url = sim.env["HFTPY_UPBIT_REST_URL"] + "/v1/order"
    if query:
        url += "?" + urlencode(query)
    headers = {"Authorization": f"Bearer {demo_jwt(sim, hashed)}"}
    if body is not None:
        headers["Content-Type"] = content_type
    async with (
        aiohttp.ClientSession() as http,
        http.request(verb, url, data=body, headers=headers) as resp,
    ):
        assert REMAINING.match(resp.headers["Remaining-Req"]), resp.headers
        return resp.status, await resp.json()


async def test_order_lookup_and_cancel_by_body(sim: Simulator) -> None:
    status, placed = await post_order(sim, BID, demo_jwt(sim, urlencode(BID)))
    assert status == 201, placed
    order_uuid = placed["uuid"]

    body = json.dumps({"uuid": order_uuid})
    status, got = await call(sim, "GET", body=body, hashed=f"uuid={order_uuid}")
    assert status == 200 and got["uuid"] == order_uuid and got["state"] == "wait", got
    form = await call(
        sim,
        "GET",
        body=f"identifier={BID['identifier']}",
        content_type="application/x-www-form-urlencoded",
        hashed=f"identifier={BID['identifier']}",
    )
    assert form[0] == 200 and form[1]["uuid"] == order_uuid

    # the hash must cover the body's pairs: one over nothing (or over other text) is refused
    for wrong in (None, "uuid=something-else"):
        status, refused = await call(sim, "GET", body=body, hashed=wrong)
        assert (status, refused["error"]["name"]) == (401, "invalid_query_payload")

    status, cancelled = await call(
        sim,
        "DELETE",
        body=json.dumps({"identifier": BID["identifier"]}),
        hashed=f"identifier={BID['identifier']}",
    )
    assert status == 200 and cancelled["uuid"] == order_uuid, cancelled
    status, after = await call(sim, "GET", query={"uuid": order_uuid}, hashed=f"uuid={order_uuid}")
    assert status == 200 and after["state"] == "cancel"
    status, again = await call(sim, "DELETE", body=body, hashed=f"uuid={order_uuid}")
    assert status == 404 and again["error"]["name"] == "order_not_found"


async def test_query_and_body_together(sim: Simulator) -> None:
    """A name in both is the query string's; the hash covers the query's pairs, then the
    body's."""
    status, placed = await post_order(sim, BID, demo_jwt(sim, urlencode(BID)))
    assert status == 201
    order_uuid = placed["uuid"]
    body = json.dumps({"identifier": "not-this-one"})
    status, got = await call(
        sim,
        "GET",
        query={"uuid": order_uuid},
        body=body,
        hashed=f"uuid={order_uuid}&identifier=not-this-one",
    )
    assert status == 200 and got["uuid"] == order_uuid  # uuid wins over identifier anyway
    status, missing = await call(sim, "GET", body="{}", hashed=None)
    assert status == 400 and missing["error"]["name"] == "validation_error"
    status, broken = await call(sim, "GET", body="{not json", hashed=None)
    assert status == 400 and broken["error"]["name"] == "validation_error"
