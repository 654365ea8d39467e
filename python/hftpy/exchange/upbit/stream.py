"""Upbit quotation stream: `orderbook` (channel `book`; each message replaces the book),
`trade`, `ticker`, in the SIMPLE format.

Upbit replaces a connection's whole subscription with each request, so every change re-sends
the complete list: `[{"ticket":..},{"type":"orderbook","codes":["KRW-BTC.15",..]},
{"type":"trade","codes":[..]},{"format":"SIMPLE"}]`; users still subscribe incrementally.
Upbit publishes no decimals per market: scales default to 8 for prices and sizes (exact for
every KRW, BTC and USDT market), or come from `scales=`.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from hftpy._core import UpbitFeed
from hftpy.common import Exchange
from hftpy.exchange.codec import ENCODER
from hftpy.exchange.stream import StreamBase, SymbolLike

_TYPE = {"book": "orderbook", "trade": "trade", "ticker": "ticker"}
DEFAULT_SCALES = (8, 8)


class UpbitStream(StreamBase):
    """Upbit market data (orderbook, trade, ticker) as validated local books and typed events.
    Create through `hftpy.exchange.create_exchange_stream`."""

    exchange = Exchange.UPBIT
    feed_class = UpbitFeed
    channel_aliases: ClassVar[dict[str, str]] = {
        "book": "book",
        "orderbook": "book",
        "trade": "trade",
        "ticker": "ticker",
    }
    #: `orderbook` pushes the whole book on every change; `{"status":"UP"}` comes only every
    #: ~10 s and only after a `PING`: 1 s on books. Trades and tickers: not watched by default.
    default_liveness: ClassVar[dict[str, float]] = {"book": 1.0}
    default_depth = 15
    #: Orderbook units Upbit accepts as the `.N` suffix of a code.
    depths = (1, 5, 15, 30)

    def symbol_of(self, symbol: SymbolLike) -> str:
        """The venue's spelling of `symbol`, upper case (`KRW-BTC`)."""
        return super().symbol_of(symbol).upper()

    def request(self) -> bytes | None:
        """The one request carrying every current subscription (None when there is none)."""
        items: list[dict[str, Any]] = [{"ticket": f"hftpy-{uuid.uuid4()}"}]
        for channel, symbols in self.subscriptions.items():
            codes = [f"{s}.{self.depth}" if channel == "book" else s for s in symbols]
            items.append({"type": _TYPE[channel], "codes": codes})
        if len(items) == 1:
            return None
        items.append({"format": "SIMPLE"})
        return ENCODER.encode(items)

    def _full(self) -> list[bytes]:
        frame = self.request()
        if frame is None:
            # Nothing left: a fresh connection is the only empty subscription.
            self._conn.drop()
            return []
        return [frame]

    def _probe_frame(self) -> bytes | None:
        """The text `PING` (answered by `{"status":"UP"}`)."""
        return b"PING"

    def _subscribe_frames(self, subs: dict[str, list[str]]) -> list[bytes]:
        return self._full()

    def _unsubscribe_frames(self, subs: dict[str, list[str]]) -> list[bytes]:
        return self._full()

    def _resubscribe_frames(self, symbol: str) -> list[bytes]:
        # Every orderbook message is a whole book: the next one restores the symbol. Sending
        # the subscription again also makes Upbit start with a snapshot.
        return self._full()

    async def _lookup_scales(self, symbols: list[str]) -> dict[str, tuple[int, int]]:
        return dict.fromkeys(symbols, DEFAULT_SCALES)
