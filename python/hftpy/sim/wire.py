"""Wire helpers shared by the simulator's front-ends: exact number text, timestamps, JSON codecs,
JSON responses. Every venue package renders numbers through these, never through float."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec
from aiohttp import web

__all__ = [
    "AMOUNT_DECIMALS",
    "amount_text",
    "decimal_text",
    "decode_json",
    "encode_json",
    "exact_units",
    "fixed_number",
    "fixed_text",
    "int_param",
    "json_decimal",
    "json_decimal_number",
    "json_response",
    "now_ms",
    "now_us",
    "param_text",
    "plain_number",
    "rename_keys",
    "rescaled_number",
    "rescaled_text",
    "rfc3339_s",
    "rfc3339_us",
    "text_pairs",
]

AMOUNT_DECIMALS = 18  # engine amounts (price x qty, fees, balances) are integers of 10**-18

# Floats decode to Decimal from their exact wire text, never through a binary float.
_DECODER = msgspec.json.Decoder(float_hook=Decimal)
_ENCODER = msgspec.json.Encoder()

decode_json = _DECODER.decode
encode_json = _ENCODER.encode


def fixed_text(units: int, decimals: int) -> str:
    """Render an integer count of 10**-decimals as fixed-point text (`123, 2` -> `1.23`)."""
    if decimals == 0:
        return str(units)
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), 10**decimals)
    return f"{sign}{whole}.{frac:0{decimals}d}"


def fixed_number(units: int, decimals: int) -> msgspec.Raw:
    """A JSON number holding `units * 10**-decimals` with exactly `decimals` decimals."""
    return msgspec.Raw(fixed_text(units, decimals).encode())


def rescaled_text(
    units: int, from_decimals: int, to_decimals: int, *, round_down: bool = False
) -> str:
    """`units * 10**-from_decimals` as text with exactly `to_decimals` decimals.

    Rounds half up, or towards minus infinity with `round_down` (balances never show more than
    is there).
    """
    if to_decimals >= from_decimals:
        return fixed_text(units * 10 ** (to_decimals - from_decimals), to_decimals)
    step = 10 ** (from_decimals - to_decimals)
    units, rest = divmod(units, step)
    if not round_down and 2 * rest >= step:
        units += 1
    return fixed_text(units, to_decimals)


def rescaled_number(
    units: int, from_decimals: int, to_decimals: int, *, round_down: bool = False
) -> msgspec.Raw:
    """`rescaled_text` as a JSON number."""
    return msgspec.Raw(
        rescaled_text(units, from_decimals, to_decimals, round_down=round_down).encode()
    )


def decimal_text(units: int, decimals: int) -> str:
    """Plain decimal text without trailing zeros (`150000, 3` -> `150`, `1500, 4` -> `0.15`)."""
    value = Decimal(units).scaleb(-decimals).normalize()
    return f"{value:f}"


def amount_text(amount: int) -> str:
    """An engine amount (AMOUNT_DECIMALS) as plain text without trailing zeros."""
    return decimal_text(amount, AMOUNT_DECIMALS)


def json_decimal(units: int, decimals: int) -> str:
    """A JSON number as a float-printing venue shows it: `127.0`, `0.00533827`."""
    text = decimal_text(units, decimals)
    return text if "." in text else text + ".0"


def json_decimal_number(units: int, decimals: int) -> msgspec.Raw:
    """`json_decimal` as a JSON number."""
    return msgspec.Raw(json_decimal(units, decimals).encode())


def plain_number(value: Decimal) -> msgspec.Raw:
    """A Decimal as a JSON number without trailing zeros (`1.50` -> `1.5`)."""
    return msgspec.Raw(f"{value.normalize():f}".encode())


def exact_units(value: Any, decimals: int) -> int | None:
    """A client's number (text or JSON number) as an integer of 10**-decimals, or None when it
    is not a finite number or has more decimals than that."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    scaled = number.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        return None
    return int(scaled)


def param_text(value: Any) -> str:
    """A parameter as venues write it into signed or query text: `true` / `false`, else str."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def int_param(
    params: Mapping[str, Any],
    key: str,
    default: int,
    low: int,
    high: int | None,
    refuse: Callable[[str, bool], Exception],
) -> int:
    """`params[key]` as a whole number in [low, high] (`default` when absent); otherwise
    raises `refuse(key, out_of_range)`, the venue's own error for a bad or out-of-range value."""
    value = params.get(key)
    if value is None:
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise refuse(key, False) from None
    if number < low or (high is not None and number > high):
        raise refuse(key, True)
    return number


def text_pairs(pairs: Iterable[tuple[str, str]]) -> bytes:
    """`[["a","b"],...]`: book levels as JSON string pairs, as Binance and Backpack send them
    (the texts are numbers: nothing to escape)."""
    return b"[" + b",".join(b'["%s","%s"]' % (a.encode(), b.encode()) for a, b in pairs) + b"]"


def rename_keys(message: Any, table: Mapping[str, str]) -> Any:
    """`message` with every dict key found in `table` renamed, at any depth."""
    if isinstance(message, dict):
        return {table.get(k, k): rename_keys(v, table) for k, v in message.items()}
    if isinstance(message, list):
        return [rename_keys(v, table) for v in message]
    return message


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A REST answer with a JSON body (msgspec encodes `Raw` numbers verbatim)."""
    return web.Response(
        body=encode_json(body), status=status, content_type="application/json", headers=headers
    )


def now_ms() -> int:
    """Wall-clock time in milliseconds, as venues stamp their events."""
    return time.time_ns() // 1_000_000


def now_us() -> int:
    """Wall-clock time in microseconds (Backpack's `E` / `T`)."""
    return time.time_ns() // 1000


class _SecondCache:
    """Formats the date-time prefix once per second: stamps are built on every reply."""

    __slots__ = ("prefix", "second")

    def __init__(self) -> None:
        self.second = -1
        self.prefix = ""

    def get(self, second: int) -> str:
        if second != self.second:
            self.prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self.second = second
        return self.prefix


_SECONDS = _SecondCache()


def rfc3339_us(ns: int) -> str:
    """`2024-05-20T11:08:49.272922Z` for a wall-clock time in ns."""
    second, rest = divmod(ns, 1_000_000_000)
    return f"{_SECONDS.get(second)}.{rest // 1000:06d}Z"


def rfc3339_s(ns: int) -> str:
    """`2024-05-19T19:22:20Z` for a wall-clock time in ns (whole seconds)."""
    return f"{_SECONDS.get(ns // 1_000_000_000)}Z"
