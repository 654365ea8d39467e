"""Kraken's side of the wire on loopback: REST auth + reference data, and WebSocket v2 trading.

REST (aiohttp): `POST /0/private/GetWebSocketsToken`, `OpenOrders` and `QueryOrders` check
`API-Key`/`API-Sign` and the nonce exactly as Kraken does; `GET /0/public/Time`,
`SystemStatus`, `Assets` (`asset`, `aclass`), `AssetPairs` (`pair`), `Ticker` (`pair`) and
`Depth` (`pair`, `count` 1-500, default 100; `[price, volume, timestamp]` rows) serve what a
client loads at start (ccxt's every call loads `Assets` and `AssetPairs` first). There is no
REST trading (`AddOrder`, `CancelOrder`): orders go over WebSocket v2. The order queries
answer in Kraken's REST shape (numbers as strings, the pair by its REST altname `XBTUSD`, times
as epoch seconds) for every order the account placed, open or closed, while the simulator runs.

WebSocket v2 (picows): the auth endpoint answers every trading method and streams the private
`executions` and `balances` channels; the public endpoint shares the connection code and
serves the market-data channels (`kraken_public.py`). Envelopes, field names and error strings
follow Kraken's (see shared/reference/kraken.md).

Fault injection (`KrakenVenue.inject`) drives the failure modes client code must survive.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import hashlib
import hmac
import json
import logging
import random
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Final

import msgspec
from aiohttp import web
from picows import (
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    ws_create_server,
)

from .engine import (
    AMOUNT_DECIMALS,
    Account,
    BalanceEvent,
    Engine,
    Instrument,
    Order,
    OrderEvent,
    OrderRejected,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
    kraken_id,
)
from .faults import (
    DROP_CONNECTION,
    MAINTENANCE,
    MALFORMED_FRAME,
    ONLINE,
    SKIP_SEQUENCE,
    STALL,
    ConnectionFaults,
    Fault,
    FaultTable,
    fault_table,
)
from .market import FrameFault, _given
from .wire import (
    decode_json,
    encode_json,
    fixed_number,
    fixed_text,
    rescaled_number,
    rfc3339_s,
    rfc3339_us,
)

if TYPE_CHECKING:
    from .kraken_public import KrakenMarketData

__all__ = ["FAULTS", "KrakenConnection", "KrakenVenue", "RequestError"]

log = logging.getLogger(__name__)

WS_API_VERSION: Final = "2.0.10"
TOKEN_LIFETIME_S: Final = 900  # an unused token dies after 15 minutes

# Pro tier trading counter (reference §6).
MAX_RATE_COUNT: Final = 180
RATE_DECAY_PER_S: Final = 3.75
MAX_OPEN_ORDERS_PER_PAIR: Final = 225
_AGE_LIMITS_S: Final = (5, 10, 15, 45, 90, 300)
_CANCEL_PENALTY: Final = (8, 6, 5, 4, 2, 1)
_AMEND_PENALTY: Final = (3, 2, 1, 0, 0, 0)
_EDIT_PENALTY: Final = (6, 5, 4, 2, 1, 0)

# Kraken's REST asset codes: (pair-key code, altname, balance decimals).
_ASSETS: Final[dict[str, tuple[str, str, int]]] = {
    "BTC": ("XXBT", "XBT", 10),
    "ETH": ("XETH", "ETH", 10),
    "EUR": ("ZEUR", "EUR", 4),
    "USD": ("ZUSD", "USD", 4),
}
# Kraken's entry-tier fees: shown by AssetPairs, and what the simulator's demo account pays.
TAKER_FEE: Final = Decimal("0.0040")
MAKER_FEE: Final = Decimal("0.0025")

FAULTS: Final = fault_table(
    DROP_CONNECTION,
    STALL,
    Fault(
        "delay", ("seconds",), "handle every request SECONDS late (0: off); replies stay in order"
    ),
    Fault("reject_auth", (), "invalidate every WS token: the next private request gets ESession"),
    Fault(
        "rate_limit", ("count",), "the next COUNT trading requests get EOrder:Rate limit exceeded"
    ),
    MAINTENANCE.with_doc("system status maintenance: status update sent, trading refused"),
    ONLINE,
    MALFORMED_FRAME,
    Fault(
        "book_checksum",
        ("rate", "count"),
        "corrupt the checksum of the next COUNT book messages, or that share of them",
    ),
    SKIP_SEQUENCE.with_doc("skip the private channels' `sequence` numbers (COUNT or share)"),
)

_PRIVATE_CHANNELS: Final = frozenset({"executions", "balances"})
_PUBLIC_CHANNELS: Final = frozenset({"book", "ticker", "trade", "ohlc", "instrument", "level3"})
_TRADING_METHODS: Final = frozenset(
    {
        "add_order",
        "amend_order",
        "edit_order",
        "cancel_order",
        "cancel_all",
        "cancel_all_orders_after",
        "batch_add",
        "batch_cancel",
    }
)
_ORDER_TYPES: Final[dict[str, OrderType]] = {"limit": "limit", "market": "market"}
_SIDES: Final[dict[str, Side]] = {"buy": "buy", "sell": "sell"}
_TIMES_IN_FORCE: Final[dict[str, TimeInForce]] = {"gtc": "gtc", "ioc": "ioc", "gtd": "gtd"}
_UNSUPPORTED_ORDER_TYPES: Final = frozenset(
    {
        "iceberg",
        "stop-loss",
        "stop-loss-limit",
        "take-profit",
        "take-profit-limit",
        "trailing-stop",
        "trailing-stop-limit",
        "settle-position",
    }
)
_CL_ORD_ID: Final = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|[0-9a-fA-F]{32}|[\x20-\x7e]{1,18}"
)
_EXECUTIONS_WARNINGS: Final = (
    "cancel_reason is deprecated, use reason",
    "stop_price is deprecated, use triggers.price",
    "trigger is deprecated use triggers.reference",
    "triggered_price is deprecated use triggers.last_price",
)

E_INVALID_ARGS: Final = "EGeneral:Invalid arguments"
E_SESSION: Final = "ESession:Invalid session"
E_RATE_LIMIT: Final = "EOrder:Rate limit exceeded"
E_UNAVAILABLE: Final = "EService:Unavailable"
E_UNKNOWN_ORDER: Final = "EOrder:Unknown order"
E_UNKNOWN_PAIR: Final = "EQuery:Unknown asset pair"
E_UNKNOWN_ASSET: Final = "EQuery:Unknown asset"
DEPTH_DEFAULT: Final = 100  # REST Depth `count`: default and maximum
DEPTH_MAX: Final = 500
E_INVALID_ORDER: Final = "EOrder:Invalid order"  # QueryOrders with a txid it does not know
MAX_QUERY_TXIDS: Final = 50
MAX_CLOSED_ORDERS: Final = 10_000  # closed orders remembered for QueryOrders, per venue
_REST_STATUS: Final = {
    "new": "open",
    "partially_filled": "open",
    "filled": "closed",
    "canceled": "canceled",
    "expired": "expired",
}
E_PRIVATE_ON_PUBLIC: Final = (
    "Private data and trading are unavailable on this endpoint. Try ws-auth.kraken.com"
)
E_PUBLIC_ON_PRIVATE: Final = (
    "Public market data subscriptions are unavailable on this endpoint. Try ws.kraken.com"
)
_REJECT_ERRORS: Final = {
    RejectReason.INSUFFICIENT_FUNDS: "EOrder:Insufficient funds",
    RejectReason.POST_ONLY: "EOrder:Post only order",
    RejectReason.UNKNOWN_ORDER: E_UNKNOWN_ORDER,
    RejectReason.DUPLICATE_CL_ORD_ID: f"{E_INVALID_ARGS}:duplicate cl_ord_id",
}
_CLOUDFLARE_RESTART: Final = "CloudFlare WebSocket proxy restarting"
_HEARTBEAT: Final = b'{"channel":"heartbeat"}'


class RequestError(Exception):
    """A request refused with Kraken's error string."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ----- parameter checks: Kraken answers type errors as `<Field> field must be a <type>` -----


def _field(name: str) -> str:
    return name[:1].upper() + name[1:]


def _number(params: dict[str, Any], name: str) -> Decimal | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise RequestError(f"{_field(name)} field must be a number_float")
    return Decimal(value)


def _integer(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(f"{_field(name)} field must be an integer")
    return value


def _string(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RequestError(f"{_field(name)} field must be a string")
    return value


def _boolean(params: dict[str, Any], name: str, default: bool) -> bool:
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise RequestError(f"{_field(name)} field must be a boolean")
    return value


def _list(params: dict[str, Any], name: str) -> list[Any] | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, list):
        raise RequestError(f"{_field(name)} field must be an array")
    return value


def _age_penalty(table: tuple[int, ...], order: Order, now_ns: int) -> int:
    """Points a cancel/amend/edit adds for an order this young (reference §6)."""
    age_s = (now_ns - order.amended_ns) / 1e9
    for limit, points in zip(_AGE_LIMITS_S, table, strict=True):
        if age_s < limit:
            return points
    return 0


class RateCounter:
    """Kraken's per-pair trading counter: decays continuously, refuses what would exceed."""

    __slots__ = ("stamp", "value")

    def __init__(self) -> None:
        self.value = 0.0
        self.stamp = time.monotonic()

    def try_add(self, points: float) -> bool:
        now = time.monotonic()
        self.value = max(0.0, self.value - (now - self.stamp) * RATE_DECAY_PER_S)
        self.stamp = now
        if self.value + points > MAX_RATE_COUNT:
            return False
        self.value += points
        return True


@dataclass(slots=True)
class _ApiKey:
    secret: bytes
    account: Account
    last_nonce: int = 0


@dataclass(slots=True)
class _Token:
    account: Account
    issued: float  # monotonic
    used: bool = False


@dataclass(slots=True, eq=False)
class _OrderRecord:
    """What Kraken's REST order queries show of an order beyond the engine's state."""

    order: Order
    closed_ns: int | None = None
    reason: str | None = None
    amended: bool = False
    trades: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _OrderSpec:
    """A validated order entry (add_order, or one batch_add item)."""

    side: Side
    order_type: OrderType
    qty: int
    price: int | None
    time_in_force: TimeInForce
    post_only: bool
    cl_ord_id: str | None
    userref: int | None
    expire_ns: int | None


class _Request:
    __slots__ = ("method", "params", "req_id", "time_in")

    def __init__(self, method: str, req_id: int | None, params: dict[str, Any], time_in: int):
        self.method = method
        self.req_id = req_id
        self.params = params
        self.time_in = time_in


def _envelope(req: _Request, *, result: Any = None, error: str | None = None) -> bytes:
    # Kraken's keys come in alphabetical order; `result` only on success, `error` only on failure.
    reply: dict[str, Any] = {}
    if error is not None:
        reply["error"] = error
    if req.method:  # empty when the frame was not a JSON request at all
        reply["method"] = req.method
    if req.req_id is not None:
        reply["req_id"] = req.req_id
    if error is None:
        reply["result"] = result
    reply["success"] = error is None
    reply["time_in"] = rfc3339_us(req.time_in)
    reply["time_out"] = rfc3339_us(time.time_ns())
    return encode_json(reply)


class KrakenConnection(WSListener):
    """One client WebSocket on the public (`private=False`) or auth endpoint."""

    def __init__(self, venue: KrakenVenue, private: bool) -> None:
        super().__init__()
        self.venue = venue
        self.private = private
        self.transport: WSTransport | None = None
        self.sequence = 0  # private channel messages, per connection
        self.executions: Account | None = None
        self.balances: Account | None = None
        self.active = False  # sent something since the last heartbeat tick
        self.held: list[bytes] = []  # market data produced during a stall

    # picows callbacks

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.venue.connections.add(self)
        self.send(self.venue.status_message())

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.venue.forget(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        time_in = time.time_ns()
        if frame.msg_type == WSMsgType.TEXT:
            if self.venue.stalled():
                pass
            elif self.venue.delay_s:
                payload = memoryview(frame.get_payload_as_bytes())
                asyncio.get_running_loop().call_later(
                    self.venue.delay_s, self.venue.handle, self, payload, time_in
                )
            else:
                self.venue.handle(self, frame.get_payload_as_memoryview(), time_in)
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()

    # output

    def send(self, data: bytes) -> None:
        if self.transport is None or self.venue.stalled():
            return
        self.transport.send(WSMsgType.TEXT, data)
        self.active = True

    def send_md(self, data: bytes) -> None:
        """Market data: held during a stall and delivered when it ends, so books stay valid."""
        if self.transport is None:
            return
        if self.venue.stalled():
            self.held.append(data)
            self.venue.release_later()
            return
        self.transport.send(WSMsgType.TEXT, data)
        self.active = True

    def release(self) -> None:
        held, self.held = self.held, []
        for data in held:
            self.send_md(data)

    def reply(self, req: _Request, result: Any) -> None:
        self.send(_envelope(req, result=result))

    def reply_error(self, req: _Request, error: str) -> None:
        self.send(_envelope(req, error=error))

    def push_private(self, channel: bytes, kind: bytes, items: bytes) -> None:
        """Queue a private channel message; `items` is the encoded `data` array."""
        self.sequence += 2 if self.venue.skip_private.hit() else 1
        self.venue.push(
            self,
            b'{"channel":"%s","type":"%s","data":%s,"sequence":%d}'
            % (channel, kind, items, self.sequence),
        )


class KrakenVenue(ConnectionFaults):
    """Kraken's REST and WS v2 endpoints over one engine."""

    name: ClassVar[str] = "kraken"
    FAULTS: ClassVar[FaultTable] = FAULTS

    def __init__(self, engine: Engine, *, host: str = "127.0.0.1", seed: int = 0) -> None:
        self.engine = engine
        self.host = host
        self.rng = random.Random(f"kraken:{seed}")
        self.ports: dict[str, int] = {}
        self.connections: set[KrakenConnection] = set()
        self.system = "online"
        self._keys: dict[str, _ApiKey] = {}
        self._tokens: dict[str, _Token] = {}
        self._counters: dict[tuple[str, str], RateCounter] = {}
        self._dead_man: dict[str, asyncio.TimerHandle] = {}
        self._exec_subs: dict[str, set[KrakenConnection]] = {}
        self._balance_subs: dict[str, set[KrakenConnection]] = {}
        self._orders: dict[str, _OrderRecord] = {}  # every order of the keyed accounts
        self._closed: collections.deque[str] = collections.deque()  # oldest closed first
        # The last 50 fills per account, rendered when they happened (`snap_trades`).
        self._fills: dict[str, collections.deque[dict[str, Any]]] = {}
        self._deferred: list[tuple[KrakenConnection, bytes]] | None = None
        self.delay_s = 0.0  # the `delay` fault
        self._forced_rate_limits = 0
        self.skip_private = FrameFault()
        self._runner: web.AppRunner | None = None
        self._servers: list[asyncio.Server] = []
        self._heartbeat: asyncio.Task[None] | None = None
        self._methods: dict[str, Callable[[KrakenConnection, _Request], None]] = {
            "ping": self._ping,
            "subscribe": self._subscribe,
            "unsubscribe": self._unsubscribe,
            "add_order": self._add_order,
            "amend_order": self._amend_order,
            "edit_order": self._edit_order,
            "cancel_order": self._cancel_order,
            "cancel_all": self._cancel_all,
            "cancel_all_orders_after": self._cancel_all_orders_after,
            "batch_add": self._batch_add,
            "batch_cancel": self._batch_cancel,
        }
        from .kraken_public import KrakenMarketData  # it builds on this module

        self.market: KrakenMarketData = KrakenMarketData(self)

    # ----- setup -----

    @property
    def instruments(self) -> list[Instrument]:
        return [i for i in self.engine.instruments.values() if i.venue == "kraken"]

    def add_api_key(self, api_key: str, api_secret: str, account: Account) -> None:
        """Register a key pair; `api_secret` is base64, as Kraken issues it."""
        self._keys[api_key] = _ApiKey(base64.b64decode(api_secret), account)
        if self._on_order_event not in account.order_listeners:  # one key or several
            account.order_listeners.append(self._on_order_event)
            account.balance_listeners.append(self._on_balance_event)

    async def start(self, rest_port: int, ws_port: int, ws_auth_port: int) -> None:
        """Listen on the three endpoints; port 0 picks a free one (see `self.ports`)."""
        app = web.Application()
        app.router.add_post("/0/private/GetWebSocketsToken", self._rest_ws_token)
        app.router.add_post("/0/private/OpenOrders", self._rest_open_orders)
        app.router.add_post("/0/private/QueryOrders", self._rest_query_orders)
        app.router.add_get("/0/public/Time", self._rest_time)
        app.router.add_get("/0/public/SystemStatus", self._rest_system_status)
        app.router.add_get("/0/public/AssetPairs", self._rest_asset_pairs)
        app.router.add_get("/0/public/Assets", self._rest_assets)
        app.router.add_get("/0/public/Ticker", self._rest_ticker)
        app.router.add_get("/0/public/Depth", self._rest_depth)
        app.router.add_route("*", "/0/{access:public|private}/{name}", self._rest_unknown)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, rest_port)
        await site.start()
        self.ports["rest"] = self._runner.addresses[0][1]
        for name, port, private in (("ws", ws_port, False), ("ws_auth", ws_auth_port, True)):
            server = await ws_create_server(self._listener_factory(private), self.host, port)
            self._servers.append(server)
            self.ports[name] = server.sockets[0].getsockname()[1]
        self._heartbeat = asyncio.create_task(self._heartbeats())

    async def stop(self) -> None:
        self.cancel_release()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            self._heartbeat = None
        for handle in self._dead_man.values():
            handle.cancel()
        self._dead_man.clear()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.send_close(WSCloseCode.GOING_AWAY)
                conn.transport.disconnect()
        for server in self._servers:
            server.close()
            await server.wait_closed()
        self._servers.clear()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _listener_factory(
        self, private: bool
    ) -> Callable[[WSUpgradeRequest], KrakenConnection | None]:
        def factory(request: WSUpgradeRequest) -> KrakenConnection | None:
            if request.path.split(b"?", 1)[0].rstrip(b"/") != b"/v2":
                return None  # picows answers 404
            return KrakenConnection(self, private)

        return factory

    def forget(self, conn: KrakenConnection) -> None:
        self.connections.discard(conn)
        self.market.forget(conn)
        for subs in (self._exec_subs, self._balance_subs):
            for conns in subs.values():
                conns.discard(conn)

    # ----- faults -----

    MALFORMED_DEFAULT: ClassVar[str] = _CLOUDFLARE_RESTART

    def fault_delay(self, seconds: float = 0.05) -> None:
        self.delay_s = max(0.0, float(seconds))

    def fault_reject_auth(self) -> None:
        self._tokens.clear()

    def fault_rate_limit(self, count: int = 1) -> None:
        self._forced_rate_limits = int(count)

    def fault_maintenance(self) -> None:
        self._set_system("maintenance")

    def fault_online(self) -> None:
        self._set_system("online")

    def fault_book_checksum(self, rate: float | None = None, count: int | None = None) -> None:
        self.market.checksum_fault.arm(_given(rate=rate, count=count))

    def fault_skip_sequence(self, count: int | None = None, rate: float | None = None) -> None:
        self.skip_private.arm(_given(count=count, rate=rate))

    def clear_faults(self) -> None:
        super().clear_faults()
        self.delay_s = 0.0
        self._forced_rate_limits = 0
        self.market.checksum_fault.clear()
        self.skip_private.clear()
        self._set_system("online")

    def paused(self) -> bool:
        """Maintenance freezes the engine: the synthetic flow of Kraken's pairs skips steps."""
        return self.system == "maintenance"

    def _set_system(self, system: str) -> None:
        if system == self.system:
            return
        self.system = system
        message = self.status_message()
        for conn in list(self.connections):
            conn.send(message)

    def status_message(self) -> bytes:
        status = {
            "api_version": "v2",
            "connection_id": secrets.randbits(63) | 1 << 63,
            "system": self.system,
            "version": WS_API_VERSION,
        }
        return encode_json({"channel": "status", "type": "update", "data": [status]})

    # ----- REST -----

    @staticmethod
    def _rest_json(error: list[str], result: Any = None) -> web.Response:
        # Kraken answers errors with HTTP 200 and no `result` key.
        body: dict[str, Any] = {"error": error}
        if not error:
            body["result"] = result
        return web.Response(body=encode_json(body), content_type="application/json")

    async def _rest_ws_token(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            key = self._authenticate(request.path, request.headers, request.content_type, body)
        except RequestError as exc:
            return self._rest_json([exc.message])
        token = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
        self._tokens[token] = _Token(key.account, time.monotonic())
        return self._rest_json([], {"token": token, "expires": TOKEN_LIFETIME_S})

    async def _rest_private(self, request: web.Request) -> tuple[_ApiKey, dict[str, Any]]:
        """Authenticate a private REST call and return its key and its (form or JSON) params."""
        body = await request.read()
        key = self._authenticate(request.path, request.headers, request.content_type, body)
        return key, _body_params(body, request.content_type)

    async def _rest_open_orders(self, request: web.Request) -> web.Response:
        """`{"open": {txid: order}}`, newest first; `trades`, `userref`, `cl_ord_id` filters."""
        try:
            key, params = await self._rest_private(request)
            trades = _form_bool(params, "trades")
            userref = _form_int(params, "userref")
            cl_ord_id = _form_str(params, "cl_ord_id")
        except RequestError as exc:
            return self._rest_json([exc.message])
        open_orders: dict[str, Any] = {}
        for order in reversed(self.engine.open_orders(key.account)):
            record = self._orders.get(order.order_id)
            if record is None or order.instrument.venue != "kraken":
                continue
            if userref is not None and order.userref != userref:
                continue
            if cl_ord_id is not None and order.cl_ord_id != cl_ord_id:
                continue
            open_orders[order.order_id] = _rest_order(record, trades)
        return self._rest_json([], {"open": open_orders})

    async def _rest_query_orders(self, request: web.Request) -> web.Response:
        """`{txid: order}` for up to 50 comma-separated txids, open or closed."""
        try:
            key, params = await self._rest_private(request)
            trades = _form_bool(params, "trades")
            userref = _form_int(params, "userref")
            _form_bool(params, "consolidate_taker", True)  # one trade per fill: nothing to merge
            txid = _form_str(params, "txid")
            txids = [t.strip() for t in (txid or "").split(",") if t.strip()]
            if not txids or len(txids) > MAX_QUERY_TXIDS:
                raise RequestError(f"{E_INVALID_ARGS}:txid")
            records = []
            for order_id in txids:
                record = self._orders.get(order_id)
                if record is None or record.order.account is not key.account:
                    raise RequestError(E_INVALID_ORDER)
                records.append(record)
        except RequestError as exc:
            return self._rest_json([exc.message])
        result = {
            r.order.order_id: _rest_order(r, trades)
            for r in records
            if userref is None or r.order.userref == userref
        }
        return self._rest_json([], result)

    def _authenticate(
        self, path: str, headers: Mapping[str, str], content_type: str, body: bytes
    ) -> _ApiKey:
        """Verify API-Key/API-Sign: HMAC-SHA512(b64decode(secret), path + SHA256(nonce + body))."""
        key = self._keys.get(headers.get("API-Key", ""))
        if key is None:
            raise RequestError("EAPI:Invalid key")
        nonce = _body_nonce(body, content_type)
        if nonce is None:
            raise RequestError("EAPI:Invalid nonce")
        try:
            given = base64.b64decode(headers.get("API-Sign", ""), validate=True)
        except binascii.Error:
            raise RequestError("EAPI:Invalid signature") from None
        digest = hashlib.sha256(nonce.encode() + body).digest()
        expected = hmac.new(key.secret, path.encode() + digest, hashlib.sha512).digest()
        if not hmac.compare_digest(given, expected):
            raise RequestError("EAPI:Invalid signature")
        if int(nonce) <= key.last_nonce:
            raise RequestError("EAPI:Invalid nonce")
        key.last_nonce = int(nonce)
        return key

    async def _rest_time(self, request: web.Request) -> web.Response:
        now = time.time()
        rfc1123 = time.strftime("%a, %d %b %y %H:%M:%S +0000", time.gmtime(now))
        return self._rest_json([], {"unixtime": int(now), "rfc1123": rfc1123})

    async def _rest_system_status(self, request: web.Request) -> web.Response:
        return self._rest_json([], {"status": self.system, "timestamp": rfc3339_s(time.time_ns())})

    def _select_pairs(self, request: web.Request, required: bool) -> dict[str, Instrument]:
        """The pairs named by `pair` (comma-separated; any of Kraken's names), keyed as Kraken
        keys them; every pair when `pair` is absent and not `required`."""
        pairs = {_pair_key(i): i for i in self.instruments}
        wanted = request.query.get("pair")
        if not wanted:
            if required:
                raise RequestError(f"{E_INVALID_ARGS}:pair")  # UNVERIFIED wording
            return pairs
        selected = {}
        for name in wanted.split(","):
            name = name.strip()
            found = _find_pair(pairs.values(), name)
            if found is None:
                raise RequestError(E_UNKNOWN_PAIR)
            # Kraken keys a pair asked for in its slash form by that name (python-kraken-sdk's
            # order book reads `result["BTC/USD"]`), other names by the pair key.
            selected[name if "/" in name else _pair_key(found)] = found
        return selected

    async def _rest_asset_pairs(self, request: web.Request) -> web.Response:
        try:
            pairs = self._select_pairs(request, required=False)
        except RequestError as exc:
            return self._rest_json([exc.message])
        return self._rest_json([], {key: _asset_pair_info(inst) for key, inst in pairs.items()})

    async def _rest_assets(self, request: web.Request) -> web.Response:
        """`{code: {aclass, altname, decimals, display_decimals, collateral_value, status}}`
        for every asset of the simulated pairs, or those named by `asset` (code or altname)."""
        assets = sorted({a for i in self.instruments for a in (i.base, i.quote)})
        aclass = request.query.get("aclass", "currency")
        wanted = request.query.get("asset")
        if wanted:
            selected = []
            for name in (n.strip() for n in wanted.split(",")):
                found = next((a for a in assets if name in (a, *_asset_codes(a)[:2])), None)
                if found is None:
                    return self._rest_json([E_UNKNOWN_ASSET])
                selected.append(found)
            assets = selected
        if aclass != "currency":
            return self._rest_json([], {})  # only currencies are simulated
        return self._rest_json([], {_asset_codes(a)[0]: _asset_info(a) for a in assets})

    async def _rest_ticker(self, request: web.Request) -> web.Response:
        try:
            pairs = self._select_pairs(request, required=False)
        except RequestError as exc:
            return self._rest_json([exc.message])
        return self._rest_json(
            [], {key: self.market.rest_ticker(inst) for key, inst in pairs.items()}
        )

    async def _rest_depth(self, request: web.Request) -> web.Response:
        """`{pair: {asks, bids}}`, `count` levels a side (1 to 500, default 100)."""
        try:
            pairs = self._select_pairs(request, required=True)
            count = _form_int(dict(request.query), "count")
        except RequestError as exc:
            return self._rest_json([exc.message])
        if count is None:
            count = DEPTH_DEFAULT
        if count < 1:
            return self._rest_json([f"{E_INVALID_ARGS}:count"])
        count = min(count, DEPTH_MAX)  # UNVERIFIED: a larger count is served at the maximum
        return self._rest_json(
            [], {key: self.market.rest_depth(inst, count) for key, inst in pairs.items()}
        )

    async def _rest_unknown(self, request: web.Request) -> web.Response:
        return self._rest_json(["EGeneral:Unknown method"])

    # ----- WebSocket dispatch -----

    def handle(self, conn: KrakenConnection, payload: memoryview, time_in: int) -> None:
        try:
            message = decode_json(payload)
        except msgspec.DecodeError:
            message = None
        if not isinstance(message, dict):
            conn.reply_error(_Request("", None, {}, time_in), "Malformed request")
            return
        method = message.get("method")
        req_id = message.get("req_id")
        if isinstance(req_id, bool) or not isinstance(req_id, int):
            req_id = None
        params = message.get("params", {})
        req = _Request(method if isinstance(method, str) else "", req_id, params, time_in)
        handler = self._methods.get(req.method)
        if handler is None:
            conn.reply_error(req, "Unsupported event")
            return
        if not isinstance(params, dict):
            conn.reply_error(req, f"{E_INVALID_ARGS}:params")
            return
        if req.method == "ping" and "params" in message:
            conn.reply_error(req, "Unsupported field: 'params' for the given msg type: ping")
            return
        if req.method in _TRADING_METHODS and not conn.private:
            conn.reply_error(req, E_PRIVATE_ON_PUBLIC)
            return
        # Channel events caused by this request go out after its reply(ies).
        deferred: list[tuple[KrakenConnection, bytes]] = []
        self._deferred = deferred
        try:
            handler(conn, req)
        except RequestError as exc:
            conn.reply_error(req, exc.message)
        except Exception:
            log.exception("kraken sim: %s failed", req.method)
            conn.reply_error(req, "EGeneral:Internal error")
        finally:
            self._deferred = None
            for target, data in deferred:
                target.send(data)

    def push(self, conn: KrakenConnection, data: bytes) -> None:
        if self._deferred is not None:
            self._deferred.append((conn, data))
        else:
            conn.send(data)

    async def _heartbeats(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            for conn in list(self.connections):
                subscribed = (
                    conn.executions is not None
                    or conn.balances is not None
                    or self.market.has_subscriptions(conn)
                )
                if subscribed and not conn.active:
                    conn.send(_HEARTBEAT)
                conn.active = False

    # ----- shared request checks -----

    def _session(self, params: dict[str, Any]) -> Account:
        token = params.get("token")
        if not isinstance(token, str) or (entry := self._tokens.get(token)) is None:
            raise RequestError(E_SESSION)
        if not entry.used:
            if time.monotonic() - entry.issued > TOKEN_LIFETIME_S:
                del self._tokens[token]
                raise RequestError(E_SESSION)
            entry.used = True
        return entry.account

    def _trading_account(self, req: _Request) -> Account:
        """Session, system status and the injected rate-limit fault, in Kraken's order."""
        account = self._session(req.params)
        if self.system != "online":
            raise RequestError(E_UNAVAILABLE)
        if self._forced_rate_limits > 0:
            self._forced_rate_limits -= 1
            raise RequestError(E_RATE_LIMIT)
        return account

    def _instrument(self, params: dict[str, Any]) -> Instrument:
        symbol = _string(params, "symbol")
        if symbol is None:
            raise RequestError(f"{E_INVALID_ARGS}:symbol")
        inst = self.engine.instruments.get(symbol)
        if inst is None or inst.venue != "kraken":
            raise RequestError(E_UNKNOWN_PAIR)
        return inst

    def _charge(self, account: Account, inst: Instrument, points: float) -> None:
        key = (account.name, inst.symbol)
        counter = self._counters.get(key)
        if counter is None:
            counter = self._counters[key] = RateCounter()
        if not counter.try_add(points):
            raise RequestError(E_RATE_LIMIT)

    def _parse_order(self, params: dict[str, Any], inst: Instrument) -> _OrderSpec:
        raw_type = _string(params, "order_type")
        if raw_type in _UNSUPPORTED_ORDER_TYPES:
            raise RequestError(f"{E_INVALID_ARGS}:order_type {raw_type} is not simulated")
        order_type = _ORDER_TYPES.get(raw_type or "")
        if order_type is None:
            raise RequestError(f"{E_INVALID_ARGS}:order_type")
        side = _SIDES.get(_string(params, "side") or "")
        if side is None:
            raise RequestError(f"{E_INVALID_ARGS}:side")
        qty_value = _number(params, "order_qty")
        price_value = _number(params, "limit_price")
        if qty_value is None:
            raise RequestError(f"{E_INVALID_ARGS}:order_qty")
        tif = _TIMES_IN_FORCE.get(_string(params, "time_in_force") or "gtc")
        if tif is None:
            raise RequestError(f"{E_INVALID_ARGS}:time_in_force")
        expire_ns = None
        if tif == "gtd":
            expire_ns = _parse_time(_string(params, "expire_time"))
            if expire_ns is None or expire_ns <= time.time_ns():
                raise RequestError(f"{E_INVALID_ARGS}:expire_time")
        post_only = _boolean(params, "post_only", False)
        _boolean(params, "reduce_only", False)  # type-checked, then ignored: spot only
        cl_ord_id = _string(params, "cl_ord_id")
        userref = _integer(params, "order_userref")
        if cl_ord_id is not None and (userref is not None or not _CL_ORD_ID.fullmatch(cl_ord_id)):
            raise RequestError(E_INVALID_ARGS)
        price = None
        if order_type == "limit":
            if price_value is None:
                raise RequestError(f"{E_INVALID_ARGS}:limit_price")
            price = self._price(inst, price_value)
        elif post_only:
            raise RequestError(f"{E_INVALID_ARGS}:post_only")
        qty = self._qty(inst, qty_value)
        if price is not None and inst.cost(price, qty) < inst.min_cost_amount:
            raise RequestError("EOrder:Cost minimum not met")
        return _OrderSpec(
            side, order_type, qty, price, tif, post_only, cl_ord_id, userref, expire_ns
        )

    @staticmethod
    def _price(inst: Instrument, value: Decimal) -> int:
        ticks = inst.price_units(value)
        if ticks is None:
            raise RequestError(
                f"EOrder:Invalid price:{inst.symbol} price can only be specified up to "
                f"{inst.price_decimals} decimals."
            )
        if ticks <= 0:
            raise RequestError("EOrder:Invalid price")
        return ticks

    @staticmethod
    def _qty(inst: Instrument, value: Decimal) -> int:
        lots = inst.qty_units(value)
        if lots is None:
            raise RequestError(f"{E_INVALID_ARGS}:volume")
        if lots < inst.min_lots:
            raise RequestError(f"{E_INVALID_ARGS}:volume minimum not met")
        return lots

    def _place(self, account: Account, inst: Instrument, spec: _OrderSpec, validate: bool) -> Order:
        try:
            order = self.engine.place(
                account,
                inst.symbol,
                spec.side,
                spec.qty,
                price=spec.price,
                order_type=spec.order_type,
                time_in_force=spec.time_in_force,
                post_only=spec.post_only,
                cl_ord_id=spec.cl_ord_id,
                userref=spec.userref,
                expire_ns=spec.expire_ns,
                validate_only=validate,
            )
        except OrderRejected as exc:
            raise RequestError(_REJECT_ERRORS[exc.reason]) from None
        if order.is_open and spec.expire_ns is not None and not validate:
            delay = (spec.expire_ns - time.time_ns()) / 1e9
            asyncio.get_running_loop().call_later(delay, self.engine.expire, order)
        return order

    @staticmethod
    def _order_ack(order: Order | None, spec: _OrderSpec) -> dict[str, Any]:
        result: dict[str, Any] = {}
        if order is not None:
            result["order_id"] = order.order_id
        if spec.cl_ord_id is not None:
            result["cl_ord_id"] = spec.cl_ord_id
        if spec.userref is not None:
            result["order_userref"] = spec.userref
        return result

    def _check_open_limit(self, account: Account, inst: Instrument, adding: int) -> None:
        if account.open_count(inst.symbol) + adding > MAX_OPEN_ORDERS_PER_PAIR:
            raise RequestError("EOrder:Orders limit exceeded")

    # ----- methods -----

    def _ping(self, conn: KrakenConnection, req: _Request) -> None:
        pong: dict[str, Any] = {"method": "pong"}
        if req.req_id is not None:
            pong["req_id"] = req.req_id
        pong["time_in"] = rfc3339_us(req.time_in)
        pong["time_out"] = rfc3339_us(time.time_ns())
        conn.send(encode_json(pong))

    def _add_order(self, conn: KrakenConnection, req: _Request) -> None:
        account = self._trading_account(req)
        inst = self._instrument(req.params)
        self._charge(account, inst, 1)  # charged on receipt, even if validation fails
        spec = self._parse_order(req.params, inst)
        validate = _boolean(req.params, "validate", False)
        self._check_open_limit(account, inst, 1)
        order = self._place(account, inst, spec, validate)
        conn.reply(req, self._order_ack(None if validate else order, spec))

    def _batch_add(self, conn: KrakenConnection, req: _Request) -> None:
        account = self._trading_account(req)
        inst = self._instrument(req.params)
        entries = _list(req.params, "orders")
        if entries is None or not 2 <= len(entries) <= 15:
            raise RequestError(f"{E_INVALID_ARGS}:orders")
        self._charge(account, inst, len(entries) / 2)
        specs = []
        for entry in entries:  # a validation failure rejects the whole batch
            if not isinstance(entry, dict):
                raise RequestError(f"{E_INVALID_ARGS}:orders")
            specs.append(self._parse_order(entry, inst))
        validate = _boolean(req.params, "validate", False)
        self._check_open_limit(account, inst, len(specs))
        results = []
        for spec in specs:  # a pre-match failure (funds, post only) fails only its entry
            try:
                order = self._place(account, inst, spec, validate)
            except RequestError as exc:
                results.append({"error": exc.message, **self._order_ack(None, spec)})
            else:
                results.append(self._order_ack(None if validate else order, spec))
        conn.reply(req, results)

    def _amend_order(self, conn: KrakenConnection, req: _Request) -> None:
        account = self._trading_account(req)
        params = req.params
        order, ref_key, ref = self._order_ref(account, params)
        inst = order.instrument
        self._charge(account, inst, 1 + _age_penalty(_AMEND_PENALTY, order, time.time_ns()))
        qty_value = _number(params, "order_qty")
        if qty_value is None:
            raise RequestError(f"{E_INVALID_ARGS}:order_qty")
        qty = self._qty(inst, qty_value)
        price_value = _number(params, "limit_price")
        price = None if price_value is None else self._price(inst, price_value)
        post_only = _boolean(params, "post_only", False)
        try:
            self.engine.amend(order, qty=qty, price=price, post_only=post_only)
        except OrderRejected as exc:
            raise RequestError(_REJECT_ERRORS[exc.reason]) from None
        conn.reply(req, {"amend_id": kraken_id(self.rng, "T"), ref_key: ref})

    def _order_ref(self, account: Account, params: dict[str, Any]) -> tuple[Order, str, str]:
        """The open order named by exactly one of `order_id` / `cl_ord_id`."""
        order_id = _string(params, "order_id")
        cl_ord_id = _string(params, "cl_ord_id")
        if (order_id is None) == (cl_ord_id is None):
            raise RequestError(E_INVALID_ARGS)
        if order_id is not None:
            order = self.engine.find_order(account, order_id)
            ref_key, ref = "order_id", order_id
        else:
            assert cl_ord_id is not None
            order = self.engine.find_by_cl_ord_id(account, cl_ord_id)
            ref_key, ref = "cl_ord_id", cl_ord_id
        if order is None:
            raise RequestError(E_UNKNOWN_ORDER)
        return order, ref_key, ref

    def _edit_order(self, conn: KrakenConnection, req: _Request) -> None:
        account = self._trading_account(req)
        params = req.params
        inst = self._instrument(params)
        order_id = _string(params, "order_id")
        if order_id is None:
            raise RequestError(f"{E_INVALID_ARGS}:order_id")
        order = self.engine.find_order(account, order_id)
        if order is None or order.instrument is not inst or order.price is None:
            raise RequestError(E_UNKNOWN_ORDER)
        self._charge(account, inst, 1 + _age_penalty(_EDIT_PENALTY, order, time.time_ns()))
        qty_value = _number(params, "order_qty")
        qty = order.qty if qty_value is None else self._qty(inst, qty_value)
        price_value = _number(params, "limit_price")
        price = order.price if price_value is None else self._price(inst, price_value)
        post_only = _boolean(params, "post_only", order.post_only)
        userref = _integer(params, "order_userref")
        if qty <= order.filled:
            raise RequestError(f"{E_INVALID_ARGS}:volume")
        if _boolean(params, "validate", False):
            conn.reply(req, {"original_order_id": order.order_id})
            return
        try:
            new = self.engine.replace(
                order,
                qty=qty,
                price=price,
                post_only=post_only,
                userref=order.userref if userref is None else userref,
            )
        except OrderRejected as exc:
            raise RequestError(_REJECT_ERRORS[exc.reason]) from None
        conn.reply(req, {"order_id": new.order_id, "original_order_id": order.order_id})

    def _cancel_order(self, conn: KrakenConnection, req: _Request) -> None:
        """One reply per requested id, in request order, whatever the outcome."""
        params = req.params
        kinds = [k for k in ("order_id", "cl_ord_id", "order_userref") if k in params]
        if len(kinds) != 1:
            raise RequestError(E_INVALID_ARGS)
        kind = kinds[0]
        refs = _list(params, kind)
        if not refs:
            raise RequestError(E_INVALID_ARGS)
        try:
            account = self._trading_account(req)
        except RequestError as exc:
            for _ in refs:
                conn.reply_error(req, exc.message)
            return
        for ref in refs:
            try:
                for order in self._cancel_targets(account, kind, ref):
                    penalty = _age_penalty(_CANCEL_PENALTY, order, time.time_ns())
                    self._charge(account, order.instrument, penalty)
                    self.engine.cancel(order)
            except RequestError as exc:
                conn.reply_error(req, exc.message)
            else:
                conn.reply(req, {kind: ref})

    def _cancel_targets(self, account: Account, kind: str, ref: Any) -> list[Order]:
        orders: list[Order] = []
        if kind == "order_userref":
            if isinstance(ref, bool) or not isinstance(ref, int):
                raise RequestError(f"{E_INVALID_ARGS}:order_userref")
            orders = self.engine.find_by_userref(account, ref)
        elif not isinstance(ref, str):
            raise RequestError(f"{E_INVALID_ARGS}:{kind}")
        else:
            find = self.engine.find_order if kind == "order_id" else self.engine.find_by_cl_ord_id
            order = find(account, ref)
            orders = [] if order is None else [order]
        if not orders:
            raise RequestError(E_UNKNOWN_ORDER)
        return orders

    def _cancel_all(self, conn: KrakenConnection, req: _Request) -> None:
        account = self._trading_account(req)
        conn.reply(req, {"count": self.engine.cancel_all(account)})

    def _cancel_all_orders_after(self, conn: KrakenConnection, req: _Request) -> None:
        account = self._trading_account(req)
        timeout = _integer(req.params, "timeout")
        if timeout is None or not 0 <= timeout < 86400:
            raise RequestError(f"{E_INVALID_ARGS}:timeout")
        previous = self._dead_man.pop(account.name, None)
        if previous is not None:
            previous.cancel()
        now = time.time_ns()
        trigger = "0"
        if timeout > 0:
            loop = asyncio.get_running_loop()
            self._dead_man[account.name] = loop.call_later(timeout, self._dead_man_fire, account)
            trigger = rfc3339_s(now + timeout * 1_000_000_000)
        conn.reply(req, {"currentTime": rfc3339_s(now), "triggerTime": trigger})

    def _dead_man_fire(self, account: Account) -> None:
        self._dead_man.pop(account.name, None)
        self.engine.cancel_all(account, reason="Dead man's switch triggered")

    def _batch_cancel(self, conn: KrakenConnection, req: _Request) -> None:
        account = self._trading_account(req)
        refs = _list(req.params, "orders") or []
        cl_ord_ids = _list(req.params, "cl_ord_id") or []
        if not 2 <= len(refs) + len(cl_ord_ids) <= 50:
            raise RequestError(f"{E_INVALID_ARGS}:orders")
        found: list[Order | None] = []
        for ref in refs:  # Kraken order ids, or order_userref values as strings
            if not isinstance(ref, str):
                raise RequestError(f"{E_INVALID_ARGS}:orders")
            if ref.isdigit():
                found.extend(self.engine.find_by_userref(account, int(ref)))
            else:
                found.append(self.engine.find_order(account, ref))
        for ref in cl_ord_ids:
            if not isinstance(ref, str):
                raise RequestError(f"{E_INVALID_ARGS}:cl_ord_id")
            found.append(self.engine.find_by_cl_ord_id(account, ref))
        targets = {order.order_id: order for order in found if order is not None}
        now = time.time_ns()
        points: dict[str, tuple[Instrument, int]] = {}
        for order in targets.values():
            inst, total = points.get(order.instrument.symbol, (order.instrument, 0))
            points[inst.symbol] = (inst, total + _age_penalty(_CANCEL_PENALTY, order, now))
        for inst, total in points.values():
            self._charge(account, inst, total)
        for order in targets.values():
            self.engine.cancel(order)
        conn.reply(req, {"count": len(targets)})

    # ----- private channels -----

    def _subscribe(self, conn: KrakenConnection, req: _Request) -> None:
        public = self._public_channel(conn, req)
        if public is not None:
            self.market.subscribe(conn, req, public)
            return
        channel = self._channel(conn, req)
        account = self._session(req.params)
        params = req.params
        if channel == "executions":
            if conn.executions is not None:
                raise RequestError("Already subscribed")
            snap_orders = _boolean(params, "snap_orders", _boolean(params, "snapshot", True))
            snap_trades = _boolean(
                params, "snap_trades", _boolean(params, "snapshot_trades", False)
            )
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
                    items.extend(_order_snapshot(o) for o in account.open_orders.values())
                if snap_trades:
                    items.extend(self._fills.get(account.name, ()))
                conn.push_private(b"executions", b"snapshot", encode_json(items))
        else:
            if conn.balances is not None:
                raise RequestError("Already subscribed")
            snapshot = _boolean(params, "snapshot", True)
            conn.balances = account
            self._balance_subs.setdefault(account.name, set()).add(conn)
            conn.reply(req, {"channel": "balances", "snapshot": snapshot})
            if snapshot:
                items = [_balance_item(a, b.total) for a, b in sorted(account.balances.items())]
                conn.push_private(b"balances", b"snapshot", encode_json(items))

    def _unsubscribe(self, conn: KrakenConnection, req: _Request) -> None:
        public = self._public_channel(conn, req)
        if public is not None:
            self.market.unsubscribe(conn, req, public)
            return
        channel = self._channel(conn, req)
        self._session(req.params)
        account = conn.executions if channel == "executions" else conn.balances
        if account is None:
            raise RequestError("Subscription Not Found")
        if channel == "executions":
            conn.executions = None
            self._exec_subs[account.name].discard(conn)
        else:
            conn.balances = None
            self._balance_subs[account.name].discard(conn)
        conn.reply(req, {"channel": channel})

    @staticmethod
    def _public_channel(conn: KrakenConnection, req: _Request) -> str | None:
        """The market-data channel of a subscribe on the public endpoint, else None."""
        channel = req.params.get("channel")
        if conn.private or channel not in _PUBLIC_CHANNELS or channel == "level3":
            return None
        assert isinstance(channel, str)
        return channel

    @staticmethod
    def _channel(conn: KrakenConnection, req: _Request) -> str:
        channel = _string(req.params, "channel")
        if channel in _PRIVATE_CHANNELS:
            if not conn.private:
                raise RequestError(E_PRIVATE_ON_PUBLIC)
            return channel
        if channel in _PUBLIC_CHANNELS:
            if conn.private and channel != "level3":
                raise RequestError(E_PUBLIC_ON_PRIVATE)
            raise RequestError(f"EGeneral:Internal error:channel {channel} is not simulated yet")
        raise RequestError(f"{E_INVALID_ARGS}:channel")

    def _on_order_event(self, event: OrderEvent) -> None:
        self._record(event)
        subs = self._exec_subs.get(event.order.account.name)
        if not subs:
            return
        for item in _execution_items(event):
            data = encode_json([item])
            for conn in subs:
                conn.push_private(b"executions", b"update", data)

    def _record(self, event: OrderEvent) -> None:
        """Keep what the REST queries and the `snap_trades` snapshot show of an order."""
        order = event.order
        if order.instrument.venue != "kraken":
            return
        record = self._orders.get(order.order_id)
        if record is None:
            if event.kind != "new":
                return
            record = self._orders[order.order_id] = _OrderRecord(order)
        if event.kind == "trade":
            assert event.fill is not None
            record.trades.append(event.fill.exec_id)
            fills = self._fills.get(order.account.name)
            if fills is None:
                fills = self._fills[order.account.name] = collections.deque(maxlen=50)
            fills.append(_trade_item(event))  # the order's totals as of this fill
        elif event.kind == "amended":
            record.amended = True
        elif event.kind in ("filled", "canceled", "expired"):
            record.closed_ns = event.ts_ns
            record.reason = event.reason or None
            self._closed.append(order.order_id)
            while len(self._closed) > MAX_CLOSED_ORDERS:
                self._orders.pop(self._closed.popleft(), None)

    def _on_balance_event(self, event: BalanceEvent) -> None:
        subs = self._balance_subs.get(event.account.name)
        if not subs:
            return
        decimals = _asset_decimals(event.asset)
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


# ----- REST helpers -----


def _body_nonce(body: bytes, content_type: str) -> str | None:
    """The `nonce` of a form-encoded or JSON body, as sent (it is part of the signed text)."""
    nonce: Any = None
    try:
        if content_type == "application/json" or body.lstrip().startswith(b"{"):
            parsed = json.loads(body, parse_float=Decimal)
            nonce = parsed.get("nonce") if isinstance(parsed, dict) else None
        else:
            nonce = urllib.parse.parse_qs(body.decode("ascii")).get("nonce", [None])[0]
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(nonce, int) and not isinstance(nonce, bool):
        nonce = str(nonce)
    if not isinstance(nonce, str) or not nonce.isdigit() or not nonce.isascii():
        return None
    return nonce


def _body_params(body: bytes, content_type: str) -> dict[str, Any]:
    """A private call's parameters: form-encoded (values as text) or a JSON object."""
    try:
        if content_type == "application/json" or body.lstrip().startswith(b"{"):
            parsed = json.loads(body, parse_float=Decimal)
            return parsed if isinstance(parsed, dict) else {}
        pairs = urllib.parse.parse_qsl(body.decode("ascii"), keep_blank_values=True)
    except (ValueError, UnicodeDecodeError):
        return {}
    return dict(pairs)


def _form_bool(params: dict[str, Any], name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise RequestError(f"{E_INVALID_ARGS}:{name}")


def _form_int(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,10}", value):
        return int(value)
    raise RequestError(f"{E_INVALID_ARGS}:{name}")


def _form_str(params: dict[str, Any], name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise RequestError(f"{E_INVALID_ARGS}:{name}")
    return value


def _epoch_number(ns: int) -> msgspec.Raw:
    """Epoch seconds with 4 decimals, as REST shows `opentm` / `closetm` (`1688666559.8974`)."""
    return msgspec.Raw(b"%d.%04d" % (ns // 1_000_000_000, ns // 100_000 % 10_000))


def _amount_text(amount: int, decimals: int) -> str:
    """An AMOUNT_DECIMALS amount as text with `decimals` decimals, rounded half up."""
    step = 10 ** (AMOUNT_DECIMALS - decimals)
    units, rest = divmod(amount, step)
    return fixed_text(units + (2 * rest >= step), decimals)


def _rest_order(record: _OrderRecord, trades: bool) -> dict[str, Any]:
    """One order as OpenOrders / QueryOrders show it (the key order of Kraken's examples)."""
    order = record.order
    inst = order.instrument
    pair = _pair_wsname(inst).replace("/", "")
    vol = fixed_text(order.qty, inst.qty_decimals)
    if order.price is None:
        price = "0"
        description = f"{order.side} {vol} {pair} @ market"
    else:
        price = fixed_text(order.price, inst.price_decimals)
        description = f"{order.side} {vol} {pair} @ limit {price}"
    avg = "0.00000"
    if order.filled:
        base = inst.base_amount(order.filled)
        units = (2 * order.cum_cost * 10**inst.price_decimals + base) // (2 * base)
        avg = fixed_text(units, inst.price_decimals)
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
        "pair": pair,
        "type": order.side,
        "ordertype": order.order_type,
        "price": price,
        "price2": "0",
        "leverage": "none",
        "order": description,
        "close": "",
    }
    info["vol"] = vol
    info["vol_exec"] = fixed_text(order.filled, inst.qty_decimals)
    info["cost"] = _amount_text(order.cum_cost, inst.cost_decimals)
    info["fee"] = _amount_text(order.fees, inst.cost_decimals)
    info["price"] = avg
    info["stopprice"] = "0.00000"
    info["limitprice"] = "0.00000"
    info["misc"] = "amended" if record.amended else ""
    info["oflags"] = "fciq,post" if order.post_only else "fciq"
    if trades and record.trades:
        info["trades"] = list(record.trades)
    return info


def _asset_codes(asset: str) -> tuple[str, str, int]:
    return _ASSETS.get(asset, (asset, asset, 8))


def _asset_decimals(asset: str) -> int:
    return _asset_codes(asset)[2]


def _asset_info(asset: str) -> dict[str, Any]:
    """One `Assets` entry (the key order of Kraken's example)."""
    _, altname, decimals = _asset_codes(asset)
    fiat = asset in ("USD", "EUR")
    return {
        "aclass": "currency",
        "altname": altname,
        "decimals": decimals,
        "display_decimals": 2 if fiat else 5,
        "collateral_value": msgspec.Raw(b"1.0" if fiat else b"0.95"),
        "status": "enabled",
    }


def _pair_key(inst: Instrument) -> str:
    return _asset_codes(inst.base)[0] + _asset_codes(inst.quote)[0]


def _pair_wsname(inst: Instrument) -> str:
    return f"{_asset_codes(inst.base)[1]}/{_asset_codes(inst.quote)[1]}"


def _find_pair(instruments: Iterable[Instrument], name: str) -> Instrument | None:
    for inst in instruments:
        wsname = _pair_wsname(inst)
        if name in (_pair_key(inst), wsname.replace("/", ""), wsname, inst.symbol):
            return inst
    return None


def _asset_pair_info(inst: Instrument) -> dict[str, Any]:
    base_code, _, _ = _asset_codes(inst.base)
    quote_code, _, _ = _asset_codes(inst.quote)
    wsname = _pair_wsname(inst)
    return {
        "altname": wsname.replace("/", ""),
        "wsname": wsname,
        "aclass_base": "currency",
        "base": base_code,
        "aclass_quote": "currency",
        "quote": quote_code,
        "lot": "unit",
        "cost_decimals": inst.cost_decimals,
        "pair_decimals": inst.price_decimals,
        "lot_decimals": inst.qty_decimals,
        "lot_multiplier": 1,
        "leverage_buy": [],
        "leverage_sell": [],
        "fees": [[0, _percent(TAKER_FEE)]],
        "fees_maker": [[0, _percent(MAKER_FEE)]],
        "fee_volume_currency": "ZUSD",
        "margin_call": 80,
        "margin_stop": 40,
        "ordermin": str(inst.min_qty),
        "costmin": str(inst.min_cost),
        "tick_size": fixed_text(inst.tick_units, inst.price_decimals),
        "status": "online",
    }


def _percent(fraction: Decimal) -> msgspec.Raw:
    return msgspec.Raw(f"{(fraction * 100).normalize():f}".encode())


def _parse_time(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(datetime.fromisoformat(text).timestamp() * 1_000_000_000)
    except ValueError:
        return None


# ----- executions rendering -----


def _order_refs(order: Order) -> dict[str, Any]:
    refs: dict[str, Any] = {"order_id": order.order_id, "order_userref": order.userref or 0}
    if order.cl_ord_id is not None:
        refs["cl_ord_id"] = order.cl_ord_id
    return refs


def _totals(order: Order) -> dict[str, Any]:
    inst = order.instrument
    avg = 0
    if order.filled:
        base = inst.base_amount(order.filled)
        avg = (2 * order.cum_cost * 10**inst.price_decimals + base) // (2 * base)
    return {
        "cum_qty": fixed_number(order.filled, inst.qty_decimals),
        "cum_cost": rescaled_number(order.cum_cost, AMOUNT_DECIMALS, inst.cost_decimals),
        "avg_price": fixed_number(avg, inst.price_decimals),
        "fee_usd_equiv": rescaled_number(order.fees, AMOUNT_DECIMALS, inst.cost_decimals),
    }


def _order_snapshot(order: Order, exec_type: str = "new") -> dict[str, Any]:
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


def _trade_item(event: OrderEvent) -> dict[str, Any]:
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


def _execution_items(event: OrderEvent) -> list[dict[str, Any]]:
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
        return [_order_snapshot(order, "pending_new"), new]
    if kind == "trade":
        return [_trade_item(event)]
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


def _balance_item(asset: str, total: int) -> dict[str, Any]:
    balance = rescaled_number(total, AMOUNT_DECIMALS, _asset_decimals(asset), round_down=True)
    return {
        "asset": asset,
        "asset_class": "currency",
        "balance": balance,
        "wallets": [{"type": "spot", "id": "main", "balance": balance}],
    }
