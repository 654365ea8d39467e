"""Binance spot WebSocket API (trading) on loopback, at `/ws-api/v3` (reference/binance.md §3-6).

Envelope `{"id","method","params"}`; replies `{"id","status","result"|"error","rateLimits"}`.
Methods: `ping`, `time`, `session.logon` / `session.status` / `session.logout`, `order.place`
(LIMIT, LIMIT_MAKER, MARKET; GTC / IOC / FOK), `order.cancel`, `order.cancelReplace`,
`order.amend.keepPriority`, `openOrders.cancelAll`, `order.status` (open and closed orders),
`openOrders.status`, `userDataStream.subscribe` (after logon),
`userDataStream.subscribe.signature` (any key), `userDataStream.unsubscribe`,
`session.subscriptions`, `account.status` (`omitZeroBalances`), `myTrades` (`orderId`,
`fromId`, `startTime`, `endTime`, `limit` default 500, at most 1000). A `v3/` method prefix is
accepted. The same methods answer the signed REST endpoints (binance_rest.py).

Every numeric parameter is taken as a JSON number or as a numeric string alike (the official
SDKs send every parameter as a string): LONG/INT ones (`orderId`, `cancelOrderId`, `timestamp`,
`subscriptionId`, `strategyId`, `strategyType`, `trailingDelta`, `fromId`, `startTime`,
`endTime`, `limit`) must match `^[0-9]{1,20}$`, DECIMAL ones (`price`, `quantity`, `newQty`,
`stopPrice`, `icebergQty`, `recvWindow`) `^([0-9]{1,20})(\\.[0-9]{1,20})?$`, or the reply is
-1100 "Illegal characters found in parameter '<name>'; legal range is '<range>'."; a LONG
beyond 2^63-1 is -1108 "Parameter '<name>' overflowed.", a `recvWindow` with more than 3
decimals -1111. `strategyId` / `strategyType` are checked (-1134 under 1000000) but not shown
back; `stopPrice` / `trailingDelta` are -1106 (the simulated order types take none);
`icebergQty` and `quoteOrderQty` are not simulated (-1000).

`order.amend.keepPriority` reduces an order in place: it keeps its queue position, counts 0
towards ORDERS, costs weight 4 (also on success) and streams an `executionReport` with
`x: "REPLACED"`. Its refusals carry -2038 ORDER_AMEND_REJECTED with the messages of errors.md:
"Unknown order sent." (unknown or closed order), "Order amend (quantity increase) is not
supported." (`newQty` above the order's quantity), "The requested action would change no state;
rejecting." (`newQty` equal to it), "Duplicate order sent." (`newClientOrderId` held by another
open order); a `newQty` off the lot size or under the minimum fails LOT_SIZE (-1013).

Signed requests are checked as Binance documents: every param but `signature`, sorted by
name, joined as `k=v` with `&`, signed with HMAC-SHA256 (hex, any case) or Ed25519 (base64);
`timestamp < serverTime + 1000` and `serverTime - timestamp <= recvWindow` (default 5000,
max 60000). Verification uses the standard library `hmac` and `cryptography`, never hftpy's
own signer. `session.logon` accepts Ed25519 keys only.

Limits as §5: REQUEST_WEIGHT per minute (per IP: one counter for the venue), ORDERS per
10 s and per day (per account), fixed windows aligned to the clock; counts go back in every
reply's `rateLimits`. Successful order calls cost 0 weight, failed ones their weight
(CHANGELOG 2026-03-27). Exceeding the weight gives 429 / -1003 with `retryAfter` (epoch ms),
exceeding ORDERS 429 / -1015.

UNVERIFIED details (not in the reference; chosen to be plausible and documented here): the
reply to a frame that is not a JSON request (400 / -1000), to an unknown method (400 / -1000),
`session.logon` with an HMAC signature (400 / -4056 "HMAC_SHA256 API key is not supported."),
`userDataStream.subscribe` without logon (401 / -1002), and HTTP 401 for -2014 / -2015.
Binance's spot docs do not say what an amend to `newQty <= executedQty` does; the simulator
cancels the remainder (the order ends CANCELED, `x: "CANCELED"`), as Binance documents for
the same case on its futures `order.modify`. The REPLACED report carries the pre-amend client
id in `C`, as a cancel report does.

Faults (`inject`): `drop_connection`, `stall` (requests are ignored for `seconds`),
`reject_auth` (revokes every session: its next request is refused with 401 / -2015 and
the session is logged out; the next per-request-signed request is refused the same way),
`rate_limit` (every request for `seconds` gets `status` 429 or 418 / -1003 with
`retryAfter`), `malformed_frame`, `skew_clock` (the venue's clock runs `seconds` ahead).

Independent of the client on purpose: nothing here imports `hftpy._core` or `hftpy.exchange`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import re
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar, Final

import msgspec
from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from picows import (
    WSAutoPingStrategy,
    WSCloseCode,
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    WSUpgradeRequest,
    ws_create_server,
)

from .binance import FAULTS as MARKET_FAULTS
from .binance import BinanceVenue
from .binance_rest import BinanceRest, RestOutcome, RestSignature
from .engine import (
    AMOUNT_DECIMALS,
    Account,
    Engine,
    Instrument,
    Order,
    OrderEvent,
    OrderRejected,
    RejectReason,
    Side,
)
from .faults import (
    DROP_CONNECTION,
    MALFORMED_FRAME,
    STALL,
    ConnectionFaults,
    Fault,
    FaultTable,
    fault_table,
)
from .wire import decode_json, encode_json, fixed_text

__all__ = [
    "BINANCE_API_KEY",
    "BINANCE_API_SECRET",
    "BINANCE_ED25519_KEY",
    "FAULTS",
    "VENUE_FAULTS",
    "WS_API_PATH",
    "BinanceApiConnection",
    "BinanceApiVenue",
    "BinanceTradingVenue",
    "Limits",
    "demo_credentials",
]

log = logging.getLogger(__name__)

WS_API_PATH: Final = "/ws-api/v3"
WIRE_DECIMALS: Final = 8
MAX_PRICE: Final = Decimal(1_000_000)
MAX_QTY: Final = Decimal(9000)
DEFAULT_RECV_WINDOW: Final = 5000
MAX_RECV_WINDOW: Final = 60000
DEFAULT_TRADES_LIMIT: Final = 500
MAX_TRADES_LIMIT: Final = 1000

FAULTS: Final = fault_table(
    DROP_CONNECTION,
    STALL.with_doc("freeze the WS API and streams for SECONDS: requests unanswered, data held"),
    Fault(
        "reject_auth",
        (),
        "revoke every session: its next request is refused (401 / -2015) and it must log on again",
    ),
    Fault(
        "rate_limit",
        ("seconds", "status"),
        "ban the key's IP for SECONDS: every request answers STATUS 429 (or 418) with retryAfter",
    ),
    MALFORMED_FRAME,
    Fault(
        "skew_clock",
        ("seconds",),
        "the server clock runs SECONDS ahead (negative: behind): timestamps leave recvWindow",
        negative_seconds=True,
    ),
)

# Request weight per method (reference §3); order methods are refunded on success.
_WEIGHTS: Final[dict[str, int]] = {
    "ping": 1,
    "time": 1,
    "session.logon": 2,
    "session.status": 2,
    "session.logout": 2,
    "session.subscriptions": 2,
    "order.place": 1,
    "order.cancel": 1,
    "order.cancelReplace": 1,
    "openOrders.cancelAll": 1,
    "order.status": 4,
    "order.amend.keepPriority": 4,
    "openOrders.status": 6,  # with a symbol; 80 for all symbols
    "userDataStream.subscribe": 2,
    "userDataStream.subscribe.signature": 2,
    "userDataStream.unsubscribe": 2,
    "account.status": 20,
    "myTrades": 20,  # 5 with orderId
}
_FREE_ON_SUCCESS: Final = frozenset(
    {"order.place", "order.cancel", "order.cancelReplace", "openOrders.cancelAll"}
)

_API_KEY_FORMAT: Final = re.compile(r"[A-Za-z0-9]{64}")
_CLIENT_ID_FORMAT: Final = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")
_CLIENT_ID_RANGE: Final = "^[\\.A-Z\\:/a-z0-9_-]{1,36}$"
_DECIMAL_RANGE: Final = "^([0-9]{1,20})(\\.[0-9]{1,20})?$"
_DECIMAL_TEXT: Final = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")
_INT_RANGE: Final = "^[0-9]{1,20}$"
_INT_TEXT: Final = re.compile(r"[0-9]{1,20}")
_MAX_LONG: Final = 2**63 - 1
RECV_WINDOW_DECIMALS: Final = 3  # recvWindow takes up to 3 decimals (`6000.346`)
_HEX_SIGNATURE: Final = re.compile(r"[0-9a-fA-F]{64}")
_ALPHANUM: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

MSG_INVALID_SIGNATURE: Final = "Signature for this request is not valid."
MSG_BAD_KEY: Final = "Invalid API-key, IP, or permissions for action."
MSG_KEY_FORMAT: Final = "API-key format invalid."
MSG_RECV_WINDOW: Final = "Timestamp for this request is outside of the recvWindow."
MSG_AHEAD: Final = "Timestamp for this request was 1000ms ahead of the server's time."
MSG_UNKNOWN_ORDER: Final = "Unknown order sent."
MSG_NO_SUCH_ORDER: Final = "Order does not exist."
MSG_UNAUTHORIZED: Final = "You are not authorized to execute this request."
MSG_DUPLICATE: Final = "Duplicate order sent."
MSG_AMEND_INCREASE: Final = "Order amend (quantity increase) is not supported."
MSG_AMEND_NO_CHANGE: Final = "The requested action would change no state; rejecting."
_REJECTS: Final = {
    RejectReason.INSUFFICIENT_FUNDS: "Account has insufficient balance for requested action.",
    RejectReason.POST_ONLY: "Order would immediately match and take.",
    RejectReason.DUPLICATE_CL_ORD_ID: MSG_DUPLICATE,
    RejectReason.UNKNOWN_ORDER: MSG_UNKNOWN_ORDER,
}


def _alnum(label: str, size: int) -> str:
    digest = hashlib.sha512(label.encode()).digest() + hashlib.sha512(label.encode() * 2).digest()
    return "".join(_ALPHANUM[b % len(_ALPHANUM)] for b in digest[:size])


def demo_credentials() -> tuple[str, str, str]:
    """(API key, HMAC secret, Ed25519 seed base64): fixed on every run, not hand-typed. The
    simulator's demo key accepts both an HMAC signature with the secret and an Ed25519 one
    with the seed (one Binance key has one type; the demo key is both, for convenience)."""
    seed = hashlib.sha512(b"hftpy sim binance demo ed25519 seed").digest()[:32]
    return (
        _alnum("hftpy sim binance demo api key", 64),
        _alnum("hftpy sim binance demo api secret", 64),
        base64.b64encode(seed).decode(),
    )


BINANCE_API_KEY, BINANCE_API_SECRET, BINANCE_ED25519_KEY = demo_credentials()
_DEMO_BALANCES: Final = {"USDT": "1000000", "BTC": "10", "ETH": "200"}
_DEMO_FEE: Final = "0.001"  # Binance's regular spot maker/taker fee
#: The `binance` venue's faults: market data (binance.py) and this WS API together.
VENUE_FAULTS: Final = fault_table(MARKET_FAULTS.values(), FAULTS.values())


class ApiError(Exception):
    """A request refused as Binance refuses it."""

    def __init__(self, status: int, code: int, msg: str, data: Any = None) -> None:
        super().__init__(msg)
        self.status = status
        self.code = code
        self.msg = msg
        self.data = data


def _mandatory(name: str) -> ApiError:
    return ApiError(
        400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def _not_required(name: str) -> ApiError:
    return ApiError(400, -1106, f"Parameter '{name}' sent when not required.")


def _filter(name: str) -> ApiError:
    return ApiError(400, -1013, f"Filter failure: {name}")


def _illegal(name: str, legal: str) -> ApiError:
    return ApiError(
        400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'."
    )


def _param_text(params: Mapping[str, Any], name: str, legal: str) -> str | None:
    """A numeric parameter's text: Binance takes a JSON number or a numeric string alike (its
    official SDKs send strings); None when absent, null or empty."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise _illegal(name, legal)
    return value if isinstance(value, str) else str(value)


def _integer(params: Mapping[str, Any], name: str) -> int | None:
    """A LONG / INT parameter (`orderId`, `timestamp`, `subscriptionId`, `limit`, ...)."""
    text = _param_text(params, name, _INT_RANGE)
    if text is None:
        return None
    if not _INT_TEXT.fullmatch(text):
        raise _illegal(name, _INT_RANGE)
    number = int(text)
    if number > _MAX_LONG:
        raise ApiError(400, -1108, f"Parameter '{name}' overflowed.")
    return number


def _boolean(params: Mapping[str, Any], name: str) -> bool | None:
    """A BOOLEAN parameter: JSON true/false or the strings "true"/"false"."""
    value = params.get(name)
    if value is None or value == "":
        return None
    if value is True or value == "true":
        return True
    if value is False or value == "false":
        return False
    raise ApiError(400, -1130, f"Data sent for parameter '{name}' is not valid.")


@dataclass(frozen=True, slots=True)
class Limits:
    """The venue's limits (reference §5 example values)."""

    weight_per_minute: int = 6000
    orders_per_10s: int = 50
    orders_per_day: int = 160000


class _Window:
    """A fixed window aligned to the clock (epoch multiples of `size_ms`)."""

    __slots__ = ("count", "key", "size_ms")

    def __init__(self, size_ms: int) -> None:
        self.size_ms = size_ms
        self.key = -1
        self.count = 0

    def used(self, now_ms: int) -> int:
        if now_ms // self.size_ms != self.key:
            self.key = now_ms // self.size_ms
            self.count = 0
        return self.count

    def end_ms(self, now_ms: int) -> int:
        return (now_ms // self.size_ms + 1) * self.size_ms


@dataclass(slots=True, eq=False)
class ApiKey:
    name: str
    account: Account
    hmac_secret: bytes | None = None
    ed25519: Ed25519PublicKey | None = None


@dataclass(slots=True)
class _Meta:
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


@dataclass(slots=True)
class _OrderSpec:
    inst: Instrument
    side: str  # BUY / SELL
    type: str  # LIMIT / LIMIT_MAKER / MARKET
    tif: str  # GTC / IOC / FOK, "" for LIMIT_MAKER and MARKET
    lots: int
    price: int | None
    client_id: str
    resp_type: str


class _Request:
    __slots__ = ("id", "method", "now_ms", "orders_counted", "params", "rate_limits", "rest")

    def __init__(
        self,
        req_id: Any,
        method: str,
        params: dict[str, Any],
        now_ms: int,
        rest: RestSignature | None = None,
    ) -> None:
        self.id = req_id
        self.method = method
        self.params = params
        self.now_ms = now_ms
        self.orders_counted: Account | None = None
        self.rate_limits = True
        self.rest = rest  # a REST request (binance_rest.py): signed as REST signs


class BinanceApiConnection(WSListener):
    """One client socket on the WS API."""

    def __init__(self, venue: BinanceApiVenue, return_rate_limits: bool) -> None:
        super().__init__()
        self.venue = venue
        self.transport: WSTransport | None = None
        self.return_rate_limits = return_rate_limits
        self.session: ApiKey | None = None
        self.authorized_since: int | None = None
        self.connected_since = venue.now_ms()
        self.subs: dict[int, Account] = {}
        self.next_sub_id = 0
        self.revoked = False

    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport
        self.venue.connections.add(self)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.transport = None
        self.venue.forget(self)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        if frame.msg_type == WSMsgType.TEXT:
            if not self.venue.stalled():
                self.venue.handle(self, frame.get_payload_as_bytes())
        elif frame.msg_type == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()

    def send(self, data: bytes) -> None:
        if self.transport is not None and not self.venue.stalled():
            self.transport.send(WSMsgType.TEXT, data)

    def release(self) -> None:
        """Nothing to send: a stalled WS API drops its replies rather than holding them."""


class BinanceApiVenue(ConnectionFaults):
    """Binance's WS API over one engine."""

    name: ClassVar[str] = "binance"
    FAULTS: ClassVar[FaultTable] = FAULTS

    def __init__(
        self,
        engine: Engine,
        *,
        host: str = "127.0.0.1",
        seed: int = 0,
        limits: Limits | None = None,
    ) -> None:
        self.engine = engine
        self.host = host
        self.limits = limits or Limits()
        self.ports: dict[str, int] = {}
        self.connections: set[BinanceApiConnection] = set()
        self.clock_skew_ms = 0
        self._keys: dict[str, ApiKey] = {}
        self._weight = _Window(60_000)
        self._orders_10s: dict[str, _Window] = {}
        self._orders_day: dict[str, _Window] = {}
        self._meta: dict[str, _Meta] = {}  # engine order id -> what Binance shows
        self._by_id: dict[int, Order] = {}
        self._next_order_id = 1_000_000 + seed
        self._next_trade_exec = 1
        self._uds: dict[str, dict[tuple[BinanceApiConnection, int], None]] = {}
        self._deferred: list[tuple[BinanceApiConnection, bytes]] | None = None
        self._dirty: dict[str, tuple[Account, set[str]]] = {}
        self._flush_scheduled = False
        self._banned_until_ms = 0
        self._ban_status = 429
        self._reject_next_signed = False
        self._pending_meta: tuple[str, str, str] | None = None
        self._trades: dict[str, list[dict[str, Any]]] = {}  # account -> its fills, oldest first
        self._updated_ms: dict[str, int] = {}  # account -> last balance change
        self._started_ms = self.now_ms()
        self._server: asyncio.Server | None = None
        self._methods: dict[str, Callable[[BinanceApiConnection, _Request], Any]] = {
            "ping": self._ping,
            "time": self._time,
            "session.logon": self._logon,
            "session.status": self._session_status,
            "session.logout": self._logout,
            "session.subscriptions": self._subscriptions,
            "order.place": self._order_place,
            "order.cancel": self._order_cancel,
            "order.cancelReplace": self._cancel_replace,
            "openOrders.cancelAll": self._cancel_all,
            "order.status": self._order_status,
            "order.amend.keepPriority": self._amend_keep_priority,
            "openOrders.status": self._open_orders_status,
            "userDataStream.subscribe": self._uds_subscribe,
            "userDataStream.subscribe.signature": self._uds_subscribe_signed,
            "userDataStream.unsubscribe": self._uds_unsubscribe,
            "account.status": self._account_status,
            "myTrades": self._my_trades,
        }

    # ----- setup -----

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.clock_skew_ms

    def add_api_key(
        self,
        api_key: str,
        account: Account,
        *,
        hmac_secret: str | None = None,
        ed25519_seed_b64: str | None = None,
        ed25519_public_pem: bytes | None = None,
    ) -> None:
        """Register a key: an HMAC secret and/or an Ed25519 public key (from its seed or PEM)."""
        public: Ed25519PublicKey | None = None
        if ed25519_seed_b64 is not None:
            seed = base64.b64decode(ed25519_seed_b64)
            public = Ed25519PrivateKey.from_private_bytes(seed[:32]).public_key()
        elif ed25519_public_pem is not None:
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            loaded = load_pem_public_key(ed25519_public_pem)
            if not isinstance(loaded, Ed25519PublicKey):
                raise ValueError("not an Ed25519 public key")
            public = loaded
        secret = hmac_secret.encode() if hmac_secret is not None else None
        self._keys[api_key] = ApiKey(api_key, account, secret, public)
        if self._on_order_event not in account.order_listeners:
            account.order_listeners.append(self._on_order_event)

    async def start(self, port: int = 0) -> None:
        self._server = await ws_create_server(
            self._factory,
            self.host,
            port,
            enable_auto_ping=True,
            # Binance pings every 20 s and wants a pong within 60 s; picows 2.3 accepts no
            # connection at all when the reply timeout exceeds the idle one, hence 20.
            auto_ping_idle_timeout=20,
            auto_ping_reply_timeout=20,
            auto_ping_strategy=WSAutoPingStrategy.PING_PERIODICALLY,
        )
        self.ports["ws_api"] = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.send_close(WSCloseCode.GOING_AWAY)
                conn.transport.disconnect()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _factory(self, request: WSUpgradeRequest) -> BinanceApiConnection | None:
        path, _, query = request.path.decode("latin-1").partition("?")
        if path.rstrip("/") != WS_API_PATH:
            return None  # picows answers 404
        return_limits = "returnRateLimits=false" not in query
        return BinanceApiConnection(self, return_limits)

    def forget(self, conn: BinanceApiConnection) -> None:
        self.connections.discard(conn)
        for account in conn.subs.values():
            subs = self._uds.get(account.name, {})
            for key in [k for k in subs if k[0] is conn]:
                del subs[key]
        conn.subs.clear()

    # ----- faults -----

    def fault_reject_auth(self) -> None:
        for conn in self.connections:
            conn.revoked = conn.session is not None
        self._reject_next_signed = True

    def fault_rate_limit(self, seconds: float = 1.0, status: int = 429) -> None:
        if status not in (429, 418):
            raise ValueError("rate_limit status must be 429 or 418")
        self._ban_status = status
        self._banned_until_ms = self.now_ms() + int(float(seconds) * 1000)

    def fault_skew_clock(self, seconds: float = 5.0) -> None:
        self.clock_skew_ms = int(float(seconds) * 1000)

    def clear_faults(self) -> None:
        super().clear_faults()
        self._banned_until_ms = 0
        self._reject_next_signed = False
        self.clock_skew_ms = 0

    # ----- dispatch -----

    def handle(self, conn: BinanceApiConnection, payload: bytes) -> None:
        now_ms = self.now_ms()
        try:
            message = decode_json(payload)
        except msgspec.DecodeError:
            message = None
        if not isinstance(message, dict):
            self._reply_error(
                conn, _Request(None, "", {}, now_ms), ApiError(400, -1000, "Malformed request.")
            )
            return
        req_id = message.get("id")
        method = message.get("method")
        params = message.get("params", {})
        if isinstance(method, str) and method.startswith("v3/"):
            method = method[3:]
        req = _Request(req_id, method if isinstance(method, str) else "", {}, now_ms)
        if not isinstance(params, dict):
            self._reply_error(conn, req, ApiError(400, -1000, "Malformed request."))
            return
        req.params = params
        flag = params.get("returnRateLimits")
        req.rate_limits = (
            conn.return_rate_limits
            if flag not in (True, False, "true", "false")
            else flag in (True, "true")
        )
        handler = self._methods.get(req.method)
        if handler is None:
            self._reply_error(conn, req, ApiError(400, -1000, f"Unknown method '{req.method}'."))
            return
        deferred: list[tuple[BinanceApiConnection, bytes]] = []
        result, error = self.execute(handler, conn, req, deferred)
        if error is not None:
            self._reply_error(conn, req, error)
        else:
            self._reply(conn, req, 200, result=result)
        for target, data in deferred:
            target.send(data)

    def execute(
        self,
        handler: Callable[[Any, _Request], Any],
        conn: BinanceApiConnection | None,
        req: _Request,
        deferred: list[tuple[BinanceApiConnection, bytes]],
    ) -> tuple[Any, ApiError | None]:
        """Run one request as the WS API and REST both do: IP ban, request weight (refunded
        for successful order calls), then the method. User-data pushes it causes go to
        `deferred`, for the caller to send after its reply."""
        error = self.charge(self._weight_of(req), req.now_ms)
        if error is not None:
            return None, error
        self._deferred = deferred
        try:
            result = handler(conn, req)
        except ApiError as exc:
            return None, exc
        except Exception:
            log.exception("binance sim: %s failed", req.method)
            return None, ApiError(500, -1000, "An unknown error occurred.")
        finally:
            self._deferred = None
        if req.method in _FREE_ON_SUCCESS:
            self._weight.count -= self._weight_of(req)
        return result, None

    @staticmethod
    def _weight_of(req: _Request) -> int:
        weight = _WEIGHTS[req.method]
        if req.method == "openOrders.status" and req.params.get("symbol") in (None, ""):
            weight = 80  # all symbols
        elif req.method == "myTrades" and req.params.get("orderId") not in (None, ""):
            weight = 5
        return weight

    def charge(self, weight: int, now_ms: int) -> ApiError | None:
        """Count `weight` against the IP's REQUEST_WEIGHT (shared by REST and the WS API);
        the refusal when banned (`rate_limit` fault) or over the limit."""
        if now_ms < self._banned_until_ms:
            return self._banned(now_ms, self._banned_until_ms)
        limit = self.limits.weight_per_minute
        if self._weight.used(now_ms) + weight > limit:
            return ApiError(
                429,
                -1003,
                f"Too much request weight used; current limit is {limit} request weight per "
                "1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
                {"serverTime": now_ms, "retryAfter": self._weight.end_ms(now_ms)},
            )
        self._weight.count += weight
        return None

    def used_weight(self, now_ms: int) -> int:
        return self._weight.used(now_ms)

    def call_rest(
        self, method: str, params: dict[str, Any], signature: RestSignature
    ) -> RestOutcome:
        """A signed REST request (binance_rest.py), answered by WS API method `method`."""
        req = _Request(None, method, params, self.now_ms(), signature)
        deferred: list[tuple[BinanceApiConnection, bytes]] = []
        result, error = self.execute(self._methods[method], None, req, deferred)
        for target, data in deferred:
            target.send(data)
        counts = None
        if req.orders_counted is not None:
            counts = self.order_counts(req.orders_counted, req.now_ms)
        if error is not None:
            return RestOutcome(error.status, None, error.code, error.msg, error.data, counts)
        return RestOutcome(200, result, order_counts=counts)

    def charge_rest(self, weight: int) -> RestOutcome | None:
        """Count a public REST request's weight; the refusal when over the limit."""
        error = self.charge(weight, self.now_ms())
        if error is None:
            return None
        return RestOutcome(error.status, None, error.code, error.msg, error.data)

    def order_counts(self, account: Account, now_ms: int) -> tuple[int, int]:
        """The account's ORDERS counts: (this 10 s window, today)."""
        ten, day = self._order_windows(account)
        return ten.used(now_ms), day.used(now_ms)

    def _banned(self, now_ms: int, until_ms: int) -> ApiError:
        if self._ban_status == 418:
            msg = (
                f"Way too much request weight used; IP banned until {until_ms}. Please use "
                "WebSocket Streams for live updates to avoid bans."
            )
        else:
            msg = (
                f"Too much request weight used; current limit is {self.limits.weight_per_minute} "
                "request weight per 1 MINUTE. Please use WebSocket Streams for live updates to "
                "avoid polling the API."
            )
        return ApiError(
            self._ban_status, -1003, msg, {"serverTime": now_ms, "retryAfter": until_ms}
        )

    def _rate_limits(self, req: _Request) -> list[dict[str, Any]]:
        now_ms = req.now_ms
        out = [
            _limit(
                "REQUEST_WEIGHT",
                "MINUTE",
                1,
                self.limits.weight_per_minute,
                self._weight.used(now_ms),
            ),
        ]
        account = req.orders_counted
        if account is not None:
            ten, day = self._order_windows(account)
            out.insert(
                0, _limit("ORDERS", "SECOND", 10, self.limits.orders_per_10s, ten.used(now_ms))
            )
            out.insert(1, _limit("ORDERS", "DAY", 1, self.limits.orders_per_day, day.used(now_ms)))
        return out

    def _reply(self, conn: BinanceApiConnection, req: _Request, status: int, result: Any) -> None:
        body: dict[str, Any] = {"id": req.id, "status": status, "result": result}
        if req.rate_limits:
            body["rateLimits"] = self._rate_limits(req)
        conn.send(encode_json(body))

    def _reply_error(self, conn: BinanceApiConnection, req: _Request, exc: ApiError) -> None:
        error: dict[str, Any] = {"code": exc.code, "msg": exc.msg}
        if exc.data is not None:
            error["data"] = exc.data
        body: dict[str, Any] = {"id": req.id, "status": exc.status, "error": error}
        if req.rate_limits and req.method:
            body["rateLimits"] = self._rate_limits(req)
        conn.send(encode_json(body))

    def _push(self, conn: BinanceApiConnection, data: bytes) -> None:
        if self._deferred is not None:
            self._deferred.append((conn, data))
        else:
            conn.send(data)

    # ----- authentication -----

    def _authenticate(
        self, conn: BinanceApiConnection | None, req: _Request, session_ok: bool = True
    ) -> ApiKey:
        """The key a signed request acts for: the session's (after logon, when the request
        carries no apiKey) or the one it names and signs for. A REST request names its key in
        the `X-MBX-APIKEY` header and signs its `totalParams` (see `RestSignature`)."""
        params = req.params
        if req.rest is not None:
            missing = ApiError(401, -2014, MSG_KEY_FORMAT)
            return self._signed_key(req, req.rest.api_key, req.rest.payload, missing)
        assert conn is not None
        api_key = params.get("apiKey")
        if api_key is None and session_ok and conn.session is not None:
            if conn.revoked:  # reject_auth: the session's key was revoked meanwhile
                conn.session = conn.authorized_since = None
                conn.revoked = False
                raise ApiError(401, -2015, MSG_BAD_KEY)
            self._check_timestamp(params, req.now_ms)
            return conn.session
        return self._signed_key(req, api_key, _signed_payload(params), _mandatory("apiKey"))

    def _signed_key(self, req: _Request, api_key: Any, payload: bytes, missing: ApiError) -> ApiKey:
        """Check the key, `timestamp`, `signature` (HMAC-SHA256 hex, any case, or Ed25519
        base64) over `payload`, and the timing window."""
        params = req.params
        if api_key is None or api_key == "":
            raise missing
        if not isinstance(api_key, str) or not _API_KEY_FORMAT.fullmatch(api_key):
            raise ApiError(401, -2014, MSG_KEY_FORMAT)
        key = self._keys.get(api_key)
        if key is None:
            raise ApiError(401, -2015, MSG_BAD_KEY)
        if params.get("timestamp") in (None, ""):
            raise _mandatory("timestamp")
        signature = params.get("signature")
        if not isinstance(signature, str) or not signature:
            raise _mandatory("signature")
        if _HEX_SIGNATURE.fullmatch(signature):
            if req.method == "session.logon":
                raise ApiError(400, -4056, "HMAC_SHA256 API key is not supported.")
            if key.hmac_secret is None:
                raise ApiError(400, -1022, MSG_INVALID_SIGNATURE)
            expected = hmac.new(key.hmac_secret, payload, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, signature.lower()):
                raise ApiError(400, -1022, MSG_INVALID_SIGNATURE)
        else:
            if key.ed25519 is None:
                raise ApiError(400, -1022, MSG_INVALID_SIGNATURE)
            try:
                key.ed25519.verify(base64.b64decode(signature, validate=True), payload)
            except (binascii.Error, ValueError, InvalidSignature):
                raise ApiError(400, -1022, MSG_INVALID_SIGNATURE) from None
        self._check_timestamp(params, req.now_ms)
        if self._reject_next_signed:
            self._reject_next_signed = False
            raise ApiError(401, -2015, MSG_BAD_KEY)
        return key

    @staticmethod
    def _check_timestamp(params: Mapping[str, Any], now_ms: int) -> None:
        stamp = _integer(params, "timestamp")
        if stamp is None:
            raise _mandatory("timestamp")
        value = Decimal(stamp)
        if value > 10**14:  # microseconds
            value /= 1000
        recv_window = _recv_window(params)
        if recv_window <= 0 or recv_window > MAX_RECV_WINDOW:
            raise ApiError(400, -1131, f"recvWindow must be less than {MAX_RECV_WINDOW}.")
        if value >= now_ms + 1000:
            raise ApiError(400, -1021, MSG_AHEAD)
        if now_ms - value > recv_window:
            raise ApiError(400, -1021, MSG_RECV_WINDOW)

    # ----- session and utility methods -----

    def _ping(self, conn: BinanceApiConnection, req: _Request) -> Any:
        return {}

    def _time(self, conn: BinanceApiConnection, req: _Request) -> Any:
        return {"serverTime": req.now_ms}

    def _session_info(self, conn: BinanceApiConnection, now_ms: int) -> dict[str, Any]:
        return {
            "apiKey": conn.session.name if conn.session is not None else None,
            "authorizedSince": conn.authorized_since,
            "connectedSince": conn.connected_since,
            "returnRateLimits": conn.return_rate_limits,
            "serverTime": now_ms,
            "userDataStream": bool(conn.subs),
        }

    def _logon(self, conn: BinanceApiConnection, req: _Request) -> Any:
        key = self._authenticate(conn, req, session_ok=False)
        if key.ed25519 is None:
            raise ApiError(400, -4056, "HMAC_SHA256 API key is not supported.")
        conn.session = key
        conn.authorized_since = req.now_ms
        return self._session_info(conn, req.now_ms)

    def _session_status(self, conn: BinanceApiConnection, req: _Request) -> Any:
        return self._session_info(conn, req.now_ms)

    def _logout(self, conn: BinanceApiConnection, req: _Request) -> Any:
        conn.session = None
        conn.authorized_since = None
        self._end_subscriptions(conn, None)
        return self._session_info(conn, req.now_ms)

    def _subscriptions(self, conn: BinanceApiConnection, req: _Request) -> Any:
        return [{"subscriptionId": sub_id} for sub_id in conn.subs]

    # ----- user data stream -----

    def _subscribe(self, conn: BinanceApiConnection, account: Account) -> Any:
        if account in conn.subs.values():
            raise ApiError(400, -2035, "User Data Stream subscription already active.")
        sub_id = conn.next_sub_id
        conn.next_sub_id += 1
        conn.subs[sub_id] = account
        self._uds.setdefault(account.name, {})[(conn, sub_id)] = None
        return {"subscriptionId": sub_id}

    def _uds_subscribe(self, conn: BinanceApiConnection, req: _Request) -> Any:
        if conn.session is None:
            raise ApiError(401, -1002, MSG_UNAUTHORIZED)
        return self._subscribe(conn, conn.session.account)

    def _uds_subscribe_signed(self, conn: BinanceApiConnection, req: _Request) -> Any:
        key = self._authenticate(conn, req, session_ok=False)
        return self._subscribe(conn, key.account)

    def _uds_unsubscribe(self, conn: BinanceApiConnection, req: _Request) -> Any:
        sub_id = _integer(req.params, "subscriptionId")
        if not conn.subs or (sub_id is not None and sub_id not in conn.subs):
            raise ApiError(400, -2036, "User Data Stream subscription not active.")
        self._end_subscriptions(conn, sub_id)
        return {}

    def _end_subscriptions(self, conn: BinanceApiConnection, sub_id: int | None) -> None:
        for sid in [s for s in conn.subs if sub_id is None or s == sub_id]:
            account = conn.subs.pop(sid)
            self._uds.get(account.name, {}).pop((conn, sid), None)
            event = {"e": "eventStreamTerminated", "E": self.now_ms()}
            self._push(conn, encode_json({"subscriptionId": sid, "event": event}))

    def _on_order_event(self, event: OrderEvent) -> None:
        order = event.order
        meta = self._meta.get(order.order_id)
        if meta is None:
            # `new` comes synchronously from inside `engine.place`: register the order then.
            if event.kind != "new" or order.instrument.venue != "binance":
                return
            pending = self._pending_meta or (order.cl_ord_id or _random_client_id(), "LIMIT", "GTC")
            meta = self._register(order, *pending)
        report = self._execution_report(event, meta)
        account = order.account
        self._mark_dirty(account, order.instrument)
        if report is None:
            return
        subs = self._uds.get(account.name)
        if not subs:
            return
        for conn, sub_id in list(subs):
            self._push(conn, b'{"subscriptionId":%d,"event":%s}' % (sub_id, report))

    def _mark_dirty(self, account: Account, inst: Instrument) -> None:
        self._updated_ms[account.name] = self.now_ms()
        if not self._uds.get(account.name):
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
        now_ms = self.now_ms()
        for account, assets in dirty.values():
            balances = [
                {
                    "a": asset,
                    "f": _amount_text(account.balance(asset).available),
                    "l": _amount_text(account.balance(asset).held),
                }
                for asset in sorted(assets)
            ]
            event = {"e": "outboundAccountPosition", "E": now_ms, "u": now_ms, "B": balances}
            for conn, sub_id in list(self._uds.get(account.name, ())):
                conn.send(encode_json({"subscriptionId": sub_id, "event": event}))

    def _execution_report(self, event: OrderEvent, meta: _Meta) -> bytes | None:
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
                    "price": _price_text(inst, fill.price),
                    "qty": _qty_text(inst, fill.qty),
                    "commission": _amount_text(fill.fee),
                    "commissionAsset": inst.quote,
                    "tradeId": fill.trade_id,
                }
            )
            self._trades.setdefault(order.account.name, []).append(
                {
                    "symbol": inst.symbol,
                    "id": fill.trade_id,
                    "orderId": meta.order_id,
                    "orderListId": -1,
                    "price": _price_text(inst, fill.price),
                    "qty": _qty_text(inst, fill.qty),
                    "quoteQty": _amount_text(fill.cost),
                    "commission": _amount_text(fill.fee),
                    "commissionAsset": inst.quote,
                    "time": event.ts_ns // 1_000_000 + self.clock_skew_ms,
                    "isBuyer": order.side == "buy",
                    "isMaker": fill.maker,
                    "isBestMatch": True,
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
        else:  # filled: the TRADE report said so
            return None
        now_ms = event.ts_ns // 1_000_000 + self.clock_skew_ms
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
        self._next_trade_exec += 1
        report: dict[str, Any] = {
            "e": "executionReport",
            "E": now_ms,
            "s": inst.symbol,
            "c": (meta.cancel_client_id or _random_client_id()) if cancel else meta.client_id,
            "S": order.side.upper(),
            "o": meta.type,
            "f": meta.tif or "GTC",
            "q": _qty_text(inst, order.qty),
            "p": _price_text(inst, order.price or 0),
            "P": "0.00000000",
            "F": "0.00000000",
            "g": -1,
            "C": meta.client_id if cancel else meta.orig_client_id if replaced else "",
            "x": exec_type,
            "X": status,
            "r": "NONE",
            "i": meta.order_id,
            "l": _qty_text(inst, last_qty),
            "z": _qty_text(inst, order.filled),
            "L": _price_text(inst, last_price),
            "n": _amount_text(commission),
            "N": inst.quote if kind == "trade" else None,
            "T": now_ms,
            "t": trade_id,
            "I": self._next_trade_exec,
            "w": bool(on_book),
            "m": maker,
            "M": False,
            "O": order.created_ns // 1_000_000 + self.clock_skew_ms,
            "Z": _amount_text(order.cum_cost),
            "Y": _amount_text(inst.cost(last_price, last_qty)),
            "Q": "0.00000000",
            "V": "EXPIRE_MAKER",
        }
        if meta.working_ms >= 0:
            report["W"] = meta.working_ms
        return encode_json(report)

    # ----- orders -----

    def _register(self, order: Order, client_id: str, type_: str, tif: str) -> _Meta:
        meta = _Meta(self._next_order_id, client_id, type_, tif)
        self._next_order_id += 1
        self._meta[order.order_id] = meta
        self._by_id[meta.order_id] = order
        return meta

    def _order_windows(self, account: Account) -> tuple[_Window, _Window]:
        ten = self._orders_10s.get(account.name)
        if ten is None:
            ten = self._orders_10s[account.name] = _Window(10_000)
            self._orders_day[account.name] = _Window(86_400_000)
        return ten, self._orders_day[account.name]

    def _count_order(self, account: Account, req: _Request) -> None:
        ten, day = self._order_windows(account)
        req.orders_counted = account
        now_ms = req.now_ms
        for window, limit, span in (
            (ten, self.limits.orders_per_10s, "10 SECOND"),
            (day, self.limits.orders_per_day, "1 DAY"),
        ):
            if window.used(now_ms) + 1 > limit:
                raise ApiError(
                    429, -1015, f"Too many new orders; current limit is {limit} orders per {span}."
                )
        ten.count += 1
        day.count += 1

    def _instrument(self, params: dict[str, Any]) -> Instrument:
        symbol = params.get("symbol")
        if not isinstance(symbol, str) or not symbol:
            raise _mandatory("symbol")
        inst = self.engine.instruments.get(symbol)
        if inst is None or inst.venue != "binance":
            raise ApiError(400, -1121, "Invalid symbol.")
        return inst

    def _order_spec(self, params: dict[str, Any], inst: Instrument) -> _OrderSpec:
        side = params.get("side")
        if side is None:
            raise _mandatory("side")
        if side not in ("BUY", "SELL"):
            raise ApiError(400, -1117, "Invalid side.")
        type_ = params.get("type")
        if type_ is None:
            raise _mandatory("type")
        if type_ not in ("LIMIT", "LIMIT_MAKER", "MARKET"):
            raise ApiError(400, -1116, "Invalid orderType.")
        tif = params.get("timeInForce")
        if type_ == "LIMIT":
            if tif is None:
                raise _mandatory("timeInForce")
            if tif not in ("GTC", "IOC", "FOK"):
                raise ApiError(400, -1115, "Invalid timeInForce.")
        elif tif is not None:
            raise _not_required("timeInForce")
        if params.get("quoteOrderQty") is not None:
            raise ApiError(400, -1000, "quoteOrderQty is not simulated.")
        # The other numeric order parameters: checked as Binance checks them, then refused
        # where the simulated order types have no use for them.
        _integer(params, "strategyId")
        strategy_type = _integer(params, "strategyType")
        if strategy_type is not None and strategy_type < 1_000_000:
            raise ApiError(400, -1134, "`strategyType` was less than 1000000.")
        if _decimal(params, "stopPrice") is not None:
            raise _not_required("stopPrice")  # LIMIT, LIMIT_MAKER and MARKET take none
        if _integer(params, "trailingDelta") is not None:
            raise _not_required("trailingDelta")
        if _decimal(params, "icebergQty") is not None:
            raise ApiError(400, -1000, "icebergQty is not simulated.")
        qty = _decimal(params, "quantity")
        if qty is None:
            raise _mandatory("quantity")
        price = _decimal(params, "price")
        if type_ == "MARKET":
            if price is not None:
                raise _not_required("price")
        elif price is None:
            raise _mandatory("price")
        lots = inst.qty_units(qty)
        if lots is None or qty < inst.min_qty or qty > MAX_QTY:
            raise _filter("LOT_SIZE")
        price_units: int | None = None
        if price is not None:
            price_units = inst.price_units(price)
            if (
                price_units is None
                or price_units <= 0
                or price_units % inst.tick_units
                or price > MAX_PRICE
            ):
                raise _filter("PRICE_FILTER")
        reference = price if price is not None else inst.mid
        if reference * qty < inst.min_cost:
            raise _filter("NOTIONAL")
        client_id = params.get("newClientOrderId")
        if client_id is None:
            client_id = _random_client_id()
        elif not isinstance(client_id, str) or not _CLIENT_ID_FORMAT.fullmatch(client_id):
            raise ApiError(
                400,
                -1100,
                "Illegal characters found in parameter 'newClientOrderId'; legal range is "
                f"'{_CLIENT_ID_RANGE}'.",
            )
        resp_type = params.get("newOrderRespType")
        if resp_type is None:
            resp_type = "FULL" if type_ in ("LIMIT", "MARKET") else "ACK"
        elif resp_type not in ("ACK", "RESULT", "FULL"):
            raise ApiError(400, -1100, "Invalid newOrderRespType.")
        return _OrderSpec(
            inst, side, type_, tif or "", lots, price_units, client_id, str(resp_type)
        )

    def _execute(self, account: Account, spec: _OrderSpec, now_ms: int) -> dict[str, Any]:
        """Enter a validated order; its result in the requested response type."""
        inst = spec.inst
        side: Side = "buy" if spec.side == "BUY" else "sell"
        kwargs: dict[str, Any] = {
            "price": spec.price,
            "order_type": "market" if spec.type == "MARKET" else "limit",
            "time_in_force": "ioc" if spec.tif in ("IOC", "FOK") else "gtc",
            "post_only": spec.type == "LIMIT_MAKER",
            "cl_ord_id": spec.client_id,
        }
        tif_shown = spec.tif or "GTC"
        try:
            if spec.tif == "FOK" and self._fillable(inst, side, spec.price) < spec.lots:
                order = self.engine.place(
                    account, inst.symbol, side, spec.lots, validate_only=True, **kwargs
                )
                meta = self._register(order, spec.client_id, spec.type, tif_shown)
                for kind in ("new", "expired"):
                    order.status = "new" if kind == "new" else "expired"
                    self._on_order_event(OrderEvent(kind, order, time.time_ns()))
            else:
                self._pending_meta = (spec.client_id, spec.type, tif_shown)
                order = self.engine.place(account, inst.symbol, side, spec.lots, **kwargs)
                meta = self._meta[order.order_id]
        except OrderRejected as exc:
            raise ApiError(400, -2010, _REJECTS[exc.reason]) from None
        finally:
            self._pending_meta = None
        return self._order_result(order, meta, spec.resp_type, now_ms)

    def _fillable(self, inst: Instrument, side: str, price: int | None) -> int:
        book = self.engine.book(inst.symbol)
        opposite = book.asks if side == "buy" else book.bids
        total = 0
        for level_price, qty in opposite.depth(len(opposite.prices)):
            if price is not None and (
                level_price > price if side == "buy" else level_price < price
            ):
                break
            total += qty
        return total

    def _status_text(self, order: Order, meta: _Meta) -> str:
        if meta.final:
            return meta.final
        return {"new": "NEW", "partially_filled": "PARTIALLY_FILLED"}.get(order.status, "NEW")

    def _order_fields(self, order: Order, meta: _Meta) -> dict[str, Any]:
        inst = order.instrument
        return {
            "price": _price_text(inst, order.price or 0),
            "origQty": _qty_text(inst, order.qty),
            "executedQty": _qty_text(inst, order.filled),
            "origQuoteOrderQty": "0.00000000",
            "cummulativeQuoteQty": _amount_text(order.cum_cost),
            "status": self._status_text(order, meta),
            "timeInForce": meta.tif or "GTC",
            "type": meta.type,
            "side": order.side.upper(),
        }

    def _order_result(
        self, order: Order, meta: _Meta, resp_type: str, now_ms: int
    ) -> dict[str, Any]:
        result: dict[str, Any] = {
            "symbol": order.instrument.symbol,
            "orderId": meta.order_id,
            "orderListId": -1,
            "clientOrderId": meta.client_id,
            "transactTime": now_ms,
        }
        if resp_type == "ACK":
            return result
        result.update(self._order_fields(order, meta))
        result["workingTime"] = meta.working_ms
        result["selfTradePreventionMode"] = "EXPIRE_MAKER"
        if resp_type == "FULL":
            result["fills"] = list(meta.fills)
        return result

    def _find(
        self,
        account: Account,
        params: dict[str, Any],
        inst: Instrument,
        id_name: str,
        client_name: str,
    ) -> Order | None:
        order_id = _integer(params, id_name)
        client_id = params.get(client_name)
        if client_id == "":
            client_id = None
        if order_id is None and client_id is None:
            raise ApiError(
                400,
                -1102,
                f"Param '{client_name}' or '{id_name}' must be sent, but both were empty/null!",
            )
        if order_id is not None:
            order = self._by_id.get(order_id)
        else:
            if not isinstance(client_id, str):
                raise _mandatory(client_name)
            order = self.engine.find_by_cl_ord_id(account, client_id)
            if order is None:  # closed orders: the newest with that client id
                order = next(
                    (
                        o
                        for o in reversed(self._by_id.values())
                        if o.account is account and self._meta[o.order_id].client_id == client_id
                    ),
                    None,
                )
        if order is None or order.account is not account or order.instrument is not inst:
            return None
        return order

    def _cancel_one(self, order: Order, cancel_client_id: str) -> dict[str, Any]:
        meta = self._meta[order.order_id]
        meta.cancel_client_id = cancel_client_id
        self.engine.cancel(order)
        result: dict[str, Any] = {
            "symbol": order.instrument.symbol,
            "origClientOrderId": meta.client_id,
            "orderId": meta.order_id,
            "orderListId": -1,
            "clientOrderId": cancel_client_id,
            "transactTime": self.now_ms(),
        }
        result.update(self._order_fields(order, meta))
        result["selfTradePreventionMode"] = "EXPIRE_MAKER"
        return result

    def _cancel_client_id(self, params: dict[str, Any], name: str) -> str:
        value = params.get(name)
        if value is None:
            return _random_client_id()
        if not isinstance(value, str) or not _CLIENT_ID_FORMAT.fullmatch(value):
            raise ApiError(
                400,
                -1100,
                f"Illegal characters found in parameter '{name}'; legal range is "
                f"'{_CLIENT_ID_RANGE}'.",
            )
        return value

    def _order_place(self, conn: BinanceApiConnection | None, req: _Request) -> Any:
        key = self._authenticate(conn, req)
        req.orders_counted = key.account  # the reply shows the ORDERS counts, even on failure
        inst = self._instrument(req.params)
        spec = self._order_spec(req.params, inst)
        self._count_order(key.account, req)
        return self._execute(key.account, spec, req.now_ms)

    def _order_cancel(self, conn: BinanceApiConnection | None, req: _Request) -> Any:
        key = self._authenticate(conn, req)
        inst = self._instrument(req.params)
        order = self._find(key.account, req.params, inst, "orderId", "origClientOrderId")
        cancel_id = self._cancel_client_id(req.params, "newClientOrderId")
        if order is None or not order.is_open:
            raise ApiError(400, -2011, MSG_UNKNOWN_ORDER)
        return self._cancel_one(order, cancel_id)

    def _cancel_all(self, conn: BinanceApiConnection | None, req: _Request) -> Any:
        key = self._authenticate(conn, req)
        inst = self._instrument(req.params)
        orders = self.engine.open_orders(key.account, inst.symbol)
        if not orders:
            raise ApiError(400, -2011, MSG_UNKNOWN_ORDER)
        return [self._cancel_one(order, _random_client_id()) for order in orders]

    def _status_report(self, order: Order, meta: _Meta, now_ms: int) -> dict[str, Any]:
        """An order as `order.status` and `openOrders.status` show it, open or closed."""
        result: dict[str, Any] = {
            "symbol": order.instrument.symbol,
            "orderId": meta.order_id,
            "orderListId": -1,
            "clientOrderId": meta.client_id,
        }
        result.update(self._order_fields(order, meta))
        result.update(
            {
                "stopPrice": "0.00000000",
                "icebergQty": "0.00000000",
                "time": order.created_ns // 1_000_000 + self.clock_skew_ms,
                "updateTime": meta.update_ms if meta.update_ms >= 0 else now_ms,
                "isWorking": meta.working_ms >= 0,
                "workingTime": meta.working_ms,
                "selfTradePreventionMode": "EXPIRE_MAKER",
            }
        )
        return result

    def _order_status(self, conn: BinanceApiConnection | None, req: _Request) -> Any:
        """Open or final (FILLED, CANCELED, EXPIRED): the simulator remembers every order."""
        key = self._authenticate(conn, req)
        inst = self._instrument(req.params)
        order = self._find(key.account, req.params, inst, "orderId", "origClientOrderId")
        if order is None:
            raise ApiError(400, -2013, MSG_NO_SUCH_ORDER)
        return self._status_report(order, self._meta[order.order_id], req.now_ms)

    def _open_orders_status(self, conn: BinanceApiConnection | None, req: _Request) -> Any:
        """The account's open orders, oldest first; all symbols when `symbol` is left out."""
        key = self._authenticate(conn, req)
        symbol: str | None = None
        if req.params.get("symbol") is not None:
            symbol = self._instrument(req.params).symbol
        return [
            self._status_report(order, self._meta[order.order_id], req.now_ms)
            for order in self.engine.open_orders(key.account, symbol)
            if order.instrument.venue == "binance" and order.order_id in self._meta
        ]

    def _amend_keep_priority(self, conn: BinanceApiConnection | None, req: _Request) -> Any:
        """Reduce an open order's quantity in place: same orderId, same place in the queue."""
        key = self._authenticate(conn, req)
        params = req.params
        inst = self._instrument(params)
        new_qty = _decimal(params, "newQty")
        if new_qty is None:
            raise _mandatory("newQty")
        order = self._find(key.account, params, inst, "orderId", "origClientOrderId")
        client_id = self._cancel_client_id(params, "newClientOrderId")
        lots = inst.qty_units(new_qty)
        if lots is None or lots <= 0 or new_qty < inst.min_qty:
            raise _filter("LOT_SIZE")
        if order is None or not order.is_open:
            raise ApiError(400, -2038, MSG_UNKNOWN_ORDER)
        if lots == order.qty:
            raise ApiError(400, -2038, MSG_AMEND_NO_CHANGE)
        if lots > order.qty:
            raise ApiError(400, -2038, MSG_AMEND_INCREASE)
        meta = self._meta[order.order_id]
        holder = self.engine.find_by_cl_ord_id(key.account, client_id)
        if holder is not None and holder is not order:
            raise ApiError(400, -2038, MSG_DUPLICATE)
        orig_client_id = meta.client_id
        if lots <= order.filled:
            # The remainder goes: the order ends CANCELED (see the module docstring).
            meta.cancel_client_id = client_id
            self.engine.amend(order, qty=lots)
        else:
            self.engine.set_cl_ord_id(order, client_id)
            meta.orig_client_id, meta.client_id = orig_client_id, client_id
            self.engine.amend(order, qty=lots)  # emits the REPLACED report
        execution_id = self._next_trade_exec  # the `I` of the report just built
        return {
            "transactTime": req.now_ms,
            "executionId": execution_id,
            "amendedOrder": {
                "symbol": inst.symbol,
                "orderId": meta.order_id,
                "orderListId": -1,
                "origClientOrderId": orig_client_id,
                "clientOrderId": client_id,
                "price": _price_text(inst, order.price or 0),
                "qty": _qty_text(inst, order.qty),
                "executedQty": _qty_text(inst, order.filled),
                "preventedQty": "0.00000000",
                "quoteOrderQty": "0.00000000",
                "cumulativeQuoteQty": _amount_text(order.cum_cost),
                "status": self._status_text(order, meta),
                "timeInForce": meta.tif or "GTC",
                "type": meta.type,
                "side": order.side.upper(),
                "workingTime": meta.working_ms,
                "selfTradePreventionMode": "EXPIRE_MAKER",
            },
        }

    def _account_status(self, conn: BinanceApiConnection | None, req: _Request) -> Any:
        """`account.status` / `GET /api/v3/account`: commissions, permissions, balances."""
        key = self._authenticate(conn, req)
        account = key.account
        omit_zero = _boolean(req.params, "omitZeroBalances") or False
        balances = []
        for asset in sorted(account.balances):
            balance = account.balance(asset)
            if omit_zero and balance.total == 0:
                continue
            balances.append(
                {
                    "asset": asset,
                    "free": _amount_text(balance.available),
                    "locked": _amount_text(balance.held),
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

    def _my_trades(self, conn: BinanceApiConnection | None, req: _Request) -> Any:
        """`myTrades` / `GET /api/v3/myTrades`: the account's fills on one symbol, oldest first;
        the newest `limit` (default 500, at most 1000) unless `fromId` asks from that id on."""
        key = self._authenticate(conn, req)
        params = req.params
        inst = self._instrument(params)
        order_id = _integer(params, "orderId")
        from_id = _integer(params, "fromId")
        start = _integer(params, "startTime")
        end = _integer(params, "endTime")
        limit = _integer(params, "limit")
        limit = DEFAULT_TRADES_LIMIT if limit is None else min(max(limit, 1), MAX_TRADES_LIMIT)
        if from_id is not None and (start is not None or end is not None):
            # the documented combinations take fromId alone (or with orderId)
            raise ApiError(400, -1128, "Combination of optional parameters invalid.")
        if start is not None and end is not None and end - start > 24 * 3_600_000:
            raise ApiError(400, -1127, "More than 24 hours between startTime and endTime.")
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

    def _cancel_replace(self, conn: BinanceApiConnection | None, req: _Request) -> Any:
        key = self._authenticate(conn, req)
        req.orders_counted = key.account
        params = req.params
        inst = self._instrument(params)
        mode = params.get("cancelReplaceMode")
        if mode is None:
            raise _mandatory("cancelReplaceMode")
        if mode not in ("STOP_ON_FAILURE", "ALLOW_FAILURE"):
            raise ApiError(400, -1100, "Invalid cancelReplaceMode.")
        spec = self._order_spec(params, inst)
        cancel_id = self._cancel_client_id(params, "cancelNewClientOrderId")
        self._count_order(key.account, req)
        order = self._find(key.account, params, inst, "cancelOrderId", "cancelOrigClientOrderId")
        cancel_response: dict[str, Any]
        if order is None or not order.is_open:
            cancel_ok = False
            cancel_response = {"code": -2011, "msg": MSG_UNKNOWN_ORDER}
        else:
            cancel_ok = True
            cancel_response = self._cancel_one(order, cancel_id)
        new_response: dict[str, Any] | None = None
        new_ok = False
        if cancel_ok or mode == "ALLOW_FAILURE":
            try:
                new_response = self._execute(key.account, spec, req.now_ms)
                new_ok = True
            except ApiError as exc:
                new_response = {"code": exc.code, "msg": exc.msg}
        data = {
            "cancelResult": "SUCCESS" if cancel_ok else "FAILURE",
            "newOrderResult": "SUCCESS"
            if new_ok
            else ("FAILURE" if new_response is not None else "NOT_ATTEMPTED"),
            "cancelResponse": cancel_response,
            "newOrderResponse": new_response,
        }
        if cancel_ok and new_ok:
            return data
        if cancel_ok or new_ok:
            raise ApiError(409, -2021, "Order cancel-replace partially failed.", data)
        raise ApiError(400, -2022, "Order cancel-replace failed.", data)


# ----- helpers -----


def _limit(kind: str, interval: str, num: int, limit: int, count: int) -> dict[str, Any]:
    return {
        "rateLimitType": kind,
        "interval": interval,
        "intervalNum": num,
        "limit": limit,
        "count": count,
    }


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | Decimal):
        return str(value)
    if value is None:
        return "null"
    return encode_json(value).decode()


def _signed_payload(params: dict[str, Any]) -> bytes:
    """Every param but `signature`, sorted by name, `k=v` joined with `&` (no encoding)."""
    return "&".join(
        f"{name}={_value_text(params[name])}" for name in sorted(params) if name != "signature"
    ).encode()


def _decimal(params: Mapping[str, Any], name: str) -> Decimal | None:
    """A DECIMAL parameter (`price`, `quantity`, `newQty`, ...), a string or a JSON number."""
    text = _param_text(params, name, _DECIMAL_RANGE)
    if text is None:
        return None
    if not _DECIMAL_TEXT.fullmatch(text):
        raise _illegal(name, _DECIMAL_RANGE)
    number = Decimal(text)
    if number != number.quantize(Decimal(1).scaleb(-WIRE_DECIMALS), rounding="ROUND_DOWN"):
        raise ApiError(400, -1111, f"Parameter '{name}' has too much precision.")
    return number


def _recv_window(params: Mapping[str, Any]) -> Decimal:
    """`recvWindow` in ms (default 5000), with up to 3 decimals."""
    text = _param_text(params, "recvWindow", _DECIMAL_RANGE)
    if text is None:
        return Decimal(DEFAULT_RECV_WINDOW)
    if not _DECIMAL_TEXT.fullmatch(text):
        raise _illegal("recvWindow", _DECIMAL_RANGE)
    number = Decimal(text)
    if number != number.quantize(Decimal(1).scaleb(-RECV_WINDOW_DECIMALS), rounding="ROUND_DOWN"):
        raise ApiError(400, -1111, "Parameter 'recvWindow' has too much precision.")
    return number


def _random_client_id() -> str:
    return "".join(secrets.choice(_ALPHANUM) for _ in range(22))


def _price_text(inst: Instrument, units: int) -> str:
    return fixed_text(units * 10 ** (WIRE_DECIMALS - inst.price_decimals), WIRE_DECIMALS)


def _qty_text(inst: Instrument, units: int) -> str:
    return fixed_text(units * 10 ** (WIRE_DECIMALS - inst.qty_decimals), WIRE_DECIMALS)


def _amount_text(amount: int) -> str:
    """An AMOUNT_DECIMALS amount with 8 decimals, rounded down."""
    return fixed_text(amount // 10 ** (AMOUNT_DECIMALS - WIRE_DECIMALS), WIRE_DECIMALS)


class BinanceTradingVenue(BinanceVenue):
    """The whole Binance venue for `Simulator`: the market data of `BinanceVenue` plus this
    WS API on its reserved `ws_api` endpoint and the signed REST endpoints (binance_rest.py)
    on the REST port, over one demo account and the demo key."""

    FAULTS: ClassVar[FaultTable] = VENUE_FAULTS

    def __init__(
        self, engine: Engine, *, seed: int = 0, limits: Limits | None = None, **kwargs: Any
    ) -> None:
        super().__init__(engine, **kwargs)
        self.api = BinanceApiVenue(engine, host=self.host, seed=seed, limits=limits)
        self.demo_account = engine.add_account(
            "binance-demo", _DEMO_BALANCES, maker_fee=_DEMO_FEE, taker_fee=_DEMO_FEE
        )
        self.api.add_api_key(
            BINANCE_API_KEY,
            self.demo_account,
            hmac_secret=BINANCE_API_SECRET,
            ed25519_seed_b64=BINANCE_ED25519_KEY,
        )
        self.rest = BinanceRest(self.api, lambda: self.system == "online")

    def routes(self, app: web.Application) -> None:
        super().routes(app)
        self.rest.routes(app)

    def listener(self, endpoint: str, request: WSUpgradeRequest) -> Any:
        if endpoint == "ws_api":
            return self.api._factory(request)
        return super().listener(endpoint, request)

    # The socket faults hit the streams and the WS API alike; the others are the WS API's.
    def fault_drop_connection(self) -> None:
        super().fault_drop_connection()
        self.api.fault_drop_connection()

    def fault_stall(self, seconds: float | None = None, pongs: bool = True) -> None:
        super().fault_stall(seconds, pongs)
        self.api.fault_stall(seconds, pongs)

    def fault_malformed_frame(self, text: str | None = None) -> None:
        super().fault_malformed_frame(text)
        self.api.fault_malformed_frame('{"id":' if text is None else text)

    def fault_reject_auth(self) -> None:
        self.api.fault_reject_auth()

    def fault_rate_limit(self, seconds: float = 1.0, status: int = 429) -> None:
        self.api.fault_rate_limit(seconds, status)

    def fault_skew_clock(self, seconds: float = 5.0) -> None:
        self.api.fault_skew_clock(seconds)

    def clear_faults(self) -> None:
        super().clear_faults()
        self.api.clear_faults()

    async def stop(self) -> None:
        await self.api.stop()
        await super().stop()
