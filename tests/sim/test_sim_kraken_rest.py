"""Kraken REST: API-Sign verification (official vector), nonce rule, public reference data."""

from __future__ import annotations

import json

import aiohttp

from hftpy.sim import Simulator

from .helpers import TOKEN_PATH, kraken_sign, post_signed

# reference/kraken.md §5: the official vector, and two more computed with the same secret.
SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
NONCE = "1616492376594"
FORM_BODY = b"nonce=1616492376594"
FORM_SIGN = (
    "+mRDmY9Ks0Moc1zjv/BjfvYa98buO0x1yHChZR5onlfAzAUbfIYlLggUZzdQ0RsmXm4Sh+Q8iAIZdo2wSeHeiA=="
)
JSON_BODY = b'{"nonce":"1616492376594"}'
JSON_SIGN = (
    "HPdpJhpIrtLjJZVt+Hh9BfWStC+WBySrpgTLHtVBJ7ZH9UdJOtersnssuRGVwxefF6bnUPz24Bq23UUmUtafXg=="
)


def test_signing_helper_matches_the_official_vector() -> None:
    payload = b"nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
    assert kraken_sign(SECRET, "/0/private/AddOrder", NONCE, payload) == (
        "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
    )
    assert kraken_sign(SECRET, TOKEN_PATH, NONCE, FORM_BODY) == FORM_SIGN
    assert kraken_sign(SECRET, TOKEN_PATH, NONCE, JSON_BODY) == JSON_SIGN


async def test_token_with_form_and_json_bodies_then_stale_nonce(sim: Simulator) -> None:
    url = sim.env["HFTPY_KRAKEN_REST_URL"]
    sim.kraken.add_api_key("form-key", SECRET, sim.kraken_account)
    sim.kraken.add_api_key("json-key", SECRET, sim.kraken_account)
    status, reply = await post_signed(url, "form-key", FORM_SIGN, FORM_BODY)
    assert status == 200 and reply["error"] == []
    assert reply["result"]["expires"] == 900
    assert len(reply["result"]["token"]) == 43
    _, reply = await post_signed(url, "json-key", JSON_SIGN, JSON_BODY, "application/json")
    assert reply["error"] == [] and len(reply["result"]["token"]) == 43
    # The same nonce again is not strictly greater than the last accepted one.
    _, reply = await post_signed(url, "form-key", FORM_SIGN, FORM_BODY)
    assert reply == {"error": ["EAPI:Invalid nonce"]}


async def test_auth_errors(sim: Simulator) -> None:
    env = sim.env
    url, key, secret = (
        env["HFTPY_KRAKEN_REST_URL"],
        env["HFTPY_KRAKEN_API_KEY"],
        env["HFTPY_KRAKEN_API_SECRET"],
    )
    body = b"nonce=5"
    good = kraken_sign(secret, TOKEN_PATH, "5", body)
    status, reply = await post_signed(url, "no-such-key", good, body)
    assert status == 200 and reply == {"error": ["EAPI:Invalid key"]}
    _, reply = await post_signed(url, key, kraken_sign(SECRET, TOKEN_PATH, "5", body), body)
    assert reply == {"error": ["EAPI:Invalid signature"]}
    _, reply = await post_signed(url, key, "not base64!", body)
    assert reply == {"error": ["EAPI:Invalid signature"]}
    _, reply = await post_signed(url, key, kraken_sign(secret, "/0/private/Other", "5", body), body)
    assert reply == {"error": ["EAPI:Invalid signature"]}
    _, reply = await post_signed(url, key, good, body)
    assert reply["error"] == []
    _, reply = await post_signed(
        url, key, kraken_sign(secret, TOKEN_PATH, "4", b"nonce=4"), b"nonce=4"
    )
    assert reply == {"error": ["EAPI:Invalid nonce"]}


async def test_public_time_status_and_asset_pairs(sim: Simulator) -> None:
    url = sim.env["HFTPY_KRAKEN_REST_URL"]
    async with aiohttp.ClientSession() as http:
        async with http.get(url + "/0/public/Time") as resp:
            now = await resp.json()
        async with http.get(url + "/0/public/SystemStatus") as resp:
            status = await resp.json()
        async with http.get(url + "/0/public/AssetPairs") as resp:
            pairs = await resp.json()
        async with http.get(url + "/0/public/AssetPairs?pair=XBTUSD,EUR/USD") as resp:
            raw = await resp.text()
        async with http.get(url + "/0/public/AssetPairs?pair=DOGEUSD") as resp:
            unknown = await resp.json()
        async with http.get(url + "/0/public/Nothing") as resp:
            no_method = await resp.json()
    assert now["error"] == [] and isinstance(now["result"]["unixtime"], int)
    assert now["result"]["rfc1123"].endswith("+0000")
    assert status["result"]["status"] == "online"
    assert set(pairs["result"]) == {"XXBTZUSD", "XETHZUSD", "ZEURZUSD"}
    btc = pairs["result"]["XXBTZUSD"]
    assert btc["altname"] == "XBTUSD" and btc["wsname"] == "XBT/USD"
    assert (btc["base"], btc["quote"]) == ("XXBT", "ZUSD")
    assert (btc["pair_decimals"], btc["lot_decimals"], btc["cost_decimals"]) == (1, 8, 5)
    assert (btc["ordermin"], btc["costmin"], btc["tick_size"]) == ("0.0001", "0.5", "0.1")
    assert btc["status"] == "online"
    assert pairs["result"]["ZEURZUSD"]["tick_size"] == "0.00001"
    # a pair asked for in its slash form comes back under that name (python-kraken-sdk relies on it)
    assert set(json.loads(raw)["result"]) == {"XXBTZUSD", "EUR/USD"}
    assert '"fees":[[0,0.4]]' in raw and '"fees_maker":[[0,0.25]]' in raw
    assert unknown == {"error": ["EQuery:Unknown asset pair"]}
    assert no_method == {"error": ["EGeneral:Unknown method"]}
