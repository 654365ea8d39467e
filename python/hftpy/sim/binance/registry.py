"""What Binance shows of each order that the engine does not keep (its numeric order id, client
ids, type, time in force, fills), and the order as Binance's replies and `executionReport`s
show it. The simulator remembers every order, open or closed, for `order.status`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..engine import Account, Engine, Instrument, Order, OrderEvent
from ..wire import encode_json
from .request import Clock, api_error, long_param, mandatory, random_client_id
from .text import price_text, qty_text, wire_amount

__all__ = ["OrderMeta", "OrderRegistry"]


@dataclass(slots=True)
class OrderMeta:
    """What Binance shows of an order that the engine does not keep."""

    order_id: int
    client_id: str
    type: str
    tif: str
    final: str = ""  # CANCELED / EXPIRED / FILLED once closed
    cancel_client_id: str = ""
    orig_client_id: str = ""  # the client id before the last amend (the REPLACED report's `C`)
    working_ms: int = -1
    update_ms: int = -1  # the last execution report's time: `order.status`'s `updateTime`
    fills: list[dict[str, Any]] = field(default_factory=list)


class OrderRegistry:
    """Binance's view of every order placed through this venue, keyed by engine order id."""

    def __init__(self, engine: Engine, clock: Clock, seed: int = 0) -> None:
        self.engine = engine
        self.clock = clock
        self.meta: dict[str, OrderMeta] = {}  # engine order id -> what Binance shows
        self.by_id: dict[int, Order] = {}  # Binance order id -> the engine's order
        self._next_order_id = 1_000_000 + seed
        self.execution_id = 1  # the `I` of the latest execution report
        # (client id, type, time in force) of the order being placed: the engine's `new`
        # event arrives from inside `engine.place`, before it returns the order.
        self.pending: tuple[str, str, str] | None = None

    def register(self, order: Order, client_id: str, type_: str, tif: str) -> OrderMeta:
        meta = OrderMeta(self._next_order_id, client_id, type_, tif)
        self._next_order_id += 1
        self.meta[order.order_id] = meta
        self.by_id[meta.order_id] = order
        return meta

    def meta_for(self, event: OrderEvent) -> OrderMeta | None:
        """The order's Binance view; a new Binance order is registered by its `new` event."""
        order = event.order
        meta = self.meta.get(order.order_id)
        if meta is None:
            if event.kind != "new" or order.instrument.venue != "binance":
                return None
            pending = self.pending or (order.cl_ord_id or random_client_id(), "LIMIT", "GTC")
            meta = self.register(order, *pending)
        return meta

    def find(
        self,
        account: Account,
        params: dict[str, Any],
        inst: Instrument,
        id_name: str,
        client_name: str,
    ) -> Order | None:
        """The order a request names by Binance order id or by client id (the newest closed
        one with that client id if none is open); None when it is not `account`'s on `inst`."""
        order_id = long_param(params, id_name)
        client_id = params.get(client_name)
        if client_id == "":
            client_id = None
        if order_id is None and client_id is None:
            raise api_error(
                400,
                -1102,
                f"Param '{client_name}' or '{id_name}' must be sent, but both were empty/null!",
            )
        if order_id is not None:
            order = self.by_id.get(order_id)
        else:
            if not isinstance(client_id, str):
                raise mandatory(client_name)
            order = self._by_client_id(account, client_id)
        if order is None or order.account is not account or order.instrument is not inst:
            return None
        return order

    def _by_client_id(self, account: Account, client_id: str) -> Order | None:
        order = self.engine.find_by_cl_ord_id(account, client_id)
        if order is not None:
            return order
        return next(  # closed orders: the newest with that client id
            (
                o
                for o in reversed(self.by_id.values())
                if o.account is account and self.meta[o.order_id].client_id == client_id
            ),
            None,
        )

    # ----- the order as replies show it -----

    @staticmethod
    def status_text(order: Order, meta: OrderMeta) -> str:
        if meta.final:
            return meta.final
        return {"new": "NEW", "partially_filled": "PARTIALLY_FILLED"}.get(order.status, "NEW")

    def order_fields(self, order: Order, meta: OrderMeta) -> dict[str, Any]:
        inst = order.instrument
        return {
            "price": price_text(inst, order.price or 0),
            "origQty": qty_text(inst, order.qty),
            "executedQty": qty_text(inst, order.filled),
            "origQuoteOrderQty": "0.00000000",
            "cummulativeQuoteQty": wire_amount(order.cum_cost),
            "status": self.status_text(order, meta),
            "timeInForce": meta.tif or "GTC",
            "type": meta.type,
            "side": order.side.upper(),
        }

    def order_result(
        self, order: Order, meta: OrderMeta, resp_type: str, now_ms: int
    ) -> dict[str, Any]:
        """`order.place`'s result in the requested `newOrderRespType` (ACK, RESULT, FULL)."""
        result: dict[str, Any] = {
            "symbol": order.instrument.symbol,
            "orderId": meta.order_id,
            "orderListId": -1,
            "clientOrderId": meta.client_id,
            "transactTime": now_ms,
        }
        if resp_type == "ACK":
            return result
        result.update(self.order_fields(order, meta))
        result["workingTime"] = meta.working_ms
        result["selfTradePreventionMode"] = "EXPIRE_MAKER"
        if resp_type == "FULL":
            result["fills"] = list(meta.fills)
        return result

    def status_report(self, order: Order, meta: OrderMeta, now_ms: int) -> dict[str, Any]:
        """An order as `order.status` and `openOrders.status` show it, open or closed."""
        result: dict[str, Any] = {
            "symbol": order.instrument.symbol,
            "orderId": meta.order_id,
            "orderListId": -1,
            "clientOrderId": meta.client_id,
        }
        result.update(self.order_fields(order, meta))
        result.update(
            {
                "stopPrice": "0.00000000",
                "icebergQty": "0.00000000",
                "time": self.clock.stamp_ms(order.created_ns),
                "updateTime": meta.update_ms if meta.update_ms >= 0 else now_ms,
                "isWorking": meta.working_ms >= 0,
                "workingTime": meta.working_ms,
                "selfTradePreventionMode": "EXPIRE_MAKER",
            }
        )
        return result

    def execution_report(self, event: OrderEvent, meta: OrderMeta) -> bytes | None:
        """The `executionReport` for an engine event (None for `filled`: the TRADE report said
        so); keeps the order's fills, final status and times up to date."""
        order = event.order
        inst = order.instrument
        kind = event.kind
        fill = event.fill
        last_qty = last_price = 0
        commission = 0
        trade_id = -1
        maker = False
        if kind == "new":
            exec_type = status = "NEW"
        elif kind == "trade":
            assert fill is not None
            exec_type = "TRADE"
            status = "FILLED" if order.remaining == 0 else "PARTIALLY_FILLED"
            last_qty, last_price, commission = fill.qty, fill.price, fill.fee
            trade_id, maker = fill.trade_id, fill.maker
            meta.fills.append(
                {
                    "price": price_text(inst, fill.price),
                    "qty": qty_text(inst, fill.qty),
                    "commission": wire_amount(fill.fee),
                    "commissionAsset": inst.quote,
                    "tradeId": fill.trade_id,
                }
            )
            if order.remaining == 0:
                meta.final = "FILLED"
        elif kind == "canceled":
            expired = event.reason in ("IOC remainder", "Market order remainder not filled")
            exec_type = status = "EXPIRED" if expired else "CANCELED"
            meta.final = status
        elif kind == "expired":
            exec_type = status = meta.final = "EXPIRED"
        elif kind == "amended":  # order.amend.keepPriority
            exec_type = "REPLACED"
            status = "PARTIALLY_FILLED" if order.filled else "NEW"
        else:
            return None
        now_ms = self.clock.stamp_ms(event.ts_ns)
        on_book = (
            order.is_open
            and meta.type != "MARKET"
            and meta.tif not in ("IOC", "FOK")
            and (kind != "trade" or order.remaining > 0)
        )
        if on_book and meta.working_ms < 0:
            meta.working_ms = now_ms
        meta.update_ms = now_ms
        cancel = exec_type == "CANCELED"
        replaced = exec_type == "REPLACED"
        self.execution_id += 1
        report: dict[str, Any] = {
            "e": "executionReport",
            "E": now_ms,
            "s": inst.symbol,
            "c": (meta.cancel_client_id or random_client_id()) if cancel else meta.client_id,
            "S": order.side.upper(),
            "o": meta.type,
            "f": meta.tif or "GTC",
            "q": qty_text(inst, order.qty),
            "p": price_text(inst, order.price or 0),
            "P": "0.00000000",
            "F": "0.00000000",
            "g": -1,
            "C": meta.client_id if cancel else meta.orig_client_id if replaced else "",
            "x": exec_type,
            "X": status,
            "r": "NONE",
            "i": meta.order_id,
            "l": qty_text(inst, last_qty),
            "z": qty_text(inst, order.filled),
            "L": price_text(inst, last_price),
            "n": wire_amount(commission),
            "N": inst.quote if kind == "trade" else None,
            "T": now_ms,
            "t": trade_id,
            "I": self.execution_id,
            "w": bool(on_book),
            "m": maker,
            "M": False,
            "O": self.clock.stamp_ms(order.created_ns),
            "Z": wire_amount(order.cum_cost),
            "Y": wire_amount(inst.cost(last_price, last_qty)),
            "Q": "0.00000000",
            "V": "EXPIRE_MAKER",
        }
        if meta.working_ms >= 0:
            report["W"] = meta.working_ms
        return encode_json(report)
