"""Binance's rate limits (reference/binance.md §5): REQUEST_WEIGHT per minute per IP (one
counter for the venue, shared by the WS API and REST), ORDERS per 10 s and per day per account;
fixed windows aligned to the clock. Successful order calls cost 0 weight, failed ones their
weight (CHANGELOG 2026-03-27). Exceeding the weight gives 429 / -1003 with `retryAfter` (epoch
ms), exceeding ORDERS 429 / -1015. The `rate_limit` fault bans the IP (429 or 418)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..engine import Account
from ..errors import VenueError
from .request import api_error

__all__ = ["FREE_ON_SUCCESS", "WEIGHTS", "Limits", "RateLimiter", "rate_limit_json", "weight_of"]

# Request weight per method (reference §3); order methods are refunded on success.
WEIGHTS: Final[dict[str, int]] = {
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
FREE_ON_SUCCESS: Final = frozenset(
    {"order.place", "order.cancel", "order.cancelReplace", "openOrders.cancelAll"}
)


def weight_of(method: str, params: Mapping[str, Any]) -> int:
    """The REQUEST_WEIGHT a WS API method costs with these parameters."""
    if method == "openOrders.status" and params.get("symbol") in (None, ""):
        return 80  # all symbols
    if method == "myTrades" and params.get("orderId") not in (None, ""):
        return 5
    return WEIGHTS[method]


def rate_limit_json(
    kind: str, interval: str, num: int, limit: int, count: int | None = None
) -> dict[str, Any]:
    """One `rateLimits` entry: exchangeInfo's (no `count`) or a reply's (with the count)."""
    entry: dict[str, Any] = {
        "rateLimitType": kind,
        "interval": interval,
        "intervalNum": num,
        "limit": limit,
    }
    if count is not None:
        entry["count"] = count
    return entry


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


class RateLimiter:
    """The IP's request weight, each account's order counts, and the `rate_limit` ban."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._weight = _Window(60_000)
        self._orders_10s: dict[str, _Window] = {}
        self._orders_day: dict[str, _Window] = {}
        self._banned_until_ms = 0
        self._ban_status = 429

    def ban(self, until_ms: int, status: int) -> None:
        """The `rate_limit` fault: every request until `until_ms` is refused with `status`."""
        self._ban_status = status
        self._banned_until_ms = until_ms

    def lift_ban(self) -> None:
        self._banned_until_ms = 0

    def charge(self, weight: int, now_ms: int) -> VenueError | None:
        """Count `weight` against the IP's REQUEST_WEIGHT (shared by REST and the WS API);
        the refusal when banned (`rate_limit` fault) or over the limit."""
        if now_ms < self._banned_until_ms:
            return self._banned(now_ms, self._banned_until_ms)
        limit = self.limits.weight_per_minute
        if self._weight.used(now_ms) + weight > limit:
            return api_error(
                429,
                -1003,
                f"Too much request weight used; current limit is {limit} request weight per "
                "1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the API.",
                {"serverTime": now_ms, "retryAfter": self._weight.end_ms(now_ms)},
            )
        self._weight.count += weight
        return None

    def refund(self, weight: int) -> None:
        """A successful order call costs nothing after all."""
        self._weight.count -= weight

    def used_weight(self, now_ms: int) -> int:
        return self._weight.used(now_ms)

    def count_order(self, account: Account, now_ms: int) -> None:
        """One more order for `account`'s ORDERS windows; -1015 when either is full."""
        ten, day = self._order_windows(account)
        for window, limit, span in (
            (ten, self.limits.orders_per_10s, "10 SECOND"),
            (day, self.limits.orders_per_day, "1 DAY"),
        ):
            if window.used(now_ms) + 1 > limit:
                raise api_error(
                    429, -1015, f"Too many new orders; current limit is {limit} orders per {span}."
                )
        ten.count += 1
        day.count += 1

    def order_counts(self, account: Account, now_ms: int) -> tuple[int, int]:
        """The account's ORDERS counts: (this 10 s window, today)."""
        ten, day = self._order_windows(account)
        return ten.used(now_ms), day.used(now_ms)

    def rate_limits(self, now_ms: int, account: Account | None) -> list[dict[str, Any]]:
        """A reply's `rateLimits`: ORDERS (when the request counted one) and REQUEST_WEIGHT."""
        limits = self.limits
        out = [
            rate_limit_json(
                "REQUEST_WEIGHT", "MINUTE", 1, limits.weight_per_minute, self.used_weight(now_ms)
            )
        ]
        if account is not None:
            ten, day = self.order_counts(account, now_ms)
            out.insert(0, rate_limit_json("ORDERS", "SECOND", 10, limits.orders_per_10s, ten))
            out.insert(1, rate_limit_json("ORDERS", "DAY", 1, limits.orders_per_day, day))
        return out

    def _order_windows(self, account: Account) -> tuple[_Window, _Window]:
        ten = self._orders_10s.get(account.name)
        if ten is None:
            ten = self._orders_10s[account.name] = _Window(10_000)
            self._orders_day[account.name] = _Window(86_400_000)
        return ten, self._orders_day[account.name]

    def _banned(self, now_ms: int, until_ms: int) -> VenueError:
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
        return api_error(
            self._ban_status, -1003, msg, {"serverTime": now_ms, "retryAfter": until_ms}
        )
