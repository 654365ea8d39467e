"""The checks of a new Upbit order that need no engine call, in the order Upbit makes them
(reference B4): 400 `validation_error`, `invalid_volume`, `invalid_price_bid|ask`,
`under_min_total_bid|ask`, `insufficient_funds_bid|ask`, `post_only_order_would_match`."""

from __future__ import annotations

from collections.abc import Container, Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from ..engine import Account, Book, Instrument, Side
from ..errors import VenueError
from ..market import MarketVenue, fillable
from ..wire import AMOUNT_DECIMALS, exact_units
from .errors import insufficient, invalid, post_only, upbit_error

__all__ = ["ORD_TYPES", "NewOrder", "OrderMeta", "check_order"]

ORD_TYPES: Final = ("limit", "price", "market", "best")


@dataclass(frozen=True, slots=True)
class OrderMeta:
    """What an order was placed as, in Upbit's terms."""

    ord_type: str
    tif: str | None
    smp_type: str | None


@dataclass(frozen=True, slots=True)
class NewOrder:
    """A checked new order, ready for the engine."""

    inst: Instrument
    side: str
    lots: int
    limit: int | None
    meta: OrderMeta
    identifier: str | None


def check_order(
    venue: MarketVenue,
    account: Account,
    params: Mapping[str, Any],
    identifiers: Container[tuple[str, str]],
    released: int | None = None,
) -> NewOrder:
    """Every check of a new order that needs no engine call. `identifiers`: the (account,
    identifier) pairs already used. With `released` (what the order it replaces holds) the
    funds are checked here too, before that order goes."""
    market = params.get("market")
    inst = venue.instrument(market) if isinstance(market, str) else None
    if inst is None:
        raise invalid("market이 올바르지 않습니다.")
    side = {"bid": "buy", "ask": "sell"}.get(str(params.get("side")))
    ord_type = params.get("ord_type")
    if side is None or ord_type not in ORD_TYPES:
        raise invalid("side 또는 ord_type이 올바르지 않습니다.")
    tif = params.get("time_in_force")
    if tif is not None and tif not in ("ioc", "fok", "post_only"):
        raise invalid("time_in_force가 올바르지 않습니다.")
    smp_type = params.get("smp_type")
    if smp_type is not None and smp_type not in ("cancel_maker", "cancel_taker", "reduce"):
        raise invalid("smp_type이 올바르지 않습니다.")
    if tif == "post_only" and (ord_type != "limit" or smp_type is not None):
        raise invalid("post_only 조건이 올바르지 않습니다.")
    if ord_type == "best" and tif not in ("ioc", "fok"):
        raise invalid("best 주문은 ioc 또는 fok만 가능합니다.")
    identifier = params.get("identifier")
    if identifier is not None and (account.name, str(identifier)) in identifiers:
        raise invalid("identifier가 이미 사용되었습니다.")
    suffix = "bid" if side == "buy" else "ask"
    book = venue.engine.book(inst.symbol)
    lots, limit, cost = _size(inst, book, side, ord_type, params.get("volume"), params.get("price"))
    if cost < inst.min_cost_amount:
        raise upbit_error(400, f"under_min_total_{suffix}", "최소주문금액 이상으로 주문해주세요")
    if lots <= 0:
        raise invalid("호가가 없습니다.")
    if tif == "fok" and fillable(book, side, limit) < lots:
        raise invalid("fok 주문이 전량 체결될 수 없습니다.")
    if tif == "post_only" and limit is not None and book.opposite(cast(Side, side)).crosses(limit):
        raise post_only()
    if released is not None and not account.unlimited:
        if side == "buy":
            hold = cost + -(-cost * account.taker_fee_ppm // 1_000_000)
            asset = inst.quote
        else:
            hold, asset = inst.base_amount(lots), inst.base
        if hold > account.balance(asset).available + released:
            raise insufficient(suffix)
    meta = OrderMeta(str(ord_type), tif, smp_type)
    return NewOrder(inst, side, lots, limit, meta, None if identifier is None else str(identifier))


def _size(
    inst: Instrument, book: Book, side: str, ord_type: Any, volume: Any, price: Any
) -> tuple[int, int | None, int]:
    """(lots, limit price or None, cost as an engine amount) of a new order's size fields."""
    suffix = "bid" if side == "buy" else "ask"
    if ord_type == "limit":
        lots = exact_units(volume, inst.qty_decimals)
        limit = exact_units(price, inst.price_decimals)
        if lots is None or lots <= 0:
            raise _invalid_volume()
        if limit is None or limit <= 0 or limit % inst.tick_units:
            raise upbit_error(400, f"invalid_price_{suffix}", "주문 가격 단위가 잘못되었습니다.")
        return lots, limit, inst.cost(limit, lots)
    if side == "buy":  # price / best bid: spend `price` KRW
        if volume is not None:
            raise invalid("시장가 매수는 volume을 받지 않습니다.")
        budget = exact_units(price, inst.price_decimals)
        if budget is None or budget <= 0:
            raise upbit_error(400, f"invalid_price_{suffix}", "주문 금액이 올바르지 않습니다.")
        lots, cost = _lots_for(inst, book.asks.depth(len(book.asks.prices)), budget)
        return lots, None, max(cost, budget * 10 ** (AMOUNT_DECIMALS - inst.price_decimals))
    # market / best ask: sell `volume`
    if price is not None:
        raise invalid("시장가 매도는 price를 받지 않습니다.")
    lots = exact_units(volume, inst.qty_decimals)
    if lots is None or lots <= 0:
        raise _invalid_volume()
    return lots, None, inst.cost(book.bids.best() or 0, lots)


def _invalid_volume() -> VenueError:
    return upbit_error(400, "invalid_volume", "주문 수량이 올바르지 않습니다.")


def _lots_for(inst: Instrument, asks: list[tuple[int, int]], budget: int) -> tuple[int, int]:
    """Lots a market buy of `budget` price units (KRW) takes from `asks`, and their cost."""
    left = budget * 10 ** (AMOUNT_DECIMALS - inst.price_decimals)
    lots = cost = 0
    for price, qty in asks:
        per_lot = inst.cost(price, 1)
        take = min(qty, left // per_lot)
        lots += take
        cost += take * per_lot
        left -= take * per_lot
        if take < qty:
            break
    return lots, cost
