"""The REST transport under order APIs: a request is sent once, never silently re-sent."""

from __future__ import annotations

import asyncio

import pytest

from hftpy.common import Exchange
from hftpy.errors import DisconnectedError, RequestTimeoutError
from hftpy.exchange.binance import BinanceRestApi
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


async def test_transport_errors_do_not_carry_the_signed_query() -> None:
    # Binance signs REST calls in the query string: a failed call's message must not print it.
    writers: list[asyncio.StreamWriter] = []

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read()  # never answers
        writer.close()

    server = await asyncio.start_server(stall, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    api = BinanceRestApi(
        api_key="key", api_secret="not-a-real-secret", url=f"http://127.0.0.1:{port}", timeout=0.2
    )
    try:
        with pytest.raises(RequestTimeoutError) as timed_out:
            await api.account_info()
        for writer in writers:
            writer.close()
            await writer.wait_closed()
        server.close()
        await server.wait_closed()
        with pytest.raises(DisconnectedError) as refused:  # nothing listens any more
            await api.account_info()
    finally:
        await api.close()
        server.close()
    for exc in (timed_out.value, refused.value):
        assert "/api/v3/account" in str(exc)
        assert "signature" not in str(exc) and "timestamp=" not in str(exc)
