"""Kraken's private REST endpoints, each signed with API-Key/API-Sign (auth.py); the trading
ones are in rest_trading.py.

`POST /0/private/GetWebSocketsToken`; `OpenOrders` and `QueryOrders` answer in Kraken's REST
shape for every order the account placed, open or closed, while the simulator runs; `Balance`
(`{"XXBT": "10.0000000000", "ZUSD": ...}`) and `BalanceEx` (`balance` and `hold_trade`, the
part open orders reserve) at each asset's decimals, never showing more than is there.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

from aiohttp import web

from ..engine import AMOUNT_DECIMALS, Engine
from ..errors import VenueError
from ..wire import rescaled_text
from .auth import TOKEN_LIFETIME_S, ApiKey, KrakenAuth, body_params
from .orders import OrderHistory, rest_order
from .protocol import (
    E_INVALID_ARGS,
    E_INVALID_ORDER,
    asset_codes,
    form_bool,
    form_int,
    form_str,
)
from .rest import rest_error, rest_reply

__all__ = ["Action", "KrakenPrivateRest", "signed_endpoint"]

MAX_QUERY_TXIDS: Final = 50

Action = Callable[[ApiKey, dict[str, Any]], Any]


def signed_endpoint(
    auth: KrakenAuth, action: Action
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An endpoint that authenticates its request, then answers `action(key, params)`."""

    async def endpoint(request: web.Request) -> web.Response:
        body = await request.read()
        content_type = request.content_type
        try:
            key = auth.authenticate(request.path, request.headers, content_type, body)
            result = action(key, body_params(body, content_type))
        except VenueError as exc:
            return rest_error(exc.message)
        return rest_reply(result)

    return endpoint


class KrakenPrivateRest:
    """The `/0/private/...` endpoints of one Kraken venue."""

    def __init__(self, auth: KrakenAuth, history: OrderHistory, engine: Engine) -> None:
        self.auth = auth
        self.history = history
        self.engine = engine

    def routes(self, app: web.Application) -> None:
        endpoints: dict[str, Action] = {
            "GetWebSocketsToken": self._ws_token,
            "OpenOrders": self._open_orders,
            "QueryOrders": self._query_orders,
            "Balance": self._balance,
            "BalanceEx": self._balance_ex,
        }
        for name, action in endpoints.items():
            app.router.add_post(f"/0/private/{name}", signed_endpoint(self.auth, action))

    def _ws_token(self, key: ApiKey, params: dict[str, Any]) -> dict[str, Any]:
        return {"token": self.auth.issue_token(key.account), "expires": TOKEN_LIFETIME_S}

    def _open_orders(self, key: ApiKey, params: dict[str, Any]) -> dict[str, Any]:
        """`{"open": {txid: order}}`, newest first; `trades`, `userref`, `cl_ord_id` filters."""
        trades = form_bool(params, "trades")
        userref = form_int(params, "userref")
        cl_ord_id = form_str(params, "cl_ord_id")
        open_orders: dict[str, Any] = {}
        for order in reversed(self.engine.open_orders(key.account)):
            record = self.history.get(order.order_id)
            if record is None or order.instrument.venue != "kraken":
                continue
            if userref is not None and order.userref != userref:
                continue
            if cl_ord_id is not None and order.cl_ord_id != cl_ord_id:
                continue
            open_orders[order.order_id] = rest_order(record, trades)
        return {"open": open_orders}

    def _query_orders(self, key: ApiKey, params: dict[str, Any]) -> dict[str, Any]:
        """`{txid: order}` for up to 50 comma-separated txids, open or closed."""
        trades = form_bool(params, "trades")
        userref = form_int(params, "userref")
        form_bool(params, "consolidate_taker", True)  # one trade per fill: nothing to merge
        txid = form_str(params, "txid")
        txids = [t.strip() for t in (txid or "").split(",") if t.strip()]
        if not txids or len(txids) > MAX_QUERY_TXIDS:
            raise VenueError(f"{E_INVALID_ARGS}:txid")
        records = []
        for order_id in txids:
            record = self.history.get(order_id)
            if record is None or record.order.account is not key.account:
                raise VenueError(E_INVALID_ORDER)
            records.append(record)
        return {
            r.order.order_id: rest_order(r, trades)
            for r in records
            if userref is None or r.order.userref == userref
        }

    def _balance(self, key: ApiKey, params: dict[str, Any]) -> dict[str, str]:
        """`{code: total}` for every asset the account holds or held."""
        return {
            asset_codes(asset)[0]: _amount(balance.total, asset, round_down=True)
            for asset, balance in sorted(key.account.balances.items())
        }

    def _balance_ex(self, key: ApiKey, params: dict[str, Any]) -> dict[str, dict[str, str]]:
        """`{code: {"balance": total, "hold_trade": held}}`; what is free is the difference.
        (Kraken adds `credit` / `credit_used` for accounts with credit: none here.)"""
        return {
            asset_codes(asset)[0]: {
                "balance": _amount(balance.total, asset, round_down=True),
                "hold_trade": _amount(balance.held, asset, round_down=False),
            }
            for asset, balance in sorted(key.account.balances.items())
        }


def _amount(amount: int, asset: str, *, round_down: bool) -> str:
    """An engine amount at the asset's balance decimals (`XXBT` 10, `ZUSD` 4)."""
    decimals = asset_codes(asset)[2]
    return rescaled_text(amount, AMOUNT_DECIMALS, decimals, round_down=round_down)
