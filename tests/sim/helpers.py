"""Client-side helpers for the simulator tests: stdlib signing, a token, a raw WS client.

The client side here is deliberately plain (stdlib signing, `websockets`, `json`): these tests
check the simulator against the documented protocol, not against hftpy's own client.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection

from hftpy.sim import Simulator

TOKEN_PATH = "/0/private/GetWebSocketsToken"
_nonces = itertools.count(time.time_ns())  # strictly increasing across the whole session


def kraken_sign(secret_b64: str, uri_path: str, nonce: str, body: bytes) -> str:
    """Kraken's API-Sign, written from reference/kraken.md §5."""
    inner = hashlib.sha256(nonce.encode() + body).digest()
    mac = hmac.new(base64.b64decode(secret_b64), uri_path.encode() + inner, hashlib.sha512)
    return base64.b64encode(mac.digest()).decode()


async def post_signed(
    base_url: str,
    api_key: str,
    signature: str,
    body: bytes,
    content_type: str = "application/x-www-form-urlencoded; charset=utf-8",
    path: str = TOKEN_PATH,
) -> tuple[int, dict[str, Any]]:
    headers = {"API-Key": api_key, "API-Sign": signature, "Content-Type": content_type}
    async with (
        aiohttp.ClientSession() as http,
        http.post(base_url + path, data=body, headers=headers) as resp,
    ):
        return resp.status, await resp.json()


async def get_token(sim: Simulator) -> str:
    env = sim.env
    nonce = str(next(_nonces))
    body = f"nonce={nonce}".encode()
    signature = kraken_sign(env["HFTPY_KRAKEN_API_SECRET"], TOKEN_PATH, nonce, body)
    _, reply = await post_signed(
        env["HFTPY_KRAKEN_REST_URL"], env["HFTPY_KRAKEN_API_KEY"], signature, body
    )
    assert reply["error"] == [], reply
    token: str = reply["result"]["token"]
    return token


class WsClient:
    """Collects every frame; tests pick the ones they expect, whatever the interleaving."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.inbox: list[tuple[str, Any]] = []  # (raw text, parsed JSON or None)
        self.arrived = asyncio.Event()
        self.reader = asyncio.create_task(self._read())
        self.req_ids = itertools.count(1)

    async def _read(self) -> None:
        async for frame in self.ws:
            text = frame if isinstance(frame, str) else frame.decode()
            try:
                parsed = json.loads(text, parse_float=Decimal)
            except ValueError:
                parsed = None
            self.inbox.append((text, parsed))
            self.arrived.set()

    async def send(self, message: dict[str, Any] | str) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def take(self, match: Callable[[Any], bool], timeout: float = 2.0) -> tuple[str, Any]:
        """Remove and return the first (raw, parsed) frame whose parsed JSON matches."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for i, (raw, parsed) in enumerate(self.inbox):
                if match(parsed):
                    del self.inbox[i]
                    return raw, parsed
            self.arrived.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"no matching frame; inbox: {self.inbox}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), left)

    async def reply(self, req_id: int, timeout: float = 2.0) -> dict[str, Any]:
        _, parsed = await self.take(
            lambda m: isinstance(m, dict) and m.get("req_id") == req_id, timeout
        )
        reply: dict[str, Any] = parsed
        return reply

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        req_id = next(self.req_ids)
        message: dict[str, Any] = {"method": method, "req_id": req_id}
        if params is not None:
            message["params"] = params
        await self.send(message)
        return await self.reply(req_id)

    async def execution(
        self, exec_type: str, order_id: str | None = None, timeout: float = 2.0
    ) -> dict[str, Any]:
        """The next executions item of this type (and order); each update carries one item."""

        def match(m: Any) -> bool:
            return (
                isinstance(m, dict)
                and m.get("channel") == "executions"
                and m.get("type") == "update"
                and m["data"][0]["exec_type"] == exec_type
                and order_id in (None, m["data"][0]["order_id"])
            )

        _, parsed = await self.take(match, timeout)
        item: dict[str, Any] = parsed["data"][0]
        return item

    async def close(self) -> None:
        await self.ws.close()
        await self.reader


def channel(name: str, kind: str | None = None) -> Callable[[Any], bool]:
    def match(m: Any) -> bool:
        return (
            isinstance(m, dict)
            and m.get("channel") == name
            and (kind is None or m.get("type") == kind)
        )

    return match
