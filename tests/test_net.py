"""WsConnection against a real picows server on loopback: stamps, fragments, reconnect."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import ClassVar

import pytest
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_create_server

from hftpy.net import ReconnectPolicy, WsConnection


class EchoServer(WSListener):
    """Echoes text frames; `split` sends a reply as three fragments; `bye` drops the socket."""

    connections: ClassVar[list[WSTransport]] = []

    def on_ws_connected(self, transport: WSTransport) -> None:
        EchoServer.connections.append(transport)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is not WSMsgType.TEXT:
            return
        payload = frame.get_payload_as_bytes()
        if payload == b"split":
            transport.send(WSMsgType.TEXT, b"ab", fin=False)
            transport.send(WSMsgType.CONTINUATION, b"cd", fin=False)
            transport.send(WSMsgType.CONTINUATION, b"ef", fin=True)
        elif payload == b"bye":
            transport.disconnect(graceful=False)
        else:
            transport.send(WSMsgType.TEXT, payload)


async def serve() -> tuple[asyncio.Server, str]:
    EchoServer.connections = []
    server = await ws_create_server(lambda _: EchoServer(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"ws://127.0.0.1:{port}/"


async def test_frames_arrive_stamped_and_fragments_reassembled() -> None:
    server, url = await serve()
    received: list[tuple[bytes, int, int]] = []
    conn = WsConnection(url, lambda p, ns, mono: received.append((bytes(p), ns, mono)))
    task = asyncio.create_task(conn.run())
    await conn.wait_ready(5)
    sock = conn._transport.underlying_transport.get_extra_info("socket")  # type: ignore[union-attr]
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    before = time.time_ns()
    conn.send(b"hello")
    conn.send(b"split")
    while len(received) < 2:
        await asyncio.sleep(0.001)
    assert [r[0] for r in received] == [b"hello", b"abcdef"]
    for _, recv_ns, recv_mono in received:
        assert before <= recv_ns <= time.time_ns()
        assert recv_mono <= time.monotonic_ns()
    await conn.close()
    await task
    server.close()


async def test_reconnects_with_backoff_and_runs_the_hook_each_time() -> None:
    server, url = await serve()
    hook_calls = 0
    drops = 0

    async def on_connected() -> None:
        nonlocal hook_calls
        hook_calls += 1

    def on_disconnected() -> None:
        nonlocal drops
        drops += 1

    conn = WsConnection(
        url,
        lambda *_: None,
        on_connected=on_connected,
        on_disconnected=on_disconnected,
        reconnect=ReconnectPolicy(initial_delay=0.01, max_delay=0.05),
    )
    task = asyncio.create_task(conn.run())
    await conn.wait_ready(5)
    for expected in (2, 3):
        conn.send(b"bye")  # the server drops us
        while conn.connects < expected or not conn.ready:
            await asyncio.sleep(0.005)
    assert hook_calls == 3 and drops == 2
    await conn.close()
    await task
    assert drops == 3  # close() also ends the last connection
    server.close()


async def test_keeps_retrying_while_the_server_is_down() -> None:
    server, url = await serve()
    server.close()
    await server.wait_closed()
    conn = WsConnection(url, lambda *_: None, reconnect=ReconnectPolicy(0.01, 0.02))
    task = asyncio.create_task(conn.run())
    await asyncio.sleep(0.15)
    assert not conn.connected and conn.last_error is not None
    port = int(url.rsplit(":", 1)[1].strip("/"))
    server = await ws_create_server(lambda _: EchoServer(), "127.0.0.1", port)
    await conn.wait_ready(5)
    assert conn.connects == 1
    await conn.close()
    await task
    server.close()


async def test_close_during_the_handshake_ends_run() -> None:
    # close() before the handshake finished found no socket; run() must not then go on to
    # use the connection it was opening and wait on it forever.
    server, url = await serve()
    conn = WsConnection(url, lambda *_: None)
    task = asyncio.create_task(conn.run())
    await asyncio.sleep(0)  # run() is inside the connect now
    await conn.close()
    await asyncio.wait_for(task, 1.0)
    assert not conn.connected and not conn.ready and conn.connects == 0
    await asyncio.sleep(0.05)
    assert all(t.is_disconnected for t in EchoServer.connections)
    server.close()


def test_backoff_is_capped_and_jittered() -> None:
    policy = ReconnectPolicy(initial_delay=0.1, max_delay=2.0, jitter=0.5)
    delays = [policy.delay(n) for n in range(12)]
    assert all(0 < d <= 2.0 for d in delays)
    assert max(delays[8:]) > 0.99  # reaches the cap region
    assert min(delays[:1]) >= 0.05  # first retry: 0.1 minus at most half
    assert len({round(policy.delay(10), 6) for _ in range(20)}) > 1  # jitter varies


async def test_handshake_headers_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    """picows dumps the upgrade request below DEBUG; a JWT in it must not be logged."""
    server, url = await serve()
    caplog.set_level(1)  # everything, from every logger
    conn = WsConnection(url, lambda *_: None, extra_headers={"Authorization": "Bearer jwt-SECRET"})
    task = asyncio.create_task(conn.run())
    await conn.wait_ready(5)
    await conn.close()
    await task
    server.close()
    # The client's records only: the test server's own picows logger may print what it got.
    ours = [r for r in caplog.records if r.name.startswith(("hftpy", "picows.hftpy"))]
    assert any("WS connection established" in r.getMessage() for r in ours)  # INFO still flows
    assert not any("jwt-SECRET" in r.getMessage() for r in ours)


async def test_close_while_the_auth_hook_waits_for_a_reply() -> None:
    """An auth hook awaiting a reply (a logon) on a socket that goes away must learn of it
    from the disconnect handler at once, not sit out its own timeout and hold close() up."""
    server, url = await serve()
    reply: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def on_connected() -> None:
        await reply  # the logon reply that never comes

    def on_disconnected() -> None:  # what every venue API does with its waiting requests
        if not reply.done():
            reply.set_exception(ConnectionError("gone"))

    conn = WsConnection(
        url, lambda *_: None, on_connected=on_connected, on_disconnected=on_disconnected
    )
    task = asyncio.create_task(conn.run())
    while conn.connects == 0:
        await asyncio.sleep(0.005)
    await conn.close()
    await asyncio.wait_for(task, 5)  # returned at once; it used to wait on the hook
    assert reply.done() and not conn.ready
    server.close()
