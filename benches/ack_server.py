"""A minimal loopback venue for the order round-trip benchmark, run in its own process.

WebSocket: answers every text frame with one fixed Kraken `add_order` ack, splicing in the
request's `req_id` so clients can match it. HTTP: `POST /0/private/GetWebSocketsToken`
returns a fixed token, so the real hftpy client can start unchanged. Prints
`READY <ws_port> <http_port>` when listening; exits on stdin EOF.
"""

from __future__ import annotations

import asyncio
import re
import sys

from aiohttp import web
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_create_server

ACK_HEAD = b'{"method":"add_order","req_id":'
ACK_TAIL = (
    b',"result":{"order_id":"OK4GZK-XOTOY-U4C4X5","cl_ord_id":"636a0574df7c4aa09c3b119a97f7c58b"},'
    b'"success":true,"time_in":"2026-01-05T07:48:36.492452Z","time_out":"2026-01-05T07:48:36.500864Z"}'
)
REQ_ID = re.compile(rb'"req_id":(\d+)')


class AckListener(WSListener):
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            match = REQ_ID.search(frame.get_payload_as_bytes())
            req_id = match.group(1) if match else b"0"
            transport.send(WSMsgType.TEXT, ACK_HEAD + req_id + ACK_TAIL)
        elif frame.msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()


async def token(_: web.Request) -> web.Response:
    return web.json_response({"error": [], "result": {"token": "benchtoken", "expires": 900}})


async def main() -> None:
    server = await ws_create_server(lambda _request: AckListener(), "127.0.0.1", 0)
    ws_port = server.sockets[0].getsockname()[1]
    app = web.Application()
    app.router.add_post("/0/private/GetWebSocketsToken", token)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    http_port = site._server.sockets[0].getsockname()[1]
    print(f"READY {ws_port} {http_port}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
