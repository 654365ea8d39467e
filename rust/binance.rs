//! Binance spot market streams, raw (`/ws/<stream>`) or combined (`{"stream", "data"}`):
//! `depthUpdate` diffs kept in sync with a REST snapshot, partial `depth<N>` books, `trade`,
//! `aggTrade`, `bookTicker`, `serverShutdown`, and control replies (`{"result":null,"id":1}`,
//! `{"code":2,"msg":"..."}`).
//!
//! A symbol's diff book starts unsynced: its first diff returns [`Event::Resync`] with
//! [`ResyncAction::FetchSnapshot`](crate::market::ResyncAction::FetchSnapshot); the caller fetches
//! `GET /api/v3/depth` and hands the body to [`BinanceFeed::apply_snapshot`] while diffs keep
//! being buffered (see [`crate::sync`] for the sequencing rules). A symbol should use either the
//! diff stream or a partial-depth stream, not both.
//!
//! The frames that are nearly all of the traffic (`bookTicker`, `depthUpdate`, the REST
//! snapshot) are read by their exact layout, matching the fixed text between values. Anything
//! spelled otherwise, and any frame holding a bad value, goes to the general path, which reads
//! every field into a table first; a property test holds the two to the same answers.

use crate::book::{Book, BookSide};
use crate::decimal::{parse_plain_prefix, DecimalError};
use crate::json::{find_quote, Parser};
use crate::market::{
    is_not_json, ms_to_ns, required, text_field, u64_field, Event, FeedError, Instrument,
    Instruments, MarketFeed, Quote, Reply, Side, SymbolId, SymbolState, SystemStatus, Trade,
};
use crate::sync::{
    read_book_sides, read_level_pairs, read_level_pairs_at, DepthSync, DiffHeader, LevelChange,
};

/// The raw values of the fields any Binance stream payload may carry, by wire name. Several
/// single-letter keys mean different things per event type (`a`: asks, best ask or aggregate id).
#[derive(Default)]
struct Fields<'a> {
    e: Option<&'a [u8]>,
    event_time: Option<&'a [u8]>,
    s: Option<&'a [u8]>,
    first_id: Option<&'a [u8]>,
    u: Option<&'a [u8]>,
    a: Option<&'a [u8]>,
    b: Option<&'a [u8]>,
    ask_qty: Option<&'a [u8]>,
    bid_qty: Option<&'a [u8]>,
    p: Option<&'a [u8]>,
    q: Option<&'a [u8]>,
    t: Option<&'a [u8]>,
    trade_time: Option<&'a [u8]>,
    m: Option<&'a [u8]>,
    last_update_id: Option<&'a [u8]>,
    bids: Option<&'a [u8]>,
    asks: Option<&'a [u8]>,
    // Control replies.
    result: Option<&'a [u8]>,
    id: Option<&'a [u8]>,
    code: Option<&'a [u8]>,
    msg: Option<&'a [u8]>,
    error: Option<&'a [u8]>,
    // The combined-stream wrapper's stream name.
    stream: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    fn read(bytes: &'a [u8]) -> Result<Self, FeedError> {
        let mut fields = Fields::default();
        let mut p = Parser::new(bytes);
        fields.read_object(&mut p, None)?;
        p.end()?;
        Ok(fields)
    }

    /// Reads one object's fields. With `wrapped`, a `data` member (the combined-stream payload)
    /// is read straight into it, and the return value says whether there was one.
    fn read_object(
        &mut self,
        p: &mut Parser<'a>,
        mut wrapped: Option<&mut Fields<'a>>,
    ) -> Result<bool, FeedError> {
        let mut has_data = false;
        let mut members = p.object()?;
        while let Some(key) = members.next(p)? {
            let slot = match key {
                b"e" => &mut self.e,
                b"E" => &mut self.event_time,
                b"s" => &mut self.s,
                b"U" => &mut self.first_id,
                b"u" => &mut self.u,
                b"a" => &mut self.a,
                b"b" => &mut self.b,
                b"A" => &mut self.ask_qty,
                b"B" => &mut self.bid_qty,
                b"p" => &mut self.p,
                b"q" => &mut self.q,
                b"t" => &mut self.t,
                b"T" => &mut self.trade_time,
                b"m" => &mut self.m,
                b"lastUpdateId" => &mut self.last_update_id,
                b"bids" => &mut self.bids,
                b"asks" => &mut self.asks,
                b"result" => &mut self.result,
                b"id" => &mut self.id,
                b"code" => &mut self.code,
                b"msg" => &mut self.msg,
                b"error" => &mut self.error,
                b"stream" => &mut self.stream,
                b"data" if wrapped.is_some() && p.peek() == Some(b'{') => {
                    if let Some(inner) = wrapped.as_deref_mut() {
                        inner.read_object(p, None)?;
                    }
                    has_data = true;
                    continue;
                }
                _ => {
                    p.skip()?;
                    continue;
                }
            };
            *slot = Some(p.raw()?);
        }
        Ok(has_data)
    }
}

fn ms_field(raw: Option<&[u8]>, field: &'static str) -> Result<u64, FeedError> {
    ms_to_ns(u64_field(raw, field)?)
}

/// A cursor that reads a frame by matching the exact text around its values (no whitespace,
/// fixed key order); every step is None when the text is not what it expects.
struct Literal<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Literal<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Literal { bytes, at: 0 }
    }

    #[inline(always)]
    fn eat(&mut self, literal: &[u8]) -> Option<()> {
        let rest = self.bytes.get(self.at..)?;
        rest.starts_with(literal).then(|| self.at += literal.len())
    }

    /// The text up to the next quote, which is left to the next `eat`. None when that text
    /// holds a backslash: the quote may be escaped (`\"` does not end a string), and
    /// escapes are the general path's to read.
    #[inline(always)]
    fn until_quote(&mut self) -> Option<&'a [u8]> {
        let rest = self.bytes.get(self.at..)?;
        let len = find_quote(rest)?;
        if rest[..len].contains(&b'\\') {
            return None;
        }
        self.at += len;
        Some(&rest[..len])
    }

    #[inline(always)]
    fn unsigned(&mut self) -> Option<u64> {
        let rest = self.bytes.get(self.at..)?;
        let mut value: u64 = 0;
        let mut len = 0;
        while let Some(digit) = rest
            .get(len)
            .map(|b| b.wrapping_sub(b'0'))
            .filter(|d| *d <= 9)
        {
            if len == 19 {
                return None; // nineteen digits always fit a u64; the general path takes more
            }
            value = value * 10 + u64::from(digit);
            len += 1;
        }
        if len == 0 {
            return None;
        }
        self.at += len;
        Some(value)
    }

    #[inline(always)]
    fn fixed(&mut self, scale: u8) -> Option<Result<i64, DecimalError>> {
        let (value, used) = parse_plain_prefix(self.bytes.get(self.at..)?, scale)?;
        self.at += used;
        Some(value)
    }

    /// Steps into the payload: past `{"stream":"<name>","data":` when the frame is a
    /// combined-stream one (true), else nothing (a raw stream's frame is the payload).
    #[inline(always)]
    fn open_payload(&mut self) -> Option<bool> {
        if self.eat(br#"{"stream":""#).is_none() {
            return Some(false);
        }
        self.until_quote()?;
        self.eat(br#"","data":"#)?;
        Some(true)
    }

    /// True at the end of the frame: after the payload's `}` and the wrapper's, if any.
    #[inline(always)]
    fn close_payload(&mut self, wrapped: bool) -> bool {
        let closing: &[u8] = if wrapped { b"}}" } else { b"}" };
        self.eat(closing).is_some() && self.at == self.bytes.len()
    }
}

/// Decoder and book keeper of one Binance market-stream connection.
#[derive(Debug, Default)]
pub struct BinanceFeed {
    instruments: Instruments,
    books: Vec<DepthSync>,
    changes: Vec<LevelChange>,
}

impl BinanceFeed {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a REST depth snapshot (`{"lastUpdateId":..,"bids":..,"asks":..}`) to `symbol`'s
    /// book and replays the diffs buffered meanwhile.
    pub fn apply_snapshot(
        &mut self,
        symbol: SymbolId,
        body: &[u8],
        recv_ns: u64,
    ) -> Result<Event<'static>, FeedError> {
        if symbol as usize >= self.books.len() {
            return Err(FeedError::UnknownSymbolId(symbol));
        }
        let last_id = match self.compact_snapshot(symbol, body) {
            Some(last_id) => last_id,
            None => {
                let fields = Fields::read(body)?;
                self.read_levels(symbol, fields.bids, fields.asks)?;
                u64_field(fields.last_update_id, "lastUpdateId")?
            }
        };
        Ok(self.books[symbol as usize].on_snapshot(last_id, &self.changes, None, recv_ns))
    }

    /// `{"lastUpdateId":..,"bids":[..],"asks":[..]}` as Binance writes it, its levels read
    /// into `changes` in one pass (the general path would first skip over all of them to find
    /// the arrays). None when the body is written any other way or holds a bad value: the
    /// general path reads it again and reports the error.
    fn compact_snapshot(&mut self, id: SymbolId, body: &[u8]) -> Option<u64> {
        let mut text = Literal::new(body);
        text.eat(br#"{"lastUpdateId":"#)?;
        let last_id = text.unsigned()?;
        self.changes.clear();
        for (literal, side) in [
            (br#","bids":"#, BookSide::Bid),
            (br#","asks":"#, BookSide::Ask),
        ] {
            text.eat(literal)?;
            let mut p = Parser::new(&body[text.at..]);
            read_level_pairs_at(&mut p, side, &self.instruments, id, &mut self.changes).ok()?;
            text.at += p.position();
        }
        text.close_payload(false).then_some(last_id)
    }

    fn read_levels(
        &mut self,
        id: SymbolId,
        bids: Option<&[u8]>,
        asks: Option<&[u8]>,
    ) -> Result<(), FeedError> {
        read_book_sides(bids, asks, &self.instruments, id, &mut self.changes)
    }

    /// The most frequent frame, exactly as Binance writes it:
    /// `{"u":..,"s":"..","b":"..","B":"..","a":"..","A":".."}` (in the combined-stream wrapper
    /// or not), read by matching the fixed text between its values. None (nothing read) for
    /// any other frame, and for a bookTicker written any other way (spacing, key order, a new
    /// field), which the general path reads.
    fn compact_book_ticker(&self, payload: &[u8]) -> Option<Result<Event<'static>, FeedError>> {
        let mut text = Literal::new(payload);
        let wrapped = text.open_payload()?;
        text.eat(br#"{"u":"#)?;
        let update_id = text.unsigned()?;
        text.eat(br#","s":""#)?;
        // Any error is the general path's to report (it reads the whole frame first).
        let id = self.instruments.id(text.until_quote()?).ok()?;
        let Instrument {
            price_scale,
            qty_scale,
            ..
        } = *self.instruments.get(id);
        text.eat(br#"","b":""#)?;
        let bid_price = text.fixed(price_scale)?;
        text.eat(br#"","B":""#)?;
        let bid_qty = text.fixed(qty_scale)?;
        text.eat(br#"","a":""#)?;
        let ask_price = text.fixed(price_scale)?;
        text.eat(br#"","A":""#)?;
        let ask_qty = text.fixed(qty_scale)?;
        text.eat(b"\"")?;
        if !text.close_payload(wrapped) {
            return None;
        }
        let price = |field, read: Result<i64, DecimalError>| {
            read.map_err(|error| FeedError::Decimal { field, error })
        };
        let qty = |field, read| match price(field, read)? {
            qty if qty < 0 => Err(FeedError::BadField(field)),
            qty => Ok(qty),
        };
        let quote = (|| {
            Ok(Quote {
                symbol: id,
                bid_price: price("b", bid_price)?,
                bid_qty: qty("B", bid_qty)?,
                ask_price: price("a", ask_price)?,
                ask_qty: qty("A", ask_qty)?,
                update_id: Some(update_id),
                exch_ts_ns: None,
            })
        })();
        Some(quote.map(Event::Quote))
    }

    /// A diff exactly as Binance writes it,
    /// `{"e":"depthUpdate","E":..,"s":"..","U":..,"u":..,"b":[..],"a":[..]}` (in the
    /// combined-stream wrapper or not), read by its fixed text; the level arrays by the
    /// general path's reader. None (nothing applied) for anything else, and for a frame with
    /// a bad value: the general path reads it again and reports the error.
    fn compact_depth_update(
        &mut self,
        payload: &[u8],
        recv_ns: u64,
    ) -> Option<Result<Option<Event<'static>>, FeedError>> {
        let mut text = Literal::new(payload);
        let wrapped = text.open_payload()?;
        text.eat(br#"{"e":"depthUpdate","E":"#)?;
        let event_ms = text.unsigned()?;
        text.eat(br#","s":""#)?;
        // Any error is the general path's to report (it reads the whole frame first).
        let id = self.instruments.id(text.until_quote()?).ok()?;
        text.eat(br#"","U":"#)?;
        let first_id = text.unsigned()?;
        text.eat(br#","u":"#)?;
        let last_id = text.unsigned()?;
        self.changes.clear();
        for (literal, side) in [(br#","b":"#, BookSide::Bid), (br#","a":"#, BookSide::Ask)] {
            text.eat(literal)?;
            let mut p = Parser::new(&payload[text.at..]);
            read_level_pairs_at(&mut p, side, &self.instruments, id, &mut self.changes).ok()?;
            text.at += p.position();
        }
        if !text.close_payload(wrapped) {
            return None;
        }
        let header = DiffHeader {
            first_id,
            last_id,
            exch_ts_ns: Some(ms_to_ns(event_ms).ok()?),
        };
        Some(Ok(self.books[id as usize].on_diff(
            header,
            &self.changes,
            recv_ns,
        )))
    }

    /// The symbol from the payload's `s`, else from the combined stream name, else the only one.
    fn symbol(&self, s: Option<&[u8]>, stream: Option<&[u8]>) -> Result<SymbolId, FeedError> {
        if let Some(raw) = s {
            return self.instruments.id(Parser::new(raw).string()?);
        }
        if let Some(stream) = stream {
            let name = Parser::new(stream).string()?;
            let symbol = name.split(|&b| b == b'@').next().unwrap_or(name);
            return self.instruments.id(symbol);
        }
        match self.instruments.len() {
            1 => Ok(0),
            _ => Err(FeedError::MissingField("s")),
        }
    }

    fn on_event<'a>(
        &mut self,
        f: Fields<'a>,
        stream: Option<&[u8]>,
        recv_ns: u64,
    ) -> Result<Option<Event<'a>>, FeedError> {
        let event_type = f.e.map(|raw| Parser::new(raw).string()).transpose()?;
        match event_type {
            Some(b"depthUpdate") => {
                let id = self.symbol(f.s, stream)?;
                let header = DiffHeader {
                    first_id: u64_field(f.first_id, "U")?,
                    last_id: u64_field(f.u, "u")?,
                    exch_ts_ns: Some(ms_field(f.event_time, "E")?),
                };
                self.changes.clear();
                for (side, raw, field) in [(BookSide::Bid, f.b, "b"), (BookSide::Ask, f.a, "a")] {
                    let raw = required(raw, field)?;
                    read_level_pairs(raw, side, &self.instruments, id, &mut self.changes)?;
                }
                Ok(self.books[id as usize].on_diff(header, &self.changes, recv_ns))
            }
            Some(kind @ (b"trade" | b"aggTrade")) => {
                let id = self.symbol(f.s, stream)?;
                let aggregated = kind == b"aggTrade";
                let trade_id = if aggregated {
                    u64_field(f.a, "a")?
                } else {
                    u64_field(f.t, "t")?
                };
                let buyer_is_maker = Parser::new(required(f.m, "m")?).bool()?;
                Ok(Some(Event::Trade(Trade {
                    symbol: id,
                    price: self.instruments.price(id, "p", text_field(f.p, "p")?)?,
                    qty: self.instruments.qty(id, "q", text_field(f.q, "q")?)?,
                    // The maker's opposite took liquidity.
                    side: if buyer_is_maker {
                        Side::Sell
                    } else {
                        Side::Buy
                    },
                    trade_id,
                    exch_ts_ns: ms_field(f.trade_time.or(f.event_time), "T")?,
                    aggregated,
                })))
            }
            Some(b"serverShutdown") => Ok(Some(Event::Status(SystemStatus::ShuttingDown))),
            Some(_) => Ok(Some(Event::Unrecognized)),
            None if f.result.is_some() || f.code.is_some() || f.error.is_some() => {
                Ok(Some(Event::Reply(reply(&f)?)))
            }
            None if f.last_update_id.is_some() => {
                let id = self.symbol(f.s, stream)?;
                let last_id = u64_field(f.last_update_id, "lastUpdateId")?;
                self.read_levels(id, f.bids, f.asks)?;
                let depth = self.instruments.get(id).depth;
                Ok(Some(self.books[id as usize].on_partial(
                    last_id,
                    &self.changes,
                    depth,
                    recv_ns,
                )))
            }
            None if f.u.is_some() && f.bid_qty.is_some() => {
                let id = self.symbol(f.s, stream)?;
                let inst = &self.instruments;
                Ok(Some(Event::Quote(Quote {
                    symbol: id,
                    bid_price: inst.price(id, "b", text_field(f.b, "b")?)?,
                    bid_qty: inst.qty(id, "B", text_field(f.bid_qty, "B")?)?,
                    ask_price: inst.price(id, "a", text_field(f.a, "a")?)?,
                    ask_qty: inst.qty(id, "A", text_field(f.ask_qty, "A")?)?,
                    update_id: Some(u64_field(f.u, "u")?),
                    exch_ts_ns: f
                        .event_time
                        .map(|raw| ms_field(Some(raw), "E"))
                        .transpose()?,
                })))
            }
            None => Ok(Some(Event::Unrecognized)),
        }
    }
}

/// `{"result":..,"id":..}` is a success; `{"code":..,"msg":..}` or `{"error":{"code","msg"}}` a failure.
fn reply<'a>(f: &Fields<'a>) -> Result<Reply<'a>, FeedError> {
    let req_id = match f.id {
        Some(raw) if raw != b"null" => Parser::new(raw).i64().ok(),
        _ => None,
    };
    let message = match (f.msg, f.error) {
        (Some(msg), _) => Some(Parser::new(msg).string()?),
        (None, Some(error)) => {
            let inner = Fields::read(error)?;
            inner.msg.map(|msg| Parser::new(msg).string()).transpose()?
        }
        (None, None) => None,
    };
    let success = f.code.is_none() && f.error.is_none();
    Ok(Reply {
        method: None,
        req_id,
        success,
        error: message,
    })
}

impl MarketFeed for BinanceFeed {
    type LevelExtra = ();
    /// Binance prints every price and quantity with 8 decimals, and resting orders can be
    /// finer than today's `stepSize`: a smaller scale would refuse valid frames.
    const WIRE_SCALE: u8 = 8;

    /// `symbol` as Binance writes it in payloads (`BTCUSDT`); the lower-case stream spelling is
    /// registered too. `depth` is the partial-depth stream's level count, if one is used.
    fn add_instrument(&mut self, instrument: Instrument) -> Result<SymbolId, FeedError> {
        let lower = instrument.symbol.to_ascii_lowercase();
        let aliases: &[&str] = if lower == instrument.symbol {
            &[]
        } else {
            &[&lower]
        };
        let id = self.instruments.add(instrument, aliases)?;
        self.books.push(DepthSync::new(id));
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
        // The two frames that make up nearly all of the traffic, read by their exact layout.
        if let Some(read) = self.compact_book_ticker(payload) {
            return read.map(Some);
        }
        if let Some(read) = self.compact_depth_update(payload, recv_ns) {
            return read;
        }
        self.feed_general(payload, recv_ns)
    }

    fn book(&self, symbol: SymbolId) -> Option<&Book> {
        self.books.get(symbol as usize).map(DepthSync::book)
    }

    fn state(&self, symbol: SymbolId) -> Option<SymbolState> {
        self.books.get(symbol as usize).map(DepthSync::state)
    }
}

impl BinanceFeed {
    /// Any frame, whatever its spelling: every field read into the table, then interpreted.
    pub(crate) fn feed_general<'a>(
        &mut self,
        payload: &'a [u8],
        recv_ns: u64,
    ) -> Result<Option<Event<'a>>, FeedError> {
        if is_not_json(payload) {
            return Ok(Some(Event::Unparsable));
        }
        if Parser::new(payload).peek() == Some(b'[') {
            return Ok(Some(Event::Unrecognized)); // `!ticker@arr`-style arrays
        }
        let (mut outer, mut inner) = (Fields::default(), Fields::default());
        let mut p = Parser::new(payload);
        let wrapped = outer.read_object(&mut p, Some(&mut inner))?;
        p.end()?;
        if wrapped {
            self.on_event(inner, outer.stream, recv_ns)
        } else {
            self.on_event(outer, None, recv_ns)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::{BookKind, BookUpdate, ResyncAction, ResyncReason};

    fn feed_with_btc() -> BinanceFeed {
        let mut feed = BinanceFeed::new();
        let btc = Instrument {
            symbol: "BTCUSDT".into(),
            price_scale: 2,
            qty_scale: 5,
            depth: 5,
        };
        assert_eq!(feed.add_instrument(btc), Ok(0));
        let eth = Instrument {
            symbol: "ETHUSDT".into(),
            price_scale: 2,
            qty_scale: 4,
            depth: 5,
        };
        assert_eq!(feed.add_instrument(eth), Ok(1));
        feed
    }

    #[test]
    fn book_ticker_fast_path_reads_what_the_general_path_reads() {
        let mut feed = feed_with_btc();
        let wrapped = br#"{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"25.35","B":"31.21","a":"25.36","A":"40.66"}}"#;
        let fast = feed.compact_book_ticker(wrapped).unwrap().unwrap();
        // The raw stream form has no wrapper: the same reader takes it.
        let raw =
            br#"{"u":400900217,"s":"BTCUSDT","b":"25.35","B":"31.21","a":"25.36","A":"40.66"}"#;
        assert_eq!(feed.compact_book_ticker(raw).unwrap().unwrap(), fast);
        let general = feed.feed_general(wrapped, 0).unwrap();
        assert_eq!(Some(fast), general);
        assert_eq!(feed.feed_general(raw, 0).unwrap(), general);
        assert_eq!(feed.feed(wrapped, 0).unwrap(), general);
        // Written any other way (a new field, spacing, key order, a number not quoted): the
        // general path reads it, with the same answer.
        for other in [
            r#"{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"25.35","B":"31.21","a":"25.36","A":"40.66","E":1}}"#,
            r#"{"stream":"btcusdt@bookTicker", "data":{"u":400900217,"s":"BTCUSDT","b":"25.35","B":"31.21","a":"25.36","A":"40.66"}}"#,
            r#"{"stream":"btcusdt@bookTicker","data":{"s":"BTCUSDT","u":400900217,"b":"25.35","B":"31.21","a":"25.36","A":"40.66"}}"#,
            r#"{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":25.35,"B":"31.21","a":"25.36","A":"40.66"}}"#,
            r#"{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"25.35","B":"31.21","a":"25.36","A":"40.66"}} "#,
        ] {
            assert!(
                feed.compact_book_ticker(other.as_bytes()).is_none(),
                "{other}"
            );
            let read = feed.feed(other.as_bytes(), 0).unwrap();
            let Some(Event::Quote(quote)) = read else {
                panic!("{other}: {read:?}")
            };
            assert_eq!(
                (
                    quote.bid_price,
                    quote.bid_qty,
                    quote.ask_price,
                    quote.ask_qty,
                    quote.update_id
                ),
                (2535, 3_121_000, 2536, 4_066_000, Some(400_900_217)),
                "{other}"
            );
        }
        // Bad values in the exact layout are errors, as on the general path.
        let too_precise = br#"{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"25.351","B":"31.21","a":"25.36","A":"40.66"}}"#;
        assert!(matches!(
            feed.feed(too_precise, 0),
            Err(FeedError::Decimal { field: "b", .. })
        ));
        let negative = br#"{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"25.35","B":"-1","a":"25.36","A":"40.66"}}"#;
        assert!(matches!(
            feed.feed(negative, 0),
            Err(FeedError::BadField("B"))
        ));
        let unknown = br#"{"stream":"solusdt@bookTicker","data":{"u":1,"s":"SOLUSDT","b":"25.35","B":"1","a":"25.36","A":"40.66"}}"#;
        assert!(matches!(
            feed.feed(unknown, 0),
            Err(FeedError::UnknownSymbol(_))
        ));
    }

    /// Two feeds fed the same diffs, one through `feed` (the compact reader takes them) and
    /// one through the general path only, must return the same events and keep the same books;
    /// frames spelled otherwise go the general way through `feed` with the same result.
    #[test]
    fn depth_fast_path_reads_what_the_general_path_reads() {
        let frames = [
            depth_update("BTCUSDT", 100, 105, r#"[["61837.63","3.5"],["61837.62","0"]]"#, "[]"),
            depth_update("BTCUSDT", 106, 108, "[]", r#"[["61840.00","1.25"]]"#),
            // Raw stream form, no wrapper.
            r#"{"e":"depthUpdate","E":1723161255300,"s":"BTCUSDT","U":109,"u":110,"b":[["61837.63","0"]],"a":[["61841.00","2"]]}"#.to_string(),
        ];
        let snapshot = br#"{"lastUpdateId":104,"bids":[["61837.62","1"],["61830.00","2"]],"asks":[["61845.00","1"]]}"#;
        let (mut fast, mut general) = (feed_with_btc(), feed_with_btc());
        for (i, frame) in frames.iter().enumerate() {
            let a = fast.feed(frame.as_bytes(), 7).unwrap();
            let b = general.feed_general(frame.as_bytes(), 7).unwrap();
            assert_eq!(a, b, "frame {i}");
            if i == 0 {
                assert_eq!(
                    fast.apply_snapshot(0, snapshot, 8).unwrap(),
                    general.apply_snapshot(0, snapshot, 8).unwrap()
                );
            }
        }
        let levels = |feed: &BinanceFeed| {
            let book = feed.book(0).unwrap();
            let side =
                |s: &crate::book::Ladder| s.iter().map(|l| (l.price, l.qty)).collect::<Vec<_>>();
            (side(&book.bids), side(&book.asks))
        };
        assert_eq!(levels(&fast), levels(&general));
        assert_eq!(
            levels(&fast),
            (
                vec![(6_183_000, 200_000)],
                vec![
                    (6_184_000, 125_000),
                    (6_184_100, 200_000),
                    (6_184_500, 100_000)
                ]
            )
        );
        assert!(fast.state(0).unwrap().valid);
        // Spelled otherwise (spacing, key order, a new field): not the compact reader's.
        for other in [
            r#"{"e": "depthUpdate","E":1,"s":"BTCUSDT","U":111,"u":111,"b":[],"a":[]}"#,
            r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","u":111,"U":111,"b":[],"a":[]}"#,
            r#"{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":111,"u":111,"b":[],"a":[],"x":1}"#,
        ] {
            assert!(
                fast.compact_depth_update(other.as_bytes(), 0).is_none(),
                "{other}"
            );
        }
        // A bad level inside the compact layout is the same typed error either way.
        let bad = depth_update("BTCUSDT", 111, 111, r#"[["61837.631","1"]]"#, "[]");
        assert!(matches!(
            fast.feed(bad.as_bytes(), 0),
            Err(FeedError::Decimal { field: "price", .. })
        ));
        assert!(matches!(
            general.feed_general(bad.as_bytes(), 0),
            Err(FeedError::Decimal { field: "price", .. })
        ));
    }

    #[test]
    fn snapshots_read_alike_however_they_are_spelled() {
        let compact = br#"{"lastUpdateId":104,"bids":[["61837.62","1"],["61830.00","2"]],"asks":[["61845.00","1"]]}"#;
        let books = [
            compact.as_slice(),
            br#"{"lastUpdateId": 104, "bids": [["61837.62", "1"], ["61830.00", "2"]], "asks": [["61845.00", "1"]]}"#,
            br#"{"asks":[["61845.00","1"]],"bids":[["61837.62","1"],["61830.00","2"]],"lastUpdateId":104}"#,
            br#"{"lastUpdateId":104,"bids":[["61837.62","1"],["61830.00","2"]],"asks":[["61845.00","1"]],"x":[]}"#,
        ]
        .map(|body| {
            let mut feed = feed_with_btc();
            let diff = depth_update("BTCUSDT", 105, 105, "[]", "[]");
            feed.feed(diff.as_bytes(), 0).unwrap();
            let event = feed.apply_snapshot(0, body, 1).unwrap();
            assert!(matches!(event, Event::Book(_)), "{event:?}");
            let book = feed.book(0).unwrap();
            let side = |l: &crate::book::Ladder| l.iter().map(|l| (l.price, l.qty)).collect::<Vec<_>>();
            (side(&book.bids), side(&book.asks), feed.state(0).unwrap().sequence)
        });
        assert_eq!(
            books[0],
            (
                vec![(6_183_762, 100_000), (6_183_000, 200_000)],
                vec![(6_184_500, 100_000)],
                Some(105)
            )
        );
        assert!(books.iter().all(|book| *book == books[0]));
        let mut feed = feed_with_btc();
        let bad = br#"{"lastUpdateId":104,"bids":[["61837.621","1"]],"asks":[]}"#;
        assert!(matches!(
            feed.apply_snapshot(0, bad, 0),
            Err(FeedError::Decimal { field: "price", .. })
        ));
    }

    /// Frames as Binance writes them or spelled a little otherwise, with good and bad values:
    /// whichever path `feed` takes, it must answer exactly as the general path does.
    mod fast_and_general_paths {
        use super::*;
        use proptest::prelude::*;

        fn level() -> impl Strategy<Value = String> {
            let price = prop_oneof![
                "6183[0-9]\\.[0-9]{2}(000000)?",
                "6183[0-9]\\.[0-9]{3}", // too precise unless the last digit is 0
                Just("0.00".to_string()),
            ];
            let qty = prop_oneof![
                "[0-9]\\.[0-9]{1,5}(000)?",
                Just("0.00000000".to_string()),
                Just("-1".to_string())
            ];
            (price, qty).prop_map(|(p, q)| format!(r#"["{p}","{q}"]"#))
        }

        fn levels() -> impl Strategy<Value = String> {
            prop::collection::vec(level(), 0..6).prop_map(|l| format!("[{}]", l.join(",")))
        }

        /// (frame, whether it is a diff that takes update ids)
        fn frame() -> impl Strategy<Value = (String, bool)> {
            let symbol =
                prop_oneof![4 => Just("BTCUSDT"), 1 => Just("ETHUSDT"), 1 => Just("XRPUSDT")];
            let diff = (symbol.clone(), levels(), levels(), 0u64..3)
                .prop_map(|(s, b, a, gap)| (format!(r#"{{"e":"depthUpdate","E":1723161255308,"s":"{s}","U":{{U}},"u":{{u}},"b":{b},"a":{a}}}"#), gap));
            let ticker = (symbol, level(), level()).prop_map(|(s, b, a)| {
                let (b, a) = (&b[1..b.len() - 1], &a[1..a.len() - 1]);
                let (bid, bid_qty) = b.split_once(',').unwrap();
                let (ask, ask_qty) = a.split_once(',').unwrap();
                format!(
                    r#"{{"u":400900217,"s":"{s}","b":{bid},"B":{bid_qty},"a":{ask},"A":{ask_qty}}}"#
                )
            });
            let payload = prop_oneof![
                diff.prop_map(|(f, gap)| (f, Some(gap))),
                ticker.prop_map(|f| (f, None))
            ];
            (payload, any::<bool>(), 0u8..4).prop_map(|((body, gap), wrapped, respell)| {
                let mut body = body;
                match respell {
                    1 => body = body.replacen(':', ": ", 1),
                    2 => body = format!("{},\"x\":1}}", &body[..body.len() - 1]),
                    _ => {}
                }
                let stream = if gap.is_some() {
                    "depth@100ms"
                } else {
                    "bookTicker"
                };
                let frame = if wrapped {
                    format!(r#"{{"stream":"btcusdt@{stream}","data":{body}}}"#)
                } else {
                    body
                };
                // The gap rides in the placeholder until ids are handed out.
                (
                    frame.replace("{U}", &format!("{{U{}}}", gap.unwrap_or(0))),
                    gap.is_some(),
                )
            })
        }

        proptest! {
            #[test]
            fn feed_answers_as_the_general_path_does(
                frames in prop::collection::vec((frame(), prop::option::weighted(0.15, 0usize..400)), 1..25),
            ) {
                let (mut fast, mut general) = (feed_with_btc(), feed_with_btc());
                let snapshot = br#"{"lastUpdateId":100,"bids":[["61830.00","2"]],"asks":[["61845.00","1"]]}"#;
                let mut next_id = 101;
                for (i, ((template, is_diff), cut)) in frames.iter().enumerate() {
                    let mut frame = template.clone();
                    if *is_diff {
                        for gap in 0..3u64 {
                            let key = format!("{{U{gap}}}");
                            if frame.contains(&key) {
                                let first = next_id + gap;
                                frame = frame.replace(&key, &first.to_string()).replace("{u}", &(first + 1).to_string());
                                next_id = first + 2;
                            }
                        }
                    }
                    if let Some(cut) = cut {
                        frame.truncate(*cut % frame.len()); // a frame cut short
                    }
                    let a = fast.feed(frame.as_bytes(), 7);
                    let b = general.feed_general(frame.as_bytes(), 7);
                    prop_assert_eq!(&a, &b, "frame {}: {}", i, frame);
                    if i == 0 {
                        prop_assert_eq!(fast.apply_snapshot(0, snapshot, 8), general.apply_snapshot(0, snapshot, 8));
                    }
                }
                for id in 0..2 {
                    let side = |l: &crate::book::Ladder| l.iter().map(|l| (l.price, l.qty)).collect::<Vec<_>>();
                    let (x, y) = (fast.book(id).unwrap(), general.book(id).unwrap());
                    prop_assert_eq!(side(&x.bids), side(&y.bids));
                    prop_assert_eq!(side(&x.asks), side(&y.asks));
                    prop_assert_eq!(fast.state(id), general.state(id));
                }
            }
        }
    }

    /// Found by `make fuzz` (the binance target): the compact readers took the `"` of an
    /// escaped quote for the end of the stream name, so a frame the general path refuses (the
    /// string runs on, and `data` is then not a key) was read as a bookTicker or a diff.
    #[test]
    fn an_escaped_quote_does_not_end_a_string_on_the_fast_paths() {
        let frames = [
            r#"{"stream":"btcusdt@bookTicker\","data":{"u":400500217,"s":"BTCUSDT","b":"25.35","B":"31.21","a":"25.36","A":"40.66"}}"#.to_string(),
            depth_update("BTCUSDT", 100, 105, r#"[["61837.63","3.5"]]"#, "[]")
                .replacen("@depth@100ms", "@depth@100ms\\", 1),
        ];
        for frame in &frames {
            let (mut fast, mut general) = (feed_with_btc(), feed_with_btc());
            let read = fast.feed(frame.as_bytes(), 1);
            assert!(matches!(read, Err(FeedError::Json(_))), "{frame}: {read:?}");
            assert_eq!(read, general.feed_general(frame.as_bytes(), 1));
            assert_eq!(fast.state(0), general.state(0));
        }
        // Escapes elsewhere in a string the fast path reads: the general path decides too.
        let escaped = br#"{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTC\u0055SDT","b":"25.35","B":"31.21","a":"25.36","A":"40.66"}}"#;
        let mut feed = feed_with_btc();
        assert!(feed.compact_book_ticker(escaped).is_none());
        assert_eq!(feed.feed(escaped, 1), feed.feed_general(escaped, 1));
    }

    fn depth_update(symbol: &str, first: u64, last: u64, bids: &str, asks: &str) -> String {
        format!(
            r#"{{"stream":"{}@depth@100ms","data":{{"e":"depthUpdate","E":1723161255208,"s":"{symbol}","U":{first},"u":{last},"b":{bids},"a":{asks}}}}}"#,
            symbol.to_ascii_lowercase()
        )
    }

    #[test]
    fn syncs_from_a_snapshot_and_resyncs_one_symbol_on_a_gap() {
        let mut feed = feed_with_btc();
        let first = depth_update("BTCUSDT", 100, 105, r#"[["61837.63","3.5"]]"#, "[]");
        match feed.feed(first.as_bytes(), 1).unwrap() {
            Some(Event::Resync(r)) => assert_eq!(
                (r.reason, r.action),
                (ResyncReason::Initial, ResyncAction::FetchSnapshot)
            ),
            other => panic!("{other:?}"),
        }
        let eth_first = depth_update("ETHUSDT", 7, 7, "[]", "[]");
        assert!(matches!(
            feed.feed(eth_first.as_bytes(), 1).unwrap(),
            Some(Event::Resync(_))
        ));
        let snapshot = br#"{"lastUpdateId":102,"bids":[["61837.62000000","1.00000000"]],"asks":[["61837.64000000","2.00000000"]]}"#;
        let event = feed.apply_snapshot(0, snapshot, 2).unwrap();
        assert!(matches!(
            event,
            Event::Book(BookUpdate {
                kind: BookKind::Snapshot,
                sequence: Some(105),
                ..
            })
        ));
        assert_eq!(feed.book(0).unwrap().best_bid(), Some((6_183_763, 350_000)));
        feed.apply_snapshot(
            1,
            br#"{"lastUpdateId":7,"bids":[],"asks":[["1.00","1"]]}"#,
            2,
        )
        .unwrap();

        let next = depth_update("BTCUSDT", 106, 106, "[]", r#"[["61837.64","0"]]"#);
        assert!(matches!(
            feed.feed(next.as_bytes(), 3).unwrap(),
            Some(Event::Book(_))
        ));
        assert_eq!(feed.book(0).unwrap().best_ask(), None);

        let skipped = depth_update("BTCUSDT", 108, 110, "[]", "[]");
        match feed.feed(skipped.as_bytes(), 4).unwrap() {
            Some(Event::Resync(r)) => {
                assert_eq!(
                    r.reason,
                    ResyncReason::SequenceGap {
                        expected: 107,
                        received: 108
                    }
                );
                assert_eq!(r.exch_ts_ns, Some(1_723_161_255_208_000_000));
            }
            other => panic!("{other:?}"),
        }
        assert!(!feed.state(0).unwrap().valid);
        assert!(feed.state(1).unwrap().valid, "other symbols are untouched");
        let eth_next = depth_update("ETHUSDT", 8, 8, r#"[["0.50","1"]]"#, "[]");
        assert!(matches!(
            feed.feed(eth_next.as_bytes(), 5).unwrap(),
            Some(Event::Book(_))
        ));

        let refetched =
            br#"{"lastUpdateId":109,"bids":[["61800.00","1"]],"asks":[["61900.00","1"]]}"#;
        assert!(matches!(
            feed.apply_snapshot(0, refetched, 6).unwrap(),
            Event::Book(BookUpdate {
                sequence: Some(110),
                ..
            })
        ));
        let state = feed.state(0).unwrap();
        assert_eq!(
            (state.valid, state.resyncs, state.sequence),
            (true, 1, Some(110))
        );
        assert_eq!(
            feed.apply_snapshot(9, refetched, 7),
            Err(FeedError::UnknownSymbolId(9))
        );
    }

    #[test]
    fn trades_quotes_partial_depth_and_replies() {
        let mut feed = feed_with_btc();
        let trade = br#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#;
        let expected = Trade {
            symbol: 0,
            price: 6_183_763,
            qty: 2_000,
            side: Side::Sell,
            trade_id: 3_735_683_259,
            exch_ts_ns: 1_723_161_255_342_000_000,
            aggregated: false,
        };
        assert_eq!(feed.feed(trade, 1).unwrap(), Some(Event::Trade(expected)));
        let agg = br#"{"e":"aggTrade","E":1672515782136,"s":"ETHUSDT","a":12345,"p":"0.001","q":"100","f":100,"l":105,"T":1672515782136,"m":false,"M":true}"#;
        assert!(
            matches!(
                feed.feed(agg, 2),
                Err(FeedError::Decimal { field: "p", .. })
            ),
            "0.001 is finer than 2 places"
        );
        let agg = br#"{"e":"aggTrade","E":1672515782136,"s":"ETHUSDT","a":12345,"p":"0.01","q":"100","f":100,"l":105,"T":1672515782136,"m":false,"M":true}"#;
        match feed.feed(agg, 2).unwrap() {
            Some(Event::Trade(t)) => assert_eq!(
                (t.symbol, t.side, t.trade_id, t.aggregated),
                (1, Side::Buy, 12345, true)
            ),
            other => panic!("{other:?}"),
        }

        let ticker = br#"{"stream":"btcusdt@bookTicker","data":{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}"#;
        let quote = Quote {
            symbol: 0,
            bid_price: 6_183_763,
            bid_qty: 378_826,
            ask_price: 6_183_764,
            ask_qty: 154_698,
            update_id: Some(50_093_239_212),
            exch_ts_ns: None,
        };
        assert_eq!(feed.feed(ticker, 3).unwrap(), Some(Event::Quote(quote)));

        let partial = br#"{"stream":"ethusdt@depth5@100ms","data":{"lastUpdateId":160,"bids":[["10.00","1"],["9.99","0"],["9.98","2"]],"asks":[["10.01","3"]]}}"#;
        assert!(matches!(
            feed.feed(partial, 4).unwrap(),
            Some(Event::Book(BookUpdate {
                symbol: 1,
                kind: BookKind::Snapshot,
                sequence: Some(160),
                ..
            }))
        ));
        assert_eq!(feed.book(1).unwrap().bids.len(), 2);

        let ack = br#"{"result":null,"id":1}"#;
        let expected = Reply {
            method: None,
            req_id: Some(1),
            success: true,
            error: None,
        };
        assert_eq!(feed.feed(ack, 5).unwrap(), Some(Event::Reply(expected)));
        let error = br#"{"code":2,"msg":"Invalid request: unknown variant","id":"abc"}"#;
        let expected = Reply {
            method: None,
            req_id: None,
            success: false,
            error: Some(b"Invalid request: unknown variant"),
        };
        assert_eq!(feed.feed(error, 6).unwrap(), Some(Event::Reply(expected)));
        let shutdown =
            br#"{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}"#;
        assert_eq!(
            feed.feed(shutdown, 7).unwrap(),
            Some(Event::Status(SystemStatus::ShuttingDown))
        );
        assert_eq!(feed.feed(b"not json", 8).unwrap(), Some(Event::Unparsable));
        let unknown = br#"{"e":"trade","E":1,"s":"SOLUSDT","t":1,"p":"1","q":"1","T":1,"m":true}"#;
        assert_eq!(
            feed.feed(unknown, 9),
            Err(FeedError::UnknownSymbol("SOLUSDT".into()))
        );
    }

    /// Arbitrary bytes, and real frames and snapshots with arbitrary edits, on live books: no
    /// panic, errors are `FeedError`s, and the books stay well formed (rust/fuzzing.rs lists
    /// the checks; the `binance` fuzz target runs the same session).
    mod arbitrary_input {
        use crate::fuzzing::{run_session, strategies, Venue};
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn binance_survives_arbitrary_and_mutated_frames(steps in strategies::steps()) {
                run_session(Venue::Binance, &steps);
            }
        }
    }
}
