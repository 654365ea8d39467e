"""Upbit exchange REST with JWT authentication (reference B6).

Every private request carries `Authorization: Bearer <JWT>` (HS512 by default, HS256 on
request) over `{"access_key", "nonce": <uuid4>}`; a request with parameters adds
`query_hash` = SHA-512 hex of the unencoded `k=v&...` string in the order sent (built from
the JSON body for POST, never from the JSON text) and `query_hash_alg: "SHA512"`. Values are
sent as strings, so the hashed text and the body hold the same characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from hftpy._core import UpbitFrames, UpbitSigner
from hftpy.common import Exchange
from hftpy.errors import AuthError, InvalidOrderError, VenueError
from hftpy.exchange.codec import ENCODER
from hftpy.exchange.endpoints import credentials, credentials_error, endpoint
from hftpy.exchange.ids import new_client_order_id
from hftpy.exchange.rest_orders import HttpRequest, SignedRestApi

#: HTTP 401 error names (reference B6): the credentials, not the request, are wrong.
AUTH_ERRORS = frozenset(
    {
        "invalid_query_payload",
        "jwt_verification",
        "expired_access_key",
        "nonce_used",
        "no_authorization_ip",
        "no_authorization_token",
        "invalid_access_key",
        "out_of_scope",
    }
)


def new_nonce() -> str:
    """A random uuid4 in its canonical 8-4-4-4-12 form."""
    h = new_client_order_id()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def query_string(params: Mapping[str, Any]) -> str:
    """The unencoded `k=v&...` string Upbit hashes, in the order given; list values repeat
    as `k[]=v` (`states[]=wait&states[]=watch`)."""
    parts: list[str] = []
    for key, value in params.items():
        if isinstance(value, list | tuple):
            name = key if key.endswith("[]") else f"{key}[]"
            parts.extend(f"{name}={item}" for item in value)
        else:
            parts.append(f"{key}={value}")
    return "&".join(parts)


def _encoded_query(params: Mapping[str, Any]) -> str:
    items: list[tuple[str, Any]] = []
    for key, value in params.items():
        if isinstance(value, list | tuple):
            name = key if key.endswith("[]") else f"{key}[]"
            items.extend((name, item) for item in value)
        else:
            items.append((key, value))
    # %20 rather than + for spaces: percent-decoding the query gives back the hashed text
    return urlencode(items, quote_via=quote)


class UpbitRestApi(SignedRestApi):
    """Signed Upbit REST. `api_key` is the access key, `api_secret` the secret key (used as
    UTF-8 bytes); `alg` is the JWT algorithm (`HS512` or `HS256`)."""

    exchange = Exchange.UPBIT

    def __init__(
        self,
        *,
        api_key: str | None = None,
        api_secret: str | None = None,
        url: str | None = None,
        account: str = "default",
        timeout: float = 10.0,
        alg: str = "HS512",
    ) -> None:
        super().__init__(url=endpoint(self.exchange, "rest", url), account=account, timeout=timeout)
        self.api_key, secret = credentials(self.exchange, api_key, api_secret)
        self._missing = [
            name for name, value in (("api_key", self.api_key), ("api_secret", secret)) if not value
        ]
        self._signer = (
            UpbitSigner(self.api_key.reveal(), secret.reveal(), alg)
            if self.api_key is not None and secret is not None
            else None
        )
        #: Body and JWT of a POST in one Rust call (see `prepare`).
        self._frames = UpbitFrames(self._signer) if self._signer is not None else None

    @property
    def signer(self) -> UpbitSigner:
        """The JWT signer made from the key pair; raises `ConfigError` when the key or secret is
        missing."""
        self.check_credentials()
        assert self._signer is not None
        return self._signer

    def check_credentials(self, what: str = "private calls", note: str = "") -> None:
        """Raises `ConfigError` naming the variables to set when the key or secret is missing."""
        if self._signer is None:
            raise credentials_error(self.exchange, self._missing or ["api_key"], what, note)

    def token(self, query: str | None = None) -> str:
        """A JWT with a fresh nonce; with `query`, bound to it by `query_hash`."""
        return self.signer.token(new_nonce(), query)

    def authorization(self, query: str | None = None) -> dict[str, str]:
        """The `Authorization: Bearer <JWT>` header for one request (fresh nonce; with `query`, the
        unencoded query string it is bound to)."""
        return {"Authorization": f"Bearer {self.token(query)}"}

    def prepare(self, verb: str, path: str, params: Mapping[str, Any] | None = None) -> HttpRequest:
        """A signed request: params in the JSON body for POST, else in the query string. A
        POST's body and its JWT (query_hash over the same params) are written in Rust
        (`UpbitFrames`), byte for byte what the Python path below gives (but for the fresh
        nonce); a value it leaves out takes that path."""
        if not params:
            return HttpRequest(verb, path, None, self.authorization())
        frames = self._frames
        if verb == "POST" and type(params) is dict and frames is not None:
            built = frames.build(params)
            if built is not None:
                body, token = built
                headers = {
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json; charset=utf-8",
                }
                return HttpRequest(verb, path, body, headers)
        headers = self.authorization(query_string(params))
        if verb == "POST":
            headers["Content-Type"] = "application/json; charset=utf-8"
            return HttpRequest(verb, path, ENCODER.encode(params), headers)
        return HttpRequest(verb, f"{path}?{_encoded_query(params)}", None, headers)

    async def request(self, verb: str, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """Sends a signed request; returns the body or raises `AuthError` / `VenueError`."""
        status, body = await self.send(self.prepare(verb, path, params))
        if 200 <= status < 300:
            return body
        error = body.get("error") if isinstance(body, dict) else None
        name = error.get("name") if isinstance(error, dict) else None
        message = f"{verb} {path}: HTTP {status} {body!r}"
        if name in AUTH_ERRORS:
            raise AuthError(message)
        raise VenueError(message, error if isinstance(error, dict) else None)

    # -- account and orders ------------------------------------------------------------------
    async def accounts(self) -> Any:
        """`GET /v1/accounts`: the account's balances per currency, as Upbit returns them."""
        return await self.request("GET", "/v1/accounts")

    async def order(self, params: Mapping[str, Any]) -> Any:
        """`POST /v1/orders` with Upbit's field names (`market`, `side`: bid|ask, ...)."""
        return await self.request("POST", "/v1/orders", params)

    async def cancel_order(self, uuid: str | None = None, identifier: str | None = None) -> Any:
        """`DELETE /v1/order`: cancels one order by its `uuid`, else by its `identifier` (the client
        order id); returns Upbit's answer (the order). Refuses a call with neither."""
        if uuid is None and identifier is None:
            raise InvalidOrderError("cancel_order needs uuid= or identifier=")
        params = {"uuid": uuid} if uuid is not None else {"identifier": identifier}
        return await self.request("DELETE", "/v1/order", params)
