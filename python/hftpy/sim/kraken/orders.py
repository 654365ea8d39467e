"""Kraken's views of an order: the WS v2 `executions` reports, the REST order shape, and the
history both draw on (every order of the keyed accounts while the simulator runs).

WS v2 shows numbers as JSON numbers at the pair's precisions and the pair as `BTC/USD`; REST
shows numbers as strings, the pair by its altname `XBTUSD` and times as epoch seconds.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from ..engine import AMOUNT_DECIMALS, Instrument, Order, OrderEvent
from ..wire import fixed_number, fixed_text, rescaled_number, rescaled_text, rfc3339_s, rfc3339_us
from .protocol import asset_decimals, pair_altname

__all__ = [
    "OrderHistory",
    "OrderRecord",
    "balance_item",
    "describe",
    "execution_items",
    "order_description",
    "order_snapshot",
    "rest_order",
]

MAX_CLOSED_ORDERS: Final = 10_000  # closed orders remembered for QueryOrders, per venue
SNAP_TRADES: Final = 50  # fills per account the executions `snap_trades` snapshot shows
_REST_STATUS: Final = {
    "new": "open",
    "partially_filled": "open",
    "filled": "closed",
    "canceled": "canceled",
    "expired": "expired",
}


@dataclass(slots=True, eq=False)
class OrderRecord:
    """What Kraken's REST order queries show of an order beyond the engine's state."""

    order: Order
    closed_ns: int | None = None
    reason: str | None = None
    amended: bool = False
    trades: list[str] = field(default_factory=list)


class OrderHistory:
    """Every Kraken order of the keyed accounts (closed ones up to MAX_CLOSED_ORDERS), and each
    account's last fills as rendered when they happened (`snap_trades`)."""

    def __init__(self) -> None:
        self.orders: dict[str, OrderRecord] = {}
        self._closed: collections.deque[str] = collections.deque()  # oldest closed first
        self._fills: dict[str, collections.deque[dict[str, Any]]] = {}

    def get(self, order_id: str) -> OrderRecord | None:
        return self.orders.get(order_id)

    def fills(self, account_name: str) -> collections.deque[dict[str, Any]]:
        fills = self._fills.get(account_name)
        if fills is None:
            fills = self._fills[account_name] = collections.deque(maxlen=SNAP_TRADES)
        return fills

    def record(self, event: OrderEvent) -> None:
        order = event.order
        if order.instrument.venue != "kraken":
            return
        record = self.orders.get(order.order_id)
        if record is None:
            if event.kind != "new":
                return
            record = self.orders[order.order_id] = OrderRecord(order)
        if event.kind == "trade":
            assert event.fill is not None
            record.trades.append(event.fill.exec_id)
            self.fills(order.account.name).append(trade_item(event))  # totals as of this fill
        elif event.kind == "amended":
            record.amended = True
        elif event.kind in ("filled", "canceled", "expired"):
            record.closed_ns = event.ts_ns
            record.reason = event.reason or None
            self._closed.append(order.order_id)
            while len(self._closed) > MAX_CLOSED_ORDERS:
                self.orders.pop(self._closed.popleft(), None)


# ----- REST -----


def _epoch_number(ns: int) -> msgspec.Raw:
    """Epoch seconds with 4 decimals, as REST shows `opentm` / `closetm` (`1688666559.8974`)."""
    return msgspec.Raw(b"%d.%04d" % (ns // 1_000_000_000, ns // 100_000 % 10_000))


def _average_price(order: Order) -> int:
    """The order's average fill price in ticks, rounded half up (0 before any fill)."""
    if not order.filled:
        return 0
    inst = order.instrument
    base = inst.base_amount(order.filled)
    scale: int = 10**inst.price_decimals
    return (2 * order.cum_cost * scale + base) // (2 * base)


def describe(inst: Instrument, side: str, qty: int, price: int | None) -> str:
    """An order as REST's `descr.order` says it: `buy 1.25000000 XBTUSD @ limit 27500.0`, or
    `... @ market` (no price)."""
    head = f"{side} {fixed_text(qty, inst.qty_decimals)} {pair_altname(inst)} @ "
    if price is None:
        return head + "market"
    return head + f"limit {fixed_text(price, inst.price_decimals)}"


def order_description(order: Order) -> str:
    return describe(order.instrument, order.side, order.qty, order.price)


def rest_order(record: OrderRecord, trades: bool) -> dict[str, Any]:
    """One order as OpenOrders / QueryOrders show it (the key order of Kraken's examples)."""
    order = record.order
    inst = order.instrument
    price = "0" if order.price is None else fixed_text(order.price, inst.price_decimals)
    avg = fixed_text(_average_price(order), inst.price_decimals) if order.filled else "0.00000"
    status = _REST_STATUS[order.status]
    info: dict[str, Any] = {"refid": None, "userref": order.userref or 0}
    if order.cl_ord_id is not None:
        info["cl_ord_id"] = order.cl_ord_id
    info["status"] = status
    if status != "open":
        info["reason"] = record.reason if status != "closed" else None
    info["opentm"] = _epoch_number(order.created_ns)
    if record.closed_ns is not None:
        info["closetm"] = _epoch_number(record.closed_ns)
    info["starttm"] = 0
    info["expiretm"] = 0 if order.expire_ns is None else order.expire_ns // 1_000_000_000
    info["descr"] = {
        "pair": pair_altname(inst),
        "type": order.side,
        "ordertype": order.order_type,
        "price": price,
        "price2": "0",
        "leverage": "none",
        "order": order_description(order),
        "close": "",
    }
    info["vol"] = fixed_text(order.qty, inst.qty_decimals)
    info["vol_exec"] = fixed_text(order.filled, inst.qty_decimals)
    info["cost"] = rescaled_text(order.cum_cost, AMOUNT_DECIMALS, inst.cost_decimals)
    info["fee"] = rescaled_text(order.fees, AMOUNT_DECIMALS, inst.cost_decimals)
    info["price"] = avg
    info["stopprice"] = "0.00000"
    info["limitprice"] = "0.00000"
    info["misc"] = "amended" if record.amended else ""
    info["oflags"] = "fciq,post" if order.post_only else "fciq"
    if trades and record.trades:
        info["trades"] = list(record.trades)
    return info


# ----- WS v2 executions -----


def _order_refs(order: Order) -> dict[str, Any]:
    refs: dict[str, Any] = {"order_id": order.order_id, "order_userref": order.userref or 0}
    if order.cl_ord_id is not None:
        refs["cl_ord_id"] = order.cl_ord_id
    return refs


def _totals(order: Order) -> dict[str, Any]:
    inst = order.instrument
    return {
        "cum_qty": fixed_number(order.filled, inst.qty_decimals),
        "cum_cost": rescaled_number(order.cum_cost, AMOUNT_DECIMALS, inst.cost_decimals),
        "avg_price": fixed_number(_average_price(order), inst.price_decimals),
        "fee_usd_equiv": rescaled_number(order.fees, AMOUNT_DECIMALS, inst.cost_decimals),
    }


def order_snapshot(order: Order, exec_type: str = "new") -> dict[str, Any]:
    """Every field of an order, as in the snapshot and the `pending_new` report."""
    inst = order.instrument
    item: dict[str, Any] = {
        **_order_refs(order),
        "symbol": inst.symbol,
        "side": order.side,
        "order_type": order.order_type,
        "order_qty": fixed_number(order.qty, inst.qty_decimals),
        "time_in_force": order.time_in_force.upper(),
        "post_only": order.post_only,
        "reduce_only": False,
        "exec_type": exec_type,
        "order_status": "pending_new" if exec_type == "pending_new" else order.status,
        **_totals(order),
        "fee_ccy_pref": "fciq",
        "timestamp": rfc3339_us(order.created_ns),
    }
    if order.price is not None:
        item["limit_price"] = fixed_number(order.price, inst.price_decimals)
        item["limit_price_type"] = "static"
    if order.expire_ns is not None:
        item["expire_time"] = rfc3339_s(order.expire_ns)
    return item


def trade_item(event: OrderEvent) -> dict[str, Any]:
    order, fill = event.order, event.fill
    assert fill is not None
    inst = order.instrument
    status = "filled" if order.filled == order.qty else "partially_filled"
    return {
        **_order_refs(order),
        "exec_id": fill.exec_id,
        "exec_type": "trade",
        "trade_id": fill.trade_id,
        "symbol": inst.symbol,
        "side": order.side,
        "order_type": order.order_type,
        "last_qty": fixed_number(fill.qty, inst.qty_decimals),
        "last_price": fixed_number(fill.price, inst.price_decimals),
        "liquidity_ind": "m" if fill.maker else "t",
        "cost": rescaled_number(fill.cost, AMOUNT_DECIMALS, inst.cost_decimals),
        "order_status": status,
        "fees": [
            {
                "asset": inst.quote,
                "qty": rescaled_number(fill.fee, AMOUNT_DECIMALS, inst.cost_decimals),
            }
        ],
        **_totals(order),
        "timestamp": rfc3339_us(event.ts_ns),
    }


def execution_items(event: OrderEvent) -> list[dict[str, Any]]:
    """Kraken's execution reports for one engine event (a new order gives two)."""
    order = event.order
    kind = event.kind
    timestamp = rfc3339_us(event.ts_ns)
    if kind == "new":
        new = {
            **_order_refs(order),
            "exec_type": "new",
            "order_status": "new",
            "timestamp": timestamp,
        }
        return [order_snapshot(order, "pending_new"), new]
    if kind == "trade":
        return [trade_item(event)]
    item: dict[str, Any] = {**_order_refs(order), "exec_type": kind}
    if kind == "amended":
        inst = order.instrument
        item["order_status"] = "partially_filled" if order.filled else "new"
        item["amended"] = True
        item["order_qty"] = fixed_number(order.qty, inst.qty_decimals)
        if order.price is not None:
            item["limit_price"] = fixed_number(order.price, inst.price_decimals)
        item["reason"] = event.reason
    else:  # filled, canceled, expired
        item["order_status"] = kind
        item.update(_totals(order))
        if event.reason:
            item["reason"] = event.reason
    item["timestamp"] = timestamp
    return [item]


def balance_item(asset: str, total: int) -> dict[str, Any]:
    """One asset of the `balances` snapshot."""
    balance = rescaled_number(total, AMOUNT_DECIMALS, asset_decimals(asset), round_down=True)
    return {
        "asset": asset,
        "asset_class": "currency",
        "balance": balance,
        "wallets": [{"type": "spot", "id": "main", "balance": balance}],
    }
