"""Binance spot WebSocket API (trading) on loopback, at `/ws-api/v3` (reference/binance.md §3-6).

Envelope `{"id","method","params"}`; replies `{"id","status","result"|"error","rateLimits"}`.
Methods: `ping`, `time`, `session.logon` / `session.status` / `session.logout`,
`session.subscriptions` (here); the order methods (orders.py); `userDataStream.subscribe`,
`userDataStream.subscribe.signature`, `userDataStream.unsubscribe`, `account.status`,
`myTrades` (account.py). A `v3/` method prefix is accepted. The same methods answer the signed
REST endpoints (rest.py). Parameters are read as request.py says, signatures checked as auth.py
says, limits counted as limits.py says; counts go back in every reply's `rateLimits`
(`returnRateLimits=false` in the URL or the params leaves them out).

UNVERIFIED details (not in the reference; chosen to be plausible and documented here): the
reply to a frame that is not a JSON request (400 / -1000), to an unknown method (400 / -1000),
and HTTP 401 for -2014 / -2015.

Faults (`inject`): `drop_connection`, `stall` (requests are ignored for `seconds`),
`reject_auth` (revokes every session: its next request is refused with 401 / -2015 and
the session is logged out; the next per-request-signed request is refused the same way),
`rate_limit` (every request for `seconds` gets `status` 429 or 418 / -1003 with
`retryAfter`), `malformed_frame`, `skew_clock` (the venue's clock runs `seconds` ahead).

Independent of the client on purpose: nothing here imports `hftpy._core` or `hftpy.exchange`.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar, Final

import msgspec
from picows import WSCloseCode, WSUpgradeRequest

from ..engine import Account, Engine
from ..errors import VenueError
from ..faults import (
    CLOSE,
    DROP_CONNECTION,
    MALFORMED_FRAME,
    STALL,
    ConnectionFaults,
    Fault,
    FaultTable,
    fault_table,
)
from ..wire import decode_json, encode_json
from .account import Outbox, UserData
from .auth import MSG_HMAC_LOGON, KeyRing
from .connection import BinanceApiConnection
from .limits import FREE_ON_SUCCESS, Limits, RateLimiter, weight_of
from .orders import OrderMethods
from .registry import OrderRegistry
from .request import Clock, Handler, Request, RestSignature, api_error
from .rest import RestOutcome

__all__ = ["FAULTS", "WS_API_PATH", "BinanceApiVenue"]

log = logging.getLogger(__name__)

WS_API_PATH: Final = "/ws-api/v3"

FAULTS: Final = fault_table(
    DROP_CONNECTION,
    CLOSE,
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


class BinanceApiVenue(ConnectionFaults):
    """Binance's WS API over one engine: connections, dispatch, sessions and faults; the
    methods themselves are `OrderMethods`' and `UserData`'s."""

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
        self.connections: set[BinanceApiConnection] = set()
        self.clock = Clock()
        self.keys = KeyRing()
        self.limiter = RateLimiter(limits or Limits())
        self.registry = OrderRegistry(engine, self.clock, seed)
        self.user_data = UserData(engine, self.registry, self.keys)
        self.orders = OrderMethods(
            engine, self.registry, self.keys, self.limiter, self.user_data.on_order_event
        )
        self._methods: dict[str, Handler] = {
            "ping": self._ping,
            "time": self._time,
            "session.logon": self._logon,
            "session.status": self._session_status,
            "session.logout": self._logout,
            "session.subscriptions": self._subscriptions,
            **self.orders.methods(),
            **self.user_data.methods(),
        }

    @property
    def limits(self) -> Limits:
        return self.limiter.limits

    @limits.setter
    def limits(self, limits: Limits) -> None:
        self.limiter.limits = limits

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def add_api_key(self, api_key: str, account: Account, **credentials: Any) -> None:
        """Register a key (`KeyRing.add`: `hmac_secret`, `ed25519_seed_b64` and/or
        `ed25519_public_pem`) and stream its account's orders to its user data streams."""
        self.keys.add(api_key, account, **credentials)
        listener = self.user_data.on_order_event
        if listener not in account.order_listeners:
            account.order_listeners.append(listener)

    # ----- connections -----

    def connect(self, request: WSUpgradeRequest) -> BinanceApiConnection | None:
        """The connection for an upgrade request, or None (picows answers 404)."""
        path, _, query = request.path.decode("latin-1").partition("?")
        if path.rstrip("/") != WS_API_PATH:
            return None
        return_limits = "returnRateLimits=false" not in query
        return BinanceApiConnection(self, return_limits)

    def forget(self, conn: BinanceApiConnection) -> None:
        self.connections.discard(conn)
        self.user_data.forget(conn)

    async def stop(self) -> None:
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.send_close(WSCloseCode.GOING_AWAY)
                conn.transport.disconnect()

    # ----- faults -----

    def fault_reject_auth(self) -> None:
        for conn in self.connections:
            conn.revoked = conn.session is not None
        self.keys.reject_next_signed = True

    def fault_rate_limit(self, seconds: float = 1.0, status: int = 429) -> None:
        if status not in (429, 418):
            raise ValueError("rate_limit status must be 429 or 418")
        self.limiter.ban(self.now_ms() + int(float(seconds) * 1000), status)

    def fault_skew_clock(self, seconds: float = 5.0) -> None:
        self.clock.skew_ms = int(float(seconds) * 1000)

    def clear_faults(self) -> None:
        super().clear_faults()
        self.limiter.lift_ban()
        self.keys.reject_next_signed = False
        self.clock.skew_ms = 0

    # ----- dispatch -----

    def handle(self, conn: BinanceApiConnection, payload: bytes) -> None:
        now_ms = self.now_ms()
        try:
            message = decode_json(payload)
        except msgspec.DecodeError:
            message = None
        if not isinstance(message, dict):
            malformed = api_error(400, -1000, "Malformed request.")
            self._reply_error(conn, Request(None, "", {}, now_ms), malformed)
            return
        req_id = message.get("id")
        method = message.get("method")
        params = message.get("params", {})
        if isinstance(method, str) and method.startswith("v3/"):
            method = method[3:]
        req = Request(req_id, method if isinstance(method, str) else "", {}, now_ms)
        if not isinstance(params, dict):
            self._reply_error(conn, req, api_error(400, -1000, "Malformed request."))
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
            self._reply_error(conn, req, api_error(400, -1000, f"Unknown method '{req.method}'."))
            return
        deferred: Outbox = []
        result, error = self.execute(handler, conn, req, deferred)
        if error is not None:
            self._reply_error(conn, req, error)
        else:
            self._reply(conn, req, result)
        for target, data in deferred:
            target.send(data)

    def execute(
        self,
        handler: Handler,
        conn: BinanceApiConnection | None,
        req: Request,
        deferred: Outbox,
    ) -> tuple[Any, VenueError | None]:
        """Run one request as the WS API and REST both do: IP ban, request weight (refunded
        for successful order calls), then the method. User-data pushes it causes go to
        `deferred`, for the caller to send after its reply."""
        weight = weight_of(req.method, req.params)
        error = self.limiter.charge(weight, req.now_ms)
        if error is not None:
            return None, error
        self.user_data.deferred = deferred
        try:
            result = handler(conn, req)
        except VenueError as exc:
            return None, exc
        except Exception:
            log.exception("binance sim: %s failed", req.method)
            return None, api_error(500, -1000, "An unknown error occurred.")
        finally:
            self.user_data.deferred = None
        if req.method in FREE_ON_SUCCESS:
            self.limiter.refund(weight)
        return result, None

    def used_weight(self, now_ms: int) -> int:
        return self.limiter.used_weight(now_ms)

    def call_rest(
        self, method: str, params: dict[str, Any], signature: RestSignature
    ) -> RestOutcome:
        """A signed REST request (rest.py), answered by WS API method `method`."""
        req = Request(None, method, params, self.now_ms(), signature)
        deferred: Outbox = []
        result, error = self.execute(self._methods[method], None, req, deferred)
        for target, data in deferred:
            target.send(data)
        counts = None
        if req.orders_counted is not None:
            counts = self.limiter.order_counts(req.orders_counted, req.now_ms)
        if error is not None:
            return RestOutcome.refused(error, counts)
        return RestOutcome(200, result, order_counts=counts)

    def charge_rest(self, weight: int) -> RestOutcome | None:
        """Count a public REST request's weight; the refusal when over the limit."""
        error = self.limiter.charge(weight, self.now_ms())
        return None if error is None else RestOutcome.refused(error)

    def _reply(self, conn: BinanceApiConnection, req: Request, result: Any) -> None:
        body: dict[str, Any] = {"id": req.id, "status": 200, "result": result}
        if req.rate_limits:
            body["rateLimits"] = self.limiter.rate_limits(req.now_ms, req.orders_counted)
        conn.send(encode_json(body))

    def _reply_error(self, conn: BinanceApiConnection, req: Request, exc: VenueError) -> None:
        error: dict[str, Any] = {"code": exc.code, "msg": exc.message}
        if exc.data is not None:
            error["data"] = exc.data
        body: dict[str, Any] = {"id": req.id, "status": exc.status, "error": error}
        if req.rate_limits and req.method:
            body["rateLimits"] = self.limiter.rate_limits(req.now_ms, req.orders_counted)
        conn.send(encode_json(body))

    # ----- session and utility methods -----

    def _ping(self, conn: BinanceApiConnection, req: Request) -> Any:
        return {}

    def _time(self, conn: BinanceApiConnection, req: Request) -> Any:
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

    def _logon(self, conn: BinanceApiConnection, req: Request) -> Any:
        key = self.keys.authenticate(conn, req, session_ok=False)
        if key.ed25519 is None:
            raise api_error(400, -4056, MSG_HMAC_LOGON)
        conn.session = key
        conn.authorized_since = req.now_ms
        return self._session_info(conn, req.now_ms)

    def _session_status(self, conn: BinanceApiConnection, req: Request) -> Any:
        return self._session_info(conn, req.now_ms)

    def _logout(self, conn: BinanceApiConnection, req: Request) -> Any:
        conn.log_out()
        self.user_data.end_subscriptions(conn, None)
        return self._session_info(conn, req.now_ms)

    def _subscriptions(self, conn: BinanceApiConnection, req: Request) -> Any:
        return [{"subscriptionId": sub_id} for sub_id in conn.subs]
