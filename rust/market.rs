//! What every venue decoder shares: instrument registration, the events a frame decodes into,
//! per-symbol sync state, errors, and exchange timestamp conversion.
//!
//! Each venue module has one feed type per connection (`KrakenFeed`, `BinanceFeed`, ...) that owns
//! the books of that connection's symbols. `feed(payload, recv_ns)` decodes one frame, applies it
//! and returns at most one small [`Event`]; books and per-symbol state are read back through
//! [`MarketFeed`].

use std::collections::HashMap;

use crate::book::Book;
use crate::decimal::{parse_fixed, DecimalError};
use crate::json::{JsonError, Parser};

/// A registered instrument's index on its feed, in registration order.
pub type SymbolId = u32;

/// How one symbol's prices and sizes are scaled, and how deep its book is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instrument {
    /// The venue's spelling (`BTC/USD`, `BTCUSDT`, `SOL_USDC`, `KRW-BTC`).
    pub symbol: String,
    /// Decimal places of a price mantissa (Kraken's `price_precision`).
    pub price_scale: u8,
    /// Decimal places of a size mantissa (Kraken's `qty_precision`).
    pub qty_scale: u8,
    /// Levels per side: the subscribed depth where the venue truncates (Kraken book depth, Upbit
    /// units, Binance partial depth). Books kept from a REST snapshot plus diffs are never
    /// truncated, because a level dropped locally would be missing when it comes back into range.
    pub depth: usize,
}

/// The instruments of one feed, found by the symbol text in a frame.
#[derive(Debug, Default)]
pub struct Instruments {
    list: Vec<Instrument>,
    by_symbol: HashMap<Box<[u8]>, SymbolId>,
    /// The same names in a plain list: a connection carries a handful of symbols, and
    /// comparing a few short keys in a row beats hashing (or walking the map's buckets).
    names: Vec<(Box<[u8]>, SymbolId)>,
}

impl Instruments {
    /// Registers `instrument` under its symbol and any extra spellings the venue uses for it.
    pub fn add(&mut self, instrument: Instrument, aliases: &[&str]) -> Result<SymbolId, FeedError> {
        if instrument.price_scale > crate::decimal::MAX_SCALE
            || instrument.qty_scale > crate::decimal::MAX_SCALE
        {
            return Err(FeedError::BadInstrument("scale above 18"));
        }
        if instrument.depth == 0 {
            return Err(FeedError::BadInstrument("depth must be at least 1"));
        }
        let names: Vec<&str> = std::iter::once(instrument.symbol.as_str())
            .chain(aliases.iter().copied())
            .collect();
        if let Some(taken) = names
            .iter()
            .find(|name| self.by_symbol.contains_key(name.as_bytes()))
        {
            return Err(FeedError::DuplicateSymbol(taken.to_string()));
        }
        let id = self.list.len() as SymbolId;
        for name in names {
            self.by_symbol.insert(name.as_bytes().into(), id);
            self.names.push((name.as_bytes().into(), id));
        }
        self.list.push(instrument);
        Ok(id)
    }

    #[inline]
    pub fn id(&self, symbol: &[u8]) -> Result<SymbolId, FeedError> {
        let found = if self.names.len() <= 8 {
            self.names
                .iter()
                .find_map(|(name, id)| (**name == *symbol).then_some(*id))
        } else {
            self.by_symbol.get(symbol).copied()
        };
        found.ok_or_else(|| FeedError::UnknownSymbol(String::from_utf8_lossy(symbol).into_owned()))
    }

    /// The instrument registered as `id`; panics on an id this feed never handed out.
    #[inline]
    pub fn get(&self, id: SymbolId) -> &Instrument {
        &self.list[id as usize]
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (SymbolId, &Instrument)> {
        self.list
            .iter()
            .enumerate()
            .map(|(i, inst)| (i as SymbolId, inst))
    }

    /// A price field at this instrument's price scale.
    #[inline]
    pub fn price(&self, id: SymbolId, field: &'static str, text: &[u8]) -> Result<i64, FeedError> {
        decimal_field(field, text, self.get(id).price_scale)
    }

    /// A size field at this instrument's size scale; sizes are never negative.
    #[inline]
    pub fn qty(&self, id: SymbolId, field: &'static str, text: &[u8]) -> Result<i64, FeedError> {
        let qty = decimal_field(field, text, self.get(id).qty_scale)?;
        if qty < 0 {
            return Err(FeedError::BadField(field));
        }
        Ok(qty)
    }
}

impl Instruments {
    /// `price` read where the parser stands (number or quoted string), in one pass.
    #[inline]
    pub fn read_price(
        &self,
        id: SymbolId,
        field: &'static str,
        p: &mut Parser<'_>,
    ) -> Result<i64, FeedError> {
        p.fixed(self.get(id).price_scale)?
            .map_err(|error| FeedError::Decimal { field, error })
    }

    /// `qty` read where the parser stands, in one pass; sizes are never negative.
    #[inline]
    pub fn read_qty(
        &self,
        id: SymbolId,
        field: &'static str,
        p: &mut Parser<'_>,
    ) -> Result<i64, FeedError> {
        let qty = p
            .fixed(self.get(id).qty_scale)?
            .map_err(|error| FeedError::Decimal { field, error })?;
        if qty < 0 {
            return Err(FeedError::BadField(field));
        }
        Ok(qty)
    }
}

/// A field a frame must carry (its raw text from a field table), else `MissingField`.
pub(crate) fn required<'a>(
    raw: Option<&'a [u8]>,
    field: &'static str,
) -> Result<&'a [u8], FeedError> {
    raw.ok_or(FeedError::MissingField(field))
}

/// A required unsigned integer field, written as a number or a quoted string.
pub(crate) fn u64_field(raw: Option<&[u8]>, field: &'static str) -> Result<u64, FeedError> {
    Ok(Parser::new(required(raw, field)?).u64()?)
}

/// A required decimal field's text (number or quoted string), for `price`/`qty`.
pub(crate) fn text_field<'a>(
    raw: Option<&'a [u8]>,
    field: &'static str,
) -> Result<&'a [u8], FeedError> {
    Ok(Parser::new(required(raw, field)?).decimal()?)
}

#[inline]
fn decimal_field(field: &'static str, text: &[u8], scale: u8) -> Result<i64, FeedError> {
    parse_fixed(text, scale).map_err(|error| FeedError::Decimal { field, error })
}

/// Why a frame could not be decoded. Frames that are not JSON at all are not errors: they decode
/// to [`Event::Unparsable`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedError {
    #[error(transparent)]
    Json(#[from] JsonError),
    #[error("field {field}: {error}")]
    Decimal {
        field: &'static str,
        error: DecimalError,
    },
    #[error("missing field {0}")]
    MissingField(&'static str),
    #[error("field {0} has an unexpected value")]
    BadField(&'static str),
    #[error("symbol {0:?} is not registered on this feed")]
    UnknownSymbol(String),
    #[error("no symbol with id {0} on this feed")]
    UnknownSymbolId(SymbolId),
    #[error("symbol {0:?} is already registered")]
    DuplicateSymbol(String),
    #[error("bad instrument: {0}")]
    BadInstrument(&'static str),
}

/// The side that took liquidity in a trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Buy,
    Sell,
}

/// One public trade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trade {
    pub symbol: SymbolId,
    pub price: i64,
    pub qty: i64,
    /// The aggressor (taker) side.
    pub side: Side,
    /// The venue's trade id (Binance `aggTrade`: the aggregate id).
    pub trade_id: u64,
    pub exch_ts_ns: u64,
    /// Binance `aggTrade`: several fills of one taker order at one price.
    pub aggregated: bool,
}

/// Best bid and offer as the venue publishes it (Binance/Backpack `bookTicker`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub symbol: SymbolId,
    pub bid_price: i64,
    pub bid_qty: i64,
    pub ask_price: i64,
    pub ask_qty: i64,
    /// The book update id this quote reflects, where the venue sends one.
    pub update_id: Option<u64>,
    /// Binance spot `bookTicker` carries no time.
    pub exch_ts_ns: Option<u64>,
}

/// Rolling statistics (Kraken/Backpack/Upbit `ticker`); fields the venue omits are `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ticker {
    pub symbol: SymbolId,
    pub last: i64,
    pub open: Option<i64>,
    pub high: Option<i64>,
    pub low: Option<i64>,
    /// Base-asset volume over the venue's window (24 h).
    pub volume: Option<i64>,
    /// Best bid and ask as (price, qty) (Kraken only).
    pub bid: Option<(i64, i64)>,
    pub ask: Option<(i64, i64)>,
    pub exch_ts_ns: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookKind {
    /// The book was replaced as a whole.
    Snapshot,
    /// Levels were changed in place.
    Update,
}

/// A book changed and is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BookUpdate {
    pub symbol: SymbolId,
    pub kind: BookKind,
    pub exch_ts_ns: Option<u64>,
    /// The venue's last applied update id (Binance/Backpack `u`), if it numbers updates.
    pub sequence: Option<u64>,
    /// The venue's checksum, verified (Kraken).
    pub checksum: Option<u32>,
}

/// What the caller must do to get a valid book back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncAction {
    /// Unsubscribe and subscribe the symbol's book again (Kraken, Upbit).
    Resubscribe,
    /// Fetch a REST depth snapshot and pass it to the feed's `apply_snapshot` (Binance, Backpack).
    FetchSnapshot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResyncReason {
    /// Diffs have started arriving and the book needs its first snapshot.
    Initial,
    ChecksumMismatch {
        expected: u32,
        computed: u32,
    },
    /// An update did not continue from the last one applied.
    SequenceGap {
        expected: u64,
        received: u64,
    },
    /// The snapshot is older than the diffs that follow it.
    StaleSnapshot {
        snapshot_id: u64,
        first_update_id: u64,
    },
    /// The best bid reached the best ask.
    Crossed {
        bid: i64,
        ask: i64,
    },
    /// Diffs piled up waiting for a snapshot that never came; the buffer was restarted.
    BufferOverflow,
    /// The REST snapshot could not be fetched or read (the caller reports it; the book stays
    /// invalid and the next attempt follows).
    SnapshotFailed,
}

/// A symbol's book needs a snapshot. Except for `Initial`, the book was marked invalid and
/// cleared; other symbols are untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resync {
    pub symbol: SymbolId,
    pub reason: ResyncReason,
    pub action: ResyncAction,
    pub exch_ts_ns: Option<u64>,
}

/// The trading state a venue announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SystemStatus {
    Online,
    CancelOnly,
    PostOnly,
    Maintenance,
    /// The server will close the connection soon (Binance `serverShutdown`): reconnect.
    ShuttingDown,
    /// A state this decoder does not know.
    Other,
}

/// A venue's reply to a request sent on the connection (subscribe ack, pong, error frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reply<'a> {
    /// The method echoed by the venue (`subscribe`, `pong`, ...), JSON-escaped as on the wire.
    pub method: Option<&'a [u8]>,
    /// The request id echoed by the venue, when it is an integer.
    pub req_id: Option<i64>,
    pub success: bool,
    /// The venue's error text (or error code name), JSON-escaped as on the wire; see
    /// [`crate::json::unescape`].
    pub error: Option<&'a [u8]>,
}

/// What one frame meant. Borrowed text points into the payload passed to `feed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event<'a> {
    Book(BookUpdate),
    Resync(Resync),
    Trade(Trade),
    /// A frame with several trades (Kraken); read them with [`MarketFeed::trade_batch`].
    TradeBatch {
        count: usize,
    },
    Quote(Quote),
    Ticker(Ticker),
    Status(SystemStatus),
    /// Kraken `instrument`: the pairs' precisions are in `KrakenFeed::pair_precisions`.
    Instruments {
        count: usize,
    },
    Heartbeat,
    Reply(Reply<'a>),
    /// Well-formed JSON on a channel this decoder does not handle; the caller may handle it.
    Unrecognized,
    /// A frame that is not JSON (Kraken's `CloudFlare WebSocket proxy restarting`).
    Unparsable,
}

/// Health of one symbol's book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SymbolState {
    /// The book matches the venue's: synced, checksum verified, in sequence.
    pub valid: bool,
    /// Last applied update id (Binance/Backpack `u`, Binance partial-depth `lastUpdateId`).
    pub sequence: Option<u64>,
    /// Last verified checksum (Kraken).
    pub checksum: Option<u32>,
    /// Times the book was invalidated (checksum mismatch, gap, crossed, stale snapshot).
    pub resyncs: u32,
    /// Book messages applied.
    pub updates: u64,
    pub last_exch_ns: Option<u64>,
    pub last_recv_ns: u64,
}

impl SymbolState {
    /// Records an applied book message.
    pub(crate) fn applied(&mut self, exch_ts_ns: Option<u64>, recv_ns: u64) {
        self.valid = true;
        self.updates += 1;
        self.last_exch_ns = exch_ts_ns.or(self.last_exch_ns);
        self.last_recv_ns = recv_ns;
    }

    /// Records that the book was found wrong and thrown away.
    pub(crate) fn invalidated(&mut self, recv_ns: u64) {
        self.valid = false;
        self.resyncs += 1;
        self.last_recv_ns = recv_ns;
    }
}

/// The operations the Python layer wraps, common to every venue's feed.
pub trait MarketFeed {
    /// Per-level data the venue's book keeps beside price and size (Kraken: checksum digits).
    type LevelExtra: Copy;
    /// The fewest decimals prices and sizes are read at through the Python binding, whatever
    /// scales the caller passes (the trading filters' tick / lot size): the precision of the
    /// venue's own text, so no valid frame is refused. 0: the caller's scales as given.
    const WIRE_SCALE: u8 = 0;

    /// Registers a symbol; its id is its index in registration order.
    fn add_instrument(&mut self, instrument: Instrument) -> Result<SymbolId, FeedError>;

    fn instruments(&self) -> &Instruments;

    /// Decodes one frame payload (zero-copy) and applies it to the books.
    fn feed<'a>(&mut self, payload: &'a [u8], recv_ns: u64)
        -> Result<Option<Event<'a>>, FeedError>;

    fn book(&self, symbol: SymbolId) -> Option<&Book<Self::LevelExtra>>;

    fn state(&self, symbol: SymbolId) -> Option<SymbolState>;

    /// The trades of the last [`Event::TradeBatch`].
    fn trade_batch(&self) -> &[Trade] {
        &[]
    }
}

/// True when the payload cannot be JSON (starts with neither `{` nor `[`).
#[inline]
pub(crate) fn is_not_json(payload: &[u8]) -> bool {
    !matches!(
        payload.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// Milliseconds since the epoch (Binance, Upbit) to nanoseconds.
#[inline]
pub fn ms_to_ns(ms: u64) -> Result<u64, FeedError> {
    ms.checked_mul(1_000_000)
        .ok_or(FeedError::BadField("timestamp"))
}

/// Microseconds since the epoch (Backpack) to nanoseconds.
#[inline]
pub fn us_to_ns(us: u64) -> Result<u64, FeedError> {
    us.checked_mul(1_000)
        .ok_or(FeedError::BadField("timestamp"))
}

/// Nanoseconds since the epoch of an RFC 3339 UTC time as Kraken writes it
/// (`2024-05-19T16:45:24.204654Z`; any number of fraction digits, `Z` or `+00:00`).
pub fn parse_rfc3339_ns(text: &[u8]) -> Result<u64, FeedError> {
    rfc3339_ns(text).ok_or(FeedError::BadField("timestamp"))
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,}](Z|+00:00|-00:00)` as ns since the epoch; None if malformed.
fn rfc3339_ns(text: &[u8]) -> Option<u64> {
    #[inline]
    fn digits(text: &[u8], at: usize, count: usize) -> Option<u64> {
        let mut value = 0u64;
        for &d in text.get(at..at + count)? {
            let digit = d.wrapping_sub(b'0');
            if digit > 9 {
                return None;
            }
            value = value * 10 + u64::from(digit);
        }
        Some(value)
    }
    if text.len() < 20
        || text[4] != b'-'
        || text[7] != b'-'
        || !matches!(text[10], b'T' | b't' | b' ')
        || text[13] != b':'
        || text[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (
        digits(text, 0, 4)?,
        digits(text, 5, 2)?,
        digits(text, 8, 2)?,
    );
    let (hour, minute, second) = (
        digits(text, 11, 2)?,
        digits(text, 14, 2)?,
        digits(text, 17, 2)?,
    );
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut i = 19;
    let mut nanos = 0u64;
    if text[i] == b'.' {
        i += 1;
        let start = i;
        while i < text.len() && text[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + u64::from(text[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start)..9 {
            nanos *= 10;
        }
    }
    if !matches!(&text[i..], b"Z" | b"z" | b"+00:00" | b"-00:00") {
        return None;
    }
    let days = days_from_civil(year as i64, month as u32, day as u32);
    let seconds = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64;
    u64::try_from(seconds)
        .ok()?
        .checked_mul(1_000_000_000)
        .map(|ns| ns + nanos)
}

fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month as i64 + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day as i64 - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_to_epoch_nanoseconds() {
        assert_eq!(parse_rfc3339_ns(b"1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(
            parse_rfc3339_ns(b"2024-05-19T16:45:24.204654Z"),
            Ok(1_716_137_124_204_654_000)
        );
        assert_eq!(
            parse_rfc3339_ns(b"2023-07-30T15:29:58.343415Z"),
            Ok(1_690_730_998_343_415_000)
        );
        assert_eq!(
            parse_rfc3339_ns(b"2000-02-29T23:59:59.123456789+00:00"),
            Ok(951_868_799_123_456_789)
        );
        // Digits past nanoseconds are dropped, not rounded.
        assert_eq!(
            parse_rfc3339_ns(b"2024-01-01T00:00:00.1234567891Z"),
            Ok(1_704_067_200_123_456_789)
        );
        for bad in [
            &b"2024-05-19"[..],
            b"2024-05-19T16:45:24.Z",
            b"2024-13-19T16:45:24Z",
            b"2024-05-19T16:45:24+02:00",
        ] {
            assert_eq!(
                parse_rfc3339_ns(bad),
                Err(FeedError::BadField("timestamp")),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn instruments_are_found_by_any_registered_spelling() {
        let mut instruments = Instruments::default();
        let btc = Instrument {
            symbol: "BTCUSDT".into(),
            price_scale: 2,
            qty_scale: 8,
            depth: 20,
        };
        assert_eq!(instruments.add(btc.clone(), &["btcusdt"]), Ok(0));
        assert_eq!(instruments.id(b"btcusdt"), Ok(0));
        assert_eq!(
            instruments.add(btc, &[]),
            Err(FeedError::DuplicateSymbol("BTCUSDT".into()))
        );
        assert_eq!(
            instruments.id(b"ETHUSDT"),
            Err(FeedError::UnknownSymbol("ETHUSDT".into()))
        );
        let too_fine = Instrument {
            symbol: "X".into(),
            price_scale: 19,
            qty_scale: 0,
            depth: 1,
        };
        assert!(matches!(
            instruments.add(too_fine, &[]),
            Err(FeedError::BadInstrument(_))
        ));
        assert_eq!(instruments.price(0, "p", b"61837.63000000"), Ok(6_183_763));
        assert_eq!(
            instruments.qty(0, "q", b"-1"),
            Err(FeedError::BadField("q"))
        );
        assert!(matches!(
            instruments.price(0, "p", b"1.001"),
            Err(FeedError::Decimal { field: "p", .. })
        ));
    }

    #[test]
    fn non_json_frames_are_recognised() {
        assert!(is_not_json(b"CloudFlare WebSocket proxy restarting"));
        assert!(is_not_json(b""));
        assert!(!is_not_json(b" \n{\"a\":1}"));
        assert!(!is_not_json(b"[1]"));
    }
}
