"""`RestApiBase`: one aiohttp session per REST API object, created lazily inside the running
loop (so objects can be created before `asyncio.run`), with timeouts and JSON decoding."""

from __future__ import annotations

import re
from typing import Any, ClassVar

import aiohttp

from hftpy.common import Exchange
from hftpy.errors import DisconnectedError, RequestTimeoutError
from hftpy.exchange.codec import DECODER

USER_AGENT = "hftpy/0.1 (+https://pypi.org/project/hftpy)"

# A query string inside an error text: a signed one carries the signature (Binance).
_QUERY = re.compile(r"\?[^\s'\"]*")


class RestApiBase:
    """Base of the venue REST APIs: one kept-alive aiohttp session per object, made on first
    use, with the venue's base `url` and a per-call `timeout` in seconds."""

    exchange: ClassVar[Exchange]

    def __init__(self, *, url: str, account: str = "default", timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.account = account
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(account={self.account!r}, url={self.url!r})"

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                headers={"User-Agent": USER_AGENT},
            )
            # aiohttp silently re-sends an "idempotent" request (DELETE: a cancel) when a
            # reused keep-alive connection drops; an order API must send each request once
            # and report the drop instead. No public switch exists: tests/test_rest_api.py
            # fails if this attribute stops having that effect.
            self._session._retry_connection = False
        return self._session

    async def _send(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """Returns (HTTP status, decoded JSON body). Transport failures raise typed errors,
        whose messages name the path without its query string (it may hold a signature)."""
        try:
            async with self._http().request(
                method, self.url + path, data=data, headers=headers, params=params
            ) as resp:
                body = await resp.read()
                status = resp.status
        except TimeoutError:
            where = f"{method} {path.partition('?')[0]}"
            raise RequestTimeoutError(f"{where}: no reply in {self.timeout}s") from None
        except aiohttp.ClientError as exc:
            where = f"{method} {path.partition('?')[0]}"
            detail = _QUERY.sub("?***", str(exc))
            raise DisconnectedError(f"{where}: {type(exc).__name__}: {detail}") from None
        try:
            return status, DECODER.decode(body) if body else None
        except Exception:
            return status, body.decode("utf-8", "replace")

    async def close(self) -> None:
        """Closes the HTTP session (a later call opens a new one)."""
        if self._session is not None:
            await self._session.close()
            self._session = None
