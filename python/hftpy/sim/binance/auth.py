"""Binance API keys and signed requests: the demo credentials, and the checks of a signed WS API
or REST request.

Signed requests are checked as Binance documents: every param but `signature`, sorted by
name, joined as `k=v` with `&` (REST: `totalParams` as sent), signed with HMAC-SHA256 (hex,
any case) or Ed25519 (base64); `timestamp < serverTime + 1000` and
`serverTime - timestamp <= recvWindow` (default 5000, max 60000). Verification uses the
standard library `hmac` and `cryptography`, never hftpy's own signer. `session.logon` accepts
Ed25519 keys only (UNVERIFIED: an HMAC signature there is 400 / -4056). The `reject_auth`
fault revokes every session (its next request is refused with 401 / -2015 and the session is
logged out) and refuses the next per-request-signed request the same way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from ..engine import Account
from ..errors import VenueError
from ..wire import encode_json
from .request import (
    ALPHANUM,
    Request,
    api_error,
    long_param,
    mandatory,
    recv_window,
)

__all__ = [
    "BINANCE_API_KEY",
    "BINANCE_API_SECRET",
    "BINANCE_ED25519_KEY",
    "MSG_BAD_KEY",
    "MSG_KEY_FORMAT",
    "ApiKey",
    "KeyRing",
    "Session",
    "demo_credentials",
    "signed_payload",
]

MAX_RECV_WINDOW: Final = 60000
_API_KEY_FORMAT: Final = re.compile(r"[A-Za-z0-9]{64}")
_HEX_SIGNATURE: Final = re.compile(r"[0-9a-fA-F]{64}")

MSG_INVALID_SIGNATURE: Final = "Signature for this request is not valid."
MSG_BAD_KEY: Final = "Invalid API-key, IP, or permissions for action."
MSG_KEY_FORMAT: Final = "API-key format invalid."
MSG_RECV_WINDOW: Final = "Timestamp for this request is outside of the recvWindow."
MSG_AHEAD: Final = "Timestamp for this request was 1000ms ahead of the server's time."
MSG_HMAC_LOGON: Final = "HMAC_SHA256 API key is not supported."


def _alnum(label: str, size: int) -> str:
    digest = hashlib.sha512(label.encode()).digest() + hashlib.sha512(label.encode() * 2).digest()
    return "".join(ALPHANUM[b % len(ALPHANUM)] for b in digest[:size])


def demo_credentials() -> tuple[str, str, str]:
    """(API key, HMAC secret, Ed25519 seed base64): fixed on every run, not hand-typed. The
    simulator's demo key accepts both an HMAC signature with the secret and an Ed25519 one
    with the seed (one Binance key has one type; the demo key is both, for convenience)."""
    seed = hashlib.sha512(b"hftpy sim binance demo ed25519 seed").digest()[:32]
    return (
        _alnum("hftpy sim binance demo api key", 64),
        _alnum("hftpy sim binance demo api secret", 64),
        base64.b64encode(seed).decode(),
    )


BINANCE_API_KEY, BINANCE_API_SECRET, BINANCE_ED25519_KEY = demo_credentials()


@dataclass(slots=True, eq=False)
class ApiKey:
    name: str
    account: Account
    hmac_secret: bytes | None = None
    ed25519: Ed25519PublicKey | None = None


class Session(Protocol):
    """A WS API connection's logon state."""

    session: ApiKey | None
    authorized_since: int | None
    revoked: bool


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if value is None:
        return "null"
    return encode_json(value).decode()


def signed_payload(params: Mapping[str, Any]) -> bytes:
    """Every param but `signature`, sorted by name, `k=v` joined with `&` (no encoding)."""
    return "&".join(
        f"{name}={_value_text(params[name])}" for name in sorted(params) if name != "signature"
    ).encode()


class KeyRing:
    """The venue's API keys and the checks of every signed request."""

    def __init__(self) -> None:
        self.keys: dict[str, ApiKey] = {}
        self.reject_next_signed = False  # reject_auth: the next signed request fails

    def add(
        self,
        api_key: str,
        account: Account,
        *,
        hmac_secret: str | None = None,
        ed25519_seed_b64: str | None = None,
        ed25519_public_pem: bytes | None = None,
    ) -> ApiKey:
        """Register a key: an HMAC secret and/or an Ed25519 public key (from its seed or PEM)."""
        public: Ed25519PublicKey | None = None
        if ed25519_seed_b64 is not None:
            seed = base64.b64decode(ed25519_seed_b64)
            public = Ed25519PrivateKey.from_private_bytes(seed[:32]).public_key()
        elif ed25519_public_pem is not None:
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            loaded = load_pem_public_key(ed25519_public_pem)
            if not isinstance(loaded, Ed25519PublicKey):
                raise ValueError("not an Ed25519 public key")
            public = loaded
        secret = hmac_secret.encode() if hmac_secret is not None else None
        key = self.keys[api_key] = ApiKey(api_key, account, secret, public)
        return key

    def authenticate(self, conn: Session | None, req: Request, session_ok: bool = True) -> ApiKey:
        """The key a signed request acts for: the session's (after logon, when the request
        carries no apiKey) or the one it names and signs for. A REST request names its key in
        the `X-MBX-APIKEY` header and signs its `totalParams` (see `RestSignature`)."""
        params = req.params
        if req.rest is not None:
            missing = api_error(401, -2014, MSG_KEY_FORMAT)
            return self._signed_key(req, req.rest.api_key, req.rest.payload, missing)
        assert conn is not None
        api_key = params.get("apiKey")
        if api_key is None and session_ok and conn.session is not None:
            if conn.revoked:  # reject_auth: the session's key was revoked meanwhile
                conn.session = conn.authorized_since = None
                conn.revoked = False
                raise api_error(401, -2015, MSG_BAD_KEY)
            self.check_timestamp(params, req.now_ms)
            return conn.session
        return self._signed_key(req, api_key, signed_payload(params), mandatory("apiKey"))

    def _signed_key(
        self, req: Request, api_key: Any, payload: bytes, missing: VenueError
    ) -> ApiKey:
        """Check the key, `timestamp`, `signature` (HMAC-SHA256 hex, any case, or Ed25519
        base64) over `payload`, and the timing window."""
        params = req.params
        if api_key is None or api_key == "":
            raise missing
        if not isinstance(api_key, str) or not _API_KEY_FORMAT.fullmatch(api_key):
            raise api_error(401, -2014, MSG_KEY_FORMAT)
        key = self.keys.get(api_key)
        if key is None:
            raise api_error(401, -2015, MSG_BAD_KEY)
        if params.get("timestamp") in (None, ""):
            raise mandatory("timestamp")
        signature = params.get("signature")
        if not isinstance(signature, str) or not signature:
            raise mandatory("signature")
        if _HEX_SIGNATURE.fullmatch(signature):
            if req.method == "session.logon":
                raise api_error(400, -4056, MSG_HMAC_LOGON)
            if key.hmac_secret is None:
                raise api_error(400, -1022, MSG_INVALID_SIGNATURE)
            expected = hmac.new(key.hmac_secret, payload, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, signature.lower()):
                raise api_error(400, -1022, MSG_INVALID_SIGNATURE)
        else:
            if key.ed25519 is None:
                raise api_error(400, -1022, MSG_INVALID_SIGNATURE)
            try:
                key.ed25519.verify(base64.b64decode(signature, validate=True), payload)
            except (binascii.Error, ValueError, InvalidSignature):
                raise api_error(400, -1022, MSG_INVALID_SIGNATURE) from None
        self.check_timestamp(params, req.now_ms)
        if self.reject_next_signed:
            self.reject_next_signed = False
            raise api_error(401, -2015, MSG_BAD_KEY)
        return key

    @staticmethod
    def check_timestamp(params: Mapping[str, Any], now_ms: int) -> None:
        stamp = long_param(params, "timestamp")
        if stamp is None:
            raise mandatory("timestamp")
        value = Decimal(stamp)
        if value > 10**14:  # microseconds
            value /= 1000
        window = recv_window(params)
        if window <= 0 or window > MAX_RECV_WINDOW:
            raise api_error(400, -1131, f"recvWindow must be less than {MAX_RECV_WINDOW}.")
        if value >= now_ms + 1000:
            raise api_error(400, -1021, MSG_AHEAD)
        if now_ms - value > window:
            raise api_error(400, -1021, MSG_RECV_WINDOW)
