"""A market maker that runs unchanged on Kraken, Binance, Backpack and Upbit.

For each venue under `setting["markets"]` it quotes one bid and one ask around the book's
mid, `spread_bps` apart, post-only; when the mid has moved more than `requote_bps` from the
mid a quote was priced at, it cancels that quote and places a new one. Prices are rounded to
the venue's tick (bids down, asks up), amounts to its lot, and raised to its minimum
quantity and minimum order value; the rules come from the venue itself (see `load_rules`).
Past `max_position` (base currency) it stops quoting the side that would add to it.

Position, cash and PnL come from `on_fill`; counts of placed / filled / cancelled orders
from the order API's replies and `on_order_update`; the order round trip from each reply's
`WsResponse.latency_ns`. Every venue goes through the same calls: `place_order(...,
wait=True)` and `cancel_order(..., wait=True)` of its `<venue>_ws_api` member.

    hftpy run examples/mm_demo/config.json --module examples/mm_demo/mm.py --sim

Settings (all optional but `markets`):
    markets       {venue: {"symbol", "size", "max_position", and optionally "tick", "lot",
                  "min_size", "min_notional" to override what the venue says}}
    spread_bps    distance between our bid and ask, in basis points of the mid (default 1)
    requote_bps   how far the mid may move before a quote is replaced (default 1)
    run_seconds   stop by itself after this long and judge the run: exit code 1 when a
                  venue never traded (default 0: run until stopped)
    view          "auto" (a live table on a terminal, plain lines otherwise), "live",
                  "plain" or "off" (default "auto"); `status_every` seconds between plain
                  lines (default 2)
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from hftpy._core import BookEvent, BookView, ResyncEvent
from hftpy.common import CurrencyPair, Exchange, Side
from hftpy.demo import Dashboard, VenueRow, percentile_us
from hftpy.errors import HftpyError
from hftpy.exchange.orders import Fill, OrderStatus, OrderUpdate
from hftpy.exchange.rest_orders import HttpRequest
from hftpy.exchange.ws_api import WsApiBase, WsResponse
from hftpy.service import ServiceBase

BPS = Decimal(10_000)
#: Round-trip and event-time samples kept per venue (the percentiles are over these).
SAMPLES = 20_000
#: Seconds a place or cancel may take before it counts as an error.
REQUEST_TIMEOUT = 5.0

# Upbit's KRW market price units (docs.upbit.com "원화(KRW) 마켓 주문 가격 단위", 2025-07-31):
# (lowest price of the band, tick). The venue's `/v1/orderbook/instruments` is asked first.
UPBIT_KRW_TICKS: tuple[tuple[Decimal, Decimal], ...] = tuple(
    (Decimal(low), Decimal(tick))
    for low, tick in (
        ("1000000", "1000"),
        ("500000", "500"),
        ("100000", "100"),
        ("50000", "50"),
        ("10000", "10"),
        ("5000", "5"),
        ("100", "1"),
        ("10", "0.01"),
        ("1", "0.001"),
        ("0.1", "0.0001"),
        ("0.01", "0.00001"),
        ("0.001", "0.000001"),
        ("0.0001", "0.0000001"),
        ("0", "0.00000001"),
    )
)
#: Upbit's minimum order value on KRW markets, when `/v1/orders/chance` does not say.
UPBIT_KRW_MIN_TOTAL = Decimal(5000)


def _decimals(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _step_round(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    """`value` to a multiple of `step`, written with exactly the step's decimals."""
    units = (value / step).to_integral_value(rounding=rounding)
    return (units * step).quantize(Decimal(1).scaleb(-_decimals(step)))


@dataclass(frozen=True, slots=True)
class Rules:
    """What the venue accepts for one symbol: price tick (a fixed step, or Upbit's bands),
    quantity lot, minimum quantity and minimum order value (quote currency)."""

    tick: Decimal
    lot: Decimal
    min_qty: Decimal
    min_notional: Decimal
    source: str
    tick_bands: tuple[tuple[Decimal, Decimal], ...] = ()

    def __str__(self) -> str:
        tick = "by price band" if self.tick_bands else f"{self.tick.normalize():f}"
        return (
            f"tick {tick}, lot {self.lot.normalize():f}, min size {self.min_qty.normalize():f}, "
            f"min value {self.min_notional.normalize():f} (from {self.source})"
        )

    def tick_at(self, price: Decimal) -> Decimal:
        """The tick that applies at `price`."""
        for low, tick in self.tick_bands:
            if price >= low:
                return tick
        return self.tick

    def bid(self, price: Decimal) -> Decimal:
        """`price` rounded down to the tick (a bid never improves by rounding)."""
        return _step_round(price, self.tick_at(price), ROUND_FLOOR)

    def ask(self, price: Decimal) -> Decimal:
        """`price` rounded up to the tick."""
        return _step_round(price, self.tick_at(price), ROUND_CEILING)

    def amount(self, size: Decimal, price: Decimal) -> Decimal:
        """`size` on the lot, at least the minimum quantity and the minimum order value."""
        amount = max(size, self.min_qty)
        if self.min_notional and price > 0:
            amount = max(amount, self.min_notional / price)
        return _step_round(amount, self.lot, ROUND_CEILING)


def _override(rules: Rules, conf: Mapping[str, Any]) -> Rules:
    """The config's `tick` / `lot` / `min_size` / `min_notional` win over the venue's."""
    values = {
        "tick": conf.get("tick"),
        "lot": conf.get("lot"),
        "min_qty": conf.get("min_size"),
        "min_notional": conf.get("min_notional"),
    }
    given = {k: Decimal(str(v)) for k, v in values.items() if v not in (None, "")}
    if not given:
        return rules
    bands = () if "tick" in given else rules.tick_bands
    return Rules(
        given.get("tick", rules.tick),
        given.get("lot", rules.lot),
        given.get("min_qty", rules.min_qty),
        given.get("min_notional", rules.min_notional),
        rules.source + " + config",
        bands,
    )


async def load_rules(venue: Exchange, symbol: str, rest_api: Any, book: BookView) -> Rules:
    """Asks the venue for `symbol`'s tick, lot and minimums: Kraken `AssetPairs`
    (`tick_size`, `lot_decimals`, `ordermin`, `costmin`), Binance `exchangeInfo`
    (`PRICE_FILTER`, `LOT_SIZE`, `NOTIONAL`), Backpack `GET /api/v1/market` (`filters`),
    Upbit `GET /v1/orderbook/instruments` and `/v1/orders/chance`, else its published KRW
    tick table and 5000 KRW minimum. Without a REST API member the book's scales are used."""
    if rest_api is None:
        step = Decimal(1).scaleb(-book.price_scale)
        lot = Decimal(1).scaleb(-book.qty_scale)
        return Rules(step, lot, lot, Decimal(0), "book scales")
    if venue is Exchange.KRAKEN:
        pairs = await rest_api.asset_pairs([symbol])
        info = next(iter(pairs.values()))
        tick = info.get("tick_size") or Decimal(1).scaleb(-int(info["pair_decimals"]))
        return Rules(
            Decimal(str(tick)),
            Decimal(1).scaleb(-int(info["lot_decimals"])),
            Decimal(str(info["ordermin"])),
            Decimal(str(info.get("costmin") or 0)),
            "AssetPairs",
        )
    if venue is Exchange.BINANCE:
        reply = await rest_api.exchange_info([symbol])
        (entry,) = (e for e in reply["symbols"] if e["symbol"] == symbol)
        filters = {f["filterType"]: f for f in entry["filters"]}
        notional = filters.get("NOTIONAL") or filters.get("MIN_NOTIONAL") or {}
        return Rules(
            Decimal(filters["PRICE_FILTER"]["tickSize"]),
            Decimal(filters["LOT_SIZE"]["stepSize"]),
            Decimal(filters["LOT_SIZE"]["minQty"]),
            Decimal(notional.get("minNotional", "0")),
            "exchangeInfo",
        )
    if venue is Exchange.BACKPACK:
        status, market = await rest_api.send(
            HttpRequest("GET", f"/api/v1/market?symbol={symbol}", None, {})
        )
        if status != 200 or not isinstance(market, dict):
            raise HftpyError(f"Backpack market {symbol}: HTTP {status} {market!r}")
        price, quantity = market["filters"]["price"], market["filters"]["quantity"]
        return Rules(
            Decimal(price["tickSize"]),
            Decimal(quantity["stepSize"]),
            Decimal(quantity["minQuantity"]),
            Decimal(0),
            "GET /api/v1/market",
        )
    if venue is Exchange.UPBIT:
        return await _upbit_rules(symbol, rest_api, book)
    raise HftpyError(f"no rules lookup for {venue}")


async def _upbit_rules(symbol: str, rest_api: Any, book: BookView) -> Rules:
    # Upbit volumes take 8 decimals; prices follow the KRW bands (other markets: the book's).
    lot = Decimal(1).scaleb(-book.qty_scale)
    krw = symbol.startswith("KRW-")
    bands = UPBIT_KRW_TICKS if krw else ()
    tick = Decimal(1).scaleb(-book.price_scale)
    source = "KRW tick table"
    status, reply = await rest_api.send(
        HttpRequest("GET", f"/v1/orderbook/instruments?markets={symbol}", None, {})
    )
    if status == 200 and isinstance(reply, list) and reply and reply[0].get("tick_size"):
        # The venue's tick for the current price band: exact now, the table if it moves.
        tick = Decimal(str(reply[0]["tick_size"]))
        source = "/v1/orderbook/instruments"
        bands = ()
    min_total = UPBIT_KRW_MIN_TOTAL if krw else Decimal(0)
    try:
        chance = await rest_api.request("GET", "/v1/orders/chance", {"market": symbol})
        min_total = Decimal(str(chance["market"]["bid"]["min_total"]))
        source += " + /v1/orders/chance"
    except (HftpyError, KeyError, TypeError):
        source += f" + {min_total} KRW minimum"
    return Rules(tick, lot, lot, min_total, source, bands)


@dataclass(slots=True)
class Quote:
    """One of our resting orders."""

    side: Side
    price: Decimal
    amount: Decimal
    #: The fair mid it was priced from (requote when the mid moves away from it).
    mid: Decimal
    client_order_id: str | None
    order_id: str | None
    #: (price, qty) mantissas at the book's scales, to leave it out of the fair mid.
    book_level: tuple[int, int]


def _keep_newest(ids: dict[Any, Any], keep: int) -> None:
    if len(ids) > 2 * keep:
        for old in list(ids)[: len(ids) - keep]:
            del ids[old]


@dataclass(slots=True, eq=False)
class Market:
    """The maker's state on one venue."""

    venue: Exchange
    symbol: str
    size: Decimal
    max_position: Decimal
    conf: Mapping[str, Any]
    base: str
    quote_ccy: str
    ws_api: WsApiBase | None = None
    book: BookView | None = None
    rules: Rules | None = None
    quotes: dict[Side, Quote] = field(default_factory=dict)
    busy: set[Side] = field(default_factory=set)
    #: Client order ids already final (an update can overtake the place reply).
    final: dict[str, OrderStatus] = field(default_factory=dict)
    #: Client order ids of the orders we placed, and of those already counted as done; the
    #: fills seen (dicts as ordered sets: `trim()` keeps the newest).
    ours: dict[str, None] = field(default_factory=dict)
    counted: dict[str, None] = field(default_factory=dict)
    seen_fills: dict[tuple[str | None, str | None], None] = field(default_factory=dict)
    mid: Decimal | None = None
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    position: Decimal = Decimal(0)
    cash: Decimal = Decimal(0)
    other_fees: dict[str, Decimal] = field(default_factory=dict)
    book_updates: int = 0
    resyncs: int = 0
    placed: int = 0
    rejected: int = 0
    cancelled: int = 0
    filled: int = 0
    fills: int = 0
    errors: int = 0
    last_error: str = ""
    last_error_at: float = 0.0
    round_trips_ns: deque[int] = field(default_factory=lambda: deque(maxlen=SAMPLES))
    exch_to_recv_ns: deque[int] = field(default_factory=lambda: deque(maxlen=SAMPLES))
    rate_mark: tuple[float, int] = (0.0, 0)
    updates_per_s: float = 0.0

    @property
    def pnl(self) -> Decimal:
        """Cash plus the position at the mid, in quote currency (fees in it included)."""
        mark = self.mid if self.mid is not None else Decimal(0)
        return self.cash + self.position * mark

    def count_final(self, cid: str | None, status: OrderStatus) -> None:
        if cid is None or cid in self.counted:
            return
        if status is OrderStatus.FILLED:
            self.counted[cid] = None
            self.filled += 1
        elif status is OrderStatus.CANCELLED:
            self.counted[cid] = None
            self.cancelled += 1

    def trim(self, keep: int = 5_000) -> None:
        """Forgets all but the newest `keep` ids of each kind (a long run stays small)."""
        for ids in (self.final, self.ours, self.counted, self.seen_fills):
            _keep_newest(ids, keep)

    def quote_of(self, cid: str | None, order_id: str | None) -> Quote | None:
        for quote in self.quotes.values():
            if (cid is not None and quote.client_order_id == cid) or (
                order_id is not None and quote.order_id == order_id
            ):
                return quote
        return None


def _level(book: BookView, side: str, own: Quote | None) -> int | None:
    """The best price of `side` not made by our own quote alone (mantissa)."""
    levels = book.bids(4) if side == "bid" else book.asks(4)
    for price, qty in levels:
        if own is not None and price == own.book_level[0] and qty <= own.book_level[1]:
            continue
        return price
    return None


class MMDemoService(ServiceBase):
    """Quotes both sides around the mid on every configured venue (module docstring)."""

    def __init__(self, name: str, setting: Mapping[str, Any]) -> None:
        super().__init__(name, setting)
        self.spread_bps = Decimal(str(setting.get("spread_bps", 1)))
        self.requote_bps = Decimal(str(setting.get("requote_bps", 1)))
        self.run_seconds = float(setting.get("run_seconds") or 0)
        self.markets: dict[Exchange, Market] = {}
        for venue_name, conf in dict(setting.get("markets") or {}).items():
            venue = Exchange.parse(venue_name)
            symbol = str(conf["symbol"])
            pair = CurrencyPair.from_symbol(venue, symbol)
            self.markets[venue] = Market(
                venue,
                symbol,
                Decimal(str(conf["size"])),
                Decimal(str(conf.get("max_position", conf["size"]))),
                conf,
                pair.base,
                pair.quote,
            )
        self.started_at = time.monotonic()
        self.started = False
        self.stopping = False
        self.failures: dict[Exchange, str] = {}
        #: Place and cancel requests in flight (at most one per venue and side).
        self.requests: set[asyncio.Task[None]] = set()
        self._deadline: asyncio.TimerHandle | None = None
        self.dashboard = Dashboard(
            f"{type(self).__name__} {name}",
            str(setting.get("view", "auto")),
            float(setting.get("status_every", 2)),
        )

    # -- lifecycle -------------------------------------------------------------------------
    async def on_start(self) -> None:
        """Finds each venue's members, asks it for its rules and starts the view."""
        self.started = True
        for venue, market in self.markets.items():
            market.ws_api = getattr(self, f"{venue.value}_ws_api", None)
            stream = getattr(self, f"{venue.value}_stream", None)
            if market.ws_api is None or stream is None:
                self.failures[venue] = "the config gives it no ws_apis or streams entry"
                continue
            market.book = stream.book(market.symbol)
            try:
                rules = await load_rules(
                    venue, market.symbol, getattr(self, f"{venue.value}_api", None), market.book
                )
            except (HftpyError, KeyError, TypeError, ValueError) as exc:
                self.failures[venue] = f"could not read its tick/lot sizes: {exc!r}"
                continue
            market.rules = _override(rules, market.conf)
            self.log.info("%s %s rules: %s", venue, market.symbol, market.rules)
        self.started_at = time.monotonic()
        for market in self.markets.values():
            market.rate_mark = (self.started_at, market.book_updates)
        self.dashboard.start(self.rows)
        self.every(0.5, self._refresh)
        if self.run_seconds > 0:
            loop = asyncio.get_running_loop()
            self._deadline = loop.call_later(self.run_seconds, self._finish)

    async def on_stop(self) -> None:
        """Stops quoting, lets requests in flight finish, then shows the summary (the runner
        cancels what is still open when `cancel_on_stop` is set)."""
        self.stopping = True
        if self._deadline is not None:
            self._deadline.cancel()
        if self.requests:
            await asyncio.wait(self.requests, timeout=REQUEST_TIMEOUT)
        elapsed = max(time.monotonic() - self.started_at, 1e-9)
        for market in self.markets.values():  # the summary shows the whole run's rate
            market.updates_per_s = market.book_updates / elapsed
        self.dashboard.stop(self.rows(), self.verdict())

    def _finish(self) -> None:
        problems = self.verdict()
        for problem in problems:
            self.log.error("%s", problem)
        self.stop(exit_code=1 if problems else 0)

    def verdict(self) -> list[str]:
        """Why the run failed, one line per venue that did not connect or trade (empty: ok)."""
        problems = [f"{venue}: {why}" for venue, why in self.failures.items()]
        for venue, market in self.markets.items():
            if venue in self.failures:
                continue
            if market.placed == 0:
                detail = market.last_error or "no order was accepted"
                problems.append(f"{venue}: placed no order ({detail})")
            elif market.fills == 0:
                problems.append(f"{venue}: {market.placed} orders placed, none filled")
        return problems

    # -- market data -----------------------------------------------------------------------
    def on_book(self, venue: Exchange, event: BookEvent, book: BookView) -> None:
        """Updates the fair mid (our own quotes left out) and requotes where needed."""
        market = self.markets.get(venue)
        if market is None or event.symbol != market.symbol:
            return
        market.book_updates += 1
        if event.exch_ns:
            market.exch_to_recv_ns.append(event.recv_ns - event.exch_ns)
        scale = book.price_scale
        best_bid, best_ask = book.best_bid(), book.best_ask()
        if best_bid is None or best_ask is None:
            return
        market.best_bid = Decimal(best_bid[0]).scaleb(-scale)
        market.best_ask = Decimal(best_ask[0]).scaleb(-scale)
        bid = _level(book, "bid", market.quotes.get(Side.BUY))
        ask = _level(book, "ask", market.quotes.get(Side.SELL))
        if bid is None or ask is None:
            return
        market.mid = Decimal(bid + ask).scaleb(-scale) / 2
        self._requote(market, Decimal(bid).scaleb(-scale), Decimal(ask).scaleb(-scale))

    def on_resync(self, venue: Exchange, event: ResyncEvent) -> None:
        """Counts book resyncs (the initial snapshot aside)."""
        market = self.markets.get(venue)
        if market is not None and event.reason != "initial":
            market.resyncs += 1

    def _requote(self, market: Market, fair_bid: Decimal, fair_ask: Decimal) -> None:
        mid = market.mid
        if self.stopping or market.rules is None or mid is None:
            return
        for side in (Side.BUY, Side.SELL):
            if side in market.busy:
                continue
            if side is Side.BUY:
                allowed = market.position < market.max_position
            else:
                allowed = market.position > -market.max_position
            quote = market.quotes.get(side)
            if quote is not None:
                moved = abs(mid - quote.mid) * BPS / quote.mid
                if not allowed or moved > self.requote_bps:
                    market.busy.add(side)
                    self._request(self._cancel(market, quote))
            elif allowed:
                price, amount = self._price(market, side, mid, fair_bid, fair_ask)
                market.busy.add(side)
                self._request(self._place(market, side, price, amount, mid))

    def _price(
        self, market: Market, side: Side, mid: Decimal, fair_bid: Decimal, fair_ask: Decimal
    ) -> tuple[Decimal, Decimal]:
        rules = market.rules
        assert rules is not None
        half = mid * self.spread_bps / BPS / 2
        if side is Side.BUY:
            price = rules.bid(mid - half)
            if price >= fair_ask:  # post-only: never through the other side
                price = rules.bid(fair_ask - rules.tick_at(fair_ask))
        else:
            price = rules.ask(mid + half)
            if price <= fair_bid:
                price = rules.ask(fair_bid + rules.tick_at(fair_bid))
        return price, rules.amount(market.size, price)

    # -- orders ------------------------------------------------------------------------------
    def _request(self, coro: Any) -> None:
        # A task of its own: the handler returns at once. Created inside a handler, it runs
        # as this service, so the runner files the order under it (cancel_on_stop).
        task = asyncio.get_running_loop().create_task(coro)
        self.requests.add(task)
        task.add_done_callback(self.requests.discard)

    def _request_failed(self, market: Market, what: str, error: object) -> None:
        market.errors += 1
        market.last_error = f"{what}: {error}"
        market.last_error_at = time.monotonic()
        self.log.warning("%s %s", market.venue, market.last_error)

    async def _place(
        self, market: Market, side: Side, price: Decimal, amount: Decimal, mid: Decimal
    ) -> None:
        assert market.ws_api is not None and market.book is not None
        try:
            reply: WsResponse = await market.ws_api.place_order(
                market.symbol,
                side,
                amount,
                price,
                post_only=True,
                wait=True,
                timeout=REQUEST_TIMEOUT,
            )
        except HftpyError as exc:
            self._request_failed(market, "place", repr(exc))
            return
        finally:
            market.busy.discard(side)
        market.round_trips_ns.append(reply.latency_ns)
        cid = reply.client_order_id
        if not reply.ok:
            market.rejected += 1
            market.last_error = f"place rejected: {reply.response.get('error', reply.response)}"
            market.last_error_at = time.monotonic()
            return
        market.placed += 1
        if cid is not None:
            market.ours[cid] = None
        if cid is not None and cid in market.final:  # filled or gone before the reply came
            market.count_final(cid, market.final[cid])
            return
        level = (
            int(price.scaleb(market.book.price_scale)),
            int(amount.scaleb(market.book.qty_scale)),
        )
        market.quotes[side] = Quote(side, price, amount, mid, cid, reply.order_id, level)

    async def _cancel(self, market: Market, quote: Quote) -> None:
        assert market.ws_api is not None
        try:
            if quote.order_id is not None:
                reply: WsResponse = await market.ws_api.cancel_order(
                    quote.order_id, symbol=market.symbol, wait=True, timeout=REQUEST_TIMEOUT
                )
            else:
                reply = await market.ws_api.cancel_order(
                    client_order_id=quote.client_order_id,
                    symbol=market.symbol,
                    wait=True,
                    timeout=REQUEST_TIMEOUT,
                )
        except HftpyError as exc:
            self._request_failed(market, "cancel", repr(exc))
            return
        finally:
            market.busy.discard(quote.side)
        market.round_trips_ns.append(reply.latency_ns)
        still_open = any(
            o.client_order_id == quote.client_order_id for o in market.ws_api.open_orders()
        )
        if reply.ok or not still_open:  # cancelled, or it had filled meanwhile
            if market.quotes.get(quote.side) is quote:
                del market.quotes[quote.side]
            if reply.ok:
                market.count_final(quote.client_order_id, OrderStatus.CANCELLED)

    # -- private channel -------------------------------------------------------------------
    def on_order_update(self, venue: Exchange, update: OrderUpdate) -> None:
        """Forgets quotes that are done and counts them (filled / cancelled)."""
        market = self.markets.get(venue)
        if market is None or not update.status.is_final:
            return
        cid = update.client_order_id
        quote = market.quote_of(cid, update.order_id)
        if quote is not None:
            cid = quote.client_order_id
            if market.quotes.get(quote.side) is quote:
                del market.quotes[quote.side]
        if cid is not None:
            market.final[cid] = update.status
            if cid in market.ours:  # else its place reply counts it when it comes
                market.count_final(cid, update.status)

    def on_fill(self, venue: Exchange, fill: Fill) -> None:
        """Position and cash (fees in base or quote currency included)."""
        market = self.markets.get(venue)
        if market is None or (fill.symbol and fill.symbol != market.symbol):
            return
        if fill.trade_id is not None:
            key = (fill.trade_id, fill.order_id)
            if key in market.seen_fills:
                return
            market.seen_fills[key] = None
        market.fills += 1
        signed = fill.amount if fill.side is Side.BUY else -fill.amount
        market.position += signed
        market.cash -= signed * fill.price
        if fill.fee:
            currency = (fill.fee_currency or market.quote_ccy).upper()
            if currency == market.quote_ccy:
                market.cash -= fill.fee
            elif currency == market.base:
                market.position -= fill.fee
            else:
                market.other_fees[currency] = market.other_fees.get(currency, 0) + fill.fee
        quote = market.quote_of(fill.client_order_id, fill.order_id)
        if quote is not None:
            remaining = max(Decimal(0), quote.amount - fill.amount)
            qty = int(remaining.scaleb(market.book.qty_scale)) if market.book else 0
            quote.amount = remaining
            quote.book_level = (quote.book_level[0], qty)

    # -- the view --------------------------------------------------------------------------
    def _refresh(self) -> None:
        now = time.monotonic()
        for market in self.markets.values():
            then, count = market.rate_mark
            if then:
                market.updates_per_s = (market.book_updates - count) / max(now - then, 1e-9)
            market.rate_mark = (now, market.book_updates)
            market.trim()
        self.dashboard.update(self.rows())

    def rows(self) -> list[VenueRow]:
        """One row per venue for the dashboard and the summary."""
        rows = []
        for venue, market in self.markets.items():
            e2r = None
            stream = getattr(self, f"{venue.value}_stream", None)
            stats = getattr(stream, "latency_stats", None)
            if stats is not None:
                summary = stats().get("exch_to_recv:book")
                if summary is not None and summary.count:
                    e2r = summary.p50_ns / 1000
            if e2r is None:
                e2r = percentile_us(market.exch_to_recv_ns, 0.5)
            status = "quoting"
            if venue in self.failures:
                status = self.failures[venue]
            elif time.monotonic() - market.last_error_at < 3:
                status = market.last_error
            elif market.rules is not None:
                if market.position >= market.max_position:
                    status = "max position: bids paused"
                elif market.position <= -market.max_position:
                    status = "max position: asks paused"
            rows.append(
                VenueRow(
                    venue=venue.value,
                    symbol=market.symbol,
                    bid=market.best_bid,
                    ask=market.best_ask,
                    updates_per_s=market.updates_per_s,
                    resyncs=market.resyncs,
                    placed=market.placed,
                    filled=market.filled,
                    fills=market.fills,
                    cancelled=market.cancelled,
                    rejected=market.rejected,
                    errors=market.errors,
                    position=market.position,
                    base=market.base,
                    pnl=market.pnl,
                    quote=market.quote_ccy,
                    rtt_p50_us=percentile_us(market.round_trips_ns, 0.5),
                    rtt_p99_us=percentile_us(market.round_trips_ns, 0.99),
                    exch_to_recv_p50_us=e2r,
                    status=status,
                )
            )
        return rows
