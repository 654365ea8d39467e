//! Keeping a local book in step with a venue, for venues without a checksum:
//!
//! - [`DepthSync`]: a REST snapshot plus numbered diffs (Binance `depthUpdate`, Backpack `depth`).
//!   Diffs are buffered until the caller supplies a snapshot; buffered diffs the snapshot already
//!   covers (`u <= lastUpdateId`) are dropped; the first diff applied must bridge the snapshot
//!   (`U <= lastUpdateId + 1 <= u`) and every later one must continue exactly (`U == previous u + 1`).
//!   A diff that does not bridge means the snapshot is older than the stream (fetch again); one
//!   that does not continue means updates were lost. Either way the book is thrown away, the
//!   caller is asked for a new snapshot, and diffs are buffered again from the one that failed.
//! - [`replace_book`]: venues whose every message is the whole top of book (Upbit, Binance
//!   partial depth).

use std::ops::Range;

use crate::book::{Book, BookSide};
use crate::json::Parser;
use crate::market::{
    BookKind, BookUpdate, Event, FeedError, Instruments, Resync, ResyncAction, ResyncReason,
    SymbolId, SymbolState,
};

/// One absolute level size from a venue message (zero deletes the level).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelChange {
    pub side: BookSide,
    pub price: i64,
    pub qty: i64,
}

/// The sequence range and time of one diff message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffHeader {
    /// `U`: the first update id in the message.
    pub first_id: u64,
    /// `u`: the last update id in the message.
    pub last_id: u64,
    pub exch_ts_ns: Option<u64>,
}

/// Diffs buffered beyond this many level changes are dropped and buffering restarts, so a
/// snapshot that never comes cannot grow memory without bound.
const MAX_BUFFERED_CHANGES: usize = 1 << 18;

#[derive(Debug, Clone, Copy)]
struct Cursor {
    /// The last update id reflected in the book.
    last_id: u64,
    /// A diff has been joined onto the snapshot; from now on ids must continue exactly.
    bridged: bool,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Buffering diffs; `requested` once the caller has been asked for a snapshot.
    AwaitingSnapshot {
        requested: bool,
    },
    Live(Cursor),
}

enum Step {
    Applied,
    /// Entirely older than the book: nothing to do.
    Stale,
    Discontinuous(ResyncReason),
}

#[derive(Debug, Clone)]
struct Buffered {
    header: DiffHeader,
    changes: Range<usize>,
}

/// The book of one symbol kept from a snapshot plus diffs.
#[derive(Debug, Clone)]
pub struct DepthSync {
    symbol: SymbolId,
    book: Book,
    state: SymbolState,
    phase: Phase,
    buffered: Vec<Buffered>,
    buffered_changes: Vec<LevelChange>,
}

impl DepthSync {
    pub fn new(symbol: SymbolId) -> Self {
        DepthSync {
            symbol,
            book: Book::default(),
            state: SymbolState::default(),
            phase: Phase::AwaitingSnapshot { requested: false },
            buffered: Vec::new(),
            buffered_changes: Vec::new(),
        }
    }

    pub fn book(&self) -> &Book {
        &self.book
    }

    pub fn state(&self) -> SymbolState {
        self.state
    }

    /// Applies or buffers one diff.
    pub fn on_diff(
        &mut self,
        header: DiffHeader,
        changes: &[LevelChange],
        recv_ns: u64,
    ) -> Option<Event<'static>> {
        let mut cursor = match self.phase {
            Phase::AwaitingSnapshot { requested } => {
                self.buffer(header, changes);
                if requested {
                    return None;
                }
                self.phase = Phase::AwaitingSnapshot { requested: true };
                return Some(self.resync(ResyncReason::Initial, header.exch_ts_ns));
            }
            Phase::Live(cursor) => cursor,
        };
        match step(&mut self.book, &mut cursor, header, changes) {
            Step::Stale => None,
            Step::Discontinuous(reason) => {
                let event = self.invalidate(reason, header.exch_ts_ns, recv_ns);
                self.buffer(header, changes);
                Some(event)
            }
            Step::Applied => {
                self.phase = Phase::Live(cursor);
                Some(self.after_apply(BookKind::Update, cursor.last_id, header.exch_ts_ns, recv_ns))
            }
        }
    }

    /// Makes the snapshot (`lastUpdateId`, its levels) the book and replays the buffered diffs.
    pub fn on_snapshot(
        &mut self,
        last_id: u64,
        levels: &[LevelChange],
        exch_ts_ns: Option<u64>,
        recv_ns: u64,
    ) -> Event<'static> {
        self.book.clear();
        for level in levels {
            self.book.load(level.side, level.price, level.qty);
        }
        let mut cursor = Cursor {
            last_id,
            bridged: false,
        };
        let mut last_ts = exch_ts_ns;
        for k in 0..self.buffered.len() {
            let diff = &self.buffered[k];
            let header = diff.header;
            match step(
                &mut self.book,
                &mut cursor,
                header,
                &self.buffered_changes[diff.changes.clone()],
            ) {
                Step::Applied => last_ts = header.exch_ts_ns.or(last_ts),
                Step::Stale => {}
                Step::Discontinuous(reason) => {
                    // The diffs from here on are still a continuous stream: keep them for the
                    // next snapshot.
                    self.buffered.drain(..k);
                    return self.invalidate(reason, header.exch_ts_ns, recv_ns);
                }
            }
        }
        self.buffered.clear();
        self.buffered_changes.clear();
        self.phase = Phase::Live(cursor);
        self.after_apply(BookKind::Snapshot, cursor.last_id, last_ts, recv_ns)
    }

    /// Replaces the whole book with a top-of-book snapshot (Binance partial depth).
    pub fn on_partial(
        &mut self,
        last_id: u64,
        levels: &[LevelChange],
        depth: usize,
        recv_ns: u64,
    ) -> Event<'static> {
        self.state.sequence = Some(last_id);
        replace_book(
            self.symbol,
            &mut self.book,
            &mut self.state,
            levels,
            depth,
            None,
            recv_ns,
        )
    }

    fn after_apply(
        &mut self,
        kind: BookKind,
        last_id: u64,
        exch_ts_ns: Option<u64>,
        recv_ns: u64,
    ) -> Event<'static> {
        if let Some((bid, ask)) = self.book.crossing() {
            return self.invalidate(ResyncReason::Crossed { bid, ask }, exch_ts_ns, recv_ns);
        }
        self.state.applied(exch_ts_ns, recv_ns);
        self.state.sequence = Some(last_id);
        Event::Book(BookUpdate {
            symbol: self.symbol,
            kind,
            exch_ts_ns,
            sequence: Some(last_id),
            checksum: None,
        })
    }

    fn buffer(&mut self, header: DiffHeader, changes: &[LevelChange]) {
        if self.buffered_changes.len() + changes.len() > MAX_BUFFERED_CHANGES {
            self.buffered.clear();
            self.buffered_changes.clear();
        }
        let start = self.buffered_changes.len();
        self.buffered_changes.extend_from_slice(changes);
        self.buffered.push(Buffered {
            header,
            changes: start..self.buffered_changes.len(),
        });
    }

    /// Throws the book away and asks for a new snapshot; buffered diffs are kept.
    fn invalidate(
        &mut self,
        reason: ResyncReason,
        exch_ts_ns: Option<u64>,
        recv_ns: u64,
    ) -> Event<'static> {
        self.book.clear();
        self.state.invalidated(recv_ns);
        self.phase = Phase::AwaitingSnapshot { requested: true };
        self.resync(reason, exch_ts_ns)
    }

    fn resync(&self, reason: ResyncReason, exch_ts_ns: Option<u64>) -> Event<'static> {
        Event::Resync(Resync {
            symbol: self.symbol,
            reason,
            action: ResyncAction::FetchSnapshot,
            exch_ts_ns,
        })
    }
}

/// Applies one diff if it continues the book at `cursor`.
fn step(book: &mut Book, cursor: &mut Cursor, header: DiffHeader, changes: &[LevelChange]) -> Step {
    if header.last_id <= cursor.last_id {
        return Step::Stale;
    }
    let next = cursor.last_id + 1;
    if !cursor.bridged && header.first_id > next {
        return Step::Discontinuous(ResyncReason::StaleSnapshot {
            snapshot_id: cursor.last_id,
            first_update_id: header.first_id,
        });
    }
    if cursor.bridged && header.first_id != next {
        return Step::Discontinuous(ResyncReason::SequenceGap {
            expected: next,
            received: header.first_id,
        });
    }
    for change in changes {
        book.apply(change.side, change.price, change.qty);
    }
    *cursor = Cursor {
        last_id: header.last_id,
        bridged: true,
    };
    Step::Applied
}

/// Replaces `book` with `levels` (zero sizes skipped), kept to `depth` per side. A crossed result
/// invalidates the book; the venue's next full message can make it valid again.
pub fn replace_book(
    symbol: SymbolId,
    book: &mut Book,
    state: &mut SymbolState,
    levels: &[LevelChange],
    depth: usize,
    exch_ts_ns: Option<u64>,
    recv_ns: u64,
) -> Event<'static> {
    book.clear();
    for level in levels {
        if level.qty != 0 {
            book.load(level.side, level.price, level.qty);
        }
    }
    book.truncate(depth);
    if let Some((bid, ask)) = book.crossing() {
        book.clear();
        state.invalidated(recv_ns);
        return Event::Resync(Resync {
            symbol,
            reason: ResyncReason::Crossed { bid, ask },
            action: ResyncAction::Resubscribe,
            exch_ts_ns,
        });
    }
    state.applied(exch_ts_ns, recv_ns);
    Event::Book(BookUpdate {
        symbol,
        kind: BookKind::Snapshot,
        exch_ts_ns,
        sequence: state.sequence,
        checksum: None,
    })
}

/// Reads `[["price","qty"], ...]` (Binance and Backpack levels) at the symbol's scales.
pub fn read_level_pairs(
    raw: &[u8],
    side: BookSide,
    instruments: &Instruments,
    symbol: SymbolId,
    out: &mut Vec<LevelChange>,
) -> Result<(), FeedError> {
    read_level_pairs_at(&mut Parser::new(raw), side, instruments, symbol, out)
}

/// A snapshot's or diff's two level arrays (raw text of `bids` and `asks`), read into `out`
/// after clearing it: bids first, then asks.
pub fn read_book_sides(
    bids: Option<&[u8]>,
    asks: Option<&[u8]>,
    instruments: &Instruments,
    symbol: SymbolId,
    out: &mut Vec<LevelChange>,
) -> Result<(), FeedError> {
    out.clear();
    let bids = bids.ok_or(FeedError::MissingField("bids"))?;
    let asks = asks.ok_or(FeedError::MissingField("asks"))?;
    read_level_pairs(bids, BookSide::Bid, instruments, symbol, out)?;
    read_level_pairs(asks, BookSide::Ask, instruments, symbol, out)
}

/// `read_level_pairs` from where the parser stands (the array's opening bracket).
pub fn read_level_pairs_at(
    p: &mut Parser<'_>,
    side: BookSide,
    instruments: &Instruments,
    symbol: SymbolId,
    out: &mut Vec<LevelChange>,
) -> Result<(), FeedError> {
    let instrument = instruments.get(symbol);
    let (price_scale, qty_scale) = (instrument.price_scale, instrument.qty_scale);
    let mut levels = p.array()?;
    while levels.next(p)? {
        if let Some((price, qty)) = p.compact_pair(price_scale, qty_scale) {
            let price = price.map_err(|error| FeedError::Decimal {
                field: "price",
                error,
            })?;
            let qty = qty.map_err(|error| FeedError::Decimal {
                field: "qty",
                error,
            })?;
            if qty < 0 {
                return Err(FeedError::BadField("qty"));
            }
            out.push(LevelChange { side, price, qty });
            continue;
        }
        let mut pair = p.array()?;
        if !pair.next(p)? {
            return Err(FeedError::BadField("level"));
        }
        let price = instruments.read_price(symbol, "price", p)?;
        if !pair.next(p)? {
            return Err(FeedError::BadField("level"));
        }
        let qty = instruments.read_qty(symbol, "qty", p)?;
        // Anything after [price, qty] is not part of the level.
        while pair.next(p)? {
            p.skip()?;
        }
        out.push(LevelChange { side, price, qty });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::book::BookSide::{Ask, Bid};

    fn level(side: BookSide, price: i64, qty: i64) -> LevelChange {
        LevelChange { side, price, qty }
    }

    fn diff(first_id: u64, last_id: u64) -> DiffHeader {
        DiffHeader {
            first_id,
            last_id,
            exch_ts_ns: Some(last_id),
        }
    }

    fn resync_reason(event: Option<Event<'_>>) -> ResyncReason {
        match event {
            Some(Event::Resync(r)) => {
                assert_eq!(r.action, ResyncAction::FetchSnapshot);
                r.reason
            }
            other => panic!("expected a resync, got {other:?}"),
        }
    }

    /// The sequence of binance.md §2's synthetic vector (prices in cents).
    #[test]
    fn follows_the_documented_procedure() {
        let mut sync = DepthSync::new(0);
        assert_eq!(
            resync_reason(sync.on_diff(diff(990, 995), &[level(Bid, 1, 1)], 1)),
            ResyncReason::Initial
        );
        assert_eq!(sync.on_diff(diff(996, 1000), &[level(Bid, 2, 1)], 2), None);
        let e3 = [level(Bid, 10000, 6), level(Ask, 10050, 0)];
        assert_eq!(sync.on_diff(diff(998, 1003), &e3, 3), None);
        assert!(!sync.state().valid);

        let snapshot = [
            level(Bid, 10000, 5),
            level(Bid, 9950, 2),
            level(Ask, 10050, 3),
            level(Ask, 10100, 4),
        ];
        let event = sync.on_snapshot(1000, &snapshot, None, 4);
        assert!(matches!(
            event,
            Event::Book(BookUpdate {
                kind: BookKind::Snapshot,
                sequence: Some(1003),
                ..
            })
        ));
        assert_eq!(sync.book().best_bid(), Some((10000, 6)));
        assert_eq!(sync.book().best_ask(), Some((10100, 4)));

        let e4 = [
            level(Bid, 9950, 0),
            level(Bid, 9900, 1),
            level(Ask, 10080, 2),
        ];
        assert!(matches!(
            sync.on_diff(diff(1004, 1006), &e4, 5),
            Some(Event::Book(_))
        ));
        let mut bids = Vec::new();
        sync.book().bids.top_into(5, &mut bids);
        assert_eq!(bids, [(10000, 6), (9900, 1)]);
        assert_eq!(sync.book().best_ask(), Some((10080, 2)));
        assert_eq!(sync.state().sequence, Some(1006));
        assert!(sync.state().valid);

        assert_eq!(
            sync.on_diff(diff(1001, 1006), &[], 6),
            None,
            "already applied"
        );
        let gap = sync.on_diff(diff(1008, 1010), &[level(Bid, 9800, 1)], 7);
        assert_eq!(
            resync_reason(gap),
            ResyncReason::SequenceGap {
                expected: 1007,
                received: 1008
            }
        );
        let state = sync.state();
        assert!(!state.valid && state.resyncs == 1 && sync.book().is_empty());

        // The failed diff starts the new buffer; a snapshot at 1009 bridges it.
        assert_eq!(
            sync.on_diff(diff(1011, 1012), &[level(Ask, 10200, 1)], 8),
            None
        );
        let event = sync.on_snapshot(1009, &[level(Bid, 9700, 1), level(Ask, 10300, 1)], None, 9);
        assert!(matches!(
            event,
            Event::Book(BookUpdate {
                sequence: Some(1012),
                ..
            })
        ));
        assert_eq!(sync.book().best_bid(), Some((9800, 1)));
        assert_eq!(sync.book().best_ask(), Some((10200, 1)));
        assert!(sync.state().valid);
    }

    #[test]
    fn a_snapshot_older_than_the_buffer_is_fetched_again() {
        let mut sync = DepthSync::new(3);
        sync.on_diff(diff(990, 995), &[level(Bid, 5, 1)], 1);
        sync.on_diff(diff(996, 999), &[level(Bid, 6, 1)], 2);
        let stale = sync.on_snapshot(985, &[level(Bid, 4, 1)], None, 3);
        assert_eq!(
            resync_reason(Some(stale)),
            ResyncReason::StaleSnapshot {
                snapshot_id: 985,
                first_update_id: 990
            }
        );
        // The buffer survives: a newer snapshot picks it up.
        let event = sync.on_snapshot(993, &[level(Bid, 4, 1)], None, 4);
        assert!(matches!(
            event,
            Event::Book(BookUpdate {
                symbol: 3,
                sequence: Some(999),
                ..
            })
        ));
        assert_eq!(sync.book().best_bid(), Some((6, 1)));
    }

    #[test]
    fn a_snapshot_newer_than_every_buffered_diff_waits_for_a_bridging_diff() {
        let mut sync = DepthSync::new(0);
        sync.on_diff(diff(1, 5), &[], 1);
        assert!(matches!(
            sync.on_snapshot(10, &[level(Ask, 7, 1)], None, 2),
            Event::Book(_)
        ));
        assert_eq!(sync.on_diff(diff(6, 10), &[], 3), None);
        assert!(matches!(
            sync.on_diff(diff(9, 12), &[level(Ask, 8, 1)], 4),
            Some(Event::Book(_))
        ));
        assert_eq!(sync.book().asks.len(), 2);
    }

    #[test]
    fn crossed_after_apply_invalidates() {
        let mut sync = DepthSync::new(0);
        sync.on_snapshot(10, &[level(Bid, 100, 1), level(Ask, 101, 1)], None, 1);
        let event = sync.on_diff(diff(11, 11), &[level(Bid, 102, 1)], 2);
        assert_eq!(
            resync_reason(event),
            ResyncReason::Crossed { bid: 102, ask: 101 }
        );
        assert!(!sync.state().valid);
    }

    #[test]
    fn reads_string_level_pairs() {
        let mut instruments = Instruments::default();
        let inst = crate::market::Instrument {
            symbol: "X".into(),
            price_scale: 2,
            qty_scale: 3,
            depth: 5,
        };
        instruments.add(inst, &[]).unwrap();
        let mut out = Vec::new();
        read_level_pairs(
            br#"[["1.50","0.001"], ["2", "0"]]"#,
            Ask,
            &instruments,
            0,
            &mut out,
        )
        .unwrap();
        assert_eq!(out, [level(Ask, 150, 1), level(Ask, 200, 0)]);
        assert!(read_level_pairs(br#"[["1.50"]]"#, Ask, &instruments, 0, &mut out).is_err());
        assert!(matches!(
            read_level_pairs(br#"[["1.501","1"]]"#, Ask, &instruments, 0, &mut out),
            Err(FeedError::Decimal { field: "price", .. })
        ));
        // The compact form and every looser spelling read alike, in any mix.
        out.clear();
        read_level_pairs(
            br#"[["1.50","0.001"],[ "1.40","2"],["1.30",5],[1.2,"0.5"],["1.10","1","x"],["1e0","1"]]"#,
            Bid,
            &instruments,
            0,
            &mut out,
        )
        .unwrap();
        let expected = [
            (150, 1),
            (140, 2000),
            (130, 5000),
            (120, 500),
            (110, 1000),
            (100, 1000),
        ];
        assert_eq!(out, expected.map(|(price, qty)| level(Bid, price, qty)));
        // Errors inside the compact form name their field; sizes are never negative.
        for (levels, field) in [
            (br#"[["1.50","0.0001"]]"#.as_slice(), "qty"),
            (br#"[["1.5","-1"]]"#.as_slice(), "qty"),
        ] {
            let err = read_level_pairs(levels, Bid, &instruments, 0, &mut out).unwrap_err();
            assert!(
                matches!(err, FeedError::Decimal { field: f, .. } | FeedError::BadField(f) if f == field),
                "{err:?}"
            );
        }
    }
}
