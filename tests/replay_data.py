"""The real captures in ../shared/data (see its README), found through `HFTPY_REPLAY_DATA`,
else beside the checkout root. Missing data skips the test with the reason, except under
`CI=true`, where it fails. Shared by tests/ and benches/."""

from __future__ import annotations

import ast
import gzip
import os
from functools import cache
from pathlib import Path

import msgspec
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


def capture(relative: str) -> Path:
    """The capture file at `relative` under the data folder, or skip (fail under CI)."""
    root = Path(os.environ.get("HFTPY_REPLAY_DATA") or REPO_ROOT.parent / "shared" / "data")
    path = root / relative
    if not path.is_file():
        reason = f"replay capture {path} not found (set HFTPY_REPLAY_DATA)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI=true requires the replay data")
        pytest.skip(reason)
    return path


class _KrakenFixture(msgspec.Struct):
    init: msgspec.Raw
    updates: list[msgspec.Raw]


@cache
def kraken_book_messages() -> tuple[bytes, tuple[bytes, ...]]:
    """The BTC/USD snapshot and its 509 updates, each as compact JSON with the numbers' text
    exactly as captured (trailing zeros kept)."""
    fixture = msgspec.json.decode(
        capture("kraken/orderbook-v2.json").read_bytes(), type=_KrakenFixture
    )

    def compact(raw: msgspec.Raw) -> bytes:
        return msgspec.json.format(bytes(raw), indent=-1)

    return compact(fixture.init), tuple(compact(u) for u in fixture.updates)


@cache
def binance_lines(name: str) -> tuple[tuple[int, bytes], ...]:
    """`(local receive ns, frame)` per line of a Binance capture."""
    with gzip.open(capture(f"binance/{name}"), "rb") as f:
        lines = []
        for line in f:
            ns, _, frame = line.rstrip(b"\n").partition(b" ")
            lines.append((int(ns), frame))
    return tuple(lines)


def binance_day1() -> tuple[tuple[int, bytes], ...]:
    return binance_lines("spot_btcusdt_20240808.gz")


def binance_day2() -> tuple[tuple[int, bytes], ...]:
    return binance_lines("spot_btcusdt_20240809.gz")


UPBIT_MARKETS = (
    "BTC-ARK",
    "BTC-FCT2",
    "BTC-STPT",
    "BTC-ITAM",
    "BTC-MARO",
    "KRW-WAVES",
    "BTC-AQT",
    "BTC-XTZ",
    "KRW-LAMB",
    "BTC-PAX",
)


@cache
def upbit_frames() -> tuple[bytes, ...]:
    """Every frame Upbit sent in the capture (the `<ts>: b'...'` lines)."""
    frames = []
    for line in capture("upbit/UPBIT.ws.62.0").read_text().splitlines():
        head, sep, literal = line.partition(": b")
        if sep and " " not in head:
            frames.append(ast.literal_eval("b" + literal))
    return tuple(frames)


def corrupt_kraken_checksum(frame: bytes) -> bytes:
    """`frame` with its `checksum` changed in the last bit."""
    head, sep, tail = frame.partition(b'"checksum":')
    digits = tail[: len(tail) - len(tail.lstrip(b"0123456789"))]
    return head + sep + str(int(digits) ^ 1).encode() + tail[len(digits) :]
