"""Backpack REST with Ed25519 request signing (reference A5).

Every signed request carries `X-API-Key` (base64 verifying key), `X-Signature`, `X-Timestamp`
and `X-Window` (ms). The signed text is `instruction=<instr>` followed by `&k=v` for every
body or query parameter with keys sorted, then `&timestamp=<ms>&window=<ms>`; a batch signs
one `instruction=orderExecute&...` chunk per order, joined with `&`, and the timestamp and
window once at the end. Booleans are signed as `true`/`false`; prices and quantities are sent
as decimal strings, so the signed text and the body hold the same characters.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from hftpy._core import BackpackFrames, Ed25519Signer
from hftpy.common import Exchange
from hftpy.errors import AuthError, ConfigError, VenueError
from hftpy.exchange.codec import ENCODER
from hftpy.exchange.endpoints import credentials, credentials_error, endpoint
from hftpy.exchange.rest_orders import HttpRequest, SignedRestApi
from hftpy.redact import Secret

DEFAULT_WINDOW = 5000
MAX_WINDOW = 60000
_AUTH_CODES = ("INVALID_SIGNATURE", "UNAUTHORIZED")


def sign_value(value: Any) -> str:
    """A parameter as Backpack signs it: booleans lower-case, numbers as plain text."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    return str(value)


def signing_string(
    instruction: str,
    params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None,
    timestamp: int,
    window: int = DEFAULT_WINDOW,
) -> str:
    """The text Backpack signs. `params` is one request's parameters, or the list of orders of
    a batch (one `instruction=...` chunk per order)."""
    batches = params if isinstance(params, Sequence) else [params or {}]
    chunks = []
    for item in batches:
        fields = "".join(
            f"&{key}={sign_value(item[key])}" for key in sorted(item) if item[key] is not None
        )
        chunks.append(f"instruction={instruction}{fields}")
    return f"{'&'.join(chunks)}&timestamp={timestamp}&window={window}"


class BackpackRestApi(SignedRestApi):
    """Signed Backpack REST. `api_secret` is the base64 32-byte Ed25519 seed; `api_key` the
    base64 public key (derived from the secret when not given)."""

    exchange = Exchange.BACKPACK

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        url: str | None = None,
        account: str = "default",
        timeout: float = 10.0,
        window: int = DEFAULT_WINDOW,
    ) -> None:
        super().__init__(url=endpoint(self.exchange, "rest", url), account=account, timeout=timeout)
        if not 0 < window <= MAX_WINDOW:
            raise ConfigError(f"Backpack window must be in (0, {MAX_WINDOW}] ms, got {window}")
        self.window = window
        key, secret = credentials(self.exchange, api_key, api_secret)
        self._signer = Ed25519Signer(secret.reveal()) if secret is not None else None
        if key is None and self._signer is not None:
            key = Secret(self._signer.public_key)
        self.api_key = key
        #: Body and signature of a one-object request in one Rust call (see `prepare`).
        self._frames = BackpackFrames(self._signer) if self._signer is not None else None

    @property
    def signer(self) -> Ed25519Signer:
        """The Ed25519 signer made from the secret; raises `ConfigError` when no secret was
        given."""
        self.check_credentials()
        assert self._signer is not None
        return self._signer

    def check_credentials(self, what: str = "private calls", note: str = "") -> None:
        """Raises `ConfigError` naming the variables to set when the secret is missing (the
        key is derived from it)."""
        if self._signer is None or self.api_key is None:
            raise credentials_error(self.exchange, ["api_secret"], what, note)

    def sign(
        self,
        instruction: str,
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        timestamp: int | None = None,
    ) -> tuple[str, int]:
        """(base64 signature, timestamp ms) for `instruction` with `params`."""
        ts = time.time_ns() // 1_000_000 if timestamp is None else timestamp
        text = signing_string(instruction, params, ts, self.window)
        return self.signer.sign(text.encode()), ts

    def prepare(
        self,
        instruction: str,
        verb: str,
        path: str,
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> HttpRequest:
        """A signed request: params go in the JSON body (POST/DELETE) or the query (GET). A
        body of one object is written and signed in Rust (`BackpackFrames`), byte for byte
        what the Python path below gives; a batch, a GET or a value it leaves out takes that
        path."""
        frames = self._frames
        if verb != "GET" and type(params) is dict and frames is not None:
            ts = time.time_ns() // 1_000_000
            built = frames.build(instruction, params, ts, self.window)
            if built is not None:
                return HttpRequest(verb, path, built[0], self._headers(built[1], ts, True))
        signature, ts = self.sign(instruction, params)
        body: bytes | None = None
        if verb == "GET":
            if params:
                assert isinstance(params, Mapping)
                query = {k: sign_value(v) for k, v in params.items() if v is not None}
                path = f"{path}?{urlencode(query)}"
        elif params is not None:
            body = ENCODER.encode(params)
        return HttpRequest(verb, path, body, self._headers(signature, ts, body is not None))

    def _headers(self, signature: str, timestamp: int, json_body: bool) -> dict[str, str]:
        headers = {
            "X-API-Key": self.api_key.reveal() if self.api_key is not None else "",
            "X-Signature": signature,
            "X-Timestamp": str(timestamp),
            "X-Window": str(self.window),
        }
        if json_body:
            headers["Content-Type"] = "application/json; charset=utf-8"
        return headers

    async def request(
        self,
        instruction: str,
        verb: str,
        path: str,
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    ) -> Any:
        """Sends a signed request; returns the body or raises `AuthError` / `VenueError`."""
        status, body = await self.send(self.prepare(instruction, verb, path, params))
        if 200 <= status < 300:
            return body
        code = body.get("code") if isinstance(body, dict) else None
        message = f"{verb} {path}: HTTP {status} {body!r}"
        if code in _AUTH_CODES:
            raise AuthError(message)
        raise VenueError(message, body if isinstance(body, dict) else None)

    # -- account and orders ------------------------------------------------------------------
    async def balances(self) -> Any:
        """`GET /api/v1/capital` (`balanceQuery`): the account's balances per asset, as Backpack
        returns them."""
        return await self.request("balanceQuery", "GET", "/api/v1/capital")

    async def open_orders(self, symbol: str | None = None) -> Any:
        """`GET /api/v1/orders` (`orderQueryAll`): the open orders, of `symbol` only when given
        (venue spelling, `SOL_USDC`)."""
        params = {"symbol": symbol} if symbol else None
        return await self.request("orderQueryAll", "GET", "/api/v1/orders", params)

    async def execute_order(self, order: Mapping[str, Any]) -> Any:
        """`POST /api/v1/order` with Backpack's field names (`symbol`, `side`: Bid|Ask, ...)."""
        return await self.request("orderExecute", "POST", "/api/v1/order", order)

    async def cancel_order(
        self, symbol: str, order_id: str | None = None, client_id: int | None = None
    ) -> Any:
        """`DELETE /api/v1/order` (`orderCancel`): cancels one order of `symbol` by the venue's
        `order_id` and/or its u32 `client_id` (`clientId`); returns Backpack's answer (the
        order)."""
        params: dict[str, Any] = {"symbol": symbol}
        if order_id is not None:
            params["orderId"] = order_id
        if client_id is not None:
            params["clientId"] = client_id
        return await self.request("orderCancel", "DELETE", "/api/v1/order", params)

    async def cancel_all(self, symbol: str) -> Any:
        """`DELETE /api/v1/orders` (`orderCancelAll`): cancels every open order of `symbol`; returns
        Backpack's answer (the cancelled orders)."""
        return await self.request("orderCancelAll", "DELETE", "/api/v1/orders", {"symbol": symbol})
