"""Order frames from templates built in Rust (`hftpy._core.FrameTemplate`).

A venue API lays out each kind of order frame once per connection (token, symbol spelling,
method, order type, time in force: every field that is the same from one order to the next,
encoded here by the same msgspec encoder the generic path uses), and per order Rust writes
only the holes: the numbers by the venue's exact text rule, the ids, the request id, and the
signature where the venue wants one. The awaitable and the `*_nowait` methods share it, so
both send identical bytes; `tests/test_frames.py` checks them against the generic encoder for
a table of orders. A value the template does not cover (an unusual number form, an id that
needs JSON escaping) makes `build` return None and the caller encodes generically.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from hftpy.exchange.codec import ENCODER

# Hole kinds (rust/py/frame.rs): numbers by text rule, the same inside JSON quotes, strings,
# integers, the signature.
KRAKEN_NUMBER = 0  # a JSON number as msgspec writes the value (Kraken)
BINANCE_TEXT = 11  # a quoted string: Binance's decimal text
FIXED_TEXT = 12  # a quoted string: positional decimal text (Backpack, Upbit)
STRING = 20
INT = 30
SIGNATURE = 40

#: Number text rules of `hftpy._core.number_text`.
STYLE_KRAKEN, STYLE_BINANCE, STYLE_FIXED = 0, 1, 2


class Hole(NamedTuple):
    """Where value number `value` of `build(values)` goes, written as `kind`."""

    value: int
    kind: int


Piece = bytes | tuple[int, int]


def merged(parts: Iterable[bytes | Hole]) -> list[Piece]:
    """Adjacent literal parts joined into one."""
    out: list[Piece] = []
    for part in parts:
        if isinstance(part, bytes) and out and isinstance(out[-1], bytes):
            out[-1] = out[-1] + part
        elif isinstance(part, bytes):
            out.append(part)
        else:
            out.append((part.value, part.kind))
    return out


def json_members(
    params: Mapping[str, Any], holes: Mapping[str, Hole], leading_comma: bool
) -> list[bytes | Hole]:
    """`"key":value` for every param in order, holes where `holes` names the key, the other
    values encoded as the generic path encodes them."""
    parts: list[bytes | Hole] = []
    for position, (key, value) in enumerate(params.items()):
        comma = b"," if leading_comma or position else b""
        parts.append(comma + ENCODER.encode(key) + b":")
        hole = holes.get(key)
        parts.append(hole if hole is not None else ENCODER.encode(value))
    return parts


def fixed_scalars(params: Mapping[str, Any], holes: Mapping[str, Hole]) -> bool:
    """Whether every value outside the holes is one a template may hold as literal text:
    str, bool, int (a list or a nested object keeps the generic path)."""
    return all(type(value) in (str, bool, int) for key, value in params.items() if key not in holes)
