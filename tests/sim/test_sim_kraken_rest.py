"""Kraken REST: API-Sign verification (official vector), nonce rule, public reference data, and
REST trading (AddOrder, CancelOrder, CancelAll, AmendOrder, EditOrder, Balance, BalanceEx) on the
same orders as WS v2."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import aiohttp

from hftpy.sim import Account, Simulator

from .helpers import TOKEN_PATH, WsClient, kraken_sign, post_signed
from .test_sim_kraken_orders import rest

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


# ----- REST trading -----

ADD_ORDER = "/0/private/AddOrder"
CANCEL_ORDER = "/0/private/CancelOrder"
TXID = re.compile(r"O[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{6}")
BUY = {"ordertype": "limit", "type": "buy", "volume": "0.002", "pair": "XBTUSD", "price": "80000"}


async def add_order(sim: Simulator, **params: Any) -> dict[str, Any]:
    """AddOrder of BUY with these fields changed (None: left out)."""
    fields = {k: v for k, v in {**BUY, **params}.items() if v is not None}
    _, reply = await rest(sim, ADD_ORDER, fields)
    return reply


def maker(sim: Simulator) -> Account:
    """Another account, resting the other side of the book."""
    return sim.engine.add_account("kraken-maker", unlimited=True)


async def test_the_official_vector_request_places_its_order(sim: Simulator) -> None:
    """reference/kraken.md §5: the documented AddOrder body and API-Sign, sent as they are."""
    sim.kraken.add_api_key("vector-key", SECRET, sim.kraken_account)
    payload = b"nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
    signature = kraken_sign(SECRET, ADD_ORDER, NONCE, payload)
    url = sim.env["HFTPY_KRAKEN_REST_URL"]
    status, reply = await post_signed(url, "vector-key", signature, payload, path=ADD_ORDER)
    assert status == 200 and reply["error"] == []
    assert reply["result"]["descr"] == {"order": "buy 1.25000000 XBTUSD @ limit 37500.0"}
    (txid,) = reply["result"]["txid"]
    assert TXID.fullmatch(txid)
    [order] = sim.engine.open_orders(sim.kraken_account)
    assert (order.order_id, order.side, order.qty, order.price) == (
        txid,
        "buy",
        125_000_000,
        375_000,
    )


async def test_a_bad_signature_places_nothing(sim: Simulator) -> None:
    env = sim.env
    url, key, secret = (
        env["HFTPY_KRAKEN_REST_URL"],
        env["HFTPY_KRAKEN_API_KEY"],
        env["HFTPY_KRAKEN_API_SECRET"],
    )
    body = b"nonce=7&ordertype=market&type=buy&volume=0.01&pair=XBTUSD"
    signed_elsewhere = kraken_sign(secret, "/0/private/CancelOrder", "7", body)
    _, reply = await post_signed(url, key, signed_elsewhere, body, path=ADD_ORDER)
    assert reply == {"error": ["EAPI:Invalid signature"]}
    other_secret = kraken_sign(SECRET, ADD_ORDER, "7", body)
    _, reply = await post_signed(url, key, other_secret, body, path=ADD_ORDER)
    assert reply == {"error": ["EAPI:Invalid signature"]}
    _, reply = await post_signed(url, "no-such-key", signed_elsewhere, body, path=ADD_ORDER)
    assert reply == {"error": ["EAPI:Invalid key"]}
    assert sim.engine.open_orders(sim.kraken_account) == []
    assert sim.kraken_account.balance("BTC").total == 10 * 10**18  # nothing traded


async def test_rest_orders_are_ws_orders(sim: Simulator, ws: WsClient, token: str) -> None:
    """An order placed over REST is reported on `executions` and listed by OpenOrders; WS v2
    cancels it like its own, and REST CancelOrder cancels WS v2 orders."""
    await ws.request("subscribe", {"channel": "executions", "token": token, "snap_orders": False})
    placed = await add_order(sim, userref="42")
    assert placed["error"] == []
    (txid,) = placed["result"]["txid"]
    pending = await ws.execution("pending_new", txid)
    assert (pending["symbol"], pending["side"], pending["order_userref"]) == ("BTC/USD", "buy", 42)
    assert (pending["limit_price"], pending["order_qty"]) == (Decimal(80000), Decimal("0.002"))
    await ws.execution("new", txid)
    _, listed = await rest(sim, "/0/private/OpenOrders")
    assert list(listed["result"]["open"]) == [txid]
    assert (
        listed["result"]["open"][txid]["descr"]["order"] == "buy 0.00200000 XBTUSD @ limit 80000.0"
    )
    cancelled = await ws.request("cancel_order", {"order_id": [txid], "token": token})
    assert (
        cancelled["success"]
        and (await ws.execution("canceled", txid))["order_status"] == "canceled"
    )

    over_ws = await ws.request(
        "add_order",
        {
            "order_type": "limit",
            "side": "sell",
            "order_qty": 0.01,
            "symbol": "BTC/USD",
            "limit_price": 150000.0,
            "cl_ord_id": "ws-one",
            "token": token,
        },
    )
    ws_id = over_ws["result"]["order_id"]
    _, reply = await rest(sim, CANCEL_ORDER, {"cl_ord_id": "ws-one"})
    assert reply == {"error": [], "result": {"count": 1}}
    assert (await ws.execution("canceled", ws_id))["reason"] == "User requested"
    _, queried = await rest(sim, "/0/private/QueryOrders", {"txid": f"{txid},{ws_id}"})
    assert [o["status"] for o in queried["result"].values()] == ["canceled", "canceled"]


async def test_cancel_order_names_and_unknown_orders(sim: Simulator) -> None:
    ids = []
    for userref in ("7", "7", "8"):
        ids.append((await add_order(sim, userref=userref))["result"]["txid"][0])
    _, reply = await rest(sim, CANCEL_ORDER, {"txid": "OAAAAA-BBBBB-CCCCCC"})
    assert reply == {"error": ["EOrder:Unknown order"]}
    _, reply = await rest(sim, CANCEL_ORDER, {"txid": "7"})  # a userref: every order carrying it
    assert reply == {"error": [], "result": {"count": 2}}
    _, reply = await rest(sim, CANCEL_ORDER, {"txid": "7"})
    assert reply == {"error": ["EOrder:Unknown order"]}
    _, reply = await rest(sim, CANCEL_ORDER, {"txid": ids[0]})  # already cancelled
    assert reply == {"error": ["EOrder:Unknown order"]}
    _, reply = await rest(sim, CANCEL_ORDER, {"cl_ord_id": "never-placed"})
    assert reply == {"error": ["EOrder:Unknown order"]}
    _, reply = await rest(sim, CANCEL_ORDER)
    assert reply == {"error": ["EGeneral:Invalid arguments"]}
    _, reply = await rest(sim, CANCEL_ORDER, {"txid": ids[2]}, as_json=True)
    assert reply == {"error": [], "result": {"count": 1}}
    for _ in range(3):
        await add_order(sim)
    _, reply = await rest(sim, "/0/private/CancelAll")
    assert reply == {"error": [], "result": {"count": 3}}
    assert sim.engine.open_orders(sim.kraken_account) == []
    _, armed = await rest(sim, "/0/private/CancelAllOrdersAfter", {"timeout": "60"})
    assert armed["error"] == [] and armed["result"]["triggerTime"] > armed["result"]["currentTime"]
    _, disarmed = await rest(sim, "/0/private/CancelAllOrdersAfter", {"timeout": "0"})
    assert disarmed["result"]["triggerTime"] == "0"


async def test_add_order_refusals_and_validate(sim: Simulator) -> None:
    assert (await add_order(sim, volume="100"))["error"] == ["EOrder:Insufficient funds"]
    _, reply = await rest(sim, ADD_ORDER, {"ordertype": "limit", "type": "buy", "pair": "XBTUSD"})
    assert reply == {"error": ["EGeneral:Invalid arguments:volume"]}
    assert (await add_order(sim, ordertype="limit-ish"))["error"] == [
        "EGeneral:Invalid arguments:ordertype"
    ]
    assert (await add_order(sim, type="hold"))["error"] == ["EGeneral:Invalid arguments:type"]
    assert (await add_order(sim, pair="DOGEUSD"))["error"] == ["EQuery:Unknown asset pair"]
    assert (await add_order(sim, timeinforce="FOK"))["error"] == [
        "EGeneral:Invalid arguments:timeinforce"
    ]
    assert (await add_order(sim, volume="0.00001"))["error"] == [
        "EGeneral:Invalid arguments:volume minimum not met"
    ]
    sim.engine.place(maker(sim), "BTC/USD", "sell", 10**6, price=900_000)
    crossing = await add_order(sim, price="90000", oflags="fciq,post")
    assert crossing["error"] == ["EOrder:Post only order"]
    checked = await add_order(sim, validate="true")
    assert checked == {
        "error": [],
        "result": {"descr": {"order": "buy 0.00200000 XBTUSD @ limit 80000.0"}},
    }
    assert sim.engine.open_orders(sim.kraken_account) == []
    sim.inject("kraken", "maintenance")
    assert (await add_order(sim))["error"] == ["EService:Unavailable"]
    sim.inject("kraken", "cancel_only")
    assert (await add_order(sim))["error"] == ["EService:Market in cancel_only mode"]
    sim.inject("kraken", "post_only")
    assert (await add_order(sim))["error"] == ["EService:Market in post_only mode"]
    sim.inject("kraken", "online")
    sim.inject("kraken", "rate_limit", count=1)  # the counter of WS and REST trading alike
    assert (await add_order(sim))["error"] == ["EOrder:Rate limit exceeded"]
    assert (await add_order(sim, pair="XXBTZUSD", oflags="post"))["error"] == []
    [order] = sim.engine.open_orders(sim.kraken_account)
    assert order.post_only


async def test_market_order_fills_and_balances_follow(sim: Simulator) -> None:
    _, before = await rest(sim, "/0/private/Balance")
    assert before == {
        "error": [],
        "result": {
            "XXBT": "10.0000000000",
            "XETH": "200.0000000000",
            "ZEUR": "1000000.0000",
            "ZUSD": "1000000.0000",
        },
    }
    sim.engine.place(maker(sim), "BTC/USD", "buy", 10**8, price=900_000)
    reply = await add_order(sim, ordertype="market", type="sell", volume="0.5", price=None)
    assert reply["result"]["descr"] == {"order": "sell 0.50000000 XBTUSD @ market"}
    _, after = await rest(sim, "/0/private/BalanceEx")
    # 0.5 BTC sold at 90000.0: 45000 USD less the 0.40 % taker fee (180 USD)
    assert after["result"]["XXBT"] == {"balance": "9.5000000000", "hold_trade": "0.0000000000"}
    assert after["result"]["ZUSD"] == {"balance": "1044820.0000", "hold_trade": "0.0000"}
    await add_order(sim, price="80000", volume="1")
    _, held = await rest(sim, "/0/private/BalanceEx")
    # 80000 USD held for the resting buy, with its worst-case (taker) fee of 320 USD
    assert held["result"]["ZUSD"] == {"balance": "1044820.0000", "hold_trade": "80320.0000"}


async def test_amend_and_edit_order(sim: Simulator, ws: WsClient, token: str) -> None:
    await ws.request("subscribe", {"channel": "executions", "token": token, "snap_orders": False})
    (txid,) = (await add_order(sim, cl_ord_id="rest-amend"))["result"]["txid"]
    _, reply = await rest(
        sim, "/0/private/AmendOrder", {"cl_ord_id": "rest-amend", "limit_price": "80100.0"}
    )
    assert reply["error"] == [] and re.fullmatch(
        r"T[A-Z2-7]{5}-[A-Z2-7]{5}-[A-Z2-7]{6}", reply["result"]["amend_id"]
    )
    amended = await ws.execution("amended", txid)
    assert (amended["limit_price"], amended["order_qty"]) == (Decimal(80100), Decimal("0.002"))
    _, reply = await rest(sim, "/0/private/AmendOrder", {"txid": txid, "order_qty": "0.003"})
    assert reply["error"] == []
    [order] = sim.engine.open_orders(sim.kraken_account)
    assert (order.order_id, order.qty, order.price) == (txid, 300_000, 801_000)
    _, reply = await rest(
        sim, "/0/private/AmendOrder", {"txid": "OAAAAA-BBBBB-CCCCCC", "order_qty": "1"}
    )
    assert reply == {"error": ["EOrder:Unknown order"]}

    _, edited = await rest(
        sim,
        "/0/private/EditOrder",
        {"txid": txid, "pair": "XBTUSD", "price": "79000", "volume": "0.004"},
    )
    assert edited["error"] == []
    result = edited["result"]
    new_id = result["txid"]
    assert new_id != txid and result["originaltxid"] == txid and result["orders_cancelled"] == 1
    assert (result["status"], result["volume"], result["price"]) == ("ok", "0.00400000", "79000.0")
    assert result["descr"] == {"order": "buy 0.00400000 XBTUSD @ limit 79000.0"}
    assert (await ws.execution("canceled", txid))["reason"] == "Order replaced"
    await ws.execution("new", new_id)
    [order] = sim.engine.open_orders(sim.kraken_account)
    assert (order.order_id, order.qty, order.price) == (new_id, 400_000, 790_000)
