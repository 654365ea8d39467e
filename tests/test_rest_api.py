"""The REST transport under order APIs: a request is sent once, never silently re-sent."""

from __future__ import annotations

import asyncio

import pytest

from hftpy.common import Exchange
from hftpy.errors import DisconnectedError
from hftpy.exchange.rest_api import RestApiBase


class _Api(RestApiBase):
    exchange = Exchange.UPBIT


async def test_a_dropped_keep_alive_connection_does_not_resend_a_cancel() -> None:
    requests: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            requests.append(head.split(b" ", 1)[0])
            if head.startswith(b"DELETE"):
                writer.close()  # the venue's side drops mid-request
                return
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 2\r\nConnection: keep-alive\r\n\r\n{}"
            )
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    api = _Api(url=f"http://127.0.0.1:{port}", timeout=5)
    try:
        assert await api._send("GET", "/v1/orders") == (200, {})
        with pytest.raises(DisconnectedError):
            await api._send("DELETE", "/v1/order?uuid=abc")  # reuses the kept-alive socket
        assert requests == [b"GET", b"DELETE"]  # the cancel went out exactly once
    finally:
        await api.close()
        server.close()
        await server.wait_closed()
