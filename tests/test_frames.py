"""Frames built in Rust from templates are byte-identical to the generic Python encoding,
for a table of orders (exact decimals, floats, ints, text; every option), and the number
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
from hftpy._core import FrameTemplate, number_text
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


def test_templates_print_no_secret() -> None:
    template = FrameTemplate([b'{"token":"secret-token"}'])
    assert "secret" not in repr(template)
    assert template.build(()) == b'{"token":"secret-token"}'


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
    if not options and "cl_ord_id" in params and '"' not in params["cl_ord_id"]:
        assert any(t is not None for t in kraken._templates.values())  # Rust wrote it
    kraken._set_token(Secret("another-token"))  # a new token: new templates
    frame = kraken._encode("add_order", dict(params), 3)
    assert b'"another-token"' in frame
    assert frame == kraken._encode_generic("add_order", dict(params), 3)


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
    assert all(repr(v) == "'***'" for k, v in templated.items() if k in ("apiKey", "signature"))
    msgspec.json.decode(frame)
    if not options:
        assert any(t is not None for t in binance._templates.values())  # Rust wrote it
