"""The account side of the WS API: user data streams and what they push (`executionReport`,
`outboundAccountPosition`, `eventStreamTerminated`), `account.status` (`omitZeroBalances`) and
`myTrades` (`orderId`, `fromId`, `startTime`, `endTime`, `limit` default 500, at most 1000).

`userDataStream.subscribe` needs a logged-on session (UNVERIFIED: without one 401 / -1002);
`userDataStream.subscribe.signature` takes any key's signature. UNVERIFIED (chosen to be
plausible): the 24 h and `fromId`-with-times checks of myTrades (-1127, -1128), and `limit`
above 1000 served at 1000.
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, Final

from ..engine import Account, Engine, Fill, Instrument, Order, OrderEvent
from ..wire import encode_json, fixed_text
from .auth import KeyRing
from .connection import BinanceApiConnection
from .registry import OrderMeta, OrderRegistry
from .request import Handler, Request, api_error, bool_param, instrument_param, long_param
from .text import WIRE_DECIMALS, price_text, qty_text, wire_amount

__all__ = ["UserData"]

DEFAULT_TRADES_LIMIT: Final = 500
MAX_TRADES_LIMIT: Final = 1000
MSG_UNAUTHORIZED: Final = "You are not authorized to execute this request."

Outbox = list[tuple[BinanceApiConnection, bytes]]


class UserData:
    """User data stream subscriptions, the account's fills and balance pushes."""

    def __init__(self, engine: Engine, registry: OrderRegistry, keys: KeyRing) -> None:
        self.engine = engine
        self.registry = registry
        self.keys = keys
        self.clock = registry.clock
        self._subs: dict[str, dict[tuple[BinanceApiConnection, int], None]] = {}
        # While a request runs, its pushes wait here: they go out after its reply.
        self.deferred: Outbox | None = None
        self._dirty: dict[str, tuple[Account, set[str]]] = {}
        self._flush_scheduled = False
        self._trades: dict[str, list[dict[str, Any]]] = {}  # account -> its fills, oldest first
        self._updated_ms: dict[str, int] = {}  # account -> last balance change
        self._started_ms = self.clock.now_ms()

    def methods(self) -> dict[str, Handler]:
        return {
            "userDataStream.subscribe": self.subscribe,
            "userDataStream.subscribe.signature": self.subscribe_signed,
            "userDataStream.unsubscribe": self.unsubscribe,
            "account.status": self.account_status,
            "myTrades": self.my_trades,
        }

    # ----- subscriptions -----

    def subscribe(self, conn: BinanceApiConnection, req: Request) -> Any:
        if conn.session is None:
            raise api_error(401, -1002, MSG_UNAUTHORIZED)
        return self._subscribe(conn, conn.session.account)

    def subscribe_signed(self, conn: BinanceApiConnection, req: Request) -> Any:
        key = self.keys.authenticate(conn, req, session_ok=False)
        return self._subscribe(conn, key.account)

    def unsubscribe(self, conn: BinanceApiConnection, req: Request) -> Any:
        sub_id = long_param(req.params, "subscriptionId")
        if not conn.subs or (sub_id is not None and sub_id not in conn.subs):
            raise api_error(400, -2036, "User Data Stream subscription not active.")
        self.end_subscriptions(conn, sub_id)
        return {}

    def _subscribe(self, conn: BinanceApiConnection, account: Account) -> Any:
        if account in conn.subs.values():
            raise api_error(400, -2035, "User Data Stream subscription already active.")
        sub_id = conn.next_sub_id
        conn.next_sub_id += 1
        conn.subs[sub_id] = account
        self._subs.setdefault(account.name, {})[(conn, sub_id)] = None
        return {"subscriptionId": sub_id}

    def end_subscriptions(self, conn: BinanceApiConnection, sub_id: int | None) -> None:
        """End one subscription (None: all of the connection's), each with its
        `eventStreamTerminated`."""
        for sid in [s for s in conn.subs if sub_id is None or s == sub_id]:
            account = conn.subs.pop(sid)
            self._subs.get(account.name, {}).pop((conn, sid), None)
            event = {"e": "eventStreamTerminated", "E": self.clock.now_ms()}
            self._push(conn, encode_json({"subscriptionId": sid, "event": event}))

    def forget(self, conn: BinanceApiConnection) -> None:
        """The socket is gone: its subscriptions end silently."""
        for account in conn.subs.values():
            subs = self._subs.get(account.name, {})
            for key in [k for k in subs if k[0] is conn]:
                del subs[key]
        conn.subs.clear()

    def _push(self, conn: BinanceApiConnection, data: bytes) -> None:
        if self.deferred is not None:
            self.deferred.append((conn, data))
        else:
            conn.send(data)

    # ----- engine events -----

    def on_order_event(self, event: OrderEvent) -> None:
        """An engine order event: its execution report to the account's streams, its fill to
        `myTrades`, the account's balances marked for an `outboundAccountPosition`."""
        order = event.order
        meta = self.registry.meta_for(event)
        if meta is None:
            return
        report = self.registry.execution_report(event, meta)
        if event.kind == "trade" and event.fill is not None:
            self._record_trade(order, meta, event.fill, event.ts_ns)
        account = order.account
        self._mark_dirty(account, order.instrument)
        if report is None:
            return
        subs = self._subs.get(account.name)
        if not subs:
            return
        for conn, sub_id in list(subs):
            self._push(conn, b'{"subscriptionId":%d,"event":%s}' % (sub_id, report))

    def _record_trade(self, order: Order, meta: OrderMeta, fill: Fill, ts_ns: int) -> None:
        inst = order.instrument
        self._trades.setdefault(order.account.name, []).append(
            {
                "symbol": inst.symbol,
                "id": fill.trade_id,
                "orderId": meta.order_id,
                "orderListId": -1,
                "price": price_text(inst, fill.price),
                "qty": qty_text(inst, fill.qty),
                "quoteQty": wire_amount(fill.cost),
                "commission": wire_amount(fill.fee),
                "commissionAsset": inst.quote,
                "time": self.clock.stamp_ms(ts_ns),
                "isBuyer": order.side == "buy",
                "isMaker": fill.maker,
                "isBestMatch": True,
            }
        )

    def _mark_dirty(self, account: Account, inst: Instrument) -> None:
        self._updated_ms[account.name] = self.clock.now_ms()
        if not self._subs.get(account.name):
            return
        entry = self._dirty.setdefault(account.name, (account, set()))
        entry[1].update((inst.base, inst.quote))
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush_positions)

    def _flush_positions(self) -> None:
        """One `outboundAccountPosition` per account after its balances moved."""
        self._flush_scheduled = False
        dirty, self._dirty = self._dirty, {}
        now_ms = self.clock.now_ms()
        for account, assets in dirty.values():
            balances = [
                {
                    "a": asset,
                    "f": wire_amount(account.balance(asset).available),
                    "l": wire_amount(account.balance(asset).held),
                }
                for asset in sorted(assets)
            ]
            event = {"e": "outboundAccountPosition", "E": now_ms, "u": now_ms, "B": balances}
            for conn, sub_id in list(self._subs.get(account.name, ())):
                conn.send(encode_json({"subscriptionId": sub_id, "event": event}))

    # ----- account methods -----

    def account_status(self, conn: BinanceApiConnection | None, req: Request) -> Any:
        """`account.status` / `GET /api/v3/account`: commissions, permissions, balances."""
        key = self.keys.authenticate(conn, req)
        account = key.account
        omit_zero = bool_param(req.params, "omitZeroBalances") or False
        balances = []
        for asset in sorted(account.balances):
            balance = account.balance(asset)
            if omit_zero and balance.total == 0:
                continue
            balances.append(
                {
                    "asset": asset,
                    "free": wire_amount(balance.available),
                    "locked": wire_amount(balance.held),
                }
            )
        maker, taker = account.maker_fee_ppm, account.taker_fee_ppm
        return {
            "makerCommission": maker // 100,  # in basis points
            "takerCommission": taker // 100,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": fixed_text(maker * 100, WIRE_DECIMALS),
                "taker": fixed_text(taker * 100, WIRE_DECIMALS),
                "buyer": "0.00000000",
                "seller": "0.00000000",
            },
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self._updated_ms.get(account.name, self._started_ms),
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": int.from_bytes(hashlib.sha256(account.name.encode()).digest()[:4]),
        }

    def my_trades(self, conn: BinanceApiConnection | None, req: Request) -> Any:
        """`myTrades` / `GET /api/v3/myTrades`: the account's fills on one symbol, oldest first;
        the newest `limit` (default 500, at most 1000) unless `fromId` asks from that id on."""
        key = self.keys.authenticate(conn, req)
        params = req.params
        inst = instrument_param(self.engine, params)
        order_id = long_param(params, "orderId")
        from_id = long_param(params, "fromId")
        start = long_param(params, "startTime")
        end = long_param(params, "endTime")
        limit = long_param(params, "limit")
        limit = DEFAULT_TRADES_LIMIT if limit is None else min(max(limit, 1), MAX_TRADES_LIMIT)
        if from_id is not None and (start is not None or end is not None):
            # the documented combinations take fromId alone (or with orderId)
            raise api_error(400, -1128, "Combination of optional parameters invalid.")
        if start is not None and end is not None and end - start > 24 * 3_600_000:
            raise api_error(400, -1127, "More than 24 hours between startTime and endTime.")
        trades = [
            t
            for t in self._trades.get(key.account.name, ())
            if t["symbol"] == inst.symbol
            and (order_id is None or t["orderId"] == order_id)
            and (from_id is None or t["id"] >= from_id)
            and (start is None or t["time"] >= start)
            and (end is None or t["time"] <= end)
        ]
        return trades[:limit] if from_id is not None or start is not None else trades[-limit:]
