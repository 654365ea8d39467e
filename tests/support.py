"""Helpers shared by the venue test modules."""

from __future__ import annotations

import asyncio
from typing import Any


class Replies:
    """A callback that records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, str, dict[str, Any], dict[str, Any], int]] = []
        self.arrived = asyncio.Event()

    def __call__(
        self,
        request_id: int,
        method: str,
        request: dict[str, Any],
        response: dict[str, Any],
        latency: int,
    ) -> None:
        self.calls.append((request_id, method, request, response, latency))
        self.arrived.set()

    async def wait_for(self, count: int, timeout: float = 5.0) -> None:
        async def enough() -> None:
            while len(self.calls) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(enough(), timeout)

    @property
    def responses(self) -> list[dict[str, Any]]:
        return [call[3] for call in self.calls]
