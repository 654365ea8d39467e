//! Upbit quotation stream: `ticker`, `trade` and `orderbook`, in the DEFAULT (`trade_price`) or
//! SIMPLE (`tp`) key format, plus the `{"status":"UP"}` keep-alive and `{"error":{..}}` frames.
//!
//! Every `orderbook` message is the whole top of book (1, 5, 15 or 30 units), so it replaces the
//! symbol's book. Times are milliseconds; the event time is the message's `timestamp` (`tms`).

use crate::book::{Book, BookSide};
use crate::json::Parser;
use crate::market::{
    is_not_json, ms_to_ns, required, text_field, Event, FeedError, Instrument, Instruments,
    MarketFeed, Reply, Side, SymbolId, SymbolState, Ticker, Trade,
};
use crate::sync::{replace_book, LevelChange};

/// Raw values of the fields Upbit messages carry; each is filled from either key spelling.
#[derive(Default)]
struct Fields<'a> {
    kind: Option<&'a [u8]>,
    code: Option<&'a [u8]>,
    timestamp: Option<&'a [u8]>,
    trade_price: Option<&'a [u8]>,
    trade_volume: Option<&'a [u8]>,
    ask_bid: Option<&'a [u8]>,
    sequential_id: Option<&'a [u8]>,
    opening_price: Option<&'a [u8]>,
    high_price: Option<&'a [u8]>,
    low_price: Option<&'a [u8]>,
    volume_24h: Option<&'a [u8]>,
    units: Option<&'a [u8]>,
    status: Option<&'a [u8]>,
    error: Option<&'a [u8]>,
    error_name: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    fn read(bytes: &'a [u8]) -> Result<Self, FeedError> {
        let mut f = Fields::default();
        let mut p = Parser::new(bytes);
        let mut members = p.object()?;
        while let Some(key) = members.next(&mut p)? {
            let slot = match key {
                b"type" | b"ty" => &mut f.kind,
                b"code" | b"cd" => &mut f.code,
                b"timestamp" | b"tms" => &mut f.timestamp,
                b"trade_price" | b"tp" => &mut f.trade_price,
                b"trade_volume" | b"tv" => &mut f.trade_volume,
                b"ask_bid" | b"ab" => &mut f.ask_bid,
                b"sequential_id" | b"sid" => &mut f.sequential_id,
                b"opening_price" | b"op" => &mut f.opening_price,
                b"high_price" | b"hp" => &mut f.high_price,
                b"low_price" | b"lp" => &mut f.low_price,
                b"acc_trade_volume_24h" | b"atv24h" => &mut f.volume_24h,
                b"orderbook_units" | b"obu" => &mut f.units,
                b"status" => &mut f.status,
                b"error" => &mut f.error,
                b"name" => &mut f.error_name,
                _ => {
                    p.skip()?;
                    continue;
                }
            };
            *slot = Some(p.raw()?);
        }
        p.end()?;
        Ok(f)
    }
}

/// Decoder and book keeper of one Upbit quotation connection.
#[derive(Debug, Default)]
pub struct UpbitFeed {
    instruments: Instruments,
    books: Vec<Book>,
    states: Vec<SymbolState>,
    changes: Vec<LevelChange>,
}

impl UpbitFeed {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `[{"ap","bp","as","bs"}, ...]` (or the DEFAULT names): unit i holds the i-th best
    /// ask and the i-th best bid.
    fn read_units(&mut self, id: SymbolId, raw: &[u8]) -> Result<(), FeedError> {
        self.changes.clear();
        let inst = &self.instruments;
        let mut p = Parser::new(raw);
        let mut units = p.array()?;
        while units.next(&mut p)? {
            let (mut ask_price, mut bid_price, mut ask_size, mut bid_size) =
                (None, None, None, None);
            let mut fields = p.object()?;
            // Each number read where it stands, in one pass.
            while let Some(key) = fields.next(&mut p)? {
                match key {
                    b"ask_price" | b"ap" => ask_price = Some(inst.read_price(id, "price", &mut p)?),
                    b"bid_price" | b"bp" => bid_price = Some(inst.read_price(id, "price", &mut p)?),
                    b"ask_size" | b"as" => ask_size = Some(inst.read_qty(id, "size", &mut p)?),
                    b"bid_size" | b"bs" => bid_size = Some(inst.read_qty(id, "size", &mut p)?),
                    _ => p.skip()?,
                }
            }
            for (side, price, size) in [
                (BookSide::Ask, ask_price, ask_size),
                (BookSide::Bid, bid_price, bid_size),
            ] {
                self.changes.push(LevelChange {
                    side,
                    price: price.ok_or(FeedError::MissingField("ask_price/bid_price"))?,
                    qty: size.ok_or(FeedError::MissingField("ask_size/bid_size"))?,
                });
            }
        }
        Ok(())
    }
}

impl MarketFeed for UpbitFeed {
    type LevelExtra = ();

    /// `symbol` is the market code (`KRW-BTC`); `depth` the orderbook units subscribed (1, 5, 15, 30).
    fn add_instrument(&mut self, instrument: Instrument) -> Result<SymbolId, FeedError> {
        let depth = instrument.depth;
        let id = self.instruments.add(instrument, &[])?;
        self.books.push(Book::with_capacity(depth));
        self.states.push(SymbolState::default());
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
        if Parser::new(payload).peek() == Some(b'[') {
            return Ok(Some(Event::Unrecognized)); // the *_LIST formats
        }
        let f = Fields::read(payload)?;
        let kind = match f.kind {
            Some(raw) => Parser::new(raw).string()?,
            None if f.status.is_some() => return Ok(Some(Event::Heartbeat)),
            None if f.error.is_some() => {
                // `{"error":{"name":"WRONG_FORMAT","message":".."}}`: the name is the stable part.
                let error = Fields::read(required(f.error, "error")?)?;
                let name = error
                    .error_name
                    .map(|raw| Parser::new(raw).string())
                    .transpose()?;
                let reply = Reply {
                    method: None,
                    req_id: None,
                    success: false,
                    error: name,
                };
                return Ok(Some(Event::Reply(reply)));
            }
            None => return Ok(Some(Event::Unrecognized)),
        };
        if !matches!(kind, b"trade" | b"orderbook" | b"ticker") {
            return Ok(Some(Event::Unrecognized));
        }
        let id = self
            .instruments
            .id(Parser::new(required(f.code, "code")?).string()?)?;
        let exch_ts_ns = ms_to_ns(Parser::new(required(f.timestamp, "timestamp")?).u64()?)?;
        let inst = &self.instruments;
        let event = match kind {
            b"trade" => Event::Trade(Trade {
                symbol: id,
                price: inst.price(id, "trade_price", text_field(f.trade_price, "trade_price")?)?,
                qty: inst.qty(
                    id,
                    "trade_volume",
                    text_field(f.trade_volume, "trade_volume")?,
                )?,
                side: match Parser::new(required(f.ask_bid, "ask_bid")?).string()? {
                    b"BID" => Side::Buy,
                    b"ASK" => Side::Sell,
                    _ => return Err(FeedError::BadField("ask_bid")),
                },
                trade_id: Parser::new(required(f.sequential_id, "sequential_id")?).u64()?,
                exch_ts_ns,
                aggregated: false,
            }),
            b"ticker" => {
                let price = |raw: Option<&[u8]>, field| {
                    raw.map(|r| inst.price(id, field, text_field(Some(r), field)?))
                        .transpose()
                };
                Event::Ticker(Ticker {
                    symbol: id,
                    last: inst.price(
                        id,
                        "trade_price",
                        text_field(f.trade_price, "trade_price")?,
                    )?,
                    open: price(f.opening_price, "opening_price")?,
                    high: price(f.high_price, "high_price")?,
                    low: price(f.low_price, "low_price")?,
                    volume: f
                        .volume_24h
                        .map(|raw| {
                            inst.qty(
                                id,
                                "acc_trade_volume_24h",
                                text_field(Some(raw), "acc_trade_volume_24h")?,
                            )
                        })
                        .transpose()?,
                    bid: None,
                    ask: None,
                    exch_ts_ns: Some(exch_ts_ns),
                })
            }
            _ => {
                let depth = inst.get(id).depth;
                self.read_units(id, required(f.units, "orderbook_units")?)?;
                let (book, state) = (&mut self.books[id as usize], &mut self.states[id as usize]);
                replace_book(
                    id,
                    book,
                    state,
                    &self.changes,
                    depth,
                    Some(exch_ts_ns),
                    recv_ns,
                )
            }
        };
        Ok(Some(event))
    }

    fn book(&self, symbol: SymbolId) -> Option<&Book> {
        self.books.get(symbol as usize)
    }

    fn state(&self, symbol: SymbolId) -> Option<SymbolState> {
        self.states.get(symbol as usize).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::{BookKind, BookUpdate, ResyncAction, ResyncReason};

    fn feed() -> UpbitFeed {
        let mut feed = UpbitFeed::new();
        let btc = Instrument {
            symbol: "KRW-BTC".into(),
            price_scale: 0,
            qty_scale: 8,
            depth: 15,
        };
        feed.add_instrument(btc).unwrap();
        feed
    }

    #[test]
    fn default_and_simple_keys_decode_the_same() {
        let mut feed = feed();
        let default = br#"{"type":"trade","code":"KRW-BTC","timestamp":1704067200123,"trade_date":"2024-01-01","trade_time":"00:00:00","trade_timestamp":1704067200000,"trade_price":100000000.0,"trade_volume":0.01,"ask_bid":"BID","prev_closing_price":99000000,"change":"RISE","change_price":1000000,"sequential_id":1704067200000001,"stream_type":"REALTIME"}"#;
        let simple = br#"{"ty":"trade","cd":"KRW-BTC","tms":1704067200123,"td":"2024-01-01","ttm":"00:00:00","ttms":1704067200000,"tp":100000000.0,"tv":0.01,"ab":"BID","pcp":99000000,"c":"RISE","cp":1000000,"sid":1704067200000001,"st":"REALTIME"}"#;
        let expected = Trade {
            symbol: 0,
            price: 100_000_000,
            qty: 1_000_000,
            side: Side::Buy,
            trade_id: 1_704_067_200_000_001,
            exch_ts_ns: 1_704_067_200_123_000_000,
            aggregated: false,
        };
        assert_eq!(feed.feed(default, 1).unwrap(), Some(Event::Trade(expected)));
        assert_eq!(feed.feed(simple, 1).unwrap(), Some(Event::Trade(expected)));

        let book_default = br#"{"type":"orderbook","code":"KRW-BTC","timestamp":1704067200000,"total_ask_size":4.5,"total_bid_size":6.1,"orderbook_units":[{"ask_price":100100000,"bid_price":100000000,"ask_size":0.5,"bid_size":1.2},{"ask_price":100200000,"bid_price":99900000,"ask_size":4.0,"bid_size":4.9}],"level":0,"stream_type":"REALTIME"}"#;
        let book_simple = br#"{"ty":"orderbook","cd":"KRW-BTC","tms":1704067200000,"tas":4.5,"tbs":6.1,"obu":[{"ap":100100000,"bp":100000000,"as":0.5,"bs":1.2},{"ap":100200000,"bp":99900000,"as":4.0,"bs":4.9}],"lv":0,"st":"REALTIME"}"#;
        for message in [&book_default[..], book_simple] {
            let event = feed.feed(message, 2).unwrap();
            assert!(matches!(
                event,
                Some(Event::Book(BookUpdate {
                    kind: BookKind::Snapshot,
                    ..
                }))
            ));
            let book = feed.book(0).unwrap();
            assert_eq!(book.best_bid(), Some((100_000_000, 120_000_000)));
            assert_eq!(book.best_ask(), Some((100_100_000, 50_000_000)));
            assert_eq!((book.bids.len(), book.asks.len()), (2, 2));
        }

        let ticker = br#"{"ty":"ticker","cd":"KRW-BTC","op":99000000.0,"hp":101000000.0,"lp":98000000.0,"tp":100000000.0,"pcp":99000000.0,"atv24h":1234.56789012,"tms":1704067200500,"st":"SNAPSHOT"}"#;
        match feed.feed(ticker, 3).unwrap() {
            Some(Event::Ticker(t)) => {
                assert_eq!(
                    (t.last, t.open, t.high, t.low),
                    (
                        100_000_000,
                        Some(99_000_000),
                        Some(101_000_000),
                        Some(98_000_000)
                    )
                );
                assert_eq!(t.volume, Some(123_456_789_012));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn keepalive_errors_and_crossed_books() {
        let mut feed = feed();
        assert_eq!(
            feed.feed(br#"{"status":"UP"}"#, 1).unwrap(),
            Some(Event::Heartbeat)
        );
        let error = br#"{"error":{"name":"WRONG_FORMAT","message":"Invalid format"}}"#;
        let expected = Reply {
            method: None,
            req_id: None,
            success: false,
            error: Some(b"WRONG_FORMAT"),
        };
        assert_eq!(feed.feed(error, 2).unwrap(), Some(Event::Reply(expected)));

        let crossed = br#"{"ty":"orderbook","cd":"KRW-BTC","tms":1,"obu":[{"ap":100,"bp":101,"as":1,"bs":1}]}"#;
        match feed.feed(crossed, 3).unwrap() {
            Some(Event::Resync(r)) => {
                assert_eq!(
                    (r.reason, r.action),
                    (
                        ResyncReason::Crossed { bid: 101, ask: 100 },
                        ResyncAction::Resubscribe
                    )
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(!feed.state(0).unwrap().valid);
        let fine = br#"{"ty":"orderbook","cd":"KRW-BTC","tms":2,"obu":[{"ap":102,"bp":101,"as":1,"bs":1}]}"#;
        assert!(matches!(feed.feed(fine, 4).unwrap(), Some(Event::Book(_))));
        let state = feed.state(0).unwrap();
        assert_eq!((state.valid, state.resyncs, state.updates), (true, 1, 1));
    }

    /// Arbitrary bytes, and real frames and snapshots with arbitrary edits, on live books: no
    /// panic, errors are `FeedError`s, and the books stay well formed (rust/fuzzing.rs lists
    /// the checks; the `upbit` fuzz target runs the same session).
    mod arbitrary_input {
        use crate::fuzzing::{run_session, strategies, Venue};
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn upbit_survives_arbitrary_and_mutated_frames(steps in strategies::steps()) {
                run_session(Venue::Upbit, &steps);
            }
        }
    }
}
