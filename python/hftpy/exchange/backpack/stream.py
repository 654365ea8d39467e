"""Backpack public streams: `depth.<symbol>` kept in sync with the REST snapshot
`/api/v1/depth`, `trade.<symbol>`, `bookTicker.<symbol>` (channel `quote`) and
`ticker.<symbol>`.

Subscribe frames: `{"method":"SUBSCRIBE","params":["depth.SOL_USDC",...]}`. Scales are the
decimals of `filters.price.tickSize` / `filters.quantity.stepSize` from `/api/v1/market`, but
at least `MIN_WIRE_SCALE` (8), unless given as `scales=`: the filters are today's trading rules,
and a book still holds orders placed under finer ones (a level such as `"2.005"` after the
step became 0.01), which must be kept, not refused. Backpack documents no fixed precision for
its book text; 8 decimals keep every level seen in practice and leave i64 room for 10^10 units.
"""

from __future__ import annotations

from typing import ClassVar

from hftpy._core import BackpackFeed
from hftpy.common import Exchange
from hftpy.errors import ConfigError
from hftpy.exchange.codec import ENCODER
from hftpy.exchange.stream import StreamBase, scale_of

_STREAM_PREFIX = {"book": "depth.", "trade": "trade.", "quote": "bookTicker.", "ticker": "ticker."}


#: The fewest decimals a Backpack book keeps (see the module docstring).
MIN_WIRE_SCALE = 8


class BackpackStream(StreamBase):
    """Backpack market data: books from the REST snapshot plus depth deltas (sequence-checked),
    trades and tickers. Create through `hftpy.exchange.create_exchange_stream`."""

    exchange = Exchange.BACKPACK
    feed_class = BackpackFeed
    #: `depth.<symbol>` pushes every book change (the server pings only every 60 s): 1 s.
    #: Trades and quotes come only with market activity: not watched by default.
    default_liveness: ClassVar[dict[str, float]] = {"book": 1.0}
    default_depth = 5000

    def _frames(self, method: str, subs: dict[str, list[str]]) -> list[bytes]:
        params = [
            _STREAM_PREFIX[channel] + symbol
            for channel, symbols in subs.items()
            for symbol in symbols
        ]
        return [ENCODER.encode({"method": method, "params": params})]

    def _subscribe_frames(self, subs: dict[str, list[str]]) -> list[bytes]:
        return self._frames("SUBSCRIBE", subs)

    def _unsubscribe_frames(self, subs: dict[str, list[str]]) -> list[bytes]:
        return self._frames("UNSUBSCRIBE", subs)

    def _snapshot_path(self, symbol: str) -> str:
        return f"/api/v1/depth?symbol={symbol}"

    async def _lookup_scales(self, symbols: list[str]) -> dict[str, tuple[int, int]]:
        scales = {}
        for symbol in symbols:
            info = await self._get_json("/api/v1/market", {"symbol": symbol})
            try:
                filters = info["filters"]
                tick = filters["price"]["tickSize"]
                step = filters["quantity"]["stepSize"]
            except (KeyError, TypeError) as exc:
                raise ConfigError(f"Backpack market {symbol}: {exc!r}") from None
            scales[symbol] = (
                max(scale_of(tick), MIN_WIRE_SCALE),
                max(scale_of(step), MIN_WIRE_SCALE),
            )
        return scales
