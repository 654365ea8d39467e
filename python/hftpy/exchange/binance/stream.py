"""Binance spot market streams on one combined-stream connection (`/stream`): diff depth
(`<symbol>@depth@100ms`) kept in sync with the REST snapshot `/api/v3/depth`, `@trade`, and
`@bookTicker` (channel `quote`, also accepted as `ticker`).

Subscribe frames: `{"method":"SUBSCRIBE","params":["btcusdt@depth@100ms",...],"id":n}`. A
symbol's first diff, and any gap, fetches a new snapshot for that symbol alone. Scales asked of
the feed are the decimals of `tickSize` / `stepSize` from `/api/v3/exchangeInfo`, unless given
as `scales=`; the feed keeps books, trades and quotes at no fewer than the 8 decimals Binance
prints (resting orders can be finer than today's lot step), so read `price_scale` /
`qty_scale` from the view or event.
"""

from __future__ import annotations

from typing import Any, ClassVar

from hftpy._core import BinanceFeed
from hftpy.common import Exchange
from hftpy.errors import ConfigError
from hftpy.exchange.codec import ENCODER
from hftpy.exchange.stream import StreamBase, SymbolLike, scale_of

_STREAM_SUFFIX = {"book": "@depth@100ms", "trade": "@trade", "quote": "@bookTicker"}


class BinanceStream(StreamBase):
    """Binance spot market data: books from the REST snapshot plus diff depth (update ids
    checked), bookTicker quotes, trades. Create through `hftpy.exchange.create_exchange_stream`."""

    exchange = Exchange.BINANCE
    feed_class = BinanceFeed
    channel_aliases: ClassVar[dict[str, str]] = {
        "book": "book",
        "trade": "trade",
        "quote": "quote",
        "ticker": "quote",
    }
    #: `@depth@100ms` pushes every 100 ms while the book changes (ten pushes a second on any
    #: liquid pair); 1 s leaves room for quiet spells. Trades and quotes come only with market
    #: activity and the server's pings (20 s) are control frames: not watched by default.
    default_liveness: ClassVar[dict[str, float]] = {"book": 1.0}
    default_depth = 5000
    url_key = "stream"

    def __init__(self, *, snapshot_limit: int = 1000, **kwargs: Any) -> None:
        """`snapshot_limit` levels per side are asked of `/api/v3/depth` on a resync; the
        other arguments are `StreamBase`'s."""
        super().__init__(**kwargs)
        self.snapshot_limit = snapshot_limit

    def symbol_of(self, symbol: SymbolLike) -> str:
        """The venue's spelling of `symbol`, upper case (`BTCUSDT`; stream names are lower-cased
        when sent)."""
        return super().symbol_of(symbol).upper()

    def _frames(self, method: str, subs: dict[str, list[str]]) -> list[bytes]:
        params = [
            symbol.lower() + _STREAM_SUFFIX[channel]
            for channel, symbols in subs.items()
            for symbol in symbols
        ]
        return [ENCODER.encode({"method": method, "params": params, "id": self._next_id()})]

    def _probe_frame(self) -> bytes | None:
        """`LIST_SUBSCRIPTIONS` (answered at once; one of the 5 messages a second allowed)."""
        return ENCODER.encode({"method": "LIST_SUBSCRIPTIONS", "id": self._next_id()})

    def _subscribe_frames(self, subs: dict[str, list[str]]) -> list[bytes]:
        return self._frames("SUBSCRIBE", subs)

    def _unsubscribe_frames(self, subs: dict[str, list[str]]) -> list[bytes]:
        return self._frames("UNSUBSCRIBE", subs)

    def _snapshot_path(self, symbol: str) -> str:
        return f"/api/v3/depth?symbol={symbol}&limit={self.snapshot_limit}"

    async def _lookup_scales(self, symbols: list[str]) -> dict[str, tuple[int, int]]:
        scales = {}
        for symbol in symbols:
            info = await self._get_json("/api/v3/exchangeInfo", {"symbol": symbol})
            try:
                (entry,) = info["symbols"]
                filters = {f["filterType"]: f for f in entry["filters"]}
                tick = filters["PRICE_FILTER"]["tickSize"]
                step = filters["LOT_SIZE"]["stepSize"]
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(f"Binance exchangeInfo {symbol}: {exc!r}") from None
            scales[symbol] = (scale_of(tick), scale_of(step))
        return scales
