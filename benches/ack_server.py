"""A minimal loopback venue for the order benchmarks, run in its own process.

WebSocket: answers every Kraken frame with one fixed `add_order` ack, splicing in the
request's `req_id` so clients can match it (a v2 `ping` with a `pong`); a Binance frame
(`{"id":...`) with its `time` or `order.place` reply. `{"t2t": N, "kind":
"kraken"|"binance"}` starts the tick-to-trade drill on that connection: the server sends a
quote frame, stamps it, and when the client's order frame comes back stamps that, acks it
and sends the next quote (0.5 ms later), N times; then the server-measured quote-out to
order-in times (ns) as a `t2t_done` channel message (Kraken's shape) or event (Binance's).
HTTP: `POST /0/private/GetWebSocketsToken` returns a fixed token, so the real hftpy client
can start unchanged, and `GET /0/public/Assets` / `AssetPairs` Kraken's BTC/USD reference
data (what ccxt's `load_markets` reads). Prints `READY <ws_port> <http_port>` when
listening; exits on stdin EOF.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time

from aiohttp import web
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_create_server

ACK_HEAD = b'{"method":"add_order","req_id":'
ACK_TAIL = (
    b',"result":{"order_id":"OK4GZK-XOTOY-U4C4X5","cl_ord_id":"636a0574df7c4aa09c3b119a97f7c58b"},'
    b'"success":true,"time_in":"2026-01-05T07:48:36.492452Z","time_out":"2026-01-05T07:48:36.500864Z"}'
)
REQ_ID = re.compile(rb'"req_id":(\d+)')


BINANCE_ID = re.compile(rb'^\{"id":(-?\d+),"method":"([^"]+)"')
BINANCE_ACK = (
    b',"status":200,"result":{"symbol":"BTCUSDT","orderId":28,"clientOrderId":"x",'
    b'"transactTime":1507725176595}}'
)
QUOTES = {
    "kraken": b'{"channel":"quotes","type":"update","data":[{"symbol":"BTC/USD",'
    b'"bid":79999.9,"ask":80000.1}]}',
    "binance": b'{"event":{"e":"quote","s":"BTCUSDT","b":"79999.90","a":"80000.10"}}',
}


class AckListener(WSListener):
    def __init__(self) -> None:
        self.left = 0
        self.quote = b""
        self.out_ns = 0
        self.samples: list[int] = []

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type is WSMsgType.TEXT:
            payload = frame.get_payload_as_bytes()
            if self.out_ns:  # the drill: this frame answers the quote
                self.samples.append(time.monotonic_ns() - self.out_ns)
                self.out_ns = 0
                self.left -= 1
                loop = asyncio.get_running_loop()
                loop.call_later(0.0005, self.next_quote, transport)
            binance = BINANCE_ID.match(payload)
            if binance is not None:
                req_id, method = binance.groups()
                if method == b"time":
                    now = b'{"serverTime":%d}' % (time.time_ns() // 1_000_000)
                    reply = b'{"id":%s,"status":200,"result":%s}' % (req_id, now)
                else:
                    reply = b'{"id":%s' % req_id + BINANCE_ACK
                transport.send(WSMsgType.TEXT, reply)
            elif payload.startswith(b'{"method":"ping"'):  # Kraken v2 application ping
                transport.send(WSMsgType.TEXT, b'{"method":"pong"}')
            elif payload.startswith(b'{"t2t":'):
                spec = json.loads(payload)
                self.left, self.quote, self.samples = spec["t2t"], QUOTES[spec["kind"]], []
                self.next_quote(transport)
            else:
                match = REQ_ID.search(payload)
                req_id = match.group(1) if match else b"0"
                transport.send(WSMsgType.TEXT, ACK_HEAD + req_id + ACK_TAIL)
        elif frame.msg_type is WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code())
            transport.disconnect()

    def next_quote(self, transport: WSTransport) -> None:
        if self.left <= 0:
            if self.quote:
                # as a channel message / event the venue API hands to its listeners
                done: dict[str, object] = {"channel": "t2t_done", "data": self.samples}
                if self.quote == QUOTES["binance"]:
                    done = {"event": {"e": "t2t_done", "data": self.samples}}
                transport.send(WSMsgType.TEXT, json.dumps(done).encode())
                self.quote = b""
            return
        self.out_ns = time.monotonic_ns()
        transport.send(WSMsgType.TEXT, self.quote)


async def token(_: web.Request) -> web.Response:
    return web.json_response({"error": [], "result": {"token": "benchtoken", "expires": 900}})


# Kraken's REST reference data for BTC/USD, in its own shape: what ccxt's load_markets reads.
ASSETS = {
    "XXBT": {"aclass": "currency", "altname": "XBT", "decimals": 10, "display_decimals": 5},
    "ZUSD": {"aclass": "currency", "altname": "USD", "decimals": 4, "display_decimals": 2},
}
ASSET_PAIRS = {
    "XXBTZUSD": {
        "altname": "XBTUSD",
        "wsname": "XBT/USD",
        "aclass_base": "currency",
        "base": "XXBT",
        "aclass_quote": "currency",
        "quote": "ZUSD",
        "lot": "unit",
        "cost_decimals": 5,
        "pair_decimals": 1,
        "lot_decimals": 8,
        "lot_multiplier": 1,
        "leverage_buy": [],
        "leverage_sell": [],
        "fees": [[0, 0.4]],
        "fees_maker": [[0, 0.25]],
        "fee_volume_currency": "ZUSD",
        "margin_call": 80,
        "margin_stop": 40,
        "ordermin": "0.00005",
        "costmin": "0.5",
        "tick_size": "0.1",
        "status": "online",
    }
}


async def assets(_: web.Request) -> web.Response:
    return web.json_response({"error": [], "result": ASSETS})


async def asset_pairs(_: web.Request) -> web.Response:
    return web.json_response({"error": [], "result": ASSET_PAIRS})


async def main() -> None:
    server = await ws_create_server(lambda _request: AckListener(), "127.0.0.1", 0)
    ws_port = server.sockets[0].getsockname()[1]
    app = web.Application()
    app.router.add_post("/0/private/GetWebSocketsToken", token)
    app.router.add_get("/0/public/Assets", assets)
    app.router.add_get("/0/public/AssetPairs", asset_pairs)
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
