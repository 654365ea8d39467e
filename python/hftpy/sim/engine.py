"""Price-time priority matching engine shared by every venue front-end.

Prices are integer ticks of 10**-price_decimals and quantities integer lots of 10**-qty_decimals,
per instrument. Money (balances, costs, fees) is an integer count of 10**-AMOUNT_DECIMALS of the
asset, so every product price x qty is exact and nothing passes through a float.

Front-ends subscribe to three kinds of events, delivered synchronously from the engine call that
caused them: book level changes and trades per instrument (market data), and order and balance
events per account (private streams).
"""

from __future__ import annotations

import base64
import bisect
import enum
import random
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal

__all__ = [
    "AMOUNT_DECIMALS",
    "DEFAULT_INSTRUMENTS",
    "Account",
    "Balance",
    "BalanceEvent",
    "Book",
    "BookSide",
    "Engine",
    "Fill",
    "Instrument",
    "Order",
    "OrderEvent",
    "OrderRejected",
    "OrderType",
    "RejectReason",
    "Side",
    "TimeInForce",
    "Trade",
    "kraken_id",
]

Side = Literal["buy", "sell"]
BookSideName = Literal["bid", "ask"]
OrderType = Literal["limit", "market"]
TimeInForce = Literal["gtc", "ioc", "gtd"]
OrderStatus = Literal["new", "partially_filled", "filled", "canceled", "expired"]
_FinalStatus = Literal["filled", "canceled", "expired"]
EventKind = Literal["new", "trade", "filled", "canceled", "expired", "amended"]

AMOUNT_DECIMALS: Final = 18
_PPM: Final = 1_000_000
_POW10: Final[tuple[int, ...]] = tuple(10**i for i in range(AMOUNT_DECIMALS + 1))


def _amount(value: Decimal | str | int) -> int:
    """Decimal text or number -> integer amount at AMOUNT_DECIMALS (exact)."""
    scaled = Decimal(value).scaleb(AMOUNT_DECIMALS)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {AMOUNT_DECIMALS} decimals")
    return int(scaled)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def kraken_id(rng: random.Random, first: str) -> str:
    """A Kraken-style id `OXXXXX-XXXXX-XXXXXX`: 6-5-6 upper-case base32 characters."""
    text = first + base64.b32encode(rng.randbytes(10)).decode()  # 80 bits: 16 characters
    return f"{text[:6]}-{text[6:11]}-{text[11:]}"


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable pair. `tick` and `min_qty`/`min_cost` are in human units (Decimal text)."""

    venue: str
    symbol: str
    base: str
    quote: str
    price_decimals: int
    qty_decimals: int
    min_qty: Decimal
    min_cost: Decimal
    mid: Decimal
    cost_decimals: int
    tick: Decimal = Decimal(0)  # 0: one unit of the last price decimal

    @property
    def tick_units(self) -> int:
        """The price increment in price units (ticks of 10**-price_decimals)."""
        return max(1, int(self.tick.scaleb(self.price_decimals)))

    @property
    def min_lots(self) -> int:
        return int(self.min_qty.scaleb(self.qty_decimals))

    @property
    def min_cost_amount(self) -> int:
        return _amount(self.min_cost)

    def price_units(self, price: Decimal) -> int | None:
        """Exact price in ticks, or None when it has more decimals than the instrument allows."""
        scaled = price.scaleb(self.price_decimals)
        if scaled != scaled.to_integral_value():
            return None
        return int(scaled)

    def qty_units(self, qty: Decimal) -> int | None:
        """Exact quantity in lots, or None when it has more decimals than the instrument allows."""
        scaled = qty.scaleb(self.qty_decimals)
        if scaled != scaled.to_integral_value():
            return None
        return int(scaled)

    def cost(self, price: int, lots: int) -> int:
        """Quote amount (at AMOUNT_DECIMALS) of `lots` at `price`."""
        return price * lots * _POW10[AMOUNT_DECIMALS - self.price_decimals - self.qty_decimals]

    def base_amount(self, lots: int) -> int:
        return lots * _POW10[AMOUNT_DECIMALS - self.qty_decimals]


def _inst(
    venue: str,
    symbol: str,
    base: str,
    quote: str,
    price_decimals: int,
    qty_decimals: int,
    min_qty: str,
    min_cost: str,
    mid: str,
    cost_decimals: int,
    tick: str = "0",
) -> Instrument:
    return Instrument(
        venue,
        symbol,
        base,
        quote,
        price_decimals,
        qty_decimals,
        Decimal(min_qty),
        Decimal(min_cost),
        Decimal(mid),
        cost_decimals,
        Decimal(tick),
    )


DEFAULT_INSTRUMENTS: Final[tuple[Instrument, ...]] = (
    _inst("kraken", "BTC/USD", "BTC", "USD", 1, 8, "0.0001", "0.5", "100000", 5),
    _inst("kraken", "ETH/USD", "ETH", "USD", 2, 8, "0.002", "0.5", "3500", 5),
    _inst("kraken", "EUR/USD", "EUR", "USD", 5, 8, "0.5", "0.5", "1.08", 8),
    _inst("binance", "BTCUSDT", "BTC", "USDT", 2, 5, "0.00001", "5", "100000", 8),
    _inst("binance", "ETHUSDT", "ETH", "USDT", 2, 4, "0.0001", "5", "3500", 8),
    _inst("backpack", "SOL_USDC", "SOL", "USDC", 2, 2, "0.01", "0", "150", 8),
    _inst("backpack", "BTC_USDC", "BTC", "USDC", 1, 5, "0.00001", "0", "100000", 8),
    # Upbit's KRW tick is 1000 at these price levels; its minimum is a 5000 KRW order cost.
    _inst("upbit", "KRW-BTC", "BTC", "KRW", 0, 8, "0.00000001", "5000", "140000000", 0, "1000"),
    _inst("upbit", "KRW-ETH", "ETH", "KRW", 0, 8, "0.00000001", "5000", "5000000", 0, "1000"),
)


class RejectReason(enum.Enum):
    """Why the engine refused an order; each front-end maps these to its venue's error text."""

    INSUFFICIENT_FUNDS = "insufficient funds"
    POST_ONLY = "post-only order would take liquidity"
    UNKNOWN_ORDER = "unknown order"
    DUPLICATE_CL_ORD_ID = "client order id already in use"


class OrderRejected(Exception):
    def __init__(self, reason: RejectReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(slots=True)
class Balance:
    """Per-asset balance in AMOUNT_DECIMALS units; `held` is reserved by open orders."""

    total: int = 0
    held: int = 0

    @property
    def available(self) -> int:
        return self.total - self.held


@dataclass(slots=True, eq=False)
class Order:
    order_id: str
    account: Account
    instrument: Instrument
    side: Side
    order_type: OrderType
    price: int | None  # ticks; None for market orders
    qty: int  # lots, the order's total quantity (including what is filled)
    time_in_force: TimeInForce
    post_only: bool
    cl_ord_id: str | None
    userref: int | None
    created_ns: int
    expire_ns: int | None = None
    amended_ns: int = 0  # creation or last amend: Kraken's rate counter charges by this age
    filled: int = 0
    cum_cost: int = 0  # quote amount
    fees: int = 0  # quote amount
    held: int = 0  # amount of the hold asset reserved for the unfilled part
    status: OrderStatus = "new"

    @property
    def remaining(self) -> int:
        return self.qty - self.filled

    @property
    def is_open(self) -> bool:
        return self.status in ("new", "partially_filled")


@dataclass(frozen=True, slots=True)
class Fill:
    """One side of a trade as seen by one order."""

    exec_id: str
    trade_id: int
    price: int
    qty: int
    cost: int
    fee: int
    maker: bool


@dataclass(frozen=True, slots=True)
class OrderEvent:
    kind: EventKind
    order: Order
    ts_ns: int
    fill: Fill | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class BalanceEvent:
    """A ledger entry: `amount` (signed, fee excluded) and `fee` moved `asset`'s total."""

    account: Account
    asset: str
    amount: int
    fee: int
    total: int
    ref_id: str
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Trade:
    instrument: Instrument
    price: int
    qty: int
    taker_side: Side
    taker_type: OrderType
    trade_id: int
    ts_ns: int


OrderListener = Callable[[OrderEvent], None]
BalanceListener = Callable[[BalanceEvent], None]
LevelListener = Callable[[Instrument, BookSideName, int, int], None]
TradeListener = Callable[[Trade], None]


@dataclass(eq=False)
class Account:
    """A trading account; `unlimited` ones (synthetic flow) skip funds and balance bookkeeping."""

    name: str
    maker_fee_ppm: int = 0
    taker_fee_ppm: int = 0
    unlimited: bool = False
    balances: dict[str, Balance] = field(default_factory=dict)
    open_orders: dict[str, Order] = field(default_factory=dict)
    open_per_symbol: dict[str, int] = field(default_factory=dict)
    by_cl_ord_id: dict[str, Order] = field(default_factory=dict)
    recent_fills: deque[OrderEvent] = field(default_factory=lambda: deque(maxlen=50))
    order_listeners: list[OrderListener] = field(default_factory=list)
    balance_listeners: list[BalanceListener] = field(default_factory=list)

    def balance(self, asset: str) -> Balance:
        bal = self.balances.get(asset)
        if bal is None:
            bal = self.balances[asset] = Balance()
        return bal

    def open_count(self, symbol: str) -> int:
        return self.open_per_symbol.get(symbol, 0)


class Level:
    """Orders resting at one price; dict insertion order is time priority."""

    __slots__ = ("orders", "qty")

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.qty = 0


class BookSide:
    __slots__ = ("is_bid", "levels", "name", "prices")

    def __init__(self, is_bid: bool) -> None:
        self.is_bid = is_bid
        self.name: BookSideName = "bid" if is_bid else "ask"
        self.levels: dict[int, Level] = {}
        self.prices: list[int] = []  # ascending; best bid is last, best ask first

    def best(self) -> int | None:
        if not self.prices:
            return None
        return self.prices[-1] if self.is_bid else self.prices[0]

    def depth(self, n: int) -> list[tuple[int, int]]:
        """Best `n` levels as (price, qty), best first."""
        # a deep book holds thousands of levels: slice the best n, never copy the whole side
        prices = self.prices[: -n - 1 : -1] if self.is_bid else self.prices[:n]
        return [(p, self.levels[p].qty) for p in prices]

    def crosses(self, price: int) -> bool:
        """Would an opposite-side order at `price` trade against this side?"""
        best = self.best()
        if best is None:
            return False
        return price <= best if self.is_bid else price >= best


class Book:
    __slots__ = ("asks", "bids", "instrument", "last_trade_id")

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.bids = BookSide(is_bid=True)
        self.asks = BookSide(is_bid=False)
        self.last_trade_id = 0

    def own_side(self, side: Side) -> BookSide:
        return self.bids if side == "buy" else self.asks

    def opposite(self, side: Side) -> BookSide:
        return self.asks if side == "buy" else self.bids


def _round_to_tick(inst: Instrument, price: Decimal) -> int:
    tick = inst.tick_units
    return round(price.scaleb(inst.price_decimals) / tick) * tick


def _fee(inst: Instrument, cost: int, fee_ppm: int) -> int:
    """Fee rounded up to the instrument's cost precision."""
    if fee_ppm == 0:
        return 0
    step = _POW10[AMOUNT_DECIMALS - inst.cost_decimals]
    return _ceil_div(cost * fee_ppm, _PPM * step) * step


def _hold_asset(inst: Instrument, side: Side) -> str:
    """What an order reserves: quote for buys, base for sells."""
    return inst.quote if side == "buy" else inst.base


class Engine:
    """Books per symbol, accounts, and the matching that moves balances between them."""

    def __init__(self, instruments: Iterable[Instrument] = DEFAULT_INSTRUMENTS, seed: int = 0):
        self.instruments: dict[str, Instrument] = {}
        self.books: dict[str, Book] = {}
        self.mids: dict[str, int] = {}
        for inst in instruments:
            if inst.symbol in self.instruments:
                raise ValueError(f"duplicate symbol {inst.symbol}")
            self.instruments[inst.symbol] = inst
            self.books[inst.symbol] = Book(inst)
            self.mids[inst.symbol] = _round_to_tick(inst, inst.mid)
        self.accounts: dict[str, Account] = {}
        self.rng = random.Random(f"engine:{seed}")
        self.level_listeners: list[LevelListener] = []
        self.trade_listeners: list[TradeListener] = []

    # ----- configuration and queries -----

    def add_account(
        self,
        name: str,
        balances: Mapping[str, Decimal | str | int] | None = None,
        *,
        maker_fee: Decimal | str = "0",
        taker_fee: Decimal | str = "0",
        unlimited: bool = False,
    ) -> Account:
        """Create an account; fees are fractions (`"0.0025"` is 0.25 %)."""
        if name in self.accounts:
            raise ValueError(f"duplicate account {name}")
        account = Account(
            name,
            maker_fee_ppm=int(Decimal(maker_fee) * _PPM),
            taker_fee_ppm=int(Decimal(taker_fee) * _PPM),
            unlimited=unlimited,
        )
        for asset, value in (balances or {}).items():
            account.balance(asset).total = _amount(value)
        self.accounts[name] = account
        return account

    def account(self, name: str) -> Account:
        return self.accounts[name]

    def instrument(self, symbol: str) -> Instrument:
        return self.instruments[symbol]

    def book(self, symbol: str) -> Book:
        return self.books[symbol]

    def set_mid(self, symbol: str, price: Decimal | str) -> None:
        """Re-centre a symbol: the synthetic flow quotes around this price from its next step."""
        self.mids[symbol] = _round_to_tick(self.instruments[symbol], Decimal(price))

    def open_orders(self, account: Account, symbol: str | None = None) -> list[Order]:
        return [
            o
            for o in account.open_orders.values()
            if symbol is None or o.instrument.symbol == symbol
        ]

    def find_order(self, account: Account, order_id: str) -> Order | None:
        return account.open_orders.get(order_id)

    def find_by_cl_ord_id(self, account: Account, cl_ord_id: str) -> Order | None:
        return account.by_cl_ord_id.get(cl_ord_id)

    def find_by_userref(self, account: Account, userref: int) -> list[Order]:
        return [o for o in account.open_orders.values() if o.userref == userref]

    # ----- order entry -----

    def place(
        self,
        account: Account,
        symbol: str,
        side: Side,
        qty: int,
        *,
        price: int | None = None,
        order_type: OrderType = "limit",
        time_in_force: TimeInForce = "gtc",
        post_only: bool = False,
        cl_ord_id: str | None = None,
        userref: int | None = None,
        expire_ns: int | None = None,
        validate_only: bool = False,
    ) -> Order:
        """Accept, match, and rest (or cancel the rest of) an order.

        Raises OrderRejected before anything changes. With `validate_only` the checks run and
        the returned order is never entered.
        """
        inst = self.instruments[symbol]
        book = self.books[symbol]
        if order_type == "market":
            price = None
            post_only = False
        elif price is None:
            raise ValueError("limit orders need a price")
        if post_only and price is not None and book.opposite(side).crosses(price):
            raise OrderRejected(RejectReason.POST_ONLY)
        if cl_ord_id is not None and cl_ord_id in account.by_cl_ord_id:
            raise OrderRejected(RejectReason.DUPLICATE_CL_ORD_ID)
        hold = self._required_hold(account, book, side, price, qty)
        if not account.unlimited and hold > account.balance(_hold_asset(inst, side)).available:
            raise OrderRejected(RejectReason.INSUFFICIENT_FUNDS)
        now = time.time_ns()
        order = Order(
            kraken_id(self.rng, "O"),
            account,
            inst,
            side,
            order_type,
            price,
            qty,
            time_in_force,
            post_only,
            cl_ord_id,
            userref,
            created_ns=now,
            expire_ns=expire_ns,
            amended_ns=now,
        )
        if validate_only:
            return order
        self._hold(order, hold)
        account.open_orders[order.order_id] = order
        account.open_per_symbol[symbol] = account.open_per_symbol.get(symbol, 0) + 1
        if cl_ord_id is not None:
            account.by_cl_ord_id[cl_ord_id] = order
        self._emit(OrderEvent("new", order, now))
        self._match_and_rest(order, book)
        return order

    def cancel(self, order: Order, reason: str = "User requested") -> None:
        if not order.is_open:
            raise OrderRejected(RejectReason.UNKNOWN_ORDER)
        self._unrest(order)
        self._finish(order, "canceled", time.time_ns(), reason)

    def cancel_all(
        self, account: Account, symbol: str | None = None, reason: str = "User requested"
    ) -> int:
        orders = self.open_orders(account, symbol)
        for order in orders:
            self.cancel(order, reason)
        return len(orders)

    def expire(self, order: Order) -> None:
        """End a good-till-date order whose time has come (no-op when already closed)."""
        if order.is_open:
            self._unrest(order)
            self._finish(order, "expired", time.time_ns(), "Order expired")

    def amend(
        self,
        order: Order,
        *,
        qty: int | None = None,
        price: int | None = None,
        post_only: bool = False,
    ) -> None:
        """Change an open limit order in place, keeping its id.

        A smaller quantity keeps time priority; a new price or a larger quantity sends the order
        to the back of its (new) level, matching first if the new price crosses. A quantity at or
        below what is filled cancels the rest.
        """
        if not order.is_open or order.price is None:
            raise OrderRejected(RejectReason.UNKNOWN_ORDER)
        new_qty = order.qty if qty is None else qty
        new_price = order.price if price is None else price
        book = self.books[order.instrument.symbol]
        if new_qty <= order.filled:
            self.cancel(order, "Order quantity amended below filled quantity")
            return
        price_changed = new_price != order.price
        if price_changed and post_only and book.opposite(order.side).crosses(new_price):
            raise OrderRejected(RejectReason.POST_ONLY)
        account = order.account
        new_hold = self._required_hold(account, book, order.side, new_price, new_qty - order.filled)
        asset = _hold_asset(order.instrument, order.side)
        if not account.unlimited and new_hold - order.held > account.balance(asset).available:
            raise OrderRejected(RejectReason.INSUFFICIENT_FUNDS)
        now = time.time_ns()
        self._hold(order, new_hold - order.held)
        if price_changed or new_qty > order.qty:
            self._unrest(order)
            order.qty, order.price, order.amended_ns = new_qty, new_price, now
            self._emit(OrderEvent("amended", order, now, reason="User requested"))
            self._match_and_rest(order, book)
        else:
            side = book.own_side(order.side)
            level = side.levels[new_price]
            level.qty -= order.qty - new_qty
            order.qty, order.amended_ns = new_qty, now
            self._level_changed(order.instrument, side, new_price, level.qty)
            self._emit(OrderEvent("amended", order, now, reason="User requested"))

    def set_cl_ord_id(self, order: Order, cl_ord_id: str | None) -> None:
        """Give an open order another client id (Binance's amend does), freeing the old one."""
        account = order.account
        if cl_ord_id is not None and account.by_cl_ord_id.get(cl_ord_id, order) is not order:
            raise OrderRejected(RejectReason.DUPLICATE_CL_ORD_ID)
        if order.cl_ord_id is not None and account.by_cl_ord_id.get(order.cl_ord_id) is order:
            del account.by_cl_ord_id[order.cl_ord_id]
        order.cl_ord_id = cl_ord_id
        if cl_ord_id is not None and order.is_open:
            account.by_cl_ord_id[cl_ord_id] = order

    def replace(
        self,
        order: Order,
        *,
        qty: int,
        price: int,
        post_only: bool,
        userref: int | None,
    ) -> Order:
        """Cancel-and-replace: a new order id for `qty` minus what the old order already filled."""
        if not order.is_open:
            raise OrderRejected(RejectReason.UNKNOWN_ORDER)
        book = self.books[order.instrument.symbol]
        if post_only and book.opposite(order.side).crosses(price):
            raise OrderRejected(RejectReason.POST_ONLY)
        account = order.account
        remaining = qty - order.filled
        hold = self._required_hold(account, book, order.side, price, remaining)
        asset = _hold_asset(order.instrument, order.side)
        if not account.unlimited and hold > account.balance(asset).available + order.held:
            raise OrderRejected(RejectReason.INSUFFICIENT_FUNDS)
        self.cancel(order, "Order replaced")
        return self.place(
            account,
            order.instrument.symbol,
            order.side,
            remaining,
            price=price,
            time_in_force=order.time_in_force,
            post_only=post_only,
            userref=userref,
            expire_ns=order.expire_ns,
        )

    # ----- matching -----

    def _match_and_rest(self, order: Order, book: Book) -> None:
        opposite = book.opposite(order.side)
        limit = order.price
        while order.remaining > 0:
            best = opposite.best()
            if best is None:
                break
            if limit is not None and (best > limit if order.side == "buy" else best < limit):
                break
            level = opposite.levels[best]
            maker = next(iter(level.orders.values()))
            self._fill(book, opposite, level, maker, order, min(order.remaining, maker.remaining))
        if order.remaining == 0:
            return
        if order.order_type == "market" or order.time_in_force == "ioc":
            reason = "Market order remainder not filled" if limit is None else "IOC remainder"
            self._finish(order, "canceled", time.time_ns(), reason)
            return
        assert limit is not None
        side = book.own_side(order.side)
        resting = side.levels.get(limit)
        if resting is None:
            resting = side.levels[limit] = Level()
            bisect.insort(side.prices, limit)
        resting.orders[order.order_id] = order
        resting.qty += order.remaining
        self._level_changed(order.instrument, side, limit, resting.qty)

    def _fill(
        self,
        book: Book,
        side: BookSide,
        level: Level,
        maker: Order,
        taker: Order,
        qty: int,
    ) -> None:
        inst = book.instrument
        price = maker.price
        assert price is not None
        now = time.time_ns()
        book.last_trade_id += 1
        trade_id = book.last_trade_id
        cost = inst.cost(price, qty)
        level.qty -= qty
        if maker.remaining == qty:
            del level.orders[maker.order_id]
        if level.qty == 0:
            del side.levels[price]
            del side.prices[bisect.bisect_left(side.prices, price)]
        self._level_changed(inst, side, price, level.qty)
        trade = Trade(inst, price, qty, taker.side, taker.order_type, trade_id, now)
        for listener in self.trade_listeners:
            listener(trade)
        for order, is_maker in ((maker, True), (taker, False)):
            account = order.account
            fee_ppm = account.maker_fee_ppm if is_maker else account.taker_fee_ppm
            fee = _fee(inst, cost, fee_ppm)
            fill = Fill(kraken_id(self.rng, "T"), trade_id, price, qty, cost, fee, is_maker)
            order.filled += qty
            order.cum_cost += cost
            order.fees += fee
            if order.remaining == 0:
                order.status = "filled"
            else:
                order.status = "partially_filled"
            event = OrderEvent("trade", order, now, fill)
            account.recent_fills.append(event)
            self._emit(event)
            self._settle(order, fill, now)
            if order.remaining == 0:
                self._finish(order, "filled", now, "")

    # ----- funds -----

    def _required_hold(
        self, account: Account, book: Book, side: Side, price: int | None, qty: int
    ) -> int:
        """Amount to reserve: base for sells; for buys the cost plus the worst-case (taker) fee."""
        inst = book.instrument
        if side == "sell":
            return inst.base_amount(qty)
        if price is not None:
            cost = inst.cost(price, qty)
        else:  # a market buy reserves what walking the book would cost
            cost = 0
            left = qty
            for level_price, level_qty in book.asks.depth(len(book.asks.prices)):
                take = min(left, level_qty)
                cost += inst.cost(level_price, take)
                left -= take
                if left == 0:
                    break
        return cost + _ceil_div(cost * account.taker_fee_ppm, _PPM)

    def _hold(self, order: Order, amount: int) -> None:
        if order.account.unlimited or amount == 0:
            return
        order.held += amount
        asset = _hold_asset(order.instrument, order.side)
        order.account.balance(asset).held += amount

    def _settle(self, order: Order, fill: Fill, now: int) -> None:
        """Move balances for one fill and release the matching part of the order's hold."""
        account = order.account
        if account.unlimited:
            return
        inst = order.instrument
        base_amount = inst.base_amount(fill.qty)
        if order.side == "buy":
            reserved = fill.cost if order.price is None else inst.cost(order.price, fill.qty)
            release = reserved + _ceil_div(reserved * account.taker_fee_ppm, _PPM)
            gross, base_delta = -fill.cost, base_amount
        else:
            release = base_amount
            gross, base_delta = fill.cost, -base_amount
        self._hold(order, -min(release, order.held))
        quote = account.balance(inst.quote)
        base = account.balance(inst.base)
        quote.total += gross - fill.fee
        base.total += base_delta
        ref = fill.exec_id
        events = (
            BalanceEvent(account, inst.base, base_delta, 0, base.total, ref, now),
            BalanceEvent(account, inst.quote, gross, fill.fee, quote.total, ref, now),
        )
        for listener in account.balance_listeners:
            for event in events:
                listener(event)

    # ----- bookkeeping -----

    def _unrest(self, order: Order) -> None:
        """Take an order off the book (it may not be resting: market, mid-match, amending)."""
        if order.price is None:
            return
        side = self.books[order.instrument.symbol].own_side(order.side)
        level = side.levels.get(order.price)
        if level is None or level.orders.pop(order.order_id, None) is None:
            return
        level.qty -= order.remaining
        if not level.orders:
            del side.levels[order.price]
            del side.prices[bisect.bisect_left(side.prices, order.price)]
        self._level_changed(order.instrument, side, order.price, level.qty)

    def _finish(self, order: Order, status: _FinalStatus, now: int, reason: str) -> None:
        order.status = status
        self._hold(order, -order.held)
        account = order.account
        del account.open_orders[order.order_id]
        account.open_per_symbol[order.instrument.symbol] -= 1
        if order.cl_ord_id is not None and account.by_cl_ord_id.get(order.cl_ord_id) is order:
            del account.by_cl_ord_id[order.cl_ord_id]
        self._emit(OrderEvent(status, order, now, reason=reason))

    def _emit(self, event: OrderEvent) -> None:
        for listener in event.order.account.order_listeners:
            listener(event)

    def _level_changed(self, inst: Instrument, side: BookSide, price: int, qty: int) -> None:
        for listener in self.level_listeners:
            listener(inst, side.name, price, qty)
