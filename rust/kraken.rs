//! Kraken spot WebSocket v2: `book` (with CRC32 checksum verification), `trade`, `ticker`,
//! `instrument`, `status`, `heartbeat`, and method replies (`subscribe` acks, `pong`, errors).
//!
//! After every book snapshot and update the book is truncated to the subscribed depth and its
//! checksum is compared with the venue's: the CRC32 of the top 10 asks then the top 10 bids, each
//! level written as its price then its size at the pair's precisions with the `.` and leading
//! zeros removed, which is exactly the decimal digits of the fixed-point mantissas. Those digits
//! are worked out once, when a level is set, and kept beside it, so a check is one CRC32 over at
//! most 20 short strings.

use crate::book::{Book, BookSide};
use crate::json::Parser;
use crate::market::{
    is_not_json, parse_rfc3339_ns, BookKind, BookUpdate, Event, FeedError, Instrument, Instruments,
    MarketFeed, Reply, Resync, ResyncAction, ResyncReason, Side, SymbolId, SymbolState,
    SystemStatus, Ticker, Trade,
};
use crate::sync::LevelChange;

/// Levels per side that enter the checksum.
const CHECKSUM_LEVELS: usize = 10;
/// Decimal digits of the largest i64 mantissa.
const MAX_DIGITS: usize = 19;

/// A level's checksum text: the digits of its price mantissa then of its size mantissa.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChecksumDigits {
    len: u8,
    bytes: [u8; 2 * MAX_DIGITS],
}

impl ChecksumDigits {
    /// The digits of `price` and `qty` mantissas, without leading zeros (a zero writes nothing).
    pub fn new(price: i64, qty: i64) -> Self {
        let mut digits = ChecksumDigits {
            len: 0,
            bytes: [0; 2 * MAX_DIGITS],
        };
        digits.push(price.unsigned_abs());
        digits.push(qty.unsigned_abs());
        digits
    }

    fn push(&mut self, value: u64) {
        let mut scratch = [0u8; MAX_DIGITS + 1];
        let mut start = scratch.len();
        let mut rest = value;
        while rest > 0 {
            start -= 1;
            scratch[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
        }
        let written = scratch.len() - start;
        let at = self.len as usize;
        self.bytes[at..at + written].copy_from_slice(&scratch[start..]);
        self.len += written as u8;
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// Kraken's book checksum over the book as it stands (already truncated to the subscribed depth).
pub fn book_checksum(book: &Book<ChecksumDigits>) -> u32 {
    // Each level's whole digit array is copied (a fixed-size copy, a few vector moves) and
    // the cursor advances by its used length; the slack at the end absorbs the overhang.
    let mut text = [0u8; (2 * CHECKSUM_LEVELS + 1) * 2 * MAX_DIGITS];
    let mut len = 0;
    let levels = book
        .asks
        .iter()
        .take(CHECKSUM_LEVELS)
        .chain(book.bids.iter().take(CHECKSUM_LEVELS));
    for level in levels {
        let digits = &level.extra;
        text[len..len + 2 * MAX_DIGITS].copy_from_slice(&digits.bytes);
        len += digits.len as usize;
    }
    crc32fast::hash(&text[..len])
}

/// A pair's precisions as announced on the `instrument` channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairPrecision {
    pub symbol: String,
    pub price_precision: u8,
    pub qty_precision: u8,
}

#[derive(Debug, Clone)]
struct SymbolBook {
    book: Book<ChecksumDigits>,
    state: SymbolState,
}

/// Decoder and book keeper of one Kraken v2 connection.
#[derive(Debug, Default)]
pub struct KrakenFeed {
    instruments: Instruments,
    books: Vec<SymbolBook>,
    trades: Vec<Trade>,
    changes: Vec<LevelChange>,
    pairs: Vec<PairPrecision>,
}

impl KrakenFeed {
    pub fn new() -> Self {
        Self::default()
    }

    /// The pairs of the last `instrument` message (an update lists only the pairs it changes).
    pub fn pair_precisions(&self) -> &[PairPrecision] {
        &self.pairs
    }

    fn on_book(
        &mut self,
        p: &mut Parser<'_>,
        kind: BookKind,
        recv_ns: u64,
    ) -> Result<Option<Event<'static>>, FeedError> {
        let mut items = p.array()?;
        let mut outcome = None;
        // v2 sends one book per message; should one carry several, a failure outranks a success.
        while items.next(p)? {
            let event = self.on_book_item(p, kind, recv_ns)?;
            if !matches!(outcome, Some(Event::Resync(_))) && event.is_some() {
                outcome = event;
            }
        }
        Ok(outcome)
    }

    fn on_book_item(
        &mut self,
        p: &mut Parser<'_>,
        kind: BookKind,
        recv_ns: u64,
    ) -> Result<Option<Event<'static>>, FeedError> {
        let (mut id, mut checksum, mut exch_ts_ns) = (None, None, None);
        // Kraken sends `symbol` before the levels, so they are read in one pass; levels that
        // come first are kept as raw text and read once the symbol is known.
        let (mut late_bids, mut late_asks) = (None, None);
        self.changes.clear();
        let mut fields = p.object()?;
        while let Some(key) = fields.next(p)? {
            match key {
                b"symbol" => id = Some(self.instruments.id(p.string()?)?),
                b"bids" | b"asks" => {
                    let side = if key == b"bids" {
                        BookSide::Bid
                    } else {
                        BookSide::Ask
                    };
                    match id {
                        Some(id) => read_levels(p, side, &self.instruments, id, &mut self.changes)?,
                        None if side == BookSide::Bid => late_bids = Some(p.raw()?),
                        None => late_asks = Some(p.raw()?),
                    }
                }
                b"checksum" => {
                    checksum =
                        Some(u32::try_from(p.u64()?).map_err(|_| FeedError::BadField("checksum"))?)
                }
                b"timestamp" => exch_ts_ns = Some(parse_rfc3339_ns(p.string()?)?),
                _ => p.skip()?,
            }
        }
        let id = id.ok_or(FeedError::MissingField("symbol"))?;
        for (side, raw) in [(BookSide::Bid, late_bids), (BookSide::Ask, late_asks)] {
            if let Some(raw) = raw {
                let mut late = Parser::new(raw);
                read_levels(&mut late, side, &self.instruments, id, &mut self.changes)?;
            }
        }

        let depth = self.instruments.get(id).depth;
        let SymbolBook { book, state } = &mut self.books[id as usize];
        match kind {
            BookKind::Snapshot => book.clear(),
            // Updates mean nothing until the snapshot that follows a resubscribe.
            BookKind::Update if !state.valid => return Ok(None),
            BookKind::Update => {}
        }
        for change in &self.changes {
            let ladder = book.side_mut(change.side);
            if change.qty == 0 {
                ladder.remove(change.price);
            } else {
                ladder.set(
                    change.price,
                    change.qty,
                    ChecksumDigits::new(change.price, change.qty),
                );
            }
        }
        // The venue does not send deletes for levels pushed out of the subscribed depth.
        book.truncate(depth);

        let failure = match checksum {
            Some(expected) => {
                let computed = book_checksum(book);
                (computed != expected)
                    .then_some(ResyncReason::ChecksumMismatch { expected, computed })
            }
            None => None,
        };
        let failure = failure.or_else(|| {
            book.crossing()
                .map(|(bid, ask)| ResyncReason::Crossed { bid, ask })
        });
        if let Some(reason) = failure {
            book.clear();
            state.invalidated(recv_ns);
            let action = ResyncAction::Resubscribe;
            return Ok(Some(Event::Resync(Resync {
                symbol: id,
                reason,
                action,
                exch_ts_ns,
            })));
        }
        state.applied(exch_ts_ns, recv_ns);
        state.checksum = checksum;
        Ok(Some(Event::Book(BookUpdate {
            symbol: id,
            kind,
            exch_ts_ns,
            sequence: None,
            checksum,
        })))
    }

    fn on_trades(&mut self, data: &[u8]) -> Result<Option<Event<'static>>, FeedError> {
        self.trades.clear();
        let mut p = Parser::new(data);
        let mut items = p.array()?;
        while items.next(&mut p)? {
            let (mut symbol, mut side, mut price, mut qty, mut trade_id, mut ts) =
                (None, None, None, None, None, None);
            let mut fields = p.object()?;
            while let Some(key) = fields.next(&mut p)? {
                match key {
                    b"symbol" => symbol = Some(p.string()?),
                    b"side" => side = Some(p.string()?),
                    b"price" => price = Some(p.decimal()?),
                    b"qty" => qty = Some(p.decimal()?),
                    b"trade_id" => trade_id = Some(p.u64()?),
                    b"timestamp" => ts = Some(p.string()?),
                    _ => p.skip()?,
                }
            }
            let id = self
                .instruments
                .id(symbol.ok_or(FeedError::MissingField("symbol"))?)?;
            self.trades.push(Trade {
                symbol: id,
                price: self.instruments.price(
                    id,
                    "price",
                    price.ok_or(FeedError::MissingField("price"))?,
                )?,
                qty: self
                    .instruments
                    .qty(id, "qty", qty.ok_or(FeedError::MissingField("qty"))?)?,
                side: match side {
                    Some(b"buy") => Side::Buy,
                    Some(b"sell") => Side::Sell,
                    _ => return Err(FeedError::BadField("side")),
                },
                trade_id: trade_id.ok_or(FeedError::MissingField("trade_id"))?,
                exch_ts_ns: parse_rfc3339_ns(ts.ok_or(FeedError::MissingField("timestamp"))?)?,
                aggregated: false,
            });
        }
        Ok(match self.trades.as_slice() {
            [] => None,
            [trade] => Some(Event::Trade(*trade)),
            trades => Some(Event::TradeBatch {
                count: trades.len(),
            }),
        })
    }

    fn on_ticker(&mut self, data: &[u8]) -> Result<Option<Event<'static>>, FeedError> {
        // The fields read; `vwap` and `change` may carry more decimals than the pair's precision.
        const NAMES: [&str; 8] = [
            "bid", "bid_qty", "ask", "ask_qty", "last", "volume", "low", "high",
        ];
        let mut p = Parser::new(data);
        let mut items = p.array()?;
        let mut last_ticker = None;
        while items.next(&mut p)? {
            let mut text: [Option<&[u8]>; 8] = [None; 8];
            let (mut symbol, mut ts) = (None, None);
            let mut fields = p.object()?;
            while let Some(key) = fields.next(&mut p)? {
                match key {
                    b"symbol" => symbol = Some(p.string()?),
                    b"timestamp" => ts = Some(parse_rfc3339_ns(p.string()?)?),
                    _ => match NAMES.iter().position(|name| name.as_bytes() == key) {
                        Some(i) => text[i] = Some(p.decimal()?),
                        None => p.skip()?,
                    },
                }
            }
            let id = self
                .instruments
                .id(symbol.ok_or(FeedError::MissingField("symbol"))?)?;
            let inst = &self.instruments;
            let mut values = [None; 8];
            for (i, (value, name)) in values.iter_mut().zip(NAMES).enumerate() {
                if let Some(t) = text[i] {
                    *value = Some(if name.ends_with("qty") || name == "volume" {
                        inst.qty(id, name, t)?
                    } else {
                        inst.price(id, name, t)?
                    });
                }
            }
            let [bid, bid_qty, ask, ask_qty, last, volume, low, high] = values;
            last_ticker = Some(Ticker {
                symbol: id,
                last: last.ok_or(FeedError::MissingField("last"))?,
                open: None,
                high,
                low,
                volume,
                bid: bid.zip(bid_qty),
                ask: ask.zip(ask_qty),
                exch_ts_ns: ts,
            });
        }
        Ok(last_ticker.map(Event::Ticker))
    }

    fn on_instrument(&mut self, data: &[u8]) -> Result<Option<Event<'static>>, FeedError> {
        self.pairs.clear();
        let mut p = Parser::new(data);
        let mut fields = p.object()?;
        while let Some(key) = fields.next(&mut p)? {
            if key != b"pairs" {
                p.skip()?;
                continue;
            }
            let mut pairs = p.array()?;
            while pairs.next(&mut p)? {
                let (mut symbol, mut price_precision, mut qty_precision) = (None, None, None);
                let mut pair = p.object()?;
                while let Some(key) = pair.next(&mut p)? {
                    match key {
                        b"symbol" => symbol = Some(p.string()?),
                        b"price_precision" => price_precision = Some(p.u64()?),
                        b"qty_precision" => qty_precision = Some(p.u64()?),
                        _ => p.skip()?,
                    }
                }
                let precision = |v: Option<u64>, field| {
                    v.and_then(|v| u8::try_from(v).ok())
                        .ok_or(FeedError::BadField(field))
                };
                self.pairs.push(PairPrecision {
                    symbol: String::from_utf8_lossy(
                        symbol.ok_or(FeedError::MissingField("symbol"))?,
                    )
                    .into_owned(),
                    price_precision: precision(price_precision, "price_precision")?,
                    qty_precision: precision(qty_precision, "qty_precision")?,
                });
            }
        }
        Ok(Some(Event::Instruments {
            count: self.pairs.len(),
        }))
    }
}

fn book_kind(kind: Option<&[u8]>) -> BookKind {
    match kind {
        Some(b"snapshot") => BookKind::Snapshot,
        _ => BookKind::Update,
    }
}

/// Reads `[{"price": .., "qty": ..}, ...]` at the symbol's precisions.
fn read_levels(
    p: &mut Parser<'_>,
    side: BookSide,
    instruments: &Instruments,
    symbol: SymbolId,
    out: &mut Vec<LevelChange>,
) -> Result<(), FeedError> {
    let mut levels = p.array()?;
    while levels.next(p)? {
        let (mut price, mut qty) = (None, None);
        let mut fields = p.object()?;
        while let Some(key) = fields.next(p)? {
            match key {
                b"price" => price = Some(instruments.read_price(symbol, "price", p)?),
                b"qty" => qty = Some(instruments.read_qty(symbol, "qty", p)?),
                _ => p.skip()?,
            }
        }
        out.push(LevelChange {
            side,
            price: price.ok_or(FeedError::MissingField("price"))?,
            qty: qty.ok_or(FeedError::MissingField("qty"))?,
        });
    }
    Ok(())
}

fn read_status(data: &[u8]) -> Result<Option<Event<'static>>, FeedError> {
    let mut p = Parser::new(data);
    let mut items = p.array()?;
    let mut status = None;
    while items.next(&mut p)? {
        let mut fields = p.object()?;
        while let Some(key) = fields.next(&mut p)? {
            if key == b"system" {
                status = Some(match p.string()? {
                    b"online" => SystemStatus::Online,
                    b"cancel_only" => SystemStatus::CancelOnly,
                    b"post_only" => SystemStatus::PostOnly,
                    b"maintenance" => SystemStatus::Maintenance,
                    _ => SystemStatus::Other,
                });
            } else {
                p.skip()?;
            }
        }
    }
    Ok(status.map(Event::Status))
}

impl MarketFeed for KrakenFeed {
    type LevelExtra = ChecksumDigits;

    /// `depth` is the subscribed book depth (10, 25, 100, 500 or 1000); the scales are the
    /// pair's `price_precision` and `qty_precision`, which the checksum is computed at.
    fn add_instrument(&mut self, instrument: Instrument) -> Result<SymbolId, FeedError> {
        let depth = instrument.depth;
        let id = self.instruments.add(instrument, &[])?;
        self.books.push(SymbolBook {
            book: Book::with_capacity(depth + 1),
            state: SymbolState::default(),
        });
        Ok(id)
    }

    fn instruments(&self) -> &Instruments {
        &self.instruments
    }

    fn feed<'a>(
        &mut self,
        payload: &'a [u8],
        recv_ns: u64,
    ) -> Result<Option<Event<'a>>, FeedError> {
        if is_not_json(payload) {
            return Ok(Some(Event::Unparsable));
        }
        let mut p = Parser::new(payload);
        if p.peek() == Some(b'[') {
            return Ok(Some(Event::Unrecognized)); // v1 framing: not this decoder's
        }
        let (mut channel, mut kind, mut data) = (None, None, None);
        let (mut method, mut req_id, mut success, mut error) = (None, None, None, None);
        // Book data is applied where it stands when `channel` and `type` came first (they do
        // on the wire), sparing a second scan of the message's largest part.
        let mut book_event = None;
        let mut fields = p.object()?;
        while let Some(key) = fields.next(&mut p)? {
            match key {
                b"channel" => channel = Some(p.string()?),
                b"type" => kind = Some(p.string()?),
                b"data" if channel == Some(b"book".as_slice()) && kind.is_some() => {
                    book_event = Some(self.on_book(&mut p, book_kind(kind), recv_ns)?);
                }
                b"data" => data = Some(p.raw()?),
                b"method" => method = Some(p.string()?),
                b"req_id" => req_id = Some(p.i64()?),
                b"success" => success = Some(p.bool()?),
                b"error" => error = Some(p.string()?),
                _ => p.skip()?,
            }
        }
        p.end()?;

        if method.is_some() || success.is_some() || error.is_some() {
            let success = success.unwrap_or(error.is_none());
            return Ok(Some(Event::Reply(Reply {
                method,
                req_id,
                success,
                error,
            })));
        }
        if let Some(event) = book_event {
            return Ok(event);
        }
        let data = || data.ok_or(FeedError::MissingField("data"));
        match channel {
            Some(b"book") => self.on_book(&mut Parser::new(data()?), book_kind(kind), recv_ns),
            Some(b"trade") => self.on_trades(data()?),
            Some(b"ticker") => self.on_ticker(data()?),
            Some(b"instrument") => self.on_instrument(data()?),
            Some(b"status") => read_status(data()?),
            Some(b"heartbeat") => Ok(Some(Event::Heartbeat)),
            _ => Ok(Some(Event::Unrecognized)),
        }
    }

    fn book(&self, symbol: SymbolId) -> Option<&Book<ChecksumDigits>> {
        self.books.get(symbol as usize).map(|b| &b.book)
    }

    fn state(&self, symbol: SymbolId) -> Option<SymbolState> {
        self.books.get(symbol as usize).map(|b| b.state)
    }

    fn trade_batch(&self) -> &[Trade] {
        &self.trades
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::parse_fixed;

    fn book_of(
        asks: &[(&str, &str)],
        bids: &[(&str, &str)],
        price_scale: u8,
        qty_scale: u8,
    ) -> Book<ChecksumDigits> {
        let mut book = Book::default();
        for (side, levels) in [(BookSide::Ask, asks), (BookSide::Bid, bids)] {
            for (price, qty) in levels {
                let price = parse_fixed(price.as_bytes(), price_scale).unwrap();
                let qty = parse_fixed(qty.as_bytes(), qty_scale).unwrap();
                book.side_mut(side)
                    .set(price, qty, ChecksumDigits::new(price, qty));
            }
        }
        book
    }

    #[test]
    fn digits_are_the_mantissas_without_leading_zeros() {
        assert_eq!(
            ChecksumDigits::new(452_852, 100_000).as_bytes(),
            b"452852100000"
        );
        assert_eq!(ChecksumDigits::new(5660, 0).as_bytes(), b"5660");
        assert_eq!(ChecksumDigits::new(i64::MAX, i64::MAX).as_bytes().len(), 38);
    }

    #[test]
    fn official_example_1_btc_usd() {
        let asks = [
            ("45285.2", "0.00100000"),
            ("45286.4", "1.54571953"),
            ("45286.6", "1.54571109"),
            ("45289.6", "1.54560911"),
            ("45290.2", "0.15890660"),
            ("45291.8", "1.54553491"),
            ("45294.7", "0.04454749"),
            ("45296.1", "0.35380000"),
            ("45297.5", "0.09945542"),
            ("45299.5", "0.18772827"),
        ];
        let bids = [
            ("45283.5", "0.10000000"),
            ("45283.4", "1.54582015"),
            ("45282.1", "0.10000000"),
            ("45281.0", "0.10000000"),
            ("45280.3", "1.54592586"),
            ("45279.0", "0.07990000"),
            ("45277.6", "0.03310103"),
            ("45277.5", "0.30000000"),
            ("45277.3", "1.54602737"),
            ("45276.6", "0.15445238"),
        ];
        assert_eq!(book_checksum(&book_of(&asks, &bids, 1, 8)), 3_310_070_434);
    }

    /// Prices as the docs print them (`0.566` at precision 4) must be padded, not used as text.
    const MATIC_BIDS: [(&str, &str); 10] = [
        ("0.5666", "4831.75496356"),
        ("0.5665", "6658.22734739"),
        ("0.5664", "18724.91513344"),
        ("0.5663", "11563.92544914"),
        ("0.5662", "14006.65365711"),
        ("0.5661", "17454.85679807"),
        ("0.566", "18097.1547"),
        ("0.5659", "33644.89175666"),
        ("0.5658", "148.3464"),
        ("0.5657", "606.70854372"),
    ];
    const MATIC_ASKS: [(&str, &str); 10] = [
        ("0.5668", "4410.79769741"),
        ("0.5669", "4655.40412487"),
        ("0.567", "49844.89424998"),
        ("0.5671", "24306.41678"),
        ("0.5672", "29783.25223475"),
        ("0.5673", "57234.71239278"),
        ("0.5674", "45065.04744"),
        ("0.5675", "5912.76380354"),
        ("0.5676", "42514.92434778"),
        ("0.5677", "36304.0847022"),
    ];

    fn matic_feed() -> KrakenFeed {
        let mut feed = KrakenFeed::new();
        feed.add_instrument(Instrument {
            symbol: "MATIC/USD".into(),
            price_scale: 4,
            qty_scale: 8,
            depth: 10,
        })
        .unwrap();
        feed
    }

    fn levels_json(levels: &[(&str, &str)]) -> String {
        let items: Vec<String> = levels
            .iter()
            .map(|(p, q)| format!(r#"{{"price":{p},"qty":{q}}}"#))
            .collect();
        format!("[{}]", items.join(","))
    }

    fn matic_snapshot(checksum: u32) -> String {
        format!(
            r#"{{"channel":"book","type":"snapshot","data":[{{"symbol":"MATIC/USD","bids":{},"asks":{},"checksum":{checksum},"timestamp":"2023-10-06T17:35:55.440295Z"}}]}}"#,
            levels_json(&MATIC_BIDS),
            levels_json(&MATIC_ASKS)
        )
    }

    #[test]
    fn official_example_2_and_its_update_through_the_decoder() {
        assert_eq!(
            book_checksum(&book_of(&MATIC_ASKS, &MATIC_BIDS, 4, 8)),
            2_439_117_997
        );

        let mut feed = matic_feed();
        let snapshot = matic_snapshot(2_439_117_997);
        let event = feed.feed(snapshot.as_bytes(), 1).unwrap();
        let expected_ts = parse_rfc3339_ns(b"2023-10-06T17:35:55.440295Z").unwrap();
        assert_eq!(
            event,
            Some(Event::Book(BookUpdate {
                symbol: 0,
                kind: BookKind::Snapshot,
                exch_ts_ns: Some(expected_ts),
                sequence: None,
                checksum: Some(2_439_117_997)
            }))
        );
        let update = br#"{"channel":"book","type":"update","data":[{"symbol":"MATIC/USD","bids":[{"price":0.5657,"qty":1098.3947558}],"asks":[],"checksum":2114181697,"timestamp":"2023-10-06T17:35:56.000000Z"}]}"#;
        assert!(matches!(
            feed.feed(update, 2).unwrap(),
            Some(Event::Book(_))
        ));
        assert_eq!(
            feed.book(0).unwrap().bids.iter().last().unwrap().qty,
            109_839_475_580
        );
        let state = feed.state(0).unwrap();
        assert_eq!(
            (state.valid, state.checksum, state.updates, state.resyncs),
            (true, Some(2_114_181_697), 2, 0)
        );
    }

    #[test]
    fn a_wrong_checksum_invalidates_only_that_symbol_until_a_new_snapshot() {
        let mut feed = matic_feed();
        feed.add_instrument(Instrument {
            symbol: "BTC/USD".into(),
            price_scale: 1,
            qty_scale: 8,
            depth: 10,
        })
        .unwrap();
        feed.feed(matic_snapshot(2_439_117_997).as_bytes(), 1)
            .unwrap();
        // The checksum text: ask 100.5 x 2 ("1005" "200000000"), then bid 100.0 x 1.
        let btc_sum = crc32fast::hash(b"10052000000001000100000000");
        let btc = format!(
            r#"{{"channel":"book","type":"snapshot","data":[{{"symbol":"BTC/USD","bids":[{{"price":100.0,"qty":1.0}}],"asks":[{{"price":100.5,"qty":2.0}}],"checksum":{btc_sum}}}]}}"#
        );
        assert!(matches!(
            feed.feed(btc.as_bytes(), 2).unwrap(),
            Some(Event::Book(_))
        ));

        let corrupted = br#"{"channel":"book","type":"update","data":[{"symbol":"MATIC/USD","bids":[{"price":0.5657,"qty":1098.3947558}],"asks":[],"checksum":2114181698}]}"#;
        match feed.feed(corrupted, 3).unwrap() {
            Some(Event::Resync(Resync {
                symbol: 0,
                reason:
                    ResyncReason::ChecksumMismatch {
                        expected: 2_114_181_698,
                        computed: 2_114_181_697,
                    },
                action: ResyncAction::Resubscribe,
                ..
            })) => {}
            other => panic!("{other:?}"),
        }
        let state = feed.state(0).unwrap();
        assert!(!state.valid && state.resyncs == 1 && feed.book(0).unwrap().is_empty());
        let other = feed.state(1).unwrap();
        assert!(other.valid && other.resyncs == 0);
        assert_eq!(feed.book(1).unwrap().best_ask(), Some((1005, 200_000_000)));

        // Updates are ignored until the resubscribe's snapshot arrives.
        let update = br#"{"channel":"book","type":"update","data":[{"symbol":"MATIC/USD","bids":[],"asks":[],"checksum":1}]}"#;
        assert_eq!(feed.feed(update, 4).unwrap(), None);
        assert!(matches!(
            feed.feed(matic_snapshot(2_439_117_997).as_bytes(), 5)
                .unwrap(),
            Some(Event::Book(_))
        ));
        assert!(feed.state(0).unwrap().valid);
        assert_eq!(
            feed.book(0).unwrap().best_bid(),
            Some((5666, 483_175_496_356))
        );
    }

    #[test]
    fn a_snapshot_with_a_wrong_checksum_is_not_valid() {
        let mut feed = KrakenFeed::new();
        feed.add_instrument(Instrument {
            symbol: "BTC/USD".into(),
            price_scale: 1,
            qty_scale: 8,
            depth: 10,
        })
        .unwrap();
        let snapshot = br#"{"channel":"book","type":"snapshot","data":[{"symbol":"BTC/USD","bids":[{"price":29430.2,"qty":1.0}],"asks":[{"price":29430.4,"qty":1.0}],"checksum":0}]}"#;
        assert!(matches!(
            feed.feed(snapshot, 1).unwrap(),
            Some(Event::Resync(_))
        ));
    }

    #[test]
    fn trades_tickers_and_control_messages() {
        let mut feed = KrakenFeed::new();
        feed.add_instrument(Instrument {
            symbol: "BTC/USD".into(),
            price_scale: 1,
            qty_scale: 8,
            depth: 10,
        })
        .unwrap();
        let trade = br#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":68466.9,"qty":0.01919415,"ord_type":"market","trade_id":70635251,"timestamp":"2024-05-27T12:33:10.826003Z"}]}"#;
        assert_eq!(
            feed.feed(trade, 1).unwrap(),
            Some(Event::Trade(Trade {
                symbol: 0,
                price: 684_669,
                qty: 1_919_415,
                side: Side::Sell,
                trade_id: 70_635_251,
                exch_ts_ns: 1_716_813_190_826_003_000,
                aggregated: false,
            }))
        );
        let two = br#"{"channel":"trade","type":"snapshot","data":[
            {"symbol":"BTC/USD","side":"buy","price":1.0,"qty":1,"ord_type":"limit","trade_id":1,"timestamp":"2024-05-27T12:33:10Z"},
            {"symbol":"BTC/USD","side":"sell","price":2.0,"qty":2,"ord_type":"limit","trade_id":2,"timestamp":"2024-05-27T12:33:11Z"}]}"#;
        assert_eq!(
            feed.feed(two, 2).unwrap(),
            Some(Event::TradeBatch { count: 2 })
        );
        assert_eq!(feed.trade_batch()[1].price, 20);

        let ticker = br#"{"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD","bid":66781.1,"bid_qty":0.5,"ask":66781.2,"ask_qty":1.25,"last":66781.2,"volume":1832.55743467,"vwap":66923.71234,"low":65000.0,"high":67890.1,"change":-12.3,"change_pct":-0.02}]}"#;
        match feed.feed(ticker, 3).unwrap() {
            Some(Event::Ticker(t)) => {
                assert_eq!(
                    (t.last, t.bid, t.ask),
                    (
                        667_812,
                        Some((667_811, 50_000_000)),
                        Some((667_812, 125_000_000))
                    )
                );
                assert_eq!(
                    (t.low, t.high, t.volume, t.open),
                    (Some(650_000), Some(678_901), Some(183_255_743_467), None)
                );
            }
            other => panic!("{other:?}"),
        }

        let status = br#"{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":12393906104898154338,"system":"online","version":"2.0.4"}]}"#;
        assert_eq!(
            feed.feed(status, 4).unwrap(),
            Some(Event::Status(SystemStatus::Online))
        );
        assert_eq!(
            feed.feed(br#"{"channel":"heartbeat"}"#, 5).unwrap(),
            Some(Event::Heartbeat)
        );

        let ack = br#"{"method":"subscribe","req_id":11,"result":{"channel":"book","depth":10,"snapshot":true,"symbol":"BTC/USD"},"success":true,"time_in":"2024-05-19T16:45:24.204654Z","time_out":"2024-05-19T16:45:24.204700Z"}"#;
        assert_eq!(
            feed.feed(ack, 6).unwrap(),
            Some(Event::Reply(Reply {
                method: Some(b"subscribe"),
                req_id: Some(11),
                success: true,
                error: None
            }))
        );
        let error = br#"{"error":"Subscription depth not supported","method":"subscribe","req_id":3,"success":false,"time_in":"x","time_out":"y"}"#;
        let expected = Reply {
            method: Some(b"subscribe"),
            req_id: Some(3),
            success: false,
            error: Some(b"Subscription depth not supported"),
        };
        assert_eq!(feed.feed(error, 7).unwrap(), Some(Event::Reply(expected)));
        let pong = br#"{"method":"pong","req_id":1,"time_in":"2024-05-20T11:08:49.272922Z","time_out":"2024-05-20T11:08:49.272940Z"}"#;
        assert!(matches!(
            feed.feed(pong, 8).unwrap(),
            Some(Event::Reply(Reply { success: true, .. }))
        ));

        let instrument = br#"{"channel":"instrument","type":"snapshot","data":{"assets":[{"id":"BTC","status":"enabled","precision":10}],"pairs":[{"symbol":"BTC/USD","base":"BTC","quote":"USD","status":"online","qty_precision":8,"qty_increment":1e-08,"price_precision":1,"price_increment":0.1,"qty_min":0.0001}]}}"#;
        assert_eq!(
            feed.feed(instrument, 9).unwrap(),
            Some(Event::Instruments { count: 1 })
        );
        let pair = PairPrecision {
            symbol: "BTC/USD".into(),
            price_precision: 1,
            qty_precision: 8,
        };
        assert_eq!(feed.pair_precisions(), [pair]);

        assert_eq!(
            feed.feed(b"CloudFlare WebSocket proxy restarting", 10)
                .unwrap(),
            Some(Event::Unparsable)
        );
        assert_eq!(
            feed.feed(br#"{"channel":"executions","data":[]}"#, 11)
                .unwrap(),
            Some(Event::Unrecognized)
        );
        assert!(matches!(
            feed.feed(br#"{"channel":"book","data":[{"#, 12),
            Err(FeedError::Json(_))
        ));
        let unknown = br#"{"channel":"trade","type":"update","data":[{"symbol":"ETH/USD","side":"buy","price":1,"qty":1,"trade_id":1,"timestamp":"2024-05-27T12:33:10Z"}]}"#;
        assert_eq!(
            feed.feed(unknown, 13),
            Err(FeedError::UnknownSymbol("ETH/USD".into()))
        );
        let too_precise = br#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"buy","price":1.05,"qty":1,"trade_id":1,"timestamp":"2024-05-27T12:33:10Z"}]}"#;
        assert!(matches!(
            feed.feed(too_precise, 14),
            Err(FeedError::Decimal { field: "price", .. })
        ));
    }

    /// Arbitrary bytes, and real frames and snapshots with arbitrary edits, on live books: no
    /// panic, errors are `FeedError`s, and the books stay well formed (rust/fuzzing.rs lists
    /// the checks; the `kraken` fuzz target runs the same session).
    mod arbitrary_input {
        use crate::fuzzing::{run_session, strategies, Venue};
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn kraken_survives_arbitrary_and_mutated_frames(steps in strategies::steps()) {
                run_session(Venue::Kraken, &steps);
            }
        }
    }
}
