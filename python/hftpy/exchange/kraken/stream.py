"""Kraken spot WS v2 market data: `book` (CRC32-verified), `trade`, `ticker`.

Subscribe frames: `{"method":"subscribe","params":{"channel":"book","symbol":[...],"depth":10},
"req_id":n}`; a book whose checksum fails is unsubscribed and subscribed again, which makes
Kraken send a fresh snapshot. Scales are the pair's `pair_decimals` / `lot_decimals` from REST
`/0/public/AssetPairs`, unless given as `scales=`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hftpy._core import KrakenFeed
from hftpy.common import Exchange
from hftpy.errors import ConfigError
from hftpy.exchange.codec import ENCODER
from hftpy.exchange.stream import StreamBase


class KrakenStream(StreamBase):
    """Kraken WS v2 market data: CRC32-verified books, trades, tickers as typed events.
    Create through `hftpy.exchange.create_exchange_stream`."""

    exchange = Exchange.KRAKEN
    feed_class = KrakenFeed
    channel_aliases: ClassVar[dict[str, str]] = {
        "book": "book",
        "trade": "trade",
        "ticker": "ticker",
    }
    #: Kraken sends a heartbeat every second when no other channel has traffic: the socket
    #: is silent for 2 s only when the venue stalls, whatever the subscriptions.
    default_liveness: ClassVar[dict[str, float]] = {"connection": 1.0}
    default_depth = 10
    depths = (10, 25, 100, 500, 1000)

    def _frames(self, method: str, subs: dict[str, list[str]]) -> list[bytes]:
        frames = []
        for channel, symbols in subs.items():
            params: dict[str, Any] = {"channel": channel, "symbol": symbols}
            if channel == "book":
                params["depth"] = self.depth
            frame = {"method": method, "params": params, "req_id": self._next_id()}
            frames.append(ENCODER.encode(frame))
        return frames

    def _subscribe_frames(self, subs: dict[str, list[str]]) -> list[bytes]:
        return self._frames("subscribe", subs)

    def _unsubscribe_frames(self, subs: dict[str, list[str]]) -> list[bytes]:
        return self._frames("unsubscribe", subs)

    async def _lookup_scales(self, symbols: list[str]) -> dict[str, tuple[int, int]]:
        scales = {}
        for symbol in symbols:
            reply = await self._get_json("/0/public/AssetPairs", {"pair": symbol})
            errors = reply.get("error") if isinstance(reply, dict) else None
            result = reply.get("result") if isinstance(reply, dict) else None
            if errors or not result:
                raise ConfigError(f"Kraken AssetPairs {symbol}: {errors or reply!r}")
            info = next(iter(result.values()))
            scales[symbol] = (int(info["pair_decimals"]), int(info["lot_decimals"]))
        return scales
