"""Backpack's request signing (reference A5), written independently of the client.

A signed request carries `X-API-Key` (the base64 Ed25519 public key), `X-Signature` (base64),
`X-Timestamp` (ms) and `X-Window` (ms, default 5000, at most 60000) over
`instruction=<instr>&<sorted params>&timestamp=..&window=..`; a batch signs one
`instruction=...&<params>` chunk per item. A private WS subscribe signs
`instruction=subscribe&timestamp=..&window=..` and sends the four values as `signature`.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..engine import Account
from ..wire import now_ms, param_text
from .errors import api_error

__all__ = [
    "BACKPACK_API_KEY",
    "BACKPACK_API_SECRET",
    "DEFAULT_WINDOW",
    "MAX_WINDOW",
    "BackpackAuth",
    "signing_string",
]

MAX_WINDOW: Final = 60_000
DEFAULT_WINDOW: Final = 5_000

_SEED: Final = hashlib.sha512(b"hftpy sim backpack demo api secret").digest()[:32]
#: Demo credentials: the base64 Ed25519 seed and its base64 public key.
BACKPACK_API_SECRET: Final = base64.b64encode(_SEED).decode()
BACKPACK_API_KEY: Final = base64.b64encode(
    Ed25519PrivateKey.from_private_bytes(_SEED).public_key().public_bytes_raw()
).decode()


def signing_string(
    instruction: str, params: Mapping[str, Any] | list[Any], timestamp: str, window: str
) -> str:
    """Backpack's signed text: sorted keys, lower-case booleans, `None` values left out."""
    items = params if isinstance(params, list) else [params]
    chunks = []
    for item in items:
        text = f"instruction={instruction}"
        if isinstance(item, Mapping):
            for key in sorted(item):
                if item[key] is not None:
                    text += f"&{key}={param_text(item[key])}"
        chunks.append(text)
    return "&".join(chunks) + f"&timestamp={timestamp}&window={window}"


class BackpackAuth:
    """The venue's API keys and the check of a signed request against them.

    `reject_auth()` is asked once a request got as far as its signature: True makes it fail as
    a bad signature (the `reject_auth` fault).
    """

    def __init__(self, reject_auth: Callable[[], bool]) -> None:
        self.keys: dict[str, tuple[Ed25519PublicKey, Account]] = {}
        self._reject_auth = reject_auth

    def add_key(self, public_key_b64: str, account: Account) -> None:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
        self.keys[public_key_b64] = (key, account)

    def verify(
        self,
        key_b64: str | None,
        signature: str | None,
        timestamp: str | None,
        window: str | None,
        instruction: str,
        params: Mapping[str, Any] | list[Any],
    ) -> Account:
        """The account whose key signed this, else a VenueError as Backpack answers it."""
        if not key_b64 or not signature or not timestamp:
            raise api_error("UNAUTHORIZED", "Missing authentication headers", 401)
        entry = self.keys.get(key_b64)
        if entry is None:
            raise api_error("UNAUTHORIZED", "API key not found", 401)
        window = window or str(DEFAULT_WINDOW)
        try:
            ts, win = int(timestamp), int(window)
        except ValueError:
            raise api_error("INVALID_CLIENT_REQUEST", "Invalid timestamp or window") from None
        if not 0 < win <= MAX_WINDOW:
            raise api_error("INVALID_CLIENT_REQUEST", f"Window must be at most {MAX_WINDOW}")
        now = now_ms()
        if now > ts + win or ts > now + win:
            raise api_error("INVALID_CLIENT_REQUEST", "Request has expired")
        text = signing_string(instruction, params, timestamp, window)
        public_key, account = entry
        try:
            if self._reject_auth():
                raise InvalidSignature
            public_key.verify(base64.b64decode(signature, validate=True), text.encode())
        except (InvalidSignature, ValueError):
            raise api_error("INVALID_SIGNATURE", "Invalid signature") from None
        return account
