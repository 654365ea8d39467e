"""Upbit's private WS `/websocket/v1/private` (`upbit_ws_private` port): `myOrder`, `myAsset`
(reference B4, B6).

The JWT (no query hash) is checked on the upgrade; a refusal is the same 401 body as REST.
Requests are `[{"ticket"},{"type":"myOrder","codes":[..]?},{"type":"myAsset"},{"format"}?]`;
each replaces the connection's subscription; `myAsset` with `codes` is `WRONG_FORMAT`. Pushes
are binary frames (DEFAULT or SIMPLE keys), REALTIME only. `PING` is answered with
`{"status":"UP"}`.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

from picows import WSUpgradeRequest, WSUpgradeResponse, WSUpgradeResponseWithListener

from ..engine import Account, BalanceEvent, Instrument, OrderEvent
from ..errors import VenueError
from ..market import MarketVenue, call_soon_once
from ..wire import AMOUNT_DECIMALS, amount_text, now_ms
from ..wire import json_decimal_number as _number
from .auth import UpbitAuth
from .errors import error_frame, request_error
from .frames import KeepAlive, UpbitSocket, decode_request, read_format, ws_path
from .orders import STATES, UpbitOrders

__all__ = ["PRIVATE_PATH", "UpbitPrivateConnection", "UpbitPrivateStreams"]

PRIVATE_PATH: Final = "/websocket/v1/private"
PRIVATE_TYPES: Final = ("myOrder", "myAsset")


class UpbitPrivateConnection(UpbitSocket):
    """One authenticated client: its account and the private types it subscribed to."""

    def __init__(self, streams: UpbitPrivateStreams, path: str, account: Account) -> None:
        super().__init__(streams.venue, path, streams.keepalive)
        self.streams = streams
        self.account = account
        self.types: dict[str, list[str] | None] = {}  # type -> codes (None: all)

    def connected(self) -> None:
        self.streams.connections.add(self)

    def closed(self) -> None:
        self.streams.connections.discard(self)
        super().closed()

    def request(self, payload: bytes) -> None:
        message = decode_request(payload)
        if not any(isinstance(m.get("ticket"), str) and m["ticket"] for m in message):
            raise request_error("NO_TICKET", "티켓이 존재하지 않습니다.")
        fmt = self.format
        types: dict[str, list[str] | None] = {}
        for item in message:
            if "format" in item:
                fmt = read_format(item)
            elif "type" in item:
                kind = item["type"]
                if kind not in PRIVATE_TYPES:
                    raise request_error("INVALID_PARAM", f"지원하지 않는 타입입니다: {kind}")
                types[kind] = _codes(kind, item.get("codes"))
        if not types:
            raise request_error("NO_TYPE", "type 필드가 존재하지 않습니다.")
        self.types = types
        self.format = fmt


def _codes(kind: str, codes: Any) -> list[str] | None:
    """The codes a private type item subscribes to (None: all)."""
    if kind == "myAsset":
        if codes is not None:
            raise request_error("WRONG_FORMAT", "myAsset은 codes를 받지 않습니다.")
        return None
    if codes is None or codes == []:
        return None
    if isinstance(codes, list) and all(isinstance(c, str) and c == c.upper() for c in codes):
        return list(codes)
    raise request_error("INVALID_PARAM", f"잘못된 코드입니다: {codes}")


class UpbitPrivateStreams:
    """Who is connected for which account and type, and the `myOrder` / `myAsset` pushes the
    engine's order and balance events make."""

    def __init__(
        self, venue: MarketVenue, keepalive: KeepAlive, auth: UpbitAuth, orders: UpbitOrders
    ) -> None:
        self.venue = venue
        self.keepalive = keepalive
        self.auth = auth
        self.orders = orders
        self.connections: set[UpbitPrivateConnection] = set()
        #: Every private WS connect accepted: (account name, nonce).
        self.connect_log: list[tuple[str, str]] = []
        self._assets: dict[Account, set[str]] = {}
        self._assets_scheduled = False

    def connect(
        self, request: WSUpgradeRequest
    ) -> UpbitPrivateConnection | WSUpgradeResponseWithListener | None:
        """The connection for a verified upgrade, the 401 answer, or None (404)."""
        path = ws_path(request)
        if path != PRIVATE_PATH:
            return None
        try:
            account, nonce = self.auth.verify(request.headers.get("Authorization"), None)
        except VenueError as exc:
            response = WSUpgradeResponse.create_error_response(
                exc.status, error_frame(exc), extra_headers={"Content-Type": "application/json"}
            )
            return WSUpgradeResponseWithListener(response, None)
        self.connect_log.append((account.name, nonce))
        return UpbitPrivateConnection(self, path, account)

    def _subscribers(
        self, account: Account, kind: str, code: str | None
    ) -> list[UpbitPrivateConnection]:
        out = []
        for conn in self.connections:
            if conn.account is not account or kind not in conn.types:
                continue
            codes = conn.types[kind]
            if codes is None or code in codes:
                out.append(conn)
        return out

    # ----- engine events -----

    def on_order(self, event: OrderEvent, trade_uuid: str | None) -> None:
        """Push `myOrder` (`trade_uuid`: the fill's, as the ledger recorded it)."""
        order = event.order
        if event.kind in ("new", "canceled", "expired"):
            self._asset_changed(order.account, order.instrument, order.side)
        if event.kind == "amended":
            return
        conns = self._subscribers(order.account, "myOrder", order.instrument.symbol)
        if not conns:
            return
        message = self._my_order(event, trade_uuid)
        for conn in conns:
            conn.push("myOrder", message)

    def on_balance(self, event: BalanceEvent) -> None:
        self._assets.setdefault(event.account, set()).add(event.asset)
        call_soon_once(self, "_assets_scheduled", self._publish_assets)

    def _asset_changed(self, account: Account, inst: Instrument, side: str) -> None:
        asset = inst.quote if side == "buy" else inst.base
        self._assets.setdefault(account, set()).add(asset)
        call_soon_once(self, "_assets_scheduled", self._publish_assets)

    def _publish_assets(self) -> None:
        self._assets_scheduled = False
        changed, self._assets = self._assets, {}
        for account, assets in changed.items():
            conns = self._subscribers(account, "myAsset", None)
            if not conns:
                continue
            now = now_ms()
            message = {
                "type": "myAsset",
                "asset_uuid": str(uuid.uuid4()),
                "assets": [
                    {
                        "currency": asset,
                        "balance": amount_text(account.balance(asset).available),
                        "locked": amount_text(account.balance(asset).held),
                    }
                    for asset in sorted(assets)
                ],
                "asset_timestamp": now,
                "timestamp": now,
                "stream_type": "REALTIME",
            }
            for conn in conns:
                conn.push("myAsset", message)

    def _my_order(self, event: OrderEvent, trade_uuid: str | None = None) -> dict[str, Any]:
        order = event.order
        inst = order.instrument
        pd, qd = inst.price_decimals, inst.qty_decimals
        meta = self.orders.meta(order)
        fill = event.fill
        state = "trade" if fill is not None else STATES.get(event.kind, "wait")
        avg = (
            order.cum_cost * 10**pd // (order.filled * 10 ** (AMOUNT_DECIMALS - qd))
            if order.filled
            else 0
        )
        return {
            "type": "myOrder",
            "code": inst.symbol,
            "uuid": self.orders.uuid_of(order),
            "ask_bid": "BID" if order.side == "buy" else "ASK",
            "order_type": meta.ord_type,
            "state": state,
            "trade_uuid": (trade_uuid or str(uuid.uuid4())) if fill is not None else None,
            "price": _number(fill.price if fill else (order.price or 0), pd),
            "avg_price": _number(avg, pd),
            "volume": _number(fill.qty if fill else order.qty, qd),
            "remaining_volume": _number(order.remaining, qd),
            "executed_volume": _number(order.filled, qd),
            "trades_count": self.orders.trades_count(order),
            "reserved_fee": 0,
            "remaining_fee": 0,
            "paid_fee": _number(order.fees, AMOUNT_DECIMALS),
            "locked": _number(order.held, AMOUNT_DECIMALS),
            "executed_funds": _number(order.cum_cost, AMOUNT_DECIMALS),
            "time_in_force": meta.tif,
            "trade_fee": _number(fill.fee, AMOUNT_DECIMALS) if fill is not None else None,
            "is_maker": fill.maker if fill is not None else None,
            "identifier": self.orders.identifier_of(order),
            "smp_type": meta.smp_type,
            "prevented_volume": 0,
            "prevented_locked": 0,
            "trade_timestamp": event.ts_ns // 1_000_000 if fill is not None else None,
            "order_timestamp": order.created_ns // 1_000_000,
            "timestamp": now_ms(),
            "stream_type": "REALTIME",
        }
