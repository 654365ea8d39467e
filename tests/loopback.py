"""A tiny venue on loopback for stream tests: a picows WebSocket server that hands every text
frame it receives to a handler and sends whatever the test tells it to, plus an aiohttp app
for the REST routes the stream calls. Real sockets: the stream under test cannot tell it from
a venue."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_create_server


class LoopbackVenue:
    def __init__(
        self,
        on_text: Callable[[LoopbackVenue, bytes], None],
        routes: dict[str, Callable[[web.Request], Awaitable[web.Response]]] | None = None,
    ) -> None:
        self.on_text = on_text
        self.received: list[bytes] = []
        self.transports: list[WSTransport] = []
        self.app = web.Application()
        self.rest_calls: list[str] = []
        self._server: Any = None
        self._runner: web.AppRunner | None = None
        self.ws_url = ""
        self.rest_url = ""
        for path, handler in (routes or {}).items():
            self._route(path, handler)

    def _route(self, path: str, handler: Callable[[web.Request], Awaitable[web.Response]]) -> None:
        async def counted(request: web.Request) -> web.Response:
            self.rest_calls.append(request.path_qs)
            return await handler(request)

        self.app.router.add_get(path, counted)

    async def __aenter__(self) -> LoopbackVenue:
        venue = self

        class Listener(WSListener):
            def on_ws_connected(self, transport: WSTransport) -> None:
                venue.transports.append(transport)

            def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
                if frame.msg_type is WSMsgType.TEXT:
                    payload = frame.get_payload_as_bytes()
                    venue.received.append(payload)
                    venue.on_text(venue, payload)
                elif frame.msg_type is WSMsgType.CLOSE:
                    transport.send_close(frame.get_close_code())
                    transport.disconnect()

            def on_ws_disconnected(self, transport: WSTransport) -> None:
                if transport in venue.transports:
                    venue.transports.remove(transport)

        self._server = await ws_create_server(lambda _request: Listener(), "127.0.0.1", 0)
        self.ws_url = f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/ws"
        self._runner = web.AppRunner(self.app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.rest_url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        for transport in list(self.transports):
            transport.disconnect()
        self._server.close()
        await self._server.wait_closed()
        assert self._runner is not None
        await self._runner.cleanup()

    def send(self, frame: bytes) -> None:
        for transport in self.transports:
            transport.send(WSMsgType.TEXT, frame)
