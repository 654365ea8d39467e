//! An L2 order book on fixed-point integers.
//!
//! Each side is a ladder of short sorted chunks (a B+tree's leaf level, best level first)
//! with the key of each chunk's worst level alongside. A change finds its chunk among those
//! keys and its level by binary search inside the chunk, so an insert or delete moves at most
//! a chunk's worth of levels however deep the book is (Binance books run to thousands of
//! levels and change throughout). A message's changes mostly come best-first and close
//! together: each search starts where the last change landed. The best level is the first of
//! the first chunk, the top N a walk over the first chunks, and nothing allocates once a side
//! has grown to its working size (emptied chunks are kept for reuse).
//!
//! A level can carry a small `Copy` payload computed when it is set (Kraken keeps its checksum
//! digits there); books that need none use `()`.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookSide {
    Bid,
    Ask,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Level<X = ()> {
    pub price: i64,
    pub qty: i64,
    pub extra: X,
}

/// Levels per chunk at most: an insert or delete moves a few hundred bytes, and a
/// 2,000-level side still has fewer than a hundred chunks to choose from.
const CHUNK: usize = 32;

/// Levels of one side, best first.
pub type Levels<'a, X> = std::iter::Flatten<std::slice::Iter<'a, Vec<Level<X>>>>;

/// One side of a book, best level first.
#[derive(Debug, Clone)]
pub struct Ladder<X = ()> {
    side: BookSide,
    /// Turns a price into its order key (`price ^ flip`): worse levels have larger keys.
    /// Zero for asks; all ones for bids, whose better prices are higher.
    flip: i64,
    /// Non-empty chunks of at most `CHUNK` levels, in key order.
    chunks: Vec<Vec<Level<X>>>,
    /// The key of each chunk's last (worst) level.
    last_keys: Vec<i64>,
    len: usize,
    /// (chunk, index) of the last change, where the next search starts if the next key is
    /// not before it. Only a hint: it is checked before use.
    hint: (usize, usize),
    spare: Vec<Vec<Level<X>>>,
}

impl<X: Copy> Ladder<X> {
    fn new(side: BookSide, capacity: usize) -> Self {
        Ladder {
            side,
            flip: match side {
                BookSide::Ask => 0,
                BookSide::Bid => -1,
            },
            chunks: Vec::with_capacity(capacity / (CHUNK / 2) + 1),
            last_keys: Vec::with_capacity(capacity / (CHUNK / 2) + 1),
            len: 0,
            hint: (0, 0),
            spare: Vec::new(),
        }
    }

    #[inline(always)]
    fn key(&self, price: i64) -> i64 {
        price ^ self.flip
    }

    /// The chunk for `key` (the first whose worst level is not better than it, else the last)
    /// and where in it `key` is (`Ok`) or would go (`Err`). Needs at least one chunk.
    #[inline(always)]
    fn find(&self, key: i64) -> (usize, Result<usize, usize>) {
        let count = self.chunks.len();
        let (hint_chunk, hint_index) = self.hint;
        let (chunk, from) =
            if hint_chunk < count && (hint_chunk == 0 || self.last_keys[hint_chunk - 1] < key) {
                // At or past the hint's chunk: step forward a few chunks, then search the rest.
                let mut c = hint_chunk;
                let mut steps = 0;
                while c + 1 < count && self.last_keys[c] < key {
                    c += 1;
                    steps += 1;
                    if steps == 4 {
                        c += self.last_keys[c..count - 1].partition_point(|&k| k < key);
                        break;
                    }
                }
                let levels = &self.chunks[c];
                let from = if c == hint_chunk
                    && hint_index < levels.len()
                    && self.key(levels[hint_index].price) <= key
                {
                    hint_index
                } else {
                    0
                };
                (c, from)
            } else {
                let c = self.last_keys[..count - 1].partition_point(|&k| k < key);
                (c, 0)
            };
        let levels = &self.chunks[chunk];
        // The next few levels first: they share the cache lines the last change touched.
        let near = levels.len().min(from + 4);
        for (i, level) in (from..).zip(&levels[from..near]) {
            let here = self.key(level.price);
            if here >= key {
                return (chunk, if here == key { Ok(i) } else { Err(i) });
            }
        }
        let found = levels[near..]
            .binary_search_by(|level| self.key(level.price).cmp(&key))
            .map(|i| i + near)
            .map_err(|i| i + near);
        (chunk, found)
    }

    /// Sets the size at `price`, inserting the level if it is new.
    #[inline(always)]
    pub fn set(&mut self, price: i64, qty: i64, extra: X) {
        let key = self.key(price);
        if self.chunks.is_empty() {
            let mut chunk = self.new_chunk();
            chunk.push(Level { price, qty, extra });
            self.chunks.push(chunk);
            self.last_keys.push(key);
            self.len = 1;
            self.hint = (0, 0);
            return;
        }
        match self.find(key) {
            (c, Ok(i)) => {
                let level = &mut self.chunks[c][i];
                level.qty = qty;
                level.extra = extra;
                self.hint = (c, i);
            }
            (c, Err(i)) => self.insert_at(c, i, Level { price, qty, extra }, key),
        }
    }

    /// Appends a level worse than every level held (a snapshot arrives best-first), filling
    /// chunks three quarters full so that later inserts seldom split them. False, with nothing
    /// changed, when the level is not the worst; the caller then sets it the usual way.
    #[inline]
    pub fn push_worst(&mut self, price: i64, qty: i64, extra: X) -> bool {
        let key = self.key(price);
        if self.last_keys.last().is_some_and(|&worst| worst >= key) {
            return false;
        }
        let level = Level { price, qty, extra };
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < CHUNK * 3 / 4 => {
                chunk.push(level);
                *self.last_keys.last_mut().expect("a key per chunk") = key;
            }
            _ => {
                let mut chunk = self.new_chunk();
                chunk.push(level);
                self.chunks.push(chunk);
                self.last_keys.push(key);
            }
        }
        self.len += 1;
        true
    }

    fn insert_at(&mut self, mut c: usize, mut i: usize, level: Level<X>, key: i64) {
        if self.chunks[c].len() == CHUNK {
            // Full: its worse half becomes a chunk of its own after it.
            let mut upper = self.new_chunk();
            upper.extend_from_slice(&self.chunks[c][CHUNK / 2..]);
            self.chunks[c].truncate(CHUNK / 2);
            self.chunks.insert(c + 1, upper);
            self.last_keys.insert(c + 1, self.last_keys[c]);
            self.last_keys[c] = self.key(self.chunks[c][CHUNK / 2 - 1].price);
            if i > CHUNK / 2 {
                c += 1;
                i -= CHUNK / 2;
            }
        }
        let chunk = &mut self.chunks[c];
        chunk.insert(i, level);
        if i + 1 == chunk.len() {
            self.last_keys[c] = key;
        }
        self.len += 1;
        self.hint = (c, i);
    }

    /// Deletes the level at `price`; false when there was none (venues delete unknown levels).
    #[inline(always)]
    pub fn remove(&mut self, price: i64) -> bool {
        if self.chunks.is_empty() {
            return false;
        }
        let key = self.key(price);
        let (c, i) = match self.find(key) {
            (c, Ok(i)) => (c, i),
            (c, Err(i)) => {
                self.hint = (c, i);
                return false;
            }
        };
        let chunk = &mut self.chunks[c];
        chunk.remove(i);
        self.len -= 1;
        self.hint = (c, i);
        let left = chunk.len();
        if left == 0 {
            let emptied = self.chunks.remove(c);
            self.last_keys.remove(c);
            self.spare.push(emptied);
            return true;
        }
        if i == left {
            let worst = chunk[left - 1].price;
            self.last_keys[c] = self.key(worst);
        }
        // Keep chunks from thinning out: a small one joins a neighbour that has room.
        if left < CHUNK / 4 {
            if c + 1 < self.chunks.len() && left + self.chunks[c + 1].len() <= CHUNK * 3 / 4 {
                self.merge_into_previous(c + 1);
            } else if c > 0 && left + self.chunks[c - 1].len() <= CHUNK * 3 / 4 {
                self.hint = (c - 1, self.chunks[c - 1].len() + i);
                self.merge_into_previous(c);
            }
        }
        true
    }

    /// Moves chunk `c`'s levels to the end of chunk `c - 1` and drops chunk `c`.
    fn merge_into_previous(&mut self, c: usize) {
        let mut merged = self.chunks.remove(c);
        self.chunks[c - 1].extend_from_slice(&merged);
        self.last_keys[c - 1] = self.last_keys[c];
        self.last_keys.remove(c);
        merged.clear();
        self.spare.push(merged);
    }

    fn new_chunk(&mut self) -> Vec<Level<X>> {
        self.spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(CHUNK))
    }

    pub fn side(&self) -> BookSide {
        self.side
    }

    #[inline]
    pub fn best(&self) -> Option<&Level<X>> {
        self.chunks.first().and_then(|chunk| chunk.first())
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Levels from the best outwards.
    pub fn iter(&self) -> Levels<'_, X> {
        self.chunks.iter().flatten()
    }

    /// Keeps the best `depth` levels.
    #[inline]
    pub fn truncate(&mut self, depth: usize) {
        if self.len <= depth {
            return;
        }
        let (mut c, mut remaining) = (0, depth);
        while remaining >= self.chunks[c].len() {
            remaining -= self.chunks[c].len();
            c += 1;
        }
        let keep = if remaining == 0 {
            c
        } else {
            self.chunks[c].truncate(remaining);
            self.last_keys[c] = self.key(self.chunks[c][remaining - 1].price);
            c + 1
        };
        self.last_keys.truncate(keep);
        for mut chunk in self.chunks.drain(keep..) {
            chunk.clear();
            self.spare.push(chunk);
        }
        self.len = depth;
    }

    pub fn clear(&mut self) {
        for mut chunk in self.chunks.drain(..) {
            chunk.clear();
            self.spare.push(chunk);
        }
        self.last_keys.clear();
        self.len = 0;
        self.hint = (0, 0);
    }

    /// Copies (price, qty) of the best levels into `out`; returns how many were written.
    pub fn copy_top(&self, out: &mut [(i64, i64)]) -> usize {
        let mut n = 0;
        for (slot, level) in out.iter_mut().zip(self.iter()) {
            *slot = (level.price, level.qty);
            n += 1;
        }
        n
    }

    /// Panics unless the chunks are non-empty, within size, in strict key order throughout,
    /// with their worst keys and the level count kept up to date.
    #[cfg(any(test, feature = "fuzzing"))]
    pub fn check_invariants(&self) {
        assert_eq!(self.chunks.len(), self.last_keys.len());
        let mut previous = None;
        for (chunk, &last_key) in self.chunks.iter().zip(&self.last_keys) {
            assert!(
                !chunk.is_empty() && chunk.len() <= CHUNK,
                "chunk of {}",
                chunk.len()
            );
            assert_eq!(self.key(chunk[chunk.len() - 1].price), last_key);
            for level in chunk {
                let key = self.key(level.price);
                assert!(previous < Some(key), "out of order");
                previous = Some(key);
            }
        }
        assert_eq!(self.iter().count(), self.len);
    }

    /// Replaces `out`'s contents with (price, qty) of the best `n` levels (reusing its capacity).
    pub fn top_into(&self, n: usize, out: &mut Vec<(i64, i64)>) {
        out.clear();
        out.extend(self.iter().take(n).map(|level| (level.price, level.qty)));
    }
}

/// Bids and asks of one symbol.
#[derive(Debug, Clone)]
pub struct Book<X = ()> {
    pub bids: Ladder<X>,
    pub asks: Ladder<X>,
}

impl<X: Copy> Default for Book<X> {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl<X: Copy> Book<X> {
    /// A book whose sides hold `levels_per_side` levels before they need to grow.
    pub fn with_capacity(levels_per_side: usize) -> Self {
        Book {
            bids: Ladder::new(BookSide::Bid, levels_per_side),
            asks: Ladder::new(BookSide::Ask, levels_per_side),
        }
    }

    #[inline]
    pub fn side_mut(&mut self, side: BookSide) -> &mut Ladder<X> {
        match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        }
    }

    pub fn side(&self, side: BookSide) -> &Ladder<X> {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    /// Best bid as (price, qty).
    #[inline]
    pub fn best_bid(&self) -> Option<(i64, i64)> {
        self.bids.best().map(|l| (l.price, l.qty))
    }

    /// Best ask as (price, qty).
    #[inline]
    pub fn best_ask(&self) -> Option<(i64, i64)> {
        self.asks.best().map(|l| (l.price, l.qty))
    }

    /// (best bid, best ask) prices when the bid has reached the ask; a locked book counts,
    /// since one venue's own book can never rest that way.
    #[inline]
    pub fn crossing(&self) -> Option<(i64, i64)> {
        match (self.bids.best(), self.asks.best()) {
            (Some(bid), Some(ask)) if bid.price >= ask.price => Some((bid.price, ask.price)),
            _ => None,
        }
    }

    pub fn is_crossed(&self) -> bool {
        self.crossing().is_some()
    }

    /// Keeps the best `depth` levels of each side.
    #[inline]
    pub fn truncate(&mut self, depth: usize) {
        self.bids.truncate(depth);
        self.asks.truncate(depth);
    }

    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.bids.is_empty() && self.asks.is_empty()
    }
}

impl Book {
    /// Sets a level of a book being built best-first (a snapshot): appended when it is the
    /// worst so far on its side, else set or deleted as by `apply`.
    #[inline]
    pub fn load(&mut self, side: BookSide, price: i64, qty: i64) {
        if qty == 0 || !self.side_mut(side).push_worst(price, qty, ()) {
            self.apply(side, price, qty);
        }
    }

    /// Applies an absolute level size: zero deletes the level.
    #[inline(always)]
    pub fn apply(&mut self, side: BookSide, price: i64, qty: i64) {
        let ladder = self.side_mut(side);
        if qty == 0 {
            ladder.remove(price);
        } else {
            ladder.set(price, qty, ());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sides_sort_best_first_and_zero_deletes() {
        let mut book = Book::default();
        for (price, qty) in [(100, 1), (102, 2), (101, 3)] {
            book.apply(BookSide::Bid, price, qty);
            book.apply(BookSide::Ask, price + 10, qty);
        }
        assert_eq!(book.best_bid(), Some((102, 2)));
        assert_eq!(book.best_ask(), Some((110, 1)));
        let mut top = [(0, 0); 5];
        assert_eq!(book.bids.copy_top(&mut top), 3);
        assert_eq!(&top[..3], &[(102, 2), (101, 3), (100, 1)]);
        book.apply(BookSide::Bid, 102, 0);
        book.apply(BookSide::Bid, 999, 0); // deleting an unknown level is harmless
        book.apply(BookSide::Ask, 110, 7);
        assert_eq!(book.best_bid(), Some((101, 3)));
        assert_eq!(book.best_ask(), Some((110, 7)));
        let mut asks = Vec::new();
        book.asks.top_into(2, &mut asks);
        assert_eq!(asks, [(110, 7), (111, 3)]);
    }

    #[test]
    fn crossing_and_truncation() {
        let mut book = Book::default();
        book.apply(BookSide::Bid, 100, 1);
        book.apply(BookSide::Ask, 101, 1);
        assert!(!book.is_crossed());
        book.apply(BookSide::Bid, 101, 1);
        assert_eq!(book.crossing(), Some((101, 101)));
        book.apply(BookSide::Ask, 99, 1);
        book.truncate(1);
        assert_eq!((book.bids.len(), book.asks.len()), (1, 1));
        assert_eq!(book.crossing(), Some((101, 99)));
        book.clear();
        assert!(book.is_empty() && book.best_bid().is_none() && !book.is_crossed());
    }

    #[test]
    fn loading_best_first_appends_and_anything_else_is_set() {
        let mut loaded = Book::default();
        let mut model = Model::default();
        // Best-first runs with a few out-of-order, repeated and zero levels among them.
        let mut asks: Vec<(i64, i64)> = (0..300).map(|i| (1000 + 3 * i, 1 + i % 7)).collect();
        asks.extend([(1001, 5), (1003, 0), (2000, 0), (1000, 9), (5000, 2)]);
        let bids: Vec<(i64, i64)> = (0..300)
            .map(|i| (999 - 2 * i, 2))
            .chain([(998, 4)])
            .collect();
        for (side, levels) in [(BookSide::Ask, &asks), (BookSide::Bid, &bids)] {
            for &(price, qty) in levels {
                loaded.load(side, price, qty);
                model.apply(side, price, qty);
            }
        }
        loaded.asks.check_invariants();
        loaded.bids.check_invariants();
        for side in [BookSide::Bid, BookSide::Ask] {
            let levels: Vec<_> = loaded.side(side).iter().map(|l| (l.price, l.qty)).collect();
            assert_eq!(levels, model.top(side, usize::MAX));
        }
        // Three quarters full: room for inserts without splitting at once.
        assert_eq!(loaded.bids.chunks.len(), 300usize.div_ceil(CHUNK * 3 / 4));
    }

    #[test]
    fn a_thinned_side_merges_its_chunks() {
        let mut book = Book::default();
        for price in 0..2000 {
            book.apply(BookSide::Ask, price, 1);
        }
        assert!(book.asks.chunks.len() >= 2000 / CHUNK);
        for price in (0..2000).filter(|p| p % 20 != 0) {
            book.apply(BookSide::Ask, price, 0);
        }
        book.asks.check_invariants();
        assert_eq!(book.asks.len(), 100);
        // Small chunks join their neighbours: about half a chunk each on average, not one.
        assert!(
            book.asks.chunks.len() <= 100 / (CHUNK / 4),
            "{} chunks",
            book.asks.chunks.len()
        );
    }

    /// The reference the book must agree with: one sorted map per side (shared with the
    /// fuzzing harness).
    use crate::fuzzing::BookModel as Model;

    fn side_strategy() -> impl Strategy<Value = BookSide> {
        prop_oneof![Just(BookSide::Bid), Just(BookSide::Ask)]
    }

    proptest! {
        // Deep books: chunks split, empty and merge. Changes come in runs sorted best-first
        // (as venues send them), in any order, and with deletes of unknown levels.
        #[test]
        fn deep_sides_keep_their_chunks_in_order(
            runs in prop::collection::vec(
                (side_strategy(), prop::collection::vec((0i64..600, 0i64..3), 1..60), any::<bool>()),
                1..120,
            ),
            depth in prop::option::of(1usize..400),
        ) {
            let mut book = Book::default();
            let mut model = Model::default();
            for (i, (side, mut run, sorted)) in runs.into_iter().enumerate() {
                if sorted {
                    run.sort_by_key(|&(price, _)| if side == BookSide::Bid { -price } else { price });
                }
                for (price, qty) in run {
                    book.apply(side, price, qty);
                    model.apply(side, price, qty);
                }
                if let (Some(depth), 0) = (depth, i % 5) {
                    book.truncate(depth);
                    model.truncate(depth);
                }
                book.bids.check_invariants();
                book.asks.check_invariants();
                for side in [BookSide::Bid, BookSide::Ask] {
                    let levels: Vec<_> = book.side(side).iter().map(|l| (l.price, l.qty)).collect();
                    prop_assert_eq!(levels, model.top(side, usize::MAX));
                }
            }
            book.clear();
            book.bids.check_invariants();
            prop_assert!(book.is_empty());
        }

        #[test]
        fn agrees_with_a_sorted_map_model(
            ops in prop::collection::vec((side_strategy(), 90i64..110, 0i64..4), 1..400),
            depth in prop::option::of(1usize..12),
            top_n in 1usize..15,
        ) {
            let mut book = Book::default();
            let mut model = Model::default();
            let mut top = Vec::new();
            for (i, &(side, price, qty)) in ops.iter().enumerate() {
                book.apply(side, price, qty);
                model.apply(side, price, qty);
                // Truncate after every few changes, as a venue message would.
                if let (Some(depth), 0) = (depth, i % 3) {
                    book.truncate(depth);
                    model.truncate(depth);
                }
                for side in [BookSide::Bid, BookSide::Ask] {
                    book.side(side).top_into(top_n, &mut top);
                    prop_assert_eq!(&top, &model.top(side, top_n));
                    prop_assert_eq!(book.side(side).len(), model.top(side, usize::MAX).len());
                }
                prop_assert_eq!(book.best_bid(), model.top(BookSide::Bid, 1).first().copied());
                prop_assert_eq!(book.best_ask(), model.top(BookSide::Ask, 1).first().copied());
                let model_crossed = matches!(
                    (model.bids.keys().next_back(), model.asks.keys().next()),
                    (Some(b), Some(a)) if b >= a
                );
                prop_assert_eq!(book.is_crossed(), model_crossed);
            }
            let mut buf = [(0i64, 0i64); 8];
            let n = book.bids.copy_top(&mut buf);
            prop_assert_eq!(&buf[..n], &model.top(BookSide::Bid, 8)[..]);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any sequence of diffs, snapshots (loaded in any order), truncations and clears, with
        /// prices and sizes anywhere in i64: no panic, the plain book and a Kraken book with
        /// checksum digits both equal the model, and the Kraken checksum equals one written
        /// out from the model (the `book` fuzz target runs the same session).
        #[test]
        fn arbitrary_operations_never_panic_and_match_the_model(
            ops in crate::fuzzing::strategies::book_ops(),
        ) {
            crate::fuzzing::run_book(&ops);
        }
    }
}
