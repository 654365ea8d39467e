"""Kraken's REST trading endpoints (what ccxt trades through), signed like every private call.

`POST /0/private/AddOrder` (`ordertype`, `type`, `volume`, `pair`, `price`, `oflags`,
`timeinforce`, `expiretm`, `cl_ord_id`, `userref`, `validate`), `CancelOrder` (`txid`: an order
id or a userref; or `cl_ord_id`), `CancelAll`, `CancelAllOrdersAfter` (`timeout`),
`AmendOrder` (`txid` or `cl_ord_id`; `order_qty`, `limit_price`, `post_only`) and `EditOrder`
(`txid`, `pair`, `volume`, `price`, `oflags`, `userref`, `validate`). Values come as form text
(or JSON values in a JSON body). They go through the same checks, rate counter and engine as
the WS v2 methods (trading.py), so an order placed here is on the `executions` channel and in
`OpenOrders` like any other.
"""

from __future__ import annotations

import time
from typing import Any, Final

from aiohttp import web

from ..engine import Account, Instrument, Order, TimeInForce
from ..errors import VenueError
from ..wire import fixed_text
from .auth import ApiKey, KrakenAuth
from .orders import describe, order_description
from .protocol import (
    E_INVALID_ARGS,
    E_UNKNOWN_PAIR,
    find_pair,
    form_bool,
    form_int,
    form_number,
    form_str,
)
from .rest_private import Action, signed_endpoint
from .trading import (
    AMEND_PENALTY,
    KrakenTrading,
    OrderKind,
    OrderSpec,
    order_kind,
)

__all__ = ["KrakenRestTrading"]

_TIMES_IN_FORCE: Final[dict[str, TimeInForce]] = {"GTC": "gtc", "IOC": "ioc", "GTD": "gtd"}
# Fee currency and market price protection: accepted, nothing to simulate (fees are in quote).
_NEUTRAL_FLAGS: Final = frozenset({"fcib", "fciq", "nompp"})


def _expire_ns(text: str | None) -> int | None:
    """`expiretm`: `+<seconds>` from now, or an epoch second."""
    if text is None:
        return None
    relative = text.startswith("+")
    digits = text[1:] if relative else text
    if not digits.isdigit():
        return None
    seconds = int(digits)
    return time.time_ns() + seconds * 1_000_000_000 if relative else seconds * 1_000_000_000


def _flags(params: dict[str, Any]) -> set[str]:
    """`oflags`, comma-separated; `post` is the only one that changes anything here."""
    flags = {f.strip() for f in (form_str(params, "oflags") or "").split(",") if f.strip()}
    if "viqc" in flags:  # volume in quote currency
        raise VenueError(f"{E_INVALID_ARGS}:oflags viqc is not simulated")
    if flags - _NEUTRAL_FLAGS - {"post"}:
        raise VenueError(f"{E_INVALID_ARGS}:oflags")
    return flags


class KrakenRestTrading:
    """The REST order entry of one Kraken venue."""

    def __init__(self, trading: KrakenTrading, auth: KrakenAuth) -> None:
        self.trading = trading
        self.engine = trading.engine
        self.auth = auth

    def routes(self, app: web.Application) -> None:
        endpoints: dict[str, Action] = {
            "AddOrder": self._add_order,
            "CancelOrder": self._cancel_order,
            "CancelAll": self._cancel_all,
            "CancelAllOrdersAfter": self._cancel_all_after,
            "AmendOrder": self._amend_order,
            "EditOrder": self._edit_order,
        }
        for name, action in endpoints.items():
            app.router.add_post(f"/0/private/{name}", signed_endpoint(self.auth, action))

    def _account(self, key: ApiKey) -> Account:
        """A signed trading call's account, once the system and the rate-limit fault let it."""
        self.trading.admit()
        return key.account

    def _pair(self, params: dict[str, Any]) -> Instrument:
        name = form_str(params, "pair")
        if name is None:
            raise VenueError(f"{E_INVALID_ARGS}:pair")
        inst = find_pair(self.engine.instruments.values(), name)
        if inst is None or inst.venue != "kraken":
            raise VenueError(E_UNKNOWN_PAIR)
        return inst

    def _parse_order(self, params: dict[str, Any], inst: Instrument) -> OrderSpec:
        order_type, side = order_kind(params, form_str, "ordertype", "type")
        qty_value = form_number(params, "volume")
        if qty_value is None:
            raise VenueError(f"{E_INVALID_ARGS}:volume")
        price_value = form_number(params, "price")
        if order_type == "limit" and price_value is None:
            raise VenueError(f"{E_INVALID_ARGS}:price")
        tif = _TIMES_IN_FORCE.get(form_str(params, "timeinforce") or "GTC")
        if tif is None:
            raise VenueError(f"{E_INVALID_ARGS}:timeinforce")
        expire_ns = None
        if tif == "gtd":
            expire_ns = _expire_ns(form_str(params, "expiretm"))
            if expire_ns is None or expire_ns <= time.time_ns():
                raise VenueError(f"{E_INVALID_ARGS}:expiretm")
        post_only = "post" in _flags(params)
        if post_only and order_type == "market":
            raise VenueError(f"{E_INVALID_ARGS}:oflags")
        form_bool(params, "reduce_only")  # checked, then ignored: spot only
        cl_ord_id, userref = form_str(params, "cl_ord_id"), form_int(params, "userref")
        kind = OrderKind(side, order_type, tif, expire_ns, post_only)
        return self.trading.spec(inst, kind, qty_value, price_value, cl_ord_id, userref)

    def _add_order(self, key: ApiKey, params: dict[str, Any]) -> dict[str, Any]:
        """`{"descr": {"order": "buy 1.25000000 XBTUSD @ limit 27500.0"}, "txid": [id]}`;
        with `validate`, the description only."""
        account = self._account(key)
        inst = self._pair(params)
        self.trading.charge(account, inst, 1)  # charged on receipt, even if validation fails
        spec = self._parse_order(params, inst)
        validate = form_bool(params, "validate")
        self.trading.check_open_limit(account, inst, 1)
        order = self.trading.place(account, inst, spec, validate)
        result: dict[str, Any] = {"descr": {"order": order_description(order)}}
        if not validate:
            result["txid"] = [order.order_id]
        return result

    def _targets(self, account: Account, params: dict[str, Any], userref: bool) -> list[Order]:
        """The open orders `txid` names (an order id or, where `userref`, a userref: every
        order carrying it) or, instead, `cl_ord_id` names."""
        cl_ord_id = form_str(params, "cl_ord_id")
        txid = params.get("txid")
        if (cl_ord_id is None) == (txid is None):
            raise VenueError(E_INVALID_ARGS)
        if cl_ord_id is not None:
            return self.trading.find(account, "cl_ord_id", cl_ord_id)
        if userref and isinstance(txid, str) and txid.isdigit():
            txid = int(txid)
        if isinstance(txid, str):
            return self.trading.find(account, "order_id", txid)
        if userref and isinstance(txid, int) and not isinstance(txid, bool):
            return self.trading.find(account, "order_userref", txid)
        raise VenueError(f"{E_INVALID_ARGS}:txid")

    def _cancel_order(self, key: ApiKey, params: dict[str, Any]) -> dict[str, Any]:
        account = self._account(key)
        orders = self._targets(account, params, userref=True)
        self.trading.cancel(account, orders)
        return {"count": len(orders)}

    def _cancel_all(self, key: ApiKey, params: dict[str, Any]) -> dict[str, Any]:
        return {"count": self.trading.cancel_all(self._account(key))}

    def _cancel_all_after(self, key: ApiKey, params: dict[str, Any]) -> dict[str, str]:
        account = self._account(key)
        timeout = form_int(params, "timeout")
        if timeout is None:
            raise VenueError(f"{E_INVALID_ARGS}:timeout")
        return self.trading.cancel_all_after(account, timeout)

    def _amend_order(self, key: ApiKey, params: dict[str, Any]) -> dict[str, Any]:
        """In place, keeping the order id: `{"amend_id": id}`."""
        account = self._account(key)
        (order,) = self._targets(account, params, userref=False)
        inst = order.instrument
        self.trading.charge_change(account, order, AMEND_PENALTY)
        qty_value = form_number(params, "order_qty")
        price_value = form_number(params, "limit_price")
        if qty_value is None and price_value is None:
            raise VenueError(E_INVALID_ARGS)
        qty = order.qty if qty_value is None else self.trading.qty(inst, qty_value)
        price = None if price_value is None else self.trading.price(inst, price_value)
        post_only = form_bool(params, "post_only")
        return {"amend_id": self.trading.amend(account, order, qty, price, post_only)}

    def _edit_order(self, key: ApiKey, params: dict[str, Any]) -> dict[str, Any]:
        """Cancel-and-replace under a new txid (Kraken recommends AmendOrder instead)."""
        account = self._account(key)
        inst = self._pair(params)
        txid = form_str(params, "txid")
        if txid is None:
            raise VenueError(f"{E_INVALID_ARGS}:txid")
        order = self.trading.editable(account, inst, txid)
        qty, price = self.trading.edited(
            order, form_number(params, "volume"), form_number(params, "price")
        )
        post_only = "post" in _flags(params) if "oflags" in params else order.post_only
        userref = form_int(params, "userref")
        if qty <= order.filled:
            raise VenueError(f"{E_INVALID_ARGS}:volume")
        result: dict[str, Any] = {"status": "ok"}
        if not form_bool(params, "validate"):
            new = self.trading.replace(
                order, qty=qty, price=price, post_only=post_only, userref=userref
            )
            result["txid"] = new.order_id
        result["originaltxid"] = order.order_id
        result["volume"] = fixed_text(qty, inst.qty_decimals)
        result["price"] = fixed_text(price, inst.price_decimals)
        result["price2"] = "0"
        if "txid" in result:
            result["orders_cancelled"] = 1
        result["descr"] = {"order": describe(inst, order.side, qty, price)}
        return result
