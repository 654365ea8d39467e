"""Wire helpers shared by the simulator's front-ends: exact number text, timestamps, JSON codecs."""

from __future__ import annotations

import time
from decimal import Decimal

import msgspec

__all__ = [
    "decode_json",
    "encode_json",
    "fixed_number",
    "fixed_text",
    "rescaled_number",
    "rfc3339_s",
    "rfc3339_us",
]

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


def rescaled_number(
    units: int, from_decimals: int, to_decimals: int, *, round_down: bool = False
) -> msgspec.Raw:
    """A JSON number for `units * 10**-from_decimals` shown with `to_decimals` decimals.

    Rounds half up, or towards minus infinity with `round_down` (balances never show more than
    is there).
    """
    step = 10 ** (from_decimals - to_decimals)
    units, rest = divmod(units, step)
    if not round_down and 2 * rest >= step:
        units += 1
    return fixed_number(units, to_decimals)


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
