"""Client-side helpers for the market-data tests: independent book checks, written from the
references (kraken.md §2, binance.md §2, backpack_upbit.md A3), never from the simulator."""

from __future__ import annotations

import asyncio
import json
import os
import zlib
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection


def kraken_checksum(book: dict[str, dict[Decimal, Decimal]], pd: int, qd: int) -> int:
    """CRC32 of the top 10 asks ascending then top 10 bids descending, fixed precision text."""

    def text(value: Decimal, decimals: int) -> str:
        return f"{value:.{decimals}f}".replace(".", "").lstrip("0")

    asks = sorted(book["asks"].items())[:10]
    bids = sorted(book["bids"].items(), reverse=True)[:10]
    return zlib.crc32("".join(text(p, pd) + text(q, qd) for p, q in asks + bids).encode())


def kraken_apply(book: dict[str, dict[Decimal, Decimal]], item: dict[str, Any], depth: int) -> None:
    """Apply every level of one book message, then truncate each side to `depth`."""
    for side in ("bids", "asks"):
        levels = book[side]
        for level in item[side]:
            if level["qty"] == 0:
                levels.pop(level["price"], None)
            else:
                levels[level["price"]] = level["qty"]
        kept = sorted(levels.items(), reverse=side == "bids")[:depth]
        book[side] = dict(kept)


async def frames(ws: ClientConnection, seconds: float) -> AsyncIterator[Any]:
    """Parsed frames (Decimal floats) until `seconds` have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        try:
            raw = await asyncio.wait_for(ws.recv(), left)
        except TimeoutError:
            return
        text = raw.decode() if isinstance(raw, bytes) else raw
        yield json.loads(text, parse_float=Decimal)


async def first(ws: ClientConnection, match: Callable[[Any], bool], timeout: float = 3.0) -> Any:
    async for message in frames(ws, timeout):
        if match(message):
            return message
    raise TimeoutError("no matching frame")


class DiffBook:
    """Binance/Backpack book sync: buffer diffs, take a snapshot, then `U == prev u + 1`."""

    def __init__(self) -> None:
        self.bids: dict[Decimal, Decimal] = {}
        self.asks: dict[Decimal, Decimal] = {}
        self.last: int | None = None
        self.buffer: list[dict[str, Any]] = []
        self.gaps = 0
        self.applied = 0

    def load(self, snapshot: dict[str, Any]) -> None:
        self.bids = {Decimal(p): Decimal(q) for p, q in snapshot["bids"]}
        self.asks = {Decimal(p): Decimal(q) for p, q in snapshot["asks"]}
        self.last = int(snapshot["lastUpdateId"])
        buffered, self.buffer = self.buffer, []
        assert not buffered or int(buffered[0]["U"]) <= self.last + 1, "snapshot too old"
        for event in buffered:
            self.on_event(event)

    def on_event(self, event: dict[str, Any]) -> None:
        if self.last is None:
            self.buffer.append(event)
            return
        first_id, last_id = int(event["U"]), int(event["u"])
        if last_id <= self.last:
            return
        if first_id > self.last + 1:
            self.gaps += 1  # a real client would resync; the test counts and carries on
        elif self.applied == 0:
            assert first_id <= self.last + 1 <= last_id
        else:
            assert first_id == self.last + 1
        for side, levels in (("b", self.bids), ("a", self.asks)):
            for price, qty in event[side]:
                if Decimal(qty) == 0:
                    levels.pop(Decimal(price), None)
                else:
                    levels[Decimal(price)] = Decimal(qty)
        self.last = last_id
        self.applied += 1

    def crossed(self) -> bool:
        return bool(self.bids and self.asks and max(self.bids) >= min(self.asks))


def data_dir() -> Path:
    """shared/data beside the checkout (or HFTPY_REPLAY_DATA); skip, or fail under CI=true."""
    root = Path(__file__).resolve().parents[2]
    path = Path(os.environ.get("HFTPY_REPLAY_DATA", root.parent / "shared" / "data"))
    if not path.is_dir():
        message = f"replay captures not found at {path} (set HFTPY_REPLAY_DATA)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
