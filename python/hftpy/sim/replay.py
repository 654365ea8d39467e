"""Recorded captures (see shared/data/README.md) read back for replay, and the pacing of it.

Every replaying connection gets its own timeline that starts when it subscribes: the first
frame goes out at once, each later one after the recorded inter-arrival time divided by `rate`
(`0` = as fast as the socket takes them). Files are read from where they lie, never copied.
"""

from __future__ import annotations

import ast
import asyncio
import gzip
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from .market import StreamConnection

__all__ = [
    "KrakenBookCapture",
    "Pacer",
    "UpbitCapture",
    "binance_frames",
    "binance_snapshot",
    "parse_rate",
]

_STREAM_PREFIX = b'{"stream":"'


def parse_rate(text: str | float) -> float:
    """`--rate` values: a positive multiplier, or `0` / `max` for as fast as possible."""
    if isinstance(text, str) and text.strip().lower() in ("max", "inf", "0"):
        return 0.0
    rate = float(text)
    if rate < 0 or rate != rate:
        raise ValueError(f"replay rate must be >= 0 or 'max', not {text!r}")
    return 0.0 if rate == float("inf") else rate


class Pacer:
    """Sleeps so frames leave at their recorded spacing divided by `rate`; honours backpressure."""

    __slots__ = ("conn", "count", "origin", "rate")

    def __init__(self, rate: float, conn: StreamConnection | None = None) -> None:
        self.rate = rate
        self.conn = conn
        self.origin: tuple[int, float] | None = None
        self.count = 0

    async def wait(self, recorded_ns: int, writable: asyncio.Event | None = None) -> None:
        self.count += 1
        loop = asyncio.get_running_loop()
        if self.rate > 0:
            if self.origin is None:
                self.origin = (recorded_ns, loop.time())
            first_ns, first_at = self.origin
            delay = first_at + (recorded_ns - first_ns) / 1e9 / self.rate - loop.time()
            if delay > 0.0005:
                await asyncio.sleep(delay)
            elif self.count % 64 == 0:
                await asyncio.sleep(0)
        elif self.count % 64 == 0:
            await asyncio.sleep(0)
        if writable is not None and not writable.is_set():
            await writable.wait()


# ----- Binance: gzip text, `<recv ns> <combined-stream frame>` per line -----


def _binance_lines(paths: Sequence[Path]) -> Iterator[tuple[int, bytes]]:
    for path in paths:
        with gzip.open(path, "rb") as lines:
            for line in lines:
                stamp, _, frame = line.rstrip(b"\r\n").partition(b" ")
                if frame:
                    yield int(stamp), frame


def binance_snapshot(paths: Sequence[Path]) -> dict[str, Any] | None:
    """The inline REST depth snapshot (`{"lastUpdateId":...}`), if the capture holds one."""
    for _, frame in _binance_lines(paths):
        if frame.startswith(b'{"lastUpdateId"'):
            snapshot: dict[str, Any] = json.loads(frame)
            return snapshot
    return None


def binance_frames(paths: Sequence[Path]) -> Iterator[tuple[int, str, bytes, bytes]]:
    """(receive ns, stream name, combined frame, raw payload) per recorded stream frame."""
    for stamp, frame in _binance_lines(paths):
        if not frame.startswith(_STREAM_PREFIX):
            continue  # the REST snapshot line
        end = frame.index(b'"', len(_STREAM_PREFIX))
        stream = frame[len(_STREAM_PREFIX) : end]
        head = _STREAM_PREFIX + stream + b'","data":'
        if frame.startswith(head) and frame.endswith(b"}"):
            data = frame[len(head) : -1]
        else:  # spacing differs from the usual compact form: re-encode the payload
            data = json.dumps(json.loads(frame)["data"], separators=(",", ":")).encode()
        yield stamp, stream.decode(), frame, data


# ----- Kraken: {"init": snapshot message, "updates": [update messages]} -----


@dataclass(frozen=True, slots=True)
class KrakenBookCapture:
    """A recorded Kraken v2 book session: levels as Decimal, checksums as recorded."""

    symbol: str
    depth: int
    # (recorded ns, type, bids, asks, checksum, timestamp text or None)
    messages: tuple[
        tuple[int, str, list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]], int, str],
        ...,
    ]

    @classmethod
    def load(cls, path: Path, depth: int = 10) -> KrakenBookCapture:
        with path.open("rb") as f:
            capture = json.load(f, parse_float=Decimal)
        raw = [capture["init"], *capture["updates"]]
        stamps = [_rfc3339_ns(m["data"][0].get("timestamp")) for m in raw]
        first = next((s for s in stamps if s is not None), 0)
        messages = []
        last = first
        for message, stamp in zip(raw, stamps, strict=True):
            item = message["data"][0]
            last = stamp if stamp is not None else last
            messages.append(
                (
                    last,
                    str(message["type"]),
                    [(Decimal(lv["price"]), Decimal(lv["qty"])) for lv in item["bids"]],
                    [(Decimal(lv["price"]), Decimal(lv["qty"])) for lv in item["asks"]],
                    int(item["checksum"]),
                    str(item.get("timestamp") or ""),
                )
            )
        symbol = str(raw[0]["data"][0]["symbol"])
        return cls(symbol, depth, tuple(messages))


def _rfc3339_ns(text: Any) -> int | None:
    if not isinstance(text, str):
        return None
    whole, _, frac = text.rstrip("Z").partition(".")
    seconds = datetime.fromisoformat(whole + "+00:00").timestamp()
    return int(seconds) * 1_000_000_000 + int((frac or "0").ljust(9, "0")[:9])


# ----- Upbit: cryptofeed's text log, `<ts>: b'<binary frame>'` per received frame -----


@dataclass(frozen=True, slots=True)
class UpbitCapture:
    """Recorded SIMPLE-format frames: (recorded ns, type, code, parsed message)."""

    frames: tuple[tuple[int, str, str, dict[str, Any]], ...]

    @classmethod
    def load(cls, path: Path) -> UpbitCapture:
        frames = []
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                stamp, sep, literal = line.rstrip("\n").partition(": b")
                if not sep or " " in stamp:
                    continue  # connect / sent-request lines
                payload = ast.literal_eval("b" + literal)
                if not isinstance(payload, bytes):
                    continue
                message = json.loads(payload, parse_float=Decimal)
                if not isinstance(message, dict) or "ty" not in message:
                    continue
                ns = int(Decimal(stamp) * 1_000_000_000)
                frames.append((ns, str(message["ty"]), str(message["cd"]), message))
        return cls(tuple(frames))

    @property
    def codes(self) -> set[str]:
        return {code for _, _, code, _ in self.frames}
