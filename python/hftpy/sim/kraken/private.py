"""Kraken WS v2 on the auth endpoint: the trading methods and the `executions` and `balances`
channels. Every method carries a `token` from GetWebSocketsToken; fills and status changes of
any order of the account (WS or REST) come on `executions`, not in the method's reply.
"""

from __future__ import annotations

import random
import time
from datetime import datetime
from typing import Any, Final

from ..engine import (
    AMOUNT_DECIMALS,
    Account,
    BalanceEvent,
    Instrument,
    Order,
    OrderEvent,
    TimeInForce,
    kraken_id,
)
from ..errors import VenueError
from ..wire import encode_json, rescaled_number, rfc3339_us
from .auth import KrakenAuth
from .connection import Handler, KrakenConnection, Request
from .orders import OrderHistory, balance_item, execution_items, order_snapshot
from .protocol import (
    E_INVALID_ARGS,
    E_UNKNOWN_ORDER,
    E_UNKNOWN_PAIR,
    array,
    asset_decimals,
    boolean,
    integer,
    number,
    string,
)
from .trading import (
    AMEND_PENALTY,
    CANCEL_PENALTY,
    MAX_RATE_COUNT,
    KrakenTrading,
    OrderKind,
    OrderSpec,
    age_penalty,
    order_kind,
)

__all__ = ["KrakenPrivateChannels", "KrakenWsTrading"]

_TIMES_IN_FORCE: Final[dict[str, TimeInForce]] = {"gtc": "gtc", "ioc": "ioc", "gtd": "gtd"}
_EXECUTIONS_WARNINGS: Final = (
    "cancel_reason is deprecated, use reason",
    "stop_price is deprecated, use triggers.price",
    "trigger is deprecated use triggers.reference",
    "triggered_price is deprecated use triggers.last_price",
)


def _parse_time(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1_000_000_000)
    except ValueError:
        return None


def _order_ack(order: Order | None, spec: OrderSpec) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if order is not None:
        result["order_id"] = order.order_id
    if spec.cl_ord_id is not None:
        result["cl_ord_id"] = spec.cl_ord_id
    if spec.userref is not None:
        result["order_userref"] = spec.userref
    return result


class KrakenWsTrading:
    """`add_order`, `amend_order`, `edit_order`, `cancel_order`, `cancel_all`,
    `cancel_all_orders_after`, `batch_add`, `batch_cancel`."""

    def __init__(self, trading: KrakenTrading, auth: KrakenAuth) -> None:
        self.trading = trading
        self.engine = trading.engine
        self.auth = auth

    def methods(self) -> dict[str, Handler]:
        return {
            "add_order": self.add_order,
            "amend_order": self.amend_order,
            "edit_order": self.edit_order,
            "cancel_order": self.cancel_order,
            "cancel_all": self.cancel_all,
            "cancel_all_orders_after": self.cancel_all_orders_after,
            "batch_add": self.batch_add,
            "batch_cancel": self.batch_cancel,
        }

    # ----- request checks -----

    def _account(self, req: Request) -> Account:
        """Session, system status and the injected rate-limit fault, in Kraken's order."""
        account = self.auth.session(req.params)
        self.trading.admit()
        return account

    def _instrument(self, params: dict[str, Any]) -> Instrument:
        symbol = string(params, "symbol")
        if symbol is None:
            raise VenueError(f"{E_INVALID_ARGS}:symbol")
        inst = self.engine.instruments.get(symbol)
        if inst is None or inst.venue != "kraken":
            raise VenueError(E_UNKNOWN_PAIR)
        return inst

    def _parse_order(self, params: dict[str, Any], inst: Instrument) -> OrderSpec:
        order_type, side = order_kind(params, string, "order_type", "side")
        qty_value = number(params, "order_qty")
        price_value = number(params, "limit_price")
        if qty_value is None:
            raise VenueError(f"{E_INVALID_ARGS}:order_qty")
        tif = _TIMES_IN_FORCE.get(string(params, "time_in_force") or "gtc")
        if tif is None:
            raise VenueError(f"{E_INVALID_ARGS}:time_in_force")
        expire_ns = None
        if tif == "gtd":
            expire_ns = _parse_time(string(params, "expire_time"))
            if expire_ns is None or expire_ns <= time.time_ns():
                raise VenueError(f"{E_INVALID_ARGS}:expire_time")
        post_only = boolean(params, "post_only", False)
        boolean(params, "reduce_only", False)  # type-checked, then ignored: spot only
        cl_ord_id, userref = string(params, "cl_ord_id"), integer(params, "order_userref")
        kind = OrderKind(side, order_type, tif, expire_ns, post_only)
        return self.trading.spec(inst, kind, qty_value, price_value, cl_ord_id, userref)

    def _order_ref(self, account: Account, params: dict[str, Any]) -> tuple[Order, str, str]:
        """The open order named by exactly one of `order_id` / `cl_ord_id`."""
        order_id = string(params, "order_id")
        cl_ord_id = string(params, "cl_ord_id")
        if (order_id is None) == (cl_ord_id is None):
            raise VenueError(E_INVALID_ARGS)
        if order_id is not None:
            order = self.engine.find_order(account, order_id)
            ref_key, ref = "order_id", order_id
        else:
            assert cl_ord_id is not None
            order = self.engine.find_by_cl_ord_id(account, cl_ord_id)
            ref_key, ref = "cl_ord_id", cl_ord_id
        if order is None:
            raise VenueError(E_UNKNOWN_ORDER)
        return order, ref_key, ref

    # ----- methods -----

    def add_order(self, conn: KrakenConnection, req: Request) -> None:
        account = self._account(req)
        inst = self._instrument(req.params)
        self.trading.charge(account, inst, 1)  # charged on receipt, even if validation fails
        spec = self._parse_order(req.params, inst)
        validate = boolean(req.params, "validate", False)
        self.trading.check_open_limit(account, inst, 1)
        order = self.trading.place(account, inst, spec, validate)
        conn.reply(req, _order_ack(None if validate else order, spec))

    def batch_add(self, conn: KrakenConnection, req: Request) -> None:
        account = self._account(req)
        inst = self._instrument(req.params)
        entries = array(req.params, "orders")
        if entries is None or not 2 <= len(entries) <= 15:
            raise VenueError(f"{E_INVALID_ARGS}:orders")
        self.trading.charge(account, inst, len(entries) / 2)
        specs = []
        for entry in entries:  # a validation failure rejects the whole batch
            if not isinstance(entry, dict):
                raise VenueError(f"{E_INVALID_ARGS}:orders")
            specs.append(self._parse_order(entry, inst))
        validate = boolean(req.params, "validate", False)
        self.trading.check_open_limit(account, inst, len(specs))
        results = []
        for spec in specs:  # a pre-match failure (funds, post only) fails only its entry
            try:
                order = self.trading.place(account, inst, spec, validate)
            except VenueError as exc:
                results.append({"error": exc.message, **_order_ack(None, spec)})
            else:
                results.append(_order_ack(None if validate else order, spec))
        conn.reply(req, results)

    def amend_order(self, conn: KrakenConnection, req: Request) -> None:
        account = self._account(req)
        params = req.params
        order, ref_key, ref = self._order_ref(account, params)
        inst = order.instrument
        self.trading.charge_change(account, order, AMEND_PENALTY)
        qty_value = number(params, "order_qty")
        if qty_value is None:
            raise VenueError(f"{E_INVALID_ARGS}:order_qty")
        qty = self.trading.qty(inst, qty_value)
        price_value = number(params, "limit_price")
        price = None if price_value is None else self.trading.price(inst, price_value)
        post_only = boolean(params, "post_only", False)
        amend_id = self.trading.amend(account, order, qty, price, post_only)
        conn.reply(req, {"amend_id": amend_id, ref_key: ref})

    def edit_order(self, conn: KrakenConnection, req: Request) -> None:
        account = self._account(req)
        params = req.params
        inst = self._instrument(params)
        order_id = string(params, "order_id")
        if order_id is None:
            raise VenueError(f"{E_INVALID_ARGS}:order_id")
        order = self.trading.editable(account, inst, order_id)
        qty, price = self.trading.edited(
            order, number(params, "order_qty"), number(params, "limit_price")
        )
        post_only = boolean(params, "post_only", order.post_only)
        userref = integer(params, "order_userref")
        if qty <= order.filled:
            raise VenueError(f"{E_INVALID_ARGS}:volume")
        if boolean(params, "validate", False):
            conn.reply(req, {"original_order_id": order.order_id})
            return
        new = self.trading.replace(
            order, qty=qty, price=price, post_only=post_only, userref=userref
        )
        conn.reply(req, {"order_id": new.order_id, "original_order_id": order.order_id})

    def cancel_order(self, conn: KrakenConnection, req: Request) -> None:
        """One reply per requested id, in request order, whatever the outcome."""
        params = req.params
        kinds = [k for k in ("order_id", "cl_ord_id", "order_userref") if k in params]
        if len(kinds) != 1:
            raise VenueError(E_INVALID_ARGS)
        kind = kinds[0]
        refs = array(params, kind)
        if not refs:
            raise VenueError(E_INVALID_ARGS)
        try:
            account = self._account(req)
        except VenueError as exc:
            for _ in refs:
                conn.reply_error(req, exc.message)
            return
        for ref in refs:
            try:
                self.trading.cancel(account, self.trading.find(account, kind, ref))
            except VenueError as exc:
                conn.reply_error(req, exc.message)
            else:
                conn.reply(req, {kind: ref})

    def cancel_all(self, conn: KrakenConnection, req: Request) -> None:
        account = self._account(req)
        conn.reply(req, {"count": self.trading.cancel_all(account)})

    def cancel_all_orders_after(self, conn: KrakenConnection, req: Request) -> None:
        account = self._account(req)
        timeout = integer(req.params, "timeout")
        if timeout is None:
            raise VenueError(f"{E_INVALID_ARGS}:timeout")
        conn.reply(req, self.trading.cancel_all_after(account, timeout))

    def batch_cancel(self, conn: KrakenConnection, req: Request) -> None:
        account = self._account(req)
        refs = array(req.params, "orders") or []
        cl_ord_ids = array(req.params, "cl_ord_id") or []
        if not 2 <= len(refs) + len(cl_ord_ids) <= 50:
            raise VenueError(f"{E_INVALID_ARGS}:orders")
        found: list[Order | None] = []
        for ref in refs:  # Kraken order ids, or order_userref values as strings
            if not isinstance(ref, str):
                raise VenueError(f"{E_INVALID_ARGS}:orders")
            if ref.isdigit():
                found.extend(self.engine.find_by_userref(account, int(ref)))
            else:
                found.append(self.engine.find_order(account, ref))
        for ref in cl_ord_ids:
            if not isinstance(ref, str):
                raise VenueError(f"{E_INVALID_ARGS}:cl_ord_id")
            found.append(self.engine.find_by_cl_ord_id(account, ref))
        targets = {order.order_id: order for order in found if order is not None}
        now = time.time_ns()
        points: dict[str, tuple[Instrument, int]] = {}
        for order in targets.values():
            inst, total = points.get(order.instrument.symbol, (order.instrument, 0))
            points[inst.symbol] = (inst, total + age_penalty(CANCEL_PENALTY, order, now))
        for inst, total in points.values():
            self.trading.charge(account, inst, total)
        for order in targets.values():
            self.engine.cancel(order)
        conn.reply(req, {"count": len(targets)})


class KrakenPrivateChannels:
    """`executions` and `balances`: subscriptions per account, snapshots, live updates."""

    def __init__(self, auth: KrakenAuth, history: OrderHistory, rng: random.Random) -> None:
        self.auth = auth
        self.history = history
        self.rng = rng
        self._exec_subs: dict[str, set[KrakenConnection]] = {}
        self._balance_subs: dict[str, set[KrakenConnection]] = {}

    def attach(self, account: Account) -> None:
        """Follow an account's orders and balances (once, however many keys it has)."""
        if self._on_order_event not in account.order_listeners:
            account.order_listeners.append(self._on_order_event)
            account.balance_listeners.append(self._on_balance_event)

    def forget(self, conn: KrakenConnection) -> None:
        for subs in (self._exec_subs, self._balance_subs):
            for conns in subs.values():
                conns.discard(conn)

    def subscribe(self, conn: KrakenConnection, req: Request, channel: str) -> None:
        account = self.auth.session(req.params)
        params = req.params
        if channel == "executions":
            if conn.executions is not None:
                raise VenueError("Already subscribed")
            snap_orders = boolean(params, "snap_orders", boolean(params, "snapshot", True))
            snap_trades = boolean(params, "snap_trades", boolean(params, "snapshot_trades", False))
            conn.executions = account
            self._exec_subs.setdefault(account.name, set()).add(conn)
            conn.reply(
                req,
                {
                    "channel": "executions",
                    "maxratecount": MAX_RATE_COUNT,
                    "snap_orders": snap_orders,
                    "snap_trades": snap_trades,
                    "snapshot": snap_orders or snap_trades,
                    "warnings": _EXECUTIONS_WARNINGS,
                },
            )
            if snap_orders or snap_trades:
                items: list[dict[str, Any]] = []
                if snap_orders:
                    items.extend(order_snapshot(o) for o in account.open_orders.values())
                if snap_trades:
                    items.extend(self.history.fills(account.name))
                conn.push_private(b"executions", b"snapshot", encode_json(items))
        else:
            if conn.balances is not None:
                raise VenueError("Already subscribed")
            snapshot = boolean(params, "snapshot", True)
            conn.balances = account
            self._balance_subs.setdefault(account.name, set()).add(conn)
            conn.reply(req, {"channel": "balances", "snapshot": snapshot})
            if snapshot:
                items = [balance_item(a, b.total) for a, b in sorted(account.balances.items())]
                conn.push_private(b"balances", b"snapshot", encode_json(items))

    def unsubscribe(self, conn: KrakenConnection, req: Request, channel: str) -> None:
        self.auth.session(req.params)
        account = conn.executions if channel == "executions" else conn.balances
        if account is None:
            raise VenueError("Subscription Not Found")
        if channel == "executions":
            conn.executions = None
            self._exec_subs[account.name].discard(conn)
        else:
            conn.balances = None
            self._balance_subs[account.name].discard(conn)
        conn.reply(req, {"channel": channel})

    def _on_order_event(self, event: OrderEvent) -> None:
        self.history.record(event)
        subs = self._exec_subs.get(event.order.account.name)
        if not subs:
            return
        for item in execution_items(event):
            data = encode_json([item])
            for conn in subs:
                conn.push_private(b"executions", b"update", data)

    def _on_balance_event(self, event: BalanceEvent) -> None:
        subs = self._balance_subs.get(event.account.name)
        if not subs:
            return
        decimals = asset_decimals(event.asset)
        item = {
            "ledger_id": kraken_id(self.rng, "L"),
            "ref_id": event.ref_id,
            "timestamp": rfc3339_us(event.ts_ns),
            "type": "trade",
            "asset": event.asset,
            "asset_class": "currency",
            "category": "trade",
            "wallet_type": "spot",
            "wallet_id": "main",
            "amount": rescaled_number(event.amount, AMOUNT_DECIMALS, decimals),
            "fee": rescaled_number(event.fee, AMOUNT_DECIMALS, decimals),
            "balance": rescaled_number(event.total, AMOUNT_DECIMALS, decimals, round_down=True),
        }
        data = encode_json([item])
        for conn in subs:
            conn.push_private(b"balances", b"update", data)
