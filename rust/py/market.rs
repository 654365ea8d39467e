//! Market-data feeds for Python: one class per venue (`KrakenFeed`, `BinanceFeed`,
//! `BackpackFeed`, `UpbitFeed`) wrapping the pure-Rust decoders and books, the small frozen
//! event objects `feed()` returns, and a book view that reads the Rust-owned book in place.
//!
//! `feed(payload, recv_ns)` takes the frame through the buffer protocol without copying (a
//! picows memoryview, `bytes`, `bytearray`); prices and sizes stay fixed-point integers at the
//! instrument's scales, and stamps are integer nanoseconds. Nothing here builds a dict.

use pyo3::ffi;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString, PyTuple};

use super::errors::unknown_symbol_id;
use crate::backpack::BackpackFeed as RsBackpackFeed;
use crate::binance::BinanceFeed as RsBinanceFeed;
use crate::book::{Book, Ladder};
use crate::json::unescape;
use crate::kraken::KrakenFeed as RsKrakenFeed;
use crate::market::{
    BookKind, Event, Instrument, MarketFeed, Resync, ResyncAction, ResyncReason, Side, SymbolId,
    SymbolState, SystemStatus, Trade,
};
use crate::upbit::UpbitFeed as RsUpbitFeed;

/// Runs `f` on the bytes of `obj` without copying them: `bytes` directly, anything else
/// through the buffer protocol (contiguous buffers only), released when `f` returns.
fn with_payload<R>(obj: &Bound<'_, PyAny>, f: impl FnOnce(&[u8]) -> R) -> PyResult<R> {
    if let Ok(bytes) = obj.cast::<PyBytes>() {
        return Ok(f(bytes.as_bytes()));
    }
    struct Release(*mut ffi::Py_buffer);
    impl Drop for Release {
        fn drop(&mut self) {
            // SAFETY: the view was filled by a successful PyObject_GetBuffer and is released once.
            unsafe { ffi::PyBuffer_Release(self.0) }
        }
    }
    let mut view = std::mem::MaybeUninit::<ffi::Py_buffer>::uninit();
    // SAFETY: PyBUF_SIMPLE asks for a contiguous unsigned-byte buffer; on success `view` is
    // initialised and stays valid (and unmoved) until the guard releases it.
    unsafe {
        if ffi::PyObject_GetBuffer(obj.as_ptr(), view.as_mut_ptr(), ffi::PyBUF_SIMPLE) != 0 {
            return Err(PyErr::fetch(obj.py()));
        }
        let guard = Release(view.as_mut_ptr());
        let raw = &*guard.0;
        let bytes = if raw.len <= 0 || raw.buf.is_null() {
            &[][..]
        } else {
            std::slice::from_raw_parts(raw.buf as *const u8, raw.len as usize)
        };
        Ok(f(bytes))
    }
}

// ---------------------------------------------------------------------------------------------
// Events

/// A symbol's book changed and is valid.
// A freelist recycles these per-message objects instead of a malloc/free each.
#[pyclass(frozen, get_all, freelist = 64, module = "hftpy._core")]
pub struct BookEvent {
    symbol: Py<PyString>,
    symbol_id: SymbolId,
    /// True when the book was replaced as a whole.
    snapshot: bool,
    sequence: Option<u64>,
    checksum: Option<u32>,
    exch_ns: Option<u64>,
    recv_ns: u64,
}

#[pymethods]
impl BookEvent {
    fn __repr__(&self) -> String {
        format!(
            "BookEvent(symbol={}, snapshot={}, sequence={}, checksum={}, exch_ns={}, recv_ns={})",
            self.symbol,
            py_bool(self.snapshot),
            opt(self.sequence),
            opt(self.checksum),
            opt(self.exch_ns),
            self.recv_ns
        )
    }
}

/// One public trade; `price` and `qty` are mantissas at `price_scale` / `qty_scale`.
// A freelist recycles these per-message objects instead of a malloc/free each.
#[pyclass(frozen, get_all, freelist = 64, module = "hftpy._core")]
pub struct TradeEvent {
    symbol: Py<PyString>,
    symbol_id: SymbolId,
    price: i64,
    qty: i64,
    /// The aggressor side, `"buy"` or `"sell"`.
    side: Py<PyString>,
    trade_id: u64,
    aggregated: bool,
    price_scale: u8,
    qty_scale: u8,
    exch_ns: u64,
    recv_ns: u64,
}

#[pymethods]
impl TradeEvent {
    fn __repr__(&self) -> String {
        format!(
            "TradeEvent(symbol={}, side={}, price={}, qty={}, trade_id={}, exch_ns={}, recv_ns={})",
            self.symbol, self.side, self.price, self.qty, self.trade_id, self.exch_ns, self.recv_ns
        )
    }
}

/// Several trades in one frame (Kraken).
#[pyclass(frozen, get_all, module = "hftpy._core")]
pub struct TradeBatchEvent {
    trades: Py<PyTuple>,
    recv_ns: u64,
}

/// Best bid and offer as the venue publishes it (`bookTicker`).
// A freelist recycles these per-message objects instead of a malloc/free each.
#[pyclass(frozen, get_all, freelist = 64, module = "hftpy._core")]
pub struct QuoteEvent {
    symbol: Py<PyString>,
    symbol_id: SymbolId,
    bid_price: i64,
    bid_qty: i64,
    ask_price: i64,
    ask_qty: i64,
    update_id: Option<u64>,
    price_scale: u8,
    qty_scale: u8,
    exch_ns: Option<u64>,
    recv_ns: u64,
}

#[pymethods]
impl QuoteEvent {
    fn __repr__(&self) -> String {
        format!(
            "QuoteEvent(symbol={}, bid=({}, {}), ask=({}, {}), update_id={}, recv_ns={})",
            self.symbol,
            self.bid_price,
            self.bid_qty,
            self.ask_price,
            self.ask_qty,
            opt(self.update_id),
            self.recv_ns
        )
    }
}

/// Rolling statistics; fields the venue omits are None.
#[pyclass(frozen, get_all, module = "hftpy._core")]
pub struct TickerEvent {
    symbol: Py<PyString>,
    symbol_id: SymbolId,
    last: i64,
    open: Option<i64>,
    high: Option<i64>,
    low: Option<i64>,
    volume: Option<i64>,
    bid: Option<(i64, i64)>,
    ask: Option<(i64, i64)>,
    price_scale: u8,
    qty_scale: u8,
    exch_ns: Option<u64>,
    recv_ns: u64,
}

#[pymethods]
impl TickerEvent {
    fn __repr__(&self) -> String {
        format!(
            "TickerEvent(symbol={}, last={}, bid={}, ask={}, recv_ns={})",
            self.symbol,
            self.last,
            opt(self.bid.map(|(p, q)| format!("({p}, {q})"))),
            opt(self.ask.map(|(p, q)| format!("({p}, {q})"))),
            self.recv_ns
        )
    }
}

/// A symbol's book cannot be trusted and needs a snapshot. `action` is `"resubscribe"` or
/// `"fetch_snapshot"`; `reason` one of `initial`, `checksum_mismatch` (detail: expected,
/// computed), `sequence_gap` (expected, received), `stale_snapshot` (snapshot id, first update
/// id), `crossed` (bid, ask), `buffer_overflow`.
#[pyclass(frozen, get_all, module = "hftpy._core")]
pub struct ResyncEvent {
    symbol: Py<PyString>,
    symbol_id: SymbolId,
    reason: Py<PyString>,
    action: Py<PyString>,
    detail: Option<Py<PyTuple>>,
    exch_ns: Option<u64>,
    recv_ns: u64,
}

#[pymethods]
impl ResyncEvent {
    fn __repr__(&self, py: Python<'_>) -> String {
        let detail = match &self.detail {
            Some(d) => d.bind(py).to_string(),
            None => "None".into(),
        };
        format!(
            "ResyncEvent(symbol={}, reason={}, action={}, detail={}, recv_ns={})",
            self.symbol, self.reason, self.action, detail, self.recv_ns
        )
    }
}

/// The venue's trading state: `online`, `cancel_only`, `post_only`, `maintenance`,
/// `shutting_down` (reconnect) or `other`.
#[pyclass(frozen, get_all, module = "hftpy._core")]
pub struct StatusEvent {
    status: Py<PyString>,
    recv_ns: u64,
}

#[pymethods]
impl StatusEvent {
    fn __repr__(&self) -> String {
        format!(
            "StatusEvent(status={}, recv_ns={})",
            self.status, self.recv_ns
        )
    }
}

/// A keep-alive frame.
#[pyclass(frozen, get_all, module = "hftpy._core")]
pub struct HeartbeatEvent {
    recv_ns: u64,
}

/// A reply to a request sent on the connection (subscribe ack, pong, error frame).
#[pyclass(frozen, get_all, module = "hftpy._core")]
pub struct ReplyEvent {
    method: Option<String>,
    req_id: Option<i64>,
    success: bool,
    error: Option<String>,
    recv_ns: u64,
}

#[pymethods]
impl ReplyEvent {
    fn __repr__(&self) -> String {
        format!(
            "ReplyEvent(method={}, req_id={}, success={}, error={}, recv_ns={})",
            opt(self.method.as_ref().map(|m| format!("{m:?}"))),
            opt(self.req_id),
            py_bool(self.success),
            opt(self.error.as_ref().map(|e| format!("{e:?}"))),
            self.recv_ns
        )
    }
}

/// Kraken `instrument` channel: `KrakenFeed.pair_precisions()` holds the pairs.
#[pyclass(frozen, get_all, module = "hftpy._core")]
pub struct InstrumentsEvent {
    count: usize,
    recv_ns: u64,
}

/// A frame this decoder does not handle: `kind` is `"unrecognized"` (JSON on another
/// channel) or `"unparsable"` (not JSON).
#[pyclass(frozen, get_all, module = "hftpy._core")]
pub struct OtherEvent {
    kind: Py<PyString>,
    recv_ns: u64,
}

/// Health of one symbol's book.
#[pyclass(frozen, get_all, module = "hftpy._core")]
pub struct BookState {
    valid: bool,
    stale: bool,
    sequence: Option<u64>,
    checksum: Option<u32>,
    resyncs: u32,
    updates: u64,
    exch_ns: Option<u64>,
    recv_ns: u64,
}

#[pymethods]
impl BookState {
    fn __repr__(&self) -> String {
        format!(
            "BookState(valid={}, stale={}, sequence={}, checksum={}, resyncs={}, updates={}, exch_ns={}, recv_ns={})",
            py_bool(self.valid),
            py_bool(self.stale),
            opt(self.sequence),
            opt(self.checksum),
            self.resyncs,
            self.updates,
            opt(self.exch_ns),
            self.recv_ns
        )
    }
}

impl From<SymbolState> for BookState {
    fn from(s: SymbolState) -> Self {
        BookState {
            valid: s.valid,
            stale: false,
            sequence: s.sequence,
            checksum: s.checksum,
            resyncs: s.resyncs,
            updates: s.updates,
            exch_ns: s.last_exch_ns,
            recv_ns: s.last_recv_ns,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Conversion of Rust events

/// Per-feed Python-side data: each instrument's symbol as an interned `str` and its scales.
#[derive(Default)]
struct Names {
    symbols: Vec<Py<PyString>>,
    scales: Vec<(u8, u8)>,
    // The stream's liveness watchdog found the symbol's book subscription silent (`set_stale`).
    stale: Vec<bool>,
}

impl Names {
    #[inline]
    fn stale(&self, id: SymbolId) -> bool {
        self.stale.get(id as usize).copied().unwrap_or(false)
    }

    #[inline]
    fn symbol(&self, py: Python<'_>, id: SymbolId) -> Py<PyString> {
        self.symbols[id as usize].clone_ref(py)
    }

    #[inline]
    fn scales(&self, id: SymbolId) -> (u8, u8) {
        self.scales[id as usize]
    }
}

fn side_str(py: Python<'_>, side: Side) -> Py<PyString> {
    match side {
        Side::Buy => intern!(py, "buy").clone().unbind(),
        Side::Sell => intern!(py, "sell").clone().unbind(),
    }
}

fn trade_event(py: Python<'_>, names: &Names, t: &Trade, recv_ns: u64) -> TradeEvent {
    let (price_scale, qty_scale) = names.scales(t.symbol);
    TradeEvent {
        symbol: names.symbol(py, t.symbol),
        symbol_id: t.symbol,
        price: t.price,
        qty: t.qty,
        side: side_str(py, t.side),
        trade_id: t.trade_id,
        aggregated: t.aggregated,
        price_scale,
        qty_scale,
        exch_ns: t.exch_ts_ns,
        recv_ns,
    }
}

/// `Option` the way Python prints it.
fn opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "None".to_owned(), |v| v.to_string())
}

fn py_bool(value: bool) -> &'static str {
    if value {
        "True"
    } else {
        "False"
    }
}

fn text(raw: &[u8]) -> String {
    match unescape(raw) {
        Ok(s) => s.into_owned(),
        Err(_) => String::from_utf8_lossy(raw).into_owned(),
    }
}

/// A two-int detail tuple (every value involved fits an i128).
fn pair(py: Python<'_>, a: impl Into<i128>, b: impl Into<i128>) -> PyResult<Py<PyTuple>> {
    Ok((a.into(), b.into()).into_pyobject(py)?.unbind())
}

fn convert<F: MarketFeed>(
    py: Python<'_>,
    feed: &F,
    names: &Names,
    event: Event<'_>,
    recv_ns: u64,
) -> PyResult<Py<PyAny>> {
    let object = match event {
        Event::Book(b) => Py::new(
            py,
            BookEvent {
                symbol: names.symbol(py, b.symbol),
                symbol_id: b.symbol,
                snapshot: b.kind == BookKind::Snapshot,
                sequence: b.sequence,
                checksum: b.checksum,
                exch_ns: b.exch_ts_ns,
                recv_ns,
            },
        )?
        .into_any(),
        Event::Trade(t) => Py::new(py, trade_event(py, names, &t, recv_ns))?.into_any(),
        Event::TradeBatch { .. } => {
            let trades = feed
                .trade_batch()
                .iter()
                .map(|t| Py::new(py, trade_event(py, names, t, recv_ns)))
                .collect::<PyResult<Vec<_>>>()?;
            Py::new(
                py,
                TradeBatchEvent {
                    trades: PyTuple::new(py, trades)?.unbind(),
                    recv_ns,
                },
            )?
            .into_any()
        }
        Event::Quote(q) => {
            let (price_scale, qty_scale) = names.scales(q.symbol);
            Py::new(
                py,
                QuoteEvent {
                    symbol: names.symbol(py, q.symbol),
                    symbol_id: q.symbol,
                    bid_price: q.bid_price,
                    bid_qty: q.bid_qty,
                    ask_price: q.ask_price,
                    ask_qty: q.ask_qty,
                    update_id: q.update_id,
                    price_scale,
                    qty_scale,
                    exch_ns: q.exch_ts_ns,
                    recv_ns,
                },
            )?
            .into_any()
        }
        Event::Ticker(t) => {
            let (price_scale, qty_scale) = names.scales(t.symbol);
            Py::new(
                py,
                TickerEvent {
                    symbol: names.symbol(py, t.symbol),
                    symbol_id: t.symbol,
                    last: t.last,
                    open: t.open,
                    high: t.high,
                    low: t.low,
                    volume: t.volume,
                    bid: t.bid,
                    ask: t.ask,
                    price_scale,
                    qty_scale,
                    exch_ns: t.exch_ts_ns,
                    recv_ns,
                },
            )?
            .into_any()
        }
        Event::Resync(r) => {
            let (reason, detail) = match r.reason {
                ResyncReason::Initial => (intern!(py, "initial"), None),
                ResyncReason::ChecksumMismatch { expected, computed } => (
                    intern!(py, "checksum_mismatch"),
                    Some(pair(py, expected, computed)?),
                ),
                ResyncReason::SequenceGap { expected, received } => (
                    intern!(py, "sequence_gap"),
                    Some(pair(py, expected, received)?),
                ),
                ResyncReason::StaleSnapshot {
                    snapshot_id,
                    first_update_id,
                } => (
                    intern!(py, "stale_snapshot"),
                    Some(pair(py, snapshot_id, first_update_id)?),
                ),
                ResyncReason::Crossed { bid, ask } => {
                    (intern!(py, "crossed"), Some(pair(py, bid, ask)?))
                }
                ResyncReason::BufferOverflow => (intern!(py, "buffer_overflow"), None),
                ResyncReason::SnapshotFailed => (intern!(py, "snapshot_failed"), None),
            };
            let action = match r.action {
                ResyncAction::Resubscribe => intern!(py, "resubscribe"),
                ResyncAction::FetchSnapshot => intern!(py, "fetch_snapshot"),
            };
            Py::new(
                py,
                ResyncEvent {
                    symbol: names.symbol(py, r.symbol),
                    symbol_id: r.symbol,
                    reason: reason.clone().unbind(),
                    action: action.clone().unbind(),
                    detail,
                    exch_ns: r.exch_ts_ns,
                    recv_ns,
                },
            )?
            .into_any()
        }
        Event::Status(status) => {
            let status = match status {
                SystemStatus::Online => intern!(py, "online"),
                SystemStatus::CancelOnly => intern!(py, "cancel_only"),
                SystemStatus::PostOnly => intern!(py, "post_only"),
                SystemStatus::Maintenance => intern!(py, "maintenance"),
                SystemStatus::ShuttingDown => intern!(py, "shutting_down"),
                SystemStatus::Other => intern!(py, "other"),
            };
            Py::new(
                py,
                StatusEvent {
                    status: status.clone().unbind(),
                    recv_ns,
                },
            )?
            .into_any()
        }
        Event::Instruments { count } => {
            Py::new(py, InstrumentsEvent { count, recv_ns })?.into_any()
        }
        Event::Heartbeat => Py::new(py, HeartbeatEvent { recv_ns })?.into_any(),
        Event::Reply(r) => Py::new(
            py,
            ReplyEvent {
                method: r.method.map(text),
                req_id: r.req_id,
                success: r.success,
                error: r.error.map(text),
                recv_ns,
            },
        )?
        .into_any(),
        Event::Unrecognized | Event::Unparsable => {
            let kind = if matches!(event, Event::Unparsable) {
                intern!(py, "unparsable")
            } else {
                intern!(py, "unrecognized")
            };
            Py::new(
                py,
                OtherEvent {
                    kind: kind.clone().unbind(),
                    recv_ns,
                },
            )?
            .into_any()
        }
    };
    Ok(object)
}

// ---------------------------------------------------------------------------------------------
// Book reads shared by the feeds and the book view

fn ladder_tuple<'py, X: Copy>(
    py: Python<'py>,
    ladder: &Ladder<X>,
    n: usize,
) -> PyResult<Bound<'py, PyTuple>> {
    let levels = ladder
        .iter()
        .take(n)
        .map(|level| (level.price, level.qty).into_pyobject(py))
        .collect::<PyResult<Vec<_>>>()?;
    PyTuple::new(py, levels)
}

fn book_of<F: MarketFeed>(feed: &F, id: SymbolId) -> PyResult<&Book<F::LevelExtra>> {
    feed.book(id).ok_or_else(|| unknown_symbol_id(id))
}

fn state_with<F: MarketFeed>(feed: &F, names: &Names, id: SymbolId) -> PyResult<BookState> {
    let mut state = state_of(feed, id)?;
    state.stale = names.stale(id);
    Ok(state)
}

fn state_of<F: MarketFeed>(feed: &F, id: SymbolId) -> PyResult<BookState> {
    feed.state(id)
        .map(BookState::from)
        .ok_or_else(|| unknown_symbol_id(id))
}

fn add_instrument<F: MarketFeed>(
    py: Python<'_>,
    feed: &mut F,
    names: &mut Names,
    symbol: &str,
    price_scale: u8,
    qty_scale: u8,
    depth: usize,
) -> PyResult<SymbolId> {
    // Finer than asked where the venue's text is (Binance: 8 decimals on every amount).
    let price_scale = price_scale.max(F::WIRE_SCALE);
    let qty_scale = qty_scale.max(F::WIRE_SCALE);
    let id = feed.add_instrument(Instrument {
        symbol: symbol.to_owned(),
        price_scale,
        qty_scale,
        depth,
    })?;
    names.symbols.push(PyString::intern(py, symbol).unbind());
    names.scales.push((price_scale, qty_scale));
    names.stale.push(false);
    Ok(id)
}

fn snapshot_failed<F: MarketFeed>(
    py: Python<'_>,
    feed: &mut F,
    names: &mut Names,
    symbol_id: SymbolId,
    recv_ns: u64,
) -> PyResult<Py<PyAny>> {
    if symbol_id as usize >= feed.instruments().len() {
        return Err(unknown_symbol_id(symbol_id));
    }
    let event = Event::Resync(Resync {
        symbol: symbol_id,
        reason: ResyncReason::SnapshotFailed,
        action: ResyncAction::FetchSnapshot,
        exch_ts_ns: None,
    });
    convert(py, feed, names, event, recv_ns)
}

/// Which feed a book view reads.
enum FeedRef {
    Kraken(Py<KrakenFeed>),
    Binance(Py<BinanceFeed>),
    Backpack(Py<BackpackFeed>),
    Upbit(Py<UpbitFeed>),
}

/// Runs `$body` with `$f` bound to the Rust feed behind a view.
macro_rules! with_feed {
    ($view:expr, $py:expr, |$f:ident, $names:ident| $body:expr) => {
        match &$view.feed {
            FeedRef::Kraken(p) => {
                let guard = p.bind($py).borrow();
                let ($f, $names) = (&guard.inner, &guard.names);
                $body
            }
            FeedRef::Binance(p) => {
                let guard = p.bind($py).borrow();
                let ($f, $names) = (&guard.inner, &guard.names);
                $body
            }
            FeedRef::Backpack(p) => {
                let guard = p.bind($py).borrow();
                let ($f, $names) = (&guard.inner, &guard.names);
                $body
            }
            FeedRef::Upbit(p) => {
                let guard = p.bind($py).borrow();
                let ($f, $names) = (&guard.inner, &guard.names);
                $body
            }
        }
    };
    ($view:expr, $py:expr, |$f:ident| $body:expr) => {
        match &$view.feed {
            FeedRef::Kraken(p) => {
                let guard = p.bind($py).borrow();
                let $f = &guard.inner;
                $body
            }
            FeedRef::Binance(p) => {
                let guard = p.bind($py).borrow();
                let $f = &guard.inner;
                $body
            }
            FeedRef::Backpack(p) => {
                let guard = p.bind($py).borrow();
                let $f = &guard.inner;
                $body
            }
            FeedRef::Upbit(p) => {
                let guard = p.bind($py).borrow();
                let $f = &guard.inner;
                $body
            }
        }
    };
}

/// A live view of one symbol's book on its feed: every call reads the Rust book as it is now.
#[pyclass(frozen, module = "hftpy._core")]
pub struct BookView {
    feed: FeedRef,
    id: SymbolId,
    symbol: Py<PyString>,
    price_scale: u8,
    qty_scale: u8,
}

#[pymethods]
impl BookView {
    #[getter]
    fn symbol(&self, py: Python<'_>) -> Py<PyString> {
        self.symbol.clone_ref(py)
    }

    #[getter]
    fn symbol_id(&self) -> SymbolId {
        self.id
    }

    #[getter]
    fn price_scale(&self) -> u8 {
        self.price_scale
    }

    #[getter]
    fn qty_scale(&self) -> u8 {
        self.qty_scale
    }

    /// Best bid as (price, qty), or None.
    fn best_bid(&self, py: Python<'_>) -> PyResult<Option<(i64, i64)>> {
        with_feed!(self, py, |f| Ok(book_of(f, self.id)?.best_bid()))
    }

    /// Best ask as (price, qty), or None.
    fn best_ask(&self, py: Python<'_>) -> PyResult<Option<(i64, i64)>> {
        with_feed!(self, py, |f| Ok(book_of(f, self.id)?.best_ask()))
    }

    /// The best `n` levels of each side: `((bids...), (asks...))`, each level `(price, qty)`.
    #[pyo3(signature = (n = 10))]
    fn top<'py>(
        &self,
        py: Python<'py>,
        n: usize,
    ) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyTuple>)> {
        with_feed!(self, py, |f| {
            let book = book_of(f, self.id)?;
            Ok((
                ladder_tuple(py, &book.bids, n)?,
                ladder_tuple(py, &book.asks, n)?,
            ))
        })
    }

    /// The best `n` bids as `(price, qty)` tuples.
    #[pyo3(signature = (n = 10))]
    fn bids<'py>(&self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyTuple>> {
        with_feed!(self, py, |f| ladder_tuple(
            py,
            &book_of(f, self.id)?.bids,
            n
        ))
    }

    /// The best `n` asks as `(price, qty)` tuples.
    #[pyo3(signature = (n = 10))]
    fn asks<'py>(&self, py: Python<'py>, n: usize) -> PyResult<Bound<'py, PyTuple>> {
        with_feed!(self, py, |f| ladder_tuple(
            py,
            &book_of(f, self.id)?.asks,
            n
        ))
    }

    /// Levels per side: (bids, asks).
    fn depth(&self, py: Python<'_>) -> PyResult<(usize, usize)> {
        with_feed!(self, py, |f| {
            let book = book_of(f, self.id)?;
            Ok((book.bids.len(), book.asks.len()))
        })
    }

    /// Sync state: valid, sequence, checksum, resyncs, updates, exch_ns, recv_ns.
    #[getter]
    fn state(&self, py: Python<'_>) -> PyResult<BookState> {
        with_feed!(self, py, |f, names| state_with(f, names, self.id))
    }

    /// Whether the stream's liveness watchdog found this book's subscription silent for 2x
    /// its expected interval (and no frame came since): the book is as it was then.
    #[getter]
    fn stale(&self, py: Python<'_>) -> PyResult<bool> {
        with_feed!(self, py, |_f, names| Ok(names.stale(self.id)))
    }

    #[getter]
    fn valid(&self, py: Python<'_>) -> PyResult<bool> {
        with_feed!(self, py, |f| Ok(state_of(f, self.id)?.valid))
    }

    #[getter]
    fn exch_ns(&self, py: Python<'_>) -> PyResult<Option<u64>> {
        with_feed!(self, py, |f| Ok(state_of(f, self.id)?.exch_ns))
    }

    #[getter]
    fn recv_ns(&self, py: Python<'_>) -> PyResult<u64> {
        with_feed!(self, py, |f| Ok(state_of(f, self.id)?.recv_ns))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let (bid, ask, valid) = with_feed!(self, py, |f| {
            let book = book_of(f, self.id)?;
            let valid = state_of(f, self.id)?.valid;
            (book.best_bid(), book.best_ask(), valid)
        });
        Ok(format!(
            "BookView(symbol={}, valid={}, best_bid={}, best_ask={})",
            self.symbol,
            py_bool(valid),
            opt(bid.map(|(p, q)| format!("({p}, {q})"))),
            opt(ask.map(|(p, q)| format!("({p}, {q})")))
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// The per-venue feed classes

macro_rules! feed_class {
    (
        $(#[$doc:meta])*
        $name:ident, $inner:ty, $variant:ident, default_depth = $depth:expr,
        { $($extra:tt)* }
    ) => {
        $(#[$doc])*
        #[pyclass(module = "hftpy._core")]
        pub struct $name {
            inner: $inner,
            names: Names,
        }

        #[pymethods]
        impl $name {
            #[new]
            fn new() -> Self {
                $name {
                    inner: <$inner>::new(),
                    names: Names::default(),
                }
            }

            /// Registers a symbol (venue spelling) with its price and size decimals and the
            /// book depth kept; returns its symbol id.
            #[pyo3(signature = (symbol, price_scale, qty_scale, depth = $depth))]
            fn add_instrument(
                &mut self,
                py: Python<'_>,
                symbol: &str,
                price_scale: u8,
                qty_scale: u8,
                depth: usize,
            ) -> PyResult<SymbolId> {
                add_instrument(
                    py,
                    &mut self.inner,
                    &mut self.names,
                    symbol,
                    price_scale,
                    qty_scale,
                    depth,
                )
            }

            /// Decodes one frame (bytes or any contiguous buffer, not copied) and applies it;
            /// returns the event it meant, or None.
            fn feed(
                &mut self,
                py: Python<'_>,
                payload: &Bound<'_, PyAny>,
                recv_ns: u64,
            ) -> PyResult<Option<Py<PyAny>>> {
                let Self { inner, names } = self;
                with_payload(payload, |bytes| match inner.feed(bytes, recv_ns) {
                    Ok(Some(event)) => convert(py, inner, names, event, recv_ns).map(Some),
                    Ok(None) => Ok(None),
                    Err(err) => Err(err.into()),
                })?
            }

            /// The id of a registered symbol (any spelling the feed accepts).
            fn symbol_id(&self, symbol: &str) -> PyResult<SymbolId> {
                self.inner
                    .instruments()
                    .id(symbol.as_bytes())
                    .map_err(PyErr::from)
            }

            /// The registered symbols, in id order.
            fn symbols(&self, py: Python<'_>) -> Vec<Py<PyString>> {
                self.names.symbols.iter().map(|s| s.clone_ref(py)).collect()
            }

            /// (price_scale, qty_scale) of a symbol id.
            fn scales(&self, symbol_id: SymbolId) -> PyResult<(u8, u8)> {
                self.names
                    .scales
                    .get(symbol_id as usize)
                    .copied()
                    .ok_or_else(|| unknown_symbol_id(symbol_id))
            }

            fn best_bid(&self, symbol_id: SymbolId) -> PyResult<Option<(i64, i64)>> {
                Ok(book_of(&self.inner, symbol_id)?.best_bid())
            }

            fn best_ask(&self, symbol_id: SymbolId) -> PyResult<Option<(i64, i64)>> {
                Ok(book_of(&self.inner, symbol_id)?.best_ask())
            }

            /// The best `n` levels of each side: `((bids...), (asks...))`.
            #[pyo3(signature = (symbol_id, n = 10))]
            fn top<'py>(
                &self,
                py: Python<'py>,
                symbol_id: SymbolId,
                n: usize,
            ) -> PyResult<(Bound<'py, PyTuple>, Bound<'py, PyTuple>)> {
                let book = book_of(&self.inner, symbol_id)?;
                Ok((ladder_tuple(py, &book.bids, n)?, ladder_tuple(py, &book.asks, n)?))
            }

            fn state(&self, symbol_id: SymbolId) -> PyResult<BookState> {
                state_with(&self.inner, &self.names, symbol_id)
            }

            /// Marks the symbol's book stale (its subscription went silent) or live again;
            /// `state().stale` and `book().stale` say so. Set by the stream's watchdog.
            fn set_stale(&mut self, symbol_id: SymbolId, stale: bool) -> PyResult<()> {
                let slot = self
                    .names
                    .stale
                    .get_mut(symbol_id as usize)
                    .ok_or_else(|| unknown_symbol_id(symbol_id))?;
                *slot = stale;
                Ok(())
            }

            /// A live view of the symbol's book.
            fn book(slf: &Bound<'_, Self>, symbol_id: SymbolId) -> PyResult<BookView> {
                let py = slf.py();
                let this = slf.borrow();
                book_of(&this.inner, symbol_id)?;
                let (price_scale, qty_scale) = this.names.scales(symbol_id);
                Ok(BookView {
                    feed: FeedRef::$variant(slf.clone().unbind()),
                    id: symbol_id,
                    symbol: this.names.symbol(py, symbol_id),
                    price_scale,
                    qty_scale,
                })
            }

            fn __len__(&self) -> usize {
                self.names.symbols.len()
            }

            /// Forgets every book and its state (same symbols, same ids): after a reconnect,
            /// books are invalid until the venue's snapshot or the REST one arrives.
            fn reset(&mut self) -> PyResult<()> {
                let instruments: Vec<Instrument> = self
                    .inner
                    .instruments()
                    .iter()
                    .map(|(_, inst)| inst.clone())
                    .collect();
                let mut fresh = <$inner>::new();
                for inst in instruments {
                    fresh.add_instrument(inst)?;
                }
                self.inner = fresh;
                Ok(())
            }

            $($extra)*
        }
    };
}

feed_class!(
    /// Kraken spot WS v2 decoder and books (CRC32-verified after every message).
    KrakenFeed, RsKrakenFeed, Kraken, default_depth = 10,
    {
        /// The pairs of the last `instrument` message: (symbol, price_precision, qty_precision).
        fn pair_precisions(&self) -> Vec<(String, u8, u8)> {
            self.inner
                .pair_precisions()
                .iter()
                .map(|p| (p.symbol.clone(), p.price_precision, p.qty_precision))
                .collect()
        }
    }
);

feed_class!(
    /// Binance spot market streams (diff depth synced with a REST snapshot, trades, bookTicker).
    BinanceFeed, RsBinanceFeed, Binance, default_depth = 1000,
    {
        /// The `ResyncEvent` (reason `snapshot_failed`) reporting a REST snapshot attempt that
        /// failed; the book stays as it is (invalid, its diffs buffered).
        fn snapshot_failed(
            &mut self,
            py: Python<'_>,
            symbol_id: SymbolId,
            recv_ns: u64,
        ) -> PyResult<Py<PyAny>> {
            snapshot_failed(py, &mut self.inner, &mut self.names, symbol_id, recv_ns)
        }

        /// Applies a REST `/api/v3/depth` body and replays the buffered diffs.
        fn apply_snapshot(
            &mut self,
            py: Python<'_>,
            symbol_id: SymbolId,
            body: &Bound<'_, PyAny>,
            recv_ns: u64,
        ) -> PyResult<Py<PyAny>> {
            let Self { inner, names } = self;
            with_payload(body, |bytes| match inner.apply_snapshot(symbol_id, bytes, recv_ns) {
                Ok(event) => convert(py, inner, names, event, recv_ns),
                Err(err) => Err(err.into()),
            })?
        }
    }
);

feed_class!(
    /// Backpack public streams (depth synced with a REST snapshot, trades, bookTicker, ticker).
    BackpackFeed, RsBackpackFeed, Backpack, default_depth = 1000,
    {
        /// The `ResyncEvent` (reason `snapshot_failed`) reporting a REST snapshot attempt that
        /// failed; the book stays as it is (invalid, its diffs buffered).
        fn snapshot_failed(
            &mut self,
            py: Python<'_>,
            symbol_id: SymbolId,
            recv_ns: u64,
        ) -> PyResult<Py<PyAny>> {
            snapshot_failed(py, &mut self.inner, &mut self.names, symbol_id, recv_ns)
        }

        /// Applies a REST `/api/v1/depth` body and replays the buffered diffs.
        fn apply_snapshot(
            &mut self,
            py: Python<'_>,
            symbol_id: SymbolId,
            body: &Bound<'_, PyAny>,
            recv_ns: u64,
        ) -> PyResult<Py<PyAny>> {
            let Self { inner, names } = self;
            with_payload(body, |bytes| match inner.apply_snapshot(symbol_id, bytes, recv_ns) {
                Ok(event) => convert(py, inner, names, event, recv_ns),
                Err(err) => Err(err.into()),
            })?
        }
    }
);

feed_class!(
    /// Upbit quotation stream (DEFAULT or SIMPLE keys; each orderbook message replaces the book).
    UpbitFeed, RsUpbitFeed, Upbit, default_depth = 30,
    {}
);

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<KrakenFeed>()?;
    m.add_class::<BinanceFeed>()?;
    m.add_class::<BackpackFeed>()?;
    m.add_class::<UpbitFeed>()?;
    m.add_class::<BookView>()?;
    m.add_class::<BookState>()?;
    m.add_class::<BookEvent>()?;
    m.add_class::<TradeEvent>()?;
    m.add_class::<TradeBatchEvent>()?;
    m.add_class::<QuoteEvent>()?;
    m.add_class::<TickerEvent>()?;
    m.add_class::<ResyncEvent>()?;
    m.add_class::<StatusEvent>()?;
    m.add_class::<HeartbeatEvent>()?;
    m.add_class::<ReplyEvent>()?;
    m.add_class::<InstrumentsEvent>()?;
    m.add_class::<OtherEvent>()?;
    Ok(())
}
