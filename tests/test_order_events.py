"""The one order-event model from every venue's private channel.

Parsers on documented sample messages (reference digests and venue docs: exact `Decimal`s,
ns times, statuses), the typed listeners and queues of `WsApiBase` fed through each venue
API's own frame decoder, and end to end against the simulator over loopback: a resting order
partly filled by another account, then cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
import pytest

from hftpy.common import CurrencyPair, Exchange, Side
from hftpy.exchange import create_exchange_api, create_exchange_ws_api
from hftpy.exchange.backpack import BackpackWsApi
from hftpy.exchange.backpack.events import parse as parse_backpack
from hftpy.exchange.binance import BinanceWsApi
from hftpy.exchange.binance.events import parse as parse_binance
from hftpy.exchange.kraken import KrakenWsApi
from hftpy.exchange.kraken.events import parse as parse_kraken
from hftpy.exchange.orders import Fill, OrderEvent, OrderStatus, OrderUpdate, rfc3339_ns
from hftpy.exchange.upbit import UpbitWsApi
from hftpy.exchange.upbit.events import parse as parse_upbit
from hftpy.exchange.ws_api import WsApiBase
from hftpy.sim import Simulator
from hftpy.sim.backpack import BACKPACK_API_KEY, BACKPACK_API_SECRET

RECV_NS = 1_716_033_717_000_000_000
#: What the Kraken and Upbit WS APIs decode with: JSON numbers keep their text as Decimals.
EXACT = msgspec.json.Decoder(float_hook=Decimal)


def exact(text: str) -> dict[str, Any]:
    message: dict[str, Any] = EXACT.decode(text)
    return message


def updates_of(events: list[OrderEvent]) -> list[OrderUpdate]:
    return [e for e in events if isinstance(e, OrderUpdate)]


def fills_of(events: list[OrderEvent]) -> list[Fill]:
    return [e for e in events if isinstance(e, Fill)]


def same_digits(value: Decimal | None, text: str) -> bool:
    """Equal and written with the same digits (the wire text, trailing zeros included)."""
    return value is not None and value.as_tuple() == Decimal(text).as_tuple()


# -- shared helpers ---------------------------------------------------------------------------


def test_rfc3339_ns_is_exact_to_the_digit() -> None:
    assert rfc3339_ns("2024-05-18T12:01:56.165888Z") == 1_716_033_716_165_888_000
    assert rfc3339_ns("2024-05-18T12:01:56.123456789Z") == 1_716_033_716_123_456_789
    assert rfc3339_ns("2024-05-18T12:01:56Z") == 1_716_033_716_000_000_000
    assert rfc3339_ns("2024-05-18T21:01:56.5+09:00") == 1_716_033_716_500_000_000
    with pytest.raises(ValueError, match="RFC 3339"):
        rfc3339_ns("18/05/2024 12:01")


def test_status_finality() -> None:
    assert [s for s in OrderStatus if s.is_open] == [
        OrderStatus.PENDING,
        OrderStatus.NEW,
        OrderStatus.PARTIALLY_FILLED,
    ]
    assert OrderStatus.CANCELLED.is_final and not OrderStatus.CANCELLED.is_open


# -- Kraken executions ------------------------------------------------------------------------

# Items as captured on the live wire (reference kraken.md §4; kraken-async-rs captures).
KRAKEN_PENDING = """{"order_id":"AHOJQ8-1E72C-8M2VQH","symbol":"ADX/USD","order_qty":81.36256082,
"cum_cost":0.0,"time_in_force":"GTC","exec_type":"pending_new","side":"buy",
"order_type":"limit","order_userref":0,"limit_price_type":"static","limit_price":0.18328,
"stop_price":0.0,"order_status":"pending_new","fee_usd_equiv":0.0,"fee_ccy_pref":"fciq",
"timestamp":"2024-05-18T12:01:56.165888Z"}"""
KRAKEN_NEW = """{"timestamp":"2024-05-18T12:01:56.166018Z","order_status":"new",
"exec_type":"new","order_userref":0,"order_id":"AHOJQ8-1E72C-8M2VQH"}"""
KRAKEN_TRADE = """{"order_id":"NG6PUE-C7MXN-CFCAMC","exec_id":"B1Y0D9-6JIJG-W1IB7L",
"exec_type":"trade","trade_id":37496584,"symbol":"BTC/USD","side":"sell","last_qty":0.00016,
"last_price":63377.2,"liquidity_ind":"t","cost":10.12445,"order_status":"filled",
"order_type":"limit","timestamp":"2024-05-19T16:36:08.829345Z","fee_usd_equiv":0.0405,
"fees":[{"asset":"USD","qty":0.04051}]}"""
KRAKEN_CANCEL = """{"order_status":"canceled","exec_type":"canceled","cum_qty":0,"cum_cost":0,
"avg_price":0,"reason":"User requested","order_id":"KIUEL4-G3PWU-HOJTYU",
"timestamp":"2024-05-20T10:00:00.000001Z"}"""
KRAKEN_AMENDED = """{"exec_type":"amended","order_status":"new","amended":true,
"order_qty":5.1,"limit_price":0.96,"reason":"User requested","order_id":"KIUEL4-G3PWU-HOJTYU",
"cl_ord_id":"2c6be801-1f53-4f79-a0bb-4ea1c95dfae9","timestamp":"2024-05-20T10:00:00Z"}"""


def kraken_message(kind: str, *items: str) -> dict[str, Any]:
    return exact(
        f'{{"channel":"executions","type":"{kind}","data":[{",".join(items)}],"sequence":2}}'
    )


def test_kraken_pending_new_and_new() -> None:
    events = parse_kraken(kraken_message("update", KRAKEN_PENDING, KRAKEN_NEW), RECV_NS)
    pending, new = updates_of(events)
    assert len(events) == 2
    assert pending.exchange is Exchange.KRAKEN and pending.status is OrderStatus.PENDING
    assert (pending.symbol, pending.order_id, pending.side) == (
        "ADX/USD",
        "AHOJQ8-1E72C-8M2VQH",
        Side.BUY,
    )
    assert same_digits(pending.amount, "81.36256082") and same_digits(pending.price, "0.18328")
    assert pending.order_type == "limit" and pending.filled is None and pending.remaining is None
    assert pending.exch_ns == 1_716_033_716_165_888_000 and pending.recv_ns == RECV_NS
    assert pending.raw["fee_ccy_pref"] == "fciq"
    # a `new` item holds only ids and status: the rest stays unknown (the tracker fills it in)
    assert new.status is OrderStatus.NEW and new.order_id == "AHOJQ8-1E72C-8M2VQH"
    assert (new.symbol, new.side, new.price, new.amount) == ("", None, None, None)
    assert new.exch_ns == 1_716_033_716_166_018_000


def test_kraken_trade_gives_a_fill_and_an_update() -> None:
    fill, update = parse_kraken(kraken_message("update", KRAKEN_TRADE), RECV_NS)
    assert isinstance(fill, Fill) and isinstance(update, OrderUpdate)
    assert fill.trade_id == "37496584" and fill.order_id == "NG6PUE-C7MXN-CFCAMC"
    assert same_digits(fill.price, "63377.2") and same_digits(fill.amount, "0.00016")
    assert same_digits(fill.fee, "0.04051") and fill.fee_currency == "USD"
    assert fill.maker is False and fill.side is Side.SELL and fill.symbol == "BTC/USD"
    assert fill.exch_ns == rfc3339_ns("2024-05-19T16:36:08.829345Z") == update.exch_ns
    assert update.status is OrderStatus.FILLED and update.remaining == 0
    assert fill.raw is update.raw and fill.raw["exec_id"] == "B1Y0D9-6JIJG-W1IB7L"


def test_kraken_trade_that_says_partially_filled_then_filled() -> None:
    # reference kraken.md: a completing trade may say partially_filled; `filled` follows.
    trade = KRAKEN_TRADE.replace('"order_status":"filled"', '"order_status":"partially_filled"')
    trade = trade.replace('"liquidity_ind":"t"', '"liquidity_ind":"m"')
    filled = """{"order_id":"NG6PUE-C7MXN-CFCAMC","exec_type":"filled","order_status":"filled",
    "cum_qty":0.00016000,"cum_cost":10.12445,"avg_price":63377.2,
    "timestamp":"2024-05-19T16:36:08.829400Z"}"""
    events = parse_kraken(kraken_message("update", trade, filled), RECV_NS)
    assert [type(e).__name__ for e in events] == ["Fill", "OrderUpdate", "OrderUpdate"]
    assert fills_of(events)[0].maker is True
    first, last = updates_of(events)
    assert first.status is OrderStatus.PARTIALLY_FILLED and first.remaining is None
    assert last.status is OrderStatus.FILLED and same_digits(last.filled, "0.00016000")
    assert same_digits(last.avg_price, "63377.2") and last.remaining == 0


def test_kraken_cancel_and_amend() -> None:
    cancel, amend = updates_of(
        parse_kraken(kraken_message("update", KRAKEN_CANCEL, KRAKEN_AMENDED), RECV_NS)
    )
    assert cancel.status is OrderStatus.CANCELLED and cancel.reason == "User requested"
    assert cancel.filled == 0 and cancel.avg_price is None and cancel.remaining == 0
    assert cancel.exch_ns == 1_716_199_200_000_001_000
    assert amend.status is OrderStatus.NEW and amend.reason == "User requested"
    assert same_digits(amend.amount, "5.1") and same_digits(amend.price, "0.96")
    assert amend.client_order_id == "2c6be801-1f53-4f79-a0bb-4ea1c95dfae9"


def test_kraken_snapshot_trades_are_fills_only() -> None:
    order = KRAKEN_PENDING.replace('"exec_type":"pending_new"', '"exec_type":"new"').replace(
        '"order_status":"pending_new"', '"order_status":"new"'
    )
    events = parse_kraken(kraken_message("snapshot", order, KRAKEN_TRADE), RECV_NS)
    assert [type(e).__name__ for e in events] == ["OrderUpdate", "Fill"]
    assert updates_of(events)[0].status is OrderStatus.NEW


def test_kraken_status_without_order_status_and_unknown_values() -> None:
    restated = exact(
        '{"exec_type":"restated","order_id":"X","cum_qty":0.5,"timestamp":"2024-05-20T10:00:00Z"}'
    )
    (update,) = parse_kraken({"channel": "executions", "data": [restated]}, RECV_NS)
    assert isinstance(update, OrderUpdate) and update.status is OrderStatus.PARTIALLY_FILLED
    with pytest.raises(ValueError, match="order_status 'held'"):
        parse_kraken({"data": [{"exec_type": "new", "order_status": "held"}]}, RECV_NS)
    with pytest.raises(ValueError, match="data list"):
        parse_kraken({"channel": "executions"}, RECV_NS)


def test_kraken_numbers_must_keep_their_text() -> None:
    # msgspec's default decoder would have made floats of these: they are refused, never
    # rounded; the Kraken WS API decodes its frames with a Decimal float hook instead.
    lossy = msgspec.json.decode(KRAKEN_TRADE.encode())
    with pytest.raises(TypeError, match="exact wire number"):
        parse_kraken({"channel": "executions", "data": [lossy]}, RECV_NS)


# -- Binance executionReport ------------------------------------------------------------------

# The user-data-stream docs' example (reference binance.md §6), then its trade and cancel.
BINANCE_NEW: dict[str, Any] = {
    "e": "executionReport",
    "E": 1499405658658,
    "s": "ETHBTC",
    "c": "mUvoqJxFIILMdfAW5iGSOW",
    "S": "BUY",
    "o": "LIMIT",
    "f": "GTC",
    "q": "1.00000000",
    "p": "0.10264410",
    "P": "0.00000000",
    "F": "0.00000000",
    "g": -1,
    "C": "",
    "x": "NEW",
    "X": "NEW",
    "r": "NONE",
    "i": 4293153,
    "l": "0.00000000",
    "z": "0.00000000",
    "L": "0.00000000",
    "n": "0",
    "N": None,
    "T": 1499405658657,
    "t": -1,
    "v": 3,
    "I": 8641984,
    "w": True,
    "m": False,
    "M": False,
    "O": 1499405658657,
    "Z": "0.00000000",
    "Y": "0.00000000",
    "Q": "0.00000000",
    "W": 1499405658657,
    "V": "NONE",
}
BINANCE_TRADE = BINANCE_NEW | {
    "E": 1499405659000,
    "T": 1499405658999,
    "x": "TRADE",
    "X": "PARTIALLY_FILLED",
    "l": "0.40000000",
    "z": "0.40000000",
    "L": "0.10264410",
    "n": "0.00000041",
    "N": "BNB",
    "t": 34567,
    "m": True,
    "Z": "0.04105764",
    "Y": "0.04105764",
}
BINANCE_CANCEL = BINANCE_TRADE | {
    "E": 1499405660000,
    "T": 1499405660000,
    "c": "web_cancel_7c2f",
    "C": "mUvoqJxFIILMdfAW5iGSOW",
    "x": "CANCELED",
    "X": "CANCELED",
    "l": "0.00000000",
    "L": "0.00000000",
    "n": "0",
    "N": None,
    "t": -1,
}


def test_binance_new_report() -> None:
    (update,) = parse_binance(BINANCE_NEW, RECV_NS)
    assert isinstance(update, OrderUpdate)
    assert update.exchange is Exchange.BINANCE and update.status is OrderStatus.NEW
    assert (update.order_id, update.client_order_id) == ("4293153", "mUvoqJxFIILMdfAW5iGSOW")
    assert (update.symbol, update.side, update.order_type) == ("ETHBTC", Side.BUY, "limit")
    assert same_digits(update.price, "0.10264410") and same_digits(update.amount, "1.00000000")
    assert update.filled == 0 and same_digits(update.remaining, "1.00000000")
    assert update.avg_price is None and update.reason is None
    assert update.exch_ns == 1_499_405_658_657_000_000 and update.recv_ns == RECV_NS


def test_binance_trade_report_gives_a_fill() -> None:
    fill, update = parse_binance({"subscriptionId": 0, "event": BINANCE_TRADE}, RECV_NS)
    assert isinstance(fill, Fill) and isinstance(update, OrderUpdate)
    assert (fill.trade_id, fill.order_id, fill.maker) == ("34567", "4293153", True)
    assert same_digits(fill.price, "0.10264410") and same_digits(fill.amount, "0.40000000")
    assert same_digits(fill.fee, "0.00000041") and fill.fee_currency == "BNB"
    assert fill.exch_ns == 1_499_405_658_999_000_000
    assert update.status is OrderStatus.PARTIALLY_FILLED
    assert same_digits(update.remaining, "0.60000000") and same_digits(update.filled, "0.40000000")
    assert update.avg_price == Decimal("0.10264410")  # Z / z


def test_binance_cancel_reports_the_original_client_id() -> None:
    (update,) = parse_binance(BINANCE_CANCEL, RECV_NS)
    assert isinstance(update, OrderUpdate)
    assert update.status is OrderStatus.CANCELLED and update.remaining == 0
    assert update.client_order_id == "mUvoqJxFIILMdfAW5iGSOW"
    assert same_digits(update.filled, "0.40000000")


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("PENDING_NEW", OrderStatus.PENDING),
        ("FILLED", OrderStatus.FILLED),
        ("REJECTED", OrderStatus.REJECTED),
        ("EXPIRED", OrderStatus.EXPIRED),
        ("EXPIRED_IN_MATCH", OrderStatus.EXPIRED),
    ],
)
def test_binance_statuses(status: str, expected: OrderStatus) -> None:
    report = BINANCE_NEW | {"X": status, "x": "EXPIRED" if "EXPIRED" in status else "NEW"}
    if status == "REJECTED":
        report |= {"r": "INSUFFICIENT_BALANCES"}
    (update,) = parse_binance(report, RECV_NS)
    assert isinstance(update, OrderUpdate) and update.status is expected
    assert update.reason == ("INSUFFICIENT_BALANCES" if status == "REJECTED" else None)
    with pytest.raises(ValueError, match="unknown binance order status"):
        parse_binance(BINANCE_NEW | {"X": "HALTED"}, RECV_NS)


def test_binance_other_events_give_nothing() -> None:
    assert parse_binance({"e": "outboundAccountPosition", "E": 1, "B": []}, RECV_NS) == []


# -- Backpack account.orderUpdate -------------------------------------------------------------

# The docs' orderAccepted example (reference A4), a fill of it, and ccxt's live market sample.
BACKPACK_ACCEPTED: dict[str, Any] = {
    "e": "orderAccepted",
    "E": 1694687692980000,
    "s": "SOL_USD",
    "c": 123,
    "S": "Bid",
    "o": "LIMIT",
    "f": "GTC",
    "q": "32123",
    "p": "20",
    "X": "New",
    "i": "1111343026172067",
    "z": "0",
    "Z": "0",
    "T": 1694687692989999,
}
BACKPACK_FILL = BACKPACK_ACCEPTED | {
    "e": "orderFill",
    "E": 1694687693000000,
    "X": "PartiallyFilled",
    "t": 567,
    "l": "1.23",
    "L": "20",
    "z": "1.23",
    "Z": "24.6",
    "m": True,
    "n": "0.0123",
    "N": "USD",
    "T": 1694687692999999,
}
BACKPACK_MARKET = {
    "e": "orderAccepted",
    "E": 1730000000000001,
    "O": "USER",
    "Q": "4.30",
    "S": "Bid",
    "T": 1730000000000000,
    "V": "RejectTaker",
    "X": "New",
    "Z": "0",
    "f": "GTC",
    "i": "5406825793",
    "o": "MARKET",
    "q": "0.0010",
    "r": False,
    "s": "ETH_USDC",
    "t": None,
    "z": "0",
}


def test_backpack_accepted_and_fill() -> None:
    (accepted,) = parse_backpack({"stream": "account.orderUpdate", "data": BACKPACK_ACCEPTED}, 7)
    assert isinstance(accepted, OrderUpdate) and accepted.exchange is Exchange.BACKPACK
    assert accepted.status is OrderStatus.NEW and accepted.client_order_id == "123"
    assert (accepted.order_id, accepted.side, accepted.order_type) == (
        "1111343026172067",
        Side.BUY,
        "limit",
    )
    assert same_digits(accepted.price, "20") and same_digits(accepted.amount, "32123")
    assert accepted.exch_ns == 1_694_687_692_989_999_000 and accepted.recv_ns == 7
    fill, update = parse_backpack(
        {"stream": "account.orderUpdate.SOL_USD", "data": BACKPACK_FILL}, 7
    )
    assert isinstance(fill, Fill) and isinstance(update, OrderUpdate)
    assert (fill.trade_id, fill.maker, fill.fee_currency) == ("567", True, "USD")
    assert same_digits(fill.price, "20") and same_digits(fill.amount, "1.23")
    assert same_digits(fill.fee, "0.0123") and fill.exch_ns == 1_694_687_692_999_999_000
    assert update.status is OrderStatus.PARTIALLY_FILLED
    assert same_digits(update.remaining, "32121.77") and update.avg_price == Decimal("20")


def test_backpack_market_order_and_the_other_events() -> None:
    (update,) = parse_backpack({"stream": "account.orderUpdate", "data": BACKPACK_MARKET}, 1)
    assert isinstance(update, OrderUpdate)
    assert update.order_type == "market" and update.price is None and update.client_order_id is None
    assert same_digits(update.amount, "0.0010")
    expected = {
        ("orderCancelled", "Cancelled"): OrderStatus.CANCELLED,
        ("orderExpired", "Expired"): OrderStatus.EXPIRED,
        ("triggerPlaced", "TriggerPending"): OrderStatus.NEW,
        ("triggerFailed", "TriggerFailed"): OrderStatus.REJECTED,
        ("orderFill", "Filled"): OrderStatus.FILLED,
        ("speedbumped", "PendingRelease"): OrderStatus.PENDING,
    }
    for (kind, status), wanted in expected.items():
        data = BACKPACK_FILL | {"e": kind, "X": status, "R": "PRICE_BAND"}
        got = updates_of(parse_backpack({"data": data, "stream": "account.orderUpdate"}, 1))[0]
        assert got.status is wanted, kind
        assert got.reason == "PRICE_BAND"
    with pytest.raises(ValueError, match="unknown backpack order status"):
        parse_backpack(BACKPACK_ACCEPTED | {"X": "Paused"}, 1)


# -- Upbit myOrder -----------------------------------------------------------------------------

# Documented fields (reference B4; docs.upbit.com websocket-myorder), DEFAULT format.
UPBIT_WAIT = """{"type":"myOrder","code":"KRW-BTC","uuid":"ac2dc2a3-fce9-40a2-a4f6-5987c25c438f",
"ask_bid":"BID","order_type":"limit","state":"wait","trade_uuid":null,"price":140000000.0,
"avg_price":0.0,"volume":0.00200000,"remaining_volume":0.00200000,"executed_volume":0.0,
"trades_count":0,"reserved_fee":0.0,"remaining_fee":0.0,"paid_fee":0.0,"locked":280000.0,
"executed_funds":0.0,"time_in_force":null,"trade_fee":null,"is_maker":null,
"identifier":"my-order-7","smp_type":null,"prevented_volume":0,"prevented_locked":0,
"trade_timestamp":null,"order_timestamp":1710751590000,"timestamp":1710751590421,
"stream_type":"REALTIME"}"""
UPBIT_TRADE = (
    UPBIT_WAIT.replace('"state":"wait"', '"state":"trade"')
    .replace('"trade_uuid":null', '"trade_uuid":"68315169-fba4-4175-ade3-aff14a616657"')
    .replace('"price":140000000.0', '"price":139999000.0')
    .replace('"avg_price":0.0', '"avg_price":139999000.0')
    .replace('"volume":0.00200000', '"volume":0.00050000')
    .replace('"remaining_volume":0.00200000', '"remaining_volume":0.00150000')
    .replace('"executed_volume":0.0', '"executed_volume":0.00050000')
    .replace('"trade_fee":null', '"trade_fee":34.99975')
    .replace('"is_maker":null', '"is_maker":true')
    .replace('"trade_timestamp":null', '"trade_timestamp":1710751591000')
    .replace('"timestamp":1710751590421', '"timestamp":1710751591007')
)

#: DEFAULT key -> SIMPLE key, the myOrder table of the docs.
UPBIT_SIMPLE = {
    "type": "ty",
    "code": "cd",
    "uuid": "uid",
    "ask_bid": "ab",
    "order_type": "ot",
    "state": "s",
    "trade_uuid": "tuid",
    "price": "p",
    "avg_price": "ap",
    "volume": "v",
    "remaining_volume": "rv",
    "executed_volume": "ev",
    "trades_count": "tc",
    "reserved_fee": "rsf",
    "remaining_fee": "rmf",
    "paid_fee": "pf",
    "locked": "l",
    "executed_funds": "ef",
    "time_in_force": "tif",
    "trade_fee": "tf",
    "is_maker": "im",
    "identifier": "id",
    "smp_type": "smpt",
    "prevented_volume": "pv",
    "prevented_locked": "pl",
    "trade_timestamp": "ttms",
    "order_timestamp": "otms",
    "timestamp": "tms",
    "stream_type": "st",
}


def test_upbit_wait_then_trade() -> None:
    (wait,) = parse_upbit(exact(UPBIT_WAIT), RECV_NS)
    assert isinstance(wait, OrderUpdate) and wait.exchange is Exchange.UPBIT
    assert wait.status is OrderStatus.NEW and wait.side is Side.BUY
    assert (wait.order_id, wait.client_order_id, wait.symbol) == (
        "ac2dc2a3-fce9-40a2-a4f6-5987c25c438f",
        "my-order-7",
        "KRW-BTC",
    )
    assert same_digits(wait.price, "140000000.0") and same_digits(wait.amount, "0.00200000")
    assert same_digits(wait.remaining, "0.00200000") and wait.avg_price is None
    assert wait.exch_ns == 1_710_751_590_421_000_000
    fill, update = parse_upbit(exact(UPBIT_TRADE), RECV_NS)
    assert isinstance(fill, Fill) and isinstance(update, OrderUpdate)
    assert fill.trade_id == "68315169-fba4-4175-ade3-aff14a616657" and fill.maker is True
    assert same_digits(fill.price, "139999000.0") and same_digits(fill.amount, "0.00050000")
    assert same_digits(fill.fee, "34.99975") and fill.fee_currency == "KRW"
    assert fill.exch_ns == 1_710_751_591_000_000_000
    # a trade message's price/volume are the fill's: the update reports no limit price
    assert update.status is OrderStatus.PARTIALLY_FILLED and update.price is None
    assert update.amount == Decimal("0.002") and same_digits(update.remaining, "0.00150000")
    assert same_digits(update.avg_price, "139999000.0")
    assert update.exch_ns == 1_710_751_591_007_000_000


def test_upbit_simple_format_reads_the_same() -> None:
    default = exact(UPBIT_TRADE)
    simple = {UPBIT_SIMPLE[key]: value for key, value in default.items()}
    assert parse_upbit(simple, RECV_NS) == parse_upbit(default, RECV_NS)
    assert len(parse_upbit(simple, RECV_NS)) == 2


@pytest.mark.parametrize(
    ("state", "executed", "status", "reason"),
    [
        ("wait", "0.0005", OrderStatus.PARTIALLY_FILLED, None),
        ("watch", "0.0", OrderStatus.NEW, None),
        ("done", "0.002", OrderStatus.FILLED, None),
        ("cancel", "0.0005", OrderStatus.CANCELLED, None),  # partly filled, still cancelled
        ("prevented", "0.0", OrderStatus.CANCELLED, "prevented (cancel_maker)"),
    ],
)
def test_upbit_states(state: str, executed: str, status: OrderStatus, reason: str | None) -> None:
    message = exact(UPBIT_WAIT) | {
        "state": state,
        "executed_volume": Decimal(executed),
        "smp_type": "cancel_maker" if state == "prevented" else None,
    }
    (update,) = parse_upbit(message, RECV_NS)
    assert isinstance(update, OrderUpdate)
    assert update.status is status and update.reason == reason
    assert update.remaining == (0 if status.is_final else Decimal("0.00200000"))


def test_upbit_market_buy_reports_no_limit_price() -> None:
    message = exact(UPBIT_WAIT) | {
        "order_type": "price",
        "price": Decimal("655000"),
        "volume": None,
    }
    (update,) = parse_upbit(message, RECV_NS)
    assert isinstance(update, OrderUpdate)
    assert update.order_type == "market" and update.price is None and update.amount is None
    with pytest.raises(ValueError, match="unknown upbit order state"):
        parse_upbit(exact(UPBIT_WAIT) | {"state": "paused"}, RECV_NS)


# -- WsApiBase wiring, through each venue API's frame decoder --------------------------------


@pytest.fixture
async def offline_apis() -> AsyncIterator[dict[Exchange, WsApiBase]]:
    """API objects that are never started: frames are handed to `_on_frame` directly."""
    local = "127.0.0.1:9"
    apis: dict[Exchange, WsApiBase] = {
        Exchange.KRAKEN: KrakenWsApi(
            api_key="k", api_secret="c2VjcmV0", url=f"ws://{local}/v2", rest_url=f"http://{local}"
        ),
        Exchange.BINANCE: BinanceWsApi(api_key="k", api_secret="s", url=f"ws://{local}/ws-api/v3"),
        Exchange.BACKPACK: BackpackWsApi(
            api_key=BACKPACK_API_KEY,
            api_secret=BACKPACK_API_SECRET,
            url=f"ws://{local}",
            rest_url=f"http://{local}",
        ),
        Exchange.UPBIT: UpbitWsApi(
            api_key="k", api_secret="s", url=f"ws://{local}/private", rest_url=f"http://{local}"
        ),
    }
    yield apis
    for api in apis.values():
        await api.close()


def frames(exchange: Exchange) -> tuple[str, bytes, int]:
    """(raw channel, one order-channel frame, the events it holds) per venue."""
    if exchange is Exchange.KRAKEN:
        text = f'{{"channel":"executions","type":"update","data":[{KRAKEN_TRADE}],"sequence":3}}'
        return "executions", text.encode(), 2
    if exchange is Exchange.BINANCE:
        frame = {"subscriptionId": 0, "event": BINANCE_TRADE}
        return "executionReport", msgspec.json.encode(frame), 2
    if exchange is Exchange.BACKPACK:
        frame = {"stream": "account.orderUpdate", "data": BACKPACK_FILL}
        return "account.orderUpdate", msgspec.json.encode(frame), 2
    return "myOrder", UPBIT_TRADE.encode(), 2


@pytest.mark.parametrize("exchange", list(Exchange))
async def test_typed_listeners_and_queues_on_every_venue(
    offline_apis: dict[Exchange, WsApiBase], exchange: Exchange
) -> None:
    api = offline_apis[exchange]
    channel, frame, count = frames(exchange)
    assert api.execution_channel == channel  # on_execution works everywhere
    raw: list[dict[str, Any]] = []
    api.on_execution(lambda message, recv_ns: raw.append(message))
    order: list[str] = []
    sunk: list[OrderEvent] = []
    api._add_order_event_sink(lambda event: (sunk.append(event), order.append("sink")))
    updates: list[OrderUpdate] = []
    api.on_order_update(lambda update: (updates.append(update), order.append("update")))
    fills: list[Fill] = []
    api.on_fill(lambda fill: (fills.append(fill), order.append("fill")))
    update_queue, fill_queue = api.order_updates(), api.fills()
    api._on_frame(frame, RECV_NS, 1)
    assert len(raw) == 1 and len(sunk) == count
    assert order == ["sink", "fill", "sink", "update"]  # the sink sees each event first
    (fill,), (update,) = fills, updates
    assert fill.exchange is exchange and update.exchange is exchange
    assert fill.recv_ns == update.recv_ns == RECV_NS and isinstance(fill.price, Decimal)
    assert fill_queue.get_nowait() is fill and update_queue.get_nowait() is update
    # every Decimal came from the wire text: the Kraken and Upbit APIs decode exactly
    assert str(fill.price) in frame.decode() and str(fill.amount) in frame.decode()


async def test_nothing_is_parsed_until_someone_listens(
    offline_apis: dict[Exchange, WsApiBase], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, Any]] = []

    def counting(message: dict[str, Any], recv_ns: int) -> list[OrderEvent]:
        calls.append(message)
        return parse_kraken(message, recv_ns)

    monkeypatch.setattr(KrakenWsApi, "order_event_parser", staticmethod(counting))
    api = offline_apis[Exchange.KRAKEN]
    for sink in (api._order_listeners or {}).get("sinks", ()):  # the API's own (its tracker)
        api.remove_order_listener(sink)
    _, frame, _ = frames(Exchange.KRAKEN)
    raw = api.channel_queue()
    api._on_frame(frame, RECV_NS, 1)
    assert raw.qsize() == 1 and calls == []
    fills: list[Fill] = []
    api.on_fill(fills.append)
    heartbeat = b'{"channel":"heartbeat"}'
    api._on_frame(heartbeat, RECV_NS, 1)  # not the order channel: not parsed
    api._on_frame(frame, RECV_NS, 1)
    assert len(calls) == 1 and len(fills) == 1
    api.remove_order_listener(fills.append)
    api._on_frame(frame, RECV_NS, 1)
    assert len(calls) == 1 and len(fills) == 1  # nobody left: not parsed again
    with pytest.raises(ValueError, match="not an order event listener"):
        api.remove_order_listener(fills.append)


async def test_remove_queues_and_bounded_queues_drop_the_oldest(
    offline_apis: dict[Exchange, WsApiBase], caplog: pytest.LogCaptureFixture
) -> None:
    api = offline_apis[Exchange.BINANCE]
    newest = api.order_updates(maxsize=1)
    gone = api.fills()
    api.remove_order_listener(gone)
    for event_time in (1, 2):
        frame = {"subscriptionId": 0, "event": BINANCE_TRADE | {"T": event_time}}
        api._on_frame(msgspec.json.encode(frame), RECV_NS, 1)
    assert newest.qsize() == 1 and newest.get_nowait().exch_ns == 2_000_000
    assert gone.empty()
    assert "binance order update queue full: dropping the oldest" in caplog.text


async def test_a_parser_error_is_logged_once_and_breaks_nothing(
    offline_apis: dict[Exchange, WsApiBase], caplog: pytest.LogCaptureFixture
) -> None:
    api = offline_apis[Exchange.UPBIT]
    raw: list[dict[str, Any]] = []
    api.on_execution(lambda message, recv_ns: raw.append(message))
    updates: list[OrderUpdate] = []

    def broken(update: OrderUpdate) -> None:
        raise RuntimeError("a listener's bug")

    api.on_order_update(broken)
    api.on_order_update(updates.append)
    api.on_fill(lambda fill: None)
    api._on_frame(UPBIT_WAIT.replace('"state":"wait"', '"state":"paused"').encode(), RECV_NS, 1)
    parser_errors = [r for r in caplog.records if "cannot read order events" in r.getMessage()]
    assert len(parser_errors) == 1 and parser_errors[0].levelno == logging.ERROR
    assert (
        parser_errors[0].getMessage().startswith("upbit: cannot read order events from a myOrder")
    )
    assert len(raw) == 1 and updates == []  # the raw listener still had its message
    api._on_frame(UPBIT_WAIT.encode(), RECV_NS, 1)
    assert len(raw) == 2 and [u.status for u in updates] == [OrderStatus.NEW]
    assert "upbit OrderUpdate listener raised" in caplog.text


async def test_backpack_per_symbol_streams_do_not_repeat_events(
    offline_apis: dict[Exchange, WsApiBase],
) -> None:
    api = offline_apis[Exchange.BACKPACK]
    assert isinstance(api, BackpackWsApi)
    updates: list[OrderUpdate] = []
    api.on_order_update(updates.append)
    for stream in ("account.orderUpdate", "account.orderUpdate.SOL_USD"):
        frame = {"stream": stream, "data": BACKPACK_ACCEPTED}
        api._on_frame(msgspec.json.encode(frame), RECV_NS, 1)
    assert len(updates) == 1  # the all-symbols stream is subscribed: it alone counts
    await api.unsubscribe("account.orderUpdate")
    await api.subscribe("account.orderUpdate.SOL_USD")
    frame = {"stream": "account.orderUpdate.SOL_USD", "data": BACKPACK_ACCEPTED}
    api._on_frame(msgspec.json.encode(frame), RECV_NS, 1)
    assert len(updates) == 2 and updates[1].symbol == "SOL_USD"


# -- end to end against the simulator ---------------------------------------------------------


Api = TypeVar("Api", bound=WsApiBase)


@asynccontextmanager
async def started(api: Api) -> AsyncIterator[Api]:
    runner = asyncio.create_task(api.start())
    await api.wait_ready(timeout=5)
    yield api
    await api.close()
    await runner


class Recorder:
    """Every typed event of one API object, for one order id."""

    def __init__(self, api: WsApiBase) -> None:
        self.updates = api.order_updates()
        self.fills = api.fills()
        self.raw: list[dict[str, Any]] = []
        api.on_execution(lambda message, recv_ns: self.raw.append(message))

    async def life_of(self, order_id: str) -> list[OrderUpdate]:
        """The order's updates until it is final."""
        seen: list[OrderUpdate] = []
        while not seen or seen[-1].status.is_open:
            update = await asyncio.wait_for(self.updates.get(), 5)
            if update.order_id == order_id:
                seen.append(update)
        return seen

    async def fill_of(self, order_id: str) -> Fill:
        while True:
            fill = await asyncio.wait_for(self.fills.get(), 5)
            if fill.order_id == order_id:
                return fill


def check_times(events: list[OrderUpdate] | list[Fill]) -> None:
    for event in events:
        assert event.recv_ns > 1_600_000_000 * 10**9
        # the simulator stamps its events a moment before the frame is read
        assert 0 <= event.recv_ns - event.exch_ns < 5 * 10**9, event


def statuses(updates: list[OrderUpdate]) -> list[OrderStatus]:
    return [u.status for u in updates]


P = OrderStatus.PENDING
N, PF, C = OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.CANCELLED


async def test_kraken_end_to_end(sim: Simulator) -> None:
    env = sim.env
    creds = {"api_key": env["HFTPY_KRAKEN_API_KEY"], "api_secret": env["HFTPY_KRAKEN_API_SECRET"]}
    create_exchange_api(Exchange.KRAKEN, **creds, url=env["HFTPY_KRAKEN_REST_URL"])
    api = create_exchange_ws_api(Exchange.KRAKEN, **creds, url=env["HFTPY_KRAKEN_WS_AUTH_URL"])
    async with started(api):
        events = Recorder(api)
        placed = await api.place_order(
            CurrencyPair.BTC_USD, Side.BUY, "0.002", "99000.0", post_only=True, wait=True
        )
        order_id = placed.response["result"]["order_id"]
        counterparty = sim.engine.add_account("counterparty", unlimited=True)
        sim.engine.place(counterparty, "BTC/USD", "sell", 100_000, price=990_000)  # 0.001 @ 99000
        fill = await events.fill_of(order_id)
        assert (await api.cancel_order(order_id=order_id, wait=True)).ok
        life = await events.life_of(order_id)
        assert statuses(life) == [P, N, PF, C]
        pending, new, partial, cancelled = life
        assert {u.client_order_id for u in (pending, new, partial, cancelled)} == {
            placed.request["cl_ord_id"]
        }
        assert pending.symbol == "BTC/USD" and pending.side is Side.BUY
        assert same_digits(pending.amount, "0.00200000") and same_digits(pending.price, "99000.0")
        assert same_digits(partial.filled, "0.00100000") and same_digits(
            partial.avg_price, "99000.0"
        )
        assert cancelled.reason == "User requested" and cancelled.remaining == 0
        assert same_digits(cancelled.filled, "0.00100000")
        assert same_digits(fill.price, "99000.0") and same_digits(fill.amount, "0.00100000")
        # the demo account's maker fee, 0.25 % of 99 USD, at Kraken's 5 cost decimals
        assert same_digits(fill.fee, "0.24750") and fill.fee_currency == "USD"
        assert fill.maker is True and fill.trade_id is not None and fill.side is Side.BUY
        check_times(life)
        check_times([fill])
        assert {m["channel"] for m in events.raw} == {"executions"}


async def test_binance_end_to_end(sim: Simulator) -> None:
    env = sim.env
    api = create_exchange_ws_api(
        Exchange.BINANCE,
        api_key=env["HFTPY_BINANCE_API_KEY"],
        api_secret=env["HFTPY_BINANCE_API_SECRET"],
        url=env["HFTPY_BINANCE_WS_API_URL"],
    )
    async with started(api):
        events = Recorder(api)
        placed = await api.place_order(
            CurrencyPair.BTC_USDT, Side.BUY, "0.002", "99000", post_only=None, wait=True
        )
        order_id = str(placed.response["result"]["orderId"])
        counterparty = sim.engine.add_account("counterparty", unlimited=True)
        sim.engine.place(counterparty, "BTCUSDT", "sell", 100, price=9_900_000)  # 0.001 @ 99000
        fill = await events.fill_of(order_id)
        cancel = await api.cancel_order(order_id, symbol=CurrencyPair.BTC_USDT, wait=True)
        assert cancel.ok
        life = await events.life_of(order_id)
        assert statuses(life) == [N, PF, C]
        new, partial, cancelled = life
        client_id = placed.request["newClientOrderId"]
        assert {u.client_order_id for u in life} == {client_id}  # the cancel's `C`
        assert new.order_type == "limit" and same_digits(new.price, "99000.00000000")
        assert same_digits(new.amount, "0.00200000") and same_digits(new.remaining, "0.00200000")
        assert same_digits(partial.remaining, "0.00100000") and partial.avg_price == 99000
        assert cancelled.remaining == 0 and same_digits(cancelled.filled, "0.00100000")
        assert same_digits(fill.price, "99000.00000000") and same_digits(fill.amount, "0.00100000")
        assert same_digits(fill.fee, "0.09900000") and fill.fee_currency == "USDT"  # 0.1 %
        assert fill.maker is True and fill.client_order_id == client_id
        check_times(life)
        check_times([fill])
        assert {m["e"] for m in events.raw} == {"executionReport"}


async def test_backpack_end_to_end(sim: Simulator) -> None:
    env = sim.env
    api = create_exchange_ws_api(
        Exchange.BACKPACK,
        api_key=env["HFTPY_BACKPACK_API_KEY"],
        api_secret=env["HFTPY_BACKPACK_API_SECRET"],
        url=env["HFTPY_BACKPACK_WS_URL"],
        rest_url=env["HFTPY_BACKPACK_REST_URL"],
    )
    async with started(api):
        assert isinstance(api, BackpackWsApi) and "account.orderUpdate" in api.streams
        events = Recorder(api)
        await asyncio.sleep(0.1)  # no subscribe ack is documented
        placed = await api.place_order(
            CurrencyPair.SOL_USDC, Side.BUY, "2", "140", post_only=True, wait=True
        )
        order_id = placed.response["result"]["id"]
        counterparty = sim.engine.add_account("counterparty", unlimited=True)
        sim.engine.place(counterparty, "SOL_USDC", "sell", 100, price=14_000)  # 1 @ 140
        fill = await events.fill_of(order_id)
        cancel = await api.cancel_order(order_id=order_id, symbol=CurrencyPair.SOL_USDC, wait=True)
        assert cancel.ok
        life = await events.life_of(order_id)
        assert statuses(life) == [N, PF, C]
        new, partial, cancelled = life
        assert {u.client_order_id for u in life} == {str(placed.request["clientId"])}
        assert new.order_type == "limit" and new.symbol == "SOL_USDC"
        assert same_digits(new.price, "140.00") and same_digits(new.amount, "2.00")
        assert same_digits(partial.remaining, "1.00") and partial.avg_price == 140
        assert cancelled.remaining == 0 and same_digits(cancelled.filled, "1.00")
        assert same_digits(fill.price, "140.00") and same_digits(fill.amount, "1.00")
        assert fill.fee == 0 and fill.fee_currency == "USDC" and fill.maker is True
        check_times(life)
        check_times([fill])
        assert events.raw and {m["stream"] for m in events.raw} == {"account.orderUpdate"}


async def test_upbit_end_to_end(sim: Simulator) -> None:
    env = sim.env
    api = create_exchange_ws_api(
        Exchange.UPBIT,
        api_key=env["HFTPY_UPBIT_API_KEY"],
        api_secret=env["HFTPY_UPBIT_API_SECRET"],
        url=env["HFTPY_UPBIT_WS_PRIVATE_URL"],
        rest_url=env["HFTPY_UPBIT_REST_URL"],
    )
    async with started(api):
        events = Recorder(api)
        await asyncio.sleep(0.05)  # the subscription is a message of its own
        placed = await api.place_order(
            CurrencyPair.BTC_KRW, Side.BUY, "0.002", 130_000_000, wait=True
        )
        order_id = placed.response["result"]["uuid"]
        counterparty = sim.engine.add_account("counterparty", unlimited=True)
        sim.engine.place(counterparty, "KRW-BTC", "sell", 100_000, price=130_000_000)  # 0.001
        fill = await events.fill_of(order_id)
        assert (await api.cancel_order(order_id, wait=True)).ok
        life = await events.life_of(order_id)
        assert statuses(life) == [N, PF, C]
        new, partial, cancelled = life
        assert {u.client_order_id for u in life} == {placed.request["identifier"]}
        assert new.order_type == "limit" and new.price == 130_000_000
        assert new.amount == Decimal("0.002") and new.side is Side.BUY
        assert partial.price is None and partial.amount == Decimal("0.002")
        assert same_digits(partial.remaining, "0.001") and partial.avg_price == 130_000_000
        assert cancelled.remaining == 0 and same_digits(cancelled.filled, "0.001")
        assert fill.price == 130_000_000 and same_digits(fill.amount, "0.001")
        assert fill.fee == 0 and fill.fee_currency == "KRW" and fill.maker is True
        check_times(life)
        check_times([fill])
        assert {m["type"] for m in events.raw} == {"myOrder"}
