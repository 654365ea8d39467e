"""Upbit's orders (reference B4): the ledger of the orders placed through the REST API (uuid,
`identifier`, what each was placed as, its fills), the order JSON, and the order endpoints'
work once the request is authenticated.

`POST /v1/orders` (201 with the order), `DELETE /v1/order?uuid=` or `identifier=` (200 with
the order as it was, cancellation accepted), `GET /v1/order` (any order, finished ones with
their final `state`, plus its `trades`), `POST /v1/orders/cancel_and_new`
(`prev_order_uuid|prev_order_identifier`, `new_ord_type`, `new_volume` (a number or
`remain_only`), `new_price`, `new_identifier`, `new_time_in_force`, `new_smp_type`; 201 with
the cancelled order's fields as the cancel found it plus `new_order_uuid`,
`new_order_identifier`), `DELETE /v1/orders/open` (`cancel_side`, `pairs` |
`quote_currencies`, `excluded_pairs`, `count` (default 20, max 300), `order_by`; `{"success":
{"count", "orders": [{"uuid", "market", "identifier"?}]}, "failed": {...}}`),
`GET /v1/orders/open` (`market`, `state` | `states[]` of `wait`/`watch`, `page`, `limit` <=
100, `order_by`). 404 `order_not_found`: unknown, or no longer open where a cancel needs it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any, Final

from ..engine import Account, Order, OrderEvent, OrderRejected, RejectReason
from ..errors import VenueError
from ..market import MarketVenue
from ..wire import amount_text, decimal_text, int_param
from .checks import ORD_TYPES, NewOrder, OrderMeta, check_order
from .errors import insufficient, invalid, not_found, post_only

__all__ = ["CANCEL_AND_NEW_KEYS", "MAX_PAIRS", "STATES", "UpbitOrders", "kst"]

MAX_PAIRS: Final = 20
#: Engine order status / event kind -> Upbit `state`.
STATES: Final = {"new": "wait", "canceled": "cancel", "expired": "cancel", "filled": "done"}
#: The documented body of `POST /v1/orders/cancel_and_new`: the cancelled order's fields (then
#: `new_order_uuid`, `new_order_identifier`).
CANCEL_AND_NEW_KEYS: Final = (
    "uuid",
    "side",
    "ord_type",
    "price",
    "state",
    "market",
    "created_at",
    "volume",
    "remaining_volume",
    "executed_volume",
    "reserved_fee",
    "remaining_fee",
    "paid_fee",
    "locked",
    "prevented_volume",
    "prevented_locked",
    "smp_type",
    "trades_count",
    "time_in_force",
)


def kst(ns: int) -> str:
    """Upbit's `created_at`: ISO 8601 in KST with its offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+09:00", time.gmtime(ns // 10**9 + 9 * 3600))


class UpbitOrders:
    """The venue's Upbit orders and what the order endpoints do with them."""

    def __init__(self, venue: MarketVenue) -> None:
        self.venue = venue
        self.engine = venue.engine
        self._uuids: dict[str, str] = {}  # engine order id -> uuid
        self._orders: dict[str, Order] = {}  # uuid -> order
        self._identifiers: dict[tuple[str, str], str] = {}  # (account, identifier) -> uuid
        self._meta: dict[str, OrderMeta] = {}  # engine id -> what the order was placed as
        self._identifier_of: dict[str, str | None] = {}  # engine id -> identifier
        self._fills: dict[str, list[dict[str, Any]]] = {}  # engine id -> `trades` entries
        self._placing: tuple[str, OrderMeta, str | None] | None = None

    # ----- the ledger -----

    def record(self, event: OrderEvent) -> str | None:
        """Note an engine event of an account's order: the uuid of its trade if it is a fill of
        an order placed here."""
        order = event.order
        if event.kind == "new" and self._placing is not None:
            order_uuid, meta, identifier = self._placing
            self._placing = None
            self._uuids[order.order_id] = order_uuid
            self._orders[order_uuid] = order
            if identifier is not None:
                self._identifiers[(order.account.name, identifier)] = order_uuid
            self._meta[order.order_id] = meta
            self._identifier_of[order.order_id] = identifier
        if event.fill is None or order.order_id not in self._uuids:
            return None
        trade_uuid = str(uuid.uuid4())
        self._fills.setdefault(order.order_id, []).append(self._trade_entry(event, trade_uuid))
        return trade_uuid

    def uuid_of(self, order: Order) -> str:
        return self._uuids.get(order.order_id, order.order_id)

    def meta(self, order: Order) -> OrderMeta:
        return self._meta.get(order.order_id, OrderMeta(order.order_type, None, None))

    def identifier_of(self, order: Order) -> str | None:
        return self._identifier_of.get(order.order_id)

    def trades_count(self, order: Order) -> int:
        return len(self._fills.get(order.order_id, ()))

    def _trade_entry(self, event: OrderEvent, trade_uuid: str) -> dict[str, Any]:
        """One `trades` item of `GET /v1/order`: `trend` is the aggressor's direction."""
        order, fill = event.order, event.fill
        assert fill is not None
        inst = order.instrument
        aggressor_buys = (order.side == "buy") != fill.maker
        return {
            "market": inst.symbol,
            "uuid": trade_uuid,
            "price": decimal_text(fill.price, inst.price_decimals),
            "volume": decimal_text(fill.qty, inst.qty_decimals),
            "funds": amount_text(fill.cost),
            "trend": "up" if aggressor_buys else "down",
            "created_at": kst(event.ts_ns),
            "side": "bid" if order.side == "buy" else "ask",
        }

    def body(self, order: Order) -> dict[str, Any]:
        """The order as the REST API shows it."""
        inst = order.instrument
        pd, qd = inst.price_decimals, inst.qty_decimals
        meta = self.meta(order)
        return {
            "uuid": self.uuid_of(order),
            "side": "bid" if order.side == "buy" else "ask",
            "ord_type": meta.ord_type,
            "price": None if order.price is None else decimal_text(order.price, pd),
            "state": STATES.get(order.status, "wait"),
            "market": inst.symbol,
            "created_at": kst(order.created_ns),
            "volume": decimal_text(order.qty, qd),
            "remaining_volume": decimal_text(order.remaining, qd),
            "executed_volume": decimal_text(order.filled, qd),
            "reserved_fee": "0",
            "remaining_fee": "0",
            "paid_fee": amount_text(order.fees),
            "locked": amount_text(order.held),
            "executed_funds": amount_text(order.cum_cost),
            "prevented_volume": "0",
            "prevented_locked": "0",
            "smp_type": meta.smp_type,
            "trades_count": self.trades_count(order),
            "time_in_force": meta.tif,
            "identifier": self.identifier_of(order),
        }

    # ----- endpoints (authenticated `account`, request `params`) -----

    def place(self, account: Account, params: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /v1/orders`."""
        return self.body(self._submit(account, self._check(account, params)))

    def get(self, account: Account, params: Mapping[str, Any]) -> dict[str, Any]:
        """`GET /v1/order`: the order and its `trades`."""
        order = self._find(account, params)
        body = self.body(order)
        body["trades"] = list(self._fills.get(order.order_id, ()))
        return body

    def cancel(self, account: Account, params: Mapping[str, Any]) -> dict[str, Any]:
        """`DELETE /v1/order`: the order as it was when the cancel was accepted."""
        order = self._find(account, params)
        body = self.body(order)
        if not order.is_open:
            raise not_found()
        try:
            self.engine.cancel(order)
        except OrderRejected:
            raise not_found() from None
        return body

    def cancel_and_new(self, account: Account, params: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /v1/orders/cancel_and_new`: the new order (same market and side) is checked
        before the old one is cancelled, and entered after it."""
        prev_uuid, prev_identifier = (
            params.get("prev_order_uuid"),
            params.get("prev_order_identifier"),
        )
        if prev_uuid is None and prev_identifier is None:
            raise invalid("prev_order_uuid 또는 prev_order_identifier가 필요합니다.")
        ord_type = params.get("new_ord_type")
        if ord_type not in ORD_TYPES:
            raise invalid("new_ord_type이 올바르지 않습니다.")
        prev = self._lookup(account, prev_uuid, prev_identifier)
        if not prev.is_open:
            raise not_found()
        side = "bid" if prev.side == "buy" else "ask"
        volume = params.get("new_volume")
        if volume == "remain_only":
            if ord_type == "price" or (ord_type == "best" and side == "bid"):
                raise invalid("remain_only는 지정가, 시장가 매도, 최유리 매도 주문만 지원합니다.")
            volume = decimal_text(prev.remaining, prev.instrument.qty_decimals)
        new_params = {
            "market": prev.instrument.symbol,
            "side": side,
            "ord_type": ord_type,
            "volume": volume,
            "price": params.get("new_price"),
            "time_in_force": params.get("new_time_in_force"),
            "smp_type": params.get("new_smp_type"),
            "identifier": params.get("new_identifier"),
        }
        spec = self._check(
            account, {k: v for k, v in new_params.items() if v is not None}, released=prev.held
        )
        cancelled = self.body(prev)  # as it was when the cancel was accepted
        try:
            self.engine.cancel(prev)
        except OrderRejected:
            raise not_found() from None
        placed = self._submit(account, spec)
        body = {key: cancelled[key] for key in CANCEL_AND_NEW_KEYS}
        body["new_order_uuid"] = self._uuids[placed.order_id]
        body["new_order_identifier"] = self.identifier_of(placed)
        return body

    def cancel_open(self, account: Account, params: Mapping[str, Any]) -> dict[str, Any]:
        """`DELETE /v1/orders/open`: up to `count` waiting orders matching the filters."""
        cancel_side = params.get("cancel_side", "all")
        if cancel_side not in ("all", "ask", "bid"):
            raise invalid("cancel_side가 올바르지 않습니다.")
        pairs = _csv(params.get("pairs"))
        excluded = _csv(params.get("excluded_pairs"))
        quotes = _csv(params.get("quote_currencies"))
        if pairs and quotes:
            raise invalid("pairs와 quote_currencies는 함께 사용할 수 없습니다.")
        if len(pairs) > MAX_PAIRS or len(excluded) > MAX_PAIRS:
            raise invalid(f"pairs와 excluded_pairs는 최대 {MAX_PAIRS}개까지 지정할 수 있습니다.")
        count = int_param(params, "count", 20, 1, 300, _bad_param)
        newest_first = _order_by(params)
        chosen = [
            o
            for o in self._own_open(account)
            if (cancel_side == "all" or cancel_side == ("bid" if o.side == "buy" else "ask"))
            and (not pairs or o.instrument.symbol in pairs)
            and (not quotes or o.instrument.quote in quotes)
            and o.instrument.symbol not in excluded
        ]
        chosen.sort(key=lambda o: o.created_ns, reverse=newest_first)
        success: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for order in chosen[:count]:
            entry = {"uuid": self._uuids[order.order_id], "market": order.instrument.symbol}
            identifier = self.identifier_of(order)
            if identifier is not None:
                entry["identifier"] = identifier
            try:
                self.engine.cancel(order)
            except OrderRejected:
                failed.append(entry)
            else:
                success.append(entry)
        return {
            "success": {"count": len(success), "orders": success},
            "failed": {"count": len(failed), "orders": failed},
        }

    def open_orders(self, account: Account, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """`GET /v1/orders/open`: waiting orders, `limit` per `page`, newest first by default."""
        market = params.get("market")
        state = params.get("state")
        states = _all(params, "states[]") + _all(params, "states")
        if state is not None and states:
            raise invalid("state와 states는 함께 사용할 수 없습니다.")
        wanted = [state] if state is not None else states or ["wait"]
        if not all(s in ("wait", "watch") for s in wanted):
            raise invalid("state가 올바르지 않습니다.")
        page = int_param(params, "page", 1, 1, None, _bad_param)
        limit = int_param(params, "limit", 100, 1, 100, _bad_param)
        newest_first = _order_by(params)
        orders = [
            o
            for o in self._own_open(account)
            if "wait" in wanted and (market is None or o.instrument.symbol == market)
        ]  # the simulator has no reserved (`watch`) orders
        orders.sort(key=lambda o: o.created_ns, reverse=newest_first)
        return [self.body(o) for o in orders[(page - 1) * limit : page * limit]]

    # ----- internals -----

    def _find(self, account: Account, params: Mapping[str, Any]) -> Order:
        if params.get("uuid") is None and params.get("identifier") is None:
            raise invalid("uuid 또는 identifier가 필요합니다.")
        return self._lookup(account, params.get("uuid"), params.get("identifier"))

    def _lookup(self, account: Account, order_uuid: Any, identifier: Any) -> Order:
        """The account's order by uuid, else by identifier (uuid wins when both are given)."""
        if order_uuid is None and identifier is not None:
            order_uuid = self._identifiers.get((account.name, str(identifier)))
        order = self._orders.get(str(order_uuid)) if order_uuid is not None else None
        if order is None or order.account is not account:
            raise not_found()
        return order

    def _own_open(self, account: Account) -> list[Order]:
        """The account's open Upbit orders, oldest first."""
        return [o for o in self.engine.open_orders(account) if o.order_id in self._uuids]

    def _check(
        self, account: Account, params: Mapping[str, Any], released: int | None = None
    ) -> NewOrder:
        return check_order(self.venue, account, params, self._identifiers, released)

    def _submit(self, account: Account, spec: NewOrder) -> Order:
        order_uuid = str(uuid.uuid4())
        # The engine emits the order's `new` event inside `place`: `record` takes it from here.
        self._placing = (order_uuid, spec.meta, spec.identifier)
        suffix = "bid" if spec.side == "buy" else "ask"
        try:
            return self.engine.place(
                account,
                spec.inst.symbol,
                spec.side,  # type: ignore[arg-type]
                spec.lots,
                price=spec.limit,
                order_type="limit" if spec.meta.ord_type == "limit" else "market",
                time_in_force="ioc" if spec.meta.tif in ("ioc", "fok") else "gtc",
                post_only=spec.meta.tif == "post_only",
            )
        except OrderRejected as exc:
            if exc.reason is RejectReason.INSUFFICIENT_FUNDS:
                raise insufficient(suffix) from None
            if exc.reason is RejectReason.POST_ONLY:
                raise post_only() from None
            raise invalid(exc.reason.value) from None
        finally:
            self._placing = None


def _csv(value: Any) -> list[str]:
    return [part for part in str(value).split(",") if part] if value is not None else []


def _all(params: Mapping[str, Any], key: str) -> list[str]:
    getall = getattr(params, "getall", None)
    if getall is not None:
        return list(getall(key, []))
    value = params.get(key)
    return [] if value is None else list(value) if isinstance(value, list) else [value]


def _bad_param(key: str, out_of_range: bool) -> VenueError:
    if out_of_range:
        return invalid(f"{key}가 허용 범위를 벗어났습니다.")
    return invalid(f"{key}가 올바르지 않습니다.")


def _order_by(params: Mapping[str, Any]) -> bool:
    """True for `desc` (the default): newest first."""
    order_by = params.get("order_by", "desc")
    if order_by not in ("asc", "desc"):
        raise invalid("order_by가 올바르지 않습니다.")
    return bool(order_by == "desc")
