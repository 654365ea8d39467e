"""The Binance stream over real sockets against a loopback venue replaying the captured
btcusdt streams: the first diff fetches the REST snapshot, a diff lost on the wire is a gap
that refetches the snapshot for that symbol, and the book ends equal to the venue's and agrees
with every bookTicker whose update id it has reached."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

from aiohttp import web

from hftpy._core import BinanceFeed, BookEvent, QuoteEvent, ReplyEvent, ResyncEvent, TradeEvent
from hftpy.common import CurrencyPair
from hftpy.exchange import create_exchange_stream
from loopback import LoopbackVenue
from replay_data import binance_day1

FRAMES = 2500
LOST_DEPTH_FRAME = 120
END_ID = 424242


def decimal_text(mantissa: int, scale: int) -> str:
    return str(Decimal(mantissa).scaleb(-scale))


class BinanceReplayVenue:
    def __init__(self) -> None:
        lines = binance_day1()
        self.reference = BinanceFeed()
        self.reference.add_instrument("BTCUSDT", 2, 8)
        start = 0
        for start, (recv_ns, frame) in enumerate(lines):  # noqa: B007
            if frame.startswith(b'{"lastUpdateId"'):
                self.reference.apply_snapshot(0, frame, recv_ns)
            else:
                self.reference.feed(frame, recv_ns)
            if self.reference.state(0).valid:
                break
        self.frames = [frame for _, frame in lines[start + 1 : start + 1 + FRAMES]]
        self.subscriptions: list[list[str]] = []
        self.snapshots = 0
        self.streamer: asyncio.Task[None] | None = None

    def on_text(self, venue: LoopbackVenue, payload: bytes) -> None:
        request = json.loads(payload)
        assert request["method"] == "SUBSCRIBE"
        self.subscriptions.append(request["params"])
        venue.send(json.dumps({"result": None, "id": request["id"]}).encode())
        if len(self.streams) == 3 and self.streamer is None:
            self.streamer = asyncio.get_running_loop().create_task(self.stream(venue))

    @property
    def streams(self) -> list[str]:
        return [name for params in self.subscriptions for name in params]

    async def stream(self, venue: LoopbackVenue) -> None:
        depth_frames = 0
        for frame in self.frames:
            self.reference.feed(frame, 0)
            if b"@depth" in frame:
                depth_frames += 1
                if depth_frames == LOST_DEPTH_FRAME:
                    continue  # lost on the wire
            venue.send(frame)
            await asyncio.sleep(0)
        venue.send(json.dumps({"result": None, "id": END_ID}).encode())

    async def depth(self, request: web.Request) -> web.Response:
        assert request.query["symbol"] == "BTCUSDT"
        self.snapshots += 1
        bids, asks = self.reference.top(0, 100_000)
        view = self.reference.book(0)
        ps, qs = view.price_scale, view.qty_scale  # Binance's wire scale, 8
        body = {
            "lastUpdateId": self.reference.state(0).sequence,
            "bids": [[decimal_text(p, ps), decimal_text(q, qs)] for p, q in bids],
            "asks": [[decimal_text(p, ps), decimal_text(q, qs)] for p, q in asks],
        }
        return web.json_response(body)


async def exchange_info(request: web.Request) -> web.Response:
    filters = [
        {"filterType": "PRICE_FILTER", "tickSize": "0.01000000"},
        {"filterType": "LOT_SIZE", "stepSize": "0.00000100"},
    ]
    symbol = {"symbol": request.query["symbol"], "filters": filters}
    return web.json_response({"symbols": [symbol]})


async def test_binance_stream_syncs_and_refetches_the_snapshot_after_a_gap() -> None:
    replay = BinanceReplayVenue()
    routes = {"/api/v3/depth": replay.depth, "/api/v3/exchangeInfo": exchange_info}
    async with LoopbackVenue(replay.on_text, routes) as venue:
        stream = create_exchange_stream("binance", url=venue.ws_url, rest_url=venue.rest_url)
        runner = asyncio.create_task(stream.start())
        book_events: list[Any] = []
        trades = stream.queue(channel="trade")
        quotes_checked = 0
        done = asyncio.Event()

        pending: dict[int, QuoteEvent] = {}

        def check(quote: QuoteEvent) -> None:
            nonlocal quotes_checked
            book = stream.book("BTCUSDT")
            assert book.best_bid() == (quote.bid_price, quote.bid_qty)
            assert book.best_ask() == (quote.ask_price, quote.ask_qty)
            quotes_checked += 1

        def on_quote(quote: QuoteEvent) -> None:
            # A bookTicker usually arrives before the depth batch holding its update id.
            state = stream.state("BTCUSDT")
            assert quote.update_id is not None
            if state.valid and state.sequence == quote.update_id:
                check(quote)
            elif state.sequence is None or quote.update_id > state.sequence:
                pending[quote.update_id] = quote

        def on_book(event: BookEvent) -> None:
            assert event.sequence is not None
            quote = pending.pop(event.sequence, None)
            if quote is not None:
                check(quote)
            for u in [u for u in pending if u <= event.sequence]:
                del pending[u]

        def on_status(event: Any) -> None:
            if type(event) is ReplyEvent and event.req_id == END_ID:
                done.set()

        stream.add_listener(on_status, channel="status")
        stream.add_listener(lambda e: type(e) is BookEvent and on_book(e), channel="book")
        await stream.subscribe(
            ["book", "trade"], CurrencyPair.BTC_USDT, callback=book_events.append
        )
        await stream.subscribe("ticker", "BTCUSDT", callback=on_quote)
        await stream.wait_ready(10)
        await asyncio.wait_for(done.wait(), 30)
        for _ in range(100):  # the last snapshot fetch may still be in flight
            if stream.state("BTCUSDT").valid:
                break
            await asyncio.sleep(0.02)

        # Incremental: whatever was subscribed before the second call is not sent again.
        assert sorted(replay.streams) == [
            "btcusdt@bookTicker",
            "btcusdt@depth@100ms",
            "btcusdt@trade",
        ]
        resyncs = [e for e in book_events if type(e) is ResyncEvent]
        assert [(e.reason, e.action) for e in resyncs] == [
            ("initial", "fetch_snapshot"),
            ("sequence_gap", "fetch_snapshot"),
        ]
        assert replay.snapshots == 2
        assert venue.rest_calls[0] == "/api/v3/exchangeInfo?symbol=BTCUSDT"
        assert venue.rest_calls[1:] == ["/api/v3/depth?symbol=BTCUSDT&limit=1000"] * 2
        snapshots = [e for e in book_events if type(e) is BookEvent and e.snapshot]
        assert len(snapshots) == 2
        # That listener asked for book and trade only.
        assert not any(type(e) is QuoteEvent for e in book_events)
        assert any(type(e) is TradeEvent for e in book_events)

        state = stream.state("BTCUSDT")
        assert state.valid and state.resyncs == 1
        assert state.sequence == replay.reference.state(0).sequence
        book = stream.book(CurrencyPair.BTC_USDT)
        # The book is kept at the wire's 8 decimals, not tickSize's 2 or stepSize's 6.
        assert (book.price_scale, book.qty_scale) == (8, 8)
        assert book.top(100_000) == replay.reference.top(0, 100_000)
        assert trades.qsize() > 100
        trade = trades.get_nowait()
        assert type(trade) is TradeEvent and trade.symbol == "BTCUSDT"
        assert quotes_checked > 20

        await stream.close()
        await runner
