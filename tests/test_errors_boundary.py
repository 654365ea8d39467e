"""What crosses the Rust/Python boundary: every error the extension raises is a class of
`hftpy.errors` (each Rust `FeedError` variant its own subclass of `FeedError`, limiter and
statistics misuse `ConfigError` or a `LookupError` subclass), never a bare builtin; and the
strings of the events' enum-like attributes are exactly the `Literal`s of `_core.pyi`.

Everything is triggered through the public API with real feeds and real frames."""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hftpy import _core
from hftpy._core import (
    BackpackFeed,
    BinanceFeed,
    KrakenFeed,
    LatencyStats,
    RateLimiter,
    ResyncEvent,
    UpbitFeed,
)
from hftpy.errors import (
    BadFieldError,
    BadNumberError,
    ConfigError,
    DecimalError,
    FeedError,
    HftpyError,
    InstrumentError,
    MalformedFrameError,
    MissingFieldError,
    NumberOverflowError,
    TooPreciseError,
    UnknownLatencyKeyError,
    UnknownLimitError,
    UnknownSymbolError,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
BINDINGS = REPO_ROOT / "rust" / "py"
STUB = REPO_ROOT / "python" / "hftpy" / "_core.pyi"


def kraken() -> KrakenFeed:
    feed = KrakenFeed()
    feed.add_instrument("BTC/USD", 1, 8)
    return feed


def binance() -> BinanceFeed:
    feed = BinanceFeed()
    feed.add_instrument("BTCUSDT", 2, 8)
    return feed


def backpack() -> BackpackFeed:
    feed = BackpackFeed()
    feed.add_instrument("SOL_USDC", 2, 3)
    return feed


def upbit() -> UpbitFeed:
    feed = UpbitFeed()
    feed.add_instrument("KRW-BTC", 0, 8)
    return feed


def kraken_trade(**fields: str) -> bytes:
    values = {"symbol": '"BTC/USD"', "side": '"buy"', "price": "67000.1", "qty": "0.5"} | fields
    items = ",".join(f'"{k}":{v}' for k, v in values.items() if v)
    return (
        '{"channel":"trade","type":"update","data":[{' + items + ',"ord_type":"market",'
        '"trade_id":4665906,"timestamp":"2024-05-27T12:33:10.120000Z"}]}'
    ).encode()


BINANCE_TRADE = (
    '{"e":"trade","E":1723161255308,"s":"BTCUSDT","t":3704811,"p":"61837.63000000",'
    '"q":"0.00100000","T":1723161255307,"m":true,"M":true}'
)
BACKPACK_TRADE = (
    '{"stream":"trade.SOL_USDC","data":{"e":"trade","E":1694688638091000,"s":"SOL_USDC",'
    '"p":"18.68","q":"0.122","b":"111063114377265150","a":"111063114585735170","t":12345,'
    '"T":1694688638089000,"m":true}}'
)
UPBIT_TRADE = (
    '{"ty":"trade","cd":"KRW-BTC","tms":1704067200123,"td":"2024-01-01","ttm":"00:00:00",'
    '"ttms":1704067200000,"tp":100000000.0,"tv":0.01,"ab":"BID","pcp":99000000,"c":"RISE",'
    '"cp":1000000,"sid":1704067200000001,"st":"REALTIME"}'
)

# (feed, frame, the exact class, the field the error names or None)
FRAME_ERRORS: list[tuple[Callable[[], Any], bytes, type[FeedError], str | None]] = [
    # cut short, unbalanced, a value of the wrong JSON type
    (kraken, kraken_trade()[:-12], MalformedFrameError, None),
    (kraken, b'{"channel":"book","type":"snapshot","data":[{', MalformedFrameError, None),
    (kraken, kraken_trade(qty='{"a":1}'), MalformedFrameError, None),
    (binance, BINANCE_TRADE[:60].encode(), MalformedFrameError, None),
    (upbit, UPBIT_TRADE.replace('"cd":"KRW-BTC"', '"cd":7').encode(), MalformedFrameError, None),
    # a required field absent
    (kraken, kraken_trade(qty=""), MissingFieldError, "qty"),
    (binance, BINANCE_TRADE.replace(',"q":"0.00100000"', "").encode(), MissingFieldError, "q"),
    (
        upbit,
        UPBIT_TRADE.replace(',"tp":100000000.0', "").encode(),
        MissingFieldError,
        "trade_price",
    ),
    # a value the decoder cannot accept
    (kraken, kraken_trade(side='"hold"'), BadFieldError, "side"),
    (kraken, kraken_trade(qty="-1"), BadFieldError, "qty"),
    (backpack, BACKPACK_TRADE.replace('"q":"0.122"', '"q":"-0.122"').encode(), BadFieldError, "q"),
    (upbit, UPBIT_TRADE.replace('"ab":"BID"', '"ab":"XX"').encode(), BadFieldError, "ask_bid"),
    # a price or size that is not a number at the symbol's scale
    (kraken, kraken_trade(price='"abc"'), BadNumberError, "price"),
    (kraken, kraken_trade(price='""'), BadNumberError, "price"),
    (kraken, kraken_trade(price="67000.15"), TooPreciseError, "price"),
    (
        backpack,
        BACKPACK_TRADE.replace('"p":"18.68"', '"p":"18.681"').encode(),
        TooPreciseError,
        "p",
    ),
    (kraken, kraken_trade(price="1e30"), NumberOverflowError, "price"),
    (
        upbit,
        UPBIT_TRADE.replace('"tp":100000000.0', '"tp":99999999999999999999').encode(),
        NumberOverflowError,
        "trade_price",
    ),
    # a symbol this feed does not know
    (kraken, kraken_trade(symbol='"ETH/USD"'), UnknownSymbolError, None),
    (binance, BINANCE_TRADE.replace("BTCUSDT", "ETHUSDT").encode(), UnknownSymbolError, None),
    (upbit, UPBIT_TRADE.replace("KRW-BTC", "KRW-ETH").encode(), UnknownSymbolError, None),
]


@pytest.mark.parametrize(
    ("make_feed", "frame", "expected", "field"),
    FRAME_ERRORS,
    ids=[f"{f.__name__}-{e.__name__}-{i}" for i, (f, _, e, _) in enumerate(FRAME_ERRORS)],
)
def test_each_frame_error_has_its_own_class(
    make_feed: Callable[[], Any], frame: bytes, expected: type[FeedError], field: str | None
) -> None:
    feed = make_feed()
    with pytest.raises(FeedError) as info:
        feed.feed(frame, 1)
    error = info.value
    assert type(error) is expected, (type(error), error)
    # Code written against the old hierarchy keeps catching it.
    assert isinstance(error, HftpyError) and isinstance(error, ValueError)
    assert str(error)
    if field is not None:
        assert getattr(error, "field", None) == field
    if isinstance(error, BadNumberError):
        assert isinstance(error, DecimalError) and isinstance(error, BadFieldError)


def test_the_valid_frames_above_decode() -> None:
    """The error frames are one change away from these, which the feeds accept."""
    assert kraken().feed(kraken_trade(), 1) is not None
    assert binance().feed(BINANCE_TRADE.encode(), 1) is not None
    assert backpack().feed(BACKPACK_TRADE.encode(), 1) is not None
    assert upbit().feed(UPBIT_TRADE.encode(), 1) is not None


def _unknown_symbol(call: Callable[[], object]) -> UnknownSymbolError:
    with pytest.raises(UnknownSymbolError) as info:
        call()
    error = info.value
    assert type(error) is UnknownSymbolError
    assert isinstance(error, FeedError) and isinstance(error, LookupError)
    assert isinstance(error, HftpyError)
    assert not isinstance(error, IndexError | KeyError)
    return error


@pytest.mark.parametrize("make_feed", [kraken, binance, backpack, upbit])
def test_unknown_symbol_ids_and_names(make_feed: Callable[[], Any]) -> None:
    feed = make_feed()
    for call in (feed.scales, feed.best_bid, feed.best_ask, feed.top, feed.state, feed.book):
        assert _unknown_symbol(lambda call=call: call(7)).symbol == 7
    assert _unknown_symbol(lambda: feed.symbol_id("NOPE")).symbol == "NOPE"
    view = feed.book(0)
    assert view.best_bid() is None  # a view of a registered symbol reads fine


@pytest.mark.parametrize("make_feed", [binance, backpack])
def test_snapshot_errors(make_feed: Callable[[], Any]) -> None:
    feed = make_feed()
    body = b'{"lastUpdateId":100,"bids":[["1.00","1"]],"asks":[["2.00","1"]]}'
    assert _unknown_symbol(lambda: feed.apply_snapshot(3, body, 1)).symbol == 3
    assert _unknown_symbol(lambda: feed.snapshot_failed(3, 1)).symbol == 3
    with pytest.raises(MalformedFrameError):
        feed.apply_snapshot(0, body[:30], 1)
    with pytest.raises(MissingFieldError) as info:
        feed.apply_snapshot(0, b'{"bids":[],"asks":[]}', 1)
    assert info.value.field == "lastUpdateId"
    with pytest.raises(BadFieldError) as bad:
        feed.apply_snapshot(0, b'{"lastUpdateId":1,"bids":[["1.00"]],"asks":[]}', 1)
    assert type(bad.value) is BadFieldError and bad.value.field == "level"
    with pytest.raises(TooPreciseError):
        feed.apply_snapshot(0, b'{"lastUpdateId":1,"bids":[["1.000000001","1"]],"asks":[]}', 1)


@pytest.mark.parametrize("make_feed", [kraken, binance, backpack, upbit])
def test_refused_registrations_are_instrument_errors(make_feed: Callable[[], Any]) -> None:
    feed = make_feed()
    symbol = feed.symbols()[0]
    for args in [(symbol, 2, 8), ("NEW", 19, 8), ("NEW", 2, 19), ("NEW", 2, 8, 0)]:
        with pytest.raises(InstrumentError) as info:
            feed.add_instrument(*args)
        error = info.value
        assert type(error) is InstrumentError
        assert isinstance(error, FeedError) and isinstance(error, ConfigError)
    assert feed.symbols() == [symbol]


def test_limiter_misuse() -> None:
    for limits in [
        [("leaky", "x", 1, 1.0)],  # unknown kind
        [("bucket", "x", 0, 1.0)],  # no capacity
        [("bucket", "x", 1, float("nan"))],
        [("bucket", "x", 1, float("inf"))],  # a rate that is not finite
        [("window", "x", 1, 0.0, 1)],
        [("window", "x", 1, float("inf"), 1)],
        [("window", "x", 1, 1.0)],  # too short: no burst
        [("window", 3, 1, 1.0, 1)],  # a name that is not a str
        [("bucket", "x", "ten", 1.0)],
        ["bucket"],
    ]:
        with pytest.raises(ConfigError) as info:
            RateLimiter(limits)  # type: ignore[arg-type]
        assert type(info.value) is ConfigError, limits
    limiter = RateLimiter([("bucket", "weight", 10, 1.0)])
    calls: list[Callable[[], object]] = [
        lambda: limiter.index("orders"),
        lambda: limiter.try_acquire([(0, 1), (1, 1)]),
        lambda: limiter.resync(1, 1),
        lambda: limiter.block_for(1, 1.0),
        lambda: limiter.available(1),
    ]
    for call in calls:
        with pytest.raises(UnknownLimitError) as lookup:
            call()
        assert type(lookup.value) is UnknownLimitError
        assert isinstance(lookup.value, HftpyError) and isinstance(lookup.value, LookupError)
    assert limiter.available(0) == 10  # the refused multi-limit take took nothing


def test_latency_stats_misuse() -> None:
    stats = LatencyStats()
    key = stats.key("known")
    calls: list[Callable[[], object]] = [
        lambda: stats.record(key + 1, 1),
        lambda: stats.record_since(key + 1, time.monotonic_ns()),
        lambda: stats.record_event(key + 1, key, 5, 10, time.monotonic_ns()),
        lambda: stats.record_event(key, key + 1, 5, 10, time.monotonic_ns()),
        lambda: stats.name(key + 1),
    ]
    for call in calls:
        with pytest.raises(UnknownLatencyKeyError) as info:
            call()
        assert type(info.value) is UnknownLatencyKeyError
        assert isinstance(info.value, HftpyError) and isinstance(info.value, LookupError)
    assert stats.name(key) == "known"


def test_decimal_and_key_errors_outside_feeds() -> None:
    for call in [
        lambda: _core.parse_fixed("1.005", 2),
        lambda: _core.parse_fixed("1", 19),
        lambda: _core.parse_natural("x"),
        lambda: _core.format_fixed(1, 19),
    ]:
        with pytest.raises(DecimalError) as info:
            call()
        assert type(info.value) is DecimalError  # not a FeedError: no frame involved
    for call in [
        lambda: _core.KrakenSigner("not base64!"),
        lambda: _core.Ed25519Signer("short"),
        lambda: _core.HmacSha256Signer(""),
        lambda: _core.UpbitSigner("key", "secret", alg="RS256"),
    ]:
        with pytest.raises(ConfigError) as config:
            call()
        assert type(config.value) is ConfigError


# -- the bindings raise only hftpy.errors classes ---------------------------------------------

BUILTIN_EXCEPTION = re.compile(r"\bPy(\w+(Error|Exception|Warning))\b|\bnew_err\(|exception!")


def test_only_errors_rs_names_exception_classes() -> None:
    """rust/py/errors.rs imports the `hftpy.errors` classes and maps the Rust errors onto them;
    no other binding module raises a builtin (`PyValueError`, `PyIndexError`, ...) or builds
    an exception of its own."""
    sources = sorted(BINDINGS.glob("*.rs"))
    assert BINDINGS / "errors.rs" in sources
    offenders = {
        f"{path.name}:{number}": line.strip()
        for path in sources
        if path.name != "errors.rs"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if BUILTIN_EXCEPTION.search(line) and not line.lstrip().startswith("//")
    }
    assert offenders == {}
    errors_rs = (BINDINGS / "errors.rs").read_text()
    assert not re.search(r"\bPy(Value|Index|Type|Runtime|Key)Error\b", errors_rs)
    # Every class errors.rs imports exists in hftpy.errors.
    import hftpy.errors

    imported = re.findall(r"import_exception!\(hftpy\.errors, (\w+)\)", errors_rs)
    assert imported and all(name in hftpy.errors.__all__ for name in imported), imported


# -- the events' strings are the stub's Literals -----------------------------------------------


def _stub_literals() -> dict[str, set[str]]:
    """`{alias: {values}}` of the `Literal` aliases in _core.pyi."""
    found: dict[str, set[str]] = {}
    for node in ast.parse(STUB.read_text()).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            value = node.value
            if isinstance(value, ast.Subscript) and ast.unparse(value.value) == "Literal":
                items = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
                found[node.target.id] = {ast.literal_eval(item) for item in items}
    return found


def _interned(source: str, start: str, end: str) -> set[str]:
    section = source[source.index(start) : source.index(end, source.index(start))]
    return set(re.findall(r'intern!\(py, "(\w+)"\)', section))


def test_stub_literals_match_the_strings_rust_writes() -> None:
    literals = _stub_literals()
    market = (BINDINGS / "market.rs").read_text()
    assert literals["_ResyncReason"] == _interned(market, "Event::Resync(r)", "let action")
    assert literals["_ResyncAction"] == _interned(market, "let action", "Py::new")
    assert literals["_Status"] == _interned(market, "Event::Status(status)", "Py::new")
    assert literals["_Side"] == _interned(market, "fn side_str", "fn trade_event")
    assert literals["_OtherKind"] == _interned(market, "Event::Unrecognized |", "Py::new")


def _depth(first: int, last: int, bids: str = "[]", asks: str = "[]") -> bytes:
    return (
        '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,'
        f'"s":"BTCUSDT","U":{first},"u":{last},"b":{bids},"a":{asks}}}}}'
    ).encode()


def test_resync_events_carry_the_stubs_strings() -> None:
    literals = _stub_literals()
    seen: list[ResyncEvent] = []

    def resync(event: object) -> None:
        assert type(event) is ResyncEvent, event
        seen.append(event)

    feed = binance()
    resync(feed.feed(_depth(100, 105), 1))  # initial
    resync(feed.snapshot_failed(0, 2))
    resync(feed.apply_snapshot(0, b'{"lastUpdateId":10,"bids":[],"asks":[]}', 3))  # stale
    assert feed.apply_snapshot(0, b'{"lastUpdateId":102,"bids":[],"asks":[]}', 4) is not None
    resync(feed.feed(_depth(107, 108), 5))  # gap
    crossed = upbit()
    resync(
        crossed.feed(
            b'{"ty":"orderbook","cd":"KRW-BTC","tms":1,"obu":[{"ap":100,"bp":101,"as":1,"bs":1}]}',
            6,
        )
    )
    checksum = kraken()
    resync(
        checksum.feed(
            b'{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":'
            b'[{"price":29430.2,"qty":1.0}],"asks":[{"price":29430.4,"qty":1.0}],"checksum":0}]}',
            7,
        )
    )
    reasons = [event.reason for event in seen]
    assert reasons == [
        "initial",
        "snapshot_failed",
        "stale_snapshot",
        "sequence_gap",
        "crossed",
        "checksum_mismatch",
    ]
    assert set(reasons) <= literals["_ResyncReason"]
    assert {event.action for event in seen} == literals["_ResyncAction"]
