//! An L2 order book on fixed-point integers.
//!
//! Each side is a `VecDeque` of levels kept sorted best-first and found by binary search. Books
//! here are small (10 to a few thousand levels) and nearly all changes land near the top, so an
//! insert or delete moves only the few levels in front of it (`VecDeque` shifts the shorter end),
//! truncating the far end is free, and the top N is a prefix. Nothing allocates once the sides
//! have grown to their working size.
//!
//! A level can carry a small `Copy` payload computed when it is set (Kraken keeps its checksum
//! digits there); books that need none use `()`.

use std::collections::VecDeque;

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

/// One side of a book, best level first.
#[derive(Debug, Clone)]
pub struct Ladder<X = ()> {
    side: BookSide,
    levels: VecDeque<Level<X>>,
}

impl<X: Copy> Ladder<X> {
    fn new(side: BookSide, capacity: usize) -> Self {
        Ladder {
            side,
            levels: VecDeque::with_capacity(capacity),
        }
    }

    /// Where `price` is (`Ok`) or would go (`Err`), counting from the best level.
    #[inline]
    fn find(&self, price: i64) -> Result<usize, usize> {
        match self.side {
            BookSide::Ask => self
                .levels
                .binary_search_by(|level| level.price.cmp(&price)),
            BookSide::Bid => self
                .levels
                .binary_search_by(|level| price.cmp(&level.price)),
        }
    }

    /// Sets the size at `price`, inserting the level if it is new.
    #[inline]
    pub fn set(&mut self, price: i64, qty: i64, extra: X) {
        match self.find(price) {
            Ok(i) => {
                let level = &mut self.levels[i];
                level.qty = qty;
                level.extra = extra;
            }
            Err(i) => self.levels.insert(i, Level { price, qty, extra }),
        }
    }

    /// Deletes the level at `price`; false when there was none (venues delete unknown levels).
    #[inline]
    pub fn remove(&mut self, price: i64) -> bool {
        match self.find(price) {
            Ok(i) => {
                self.levels.remove(i);
                true
            }
            Err(_) => false,
        }
    }

    pub fn side(&self) -> BookSide {
        self.side
    }

    #[inline]
    pub fn best(&self) -> Option<&Level<X>> {
        self.levels.front()
    }

    pub fn len(&self) -> usize {
        self.levels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.levels.is_empty()
    }

    /// Levels from the best outwards.
    pub fn iter(&self) -> std::collections::vec_deque::Iter<'_, Level<X>> {
        self.levels.iter()
    }

    /// Keeps the best `depth` levels.
    #[inline]
    pub fn truncate(&mut self, depth: usize) {
        self.levels.truncate(depth);
    }

    pub fn clear(&mut self) {
        self.levels.clear();
    }

    /// Copies (price, qty) of the best levels into `out`; returns how many were written.
    pub fn copy_top(&self, out: &mut [(i64, i64)]) -> usize {
        let mut n = 0;
        for (slot, level) in out.iter_mut().zip(self.levels.iter()) {
            *slot = (level.price, level.qty);
            n += 1;
        }
        n
    }

    /// Replaces `out`'s contents with (price, qty) of the best `n` levels (reusing its capacity).
    pub fn top_into(&self, n: usize, out: &mut Vec<(i64, i64)>) {
        out.clear();
        out.extend(
            self.levels
                .iter()
                .take(n)
                .map(|level| (level.price, level.qty)),
        );
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
    /// Applies an absolute level size: zero deletes the level.
    #[inline]
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
    use std::collections::BTreeMap;

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

    /// The reference the book must agree with: one sorted map per side.
    #[derive(Default)]
    struct Model {
        bids: BTreeMap<i64, i64>,
        asks: BTreeMap<i64, i64>,
    }

    impl Model {
        fn apply(&mut self, side: BookSide, price: i64, qty: i64) {
            let map = if side == BookSide::Bid {
                &mut self.bids
            } else {
                &mut self.asks
            };
            if qty == 0 {
                map.remove(&price);
            } else {
                map.insert(price, qty);
            }
        }

        fn top(&self, side: BookSide, n: usize) -> Vec<(i64, i64)> {
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

        fn truncate(&mut self, depth: usize) {
            for side in [BookSide::Bid, BookSide::Ask] {
                let keep: BTreeMap<i64, i64> = self.top(side, depth).into_iter().collect();
                *(if side == BookSide::Bid {
                    &mut self.bids
                } else {
                    &mut self.asks
                }) = keep;
            }
        }
    }

    fn side_strategy() -> impl Strategy<Value = BookSide> {
        prop_oneof![Just(BookSide::Bid), Just(BookSide::Ask)]
    }

    proptest! {
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
}
