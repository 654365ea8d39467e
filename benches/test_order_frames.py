"""Cost of building and signing one order request, per venue without WS order entry, side by
side in one run: hftpy (validation, exact decimal text, Rust signing, msgspec encoding) against
a pure-Python equivalent a user would write (`cryptography` Ed25519 for Backpack; a stdlib
JWT with `hmac`/`hashlib`/`uuid` for Upbit, no PyJWT). Nothing touches the network.

Run with `pytest benches/test_order_frames.py --benchmark-enable -o addopts=""`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hftpy._core import Ed25519Signer, UpbitSigner
from hftpy.common import CurrencyPair, Side
from hftpy.exchange.backpack import BackpackRestApi, BackpackWsApi
from hftpy.exchange.upbit import UpbitRestApi, UpbitWsApi

BACKPACK_SEED = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
BACKPACK_KEY = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
UPBIT_ACCESS = "test-access-key"
UPBIT_SECRET = "test-secret-key"


# -- Backpack: POST /api/v1/order, Ed25519 over the sorted signing string --------------------


def test_backpack_order_hftpy(benchmark: Any) -> None:
    rest = BackpackRestApi(api_key=BACKPACK_KEY, api_secret=BACKPACK_SEED, url="http://x")
    api = BackpackWsApi(rest_api=rest, url="ws://x")

    def build() -> Any:
        fields = api._order_fields(
            CurrencyPair.SOL_USDC,
            Side.BUY,
            1.5,
            180.5,
            "limit",
            None,
            "gtc",
            True,
            None,
            1001,
            None,
            {},
        )
        return rest.prepare("orderExecute", "POST", "/api/v1/order", fields)

    request = build()
    assert request.headers["X-Signature"] and request.body
    benchmark.group = "backpack order: build + sign"
    benchmark(build)


def test_backpack_order_pure_python(benchmark: Any) -> None:
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(BACKPACK_SEED))

    def build() -> tuple[bytes, dict[str, str]]:
        order = {
            "symbol": "SOL_USDC",
            "side": "Bid",
            "orderType": "Limit",
            "quantity": "1.5",
            "price": "180.5",
            "timeInForce": "GTC",
            "postOnly": True,
            "clientId": 1001,
        }
        ts = time.time_ns() // 1_000_000
        fields = "".join(
            f"&{k}={str(v).lower() if isinstance(v, bool) else v}" for k, v in sorted(order.items())
        )
        text = f"instruction=orderExecute{fields}&timestamp={ts}&window=5000"
        signature = base64.b64encode(key.sign(text.encode())).decode()
        headers = {
            "X-API-Key": BACKPACK_KEY,
            "X-Signature": signature,
            "X-Timestamp": str(ts),
            "X-Window": "5000",
            "Content-Type": "application/json; charset=utf-8",
        }
        return json.dumps(order).encode(), headers

    build()
    benchmark.group = "backpack order: build + sign"
    benchmark(build)


def test_backpack_sign_only_hftpy(benchmark: Any) -> None:
    signer = Ed25519Signer(BACKPACK_SEED)
    message = b"instruction=orderExecute&clientId=1001&orderType=Limit&postOnly=true&price=180.5"
    benchmark.group = "backpack: Ed25519 sign only"
    benchmark(signer.sign, message)


def test_backpack_sign_only_cryptography(benchmark: Any) -> None:
    key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(BACKPACK_SEED))
    message = b"instruction=orderExecute&clientId=1001&orderType=Limit&postOnly=true&price=180.5"
    benchmark.group = "backpack: Ed25519 sign only"
    benchmark(lambda: base64.b64encode(key.sign(message)).decode())


# -- Upbit: POST /v1/orders, HS512 JWT with a SHA-512 query_hash -------------------------------


def test_upbit_order_hftpy(benchmark: Any) -> None:
    rest = UpbitRestApi(api_key=UPBIT_ACCESS, api_secret=UPBIT_SECRET, url="http://x")
    api = UpbitWsApi(rest_api=rest, url="ws://x")

    def build() -> Any:
        params = api._order_params(
            CurrencyPair.BTC_KRW, Side.BUY, 0.01, 100_000_000, "limit", None, None, None, "s-1"
        )
        return rest.prepare("POST", "/v1/orders", params)

    request = build()
    assert request.headers["Authorization"].startswith("Bearer ey")
    benchmark.group = "upbit order: build + sign"
    benchmark(build)


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


_HEADER = _b64url(b'{"alg":"HS512","typ":"JWT"}')


def test_upbit_order_pure_python(benchmark: Any) -> None:
    secret = UPBIT_SECRET.encode()

    def build() -> tuple[bytes, dict[str, str]]:
        params = {
            "market": "KRW-BTC",
            "side": "bid",
            "volume": "0.01",
            "price": "100000000",
            "ord_type": "limit",
            "identifier": "strategy-1-000001",
        }
        query = "&".join(f"{k}={v}" for k, v in params.items())
        payload = {
            "access_key": UPBIT_ACCESS,
            "nonce": str(uuid.uuid4()),
            "query_hash": hashlib.sha512(query.encode()).hexdigest(),
            "query_hash_alg": "SHA512",
        }
        body = _b64url(json.dumps(payload, separators=(",", ":")).encode())
        signing_input = f"{_HEADER}.{body}"
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha512).digest()
        token = f"{signing_input}.{_b64url(signature)}"
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json; charset=utf-8",
        }
        return json.dumps(params).encode(), headers

    build()
    benchmark.group = "upbit order: build + sign"
    benchmark(build)


def test_upbit_jwt_only_hftpy(benchmark: Any) -> None:
    signer = UpbitSigner(UPBIT_ACCESS, UPBIT_SECRET, "HS512")
    query = "market=KRW-BTC&side=bid&volume=0.01&price=100000000&ord_type=limit"
    nonce = "00000000-0000-4000-8000-000000000000"
    benchmark.group = "upbit: JWT with query_hash only"
    benchmark(signer.token, nonce, query)


def test_upbit_jwt_only_stdlib(benchmark: Any) -> None:
    secret = UPBIT_SECRET.encode()
    query = "market=KRW-BTC&side=bid&volume=0.01&price=100000000&ord_type=limit"
    nonce = "00000000-0000-4000-8000-000000000000"

    def token() -> str:
        payload = {
            "access_key": UPBIT_ACCESS,
            "nonce": nonce,
            "query_hash": hashlib.sha512(query.encode()).hexdigest(),
            "query_hash_alg": "SHA512",
        }
        body = _b64url(json.dumps(payload, separators=(",", ":")).encode())
        signing_input = f"{_HEADER}.{body}"
        mac = hmac.new(secret, signing_input.encode(), hashlib.sha512).digest()
        return f"{signing_input}.{_b64url(mac)}"

    assert token() == UpbitSigner(UPBIT_ACCESS, UPBIT_SECRET).token(nonce, query)
    benchmark.group = "upbit: JWT with query_hash only"
    benchmark(token)
