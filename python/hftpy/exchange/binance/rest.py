"""Binance spot REST: server time, exchange info, and signed calls (`X-MBX-APIKEY`).

A signed REST payload is the query string exactly as sent (not sorted, unlike the WS API),
values percent-encoded, signed with HMAC-SHA256 (hex) or Ed25519 (base64, then
percent-encoded) (reference/binance.md §4).
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import quote, urlencode

from hftpy._core import Ed25519Signer, HmacSha256Signer
from hftpy.common import Exchange
from hftpy.errors import AuthError, ConfigError, VenueError
from hftpy.exchange.endpoints import credentials, endpoint
from hftpy.exchange.rest_api import RestApiBase
from hftpy.redact import Secret

__all__ = [
    "ED25519_KEY_VAR",
    "TESTNET_REST_URL",
    "TESTNET_WS_API_URL",
    "BinanceRestApi",
    "load_ed25519_key",
]

TESTNET_REST_URL = "https://testnet.binance.vision"
TESTNET_WS_API_URL = "wss://ws-api.testnet.binance.vision/ws-api/v3"
ED25519_KEY_VAR = "HFTPY_BINANCE_ED25519_KEY"

# Codes meaning the credentials themselves are wrong, not the request.
AUTH_CODES = frozenset({-1022, -2014, -2015, -4056, -4057})


def load_ed25519_key(given: str | None) -> Secret | None:
    """The Ed25519 private key text: `given`, else `HFTPY_BINANCE_ED25519_KEY`; either a PEM,
    a path to a PEM file, or a base64 (or hex) 32-byte seed."""
    text = given if given is not None else os.environ.get(ED25519_KEY_VAR)
    if not text:
        return None
    text = text.strip()
    if not text.startswith("-----BEGIN") and os.path.isfile(text):
        with open(text, encoding="ascii") as handle:
            text = handle.read()
    return Secret(text)


def make_signer(
    api_secret: Secret | None, ed25519_key: Secret | None
) -> Ed25519Signer | HmacSha256Signer | None:
    """Ed25519 when a key is given (Binance's recommendation), else HMAC-SHA256."""
    try:
        if ed25519_key is not None:
            return Ed25519Signer(ed25519_key.reveal())
        if api_secret is not None:
            return HmacSha256Signer(api_secret.reveal())
    except ValueError as exc:  # the message never holds the key
        raise ConfigError(f"binance: {exc}") from None
    return None


class BinanceRestApi(RestApiBase):
    """Binance spot REST: public calls (exchangeInfo, depth snapshots) and HMAC/Ed25519 signed
    ones. Create through `hftpy.exchange.create_exchange_api`."""

    exchange = Exchange.BINANCE

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        ed25519_key: str | None = None,
        url: str | None = None,
        testnet: bool = False,
        account: str = "default",
        timeout: float = 10.0,
        recv_window: int = 5000,
    ) -> None:
        base = url or (TESTNET_REST_URL if testnet else endpoint(self.exchange, "rest"))
        super().__init__(url=base, account=account, timeout=timeout)
        self.api_key, self._secret = credentials(self.exchange, api_key, api_secret)
        self._ed25519 = load_ed25519_key(ed25519_key)
        self._signer = make_signer(self._secret, self._ed25519)
        self.recv_window = recv_window
        #: Added to the local clock for `timestamp` (server minus local, ms).
        self.time_offset_ms = 0

    # -- public ------------------------------------------------------------------------
    async def public(self, path: str, params: dict[str, str] | None = None) -> Any:
        """GETs the unsigned `path` with query `params`; returns the decoded body, or raises
        `VenueError` (`AuthError` for the credential codes) for any status but 200."""
        status, reply = await self._send("GET", path, params=params)
        return self._result(path, status, reply)

    async def server_time(self) -> int:
        """The venue's clock in ms (`GET /api/v3/time`)."""
        result = await self.public("/api/v3/time")
        return int(result["serverTime"])

    async def measure_time_offset(self) -> int:
        """Sets and returns `time_offset_ms`: server time minus the local clock, taken at the
        midpoint of the round trip."""
        before = time.time_ns()
        server = await self.server_time()
        after = time.time_ns()
        self.time_offset_ms = server - (before + after) // 2_000_000
        return self.time_offset_ms

    async def exchange_info(self, symbols: list[str] | None = None) -> dict[str, Any]:
        """`GET /api/v3/exchangeInfo`: the venue's rate limits and its symbols with their filters
        (`tickSize`, `stepSize`, ...), of `symbols` only when given (`["BTCUSDT"]`)."""
        params = None
        if symbols:
            params = {"symbols": "[" + ",".join(f'"{s}"' for s in symbols) + "]"}
        result: dict[str, Any] = await self.public("/api/v3/exchangeInfo", params)
        return result

    # -- signed ------------------------------------------------------------------------
    def sign_query(self, params: dict[str, Any]) -> str:
        """The query string with `timestamp`, `recvWindow` and `signature` appended, as
        sent (its `signature` is the only secret part, and this string is not logged)."""
        if self.api_key is None or self._signer is None:
            raise ConfigError(
                "Binance signed calls need api_key and api_secret or an Ed25519 key "
                "(HFTPY_BINANCE_API_KEY / HFTPY_BINANCE_API_SECRET / HFTPY_BINANCE_ED25519_KEY)"
            )
        query = urlencode(
            {
                **params,
                "recvWindow": self.recv_window,
                "timestamp": time.time_ns() // 1_000_000 + self.time_offset_ms,
            }
        )
        signature = self._signer.sign(query.encode())
        return f"{query}&signature={quote(signature, safe='')}"

    async def signed(self, method: str, path: str, params: dict[str, Any] | None = None) -> Any:
        """Sends a signed request (`method` is the HTTP verb) to `path`: `params` go in the query
        signed by `sign_query`, the key in `X-MBX-APIKEY`. Returns the decoded body, or raises
        `VenueError` / `AuthError`; `ConfigError` without credentials."""
        query = self.sign_query(params or {})
        assert self.api_key is not None
        headers = {"X-MBX-APIKEY": self.api_key.reveal()}
        status, reply = await self._send(method, f"{path}?{query}", headers=headers)
        return self._result(path, status, reply)

    async def account_info(self) -> dict[str, Any]:
        """`GET /api/v3/account` (signed): the account's balances, commission rates and
        permissions."""
        result: dict[str, Any] = await self.signed("GET", "/api/v3/account")
        return result

    @staticmethod
    def _result(path: str, status: int, reply: Any) -> Any:
        if status == 200:
            return reply
        if isinstance(reply, dict) and "code" in reply:
            message = f"{path}: HTTP {status}, {reply.get('code')} {reply.get('msg')}"
            if reply.get("code") in AUTH_CODES:
                raise AuthError(message)
            raise VenueError(message, reply)
        raise VenueError(f"{path}: HTTP {status}, unexpected body {str(reply)[:200]!r}")
