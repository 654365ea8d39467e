//! Backpack public streams in the `{"stream": .., "data": ..}` wrapper: `depth` diffs kept in sync
//! with a REST snapshot, `trade`, `bookTicker`, `ticker`, and error frames.
//!
//! A depth book is kept exactly like Binance's (see [`crate::sync`]): the first diff asks for a
//! snapshot (`GET /api/v1/depth`), which the caller passes to [`BackpackFeed::apply_snapshot`];
//! the first diff applied must bridge it (`U <= lastUpdateId + 1 <= u`), later ones continue
//! exactly. Backpack times (`E`, `T`) are microseconds; ids and times may come as numbers or strings.

use crate::book::Book;
use crate::json::Parser;
use crate::market::{
    is_not_json, required, text_field, u64_field, us_to_ns, Event, FeedError, Instrument,
    Instruments, MarketFeed, Quote, Reply, Side, SymbolId, SymbolState, Ticker, Trade,
};
use crate::sync::{read_book_sides, DepthSync, DiffHeader, LevelChange};

/// Raw values of the fields Backpack payloads carry, by wire name (`a`/`b` are level arrays in
/// `depth` and best prices in `bookTicker`).
#[derive(Default)]
struct Fields<'a> {
    e: Option<&'a [u8]>,
    event_time: Option<&'a [u8]>,
    engine_time: Option<&'a [u8]>,
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
    m: Option<&'a [u8]>,
    open: Option<&'a [u8]>,
    close: Option<&'a [u8]>,
    high: Option<&'a [u8]>,
    low: Option<&'a [u8]>,
    volume: Option<&'a [u8]>,
    // REST depth snapshot.
    asks: Option<&'a [u8]>,
    bids: Option<&'a [u8]>,
    last_update_id: Option<&'a [u8]>,
    timestamp: Option<&'a [u8]>,
    // Replies.
    id: Option<&'a [u8]>,
    result: Option<&'a [u8]>,
    error: Option<&'a [u8]>,
    message: Option<&'a [u8]>,
}

impl<'a> Fields<'a> {
    fn read(bytes: &'a [u8]) -> Result<Self, FeedError> {
        let mut fields = Fields::default();
        let mut p = Parser::new(bytes);
        fields.read_object(&mut p, None)?;
        p.end()?;
        Ok(fields)
    }

    /// Reads one object's fields; with `wrapped`, the wrapper's `data` object is read into it and
    /// the return value says whether there was one.
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
                b"T" => &mut self.engine_time,
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
                b"m" => &mut self.m,
                b"o" => &mut self.open,
                b"c" => &mut self.close,
                b"h" => &mut self.high,
                b"l" => &mut self.low,
                b"v" => &mut self.volume,
                b"asks" => &mut self.asks,
                b"bids" => &mut self.bids,
                b"lastUpdateId" => &mut self.last_update_id,
                b"timestamp" => &mut self.timestamp,
                b"id" => &mut self.id,
                b"result" => &mut self.result,
                b"error" => &mut self.error,
                b"message" => &mut self.message,
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

    /// Engine time `T`, else emit time `E`, in ns.
    fn exch_ts_ns(&self) -> Result<Option<u64>, FeedError> {
        self.engine_time
            .or(self.event_time)
            .map(|raw| us_to_ns(Parser::new(raw).u64()?))
            .transpose()
    }
}

/// Decoder and book keeper of one Backpack stream connection.
#[derive(Debug, Default)]
pub struct BackpackFeed {
    instruments: Instruments,
    books: Vec<DepthSync>,
    changes: Vec<LevelChange>,
}

impl BackpackFeed {
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies a REST depth snapshot (`{"asks","bids","lastUpdateId","timestamp"}`) to `symbol`'s
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
        let fields = Fields::read(body)?;
        let last_id = u64_field(fields.last_update_id, "lastUpdateId")?;
        let exch_ts_ns = fields
            .timestamp
            .map(|raw| us_to_ns(Parser::new(raw).u64()?))
            .transpose()?;
        self.read_levels(symbol, fields.bids, fields.asks)?;
        Ok(self.books[symbol as usize].on_snapshot(last_id, &self.changes, exch_ts_ns, recv_ns))
    }

    fn read_levels(
        &mut self,
        id: SymbolId,
        bids: Option<&[u8]>,
        asks: Option<&[u8]>,
    ) -> Result<(), FeedError> {
        read_book_sides(bids, asks, &self.instruments, id, &mut self.changes)
    }

    fn on_event<'a>(
        &mut self,
        f: Fields<'a>,
        recv_ns: u64,
    ) -> Result<Option<Event<'a>>, FeedError> {
        let event_type = match f.e {
            Some(raw) => Parser::new(raw).string()?,
            None if f.error.is_some() || f.result.is_some() => {
                return Ok(Some(Event::Reply(reply(&f)?)))
            }
            None => return Ok(Some(Event::Unrecognized)),
        };
        if !matches!(event_type, b"depth" | b"trade" | b"bookTicker" | b"ticker") {
            return Ok(Some(Event::Unrecognized));
        }
        let id = self
            .instruments
            .id(Parser::new(required(f.s, "s")?).string()?)?;
        let exch_ts_ns = f.exch_ts_ns()?;
        let inst = &self.instruments;
        let event = match event_type {
            b"depth" => {
                let header = DiffHeader {
                    first_id: u64_field(f.first_id, "U")?,
                    last_id: u64_field(f.u, "u")?,
                    exch_ts_ns,
                };
                self.read_levels(id, f.b, f.a)?;
                return Ok(self.books[id as usize].on_diff(header, &self.changes, recv_ns));
            }
            b"trade" => Event::Trade(Trade {
                symbol: id,
                price: inst.price(id, "p", text_field(f.p, "p")?)?,
                qty: inst.qty(id, "q", text_field(f.q, "q")?)?,
                // `m`: the buyer was the maker, so the seller took liquidity.
                side: if Parser::new(required(f.m, "m")?).bool()? {
                    Side::Sell
                } else {
                    Side::Buy
                },
                trade_id: u64_field(f.t, "t")?,
                exch_ts_ns: exch_ts_ns.ok_or(FeedError::MissingField("T"))?,
                aggregated: false,
            }),
            b"bookTicker" => Event::Quote(Quote {
                symbol: id,
                bid_price: inst.price(id, "b", text_field(f.b, "b")?)?,
                bid_qty: inst.qty(id, "B", text_field(f.bid_qty, "B")?)?,
                ask_price: inst.price(id, "a", text_field(f.a, "a")?)?,
                ask_qty: inst.qty(id, "A", text_field(f.ask_qty, "A")?)?,
                update_id: f.u.map(|raw| Parser::new(raw).u64()).transpose()?,
                exch_ts_ns,
            }),
            _ => {
                let price = |raw: Option<&[u8]>, field| {
                    raw.map(|r| inst.price(id, field, text_field(Some(r), field)?))
                        .transpose()
                };
                Event::Ticker(Ticker {
                    symbol: id,
                    last: inst.price(id, "c", text_field(f.close, "c")?)?,
                    open: price(f.open, "o")?,
                    high: price(f.high, "h")?,
                    low: price(f.low, "l")?,
                    volume: f
                        .volume
                        .map(|raw| inst.qty(id, "v", text_field(Some(raw), "v")?))
                        .transpose()?,
                    bid: None,
                    ask: None,
                    exch_ts_ns,
                })
            }
        };
        Ok(Some(event))
    }
}

/// `{"id":..,"error":{"code":..,"message":..}}` is a failure; `{"id":..,"result":..}` a success.
fn reply<'a>(f: &Fields<'a>) -> Result<Reply<'a>, FeedError> {
    let req_id = match f.id {
        Some(raw) if raw != b"null" => Parser::new(raw).i64().ok(),
        _ => None,
    };
    let error = match f.error {
        Some(raw) if raw != b"null" => {
            let inner = Fields::read(raw)?;
            Some(
                inner
                    .message
                    .map(|m| Parser::new(m).string())
                    .transpose()?
                    .unwrap_or(raw),
            )
        }
        _ => None,
    };
    Ok(Reply {
        method: None,
        req_id,
        success: error.is_none(),
        error,
    })
}

impl MarketFeed for BackpackFeed {
    type LevelExtra = ();

    /// `symbol` as in stream names (`SOL_USDC`). Depth books are never truncated.
    fn add_instrument(&mut self, instrument: Instrument) -> Result<SymbolId, FeedError> {
        let id = self.instruments.add(instrument, &[])?;
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
        if is_not_json(payload) {
            return Ok(Some(Event::Unparsable));
        }
        let mut p = Parser::new(payload);
        if p.peek() == Some(b'[') {
            return Ok(Some(Event::Unrecognized));
        }
        let (mut outer, mut inner) = (Fields::default(), Fields::default());
        let wrapped = outer.read_object(&mut p, Some(&mut inner))?;
        p.end()?;
        self.on_event(if wrapped { inner } else { outer }, recv_ns)
    }

    fn book(&self, symbol: SymbolId) -> Option<&Book> {
        self.books.get(symbol as usize).map(DepthSync::book)
    }

    fn state(&self, symbol: SymbolId) -> Option<SymbolState> {
        self.books.get(symbol as usize).map(DepthSync::state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::market::{BookKind, BookUpdate, ResyncAction, ResyncReason};

    fn feed() -> BackpackFeed {
        let mut feed = BackpackFeed::new();
        let sol = Instrument {
            symbol: "SOL_USDC".into(),
            price_scale: 2,
            qty_scale: 3,
            depth: 100,
        };
        feed.add_instrument(sol).unwrap();
        let btc = Instrument {
            symbol: "BTC_USDC".into(),
            price_scale: 1,
            qty_scale: 5,
            depth: 100,
        };
        feed.add_instrument(btc).unwrap();
        feed
    }

    fn depth(symbol: &str, first: u64, last: u64, bids: &str, asks: &str) -> String {
        format!(
            r#"{{"stream":"depth.{symbol}","data":{{"e":"depth","E":1694687965941000,"s":"{symbol}","a":{asks},"b":{bids},"U":{first},"u":{last},"T":1694687965940999}}}}"#
        )
    }

    #[test]
    fn depth_syncs_with_the_snapshot_and_resyncs_on_a_gap() {
        let mut feed = feed();
        let first = depth(
            "SOL_USDC",
            94978271,
            94978271,
            r#"[["18.67","0.832"],["18.68","0.000"]]"#,
            r#"[["18.70","0.000"]]"#,
        );
        match feed.feed(first.as_bytes(), 1).unwrap() {
            Some(Event::Resync(r)) => {
                assert_eq!(
                    (r.symbol, r.reason, r.action),
                    (0, ResyncReason::Initial, ResyncAction::FetchSnapshot)
                );
                assert_eq!(r.exch_ts_ns, Some(1_694_687_965_940_999_000));
            }
            other => panic!("{other:?}"),
        }
        let snapshot = br#"{"asks":[["18.70","500.123"],["18.71","2.5"]],"bids":[["18.66","255.123"],["18.68","1.000"]],"lastUpdateId":"94978270","timestamp":1694687965941000}"#;
        let event = feed.apply_snapshot(0, snapshot, 2).unwrap();
        assert!(matches!(
            event,
            Event::Book(BookUpdate {
                kind: BookKind::Snapshot,
                sequence: Some(94978271),
                ..
            })
        ));
        let book = feed.book(0).unwrap();
        assert_eq!(
            (book.best_bid(), book.best_ask()),
            (Some((1867, 832)), Some((1871, 2500)))
        );

        feed.feed(depth("BTC_USDC", 5, 5, "[]", "[]").as_bytes(), 3)
            .unwrap();
        feed.apply_snapshot(
            1,
            br#"{"asks":[],"bids":[["60000.0","1"]],"lastUpdateId":5,"timestamp":1}"#,
            3,
        )
        .unwrap();

        let gap = depth("SOL_USDC", 94978273, 94978274, "[]", "[]");
        match feed.feed(gap.as_bytes(), 4).unwrap() {
            Some(Event::Resync(r)) => assert_eq!(
                r.reason,
                ResyncReason::SequenceGap {
                    expected: 94978272,
                    received: 94978273
                }
            ),
            other => panic!("{other:?}"),
        }
        assert!(!feed.state(0).unwrap().valid);
        assert!(feed.state(1).unwrap().valid);
        assert_eq!(feed.book(1).unwrap().best_bid(), Some((600_000, 100_000)));

        let snapshot = br#"{"asks":[["19.00","1"]],"bids":[["18.00","1"]],"lastUpdateId":"94978274","timestamp":1694687965942000}"#;
        assert!(matches!(
            feed.apply_snapshot(0, snapshot, 5).unwrap(),
            Event::Book(_)
        ));
        let state = feed.state(0).unwrap();
        assert_eq!(
            (state.valid, state.resyncs, state.sequence),
            (true, 1, Some(94978274))
        );
        assert_eq!(feed.book(0).unwrap().best_ask(), Some((1900, 1000)));
    }

    #[test]
    fn trades_quotes_tickers_and_errors() {
        let mut feed = feed();
        let trade = br#"{"stream":"trade.SOL_USDC","data":{"e":"trade","E":1694688638091000,"s":"SOL_USDC","p":"18.68","q":"0.122","b":"111063114377265150","a":"111063114585735170","t":12345,"T":1694688638089000,"m":true}}"#;
        let expected = Trade {
            symbol: 0,
            price: 1868,
            qty: 122,
            side: Side::Sell,
            trade_id: 12345,
            exch_ts_ns: 1_694_688_638_089_000_000,
            aggregated: false,
        };
        assert_eq!(feed.feed(trade, 1).unwrap(), Some(Event::Trade(expected)));

        let ticker = br#"{"stream":"bookTicker.SOL_USDC","data":{"e":"bookTicker","E":1694687965941000,"s":"SOL_USDC","a":"18.70","A":"1.000","b":"18.67","B":"2.000","u":"111063070525358080","T":1694687965940999}}"#;
        match feed.feed(ticker, 2).unwrap() {
            Some(Event::Quote(q)) => {
                assert_eq!(
                    (q.bid_price, q.bid_qty, q.ask_price, q.ask_qty),
                    (1867, 2000, 1870, 1000)
                );
                assert_eq!(q.update_id, Some(111_063_070_525_358_080));
            }
            other => panic!("{other:?}"),
        }
        let ticker = br#"{"stream":"ticker.SOL_USDC","data":{"e":"ticker","E":1694687692980000,"s":"SOL_USDC","o":"18.75","c":"19.24","h":"19.80","l":"18.50","v":"32123","V":"928190","n":93828}}"#;
        match feed.feed(ticker, 3).unwrap() {
            Some(Event::Ticker(t)) => {
                assert_eq!(
                    (t.last, t.open, t.high, t.low),
                    (1924, Some(1875), Some(1980), Some(1850))
                );
                assert_eq!(
                    (t.volume, t.exch_ts_ns),
                    (Some(32_123_000), Some(1_694_687_692_980_000_000))
                );
            }
            other => panic!("{other:?}"),
        }
        let error = br#"{"id":null,"error":{"code":4006,"message":"Invalid stream"}}"#;
        let expected = Reply {
            method: None,
            req_id: None,
            success: false,
            error: Some(b"Invalid stream"),
        };
        assert_eq!(feed.feed(error, 4).unwrap(), Some(Event::Reply(expected)));
        let kline = br#"{"stream":"kline.1m.SOL_USDC","data":{"e":"kline","E":1,"s":"SOL_USDC"}}"#;
        assert_eq!(feed.feed(kline, 5).unwrap(), Some(Event::Unrecognized));
        assert_eq!(feed.feed(b"", 6).unwrap(), Some(Event::Unparsable));
    }

    /// Arbitrary bytes, and real frames and snapshots with arbitrary edits, on live books: no
    /// panic, errors are `FeedError`s, and the books stay well formed (rust/fuzzing.rs lists
    /// the checks; the `backpack` fuzz target runs the same session).
    mod arbitrary_input {
        use crate::fuzzing::{run_session, strategies, Venue};
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn backpack_survives_arbitrary_and_mutated_frames(steps in strategies::steps()) {
                run_session(Venue::Backpack, &steps);
            }
        }
    }
}
