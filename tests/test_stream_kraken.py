"""The Kraken stream over real sockets against a loopback venue replaying the captured book:
subscribe -> snapshot + 509 verified updates per symbol; a corrupted checksum on one symbol
makes the stream resubscribe that symbol alone, and the fresh snapshot restores its book."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web

from hftpy._core import BookEvent, HeartbeatEvent, KrakenFeed, ResyncEvent
from hftpy.common import CurrencyPair, Exchange
from hftpy.exchange import create_exchange_stream, get_exchange_stream
from loopback import LoopbackVenue
from replay_data import corrupt_kraken_checksum, kraken_book_messages

SYMBOLS = ("BTC/USD", "XBT/EUR")
FAULTED, CLEAN = SYMBOLS
CORRUPT_AT = 100


def decimal_text(mantissa: int, scale: int) -> str:
    whole, frac = divmod(mantissa, 10**scale)
    return f"{whole}.{frac:0{scale}d}"


class KrakenReplayVenue:
    """Acks subscriptions and sends snapshots; streams the capture for both symbols once both
    are subscribed, corrupting one checksum of FAULTED."""

    def __init__(self) -> None:
        self.init, self.updates = kraken_book_messages()
        self.reference = KrakenFeed()
        for symbol in SYMBOLS:
            self.reference.add_instrument(symbol, 1, 8)
        self.subscribed: list[str] = []
        self.unsubscribed: list[str] = []
        self.streamer: asyncio.Task[None] | None = None

    def as_symbol(self, frame: bytes, symbol: str) -> bytes:
        return frame.replace(b"BTC/USD", symbol.encode())

    def snapshot(self, symbol: str) -> bytes:
        sid = self.reference.symbol_id(symbol)
        bids, asks = self.reference.top(sid, 10)

        def levels(side: tuple[tuple[int, int], ...]) -> list[str]:
            return [f'{{"price":{decimal_text(p, 1)},"qty":{decimal_text(q, 8)}}}' for p, q in side]

        checksum = self.reference.state(sid).checksum
        return (
            f'{{"channel":"book","type":"snapshot","data":[{{"symbol":"{symbol}",'
            f'"bids":[{",".join(levels(bids))}],"asks":[{",".join(levels(asks))}],'
            f'"checksum":{checksum}}}]}}'
        ).encode()

    def on_text(self, venue: LoopbackVenue, payload: bytes) -> None:
        request = json.loads(payload)
        method, params = request["method"], request["params"]
        for symbol in params["symbol"]:
            ack = {
                "method": method,
                "req_id": request["req_id"],
                "result": {"channel": params["channel"], "symbol": symbol},
                "success": True,
                "time_in": "2023-07-30T15:29:58.000000Z",
                "time_out": "2023-07-30T15:29:58.000100Z",
            }
            venue.send(json.dumps(ack).encode())
            if method == "unsubscribe":
                self.unsubscribed.append(symbol)
                continue
            self.subscribed.append(symbol)
            if self.streamer is None:
                frame = self.as_symbol(self.init, symbol)
                self.reference.feed(frame, 0)
            else:
                frame = self.snapshot(symbol)
            venue.send(frame)
        if self.streamer is None and set(self.subscribed) == set(SYMBOLS):
            self.streamer = asyncio.get_running_loop().create_task(self.stream(venue))

    async def stream(self, venue: LoopbackVenue) -> None:
        for i, update in enumerate(self.updates):
            for symbol in SYMBOLS:
                frame = self.as_symbol(update, symbol)
                event = self.reference.feed(frame, i)
                assert type(event) is BookEvent
                if symbol == FAULTED and i == CORRUPT_AT:
                    frame = corrupt_kraken_checksum(frame)
                venue.send(frame)
            await asyncio.sleep(0)
        venue.send(b'{"channel":"heartbeat"}')


async def asset_pairs(request: web.Request) -> web.Response:
    pair = request.query["pair"]
    info = {"altname": pair.replace("/", ""), "wsname": pair, "pair_decimals": 1, "lot_decimals": 8}
    return web.json_response({"error": [], "result": {pair.replace("/", ""): info}})


async def test_kraken_stream_resyncs_only_the_corrupted_symbol() -> None:
    replay = KrakenReplayVenue()
    routes = {"/0/public/AssetPairs": asset_pairs}
    async with LoopbackVenue(replay.on_text, routes) as venue:
        stream = create_exchange_stream(Exchange.KRAKEN, url=venue.ws_url, rest_url=venue.rest_url)
        assert get_exchange_stream("kraken") is stream
        runner = asyncio.create_task(stream.start())
        events: list[Any] = []
        await stream.subscribe("book", [CurrencyPair.BTC_USD, CLEAN], callback=events.append)
        status = stream.queue(channel="status")
        await stream.wait_ready(10)
        while True:
            event = await asyncio.wait_for(status.get(), 20)
            if type(event) is HeartbeatEvent:
                break

        resyncs = [e for e in events if type(e) is ResyncEvent]
        assert [(e.symbol, e.reason, e.action) for e in resyncs] == [
            (FAULTED, "checksum_mismatch", "resubscribe")
        ]
        assert replay.unsubscribed == [FAULTED]
        assert sorted(replay.subscribed) == sorted([*SYMBOLS, FAULTED])
        assert len(venue.rest_calls) == 2  # one AssetPairs lookup per symbol

        clean = [e for e in events if type(e) is BookEvent and e.symbol == CLEAN]
        assert len(clean) == 510 and all(e.checksum is not None for e in clean)
        faulted = [e for e in events if e.symbol == FAULTED]
        assert faulted.index(resyncs[0]) == CORRUPT_AT + 1
        after = faulted[CORRUPT_AT + 2 :]
        assert after and type(after[0]) is BookEvent and after[0].snapshot

        for symbol in SYMBOLS:
            book = stream.book(symbol)
            sid = replay.reference.symbol_id(symbol)
            assert book.top(10) == replay.reference.top(sid, 10)
            assert book.valid and book.state.checksum == replay.reference.state(sid).checksum
            assert (book.price_scale, book.qty_scale) == (1, 8)
        assert stream.state(FAULTED).resyncs == 1
        assert stream.state(CLEAN).resyncs == 0
        assert stream.resyncs == 1

        await stream.close()
        await runner
