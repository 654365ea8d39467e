"""Kraken's credentials: API keys and their nonces, REST signatures, WebSocket tokens.

A private REST call is signed `API-Sign = base64(HMAC-SHA512(base64decode(secret), path +
SHA256(nonce + body)))` over the exact body sent, form-encoded or JSON (reference/kraken.md §5);
its nonce must exceed the key's last accepted one. `GetWebSocketsToken` issues a token that a
WS v2 private request carries; an unused token dies after 15 minutes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from ..engine import Account
from ..errors import VenueError
from .protocol import E_SESSION

__all__ = [
    "KRAKEN_API_KEY",
    "KRAKEN_API_SECRET",
    "TOKEN_LIFETIME_S",
    "ApiKey",
    "KrakenAuth",
    "body_params",
]

TOKEN_LIFETIME_S: Final = 900  # an unused token dies after 15 minutes


def _demo_b64(label: str, size: int) -> str:
    """Fixed demo credentials: the same on every run and machine, but not hand-typed."""
    return base64.b64encode(hashlib.sha512(label.encode()).digest()[:size]).decode()


# Kraken issues 56-character keys and base64 secrets of 64 bytes.
KRAKEN_API_KEY: Final = _demo_b64("hftpy sim kraken demo api key", 42)
KRAKEN_API_SECRET: Final = _demo_b64("hftpy sim kraken demo api secret", 64)


@dataclass(slots=True)
class ApiKey:
    secret: bytes
    account: Account
    last_nonce: int = 0


@dataclass(slots=True)
class _Token:
    account: Account
    issued: float  # monotonic
    used: bool = False


def _is_json(body: bytes, content_type: str) -> bool:
    return content_type == "application/json" or body.lstrip().startswith(b"{")


def _body_nonce(body: bytes, content_type: str) -> str | None:
    """The `nonce` of a form-encoded or JSON body, as sent (it is part of the signed text)."""
    nonce: Any = None
    try:
        if _is_json(body, content_type):
            parsed = json.loads(body, parse_float=Decimal)
            nonce = parsed.get("nonce") if isinstance(parsed, dict) else None
        else:
            nonce = urllib.parse.parse_qs(body.decode("ascii")).get("nonce", [None])[0]
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(nonce, int) and not isinstance(nonce, bool):
        nonce = str(nonce)
    if not isinstance(nonce, str) or not nonce.isdigit() or not nonce.isascii():
        return None
    return nonce


def body_params(body: bytes, content_type: str) -> dict[str, Any]:
    """A private call's parameters: form-encoded (values as text) or a JSON object."""
    try:
        if _is_json(body, content_type):
            parsed = json.loads(body, parse_float=Decimal)
            return parsed if isinstance(parsed, dict) else {}
        pairs = urllib.parse.parse_qsl(body.decode("ascii"), keep_blank_values=True)
    except (ValueError, UnicodeDecodeError):
        return {}
    return dict(pairs)


class KrakenAuth:
    """The registered API keys and the WS tokens issued to them."""

    def __init__(self) -> None:
        self._keys: dict[str, ApiKey] = {}
        self._tokens: dict[str, _Token] = {}

    def add_key(self, api_key: str, api_secret: str, account: Account) -> None:
        """Register a key pair; `api_secret` is base64, as Kraken issues it."""
        self._keys[api_key] = ApiKey(base64.b64decode(api_secret), account)

    def authenticate(
        self, path: str, headers: Mapping[str, str], content_type: str, body: bytes
    ) -> ApiKey:
        """Verify API-Key/API-Sign: HMAC-SHA512(b64decode(secret), path + SHA256(nonce + body))."""
        key = self._keys.get(headers.get("API-Key", ""))
        if key is None:
            raise VenueError("EAPI:Invalid key")
        nonce = _body_nonce(body, content_type)
        if nonce is None:
            raise VenueError("EAPI:Invalid nonce")
        try:
            given = base64.b64decode(headers.get("API-Sign", ""), validate=True)
        except binascii.Error:
            raise VenueError("EAPI:Invalid signature") from None
        digest = hashlib.sha256(nonce.encode() + body).digest()
        expected = hmac.new(key.secret, path.encode() + digest, hashlib.sha512).digest()
        if not hmac.compare_digest(given, expected):
            raise VenueError("EAPI:Invalid signature")
        if int(nonce) <= key.last_nonce:
            raise VenueError("EAPI:Invalid nonce")
        key.last_nonce = int(nonce)
        return key

    def issue_token(self, account: Account) -> str:
        token = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        self._tokens[token] = _Token(account, time.monotonic())
        return token

    def session(self, params: dict[str, Any]) -> Account:
        """The account of a WS request's `token`; a token once used no longer expires."""
        token = params.get("token")
        if not isinstance(token, str) or (entry := self._tokens.get(token)) is None:
            raise VenueError(E_SESSION)
        if not entry.used:
            if time.monotonic() - entry.issued > TOKEN_LIFETIME_S:
                del self._tokens[token]
                raise VenueError(E_SESSION)
            entry.used = True
        return entry.account

    def revoke_tokens(self) -> None:
        """Every token stops working (the `reject_auth` fault)."""
        self._tokens.clear()
