"""The outbound path without a network, in one process, each contender measured interleaved
(best of several repeats each, in turn):

* `test_frames_vs_python`: each venue's Rust frame writer (`KrakenFrames`, `BinanceFrames`
  HMAC-signed, `BackpackFrames`, `UpbitFrames`) against the Python path it replaced for the
  same params (msgspec encoding; the Python signing text with the same Rust signer; Upbit's
  query string and JWT) — what "one Rust call per order" buys.
* `test_nowait_steps`: what `place_order_nowait` spends per step on Kraken and Binance (HMAC),
  the socket replaced by a transport that only keeps the bytes: argument binding and the
  request path's own code ("glue"), params build + validation, the frame (and signature),
  the send stamp, the transport call, and the bookkeeping after the send (tracker, pending
  entry), which is not on the way to the wire.

Percentages are of the whole call; `extra_info` holds ns per step.
"""

from __future__ import annotations

import time
import timeit
from collections.abc import Callable
from typing import Any

from hftpy.common import CurrencyPair, Side
from hftpy.exchange.backpack import BackpackRestApi, BackpackWsApi
from hftpy.exchange.binance import BinanceWsApi
from hftpy.exchange.codec import ENCODER
from hftpy.exchange.kraken import KrakenRestApi, KrakenWsApi
from hftpy.exchange.upbit import UpbitRestApi, UpbitWsApi
from hftpy.exchange.upbit.rest import query_string
from hftpy.redact import Secret

BACKPACK_SEED = "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
BACKPACK_KEY = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
NONCE = "00000000-0000-4000-8000-000000000000"


def best_ns(func: Callable[[], Any], number: int = 5000, repeat: int = 7) -> float:
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number * 1e9


class KeepingTransport:
    """Stands for the picows transport: keeps the last frame, sends nothing."""

    last: bytes = b""

    def send(self, kind: Any, payload: bytes) -> None:
        self.last = payload


def offline_apis() -> tuple[KrakenWsApi, BinanceWsApi]:
    rest = KrakenRestApi(api_key="benchkey", api_secret="c2VjcmV0", url="http://127.0.0.1:9")
    kraken = KrakenWsApi(url="ws://127.0.0.1:9/v2", rest_api=rest, executions=False, rate_tier=None)
    kraken._set_token(Secret("benchtoken"))
    binance = BinanceWsApi(
        api_key="benchkey", api_secret="benchsecret", url="ws://127.0.0.1:9", user_data=False
    )
    binance.rate_limiter = None
    for api in (kraken, binance):
        api._conn._transport = KeepingTransport()  # type: ignore[assignment]
        api._conn.is_ready = True
    return kraken, binance


def test_frames_vs_python(benchmark: Any) -> None:
    kraken, binance = offline_apis()
    params_k = kraken._add_order_params(
        CurrencyPair.BTC_USD,
        Side.BUY,
        0.001,
        80000.0,
        "limit",
        True,
        None,
        None,
        None,
        None,
        None,
        {},
    )
    params_b = binance._place_params(
        CurrencyPair.BTC_USDT, Side.BUY, 0.001, 80000.0, "limit", True, None, None, None, None, {}
    )
    params_b["timestamp"], params_b["recvWindow"] = 1_754_000_000_123, 5000
    bp_rest = BackpackRestApi(api_key=BACKPACK_KEY, api_secret=BACKPACK_SEED, url="http://x")
    fields = BackpackWsApi(rest_api=bp_rest, url="ws://x")._order_fields(
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
    up_rest = UpbitRestApi(api_key="test-access-key", api_secret="test-secret", url="http://x")
    upbit = UpbitWsApi(rest_api=up_rest, url="ws://x")._order_params(
        CurrencyPair.BTC_KRW, Side.BUY, 0.01, 100_000_000, "limit", None, None, None, "s-1"
    )
    assert kraken._frames is not None and bp_rest._frames is not None
    assert up_rest._frames is not None
    bp_frames, up_frames, signer = bp_rest._frames, up_rest._frames, up_rest.signer
    pairs: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        "kraken_add_order": (
            lambda: kraken._frames.build("add_order", params_k, 7),
            lambda: kraken._encode_generic("add_order", params_k, 7),
        ),
        "binance_order_place_hmac": (
            lambda: binance._frames.build("order.place", params_b, 7, True),
            lambda: binance._encode_signed("order.place", dict(params_b), 7),
        ),
        "backpack_order_execute": (
            lambda: bp_frames.build("orderExecute", fields, 1_754_000_000_123, 5000),
            lambda: (
                ENCODER.encode(fields),
                bp_rest.sign("orderExecute", fields, timestamp=1_754_000_000_123),
            ),
        ),
        "upbit_orders": (
            lambda: up_frames.build(upbit, NONCE),
            lambda: (ENCODER.encode(upbit), signer.token(NONCE, query_string(upbit))),
        ),
    }
    for rust, python in pairs.values():  # the same bytes, both ways
        built, reference = rust(), python()
        assert (built[0] if isinstance(built, tuple) else built) == (
            reference[0] if isinstance(reference, tuple) else reference
        )
    results: dict[str, float] = {}

    def cycle() -> None:
        for name, (rust, python) in pairs.items():
            number = 500 if name.startswith("backpack") else 5000
            rust_ns, python_ns = best_ns(rust, number, 5), best_ns(python, number, 5)
            results[f"{name}_rust_ns"] = min(results.get(f"{name}_rust_ns", rust_ns), rust_ns)
            results[f"{name}_python_ns"] = min(
                results.get(f"{name}_python_ns", python_ns), python_ns
            )

    benchmark.pedantic(cycle, rounds=2, iterations=1)
    for name in pairs:
        rust_ns, python_ns = results[f"{name}_rust_ns"], results[f"{name}_python_ns"]
        benchmark.extra_info[name] = {
            "rust_ns": round(rust_ns, 1),
            "python_ns": round(python_ns, 1),
            "python_vs_rust": round(python_ns / rust_ns, 2),
        }


def nowait_steps(
    api: KrakenWsApi | BinanceWsApi, method: str, params: Callable[[], dict[str, Any]]
) -> dict[str, float]:
    """ns per step of one `place_order_nowait` (see the module doc)."""
    pending = api._pending
    pair = CurrencyPair.BTC_USD if isinstance(api, KrakenWsApi) else CurrencyPair.BTC_USDT

    def place() -> None:
        api.place_order_nowait(pair, Side.BUY, 0.001, 80000.0, post_only=True)
        pending.clear()

    def track() -> None:
        api._track(7, method, built, None, False, None, 1, None, 1)
        pending.clear()

    built = params()
    conn = api._conn
    copy_ns = best_ns(lambda: dict(built))
    clear_ns = best_ns(pending.clear)
    steps = {
        "whole call": best_ns(place) - clear_ns,
        "params build + validation": best_ns(params),
        "frame (+ signature)": best_ns(lambda: api._encode(method, dict(built), 5)) - copy_ns,
        "send stamp (one clock read)": best_ns(time.monotonic_ns),
        "transport call": best_ns(lambda: conn.send(b"x")),
        "after the send: tracker + pending entry": best_ns(track) - clear_ns,
    }
    steps["argument binding + request path (glue)"] = 2 * steps["whole call"] - sum(steps.values())
    return steps


def test_nowait_steps(benchmark: Any) -> None:
    kraken, binance = offline_apis()
    cases: dict[str, tuple[KrakenWsApi | BinanceWsApi, str, Callable[[], dict[str, Any]]]] = {
        "kraken": (
            kraken,
            "add_order",
            lambda: kraken._add_order_params(
                CurrencyPair.BTC_USD,
                Side.BUY,
                0.001,
                80000.0,
                "limit",
                True,
                None,
                None,
                None,
                None,
                None,
                {},
            ),
        ),
        "binance": (
            binance,
            "order.place",
            lambda: binance._place_params(
                CurrencyPair.BTC_USDT,
                Side.BUY,
                0.001,
                80000.0,
                "limit",
                True,
                None,
                None,
                None,
                None,
                {},
            ),
        ),
    }
    steps: dict[str, dict[str, float]] = {}

    def measure() -> None:
        for venue, case in cases.items():
            new = nowait_steps(*case)
            old = steps.get(venue, new)
            steps[venue] = {name: min(value, old[name]) for name, value in new.items()}

    benchmark.pedantic(measure, rounds=2, iterations=1)
    for venue, costs in steps.items():
        benchmark.extra_info[venue] = {name: round(ns) for name, ns in costs.items()}
