"""Signing and rate limiting, side by side in one run: hftpy's Rust core against the Python
baselines a client would otherwise use.

* Ed25519 (base64 out): `_core.Ed25519Signer` vs `cryptography`. Target ≥ 1.8× faster.
* HMAC-SHA256 (hex out): `_core.HmacSha256Signer` vs stdlib `hmac`. Target ≥ 3× faster.
* Limiter: `_core.RateLimiter.try_acquire` (three cells, as Binance's orders use) vs a
  `threading.Lock` token bucket over the same three limits, written here.
* A whole Binance `order.place` frame: params built, sorted payload signed, JSON encoded
  (HMAC and Ed25519), as `BinanceWsApi` does before the socket write. Reported, no target.

`test_ratios` measures each pair with `timeit` (best of several repeats, so a noisy
neighbour on a shared machine hurts both sides alike) and writes the ratios, and whether each
target is met, to its `extra_info` and stdout.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
import timeit
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hftpy import _core
from hftpy.exchange.binance import BinanceWsApi

SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SEED = bytes.fromhex("f426cf054a2444ea55decbf44fc315b92face8a0cb5b4b2fef501749929fa755")
PAYLOAD = (
    b"apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&newClientOrderId="
    b"636a0574df7c4aa09c3b119a97f7c58b&price=90000.0&quantity=0.001&recvWindow=5000&side=BUY"
    b"&symbol=BTCUSDT&timeInForce=GTC&timestamp=1795383543515&type=LIMIT"
)
LIMITS: list[Any] = [
    ("window", "ORDERS_10S", 50, 10.0, 40),
    ("window", "ORDERS_1D", 160_000, 86_400.0, 128_000),
    ("window", "REQUEST_WEIGHT_1M", 6000, 60.0, 4800),
]
HUGE: list[Any] = [("window", name, 10**9, 1.0, 10**9 - 1) for _, name, *_ in LIMITS]


class LockBucket:
    """The baseline limiter: a token bucket per limit behind one `threading.Lock`."""

    def __init__(self, limits: list[tuple[int, float]]) -> None:
        self.lock = threading.Lock()
        now = time.monotonic()
        self.buckets = [[float(cap), cap / period, float(cap), now] for cap, period in limits]

    def try_acquire(self, costs: list[tuple[int, int]]) -> float:
        with self.lock:
            now = time.monotonic()
            for index, _ in costs:
                bucket = self.buckets[index]
                bucket[0] = min(bucket[2], bucket[0] + (now - bucket[3]) * bucket[1])
                bucket[3] = now
            wait = 0.0
            for index, units in costs:
                tokens, rate = self.buckets[index][0], self.buckets[index][1]
                if tokens < units:
                    wait = max(wait, (units - tokens) / rate)
            if wait:
                return wait
            for index, units in costs:
                self.buckets[index][0] -= units
            return 0.0


COSTS = [(0, 1), (1, 1), (2, 1)]
#: Minimum speed-ups over the baselines (reported in `test_ratios`, not asserted: a shared
#: machine's noise would make them flaky; measure on `make bench`'s fat-LTO build).
TARGETS = {"ed25519": 1.8, "hmac_sha256": 3.0}


def contenders() -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """(hftpy, baseline) per comparison, each a zero-argument call."""
    rust_ed = _core.Ed25519Signer(base64.b64encode(SEED).decode())
    py_ed = Ed25519PrivateKey.from_private_bytes(SEED)
    assert rust_ed.sign(PAYLOAD) == base64.b64encode(py_ed.sign(PAYLOAD)).decode()
    rust_hmac = _core.HmacSha256Signer(SECRET)
    key = SECRET.encode()
    assert rust_hmac.sign(PAYLOAD) == hmac.new(key, PAYLOAD, hashlib.sha256).hexdigest()
    limiter = _core.RateLimiter(HUGE)
    bucket = LockBucket([(10**9, 1.0)] * 3)
    return {
        "ed25519": (
            lambda: rust_ed.sign(PAYLOAD),
            lambda: base64.b64encode(py_ed.sign(PAYLOAD)).decode(),
        ),
        "hmac_sha256": (
            lambda: rust_hmac.sign(PAYLOAD),
            lambda: hmac.new(key, PAYLOAD, hashlib.sha256).hexdigest(),
        ),
        "limiter": (lambda: limiter.try_acquire(COSTS), lambda: bucket.try_acquire(COSTS)),
    }


def order_frame_builder(ed25519: bool) -> Callable[[], bytes]:
    """One Binance order frame as `BinanceWsApi.place_order` builds it before the send."""
    if ed25519:
        api = BinanceWsApi(
            api_key=API_KEY, ed25519_key=base64.b64encode(SEED).decode(), logon=False
        )
    else:
        api = BinanceWsApi(api_key=API_KEY, api_secret=SECRET)
    ids = iter(range(1, 10**9))

    def build() -> bytes:
        params: dict[str, Any] = {"symbol": "BTCUSDT"}
        api._order_params(
            params,
            side="buy",
            order_type="limit",
            quantity=0.001,
            quote_order_qty=None,
            price=90000.0,
            time_in_force=None,
            post_only=None,
            stop_price=None,
            cl_ord_id=None,
            cl_ord_id_name="newClientOrderId",
            extra={},
        )
        return api._encode("order.place", params, next(ids))

    return build


def _bench(benchmark: Any, group: str, func: Callable[[], Any]) -> None:
    benchmark.group = group
    benchmark(func)


def test_ed25519_hftpy(benchmark: Any) -> None:
    _bench(benchmark, "ed25519 sign (base64)", contenders()["ed25519"][0])


def test_ed25519_cryptography(benchmark: Any) -> None:
    _bench(benchmark, "ed25519 sign (base64)", contenders()["ed25519"][1])


def test_hmac_hftpy(benchmark: Any) -> None:
    _bench(benchmark, "hmac-sha256 sign (hex)", contenders()["hmac_sha256"][0])


def test_hmac_stdlib(benchmark: Any) -> None:
    _bench(benchmark, "hmac-sha256 sign (hex)", contenders()["hmac_sha256"][1])


def test_limiter_hftpy(benchmark: Any) -> None:
    _bench(benchmark, "limiter: 3 cells per request", contenders()["limiter"][0])


def test_limiter_lock_bucket(benchmark: Any) -> None:
    _bench(benchmark, "limiter: 3 cells per request", contenders()["limiter"][1])


def test_binance_order_frame_hmac(benchmark: Any) -> None:
    _bench(benchmark, "binance order.place frame: build + sign", order_frame_builder(False))


def test_binance_order_frame_ed25519(benchmark: Any) -> None:
    _bench(benchmark, "binance order.place frame: build + sign", order_frame_builder(True))


def _best_ns(func: Callable[[], Any], number: int, repeat: int = 7) -> float:
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number * 1e9


def test_ratios(benchmark: Any) -> None:
    """Each pair measured interleaved; baseline time / hftpy time (higher is better)."""
    results: dict[str, float] = {}
    for name, (ours, theirs) in contenders().items():
        number = 2000 if name == "ed25519" else 20000
        ours_ns = min(_best_ns(ours, number) for _ in range(2))
        theirs_ns = min(_best_ns(theirs, number) for _ in range(2))
        results[f"{name}_hftpy_ns"] = round(ours_ns, 1)
        results[f"{name}_baseline_ns"] = round(theirs_ns, 1)
        results[f"{name}_ratio"] = round(theirs_ns / ours_ns, 2)
    for flavour, ed in (("hmac", False), ("ed25519", True)):
        results[f"order_frame_{flavour}_ns"] = round(_best_ns(order_frame_builder(ed), 5000), 1)
    for name, target in TARGETS.items():
        results[f"{name}_target_met"] = results[f"{name}_ratio"] >= target
    benchmark.extra_info.update(results)
    benchmark.pedantic(lambda: None, rounds=1, iterations=1)
    print("\n" + "\n".join(f"{k}: {v}" for k, v in results.items()))
