"""Kraken REST: signed private calls (the WebSocket token) and the public instrument list."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from hftpy._core import KrakenSigner
from hftpy.common import Exchange
from hftpy.errors import AuthError, VenueError
from hftpy.exchange.endpoints import credentials, credentials_error, endpoint
from hftpy.exchange.rest_api import RestApiBase
from hftpy.redact import Secret

# Errors that mean the credentials themselves are wrong, not the request (a key without
# the permission a call needs, e.g. "WebSocket API" for the token, is "Permission denied").
_AUTH_ERRORS = (
    "EAPI:Invalid key",
    "EAPI:Invalid signature",
    "EAPI:Invalid nonce",
    "EGeneral:Permission denied",
)


class KrakenRestApi(RestApiBase):
    """Kraken REST: public calls and API-Sign signed private calls (the WS token among them).
    Create through `hftpy.exchange.create_exchange_api`."""

    exchange = Exchange.KRAKEN

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        url: str | None = None,
        account: str = "default",
        timeout: float = 10.0,
    ) -> None:
        super().__init__(url=endpoint(self.exchange, "rest", url), account=account, timeout=timeout)
        self.api_key, secret = credentials(self.exchange, api_key, api_secret)
        self._signer = KrakenSigner(secret.reveal()) if secret is not None else None
        self._last_nonce = 0

    def missing_credentials(self) -> list[str]:
        """The credential arguments private calls need that are missing (none: `[]`)."""
        return [
            name
            for name, value in (("api_key", self.api_key), ("api_secret", self._signer))
            if value is None
        ]

    def check_credentials(self, what: str = "private calls", note: str = "") -> None:
        """Raises `ConfigError` naming the variables to set when a key or secret is missing."""
        missing = self.missing_credentials()
        if missing:
            raise credentials_error(self.exchange, missing, what, note)

    def _nonce(self) -> str:
        # Strictly increasing even when called twice in one microsecond.
        nonce = max(time.time_ns() // 1000, self._last_nonce + 1)
        self._last_nonce = nonce
        return str(nonce)

    async def private(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """POSTs a signed `/0/private/<method>` call; returns `result` or raises."""
        self.check_credentials()
        assert self.api_key is not None and self._signer is not None
        path = f"/0/private/{method}"
        nonce = self._nonce()
        body = urlencode({"nonce": nonce, **(params or {})}).encode()
        headers = {
            "API-Key": self.api_key.reveal(),
            "API-Sign": self._signer.sign(path, nonce, body),
            "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
        }
        status, reply = await self._send("POST", path, data=body, headers=headers)
        return self._result(path, status, reply)

    async def public(self, method: str, params: dict[str, str] | None = None) -> Any:
        """GETs `/0/public/<method>` with query `params`; returns Kraken's `result`, or raises
        `VenueError` with Kraken's errors."""
        path = f"/0/public/{method}"
        status, reply = await self._send("GET", path, params=params)
        return self._result(path, status, reply)

    @staticmethod
    def _result(path: str, status: int, reply: Any) -> Any:
        if not isinstance(reply, dict):
            raise VenueError(f"{path}: HTTP {status}, unexpected body {str(reply)[:200]!r}")
        errors = reply.get("error") or []
        if errors:
            message = f"kraken {path}: {', '.join(map(str, errors))}"
            if any(str(e).startswith(_AUTH_ERRORS) for e in errors):
                raise AuthError(message)
            raise VenueError(message, reply)
        if status != 200:
            raise VenueError(f"{path}: HTTP {status}", reply)
        return reply.get("result")

    async def get_websockets_token(self) -> Secret:
        """A fresh WebSocket token (valid 15 min until first used), held as a `Secret`."""
        result = await self.private("GetWebSocketsToken")
        return Secret(result["token"])

    async def asset_pairs(self, pairs: list[str] | None = None) -> dict[str, Any]:
        """`AssetPairs`: REST pair name -> Kraken's pair info (`altname`, `wsname`, `pair_decimals`,
        `lot_decimals`, ...), of `pairs` only when given (`["XBTUSD"]`)."""
        params = {"pair": ",".join(pairs)} if pairs else None
        result: dict[str, Any] = await self.public("AssetPairs", params)
        return result

    async def server_time(self) -> dict[str, Any]:
        """`Time`: Kraken's clock, `unixtime` in seconds since the epoch and `rfc1123` as
        text."""
        result: dict[str, Any] = await self.public("Time")
        return result
