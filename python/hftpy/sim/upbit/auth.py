"""Upbit's JWT authentication, checked with the standard library only (reference B4, B6).

`Authorization: Bearer <JWT>`, HS256 or HS512 with the secret key's UTF-8 bytes, payload
`{"access_key", "nonce"}` (nonces are single use) and, when the request has parameters,
`query_hash` = SHA-512 hex of the unencoded `k=v&...` string as sent (for POST built from the
JSON body's keys and values in order) with `query_hash_alg` `SHA512`. Failures are HTTP 401:
`no_authorization_token`, `jwt_verification` (malformed, bad signature, unknown algorithm),
`invalid_access_key`, `nonce_used`, `invalid_query_payload` (missing or wrong query hash).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from ..engine import Account
from ..errors import VenueError
from ..wire import param_text
from .errors import auth_error

__all__ = ["UPBIT_API_KEY", "UPBIT_API_SECRET", "UpbitAuth", "query_string"]


def _derived(label: str) -> str:
    # Upbit keys are 40 characters of letters and digits.
    digest = base64.b64encode(hashlib.sha512(label.encode()).digest()).decode()
    return "".join(c for c in digest if c.isalnum())[:40]


#: Demo credentials: the access key and the secret key.
UPBIT_API_KEY: Final = _derived("hftpy sim upbit demo access key")
UPBIT_API_SECRET: Final = _derived("hftpy sim upbit demo secret key")

_ALGS: Final = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}


def query_string(params: Mapping[str, Any]) -> str:
    """The unencoded `k=v&...` text Upbit hashes (lists as `k[]=v`), in the order given."""
    parts: list[str] = []
    for key, value in params.items():
        if isinstance(value, list):
            name = key if key.endswith("[]") else f"{key}[]"
            parts.extend(f"{name}={param_text(v)}" for v in value)
        else:
            parts.append(f"{key}={param_text(value)}")
    return "&".join(parts)


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _unverified() -> VenueError:
    return auth_error("jwt_verification", "Jwt 토큰 검증에 실패했습니다.")


class UpbitAuth:
    """The access keys, the accounts they trade for and the nonces already used.

    `reject()` is asked once per token whose key is known: True makes it fail verification
    (the `reject_auth` fault).
    """

    def __init__(self, reject: Callable[[], bool]) -> None:
        self.keys: dict[str, tuple[bytes, Account]] = {}
        self.nonces: set[tuple[str, str]] = set()
        self._reject = reject

    def add_key(self, access_key: str, secret_key: str, account: Account) -> None:
        self.keys[access_key] = (secret_key.encode(), account)

    def verify(self, authorization: str | None, query: str | None) -> tuple[Account, str]:
        """(account, nonce) of a valid `Bearer` token for a request hashing `query`."""
        if not authorization or not authorization.startswith("Bearer "):
            raise auth_error("no_authorization_token", "인증 정보가 없습니다.")
        token = authorization[len("Bearer ") :].strip()
        try:
            head_b64, payload_b64, sig_b64 = token.split(".")
            header = json.loads(_b64url(head_b64))
            payload = json.loads(_b64url(payload_b64))
            signature = _b64url(sig_b64)
        except (ValueError, binascii.Error):
            raise _unverified() from None
        if not isinstance(header, dict) or not isinstance(payload, dict):
            raise _unverified()
        digest = _ALGS.get(header.get("alg", ""))
        if digest is None:
            raise _unverified()
        entry = self.keys.get(payload.get("access_key", ""))
        if entry is None:
            raise auth_error("invalid_access_key", "잘못된 엑세스 키입니다.")
        secret, account = entry
        expected = hmac.new(secret, f"{head_b64}.{payload_b64}".encode(), digest).digest()
        if self._reject():
            expected = b""
        if not hmac.compare_digest(expected, signature):
            raise _unverified()
        nonce = payload.get("nonce")
        if not isinstance(nonce, str) or not nonce:
            raise _unverified()
        if query:
            expected_hash = hashlib.sha512(query.encode()).hexdigest()
            if (
                payload.get("query_hash") != expected_hash
                or payload.get("query_hash_alg", "SHA512") != "SHA512"
            ):
                raise auth_error(
                    "invalid_query_payload", "Jwt 토큰의 쿼리 정보가 올바르지 않습니다."
                )
        key = (payload["access_key"], nonce)
        if key in self.nonces:
            raise auth_error("nonce_used", "이미 요청한 nonce값이 다시 사용되었습니다.")
        self.nonces.add(key)
        return account, nonce
