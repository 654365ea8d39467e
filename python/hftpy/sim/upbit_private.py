"""Upbit's exchange side on loopback: JWT-authenticated REST orders and the private WS
(`myOrder`, `myAsset`), on top of the quotation venue in `upbit.py` (reference B4, B6).

Authentication (stdlib only): `Authorization: Bearer <JWT>`, HS256 or HS512 with the secret
key's UTF-8 bytes, payload `{"access_key", "nonce"}` (nonces are single use) and, when the
request has parameters, `query_hash` = SHA-512 hex of the unencoded `k=v&...` string as sent
(for POST built from the JSON body's keys and values in order) with `query_hash_alg`
`SHA512`. Failures are HTTP 401 `{"error":{"name","message"}}`: `no_authorization_token`,
`jwt_verification` (malformed, bad signature, unknown algorithm), `invalid_access_key`,
`nonce_used`, `invalid_query_payload` (missing or wrong query hash).

REST (`upbit_rest` port): `POST /v1/orders` (201 with the order), `DELETE /v1/order?uuid=`
or `identifier=` (200 with the order as it was, cancellation accepted), `GET /v1/order` (any
order, finished ones with their final `state`, plus its `trades`); these two also take `uuid` /
`identifier` in a JSON (or form) body, as older clients send them, the query hash then covering
the query string's pairs followed by the body's; `GET /v1/accounts`,
`POST /v1/orders/cancel_and_new` (JSON `prev_order_uuid|prev_order_identifier`,
`new_ord_type`, `new_volume` (a number or `remain_only`), `new_price`, `new_identifier`,
`new_time_in_force`, `new_smp_type`; 201 with the cancelled order's fields as the cancel found
it plus `new_order_uuid`, `new_order_identifier`; myOrder shows the cancel, then the new order),
`DELETE /v1/orders/open` (query `cancel_side`, `pairs` | `quote_currencies`, `excluded_pairs`,
`count` (default 20, max 300), `order_by`; `{"success": {"count", "orders": [{"uuid",
"market", "identifier"?}]}, "failed": {...}}`), `GET /v1/orders/open` (`market`, `state` |
`states[]` of `wait`/`watch`, `page`, `limit` <= 100, `order_by`). Order errors are 400
(`validation_error`, `invalid_volume`, `invalid_price_bid|ask`, `under_min_total_bid|ask`,
`insufficient_funds_bid|ask`, `post_only_order_would_match`), 404 `order_not_found` (unknown,
or no longer open where a cancel needs it open).

Rate limits (reference B5): every REST reply carries `Remaining-Req: group=<g>; min=1800;
sec=<left>`; `order` (POST /v1/orders, cancel_and_new) 8/s, `order-cancel-all` 1 per 2 s and
`default` 30/s per account, quotation groups 10/s per IP. A window opens with a group's first
request; past the limit the reply is 429 `too_many_requests` (refused requests do not count).

Private WS (`upbit_ws_private` port, `/websocket/v1/private`): the JWT (no query hash) is
checked on the upgrade; a refusal is the same 401 body as REST. Requests are
`[{"ticket"},{"type":"myOrder","codes":[..]?},{"type":"myAsset"},{"format"}?]`; each replaces
the connection's subscription; `myAsset` with `codes` is `WRONG_FORMAT`. Pushes are binary
frames (DEFAULT or SIMPLE keys), REALTIME only. `PING` is answered with `{"status":"UP"}`.

Faults beyond the public ones: `reject_auth` (the next `count` JWTs fail verification),
`drop_request` (the next `count` REST requests lose their connection without a reply);
`stall` also freezes REST replies until it ends.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Final, cast
from urllib.parse import parse_qsl, unquote

import msgspec
from aiohttp import web
from picows import WSUpgradeRequest, WSUpgradeResponse, WSUpgradeResponseWithListener

from .engine import (
    Account,
    BalanceEvent,
    Engine,
    Instrument,
    Order,
    OrderEvent,
    OrderRejected,
    RejectReason,
    Side,
)
from .faults import DROP_REQUEST, REJECT_AUTH, FaultTable, RequestFaults, fault_table
from .market import StreamConnection, call_soon_once, json_decimal
from .upbit import FAULTS as PUBLIC_FAULTS
from .upbit import STATUS_UP, UpbitVenue
from .wire import decode_json, encode_json

__all__ = [
    "FAULTS",
    "RATE_GROUPS",
    "UPBIT_API_KEY",
    "UPBIT_API_SECRET",
    "RateWindows",
    "UpbitPrivateVenue",
    "query_string",
    "rate_group",
]

FAULTS: Final = fault_table(PUBLIC_FAULTS.values(), REJECT_AUTH, DROP_REQUEST)
PRIVATE_PATH: Final = "/websocket/v1/private"


def _derived(label: str) -> str:
    # Upbit keys are 40 characters of letters and digits.
    digest = base64.b64encode(hashlib.sha512(label.encode()).digest()).decode()
    return "".join(c for c in digest if c.isalnum())[:40]


#: Demo credentials: the access key and the secret key.
UPBIT_API_KEY: Final = _derived("hftpy sim upbit demo access key")
UPBIT_API_SECRET: Final = _derived("hftpy sim upbit demo secret key")
_DEMO_BALANCES: Final = {"KRW": "100000000000", "BTC": "100", "ETH": "1000"}

_ALGS: Final = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}
ORD_TYPES: Final = ("limit", "price", "market", "best")
MAX_PAIRS: Final = 20

#: Rate-limit group -> (requests, per seconds) (reference B5). Exchange groups count per
#: account, quotation groups per client IP.
RATE_GROUPS: Final[dict[str, tuple[int, float]]] = {
    "default": (30, 1.0),
    "order": (8, 1.0),
    "order-cancel-all": (1, 2.0),
    "market": (10, 1.0),
    "candle": (10, 1.0),
    "trade": (10, 1.0),
    "ticker": (10, 1.0),
    "orderbook": (10, 1.0),
}
QUOTATION_GROUPS: Final = frozenset({"market", "candle", "trade", "ticker", "orderbook"})
_QUOTATION_ROUTES: Final = {"/v1/market/all": "market", "/v1/orderbook": "orderbook"}
_ORDER_ROUTES: Final = {
    ("POST", "/v1/orders"): "order",
    ("POST", "/v1/orders/cancel_and_new"): "order",
    ("DELETE", "/v1/orders/open"): "order-cancel-all",
}
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
# Set on a request while it is charged: whose budget, and what it left.
_SCOPE: Final = web.RequestKey("hftpy_upbit_rate_scope", str)
_LEFT: Final = web.RequestKey("hftpy_upbit_rate_left", int)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def rate_group(method: str, path: str) -> str | None:
    """The rate-limit group of a REST route, or None for paths Upbit does not serve."""
    path = path.rstrip("/") or "/"
    if path in _QUOTATION_ROUTES:
        return _QUOTATION_ROUTES[path]
    group = _ORDER_ROUTES.get((method.upper(), path))
    if group is not None:
        return group
    return "default" if path.startswith("/v1/") else None


class RateWindows:
    """Requests left per (scope, group): a window opens with the first request and admits
    the group's limit until its period has passed (Upbit's user-request guide: counted from
    the first request; refused requests do not count)."""

    def __init__(self, groups: Mapping[str, tuple[int, float]] = RATE_GROUPS) -> None:
        self.groups = dict(groups)
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}

    def limit(self, group: str) -> int:
        return self.groups[group][0]

    def _used(self, scope: str, group: str, now: float) -> tuple[float, int]:
        start, used = self._windows.get((scope, group), (now, 0))
        if now - start >= self.groups[group][1]:
            return now, 0
        return start, used

    def take(self, scope: str, group: str) -> int | None:
        """Charge one request: what is left afterwards, or None when the budget is spent."""
        now = time.monotonic()
        start, used = self._used(scope, group, now)
        limit = self.limit(group)
        if used >= limit:
            return None
        self._windows[(scope, group)] = (start, used + 1)
        return limit - used - 1

    def remaining(self, scope: str, group: str) -> int:
        return self.limit(group) - self._used(scope, group, time.monotonic())[1]


@dataclass(frozen=True, slots=True)
class _Meta:
    """What an order was placed as, in Upbit's terms."""

    ord_type: str
    tif: str | None
    smp_type: str | None


@dataclass(frozen=True, slots=True)
class _Spec:
    """A checked new order, ready for the engine."""

    inst: Instrument
    side: str
    lots: int
    limit: int | None
    meta: _Meta
    identifier: str | None


_PRIVATE_TYPES: Final = ("myOrder", "myAsset")
_STATES: Final = {"new": "wait", "canceled": "cancel", "expired": "cancel", "filled": "done"}

SIMPLE_KEYS: Final[dict[str, dict[str, str]]] = {
    "myOrder": {
        "type": "ty",
        "code": "cd",
        "uuid": "uid",
        "ask_bid": "ab",
        "order_type": "ot",
        "state": "s",
        "trade_uuid": "tuid",
        "price": "p",
        "avg_price": "ap",
        "volume": "v",
        "remaining_volume": "rv",
        "executed_volume": "ev",
        "trades_count": "tc",
        "reserved_fee": "rsf",
        "remaining_fee": "rmf",
        "paid_fee": "pf",
        "locked": "l",
        "executed_funds": "ef",
        "time_in_force": "tif",
        "trade_fee": "tf",
        "is_maker": "im",
        "identifier": "id",
        "smp_type": "smpt",
        "prevented_volume": "pv",
        "prevented_locked": "pl",
        "trade_timestamp": "ttms",
        "order_timestamp": "otms",
        "timestamp": "tms",
        "stream_type": "st",
    },
    "myAsset": {
        "type": "ty",
        "asset_uuid": "astuid",
        "assets": "ast",
        "currency": "cu",
        "balance": "b",
        "locked": "l",
        "asset_timestamp": "asttms",
        "timestamp": "tms",
        "stream_type": "st",
    },
}


def query_string(params: Mapping[str, Any]) -> str:
    """The unencoded `k=v&...` text Upbit hashes (lists as `k[]=v`), in the order given."""
    parts: list[str] = []
    for key, value in params.items():
        if isinstance(value, list):
            name = key if key.endswith("[]") else f"{key}[]"
            parts.extend(f"{name}={_text(v)}" for v in value)
        else:
            parts.append(f"{key}={_text(value)}")
    return "&".join(parts)


def _text(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class UpbitApiError(Exception):
    def __init__(self, status: int, name: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.name = name
        self.message = message

    def body(self) -> bytes:
        return encode_json({"error": {"name": self.name, "message": self.message}})


def _auth_error(name: str, message: str) -> UpbitApiError:
    return UpbitApiError(401, name, message)


class UpbitPrivateConnection(StreamConnection):
    binary: ClassVar[bool] = True

    def __init__(self, venue: UpbitPrivateVenue, path: str, account: Account) -> None:
        super().__init__(venue, path)
        self.pvenue = venue
        self.account = account
        self.types: dict[str, list[str] | None] = {}  # type -> codes (None: all)
        self.format = "DEFAULT"

    def connected(self) -> None:
        self.pvenue.private_conns.add(self)

    def closed(self) -> None:
        self.pvenue.private_conns.discard(self)
        self.pvenue.connections_up.discard(self)

    def on_message(self, payload: bytes) -> None:
        if payload.strip() == b"PING":
            self.send(STATUS_UP)
            self.pvenue.connections_up.add(self)  # type: ignore[arg-type]
            return
        try:
            self._request(payload)
        except UpbitApiError as exc:
            self.send(exc.body())

    def _request(self, payload: bytes) -> None:
        try:
            message = decode_json(payload)
        except msgspec.DecodeError:
            raise UpbitApiError(400, "WRONG_FORMAT", "요청 형식이 올바르지 않습니다.") from None
        if not isinstance(message, list) or not all(isinstance(m, dict) for m in message):
            raise UpbitApiError(400, "WRONG_FORMAT", "요청 형식이 올바르지 않습니다.")
        if not any(isinstance(m.get("ticket"), str) and m["ticket"] for m in message):
            raise UpbitApiError(400, "NO_TICKET", "티켓이 존재하지 않습니다.")
        fmt = self.format
        types: dict[str, list[str] | None] = {}
        for item in message:
            if "format" in item:
                fmt = str(item["format"]).upper()
                if fmt not in ("DEFAULT", "SIMPLE", "JSON_LIST", "SIMPLE_LIST"):
                    raise UpbitApiError(400, "WRONG_FORMAT", f"지원하지 않는 포맷입니다: {fmt}")
            elif "type" in item:
                kind = item["type"]
                if kind not in _PRIVATE_TYPES:
                    raise UpbitApiError(400, "INVALID_PARAM", f"지원하지 않는 타입입니다: {kind}")
                codes = item.get("codes")
                if kind == "myAsset":
                    if codes is not None:
                        raise UpbitApiError(400, "WRONG_FORMAT", "myAsset은 codes를 받지 않습니다.")
                    types[kind] = None
                elif codes is None or codes == []:
                    types[kind] = None
                elif isinstance(codes, list) and all(
                    isinstance(c, str) and c == c.upper() for c in codes
                ):
                    types[kind] = list(codes)
                else:
                    raise UpbitApiError(400, "INVALID_PARAM", f"잘못된 코드입니다: {codes}")
        if not types:
            raise UpbitApiError(400, "NO_TYPE", "type 필드가 존재하지 않습니다.")
        self.types = types
        self.format = fmt

    def push(self, kind: str, message: dict[str, Any]) -> None:
        if self.format in ("SIMPLE", "SIMPLE_LIST"):
            message = _rename(message, SIMPLE_KEYS[kind])
        data = encode_json(message)
        self.send(b"[" + data + b"]" if self.format.endswith("_LIST") else data)


def _rename(message: Any, table: Mapping[str, str]) -> Any:
    if isinstance(message, dict):
        return {table.get(k, k): _rename(v, table) for k, v in message.items()}
    if isinstance(message, list):
        return [_rename(v, table) for v in message]
    return message


class UpbitPrivateVenue(RequestFaults, UpbitVenue):
    FAULTS: ClassVar[FaultTable] = FAULTS

    def __init__(self, engine: Engine, **kwargs: Any) -> None:
        super().__init__(engine, **kwargs)
        self.keys: dict[str, tuple[bytes, Account]] = {}
        self.nonces: set[tuple[str, str]] = set()
        self.private_conns: set[UpbitPrivateConnection] = set()
        self._uuids: dict[str, str] = {}  # engine order id -> uuid
        self._orders: dict[str, Order] = {}  # uuid -> order
        self._identifiers: dict[tuple[str, str], str] = {}  # (account, identifier) -> uuid
        self._meta: dict[str, _Meta] = {}  # engine id -> what the order was placed as
        self._identifier_of: dict[str, str | None] = {}  # engine id -> identifier
        self._fills: dict[str, list[dict[str, Any]]] = {}  # engine id -> `trades` entries
        self._placing: tuple[str, _Meta, str | None] | None = None
        self.limits = RateWindows()
        self._assets: dict[Account, set[str]] = {}
        self._assets_scheduled = False
        #: Every private WS connect accepted: (account name, nonce).
        self.connect_log: list[tuple[str, str]] = []
        self.demo_account = engine.add_account("upbit-demo", _DEMO_BALANCES)
        self.add_api_key(UPBIT_API_KEY, UPBIT_API_SECRET, self.demo_account)

    def add_api_key(self, access_key: str, secret_key: str, account: Account) -> None:
        self.keys[access_key] = (secret_key.encode(), account)
        account.order_listeners.append(self._on_order)
        account.balance_listeners.append(self._on_balance)

    # ----- JWT -----

    def verify(self, authorization: str | None, query: str | None) -> tuple[Account, str]:
        """(account, nonce) of a valid `Bearer` token for a request hashing `query`."""
        if not authorization or not authorization.startswith("Bearer "):
            raise _auth_error("no_authorization_token", "인증 정보가 없습니다.")
        token = authorization[len("Bearer ") :].strip()
        try:
            head_b64, payload_b64, sig_b64 = token.split(".")
            header = json.loads(_b64url(head_b64))
            payload = json.loads(_b64url(payload_b64))
            signature = _b64url(sig_b64)
        except (ValueError, binascii.Error):
            raise _auth_error("jwt_verification", "Jwt 토큰 검증에 실패했습니다.") from None
        if not isinstance(header, dict) or not isinstance(payload, dict):
            raise _auth_error("jwt_verification", "Jwt 토큰 검증에 실패했습니다.")
        digest = _ALGS.get(header.get("alg", ""))
        if digest is None:
            raise _auth_error("jwt_verification", "Jwt 토큰 검증에 실패했습니다.")
        entry = self.keys.get(payload.get("access_key", ""))
        if entry is None:
            raise _auth_error("invalid_access_key", "잘못된 엑세스 키입니다.")
        secret, account = entry
        expected = hmac.new(secret, f"{head_b64}.{payload_b64}".encode(), digest).digest()
        if self.take_reject_auth():
            expected = b""
        if not hmac.compare_digest(expected, signature):
            raise _auth_error("jwt_verification", "Jwt 토큰 검증에 실패했습니다.")
        nonce = payload.get("nonce")
        if not isinstance(nonce, str) or not nonce:
            raise _auth_error("jwt_verification", "Jwt 토큰 검증에 실패했습니다.")
        if query:
            expected_hash = hashlib.sha512(query.encode()).hexdigest()
            if (
                payload.get("query_hash") != expected_hash
                or payload.get("query_hash_alg", "SHA512") != "SHA512"
            ):
                raise _auth_error(
                    "invalid_query_payload", "Jwt 토큰의 쿼리 정보가 올바르지 않습니다."
                )
        key = (payload["access_key"], nonce)
        if key in self.nonces:
            raise _auth_error("nonce_used", "이미 요청한 nonce값이 다시 사용되었습니다.")
        self.nonces.add(key)
        return account, nonce

    # ----- private WS -----

    def listener(self, endpoint: str, request: WSUpgradeRequest) -> Any:
        if endpoint != "ws_private":
            return super().listener(endpoint, request)
        path = request.path.decode("latin-1").partition("?")[0].rstrip("/")
        if path != PRIVATE_PATH:
            return None
        try:
            account, nonce = self.verify(request.headers.get("Authorization"), None)
        except UpbitApiError as exc:
            response = WSUpgradeResponse.create_error_response(
                exc.status, exc.body(), extra_headers={"Content-Type": "application/json"}
            )
            return WSUpgradeResponseWithListener(response, None)
        self.connect_log.append((account.name, nonce))
        return UpbitPrivateConnection(self, path, account)

    def _subscribers(self, account: Account, kind: str, code: str | None) -> list[Any]:
        out = []
        for conn in self.private_conns:
            if conn.account is not account or kind not in conn.types:
                continue
            codes = conn.types[kind]
            if codes is None or code in codes:
                out.append(conn)
        return out

    def _on_order(self, event: OrderEvent) -> None:
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
        trade_uuid = None
        if event.fill is not None and order.order_id in self._uuids:
            trade_uuid = str(uuid.uuid4())
            self._fills.setdefault(order.order_id, []).append(self._trade_entry(event, trade_uuid))
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

    def _on_balance(self, event: BalanceEvent) -> None:
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
            now = time.time_ns() // 1_000_000
            message = {
                "type": "myAsset",
                "asset_uuid": str(uuid.uuid4()),
                "assets": [
                    {
                        "currency": asset,
                        "balance": _money(account.balance(asset).available),
                        "locked": _money(account.balance(asset).held),
                    }
                    for asset in sorted(assets)
                ],
                "asset_timestamp": now,
                "timestamp": now,
                "stream_type": "REALTIME",
            }
            for conn in conns:
                conn.push("myAsset", message)

    def _trade_entry(self, event: OrderEvent, trade_uuid: str) -> dict[str, Any]:
        """One `trades` item of `GET /v1/order`: `trend` is the aggressor's direction."""
        order, fill = event.order, event.fill
        assert fill is not None
        inst = order.instrument
        aggressor_buys = (order.side == "buy") != fill.maker
        return {
            "market": inst.symbol,
            "uuid": trade_uuid,
            "price": _plain(fill.price, inst.price_decimals),
            "volume": _plain(fill.qty, inst.qty_decimals),
            "funds": _money(fill.cost),
            "trend": "up" if aggressor_buys else "down",
            "created_at": _kst(event.ts_ns),
            "side": "bid" if order.side == "buy" else "ask",
        }

    def _my_order(self, event: OrderEvent, trade_uuid: str | None = None) -> dict[str, Any]:
        order = event.order
        inst = order.instrument
        pd, qd = inst.price_decimals, inst.qty_decimals
        meta = self._meta.get(order.order_id, _Meta(order.order_type, None, None))
        ord_type, tif = meta.ord_type, meta.tif
        fill = event.fill
        state = "trade" if fill is not None else _STATES.get(event.kind, "wait")
        now = time.time_ns() // 1_000_000
        avg = order.cum_cost * 10**pd // (order.filled * 10 ** (18 - qd)) if order.filled else 0
        return {
            "type": "myOrder",
            "code": inst.symbol,
            "uuid": self._uuids.get(order.order_id, order.order_id),
            "ask_bid": "BID" if order.side == "buy" else "ASK",
            "order_type": ord_type,
            "state": state,
            "trade_uuid": (trade_uuid or str(uuid.uuid4())) if fill is not None else None,
            "price": _num(fill.price if fill else (order.price or 0), pd),
            "avg_price": _num(avg, pd),
            "volume": _num(fill.qty if fill else order.qty, qd),
            "remaining_volume": _num(order.remaining, qd),
            "executed_volume": _num(order.filled, qd),
            "trades_count": len(self._fills.get(order.order_id, ())),
            "reserved_fee": 0,
            "remaining_fee": 0,
            "paid_fee": _money_num(order.fees),
            "locked": _money_num(order.held),
            "executed_funds": _money_num(order.cum_cost),
            "time_in_force": tif,
            "trade_fee": _money_num(fill.fee) if fill is not None else None,
            "is_maker": fill.maker if fill is not None else None,
            "identifier": self._identifier_of.get(order.order_id),
            "smp_type": meta.smp_type,
            "prevented_volume": 0,
            "prevented_locked": 0,
            "trade_timestamp": event.ts_ns // 1_000_000 if fill is not None else None,
            "order_timestamp": order.created_ns // 1_000_000,
            "timestamp": now,
            "stream_type": "REALTIME",
        }

    # ----- REST -----

    def routes(self, app: web.Application) -> None:
        super().routes(app)
        app.middlewares.append(self._remaining_req)
        app.router.add_post("/v1/orders", self._rest_order)
        app.router.add_post("/v1/orders/cancel_and_new", self._rest_cancel_and_new)
        app.router.add_delete("/v1/order", self._rest_cancel)
        app.router.add_get("/v1/order", self._rest_get_order)
        app.router.add_get("/v1/orders/open", self._rest_open_orders)
        app.router.add_delete("/v1/orders/open", self._rest_cancel_open)
        app.router.add_get("/v1/accounts", self._rest_accounts)

    @web.middleware
    async def _remaining_req(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Charges quotation requests per IP and stamps every reply with `Remaining-Req`.

        Exchange requests are charged per account inside `_authorized`, once the JWT says whose
        they are; a request refused before that shows the budget as it stands.
        """
        group = rate_group(request.method, request.path)
        if group is None:
            return await handler(request)
        if group in QUOTATION_GROUPS:
            request[_SCOPE] = f"ip:{request.remote}"
            left = self.limits.take(request[_SCOPE], group)
            if left is None:
                response: web.StreamResponse = self._error(_too_many())
            else:
                request[_LEFT] = left
                response = await handler(request)
        else:
            response = await handler(request)
        left = request.get(_LEFT)
        if left is None:
            scope = request.get(_SCOPE)
            left = self.limits.remaining(scope, group) if scope else self.limits.limit(group)
        response.headers["Remaining-Req"] = f"group={group}; min=1800; sec={left}"
        return response

    async def _authorized(
        self, request: web.Request, body: bool, body_too: bool = False
    ) -> tuple[Account, Any]:
        """Verify the JWT; the request's parameters. `body`: a JSON body holds them (POST).
        `body_too`: the query string, plus a JSON (or form) body if one is sent, as older
        clients send `uuid` / `identifier` to `GET` / `DELETE /v1/order`; `query_hash` then
        covers the query string followed by the body's `k=v` pairs."""
        while self.stalled():
            await asyncio.sleep(0.02)
        if self.take_drop_request():
            if request.transport is not None:
                request.transport.abort()
            raise UpbitApiError(500, "server_error", "connection dropped")
        if self._unavailable() is not None:
            raise UpbitApiError(503, "server_maintenance", "서버 점검 중입니다.")
        params: Any
        if body:
            try:
                raw = await request.read()
            except ConnectionError:
                raise UpbitApiError(499, "client_closed", "client closed the connection") from None
            try:
                params = decode_json(raw) if raw else {}
            except msgspec.DecodeError:
                raise UpbitApiError(400, "validation_error", "잘못된 요청입니다.") from None
            if not isinstance(params, dict):
                raise UpbitApiError(400, "validation_error", "잘못된 요청입니다.")
            query = query_string(params)
        else:
            params = request.query  # a multidict: `states[]` may repeat
            query = unquote(request.rel_url.raw_query_string)
            if body_too and request.can_read_body:
                extra, extra_query = await self._body_params(request)
                if extra:
                    params = {**extra, **params}  # a name in both: the query string's
                    query = f"{query}&{extra_query}" if query else extra_query
        account, _ = self.verify(request.headers.get("Authorization"), query or None)
        group = rate_group(request.method, request.path) or "default"
        request[_SCOPE] = f"account:{account.name}"
        left = self.limits.take(request[_SCOPE], group)
        if left is None:
            raise _too_many()
        request[_LEFT] = left
        return account, params

    @staticmethod
    async def _body_params(request: web.Request) -> tuple[dict[str, Any], str]:
        """A GET/DELETE body's parameters and their hashed `k=v&...` text."""
        try:
            raw = await request.read()
        except ConnectionError:
            raise UpbitApiError(499, "client_closed", "client closed the connection") from None
        if not raw.strip():
            return {}, ""
        if request.content_type == "application/x-www-form-urlencoded":
            text = raw.decode("latin-1")
            return dict(parse_qsl(text, keep_blank_values=True)), unquote(text)
        try:
            params = decode_json(raw)
        except msgspec.DecodeError:
            raise UpbitApiError(400, "validation_error", "잘못된 요청입니다.") from None
        if not isinstance(params, dict):
            raise UpbitApiError(400, "validation_error", "잘못된 요청입니다.")
        return params, query_string(params)

    @staticmethod
    def _error(exc: UpbitApiError) -> web.Response:
        return web.Response(body=exc.body(), status=exc.status, content_type="application/json")

    async def _rest_order(self, request: web.Request) -> web.Response:
        try:
            account, params = await self._authorized(request, body=True)
            order = self._submit(account, self._check(account, params))
            return _json(self._order_body(order), 201)
        except UpbitApiError as exc:
            return self._error(exc)

    async def _rest_cancel_and_new(self, request: web.Request) -> web.Response:
        try:
            account, params = await self._authorized(request, body=True)
            return _json(self._cancel_and_new(account, params), 201)
        except UpbitApiError as exc:
            return self._error(exc)

    async def _rest_cancel(self, request: web.Request) -> web.Response:
        try:
            account, params = await self._authorized(request, body=False, body_too=True)
            order = self._find(account, params)
            body = self._order_body(order)
            if not order.is_open:
                raise _not_found()
            self.engine.cancel(order)
            return _json(body)
        except UpbitApiError as exc:
            return self._error(exc)
        except OrderRejected:
            return self._error(_not_found())

    async def _rest_get_order(self, request: web.Request) -> web.Response:
        try:
            account, params = await self._authorized(request, body=False, body_too=True)
            order = self._find(account, params)
            body = self._order_body(order)
            body["trades"] = list(self._fills.get(order.order_id, ()))
            return _json(body)
        except UpbitApiError as exc:
            return self._error(exc)

    async def _rest_open_orders(self, request: web.Request) -> web.Response:
        try:
            account, params = await self._authorized(request, body=False)
            return _json(self._open_orders(account, params))
        except UpbitApiError as exc:
            return self._error(exc)

    async def _rest_cancel_open(self, request: web.Request) -> web.Response:
        try:
            account, params = await self._authorized(request, body=False)
            return _json(self._cancel_open(account, params))
        except UpbitApiError as exc:
            return self._error(exc)

    async def _rest_accounts(self, request: web.Request) -> web.Response:
        try:
            account, _ = await self._authorized(request, body=False)
        except UpbitApiError as exc:
            return self._error(exc)
        rows = [
            {
                "currency": asset,
                "balance": _money(bal.available),
                "locked": _money(bal.held),
                "avg_buy_price": "0",
                "avg_buy_price_modified": False,
                "unit_currency": "KRW",
            }
            for asset, bal in account.balances.items()
        ]
        return _json(rows)

    # ----- orders -----

    def _find(self, account: Account, params: Mapping[str, Any]) -> Order:
        if params.get("uuid") is None and params.get("identifier") is None:
            raise _invalid("uuid 또는 identifier가 필요합니다.")
        return self._lookup(account, params.get("uuid"), params.get("identifier"))

    def _lookup(self, account: Account, order_uuid: Any, identifier: Any) -> Order:
        """The account's order by uuid, else by identifier (uuid wins when both are given)."""
        if order_uuid is None and identifier is not None:
            order_uuid = self._identifiers.get((account.name, str(identifier)))
        order = self._orders.get(str(order_uuid)) if order_uuid is not None else None
        if order is None or order.account is not account:
            raise _not_found()
        return order

    def _own_open(self, account: Account) -> list[Order]:
        """The account's open Upbit orders, oldest first."""
        return [o for o in self.engine.open_orders(account) if o.order_id in self._uuids]

    def _cancel_and_new(self, account: Account, params: Mapping[str, Any]) -> dict[str, Any]:
        """`POST /v1/orders/cancel_and_new`: the new order (same market and side) is checked
        before the old one is cancelled, and entered after it."""
        prev_uuid, prev_identifier = (
            params.get("prev_order_uuid"),
            params.get("prev_order_identifier"),
        )
        if prev_uuid is None and prev_identifier is None:
            raise _invalid("prev_order_uuid 또는 prev_order_identifier가 필요합니다.")
        ord_type = params.get("new_ord_type")
        if ord_type not in ORD_TYPES:
            raise _invalid("new_ord_type이 올바르지 않습니다.")
        prev = self._lookup(account, prev_uuid, prev_identifier)
        if not prev.is_open:
            raise _not_found()
        side = "bid" if prev.side == "buy" else "ask"
        volume = params.get("new_volume")
        if volume == "remain_only":
            if ord_type == "price" or (ord_type == "best" and side == "bid"):
                raise _invalid("remain_only는 지정가, 시장가 매도, 최유리 매도 주문만 지원합니다.")
            volume = _plain(prev.remaining, prev.instrument.qty_decimals)
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
        cancelled = self._order_body(prev)  # as it was when the cancel was accepted
        try:
            self.engine.cancel(prev)
        except OrderRejected:
            raise _not_found() from None
        placed = self._submit(account, spec)
        body = {key: cancelled[key] for key in CANCEL_AND_NEW_KEYS}
        body["new_order_uuid"] = self._uuids[placed.order_id]
        body["new_order_identifier"] = self._identifier_of.get(placed.order_id)
        return body

    def _cancel_open(self, account: Account, params: Mapping[str, Any]) -> dict[str, Any]:
        """`DELETE /v1/orders/open`: up to `count` waiting orders matching the filters."""
        cancel_side = params.get("cancel_side", "all")
        if cancel_side not in ("all", "ask", "bid"):
            raise _invalid("cancel_side가 올바르지 않습니다.")
        pairs = _csv(params.get("pairs"))
        excluded = _csv(params.get("excluded_pairs"))
        quotes = _csv(params.get("quote_currencies"))
        if pairs and quotes:
            raise _invalid("pairs와 quote_currencies는 함께 사용할 수 없습니다.")
        if len(pairs) > MAX_PAIRS or len(excluded) > MAX_PAIRS:
            raise _invalid(f"pairs와 excluded_pairs는 최대 {MAX_PAIRS}개까지 지정할 수 있습니다.")
        count = _int_param(params, "count", 20, 1, 300)
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
            identifier = self._identifier_of.get(order.order_id)
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

    def _open_orders(self, account: Account, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """`GET /v1/orders/open`: waiting orders, `limit` per `page`, newest first by default."""
        market = params.get("market")
        state = params.get("state")
        states = _all(params, "states[]") + _all(params, "states")
        if state is not None and states:
            raise _invalid("state와 states는 함께 사용할 수 없습니다.")
        wanted = [state] if state is not None else states or ["wait"]
        if not all(s in ("wait", "watch") for s in wanted):
            raise _invalid("state가 올바르지 않습니다.")
        page = _int_param(params, "page", 1, 1, None)
        limit = _int_param(params, "limit", 100, 1, 100)
        newest_first = _order_by(params)
        orders = [
            o
            for o in self._own_open(account)
            if "wait" in wanted and (market is None or o.instrument.symbol == market)
        ]  # the simulator has no reserved (`watch`) orders
        orders.sort(key=lambda o: o.created_ns, reverse=newest_first)
        return [self._order_body(o) for o in orders[(page - 1) * limit : page * limit]]

    def _check(
        self, account: Account, params: Mapping[str, Any], released: int | None = None
    ) -> _Spec:
        """Every check of a new order that needs no engine call. With `released` (what the
        order it replaces holds) the funds are checked here too, before that order goes."""
        market = params.get("market")
        inst = self.instrument(market) if isinstance(market, str) else None
        if inst is None:
            raise _invalid("market이 올바르지 않습니다.")
        side = {"bid": "buy", "ask": "sell"}.get(str(params.get("side")))
        ord_type = params.get("ord_type")
        if side is None or ord_type not in ORD_TYPES:
            raise _invalid("side 또는 ord_type이 올바르지 않습니다.")
        tif = params.get("time_in_force")
        if tif is not None and tif not in ("ioc", "fok", "post_only"):
            raise _invalid("time_in_force가 올바르지 않습니다.")
        smp_type = params.get("smp_type")
        if smp_type is not None and smp_type not in ("cancel_maker", "cancel_taker", "reduce"):
            raise _invalid("smp_type이 올바르지 않습니다.")
        if tif == "post_only" and (ord_type != "limit" or smp_type is not None):
            raise _invalid("post_only 조건이 올바르지 않습니다.")
        if ord_type == "best" and tif not in ("ioc", "fok"):
            raise _invalid("best 주문은 ioc 또는 fok만 가능합니다.")
        identifier = params.get("identifier")
        if identifier is not None and (account.name, str(identifier)) in self._identifiers:
            raise _invalid("identifier가 이미 사용되었습니다.")
        suffix = "bid" if side == "buy" else "ask"
        volume = params.get("volume")
        price = params.get("price")
        book = self.engine.book(inst.symbol)
        limit: int | None = None
        if ord_type == "limit":
            lots = _units(volume, inst.qty_decimals)
            limit = _units(price, inst.price_decimals)
            if lots is None or lots <= 0:
                raise UpbitApiError(400, "invalid_volume", "주문 수량이 올바르지 않습니다.")
            if limit is None or limit <= 0 or limit % inst.tick_units:
                raise UpbitApiError(
                    400, f"invalid_price_{suffix}", "주문 가격 단위가 잘못되었습니다."
                )
            cost = inst.cost(limit, lots)
        elif side == "buy":  # price / best bid: spend `price` KRW
            if volume is not None:
                raise _invalid("시장가 매수는 volume을 받지 않습니다.")
            budget = _units(price, inst.price_decimals)
            if budget is None or budget <= 0:
                raise UpbitApiError(
                    400, f"invalid_price_{suffix}", "주문 금액이 올바르지 않습니다."
                )
            lots, cost = _lots_for(inst, book.asks.depth(len(book.asks.prices)), budget)
            cost = max(cost, budget * 10 ** (18 - inst.price_decimals))
        else:  # market / best ask: sell `volume`
            if price is not None:
                raise _invalid("시장가 매도는 price를 받지 않습니다.")
            lots = _units(volume, inst.qty_decimals)
            if lots is None or lots <= 0:
                raise UpbitApiError(400, "invalid_volume", "주문 수량이 올바르지 않습니다.")
            best = book.bids.best() or 0
            cost = inst.cost(best, lots)
        if cost < inst.min_cost_amount:
            raise UpbitApiError(
                400, f"under_min_total_{suffix}", "최소주문금액 이상으로 주문해주세요"
            )
        if lots <= 0:
            raise _invalid("호가가 없습니다.")
        if tif == "fok" and not _fillable(book, side, limit, lots):
            raise _invalid("fok 주문이 전량 체결될 수 없습니다.")
        if (
            tif == "post_only"
            and limit is not None
            and book.opposite(cast(Side, side)).crosses(limit)
        ):
            raise _post_only()
        if released is not None and not account.unlimited:
            if side == "buy":
                hold = cost + -(-cost * account.taker_fee_ppm // 1_000_000)
                asset = inst.quote
            else:
                hold, asset = inst.base_amount(lots), inst.base
            if hold > account.balance(asset).available + released:
                raise _insufficient(suffix)
        return _Spec(
            inst, side, lots, limit, _Meta(str(ord_type), tif, smp_type), _opt_text(identifier)
        )

    def _submit(self, account: Account, spec: _Spec) -> Order:
        order_uuid = str(uuid.uuid4())
        # The engine emits the order's `new` event inside `place`: `_on_order` takes it from here.
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
                raise _insufficient(suffix) from None
            if exc.reason is RejectReason.POST_ONLY:
                raise _post_only() from None
            raise _invalid(exc.reason.value) from None
        finally:
            self._placing = None

    def _order_body(self, order: Order) -> dict[str, Any]:
        inst = order.instrument
        pd, qd = inst.price_decimals, inst.qty_decimals
        meta = self._meta.get(order.order_id, _Meta(order.order_type, None, None))
        return {
            "uuid": self._uuids.get(order.order_id, order.order_id),
            "side": "bid" if order.side == "buy" else "ask",
            "ord_type": meta.ord_type,
            "price": None if order.price is None else _plain(order.price, pd),
            "state": _STATES.get(order.status, "wait"),
            "market": inst.symbol,
            "created_at": _kst(order.created_ns),
            "volume": _plain(order.qty, qd),
            "remaining_volume": _plain(order.remaining, qd),
            "executed_volume": _plain(order.filled, qd),
            "reserved_fee": "0",
            "remaining_fee": "0",
            "paid_fee": _money(order.fees),
            "locked": _money(order.held),
            "executed_funds": _money(order.cum_cost),
            "prevented_volume": "0",
            "prevented_locked": "0",
            "smp_type": meta.smp_type,
            "trades_count": len(self._fills.get(order.order_id, ())),
            "time_in_force": meta.tif,
            "identifier": self._identifier_of.get(order.order_id),
        }


def _invalid(message: str) -> UpbitApiError:
    return UpbitApiError(400, "validation_error", message)


def _not_found() -> UpbitApiError:
    return UpbitApiError(404, "order_not_found", "주문을 찾지 못했습니다.")


def _too_many() -> UpbitApiError:
    return UpbitApiError(429, "too_many_requests", "요청 수 제한을 초과했습니다.")


def _post_only() -> UpbitApiError:
    return UpbitApiError(400, "post_only_order_would_match", "post_only 주문이 즉시 체결됩니다.")


def _insufficient(suffix: str) -> UpbitApiError:
    return UpbitApiError(400, f"insufficient_funds_{suffix}", "주문가능한 금액이 부족합니다.")


def _csv(value: Any) -> list[str]:
    return [part for part in str(value).split(",") if part] if value is not None else []


def _all(params: Mapping[str, Any], key: str) -> list[str]:
    getall = getattr(params, "getall", None)
    if getall is not None:
        return list(getall(key, []))
    value = params.get(key)
    return [] if value is None else list(value) if isinstance(value, list) else [value]


def _int_param(
    params: Mapping[str, Any], key: str, default: int, low: int, high: int | None
) -> int:
    value = params.get(key)
    if value is None:
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise _invalid(f"{key}가 올바르지 않습니다.") from None
    if number < low or (high is not None and number > high):
        raise _invalid(f"{key}가 허용 범위를 벗어났습니다.")
    return number


def _order_by(params: Mapping[str, Any]) -> bool:
    """True for `desc` (the default): newest first."""
    order_by = params.get("order_by", "desc")
    if order_by not in ("asc", "desc"):
        raise _invalid("order_by가 올바르지 않습니다.")
    return bool(order_by == "desc")


def _opt_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _kst(ns: int) -> str:
    """Upbit's `created_at`: ISO 8601 in KST with its offset."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+09:00", time.gmtime(ns // 10**9 + 9 * 3600))


def _lots_for(inst: Instrument, asks: list[tuple[int, int]], budget: int) -> tuple[int, int]:
    """Lots a market buy of `budget` price units (KRW) takes from `asks`, and their cost."""
    left = budget * 10 ** (18 - inst.price_decimals)
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


def _fillable(book: Any, side: str, limit: int | None, lots: int) -> bool:
    opposite = book.asks if side == "buy" else book.bids
    available = 0
    for price, qty in opposite.depth(len(opposite.prices)):
        if limit is not None and (price > limit if side == "buy" else price < limit):
            break
        available += qty
    return available >= lots


def _units(value: Any, decimals: int) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    scaled = number.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        return None
    return int(scaled)


def _plain(units: int, decimals: int) -> str:
    return f"{Decimal(units).scaleb(-decimals).normalize():f}"


def _money(amount: int) -> str:
    return f"{Decimal(amount).scaleb(-18).normalize():f}"


def _num(units: int, decimals: int) -> msgspec.Raw:
    return msgspec.Raw(json_decimal(units, decimals).encode())


def _money_num(amount: int) -> msgspec.Raw:
    text = _money(amount)
    return msgspec.Raw((text if "." in text else text + ".0").encode())


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(body=encode_json(body), status=status, content_type="application/json")
