"""Frames built in Rust are byte-identical to the generic Python encoding: for a table of
orders (exact decimals, floats, ints, text; every option), for any flat params (hypothesis:
whatever Rust writes, the generic path writes the same, signature included), and the number
text rules match the Python rules they replace for any value (hypothesis)."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hftpy.exchange.binance.ws_api as binance_ws
from hftpy._core import BinanceFrames, Ed25519Signer, HmacSha256Signer, KrakenFrames, number_text
from hftpy.exchange.binance import BinanceWsApi
from hftpy.exchange.codec import ENCODER
from hftpy.exchange.frames import STYLE_BINANCE, STYLE_FIXED, STYLE_KRAKEN
from hftpy.exchange.kraken import KrakenRestApi, KrakenWsApi
from hftpy.redact import Secret

ED25519_SEED = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="


# -- the Python rules, as they were before Rust wrote the numbers ---------------------------
def kraken_reference(value: Any) -> str | None:
    if type(value) is float:
        return ENCODER.encode(value).decode() if 0 < value < math.inf else None
    if type(value) is int:
        return str(value) if value > 0 else None
    number = Decimal(str(value))
    return ENCODER.encode(number).decode() if number.is_finite() and number > 0 else None


def binance_reference(value: Any) -> str | None:
    if type(value) is float:
        if not 0 < value < math.inf:
            return None
        text = repr(value)
        return text if "e" not in text else format(Decimal(text), "f")
    if type(value) is int:
        return str(value) if value > 0 else None
    text = str(value)
    number = Decimal(text)
    if not number.is_finite() or number <= 0:
        return None
    return text if text.replace(".", "", 1).isdigit() else format(number, "f")


def fixed_reference(value: Any) -> str | None:
    if type(value) is float and not math.isfinite(value):
        return None
    number = Decimal(repr(value) if type(value) is float else str(value))
    return format(number, "f") if number.is_finite() and number > 0 else None


REFERENCES = {
    STYLE_KRAKEN: kraken_reference,
    STYLE_BINANCE: binance_reference,
    STYLE_FIXED: fixed_reference,
}

decimals = st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
    lambda d: abs(d.adjusted()) < 15
)


@settings(max_examples=400, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_floats_as_the_python_rules_write_them(value: float) -> None:
    for style, reference in REFERENCES.items():
        text = number_text(value, style)
        if value > 0:
            assert text == reference(value), (style, value)
        else:
            assert text is None


@settings(max_examples=400, deadline=None)
@given(decimals)
def test_decimals_and_their_text_as_the_python_rules_write_them(value: Decimal) -> None:
    for given_value in (value, str(value), format(value, "f")):
        for style, reference in REFERENCES.items():
            text = number_text(given_value, style)
            if text is not None:  # None: the Python path decides (same result or error)
                assert text == reference(given_value), (style, given_value)
            elif value > 0 and style == STYLE_FIXED:
                raise AssertionError(f"fixed text refused {given_value!r}")


@pytest.mark.parametrize(
    "value",
    [True, False, 0, -1, 0.0, -0.5, math.nan, " 1", "1_000", "abc", "-0", 10**30, Decimal("-1")],
)
def test_refused_values_take_the_python_path(value: Any) -> None:
    for style in REFERENCES:
        assert number_text(value, style) is None


def test_frames_print_no_secret() -> None:
    kraken = KrakenFrames(b'"secret-token"')
    binance = BinanceFrames("secret-key", HmacSha256Signer("secret"))
    assert "secret" not in repr(kraken) + repr(binance)
    assert kraken.build("ping", {}, 1) == (
        b'{"method":"ping","params":{"token":"secret-token"},"req_id":1}'
    )


# -- any flat params --------------------------------------------------------------------------
scalars = st.one_of(
    st.text(max_size=10),
    st.text(alphabet="abcXYZ019.-_/:", max_size=10),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.decimals(places=None).filter(lambda d: not d.is_finite() or abs(d.adjusted()) < 15),
    st.none(),
)
flat_params = st.dictionaries(
    st.text(alphabet="abcdefgxyzABC_", min_size=1, max_size=8),
    st.one_of(scalars, st.lists(scalars, max_size=3), st.tuples(scalars, scalars)),
    max_size=8,
)


def generic_or_none(encode: Any, *args: Any) -> bytes | None:
    try:
        return bytes(encode(*args))
    except Exception:  # what the generic path refuses, Rust must leave to it
        return None


@settings(max_examples=500, deadline=None)
@given(flat_params, st.integers(min_value=0, max_value=2**31))
def test_kraken_frames_match_the_generic_encoding(params: dict[str, Any], req_id: int) -> None:
    rest = KrakenRestApi(api_key="key", api_secret="c2VjcmV0", url="http://127.0.0.1:9")
    api = KrakenWsApi(url="ws://127.0.0.1:9/v2", rest_api=rest)
    api._set_token(Secret("WS-token/with+chars="))
    built = api._frames.build("add_order", params, req_id)
    if built is not None:
        assert built == generic_or_none(api._encode_generic, "add_order", params, req_id)
    if all(type(v) in (str, int) and 0 < len(str(v)) < 8 for v in params.values()) and all(
        v.isalnum() and v.isascii() for v in map(str, params.values())
    ):
        assert built is not None  # plain text and small ints: always Rust's


@settings(max_examples=300, deadline=None)
@given(flat_params, st.sampled_from(["hmac", "ed25519", "ed25519-logged-on"]))
def test_binance_frames_match_the_generic_encoding(params: dict[str, Any], kind: str) -> None:
    if kind == "hmac":
        api = BinanceWsApi(api_key="key", api_secret="secret", url="ws://127.0.0.1:9")
    else:
        api = BinanceWsApi(api_key="key", ed25519_key=ED25519_SEED, url="ws://127.0.0.1:9")
        api._logged_on = kind == "ed25519-logged-on"
    params = {k: v for k, v in params.items() if k not in ("apiKey", "signature")}
    built = api._frames.build("order.place", dict(params), 7, not api._logged_on)
    if built is None:
        return
    generic = dict(params)
    if api._logged_on:
        assert built == generic_or_none(api._encode_plain, "order.place", generic, 7)
        return
    frame, signature = built
    assert frame == generic_or_none(api._encode_signed, "order.place", generic, 7)
    assert generic["signature"].reveal() == signature


# -- Kraken add_order ---------------------------------------------------------------------
NUMBERS: list[tuple[Any, Any]] = [
    (0.001, 80000.0),
    (Decimal("0.00100000"), Decimal("80000.1")),
    ("0.5", "99999.9"),
    ("1e-3", "8E4"),
    (Decimal("1E-8"), Decimal("1.5E+2")),
    (1, 80000),
    (1.5e-7, 1e16),
    (0.1 + 0.2, 12345.678),
]
KRAKEN_OPTIONS: list[dict[str, Any]] = [
    {},
    {"post_only": True},
    {"time_in_force": "ioc"},
    {"reduce_only": True, "validate": True},
    {"cl_ord_id": "my-order-1"},
    {"order_userref": 7},
    {"order_type": "market", "price": None},
    {"expire_time": "2030-01-01T00:00:00Z", "time_in_force": "gtd"},
    {"cl_ord_id": 'quote"inside'},
]


@pytest.fixture
def kraken() -> KrakenWsApi:
    rest = KrakenRestApi(api_key="key", api_secret="c2VjcmV0", url="http://127.0.0.1:9")
    api = KrakenWsApi(url="ws://127.0.0.1:9/v2", rest_api=rest)
    api._set_token(Secret("WS-token/with+chars="))
    return api


@pytest.mark.parametrize("options", KRAKEN_OPTIONS, ids=repr)
@pytest.mark.parametrize(("qty", "price"), NUMBERS, ids=repr)
def test_kraken_add_order_frames_are_identical(
    kraken: KrakenWsApi, qty: Any, price: Any, options: dict[str, Any]
) -> None:
    options = dict(options)
    price = options.pop("price", price)
    params = kraken._add_order_params(
        "BTC/USD",
        "sell",
        qty,
        price,
        options.pop("order_type", "limit"),
        options.pop("post_only", False),
        options.pop("time_in_force", None),
        options.pop("cl_ord_id", None),
        options.pop("reduce_only", None),
        options.pop("order_userref", None),
        options.pop("validate", None),
        options,
    )
    for req_id in (1, 2**31 - 2**24 - 1):
        frame = kraken._encode("add_order", dict(params), req_id)
        assert frame == kraken._encode_generic("add_order", dict(params), req_id)
        msgspec.json.decode(frame)
    if '"' not in str(params.get("cl_ord_id")):
        assert kraken._frames.build("add_order", params, 1) is not None  # Rust wrote it
    kraken._set_token(Secret("another-token"))  # a new token: new frames
    frame = kraken._encode("add_order", dict(params), 3)
    assert b'"another-token"' in frame
    assert frame == kraken._encode_generic("add_order", dict(params), 3)


@pytest.mark.parametrize(
    "ids",
    [{"order_id": ["OK4GZK-XOTOY-U4C4X5"]}, {"cl_ord_id": ["a", "b"]}, {"order_userref": [1, 2]}],
    ids=repr,
)
def test_kraken_cancel_and_amend_frames_are_identical(
    kraken: KrakenWsApi, ids: dict[str, Any]
) -> None:
    params, _ = kraken._cancel_params(
        ids.get("order_id"), ids.get("cl_ord_id"), None, ids.get("order_userref")
    )
    assert kraken._frames.build("cancel_order", params, 9) is not None
    assert kraken._encode("cancel_order", params, 9) == kraken._encode_generic(
        "cancel_order", params, 9
    )
    amend = kraken._amend_params(
        "OK4GZK-XOTOY-U4C4X5", None, None, None, Decimal("0.5"), None, 80000.5, True
    )
    assert kraken._frames.build("amend_order", amend, 10) is not None
    assert kraken._encode("amend_order", amend, 10) == kraken._encode_generic(
        "amend_order", amend, 10
    )


# -- Binance order.place ------------------------------------------------------------------
BINANCE_OPTIONS: list[dict[str, Any]] = [
    {},
    {"post_only": True},
    {"time_in_force": "IOC"},
    {"order_type": "market", "price": None},
    {"client_order_id": "strategy-1_x:y/z"},
    {"newOrderRespType": "ACK"},
]


@pytest.fixture(params=["hmac", "ed25519", "ed25519-logged-on"])
def binance(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> BinanceWsApi:
    monkeypatch.setattr(binance_ws, "_time_ns", lambda: 1_754_000_000_123_456_789)
    if request.param == "hmac":
        api = BinanceWsApi(api_key="key", api_secret="secret", url="ws://127.0.0.1:9")
    else:
        api = BinanceWsApi(api_key="key", ed25519_key=ED25519_SEED, url="ws://127.0.0.1:9")
        api._logged_on = request.param == "ed25519-logged-on"
    api.time_offset_ms = -12
    return api


@pytest.mark.parametrize("options", BINANCE_OPTIONS, ids=repr)
@pytest.mark.parametrize(("qty", "price"), NUMBERS, ids=repr)
def test_binance_order_place_frames_are_identical(
    binance: BinanceWsApi, qty: Any, price: Any, options: dict[str, Any]
) -> None:
    options = dict(options)
    price = options.pop("price", price)
    params = binance._place_params(
        "BTCUSDT",
        "buy",
        qty,
        price,
        options.pop("order_type", "limit"),
        options.pop("post_only", False),
        options.pop("time_in_force", None),
        options.pop("client_order_id", "fixed-id"),
        None,
        None,
        options,
    )
    templated = dict(params)
    generic = dict(params)
    frame = binance._encode("order.place", templated, 42)
    assert frame == binance._encode_generic("order.place", generic, 42)
    assert templated == generic  # what callbacks see: the same, secrets as Secret
    assert list(templated) == list(generic)
    assert all(repr(v) == "'***'" for k, v in templated.items() if k in ("apiKey", "signature"))
    msgspec.json.decode(frame)
    stamped = {k: v for k, v in templated.items() if k not in ("apiKey", "signature")}
    built = binance._frames.build("order.place", stamped, 42, not binance._logged_on)
    assert built is not None  # Rust wrote it
    assert (built if isinstance(built, bytes) else built[0]) == frame


def test_binance_frames_without_a_signer_leave_signing_to_python() -> None:
    frames = BinanceFrames("key", None)
    assert frames.build("order.place", {"symbol": "BTCUSDT"}, 1, True) is None
    assert frames.build("order.place", {"symbol": "BTCUSDT"}, 1, False) == (
        b'{"id":1,"method":"order.place","params":{"symbol":"BTCUSDT"}}'
    )
    assert frames.build("time", {}, 2, False) == b'{"id":2,"method":"time"}'
    signed = BinanceFrames("key", Ed25519Signer(ED25519_SEED)).build("x", {"a": "1"}, 3, True)
    assert isinstance(signed, tuple) and signed[0].endswith(
        b'"signature":"%s"}}' % (signed[1].encode())
    )


# -- Backpack POST /api/v1/order (Ed25519) and Upbit POST /v1/orders (JWT) -------------------
BACKPACK_KEY = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
REST_OPTIONS: list[dict[str, Any]] = [
    {},
    {"post_only": True},
    {"time_in_force": "ioc"},
    {"order_type": "market", "price": None},
]


def backpack_reference(rest: Any, instruction: str, params: Any, ts: int) -> tuple[bytes, str]:
    """The Python path: msgspec body, Python signing string, the Rust signer."""
    signature, _ = rest.sign(instruction, params, timestamp=ts)
    return ENCODER.encode(params), signature


@pytest.fixture
def backpack_rest() -> Any:
    from hftpy.exchange.backpack import BackpackRestApi

    return BackpackRestApi(api_key=BACKPACK_KEY, api_secret=ED25519_SEED, url="http://127.0.0.1:9")


@pytest.mark.parametrize("options", REST_OPTIONS, ids=repr)
@pytest.mark.parametrize(("qty", "price"), NUMBERS, ids=repr)
def test_backpack_order_requests_are_identical(
    backpack_rest: Any, qty: Any, price: Any, options: dict[str, Any]
) -> None:
    from hftpy.exchange.backpack import BackpackWsApi

    api = BackpackWsApi(rest_api=backpack_rest, url="ws://127.0.0.1:9")
    options = dict(options)
    fields = api._order_fields(
        "SOL_USDC",
        "buy",
        qty,
        options.pop("price", price),
        options.pop("order_type", "limit"),
        None,
        options.pop("time_in_force", None),
        options.pop("post_only", None),
        None,
        1001,
        None,
        {},
    )
    request = backpack_rest.prepare("orderExecute", "POST", "/api/v1/order", fields)
    ts = int(request.headers["X-Timestamp"])
    body, signature = backpack_reference(backpack_rest, "orderExecute", fields, ts)
    assert request.body == body and request.headers["X-Signature"] == signature
    assert backpack_rest._frames.build("orderExecute", fields, ts, 5000) == (body, signature)
    cancel = {"symbol": "SOL_USDC", "orderId": "11223344", "clientId": None}
    request = backpack_rest.prepare("orderCancel", "DELETE", "/api/v1/order", cancel)
    ts = int(request.headers["X-Timestamp"])
    assert (request.body, request.headers["X-Signature"]) == backpack_reference(
        backpack_rest, "orderCancel", cancel, ts
    )


@settings(max_examples=300, deadline=None)
@given(flat_params, st.integers(min_value=0, max_value=2**42))
def test_backpack_frames_match_the_python_path(params: dict[str, Any], ts: int) -> None:
    from hftpy.exchange.backpack import BackpackRestApi

    rest = BackpackRestApi(api_key=BACKPACK_KEY, api_secret=ED25519_SEED, url="http://127.0.0.1:9")
    assert rest._frames is not None
    built = rest._frames.build("orderExecute", params, ts, 5000)
    if built is None:
        return
    try:
        expected = backpack_reference(rest, "orderExecute", params, ts)
    except Exception:  # the Python path refuses what Rust must leave to it
        raise AssertionError(f"Rust wrote what the Python path refuses: {params!r}") from None
    assert built == expected


@pytest.fixture
def upbit_rest() -> Any:
    from hftpy.exchange.upbit import UpbitRestApi

    return UpbitRestApi(
        api_key="test-access-key", api_secret="test-secret", url="http://127.0.0.1:9"
    )


NONCE = "00000000-0000-4000-8000-000000000000"


@pytest.mark.parametrize("options", REST_OPTIONS, ids=repr)
@pytest.mark.parametrize(("qty", "price"), NUMBERS, ids=repr)
def test_upbit_order_requests_are_identical(
    upbit_rest: Any, qty: Any, price: Any, options: dict[str, Any]
) -> None:
    import base64
    import json

    from hftpy.exchange.upbit import UpbitWsApi
    from hftpy.exchange.upbit.rest import query_string

    api = UpbitWsApi(rest_api=upbit_rest, url="ws://127.0.0.1:9")
    options = dict(options)
    params = api._order_params(
        "KRW-BTC",
        "sell",
        qty,
        options.pop("price", price),
        options.pop("order_type", "limit"),
        options.pop("time_in_force", None),
        options.pop("post_only", None),
        None,
        "strategy-1",
    )
    signer = upbit_rest.signer
    built = upbit_rest._frames.build(params, NONCE)
    assert built == (ENCODER.encode(params), signer.token(NONCE, query_string(params)))
    request = upbit_rest.prepare("POST", "/v1/orders", params)
    assert request.body == ENCODER.encode(params)
    token = request.headers["Authorization"].removeprefix("Bearer ")
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert token == signer.token(payload["nonce"], query_string(params))  # a fresh nonce
    assert payload["nonce"] != NONCE and len(payload["nonce"]) == 36


@settings(max_examples=300, deadline=None)
@given(flat_params)
def test_upbit_frames_match_the_python_path(params: dict[str, Any]) -> None:
    from hftpy.exchange.upbit import UpbitRestApi
    from hftpy.exchange.upbit.rest import query_string

    rest = UpbitRestApi(
        api_key="test-access-key", api_secret="test-secret", url="http://127.0.0.1:9"
    )
    assert rest._frames is not None
    built = rest._frames.build(params, NONCE)
    if built is None:
        return
    try:
        expected = (ENCODER.encode(params), rest.signer.token(NONCE, query_string(params)))
    except Exception:
        raise AssertionError(f"Rust wrote what the Python path refuses: {params!r}") from None
    assert built == expected


def test_rest_frames_print_no_secret(backpack_rest: Any, upbit_rest: Any) -> None:
    assert repr(backpack_rest._frames) == "BackpackFrames(***)"
    assert repr(upbit_rest._frames) == "UpbitFrames(***)"
