"""How Binance writes numbers: every price, quantity and amount with 8 decimals, whatever the
symbol's tickSize / stepSize (reference/binance.md)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

from ..engine import Instrument
from ..wire import AMOUNT_DECIMALS, rescaled_text, text_pairs

__all__ = [
    "MAX_PRICE",
    "MAX_QTY",
    "UNAVAILABLE",
    "WIRE_DECIMALS",
    "levels_json",
    "price_text",
    "qty_text",
    "wire_amount",
]

WIRE_DECIMALS: Final = 8
# Every simulated symbol's PRICE_FILTER maxPrice and LOT_SIZE maxQty (exchangeInfo, order checks).
MAX_PRICE: Final = Decimal(1_000_000)
MAX_QTY: Final = Decimal(9000)
# Every endpoint's answer in maintenance (HTTP 503).
UNAVAILABLE: Final[dict[str, Any]] = {"code": -1016, "msg": "This service is no longer available."}


def price_text(inst: Instrument, units: int) -> str:
    return rescaled_text(units, inst.price_decimals, WIRE_DECIMALS)


def qty_text(inst: Instrument, units: int) -> str:
    return rescaled_text(units, inst.qty_decimals, WIRE_DECIMALS)


def wire_amount(amount: int) -> str:
    """An engine amount (cost, fee, balance) with 8 decimals, rounded down: Binance never shows
    more than is there."""
    return rescaled_text(amount, AMOUNT_DECIMALS, WIRE_DECIMALS, round_down=True)


def levels_json(inst: Instrument, levels: Sequence[tuple[int, int]]) -> bytes:
    """`[["price","qty"],...]` as the depth streams and `/api/v3/depth` print book levels."""
    return text_pairs((price_text(inst, p), qty_text(inst, q)) for p, q in levels)
