//! Real exchange captures replayed through the real decoders and books (see
//! `../shared/data/README.md`). The data is found through `HFTPY_REPLAY_DATA`, else beside the
//! checkout; when it is missing the tests say so and pass, except under `CI=true`, where they fail.

use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;

use crate::backpack::BackpackFeed;
use crate::binance::BinanceFeed;
use crate::book::Book;
use crate::decimal::{format_fixed, parse_fixed};
use crate::json::Parser;
use crate::kraken::{book_checksum, ChecksumDigits, KrakenFeed};
use crate::market::{
    BookKind, BookUpdate, Event, Instrument, MarketFeed, Quote, ResyncAction, ResyncReason, Side,
    SymbolId,
};
use crate::upbit::UpbitFeed;

/// The capture at `relative` under the data folder, or `None` (with the reason printed) when it
/// is missing outside CI.
fn capture(relative: &str) -> Option<PathBuf> {
    let root = std::env::var_os("HFTPY_REPLAY_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    let path = root.join(relative);
    if path.is_file() {
        return Some(path);
    }
    let reason = format!(
        "replay capture {} not found (set HFTPY_REPLAY_DATA)",
        path.display()
    );
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{reason}; CI=true requires the replay data");
    }
    // Written to the real stderr so the skip shows even though the test passes.
    let _ = writeln!(std::io::stderr(), "skipped: {reason}");
    None
}

// ---------------------------------------------------------------------------------------------
// Kraken

/// The fixture's snapshot message and its 509 update messages, as raw JSON text.
fn kraken_fixture(bytes: &[u8]) -> (&[u8], Vec<&[u8]>) {
    let mut p = Parser::new(bytes);
    let mut fields = p.object().unwrap();
    let (mut init, mut updates) = (None, Vec::new());
    while let Some(key) = fields.next(&mut p).unwrap() {
        match key {
            b"init" => init = Some(p.raw().unwrap()),
            b"updates" => {
                let mut items = p.array().unwrap();
                while items.next(&mut p).unwrap() {
                    updates.push(p.raw().unwrap());
                }
            }
            _ => p.skip().unwrap(),
        }
    }
    (init.unwrap(), updates)
}

fn btc_usd(symbol: &str) -> Instrument {
    Instrument {
        symbol: symbol.into(),
        price_scale: 1,
        qty_scale: 8,
        depth: 10,
    }
}

fn checksum_of(event: Option<Event<'_>>) -> (BookKind, u32) {
    match event {
        Some(Event::Book(BookUpdate {
            kind,
            checksum: Some(checksum),
            ..
        })) => (kind, checksum),
        other => panic!("expected a verified book event, got {other:?}"),
    }
}

#[test]
fn kraken_all_509_checksums_verify() {
    let Some(path) = capture("kraken/orderbook-v2.json") else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let (init, updates) = kraken_fixture(&bytes);
    assert_eq!(updates.len(), 509);

    let mut feed = KrakenFeed::new();
    feed.add_instrument(btc_usd("BTC/USD")).unwrap();
    assert_eq!(
        checksum_of(feed.feed(init, 1).unwrap()),
        (BookKind::Snapshot, 2_785_033_588)
    );
    let mut verified = 0;
    for (i, update) in updates.iter().enumerate() {
        let (kind, checksum) = checksum_of(feed.feed(update, 2 + i as u64).unwrap());
        assert_eq!(kind, BookKind::Update);
        if i == 0 {
            assert_eq!(checksum, 3_547_452_596);
        }
        verified += 1;
    }
    assert_eq!(verified, 509);
    let state = feed.state(0).unwrap();
    assert!(state.valid && state.resyncs == 0 && state.updates == 510);
    let book = feed.book(0).unwrap();
    assert_eq!((book.bids.len(), book.asks.len()), (10, 10));
    assert!(!book.is_crossed());
}

/// A snapshot message rebuilt from a correct book, as the venue would send after a resubscribe.
fn kraken_snapshot_of(symbol: &str, book: &Book<ChecksumDigits>) -> String {
    let side = |levels: Vec<String>| levels.join(",");
    let level = |price: i64, qty: i64| {
        format!(
            r#"{{"price":{},"qty":{}}}"#,
            format_fixed(price, 1),
            format_fixed(qty, 8)
        )
    };
    format!(
        r#"{{"channel":"book","type":"snapshot","data":[{{"symbol":"{symbol}","bids":[{}],"asks":[{}],"checksum":{}}}]}}"#,
        side(book.bids.iter().map(|l| level(l.price, l.qty)).collect()),
        side(book.asks.iter().map(|l| level(l.price, l.qty)).collect()),
        book_checksum(book)
    )
}

#[test]
fn kraken_corrupted_checksum_resyncs_one_symbol_and_a_fresh_snapshot_restores_it() {
    let Some(path) = capture("kraken/orderbook-v2.json") else {
        return;
    };
    let bytes = std::fs::read(path).unwrap();
    let (init, updates) = kraken_fixture(&bytes);
    // The same session twice on one connection: as BTC/USD (faulted) and as XBT/EUR (clean).
    let as_other = |message: &[u8]| String::from_utf8_lossy(message).replace("BTC/USD", "XBT/EUR");
    let mut feed = KrakenFeed::new();
    let faulted = feed.add_instrument(btc_usd("BTC/USD")).unwrap();
    let clean = feed.add_instrument(btc_usd("XBT/EUR")).unwrap();
    let mut reference = KrakenFeed::new();
    reference.add_instrument(btc_usd("BTC/USD")).unwrap();

    feed.feed(init, 0).unwrap();
    feed.feed(as_other(init).as_bytes(), 0).unwrap();
    reference.feed(init, 0).unwrap();
    let (corrupt_at, resnapshot_at) = (100, 150);
    for (i, update) in updates.iter().enumerate() {
        let recv_ns = i as u64 + 1;
        reference.feed(update, recv_ns).unwrap();
        if i == corrupt_at {
            let text = String::from_utf8_lossy(update);
            let (head, tail) = text.split_at(text.find("\"checksum\"").unwrap());
            let checksum = Parser::new(&tail.as_bytes()[11..]).u64().unwrap();
            let corrupted = format!(
                "{head}{}",
                tail.replacen(&checksum.to_string(), &(checksum ^ 1).to_string(), 1)
            );
            match feed.feed(corrupted.as_bytes(), recv_ns).unwrap() {
                Some(Event::Resync(r)) => {
                    assert_eq!((r.symbol, r.action), (faulted, ResyncAction::Resubscribe));
                    assert!(matches!(r.reason, ResyncReason::ChecksumMismatch { .. }));
                }
                other => panic!("{other:?}"),
            }
        } else if i > corrupt_at && i < resnapshot_at {
            assert_eq!(
                feed.feed(update, recv_ns).unwrap(),
                None,
                "ignored until the new snapshot"
            );
            assert!(!feed.state(faulted).unwrap().valid);
        } else {
            checksum_of(feed.feed(update, recv_ns).unwrap());
        }
        if i + 1 == resnapshot_at {
            let snapshot = kraken_snapshot_of("BTC/USD", reference.book(0).unwrap());
            assert_eq!(
                checksum_of(feed.feed(snapshot.as_bytes(), recv_ns).unwrap()).0,
                BookKind::Snapshot
            );
        }
        checksum_of(feed.feed(as_other(update).as_bytes(), recv_ns).unwrap());
        assert!(feed.state(clean).unwrap().valid);
    }
    let state = feed.state(faulted).unwrap();
    assert!(state.valid && state.resyncs == 1);
    assert_eq!(feed.state(clean).unwrap().resyncs, 0);
    let levels = |book: &Book<ChecksumDigits>| {
        book.bids
            .iter()
            .chain(book.asks.iter())
            .copied()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        levels(feed.book(faulted).unwrap()),
        levels(reference.book(0).unwrap())
    );
}

// ---------------------------------------------------------------------------------------------
// Binance

/// Each capture line: the local receive time in ns, then the raw frame.
fn binance_lines(relative: &str) -> Option<Vec<(u64, String)>> {
    let path = capture(relative)?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let lines = text
        .lines()
        .map(|line| {
            let (ns, frame) = line.split_once(' ').unwrap();
            (ns.parse().unwrap(), frame.to_owned())
        })
        .collect();
    Some(lines)
}

/// Replays frames, checking that every `bookTicker` whose `u` equals the last applied depth `u`
/// (before or after that depth batch arrives) shows the book's top of book.
#[derive(Default)]
struct BinanceReplay {
    pending_quotes: HashMap<u64, Quote>,
    depth_updates: usize,
    trades: usize,
    quotes_checked: usize,
    resyncs: Vec<ResyncReason>,
}

impl BinanceReplay {
    fn check_quote(feed: &BinanceFeed, quote: &Quote) {
        let book = feed.book(quote.symbol).unwrap();
        assert_eq!(
            book.best_bid(),
            Some((quote.bid_price, quote.bid_qty)),
            "bid at u={:?}",
            quote.update_id
        );
        assert_eq!(
            book.best_ask(),
            Some((quote.ask_price, quote.ask_qty)),
            "ask at u={:?}",
            quote.update_id
        );
    }

    fn on_event(&mut self, feed: &BinanceFeed, event: Option<Event<'_>>) {
        match event {
            Some(Event::Book(update)) => {
                self.depth_updates += 1;
                let sequence = update.sequence.unwrap();
                if let Some(quote) = self.pending_quotes.remove(&sequence) {
                    Self::check_quote(feed, &quote);
                    self.quotes_checked += 1;
                }
                self.pending_quotes.retain(|&u, _| u > sequence);
            }
            Some(Event::Quote(quote)) => {
                let state = feed.state(quote.symbol).unwrap();
                let u = quote.update_id.unwrap();
                if state.valid && state.sequence == Some(u) {
                    Self::check_quote(feed, &quote);
                    self.quotes_checked += 1;
                } else if state.sequence.is_none_or(|s| u > s) {
                    self.pending_quotes.insert(u, quote);
                }
            }
            Some(Event::Trade(trade)) => {
                assert!(
                    trade.price > 0
                        && trade.qty > 0
                        && trade.exch_ts_ns > 1_723_000_000_000_000_000
                );
                self.trades += 1;
            }
            Some(Event::Resync(r)) => self.resyncs.push(r.reason),
            None => {} // buffered before the snapshot, or already covered by it
            other => panic!("unexpected {other:?}"),
        }
    }

    fn run(&mut self, feed: &mut BinanceFeed, lines: &[(u64, String)]) {
        for (recv_ns, frame) in lines {
            let event = replay_frame(feed, *recv_ns, frame);
            self.on_event(feed, event);
        }
    }
}

/// A stream frame goes to `feed`; the capture's inline REST snapshot to `apply_snapshot`.
fn replay_frame<'a>(feed: &mut BinanceFeed, recv_ns: u64, frame: &'a str) -> Option<Event<'a>> {
    if frame.starts_with("{\"lastUpdateId\"") {
        Some(feed.apply_snapshot(0, frame.as_bytes(), recv_ns).unwrap())
    } else {
        feed.feed(frame.as_bytes(), recv_ns).unwrap()
    }
}

fn btcusdt_feed() -> BinanceFeed {
    let mut feed = BinanceFeed::new();
    feed.add_instrument(Instrument {
        symbol: "BTCUSDT".into(),
        price_scale: 8,
        qty_scale: 8,
        depth: 20,
    })
    .unwrap();
    feed
}

#[test]
fn binance_btcusdt_syncs_without_a_gap_and_agrees_with_book_ticker() {
    let (Some(day1), Some(day2)) = (
        binance_lines("binance/spot_btcusdt_20240808.gz"),
        binance_lines("binance/spot_btcusdt_20240809.gz"),
    ) else {
        return;
    };
    let mut feed = btcusdt_feed();
    let mut replay = BinanceReplay::default();
    replay.run(&mut feed, &day1);
    assert_eq!(
        replay.resyncs,
        [ResyncReason::Initial],
        "only the initial snapshot request"
    );
    // Every one of the 564 bookTickers that match a depth batch's final u agrees with the book.
    let day1_checked = replay.quotes_checked;
    assert_eq!(day1_checked, 564);
    assert_eq!(replay.trades, 9757);

    replay.run(&mut feed, &day2);
    assert_eq!(
        replay.resyncs.len(),
        1,
        "no gap across both files: {:?}",
        replay.resyncs
    );
    // 507 within day 2, plus the last bookTicker of day 1, whose batch opens day 2.
    assert_eq!(replay.quotes_checked - day1_checked, 508);
    assert_eq!(replay.trades, 9757 + 10147);
    // 3451 + 3044 depth batches: the first three arrive before the snapshot (buffered; two of
    // them it already covers), then one event for the snapshot and one per later batch.
    assert_eq!(replay.depth_updates, 1 + (3451 - 3) + 3044);
    let state = feed.state(0).unwrap();
    assert!(state.valid && state.resyncs == 0);
    let _ = writeln!(
        std::io::stderr(),
        "binance replay: {} depth batches applied, {} trades, {} bookTickers matched the book",
        replay.depth_updates,
        replay.trades,
        replay.quotes_checked
    );
}

fn binance_snapshot_of(book: &Book, last_update_id: u64) -> String {
    let side = |levels: Vec<String>| levels.join(",");
    let level = |price: i64, qty: i64| {
        format!(
            r#"["{}","{}"]"#,
            format_fixed(price, 8),
            format_fixed(qty, 8)
        )
    };
    format!(
        r#"{{"lastUpdateId":{last_update_id},"bids":[{}],"asks":[{}]}}"#,
        side(book.bids.iter().map(|l| level(l.price, l.qty)).collect()),
        side(book.asks.iter().map(|l| level(l.price, l.qty)).collect())
    )
}

#[test]
fn binance_skipped_update_resyncs_and_a_fresh_snapshot_restores_the_book() {
    let Some(day1) = binance_lines("binance/spot_btcusdt_20240808.gz") else {
        return;
    };
    let is_depth = |frame: &str| frame.contains("@depth@100ms");
    let depth_lines: Vec<usize> = (0..day1.len()).filter(|&i| is_depth(&day1[i].1)).collect();
    let (skipped, resnapshot_at) = (depth_lines[1000], depth_lines[1200]);
    let outage = skipped + 1..resnapshot_at;

    let mut reference = btcusdt_feed();
    let mut feed = btcusdt_feed();
    let mut replay = BinanceReplay::default();
    let mut gaps = 0;
    for (i, (recv_ns, frame)) in day1.iter().enumerate() {
        if i == resnapshot_at {
            // The REST snapshot the resync asked for, taken from the reference at this point.
            let last_id = reference.state(0).unwrap().sequence.unwrap();
            let body = binance_snapshot_of(reference.book(0).unwrap(), last_id);
            let event = feed.apply_snapshot(0, body.as_bytes(), *recv_ns).unwrap();
            assert!(
                matches!(
                    event,
                    Event::Book(BookUpdate {
                        kind: BookKind::Snapshot,
                        ..
                    })
                ),
                "{event:?}"
            );
            replay.on_event(&feed, Some(event));
        }
        replay_frame(&mut reference, *recv_ns, frame);
        if i == skipped {
            continue; // lost on the wire
        }
        let event = replay_frame(&mut feed, *recv_ns, frame);
        if !outage.contains(&i) {
            replay.on_event(&feed, event);
        } else if let Some(Event::Resync(r)) = event {
            assert!(
                matches!(r.reason, ResyncReason::SequenceGap { .. }),
                "{r:?}"
            );
            assert_eq!(r.action, ResyncAction::FetchSnapshot);
            gaps += 1;
        } else if is_depth(frame) {
            assert!(!feed.state(0).unwrap().valid);
        }
    }
    assert_eq!(gaps, 1);
    assert_eq!(replay.resyncs, [ResyncReason::Initial]);
    let state = feed.state(0).unwrap();
    assert!(state.valid && state.resyncs == 1);
    let (ours, theirs) = (feed.book(0).unwrap(), reference.book(0).unwrap());
    assert_eq!(
        ours.bids.iter().collect::<Vec<_>>(),
        theirs.bids.iter().collect::<Vec<_>>()
    );
    assert_eq!(
        ours.asks.iter().collect::<Vec<_>>(),
        theirs.asks.iter().collect::<Vec<_>>()
    );
    assert!(replay.quotes_checked > 400, "{}", replay.quotes_checked);
}

// ---------------------------------------------------------------------------------------------
// Upbit

/// The bytes of a Python bytes literal `b'...'` as the capture prints them.
fn python_bytes_literal(literal: &str) -> Vec<u8> {
    let body = literal
        .strip_prefix("b'")
        .and_then(|s| s.strip_suffix('\''))
        .expect("a b'...' literal")
        .as_bytes();
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        if body[i] != b'\\' {
            out.push(body[i]);
            i += 1;
            continue;
        }
        let escaped = body[i + 1];
        i += 2;
        out.push(match escaped {
            b'x' => {
                let hex = std::str::from_utf8(&body[i..i + 2]).unwrap();
                i += 2;
                u8::from_str_radix(hex, 16).unwrap()
            }
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            other => other, // \\, \', \"
        });
    }
    out
}

#[test]
fn python_bytes_literals_unescape() {
    assert_eq!(python_bytes_literal(r"b'a\'b\\c\x41\n'"), b"a'b\\cA\n");
}

/// The raw text after `"key":` in a frame, read independently of the decoder.
fn field_text<'a>(frame: &'a str, key: &str) -> &'a str {
    let start = frame.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
    let rest = &frame[start..];
    rest[..rest.find([',', '}']).unwrap()].trim_matches('"')
}

#[test]
fn upbit_every_simple_message_decodes_with_the_right_fields() {
    let Some(path) = capture("upbit/UPBIT.ws.62.0") else {
        return;
    };
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let markets = [
        "BTC-ARK",
        "BTC-FCT2",
        "BTC-STPT",
        "BTC-ITAM",
        "BTC-MARO",
        "KRW-WAVES",
        "BTC-AQT",
        "BTC-XTZ",
        "KRW-LAMB",
        "BTC-PAX",
    ];
    let mut feed = UpbitFeed::new();
    for market in markets {
        feed.add_instrument(Instrument {
            symbol: market.into(),
            price_scale: 8,
            qty_scale: 8,
            depth: 15,
        })
        .unwrap();
    }
    let (mut trades, mut books, mut trades_at_touch, mut trades_before_book) = (0, 0, 0, 0);
    let mut seen_book: Vec<bool> = vec![false; markets.len()];
    for line in file.lines() {
        let line = line.unwrap();
        let Some((_, literal)) = line
            .split_once(": b'")
            .map(|(ts, rest)| (ts, format!("b'{rest}")))
        else {
            continue;
        };
        let frame = python_bytes_literal(&literal);
        let text = std::str::from_utf8(&frame).unwrap();
        let expect =
            |key: &str, scale: u8| parse_fixed(field_text(text, key).as_bytes(), scale).unwrap();
        let symbol = markets
            .iter()
            .position(|m| *m == field_text(text, "cd"))
            .unwrap() as SymbolId;
        let exch_ts_ns = expect("tms", 0) as u64 * 1_000_000;
        match feed.feed(&frame, 0).unwrap() {
            Some(Event::Trade(trade)) => {
                trades += 1;
                assert_eq!((trade.symbol, trade.exch_ts_ns), (symbol, exch_ts_ns));
                assert_eq!((trade.price, trade.qty), (expect("tp", 8), expect("tv", 8)));
                assert_eq!(trade.trade_id, expect("sid", 0) as u64);
                let side = if field_text(text, "ab") == "BID" {
                    Side::Buy
                } else {
                    Side::Sell
                };
                assert_eq!(trade.side, side);
                // In this capture every trade printed at the touch of the last book: a buyer
                // lifted the best ask, a seller hit the best bid.
                if seen_book[symbol as usize] {
                    let book = feed.book(symbol).unwrap();
                    let touch = if side == Side::Buy {
                        book.best_ask()
                    } else {
                        book.best_bid()
                    };
                    assert_eq!(touch.map(|(price, _)| price), Some(trade.price));
                    trades_at_touch += 1;
                } else {
                    trades_before_book += 1;
                }
            }
            Some(Event::Book(update)) => {
                books += 1;
                seen_book[symbol as usize] = true;
                assert_eq!(
                    (update.symbol, update.kind, update.exch_ts_ns),
                    (symbol, BookKind::Snapshot, Some(exch_ts_ns))
                );
                let book = feed.book(symbol).unwrap();
                assert_eq!((book.bids.len(), book.asks.len()), (15, 15));
                assert_eq!(book.best_ask(), Some((expect("ap", 8), expect("as", 8))));
                assert_eq!(book.best_bid(), Some((expect("bp", 8), expect("bs", 8))));
            }
            other => panic!("unexpected {other:?} for {text}"),
        }
    }
    assert_eq!((trades, books), (304, 145));
    assert_eq!((trades_at_touch, trades_before_book), (303, 1));
    assert!(markets
        .iter()
        .enumerate()
        .all(|(id, _)| feed.state(id as SymbolId).unwrap().resyncs == 0));
}

// ---------------------------------------------------------------------------------------------
// Damaged frames

/// Every truncation of real frames decodes to an error or an event, never a panic.
#[test]
fn truncated_frames_never_panic() {
    let kraken = br#"{"channel":"book","type":"update","data":[{"symbol":"BTC/USD","bids":[{"price":29430.2,"qty":0.18967538}],"asks":[],"checksum":3547452596,"timestamp":"2023-07-30T15:29:58.343415Z"}]}"#;
    let binance = br#"{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,"s":"BTCUSDT","U":1,"u":2,"b":[["61737.63000000","0.00000000"]],"a":[["61837.64000000","1.54698000"]]}}"#;
    let backpack = br#"{"stream":"trade.SOL_USDC","data":{"e":"trade","E":1694688638091000,"s":"SOL_USDC","p":"18.68","q":"0.122","t":12345,"T":1694688638089000,"m":true}}"#;
    let upbit = br#"{"ty":"orderbook","cd":"KRW-LAMB","tms":1618678262640,"obu":[{"ap":127.0,"bp":126.0,"as":280460.37885666,"bs":688682.44561413}],"st":"REALTIME"}"#;
    let instrument = |symbol: &str| Instrument {
        symbol: symbol.into(),
        price_scale: 8,
        qty_scale: 8,
        depth: 10,
    };
    let mut kraken_feed = KrakenFeed::new();
    kraken_feed.add_instrument(instrument("BTC/USD")).unwrap();
    let mut binance_feed = BinanceFeed::new();
    binance_feed.add_instrument(instrument("BTCUSDT")).unwrap();
    let mut backpack_feed = BackpackFeed::new();
    backpack_feed
        .add_instrument(instrument("SOL_USDC"))
        .unwrap();
    let mut upbit_feed = UpbitFeed::new();
    upbit_feed.add_instrument(instrument("KRW-LAMB")).unwrap();
    for end in 0..=kraken.len() {
        let _ = kraken_feed.feed(&kraken[..end], 0);
    }
    for end in 0..=binance.len() {
        let _ = binance_feed.feed(&binance[..end], 0);
        let _ = binance_feed.apply_snapshot(0, &binance[..end], 0);
    }
    for end in 0..=backpack.len() {
        let _ = backpack_feed.feed(&backpack[..end], 0);
    }
    for end in 0..=upbit.len() {
        let _ = upbit_feed.feed(&upbit[..end], 0);
    }
    assert!(matches!(
        upbit_feed.feed(upbit, 0),
        Ok(Some(Event::Book(_)))
    ));
}
