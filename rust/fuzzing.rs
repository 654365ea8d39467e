//! Harnesses shared by the property tests (`cargo test`) and the cargo-fuzz targets (`fuzz/`,
//! through the `fuzzing` feature): each runs a session of arbitrary steps against the real
//! decoders or the book engine and panics when anything is wrong, so a panic is either a bug
//! in the code under test or a broken invariant.
//!
//! A venue session starts from live books (the venue's snapshot, or a diff plus a REST snapshot)
//! and takes [`Step`]s: arbitrary frames, real frames (the seeds, copied from the decoders'
//! unit tests) with arbitrary edits spliced in, snapshot bodies, resets. After every step:
//!
//! - a decode either succeeds or returns a [`FeedError`] that displays (the Python layer turns
//!   it into an exception with that text);
//! - every symbol id an event names is registered (the bindings index their symbol table
//!   with it), and a trade batch holds exactly the trades it counts;
//! - every book is well formed: strictly ordered sides, positive sizes, the ladder's internal
//!   invariants; a valid book is not crossed, an invalid one is empty, a venue that truncates
//!   keeps its depth;
//! - Kraken: a valid book's stored checksum is the checksum of the book as it stands, and each
//!   level's checksum digits are its price and size digits;
//! - Binance: the compact fast paths and the general path give the same events, books and
//!   states (a second feed reads every frame through the general path only).
//!
//! The book harness ([`BookSession`]) applies arbitrary operations, extreme prices included, to
//! a plain book and a Kraken book with checksum digits, and compares both with a sorted-map
//! model after each one (and the Kraken checksum with one computed from the model's text).

use std::collections::BTreeMap;

use crate::backpack::BackpackFeed;
use crate::binance::BinanceFeed;
use crate::book::{Book, BookSide, Ladder};
use crate::json::unescape;
use crate::kraken::{book_checksum, ChecksumDigits, KrakenFeed};
use crate::market::{Event, FeedError, Instrument, MarketFeed, SymbolId};
use crate::upbit::UpbitFeed;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum Venue {
    Kraken,
    Binance,
    Backpack,
    Upbit,
}

/// One change to a frame. Positions are taken modulo what the frame has, so every edit
/// applies to every frame; the edits other than `Splice` keep a JSON frame JSON, so that they
/// reach the decoders' checks of values (sequence ids, checksums, scales, symbols).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum Edit {
    /// `remove` bytes at `at` replaced by `insert`.
    Splice {
        at: u16,
        remove: u8,
        insert: Vec<u8>,
    },
    /// The `nth` decimal digit becomes `digit % 10`.
    Digit { nth: u16, digit: u8 },
    /// The `nth` number (a run of digits, signs, `.`, `e`, quoted or not) replaced by `text`.
    Number { nth: u16, text: Vec<u8> },
    /// The contents of the `nth` string replaced by `text`.
    Text { nth: u16, text: Vec<u8> },
}

type Ranges = Vec<std::ops::Range<usize>>;

/// The byte ranges of `frame`'s numbers and of its strings' contents.
fn tokens(frame: &[u8]) -> (Ranges, Ranges) {
    let (mut numbers, mut strings) = (Vec::new(), Vec::new());
    let (mut i, mut open) = (0, None);
    while i < frame.len() {
        match (frame[i], open) {
            (b'\\', Some(_)) => i += 1,
            (b'"', None) => open = Some(i + 1),
            (b'"', Some(start)) => {
                strings.push(start..i);
                open = None;
            }
            (b'-' | b'0'..=b'9', _) => {
                let start = i;
                while frame
                    .get(i + 1)
                    .is_some_and(|b| matches!(b, b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'))
                {
                    i += 1;
                }
                numbers.push(start..i + 1);
            }
            _ => {}
        }
        i += 1;
    }
    (numbers, strings)
}

impl Edit {
    pub fn apply(&self, frame: &mut Vec<u8>) {
        let nth = |ranges: Ranges, n: u16| {
            (!ranges.is_empty()).then(|| ranges[usize::from(n) % ranges.len()].clone())
        };
        match self {
            Edit::Splice { at, remove, insert } => {
                let at = usize::from(*at) % (frame.len() + 1);
                let end = (at + usize::from(*remove)).min(frame.len());
                frame.splice(at..end, insert.iter().copied());
            }
            Edit::Digit { nth: n, digit } => {
                let digits: Vec<usize> = (0..frame.len())
                    .filter(|&i| frame[i].is_ascii_digit())
                    .collect();
                if !digits.is_empty() {
                    frame[digits[usize::from(*n) % digits.len()]] = b'0' + digit % 10;
                }
            }
            Edit::Number { nth: n, text } => {
                if let Some(range) = nth(tokens(frame).0, *n) {
                    frame.splice(range, text.iter().copied());
                }
            }
            Edit::Text { nth: n, text } => {
                if let Some(range) = nth(tokens(frame).1, *n) {
                    frame.splice(range, text.iter().copied());
                }
            }
        }
    }
}

/// One step of a venue session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum Step {
    /// A frame exactly as given.
    Frame(Vec<u8>),
    /// Seed frame `seed` (modulo the number of seeds) with the edits applied in turn.
    Seed { seed: u8, edits: Vec<Edit> },
    /// A REST depth snapshot body for `symbol` (Binance, Backpack; a frame elsewhere).
    /// Ids past the registered symbols are tried too: they must be refused, not panic.
    Snapshot { symbol: u8, body: Vec<u8> },
    /// A seed snapshot body with edits, for `symbol`.
    SeedSnapshot {
        symbol: u8,
        seed: u8,
        edits: Vec<Edit>,
    },
    /// Forget the books and start over, as after a reconnect.
    Reset,
}

fn edited(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut frame = seed.to_vec();
    for edit in edits {
        edit.apply(&mut frame);
    }
    frame
}

fn pick(items: &[Vec<u8>], index: u8) -> &[u8] {
    &items[usize::from(index) % items.len()]
}

// ---------------------------------------------------------------------------------------------
// Seeds: real frames from the decoders' unit tests

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

fn kraken_levels(levels: &[(&str, &str)]) -> String {
    let items: Vec<String> = levels
        .iter()
        .map(|(p, q)| format!(r#"{{"price":{p},"qty":{q}}}"#))
        .collect();
    format!("[{}]", items.join(","))
}

/// Kraken frames; the first two are the snapshots a session starts from.
fn kraken_seeds() -> Vec<Vec<u8>> {
    let matic = format!(
        r#"{{"channel":"book","type":"snapshot","data":[{{"symbol":"MATIC/USD","bids":{},"asks":{},"checksum":2439117997,"timestamp":"2023-10-06T17:35:55.440295Z"}}]}}"#,
        kraken_levels(&MATIC_BIDS),
        kraken_levels(&MATIC_ASKS)
    );
    // Ask 100.5 x 2, bid 100.0 x 1; then the bid deleted (levels before the symbol).
    let btc = format!(
        r#"{{"channel":"book","type":"snapshot","data":[{{"symbol":"BTC/USD","bids":[{{"price":100.0,"qty":1.0}}],"asks":[{{"price":100.5,"qty":2.0}}],"checksum":{}}}]}}"#,
        crc32fast::hash(b"10052000000001000100000000")
    );
    let btc_late = format!(
        r#"{{"channel":"book","type":"update","data":[{{"bids":[{{"price":100.0,"qty":0}}],"asks":[{{"price":100.6,"qty":0.5}}],"symbol":"BTC/USD","checksum":{},"timestamp":"2024-05-27T12:33:10.826003Z"}}]}}"#,
        crc32fast::hash(b"1005200000000100650000000")
    );
    let mut seeds = vec![matic.into_bytes(), btc.into_bytes(), btc_late.into_bytes()];
    seeds.extend(
        [
            &br#"{"channel":"book","type":"update","data":[{"symbol":"MATIC/USD","bids":[{"price":0.5657,"qty":1098.3947558}],"asks":[],"checksum":2114181697,"timestamp":"2023-10-06T17:35:56.000000Z"}]}"#[..],
            br#"{"channel":"trade","type":"update","data":[{"symbol":"BTC/USD","side":"sell","price":68466.9,"qty":0.01919415,"ord_type":"market","trade_id":70635251,"timestamp":"2024-05-27T12:33:10.826003Z"}]}"#,
            br#"{"channel":"trade","type":"snapshot","data":[{"symbol":"BTC/USD","side":"buy","price":1.0,"qty":1,"ord_type":"limit","trade_id":1,"timestamp":"2024-05-27T12:33:10Z"},{"symbol":"MATIC/USD","side":"sell","price":2.0,"qty":2,"ord_type":"limit","trade_id":2,"timestamp":"2024-05-27T12:33:11Z"}]}"#,
            br#"{"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD","bid":66781.1,"bid_qty":0.5,"ask":66781.2,"ask_qty":1.25,"last":66781.2,"volume":1832.55743467,"vwap":66923.71234,"low":65000.0,"high":67890.1,"change":-12.3,"change_pct":-0.02}]}"#,
            br#"{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":12393906104898154338,"system":"online","version":"2.0.4"}]}"#,
            br#"{"channel":"heartbeat"}"#,
            br#"{"method":"subscribe","req_id":11,"result":{"channel":"book","depth":10,"snapshot":true,"symbol":"BTC/USD"},"success":true,"time_in":"2024-05-19T16:45:24.204654Z","time_out":"2024-05-19T16:45:24.204700Z"}"#,
            br#"{"error":"Subscription depth not supported","method":"subscribe","req_id":3,"success":false,"time_in":"x","time_out":"y"}"#,
            br#"{"method":"pong","req_id":1,"time_in":"2024-05-20T11:08:49.272922Z","time_out":"2024-05-20T11:08:49.272940Z"}"#,
            br#"{"channel":"instrument","type":"snapshot","data":{"assets":[{"id":"BTC","status":"enabled","precision":10}],"pairs":[{"symbol":"BTC/USD","base":"BTC","quote":"USD","status":"online","qty_precision":8,"qty_increment":1e-08,"price_precision":1,"price_increment":0.1,"qty_min":0.0001}]}}"#,
            br#"{"channel":"executions","data":[]}"#,
            b"CloudFlare WebSocket proxy restarting",
        ]
        .map(<[u8]>::to_vec),
    );
    seeds
}

fn binance_depth(symbol: &str, first: u64, last: u64, bids: &str, asks: &str) -> Vec<u8> {
    format!(
        r#"{{"stream":"{}@depth@100ms","data":{{"e":"depthUpdate","E":1723161255208,"s":"{symbol}","U":{first},"u":{last},"b":{bids},"a":{asks}}}}}"#,
        symbol.to_ascii_lowercase()
    )
    .into_bytes()
}

fn binance_seeds() -> Vec<Vec<u8>> {
    let mut seeds = vec![
        binance_depth(
            "BTCUSDT",
            103,
            105,
            r#"[["61837.63","3.5"],["61837.62","0"]]"#,
            "[]",
        ),
        binance_depth("ETHUSDT", 8, 8, r#"[["0.50","1"]]"#, "[]"),
        binance_depth("BTCUSDT", 106, 108, "[]", r#"[["61840.00","1.25"]]"#),
    ];
    seeds.extend(
        [
            &br#"{"e":"depthUpdate","E":1723161255300,"s":"BTCUSDT","U":109,"u":110,"b":[["61837.63","0"]],"a":[["61841.00","2"]]}"#[..],
            br#"{"stream":"btcusdt@bookTicker","data":{"u":400900217,"s":"BTCUSDT","b":"25.35","B":"31.21","a":"25.36","A":"40.66"}}"#,
            br#"{"u":50093239212,"s":"BTCUSDT","b":"61837.63000000","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}"#,
            br#"{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}"#,
            br#"{"e":"aggTrade","E":1672515782136,"s":"ETHUSDT","a":12345,"p":"0.01","q":"100","f":100,"l":105,"T":1672515782136,"m":false,"M":true}"#,
            br#"{"stream":"ethusdt@depth5@100ms","data":{"lastUpdateId":160,"bids":[["10.00","1"],["9.99","0"],["9.98","2"]],"asks":[["10.01","3"]]}}"#,
            br#"{"result":null,"id":1}"#,
            br#"{"code":2,"msg":"Invalid request: unknown variant","id":"abc"}"#,
            br#"{"stream":"!serverShutdown","data":{"e":"serverShutdown","E":1770123456789}}"#,
            br#"[{"e":"24hrTicker","s":"BTCUSDT"}]"#,
        ]
        .map(<[u8]>::to_vec),
    );
    seeds
}

fn binance_snapshots() -> Vec<Vec<u8>> {
    [
        &br#"{"lastUpdateId":104,"bids":[["61837.62","1"],["61830.00","2"]],"asks":[["61845.00","1"]]}"#[..],
        br#"{"lastUpdateId": 7, "bids": [["0.49", "2"]], "asks": [["1.00", "1"]]}"#,
        br#"{"asks":[["61845.00","1"]],"bids":[["61837.62","1"],["61830.00","2"]],"lastUpdateId":104,"x":[]}"#,
    ]
    .map(<[u8]>::to_vec)
    .to_vec()
}

fn backpack_depth(symbol: &str, first: u64, last: u64, bids: &str, asks: &str) -> Vec<u8> {
    format!(
        r#"{{"stream":"depth.{symbol}","data":{{"e":"depth","E":1694687965941000,"s":"{symbol}","a":{asks},"b":{bids},"U":{first},"u":{last},"T":1694687965940999}}}}"#
    )
    .into_bytes()
}

fn backpack_seeds() -> Vec<Vec<u8>> {
    let mut seeds = vec![
        backpack_depth(
            "SOL_USDC",
            94978271,
            94978271,
            r#"[["18.67","0.832"],["18.68","0.000"]]"#,
            r#"[["18.70","0.000"]]"#,
        ),
        backpack_depth("BTC_USDC", 5, 5, "[]", "[]"),
        backpack_depth(
            "SOL_USDC",
            94978272,
            94978273,
            r#"[["18.65","1"]]"#,
            r#"[["18.72","3.5"]]"#,
        ),
    ];
    seeds.extend(
        [
            &br#"{"stream":"trade.SOL_USDC","data":{"e":"trade","E":1694688638091000,"s":"SOL_USDC","p":"18.68","q":"0.122","b":"111063114377265150","a":"111063114585735170","t":12345,"T":1694688638089000,"m":true}}"#[..],
            br#"{"stream":"bookTicker.SOL_USDC","data":{"e":"bookTicker","E":1694687965941000,"s":"SOL_USDC","a":"18.70","A":"1.000","b":"18.67","B":"2.000","u":"111063070525358080","T":1694687965940999}}"#,
            br#"{"stream":"ticker.SOL_USDC","data":{"e":"ticker","E":1694687692980000,"s":"SOL_USDC","o":"18.75","c":"19.24","h":"19.80","l":"18.50","v":"32123","V":"928190","n":93828}}"#,
            br#"{"id":null,"error":{"code":4006,"message":"Invalid stream"}}"#,
            br#"{"stream":"kline.1m.SOL_USDC","data":{"e":"kline","E":1,"s":"SOL_USDC"}}"#,
        ]
        .map(<[u8]>::to_vec),
    );
    seeds
}

fn backpack_snapshots() -> Vec<Vec<u8>> {
    [
        &br#"{"asks":[["18.70","500.123"],["18.71","2.5"]],"bids":[["18.66","255.123"],["18.68","1.000"]],"lastUpdateId":"94978270","timestamp":1694687965941000}"#[..],
        br#"{"asks":[],"bids":[["60000.0","1"]],"lastUpdateId":5,"timestamp":1}"#,
    ]
    .map(<[u8]>::to_vec)
    .to_vec()
}

fn upbit_seeds() -> Vec<Vec<u8>> {
    [
        &br#"{"type":"orderbook","code":"KRW-BTC","timestamp":1704067200000,"total_ask_size":4.5,"total_bid_size":6.1,"orderbook_units":[{"ask_price":100100000,"bid_price":100000000,"ask_size":0.5,"bid_size":1.2},{"ask_price":100200000,"bid_price":99900000,"ask_size":4.0,"bid_size":4.9}],"level":0,"stream_type":"REALTIME"}"#[..],
        br#"{"ty":"orderbook","cd":"KRW-ETH","tms":1704067200000,"tas":4.5,"tbs":6.1,"obu":[{"ap":5001000,"bp":5000000,"as":0.5,"bs":1.2},{"ap":5002000,"bp":4999000,"as":4.0,"bs":4.9},{"ap":5003000,"bp":4998000,"as":1,"bs":1}],"lv":0,"st":"REALTIME"}"#,
        br#"{"type":"trade","code":"KRW-BTC","timestamp":1704067200123,"trade_date":"2024-01-01","trade_time":"00:00:00","trade_timestamp":1704067200000,"trade_price":100000000.0,"trade_volume":0.01,"ask_bid":"BID","prev_closing_price":99000000,"change":"RISE","change_price":1000000,"sequential_id":1704067200000001,"stream_type":"REALTIME"}"#,
        br#"{"ty":"trade","cd":"KRW-BTC","tms":1704067200123,"td":"2024-01-01","ttm":"00:00:00","ttms":1704067200000,"tp":100000000.0,"tv":0.01,"ab":"ASK","pcp":99000000,"c":"RISE","cp":1000000,"sid":1704067200000001,"st":"REALTIME"}"#,
        br#"{"ty":"ticker","cd":"KRW-BTC","op":99000000.0,"hp":101000000.0,"lp":98000000.0,"tp":100000000.0,"pcp":99000000.0,"atv24h":1234.56789012,"tms":1704067200500,"st":"SNAPSHOT"}"#,
        br#"{"ty":"orderbook","cd":"KRW-BTC","tms":1,"obu":[{"ap":100,"bp":101,"as":1,"bs":1}]}"#,
        br#"{"status":"UP"}"#,
        br#"{"error":{"name":"WRONG_FORMAT","message":"Invalid format"}}"#,
        br#"[{"ty":"trade"}]"#,
    ]
    .map(<[u8]>::to_vec)
    .to_vec()
}

/// The venue's seed frames (what `Step::Seed` edits).
pub fn seeds(venue: Venue) -> Vec<Vec<u8>> {
    match venue {
        Venue::Kraken => kraken_seeds(),
        Venue::Binance => binance_seeds(),
        Venue::Backpack => backpack_seeds(),
        Venue::Upbit => upbit_seeds(),
    }
}

/// The venue's seed REST snapshot bodies (none where books come over the stream).
pub fn snapshot_seeds(venue: Venue) -> Vec<Vec<u8>> {
    match venue {
        Venue::Binance => binance_snapshots(),
        Venue::Backpack => backpack_snapshots(),
        Venue::Kraken | Venue::Upbit => Vec::new(),
    }
}

fn instruments(venue: Venue) -> Vec<Instrument> {
    let inst = |symbol: &str, price_scale, qty_scale, depth| Instrument {
        symbol: symbol.into(),
        price_scale,
        qty_scale,
        depth,
    };
    match venue {
        Venue::Kraken => vec![inst("MATIC/USD", 4, 8, 10), inst("BTC/USD", 1, 8, 10)],
        // BTCUSDT at 8 decimals, as the Python binding registers it; ETHUSDT at the tick size.
        Venue::Binance => vec![inst("BTCUSDT", 8, 8, 5), inst("ETHUSDT", 2, 4, 5)],
        Venue::Backpack => vec![inst("SOL_USDC", 2, 3, 100), inst("BTC_USDC", 1, 5, 100)],
        Venue::Upbit => vec![inst("KRW-BTC", 0, 8, 15), inst("KRW-ETH", 0, 8, 2)],
    }
}

// ---------------------------------------------------------------------------------------------
// Venue sessions

enum Feeds {
    Kraken(KrakenFeed),
    /// `fast` reads frames through `feed`, `general` through the general path only.
    Binance {
        fast: BinanceFeed,
        general: BinanceFeed,
    },
    Backpack(BackpackFeed),
    Upbit(UpbitFeed),
}

/// One connection's feed taking arbitrary steps, checked after each.
pub struct Session {
    venue: Venue,
    feeds: Feeds,
    seeds: Vec<Vec<u8>>,
    snapshots: Vec<Vec<u8>>,
    recv_ns: u64,
}

impl Session {
    /// A feed with the venue's instruments and live books.
    pub fn new(venue: Venue) -> Self {
        let mut session = Session {
            venue,
            feeds: Self::fresh(venue),
            seeds: seeds(venue),
            snapshots: snapshot_seeds(venue),
            recv_ns: 0,
        };
        session.prime();
        session
    }

    fn fresh(venue: Venue) -> Feeds {
        fn with<F: MarketFeed + Default>(venue: Venue) -> F {
            let mut feed = F::default();
            for instrument in instruments(venue) {
                feed.add_instrument(instrument).expect("seed instrument");
            }
            feed
        }
        match venue {
            Venue::Kraken => Feeds::Kraken(with(venue)),
            Venue::Binance => Feeds::Binance {
                fast: with(venue),
                general: with(venue),
            },
            Venue::Backpack => Feeds::Backpack(with(venue)),
            Venue::Upbit => Feeds::Upbit(with(venue)),
        }
    }

    /// Books valid on every symbol: Kraken and Upbit from their snapshot frames, Binance and
    /// Backpack from a diff (which asks for a snapshot) and a REST snapshot.
    fn prime(&mut self) {
        let (frames, snapshots): (&[usize], &[(u8, usize)]) = match self.venue {
            Venue::Kraken | Venue::Upbit => (&[0, 1], &[]),
            Venue::Binance | Venue::Backpack => (&[0, 1], &[(0, 0), (1, 1)]),
        };
        for &i in frames {
            let frame = self.seeds[i].clone();
            self.run(&Step::Frame(frame));
        }
        for &(symbol, i) in snapshots {
            let body = self.snapshots[i].clone();
            self.run(&Step::Snapshot { symbol, body });
        }
        for id in 0..2 {
            assert!(
                self.state_valid(id),
                "{:?} symbol {id} not primed",
                self.venue
            );
        }
    }

    fn state_valid(&self, id: SymbolId) -> bool {
        let state = match &self.feeds {
            Feeds::Kraken(f) => f.state(id),
            Feeds::Binance { fast, .. } => fast.state(id),
            Feeds::Backpack(f) => f.state(id),
            Feeds::Upbit(f) => f.state(id),
        };
        state.is_some_and(|s| s.valid)
    }

    /// Runs one step and checks everything the module docs list.
    pub fn run(&mut self, step: &Step) {
        self.recv_ns += 1;
        let recv_ns = self.recv_ns;
        let (frame, snapshot) = match step {
            Step::Frame(frame) => (Some(frame.clone()), None),
            Step::Seed { seed, edits } => (Some(edited(pick(&self.seeds, *seed), edits)), None),
            Step::Snapshot { symbol, body } => (None, Some((*symbol, body.clone()))),
            Step::SeedSnapshot {
                symbol,
                seed,
                edits,
            } => {
                let body = match self.snapshots.is_empty() {
                    true => edited(pick(&self.seeds, *seed), edits),
                    false => edited(pick(&self.snapshots, *seed), edits),
                };
                (None, Some((*symbol, body)))
            }
            Step::Reset => {
                self.feeds = Self::fresh(self.venue);
                return self.check_books();
            }
        };
        // More ids than registered, so that unknown ones are tried.
        let snapshot = snapshot.map(|(symbol, body)| (SymbolId::from(symbol % 3), body));
        match &mut self.feeds {
            Feeds::Kraken(feed) => {
                let body = frame.or(snapshot.map(|(_, body)| body)).unwrap_or_default();
                let result = feed.feed(&body, recv_ns);
                check_result(feed, &result);
            }
            Feeds::Upbit(feed) => {
                let body = frame.or(snapshot.map(|(_, body)| body)).unwrap_or_default();
                let result = feed.feed(&body, recv_ns);
                check_result(feed, &result);
            }
            Feeds::Backpack(feed) => match (frame, snapshot) {
                (Some(frame), _) => {
                    let result = feed.feed(&frame, recv_ns);
                    check_result(feed, &result);
                }
                (None, Some((symbol, body))) => {
                    let result = feed.apply_snapshot(symbol, &body, recv_ns).map(Some);
                    check_result(feed, &result);
                }
                (None, None) => {}
            },
            Feeds::Binance { fast, general } => match (frame, snapshot) {
                (Some(frame), _) => {
                    let a = fast.feed(&frame, recv_ns);
                    let b = general.feed_general(&frame, recv_ns);
                    assert_eq!(a, b, "fast and general paths differ on {:?}", lossy(&frame));
                    check_result(fast, &a);
                }
                (None, Some((symbol, body))) => {
                    let a = fast.apply_snapshot(symbol, &body, recv_ns).map(Some);
                    let b = general.apply_snapshot(symbol, &body, recv_ns).map(Some);
                    assert_eq!(a, b, "snapshot {:?}", lossy(&body));
                    check_result(fast, &a);
                }
                (None, None) => {}
            },
        }
        self.check_books();
    }

    fn check_books(&self) {
        match &self.feeds {
            Feeds::Kraken(feed) => {
                check_books(feed, true);
                check_kraken_checksums(feed);
            }
            Feeds::Binance { fast, general } => {
                check_books(fast, false);
                for id in 0..fast.instruments().len() as SymbolId {
                    let (a, b) = (fast.book(id).unwrap(), general.book(id).unwrap());
                    assert_eq!(levels(&a.bids), levels(&b.bids), "bids of {id}");
                    assert_eq!(levels(&a.asks), levels(&b.asks), "asks of {id}");
                    assert_eq!(fast.state(id), general.state(id), "state of {id}");
                }
            }
            Feeds::Backpack(feed) => check_books(feed, false),
            Feeds::Upbit(feed) => check_books(feed, true),
        }
    }
}

/// Runs `steps` on a fresh session of `venue`.
pub fn run_session(venue: Venue, steps: &[Step]) {
    let mut session = Session::new(venue);
    for step in steps {
        session.run(step);
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn levels<X: Copy>(ladder: &Ladder<X>) -> Vec<(i64, i64)> {
    ladder.iter().map(|l| (l.price, l.qty)).collect()
}

/// What the bindings do with a decode result, minus Python: errors are displayed, symbol ids
/// index the feed's symbol table, reply texts are unescaped.
fn check_result<F: MarketFeed>(feed: &F, result: &Result<Option<Event<'_>>, FeedError>) {
    let registered = feed.instruments().len();
    let known = |id: SymbolId| {
        assert!((id as usize) < registered, "event names symbol {id}");
    };
    match result {
        Err(error) => assert!(!error.to_string().is_empty()),
        Ok(None) => {}
        Ok(Some(event)) => match event {
            Event::Book(b) => known(b.symbol),
            Event::Resync(r) => known(r.symbol),
            Event::Trade(t) => known(t.symbol),
            Event::Quote(q) => known(q.symbol),
            Event::Ticker(t) => known(t.symbol),
            Event::TradeBatch { count } => {
                assert_eq!(*count, feed.trade_batch().len());
                feed.trade_batch().iter().for_each(|t| known(t.symbol));
            }
            Event::Reply(reply) => {
                for raw in [reply.method, reply.error].into_iter().flatten() {
                    let _ = unescape(raw);
                }
            }
            Event::Status(_)
            | Event::Instruments { .. }
            | Event::Heartbeat
            | Event::Unrecognized
            | Event::Unparsable => {}
        },
    }
}

fn check_books<F: MarketFeed>(feed: &F, truncates: bool) {
    for (id, instrument) in feed.instruments().iter() {
        let book = feed.book(id).expect("a book per registered symbol");
        let state = feed.state(id).expect("a state per registered symbol");
        for ladder in [&book.bids, &book.asks] {
            ladder.check_invariants();
            assert!(ladder.iter().all(|l| l.qty > 0), "a size of 0 or less kept");
            if truncates {
                assert!(ladder.len() <= instrument.depth, "deeper than subscribed");
            }
        }
        if state.valid {
            assert!(
                !book.is_crossed(),
                "valid but crossed: {:?}",
                book.crossing()
            );
        } else {
            assert!(book.is_empty(), "invalid but not empty");
        }
    }
}

fn check_kraken_checksums(feed: &KrakenFeed) {
    for (id, _) in feed.instruments().iter() {
        let book = feed.book(id).unwrap();
        for level in book.bids.iter().chain(book.asks.iter()) {
            assert_eq!(level.extra, ChecksumDigits::new(level.price, level.qty));
        }
        let state = feed.state(id).unwrap();
        if let (true, Some(checksum)) = (state.valid, state.checksum) {
            assert_eq!(
                book_checksum(book),
                checksum,
                "stored checksum is not the book's"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The book engine

/// A price: mostly near a common level (so that operations meet existing levels), sometimes
/// anywhere in i64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum Price {
    Near(i8),
    Any(i64),
}

impl Price {
    pub fn value(self) -> i64 {
        match self {
            Price::Near(offset) => 1_000 + i64::from(offset),
            Price::Any(price) => price,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum BookOp {
    /// An absolute level size (0 deletes), as a diff sets it.
    Apply {
        bid: bool,
        price: Price,
        qty: i64,
    },
    /// The book replaced by levels loaded in the given order (best-first, as a snapshot
    /// arrives, or not).
    Snapshot(Vec<(bool, Price, i64)>),
    Truncate(u16),
    Clear,
    /// Kraken's checksum of the Kraken book, against one computed from the model.
    Checksum,
}

fn side_of(bid: bool) -> BookSide {
    if bid {
        BookSide::Bid
    } else {
        BookSide::Ask
    }
}

/// The reference a book must agree with: one sorted map per side.
#[derive(Debug, Default, Clone)]
pub struct BookModel {
    pub bids: BTreeMap<i64, i64>,
    pub asks: BTreeMap<i64, i64>,
}

impl BookModel {
    pub fn apply(&mut self, side: BookSide, price: i64, qty: i64) {
        let map = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        if qty == 0 {
            map.remove(&price);
        } else {
            map.insert(price, qty);
        }
    }

    /// The best `n` levels of `side`, best first.
    pub fn top(&self, side: BookSide, n: usize) -> Vec<(i64, i64)> {
        match side {
            BookSide::Bid => self
                .bids
                .iter()
                .rev()
                .take(n)
                .map(|(&p, &q)| (p, q))
                .collect(),
            BookSide::Ask => self.asks.iter().take(n).map(|(&p, &q)| (p, q)).collect(),
        }
    }

    pub fn truncate(&mut self, depth: usize) {
        for side in [BookSide::Bid, BookSide::Ask] {
            let keep: BTreeMap<i64, i64> = self.top(side, depth).into_iter().collect();
            match side {
                BookSide::Bid => self.bids = keep,
                BookSide::Ask => self.asks = keep,
            }
        }
    }

    pub fn crossed(&self) -> bool {
        matches!(
            (self.bids.keys().next_back(), self.asks.keys().next()),
            (Some(bid), Some(ask)) if bid >= ask
        )
    }

    /// Kraken's checksum written out the slow way: the decimal digits of each price and size
    /// mantissa (no sign, no leading zeros, nothing for 0), top 10 asks then top 10 bids.
    pub fn kraken_checksum(&self) -> u32 {
        let digits = |v: i64| match v {
            0 => String::new(),
            v => v.unsigned_abs().to_string(),
        };
        let mut text = String::new();
        for side in [BookSide::Ask, BookSide::Bid] {
            for (price, qty) in self.top(side, 10) {
                text += &digits(price);
                text += &digits(qty);
            }
        }
        crc32fast::hash(text.as_bytes())
    }
}

/// A plain book and a Kraken book with checksum digits, driven alike and held to the model.
#[derive(Default)]
pub struct BookSession {
    plain: Book,
    kraken: Book<ChecksumDigits>,
    model: BookModel,
}

impl BookSession {
    fn set_kraken(&mut self, side: BookSide, price: i64, qty: i64) {
        let ladder = self.kraken.side_mut(side);
        if qty == 0 {
            ladder.remove(price);
        } else {
            ladder.set(price, qty, ChecksumDigits::new(price, qty));
        }
    }

    pub fn run(&mut self, op: &BookOp) {
        match op {
            BookOp::Apply { bid, price, qty } => {
                let (side, price) = (side_of(*bid), price.value());
                self.plain.apply(side, price, *qty);
                self.set_kraken(side, price, *qty);
                self.model.apply(side, price, *qty);
            }
            BookOp::Snapshot(levels) => {
                self.plain.clear();
                self.kraken.clear();
                self.model = BookModel::default();
                for &(bid, price, qty) in levels {
                    let (side, price) = (side_of(bid), price.value());
                    self.plain.load(side, price, qty);
                    self.set_kraken(side, price, qty);
                    self.model.apply(side, price, qty);
                }
            }
            BookOp::Truncate(depth) => {
                let depth = usize::from(*depth);
                self.plain.truncate(depth);
                self.kraken.truncate(depth);
                self.model.truncate(depth);
            }
            BookOp::Clear => {
                self.plain.clear();
                self.kraken.clear();
                self.model = BookModel::default();
            }
            BookOp::Checksum => {
                assert_eq!(book_checksum(&self.kraken), self.model.kraken_checksum());
            }
        }
        self.check();
    }

    fn check(&self) {
        for side in [BookSide::Bid, BookSide::Ask] {
            let expected = self.model.top(side, usize::MAX);
            let plain = self.plain.side(side);
            plain.check_invariants();
            assert_eq!(plain.len(), expected.len());
            assert_eq!(levels(plain), expected);
            let kraken = self.kraken.side(side);
            kraken.check_invariants();
            assert_eq!(levels(kraken), expected);
            let mut top = [(0, 0); 4];
            let n = self.plain.side(side).copy_top(&mut top);
            assert_eq!(&top[..n], &expected[..n.min(expected.len())]);
            assert_eq!(n, expected.len().min(4));
        }
        assert_eq!(self.plain.is_crossed(), self.model.crossed());
        assert_eq!(
            self.plain.best_bid(),
            self.model.top(BookSide::Bid, 1).first().copied()
        );
        assert_eq!(
            self.plain.best_ask(),
            self.model.top(BookSide::Ask, 1).first().copied()
        );
    }
}

/// Runs `ops` on a fresh book session.
pub fn run_book(ops: &[BookOp]) {
    let mut session = BookSession::default();
    for op in ops {
        session.run(op);
    }
}

// ---------------------------------------------------------------------------------------------
// proptest strategies (cargo test only: proptest is a dev-dependency)

#[cfg(test)]
pub mod strategies {
    use super::*;
    use proptest::prelude::*;

    /// Text that breaks JSON and number readers in interesting ways.
    pub const TOKENS: &[&str] = &[
        "\"",
        "\\",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        " ",
        "-",
        "0",
        "9",
        ".",
        "e",
        "E+400",
        "1e-30",
        "99999999999999999999",
        "-9223372036854775808",
        "18446744073709551616",
        "null",
        "true",
        "\"\"",
        "\\u0000",
        "\\uD800",
        "\\\"",
        "1.0000000000000000001",
        "NaN",
        "\u{e9}",
        "\u{ff}",
        "{}",
        "[]",
        "[[\"1\",\"1\"]]",
        "\"price\":",
        "\"qty\":",
        "\"symbol\":\"BTC/USD\"",
        "\"s\":\"BTCUSDT\"",
        "\"U\":",
        "\"u\":",
        "\"lastUpdateId\":",
        "\"checksum\":",
        "\"type\":\"snapshot\"",
        "\"channel\":\"book\"",
        "\"bids\":",
        "\"asks\":",
    ];

    /// Numbers a field may hold, and some it must not.
    pub const NUMBERS: &[&str] = &[
        "0",
        "1",
        "-1",
        "0.0",
        "2",
        "7",
        "100",
        "1e30",
        "1E-8",
        "1e2",
        "0.000000001",
        "100.5",
        "100.6",
        "1.00000000",
        "61837.64",
        "61837.625",
        "99999999999999999999",
        "18446744073709551615",
        "18446744073709551616",
        "9223372036854775807",
        "-9223372036854775808",
        "4294967295",
        "4294967296",
        "94978272",
        "94978274",
        "106",
        "109",
        "111",
        "160",
        "2114181697",
        "",
    ];

    /// Strings a field may hold: other venues' symbols, kinds, sides, escapes.
    pub const TEXTS: &[&str] = &[
        "BTC/USD",
        "MATIC/USD",
        "ETH/USD",
        "BTCUSDT",
        "ETHUSDT",
        "btcusdt@depth@100ms",
        "ethusdt@depth5@100ms",
        "SOL_USDC",
        "BTC_USDC",
        "KRW-BTC",
        "KRW-ETH",
        "snapshot",
        "update",
        "book",
        "trade",
        "ticker",
        "status",
        "heartbeat",
        "instrument",
        "buy",
        "sell",
        "BID",
        "ASK",
        "depthUpdate",
        "depth",
        "bookTicker",
        "aggTrade",
        "orderbook",
        "serverShutdown",
        "subscribe",
        "online",
        "maintenance",
        "",
        "\\u0042TC/USD",
        "\\\"",
        "\\uD800",
        "2024-05-27T12:33:10Z",
        "1.5",
        "-1",
    ];

    fn bytes_from(list: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => prop::sample::select(list).prop_map(|t| t.as_bytes().to_vec()),
            1 => "[-+.eE0-9]{0,24}".prop_map(String::into_bytes),
        ]
    }

    fn insert() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            3 => prop::sample::select(TOKENS).prop_map(|t| t.as_bytes().to_vec()),
            1 => prop::collection::vec(any::<u8>(), 0..8),
        ]
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            2 => (any::<u16>(), prop_oneof![3 => 0u8..2, 1 => any::<u8>()], insert())
                .prop_map(|(at, remove, insert)| Edit::Splice { at, remove, insert }),
            3 => (any::<u16>(), any::<u8>()).prop_map(|(nth, digit)| Edit::Digit { nth, digit }),
            3 => (any::<u16>(), bytes_from(NUMBERS)).prop_map(|(nth, text)| Edit::Number { nth, text }),
            2 => (any::<u16>(), bytes_from(TEXTS)).prop_map(|(nth, text)| Edit::Text { nth, text }),
        ]
    }

    pub fn edits() -> impl Strategy<Value = Vec<Edit>> {
        prop::collection::vec(edit(), 0..4)
    }

    fn bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..96),
            // Past the not-JSON check.
            prop::collection::vec(any::<u8>(), 0..96).prop_map(|b| [b"{".as_slice(), &b].concat()),
        ]
    }

    pub fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            2 => bytes().prop_map(Step::Frame),
            8 => (any::<u8>(), edits()).prop_map(|(seed, edits)| Step::Seed { seed, edits }),
            1 => (any::<u8>(), bytes()).prop_map(|(symbol, body)| Step::Snapshot { symbol, body }),
            2 => (any::<u8>(), any::<u8>(), edits())
                .prop_map(|(symbol, seed, edits)| Step::SeedSnapshot { symbol, seed, edits }),
            1 => Just(Step::Reset),
        ]
    }

    pub fn steps() -> impl Strategy<Value = Vec<Step>> {
        prop::collection::vec(step(), 1..24)
    }

    fn price() -> impl Strategy<Value = Price> {
        prop_oneof![
            4 => any::<i8>().prop_map(Price::Near),
            1 => prop_oneof![
                Just(i64::MIN), Just(i64::MIN + 1), Just(-1i64), Just(0i64), Just(i64::MAX),
                Just(i64::MAX - 1), any::<i64>()
            ].prop_map(Price::Any),
        ]
    }

    fn qty() -> impl Strategy<Value = i64> {
        prop_oneof![3 => 0i64..4, 1 => any::<i64>(), 1 => Just(i64::MIN), 1 => Just(i64::MAX)]
    }

    pub fn book_ops() -> impl Strategy<Value = Vec<BookOp>> {
        let op = prop_oneof![
            12 => (any::<bool>(), price(), qty()).prop_map(|(bid, price, qty)| BookOp::Apply { bid, price, qty }),
            1 => prop::collection::vec((any::<bool>(), price(), qty()), 0..80).prop_map(BookOp::Snapshot),
            1 => prop_oneof![0u16..4, any::<u16>()].prop_map(BookOp::Truncate),
            1 => Just(BookOp::Clear),
            2 => Just(BookOp::Checksum),
        ];
        prop::collection::vec(op, 1..120)
    }
}
