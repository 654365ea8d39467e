"""One Binance WS API or signed REST request: its envelope, its parameters as Binance reads them,
Binance's refusals (as `VenueError`s: `code` the Binance code, `status` the HTTP status) and the
venue's clock.

Every numeric parameter is taken as a JSON number or as a numeric string alike (the official
SDKs send every parameter as a string): LONG/INT ones must match `^[0-9]{1,20}$`, DECIMAL ones
`^([0-9]{1,20})(\\.[0-9]{1,20})?$`, or the reply is -1100 "Illegal characters found in
parameter '<name>'; legal range is '<range>'."; a LONG beyond 2^63-1 is -1108 "Parameter
'<name>' overflowed.", a DECIMAL with more than 8 decimals (`recvWindow`: 3) -1111.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from ..engine import Account, Engine, Instrument
from ..errors import VenueError
from ..wire import now_ms
from .text import WIRE_DECIMALS

__all__ = [
    "ALPHANUM",
    "DEFAULT_RECV_WINDOW",
    "Clock",
    "Handler",
    "Request",
    "RestSignature",
    "api_error",
    "bool_param",
    "client_id_param",
    "decimal_param",
    "filter_failure",
    "instrument_param",
    "long_param",
    "mandatory",
    "not_required",
    "random_client_id",
    "recv_window",
]

DEFAULT_RECV_WINDOW: Final = 5000
RECV_WINDOW_DECIMALS: Final = 3  # recvWindow takes up to 3 decimals (`6000.346`)
ALPHANUM: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_CLIENT_ID_FORMAT: Final = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")
_CLIENT_ID_RANGE: Final = "^[\\.A-Z\\:/a-z0-9_-]{1,36}$"
_DECIMAL_RANGE: Final = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
_DECIMAL_TEXT: Final = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")
_INT_RANGE: Final = "^[0-9]{1,20}$"
_INT_TEXT: Final = re.compile(r"[0-9]{1,20}")
_MAX_LONG: Final = 2**63 - 1


class Clock:
    """The venue's clock in ms: wall-clock time, `skew_ms` ahead while `skew_clock` lasts."""

    __slots__ = ("skew_ms",)

    def __init__(self) -> None:
        self.skew_ms = 0

    def now_ms(self) -> int:
        return now_ms() + self.skew_ms

    def stamp_ms(self, ns: int) -> int:
        """An engine time (ns) as this clock shows it."""
        return ns // 1_000_000 + self.skew_ms


@dataclass(frozen=True, slots=True)
class RestSignature:
    """What a signed REST request is checked by: its `X-MBX-APIKEY` header and `totalParams`
    (the query string then the body, as sent, without the `signature` parameter)."""

    api_key: str | None
    payload: bytes


class Request:
    """One request being answered: envelope `id`, method (without a `v3/` prefix), params."""

    __slots__ = ("id", "method", "now_ms", "orders_counted", "params", "rate_limits", "rest")

    def __init__(
        self,
        req_id: Any,
        method: str,
        params: dict[str, Any],
        now_ms: int,
        rest: RestSignature | None = None,
    ) -> None:
        self.id = req_id
        self.method = method
        self.params = params
        self.now_ms = now_ms
        self.orders_counted: Account | None = None  # the account whose ORDERS the reply shows
        self.rate_limits = True
        self.rest = rest  # a REST request (rest.py): signed as REST signs


# A method's handler: (the WS API connection, or None for REST; the request) -> its result.
Handler = Callable[[Any, Request], Any]


# ----- refusals -----


def api_error(status: int, code: int, msg: str, data: dict[str, Any] | None = None) -> VenueError:
    """A refusal as Binance words it: HTTP `status`, Binance `code`, `msg` (+ `data`)."""
    return VenueError(msg, code=code, status=status, data=data)


def mandatory(name: str) -> VenueError:
    return api_error(
        400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def not_required(name: str) -> VenueError:
    return api_error(400, -1106, f"Parameter '{name}' sent when not required.")


def filter_failure(name: str) -> VenueError:
    return api_error(400, -1013, f"Filter failure: {name}")


def _illegal(name: str, legal: str) -> VenueError:
    return api_error(
        400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'."
    )


# ----- parameters -----


def _param_text(
    params: Mapping[str, Any], name: str, pattern: re.Pattern[str], legal: str
) -> str | None:
    """A numeric parameter's text, checked against `pattern`: Binance takes a JSON number or a
    numeric string alike (its official SDKs send strings); None when absent, null or empty."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _illegal(name, legal)
    text = value if isinstance(value, str) else str(value)
    if not pattern.fullmatch(text):
        raise _illegal(name, legal)
    return text


def long_param(params: Mapping[str, Any], name: str) -> int | None:
    """A LONG / INT parameter (`orderId`, `timestamp`, `subscriptionId`, `limit`, ...)."""
    text = _param_text(params, name, _INT_TEXT, _INT_RANGE)
    if text is None:
        return None
    number = int(text)
    if number > _MAX_LONG:
        raise api_error(400, -1108, f"Parameter '{name}' overflowed.")
    return number


def _decimal_places(params: Mapping[str, Any], name: str, places: int) -> Decimal | None:
    text = _param_text(params, name, _DECIMAL_TEXT, _DECIMAL_RANGE)
    if text is None:
        return None
    number = Decimal(text)
    if number != number.quantize(Decimal(1).scaleb(-places), rounding="ROUND_DOWN"):
        raise api_error(400, -1111, f"Parameter '{name}' has too much precision.")
    return number


def decimal_param(params: Mapping[str, Any], name: str) -> Decimal | None:
    """A DECIMAL parameter (`price`, `quantity`, `newQty`, ...), a string or a JSON number."""
    return _decimal_places(params, name, WIRE_DECIMALS)


def recv_window(params: Mapping[str, Any]) -> Decimal:
    """`recvWindow` in ms (default 5000), with up to 3 decimals."""
    number = _decimal_places(params, "recvWindow", RECV_WINDOW_DECIMALS)
    return Decimal(DEFAULT_RECV_WINDOW) if number is None else number


def bool_param(params: Mapping[str, Any], name: str) -> bool | None:
    """A BOOLEAN parameter: JSON true/false or the strings "true"/"false"."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if value is True or value == "true":
        return True
    if value is False or value == "false":
        return False
    raise api_error(400, -1130, f"Data sent for parameter '{name}' is not valid.")


def random_client_id() -> str:
    """A client order id as Binance makes one up: 22 letters and digits."""
    return "".join(secrets.choice(ALPHANUM) for _ in range(22))


def client_id_param(params: Mapping[str, Any], name: str) -> str:
    """A client order id parameter (`newClientOrderId`, ...); a random one when not sent."""
    value = params.get(name)
    if value is None:
        return random_client_id()
    if not isinstance(value, str) or not _CLIENT_ID_FORMAT.fullmatch(value):
        raise _illegal(name, _CLIENT_ID_RANGE)
    return value


def instrument_param(engine: Engine, params: Mapping[str, Any]) -> Instrument:
    """The Binance symbol a request names."""
    symbol = params.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise mandatory("symbol")
    inst = engine.instruments.get(symbol)
    if inst is None or inst.venue != "binance":
        raise api_error(400, -1121, "Invalid symbol.")
    return inst
