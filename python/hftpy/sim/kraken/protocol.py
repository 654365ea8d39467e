"""What Kraken's modules share: its error strings, asset and pair names, request field checks.

WS v2 answers a mistyped field as `<Field> field must be a <type>`; REST answers a bad field as
`EGeneral:Invalid arguments:<field>` (form-encoded bodies carry every value as text).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

from ..engine import Instrument
from ..errors import VenueError

__all__ = [
    "E_CANCEL_ONLY",
    "E_INVALID_ARGS",
    "E_INVALID_ORDER",
    "E_POST_ONLY",
    "E_PRIVATE_ON_PUBLIC",
    "E_PUBLIC_ON_PRIVATE",
    "E_RATE_LIMIT",
    "E_SESSION",
    "E_UNAVAILABLE",
    "E_UNKNOWN_ASSET",
    "E_UNKNOWN_ORDER",
    "E_UNKNOWN_PAIR",
    "MAKER_FEE",
    "TAKER_FEE",
    "array",
    "asset_codes",
    "asset_decimals",
    "boolean",
    "find_pair",
    "form_bool",
    "form_int",
    "form_number",
    "form_str",
    "integer",
    "number",
    "pair_altname",
    "pair_key",
    "pair_wsname",
    "string",
]

E_INVALID_ARGS: Final = "EGeneral:Invalid arguments"
E_SESSION: Final = "ESession:Invalid session"
E_RATE_LIMIT: Final = "EOrder:Rate limit exceeded"
E_UNAVAILABLE: Final = "EService:Unavailable"
E_CANCEL_ONLY: Final = "EService:Market in cancel_only mode"
E_POST_ONLY: Final = "EService:Market in post_only mode"
E_UNKNOWN_ORDER: Final = "EOrder:Unknown order"
E_UNKNOWN_PAIR: Final = "EQuery:Unknown asset pair"
E_UNKNOWN_ASSET: Final = "EQuery:Unknown asset"
E_INVALID_ORDER: Final = "EOrder:Invalid order"  # QueryOrders with a txid it does not know
E_PRIVATE_ON_PUBLIC: Final = (
    "Private data and trading are unavailable on this endpoint. Try ws-auth.kraken.com"
)
E_PUBLIC_ON_PRIVATE: Final = (
    "Public market data subscriptions are unavailable on this endpoint. Try ws.kraken.com"
)

# Kraken's entry-tier fees: shown by AssetPairs, and what the simulator's demo account pays.
TAKER_FEE: Final = Decimal("0.0040")
MAKER_FEE: Final = Decimal("0.0025")

# Kraken's REST asset codes: (pair-key code, altname, balance decimals).
_ASSETS: Final[dict[str, tuple[str, str, int]]] = {
    "BTC": ("XXBT", "XBT", 10),
    "ETH": ("XETH", "ETH", 10),
    "EUR": ("ZEUR", "EUR", 4),
    "USD": ("ZUSD", "USD", 4),
}


# ----- asset and pair names -----


def asset_codes(asset: str) -> tuple[str, str, int]:
    """(REST code `XXBT`, altname `XBT`, balance decimals) of an engine asset (`BTC`)."""
    return _ASSETS.get(asset, (asset, asset, 8))


def asset_decimals(asset: str) -> int:
    return asset_codes(asset)[2]


def pair_key(inst: Instrument) -> str:
    """The key REST results use for a pair: `XXBTZUSD`."""
    return asset_codes(inst.base)[0] + asset_codes(inst.quote)[0]


def pair_wsname(inst: Instrument) -> str:
    """`XBT/USD`."""
    return f"{asset_codes(inst.base)[1]}/{asset_codes(inst.quote)[1]}"


def pair_altname(inst: Instrument) -> str:
    """`XBTUSD`, as order descriptions name the pair."""
    return pair_wsname(inst).replace("/", "")


def find_pair(instruments: Iterable[Instrument], name: str) -> Instrument | None:
    """The pair any of Kraken's names calls `name` (key, altname, wsname, WS v2 symbol)."""
    for inst in instruments:
        wsname = pair_wsname(inst)
        if name in (pair_key(inst), wsname.replace("/", ""), wsname, inst.symbol):
            return inst
    return None


# ----- WS v2 fields: JSON values of the documented type -----

_T = TypeVar("_T")


def _typed(params: dict[str, Any], name: str, kind: type[_T], error: str) -> _T | None:
    """`params[name]` if it is a `kind` (a bool is no int), None if absent, else `error`."""
    value = params.get(name)
    if value is None:
        return None
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        raise VenueError(error)
    return value


def _must_be(name: str, kind: str) -> str:
    return f"{name[:1].upper()}{name[1:]} field must be {kind}"


def number(params: dict[str, Any], name: str) -> Decimal | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise VenueError(_must_be(name, "a number_float"))
    return Decimal(value)


def integer(params: dict[str, Any], name: str) -> int | None:
    return _typed(params, name, int, _must_be(name, "an integer"))


def string(params: dict[str, Any], name: str) -> str | None:
    return _typed(params, name, str, _must_be(name, "a string"))


def array(params: dict[str, Any], name: str) -> list[Any] | None:
    return _typed(params, name, list, _must_be(name, "an array"))


def boolean(params: dict[str, Any], name: str, default: bool) -> bool:
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise VenueError(_must_be(name, "a boolean"))
    return value


# ----- REST fields: form text, or JSON values in a JSON body -----

_FORM_INT: Final = re.compile(r"-?[0-9]{1,10}")


def form_str(params: dict[str, Any], name: str) -> str | None:
    return _typed(params, name, str, f"{E_INVALID_ARGS}:{name}")


def form_bool(params: dict[str, Any], name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise VenueError(f"{E_INVALID_ARGS}:{name}")


def form_int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _FORM_INT.fullmatch(value):
        return int(value)
    raise VenueError(f"{E_INVALID_ARGS}:{name}")


def form_number(params: dict[str, Any], name: str) -> Decimal | None:
    """A decimal given as text (`"1.25"`) or, in a JSON body, as a number."""
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise VenueError(f"{E_INVALID_ARGS}:{name}")
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise VenueError(f"{E_INVALID_ARGS}:{name}") from None
    if not result.is_finite():
        raise VenueError(f"{E_INVALID_ARGS}:{name}")
    return result
